"""``DataFile`` and ``FieldInfo``: the one picture every reader maps its file onto, and the readers' helpers.

A ``DataFile`` holds named fields whose per-sample axes are named (``"t"``, ``"x"``, ``"y"``,
``"component"``), coordinate arrays, boundary conditions and attributes; each ``FieldInfo``
knows where its samples lie in the stored array, so reads are lazy and come back in
canonical axis order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from opkit.data.schema import COMPONENT_AXIS, TIME_AXIS, plain
from opkit.errors import DataError

# Number kinds a field may hold (numpy dtype.kind): float, signed and unsigned integer. Complex
# values would lose their imaginary part and booleans turn into 0/1 when read as float32.
NUMERIC_KINDS = "fiu"
REFUSED_KINDS = {"c": "complex", "b": "boolean", "S": "text", "U": "text", "O": "object (text)"}


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
        check_fields(path, n_samples, fields)
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


def check_fields(path: Path, n_samples: int, fields: dict[str, FieldInfo]) -> None:
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


def require(path, container, name: str, ndims: tuple[int, ...], expected: str):
    """``container[name]``, checking it exists and has one of ``ndims`` dimensions."""
    if name not in container:
        raise DataError(path, f"missing; expected {expected}", field=name)
    array = container[name]
    if not hasattr(array, "ndim") or array.ndim not in ndims:
        got = getattr(array, "ndim", "no")
        raise DataError(path, f"expected {' or '.join(map(str, ndims))} dimensions ({expected}), got {got} "
                              f"with shape {getattr(array, 'shape', None)}", field=name)
    return array


def uniform_grid(n: int, periodic: bool) -> np.ndarray:
    """``n`` points on [0, 1]; the right end left out on a periodic axis."""
    return np.linspace(0.0, 1.0, n, endpoint=not periodic)


def attrs_dict(attrs) -> dict:
    """HDF5 attributes as plain Python values."""
    return {key: plain(value) for key, value in attrs.items()}
