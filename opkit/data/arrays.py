"""Your own arrays as an opkit file: ``write_arrays`` (Python) and ``opkit convert --input/--target``.

A user's data is a few arrays, one per field, each with the sample axis first:

    inputs  (n_samples, *dims)  or  (n_samples, channels, *dims)  or  (n_samples, *dims, channels)
    targets  the same

``dims`` names the per-sample axes (``("x", "y")``; ``"t"`` for a time axis, first). A channel
axis is channels-first unless ``channels="last"``; a field with several channels is stored as a
vector field (trailing ``component`` axis), one channel is squeezed away. The file records which
fields are inputs and which are targets (root attributes ``input_fields`` and ``target_fields``),
so ``PDEDataset``/``PDEDataModule`` and ``opkit evaluate`` use them without being told.

Sources read by :func:`read_source`: ``.npy`` (one array), ``.npz``, torch ``.pt``/``.pth`` holding a
dict of tensors (loaded with ``weights_only=True``: no code runs), and plain HDF5 (any dataset path).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from opkit.data import schema
from opkit.errors import DataError

CHANNELS = ("first", "last")
TORCH_SUFFIXES = (".pt", ".pth")
# Samples are written in blocks of about this many bytes (float32).
WRITE_BLOCK_BYTES = 64 << 20


def canonical_pde(name: str | None) -> str | None:
    """One spelling per PDE name: ``"Navier-Stokes"`` and ``"navier_stokes"`` are ``"navier_stokes"``."""
    return None if name is None else str(name).strip().lower().replace("-", "_")


def read_source(path) -> dict[str, Any]:
    """The arrays in ``path`` by key: an ``.npy`` file's one array is under its file stem.

    HDF5 arrays are returned as lazy h5py datasets (keys are full paths, ``"group/name"``);
    the caller keeps the returned ``"__handle__"`` open while reading and closes it after.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found; expected a .npy, .npz, .pt or HDF5 file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return {path.stem: np.load(path, mmap_mode="r", allow_pickle=False)}
        except ValueError as error:
            raise DataError(path, f"not a plain numeric .npy array ({error}); expected np.save of a numeric "
                                  "array (pickled objects are not read)") from None
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except ValueError as error:
            raise DataError(path, f"not a plain .npz archive ({error}); expected np.savez of numeric arrays") \
                from None
    if suffix in TORCH_SUFFIXES:
        return _read_torch(path)
    import h5py

    if h5py.is_hdf5(path):
        handle = h5py.File(path, "r")
        found: dict[str, Any] = {}

        def collect(name: str, item) -> None:  # returning anything but None would stop the visit
            if isinstance(item, h5py.Dataset):
                found[name] = item

        handle.visititems(collect)
        found["__handle__"] = handle
        return found
    raise DataError(path, f"unsupported file type {suffix or '(no suffix)'!r}; expected .npy, .npz, .pt/.pth "
                          "(a dict of tensors) or HDF5")


def _read_torch(path: Path) -> dict[str, Any]:
    import torch

    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean the same thing here
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(path, f"not loadable with torch.load(weights_only=True) ({first[:120]}); expected "
                              "torch.save of a dict of tensors") from None
    if isinstance(contents, torch.Tensor):
        contents = {path.stem: contents}
    if not isinstance(contents, Mapping):
        raise DataError(path, f"holds a {type(contents).__name__}; expected a dict of tensors")
    arrays = {}
    for key, value in contents.items():
        if isinstance(value, torch.Tensor):
            arrays[str(key)] = value.detach().cpu().numpy()
        elif isinstance(value, np.ndarray):
            arrays[str(key)] = value
    return arrays


def _numeric(path, name: str, array, notes: list[str]):
    """``array`` if it is real numbers; bool and integer arrays are cast (with a note), the rest refused."""
    dtype = np.dtype(getattr(array, "dtype", np.asarray(array).dtype))
    if dtype.kind in "biu":
        notes.append(f"{name}: {dtype} values cast to float32")
    elif dtype.kind == "c":
        raise DataError(path, f"complex values ({dtype}); expected real numbers (store real and imaginary "
                              "parts as two channels)", field=name)
    elif dtype.kind != "f":
        raise DataError(path, f"dtype {dtype}; expected real numbers", field=name)
    return array


def _layout(path, name: str, shape: tuple[int, ...], dims: tuple[str, ...], channels: str | None):
    """``(channel axis or None, stored dims, stored shape)`` for an array of ``shape`` with per-sample ``dims``."""
    expected = f"(sample, {', '.join(dims)})"
    if len(shape) == len(dims) + 1:
        return None, dims, shape[1:]
    if len(shape) == len(dims) + 2:
        axis = 1 if (channels or "first") == "first" else len(shape) - 1
        rest = tuple(n for position, n in enumerate(shape) if position not in (0, axis))
        if shape[axis] == 1:
            return axis, dims, rest
        return axis, (*dims, schema.COMPONENT_AXIS), (*rest, shape[axis])
    if len(shape) == len(dims):
        problem = f"shape {shape} has no sample axis for dims {list(dims)}; expected {expected}"
    else:
        problem = (f"shape {shape} has {len(shape)} axes; dims {list(dims)} need {len(dims) + 1} {expected} or "
                   f"{len(dims) + 2} with a channel axis")
    raise DataError(path, problem, field=name)


class _Field:
    """One field to write: its source array, how to reorder it, and its stored layout."""

    def __init__(self, path, name: str, array, dims: tuple[str, ...], channels: str | None, notes: list[str],
                 description: str):
        self.name, self.array = name, _numeric(path, name, array, notes)
        shape = tuple(int(n) for n in array.shape)
        self.channel_axis, self.dims, self.shape = _layout(path, name, shape, dims, channels)
        self.n_samples = shape[0] if shape else 0
        self.source_shape = shape
        self.description = description

    def layout(self) -> schema.FieldLayout:
        return schema.FieldLayout(self.name, self.dims, self.shape, self.description)

    def block(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 in the stored layout ``(n, *dims[, component])``."""
        values = np.asarray(self.array[start:stop], dtype=np.float32)
        if self.channel_axis is None:
            return values
        if self.source_shape[self.channel_axis] == 1:
            return np.squeeze(values, axis=self.channel_axis)
        return np.moveaxis(values, self.channel_axis, -1)


def _as_fields(value, default_name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        if not value:
            raise DataError("<arrays>", f"no {default_name} arrays; expected at least one")
        return {str(key): array for key, array in value.items()}
    return {default_name: value}


def _torch_to_numpy(value):
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    return value


def write_arrays(path, inputs, targets, dims: Sequence[str] | str, coords: Mapping[str, Any] | None = None,
                 attrs: Mapping[str, Any] | None = None, *, channels: str | None = None, pde: str | None = None,
                 boundary_conditions: str | Mapping[str, str] | None = None, compression: str | None = None,
                 overwrite: bool = True, source: str | Path | None = None, notes: list[str] | None = None,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Write input and target arrays as a complete opkit file at ``path`` (atomically); return the path.

    Args:
        inputs, targets: an array ``(n_samples, *dims)`` (numpy, torch or h5py), optionally with a
            channel axis, or a dict ``{field name: array}``; a bare array is named ``input``/``target``.
        dims: per-sample axis names, e.g. ``("x", "y")`` or ``"x,y"``; ``"t"`` (time) must be first.
        coords: coordinate arrays per axis; default ``linspace(0, 1, n)`` (without the end point on
            a periodic axis).
        attrs: extra root attributes (str, int, float, bool or flat lists of them).
        channels: ``"first"`` (default) or ``"last"``: where an array's channel axis is, if it has one.
        pde: recorded as the ``pde`` attribute (``navier-stokes`` is stored as ``navier_stokes``).
        boundary_conditions: one type for every spatial axis (``"periodic"``, ``"dirichlet"``, ...) or
            a dict per axis; default none recorded.
        overwrite: replace an existing ``path``; ``False`` refuses it (DataError).
        source: the file the arrays came from (recorded, and named in error messages).
        notes: a list that receives one line per conversion made (integer/bool arrays cast to float32).

    Raises ``DataError`` (one line naming the field) for ambiguous or inconsistent arrays: no sample
    axis, a number of axes that fits neither ``dims`` nor ``dims`` plus a channel axis, different
    sample counts or grids between fields, non-finite values, complex or non-numeric dtypes.
    """
    from opkit.data.writer import create_file, finalize, write_samples
    from opkit.io import atomic_path

    out = Path(path)
    path = Path(source) if source is not None else out  # errors name the file the arrays came from
    notes = notes if notes is not None else []
    if isinstance(dims, str):
        dims = [d.strip() for d in dims.split(",") if d.strip()]
    dims = tuple(str(d) for d in dims)
    if not dims or len(set(dims)) != len(dims):
        raise DataError(path, f"dims {list(dims)}; expected distinct axis names such as x,y")
    if schema.COMPONENT_AXIS in dims or schema.SAMPLE_AXIS in dims:
        raise DataError(path, f"dims {list(dims)}; 'sample' and 'component' are implied, expected only the "
                              "grid axes (and 't')")
    if schema.TIME_AXIS in dims and dims[0] != schema.TIME_AXIS:
        raise DataError(path, f"dims {list(dims)}; expected the time axis 't' first")
    if channels is not None and channels not in CHANNELS:
        raise DataError(path, f"channels={channels!r}; expected 'first' or 'last'")
    if out.exists() and not overwrite:
        raise DataError(out, "exists; expected a new output path (pass --overwrite to replace it)")
    spatial = tuple(d for d in dims if d != schema.TIME_AXIS)
    input_arrays = _as_fields(inputs, "input")
    target_arrays = _as_fields(targets, "target")
    shared = set(input_arrays) & set(target_arrays)
    if shared:
        raise DataError(path, f"fields {sorted(shared)} are both inputs and targets; expected different names")
    fields = [_Field(path, name, _torch_to_numpy(array), dims, channels, notes, role)
              for role, arrays in (("input", input_arrays), ("target", target_arrays))
              for name, array in arrays.items()]
    for field in fields:
        if field.channel_axis is not None and channels is None:
            notes.append(f"{field.name}: shape {field.source_shape} read channels-first (sample, channel, "
                         f"{', '.join(dims)}); say channels='last' (--channels last) if the channels come last")
    first = fields[0]
    for field in fields[1:]:
        if field.n_samples != first.n_samples:
            raise DataError(path, f"{field.n_samples} samples (shape {field.source_shape}); expected "
                                  f"{first.n_samples} like {first.name!r} (shape {first.source_shape}); the "
                                  "sample axis must be the first axis of every array", field=field.name)
        grid, first_grid = field.shape[:len(dims)], first.shape[:len(dims)]
        if grid != first_grid:
            hint = "" if channels else " (an array with a channel axis is read channels-first; pass channels " \
                                        "'last' for (sample, ..., channel))"
            raise DataError(path, f"grid {dict(zip(dims, grid))} (shape {field.source_shape}); expected "
                                  f"{dict(zip(dims, first_grid))} like {first.name!r}{hint}", field=field.name)
    if first.n_samples < 1:
        raise DataError(path, "no samples; expected at least one", field=first.name)
    grid_sizes = dict(zip(dims, first.shape[:len(dims)]))
    bcs = _boundary_conditions(path, boundary_conditions, spatial)
    coordinates = {}
    for axis, n in grid_sizes.items():
        values = (coords or {}).get(axis)
        if values is None:
            values = np.linspace(0.0, 1.0, n, endpoint=bcs.get(axis) != "periodic")
        values = np.asarray(_torch_to_numpy(values), dtype=np.float64).reshape(-1)
        if values.size != n:
            raise DataError(path, f"{values.size} coordinates for axis {axis!r}; expected {n} (its grid size)",
                            field=axis)
        coordinates[axis] = values
    unknown = set(coords or {}) - set(dims)
    if unknown:
        raise DataError(path, f"coordinates for {sorted(unknown)}; expected only the dims {list(dims)}")
    extra = {"input_fields": list(input_arrays), "target_fields": list(target_arrays),
             "source_format": "arrays", "source_file": path.name if source is not None else "write_arrays"}
    extra.update(dict(attrs or {}))
    if any(f.channel_axis is not None for f in fields):
        extra["channels"] = channels or "first"
    layouts = [field.layout() for field in fields]
    per_sample = sum(4 * math.prod(layout.shape) for layout in layouts)
    block = max(1, WRITE_BLOCK_BYTES // max(1, per_sample))
    with atomic_path(out) as tmp:
        handle = create_file(tmp, pde=canonical_pde(pde) or "unknown", preset="user",
                             solver=f"user data ({extra['source_file']})", params={}, fields=layouts,
                             coords=coordinates, boundary_conditions=bcs, n_samples=first.n_samples,
                             base_seed=None, compression=compression, extra_attrs=extra)
        try:
            for start in range(0, first.n_samples, block):
                stop = min(start + block, first.n_samples)
                write_samples(handle, np.arange(start, stop), {f.name: f.block(start, stop) for f in fields})
                if progress is not None:
                    progress(stop - start)
            finalize(handle)
        finally:
            handle.close()
    return out


def _boundary_conditions(path, value, spatial: tuple[str, ...]) -> dict[str, str]:
    if value is None:
        return {}
    per_axis = {axis: value for axis in spatial} if isinstance(value, str) else dict(value)
    for axis, kind in per_axis.items():
        if axis not in spatial:
            raise DataError(path, f"boundary condition for axis {axis!r}; expected one of the grid axes "
                                  f"{list(spatial)}")
        if kind not in schema.BOUNDARY_TYPES:
            raise DataError(path, f"boundary condition {kind!r} on axis {axis!r}; expected one of "
                                  f"{list(schema.BOUNDARY_TYPES)}")
    return per_axis


def _pick(path: Path, arrays: dict[str, Any], key: str, role: str) -> tuple[str, Any]:
    """The array for ``--input``/``--target`` ``key``: a key of the source, or another ``.npy`` file."""
    if key in arrays:
        return key.rsplit("/", 1)[-1], arrays[key]
    other = Path(key)
    if other.suffix.lower() == ".npy":
        return other.stem, read_source(other)[other.stem]
    keys = sorted(k for k in arrays if k != "__handle__")
    raise DataError(path, f"no array {key!r} for --{role}; expected one of {keys} (or a .npy file)")


def convert_arrays(source, out, inputs: Sequence[str] | None, targets: Sequence[str], dims: Sequence[str] | str,
                   coords: Sequence[str] = (), channels: str | None = None, pde: str | None = None,
                   boundary_conditions: str | None = None, compression: str | None = None,
                   overwrite: bool = False, notes: list[str] | None = None) -> Path:
    """``opkit convert SOURCE OUT --input KEY --target KEY --dims x,y``: arrays of any source file -> opkit.

    ``inputs``/``targets`` are keys of ``source`` (HDF5: dataset paths) or other ``.npy`` files; a
    ``.npy`` source is itself the input when ``inputs`` is empty. ``coords`` entries are
    ``AXIS=KEY`` (an array of the source) or ``AXIS=START:STOP`` (uniform, end point included
    unless the axis is periodic).
    """
    source = Path(source)
    arrays = read_source(source)
    handle = arrays.pop("__handle__", None)
    try:
        if not inputs:
            if source.suffix.lower() != ".npy":
                raise DataError(source, f"no --input given; expected --input KEY with KEY one of {sorted(arrays)}")
            inputs = [source.stem]
        if not targets:
            raise DataError(source, f"no --target given; expected --target KEY with KEY one of {sorted(arrays)} "
                                    "(or a .npy file)")
        picked_inputs = dict(_pick(source, arrays, key, "input") for key in inputs)
        picked_targets = dict(_pick(source, arrays, key, "target") for key in targets)
        if len(picked_inputs) != len(inputs) or len(picked_targets) != len(targets):
            raise DataError(source, f"--input {list(inputs)} / --target {list(targets)} repeat a name; expected "
                                    "each array once")
        dim_names = [d.strip() for d in dims.split(",")] if isinstance(dims, str) else list(dims)
        coordinates = {}
        for entry in coords:
            axis, sep, spec = entry.partition("=")
            if not sep or axis not in dim_names:
                raise DataError(source, f"--coords {entry!r}; expected AXIS=KEY or AXIS=START:STOP with AXIS one "
                                        f"of {dim_names}")
            coordinates[axis] = spec
        first = next(iter(picked_inputs.values()))
        resolved = {}
        for axis, spec in coordinates.items():
            if spec in arrays:
                resolved[axis] = np.asarray(arrays[spec])
                continue
            low, sep, high = spec.partition(":")
            try:
                low, high = float(low), float(high)
            except ValueError:
                raise DataError(source, f"--coords {axis}={spec}; expected a key of the file or START:STOP "
                                        "numbers") from None
            n = _axis_size(source, first, dim_names, axis, channels)
            periodic = (boundary_conditions or "") == "periodic"
            resolved[axis] = np.linspace(low, high, n, endpoint=not periodic)
        return write_arrays(out, picked_inputs, picked_targets, dim_names, coords=resolved, channels=channels,
                            pde=pde, boundary_conditions=boundary_conditions, compression=compression,
                            overwrite=overwrite, source=source, notes=notes)
    finally:
        if handle is not None:
            handle.close()


def _axis_size(path, array, dims: list[str], axis: str, channels: str | None) -> int:
    shape = tuple(int(n) for n in array.shape)
    _, stored_dims, stored_shape = _layout(path, "input", shape, tuple(dims), channels)
    return stored_shape[list(stored_dims).index(axis)]
