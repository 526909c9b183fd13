"""opkit.ablation.stats against scipy.stats and hand-computed cases."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from opkit.ablation import stats
from opkit.errors import ConfigError


def test_summary_matches_t_interval():
    x = np.array([0.11, 0.12, 0.105, 0.13, 0.118, 0.124])
    summary = stats.summarize(x)
    low, high = scipy_stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy_stats.sem(x))
    assert summary.n == 6
    assert summary.mean == pytest.approx(x.mean())
    assert summary.std == pytest.approx(x.std(ddof=1))
    assert (summary.ci_low, summary.ci_high) == pytest.approx((low, high))


def test_summary_drops_nan_and_handles_one_value():
    assert stats.summarize([1.0, np.nan, 3.0]).mean == 2.0
    single = stats.summarize([2.0])
    assert single.mean == 2.0 and math.isnan(single.ci_low)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paired_t_test_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=7), rng.normal(size=7) + 0.3
    ours = stats.paired_t_test(x, y)
    reference = scipy_stats.ttest_rel(x, y)
    assert ours.statistic == pytest.approx(reference.statistic)
    assert ours.p_value == pytest.approx(reference.pvalue)


@pytest.mark.parametrize(
    "d",
    [
        [0.3, -0.1, 0.5, 0.7, 0.2, 0.9],  # no ties: exact null
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],  # all positive: smallest exact p for n = 6
        [0.5, -0.5, 1.0, 2.0, 2.0, -3.0, 1.5],  # ties: sign-flip enumeration
        list(np.random.default_rng(3).normal(0.2, 1.0, size=60)),  # large n: normal approximation
        list(np.round(np.random.default_rng(4).normal(0.3, 1.0, size=30), 1)),  # ties, n = 30: normal
    ],
)
def test_wilcoxon_matches_scipy(d):
    d = np.asarray(d)
    y = np.zeros_like(d)
    ours = stats.wilcoxon_signed_rank(d, y)
    reference = scipy_stats.wilcoxon(d, y)
    assert ours.statistic == pytest.approx(reference.statistic)
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-9)


def test_wilcoxon_cannot_reach_five_percent_with_five_seeds():
    # 2 / 2^5 = 0.0625: the reason the default seed count is at least 6
    assert stats.wilcoxon_signed_rank([1, 2, 3, 4, 5], [0] * 5).p_value == pytest.approx(0.0625)
    assert stats.wilcoxon_signed_rank([1, 2, 3, 4, 5, 6], [0] * 6).p_value == pytest.approx(0.03125)


def test_holm_hand_computed():
    # sorted: 0.01*4 = 0.04, 0.02*3 = 0.06, 0.03*2 = 0.06, 0.5*1 = 0.5
    adjusted = stats.holm([0.03, 0.01, 0.5, 0.02])
    np.testing.assert_allclose(adjusted, [0.06, 0.04, 0.5, 0.06])
    # running maximum: 0.04*3 = 0.12 would be below the previous 0.2, so it is lifted to 0.2
    np.testing.assert_allclose(stats.holm([0.1, 0.04, 0.9]), [0.2, 0.12, 0.9])
    np.testing.assert_allclose(stats.holm([0.1, 0.011, 0.9]), [0.2, 0.033, 0.9])
    # capped at 1, NaN ignored
    adjusted = stats.holm([0.6, np.nan, 0.7])
    np.testing.assert_allclose(adjusted[[0, 2]], [1.0, 1.0])
    assert math.isnan(adjusted[1])


@pytest.mark.parametrize("seed", [0, 1])
def test_friedman_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(8, 4)) + np.array([0.0, 0.5, 1.0, 0.2])
    ours = stats.friedman(table)
    reference = scipy_stats.friedmanchisquare(*table.T)
    assert ours.statistic == pytest.approx(reference.statistic)
    assert ours.p_value == pytest.approx(reference.pvalue)
    np.testing.assert_allclose(ours.average_ranks, scipy_stats.rankdata(table, axis=1).mean(axis=0))


def test_friedman_with_ties_matches_scipy():
    table = np.array([[1, 2, 2, 3], [1, 1, 2, 4], [2, 3, 3, 1], [1, 2, 3, 4], [4, 4, 1, 2]], dtype=float)
    ours = stats.friedman(table)
    reference = scipy_stats.friedmanchisquare(*table.T)
    assert ours.statistic == pytest.approx(reference.statistic)
    assert ours.p_value == pytest.approx(reference.pvalue)


def test_nemenyi_matches_demsar_table():
    # Demšar (2006) table 5a, q_0.05 for k = 2..5 and 10
    for k, q in [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (10, 3.164)]:
        expected = q * math.sqrt(k * (k + 1) / (6 * 14))
        assert stats.nemenyi_critical_difference(k, 14) == pytest.approx(expected, rel=2e-3)


def test_paired_log_ratio():
    baseline = np.array([0.10, 0.20, 0.15, 0.12, 0.11, 0.18])
    errors = baseline * np.array([0.5, 0.55, 0.45, 0.5, 0.52, 0.48])
    comparison = stats.paired_log_ratio(errors, baseline)
    assert comparison.ratio == pytest.approx(np.exp(np.mean(np.log(errors / baseline))))
    assert comparison.ratio_ci_low < comparison.ratio < comparison.ratio_ci_high < 1
    assert comparison.t_p_value == pytest.approx(scipy_stats.ttest_rel(np.log(errors), np.log(baseline)).pvalue)
    assert comparison.wilcoxon_p_value == pytest.approx(0.03125)


def test_bad_input_errors():
    with pytest.raises(ConfigError, match="equal seed sets"):
        stats.paired_log_ratio([1, 2], [1, 2, 3])
    with pytest.raises(ConfigError, match="treatments>=2"):
        stats.friedman([[1.0], [2.0]])


def test_friedman_with_two_treatments_is_the_sign_test_chi_square():
    # scipy's friedmanchisquare needs three treatments. Blocks: the first is lower in 5, the
    # second in 1, one tie (no information): chi² = (5 - 1)² / 6, 1 dof; ranks by hand.
    table = np.array([[1, 2], [1, 3], [0, 4], [2, 5], [1, 1.5], [3, 1], [2, 2]], dtype=float)
    result = stats.friedman(table)
    assert result.statistic == pytest.approx(16 / 6)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(16 / 6 / 2)))  # chi²(1) tail
    np.testing.assert_allclose(result.average_ranks, [(5 * 1 + 2 + 1.5) / 7, (5 * 2 + 1 + 1.5) / 7])


def test_degenerate_inputs_are_nan_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(stats.paired_t_test([1.0], [0.0]).p_value)
        assert math.isnan(stats.paired_t_test([1.0, 2.0], [1.0, 2.0]).p_value)
        assert stats.paired_t_test([2.0, 3.0, 4.0], [1.0, 2.0, 3.0]) == stats.TestResult(math.inf, 0.0)
        assert math.isnan(stats.wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0]).p_value)
        assert math.isnan(stats.friedman(np.ones((4, 3))).p_value)
        assert math.isnan(stats.friedman(np.ones((4, 2))).statistic)
