"""The report's statistics figures (seed scatter with CIs, forest plot of ratios to the baseline,
critical-difference diagram) and the plotting helpers the spectral figures share."""

from __future__ import annotations

import math
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


def plot_critical_difference(test: RankTest, path: Path) -> Path:
    """Demšar's diagram: average ranks on an axis, the CD as a bar, cliques joined by lines."""
    plt = pyplot()
    ranks = test.result.average_ranks
    k = len(ranks)
    order = np.argsort(ranks)
    fig, axis = plt.subplots(figsize=(8, 1.2 + 0.28 * k))
    axis.set_xlim(0.5, k + 0.5)
    axis.set_ylim(-(k // 2 + 2), 2)
    axis.axhline(0, color="k", lw=1)
    for r in range(1, k + 1):
        axis.plot([r, r], [0, 0.15], color="k", lw=1)
        axis.text(r, 0.3, str(r), ha="center", fontsize=8)
    axis.plot([1, 1 + test.critical_difference], [1.3, 1.3], color="k", lw=2)
    axis.text(1 + test.critical_difference / 2, 1.5, f"CD = {test.critical_difference:.2f}", ha="center", fontsize=8)
    half = (k + 1) // 2
    for position, index in enumerate(order):
        rank = ranks[index]
        left = position < half
        depth = -(position + 1) if left else -(k - position)
        x_text = 0.6 if left else k + 0.4
        axis.plot([rank, rank, x_text], [0, depth, depth], color="0.3", lw=0.8)
        axis.text(x_text, depth, f"{test.labels[index]} ({rank:.2f})", ha="left" if not left else "right",
                  va="center", fontsize=8)
    # cliques: maximal runs of sorted ranks within one CD of each other
    sorted_ranks = ranks[order]
    level = 0
    last_end = -1
    for start in range(k):
        end = start
        while end + 1 < k and sorted_ranks[end + 1] - sorted_ranks[start] <= test.critical_difference:
            end += 1
        if end > start and end > last_end:
            level += 1
            axis.plot([sorted_ranks[start] - 0.03, sorted_ranks[end] + 0.03], [-0.35 * level, -0.35 * level],
                      color="C3", lw=2.5)
            last_end = end
    axis.axis("off")
    axis.set_title(f"{test.metric}: average ranks over {test.result.n_blocks} {test.blocks} "
                   f"(Friedman p = {test.result.p_value:.3g})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def line_color(index: int, count: int):
    """Distinct colours: the default cycle up to 10 lines, tab20 beyond."""
    if count <= 10:
        return f"C{index}"
    return pyplot().get_cmap("tab20")(index % 20)
