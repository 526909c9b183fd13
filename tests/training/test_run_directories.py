"""train.py run directories: one folder per run, ``--ckpt_path last`` finds the run of *this* config,
and a checkpoint of other hyperparameters is refused in one line (through ``train_main``, train.py's body)."""

import csv
from pathlib import Path

import pytest
import torch
import yaml

from opkit.training.run import train_main

from standins import write_smoothing_file  # noqa: E402  (tests/training is on sys.path)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

# A paper config pointed at a tiny hand-made file: 8 training samples, one batch, width 4.
TINY = ["--data.pde=null", "--data.preset=null", "--data.n_samples=null", "--data.n_train=8", "--data.n_val=4",
        "--data.n_test=4", "--data.batch_size=8", "--data.resolution=null", "--model.width=4", "--model.n_modes=4",
        "--model.n_layers=1", "--trainer.max_epochs=1", "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


@pytest.fixture
def train(tmp_path):
    data = write_smoothing_file(tmp_path / "smooth.h5", n_samples=16)

    def run(*extra):
        return train_main(["fit", "--config", str(REPO / "configs/burgers/fno.yaml"), f"--data.path={data}",
                           f"--trainer.default_root_dir={tmp_path / 'runs'}", *TINY, *extra])

    return run


def _validation_epochs(run):
    with open(run / "metrics.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle) if row.get("val/relative_l2")]


def test_each_run_has_its_own_directory_and_last_resumes_the_same_config(train, tmp_path, capfd):
    root = tmp_path / "runs"
    assert train("--model.activation=gelu") == 0
    assert train("--model.activation=snake") == 0  # the same config otherwise: a second run, not the first one's
    gelu, snake = root / "version_0", root / "version_1"
    for run, activation in ((gelu, "gelu"), (snake, "snake")):
        assert sorted(p.name for p in (run / "checkpoints").iterdir())[-1] == "last.ckpt"
        assert yaml.safe_load((run / "config.yaml").read_text())["model"]["activation"] == activation
        assert _validation_epochs(run) == [0]
        checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
        assert checkpoint["hyper_parameters"]["activation"] == activation

    # the newest run is the snake one; resuming the gelu config continues the gelu run, in its own folder
    assert train("--model.activation=gelu", "--trainer.max_epochs=2", "--ckpt_path=last") == 0
    assert sorted(p.name for p in root.iterdir()) == ["version_0", "version_1"]
    assert torch.load(gelu / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2  # 1 batch/epoch
    assert torch.load(snake / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 1
    assert _validation_epochs(gelu) == [0, 1]  # the first epoch's rows are kept, the second appended
    assert _validation_epochs(snake) == [0]

    # a checkpoint of other hyperparameters: one line naming the difference, no new run folder
    capfd.readouterr()
    assert train("--model.activation=snake", f"--ckpt_path={gelu / 'checkpoints' / 'last.ckpt'}") == 2
    error = capfd.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "model.activation gelu vs snake" not in error[0]
    assert "activation gelu vs snake" in error[0] and error[0].startswith("train.py: error: --ckpt_path ")
    assert sorted(p.name for p in root.iterdir()) == ["version_0", "version_1"]


def test_last_with_no_run_of_this_config_starts_a_new_run(train, tmp_path, capfd):
    root = tmp_path / "runs"
    assert train("--model.activation=gelu") == 0
    capfd.readouterr()
    assert train("--model.activation=tanh", "--ckpt_path=last") == 0
    assert "no run of this config to resume" in capfd.readouterr().err
    assert torch.load(root / "version_1" / "checkpoints" / "last.ckpt",
                      weights_only=True)["hyper_parameters"]["activation"] == "tanh"


def test_last_refuses_checkpoints_of_unknown_runs(train, tmp_path, capfd):
    legacy = tmp_path / "runs" / "checkpoints"  # the shared folder of earlier versions: whose run is unknown
    legacy.mkdir(parents=True)
    (legacy / "last.ckpt").write_bytes(b"")
    (legacy / "last-v1.ckpt").write_bytes(b"")
    capfd.readouterr()
    assert train("--ckpt_path=last") == 2
    error = capfd.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "ambiguous" in error[0] and "last-v1.ckpt" in error[0]
