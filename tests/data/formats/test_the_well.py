"""The Well's HDF5 layout (opkit/data/formats/the_well.py), read back value for value."""

import h5py
import numpy as np

from opkit.data.dataset import PDEDataset
from opkit.data.formats import open_dataset_file


def test_the_well_layout(tmp_path, community):
    path = tmp_path / "toy_flow.hdf5"
    w = community.write_the_well(path, n=2, n_t=4, n_x=8, n_y=6)
    with open_dataset_file(path) as f:
        assert f.format == "the-well" and f.pde == "toy_flow" and f.attrs["param_Re"] == 100.0
        assert f.fields["velocity"].dims == ("t", "x", "y", "component")
        assert f.boundary_conditions == {"x": "periodic"}
        assert f.coords["t"].shape == (4,)
    dataset = PDEDataset(path, history=1)            # pressure and velocity, sorted by name
    assert dataset.in_channels == 3 and len(dataset) == 2 * 3
    x, y = dataset[3 + 2]
    np.testing.assert_array_equal(x.numpy(), np.stack([w[1, 2], w[1, 2], 2 * w[1, 2]]))
    np.testing.assert_array_equal(y.numpy(), np.stack([w[1, 3], w[1, 3], 2 * w[1, 3]]))



def test_the_well_field_shared_by_every_sample(tmp_path, community):
    path = tmp_path / "well.hdf5"
    community.write_the_well(path, n=2, n_t=4, n_x=8, n_y=6)
    mask = np.arange(48, dtype=np.float32).reshape(8, 6)
    with h5py.File(path, "r+") as f:                   # constant in time and across trajectories
        f["t0_fields/obstacle"] = mask
        f["t0_fields/obstacle"].attrs.update({"dim_varying": [True, True], "sample_varying": False,
                                              "time_varying": False})
    with open_dataset_file(path) as f:
        assert f.fields["obstacle"].dims == ("x", "y") and f.n_samples == 2
        np.testing.assert_array_equal(f.read("obstacle", 1), mask)
        np.testing.assert_array_equal(f.read("obstacle", slice(0, 2)), np.stack([mask, mask]))
        np.testing.assert_array_equal(f.read("obstacle", 0, {"x": slice(None, None, 2)}), mask[::2])

