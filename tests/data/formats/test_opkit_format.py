"""Our own files (opkit/data/formats/opkit_format.py): read back as written, refused when unfinished or malformed."""

import h5py
import numpy as np
import pytest

from opkit.data.formats import open_dataset_file
from opkit.errors import DataError


def test_an_opkit_file_reads_back_as_written(opkit_files):
    with open_dataset_file(opkit_files.ns) as f:
        assert f.format == "opkit" and f.pde == "navier_stokes" and f.n_samples == 3
        assert f.fields["vorticity"].dims == ("t", "x", "y")
        np.testing.assert_array_equal(f.read("vorticity", 1), opkit_files.vorticity[1])
        np.testing.assert_allclose(f.coords["t"], np.arange(6.0))


@pytest.mark.parametrize("damage, message", [
    (lambda f: f.attrs.__setitem__("complete", False), "incomplete file"),
    (lambda f: f.attrs.__setitem__("schema_version", 999), "schema_version 999"),
    (lambda f: f.attrs.__delitem__("n_samples"), "attribute n_samples missing"),
    (lambda f: f["t0_fields/coefficient"].attrs.__setitem__("dims", ["x", "y"]), "start with 'sample'"),
])
def test_a_damaged_file_is_refused_in_one_line(opkit_files, damage, message):
    with h5py.File(opkit_files.darcy, "r+") as handle:
        damage(handle)
    with pytest.raises(DataError, match=message) as error:
        open_dataset_file(opkit_files.darcy)
    assert str(opkit_files.darcy) in str(error.value) and "\n" not in str(error.value)
