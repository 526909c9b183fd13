"""The ablation report: tables of statistics, PNG figures, ``report.md`` and one HTML page.

For every *setting* (the grid cell without activation and seed: task, operator, other
axes) and every activation label:

* the primary metric (test relative L2 by default) as mean, standard deviation and a 95%
  t confidence interval over seeds, the number of diverged and failed runs;
* the paired comparison to the baseline over the shared seeds: the error ratio
  ``exp(mean(log e - log e_base))`` with its 95% CI, the paired t test on log error and
  the Wilcoxon signed-rank test, both Holm-corrected across the activations;
* secondary metrics (H1 error, band errors, spectral-bias index, resolved bandwidth, ...)
  as mean ± std.

Across settings (or across seeds when the sweep has a single setting), Friedman's test
with average ranks and a Nemenyi critical-difference diagram, for the primary metric
and each secondary one. ``report.md`` links the PNGs; ``report.html`` embeds them
(base64), so the page is a single self-contained file.
"""

from __future__ import annotations

import base64
import html
import json
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from opkit.ablation import stats
from opkit.ablation.questions import add_question_sections
from opkit.ablation.store import DIVERGED, FAILED, FINISHED, ResultStore, metric_value
from opkit.errors import DataError
from opkit.io import atomic_path, write_text_atomic

# Secondary metrics shown when the records have them; substrings of dotted metric keys.
# Metrics that get the primary metric's full table (summary, paired ratio, tests) when records have them.
HEADLINE_METRICS = ("test/relative_l2", "test/relative_h1")
SECONDARY_PATTERNS = ("test/", "band_errors", "spectral_bias", "bandwidth")
HIGHER_IS_BETTER_PATTERNS = ("bandwidth",)
COST_KEYS = ("parameters", "flops_per_sample", "seconds_per_epoch")


# ----------------------------------------------------------------------------- document


@dataclass
class Document:
    """A report as a list of blocks, rendered to Markdown and to HTML from the same source."""

    title: str
    blocks: list = field(default_factory=list)

    def heading(self, text: str, level: int = 2):
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str):
        self.blocks.append(("paragraph", text))

    def table(self, header: list[str], rows: list[list[str]]):
        self.blocks.append(("table", header, rows))

    def image(self, path: Path, caption: str):
        self.blocks.append(("image", Path(path), caption))

    def markdown(self, relative_to: Path) -> str:
        lines = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                lines += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                lines += [block[1], ""]
            elif kind == "table":
                header, rows = block[1], block[2]
                lines.append("| " + " | ".join(header) + " |")
                lines.append("|" + "|".join("---" for _ in header) + "|")
                lines += ["| " + " | ".join(row) + " |" for row in rows]
                lines.append("")
            elif kind == "image":
                lines += [f"![{block[2]}]({block[1].relative_to(relative_to).as_posix()})", f"*{block[2]}*", ""]
        return "\n".join(lines)

    def html(self) -> str:
        parts = [
            "<!DOCTYPE html>", "<html><head><meta charset='utf-8'>", f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
            "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}"
            "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
            "figcaption{font-style:italic;margin-bottom:1.5em}code{background:#f4f4f4}</style>",
            "</head><body>", f"<h1>{html.escape(self.title)}</h1>",
        ]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                parts.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
            elif kind == "paragraph":
                parts.append(f"<p>{_inline_html(block[1])}</p>")
            elif kind == "table":
                header, rows = block[1], block[2]
                parts.append("<table><tr>" + "".join(f"<th>{_inline_html(h)}</th>" for h in header) + "</tr>")
                parts += ["<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>" for row in rows]
                parts.append("</table>")
            elif kind == "image":
                data = base64.b64encode(block[1].read_bytes()).decode("ascii")
                parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(block[2])}'>"
                             f"<figcaption>{html.escape(block[2])}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)


def _inline_html(text: str) -> str:
    """Escape, then render the two Markdown inlines the report uses: **bold** and `code`."""
    text = html.escape(str(text))
    for marker, tag in (("**", "b"), ("`", "code")):
        pieces = text.split(marker)
        if len(pieces) % 2 == 1 and len(pieces) > 1:
            text = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(pieces))
    return text


# ----------------------------------------------------------------------------- numbers


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def fmt_p(value) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}" + (" *" if value < 0.05 else "")


@dataclass
class ActivationResult:
    """One activation in one setting: metric values by seed and its paired comparison."""

    label: str
    values: dict  # seed -> value (finished runs only)
    diverged: int
    failed: int
    summary: stats.Summary
    comparison: stats.PairedComparison | None = None
    t_holm: float = math.nan
    wilcoxon_holm: float = math.nan
    costs: dict = field(default_factory=dict)


def setting_of(factors: dict) -> str:
    """The grid cell without the activation: how runs are grouped into one comparison."""
    parts = [f"{axis}={label}" for axis, label in factors.items() if axis != "activation"]
    return ", ".join(parts) or "all runs"


def group_records(records: list[dict], order: list[str] | None = None) -> dict[str, dict[str, list[dict]]]:
    """setting -> activation label -> main-phase records; activations in ``order`` (the sweep's), then first seen."""
    rank = {label: i for i, label in enumerate(order or [])}
    records = sorted(records, key=lambda r: rank.get((r.get("factors") or {}).get("activation"), len(rank)))
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record.get("phase", "main") != "main":
            continue
        factors = record.get("factors") or {}
        groups[setting_of(factors)][factors.get("activation", "default")].append(record)
    return groups


def analyse_setting(by_activation: dict[str, list[dict]], metric: str, baseline: str | None,
                    seeds: list[int]) -> list[ActivationResult]:
    """Summaries and baseline comparisons (Holm across activations) for one setting."""
    results = []
    for label, records in by_activation.items():
        values = {r["seed"]: metric_value(r, metric) for r in records if r["status"] == FINISHED}
        values = {seed: v for seed, v in values.items() if math.isfinite(v)}
        costs = {}
        for key in COST_KEYS:
            cost = [metric_value(r, key) for r in records if r["status"] == FINISHED]
            cost = [c for c in cost if math.isfinite(c)]
            costs[key] = float(np.mean(cost)) if cost else math.nan
        results.append(ActivationResult(
            label, values,
            diverged=sum(r["status"] == DIVERGED for r in records),
            failed=sum(r["status"] == FAILED for r in records),
            summary=stats.summarize(list(values.values())), costs=costs,
        ))
    base = next((r for r in results if r.label == baseline), None)
    if base is None:
        return results
    compared = [r for r in results if r is not base]
    for result in compared:
        shared = [s for s in seeds if s in result.values and s in base.values]
        if shared:
            result.comparison = stats.paired_log_ratio([result.values[s] for s in shared],
                                                       [base.values[s] for s in shared])
    t_adjusted = stats.holm([r.comparison.t_p_value if r.comparison else math.nan for r in compared])
    w_adjusted = stats.holm([r.comparison.wilcoxon_p_value if r.comparison else math.nan for r in compared])
    for result, t_p, w_p in zip(compared, t_adjusted, w_adjusted):
        result.t_holm, result.wilcoxon_holm = float(t_p), float(w_p)
    return results


def secondary_metrics(records: list[dict], primary: str) -> list[str]:
    """Scalar metric keys (dotted) present in finished records that match SECONDARY_PATTERNS."""
    keys = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in ("nan", "inf"):
            if prefix != primary and prefix not in keys and any(p in prefix for p in SECONDARY_PATTERNS):
                keys.append(prefix)

    for record in records:
        if record.get("status") == FINISHED:
            walk("", record.get("metrics") or {})
    return keys


@dataclass
class RankTest:
    metric: str
    blocks: str  # "settings" or "seeds"
    labels: list[str]
    result: stats.FriedmanResult
    critical_difference: float


def rank_test(groups, metric: str, seeds: list[int]) -> RankTest | None:
    """Friedman + Nemenyi CD over settings (mean over seeds), or over seeds if there is one setting.

    Only activations present with a finite value in every block take part.
    """
    settings = list(groups)
    labels = [label for label in next(iter(groups.values()))] if groups else []
    labels = [l for l in labels if all(l in groups[s] for s in settings)]
    sign = -1.0 if any(p in metric for p in HIGHER_IS_BETTER_PATTERNS) else 1.0
    rows = []
    if len(settings) >= 2:
        blocks = "settings"
        for setting in settings:
            row = []
            for label in labels:
                values = [metric_value(r, metric) for r in groups[setting][label] if r["status"] == FINISHED]
                values = [v for v in values if math.isfinite(v)]
                row.append(np.mean(values) if values else math.nan)
            rows.append(row)
    else:
        blocks = "seeds"
        by_label = groups[settings[0]] if settings else {}
        for seed in seeds:
            row = []
            for label in labels:
                match = [metric_value(r, metric) for r in by_label[label] if r["seed"] == seed and r["status"] == FINISHED]
                row.append(match[0] if match else math.nan)
            rows.append(row)
    table = np.array(rows, dtype=float)
    if table.size == 0:
        return None
    keep = np.all(np.isfinite(table), axis=0)
    labels = [l for l, k in zip(labels, keep) if k]
    table = table[:, keep]
    if len(labels) < 2 or table.shape[0] < 2:
        return None
    result = stats.friedman(sign * table)
    if not math.isfinite(result.statistic):
        return None
    return RankTest(metric, blocks, labels, result, stats.nemenyi_critical_difference(len(labels), table.shape[0]))


# ----------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain_log_ticks(axis) -> None:
    """Tick labels like 0.1, 0.2 instead of 10^-1, 2x10^-1 on a log axis."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    axis.set_major_formatter(FormatStrFormatter("%.3g"))
    axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    axis.set_minor_formatter(FormatStrFormatter("%.3g"))


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _pyplot().close(fig)
    return path


def plot_error_bars(analysis: dict[str, list[ActivationResult]], metric: str, path: Path) -> Path:
    """Per setting: each seed as a dot, mean and 95% CI as an error bar, per activation."""
    plt = _pyplot()
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
        _plain_log_ticks(axis.yaxis)
        axis.set_ylabel(metric)
        axis.set_title(setting, fontsize=10)
        axis.grid(alpha=0.3, which="both", axis="y")
    fig.tight_layout()
    return _save(fig, path)


def plot_forest(analysis: dict[str, list[ActivationResult]], baseline: str, path: Path) -> Path | None:
    """Error ratio to the baseline with its 95% CI per activation (log axis, 1 = same as baseline)."""
    plt = _pyplot()
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
        _plain_log_ticks(axis.xaxis)
        axis.set_yticks(range(len(results)), [r.label for r in results])
        axis.invert_yaxis()
        axis.set_xlabel(f"error ratio to {baseline} (95% CI)")
        axis.set_title(setting, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_critical_difference(test: RankTest, path: Path) -> Path:
    """Demšar's diagram: average ranks on an axis, the CD as a bar, cliques joined by lines."""
    plt = _pyplot()
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
    return _save(fig, path)


def plot_curves(records_by_label: dict[str, list[dict]], key: str, path: Path, title: str,
                ylabel: str, reference_key: str | None = None) -> Path | None:
    """A list-valued metric (a spectrum per run) as the seed mean with a min-max band, per activation;
    ``reference_key`` (e.g. the true energy spectrum) is drawn once as a dashed black line."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    drawn = False
    if reference_key:
        reference = next((_list_metric(r, reference_key) for records in records_by_label.values() for r in records
                          if r["status"] == FINISHED and _list_metric(r, reference_key)), None)
        if reference:
            axis.plot(np.arange(len(reference)), reference, "k--", lw=1.5, label="true")
    for i, (label, records) in enumerate(records_by_label.items()):
        curves = [np.asarray(_list_metric(r, key), dtype=float) for r in records if r["status"] == FINISHED]
        curves = [c for c in curves if c.ndim == 1 and c.size > 1]
        if not curves:
            continue
        length = min(c.size for c in curves)
        curves = np.stack([c[:length] for c in curves])
        k = np.arange(length)
        color = _color(i, len(records_by_label))
        axis.plot(k, curves.mean(axis=0), color=color, label=label, lw=1.2, ls="-" if i < 10 else "--")
        axis.fill_between(k, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)
        drawn = True
    if not drawn:
        _pyplot().close(fig)
        return None
    axis.set_yscale("log")
    axis.set_xlabel("wavenumber")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, path)


def plot_dynamics(records_by_label: dict[str, list[dict]], root: Path, path: Path, title: str) -> Path | None:
    """Epoch x wavenumber relative error, seed mean per activation, side by side on one colour scale."""
    from opkit.spectral.dynamics import read_dynamics
    from opkit.spectral.plots import plot_dynamics_heatmap

    panels = {}
    for label, records in records_by_label.items():
        tables = []
        for record in records:
            csv_path = (record.get("metrics") or {}).get("dynamics_csv")
            if record["status"] == FINISHED and csv_path and (root / csv_path).exists():
                tables.append(read_dynamics(root / csv_path))
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
    import torch

    from opkit.activations import PartialActivation, get_activation
    from opkit.activations.registry import activation_info
    from opkit.training.inference import load_operator

    plt = _pyplot()
    x = torch.linspace(-3, 3, 301)
    shapes = {}
    for label, records in records_by_label.items():
        record = next((r for r in records if r["status"] == FINISHED and (r.get("metrics") or {}).get("checkpoint")), None)
        if record is None:
            continue
        values = (record.get("spec") or {}).get("values") or {}
        name = values.get("activation")
        try:
            if not isinstance(name, str) or not activation_info(name).learnable:
                continue
            checkpoint = Path(record["metrics"]["checkpoint"])
            checkpoint = checkpoint if checkpoint.is_absolute() else root / checkpoint
            module = load_operator(checkpoint)
        except Exception:  # a missing or unreadable checkpoint leaves this panel out, not the report
            continue
        curves = []
        for layer in module.model.modules():
            if isinstance(layer, PartialActivation):
                layer = layer.activation
            is_activation = type(layer).__module__.startswith("opkit.activations")
            if is_activation and any(True for _ in layer.parameters()):
                first = next(layer.parameters())  # per-channel parameters are (..., C)
                channels = first.shape[-1] if first.dim() else 1
                with torch.no_grad():
                    y = layer(x.expand(channels, -1).unsqueeze(0).clone())[0]
                curves.append(y.numpy())
        if curves:
            with torch.no_grad():
                initial = get_activation(name, num_channels=1)(x.view(1, 1, -1))[0, 0].numpy()
            shapes[label] = (curves, initial)
    if not shapes:
        return None
    fig, axes = plt.subplots(1, len(shapes), figsize=(3.6 * len(shapes), 3.2), squeeze=False)
    for axis, (label, (curves, initial)) in zip(axes[0], shapes.items()):
        for i, curve in enumerate(curves):
            axis.plot(x, curve.mean(axis=0), color=f"C{i % 10}", lw=1.2, label=f"layer {i + 1}")
            axis.fill_between(x, curve.min(axis=0), curve.max(axis=0), color=f"C{i % 10}", alpha=0.15)
        axis.plot(x, initial, "k--", lw=1, label="initial")
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("x")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _color(index: int, count: int):
    """Distinct colours: the default cycle up to 10 lines, tab20 beyond."""
    if count <= 10:
        return f"C{index}"
    return _pyplot().get_cmap("tab20")(index % 20)


def _list_metric(record: dict, key: str):
    value = record.get("metrics") or {}
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if not isinstance(value, list):
        return None
    return [float(v) if isinstance(v, (int, float)) or v in ("nan", "inf", "-inf") else math.nan for v in value]


def list_metric_keys(records: list[dict]) -> list[str]:
    """Dotted keys of list-valued metrics of numbers (spectra) in finished records."""
    keys = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and len(value) > 1 and all(
                isinstance(v, (int, float)) or v in ("nan", "inf", "-inf") for v in value):
            if prefix not in keys:
                keys.append(prefix)

    for record in records:
        if record.get("status") == FINISHED:
            walk("", record.get("metrics") or {})
    return keys


# ----------------------------------------------------------------------------- report


def _nan_to_none(value):
    if isinstance(value, dict):
        return {str(k): _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:60]


def _comparison_table(results: list, baseline: str | None) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each activation's summary over seeds and its paired comparison to the baseline."""
    header = ["activation", "n", "diverged", "failed", "mean", "std", "95% CI", f"ratio to {baseline}",
              "ratio 95% CI", "p (t, log)", "p (t, Holm)", "p (Wilcoxon)", "p (Wilcoxon, Holm)",
              "params", "FLOPs/sample", "s/epoch"]
    rows = []
    for r in results:
        s, c = r.summary, r.comparison
        rows.append([
            r.label, str(s.n), str(r.diverged), str(r.failed), fmt(s.mean), fmt(s.std),
            f"[{fmt(s.ci_low)}, {fmt(s.ci_high)}]",
            "1 (baseline)" if r.label == baseline else fmt(c.ratio if c else None, 3),
            f"[{fmt(c.ratio_ci_low, 3)}, {fmt(c.ratio_ci_high, 3)}]" if c else "–",
            fmt_p(c.t_p_value) if c else "–", fmt_p(r.t_holm), fmt_p(c.wilcoxon_p_value) if c else "–",
            fmt_p(r.wilcoxon_holm), fmt(r.costs.get("parameters")), fmt(r.costs.get("flops_per_sample"), 3),
            fmt(r.costs.get("seconds_per_epoch"), 3),
        ])
    return header, rows


def write_report(results_dir, baseline: str | None = None, out_dir=None) -> Path:
    """Write ``report.md``, figures and ``report.html`` for a results directory; returns report.md's path."""
    store = ResultStore(results_dir)
    records = store.records()
    if not records:
        raise DataError(store.root, "no run records yet (run `opkit ablate` first)")
    sweep = store.read_json("sweep.json", default={}) or {}
    metric = sweep.get("metric", "test/relative_l2")
    baseline = baseline or sweep.get("baseline", "gelu")
    seeds = sweep.get("seeds") or sorted({r["seed"] for r in records})
    out = Path(out_dir) if out_dir else store.root / "report"
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)

    groups = group_records(records, (sweep.get("axes") or {}).get("activation"))
    labels = {label for by in groups.values() for label in by}
    if baseline not in labels:
        baseline = None
    analysis = {setting: analyse_setting(by, metric, baseline, seeds) for setting, by in groups.items()}
    main_records = [r for r in records if r.get("phase", "main") == "main"]
    secondary = secondary_metrics(main_records, metric)

    doc = Document(f"Ablation report: {sweep.get('name', store.root.name)}")
    counts = {s: sum(r["status"] == s for r in main_records) for s in (FINISHED, DIVERGED, FAILED)}
    doc.paragraph(
        f"{len(main_records)} runs ({counts[FINISHED]} finished, {counts[DIVERGED]} diverged, {counts[FAILED]} failed), "
        f"seeds {list(seeds)}, primary metric `{metric}`, baseline **{baseline or 'none'}**. "
        "Confidence intervals are 95% t intervals over seeds; the error ratio is "
        "exp(mean(log e − log e_baseline)) over the seeds both runs finished; p-values are two-sided, "
        "Holm-corrected across the activations of a setting, * marks p < 0.05. "
        f"With {len(seeds)} seeds the smallest two-sided Wilcoxon p-value is 2/2^{len(seeds)} = "
        f"{2 / 2 ** len(seeds):.3g}, so after Holm over m comparisons it cannot fall below "
        f"m · {2 / 2 ** len(seeds):.3g}; the t test on log error is the more sensitive of the two."
    )
    if sweep.get("description"):
        doc.paragraph(sweep["description"])

    headline = [metric] + [key for key in HEADLINE_METRICS if key != metric and key in secondary]
    secondary = [key for key in secondary if key not in headline]
    analyses = {key: analysis if key == metric else
                {setting: analyse_setting(by, key, baseline, seeds) for setting, by in groups.items()}
                for key in headline}
    for key in headline:
        doc.heading("Primary metric per setting" if key == metric else f"`{key}` per setting")
        for setting, results in analyses[key].items():
            doc.heading(setting, 3)
            doc.table(*_comparison_table(results, baseline))
            if key == metric and secondary:
                rows = []
                for label, recs in groups[setting].items():
                    row = [label]
                    for name in secondary:
                        summary = stats.summarize([metric_value(x, name) for x in recs if x["status"] == FINISHED])
                        row.append(f"{fmt(summary.mean)} ± {fmt(summary.std, 2)}" if summary.n else "–")
                    rows.append(row)
                doc.paragraph("Secondary metrics (mean ± std over seeds):")
                doc.table(["activation"] + [f"`{name}`" for name in secondary], rows)

    doc.heading("Figures")
    doc.image(plot_error_bars(analysis, metric, figures / "error_bars.png"),
              f"{metric} per activation: seeds (grey), mean and 95% CI (blue)")
    forest = plot_forest(analysis, baseline, figures / "forest.png") if baseline else None
    if forest:
        doc.image(forest, f"Paired error ratio to {baseline} with 95% CI (green: better, red: worse)")

    doc.heading("Ranks across settings")
    rank_rows = []
    for key in headline + secondary:
        test = rank_test(groups, key, seeds)
        if test is None:
            continue
        best = test.labels[int(np.argmin(test.result.average_ranks))]
        rank_rows.append([f"`{key}`", test.blocks, str(test.result.n_blocks), str(len(test.labels)),
                          fmt(test.result.statistic), fmt_p(test.result.p_value), fmt(test.critical_difference, 3), best])
        if key == metric:
            doc.paragraph("Average ranks (1 = best) for the primary metric: " + ", ".join(
                f"{l} {fmt(r, 3)}" for l, r in sorted(zip(test.labels, test.result.average_ranks), key=lambda x: x[1])) + ".")
            doc.image(plot_critical_difference(test, figures / "critical_difference.png"),
                      "Critical-difference diagram (Nemenyi, α = 0.05): activations joined by a red bar "
                      "are not significantly different")
    if rank_rows:
        doc.paragraph("Friedman test per metric (blocks are settings, or seeds when the sweep has one setting; "
                      "bandwidth ranks higher = better, errors lower = better):")
        doc.table(["metric", "blocks", "N", "k", "χ²", "p", "CD", "best rank"], rank_rows)
    else:
        doc.paragraph("Not enough complete blocks for a Friedman test.")

    curve_keys = [k for k in list_metric_keys(main_records) if k != "energy_spectrum_true"]
    captions = {
        "error_spectrum": "relative error spectrum e(k) = E_err(k) / E_true(k) on the test set",
        "energy_spectrum_pred": "predicted energy spectrum, true spectrum dashed",
    }
    if curve_keys:
        doc.heading("Spectra")
        for setting, by in groups.items():
            for key in curve_keys:
                figure = plot_curves(by, key, figures / f"curve_{_slug(setting)}_{_slug(key)}.png",
                                     f"{key} — {setting}", key,
                                     "energy_spectrum_true" if key == "energy_spectrum_pred" else None)
                if figure:
                    doc.image(figure, f"{setting}: {captions.get(key, key)}; seed mean with min–max band "
                                      "per activation")
    dynamics_figures = [(setting, plot_dynamics(by, store.root, figures / f"dynamics_{_slug(setting)}.png",
                                                f"relative error by epoch and wavenumber — {setting}"))
                        for setting, by in groups.items()]
    if any(figure for _, figure in dynamics_figures):
        doc.heading("Learning dynamics")
        for setting, figure in dynamics_figures:
            if figure:
                doc.image(figure, f"{setting}: epoch × wavenumber relative error (seed mean), one colour scale")
    shape_figures = [(setting, plot_learned_activations(by, store.root, figures / f"shapes_{_slug(setting)}.png",
                                                        f"learned activations — {setting}"))
                     for setting, by in groups.items()]
    if any(figure for _, figure in shape_figures):
        doc.heading("Learned activations")
        for setting, figure in shape_figures:
            if figure:
                doc.image(figure, f"{setting}: learnable activations after training (first seed), per layer "
                                  "mean over channels with min–max band; dashed: at initialisation")

    questions = add_question_sections(doc, groups, baseline, metric, figures)

    failed = [r for r in main_records if r["status"] == FAILED]
    if failed:
        doc.heading("Failed runs")
        doc.table(["run", "error"], [[r["run_id"], str(r.get("error", "")).splitlines()[0][:160]] for r in failed])
    diverged = [r for r in main_records if r["status"] == DIVERGED]
    if diverged:
        doc.heading("Diverged runs")
        doc.table(["run", "epoch"], [[r["run_id"], str(r.get("diverged_epoch"))] for r in diverged])

    def summarise(results_by_setting):
        return {
            setting: {r.label: {
                "n": r.summary.n, "mean": r.summary.mean, "std": r.summary.std,
                "ci": [r.summary.ci_low, r.summary.ci_high], "diverged": r.diverged, "failed": r.failed,
                "ratio": r.comparison.ratio if r.comparison else None,
                "ratio_ci": [r.comparison.ratio_ci_low, r.comparison.ratio_ci_high] if r.comparison else None,
                "t_p": r.comparison.t_p_value if r.comparison else None, "t_p_holm": r.t_holm,
                "wilcoxon_p": r.comparison.wilcoxon_p_value if r.comparison else None,
                "wilcoxon_p_holm": r.wilcoxon_holm,
            } for r in results} for setting, results in results_by_setting.items()
        }

    summary = {"metric": metric, "baseline": baseline, "settings": summarise(analysis),
               "metrics": {key: summarise(analyses[key]) for key in headline}, "questions": questions}
    write_text_atomic(out / "summary.json", json.dumps(_nan_to_none(summary), indent=2) + "\n")
    report_path = out / "report.md"
    write_text_atomic(report_path, doc.markdown(out))
    write_text_atomic(out / "report.html", doc.html())
    return report_path
