"""FieldInfo and DataFile (opkit/data/formats/datafile.py): reading in canonical axis order, and the checks."""

import numpy as np
import pytest

from opkit.data.formats.datafile import FieldInfo, check_fields, require, uniform_grid
from opkit.errors import DataError


def test_read_puts_axes_in_canonical_order_and_slices_in_the_file():
    # stored (x, sample, channel, t): one sample is (t, x) after the map, the singleton channel pinned
    stored = np.arange(4 * 3 * 1 * 5, dtype=np.float32).reshape(4, 3, 1, 5)
    info = FieldInfo("u", ("t", "x"), stored, sample_axis=1, axis_map=(3, 0), fixed={2: 0})
    assert info.shape == (5, 4) and info.spatial_dims == ("x",) and info.has_time and not info.is_vector
    np.testing.assert_array_equal(info.read(2), stored[:, 2, 0, :].T)
    np.testing.assert_array_equal(info.read(slice(0, 2)), stored[:, 0:2, 0, :].transpose(1, 2, 0))
    np.testing.assert_array_equal(info.read(1, {"x": slice(None, None, 2)}), stored[::2, 1, 0, :].T)


def test_a_field_shared_by_every_sample_repeats_for_a_slice():
    mask = np.arange(6.0).reshape(2, 3)
    info = FieldInfo("mask", ("x", "y"), mask, sample_axis=None, axis_map=(0, 1))
    np.testing.assert_array_equal(info.read(7), mask)
    assert info.read(slice(0, 3)).shape == (3, 2, 3)


def test_checks_name_the_field_and_what_was_expected(tmp_path):
    path = tmp_path / "f.h5"
    complex_field = FieldInfo("u", ("x",), np.zeros((2, 4), np.complex64), 0, (1,), source="data/u")
    with pytest.raises(DataError, match=r"complex values.*two fields") as error:
        check_fields(path, 2, {"u": complex_field})
    assert "data/u" in str(error.value) and str(path) in str(error.value)
    short = FieldInfo("v", ("x",), np.zeros((3, 4), np.float32), 0, (1,))
    with pytest.raises(DataError, match="3 samples; expected 2"):
        check_fields(path, 2, {"v": short})
    with pytest.raises(DataError, match=r"field .a.: missing; expected a \(n, x\) array"):
        require(path, {}, "a", (2,), "a (n, x) array")
    with pytest.raises(DataError, match=r"expected 2 or 3 dimensions \(a grid\), got 1"):
        require(path, {"a": np.zeros(3)}, "a", (2, 3), "a grid")


def test_uniform_grid_leaves_out_the_right_end_on_a_periodic_axis():
    np.testing.assert_allclose(uniform_grid(4, periodic=True), [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(uniform_grid(5, periodic=False), [0.0, 0.25, 0.5, 0.75, 1.0])
