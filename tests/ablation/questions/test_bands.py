"""Band-error ratios against the baseline, on hand-made records whose answers are known."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from opkit.ablation import questions

from made_records import SEEDS, record


def test_band_ratios_are_paired_log_ratios():
    rng = np.random.default_rng(0)
    gelu = {s: {"low": 0.1 * math.exp(rng.normal(0, 0.2)), "mid": 0.2, "high": float("nan")} for s in SEEDS}
    noise = rng.normal(0, 0.1, size=len(SEEDS))
    by_activation = {
        "gelu": [record("gelu", s, {"band_errors": gelu[s]}) for s in SEEDS],
        # exactly twice gelu's low-band error: ratio 2, zero-width CI; noisy mid band
        "sine": [record("sine", s, {"band_errors": {"low": 2 * gelu[s]["low"], "mid": 0.2 * math.exp(noise[s]),
                                                    "high": 0.5}}) for s in SEEDS],
    }
    ratios = questions.band_ratios(by_activation, "gelu")["sine"]
    assert ratios["low"].ratio == pytest.approx(2.0)
    assert (ratios["low"].ratio_ci_low, ratios["low"].ratio_ci_high) == pytest.approx((2.0, 2.0))
    low, high = scipy_stats.t.interval(0.95, 2, loc=noise.mean(), scale=scipy_stats.sem(noise))
    assert ratios["mid"].ratio == pytest.approx(math.exp(noise.mean()))
    assert (ratios["mid"].ratio_ci_low, ratios["mid"].ratio_ci_high) == pytest.approx((math.exp(low), math.exp(high)))
    assert ratios["high"] is None  # gelu's high band is empty (NaN): no pair
