"""The report's spectral figures, one per setting: spectra per activation, epoch x wavenumber
learning dynamics, learned activation shapes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from opkit.ablation.report.analysis import list_metric
from opkit.ablation.report.figures import line_color, pyplot, save_figure
from opkit.ablation.report.records import dynamics_table, learned_activation
from opkit.ablation.store import FINISHED


def plot_curves(records_by_label: dict[str, list[dict]], key: str, path: Path, title: str,
                ylabel: str, reference_key: str | None = None) -> Path | None:
    """A list-valued metric (a spectrum per run) as the seed mean with a min-max band, per activation;
    ``reference_key`` (e.g. the true energy spectrum) is drawn once as a dashed black line."""
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    drawn = False
    if reference_key:
        reference = next((list_metric(r, reference_key) for records in records_by_label.values() for r in records
                          if r["status"] == FINISHED and list_metric(r, reference_key)), None)
        if reference:
            axis.plot(np.arange(len(reference)), reference, "k--", lw=1.5, label="true")
    for i, (label, records) in enumerate(records_by_label.items()):
        curves = [np.asarray(list_metric(r, key), dtype=float) for r in records if r["status"] == FINISHED]
        curves = [c for c in curves if c.ndim == 1 and c.size > 1]
        if not curves:
            continue
        length = min(c.size for c in curves)
        curves = np.stack([c[:length] for c in curves])
        k = np.arange(length)
        color = line_color(i, len(records_by_label))
        axis.plot(k, curves.mean(axis=0), color=color, label=label, lw=1.2, ls="-" if i < 10 else "--")
        axis.fill_between(k, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)
        drawn = True
    if not drawn:
        pyplot().close(fig)
        return None
    axis.set_yscale("log")
    axis.set_xlabel("wavenumber")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_dynamics(records_by_label: dict[str, list[dict]], root: Path, path: Path, title: str) -> Path | None:
    """Epoch x wavenumber relative error, seed mean per activation, side by side on one colour scale."""
    from opkit.spectral.plots import plot_dynamics_heatmap

    panels = {}
    for label, records in records_by_label.items():
        tables = []
        for record in records:
            table = dynamics_table(record, root)
            if table is not None:
                tables.append(table)
        if not tables:
            continue
        epochs = min(len(t.epochs) for t in tables)
        shells = min(len(t.wavenumbers) for t in tables)
        with warnings.catch_warnings():  # shells empty in every seed stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            errors = np.nanmean(np.stack([t.errors[:epochs, :shells] for t in tables]), axis=0)
        panels[f"{label} ({len(tables)} seeds)"] = (tables[0].epochs[:epochs], np.arange(shells), errors)
    if not panels:
        return None
    # shells where the target has no energy are NaN in every panel: show only up to the last finite one
    last = max((int(np.flatnonzero(np.isfinite(e).any(axis=0)).max()) for _, _, e in panels.values()
                if np.isfinite(e).any()), default=None)
    if last is not None:
        panels = {label: (epochs, k[: last + 1], e[:, : last + 1]) for label, (epochs, k, e) in panels.items()}
    return plot_dynamics_heatmap(panels, path, title=title)


def plot_learned_activations(records_by_label: dict[str, list[dict]], root: Path, path: Path,
                             title: str) -> Path | None:
    """Learnable activations after training (first finished seed), mean over channels with a min-max band,
    one line per layer; the dashed line is the same activation at initialisation."""
    shapes = {}
    for label, records in records_by_label.items():
        shape = next((s for s in (learned_activation(r, root) for r in records) if s), None)
        if shape is not None:
            shapes[label] = shape
    if not shapes:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(shapes), figsize=(3.6 * len(shapes), 3.2), squeeze=False)
    for axis, (label, shape) in zip(axes[0], shapes.items()):
        x = np.asarray(shape["x"], dtype=float)
        for i, layer in enumerate(shape["layers"]):
            axis.plot(x, layer["mean"], color=f"C{i % 10}", lw=1.2, label=f"layer {i + 1}")
            axis.fill_between(x, layer["min"], layer["max"], color=f"C{i % 10}", alpha=0.15)
        axis.plot(x, shape["initial"], "k--", lw=1, label="initial")
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("x")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
