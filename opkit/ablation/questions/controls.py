"""d. Seed predictions: ``relu_nobias`` against ``linear``, ``linear`` against ``lstsq``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from opkit.ablation import stats
from opkit.ablation.questions.bands import band_names
from opkit.ablation.questions.common import (
    _comparison_json,
    _finished,
    _fmt,
    _mean_ci,
    _ratio_ci,
    _slug,
    _verdict,
    paired_ratio,
    values_by_seed,
)
from opkit.ablation.report.spectra import shell_axis
from opkit.ablation.report.figures import plain_log_ticks, pyplot as _pyplot, save_figure
from opkit.ablation.store import metric_value


# ----------------------------------------------------------------------------- d. seed predictions


def spectrum_by_seed(records: list[dict], key: str = "error_spectrum") -> dict[int, np.ndarray]:
    result = {}
    for record in _finished(records):
        value = (record.get("metrics") or {}).get(key)
        if isinstance(value, list) and value:
            result[record["seed"]] = np.array([math.nan if v is None else float(v) for v in value], dtype=float)
    return result


def compare_pair(first: list[dict], second: list[dict], keys: list[str]) -> dict:
    """metric -> (Summary of first, Summary of second, paired ratio first/second) over shared seeds."""
    result = {}
    for key in keys:
        a, b = values_by_seed(first, key), values_by_seed(second, key)
        if a or b:
            result[key] = (stats.summarize(list(a.values())), stats.summarize(list(b.values())), paired_ratio(a, b))
    return result


def ratio_to_reference(values: dict, reference: dict) -> tuple[stats.PairedComparison | None, str]:
    """Ratio of ``values`` to ``reference``: paired when the reference has every seed, else to its mean.

    The unpaired form is ``exp(mean_s log(v_s / mean(reference)))`` with a t interval over
    the seeds of ``values`` (the reference's own spread is then not part of the CI).
    """
    if not values or not reference:
        return None, "none"
    if set(values) <= set(reference):
        return paired_ratio(values, reference), "paired by seed"
    mean = float(np.mean(list(reference.values())))
    seeds = sorted(values)
    return stats.paired_log_ratio([values[s] for s in seeds], [mean] * len(seeds)), \
        f"to the mean of its {len(reference)} run(s)"


def plot_spectra_pair(first: dict, second: dict, names: tuple[str, str], cutoff, path: Path, title: str) -> Path | None:
    """Two activations' error spectra: seed mean with a 95% t band per shell."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    drawn = False
    for i, (name, spectra) in enumerate(zip(names, (first, second))):
        if not spectra:
            continue
        length = min(s.size for s in spectra.values())
        stacked = np.stack([s[:length] for s in spectra.values()])
        summaries = [stats.summarize(stacked[:, k]) for k in range(length)]
        mean = np.array([s.mean for s in summaries])
        k = np.arange(length)
        axis.plot(k, mean, color=f"C{i}", ls="-" if i == 0 else "--", label=f"{name} ({len(spectra)} seeds)")
        axis.fill_between(k, [s.ci_low for s in summaries], [s.ci_high for s in summaries], color=f"C{i}", alpha=0.2)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    shell_axis(axis, cutoff)
    axis.set_yscale("log")
    plain_log_ticks(axis.yaxis)
    axis.set_xlabel("wavenumber shell |k|")
    axis.set_ylabel("relative error E_err(k) / E_true(k)")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_figure(fig, path)


def section_seed_predictions(doc, groups, figures: Path) -> dict:
    doc.heading("Seed predictions: controls", 3)
    answers = {}
    for setting, by_activation in groups.items():
        answer = {}
        records = [r for rs in by_activation.values() for r in rs]
        keys = ["test/relative_l2", "test/relative_h1"] + [f"band_errors.{b}" for b in band_names(records)]
        cutoff = next((metric_value(r, "mode_cutoff") for r in _finished(records)
                       if math.isfinite(metric_value(r, "mode_cutoff"))), None)
        if "relu_nobias" in by_activation and "linear" in by_activation:
            pair = compare_pair(by_activation["relu_nobias"], by_activation["linear"], keys)
            rows = [[f"`{key}`", _mean_ci(a), _mean_ci(b), _ratio_ci(c)] for key, (a, b, c) in pair.items()]
            first, second = spectrum_by_seed(by_activation["relu_nobias"]), spectrum_by_seed(by_activation["linear"])
            shared = sorted(set(first) & set(second))
            shell_ratios = []
            if shared:
                length = min(min(first[s].size, second[s].size) for s in shared)
                for k in range(length):
                    c = stats.paired_log_ratio([first[s][k] for s in shared], [second[s][k] for s in shared])
                    shell_ratios.append(c)
                    # the table shows shells 1, 2, 4, 8, ... and the cutoff; the figure shows them all
                    if c.n and k > 0 and (k & (k - 1) == 0 or k == cutoff):
                        rows.append([f"error spectrum, shell {k}",
                                     _mean_ci(stats.summarize([first[s][k] for s in shared])),
                                     _mean_ci(stats.summarize([second[s][k] for s in shared])), _ratio_ci(c)])
            doc.paragraph(f"**{setting}**: does the bias-free ReLU network behave like the linear network? "
                          "Mean [95% CI] over seeds, and the paired ratio relu_nobias / linear [95% CI].")
            doc.table(["metric", "relu_nobias", "linear", "ratio relu_nobias/linear"], rows)
            head = pair.get("test/relative_l2")
            if head and head[2] and head[2].n:
                c = head[2]
                verdict = _verdict(c.ratio_ci_low, c.ratio_ci_high, 1.0, "lower than", "higher than",
                                   "not distinguishable from")
                doc.paragraph(f"relu_nobias's test error is {verdict} linear's: ratio {_ratio_ci(c)} over {c.n} "
                              "paired seeds.")
            figure = plot_spectra_pair(first, second, ("relu_nobias", "linear"), cutoff,
                                       figures / f"controls_spectra_{_slug(setting)}.png",
                                       f"relu_nobias vs linear — {setting}")
            if figure:
                doc.image(figure, f"{setting}: error spectra of relu_nobias and linear, seed mean with 95% CI band")
            answer["relu_nobias_vs_linear"] = {key: _comparison_json(c) for key, (_, _, c) in pair.items()}
            answer["relu_nobias_vs_linear_spectrum"] = [_comparison_json(c) for c in shell_ratios]
        else:
            doc.paragraph(f"{setting}: relu_nobias and linear are not both in the sweep: bias-free ReLU vs linear "
                          "skipped.")
        if "linear" in by_activation and "lstsq" in by_activation:
            rows, ratios = [], {}
            for key in ("test/relative_l2", "test/relative_h1"):
                linear, lstsq = values_by_seed(by_activation["linear"], key), values_by_seed(by_activation["lstsq"], key)
                c, how = ratio_to_reference(linear, lstsq)
                if c is None:
                    continue
                ratios[key] = c
                rows.append([f"`{key}`", _mean_ci(stats.summarize(list(linear.values()))),
                             _mean_ci(stats.summarize(list(lstsq.values()))), _ratio_ci(c), how])
            doc.paragraph(f"**{setting}**: does linear (Adam) reach the closed-form least-squares baseline lstsq?")
            doc.table(["metric", "linear (Adam)", "lstsq (closed form)", "ratio linear/lstsq [95% CI]", "pairing"],
                      rows)
            c = ratios.get("test/relative_l2")
            if c is not None and c.n:
                verdict = _verdict(c.ratio_ci_low, c.ratio_ci_high, 1.0,
                                   "beats lstsq (CI below 1)", f"falls short of lstsq by a factor {_fmt(c.ratio)}",
                                   "is not distinguishable from lstsq")
                doc.paragraph(f"linear (Adam) {verdict}: test error ratio {_ratio_ci(c)}.")
            answer["linear_vs_lstsq"] = {key: _comparison_json(c) for key, c in ratios.items()}
        else:
            doc.paragraph(f"{setting}: linear and lstsq are not both in the sweep: linear vs closed form skipped.")
        if answer:
            answers[setting] = answer
    return answers
