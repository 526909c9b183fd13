"""The sweep runner with the fake training function: statuses, resume, retry, workers, lr sweep."""

import json
from pathlib import Path

import pytest

from opkit.ablation.runner import run_sweep, threads_per_worker
from opkit.ablation.spec import expand, run_overrides
from opkit.ablation.sweep_file import parse_sweep
from opkit.ablation.store import ResultStore
from opkit.errors import ConfigError

FAKE = str(Path(__file__).with_name("fake_run.py")) + ":run"


def sweep(tmp_path, activations, seeds=(0, 1), **extra):
    return parse_sweep({
        "name": "t", "seeds": list(seeds), "baseline": activations[0], "entry": FAKE,
        "overrides": {"fake.log_dir": str(tmp_path / "log")},
        "axes": {"activation": list(activations)}, **extra,
    })


def executions(tmp_path):
    return sorted(p.name.split(".")[0] for p in (tmp_path / "log").iterdir())


def test_statuses_resume_and_retry(tmp_path):
    s = sweep(tmp_path, ["gelu", "nan", "crash"])
    counts = run_sweep(s, tmp_path / "results")
    assert counts == {"finished": 2, "diverged": 2, "failed": 2, "total": 6}
    store = ResultStore(tmp_path / "results")
    diverged = store.read_record("nan__seed0")
    assert diverged["status"] == "diverged" and diverged["diverged_epoch"] == 3
    failed = store.read_record("crash__seed1")
    assert failed["status"] == "failed" and "simulated crash" in failed["error"] and "Traceback" in failed["traceback"]
    finished = store.read_record("gelu__seed1")
    assert finished["metrics"]["test/relative_l2"] == pytest.approx(0.10 * (1 + 0.05 * ((7919 % 11) - 5) / 5))
    assert len(executions(tmp_path)) == 6

    run_sweep(s, tmp_path / "results")  # nothing left: failed runs are not retried by default
    assert len(executions(tmp_path)) == 6
    run_sweep(s, tmp_path / "results", retry_failed=True)
    assert len(executions(tmp_path)) == 8
    assert executions(tmp_path).count("crash__seed0") == 2 and executions(tmp_path).count("gelu__seed0") == 1

    table = (tmp_path / "results" / "runs.csv").read_text().splitlines()
    assert len(table) == 7 and table[0].startswith("run_id,phase,status,seed")
    assert "band_errors.high" in table[0]


def test_changed_sweep_reruns_only_changed_runs(tmp_path):
    run_sweep(sweep(tmp_path, ["gelu", "relu"]), tmp_path / "results")
    assert len(executions(tmp_path)) == 4
    run_sweep(sweep(tmp_path, ["gelu", "relu"], seeds=(0, 1, 2)), tmp_path / "results")
    assert len(executions(tmp_path)) == 6  # only the new seed


def test_parallel_workers_set_threads(tmp_path):
    counts = run_sweep(sweep(tmp_path, ["gelu", "relu"]), tmp_path / "results", workers=2)
    assert counts["finished"] == 4
    records = ResultStore(tmp_path / "results").records()
    expected = threads_per_worker(2)
    assert all(r["metrics"]["threads"] == expected for r in records)
    assert len({r["host"] for r in records}) == 1


def test_threads_per_worker():
    assert threads_per_worker(4, cores=16) == 4
    assert threads_per_worker(3, cores=2) == 1


def test_lr_sweep_selects_on_validation_not_test(tmp_path):
    s = sweep(tmp_path, ["gelu", "relu"], lr_sweep={"values": [1e-3, 2e-3], "overrides": {"fake.sleep": 0}})
    run_sweep(s, tmp_path / "results")
    selection = json.loads((tmp_path / "results" / "lr_selection.json").read_text())
    assert selection == {"gelu": 2e-3, "relu": 2e-3}  # the fake's validation error is lowest at 2e-3
    main = [r for r in ResultStore(tmp_path / "results").records() if r["phase"] == "main"]
    assert len(main) == 4 and all(r["learning_rate"] == 2e-3 for r in main)


def test_partial_fraction_becomes_activation_class(tmp_path):
    s = sweep(tmp_path, ["tanh"], seeds=(0,), axes={"activation": ["tanh"], "activation_fraction": [0.0, 0.5, 1.0]})
    specs = expand(s)
    overrides = [run_overrides(spec)["model.activation"] for spec in specs]
    assert overrides == ["partial_0_tanh", "partial_0.5_tanh", "tanh"]
    run_sweep(s, tmp_path / "results")
    seen = {r["factors"]["activation_fraction"]: r["metrics"]["activation_seen"]
            for r in ResultStore(tmp_path / "results").records()}
    assert seen == {"0.0": "partial_0_tanh", "0.5": "partial_0.5_tanh", "1.0": "tanh"}


def test_bad_workers(tmp_path):
    with pytest.raises(ConfigError, match="--workers must be a positive integer"):
        run_sweep(sweep(tmp_path, ["gelu"]), tmp_path / "r", workers=0)


class ImmediateExecutor:
    """Stands in for a submitit executor: submit runs the function and returns a done job."""

    def __init__(self):
        self.submitted = 0

    def submit(self, function, *args):
        self.submitted += 1
        result = function(*args)

        class Job:
            def result(self):
                return result

        return Job()


def test_cluster_executor_runs_the_same_entry_point(tmp_path):
    executor = ImmediateExecutor()
    counts = run_sweep(sweep(tmp_path, ["gelu", "relu"]), tmp_path / "results", executor=executor)
    assert executor.submitted == 4 and counts["finished"] == 4


def test_counts_cover_this_sweep_only(tmp_path):
    run_sweep(sweep(tmp_path, ["gelu", "relu"]), tmp_path / "results")
    counts = run_sweep(sweep(tmp_path, ["gelu"]), tmp_path / "results")
    assert counts == {"finished": 2, "failed": 0, "diverged": 0, "total": 2}
