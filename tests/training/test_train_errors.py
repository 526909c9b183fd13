"""train.py answers a bad config or checkpoint with one line naming the problem, not a traceback,
and checks the model arguments before it reads or generates any data."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from opkit.training.run import train_main

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/burgers/fno.yaml")


def _train_script(tmp_path, *extra):
    """stderr lines of ``python train.py fit --config configs/burgers/fno.yaml ...`` (expected to fail)."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(REPO / "train.py"), "fit", "--config", CONFIG,
               f"--trainer.default_root_dir={tmp_path / 'runs'}", *extra]
    completed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2, completed.stderr[-3000:]
    return completed.stderr.strip().splitlines()


def test_unknown_activation_is_one_line_before_any_data_is_generated(tmp_path):
    data = tmp_path / "burgers.h5"  # the config would generate it (1200 Burgers solves) if it got that far
    lines = _train_script(tmp_path, f"--data.path={data}", "--model.activation=bogus")
    assert lines[0].startswith("train.py: error: activation: unknown name 'bogus'; valid names: ")
    assert len(lines) == 1 and "gelu" in lines[0]
    assert not data.exists() and not (tmp_path / "runs").exists()


def _train(tmp_path, capfd, *extra):
    """stderr lines of train.py's body (``train_main``) in this process, expected to fail."""
    capfd.readouterr()
    assert train_main(["fit", "--config", CONFIG, f"--trainer.default_root_dir={tmp_path / 'runs'}", *extra]) == 2
    return capfd.readouterr().err.strip().splitlines()


def test_data_error_is_one_line(tmp_path, capfd):
    lines = _train(tmp_path, capfd, "--data.path=missing.h5", "--data.pde=null", "--data.preset=null")
    assert lines[-1] == ("train.py: error: missing.h5: file not found; expected an existing data file, or pde= and "
                         "preset= to generate it")
    assert len(lines) <= 2 and all(line.endswith("Seed set to 0") for line in lines[:-1])  # Lightning's note


def test_checkpoint_without_lightning_version_is_one_line(tmp_path, capfd):
    checkpoint = tmp_path / "weights.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"activation": "gelu"}}, checkpoint)
    assert _train(tmp_path, capfd, f"--ckpt_path={checkpoint}") == [
        f"train.py: error: --ckpt_path {checkpoint}: not a Lightning checkpoint (no 'pytorch-lightning_version' "
        "entry); expected a file written by train.py"]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argument, message", [
    ("--model.lr=-1", "OperatorModule: lr=-1.0; expected a positive number"),
    ("--trainer.max_epochs=-5", "--trainer.max_epochs=-5; expected a positive integer, or -1 for no limit"),
    ("--model.n_modes=0", "OperatorModule: n_modes=0; expected a positive integer or a list of them"),
    ("--model.model_kwargs={nonexistent: 1}", "model 'fno': got an unexpected keyword argument 'nonexistent'"),
])
def test_bad_values_are_one_line(tmp_path, capfd, argument, message):
    data = tmp_path / "burgers.h5"
    lines = _train(tmp_path, capfd, f"--data.path={data}", argument)
    assert len(lines) == 1 and lines[0].startswith(f"train.py: error: {message}")
    assert not data.exists() and not (tmp_path / "runs").exists()


def test_loading_a_checkpoint_without_lightning_version_is_one_line(tmp_path, capsys):
    from opkit.cli import main
    from opkit.training.inference import pretrained_checkpoints

    contents = torch.load(pretrained_checkpoints()["fno-burgers"], weights_only=True)
    del contents["pytorch-lightning_version"]
    checkpoint = tmp_path / "edited.ckpt"
    torch.save(contents, checkpoint)
    assert main(["evaluate", "--ckpt", str(checkpoint), "--data", str(tmp_path / "unused.h5")]) == 2
    assert capsys.readouterr().err == (f"opkit evaluate: error: {checkpoint}: not a Lightning checkpoint (no "
                                       "'pytorch-lightning_version' entry); expected a file written by train.py or "
                                       "OperatorModule\n")
