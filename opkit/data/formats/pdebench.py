"""PDEBench HDF5 files: 1D (Burgers, advection, reaction-diffusion), 2D Darcy and 2D incompressible Navier-Stokes.

Takagi et al. 2022, "PDEBench: an extensive benchmark for scientific machine learning";
the layouts and field names are in the package docstring's table.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from opkit.data.formats.datafile import DataFile, FieldInfo, attrs_dict, require, uniform_grid
from opkit.data.schema import COMPONENT_AXIS
from opkit.errors import DataError


def _filename_number(path: Path, label: str) -> float | None:
    match = re.search(label + r"([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)", path.name)
    return float(match.group(1).rstrip(".")) if match else None


def read_pdebench(path: Path, handle: h5py.File) -> DataFile:
    if "nu" in handle:
        return read_pdebench_darcy(path, handle)
    tensor = require(path, handle, "tensor", (3,), "(sample, t, x) for a 1D PDE such as Burgers")
    n_samples, n_t, n_x = tensor.shape
    x = np.asarray(require(path, handle, "x-coordinate", (1,), f"({n_x},) grid points"))
    t_all = np.asarray(require(path, handle, "t-coordinate", (1,), f"({n_t + 1},) or ({n_t},) times"))
    if x.shape[0] != n_x:
        raise DataError(path, f"expected {n_x} values (tensor's x axis), got {x.shape[0]}", field="x-coordinate")
    if t_all.shape[0] not in (n_t, n_t + 1):
        raise DataError(path, f"expected {n_t + 1} (PDEBench) or {n_t} values for {n_t} time steps, got "
                              f"{t_all.shape[0]}", field="t-coordinate")
    fields = {
        "solution": FieldInfo("solution", ("t", "x"), tensor, 0, (1, 2), description="u(t, x)", source="tensor"),
        "initial": FieldInfo("initial", ("x",), tensor, 0, (2,), fixed={1: 0}, description="u(0, x)",
                             source="tensor"),
    }
    # PDEBench's 1D files (Burgers, advection, reaction-diffusion) share this layout; only the
    # file name tells them apart.
    name = path.name.lower()
    pde = next((pde for key, pde in (("burgers", "burgers"), ("advection", "advection"),
                                     ("reacdiff", "reaction_diffusion")) if key in name), "unknown_1d")
    attrs = {"pde": pde, "source_format": "pdebench",
             "note": "t-coordinate has one value more than tensor's time axis; the first n_t are kept"}
    nu = _filename_number(path, "Nu")
    if pde == "burgers":
        attrs.update({"viscosity_convention": "nu/pi",
                      "note": "PDEBench solves u_t + (u^2/2)_x = (nu/pi) u_xx (file name Nu = nu); " + attrs["note"]})
        if nu is not None:
            attrs.update({"param_nu": nu, "param_viscosity": nu / np.pi})
    attrs.update(attrs_dict(handle.attrs))
    coords = {"x": x, "t": t_all[:n_t]}
    return DataFile(path, "pdebench", n_samples, fields, coords, attrs, {"x": "periodic"}, handle)


def read_pdebench_darcy(path: Path, handle: h5py.File) -> DataFile:
    nu = require(path, handle, "nu", (3,), "(sample, x, y) diffusion coefficient")
    tensor = require(path, handle, "tensor", (4,), "(sample, 1, x, y) solution")
    if tensor.shape[1] != 1 or tensor.shape[0] != nu.shape[0] or tensor.shape[2:] != nu.shape[1:]:
        raise DataError(path, f"expected shape ({nu.shape[0]}, 1, {nu.shape[1]}, {nu.shape[2]}) beside nu "
                              f"{nu.shape}, got {tensor.shape}", field="tensor")
    fields = {
        "coefficient": FieldInfo("coefficient", ("x", "y"), nu, 0, (1, 2), description="a(x, y)", source="nu"),
        "solution": FieldInfo("solution", ("x", "y"), tensor, 0, (2, 3), fixed={1: 0}, description="u(x, y)",
                              source="tensor"),
    }
    coords = {}
    for axis, n in (("x", nu.shape[1]), ("y", nu.shape[2])):
        key = f"{axis}-coordinate"
        coords[axis] = np.asarray(handle[key]) if key in handle else uniform_grid(n, periodic=False)
    attrs = {"pde": "darcy", "source_format": "pdebench"}
    beta = _filename_number(path, "beta")
    if beta is not None:
        attrs["param_beta"] = beta
    attrs.update(attrs_dict(handle.attrs))
    return DataFile(path, "pdebench", nu.shape[0], fields, coords, attrs,
                    {"x": "dirichlet", "y": "dirichlet"}, handle)


def read_pdebench_ns(path: Path, handle: h5py.File) -> DataFile:
    velocity = require(path, handle, "velocity", (5,), "(sample, t, x, y, 2)")
    n_samples, n_t, n_x, n_y, _ = velocity.shape
    fields = {"velocity": FieldInfo("velocity", ("t", "x", "y", COMPONENT_AXIS), velocity, 0, (1, 2, 3, 4),
                                    description="(u, v)(t, x, y)", source="velocity")}
    if "particles" in handle:
        particles = require(path, handle, "particles", (5,), "(sample, t, x, y, 1)")
        fields["particles"] = FieldInfo("particles", ("t", "x", "y"), particles, 0, (1, 2, 3), fixed={4: 0},
                                        description="passive tracer density", source="particles")
    if "force" in handle:
        force = require(path, handle, "force", (4,), "(sample, x, y, 2)")
        fields["force"] = FieldInfo("force", ("x", "y", COMPONENT_AXIS), force, 0, (1, 2, 3),
                                    description="forcing (f_x, f_y)", source="force")
    t = np.asarray(require(path, handle, "t", (2, 1), "(sample, t) times"))
    t = t[0] if t.ndim == 2 else t
    coords = {"t": t[:n_t], "x": uniform_grid(n_x, periodic=False), "y": uniform_grid(n_y, periodic=False)}
    attrs = {"pde": "navier_stokes", "source_format": "pdebench"}
    attrs.update(attrs_dict(handle.attrs))
    return DataFile(path, "pdebench", n_samples, fields, coords, attrs, {}, handle)
