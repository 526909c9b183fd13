"""The training CLI's run folders and checkpoint checks, without training."""

import pytest
import torch

from opkit.errors import ConfigError
from opkit.training.lightning_cli import load_checkpoint_header, new_run_directory, run_directories


def test_run_folders_sort_by_number_and_the_next_takes_the_first_free_one(tmp_path):
    assert run_directories(tmp_path / "absent") == []
    for name in ("version_10", "version_2", "version_x", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "version_3").write_text("a file, not a run")
    assert [p.name for p in run_directories(tmp_path)] == ["version_2", "version_10"]
    assert new_run_directory(tmp_path) == tmp_path / "version_11" and (tmp_path / "version_11").is_dir()
    assert new_run_directory(tmp_path / "fresh") == tmp_path / "fresh" / "version_0"


def test_checkpoint_header_refuses_what_cannot_resume_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_checkpoint_header(tmp_path / "missing.ckpt")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not a PyTorch checkpoint that loads safely"):
        load_checkpoint_header(garbage)
    plain = tmp_path / "plain.ckpt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(ConfigError, match="not a Lightning checkpoint"):
        load_checkpoint_header(plain)
    headless = tmp_path / "headless.ckpt"
    torch.save({"pytorch-lightning_version": "2.6.0"}, headless)
    with pytest.raises(ConfigError, match="without 'state_dict'"):
        load_checkpoint_header(headless)
    good = tmp_path / "good.ckpt"
    torch.save({"pytorch-lightning_version": "2.6.0", "state_dict": {"w": torch.ones(1)}}, good)
    assert load_checkpoint_header(good)["state_dict"]["w"].item() == 1.0
