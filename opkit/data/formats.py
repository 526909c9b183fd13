"""Readers: one ``DataFile`` view over opkit, PDEBench, FNO ``.mat`` (v5 and v7.3) and The Well files.

Every reader maps its file onto the same picture: named fields whose per-sample axes are
named (``"t"``, ``"x"``, ``"y"``, ``"component"``), coordinate arrays, boundary conditions
and attributes. Field names are unified where the meaning is clear, so that the Dataset
infers the task the same way for every source:

=====================  ===============================================================
source                 fields (per-sample dims)
=====================  ===============================================================
opkit                  as written (Darcy ``coefficient``/``solution`` (x, y); Burgers
                       ``initial`` (x), ``solution`` (t, x); NS ``vorticity`` (t, x, y))
PDEBench 1D Burgers    ``tensor`` (N, T, X) -> ``solution`` (t, x); ``initial`` = solution
                       at t=0. ``t-coordinate`` holds T+1 values: the first T are kept.
                       Viscosity convention nu/pi (recorded in the attributes). The PDE
                       (burgers, advection, reaction_diffusion) comes from the file name.
PDEBench 2D Darcy      ``nu`` (N, X, Y) -> ``coefficient``; ``tensor`` (N, 1, X, Y) ->
                       ``solution`` (x, y)
PDEBench 2D incomp NS  ``velocity`` (N, T, X, Y, 2) -> ``velocity`` (t, x, y, component);
                       ``particles`` (N, T, X, Y, 1) -> ``particles`` (t, x, y);
                       ``force`` (N, X, Y, 2) -> ``force`` (x, y, component); ``t`` (N, T)
FNO Burgers (.mat)     ``a`` (N, X) -> ``initial``; ``u`` (N, X) -> ``solution`` (x)
FNO Darcy (.mat)       ``coeff`` (N, X, Y) -> ``coefficient``; ``sol`` -> ``solution``
FNO NS (.mat)          ``a`` (N, X, Y) -> ``initial``; ``u`` (N, X, Y, T) ->
                       ``vorticity`` (t, x, y); ``t`` (1, T)
The Well               ``t0_fields/*`` (N, T, *spatial); ``t1_fields/*`` with a trailing
                       component axis; ``dimensions/{time, x, ...}``
=====================  ===============================================================

MATLAB v7.3 files are HDF5 files written in column-major order, so h5py sees every array
with its axes reversed: ``u`` of MATLAB shape (N, X, Y, T) is stored as (T, Y, X, N).
Reads are lazy (h5py datasets are sliced per sample); MATLAB v5 files are loaded whole.
In a v7.3 file the sample axis varies fastest on disk, so reading one sample touches the
whole array: for training on a large one, convert it once (``opkit convert``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from opkit.data import schema
from opkit.data.schema import COMPONENT_AXIS, TIME_AXIS, decode, plain
from opkit.errors import DataError

MATLAB_V5_MAGIC = b"MATLAB 5.0 MAT-file"
# MATLAB v7.3 writes this text at the start of a 512-byte user block in front of the HDF5 data.
MATLAB_V73_MAGIC = b"MATLAB 7.3 MAT-file"
# Number kinds a field may hold (numpy dtype.kind): float, signed and unsigned integer. Complex
# values would lose their imaginary part and booleans turn into 0/1 when read as float32.
NUMERIC_KINDS = "fiu"
REFUSED_KINDS = {"c": "complex", "b": "boolean", "S": "text", "U": "text", "O": "object (text)"}
UNDERSTOOD_LAYOUTS = ("an opkit file (attribute format='opkit'), PDEBench ('tensor' or 'velocity'), FNO .mat "
                      "(MATLAB v5, or v7.3 with its MATLAB header: 'a'/'u' or 'coeff'/'sol') or The Well "
                      "('t0_fields', 'dimensions')")


@dataclass
class FieldInfo:
    """One field of a data file and how to read one sample of it in canonical axis order.

    ``storage`` is an h5py dataset or a numpy array. ``sample_axis`` is the stored axis that
    indexes samples (``None`` for a field shared by every sample), ``axis_map[k]`` the stored
    axis of canonical per-sample axis ``dims[k]``, and ``fixed`` pins extra stored axes to one
    index (PDEBench Darcy's singleton channel axis; ``initial`` taken at t=0).
    """

    name: str
    dims: tuple[str, ...]
    storage: Any
    sample_axis: int | None
    axis_map: tuple[int, ...]
    fixed: dict[int, int] = field(default_factory=dict)
    description: str = ""
    attrs: dict = field(default_factory=dict)
    source: str = ""  # the name inside the file

    @property
    def shape(self) -> tuple[int, ...]:
        """Per-sample shape, in the order of ``dims``."""
        return tuple(int(self.storage.shape[axis]) for axis in self.axis_map)

    @property
    def spatial_dims(self) -> tuple[str, ...]:
        return tuple(d for d in self.dims if d not in (TIME_AXIS, COMPONENT_AXIS))

    @property
    def is_vector(self) -> bool:
        return bool(self.dims) and self.dims[-1] == COMPONENT_AXIS

    @property
    def has_time(self) -> bool:
        return TIME_AXIS in self.dims

    def read(self, index, slices: dict[str, slice] | None = None) -> np.ndarray:
        """Sample(s) ``index`` (an int or a slice of samples) as an array in ``dims`` order.

        ``slices`` maps axis names to slices (``{"x": slice(None, None, 2)}``), applied in
        the file so that subsampling reads only what it keeps. A slice of samples keeps the
        sample axis in front.
        """
        ndim = self.storage.ndim
        key: list = [slice(None)] * ndim
        if self.sample_axis is not None:
            key[self.sample_axis] = index
        for axis, position in self.fixed.items():
            key[axis] = position
        for name, selection in (slices or {}).items():
            if name in self.dims:
                key[self.axis_map[self.dims.index(name)]] = selection
        data = np.asarray(self.storage[tuple(key)])
        dropped = set(self.fixed)
        keep_sample = self.sample_axis is not None and isinstance(index, slice)
        if self.sample_axis is not None and not keep_sample:
            dropped.add(self.sample_axis)
        remaining = [axis for axis in range(ndim) if axis not in dropped]
        wanted = ([self.sample_axis] if keep_sample else []) + list(self.axis_map)
        data = data.transpose([remaining.index(axis) for axis in wanted])
        if self.sample_axis is None and isinstance(index, slice):  # shared field: repeat per sample
            count = len(range(*index.indices(1 << 62)))
            data = np.broadcast_to(data, (count, *data.shape))
        return data


class DataFile:
    """An opened data file in any supported format: fields, coordinates, attributes.

    Use as a context manager, or call :meth:`close`. Obtain one with :func:`open_dataset_file`.
    """

    def __init__(self, path: Path, format: str, n_samples: int, fields: dict[str, FieldInfo],
                 coords: dict[str, np.ndarray], attrs: dict, boundary_conditions: dict[str, str],
                 handle: h5py.File | None = None):
        _check_fields(path, n_samples, fields)
        self.path = path
        self.format = format
        self.n_samples = n_samples
        self.fields = fields
        self.coords = coords
        self.attrs = attrs
        self.boundary_conditions = boundary_conditions
        self._handle = handle

    @property
    def pde(self) -> str | None:
        return self.attrs.get("pde")

    def field(self, name: str) -> FieldInfo:
        if name not in self.fields:
            raise DataError(self.path, f"no such field; expected one of {sorted(self.fields)}", field=name)
        return self.fields[name]

    def read(self, name: str, index, slices: dict[str, slice] | None = None) -> np.ndarray:
        """Read sample(s) of one field as float32, checking that every value is finite."""
        data = np.asarray(self.field(name).read(index, slices), dtype=np.float32)
        if not np.isfinite(data.sum(dtype=np.float64)):  # NaN and Inf propagate; float64 cannot overflow here
            raise DataError(self.path, f"non-finite values (NaN or Inf) in sample {index}; "
                                       "expected finite numbers", field=self.fields[name].source or name)
        return data

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "DataFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DataFile({str(self.path)!r}, format={self.format!r}, n_samples={self.n_samples})"


def _check_fields(path: Path, n_samples: int, fields: dict[str, FieldInfo]) -> None:
    """Refuse fields opkit would misread: complex, boolean or text values, or a wrong sample count."""
    for info in fields.values():
        dtype = np.dtype(info.storage.dtype)
        if dtype.kind not in NUMERIC_KINDS:
            kind = REFUSED_KINDS.get(dtype.kind, "non-numeric")
            raise DataError(path, f"{kind} values ({dtype}); expected real numbers (float or integer)"
                            + ("; store the real and imaginary parts as two fields" if dtype.kind == "c" else ""),
                            field=info.source or info.name)
        if info.sample_axis is not None and int(info.storage.shape[info.sample_axis]) != n_samples:
            raise DataError(path, f"{info.storage.shape[info.sample_axis]} samples; expected {n_samples} like "
                                  "the file's other fields (fields must share one sample count)",
                            field=info.source or info.name)


# ----------------------------------------------------------------------------- entry point

def open_dataset_file(path, allow_incomplete: bool = False) -> DataFile:
    """Open ``path``, recognising its format from its content; ``DataError`` if it is none of ours.

    Formats: ``opkit``, ``pdebench`` (1D Burgers, 2D Darcy, 2D incompressible NS),
    ``fno-mat-v5`` and ``fno-mat-v7.3`` (Burgers, Darcy, NS), ``the-well``.
    ``allow_incomplete`` opens an unfinished opkit ``.partial`` file (for ``opkit inspect``).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found; expected an opkit, PDEBench, FNO .mat or The Well file "
                              "(generate one with `opkit generate`)")
    if path.is_dir():
        raise DataError(path, "is a directory; expected a data file")
    with open(path, "rb") as stream:
        head = stream.read(1024)
    if head.startswith(MATLAB_V5_MAGIC):
        return _open_matlab_v5(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        kind = "truncated or corrupt HDF5 file" if h5py.is_hdf5(path) else "not an HDF5 or MATLAB file"
        raise DataError(path, f"{kind} ({error.__class__.__name__}); expected an opkit, PDEBench, "
                              "FNO .mat or The Well file") from None
    try:
        return _open_hdf5(path, handle, allow_incomplete)
    except Exception:
        handle.close()
        raise


def _is_matlab_v73(path: Path, handle: h5py.File) -> bool:
    """MATLAB's own markers: the header text in the user block, or ``MATLAB_class`` attributes."""
    if handle.userblock_size >= len(MATLAB_V73_MAGIC):
        with open(path, "rb") as stream:
            if stream.read(len(MATLAB_V73_MAGIC)) == MATLAB_V73_MAGIC:
                return True
    return any("MATLAB_class" in item.attrs for item in handle.values())


def _open_hdf5(path: Path, handle: h5py.File, allow_incomplete: bool = False) -> DataFile:
    keys = set(handle.keys())
    if decode(handle.attrs.get("format", "")) == schema.FORMAT_NAME:
        return _read_opkit(path, handle, allow_incomplete)
    if schema.SCALAR_GROUP in keys and schema.DIMENSIONS_GROUP in keys:
        return _read_the_well(path, handle)
    if "tensor" in keys:
        return _read_pdebench(path, handle)
    if "velocity" in keys and "t" in keys:
        return _read_pdebench_ns(path, handle)
    if keys & {"a", "u", "coeff", "sol"}:
        # Without MATLAB's markers the arrays are not known to be column-major: reading them
        # reversed would silently swap samples and grid points.
        if not _is_matlab_v73(path, handle):
            raise DataError(path, f"HDF5 file with FNO names {sorted(keys & {'a', 'u', 'coeff', 'sol'})} but "
                                  "no MATLAB v7.3 header or MATLAB_class attributes, so its axis order is "
                                  f"unknown; expected {UNDERSTOOD_LAYOUTS}")
        return _read_fno(path, handle, handle, matlab_reversed=True, format="fno-mat-v7.3")
    raise DataError(path, f"unknown format (top-level entries {sorted(keys)}); expected {UNDERSTOOD_LAYOUTS}")


def _open_matlab_v5(path: Path) -> DataFile:
    import scipy.io

    try:
        contents = scipy.io.loadmat(str(path))
    except Exception as error:  # scipy raises several types for a damaged file
        raise DataError(path, f"truncated or corrupt MATLAB v5 file ({error}); expected a readable .mat file") \
            from None
    arrays = {key: value for key, value in contents.items() if not key.startswith("__")}
    return _read_fno(path, arrays, None, matlab_reversed=False, format="fno-mat-v5")


# ----------------------------------------------------------------------------- helpers

def _require(path, container, name: str, ndims: tuple[int, ...], expected: str):
    """``container[name]``, checking it exists and has one of ``ndims`` dimensions."""
    if name not in container:
        raise DataError(path, f"missing; expected {expected}", field=name)
    array = container[name]
    if not hasattr(array, "ndim") or array.ndim not in ndims:
        got = getattr(array, "ndim", "no")
        raise DataError(path, f"expected {' or '.join(map(str, ndims))} dimensions ({expected}), got {got} "
                              f"with shape {getattr(array, 'shape', None)}", field=name)
    return array


def _uniform_grid(n: int, periodic: bool) -> np.ndarray:
    return np.linspace(0.0, 1.0, n, endpoint=not periodic)


def _attrs_dict(attrs) -> dict:
    return {key: plain(value) for key, value in attrs.items()}


# ----------------------------------------------------------------------------- opkit

def _read_opkit(path: Path, handle: h5py.File, allow_incomplete: bool = False) -> DataFile:
    attrs = _attrs_dict(handle.attrs)
    version = attrs.get("schema_version")
    if version != schema.SCHEMA_VERSION:
        raise DataError(path, f"schema_version {version}; expected {schema.SCHEMA_VERSION} "
                              "(regenerate the file with this opkit)")
    if not attrs.get("complete", False) and not allow_incomplete:
        raise DataError(path, "incomplete file (attribute complete=False); expected a finished file: "
                              "rerun `opkit generate` to resume it")
    if "n_samples" not in attrs:
        raise DataError(path, "attribute n_samples missing; expected the number of samples in an opkit file "
                              "(write files with `opkit generate` or `opkit convert`)")
    n_samples = int(attrs["n_samples"])
    fields: dict[str, FieldInfo] = {}
    for group_name in (schema.SCALAR_GROUP, schema.VECTOR_GROUP):
        if group_name not in handle:
            continue
        for name, dataset in handle[group_name].items():
            where = f"{group_name}/{name}"
            dims = tuple(plain(dataset.attrs.get("dims", [])))
            if not dims or dims[0] != schema.SAMPLE_AXIS:
                raise DataError(path, f"attribute dims={list(dims)}; expected it to start with 'sample'",
                                field=where)
            if dataset.ndim != len(dims):
                raise DataError(path, f"expected {len(dims)} dimensions {tuple(dims)}, got {dataset.ndim} "
                                      f"with shape {dataset.shape}", field=where)
            if dataset.shape[0] != n_samples:
                raise DataError(path, f"expected {n_samples} samples (attribute n_samples), got "
                                      f"{dataset.shape[0]}", field=where)
            fields[name] = FieldInfo(
                name=name, dims=dims[1:], storage=dataset, sample_axis=0,
                axis_map=tuple(range(1, dataset.ndim)), description=decode(dataset.attrs.get("description", "")),
                attrs=_attrs_dict(dataset.attrs), source=where)
    if not fields:
        raise DataError(path, "no fields; expected datasets under 't0_fields/'", field=schema.SCALAR_GROUP)
    coords = {}
    if schema.DIMENSIONS_GROUP in handle:
        coords = {name: np.asarray(array) for name, array in handle[schema.DIMENSIONS_GROUP].items()}
    bcs = {}
    if schema.BOUNDARY_GROUP in handle:
        bcs = {axis: decode(group.attrs.get("type", "unknown")) for axis, group in handle[schema.BOUNDARY_GROUP].items()}
    return DataFile(path, "opkit", n_samples, fields, coords, attrs, bcs, handle)


# ----------------------------------------------------------------------------- PDEBench

def _filename_number(path: Path, label: str) -> float | None:
    match = re.search(label + r"([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)", path.name)
    return float(match.group(1).rstrip(".")) if match else None


def _read_pdebench(path: Path, handle: h5py.File) -> DataFile:
    if "nu" in handle:
        return _read_pdebench_darcy(path, handle)
    tensor = _require(path, handle, "tensor", (3,), "(sample, t, x) for a 1D PDE such as Burgers")
    n_samples, n_t, n_x = tensor.shape
    x = np.asarray(_require(path, handle, "x-coordinate", (1,), f"({n_x},) grid points"))
    t_all = np.asarray(_require(path, handle, "t-coordinate", (1,), f"({n_t + 1},) or ({n_t},) times"))
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
    attrs.update(_attrs_dict(handle.attrs))
    coords = {"x": x, "t": t_all[:n_t]}
    return DataFile(path, "pdebench", n_samples, fields, coords, attrs, {"x": "periodic"}, handle)


def _read_pdebench_darcy(path: Path, handle: h5py.File) -> DataFile:
    nu = _require(path, handle, "nu", (3,), "(sample, x, y) diffusion coefficient")
    tensor = _require(path, handle, "tensor", (4,), "(sample, 1, x, y) solution")
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
        coords[axis] = np.asarray(handle[key]) if key in handle else _uniform_grid(n, periodic=False)
    attrs = {"pde": "darcy", "source_format": "pdebench"}
    beta = _filename_number(path, "beta")
    if beta is not None:
        attrs["param_beta"] = beta
    attrs.update(_attrs_dict(handle.attrs))
    return DataFile(path, "pdebench", nu.shape[0], fields, coords, attrs,
                    {"x": "dirichlet", "y": "dirichlet"}, handle)


def _read_pdebench_ns(path: Path, handle: h5py.File) -> DataFile:
    velocity = _require(path, handle, "velocity", (5,), "(sample, t, x, y, 2)")
    n_samples, n_t, n_x, n_y, _ = velocity.shape
    fields = {"velocity": FieldInfo("velocity", ("t", "x", "y", COMPONENT_AXIS), velocity, 0, (1, 2, 3, 4),
                                    description="(u, v)(t, x, y)", source="velocity")}
    if "particles" in handle:
        particles = _require(path, handle, "particles", (5,), "(sample, t, x, y, 1)")
        fields["particles"] = FieldInfo("particles", ("t", "x", "y"), particles, 0, (1, 2, 3), fixed={4: 0},
                                        description="passive tracer density", source="particles")
    if "force" in handle:
        force = _require(path, handle, "force", (4,), "(sample, x, y, 2)")
        fields["force"] = FieldInfo("force", ("x", "y", COMPONENT_AXIS), force, 0, (1, 2, 3),
                                    description="forcing (f_x, f_y)", source="force")
    t = np.asarray(_require(path, handle, "t", (2, 1), "(sample, t) times"))
    t = t[0] if t.ndim == 2 else t
    coords = {"t": t[:n_t], "x": _uniform_grid(n_x, periodic=False), "y": _uniform_grid(n_y, periodic=False)}
    attrs = {"pde": "navier_stokes", "source_format": "pdebench"}
    attrs.update(_attrs_dict(handle.attrs))
    return DataFile(path, "pdebench", n_samples, fields, coords, attrs, {}, handle)


# ----------------------------------------------------------------------------- FNO .mat

def _read_fno(path: Path, arrays, handle: h5py.File | None, matlab_reversed: bool, format: str) -> DataFile:
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
        _require(path, arrays, "coeff", (3,), "(sample, x, y)")
        _require(path, arrays, "sol", (3,), "(sample, x, y)")
        fields = {"coefficient": field("coefficient", "coeff", ("x", "y"), (1, 2), "a(x, y)"),
                  "solution": field("solution", "sol", ("x", "y"), (1, 2), "u(x, y)")}
        pde, bcs = "darcy", {"x": "dirichlet", "y": "dirichlet"}
        periodic = False
    elif {"a", "u"} <= keys:
        u = _require(path, arrays, "u", (2, 4), "(sample, x) for Burgers or (sample, x, y, t) for Navier-Stokes")
        if u.ndim == 2:
            _require(path, arrays, "a", (2,), "(sample, x) initial condition")
            fields = {"initial": field("initial", "a", ("x",), (1,), "u(0, x)"),
                      "solution": field("solution", "u", ("x",), (1,), "u(1, x)")}
            pde, bcs = "burgers", {"x": "periodic"}
        else:
            _require(path, arrays, "a", (3,), "(sample, x, y) initial vorticity")
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
        coords[dim] = _uniform_grid(n, periodic=periodic)
    if "vorticity" in fields:
        info = fields["vorticity"]
        coords.update({d: _uniform_grid(n, periodic=True) for d, n in zip(info.dims, info.shape) if d != "t"})
        coords["t"] = (np.asarray(arrays["t"], dtype=np.float64).reshape(-1) if "t" in keys
                       else np.arange(1, info.shape[0] + 1, dtype=np.float64))
    attrs = {"pde": pde, "source_format": format}
    return DataFile(path, format, n_samples.pop(), fields, coords, attrs, bcs, handle)


# ----------------------------------------------------------------------------- The Well

def _read_the_well(path: Path, handle: h5py.File) -> DataFile:
    attrs = _attrs_dict(handle.attrs)
    dimensions = handle[schema.DIMENSIONS_GROUP]
    spatial = [decode(d) for d in plain(dimensions.attrs.get("spatial_dims", []))]
    if not spatial:
        raise DataError(path, "attribute spatial_dims missing; expected e.g. ['x', 'y']",
                        field=schema.DIMENSIONS_GROUP)
    n_samples = attrs.get("n_trajectories")
    fields: dict[str, FieldInfo] = {}
    for group_name, rank in ((schema.SCALAR_GROUP, 0), (schema.VECTOR_GROUP, 1)):
        if group_name not in handle:
            continue
        for name, dataset in handle[group_name].items():
            where = f"{group_name}/{name}"
            sample_varying = bool(plain(dataset.attrs.get("sample_varying", True)))
            time_varying = bool(plain(dataset.attrs.get("time_varying", True)))
            dim_varying = plain(dataset.attrs.get("dim_varying", [True] * len(spatial)))
            dims = ((("t",) if time_varying else ())
                    + tuple(d for d, varies in zip(spatial, dim_varying) if varies)
                    + ((COMPONENT_AXIS,) if rank else ()))
            expected = (1 if sample_varying else 0) + len(dims)
            if dataset.ndim != expected:
                raise DataError(path, f"expected {expected} dimensions "
                                      f"{(('sample',) if sample_varying else ()) + dims}, got {dataset.ndim} "
                                      f"with shape {dataset.shape}", field=where)
            offset = 1 if sample_varying else 0
            fields[name] = FieldInfo(name, dims, dataset, 0 if sample_varying else None,
                                     tuple(range(offset, dataset.ndim)), attrs=_attrs_dict(dataset.attrs),
                                     source=where)
            if sample_varying and n_samples is None:
                n_samples = dataset.shape[0]
    if not fields:
        raise DataError(path, "no fields; expected datasets under 't0_fields/' or 't1_fields/'",
                        field=schema.SCALAR_GROUP)
    coords = {name: np.asarray(array) for name, array in dimensions.items() if isinstance(array, h5py.Dataset)}
    if "time" in coords:
        coords["t"] = coords.pop("time")
    bcs = {}
    if schema.BOUNDARY_GROUP in handle:
        for group in handle[schema.BOUNDARY_GROUP].values():
            kind = str(decode(group.attrs.get("bc_type", "unknown"))).lower()
            for axis in plain(group.attrs.get("associated_dims", [])):
                bcs[decode(axis)] = kind
    attrs.setdefault("pde", attrs.get("dataset_name"))
    attrs["source_format"] = "the-well"
    for name in plain(attrs.get("simulation_parameters", [])):
        if name in attrs:
            attrs[f"param_{name}"] = attrs[name]
    return DataFile(path, "the-well", int(n_samples or 1), fields, coords, attrs, bcs, handle)
