"""Sweeps through the real training path (run_experiment) on a tiny hand-made dataset."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from opkit.ablation.callbacks import apply_init_hint, spectral_summary
from opkit.activations.partial import PartialActivation, partial_activation_name
from opkit.ablation.runner import run_sweep
from opkit.ablation.sweep_file import parse_sweep
from opkit.ablation.store import ResultStore
from opkit.spectral.shells import ShellSums, relative_band_errors, resolved_bandwidth, spectral_bias_index

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import tiny_base_config, write_dirichlet_file, write_tiny_file  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def base_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    data = write_tiny_file(root / "tiny.h5")
    path = root / "base.yaml"
    path.write_text(yaml.safe_dump(tiny_base_config(data)))
    return path


def test_tiny_sweep_killed_resumed_and_reported(base_config, tmp_path):
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(yaml.safe_dump({
        "name": "tiny", "base_config": str(base_config), "seeds": [0, 1], "baseline": "gelu",
        "axes": {"activation": ["gelu", "relu"]},
    }))
    results = tmp_path / "results"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "opkit.cli", "ablate", str(sweep), "--results", str(results)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not list((results / "records").glob("*.json")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {r["run_id"]: r["started"] for r in ResultStore(results).records()}
    assert 1 <= len(before) < 4

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "4 finished, 0 diverged, 0 failed of 4 runs" in finished.stdout

    records = ResultStore(results).records()
    assert len(records) == 4 and all(r["status"] == "finished" for r in records)
    for record in records:
        if record["run_id"] in before:  # finished before the kill: kept, not run again
            assert record["started"] == before[record["run_id"]]
        metrics = record["metrics"]
        assert metrics["parameters"] > 0 and metrics["epochs"] == 2 and metrics["flops_per_sample"] > 0
        assert set(metrics["band_errors"]) == set(metrics["band_mse"]) == {"low", "mid", "high"}
        assert sum(metrics["band_mse"].values()) == pytest.approx(metrics["test/mse"], rel=1e-3)
        assert isinstance(metrics["resolved_bandwidth"], int)
        assert (results / metrics["dynamics_csv"]).exists()
        assert 0 < metrics["val/relative_l2"] < 10

    summary = json.loads((results / "report" / "summary.json").read_text())["settings"]["all runs"]
    by_seed = {a: [r["metrics"]["test/relative_l2"] for r in sorted(records, key=lambda r: r["seed"])
                   if r["factors"]["activation"] == a] for a in ("gelu", "relu")}
    for activation, values in by_seed.items():
        assert summary[activation]["mean"] == pytest.approx(np.mean(values))
        assert summary[activation]["std"] == pytest.approx(np.std(values, ddof=1))
    ratio = np.exp(np.mean(np.log(np.array(by_seed["relu"]) / np.array(by_seed["gelu"]))))
    assert summary["relu"]["ratio"] == pytest.approx(ratio)
    report = (results / "report" / "report.md").read_text()
    assert f"{np.mean(by_seed['relu']):.4g}" in report and f"{ratio:.3g}" in report
    assert "dynamics_all_runs.png" in report


def test_nan_loss_is_recorded_as_diverged(base_config, tmp_path):
    sweep = parse_sweep({"name": "diverge", "base_config": str(base_config), "seeds": [0], "baseline": "gelu",
                         "overrides": {"model.lr": 1e30}, "axes": {"activation": ["gelu"]}})
    assert run_sweep(sweep, tmp_path / "results")["diverged"] == 1
    record = ResultStore(tmp_path / "results").read_record("gelu__seed0")
    assert record["status"] == "diverged" and record["diverged_epoch"] == 0


def test_probe_summary_matches_spectral_metrics():
    torch.manual_seed(0)
    x = torch.linspace(0, 1, 64, dtype=torch.float64)[:-1]
    k = torch.arange(1, 20, dtype=torch.float64)
    target = (torch.randn(10, 2, 19, 1, dtype=torch.float64) / k[:, None] * torch.sin(2 * torch.pi * k[:, None] * x)).sum(2)
    prediction = target + 0.05 * torch.randn_like(target) * torch.linspace(0.1, 1, 63, dtype=torch.float64)
    # pooled over two test batches, as the callback does
    sums = ShellSums.of(prediction[:4], target[:4]) + ShellSums.of(prediction[4:], target[4:])
    summary = spectral_summary(sums, threshold=0.01, mode_cutoff=8)
    expected = relative_band_errors(prediction, target, "cutoff", mode_cutoff=8)
    # absolute band errors sum to the MSE (Parseval)
    assert sum(summary["band_mse"].values()) == pytest.approx(float(((prediction - target) ** 2).mean()))
    assert summary["band_errors"] == pytest.approx(expected)
    assert summary["resolved_bandwidth"] == resolved_bandwidth(prediction, target, threshold=0.01)
    bias = spectral_bias_index(prediction, target, mode_cutoff=8)
    assert summary["spectral_bias"]["high_low_ratio"] == pytest.approx(bias["high_low_ratio"])
    assert summary["spectral_bias"]["slope"] == pytest.approx(bias["slope"])


def test_init_hints_follow_the_registry():
    from opkit.models import build_model

    model = build_model("fno", in_channels=1, out_channels=1, width=8, n_modes=[4], n_layers=2, activation="sine")
    spectral_before = [p.clone() for p in model.parameters() if p.is_complex()]
    assert apply_init_hint(model, "sine") == "siren"
    layers = [m for m in model.modules() if isinstance(getattr(m, "weight", None), torch.nn.Parameter)
              and m.weight.dim() >= 2 and not m.weight.is_complex()]
    fan_in = layers[0].weight[0].numel()
    assert layers[0].weight.abs().max() <= 1 / fan_in
    for layer in layers[1:]:
        assert layer.weight.abs().max() <= np.sqrt(6 / layer.weight[0].numel()) / 30
    for before, after in zip(spectral_before, [p for p in model.parameters() if p.is_complex()]):
        assert torch.equal(before, after)
    weights = [p.clone() for p in model.parameters()]
    assert apply_init_hint(model, "gelu") == "default"
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))


def test_partial_activation_inside_a_model():
    from opkit.models import build_model

    name = partial_activation_name("snake", 0.5)
    assert partial_activation_name("snake", 0.5) == name == "partial_0.5_snake"
    model = build_model("fno", in_channels=1, out_channels=1, width=8, n_modes=[4], n_layers=2, activation=name)
    partials = [m for m in model.modules() if isinstance(m, PartialActivation)]
    assert partials and 8 in [m.num_channels for m in partials]
    assert all(m.active_channels == m.num_channels // 2 for m in partials)
    assert all(sum(p.numel() for p in m.parameters()) == m.active_channels for m in partials)
    assert model(torch.randn(2, 1, 16)).shape == (2, 1, 16)


def test_lr_sweep_selects_on_validation_from_the_training_logs(base_config, tmp_path):
    sweep = parse_sweep({"name": "lr", "base_config": str(base_config), "seeds": [0], "baseline": "gelu",
                         "axes": {"activation": ["gelu"]}, "probes": False,
                         "lr_sweep": {"values": [1e-4, 1e-2], "overrides": {"trainer.max_epochs": 2}}})
    run_sweep(sweep, tmp_path / "results")
    store = ResultStore(tmp_path / "results")
    val = {r["learning_rate"]: r["metrics"]["val/relative_l2"] for r in store.records() if r["phase"] == "lr_sweep"}
    assert set(val) == {1e-4, 1e-2}
    selected = json.loads((tmp_path / "results" / "lr_selection.json").read_text())["gelu"]
    assert selected == min(val, key=val.get)
    assert store.read_record("gelu__seed0")["learning_rate"] == selected


def test_record_alone_carries_dynamics_aliasing_and_learned_shapes(base_config, tmp_path):
    """What a shipped record needs for the report's figures, checked against the run's own files."""
    from opkit.spectral.dynamics import read_dynamics, table_from_record
    from opkit.training.inference import load_operator

    sweep = parse_sweep({"name": "ship", "base_config": str(base_config), "seeds": [0], "baseline": "relu",
                         "axes": {"activation": ["snake", "relu"]}})
    results = tmp_path / "results"
    assert run_sweep(sweep, results)["finished"] == 2
    store = ResultStore(results)
    for record in store.records():
        metrics = record["metrics"]
        table = read_dynamics(results / metrics["dynamics_csv"])
        shipped = table_from_record(json.loads(json.dumps(metrics["dynamics"])))
        assert np.array_equal(shipped.epochs, table.epochs)
        np.testing.assert_allclose(shipped.errors, table.errors, rtol=1e-4, equal_nan=True)
        # aliasing: the same hooks on the trained module give the recorded shares
        checkpoint = Path(metrics["checkpoint"])
        module = load_operator(checkpoint if checkpoint.is_absolute() else results / checkpoint)
        assert 0 <= metrics["aliasing_mean"] <= 1 and set(metrics["aliasing"]) >= {"model.layers.0.activation"}
        hidden = [v for name, v in metrics["aliasing"].items() if "projection" not in name]
        assert metrics["aliasing_mean"] == pytest.approx(np.mean(hidden))
        assert all(0 <= v <= 1 for v in metrics["aliasing"].values())
        shapes = metrics.get("learned_activation")
        if record["factors"]["activation"] == "relu":
            assert shapes is None  # nothing learnable to draw
            continue
        layer = module.model.get_submodule(shapes["layers"][0]["name"])
        x = torch.tensor(shapes["x"])
        channels = next(layer.parameters()).shape[-1]
        with torch.no_grad():
            y = layer(x.expand(channels, -1).unsqueeze(0).clone())[0]
        np.testing.assert_allclose(shapes["layers"][0]["mean"], y.mean(0).numpy(), rtol=1e-5, atol=1e-6)
        assert not np.allclose(shapes["layers"][0]["mean"], shapes["initial"])  # trained away from the init


def test_non_periodic_data_get_sine_basis_bands(tmp_path):
    """On Dirichlet data the probe adds sine-basis shells; a zero-boundary field's sine energy is its mean square."""
    n, count = 17, 24
    x = np.linspace(0, 1, n)
    rng = np.random.default_rng(0)
    c = rng.normal(size=(count, 3))
    a = sum(c[:, m, None, None] * np.sin(np.pi * (m + 1) * x)[:, None] * np.sin(np.pi * x)[None] for m in range(3))
    u = 0.5 * a
    path = write_dirichlet_file(tmp_path / "dirichlet.h5", a, u)
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({
        "model": {"model": "fno", "width": 8, "n_modes": 4, "n_layers": 2, "lr": 1e-2, "scheduler": "none"},
        "data": {"path": str(path), "n_train": 16, "n_val": 4, "n_test": 4, "batch_size": 8},
        "trainer": {"max_epochs": 1, "accelerator": "cpu"}}))
    sweep = parse_sweep({"name": "sine", "base_config": str(base), "seeds": [0], "baseline": "gelu",
                         "axes": {"activation": ["gelu"]}, "probes": {"dynamics": False}})
    assert run_sweep(sweep, tmp_path / "results")["finished"] == 1
    metrics = ResultStore(tmp_path / "results").records()[0]["metrics"]
    assert set(metrics["sine_band_errors"]) == {"low", "mid", "high"}
    true = np.array(metrics["sine_energy_spectrum_true"])
    # the target vanishes on the boundary: Parseval in the sine basis, pooled over the 4 test samples,
    # gives 4 x the mean square; every test sample's energy is one of the 24 samples' energies
    energies = (u ** 2).mean(axis=(1, 2))
    assert any(np.isclose(true.sum(), sum(energies[list(chosen)]), rtol=1e-4)
               for chosen in itertools.combinations(range(count), 4))
