"""The report's spectral figures, one per setting: spectra per activation, epoch x wavenumber
learning dynamics, learned activation shapes."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from opkit.ablation.report.analysis import list_metric
from opkit.ablation.report.figures import line_styles, pyplot, save_figure
from opkit.ablation.report.records import dynamics_table, learned_activation
from opkit.ablation.store import FINISHED


# Axis labels of list-valued metrics by the end of their key (sine_error_spectrum reads like error_spectrum).
CURVE_LABELS = {
    "error_spectrum": "relative error E_err(k)/E_true(k)",
    "energy_spectrum_pred": "energy E(k)",
    "energy_spectrum_true": "energy E(k)",
}
# Below this fraction of its peak an energy spectrum is float32 round-off, not signal.
NOISE_FLOOR = 1e-7


def curve_label(key: str) -> str:
    """A readable axis label for a list-valued metric key (the key itself when it has none)."""
    return next((label for suffix, label in CURVE_LABELS.items() if key.endswith(suffix)), key)


def mode_cutoff(records: list[dict]) -> int | None:
    """The mode cutoff most finished runs of a setting recorded (``metrics["mode_cutoff"]``)."""
    values = [(r.get("metrics") or {}).get("mode_cutoff") for r in records if r.get("status") == FINISHED]
    values = [int(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
    return max(set(values), key=values.count) if values else None


def mark_cutoff(axis, cutoff: int | None) -> None:
    """A vertical line at the mode cutoff: shells right of it are beyond the spectral convolution's modes."""
    if cutoff is not None:
        axis.axvline(cutoff, color="0.3", ls=":", lw=1, label=f"mode cutoff {cutoff}")


def shell_axis(axis, cutoff) -> None:
    """An x axis of wavenumber shells: integer ticks and the mode cutoff marked (none when not finite)."""
    from matplotlib.ticker import MaxNLocator

    finite = isinstance(cutoff, (int, float)) and not isinstance(cutoff, bool) and math.isfinite(cutoff)
    mark_cutoff(axis, int(cutoff) if finite else None)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_curves(records_by_label: dict[str, list[dict]], key: str, path: Path, title: str,
                ylabel: str | None = None, reference_key: str | None = None,
                x_key: str | None = None, xlabel: str | None = None) -> Path | None:
    """A list-valued metric (a spectrum per run) as the seed mean with a min-max band, per activation;
    ``reference_key`` (e.g. the true energy spectrum) is drawn once as a thick light black line.

    Shells are integers on the x axis; the setting's mode cutoff is marked; an energy spectrum's
    y range stops at ``NOISE_FLOOR`` times its peak (float32 round-off below). With ``x_key``
    (e.g. ``rollout.frames``) the curve is not a spectrum: its x values are that list of the
    first run, labelled ``xlabel``, and no cutoff is drawn.
    """
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    styles = line_styles(records_by_label)
    shown, reference = [], None
    if reference_key:
        reference = next((list_metric(r, reference_key) for records in records_by_label.values() for r in records
                          if r["status"] == FINISHED and list_metric(r, reference_key)), None)
        if reference:
            # thick, light and solid: apart from the dashed controls and the dotted cutoff
            axis.plot(np.arange(len(reference)), reference, color="k", lw=2.5, alpha=0.35, label="true", zorder=0)
            shown.append(np.asarray(reference, dtype=float))
    for label, records in records_by_label.items():
        curves = [np.asarray(list_metric(r, key), dtype=float) for r in records if r["status"] == FINISHED]
        curves = [c for c in curves if c.ndim == 1 and c.size > 1]
        if not curves:
            continue
        length = min(c.size for c in curves)
        curves = np.stack([c[:length] for c in curves])
        positions = next((list_metric(r, x_key) for r in records if r["status"] == FINISHED), None) if x_key else None
        k = np.asarray(positions[:length], dtype=float) if positions and len(positions) >= length else np.arange(length)
        style = styles[label]
        axis.plot(k, curves.mean(axis=0), label=label, lw=1.3, **style)
        axis.fill_between(k, curves.min(axis=0), curves.max(axis=0), color=style["color"], alpha=0.15)
        shown.append(curves.ravel())
    drawn = len(shown) > (1 if reference else 0)  # some activation has a curve, not only the reference
    if not drawn:
        pyplot().close(fig)
        return None
    axis.set_yscale("log")
    if "energy" in curve_label(key):
        values = np.concatenate(shown)
        positive = values[np.isfinite(values) & (values > 0)]
        if positive.size:
            axis.set_ylim(bottom=max(positive.min(), NOISE_FLOOR * positive.max()))
    if x_key is None:
        shell_axis(axis, mode_cutoff([r for records in records_by_label.values() for r in records]))
    else:
        from matplotlib.ticker import MaxNLocator

        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel(xlabel or ("wavenumber shell k" if x_key is None else x_key))
    axis.set_ylabel(ylabel or curve_label(key))
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, which="major")
    if len(records_by_label) > 6:  # beside the axes: a long legend inside would cover the curves
        axis.legend(fontsize=7, ncol=1 + len(records_by_label) // 16, loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
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
    cutoff = mode_cutoff([r for records in records_by_label.values() for r in records])
    return plot_dynamics_heatmap(panels, path, title=title, mode_cutoff=cutoff)


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
        axis.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
