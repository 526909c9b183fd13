"""Input that opkit would misread (silently wrong numbers) is refused with one line naming the file and field."""

import h5py
import numpy as np
import pytest
import scipy.io

from opkit.cli import main
from opkit.data.formats import open_dataset_file
from opkit.data.generate import generate_dataset
from opkit.errors import DataError


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"opkit {command}: error: "), err
    return err


def test_plain_hdf5_with_fno_names_is_not_taken_for_matlab(tmp_path, capsys):
    """Read as MATLAB v7.3 it came out transposed: 64 'samples' of 48 points, and evaluate scored 5.9e6."""
    path = tmp_path / "plain.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["a"] = rng.standard_normal((48, 64))
        f["u"] = rng.standard_normal((48, 64))
    with pytest.raises(DataError, match=r"plain\.h5: HDF5 file with FNO names \['a', 'u'\] but no MATLAB v7\.3 "
                                        r"header .*; expected an opkit file .*FNO \.mat \(MATLAB v5, or v7\.3 with"):
        open_dataset_file(path)
    assert main(["inspect", str(path)]) == 2
    assert "no MATLAB v7.3 header" in _one_line_error(capsys, "inspect")


@pytest.mark.parametrize("marker", ["header", "attributes"])
def test_matlab_v73_is_recognised_by_either_marker(tmp_path, community, marker):
    path = tmp_path / "burgers.mat"
    arrays = community.fno_arrays("burgers")                       # a, u of MATLAB shape (3, 64)
    community.write_mat_v73(path, arrays)
    with h5py.File(path, "r+") as f:
        if marker == "header":
            for name in f:
                del f[name].attrs["MATLAB_class"]
    if marker == "attributes":
        with open(path, "r+b") as stream:                          # blank the header text, keep the user block
            stream.write(b"\x00" * 128)
    with open_dataset_file(path) as datafile:
        assert datafile.format == "fno-mat-v7.3" and datafile.n_samples == 3
        np.testing.assert_array_equal(datafile.read("solution", 1), arrays["u"][1].astype(np.float32))


def test_complex_values_are_refused_not_truncated(tmp_path, community, capsys):
    path = tmp_path / "darcy.hdf5"
    community.write_pdebench_darcy(path)
    with h5py.File(path, "r+") as f:
        values = f["nu"][:]
        del f["nu"]
        f["nu"] = values + 1j * values
    with pytest.raises(DataError, match=r"darcy\.hdf5: field 'nu': complex values \(complex\d+\); expected real "
                                        r"numbers .*real and imaginary parts as two fields"):
        open_dataset_file(path)
    mat = tmp_path / "burgers.mat"
    arrays = community.fno_arrays("burgers")
    scipy.io.savemat(str(mat), {"a": arrays["a"] * (1 + 2j), "u": arrays["u"]})
    assert main(["convert", str(mat), str(tmp_path / "out.h5")]) == 2
    assert "field 'a': complex values" in _one_line_error(capsys, "convert")
    assert not (tmp_path / "out.h5").exists()


def test_boolean_values_are_refused(tmp_path, community):
    path = tmp_path / "darcy.hdf5"
    community.write_pdebench_darcy(path)
    with h5py.File(path, "r+") as f:
        mask = f["nu"][:] > 2
        del f["nu"]
        f["nu"] = mask
    with pytest.raises(DataError, match=r"field 'nu': boolean values \(bool\); expected real numbers"):
        open_dataset_file(path)


def test_text_values_are_refused(tmp_path, capsys):
    path = tmp_path / "burgers.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("a", data=np.array([["x"] * 3] * 16, dtype=h5py.string_dtype()))
        f.create_dataset("u", data=np.zeros((16, 3)))
        for name in ("a", "u"):
            f[name].attrs["MATLAB_class"] = np.bytes_("double")
    assert main(["inspect", str(path)]) == 2
    assert "field 'a': object (text) values" in _one_line_error(capsys, "inspect")


def test_the_well_fields_with_different_sample_counts(tmp_path, community):
    """Reported as the larger count before, so reading the last samples failed deep inside h5py."""
    path = tmp_path / "well.hdf5"
    community.write_the_well(path, n=3)
    with h5py.File(path, "r+") as f:
        velocity = f["t1_fields/velocity"][:2]
        attrs = dict(f["t1_fields/velocity"].attrs)
        del f["t1_fields/velocity"]
        f["t1_fields/velocity"] = velocity
        f["t1_fields/velocity"].attrs.update(attrs)
        del f.attrs["n_trajectories"]
    with pytest.raises(DataError, match=r"well\.hdf5: field 't1_fields/velocity': 2 samples; expected 3 like the "
                                        r"file's other fields"):
        open_dataset_file(path)


def test_opkit_file_without_n_samples(tmp_path, fake_problem, capsys):
    out = generate_dataset(fake_problem(), tmp_path / "fake.h5", 3, progress=False)
    with h5py.File(out, "r+") as f:
        del f.attrs["n_samples"]
    assert main(["inspect", str(out)]) == 2
    assert "fake.h5: attribute n_samples missing; expected the number of samples" in _one_line_error(capsys, "inspect")


def test_convert_a_file_without_samples(tmp_path, capsys):
    path = tmp_path / "darcy.hdf5"
    with h5py.File(path, "w") as f:
        f["nu"] = np.zeros((0, 8, 8), np.float32)
        f["tensor"] = np.zeros((0, 1, 8, 8), np.float32)
    assert main(["convert", str(path), str(tmp_path / "out.h5")]) == 2
    assert "darcy.hdf5: no samples; expected at least one" in _one_line_error(capsys, "convert")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["darcy.hdf5"]


def test_inspect_names_the_field_with_nan_and_exits_non_zero(tmp_path, fake_problem, capsys):
    """The stored statistics were printed (stale) and the exit status was 0."""
    out = generate_dataset(fake_problem(), tmp_path / "fake.h5", 4, progress=False)
    with h5py.File(out, "r+") as f:
        f["t0_fields/solution"][1, 0, :3] = [np.nan, np.inf, np.nan]
        f["t0_fields/solution"][3, 2, 0] = -np.inf
    assert main(["inspect", str(out)]) == 1
    captured = capsys.readouterr()
    summary = captured.out[captured.out.index("solution (from t0_fields/solution)"):].splitlines()
    assert summary[1].strip() == "NON-FINITE: 4 NaN/Inf values in 2 of 4 samples; no statistics"
    assert "mean=" in captured.out[captured.out.index("initial (from"):].splitlines()[1]   # the clean field
    assert captured.err.strip() == (f"opkit inspect: warning: {out}: field 't0_fields/solution': 4 non-finite "
                                    "values (NaN or Inf) in 2 of 4 samples")


def test_generate_creates_missing_folders_and_refuses_a_file_in_the_way(tmp_path, fake_pde_module, capsys):
    assert main(["generate", "burgers", "--preset", "tiny", "--n", "2", "--out",
                 str(tmp_path / "new" / "deeper" / "a.h5")]) == 0
    assert (tmp_path / "new" / "deeper" / "a.h5").is_file()
    capsys.readouterr()
    (tmp_path / "taken").write_text("not a folder")
    assert main(["generate", "burgers", "--preset", "tiny", "--n", "2", "--out",
                 str(tmp_path / "taken" / "sub" / "a.h5")]) == 2
    assert f"cannot create its folder: {tmp_path / 'taken'} is a file; expected a folder" in \
        _one_line_error(capsys, "generate")
