"""The study's questions, answered per setting of one sweep: a table and a figure each.

* **Spectral bias by band**: each activation's paired error ratio to the baseline in
  each band of ``band_errors`` (low ``|k| <= m/2``, mid ``m/2 < |k| <= m``, high
  ``|k| > m`` for the mode cutoff m), with a 95% CI over paired seeds.
* **Time-to-learn**: from the epoch x wavenumber table ``metrics["dynamics"]``, the first
  epoch at which each shell comes within a factor 2 of its final error
  (:func:`opkit.spectral.dynamics.time_to_learn`), per band, and the paired difference
  to the baseline in the band above the cutoff: do periodic or learnable activations
  learn high shells earlier?
* **Aliasing**: ``aliasing_mean``, the post-activation energy share above the cutoff.
* **Seed predictions**: does the bias-free ReLU network (``relu_nobias``) behave like the
  linear network (``linear``), and does ``linear`` (trained by Adam) reach the closed-form
  least-squares baseline ``lstsq``?
* **Operators**: the activation ranking per operator side by side, Kendall's tau between
  each pair of operators.

Every answer is stated in a sentence with its 95% CI whatever it shows; a question whose
records lack the fields says so in one line. The paired ratio is
``exp(mean_s(log a_s - log b_s))`` (:func:`opkit.ablation.stats.paired_log_ratio`).
"""

from __future__ import annotations

import math
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import stats as distributions

from opkit.ablation import stats
from opkit.ablation.report.figures import plain_log_ticks, pyplot as _pyplot, save_figure
from opkit.ablation.store import FINISHED, metric_value
from opkit.errors import ConfigError, DataError

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


# ----------------------------------------------------------------------------- a. bands


def band_names(records: list[dict], key: str = "band_errors") -> list[str]:
    """Bands of ``key`` (``band_errors``, ``sine_band_errors``) in the finished records: low, mid, high
    first, then any other."""
    names = []
    for record in _finished(records):
        for name in (record.get("metrics") or {}).get(key) or {}:
            if name not in names:
                names.append(name)
    return sorted(names, key=lambda n: (BANDS.index(n) if n in BANDS else len(BANDS), names.index(n)))


def band_ratios(by_activation: dict[str, list[dict]], baseline: str,
                key: str = "band_errors") -> dict[str, dict[str, stats.PairedComparison | None]]:
    """activation -> band -> paired error ratio to ``baseline`` in that band (None: no shared seed)."""
    all_records = [r for records in by_activation.values() for r in records]
    bands = band_names(all_records, key)
    base = {band: values_by_seed(by_activation[baseline], f"{key}.{band}") for band in bands}
    return {label: {band: paired_ratio(values_by_seed(records, f"{key}.{band}"), base[band]) for band in bands}
            for label, records in by_activation.items() if label != baseline}


def plot_band_ratios(ratios: dict, baseline: str, path: Path, title: str) -> Path | None:
    """Per band, each activation's ratio to the baseline with its 95% CI, on a log axis around 1."""
    bands = list(next(iter(ratios.values()), {}))
    if not bands:
        return None
    plt = _pyplot()
    labels = list(ratios)
    fig, axis = plt.subplots(figsize=(max(6.0, 1.6 * len(bands) + 0.25 * len(labels)), 4))
    width = 0.8 / max(1, len(labels))
    drawn = False
    for i, label in enumerate(labels):
        style = line_style(i, len(labels), label)
        for j, band in enumerate(bands):
            c = ratios[label][band]
            if c is None or not math.isfinite(c.ratio):
                continue
            x = j - 0.4 + width * (i + 0.5)
            low = c.ratio - c.ratio_ci_low if math.isfinite(c.ratio_ci_low) else 0.0
            high = c.ratio_ci_high - c.ratio if math.isfinite(c.ratio_ci_high) else 0.0
            axis.errorbar(x, c.ratio, yerr=[[low], [high]], fmt="o", color=style["color"], capsize=3,
                          label=label if j == 0 or not drawn else None)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    axis.axhline(1.0, color="k", lw=1, ls=":")
    axis.set_yscale("log")
    plain_log_ticks(axis.yaxis)
    axis.set_xticks(range(len(bands)), [f"{b}" for b in bands])
    axis.set_xlabel("band (low: |k| ≤ m/2, mid: m/2 < |k| ≤ m, high: |k| > m)")
    axis.set_ylabel(f"band error ratio to {baseline} (95% CI)")
    handles, names = axis.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    axis.legend(unique.values(), unique.keys(), fontsize=7, ncol=2)
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, which="both", axis="y")
    fig.tight_layout()
    return save_figure(fig, path)


def section_bands(doc, groups, baseline, figures: Path) -> dict:
    doc.heading("Spectral bias by band", 3)
    if baseline is None:
        doc.paragraph("No baseline activation in these records: no band ratios.")
        return {}
    answers = {}
    for setting, by_activation in groups.items():
        records = [r for rs in by_activation.values() for r in rs]
        if baseline not in by_activation or not band_names(records):
            doc.paragraph(f"{setting}: no `band_errors` in the records (or no {baseline} runs): skipped.")
            continue
        # on non-periodic data the records also carry the bands of the sine basis (sine_band_errors)
        for key, basis in (("band_errors", ""), ("sine_band_errors", " (sine basis)")):
            if band_names(records, key):
                answers[setting + basis] = _band_table(doc, setting + basis, by_activation, baseline, key, figures)
    return answers


def _band_table(doc, setting: str, by_activation, baseline: str, key: str, figures: Path) -> dict:
    ratios = band_ratios(by_activation, baseline, key)
    bands = band_names([r for rs in by_activation.values() for r in rs], key)
    base_means = {b: stats.summarize(list(values_by_seed(by_activation[baseline], f"{key}.{b}").values()))
                  for b in bands}
    rows = [[f"{baseline} (baseline, error)"] + [_mean_ci(base_means[b]) for b in bands]]
    rows += [[label] + [_ratio_ci(by_band[b]) for b in bands] for label, by_band in ratios.items()]
    doc.paragraph(f"**{setting}**: paired `{key}` ratio to {baseline}, 95% CI over seeds "
                  f"(first row: {baseline}'s own relative band error, mean [95% CI]).")
    doc.table(["activation"] + bands, rows)
    sentences = []
    for band in bands:
        if not base_means[band].n:
            sentences.append(f"band {band}: {baseline} has no finite error there (the target has no energy "
                             "in this band, NaN), so no ratio")
            continue
        lower = [l for l, r in ratios.items() if r[band] and r[band].n and r[band].ratio_ci_high < 1]
        higher = [l for l, r in ratios.items() if r[band] and r[band].n and r[band].ratio_ci_low > 1]
        sentences.append(f"band {band}: CI below 1 (less error than {baseline}): {', '.join(lower) or 'none'}; "
                         f"above 1: {', '.join(higher) or 'none'}")
    doc.paragraph("; ".join(sentences) + ".")
    figure = plot_band_ratios(ratios, baseline, figures / f"band_ratios_{_slug(setting)}.png",
                              f"band error ratio to {baseline} — {setting}")
    if figure:
        doc.image(figure, f"{setting}: band error ratio to {baseline}, 95% CI over paired seeds; "
                          "dotted line: equal error")
    return {label: {b: _comparison_json(c) for b, c in by_band.items()} for label, by_band in ratios.items()}


def _comparison_json(c: stats.PairedComparison | None):
    if c is None:
        return None
    return {"n": c.n, "ratio": c.ratio, "ci": [c.ratio_ci_low, c.ratio_ci_high], "t_p": c.t_p_value}


# ----------------------------------------------------------------------------- b. time-to-learn


def dynamics_table(dynamics: dict, where: str):
    """``metrics["dynamics"]`` = {epoch: [E], wavenumber: [K], error: [[K] x E] (null = empty shell),
    target_energy: [K]} as a :class:`~opkit.spectral.dynamics.DynamicsTable`; DataError naming ``where``."""
    from opkit.spectral.dynamics import table_from_record

    try:
        table = table_from_record(dynamics)
    except ConfigError as error:
        raise DataError(where, f"metrics.dynamics: {error}") from None
    expected = (len(table.epochs), len(table.wavenumbers))
    if table.errors.shape != expected or table.target_energy.shape != table.wavenumbers.shape:
        raise DataError(where, f"metrics.dynamics: error has shape {table.errors.shape}, expected (epochs, "
                               f"wavenumbers) = {expected}; target_energy has {table.target_energy.shape[0]} entries")
    return table


def shell_bands(wavenumbers: np.ndarray, mode_cutoff) -> dict[str, np.ndarray]:
    """Boolean masks over shells for the cutoff bands of :func:`opkit.spectral.metrics.cutoff_bands`."""
    from opkit.spectral.metrics import cutoff_bands

    if not isinstance(mode_cutoff, (int, float)) or not math.isfinite(mode_cutoff) or mode_cutoff < 1:
        return {"all": np.ones(len(wavenumbers), dtype=bool)}
    bands = cutoff_bands(int(mode_cutoff), int(max(wavenumbers.max(), 0)))
    return {name: (wavenumbers >= start) & (wavenumbers < stop) for name, (start, stop) in bands.items()}


def learning_times(records: list[dict]) -> dict[int, dict]:
    """seed -> {"wavenumbers": (K,), "times": (K,) time-to-learn, "bands": {band: mean over its shells}}.

    Records without ``metrics["dynamics"]`` are left out. A band whose shells are all empty
    in the target (NaN time) is NaN.
    """
    from opkit.spectral.dynamics import time_to_learn

    result = {}
    for record in _finished(records):
        dynamics = (record.get("metrics") or {}).get("dynamics")
        if not isinstance(dynamics, dict):
            continue
        table = dynamics_table(dynamics, f"record {record.get('run_id', '?')}")
        times = time_to_learn(table, TIME_TO_LEARN_FACTOR)
        bands = {}
        for name, mask in shell_bands(table.wavenumbers, (record.get("metrics") or {}).get("mode_cutoff")).items():
            inside = times[mask]
            inside = inside[np.isfinite(inside)]
            bands[name] = float(inside.mean()) if inside.size else math.nan
        result[record["seed"]] = {"wavenumbers": table.wavenumbers, "times": times, "bands": bands}
    return result


def time_to_learn_analysis(by_activation: dict[str, list[dict]], baseline: str | None) -> dict:
    """activation -> {"seeds": learning_times, "bands": {band: Summary over seeds},
    "high_vs_baseline": Summary of the paired difference (epochs) in the band above the cutoff}."""
    times = {label: learning_times(records) for label, records in by_activation.items()}
    times = {label: t for label, t in times.items() if t}
    base = times.get(baseline, {})
    analysis = {}
    for label, by_seed in times.items():
        bands = list(next(iter(by_seed.values()))["bands"])
        summaries = {band: stats.summarize([t["bands"].get(band, math.nan) for t in by_seed.values()])
                     for band in bands}
        difference = None
        if label != baseline and base:
            shared = sorted(set(by_seed) & set(base))
            difference = stats.summarize([by_seed[s]["bands"].get("high", math.nan) - base[s]["bands"].get("high", math.nan)
                                          for s in shared])
        analysis[label] = {"seeds": by_seed, "bands": summaries, "high_vs_baseline": difference}
    return analysis


def plot_time_to_learn(analysis: dict, cutoff, path: Path, title: str) -> Path | None:
    """Shell vs time-to-learn (seed mean), one line per activation; the mode cutoff marked."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    drawn = False
    for i, (label, entry) in enumerate(analysis.items()):
        curves = [t["times"] for t in entry["seeds"].values()]
        length = min(c.size for c in curves)
        stacked = np.stack([c[:length] for c in curves])
        if not np.isfinite(stacked).any():
            continue
        with warnings.catch_warnings():  # shells empty in every seed stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(stacked, axis=0)
        k = next(iter(entry["seeds"].values()))["wavenumbers"][:length]
        axis.plot(k, mean, marker=".", label=f"{label} ({len(curves)} seeds)", lw=1.2,
                  **line_style(i, len(analysis), label))
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    if isinstance(cutoff, (int, float)) and math.isfinite(cutoff):
        axis.axvline(cutoff + 0.5, color="k", ls=":", lw=1, label=f"mode cutoff m = {int(cutoff)}")
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("wavenumber shell |k|")
    axis.set_ylabel(f"epoch learned (error within {TIME_TO_LEARN_FACTOR:g}x final)")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def section_time_to_learn(doc, groups, baseline, figures: Path) -> dict:
    doc.heading("Time-to-learn per shell", 3)
    answers = {}
    for setting, by_activation in groups.items():
        analysis = time_to_learn_analysis(by_activation, baseline)
        if not analysis:
            doc.paragraph(f"{setting}: no `dynamics` (epoch × wavenumber table) in the records: skipped.")
            continue
        bands = list(next(iter(analysis.values()))["bands"])
        header = ["activation", "family"] + [f"{b}: epoch [95% CI]" for b in bands]
        if baseline in analysis:
            header.append(f"high − {baseline}: epochs [95% CI]")
        rows = []
        for label, entry in analysis.items():
            row = [label, activation_family(label)] + [_mean_ci(entry["bands"][b]) for b in bands]
            if baseline in analysis:
                d = entry["high_vs_baseline"]
                row.append("0 (baseline)" if label == baseline else _mean_ci(d) if d else "–")
            rows.append(row)
        doc.paragraph(f"**{setting}**: the epoch at which each shell's error first comes within "
                      f"{TIME_TO_LEARN_FACTOR:g}× its final error, averaged over the shells of each band, then "
                      "mean and 95% CI over seeds; the last column is the paired difference to the baseline in "
                      "the band above the cutoff (negative: learned earlier).")
        doc.table(header, rows)
        sentences = []
        for label, entry in analysis.items():
            if activation_family(label) not in ("periodic", "learnable") or label == baseline:
                continue
            d = entry["high_vs_baseline"]
            if d is None or not d.n:
                sentences.append(f"{label} ({activation_family(label)}): no time-to-learn above the cutoff to "
                                 f"compare with {baseline} (no shell there has energy, or no shared seed)")
                continue
            verdict = _verdict(d.ci_low, d.ci_high, 0.0, "earlier than", "later than", "not distinguishable from")
            sentences.append(f"{label} ({activation_family(label)}) learns the shells above the cutoff "
                             f"{verdict} {baseline}: {_fmt(d.mean)} epochs [{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]")
        if baseline not in analysis:
            doc.paragraph(f"No `dynamics` for the baseline {baseline}: no paired comparison above the cutoff.")
        elif sentences:
            doc.paragraph("; ".join(sentences) + ".")
        else:
            doc.paragraph("No periodic or learnable activation in this setting.")
        cutoff = next((metric_value(r, "mode_cutoff") for rs in by_activation.values() for r in _finished(rs)
                       if math.isfinite(metric_value(r, "mode_cutoff"))), None)
        figure = plot_time_to_learn(analysis, cutoff, figures / f"time_to_learn_{_slug(setting)}.png",
                                    f"time-to-learn per shell — {setting}")
        if figure:
            doc.image(figure, f"{setting}: epoch at which each shell is learned (seed mean; shells empty in "
                              "the target are left out); dotted: the mode cutoff")
        answers[setting] = {label: {"bands": {b: _summary_json(s) for b, s in entry["bands"].items()},
                                    "high_vs_baseline": _summary_json(entry["high_vs_baseline"])}
                            for label, entry in analysis.items()}
    return answers


def _summary_json(s: stats.Summary | None):
    if s is None:
        return None
    return {"n": s.n, "mean": s.mean, "ci": [s.ci_low, s.ci_high]}


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
    if isinstance(cutoff, (int, float)) and math.isfinite(cutoff):
        axis.axvline(cutoff + 0.5, color="k", ls=":", lw=1, label=f"mode cutoff m = {int(cutoff)}")
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
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


# ----------------------------------------------------------------------------- all


def add_question_sections(doc, groups: dict[str, dict[str, list[dict]]], baseline: str | None, metric: str,
                          figures: Path) -> dict:
    """Append the question sections to ``doc`` (a report Document); return their numbers for summary.json."""
    doc.heading("Questions")
    return {
        "bands": section_bands(doc, groups, baseline, figures),
        "time_to_learn": section_time_to_learn(doc, groups, baseline, figures),
        "aliasing": section_aliasing(doc, groups, baseline, figures),
        "controls": section_seed_predictions(doc, groups, figures),
        "operators": section_operators(doc, groups, metric, figures),
    }
