"""The cross-task summary: several sweeps' results combined into one comparison.

Each *block* is one (sweep, setting) pair: a PDE with one operator (and any other axis of
that sweep). Within a block each activation has a mean of the primary metric over its
finished seeds. Following Demšar (2006), the activations present in every block are
ranked within each block (1 = lowest error), the ranks averaged over blocks, Friedman's
test asks whether the average ranks differ more than chance, and the Nemenyi critical
difference says which pairs do. Per block, each activation's paired error ratio to the
baseline over seeds (``exp(mean_s(log e_a,s - log e_base,s))``) with its 95% CI shows the
size of the effect the ranks hide.

Output: ``summary.md``, a self-contained ``summary.html``, ``summary.json`` and
``figures/*.png`` in the output folder.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats as distributions

from opkit.ablation import stats
from opkit.ablation.questions import line_style, plain_log_ticks, save_figure, values_by_seed
from opkit.ablation.report import (
    Document,
    RankTest,
    analyse_setting,
    fmt,
    fmt_p,
    group_records,
    plot_critical_difference,
)
from opkit.ablation.report.document import write_document
from opkit.ablation.store import FINISHED, ResultStore
from opkit.errors import ConfigError, DataError


def load_sweeps(results_dirs) -> list[dict]:
    """Each directory's name, metric, baseline, seeds and records; one clear error per bad input."""
    sweeps, names = [], {}
    for directory in results_dirs:
        store = ResultStore(directory)
        records = store.records()  # DataError naming the directory when there is no records/ folder
        if not records:
            raise DataError(store.root, "no run records in records/ (run `opkit ablate` first)")
        sweep = store.read_json("sweep.json", default={}) or {}
        name = str(sweep.get("name") or store.root.name)
        if name in names:
            raise ConfigError(f"{store.root} and {names[name]} are both sweep {name!r}: give each sweep once")
        names[name] = store.root
        sweeps.append({"name": name, "root": store.root, "metric": sweep.get("metric", "test/relative_l2"),
                       "baseline": sweep.get("baseline"), "records": records,
                       "order": (sweep.get("axes") or {}).get("activation"),
                       "seeds": sweep.get("seeds") or sorted({r["seed"] for r in records})})
    return sweeps


PRIMARY = "primary"  # --metric primary: each sweep's own primary metric (e.g. a rollout error beside test errors)


def summary_blocks(sweeps: list[dict], metric: str) -> tuple[dict[str, dict[str, list[dict]]], dict[str, list],
                                                             dict[str, str]]:
    """``"sweep: setting"`` -> activation -> records, block -> its sweep's seeds, and block -> the metric
    it is ranked on (``metric``, or with ``PRIMARY`` its sweep's own); refuses a sweep with no finite metric."""
    blocks, seeds, metrics = {}, {}, {}
    for sweep in sweeps:
        metric_of_sweep = sweep["metric"] if metric == PRIMARY else metric
        groups = group_records(sweep["records"], sweep["order"])
        finite = any(values_by_seed(records, metric_of_sweep) for by in groups.values() for records in by.values())
        if not finite:
            raise DataError(sweep["root"], f"no finished run has the metric {metric_of_sweep!r} (the summary's "
                                           "metric; choose another with --metric)")
        for setting, by_activation in groups.items():
            blocks[f"{sweep['name']}: {setting}"] = by_activation
            seeds[f"{sweep['name']}: {setting}"] = sweep["seeds"]
            metrics[f"{sweep['name']}: {setting}"] = metric_of_sweep
    return blocks, seeds, metrics


def block_means(blocks: dict, metric: str | dict[str, str]) -> tuple[list[str], np.ndarray]:
    """Activations with a finite mean in every block, and the (blocks, activations) table of means;
    ``metric`` is one key for all blocks or block -> key."""
    labels = []
    for by_activation in blocks.values():
        labels += [label for label in by_activation if label not in labels]
    table = np.full((len(blocks), len(labels)), np.nan)
    for i, (block, by_activation) in enumerate(blocks.items()):
        key = metric[block] if isinstance(metric, dict) else metric
        for j, label in enumerate(labels):
            values = list(values_by_seed(by_activation.get(label, []), key).values())
            if values:
                table[i, j] = float(np.mean(values))
    keep = np.all(np.isfinite(table), axis=0)
    return [l for l, k in zip(labels, keep) if k], table[:, keep]


def _describe_metrics(block_metric: dict[str, str]) -> str:
    """`` `test/relative_l2` `` for one metric; otherwise each metric with the blocks it ranks."""
    distinct = sorted(set(block_metric.values()))
    if len(distinct) == 1:
        return f"`{distinct[0]}`"
    return "each sweep's primary (" + "; ".join(
        f"`{m}`: " + ", ".join(b for b, v in block_metric.items() if v == m) for m in distinct) + ")"


def plot_block_ratios(analysis: dict, baseline: str, path: Path) -> Path | None:
    """Every block's paired ratio to the baseline with 95% CI, one row per activation, one marker per block."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = []
    for results in analysis.values():
        labels += [r.label for r in results if r.label != baseline and r.label not in labels]
    if not labels:
        return None
    fig, axis = plt.subplots(figsize=(8, 1.2 + 0.45 * len(labels)))
    height = 0.8 / max(1, len(analysis))
    for b, (block, results) in enumerate(analysis.items()):
        style = line_style(b, len(analysis), block)
        first = True
        for result in results:
            c = result.comparison
            if result.label == baseline or c is None or not math.isfinite(c.ratio):
                continue
            y = labels.index(result.label) - 0.4 + height * (b + 0.5)
            low = c.ratio - c.ratio_ci_low if math.isfinite(c.ratio_ci_low) else 0.0
            high = c.ratio_ci_high - c.ratio if math.isfinite(c.ratio_ci_high) else 0.0
            axis.errorbar(c.ratio, y, xerr=[[low], [high]], fmt="o", ms=4, capsize=2, color=style["color"],
                          label=block if first else None)
            first = False
    axis.axvline(1.0, color="k", lw=1, ls=":")
    axis.set_xscale("log")
    plain_log_ticks(axis.xaxis)
    axis.set_yticks(range(len(labels)), labels)
    axis.invert_yaxis()
    axis.set_xlabel(f"error ratio to {baseline} (95% CI over paired seeds)")
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    axis.grid(alpha=0.3, which="both", axis="x")
    fig.tight_layout()
    return save_figure(fig, path)


def write_summary(results_dirs, out_dir, baseline: str | None = None, metric: str | None = None) -> Path:
    """Combine several results directories into ``summary.md``/``.html``/``.json``; returns summary.md's path."""
    if len(results_dirs) < 2:
        raise ConfigError(f"a summary combines at least two results directories, got {len(results_dirs)}")
    sweeps = load_sweeps(results_dirs)
    if metric is None:
        metrics = {sweep["metric"] for sweep in sweeps}
        if len(metrics) > 1:
            raise ConfigError(f"the sweeps' primary metrics differ ({', '.join(sorted(metrics))}): "
                              f"choose one with --metric, or --metric {PRIMARY} to rank each on its own")
        metric = metrics.pop()
    baseline = baseline or "gelu"
    blocks, seeds, block_metric = summary_blocks(sweeps, metric)
    out = Path(out_dir)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)

    labels, table = block_means(blocks, block_metric)
    doc = Document("Ablation summary across tasks and operators")
    doc.paragraph(
        f"{len(sweeps)} sweeps ({', '.join(s['name'] for s in sweeps)}), {len(blocks)} blocks (sweep, setting), "
        f"metric {_describe_metrics(block_metric)}, baseline **{baseline}**. Each block's entry is the mean over its finished seeds; "
        "ranks are within a block, 1 = lowest error. Only activations with a result in every block enter the "
        f"rank test: {', '.join(labels) or 'none'}."
    )
    rank_answer = None
    doc.heading("Ranks across blocks")
    if len(labels) >= 2 and len(blocks) >= 2:
        result = stats.friedman(table)
        difference = stats.nemenyi_critical_difference(len(labels), len(blocks))
        order = np.argsort(result.average_ranks, kind="stable")
        doc.paragraph(f"Friedman χ² = {fmt(result.statistic)} with {len(labels) - 1} degrees of freedom, "
                      f"p = {fmt_p(result.p_value)} over N = {len(blocks)} blocks and k = {len(labels)} activations; "
                      f"Nemenyi critical difference (α = 0.05) CD = {fmt(difference, 3)}: two activations whose "
                      "average ranks differ by more than CD differ significantly.")
        within = distributions.rankdata(table, axis=1)
        doc.table(["activation", "average rank"] + list(blocks),
                  [[labels[j], fmt(result.average_ranks[j], 3)] +
                   [f"{within[i, j]:g} ({fmt(table[i, j], 3)})" for i in range(len(blocks))] for j in order])
        ranks = result.average_ranks
        apart = [f"{labels[a]} ({fmt(ranks[a], 3)}) vs {labels[b]} ({fmt(ranks[b], 3)})"
                 for i, a in enumerate(order) for b in order[i + 1:] if ranks[b] - ranks[a] > difference]
        doc.paragraph(f"Best average rank: {labels[order[0]]}. Pairs further apart than CD: "
                      f"{'; '.join(apart) or 'none, no two activations differ significantly'}.")
        if math.isfinite(result.statistic):
            test = RankTest(metric if metric != PRIMARY else "primary metric", "blocks", labels, result, difference)
            doc.image(plot_critical_difference(test, figures / "critical_difference.png"),
                      "Critical-difference diagram over all blocks (Nemenyi, α = 0.05): activations joined by a "
                      "red bar are not significantly different")
        rank_answer = {"labels": labels, "average_ranks": result.average_ranks.tolist(),
                       "statistic": result.statistic, "p_value": result.p_value, "n_blocks": len(blocks),
                       "critical_difference": difference, "significant_pairs": apart, "block_means": table.tolist(), "blocks": list(blocks)}
    else:
        doc.paragraph(f"Not enough for a rank test: {len(labels)} activations in every one of {len(blocks)} "
                      "blocks (need at least 2 and 2).")

    doc.heading(f"Paired ratio to {baseline} per block")
    analysis = {}
    for block, by_activation in blocks.items():
        analysis[block] = analyse_setting(by_activation, block_metric[block],
                                          baseline if baseline in by_activation else None,
                                          seeds[block])
    all_labels = []
    for results in analysis.values():
        all_labels += [r.label for r in results if r.label not in all_labels]
    rows = []
    for label in all_labels:
        row = [label]
        for results in analysis.values():
            result = next((r for r in results if r.label == label), None)
            c = result.comparison if result else None
            if result is None:
                row.append("(not run)")
            elif label == baseline:
                row.append("1 (baseline)")
            elif c is None or not c.n:
                row.append("–")
            else:
                row.append(f"{fmt(c.ratio, 3)} [{fmt(c.ratio_ci_low, 3)}, {fmt(c.ratio_ci_high, 3)}]")
        rows.append(row)
    missing = [block for block, by in blocks.items() if baseline not in by]
    doc.paragraph(f"Error ratio to {baseline} over the seeds both finished, 95% CI; below 1 is better."
                  + (f" No {baseline} runs in: {', '.join(missing)}." if missing else ""))
    doc.table(["activation"] + list(blocks), rows)
    figure = plot_block_ratios(analysis, baseline, figures / "ratios_by_block.png")
    if figure:
        doc.image(figure, f"Paired error ratio to {baseline} per block, 95% CI; dotted: equal error")

    summary = {
        "metric": metric, "block_metrics": block_metric, "baseline": baseline, "sweeps": [str(s["root"]) for s in sweeps], "ranks": rank_answer,
        "ratios": {block: {r.label: None if r.comparison is None else {
            "n": r.comparison.n, "ratio": r.comparison.ratio,
            "ci": [r.comparison.ratio_ci_low, r.comparison.ratio_ci_high]} for r in results}
            for block, results in analysis.items()},
        "finished_runs": {block: sum(r["status"] == FINISHED for rs in by.values() for r in rs)
                          for block, by in blocks.items()},
    }
    return write_document(out, "summary", doc, summary)
