"""Our own schema (``opkit/data/schema.py``): fields under ``t0_fields``/``t1_fields``, axes named in attributes."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from opkit.data import schema
from opkit.data.formats.datafile import DataFile, FieldInfo, attrs_dict
from opkit.data.schema import decode, plain
from opkit.errors import DataError


def read_opkit(path: Path, handle: h5py.File, allow_incomplete: bool = False) -> DataFile:
    attrs = attrs_dict(handle.attrs)
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
                attrs=attrs_dict(dataset.attrs), source=where)
    if not fields:
        raise DataError(path, "no fields; expected datasets under 't0_fields/'", field=schema.SCALAR_GROUP)
    coords = {}
    if schema.DIMENSIONS_GROUP in handle:
        coords = {name: np.asarray(array) for name, array in handle[schema.DIMENSIONS_GROUP].items()}
    bcs = {}
    if schema.BOUNDARY_GROUP in handle:
        bcs = {axis: decode(group.attrs.get("type", "unknown")) for axis, group in handle[schema.BOUNDARY_GROUP].items()}
    return DataFile(path, "opkit", n_samples, fields, coords, attrs, bcs, handle)
