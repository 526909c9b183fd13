"""``write_report``: one results directory in, ``report.md``, ``report.html``, figures and
``summary.json`` out.

The report is a list of sections (:data:`SECTIONS`); each is a function ``section(report)``
that reads the shared :class:`Report` (records, groups, analyses) and appends headings,
tables and figures to ``report.document``. A new section is one function and one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from opkit.ablation import stats
from opkit.ablation.report.analysis import (
    HEADLINE_METRICS,
    ActivationResult,
    analyse_setting,
    group_records,
    list_metric_keys,
    rank_test,
    secondary_metrics,
)
from opkit.ablation.report.document import Document, fmt, fmt_p, write_document
from opkit.ablation.report.figures import plot_critical_difference, plot_error_bars, plot_forest
from opkit.ablation.report.records import self_contained, ship_records
from opkit.ablation.report.spectra import plot_curves, plot_dynamics, plot_learned_activations
from opkit.ablation.store import DIVERGED, FAILED, FINISHED, ResultStore, metric_value
from opkit.errors import DataError


@dataclass
class Report:
    """Everything the sections share: the records, how they group, and the analyses of them."""

    store: ResultStore
    sweep: dict
    records: list[dict]        # main-phase records
    metric: str                # the primary metric
    baseline: str | None       # None when no run has the baseline's label
    seeds: list[int]
    groups: dict               # setting -> activation label -> records
    headline: list[str]        # metrics with the full comparison table, the primary first
    secondary: list[str]       # further scalar metrics, mean ± std only
    analyses: dict             # headline metric -> setting -> [ActivationResult]
    figures: Path
    document: Document
    summary: dict = field(default_factory=dict)  # written to summary.json

    @property
    def analysis(self) -> dict[str, list[ActivationResult]]:
        """The primary metric's analysis per setting."""
        return self.analyses[self.metric]

    def figure(self, path: Path | None, caption: str) -> None:
        """Add a figure if it was drawn (figure functions return None when the records have no data for it)."""
        if path is not None:
            self.document.image(path, caption)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


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


NAN_NOTE = "NaN: the target has no energy in that band/shell, so its relative error is undefined"
NEVER_RESOLVED_NOTE = ("-1: never resolved (not even the first non-empty shell is under the threshold); such runs "
                       "enter the mean as -1")


def _secondary_table(by_activation: dict[str, list[dict]], names: list[str]):
    """Header, rows (mean ± std per activation and metric) and the footnote for the special values
    they show: NaN where every run recorded the metric as NaN, -1 where a run's resolved bandwidth is -1."""
    rows, nan_shown, never_resolved = [], False, False
    for label, records in by_activation.items():
        finished = [r for r in records if r["status"] == FINISHED]
        row = [label]
        for name in names:
            values = [metric_value(r, name) for r in finished]
            summary = stats.summarize(values)
            if summary.n:
                row.append(f"{fmt(summary.mean)} ± {fmt(summary.std, 2)}")
            elif any(_recorded(r, name) for r in finished):
                row.append("NaN")
                nan_shown = True
            else:
                row.append("–")
            never_resolved |= "bandwidth" in name and -1 in values
        rows.append(row)
    notes = [note for note, shown in ((NAN_NOTE, nan_shown), (NEVER_RESOLVED_NOTE, never_resolved)) if shown]
    return ["activation"] + [f"`{name}`" for name in names], rows, "; ".join(notes) + "." if notes else ""


def _recorded(record: dict, key: str) -> bool:
    """Whether a record holds ``key`` at all (as a number or NaN), as opposed to not measuring it."""
    value = record.get("metrics") or {}
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return value is None or isinstance(value, (int, float, str))


# ----------------------------------------------------------------------------- sections


def overview(report: Report) -> None:
    """How many runs, the seeds, the metric and the baseline, and how to read the statistics."""
    seeds = report.seeds
    counts = {s: sum(r["status"] == s for r in report.records) for s in (FINISHED, DIVERGED, FAILED)}
    report.document.paragraph(
        f"{len(report.records)} runs ({counts[FINISHED]} finished, {counts[DIVERGED]} diverged, "
        f"{counts[FAILED]} failed), seeds {list(seeds)}, primary metric `{report.metric}`, baseline "
        f"**{report.baseline or 'none'}**. "
        "Confidence intervals are 95% t intervals over seeds; the error ratio is "
        "exp(mean(log e − log e_baseline)) over the seeds both runs finished; p-values are two-sided, "
        "Holm-corrected across the activations of a setting, * marks p < 0.05. "
        f"With {len(seeds)} seeds the smallest two-sided Wilcoxon p-value is 2/2^{len(seeds)} = "
        f"{2 / 2 ** len(seeds):.3g}, so after Holm over m comparisons it cannot fall below "
        f"m · {2 / 2 ** len(seeds):.3g}; the t test on log error is the more sensitive of the two."
    )
    if report.sweep.get("description"):
        report.document.paragraph(report.sweep["description"])


def comparison_tables(report: Report) -> None:
    """Per headline metric and setting: the comparison table; the secondary metrics under the primary one."""
    doc = report.document
    for key in report.headline:
        doc.heading("Primary metric per setting" if key == report.metric else f"`{key}` per setting")
        for setting, results in report.analyses[key].items():
            doc.heading(setting, 3)
            doc.table(*_comparison_table(results, report.baseline))
            if key == report.metric and report.secondary:
                doc.paragraph("Secondary metrics (mean ± std over seeds):")
                header, rows, note = _secondary_table(report.groups[setting], report.secondary)
                doc.table(header, rows)
                if note:
                    doc.paragraph(note)


def error_figures(report: Report) -> None:
    """The primary metric per activation, and the forest plot of ratios to the baseline."""
    report.document.heading("Figures")
    report.figure(plot_error_bars(report.analysis, report.metric, report.figures / "error_bars.png"),
                  f"{report.metric} per activation: seeds (grey), mean and 95% CI (blue)")
    if report.baseline:
        report.figure(plot_forest(report.analysis, report.baseline, report.figures / "forest.png"),
                      f"Paired error ratio to {report.baseline} with 95% CI (green: better, red: worse)")


def ranks(report: Report) -> None:
    """Friedman's test per metric, the average ranks and the critical-difference diagram of the primary one."""
    doc = report.document
    doc.heading("Ranks across settings")
    rank_rows = []
    for key in report.headline + report.secondary:
        test = rank_test(report.groups, key, report.seeds)
        if test is None:
            continue
        best = test.labels[int(np.argmin(test.result.average_ranks))]
        rank_rows.append([f"`{key}`", test.blocks, str(test.result.n_blocks), str(len(test.labels)),
                          fmt(test.result.statistic), fmt_p(test.result.p_value), fmt(test.critical_difference, 3),
                          best])
        if key == report.metric:
            doc.paragraph("Average ranks (1 = best) for the primary metric: " + ", ".join(
                f"{label} {fmt(rank, 3)}" for label, rank in
                sorted(zip(test.labels, test.result.average_ranks), key=lambda x: x[1])) + ".")
            report.figure(plot_critical_difference(test, report.figures / "critical_difference.png"),
                          "Critical-difference diagram (Nemenyi, α = 0.05): activations joined by a red bar "
                          "are not significantly different")
    if rank_rows:
        doc.paragraph("Friedman test per metric (blocks are settings, or seeds when the sweep has one setting; "
                      "bandwidth ranks higher = better, errors lower = better):")
        doc.table(["metric", "blocks", "N", "k", "χ²", "p", "CD", "best rank"], rank_rows)
    else:
        doc.paragraph("Not enough complete blocks for a Friedman test.")


CURVE_CAPTIONS = {
    "error_spectrum": "relative error spectrum e(k) = E_err(k) / E_true(k) on the test set",
    "energy_spectrum_pred": "predicted energy spectrum, true spectrum thick light black",
    "sine_error_spectrum": "relative error spectrum in the sine basis on the test set",
    "sine_energy_spectrum_pred": "predicted energy spectrum in the sine basis, true spectrum thick light black",
}


def spectra(report: Report) -> None:
    """Each list-valued metric (a spectrum) per setting, one line per activation."""
    curve_keys = [k for k in list_metric_keys(report.records) if not k.endswith("energy_spectrum_true")]
    if not curve_keys:
        return
    report.document.heading("Spectra")
    for setting, by in report.groups.items():
        for key in curve_keys:
            reference = key[: -len("pred")] + "true" if key.endswith("energy_spectrum_pred") else None
            figure = plot_curves(by, key, report.figures / f"curve_{_slug(setting)}_{_slug(key)}.png",
                                 f"{key} — {setting}", reference_key=reference)
            report.figure(figure, f"{setting}: {CURVE_CAPTIONS.get(key, key)}; seed mean with min–max band "
                                  "per activation, controls grey dashed; dotted line: mode cutoff")


def _figure_per_setting(report: Report, heading: str, draw, caption: str) -> None:
    """``draw(setting, records_by_label)`` for each setting; the heading and figures only if one was drawn.
    ``caption`` is formatted with the setting."""
    drawn = [(setting, draw(setting, by)) for setting, by in report.groups.items()]
    if any(figure for _, figure in drawn):
        report.document.heading(heading)
        for setting, figure in drawn:
            report.figure(figure, caption.format(setting=setting))


def rollout(report: Report) -> None:
    """The rollout's relative L2 at each step per setting (step-trained runs), one line per activation."""
    _figure_per_setting(
        report, "Rollout",
        lambda setting, by: plot_curves(by, "rollout.relative_l2", report.figures / f"rollout_{_slug(setting)}.png",
                                        f"rollout error per step — {setting}", ylabel="relative L2 of the rollout",
                                        x_key="rollout.frames", xlabel="predicted frame t (autoregressive rollout)"),
        "{setting}: relative L2 of the autoregressive rollout at each predicted frame, seed mean with min–max "
        "band per activation, controls grey dashed")


def dynamics(report: Report) -> None:
    """Epoch x wavenumber relative error per setting."""
    _figure_per_setting(
        report, "Learning dynamics",
        lambda setting, by: plot_dynamics(by, report.store.root, report.figures / f"dynamics_{_slug(setting)}.png",
                                          f"relative error by epoch and wavenumber — {setting}"),
        "{setting}: epoch × wavenumber relative error (seed mean), one colour scale")


def learned_activations(report: Report) -> None:
    """The shapes learnable activations took, per setting."""
    _figure_per_setting(
        report, "Learned activations",
        lambda setting, by: plot_learned_activations(by, report.store.root,
                                                     report.figures / f"shapes_{_slug(setting)}.png",
                                                     f"learned activations — {setting}"),
        "{setting}: learnable activations after training (first seed), per layer mean over channels with "
        "min–max band; dashed: at initialisation")


def questions(report: Report) -> None:
    """The study's questions (opkit/ablation/questions/): band ratios, time-to-learn, aliasing,
    the controls side by side, and operator rankings."""
    from opkit.ablation.questions import add_question_sections

    report.summary["questions"] = add_question_sections(report.document, report.groups, report.baseline,
                                                        report.metric, report.figures)


def failures(report: Report) -> None:
    """Failed runs with the first line of their error, diverged runs with their epoch."""
    failed = [r for r in report.records if r["status"] == FAILED]
    if failed:
        report.document.heading("Failed runs")
        report.document.table(["run", "error"],
                              [[r["run_id"], str(r.get("error", "")).splitlines()[0][:160]] for r in failed])
    diverged = [r for r in report.records if r["status"] == DIVERGED]
    if diverged:
        report.document.heading("Diverged runs")
        report.document.table(["run", "epoch"], [[r["run_id"], str(r.get("diverged_epoch"))] for r in diverged])


def headline_summary(report: Report) -> None:
    """The headline metrics' numbers for summary.json (no document output)."""
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

    report.summary.update({"metric": report.metric, "baseline": report.baseline,
                           "settings": summarise(report.analysis),
                           "metrics": {key: summarise(report.analyses[key]) for key in report.headline}})


# The report, top to bottom.
SECTIONS = [overview, comparison_tables, error_figures, ranks, spectra, rollout, dynamics, learned_activations, questions,
            failures, headline_summary]


def prepare(results_dir, baseline: str | None = None, out_dir=None) -> Report:
    """Read a results directory and analyse its records: the :class:`Report` every section reads."""
    store = ResultStore(results_dir)
    # every section reads the dynamics from the record, as a shipped record carries them
    all_records = [self_contained(record, store.root, shapes=False) for record in store.records()]
    if not all_records:
        raise DataError(store.root, "no run records yet (run `opkit ablate` first)")
    sweep = store.read_json("sweep.json", default={}) or {}
    metric = sweep.get("metric", "test/relative_l2")
    baseline = baseline or sweep.get("baseline", "gelu")
    seeds = sweep.get("seeds") or sorted({r["seed"] for r in all_records})
    out = Path(out_dir) if out_dir else store.root / "report"
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)

    groups = group_records(all_records, (sweep.get("axes") or {}).get("activation"))
    labels = {label for by in groups.values() for label in by}
    if baseline not in labels:
        baseline = None
    records = [r for r in all_records if r.get("phase", "main") == "main"]
    secondary = secondary_metrics(records, metric)
    headline = [metric] + [key for key in HEADLINE_METRICS if key != metric and key in secondary]
    secondary = [key for key in secondary if key not in headline]
    analyses = {key: {setting: analyse_setting(by, key, baseline, seeds) for setting, by in groups.items()}
                for key in headline}
    return Report(store=store, sweep=sweep, records=records, metric=metric, baseline=baseline, seeds=seeds,
                  groups=groups, headline=headline, secondary=secondary, analyses=analyses, figures=figures,
                  document=Document(f"Ablation report: {sweep.get('name', store.root.name)}"))


def write_report(results_dir, baseline: str | None = None, out_dir=None) -> Path:
    """Write ``report.md``, figures and ``report.html`` for a results directory; returns report.md's path.

    With an ``out_dir`` outside ``results_dir`` (a report to ship, e.g. docs/ablation/NAME), the
    records and sweep files go with it (:func:`~opkit.ablation.report.records.ship_records`), so
    ``write_report(out_dir)`` re-analyses the sweep later from that folder alone.
    """
    report = prepare(results_dir, baseline, out_dir)
    out = report.figures.parent
    if out_dir is not None and not _inside(out, report.store.root):
        ship_records(report.store, out)
    for section in SECTIONS:
        section(report)
    return write_document(out, "report", report.document, report.summary)
