"""Writing files in the opkit schema (see ``opkit.data.schema``).

Three steps: :func:`create_file` lays out groups, coordinates, attributes and empty
chunked field datasets; :func:`write_samples` fills samples (in any order, any number of
times); :func:`finalize` computes per-field statistics and marks the file complete.
:func:`convert_file` runs all three to turn any readable file into an opkit file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import h5py
import numpy as np
from tqdm.auto import tqdm

from opkit import __version__
from opkit.data import schema
from opkit.data.moments import StreamingMoments
from opkit.data.schema import FieldLayout, as_layout
from opkit.errors import DataError
from opkit.io import atomic_path, check_output_path

# A chunk holds one sample; a sample larger than this is chunked per time frame instead,
# so that reading a window of frames does not read the whole trajectory.
MAX_CHUNK_BYTES = 1 << 20
# Statistics are accumulated over blocks of about this many bytes.
STATISTICS_BLOCK_BYTES = 64 << 20


def _chunks(layout: FieldLayout) -> tuple[int, ...]:
    chunk = (1, *layout.shape)
    if layout.has_time and 4 * math.prod(layout.shape) > MAX_CHUNK_BYTES:
        time_axis = 1 + layout.dims.index(schema.TIME_AXIS)
        chunk = tuple(1 if axis == time_axis else n for axis, n in enumerate(chunk))
    return chunk


def create_file(path, *, pde: str, preset: str, solver: str, params: dict, fields: Iterable,
                coords: dict[str, np.ndarray], boundary_conditions: dict[str, str], n_samples: int,
                base_seed: int | None, compression: str | None = None, extra_attrs: dict | None = None) -> h5py.File:
    """Create ``path`` with the full layout and empty fields; return it open for writing.

    ``fields`` are ``FieldLayout``s or the PDE problems' ``FieldSpec``s (name, dims, shape,
    description; dims without the sample axis). ``compression`` is ``None`` or ``"gzip"``.
    """
    if compression not in (None, "gzip"):
        raise DataError(path, f"compression {compression!r}; expected None or 'gzip'")
    layouts = [as_layout(f) for f in fields]
    spatial = next((lay.spatial_dims for lay in layouts), ())
    resolution = next((tuple(n for d, n in zip(lay.dims, lay.shape) if d in spatial) for lay in layouts), ())
    handle = h5py.File(path, "w")
    attrs = {
        "schema_version": schema.SCHEMA_VERSION, "format": schema.FORMAT_NAME, "pde": pde, "preset": preset,
        "solver": solver, "base_seed": -1 if base_seed is None else int(base_seed), "opkit_version": __version__,
        "n_samples": int(n_samples), "resolution": np.asarray(resolution, dtype=np.int64), "complete": False,
    }
    attrs.update(schema.params_to_attrs(params))
    attrs.update(extra_attrs or {})
    for key, value in attrs.items():
        handle.attrs[key] = value
    dimensions = handle.create_group(schema.DIMENSIONS_GROUP)
    dimensions.attrs["spatial_dims"] = list(spatial)
    for name, values in coords.items():
        dimensions.create_dataset(name, data=np.asarray(values, dtype=np.float64))
    bc_group = handle.create_group(schema.BOUNDARY_GROUP)
    for axis, kind in boundary_conditions.items():
        bc_group.create_group(axis).attrs["type"] = kind
    handle.create_group(schema.SCALAR_GROUP)
    handle.create_group(schema.VECTOR_GROUP)
    for layout in layouts:
        dataset = handle[layout.group].create_dataset(
            layout.name, shape=(n_samples, *layout.shape), dtype=np.float32, chunks=_chunks(layout),
            compression=compression)
        dataset.attrs["dims"] = [schema.SAMPLE_AXIS, *layout.dims]
        dataset.attrs["description"] = layout.description
    handle.create_dataset(schema.COMPLETED_MASK, shape=(n_samples,), dtype=bool, fillvalue=False)
    return handle


def field_datasets(handle: h5py.File) -> dict[str, h5py.Dataset]:
    """Every field dataset of an opkit file, by name."""
    found = {}
    for group in (schema.SCALAR_GROUP, schema.VECTOR_GROUP):
        if group in handle:
            found.update(handle[group].items())
    return found


def write_samples(handle: h5py.File, indices, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays[name][k]`` as sample ``indices[k]`` of each field and mark them completed.

    Checks names, shapes and finiteness first, so a bad batch writes nothing.
    """
    path = handle.filename
    datasets = field_datasets(handle)
    indices = np.asarray(indices, dtype=np.int64)
    if set(arrays) != set(datasets):
        raise DataError(path, f"batch has fields {sorted(arrays)}; expected {sorted(datasets)}")
    for name, array in arrays.items():
        expected = (len(indices), *datasets[name].shape[1:])
        if tuple(np.shape(array)) != expected:
            raise DataError(path, f"batch shape {tuple(np.shape(array))}; expected {expected}", field=name)
        if not np.isfinite(array).all():
            bad = int(indices[np.flatnonzero(~np.isfinite(np.asarray(array)).reshape(len(indices), -1).all(1))[0]])
            raise DataError(path, f"non-finite values (NaN or Inf) in sample {bad}; expected finite numbers",
                            field=name)
    order = np.argsort(indices)
    for name, array in arrays.items():
        dataset = datasets[name]
        for position in order:
            dataset[indices[position]] = np.asarray(array[position], dtype=np.float32)
    mask = handle[schema.COMPLETED_MASK]
    for index in indices[order]:
        mask[index] = True
    handle.flush()


def statistics(dataset, path="<array>", field: str | None = None) -> dict[str, float]:
    """Mean, std, min and max over every value of ``dataset`` (h5py dataset or array), block by block.

    The blocks are merged by ``StreamingMoments`` (Chan et al.'s pairwise update), so the
    result does not suffer from cancellation on large files.
    """
    n_samples = dataset.shape[0]
    per_sample = max(1, math.prod(dataset.shape[1:]))
    block = max(1, STATISTICS_BLOCK_BYTES // (4 * per_sample))
    moments = StreamingMoments()
    for start in range(0, n_samples, block):
        values = np.asarray(dataset[start:start + block], dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(path, "non-finite values (NaN or Inf); expected finite numbers", field=field)
        moments.update(values.reshape(1, -1))
    if moments.count == 0:
        raise DataError(path, "no values; expected at least one sample", field=field)
    return {"mean": float(moments.mean[0]), "std": float(moments.std[0]), "min": float(moments.minimum[0]),
            "max": float(moments.maximum[0])}


def nonfinite_count(dataset) -> tuple[int, int]:
    """``(values, samples)``: how many values of ``dataset`` (sample first) are NaN or Inf, in how many samples."""
    per_sample = max(1, math.prod(dataset.shape[1:]))
    block = max(1, STATISTICS_BLOCK_BYTES // (4 * per_sample))
    values, samples = 0, 0
    for start in range(0, dataset.shape[0], block):
        bad = ~np.isfinite(np.asarray(dataset[start:start + block]))
        values += int(bad.sum())
        samples += int(bad.reshape(bad.shape[0], -1).any(axis=1).sum())
    return values, samples


def finalize(handle: h5py.File) -> None:
    """Compute per-field statistics into the field attributes and set ``complete=True``.

    Refuses (``DataError``) while any sample is still missing from the completed mask.
    """
    path = handle.filename
    mask = np.asarray(handle[schema.COMPLETED_MASK])
    if not mask.all():
        raise DataError(path, f"{int((~mask).sum())} of {mask.size} samples not written; expected all")
    for name, dataset in field_datasets(handle).items():
        for key, value in statistics(dataset, path, f"{dataset.parent.name.strip('/')}/{name}").items():
            dataset.attrs[key] = value
    handle.attrs["complete"] = True
    handle.flush()


def convert_file(source, out, compression: str | None = None, progress: bool = True, overwrite: bool = False) -> Path:
    """Write ``source`` (a path or ``DataFile`` in any supported format) as an opkit file at ``out``.

    Field names, dims, coordinates, boundary conditions and attributes are carried over; the
    source format and file are recorded as ``source_format`` and ``source_file``. An existing
    ``out`` is refused unless ``overwrite``; ``out == source`` always (``ConfigError``).
    """
    from opkit.data.formats import DataFile, open_dataset_file

    out = check_output_path(out, inputs=[source.path if isinstance(source, DataFile) else source],
                            overwrite=overwrite)
    datafile = source if isinstance(source, DataFile) else open_dataset_file(source)
    try:
        if datafile.n_samples < 1:
            raise DataError(datafile.path, "no samples; expected at least one sample to convert")
        layouts = [FieldLayout(info.name, info.dims, info.shape, info.description)
                   for info in datafile.fields.values()]
        attrs = {key: value for key, value in datafile.attrs.items()
                 if value is not None and key not in ("format", "schema_version", "complete", "n_samples",
                                                     "opkit_version", "resolution")}
        params = {key[len("param_"):]: value for key, value in attrs.items() if key.startswith("param_")}
        extra = {key: value for key, value in attrs.items()
                 if not key.startswith("param_") and key not in ("pde", "preset", "solver", "base_seed", "params_json")
                 and isinstance(value, (str, int, float, bool, list))}
        extra["source_format"] = datafile.attrs.get("source_format", datafile.format)
        extra["source_file"] = datafile.path.name
        with atomic_path(out) as tmp:
            handle = create_file(
                tmp, pde=str(datafile.attrs.get("pde") or "unknown"), preset=str(datafile.attrs.get("preset", "converted")),
                solver=str(datafile.attrs.get("solver", f"converted from {datafile.format}")), params=params,
                fields=layouts, coords=datafile.coords, boundary_conditions=datafile.boundary_conditions,
                n_samples=datafile.n_samples, base_seed=datafile.attrs.get("base_seed"),
                compression=compression, extra_attrs=_storable(extra))
            try:
                per_sample = sum(4 * math.prod(layout.shape) for layout in layouts)
                block = max(1, STATISTICS_BLOCK_BYTES // max(1, per_sample))
                bar = tqdm(total=datafile.n_samples, unit="sample", desc=f"convert {datafile.path.name}",
                           disable=not progress)
                for start in range(0, datafile.n_samples, block):
                    stop = min(start + block, datafile.n_samples)
                    arrays = {name: datafile.read(name, slice(start, stop)) for name in datafile.fields}
                    write_samples(handle, np.arange(start, stop), arrays)
                    bar.update(stop - start)
                bar.close()
                finalize(handle)
            finally:
                handle.close()
    finally:
        if datafile is not source:
            datafile.close()
    return out


def _storable(attrs: dict) -> dict:
    """Keep the attribute values HDF5 stores plainly: scalars and flat lists of one kind."""
    kept = {}
    for key, value in attrs.items():
        if isinstance(value, (str, bool, int, float)):
            kept[key] = value
        elif isinstance(value, list) and (all(isinstance(v, str) for v in value)
                                          or all(isinstance(v, (int, float)) for v in value)):
            kept[key] = value
    return kept
