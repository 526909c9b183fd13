"""The report's question sections on hand-made records whose answers are known."""

import json

import pytest

from opkit.ablation.report import write_report
from opkit.ablation.store import ResultStore

from made_records import SEEDS, dynamics, record


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
