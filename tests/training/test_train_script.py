"""train.py as a user runs it: a repo config with command-line overrides, and 2-process DDP on CPU."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from standins import write_smoothing_file  # noqa: E402  (tests/training is on sys.path)

REPO = Path(__file__).resolve().parents[2]

# Point a paper config at a tiny hand-made file and shrink the model and the run.
TINY = ["--data.pde=null", "--data.preset=null", "--data.n_samples=null", "--data.n_train=24", "--data.n_val=4",
        "--data.n_test=4", "--data.batch_size=8", "--data.resolution=null", "--model.width=8", "--model.n_modes=4",
        "--model.n_layers=2", "--trainer.max_epochs=2", "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def _train(tmp_path, *extra):
    data = write_smoothing_file(tmp_path / "smooth.h5")
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(REPO / "train.py"), "fit", "--config", str(REPO / "configs/burgers/fno.yaml"),
               f"--data.path={data}", f"--trainer.default_root_dir={tmp_path / 'run'}", *TINY, *extra]
    completed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return tmp_path / "run"


def _val_errors(run):
    rows = list(csv.DictReader(next(run.glob("version_*/metrics.csv")).open()))
    return [float(row["val/relative_l2"]) for row in rows if row.get("val/relative_l2")]


def test_config_with_activation_override(tmp_path):
    run = _train(tmp_path, "--model.activation=snake")
    checkpoint = torch.load(run / "version_0" / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["hyper_parameters"]["activation"] == "snake"
    assert checkpoint["hyper_parameters"]["width"] == 8
    assert "model.layers.0.activation.a" in checkpoint["state_dict"]  # Snake's learnable frequency
    assert len(_val_errors(run)) == 2


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(tmp_path):
    run = _train(tmp_path, "--trainer.strategy=ddp", "--trainer.devices=2")
    checkpoint = torch.load(run / "version_0" / "checkpoints" / "last.ckpt", weights_only=False)
    # 24 training samples, batch 8, 2 processes: 2 steps per epoch (DistributedSampler pads 12 -> 2 batches)
    assert checkpoint["global_step"] == 4
    assert len(_val_errors(run)) == 2
