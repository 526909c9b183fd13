"""b. Time-to-learn: the first epoch at which each shell comes within a factor of its final error."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from opkit.ablation import stats
from opkit.ablation.questions.common import (
    TIME_TO_LEARN_FACTOR,
    _finished,
    _fmt,
    _mean_ci,
    _slug,
    _summary_json,
    _verdict,
    activation_family,
    line_style,
)
from opkit.ablation.report.spectra import shell_axis
from opkit.ablation.report.figures import pyplot as _pyplot, save_figure
from opkit.ablation.store import metric_value
from opkit.errors import ConfigError, DataError


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
    """Boolean masks over shells for the cutoff bands of :func:`opkit.spectral.shells.cutoff_bands`."""
    from opkit.spectral.shells import cutoff_bands

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
    shell_axis(axis, cutoff)
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
