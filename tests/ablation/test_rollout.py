"""RolloutProbe on a tiny trained Navier-Stokes model, against an independent rollout of the test set."""

import json

import h5py
import numpy as np
import pytest
import torch

from opkit.ablation.rollout import ROLLOUT_FILE, probe_steps
from opkit.spectral.metrics import EMPTY_SHELL_FRACTION, complete_shells, energy_spectrum
from opkit.spectral.shells import relative_band_errors
from opkit.training.inference import load_operator
from opkit.training.run import run_experiment

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

HISTORY = 2
N_MODES = 4


def tiny_navier_stokes(path, n_samples=12):
    """The tiny preset (16^2) run to t = 2.5: 6 frames, so history 2 leaves a 4-step rollout."""
    from opkit.data.generate import generate_preset

    return generate_preset("navier_stokes", "tiny", n_samples, path, overrides={"final_time": 2.5}, progress=False)


def tiny_step_config(data_path, max_epochs=2) -> dict:
    return {
        "model": {"model": "fno", "width": 8, "n_modes": N_MODES, "n_layers": 2, "lr": 5e-3, "scheduler": "none"},
        "data": {"path": str(data_path), "n_train": 8, "n_val": 1, "n_test": 3, "batch_size": 2, "task": "step",
                 "history": HISTORY},
        "trainer": {"max_epochs": max_epochs, "accelerator": "cpu", "enable_model_summary": False,
                    "enable_progress_bar": False},
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("rollout")
    data = tiny_navier_stokes(root / "ns.h5")
    run_dir = root / "run"
    result = run_experiment(tiny_step_config(data), {"trainer.callbacks": [
        {"class_path": "opkit.ablation.rollout.RolloutProbe"}]}, run_dir=run_dir, seed=0, progress_bar=False)
    record = json.loads((run_dir / ROLLOUT_FILE).read_text())["rollout"]
    return data, result, record


def independent_rollout(data, result):
    """Test trajectories read straight from the file and the best checkpoint rolled out over them."""
    operator = load_operator(result["checkpoint"])
    test = operator.data_description["split"]["test"]
    with h5py.File(data) as handle:
        vorticity = torch.as_tensor(np.asarray(handle["t0_fields/vorticity"][sorted(test)]), dtype=torch.float32)
    # (trajectories, frames, x, y) -> frames as channels: the first HISTORY are the input
    with torch.no_grad():
        prediction = operator.rollout(vorticity[:, :HISTORY], vorticity.shape[1] - HISTORY)
    return prediction.double(), vorticity[:, HISTORY:].double()


def test_per_step_error_matches_an_independent_rollout(trained):
    data, result, record = trained
    prediction, truth = independent_rollout(data, result)
    n_steps = truth.shape[1]
    assert record["steps"] == list(range(1, n_steps + 1)) and record["trajectories"] == 3
    assert record["frames"] == [HISTORY + s - 1 for s in record["steps"]]  # frames 2..5 of 0..5
    per_trajectory = (prediction - truth).flatten(2).norm(dim=2) / truth.flatten(2).norm(dim=2)  # (traj, steps)
    assert record["relative_l2"] == pytest.approx(per_trajectory.mean(0).tolist(), rel=1e-4)
    # the module's own logged per-step errors (test/rollout_relative_l2_step<s>) agree too
    logged = [result[f"rollout/rollout_relative_l2_step{s}"] for s in record["steps"]]
    assert record["relative_l2"] == pytest.approx(logged, rel=1e-4)
    assert record["relative_l2"][-1] > record["relative_l2"][0]  # errors grow along the rollout


def test_spectra_at_three_steps(trained):
    data, result, record = trained
    prediction, truth = independent_rollout(data, result)
    n_steps = truth.shape[1]
    assert probe_steps(n_steps) == {"early": 1, "middle": 2, "final": 4}
    top = complete_shells(truth.shape[-2:])
    n_fields = truth.shape[0]
    for name, step in probe_steps(n_steps).items():
        at = record["at"][name]
        assert at["step"] == step and at["frame"] == HISTORY + step - 1 and at["mode_cutoff"] == N_MODES
        predicted, true = prediction[:, step - 1:step], truth[:, step - 1:step]  # (traj, 1, x, y)
        # Parseval: whole spectra sum to the mean squares of the fields, computed here without an FFT
        assert at["energy"]["true"] == pytest.approx(float(true.square().mean()), rel=1e-6)
        assert at["energy"]["pred"] == pytest.approx(float(predicted.square().mean()), rel=1e-4)
        assert at["energy"]["error"] == pytest.approx(float((predicted - true).square().mean()), rel=1e-4)
        assert sum(at["band_mse"].values()) == pytest.approx(at["energy"]["error"], rel=1e-9)
        # the recorded spectra (up to the highest complete shell) are the pooled shell energies
        pooled = {key: energy_spectrum(field).reshape(-1, energy_spectrum(field).shape[-1]).sum(0)
                  for key, field in (("true", true), ("pred", predicted), ("error", predicted - true))}
        assert len(at["energy_spectrum_true"]) == top + 1
        assert at["energy_spectrum_true"] == pytest.approx(pooled["true"][:top + 1].tolist(), rel=1e-6)
        assert at["energy_spectrum_pred"] == pytest.approx(pooled["pred"][:top + 1].tolist(), rel=1e-4)
        relative = (pooled["error"] / pooled["true"])[:top + 1]
        empty = pooled["true"][:top + 1] <= EMPTY_SHELL_FRACTION * pooled["true"].max()  # k = 0: zero-mean vorticity
        relative[empty] = float("nan")
        assert at["error_spectrum"] == pytest.approx(relative.tolist(), rel=1e-3, nan_ok=True)
        beyond = float(pooled["true"][top + 1:].sum())  # the grid's corner shells, not in the recorded list
        assert sum(at["energy_spectrum_true"]) + beyond == pytest.approx(at["energy"]["true"] * n_fields, rel=1e-6)
        expected = relative_band_errors(predicted, true, "cutoff", mode_cutoff=N_MODES)
        assert at["band_errors"] == pytest.approx(expected, rel=1e-3, nan_ok=True)
        assert set(at["band_errors"]) == {"low", "mid", "high"}
