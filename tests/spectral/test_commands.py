"""``opkit spectral`` on real checkpoints of a tiny FNO, and ``opkit spectral-probe``."""

import csv
import math

import lightning.pytorch as pl
import numpy as np
import pytest
import scipy.io
import torch
from lightning.pytorch.loggers import CSVLogger

from opkit.cli import main
from opkit.data.datamodule import PDEDataModule
from opkit.data.dataset import PDEDataset
from opkit.spectral.dynamics import SpectralDynamics
from opkit.spectral.probes import band_limited_functions
from opkit.spectral.report import summarise
from opkit.training.inference import load_operator
from opkit.training.module import OperatorModule

N = 64


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An FNO-layout Burgers .mat file (u = smoothed a) and two trained checkpoints with dynamics CSVs."""
    root = tmp_path_factory.mktemp("spectral_cli")
    a = band_limited_functions(24, N, 8, torch.Generator().manual_seed(0))[:, 0]
    u = 0.25 * torch.roll(a, 1, -1) + 0.5 * a + 0.25 * torch.roll(a, -1, -1)
    data = root / "burgers.mat"
    scipy.io.savemat(str(data), {"a": a.numpy().astype(np.float32), "u": u.numpy().astype(np.float32)})
    checkpoints = []
    for activation in ("gelu", "relu"):
        torch.manual_seed(0)
        run = root / activation
        module = OperatorModule(model="fno", spatial_dims=1, width=8, n_modes=8, n_layers=2, activation=activation,
                                lr=1e-2, scheduler="none")
        datamodule = PDEDataModule(str(data), n_train=16, n_val=4, n_test=4, batch_size=8)
        trainer = pl.Trainer(max_epochs=2, accelerator="cpu", default_root_dir=run, logger=CSVLogger(run / "logs"),
                             callbacks=[SpectralDynamics(n_samples=4)], enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(module, datamodule=datamodule)
        checkpoint = run / "checkpoints" / "last.ckpt"
        checkpoint.parent.mkdir(parents=True)
        trainer.save_checkpoint(checkpoint)
        checkpoints.append(checkpoint)
    return data, checkpoints


def test_spectral_command_writes_table_and_figures(runs, tmp_path, capsys):
    data, checkpoints = runs
    out = tmp_path / "report"
    code = main(["spectral", "--ckpt", *map(str, checkpoints), "--labels", "gelu", "relu", "--data", str(data),
                 "--out", str(out), "--n-samples", "8", "--mode-cutoff", "4"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "resolved_bandwidth" in printed and "gelu" in printed and "relu" in printed
    for name in ("error_spectrum.png", "spectral_ratio.png", "prediction_gelu.png", "prediction_relu.png",
                 "dynamics_heatmap.png", "time_to_learn.csv", "spectral_summary.csv"):
        assert (out / name).is_file(), name
    with open(out / "spectral_summary.csv") as handle:
        rows = {row["model"]: row for row in csv.DictReader(handle)}
    # the numbers are summarise() of the loaded operator's predictions on the first 8 samples
    dataset = PDEDataset(data)
    inputs = torch.stack([dataset[i][0] for i in range(8)])
    target = torch.stack([dataset[i][1] for i in range(8)])
    expected = summarise(load_operator(checkpoints[1]).predict(inputs), target, mode_cutoff=4)  # high band: shells 5..8
    for key in ("relative_l2", "low", "high", "pdebench_low", "well_nmse_high"):
        assert float(rows["relu"][key]) == pytest.approx(expected[key], rel=1e-4)
    assert int(rows["relu"]["resolved_bandwidth"]) == expected["resolved_bandwidth"]
    with open(out / "time_to_learn.csv") as handle:
        learned = list(csv.DictReader(handle))
    assert {row["model"] for row in learned} == {"gelu", "relu"}
    finite = [float(row["epoch_within_2x_of_final"]) for row in learned if not math.isnan(float(row["epoch_within_2x_of_final"]))]
    assert finite and all(epoch in (0.0, 1.0, 2.0) for epoch in finite)


def test_spectral_command_bad_input(runs, tmp_path, capsys):
    data, checkpoints = runs
    assert main(["spectral", "--ckpt", str(tmp_path / "none.ckpt"), "--data", str(data), "--out", str(tmp_path)]) == 2
    assert "none.ckpt: checkpoint not found" in capsys.readouterr().err
    code = main(["spectral", "--ckpt", str(checkpoints[0]), "--labels", "a", "b", "--data", str(data), "--out", str(tmp_path)])
    assert code == 2
    assert "--labels: expected 1 labels" in capsys.readouterr().err


def test_spectral_probe_command(tmp_path, capsys):
    out = tmp_path / "probe"
    code = main(["spectral-probe", "--out", str(out), "--activations", "relu", "tanh", "--iterations", "20",
                 "--record-every", "10", "--repeats", "1", "--frequencies", "2", "4"])
    assert code == 0
    with open(out / "probe_function.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 3 * 2  # activations x recorded iterations (0, 10, 20) x frequencies
    assert (out / "probe_function.png").is_file()
    capsys.readouterr()
    assert main(["spectral-probe", "--kind", "aliasing", "--out", str(out), "--activations", "relu", "identity",
                 "--repeats", "1", "--n-modes", "8", "--width", "4"]) == 0
    printed = capsys.readouterr().out
    relu_line = next(line for line in printed.splitlines() if line.startswith("relu "))
    identity_line = next(line for line in printed.splitlines() if line.startswith("identity "))
    relu = [float(cell.split("=")[1]) for cell in relu_line.split()[1:]]
    identity = [float(cell.split("=")[1]) for cell in identity_line.split()[1:]]
    assert len(relu) == len(identity) == 3  # layers.0..2.activation feed a spectral convolution
    assert min(relu) > 1e-6  # ReLU moves energy above the cutoff
    assert max(identity) < 1e-8  # a linear FNO keeps band-limited signals band-limited


def test_each_checkpoint_records_its_own_dynamics(runs):
    _, checkpoints = runs
    for checkpoint in checkpoints:
        recorded = load_operator(checkpoint).dynamics_path
        run = checkpoint.parent.parent
        assert recorded is not None and str(run.resolve()) in recorded and recorded.endswith("spectral_dynamics.csv")


def test_unrelated_dynamics_under_the_working_folder_are_never_attached(runs, tmp_path, monkeypatch, capsys):
    """Bare checkpoint paths (as for shipped names) have no run folder: a recursive search found any run's CSV."""
    data, checkpoints = runs
    monkeypatch.chdir(tmp_path)
    for name, source in zip(("first.ckpt", "second.ckpt"), checkpoints):
        contents = torch.load(source, map_location="cpu", weights_only=False)
        contents["opkit"].pop("dynamics", None)  # a checkpoint from before runs recorded their dynamics
        torch.save(contents, tmp_path / name)
    unrelated = tmp_path / "runs" / "burgers_sweep" / "logs" / "version_0"
    unrelated.mkdir(parents=True)
    another_run = next(checkpoints[0].parent.parent.glob("**/spectral_dynamics.csv"))  # a real CSV
    (unrelated / "spectral_dynamics.csv").write_bytes(another_run.read_bytes())
    assert main(["spectral", "--ckpt", "first.ckpt", "second.ckpt", "--data", str(data), "--out", "report",
                 "--n-samples", "4", "--mode-cutoff", "4"]) == 0
    printed = capsys.readouterr().out
    assert not (tmp_path / "report" / "dynamics_heatmap.png").exists()
    assert not (tmp_path / "report" / "time_to_learn.csv").exists()
    assert "no learning dynamics for first, second" in printed


def test_mode_cutoff_is_the_models_n_modes(runs, tmp_path, monkeypatch, capsys):
    """The fixture's FNOs keep 8 modes on a 64-point grid; half the grid would be 16."""
    from opkit.spectral import plots

    data, checkpoints = runs
    drawn = []
    original = plots.plot_error_spectrum

    def recording(*args, **kwargs):
        drawn.append(kwargs["mode_cutoff"])
        return original(*args, **kwargs)

    monkeypatch.setattr(plots, "plot_error_spectrum", recording)
    out = tmp_path / "report"
    assert main(["spectral", "--ckpt", str(checkpoints[0]), "--labels", "gelu", "--data", str(data), "--out",
                 str(out), "--n-samples", "8"]) == 0
    assert drawn == [8]
    assert "mode cutoff 8 from the models' n_modes" in capsys.readouterr().out
    with open(out / "spectral_summary.csv") as handle:
        row = next(csv.DictReader(handle))
    dataset = PDEDataset(data)
    inputs = torch.stack([dataset[i][0] for i in range(8)])
    target = torch.stack([dataset[i][1] for i in range(8)])
    expected = summarise(load_operator(checkpoints[0]).predict(inputs), target, mode_cutoff=8)
    for key in ("low", "mid"):
        assert float(row[key]) == pytest.approx(expected[key], rel=1e-4)
    # the data holds wavenumbers up to 8 only: with the cutoff at half the grid (16) the mid band
    # (9..16) would be empty, with the model's 8 it holds 5..8 and the high band is empty
    assert math.isfinite(float(row["mid"])) and math.isnan(float(row["high"]))
    half_grid = summarise(load_operator(checkpoints[0]).predict(inputs), target, mode_cutoff=16)
    assert math.isnan(half_grid["mid"])


def test_models_with_different_mode_counts_need_an_explicit_cutoff():
    from types import SimpleNamespace

    from opkit.errors import ConfigError
    from opkit.spectral.commands import model_mode_cutoff

    fno = SimpleNamespace(model=SimpleNamespace(n_modes=(16,)))
    fno_2d = SimpleNamespace(model=SimpleNamespace(n_modes=(12, 8)))
    mgno = SimpleNamespace(model=SimpleNamespace())
    assert model_mode_cutoff({"fno": fno, "mgno": mgno}) == 16
    assert model_mode_cutoff({"fno2d": fno_2d}) == 8
    assert model_mode_cutoff({"mgno": mgno}) is None
    with pytest.raises(ConfigError, match=r"different numbers of Fourier modes \(fno 16, fno2d 8\).*--mode-cutoff"):
        model_mode_cutoff({"fno": fno, "fno2d": fno_2d})
