"""a. Spectral bias by band: each activation's paired error ratio to the baseline in each band."""

from __future__ import annotations

import math
from pathlib import Path

from opkit.ablation import stats
from opkit.ablation.questions.common import (
    BANDS,
    _comparison_json,
    _finished,
    _mean_ci,
    _ratio_ci,
    _slug,
    line_style,
    paired_ratio,
    values_by_seed,
)
from opkit.ablation.report.figures import plain_log_ticks, pyplot as _pyplot, save_figure


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
