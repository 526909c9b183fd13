"""The report's statistics figures (seed scatter with CIs, forest plot of ratios to the baseline,
critical-difference diagram) and the plotting helpers the spectral figures share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from opkit.ablation.report.analysis import ActivationResult, RankTest
from opkit.io import atomic_path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plain_log_ticks(axis) -> None:
    """Tick labels like 0.1, 0.2 instead of 10^-1, 2x10^-1 on a log axis."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    axis.set_major_formatter(FormatStrFormatter("%.3g"))
    axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    axis.set_minor_formatter(FormatStrFormatter("%.3g"))


def save_figure(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    pyplot().close(fig)
    return path


def plot_error_bars(analysis: dict[str, list[ActivationResult]], metric: str, path: Path) -> Path:
    """Per setting: each seed as a dot, mean and 95% CI as an error bar, per activation."""
    plt = pyplot()
    n = len(analysis)
    fig, axes = plt.subplots(n, 1, figsize=(max(6, 0.7 * max(len(r) for r in analysis.values())), 3.2 * n), squeeze=False)
    for axis, (setting, results) in zip(axes[:, 0], analysis.items()):
        for i, result in enumerate(results):
            values = list(result.values.values())
            axis.scatter(np.full(len(values), i) + np.linspace(-0.15, 0.15, len(values)) if values else [], values,
                         s=10, color="0.6", zorder=1)
            s = result.summary
            if s.n:
                low = s.mean - s.ci_low if math.isfinite(s.ci_low) else 0
                axis.errorbar(i, s.mean, yerr=[[low], [low]], fmt="o", color="C0", capsize=4, zorder=2)
        axis.set_xticks(range(len(results)), [r.label for r in results], rotation=45, ha="right")
        axis.set_yscale("log")
        plain_log_ticks(axis.yaxis)
        axis.set_ylabel(metric)
        axis.set_title(setting, fontsize=10)
        axis.grid(alpha=0.3, which="both", axis="y")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_forest(analysis: dict[str, list[ActivationResult]], baseline: str, path: Path) -> Path | None:
    """Error ratio to the baseline with its 95% CI per activation (log axis, 1 = same as baseline)."""
    plt = pyplot()
    panels = {s: [r for r in rs if r.comparison is not None and math.isfinite(r.comparison.ratio)] for s, rs in analysis.items()}
    panels = {s: rs for s, rs in panels.items() if rs}
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 0.4 * max(len(r) for r in panels.values()) + 1.5),
                             squeeze=False)
    for axis, (setting, results) in zip(axes[0], panels.items()):
        for i, result in enumerate(results):
            c = result.comparison
            low = c.ratio_ci_low if math.isfinite(c.ratio_ci_low) else c.ratio
            high = c.ratio_ci_high if math.isfinite(c.ratio_ci_high) else c.ratio
            color = "C2" if high < 1 else "C3" if low > 1 else "0.4"
            axis.plot([low, high], [i, i], color=color)
            axis.plot(c.ratio, i, "o", color=color)
        axis.axvline(1.0, color="k", lw=0.8, ls="--")
        axis.set_xscale("log")
        plain_log_ticks(axis.xaxis)
        axis.set_yticks(range(len(results)), [r.label for r in results])
        axis.invert_yaxis()
        axis.set_xlabel(f"error ratio to {baseline} (95% CI)")
        axis.set_title(setting, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


@dataclass
class CriticalDifferenceLayout:
    """Where the parts of a critical-difference diagram go (x: average rank, y: rows below the axis at 0).

    ``labels``: (label index, y, left) per activation, best half on the left; ``cliques``: (rank from,
    rank to, y) per clique. Every clique has a row of its own, and every label a row of its own below
    all cliques, so neither bars nor labels overlap.
    """

    labels: list[tuple[int, float, bool]]
    cliques: list[tuple[float, float, float]]
    bottom: float


CLIQUE_STEP, LABEL_STEP = 0.3, 0.55


def critical_difference_layout(ranks, critical_difference: float) -> CriticalDifferenceLayout:
    """Rows of a Demšar diagram: cliques (maximal runs of sorted ranks within one CD) then labels."""
    ranks = np.asarray(ranks, dtype=float)
    k = len(ranks)
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    cliques = []
    last_end = -1
    for start in range(k):
        end = start
        while end + 1 < k and sorted_ranks[end + 1] - sorted_ranks[start] <= critical_difference:
            end += 1
        if end > start and end > last_end:
            cliques.append((float(sorted_ranks[start]), float(sorted_ranks[end]), -CLIQUE_STEP * (len(cliques) + 1)))
            last_end = end
    top = -CLIQUE_STEP * (len(cliques) + 1) - LABEL_STEP
    half = (k + 1) // 2
    labels = []
    for position, index in enumerate(order):
        left = position < half
        row = position if left else k - 1 - position  # the outermost ranks get the highest rows
        labels.append((int(index), top - LABEL_STEP * row, left))
    bottom = min((y for _, y, _ in labels), default=top) - LABEL_STEP
    return CriticalDifferenceLayout(labels, cliques, bottom)


def plot_critical_difference(test: RankTest, path: Path) -> Path:
    """Demšar's diagram: average ranks on an axis, the CD as a bar, cliques joined by red bars."""
    plt = pyplot()
    ranks = test.result.average_ranks
    k = len(ranks)
    layout = critical_difference_layout(ranks, test.critical_difference)
    fig, axis = plt.subplots(figsize=(8, 0.9 + 0.42 * (1.8 - layout.bottom)))
    axis.set_xlim(0.5, k + 0.5)
    axis.set_ylim(layout.bottom, 1.8)
    axis.axhline(0, color="k", lw=1)
    for r in range(1, k + 1):
        axis.plot([r, r], [0, 0.15], color="k", lw=1)
        axis.text(r, 0.3, str(r), ha="center", fontsize=8)
    axis.plot([1, 1 + test.critical_difference], [1.1, 1.1], color="k", lw=2)
    axis.text(1 + test.critical_difference / 2, 1.25, f"CD = {test.critical_difference:.2f}", ha="center",
              fontsize=8)
    for index, y, left in layout.labels:
        rank = ranks[index]
        x_text = 0.6 if left else k + 0.4
        axis.plot([rank, rank, x_text], [0, y, y], color="0.3", lw=0.8)
        axis.text(x_text, y, f"{test.labels[index]} ({rank:.2f})", ha="right" if left else "left",
                  va="center", fontsize=8)
    for low, high, y in layout.cliques:
        axis.plot([low - 0.03, high + 0.03], [y, y], color="C3", lw=2.5, solid_capstyle="butt")
    axis.axis("off")
    axis.set_title(f"{test.metric}: average ranks over {test.result.n_blocks} {test.blocks} "
                   f"(Friedman p = {test.result.p_value:.3g})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


# Activations: tab10 for a few, beyond that tab20 with a dash pattern cycle, so that neighbours in tab20
# (a dark and a light shade of one hue) differ in pattern too; both without their greys, which mark
# the controls (grey and dashed).
DASHES = ("-", (0, (1, 1.2)), (0, (5, 1.5, 1, 1.5)), (0, (3, 1, 1, 1, 1, 1)))
CONTROL_GREYS = ("0.2", "0.45", "0.65", "0.35", "0.55")
CONTROL_DASHES = ((0, (5, 2)), (0, (9, 3)))
TAB10_COLOURS = [i for i in range(10) if i != 7]                  # 7 is grey
TAB20_COLOURS = [i for i in range(20) if i not in (14, 15)]       # 14, 15 are greys


def line_styles(labels) -> dict[str, dict]:
    """``label -> {"color", "linestyle"}`` for one line per activation: every pair distinct, controls
    (``opkit.ablation.controls``) dashed and grey."""
    from matplotlib import colormaps

    from opkit.ablation.controls import control

    labels = list(labels)
    activations = [label for label in labels if control(label) is None]
    controls = [label for label in labels if control(label) is not None]
    styles = {}
    for i, label in enumerate(activations):
        if len(activations) <= len(TAB10_COLOURS):
            styles[label] = {"color": colormaps["tab10"](TAB10_COLOURS[i]), "linestyle": "-"}
        else:
            n = len(TAB20_COLOURS)
            styles[label] = {"color": colormaps["tab20"](TAB20_COLOURS[i % n]),
                             "linestyle": DASHES[(i + i // n) % len(DASHES)]}
    for i, label in enumerate(controls):
        styles[label] = {"color": CONTROL_GREYS[i % len(CONTROL_GREYS)],
                         "linestyle": CONTROL_DASHES[i % len(CONTROL_DASHES)]}
    return styles
