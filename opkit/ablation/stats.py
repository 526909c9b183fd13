"""Statistics for paired ablations: seeds are the pairing unit, activations the treatments.

Every activation is trained with the same seed set, so run ``(activation a, seed s)``
and ``(baseline, seed s)`` share initialisation stream and data order. Errors are
compared on the log scale: the paired difference ``d_s = log e_a,s - log e_base,s``
turns into an *error ratio* ``exp(mean d)`` that reads "activation a has 0.8x the
baseline's error".

References: Demšar (2006), "Statistical comparisons of classifiers over multiple data
sets", JMLR 7 (Friedman test, average ranks, Nemenyi critical difference); Holm (1979),
"A simple sequentially rejective multiple test procedure".

The tests are ``scipy.stats``' (``ttest_rel``, ``wilcoxon``, ``friedmanchisquare``,
``rankdata``); written here are only what scipy lacks: Holm's adjustment, the Nemenyi
critical difference and the Friedman test with two treatments, plus the handling of
degenerate inputs (too few pairs, all differences zero) as NaN without warnings.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as distributions

from opkit.errors import ConfigError

@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and a two-sided t confidence interval."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


def summarize(values, confidence: float = 0.95) -> Summary:
    """Summary of ``values`` (NaNs dropped): ``mean ± t_{(1+c)/2, n-1} · std / sqrt(n)``."""
    x = _finite(values)
    n = len(x)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(np.mean(x))
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(np.std(x, ddof=1))
    half = float(distributions.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float


def paired_t_test(x, y) -> TestResult:
    """Two-sided paired t test on ``d = x - y`` (``scipy.stats.ttest_rel``), n-1 dof.

    Fewer than two pairs, or all differences zero: NaN. All differences equal and non-zero:
    ``t = ±inf, p = 0`` (without scipy's precision-loss warning).
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    if len(d) < 2 or not d.any():
        return TestResult(math.nan, math.nan)
    if np.all(d == d[0]):
        return TestResult(math.copysign(math.inf, d[0]), 0.0)
    with warnings.catch_warnings():
        # nearly equal differences (t huge, p ~ 0, the right reading) make scipy warn of precision loss
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        result = distributions.ttest_rel(x, y)
    return TestResult(float(result.statistic), float(result.pvalue))


def wilcoxon_signed_rank(x, y) -> TestResult:
    """Two-sided Wilcoxon signed-rank test of ``d = x - y`` (``scipy.stats.wilcoxon``), zeros dropped.

    Statistic: ``min(W+, W-)``. p-value (scipy's ``method="auto"``): the exact null
    distribution without ties up to 50 pairs, enumeration of sign flips with ties up to
    13 pairs, otherwise the normal approximation with tie-corrected variance.
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return TestResult(math.nan, math.nan)
    result = distributions.wilcoxon(d)
    return TestResult(float(result.statistic), float(result.pvalue))


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values: sort ascending, ``p_(i) · (m - i + 1)``, running max, cap 1.

    NaN entries are left NaN and do not count towards m.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    order = valid[np.argsort(p[valid], kind="mergesort")]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((len(order) - np.arange(len(order))) * p[order]))
    return adjusted


@dataclass(frozen=True)
class PairedComparison:
    """An activation against the baseline over the shared seeds, on log error."""

    n: int
    ratio: float  # exp(mean(log e_a - log e_base))
    ratio_ci_low: float
    ratio_ci_high: float
    t_p_value: float
    wilcoxon_p_value: float


def paired_log_ratio(errors, baseline_errors, confidence: float = 0.95) -> PairedComparison:
    """Compare two error arrays paired by position (seed); non-positive or NaN pairs dropped."""
    a = np.asarray(errors, dtype=float)
    b = np.asarray(baseline_errors, dtype=float)
    if a.shape != b.shape:
        raise ConfigError(f"paired comparison needs equal seed sets, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    log_a, log_b = np.log(a[keep]), np.log(b[keep])
    summary = summarize(log_a - log_b, confidence)
    return PairedComparison(
        n=summary.n,
        ratio=math.exp(summary.mean) if summary.n else math.nan,
        ratio_ci_low=math.exp(summary.ci_low) if summary.n > 1 else math.nan,
        ratio_ci_high=math.exp(summary.ci_high) if summary.n > 1 else math.nan,
        t_p_value=paired_t_test(log_a, log_b).p_value,
        wilcoxon_p_value=wilcoxon_signed_rank(log_a, log_b).p_value,
    )


@dataclass(frozen=True)
class FriedmanResult:
    statistic: float
    p_value: float
    average_ranks: np.ndarray  # (k,), rank 1 = lowest value (best error)
    n_blocks: int


def friedman(table) -> FriedmanResult:
    """Friedman test on ``table`` (n_blocks, k treatments); rank 1 is the smallest value.

    ``scipy.stats.friedmanchisquare`` (tie-corrected chi² with k-1 degrees of freedom) for
    k >= 3. scipy refuses k = 2, where the tie-corrected statistic reduces to the sign
    test's ``chi² = (n_1 - n_2)² / (n_1 + n_2)``, ``n_j`` the blocks in which treatment j
    is strictly lower (tied blocks carry no information). Every block entirely tied: NaN.
    """
    table = np.asarray(table, dtype=float)
    if table.ndim != 2 or table.shape[1] < 2:
        raise ConfigError(f"Friedman test needs a (blocks, treatments>=2) table, got shape {table.shape}")
    n, k = table.shape
    average_ranks = distributions.rankdata(table, axis=1).mean(axis=0)
    if np.all(table == table[:, :1]):
        return FriedmanResult(math.nan, math.nan, average_ranks, n)
    if k == 2:
        first_lower, second_lower = np.sum(table[:, 0] < table[:, 1]), np.sum(table[:, 1] < table[:, 0])
        chi2 = float((first_lower - second_lower) ** 2 / (first_lower + second_lower))
        return FriedmanResult(chi2, float(distributions.chi2.sf(chi2, 1)), average_ranks, n)
    result = distributions.friedmanchisquare(*table.T)
    return FriedmanResult(float(result.statistic), float(result.pvalue), average_ranks, n)


def nemenyi_critical_difference(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: ``q_α · sqrt(k (k+1) / (6 N))``.

    ``q_α`` is the studentized range quantile for k groups and infinite dof over sqrt(2)
    (Demšar 2006, table 5a: 1.960, 2.343, 2.569, 2.728 ... for k = 2, 3, 4, 5).
    """
    if k < 2 or n_blocks < 1:
        raise ConfigError(f"critical difference needs k >= 2 treatments and >= 1 block, got k={k}, N={n_blocks}")
    q = float(distributions.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n_blocks))
