"""opkit/training/callbacks.py: epoch timing and divergence detection, driven by hand."""

import math
from types import SimpleNamespace

import torch

from opkit.training.callbacks import DivergenceMonitor, EpochTimer


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
