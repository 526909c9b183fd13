"""The helpers every question shares: per-seed values, paired ratios, activation families."""

import math

import pytest

from opkit.ablation.questions.common import activation_family, paired_ratio, values_by_seed


def record(seed, value, status="finished"):
    return {"seed": seed, "status": status, "metrics": {"band_errors": {"low": value}}}


def test_values_by_seed_keeps_finished_finite_values():
    records = [record(0, 0.5), record(1, float("nan")), record(2, 0.25, status="diverged"), record(3, 2.0)]
    assert values_by_seed(records, "band_errors.low") == {0: 0.5, 3: 2.0}


def test_paired_ratio_over_shared_seeds_is_the_geometric_mean_ratio():
    # ratios 2 and 8 on the shared seeds 0 and 1: geometric mean 4; seed 2 has no partner
    comparison = paired_ratio({0: 2.0, 1: 8.0, 2: 100.0}, {0: 1.0, 1: 1.0, 5: 1.0})
    assert comparison.n == 2
    assert comparison.ratio == pytest.approx(math.sqrt(2.0 * 8.0))
    assert paired_ratio({0: 1.0}, {1: 1.0}) is None


def test_activation_family_from_the_registry():
    assert activation_family("gelu") == "fixed"
    assert activation_family("sine") == "periodic"
    assert activation_family("kan_bspline") == "learnable"
    assert activation_family("linear") == "control"
    assert activation_family("not_an_activation") == "fixed"
