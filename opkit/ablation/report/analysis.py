"""The report's statistics: runs grouped by setting, each activation's summary and paired
comparison to the baseline, Friedman rank tests, and which metrics the records hold."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from opkit.ablation import stats
from opkit.ablation.store import DIVERGED, FAILED, FINISHED, metric_value

# Metrics that get the primary metric's full table (summary, paired ratio, tests) when records have them.
HEADLINE_METRICS = ("test/relative_l2", "test/relative_h1")
# Secondary metrics shown when the records have them; substrings of dotted metric keys.
SECONDARY_PATTERNS = ("test/", "band_errors", "spectral_bias", "bandwidth", "aliasing_mean")
# Metrics with structure of their own, drawn by their own figures, not as spectra or table columns.
STRUCTURED_METRICS = ("dynamics", "learned_activation", "aliasing",
                      # per rollout step, not per wavenumber: the rollout section draws them
                      "rollout.steps", "rollout.frames", "rollout.relative_l2")
HIGHER_IS_BETTER_PATTERNS = ("bandwidth",)
COST_KEYS = ("parameters", "flops_per_sample", "seconds_per_epoch")


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


def list_metric(record: dict, key: str):
    """A list-valued metric of a record by dotted key, as floats (NaN for non-numbers); None when absent."""
    value = record.get("metrics") or {}
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if not isinstance(value, list):
        return None
    return [float(v) if isinstance(v, (int, float)) or v in ("nan", "inf", "-inf") else math.nan for v in value]


def list_metric_keys(records: list[dict]) -> list[str]:
    """Dotted keys of list-valued metrics of numbers (spectra) in finished records, outside STRUCTURED_METRICS."""
    keys = []

    def walk(prefix, value):
        if prefix in STRUCTURED_METRICS:
            return
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
