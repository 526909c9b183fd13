"""The report's numbers recomputed from the per-run records; HTML is self-contained."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from opkit.ablation.report import write_report
from opkit.ablation.report.write import _secondary_table
from opkit.ablation.store import ResultStore
from opkit.errors import DataError

from made_records import figure_record as record


def make_results(root: Path, tasks=("burgers",), activations=("gelu", "relu", "tanh", "identity"), seeds=range(6)):
    store = ResultStore(root).create()
    rng = np.random.default_rng(0)
    base = {"gelu": 0.10, "relu": 0.13, "tanh": 0.11, "identity": 0.3}
    for task in tasks:
        seed_effect = rng.normal(0, 0.1, size=len(seeds))
        for activation in activations:
            for seed in seeds:
                error = base[activation] * math.exp(seed_effect[seed] + rng.normal(0, 0.03))
                store.write_record({
                    "run_id": f"{task}__{activation}__seed{seed}", "phase": "main", "status": "finished",
                    "seed": seed, "factors": {"task": task, "activation": activation},
                    "metrics": {"test/relative_l2": error, "test/relative_h1": 1.5 * error ** 0.8,
                                "band_errors": {"high": 2 * error},
                                "resolved_bandwidth": 10 / error, "parameters": 100,
                                "error_spectrum": list(error / (1 + np.arange(6)))},
                })
    store.write_record({"run_id": f"{tasks[0]}__relu__seed99", "phase": "main", "status": "diverged", "seed": 99,
                        "diverged_epoch": 4, "factors": {"task": tasks[0], "activation": "relu"}, "metrics": {}})
    store.write_json("sweep.json", {"name": "demo", "baseline": "gelu", "metric": "test/relative_l2",
                                    "seeds": list(seeds)})
    return store


def test_report_numbers_match_records(tmp_path):
    store = make_results(tmp_path / "results")
    report = write_report(store.root)
    summary = json.loads((report.parent / "summary.json").read_text())
    records = store.records()
    setting = summary["settings"]["task=burgers"]

    def errors(activation):
        rs = sorted((r for r in records if r["factors"]["activation"] == activation and r["status"] == "finished"),
                    key=lambda r: r["seed"])
        return np.array([r["metrics"]["test/relative_l2"] for r in rs])

    gelu = errors("gelu")
    p_values = {}
    for activation in ("relu", "tanh", "identity"):
        e = errors(activation)
        entry = setting[activation]
        assert entry["mean"] == pytest.approx(e.mean())
        assert entry["std"] == pytest.approx(e.std(ddof=1))
        assert entry["ratio"] == pytest.approx(np.exp(np.mean(np.log(e) - np.log(gelu))))
        assert entry["t_p"] == pytest.approx(scipy_stats.ttest_rel(np.log(e), np.log(gelu)).pvalue)
        assert entry["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(np.log(e), np.log(gelu)).pvalue)
        p_values[activation] = entry["t_p"]
    # Holm by hand over the three comparisons
    order = sorted(p_values, key=p_values.get)
    running = 0
    for i, activation in enumerate(order):
        running = max(running, min(1, (3 - i) * p_values[activation]))
        assert setting[activation]["t_p_holm"] == pytest.approx(running)
    assert setting["relu"]["diverged"] == 1 and setting["gelu"]["ratio"] is None

    # H1 gets the same table as the primary metric, its numbers from the records
    h1 = summary["metrics"]["test/relative_h1"]["task=burgers"]
    h1_gelu = 1.5 * gelu ** 0.8
    for activation in ("relu", "identity"):
        e = 1.5 * errors(activation) ** 0.8
        low, high = scipy_stats.t.interval(0.95, len(e) - 1, loc=e.mean(), scale=scipy_stats.sem(e))
        assert h1[activation]["mean"] == pytest.approx(e.mean())
        assert h1[activation]["ci"] == pytest.approx([low, high])
        assert h1[activation]["ratio"] == pytest.approx(np.exp(np.mean(np.log(e) - np.log(h1_gelu))))

    text = report.read_text()
    assert "`test/relative_h1` per setting" in text
    secondary_header = next(line for line in text.splitlines() if line.startswith("| activation | `"))
    assert "`band_errors.high`" in secondary_header and "relative_h1" not in secondary_header
    assert f"{gelu.mean():.4g}" in text
    assert "Friedman" in text and "critical_difference.png" in text
    assert "`band_errors.high`" in text and "`resolved_bandwidth`" in text
    assert "relu__seed99" in text  # diverged runs listed with their epoch

    page = (report.parent / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 4
    assert not re.search(r"src=['\"](?!data:)", page)


def test_friedman_over_settings(tmp_path):
    store = make_results(tmp_path / "results", tasks=("burgers", "darcy", "ns"))
    report = write_report(store.root)
    text = report.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `test/relative_l2`"))
    assert "| settings | 3 | 4 |" in row
    means = []
    for task in ("burgers", "darcy", "ns"):
        summary = json.loads((report.parent / "summary.json").read_text())["settings"][f"task={task}"]
        means.append([summary[a]["mean"] for a in ("gelu", "relu", "tanh", "identity")])
    reference = scipy_stats.friedmanchisquare(*np.array(means).T)
    assert f"{reference.statistic:.4g}" in row


def test_report_errors(tmp_path):
    with pytest.raises(DataError, match="not a results directory"):
        write_report(tmp_path)
    ResultStore(tmp_path).create()
    with pytest.raises(DataError, match="no run records yet"):
        write_report(tmp_path)


def test_secondary_table_explains_nan_and_never_resolved():
    by_activation = {"gelu": [record("gelu", s, band_errors={"high": "nan"}, resolved_bandwidth=3) for s in range(2)],
                     "sine": [record("sine", s, band_errors={"high": "nan"}, resolved_bandwidth=-1 + 4 * s)
                              for s in range(2)]}
    header, rows, note = _secondary_table(by_activation, ["band_errors.high", "resolved_bandwidth"])
    assert rows[0][1] == "NaN" and rows[1][2] == "1 ± 2.8"
    assert "NaN: the target has no energy" in note and "-1: never resolved" in note
    header, rows, note = _secondary_table({"gelu": by_activation["gelu"]}, ["resolved_bandwidth"])
    assert note == "" and rows == [["gelu", "3 ± 0"]]
