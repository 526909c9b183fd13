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

Modules: ``common`` (seed-paired values, CI formatting, verdicts, line styles), ``bands`` (a.),
``learning`` (b. time-to-learn), ``aliasing`` (c.), ``controls`` (d. seed predictions),
``operators`` (e.); this package's ``add_question_sections`` appends them all to a report.
"""

from __future__ import annotations

from pathlib import Path

from opkit.ablation.questions.aliasing import aliasing_analysis, aliasing_values, plot_aliasing, section_aliasing
from opkit.ablation.questions.bands import band_names, band_ratios, plot_band_ratios, section_bands
from opkit.ablation.questions.common import (
    BANDS,
    CONTROL_LABELS,
    TIME_TO_LEARN_FACTOR,
    activation_family,
    line_style,
    paired_ratio,
    values_by_seed,
)
from opkit.ablation.questions.controls import (
    compare_pair,
    plot_spectra_pair,
    ratio_to_reference,
    section_seed_predictions,
    spectrum_by_seed,
)
from opkit.ablation.questions.learning import (
    dynamics_table,
    learning_times,
    plot_time_to_learn,
    section_time_to_learn,
    shell_bands,
    time_to_learn_analysis,
)
from opkit.ablation.questions.operators import operator_rankings, plot_operator_ranks, section_operators
from opkit.ablation.report.figures import plain_log_ticks, save_figure

__all__ = [
    "BANDS", "CONTROL_LABELS", "TIME_TO_LEARN_FACTOR", "activation_family", "add_question_sections",
    "aliasing_analysis", "aliasing_values", "band_names", "band_ratios", "compare_pair", "dynamics_table",
    "learning_times", "line_style", "operator_rankings", "paired_ratio", "plain_log_ticks", "plot_aliasing",
    "plot_band_ratios", "plot_operator_ranks", "plot_spectra_pair", "plot_time_to_learn", "ratio_to_reference",
    "save_figure", "section_aliasing", "section_bands", "section_operators", "section_seed_predictions",
    "section_time_to_learn", "shell_bands", "spectrum_by_seed", "time_to_learn_analysis", "values_by_seed",
]


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
