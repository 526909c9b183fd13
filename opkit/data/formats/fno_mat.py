"""FNO's ``.mat`` files (Li et al. 2021): Burgers, Darcy and Navier-Stokes, MATLAB v5 or v7.3.

A v7.3 file is HDF5 written in column-major order, so h5py sees every array with its axes
reversed; a v5 file is loaded whole by scipy and read in MATLAB's own axis order.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from opkit.data.formats.datafile import DataFile, FieldInfo, require, uniform_grid
from opkit.errors import DataError


def read_fno(path: Path, arrays, handle: h5py.File | None, matlab_reversed: bool, format: str) -> DataFile:
    """FNO's ``.mat`` files; ``matlab_reversed`` for v7.3, whose axes h5py reads in reverse."""

    def matlab_ndim(name: str) -> int:
        return arrays[name].ndim

    def field(name: str, source: str, dims: tuple[str, ...], matlab_axes: tuple[int, ...], description: str):
        """``matlab_axes[k]``: MATLAB axis (sample axis 0) of canonical axis ``dims[k]``."""
        storage = arrays[source]
        ndim = storage.ndim
        flip = (lambda axis: ndim - 1 - axis) if matlab_reversed else (lambda axis: axis)
        return FieldInfo(name, dims, storage, flip(0), tuple(flip(a) for a in matlab_axes),
                         description=description, source=source)

    keys = set(arrays)
    if {"coeff", "sol"} <= keys:
        require(path, arrays, "coeff", (3,), "(sample, x, y)")
        require(path, arrays, "sol", (3,), "(sample, x, y)")
        fields = {"coefficient": field("coefficient", "coeff", ("x", "y"), (1, 2), "a(x, y)"),
                  "solution": field("solution", "sol", ("x", "y"), (1, 2), "u(x, y)")}
        pde, bcs = "darcy", {"x": "dirichlet", "y": "dirichlet"}
        periodic = False
    elif {"a", "u"} <= keys:
        u = require(path, arrays, "u", (2, 4), "(sample, x) for Burgers or (sample, x, y, t) for Navier-Stokes")
        if u.ndim == 2:
            require(path, arrays, "a", (2,), "(sample, x) initial condition")
            fields = {"initial": field("initial", "a", ("x",), (1,), "u(0, x)"),
                      "solution": field("solution", "u", ("x",), (1,), "u(1, x)")}
            pde, bcs = "burgers", {"x": "periodic"}
        else:
            require(path, arrays, "a", (3,), "(sample, x, y) initial vorticity")
            fields = {"initial": field("initial", "a", ("x", "y"), (1, 2), "w(0, x, y)"),
                      "vorticity": field("vorticity", "u", ("t", "x", "y"), (3, 1, 2), "w(t, x, y)")}
            pde, bcs = "navier_stokes", {"x": "periodic", "y": "periodic"}
        periodic = True
    else:
        partner = {"coeff": "sol", "sol": "coeff", "a": "u", "u": "a"}
        missing = next((partner[key] for key in ("coeff", "sol", "a", "u") if key in keys), "a")
        raise DataError(path, f"missing; expected FNO keys 'a' and 'u' or 'coeff' and 'sol', found "
                              f"{sorted(keys)}", field=missing)
    n_samples = {int(info.storage.shape[info.sample_axis]) for info in fields.values()}
    if len(n_samples) != 1:
        raise DataError(path, f"fields disagree on the number of samples {sorted(n_samples)}; expected one "
                              "count", field=next(iter(fields.values())).source)
    first = next(iter(fields.values()))
    coords = {}
    for dim, n in zip(first.dims, first.shape):
        coords[dim] = uniform_grid(n, periodic=periodic)
    if "vorticity" in fields:
        info = fields["vorticity"]
        coords.update({d: uniform_grid(n, periodic=True) for d, n in zip(info.dims, info.shape) if d != "t"})
        coords["t"] = (np.asarray(arrays["t"], dtype=np.float64).reshape(-1) if "t" in keys
                       else np.arange(1, info.shape[0] + 1, dtype=np.float64))
    attrs = {"pde": pde, "source_format": format}
    return DataFile(path, format, n_samples.pop(), fields, coords, attrs, bcs, handle)
