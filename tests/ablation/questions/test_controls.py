"""The control comparisons (relu without bias vs linear, linear vs least squares) on hand-made records."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from opkit.ablation import questions

from made_records import SEEDS, record


def test_controls_relu_nobias_equal_to_linear_and_linear_against_lstsq():
    rng = np.random.default_rng(1)
    errors = {s: 0.1 * math.exp(rng.normal(0, 0.3)) for s in SEEDS}
    spectrum = {s: list(errors[s] / (1 + np.arange(4))) for s in SEEDS}
    metrics = {s: {"test/relative_l2": errors[s], "band_errors": {"low": errors[s] / 2, "high": errors[s] * 3},
                   "error_spectrum": spectrum[s]} for s in SEEDS}
    by_activation = {
        "relu_nobias": [record("relu_nobias", s, metrics[s]) for s in SEEDS],
        "linear": [record("linear", s, metrics[s]) for s in SEEDS],
        "lstsq": [record("lstsq", s, {"test/relative_l2": errors[s] / 1.25}) for s in SEEDS],
    }
    pair = questions.compare_pair(by_activation["relu_nobias"], by_activation["linear"],
                                  ["test/relative_l2", "band_errors.low", "band_errors.high"])
    for key, (first, second, ratio) in pair.items():
        assert first == second
        assert (ratio.ratio, ratio.ratio_ci_low, ratio.ratio_ci_high) == pytest.approx((1, 1, 1))

    linear = questions.values_by_seed(by_activation["linear"], "test/relative_l2")
    paired, how = questions.ratio_to_reference(linear, questions.values_by_seed(by_activation["lstsq"],
                                                                                "test/relative_l2"))
    assert how == "paired by seed"
    assert (paired.ratio, paired.ratio_ci_low, paired.ratio_ci_high) == pytest.approx((1.25, 1.25, 1.25))
    # one lstsq run: each linear seed against its value, t interval over the linear seeds
    single, how = questions.ratio_to_reference(linear, {0: 0.08})
    logs = np.log(np.array(list(linear.values())) / 0.08)
    low, high = scipy_stats.t.interval(0.95, 2, loc=logs.mean(), scale=scipy_stats.sem(logs))
    assert how == "to the mean of its 1 run(s)"
    assert (single.ratio, single.ratio_ci_low, single.ratio_ci_high) == pytest.approx(
        (math.exp(logs.mean()), math.exp(low), math.exp(high)))
