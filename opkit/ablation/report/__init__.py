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

Modules: ``analysis`` (grouping, summaries, paired comparisons, rank tests), ``document``
(Markdown/HTML rendering and number formats), ``figures`` (statistics figures and shared
plotting helpers), ``spectra`` (spectral figures), ``write`` (the sections and ``write_report``).
"""

from opkit.ablation.report.analysis import (
    ActivationResult,
    RankTest,
    analyse_setting,
    group_records,
    rank_test,
    secondary_metrics,
    setting_of,
)
from opkit.ablation.report.document import Document, fmt, fmt_p
from opkit.ablation.report.figures import line_styles, plot_critical_difference, plot_error_bars, plot_forest
from opkit.ablation.report.spectra import plot_curves, plot_dynamics, plot_learned_activations
from opkit.ablation.report.write import SECTIONS, Report, write_report

__all__ = [
    "ActivationResult", "Document", "RankTest", "Report", "SECTIONS", "analyse_setting", "fmt", "fmt_p",
    "group_records", "line_styles", "plot_critical_difference", "plot_curves", "plot_dynamics", "plot_error_bars",
    "plot_forest", "plot_learned_activations", "rank_test", "secondary_metrics", "setting_of", "write_report",
]
