"""The report's question sections on hand-made records whose answers are known."""

import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from opkit.ablation import questions
from opkit.ablation.report import write_report
from opkit.ablation.store import ResultStore
from opkit.errors import DataError

SEEDS = (0, 1, 2)


def record(activation, seed, metrics, operator="fno"):
    return {"run_id": f"{operator}__{activation}__seed{seed}", "phase": "main", "status": "finished", "seed": seed,
            "factors": {"operator": operator, "activation": activation}, "metrics": metrics}


def dynamics(times, epochs=5):
    """A dynamics table where shell k has error 1 before epoch times[k] and 0.1 from then on
    (None: a shell empty in the target), so time-to-learn (within 2x the final error) is times[k]."""
    error = [[None if t is None else (1.0 if epoch < t else 0.1) for t in times] for epoch in range(epochs)]
    return {"epoch": list(range(epochs)), "wavenumber": list(range(len(times))), "error": error,
            "target_energy": [0.0 if t is None else 1.0 for t in times]}


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


def test_time_to_learn_on_a_hand_computed_table():
    # mode cutoff 2 over shells 0..5: low = {0, 1}, mid = {2}, high = {3, 4, 5}; shell 5 empty in the target
    gelu_times = [1, 1, 2, 3, 3, None]
    sine_times = [1, 2, 2, 1, 2, None]
    by_activation = {
        "gelu": [record("gelu", s, {"dynamics": dynamics(gelu_times), "mode_cutoff": 2}) for s in SEEDS],
        "sine": [record("sine", s, {"dynamics": dynamics(sine_times), "mode_cutoff": 2}) for s in SEEDS],
        "relu": [record("relu", s, {"mode_cutoff": 2}) for s in SEEDS],  # no dynamics: left out
    }
    table = questions.dynamics_table(by_activation["gelu"][0]["metrics"]["dynamics"], "gelu")
    from opkit.spectral.dynamics import time_to_learn

    np.testing.assert_array_equal(time_to_learn(table), [1, 1, 2, 3, 3, np.nan])
    analysis = questions.time_to_learn_analysis(by_activation, "gelu")
    assert set(analysis) == {"gelu", "sine"}
    assert analysis["gelu"]["bands"]["low"].mean == 1.0
    assert analysis["gelu"]["bands"]["mid"].mean == 2.0
    assert analysis["gelu"]["bands"]["high"].mean == 3.0
    assert analysis["sine"]["bands"]["low"].mean == 1.5
    assert analysis["sine"]["bands"]["high"].mean == 1.5
    difference = analysis["sine"]["high_vs_baseline"]
    assert (difference.n, difference.mean, difference.ci_low, difference.ci_high) == (3, -1.5, -1.5, -1.5)
    assert questions.activation_family("sine") == "periodic"

    bad = {"epoch": [0, 1], "wavenumber": [0, 1, 2], "error": [[1, 1, 1]], "target_energy": [1, 1, 1]}
    with pytest.raises(DataError, match=r"record 7: metrics.dynamics: error has shape \(1, 3\)"):
        questions.dynamics_table(bad, "record 7")


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


def test_report_states_every_question(tmp_path):
    store = ResultStore(tmp_path / "results").create()
    for operator in ("fno", "mgno"):
        for activation, scale, times in (("gelu", 1.0, [1, 1, 2, 3, 3]), ("snake", 0.8, [1, 1, 2, 1, 1]),
                                         ("relu_nobias", 1.5, None), ("linear", 1.5, None), ("lstsq", 1.2, None)):
            for s in SEEDS:
                error = 0.1 * scale * (1 + 0.01 * s) * (1.1 if operator == "mgno" and activation == "gelu" else 1)
                metrics = {"test/relative_l2": error, "band_errors": {"low": error, "mid": error, "high": 2 * error},
                           "error_spectrum": [error, error / 2, error / 4], "mode_cutoff": 2,
                           "aliasing_mean": 0.01 * scale, "sine_band_errors": {"low": error, "high": error ** 2}}
                if times:
                    metrics["dynamics"] = dynamics(times)
                store.write_record(record(activation, s, metrics, operator=operator))
    store.write_json("sweep.json", {"name": "demo", "baseline": "gelu", "metric": "test/relative_l2",
                                    "seeds": list(SEEDS)})
    report = write_report(store.root)
    text = report.read_text()
    answers = json.loads((report.parent / "summary.json").read_text())["questions"]

    assert answers["bands"]["operator=fno"]["snake"]["high"]["ratio"] == pytest.approx(0.8)
    assert answers["bands"]["operator=fno (sine basis)"]["snake"]["high"]["ratio"] == pytest.approx(0.8 ** 2)
    assert "band high: CI below 1 (less error than gelu): snake; above 1: linear, lstsq, relu_nobias" in text
    high = answers["time_to_learn"]["operator=fno"]["snake"]["high_vs_baseline"]
    assert high["mean"] == pytest.approx(-2)  # shells 3 and 4 above the cutoff: (1 + 1)/2 - (3 + 3)/2
    assert "snake (periodic) learns the shells above the cutoff earlier than gelu" in text
    assert answers["aliasing"]["operator=fno"]["snake"]["ratio"]["ratio"] == pytest.approx(0.8)
    assert "More aliasing than gelu (CI above 1): linear, lstsq, relu_nobias; less (CI below 1): snake." in text
    controls = answers["controls"]["operator=fno"]
    assert controls["relu_nobias_vs_linear"]["test/relative_l2"]["ratio"] == pytest.approx(1.0)
    assert controls["relu_nobias_vs_linear"]["test/relative_l2"]["ci"] == pytest.approx([1.0, 1.0])
    assert controls["linear_vs_lstsq"]["test/relative_l2"]["ratio"] == pytest.approx(1.25)
    assert "linear (Adam) falls short of lstsq by a factor 1.25" in text
    (operators,) = answers["operators"]
    assert operators["kendall_tau"]["fno vs mgno"]["tau"] == pytest.approx(1.0)
    for name in ("band_ratios", "time_to_learn", "aliasing", "controls_spectra", "operator_ranks"):
        assert list((report.parent / "figures").glob(f"{name}_*.png")), name


def test_report_skips_absent_questions_with_a_line(tmp_path):
    store = ResultStore(tmp_path / "results").create()
    for activation in ("gelu", "relu"):
        for s in SEEDS:
            store.write_record({"run_id": f"{activation}_{s}", "phase": "main", "status": "finished", "seed": s,
                                "factors": {"activation": activation}, "metrics": {"test/relative_l2": 0.1 + s}})
    text = write_report(store.root).read_text()
    assert "all runs: no `band_errors` in the records" in text
    assert "all runs: no `dynamics` (epoch × wavenumber table) in the records: skipped." in text
    assert "all runs: no `aliasing_mean` in the records: skipped." in text
    assert "relu_nobias and linear are not both in the sweep" in text
    assert "linear and lstsq are not both in the sweep" in text
    assert "Operators" not in text
