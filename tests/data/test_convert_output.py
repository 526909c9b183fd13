"""``opkit convert`` never destroys data: an existing output needs --overwrite, the input is never replaced."""

import hashlib
import os

import h5py
import pytest

from opkit.cli import main
from opkit.data.writer import convert_file
from opkit.errors import ConfigError


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(tmp_path, community):
    path = tmp_path / "1D_Burgers_Sols_Nu0.1.hdf5"
    community.write_pdebench_burgers(path, n=2, n_t=11, n_x=16)
    return path


def test_convert_refuses_an_existing_output_unless_overwrite(tmp_path, source, capsys):
    out = tmp_path / "burgers.h5"
    out.write_text("an earlier result\n")
    assert main(["convert", str(source), str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"opkit convert: error: {out}: already exists; pass --overwrite to replace it"
    assert out.read_text() == "an earlier result\n"

    assert main(["convert", str(source), str(out), "--overwrite"]) == 0
    with h5py.File(out) as handle:
        assert handle.attrs["format"] == "opkit" and handle["t0_fields/solution"].shape == (2, 11, 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, out.name])  # no temporary left


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink", "hardlink"])
def test_convert_never_writes_over_its_input(tmp_path, source, capsys, spelling):
    before = _digest(source)
    out = {"same": source, "dot": tmp_path / "." / source.name, "symlink": tmp_path / "link.h5",
           "hardlink": tmp_path / "hard.h5"}[spelling]
    if spelling == "symlink":
        out.symlink_to(source)
    if spelling == "hardlink":
        os.link(source, out)
    assert main(["convert", str(source), str(out), "--overwrite"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is the input file" in error
    assert _digest(source) == before
    with pytest.raises(ConfigError, match="is the input file"):
        convert_file(source, out, progress=False, overwrite=True)


def test_convert_to_a_directory_is_one_line(tmp_path, source, capsys):
    assert main(["convert", str(source), str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"opkit convert: error: {tmp_path}: is a directory; expected the path of an "
                                       "output file\n")
