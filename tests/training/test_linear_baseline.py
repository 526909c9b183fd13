"""The closed-form linear baseline through the real path: sweep entry, Lightning fit, checkpoint, CLI.

Data: the heat equation's solution map u(T) = exp(T nu d_xx) a on the periodic unit
interval (per Fourier mode a multiplier exp(-nu T (2 pi k)^2)), stored in float32 like any
dataset. The ``lstsq`` entry of a sweep fits ``linear_fourier`` in one pass over the
training loader; the reloaded checkpoint must be that operator to 1e-6.
"""

import json
import math

import numpy as np
import pytest
import torch
import yaml

from opkit.ablation.spec import expand, run_overrides
from opkit.ablation.sweep_file import parse_sweep
from opkit.cli import main
from opkit.data.schema import FieldLayout
from opkit.data.writer import create_file, finalize, write_samples
from opkit.training.inference import load_operator
from opkit.training.run import run_experiment

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

GRID, NU_T, N_SAMPLES = 64, 0.002, 48  # exp(-NU_T (2 pi 16)^2) = 1.7e-9 above the 16 kept modes


def heat_multipliers(n):
    k = np.fft.rfftfreq(n, 1.0 / n)
    return np.exp(-NU_T * (2 * math.pi * k) ** 2)


def heat(a):
    return np.fft.irfft(np.fft.rfft(a) * heat_multipliers(a.shape[-1]), n=a.shape[-1])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("heat")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(N_SAMPLES, GRID)) + 0.5  # every mode excited, and a nonzero mean
    fields = [FieldLayout("coefficient", ("x",), (GRID,), "a(x)"), FieldLayout("solution", ("x",), (GRID,), "u(T, x)")]
    handle = create_file(root / "heat.h5", pde="heat", preset="test", solver="exact (Fourier multipliers)", params={},
                         fields=fields, coords={"x": np.arange(GRID) / GRID}, boundary_conditions={"x": "periodic"},
                         n_samples=N_SAMPLES, base_seed=0)
    write_samples(handle, np.arange(N_SAMPLES), {"coefficient": a.astype(np.float32),
                                                 "solution": heat(a).astype(np.float32)})
    finalize(handle)
    handle.close()
    base = root / "base.yaml"  # an FNO config, as an ablation's base config would be
    base.write_text(yaml.safe_dump({
        "model": {"model": "fno", "width": 8, "n_modes": 16, "n_layers": 2, "model_kwargs": {"coordinates": True},
                  "scheduler": "cosine"},
        "data": {"path": str(root / "heat.h5"), "n_train": 32, "n_val": 8, "n_test": 8, "batch_size": 8},
        "trainer": {"max_epochs": 5, "accelerator": "cpu", "enable_model_summary": False,
                    "enable_progress_bar": False}}))
    sweep = parse_sweep({"name": "heat", "seeds": [0], "base_config": str(base), "baseline": "linear",
                         "axes": {"activation": ["linear", "lstsq"]}})
    spec = next(run for run in expand(sweep) if run.factors["activation"] == "lstsq")
    result = run_experiment(str(base), run_overrides(spec), run_dir=root / "lstsq", seed=0, progress_bar=False)
    return root, result


def test_lstsq_entry_recovers_the_heat_operator(fitted):
    _, result = fitted
    assert result["epochs"] == 1 and result["test/relative_l2"] < 1e-6
    operator = load_operator(result["checkpoint"])
    assert type(operator.model).__name__ == "LinearFourier" and operator.model.n_modes == (16,)
    assert torch.equal(operator.input_normalizer.mean, torch.zeros(1))  # scale-only: the map stays linear
    operator = operator.double()
    a = torch.randn(6, 1, GRID, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    exact = torch.from_numpy(heat(a.numpy()))
    with torch.no_grad():
        assert ((operator(a) - exact).norm() / exact.norm()).item() < 1e-6
        # the per-mode multipliers of the physical-units operator, read off one Fourier mode at a time
        x = torch.arange(GRID, dtype=torch.float64) / GRID
        for k in (0, 1, 5, 15):
            wave = torch.cos(2 * math.pi * k * x).view(1, 1, GRID)
            gain = (operator(wave) * wave).sum() / (wave * wave).sum()
            assert gain.item() == pytest.approx(heat_multipliers(GRID)[k], abs=1e-6)


def test_save_load_evaluate_and_spectral_commands(fitted, tmp_path, capsys):
    root, result = fitted
    assert main(["evaluate", "--ckpt", result["checkpoint"], "--data", str(root / "heat.h5"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["relative_l2"] < 1e-6
    # zero-shot on a finer grid: the operator is defined per Fourier mode, not per grid point
    a = np.random.default_rng(1).normal(size=(4, 2 * GRID))
    fine = load_operator(result["checkpoint"]).predict(torch.from_numpy(a).float().unsqueeze(1)).squeeze(1).numpy()
    assert np.linalg.norm(fine - heat(a)) / np.linalg.norm(heat(a)) < 1e-5  # float32 inputs
    out = tmp_path / "spectral"
    assert main(["spectral", "--ckpt", result["checkpoint"], "--labels", "lstsq", "--data", str(root / "heat.h5"),
                 "--out", str(out), "--mode-cutoff", "8"]) == 0
    assert (out / "spectral_summary.csv").is_file() and "lstsq" in capsys.readouterr().out
