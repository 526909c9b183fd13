"""Spectral evaluation of one or more models on one test set: a table and figures.

:func:`spectral_report` takes predictions already computed (label -> tensor), so it works
for any model; ``opkit spectral`` feeds it checkpoints and a data file.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Mapping

import torch

from opkit.errors import ConfigError
from opkit.io import atomic_path
from opkit.spectral import plots
from opkit.spectral.dynamics import band_learning_epochs, read_dynamics, time_to_learn
from opkit.spectral.metrics import complete_shells, pdebench_fourier_rmse, shell_count, well_binned_spectral_error
from opkit.spectral.shells import ShellSums, cutoff_bands, default_mode_cutoff

SUMMARY_COLUMNS = (
    "model", "relative_l2", "low", "mid", "high", "resolved_bandwidth", "high_low_ratio", "slope",
    "pdebench_low", "pdebench_mid", "pdebench_high", "well_nmse_low", "well_nmse_mid", "well_nmse_high",
)


def summarise(prediction: torch.Tensor, target: torch.Tensor, mode_cutoff: int, threshold: float = 0.1,
              sums: ShellSums | None = None) -> dict:
    """One row of numbers for one model: ``(B, C, *spatial)`` prediction and target in physical units.

    ``low``, ``mid``, ``high``: relative error power in the bands of ``mode_cutoff``;
    ``pdebench_*``: PDEBench's fRMSE; ``well_nmse_*``: The Well's binned NMSE. ``sums``: the
    pair's :class:`ShellSums` when the caller has them already.
    """
    sums = sums if sums is not None else ShellSums.of(prediction, target)
    bands = sums.relative_band_errors(sums.cutoff_bands(mode_cutoff))
    pdebench = pdebench_fourier_rmse(prediction, target)
    _, well_nmse = well_binned_spectral_error(prediction, target)
    difference = (prediction - target).flatten(1).norm(dim=1)
    relative_l2 = (difference / target.flatten(1).norm(dim=1).clamp_min(1e-30)).mean().item()
    row = {
        "relative_l2": relative_l2,
        **bands,
        "resolved_bandwidth": sums.resolved_bandwidth(threshold),
        **sums.bias_index(mode_cutoff),
        **{f"pdebench_{name}": value for name, value in pdebench.items()},
        **{f"well_nmse_{name}": value for name, value in zip(("low", "mid", "high"), well_nmse.tolist())},
    }
    return row


def _format(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if math.isfinite(value) else "nan"


def format_table(rows: list[dict], columns=SUMMARY_COLUMNS) -> str:
    """A plain-text table, one line per model, with a footnote for each special value it shows."""
    cells = [[_format(row.get(column, "")) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in cells]
    shown = [dict(zip(columns, line)) for line in cells]
    if any(line.get("resolved_bandwidth") == "-1" for line in shown):
        lines.append("resolved_bandwidth -1: never resolved (the relative error is at or above the threshold "
                     "already at the lowest non-empty shell)")
    if any(cell == "nan" for line in shown for cell in line.values()):
        lines.append("nan: undefined, the band holds only empty shells (no target energy), or a ratio or slope "
                     "over such a band")
    return "\n".join(lines)


def spectral_report(
    predictions: Mapping[str, torch.Tensor],
    target: torch.Tensor,
    out_dir: str | os.PathLike,
    mode_cutoff: int | None = None,
    threshold: float = 0.1,
    dynamics: Mapping[str, str | os.PathLike] | None = None,
    sample: int = 0,
) -> list[dict]:
    """Write the spectral evaluation of several models on one test set into ``out_dir``.

    Args:
        predictions: label -> ``(B, C, *spatial)`` prediction, same shape as ``target``.
        target: ``(B, C, *spatial)``, 1 or 2 spatial dimensions for the prediction figure.
        mode_cutoff: m for the low / mid / high bands (default half the highest complete shell).
        dynamics: label -> ``spectral_dynamics.csv`` of that model's training run.

    Writes ``spectral_summary.csv`` (one row per model, columns :data:`SUMMARY_COLUMNS`),
    ``error_spectrum.png`` and ``spectral_ratio.png`` (all models overlaid),
    ``prediction_<label>.png`` (sample ``sample``, channel 0), and with ``dynamics``
    ``dynamics_heatmap.png``, ``time_to_learn.csv`` and in the summary the columns
    ``epoch_<band>_under_<threshold>``: the first epoch at which each band's relative error
    fell under ``threshold`` (nan: never; empty for a model without dynamics). Returns the
    summary rows.
    """
    if not predictions:
        raise ConfigError("predictions: expected at least one model")
    for label, prediction in predictions.items():
        if prediction.shape != target.shape:
            raise ConfigError(f"{label}: prediction shape {tuple(prediction.shape)} does not match target {tuple(target.shape)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spatial_shape = tuple(target.shape[2:])
    top = complete_shells(spatial_shape)
    mode_cutoff = mode_cutoff if mode_cutoff is not None else default_mode_cutoff(spatial_shape)
    rows = []
    relative, ratio = {}, {}
    for label, prediction in predictions.items():
        sums = ShellSums.of(prediction, target)
        rows.append({"model": label, **summarise(prediction, target, mode_cutoff, threshold, sums=sums)})
        relative[label] = sums.relative()
        ratio[label] = sums.spectral_ratio()
    columns = list(SUMMARY_COLUMNS)
    if dynamics:
        tables = {label: read_dynamics(path) for label, path in dynamics.items()}
        bands = cutoff_bands(mode_cutoff, shell_count(spatial_shape) - 1)
        columns += [f"epoch_{name}_under_{threshold:g}" for name in bands]
        for row in rows:
            if row["model"] in tables:
                learned = band_learning_epochs(tables[row["model"]], bands, threshold)
                row.update({f"epoch_{name}_under_{threshold:g}": value for name, value in learned.items()})
    with atomic_path(out_dir / "spectral_summary.csv") as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    plots.plot_error_spectrum(relative, out_dir / "error_spectrum.png", mode_cutoff=mode_cutoff, max_wavenumber=top)
    plots.plot_spectral_ratio(ratio, out_dir / "spectral_ratio.png", mode_cutoff=mode_cutoff, max_wavenumber=top)
    if target.ndim in (3, 4):
        index = min(sample, target.shape[0] - 1)
        for label, prediction in predictions.items():
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
            plots.plot_prediction(target[index, 0], prediction[index, 0], out_dir / f"prediction_{safe}.png", title=label)
    if dynamics:
        plots.plot_dynamics_heatmap(
            {label: (t.epochs, t.wavenumbers[: top + 1], t.errors[:, : top + 1]) for label, t in tables.items()},
            out_dir / "dynamics_heatmap.png",
        )
        with atomic_path(out_dir / "time_to_learn.csv") as tmp:
            with open(tmp, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["model", "wavenumber", "epoch_within_2x_of_final"])
                for label, table in tables.items():
                    for k, epoch in zip(table.wavenumbers, time_to_learn(table)):
                        writer.writerow([label, int(k), epoch])
    return rows
