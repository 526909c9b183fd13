"""Operator rankings across settings and their Kendall tau, hand-computed."""

import pytest
from scipy import stats as scipy_stats

from opkit.ablation import questions

from made_records import SEEDS, record


def test_operator_rankings_and_kendall_tau():
    means = {"fno": {"gelu": 0.1, "relu": 0.2, "tanh": 0.3, "sine": 0.4},
             "mgno": {"gelu": 0.25, "relu": 0.2, "tanh": 0.3, "sine": 0.4, "snake": 0.01}}
    groups = {f"operator={o}": {a: [record(a, s, {"test/relative_l2": v}, operator=o) for s in SEEDS]
                                for a, v in by.items()} for o, by in means.items()}
    (entry,) = questions.operator_rankings(groups, "test/relative_l2")
    assert entry["labels"] == ["gelu", "relu", "tanh", "sine"]  # snake is not under fno
    assert entry["ranks"]["fno"] == {"gelu": 1, "relu": 2, "tanh": 3, "sine": 4}
    assert entry["ranks"]["mgno"] == {"gelu": 2, "relu": 1, "tanh": 3, "sine": 4}
    tau, p = entry["taus"][("fno", "mgno")]
    assert tau == pytest.approx((5 - 1) / 6)  # 5 concordant pairs, 1 discordant, of 6
    assert p == pytest.approx(scipy_stats.kendalltau([1, 2, 3, 4], [2, 1, 3, 4]).pvalue)
