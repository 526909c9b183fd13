"""The cross-task summary's ranks and tests recomputed with scipy directly from the record files."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from opkit.ablation.store import ResultStore
from opkit.ablation.summary import write_summary
from opkit.cli import main
from opkit.errors import ConfigError, DataError

SEEDS = range(4)


def make_sweep(root: Path, name: str, operators, activations, scale: dict, seed: int, metric="test/relative_l2"):
    """Records of one sweep: error = scale[activation] * block effect * seed noise."""
    store = ResultStore(root).create()
    rng = np.random.default_rng(seed)
    for operator in operators:
        block_effect = rng.uniform(0.5, 2.0)
        for activation in activations:
            for s in SEEDS:
                error = scale[activation] * block_effect * math.exp(rng.normal(0, 0.2))
                store.write_record({
                    "run_id": f"{operator}__{activation}__seed{s}", "phase": "main", "status": "finished",
                    "seed": s, "factors": {"operator": operator, "activation": activation},
                    "metrics": {metric: error, "parameters": 100},
                })
    store.write_json("sweep.json", {"name": name, "metric": metric, "baseline": "gelu", "seeds": list(SEEDS)})
    return store


SCALE = {"gelu": 0.10, "relu": 0.12, "tanh": 0.11, "sine": 0.2, "snake": 0.09}


def three_sweeps(tmp_path):
    return [
        make_sweep(tmp_path / "burgers", "burgers", ("fno", "mgno"), ("gelu", "relu", "tanh", "sine", "snake"),
                   SCALE, 0),
        make_sweep(tmp_path / "darcy", "darcy", ("fno",), ("gelu", "relu", "tanh", "sine"), SCALE, 1),
        make_sweep(tmp_path / "ns", "ns", ("fno",), ("relu", "gelu", "sine", "tanh"), SCALE, 2),
    ]


def test_summary_ranks_match_scipy_on_the_records(tmp_path):
    stores = three_sweeps(tmp_path)
    out = tmp_path / "summary"
    assert main(["report", *(str(s.root) for s in stores), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())

    # the block means straight from the record files, activations in every block only (snake is not)
    labels = ["gelu", "relu", "tanh", "sine"]
    table = []
    for store in stores:
        records = [json.loads(p.read_text()) for p in sorted((store.root / "records").glob("*.json"))]
        for operator in sorted({r["factors"]["operator"] for r in records}, key=("fno", "mgno").index):
            table.append([np.mean([r["metrics"]["test/relative_l2"] for r in records
                                   if r["factors"] == {"operator": operator, "activation": label}])
                          for label in labels])
    table = np.array(table)
    ranks = summary["ranks"]
    assert sorted(ranks["labels"]) == sorted(labels) and ranks["n_blocks"] == 4
    order = [ranks["labels"].index(label) for label in labels]
    assert np.array(ranks["average_ranks"])[order] == pytest.approx(scipy_stats.rankdata(table, axis=1).mean(0))
    reference = scipy_stats.friedmanchisquare(*table.T)
    assert ranks["statistic"] == pytest.approx(reference.statistic)
    assert ranks["p_value"] == pytest.approx(reference.pvalue)
    # Demšar (2006) table 5a: q_0.05 = 2.569 for k = 4; CD = q sqrt(k (k + 1) / (6 N))
    assert ranks["critical_difference"] == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 4)), rel=1e-3)
    average = dict(zip(labels, scipy_stats.rankdata(table, axis=1).mean(0)))
    apart = {(a, b) for a in labels for b in labels if average[b] - average[a] > ranks["critical_difference"]}
    assert {tuple(pair.split(" (")[0] for pair in (p.split(" vs ")[0], p.split(" vs ")[1]))
            for p in ranks["significant_pairs"]} == apart

    # one block's paired ratio to gelu with its t interval, from the records
    records = [json.loads(p.read_text()) for p in (stores[1].root / "records").glob("*.json")]

    def errors(label):
        return np.array([r["metrics"]["test/relative_l2"] for r in sorted(records, key=lambda r: r["seed"])
                         if r["factors"]["activation"] == label])

    d = np.log(errors("sine")) - np.log(errors("gelu"))
    low, high = scipy_stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=scipy_stats.sem(d))
    entry = summary["ratios"]["darcy: operator=fno"]["sine"]
    assert entry["ratio"] == pytest.approx(math.exp(d.mean()))
    assert entry["ci"] == pytest.approx([math.exp(low), math.exp(high)])

    text = (out / "summary.md").read_text()
    assert f"{reference.statistic:.4g}" in text and "snake" in text
    assert (out / "figures" / "critical_difference.png").stat().st_size > 1000
    assert (out / "figures" / "ratios_by_block.png").stat().st_size > 1000
    page = (out / "summary.html").read_text()
    assert page.count("data:image/png;base64,") == 2


def test_one_directory_keeps_the_sweep_report(tmp_path):
    store = make_sweep(tmp_path / "burgers", "burgers", ("fno",), ("gelu", "relu"), SCALE, 0)
    assert main(["report", str(store.root)]) == 0
    assert (store.root / "report" / "report.md").exists()
    assert not (store.root / "report" / "summary.md").exists()


def test_mismatched_inputs_are_one_line_errors(tmp_path):
    good = make_sweep(tmp_path / "a", "a", ("fno",), ("gelu", "relu"), SCALE, 0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no records/ folder"):
        write_summary([good.root, tmp_path / "empty"], tmp_path / "out")
    other = make_sweep(tmp_path / "b", "b", ("fno",), ("gelu", "relu"), SCALE, 1, metric="test/relative_h1")
    with pytest.raises(ConfigError, match="primary metrics differ"):
        write_summary([good.root, other.root], tmp_path / "out")
    with pytest.raises(DataError, match=r"no finished run has the metric 'test/relative_l2'") as error:
        write_summary([good.root, other.root], tmp_path / "out", metric="test/relative_l2")
    assert str(other.root) in str(error.value)
    same = make_sweep(tmp_path / "c", "a", ("fno",), ("gelu", "relu"), SCALE, 1)
    with pytest.raises(ConfigError, match="both sweep 'a'"):
        write_summary([good.root, same.root], tmp_path / "out")
    assert not (tmp_path / "out" / "summary.md").exists()

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    process = subprocess.run([sys.executable, "-m", "opkit.cli", "report", str(good.root), str(tmp_path / "empty"),
                              "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        f"opkit report: error: {tmp_path / 'empty'}: not a results directory: no records/ folder "
        "(run `opkit ablate` first)"]
    process = subprocess.run([sys.executable, "-m", "opkit.cli", "report", str(good.root), str(other.root)],
                             env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 2 and len(process.stderr.strip().splitlines()) == 1
    assert "--out" in process.stderr


def test_metric_primary_ranks_each_sweep_on_its_own_metric(tmp_path):
    """A rollout-evaluated sweep beside static ones: ``--metric primary`` ranks each block on its sweep's
    primary metric (ranks are scale-free), and the block means come from that metric's records."""
    static = make_sweep(tmp_path / "a", "a", ("fno",), ("gelu", "relu", "sine"), SCALE, 0)
    rollout = make_sweep(tmp_path / "b", "b", ("fno",), ("gelu", "relu", "sine"), {"gelu": 0.3, "relu": 0.2,
                                                                                   "sine": 0.1}, 1,
                         metric="rollout/relative_l2")
    out = tmp_path / "out"
    write_summary([static.root, rollout.root], out, metric="primary")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["block_metrics"] == {"a: operator=fno": "test/relative_l2", "b: operator=fno": "rollout/relative_l2"}
    ranks = summary["ranks"]
    for block, store, metric in ((0, static, "test/relative_l2"), (1, rollout, "rollout/relative_l2")):
        records = [json.loads(p.read_text()) for p in (store.root / "records").glob("*.json")]
        expected = [np.mean([r["metrics"][metric] for r in records if r["factors"]["activation"] == label])
                    for label in ranks["labels"]]
        assert ranks["block_means"][block] == pytest.approx(expected)
    assert "rollout/relative_l2" in (out / "summary.md").read_text()
