"""When during training does an operator learn each frequency?

``SpectralDynamics`` is a Lightning callback: every N epochs (or steps) it runs the model on
a fixed validation subset, computes the relative error spectrum
``e(k) = E_err(k) / E_target(k)`` (see :class:`opkit.spectral.shells.ShellSums`), appends it to
``spectral_dynamics.csv`` in the run directory and logs the band errors as metrics.

The CSV has one row per (evaluation, wavenumber shell)::

    epoch,step,wavenumber,error,target_energy

``epoch`` counts completed training epochs (0 = at initialisation, before any step),
``step`` is the global optimiser step, ``target_energy`` is ``E_target(k)`` of the fixed
subset (the same at every evaluation) so that band errors can be recomputed from the file.

From such a table, :func:`time_to_learn` gives the epoch at which each wavenumber first
comes within a factor 2 of its final error and :func:`band_learning_epochs` the first
epoch at which each band's relative error falls under 0.1: the spectral-bias curve.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from lightning.pytorch import Callback

from opkit.errors import ConfigError, DataError
from opkit.io import atomic_path
from opkit.spectral.shells import ShellSums, default_mode_cutoff, module_mode_cutoff

CSV_NAME = "spectral_dynamics.csv"
CSV_COLUMNS = ("epoch", "step", "wavenumber", "error", "target_energy")


def _split_batch(batch, where: str):
    if isinstance(batch, Mapping):
        for input_key, target_key in (("input", "target"), ("x", "y")):
            if input_key in batch and target_key in batch:
                return batch[input_key], batch[target_key]
    elif isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise ConfigError(f"{where}: expected batches (input, target) or dicts with 'input'/'target', got {type(batch).__name__}")


def _decode(pl_module, tensor: torch.Tensor) -> torch.Tensor:
    """Map model outputs and targets to physical units if the module says how (``decode_target``).

    ``OperatorModule.forward`` already decodes (its batches and outputs are physical), so it
    defines no ``decode_target`` and nothing is done here.
    """
    if callable(getattr(pl_module, "decode_target", None)):
        return pl_module.decode_target(tensor)
    return tensor


def _validation_loader(trainer):
    """The validation dataloader(s): the datamodule's, else those Lightning validates on.

    At ``on_fit_start`` Lightning has not yet built ``trainer.val_dataloaders``, so its
    validation loop is asked to build them now (``setup_data``, which the loop would call
    before its first validation and then does not repeat). Lightning builds none while
    validation is off (``limit_val_batches=0``, or a module without ``validation_step``):
    then only a datamodule (or ``inputs=``/``targets=``) gives the subset.
    """
    datamodule = getattr(trainer, "datamodule", None)
    if datamodule is not None and callable(getattr(datamodule, "val_dataloader", None)):
        return datamodule.val_dataloader()
    if trainer.val_dataloaders is None:
        trainer.fit_loop.epoch_loop.val_loop.setup_data()
    return trainer.val_dataloaders


class SpectralDynamics(Callback):
    """Record the relative error spectrum on a fixed validation subset during training.

    Args:
        every_n_epochs: evaluate after every N-th training epoch (and once at the start).
        every_n_steps: evaluate every N optimiser steps instead (overrides ``every_n_epochs``).
        n_samples: size of the fixed subset, taken from the start of
            ``trainer.datamodule.val_dataloader()`` (or ``trainer.val_dataloaders``).
        inputs, targets: a fixed subset given directly, ``(B, C_in, *spatial)`` and
            ``(B, C_out, *spatial)``; then no dataloader is read.
        mode_cutoff: FNO mode cutoff m for the logged bands (low ``|k| <= m/2``, mid up to m,
            high above); default ``pl_module.n_modes`` / ``pl_module.model.n_modes`` when
            present, else half the highest complete shell.
        threshold: threshold for the logged resolved bandwidth.
        filename: CSV name inside the trainer's log directory.
        batch_size: forward-pass batch size on the subset.

    Logged metrics (``pl_module.log``, per epoch or per step): ``spectral/low``,
    ``spectral/mid``, ``spectral/high`` (relative error power per band) and
    ``spectral/resolved_bandwidth``.

    Predictions and targets pass through ``pl_module.decode_target`` when the module has
    one (``OperatorModule`` needs none: its forward maps physical inputs to physical
    outputs). A per-channel affine normalisation changes e(k) at k = 0 only, so the curves
    for k >= 1 do not depend on it. When a target holds a trajectory of several frames
    (``n_steps * C_out`` channels), the one-step prediction is compared with its first frame.
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        every_n_steps: int | None = None,
        n_samples: int = 16,
        inputs: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        mode_cutoff: int | None = None,
        threshold: float = 0.1,
        filename: str = CSV_NAME,
        batch_size: int = 16,
    ):
        super().__init__()
        for name, value in (("every_n_epochs", every_n_epochs), ("n_samples", n_samples), ("batch_size", batch_size)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"SpectralDynamics: {name}: expected a positive integer, got {value!r}")
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise ConfigError(f"SpectralDynamics: every_n_steps: expected a positive integer or None, got {every_n_steps!r}")
        if (inputs is None) != (targets is None):
            raise ConfigError("SpectralDynamics: inputs and targets: expected both or neither")
        if inputs is not None and (inputs.shape[0] != targets.shape[0] or targets.ndim < 3):
            raise ConfigError(
                f"SpectralDynamics: inputs and targets: expected (B, C, *spatial) with the same B, "
                f"got {tuple(inputs.shape)} and {tuple(targets.shape)}"
            )
        self.every_n_epochs = every_n_epochs
        self.every_n_steps = every_n_steps
        self.n_samples = n_samples
        self.inputs = inputs
        self.targets = targets
        self.mode_cutoff = mode_cutoff
        self.threshold = threshold
        self.filename = filename
        self.batch_size = batch_size
        self.rows: list[tuple] = []
        self.path: Path | None = None

    # ----------------------------------------------------------------- set-up

    def _collect_subset(self, trainer) -> None:
        if self.inputs is not None:
            return
        loader = _validation_loader(trainer)
        if isinstance(loader, (list, tuple)):
            loader = loader[0] if loader else None
        if loader is None:
            raise ConfigError(
                "SpectralDynamics: no validation data: give inputs=/targets=, train with a datamodule "
                "that has val_dataloader(), or pass val_dataloaders to fit with validation on"
            )
        inputs, targets, count = [], [], 0
        for batch in loader:
            x, y = _split_batch(batch, "SpectralDynamics: validation dataloader")
            inputs.append(x)
            targets.append(y)
            count += x.shape[0]
            if count >= self.n_samples:
                break
        self.inputs = torch.cat(inputs)[: self.n_samples].detach().cpu()
        self.targets = torch.cat(targets)[: self.n_samples].detach().cpu()

    def on_fit_start(self, trainer, pl_module) -> None:
        self._collect_subset(trainer)
        log_dir = trainer.log_dir or trainer.default_root_dir
        self.path = Path(log_dir) / self.filename
        # recorded in this run's checkpoints, so that `opkit spectral` finds this file and no other
        pl_module.dynamics_path = str(self.path.resolve())
        start_epoch = trainer.current_epoch
        self.rows = [row for row in _read_rows(self.path) if row[0] < start_epoch] if self.path.exists() else []
        if self.mode_cutoff is None:
            self.mode_cutoff = module_mode_cutoff(pl_module) or default_mode_cutoff(tuple(self.targets.shape[2:]))
        self._spatial_dims = self.targets.ndim - 2
        if start_epoch == 0 and trainer.global_step == 0:
            self._evaluate(trainer, pl_module, log=False)

    # ----------------------------------------------------------------- evaluation

    @torch.no_grad()
    def spectrum(self, pl_module) -> ShellSums:
        """Shell energies pooled over the fixed subset, in float64 on the CPU."""
        was_training = pl_module.training
        pl_module.eval()
        try:
            sums = None
            for start in range(0, self.inputs.shape[0], self.batch_size):
                x = self.inputs[start : start + self.batch_size].to(pl_module.device)
                y = self.targets[start : start + self.batch_size].to(pl_module.device)
                prediction = _decode(pl_module, pl_module(x)).float()
                y = _decode(pl_module, y).float()
                if y.shape[1] > prediction.shape[1] and y.shape[1] % prediction.shape[1] == 0:
                    y = y[:, : prediction.shape[1]]
                if prediction.shape != y.shape:
                    raise ConfigError(
                        f"SpectralDynamics: model output {tuple(prediction.shape)} does not match target {tuple(y.shape)}"
                    )
                batch = ShellSums.of(prediction, y, self._spatial_dims)
                sums = batch if sums is None else sums + batch
        finally:
            pl_module.train(was_training)
        return sums.to("cpu", torch.float64)

    def _evaluate(self, trainer, pl_module, log: bool, epoch: int | None = None, on_step: bool = False) -> None:
        sums = self.spectrum(pl_module)
        relative = sums.relative()
        epoch = trainer.current_epoch if epoch is None else epoch
        step = trainer.global_step
        for k, (value, target_energy) in enumerate(zip(relative.tolist(), (sums.target / len(self.inputs)).tolist())):
            self.rows.append((epoch, step, k, value, target_energy))
        if trainer.is_global_zero:
            _write_rows(self.path, self.rows)
        if log:
            metrics = sums.relative_band_errors(sums.cutoff_bands(self.mode_cutoff))
            metrics["resolved_bandwidth"] = float(sums.resolved_bandwidth(self.threshold))
            for name, value in metrics.items():
                if not math.isnan(value):
                    pl_module.log(f"spectral/{name}", value, on_step=on_step, on_epoch=not on_step)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        completed = trainer.current_epoch + 1
        if self.every_n_steps is None and completed % self.every_n_epochs == 0:
            self._evaluate(trainer, pl_module, log=True, epoch=completed)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every_n_steps is not None and trainer.global_step % self.every_n_steps == 0:
            self._evaluate(trainer, pl_module, log=True, on_step=True)


# --------------------------------------------------------------------------- the CSV


def _write_rows(path: Path, rows) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(rows)


def _read_rows(path: Path) -> list[tuple]:
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header[: len(CSV_COLUMNS)]) != CSV_COLUMNS:
            raise DataError(path, f"expected the header {','.join(CSV_COLUMNS)}, got {header}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append((int(row[0]), int(row[1]), int(row[2]), float(row[3]), float(row[4])))
            except (ValueError, IndexError):
                raise DataError(path, f"line {line}: expected integers epoch,step,wavenumber and numbers error,target_energy, got {row}") from None
        return rows


@dataclass
class DynamicsTable:
    """A spectral-dynamics CSV as arrays.

    ``epochs (E,)``, ``steps (E,)``, ``wavenumbers (K,)``, ``errors (E, K)`` (relative error
    power, nan for empty shells) and ``target_energy (K,)``.
    """

    epochs: np.ndarray
    steps: np.ndarray
    wavenumbers: np.ndarray
    errors: np.ndarray
    target_energy: np.ndarray


def read_dynamics(path: str | os.PathLike) -> DynamicsTable:
    """Read ``spectral_dynamics.csv`` into a :class:`DynamicsTable` (one row per evaluation)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such file (expected a spectral_dynamics.csv written by SpectralDynamics)")
    rows = _read_rows(path)
    if not rows:
        raise DataError(path, "no rows")
    evaluations = sorted({(row[1], row[0]) for row in rows})  # by step, then epoch
    position = {key: i for i, key in enumerate(evaluations)}
    n_shells = max(row[2] for row in rows) + 1
    errors = np.full((len(evaluations), n_shells), np.nan)
    energy = np.zeros(n_shells)
    for epoch, step, k, value, target_energy in rows:
        errors[position[(step, epoch)], k] = value
        energy[k] = target_energy
    return DynamicsTable(
        epochs=np.array([epoch for _, epoch in evaluations]),
        steps=np.array([step for step, _ in evaluations]),
        wavenumbers=np.arange(n_shells),
        errors=errors,
        target_energy=energy,
    )


def table_to_record(table: DynamicsTable, digits: int = 5) -> dict:
    """A :class:`DynamicsTable` as plain JSON data (``null`` for NaN, ``digits`` significant
    digits), the form an ablation record carries so that a shipped record needs no CSV."""
    def number(value: float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None

    return {"epoch": [int(e) for e in table.epochs], "step": [int(s) for s in table.steps],
            "wavenumber": [int(k) for k in table.wavenumbers],
            "error": [[number(float(v)) for v in row] for row in table.errors],
            "target_energy": [number(float(v)) for v in table.target_energy]}


def table_from_record(data: Mapping) -> DynamicsTable:
    """The inverse of :func:`table_to_record`."""
    try:
        errors = np.array([[np.nan if v is None else v for v in row] for row in data["error"]], dtype=float)
        epochs = np.asarray(data["epoch"], dtype=int)
        return DynamicsTable(epochs=epochs, steps=np.asarray(data.get("step", epochs), dtype=int),
                             wavenumbers=np.asarray(data["wavenumber"], dtype=int), errors=errors,
                             target_energy=np.array([np.nan if v is None else v for v in data["target_energy"]],
                                                    dtype=float))
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"dynamics record: expected epoch, wavenumber, error and target_energy lists ({error})") from None


def time_to_learn(table: DynamicsTable, factor: float = 2.0) -> np.ndarray:
    """Per wavenumber, the first epoch whose error is within ``factor`` of the final error: ``(K,)``.

    ``nan`` for shells without a final error (empty in the target).
    """
    if not factor >= 1:
        raise ConfigError(f"factor: expected a number >= 1, got {factor!r}")
    final = table.errors[-1]
    result = np.full(final.shape, np.nan)
    for k, last in enumerate(final):
        if not np.isfinite(last):
            continue
        reached = np.nonzero(table.errors[:, k] <= factor * last)[0]
        result[k] = table.epochs[reached[0]]
    return result


def band_history(table: DynamicsTable, bands: Mapping[str, tuple[float, float]]) -> dict[str, np.ndarray]:
    """Relative error power per band at every evaluation: ``{band: (E,)}``.

    Pools shells by target energy: ``sum_band e(k) E_t(k) / sum_band E_t(k)``.
    """
    weights = np.where(np.isfinite(table.errors), table.target_energy, 0.0)
    weighted = np.nan_to_num(table.errors) * weights
    result = {}
    for name, (start, stop) in bands.items():
        inside = (table.wavenumbers >= start) & (table.wavenumbers < stop)
        total = weights[:, inside].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            result[name] = np.where(total > 0, weighted[:, inside].sum(1) / total, np.nan)
    return result


def band_learning_epochs(
    table: DynamicsTable, bands: Mapping[str, tuple[float, float]], threshold: float = 0.1
) -> dict[str, float]:
    """First epoch at which each band's relative error falls under ``threshold`` (nan: never)."""
    result = {}
    for name, history in band_history(table, bands).items():
        below = np.nonzero(history < threshold)[0]
        result[name] = float(table.epochs[below[0]]) if len(below) else float("nan")
    return result
