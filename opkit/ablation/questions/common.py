"""Shared by the question sections: seed-paired values, CI formatting, verdicts, line styles, JSON."""

from __future__ import annotations

import math

from opkit.ablation import stats
from opkit.ablation.report.figures import pyplot as _pyplot
from opkit.ablation.store import FINISHED, metric_value

BANDS = ("low", "mid", "high")
CONTROL_LABELS = ("linear", "lstsq", "lstsq_full", "relu_nobias", "affine")
TIME_TO_LEARN_FACTOR = 2.0


# ----------------------------------------------------------------------------- helpers


def _finished(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("status") == FINISHED]


def values_by_seed(records: list[dict], key: str) -> dict[int, float]:
    """seed -> finite scalar metric ``key`` (dotted) of the finished records."""
    values = {r["seed"]: metric_value(r, key) for r in _finished(records)}
    return {seed: value for seed, value in values.items() if math.isfinite(value)}


def paired_ratio(values: dict, base: dict) -> stats.PairedComparison | None:
    """Paired log ratio over the seeds both dicts have; None without a shared seed."""
    shared = sorted(set(values) & set(base))
    if not shared:
        return None
    return stats.paired_log_ratio([values[s] for s in shared], [base[s] for s in shared])


def _fmt(value, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def _mean_ci(summary: stats.Summary) -> str:
    if not summary.n:
        return "–"
    return f"{_fmt(summary.mean)} [{_fmt(summary.ci_low)}, {_fmt(summary.ci_high)}]"


def _ratio_ci(comparison: stats.PairedComparison | None) -> str:
    if comparison is None or not comparison.n:
        return "–"
    return f"{_fmt(comparison.ratio)} [{_fmt(comparison.ratio_ci_low)}, {_fmt(comparison.ratio_ci_high)}]"


def _verdict(low: float, high: float, reference: float, below: str, above: str, neither: str) -> str:
    """Which side of ``reference`` a CI lies on; ``neither`` when it straddles it or is undefined."""
    if math.isfinite(low) and math.isfinite(high):
        if high < reference:
            return below
        if low > reference:
            return above
    return neither


def activation_family(label: str) -> str:
    """'control', 'periodic', 'learnable' or 'fixed', from the activation registry's metadata."""
    if label in CONTROL_LABELS:
        return "control"
    if label.startswith("kan"):
        return "learnable"
    from opkit.activations.registry import activation_info

    try:
        info = activation_info(label)
    except Exception:  # a label that is not a registry name (e.g. a renamed axis entry)
        return "fixed"
    return "periodic" if info.periodic else "learnable" if info.learnable else "fixed"


def line_style(index: int, count: int, label: str) -> dict:
    """Colour and dash per activation: up to 10 colours, tab20 beyond; controls dashed."""
    color = f"C{index % 10}" if count <= 10 else _pyplot().get_cmap("tab20")(index % 20)
    return {"color": color, "ls": "--" if label in CONTROL_LABELS else "-"}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:60]


def _comparison_json(c: stats.PairedComparison | None):
    if c is None:
        return None
    return {"n": c.n, "ratio": c.ratio, "ci": [c.ratio_ci_low, c.ratio_ci_high], "t_p": c.t_p_value}


def _summary_json(s: stats.Summary | None):
    if s is None:
        return None
    return {"n": s.n, "mean": s.mean, "ci": [s.ci_low, s.ci_high]}
