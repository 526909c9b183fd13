"""opkit/data/schema.py: field layouts and generator parameters as HDF5 attributes, both ways."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from opkit.data.schema import (SCALAR_GROUP, VECTOR_GROUP, FieldLayout, as_layout, decode, params_from_attrs,
                               params_json, params_to_attrs, plain)


def test_field_layout_axes_and_group():
    solution = FieldLayout("solution", ("t", "x"), (5, 32))
    velocity = FieldLayout("velocity", ("t", "x", "y", "component"), (5, 8, 8, 2))
    assert (solution.spatial_dims, solution.has_time, solution.is_vector, solution.group) == (
        ("x",), True, False, SCALAR_GROUP)
    assert (velocity.spatial_dims, velocity.is_vector, velocity.group) == (("x", "y"), True, VECTOR_GROUP)
    spec = SimpleNamespace(name="coefficient", dims=["x", "y"], shape=[np.int64(9), 9])
    assert as_layout(spec) == FieldLayout("coefficient", ("x", "y"), (9, 9), "")


def test_params_round_trip_through_attributes():
    params = {"nu": np.float64(0.01), "resolution": 64, "modes": np.array([1, 2]), "name": "tiny",
              "nested": {"a": 1}, "mixed": [1, "a"], "none": None}
    attrs = params_to_attrs(params)
    assert attrs["param_nu"] == 0.01 and attrs["param_modes"] == [1, 2] and attrs["param_none"] == "none"
    assert "param_nested" not in attrs and "param_mixed" not in attrs  # only in params_json
    assert json.loads(attrs["params_json"]) == {"nu": 0.01, "resolution": 64, "modes": [1, 2], "name": "tiny",
                                                "nested": {"a": 1}, "mixed": [1, "a"], "none": None}
    assert params_from_attrs({"params_json": attrs["params_json"].encode()})["nested"] == {"a": 1}
    assert params_from_attrs({"param_nu": np.float64(0.5), "param_name": b"tiny", "other": 1}) == {
        "nu": 0.5, "name": "tiny"}
    assert params_json({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'  # canonical: sorted keys
    with pytest.raises(TypeError, match="is not plain data"):
        params_json({"solver": object()})


def test_plain_and_decode_undo_hdf5_types():
    assert decode(b"x") == "x" and decode(3) == 3
    assert plain(np.array([b"x", b"y"], dtype=object)) == ["x", "y"]
    assert plain(np.int32(4)) == 4 and type(plain(np.int32(4))) is int
