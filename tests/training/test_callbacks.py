"""opkit/training/callbacks.py: epoch timing and divergence detection, driven by hand."""

import csv
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from opkit.training.callbacks import DivergenceMonitor, EpochTimer
from opkit.training.run import run_experiment

from standins import BatchShapes, write_smoothing_file  # noqa: E402  (tests/training is on sys.path)


def test_divergence_monitor_stops_at_the_first_non_finite_loss_and_keeps_its_epoch():
    monitor, trainer = DivergenceMonitor(), SimpleNamespace(current_epoch=0, should_stop=False)
    for epoch, loss in ((0, torch.tensor(1.0)), (0, {}), (1, {"loss": torch.tensor(0.5)}), (2, float("nan")),
                        (3, torch.tensor(float("inf")))):
        trainer.current_epoch = epoch
        monitor.on_train_batch_end(trainer, None, loss, None, 0)
    assert monitor.diverged and monitor.diverged_epoch == 2 and trainer.should_stop


def test_epoch_timer_records_one_duration_per_epoch():
    timer = EpochTimer()
    assert math.isnan(timer.mean_epoch_seconds)
    for _ in range(3):
        timer.on_train_epoch_start(None, None)
        timer.on_train_epoch_end(None, None)
    timer.on_train_epoch_end(None, None)  # an end without a start adds nothing
    assert len(timer.epoch_seconds) == 3 and 0 <= timer.mean_epoch_seconds < 1


@pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")
def test_a_run_logs_elapsed_time_at_each_validation_and_follows_its_resolution_schedule(tmp_path):
    """End to end: in-memory data trained at s=16 for two epochs then s=32; ``time/elapsed_s`` rises
    with each validation in metrics.csv (the time-to-accuracy curve)."""
    data = write_smoothing_file(tmp_path / "smooth.h5", n_samples=40, n_x=32)
    config = {
        "model": {"model": "fno", "width": 8, "n_modes": 4, "n_layers": 2, "lr": 1e-2, "scheduler": "onecycle"},
        "data": {"path": str(data), "n_train": 24, "n_val": 8, "n_test": 8, "batch_size": 8, "in_memory": True,
                 "resolution_schedule": [[0, 16], [2, 32]]},
        "trainer": {"max_epochs": 4, "accelerator": "cpu", "devices": 1, "enable_model_summary": False,
                    "check_val_every_n_epoch": 2, "callbacks": [{"class_path": "standins.BatchShapes"}]},
    }
    BatchShapes.seen.clear()
    results = run_experiment(config, run_dir=tmp_path / "run", seed=0, progress_bar=False)
    assert sorted(set(BatchShapes.seen)) == [(0, (8, 1, 16)), (1, (8, 1, 16)), (2, (8, 1, 32)), (3, (8, 1, 32))]
    rows = list(csv.DictReader(open(Path(results["log_dir"]) / "metrics.csv")))
    timed = [(int(r["epoch"]), float(r["time/elapsed_s"]), float(r["val/relative_l2"]))
             for r in rows if r.get("time/elapsed_s")]
    assert [epoch for epoch, _, _ in timed] == [1, 3]                      # validation every second epoch
    assert 0 < timed[0][1] < timed[1][1] < results["seconds"]
    assert timed[1][2] < timed[0][2] and results["test/relative_l2"] < 0.5
