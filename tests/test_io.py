"""opkit/io.py: atomic outputs, folder creation, output-path checks and the inter-process lock."""

import os

import pytest

from opkit.errors import ConfigError, DataError
from opkit.io import atomic_path, check_output_path, create_parent_directory, exclusive_lock, write_text_atomic


def test_atomic_path_leaves_the_old_file_on_error_and_no_temporary(tmp_path):
    target = tmp_path / "out" / "table.csv"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_create_parent_directory_refuses_a_file_in_the_way(tmp_path):
    assert create_parent_directory(tmp_path / "a" / "b" / "c.h5").parent.is_dir()
    (tmp_path / "blocker").write_text("")
    with pytest.raises(DataError, match="blocker is a file; expected a folder"):
        create_parent_directory(tmp_path / "blocker" / "x" / "c.h5")


def test_check_output_path_protects_inputs_and_existing_files(tmp_path):
    source = tmp_path / "in.h5"
    source.write_text("data")
    (tmp_path / "link.h5").symlink_to(source)
    assert check_output_path(tmp_path / "new.h5", [source]) == tmp_path / "new.h5"
    for out, message in ((tmp_path, "is a directory"), (tmp_path / "link.h5", "is the input file"),
                         (tmp_path / "." / "in.h5", "is the input file")):
        with pytest.raises(ConfigError, match=message):
            check_output_path(out, [source], overwrite=True)
    with pytest.raises(ConfigError, match="already exists; pass --overwrite"):
        check_output_path(source)
    assert check_output_path(source, overwrite=True) == source


def test_exclusive_lock_is_reentrant_across_blocks_and_leaves_its_file(tmp_path):
    target = tmp_path / "data.h5"
    with exclusive_lock(target):
        pass
    with exclusive_lock(target, waiting_message="waiting"):  # released by the first block
        assert (tmp_path / "data.h5.lock").exists()
