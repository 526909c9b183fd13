"""How much each activation aliases, against the baseline, on hand-made records."""

import math

import pytest

from opkit.ablation.questions.aliasing import aliasing_analysis, aliasing_values


def record(activation, seed, aliasing_mean):
    return {"run_id": f"{activation}__seed{seed}", "status": "finished", "seed": seed,
            "factors": {"activation": activation}, "metrics": {"aliasing_mean": aliasing_mean}}


def test_aliasing_against_the_baseline_is_a_paired_ratio():
    by_activation = {
        "gelu": [record("gelu", 0, 0.01), record("gelu", 1, 0.02)],
        "sine": [record("sine", 0, 0.04), record("sine", 1, 0.02)],  # ratios 4 and 1: geometric mean 2
        "identity": [record("identity", 0, None)],  # no probe value: left out
    }
    assert aliasing_values(by_activation) == {"gelu": {0: 0.01, 1: 0.02}, "sine": {0: 0.04, 1: 0.02}}
    analysis = aliasing_analysis(by_activation, "gelu")
    assert set(analysis) == {"gelu", "sine"}
    summary, comparison = analysis["sine"]
    assert summary.mean == pytest.approx(0.03) and summary.n == 2
    assert comparison.ratio == pytest.approx(math.sqrt(4.0 * 1.0))
    assert analysis["gelu"][1] is None  # the baseline is not compared with itself
