"""The FNO authors' .mat files (opkit/data/formats/fno_mat.py), v5 and v7.3, read back value for value."""

import h5py
import numpy as np
import pytest

from opkit.data.formats import open_dataset_file


@pytest.mark.parametrize("version", ["v5", "v7.3"])
@pytest.mark.parametrize("kind", ["burgers", "darcy", "navier_stokes"])
def test_fno_mat_files_both_versions(tmp_path, community, kind, version):
    arrays = community.fno_arrays(kind)
    path = tmp_path / f"{kind}.mat"
    (community.write_mat_v5 if version == "v5" else community.write_mat_v73)(path, arrays)
    if version == "v7.3":
        with open(path, "rb") as stream:
            assert stream.read(10) == b"MATLAB 7.3"
        with h5py.File(path, "r") as raw:                 # stored reversed, as MATLAB writes it
            assert raw[list(arrays)[0]].shape == arrays[list(arrays)[0]].shape[::-1]
    with open_dataset_file(path) as f:
        assert f.format == f"fno-mat-{version}" and f.pde == kind and f.n_samples == 3
        if kind == "burgers":
            np.testing.assert_array_equal(f.read("initial", 1), arrays["a"][1].astype(np.float32))
            np.testing.assert_array_equal(f.read("solution", 2), arrays["u"][2].astype(np.float32))
        elif kind == "darcy":
            np.testing.assert_array_equal(f.read("coefficient", 0), arrays["coeff"][0].astype(np.float32))
            np.testing.assert_array_equal(f.read("solution", 2), arrays["sol"][2].astype(np.float32))
        else:
            w = community.vorticity_values(3, 5, 8, 6)
            assert f.fields["vorticity"].dims == ("t", "x", "y") and f.fields["vorticity"].shape == (5, 8, 6)
            np.testing.assert_array_equal(f.read("vorticity", 2), w[2])
            np.testing.assert_array_equal(f.read("initial", 1), w[1, 0])
            np.testing.assert_array_equal(f.coords["t"], np.arange(1, 6))

