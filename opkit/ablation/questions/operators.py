"""e. Operators: the activation ranking per operator side by side, Kendall's tau between them."""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import stats as distributions

from opkit.ablation.questions.common import _fmt, _slug, line_style, values_by_seed
from opkit.ablation.report.figures import pyplot as _pyplot, save_figure


# ----------------------------------------------------------------------------- e. operators


def operator_rankings(groups, metric: str) -> list[dict]:
    """Per setting without its operator: operator -> {activation: mean metric}, the ranks over the
    activations every operator has (1 = lowest error) and Kendall's tau between each pair."""
    by_rest: dict[str, dict[str, dict[str, float]]] = {}
    for by_activation in groups.values():
        factors = next((r.get("factors") or {} for rs in by_activation.values() for r in rs), {})
        if "operator" not in factors:
            continue
        rest = ", ".join(f"{a}={v}" for a, v in factors.items() if a not in ("activation", "operator")) or "all runs"
        means = {}
        for label, records in by_activation.items():
            values = list(values_by_seed(records, metric).values())
            if values:
                means[label] = float(np.mean(values))
        by_rest.setdefault(rest, {})[str(factors["operator"])] = means
    result = []
    for rest, by_operator in by_rest.items():
        if len(by_operator) < 2:
            continue
        operators = list(by_operator)
        labels = [l for l in by_operator[operators[0]] if all(l in by_operator[o] for o in operators)]
        ranks = {o: dict(zip(labels, distributions.rankdata([by_operator[o][l] for l in labels]))) for o in operators}
        taus = {}
        for a, b in combinations(operators, 2):
            if len(labels) >= 2:
                tau = distributions.kendalltau([ranks[a][l] for l in labels], [ranks[b][l] for l in labels])
                taus[(a, b)] = (float(tau.statistic), float(tau.pvalue))
            else:
                taus[(a, b)] = (math.nan, math.nan)
        result.append({"setting": rest, "means": by_operator, "labels": labels, "ranks": ranks, "taus": taus})
    return result


def plot_operator_ranks(entry: dict, path: Path, title: str) -> Path:
    """Bump chart: the activation's rank (1 = best) under each operator."""
    plt = _pyplot()
    operators = list(entry["ranks"])
    fig, axis = plt.subplots(figsize=(2 + 1.6 * len(operators), 0.9 + 0.35 * len(entry["labels"])))
    for i, label in enumerate(entry["labels"]):
        style = line_style(i, len(entry["labels"]), label)
        axis.plot(range(len(operators)), [entry["ranks"][o][label] for o in operators], marker="o", **style)
    for operator, x, align in ((operators[0], -0.08, "right"), (operators[-1], len(operators) - 0.92, "left")):
        tied: dict[float, list[str]] = {}  # tied activations share one label, not two drawn over each other
        for label in entry["labels"]:
            tied.setdefault(float(entry["ranks"][operator][label]), []).append(label)
        for rank, labels in tied.items():
            color = line_style(entry["labels"].index(labels[0]), len(entry["labels"]), labels[0])["color"]
            axis.text(x, rank, " = ".join(labels), va="center", ha=align, fontsize=8,
                      color=color if len(labels) == 1 else "k")
    axis.set_xticks(range(len(operators)), operators)
    axis.set_xlim(-0.9, len(operators) - 0.1)
    axis.invert_yaxis()
    axis.set_ylabel("rank (1 = lowest error)")
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return save_figure(fig, path)


def section_operators(doc, groups, metric: str, figures: Path) -> list:
    rankings = operator_rankings(groups, metric)
    if not rankings:
        return []
    doc.heading("Operators: does the ranking change?", 3)
    answers = []
    for entry in rankings:
        operators = list(entry["ranks"])
        rows = [[label] + [f"{entry['ranks'][o][label]:g} ({_fmt(entry['means'][o][label])})" for o in operators]
                for label in sorted(entry["labels"], key=lambda l: entry["ranks"][operators[0]][l])]
        doc.paragraph(f"**{entry['setting']}**: rank of each activation (1 = lowest mean `{metric}` over seeds, "
                      "mean in brackets) under each operator, over the activations every operator has.")
        doc.table(["activation"] + operators, rows)
        tau_rows = [[f"{a} vs {b}", _fmt(t), _fmt(p), str(len(entry["labels"]))]
                    for (a, b), (t, p) in entry["taus"].items()]
        doc.table(["operators", "Kendall's τ", "p (two-sided)", "activations"], tau_rows)
        doc.paragraph("Kendall's τ = 1: the same order, 0: unrelated, −1: reversed; " + "; ".join(
            f"{a} vs {b}: τ = {_fmt(t)}" + (" (p < 0.05)" if math.isfinite(p) and p < 0.05 else " (p ≥ 0.05)")
            for (a, b), (t, p) in entry["taus"].items()) + ".")
        if len(entry["labels"]) >= 2:
            doc.image(plot_operator_ranks(entry, figures / f"operator_ranks_{_slug(entry['setting'])}.png",
                                          f"activation rank per operator — {entry['setting']}"),
                      f"{entry['setting']}: rank of each activation under each operator (1 = best)")
        answers.append({"setting": entry["setting"], "labels": entry["labels"],
                        "ranks": {o: {l: float(r) for l, r in ranks.items()} for o, ranks in entry["ranks"].items()},
                        "kendall_tau": {f"{a} vs {b}": {"tau": t, "p": p} for (a, b), (t, p) in entry["taus"].items()}})
    return answers
