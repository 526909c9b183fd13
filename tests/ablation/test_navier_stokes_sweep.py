"""The shipped Navier-Stokes sweep, shrunk (2 entries x 2 seeds, tiny data), through `opkit ablate`."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opkit.ablation.spec import ROLLOUT_CLASS, expand, run_overrides
from opkit.ablation.sweep_file import load_sweep, parse_sweep
from opkit.ablation.store import ResultStore

sys.path.insert(0, str(Path(__file__).parent))
from test_rollout import tiny_navier_stokes  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED = REPOSITORY / "configs" / "ablation" / "activations_navier_stokes_fno.yaml"
TINY = {"data.n_samples": 12, "data.n_train": 8, "data.n_val": 1, "data.n_test": 3, "data.batch_size": 4,
        "data.history": 2, "model.width": 8, "model.n_modes": 4, "model.n_layers": 2, "trainer.max_epochs": 1}


def test_shipped_sweep_shape():
    sweep = load_sweep(SHIPPED)
    specs = expand(sweep)
    activations = [value.label for value in sweep.axes["activation"]]
    assert {"linear", "lstsq"} <= set(activations) and len(activations) >= 6 and len(sweep.seeds) == 6
    assert len(specs) == len(activations) * 6
    for spec in specs:  # every run is tested by rollout, so every run gets the rollout probe
        callbacks = run_overrides(spec)["trainer.callbacks"]
        assert [c["class_path"] for c in callbacks].count(ROLLOUT_CLASS) == 1
    lstsq = next(s for s in specs if s.factors["activation"] == "lstsq")
    assert lstsq.overrides["model.model"] == "linear_fourier" and lstsq.overrides["data.task"] == "step"


def test_static_task_runs_get_no_rollout_probe(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"data": {"path": "x.h5"}}))
    sweep = parse_sweep({"name": "s", "base_config": str(base), "seeds": [0], "axes": {"activation": ["gelu"]}})
    (spec,) = expand(sweep)
    assert ROLLOUT_CLASS not in [c["class_path"] for c in run_overrides(spec)["trainer.callbacks"]]


def test_tiny_navier_stokes_sweep_records_the_rollout(tmp_path):
    data = tiny_navier_stokes(tmp_path / "ns.h5")
    shipped = yaml.safe_load(SHIPPED.read_text())
    shipped["base_config"] = str((SHIPPED.parent / shipped["base_config"]).resolve())
    shipped["overrides"].update({**TINY, "data.path": str(data)})
    shipped["axes"]["activation"] = ["lstsq", "gelu"]
    shipped["seeds"] = [0, 1]
    sweep = tmp_path / "tiny_navier_stokes.yaml"
    sweep.write_text(yaml.safe_dump(shipped))
    results = tmp_path / "results"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    finished = subprocess.run([sys.executable, "-m", "opkit.cli", "ablate", str(sweep), "--results", str(results)],
                              env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "4 finished, 0 diverged, 0 failed of 4 runs" in finished.stdout

    records = ResultStore(results).records()
    assert sorted(r["factors"]["activation"] for r in records) == ["gelu", "gelu", "lstsq", "lstsq"]
    for record in records:
        metrics = record["metrics"]
        rollout = metrics["rollout"]
        assert rollout["steps"] == [1, 2, 3, 4] and rollout["frames"] == [2, 3, 4, 5]
        assert rollout["trajectories"] == 3
        # the probe's per-step errors are the module's logged ones, from the same checkpoint
        assert rollout["relative_l2"] == pytest.approx(
            [metrics[f"rollout/rollout_relative_l2_step{s}"] for s in rollout["steps"]], rel=1e-4)
        assert all(math.isfinite(v) and v > 0 for v in rollout["relative_l2"])
        assert [rollout["at"][name]["step"] for name in ("early", "middle", "final")] == [1, 2, 4]
        for at in rollout["at"].values():
            assert set(at["band_errors"]) == {"low", "mid", "high"} and at["mode_cutoff"] == 4
            assert len(at["error_spectrum"]) == len(at["energy_spectrum_true"]) == len(at["energy_spectrum_pred"]) == 9
        assert metrics["band_errors"] and metrics["dynamics_csv"]  # the one-step probes still record
    lstsq = [r for r in records if r["factors"]["activation"] == "lstsq"]
    assert all(r["spec"]["overrides"]["model.model"] == "linear_fourier" and r["metrics"]["epochs"] == 1
               for r in lstsq)
    # the report ranks on the rollout error
    summary = json.loads((results / "report" / "summary.json").read_text())
    assert summary["metric"] == "rollout/relative_l2"
    gelu = [r["metrics"]["rollout/relative_l2"] for r in records if r["factors"]["activation"] == "gelu"]
    (setting,) = summary["settings"].values()  # one operator: one setting
    assert setting["gelu"]["mean"] == pytest.approx(sum(gelu) / 2)
