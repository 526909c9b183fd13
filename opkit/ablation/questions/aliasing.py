"""c. Aliasing: ``aliasing_mean``, the post-activation energy share above the cutoff."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from opkit.ablation import stats
from opkit.ablation.questions.common import (
    _comparison_json,
    _mean_ci,
    _ratio_ci,
    _slug,
    _summary_json,
    activation_family,
    line_style,
    paired_ratio,
    values_by_seed,
)
from opkit.ablation.report.figures import pyplot as _pyplot, save_figure


# ----------------------------------------------------------------------------- c. aliasing


def aliasing_values(by_activation) -> dict[str, dict[int, float]]:
    """activation -> seed -> ``aliasing_mean``, activations without any left out."""
    values = {label: values_by_seed(records, "aliasing_mean") for label, records in by_activation.items()}
    return {label: v for label, v in values.items() if v}


def aliasing_analysis(by_activation, baseline) -> dict:
    """activation -> (Summary of aliasing_mean over seeds, paired ratio to the baseline or None)."""
    values = aliasing_values(by_activation)
    base = values.get(baseline)
    return {label: (stats.summarize(list(v.values())),
                    paired_ratio(v, base) if base and label != baseline else None)
            for label, v in values.items()}


def plot_aliasing(analysis: dict, values: dict, path: Path, title: str) -> Path:
    """Each seed as a grey dot, the mean and its 95% t interval per activation."""
    plt = _pyplot()
    labels = list(analysis)
    fig, axis = plt.subplots(figsize=(max(6, 0.6 * len(labels)), 3.5))
    for i, label in enumerate(labels):
        seeds = list(values[label].values())
        axis.scatter(i + np.linspace(-0.12, 0.12, len(seeds)), seeds, s=10, color="0.6", zorder=1)
        s = analysis[label][0]
        half = s.mean - s.ci_low if math.isfinite(s.ci_low) else 0.0
        axis.errorbar(i, s.mean, yerr=[[half], [half]], fmt="o", capsize=4,
                      color=line_style(i, len(labels), label)["color"])
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_xlim(-0.6, len(labels) - 0.4)
    axis.set_ylabel("post-activation energy share above cutoff")
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return save_figure(fig, path)


def section_aliasing(doc, groups, baseline, figures: Path) -> dict:
    doc.heading("Aliasing above the cutoff", 3)
    answers = {}
    for setting, by_activation in groups.items():
        analysis = aliasing_analysis(by_activation, baseline)
        if not analysis:
            doc.paragraph(f"{setting}: no `aliasing_mean` in the records: skipped.")
            continue
        rows = [[label, activation_family(label), str(s.n), _mean_ci(s),
                 "1 (baseline)" if label == baseline else _ratio_ci(c)] for label, (s, c) in analysis.items()]
        doc.paragraph(f"**{setting}**: share of post-activation energy above the mode cutoff (mean and 95% CI "
                      f"over seeds) and the paired ratio to {baseline or 'the baseline'}.")
        doc.table(["activation", "family", "n", "aliasing [95% CI]", f"ratio to {baseline} [95% CI]"], rows)
        more = [l for l, (_, c) in analysis.items() if c and c.n and c.ratio_ci_low > 1]
        less = [l for l, (_, c) in analysis.items() if c and c.n and c.ratio_ci_high < 1]
        if baseline in analysis:
            doc.paragraph(f"More aliasing than {baseline} (CI above 1): {', '.join(more) or 'none'}; "
                          f"less (CI below 1): {', '.join(less) or 'none'}.")
        doc.image(plot_aliasing(analysis, aliasing_values(by_activation), figures / f"aliasing_{_slug(setting)}.png",
                                f"aliasing — {setting}"),
                  f"{setting}: post-activation energy share above the cutoff: seeds (grey), mean and 95% CI")
        answers[setting] = {label: {"summary": _summary_json(s), "ratio": _comparison_json(c)}
                            for label, (s, c) in analysis.items()}
    return answers
