"""The results directory: records round-trip, resume decisions, the flat table, run-file scraping."""

import csv
import json
import math

import numpy as np
import pytest

from opkit.ablation.store import (DIVERGED, FAILED, FINISHED, ResultStore, best_validation, collect_run_files,
                                  flatten_record, metric_value)
from opkit.errors import DataError


def _record(run_id, status=FINISHED, fingerprint="abc", **metrics):
    return {"run_id": run_id, "phase": "main", "status": status, "seed": 0, "fingerprint": fingerprint,
            "factors": {"activation": "gelu"}, "metrics": metrics, "error": None}


def test_record_round_trip_keeps_non_finite_numbers_and_numpy_values(tmp_path):
    store = ResultStore(tmp_path).create()
    store.write_record(_record("a", loss=float("nan"), spectrum=np.array([1.0, 2.0]), count=np.int64(3)))
    record = store.read_record("a")
    assert record["metrics"] == {"loss": "nan", "spectrum": [1.0, 2.0], "count": 3}
    assert math.isnan(metric_value(record, "loss")) and metric_value(record, "count") == 3.0
    assert store.read_record("missing") is None
    with pytest.raises(ValueError, match="record status must be one of"):
        store.write_record({**_record("b"), "status": "running"})


def test_needs_run_skips_ended_runs_of_the_same_fingerprint(tmp_path):
    store = ResultStore(tmp_path).create()
    store.write_record(_record("done"))
    store.write_record(_record("nan", status=DIVERGED))
    store.write_record(_record("broken", status=FAILED))
    assert not store.needs_run("done", "abc", retry_failed=True)
    assert store.needs_run("done", "changed", retry_failed=False)  # a changed sweep file reruns
    assert not store.needs_run("nan", "abc", retry_failed=True)
    assert not store.needs_run("broken", "abc", retry_failed=False)
    assert store.needs_run("broken", "abc", retry_failed=True)
    assert store.needs_run("never", "abc", retry_failed=False)


def test_table_flattens_nested_metrics_and_factors(tmp_path):
    store = ResultStore(tmp_path).create()
    store.write_record(_record("a", band_errors={"low": 0.5, "high": 2.0}, note="text"))
    store.write_record({**_record("b", status=FAILED), "error": "ValueError: bad\nTraceback..."})
    with open(store.write_table(), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["run_id"] for row in rows] == ["a", "b"]
    assert rows[0]["band_errors.high"] == "2.0" and rows[0]["activation"] == "gelu" and "note" not in rows[0]
    assert rows[1]["error"] == "ValueError: bad"  # first line only
    assert flatten_record(_record("c", loss="inf"))["loss"] == math.inf
    assert math.isnan(metric_value(_record("d", band_errors={"low": 1.0}), "band_errors.high"))


def test_a_broken_record_or_a_missing_directory_is_one_error(tmp_path):
    with pytest.raises(DataError, match="not a results directory"):
        ResultStore(tmp_path / "nowhere").records()
    store = ResultStore(tmp_path).create()
    store.record_path("a").write_text("{not json")
    with pytest.raises(DataError, match="not a valid run record"):
        store.read_record("a")


def _write_log(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "val/relative_l2", "val/loss", "train/loss"])
        writer.writeheader()
        writer.writerows(rows)


def test_best_validation_is_the_epoch_with_the_lowest_finite_relative_l2(tmp_path):
    log = tmp_path / "metrics.csv"
    _write_log(log, [{"epoch": 0, "val/relative_l2": 0.5, "val/loss": 1.0},
                     {"epoch": 0, "train/loss": 0.1},  # a training row: no validation score
                     {"epoch": 1, "val/relative_l2": "nan", "val/loss": 0.1},
                     {"epoch": 2, "val/relative_l2": 0.2, "val/loss": 0.4},
                     {"epoch": 3, "val/relative_l2": 0.3, "val/loss": 0.3}])
    assert best_validation(log) == {"val/relative_l2": 0.2, "val/loss": 0.4}
    _write_log(log, [{"epoch": 0, "train/loss": 0.1}])
    assert best_validation(log) == {}


def test_collect_run_files_merges_the_log_and_the_probes_summaries(tmp_path):
    run_dir = tmp_path / "runs" / "a"
    _write_log(run_dir / "logs" / "metrics.csv", [{"epoch": 0, "val/relative_l2": 0.25, "val/loss": 0.5}])
    (run_dir / "spectral_test.json").write_text(json.dumps({"band_errors": {"low": 0.1}}))
    (run_dir / "rollout_test.json").write_text(json.dumps({"rollout": {"relative_l2": [0.1, 0.2]}}))
    extra = collect_run_files(run_dir, {"log_dir": str(run_dir / "logs")})
    assert extra == {"val/relative_l2": 0.25, "val/loss": 0.5, "band_errors": {"low": 0.1},
                     "rollout": {"relative_l2": [0.1, 0.2]}}
    assert collect_run_files(tmp_path / "runs" / "empty", {}) == {}
