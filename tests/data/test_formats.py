"""Community formats written in their published layouts, read back value for value, and converted."""

import numpy as np
import pytest

from opkit.data.dataset import PDEDataset

from opkit.data.formats import open_dataset_file
from opkit.data.writer import convert_file


@pytest.mark.parametrize("layout", ["pdebench_burgers", "pdebench_darcy", "pdebench_ns", "fno_ns_v73", "the_well"])
def test_convert_round_trip_gives_identical_items(tmp_path, community, layout):
    source = tmp_path / {"pdebench_burgers": "1D_Burgers_Sols_Nu0.01.hdf5", "pdebench_darcy": "darcy.hdf5",
                         "pdebench_ns": "ns.h5", "fno_ns_v73": "ns.mat", "the_well": "well.hdf5"}[layout]
    if layout == "pdebench_burgers":
        community.write_pdebench_burgers(source, n=2, n_t=11, n_x=16)
    elif layout == "pdebench_darcy":
        community.write_pdebench_darcy(source)
    elif layout == "pdebench_ns":
        community.write_pdebench_ns(source)
    elif layout == "fno_ns_v73":
        community.write_mat_v73(source, community.fno_arrays("navier_stokes"))
    else:
        community.write_the_well(source)
    out = convert_file(source, tmp_path / "converted.h5", progress=False)
    with open_dataset_file(out) as converted, open_dataset_file(source) as original:
        assert converted.format == "opkit" and converted.attrs["source_file"] == source.name
        assert converted.attrs["source_format"] == original.format
        assert set(converted.fields) == set(original.fields)
        for name in original.fields:
            np.testing.assert_array_equal(converted.read(name, slice(None)), original.read(name, slice(None)))
        for axis, values in original.coords.items():
            np.testing.assert_allclose(converted.coords[axis], values)
        if layout == "pdebench_burgers":
            assert converted.attrs["viscosity_convention"] == "nu/pi"
            assert converted.attrs["param_viscosity"] == pytest.approx(0.01 / np.pi)
    a, b = PDEDataset(source), PDEDataset(out)
    assert (a.task, len(a), a.in_channels) == (b.task, len(b), b.in_channels)
    for item in (0, len(a) - 1):
        for left, right in zip(a[item], b[item]):
            assert torch_equal(left, right)


def torch_equal(a, b):
    return a.shape == b.shape and bool((a == b).all())


