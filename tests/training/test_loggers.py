"""Loggers through ``trainer.logger`` (``--trainer.logger`` on the command line): TensorBoard
(through ``tensorboardX``, or ``tensorboard`` when installed) writes the logged metrics, and
Weights & Biases runs offline (skipped unless ``wandb`` is installed; it is not a dependency)."""

import math
import struct

import pytest

from opkit.training.run import run_experiment

from standins import AffineDataModule  # noqa: E402  (tests/training is on sys.path)

pytestmark = [pytest.mark.filterwarnings("ignore:LightningCLI's args parameter"),
              pytest.mark.usefixtures("standin_model")]  # every test trains the stand-in (conftest.py)
CONFIG = {
    "model": {"model": "standin", "width": 8, "lr": 1e-2, "scheduler": "none"},
    "data": {"n_train": 32, "batch_size": 8},
    "trainer": {"max_epochs": 2, "accelerator": "cpu", "devices": 1, "enable_model_summary": False},
}


def read_scalars(log_dir) -> dict[str, list[float]]:
    """Tag -> values from the TensorBoard event files in ``log_dir`` (fit and test each write one).

    TFRecord framing: length (8 bytes), its CRC (4), an Event protocol buffer, its CRC (4).
    """
    from tensorboardX.proto import event_pb2

    scalars: dict[str, list[float]] = {}
    files = sorted(log_dir.glob("events.out.tfevents.*"))
    assert files, f"no event files in {log_dir}"
    for path in files:
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset:offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(value.simple_value)
    return scalars


def _csv_column(log_dir, name):
    import csv

    rows = list(csv.DictReader(next(log_dir.glob("**/metrics.csv")).open()))
    return [float(row[name]) for row in rows if row.get(name)]


def test_tensorboard_logger_from_the_config(tmp_path):
    pytest.importorskip("tensorboardX")
    config = dict(CONFIG, trainer={**CONFIG["trainer"], "logger": {
        "class_path": "opkit.training.lightning_cli.RunTensorBoardLogger",
        "init_args": {"save_dir": str(tmp_path / "tb"), "name": "affine"}}})
    run_experiment(config, run_dir=tmp_path / "run", datamodule_class=AffineDataModule, progress_bar=False)
    scalars = read_scalars(tmp_path / "tb" / "affine" / "version_0")
    assert len(scalars["val/relative_l2"]) == 2  # one value per epoch
    assert len(scalars["test/relative_l2"]) == 1


def test_default_logs_are_csv_and_tensorboard_with_the_same_values(tmp_path):
    pytest.importorskip("tensorboardX")
    run_experiment(CONFIG, run_dir=tmp_path, datamodule_class=AffineDataModule, progress_bar=False)
    from_tensorboard = read_scalars(tmp_path / "version_0")["val/relative_l2"]
    from_csv = _csv_column(tmp_path / "version_0", "val/relative_l2")
    assert len(from_csv) == len(from_tensorboard) == 2
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(from_tensorboard, from_csv))


def test_wandb_logger_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    config = dict(CONFIG, trainer={**CONFIG["trainer"], "logger": {
        "class_path": "lightning.pytorch.loggers.WandbLogger",
        "init_args": {"save_dir": str(tmp_path), "project": "opkit-test", "offline": True}}})
    run_experiment(config, run_dir=tmp_path / "run", datamodule_class=AffineDataModule, progress_bar=False)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
