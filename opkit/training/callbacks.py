"""Small callbacks every opkit run carries: epoch timing and divergence detection."""

from __future__ import annotations

import math
import time

import torch
from lightning.pytorch.callbacks import Callback


class EpochTimer(Callback):
    """Wall-clock seconds of every training epoch (validation included), in ``epoch_seconds``.

    Also logs ``time/elapsed_s``, the seconds since the fit started, at every validation, so the
    validation error can be read against wall-clock time (``metrics.csv``: time-to-accuracy curves).
    """

    def __init__(self):
        self.epoch_seconds: list[float] = []
        self._start: float | None = None
        self._fit_start: float | None = None

    def on_fit_start(self, trainer, module) -> None:
        self._fit_start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, module) -> None:
        if self._fit_start is not None and not trainer.sanity_checking:
            module.log("time/elapsed_s", time.perf_counter() - self._fit_start)

    def on_train_epoch_start(self, trainer, module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, module) -> None:
        if self._start is not None:
            self.epoch_seconds.append(time.perf_counter() - self._start)
            self._start = None

    @property
    def mean_epoch_seconds(self) -> float:
        return sum(self.epoch_seconds) / len(self.epoch_seconds) if self.epoch_seconds else float("nan")


class DivergenceMonitor(Callback):
    """Stop training when the training loss becomes NaN or infinite; remember the epoch.

    A diverged run is a result, not a crash: the ablation runner records it and moves on.
    """

    def __init__(self):
        self.diverged = False
        self.diverged_epoch: int | None = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs  # {} when a step returns nothing
        if loss is None:
            return
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        if not math.isfinite(value) and not self.diverged:
            self.diverged = True
            self.diverged_epoch = trainer.current_epoch
            trainer.should_stop = True
