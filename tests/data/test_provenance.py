"""A data file's identity: generated files are the same data at any sample count, other files only as they are."""

import json

import h5py

from opkit.data.formats import open_dataset_file
from opkit.data.generate import generate_dataset
from opkit.data.provenance import file_identity, same_data


def _identity(path):
    with open_dataset_file(path) as datafile:
        return file_identity(datafile)


def _same(recorded, path):
    with open_dataset_file(path) as datafile:
        return same_data(recorded, datafile)


def test_generated_files(tmp_path, fake_problem):
    trained_on = _identity(generate_dataset(fake_problem(), tmp_path / "a.h5", 6, base_seed=2, progress=False))
    assert trained_on["format"] == "opkit-generated" and trained_on["n_samples"] == 6
    # sample i depends only on (seed, i): more samples, same seed and parameters, is the same data
    assert _same(trained_on, generate_dataset(fake_problem(), tmp_path / "more.h5", 9, base_seed=2, progress=False))
    assert not _same(trained_on, generate_dataset(fake_problem(), tmp_path / "seed.h5", 6, base_seed=3,
                                                  progress=False))
    assert not _same(trained_on, generate_dataset(fake_problem(n_x=16), tmp_path / "finer.h5", 6, base_seed=2,
                                                  progress=False))
    # a parameter that a newer opkit records is absent from an older file: not a difference
    older = generate_dataset(fake_problem(), tmp_path / "older.h5", 6, base_seed=2, progress=False)
    with h5py.File(older, "r+") as handle:
        params = json.loads(handle.attrs["params_json"])
        del params["viscosity"]
        handle.attrs["params_json"] = json.dumps(params)
    assert _same(trained_on, older)


def test_other_files_match_only_as_they_are(tmp_path, community):
    path = tmp_path / "darcy.hdf5"
    community.write_pdebench_darcy(path, n=3)
    recorded = _identity(path)
    assert recorded == {"format": "pdebench", "name": "darcy.hdf5", "source_file": None, "n_samples": 3}
    assert _same(recorded, path)
    community.write_pdebench_darcy(path, n=4)
    assert not _same(recorded, path)
