"""The Well's HDF5 files (Ohana et al. 2024): ``t0_fields``/``t1_fields``, ``dimensions``, ``boundary_conditions``."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from opkit.data import schema
from opkit.data.formats.datafile import DataFile, FieldInfo, attrs_dict
from opkit.data.schema import COMPONENT_AXIS, decode, plain
from opkit.errors import DataError


def read_the_well(path: Path, handle: h5py.File) -> DataFile:
    attrs = attrs_dict(handle.attrs)
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
                                     tuple(range(offset, dataset.ndim)), attrs=attrs_dict(dataset.attrs),
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
