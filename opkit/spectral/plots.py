"""Headless figures for spectral-bias evaluation.

Every function takes plain arrays (numpy or torch), writes one PNG atomically and returns
its path. Figures are built with ``matplotlib.figure.Figure`` directly, never pyplot, so
they work without a display and leave no global state behind. Functions that take a
``curves`` mapping overlay one line per entry (label -> values) with a legend, for
comparing checkpoints or activations.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from opkit.errors import ConfigError
from opkit.io import atomic_path


def _array(values, name: str, ndim: int | None = None) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=float)
    if ndim is not None and array.ndim != ndim:
        raise ConfigError(f"{name}: expected {ndim} dimension(s), got shape {array.shape}")
    return array


def _save(figure: Figure, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    return Path(path)


def _curves(curves: Mapping[str, object], name: str) -> dict[str, np.ndarray]:
    if not curves:
        raise ConfigError(f"{name}: expected at least one curve (label -> values)")
    return {str(label): _array(values, f"{name}[{label!r}]", ndim=1) for label, values in curves.items()}


def plot_error_spectrum(
    curves: Mapping[str, object],
    path: str | os.PathLike,
    relative: bool = True,
    mode_cutoff: int | None = None,
    max_wavenumber: int | None = None,
    title: str | None = None,
) -> Path:
    """Error spectrum e(k) on a log scale, one line per label; shell k is index k of each curve."""
    curves = _curves(curves, "curves")
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    for label, values in curves.items():
        stop = len(values) if max_wavenumber is None else min(len(values), max_wavenumber + 1)
        k = np.arange(stop)
        positive = np.isfinite(values[:stop]) & (values[:stop] > 0)
        axes.semilogy(k[positive], values[:stop][positive], marker=".", label=label)
    if mode_cutoff is not None:
        axes.axvline(mode_cutoff, color="grey", linestyle="--", label=f"mode cutoff {mode_cutoff}")
    axes.set_xlabel("wavenumber |k|")
    axes.set_ylabel("relative error power e(k)" if relative else "error energy E_err(k)")
    axes.set_title(title or ("Relative error spectrum" if relative else "Error spectrum"))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def plot_spectral_ratio(
    curves: Mapping[str, object],
    path: str | os.PathLike,
    mode_cutoff: int | None = None,
    max_wavenumber: int | None = None,
    title: str | None = None,
) -> Path:
    """Predicted over true energy per shell (log scale), with the ideal ratio 1 marked."""
    curves = _curves(curves, "curves")
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    for label, values in curves.items():
        stop = len(values) if max_wavenumber is None else min(len(values), max_wavenumber + 1)
        k = np.arange(stop)
        positive = np.isfinite(values[:stop]) & (values[:stop] > 0)
        axes.semilogy(k[positive], values[:stop][positive], marker=".", label=label)
    axes.axhline(1.0, color="black", linewidth=0.8)
    if mode_cutoff is not None:
        axes.axvline(mode_cutoff, color="grey", linestyle="--", label=f"mode cutoff {mode_cutoff}")
    axes.set_xlabel("wavenumber |k|")
    axes.set_ylabel("E_pred(k) / E_true(k)")
    axes.set_title(title or "Spectral ratio")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def _heatmap_panels(panels: Mapping[str, tuple], path, xlabel: str, ylabel: str, colorbar: str, log: bool, title: str,
                    vertical_line: tuple[float, str] | None = None):
    if not panels:
        raise ConfigError("panels: expected at least one run (label -> (rows, columns, values))")
    count = len(panels)
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(4.2 * columns + 1.2, 3.4 * rows + 0.6), layout="constrained")
    figure.suptitle(title)
    prepared = {}
    for label, (row_values, column_values, values) in panels.items():
        values = _array(values, f"{label}: values", ndim=2)
        row_values = _array(row_values, f"{label}: rows", ndim=1)
        column_values = _array(column_values, f"{label}: columns", ndim=1)
        if values.shape != (len(row_values), len(column_values)):
            raise ConfigError(
                f"{label}: values: expected shape ({len(row_values)}, {len(column_values)}), got {values.shape}"
            )
        prepared[label] = (row_values, column_values, values)
    finite = np.concatenate([v[np.isfinite(v) & ((v > 0) if log else True)].ravel() for _, _, v in prepared.values()])
    norm = None
    if log and finite.size:
        # one colour scale for every panel; the 1st-99th percentiles, so that a few huge relative
        # errors (shells with almost no energy, a failed run) do not flatten everything else
        low, high = np.percentile(finite, [1, 99]) if finite.size > 20 else (finite.min(), finite.max())
        norm = LogNorm(vmin=low, vmax=max(high, low * 10))
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    image = None
    for axes in grid.flat[count:]:
        axes.set_visible(False)
    for index, (axes, (label, (row_values, column_values, values))) in enumerate(zip(grid.flat, prepared.items())):
        shown = np.where(np.isfinite(values) & ((values > 0) if log else True), values, np.nan)
        image = axes.pcolormesh(column_values, row_values, shown, shading="nearest", norm=norm, cmap="viridis")
        axes.set_title(label)
        if vertical_line is not None:
            axes.axvline(vertical_line[0], color="white", linestyle="--", linewidth=1.2, label=vertical_line[1])
            if index == 0:
                axes.legend(fontsize=7, loc="upper right")
        if index + columns >= count:  # no panel below this one
            axes.set_xlabel(xlabel)
            axes.xaxis.set_tick_params(labelbottom=True)
        if index % columns == 0:
            axes.set_ylabel(ylabel)
    figure.colorbar(image, ax=grid, label=colorbar, extend="both" if log else "neither", shrink=min(0.9, 1.6 / rows),
                    aspect=25)
    return _save(figure, path)


def plot_dynamics_heatmap(
    runs: Mapping[str, tuple[Sequence[float], Sequence[float], object]],
    path: str | os.PathLike,
    title: str = "Relative error by epoch and wavenumber\n(blank: empty shell, no target energy)",
    mode_cutoff: int | None = None,
) -> Path:
    """Epoch x wavenumber heatmap of the relative error (log colour), one panel per run.

    ``runs`` maps a label to ``(epochs (E,), wavenumbers (K,), errors (E, K))``. Shells from
    k = 1 are shown: k = 0 is the mean, empty for zero-mean targets and not a frequency the
    network learns over time. ``mode_cutoff`` is marked with a dashed line on every panel.
    """
    shown = {}
    for label, (epochs, wavenumbers, errors) in runs.items():
        wavenumbers, errors = _array(wavenumbers, f"{label}: columns"), _array(errors, f"{label}: values")
        keep = wavenumbers >= 1
        if wavenumbers.ndim == 1 and errors.shape == (len(epochs), len(wavenumbers)) and keep.any():
            # (a shape mismatch is refused by _heatmap_panels with the shapes as given)
            wavenumbers, errors = wavenumbers[keep], errors[:, keep]
        shown[label] = (epochs, wavenumbers, errors)
    cutoff = None if mode_cutoff is None else (mode_cutoff, f"mode cutoff {mode_cutoff}")
    return _heatmap_panels(shown, path, "wavenumber |k|", "epoch", "relative error e(k)", log=True, title=title,
                           vertical_line=cutoff)


def plot_probe_heatmap(
    runs: Mapping[str, tuple[Sequence[float], Sequence[float], object]],
    path: str | os.PathLike,
    title: str = "Learned fraction per frequency",
) -> Path:
    """Iteration x frequency heatmap of a probe's learned fraction (1 = learned), one panel per activation."""
    return _heatmap_panels(runs, path, "frequency k", "iteration", "learned fraction", log=False, title=title)


def plot_prediction(truth, prediction, path: str | os.PathLike, title: str | None = None) -> Path:
    """Prediction against truth with the error field, for one sample of one channel.

    ``truth`` and ``prediction``: ``(n,)`` (1D: overlaid lines, error below) or ``(nx, ny)``
    (2D: three images, truth and prediction on one colour scale).
    """
    truth = _array(truth, "truth")
    prediction = _array(prediction, "prediction")
    if truth.shape != prediction.shape or truth.ndim not in (1, 2):
        raise ConfigError(
            f"truth and prediction: expected the same 1D or 2D shape, got {truth.shape} and {prediction.shape}"
        )
    error = prediction - truth
    if truth.ndim == 1:
        figure = Figure(figsize=(7, 5))
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        x = np.arange(len(truth)) / len(truth)
        top.plot(x, truth, label="truth", color="black")
        top.plot(x, prediction, label="prediction", linestyle="--")
        top.legend()
        bottom.plot(x, error, color="tab:red")
        bottom.set_ylabel("error")
        bottom.set_xlabel("x")
    else:
        figure = Figure(figsize=(13, 4))
        panels = figure.subplots(1, 3)
        low, high = min(truth.min(), prediction.min()), max(truth.max(), prediction.max())
        for axes, field, name in ((panels[0], truth, "truth"), (panels[1], prediction, "prediction")):
            image = axes.imshow(field.T, origin="lower", vmin=low, vmax=high, cmap="viridis")
            axes.set_title(name)
            figure.colorbar(image, ax=axes)
        limit = np.abs(error).max() or 1.0
        image = panels[2].imshow(error.T, origin="lower", vmin=-limit, vmax=limit, cmap="RdBu_r")
        panels[2].set_title("error")
        figure.colorbar(image, ax=panels[2])
    if title:
        figure.suptitle(title)
    return _save(figure, path)
