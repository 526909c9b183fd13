"""Train a tiny FNO on a hand-made opkit file, then load, evaluate and predict through the public API."""

import math

import h5py
import numpy as np
import pytest
import torch

from opkit.cli import main as opkit_main
from opkit.data.schema import FieldLayout
from opkit.data.writer import create_file, finalize, write_samples
from opkit.errors import DataError
from opkit.training.inference import evaluate, load_operator, predict
from opkit.training.run import run_experiment

from standins import write_smoothing_file  # noqa: E402  (tests/training is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter", "ignore:.*does not have many workers")

N_X = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    data = write_smoothing_file(root / "smooth.h5")
    config = {
        "model": {"model": "fno", "width": 8, "n_modes": 6, "n_layers": 2, "lr": 1e-2, "scheduler": "none"},
        "data": {"path": str(data), "n_train": 24, "n_val": 4, "n_test": 4, "batch_size": 8},
        "trainer": {"max_epochs": 4, "accelerator": "cpu", "enable_model_summary": False},
    }
    results = run_experiment(config, run_dir=root / "run", seed=0, progress_bar=False)
    return root, data, results


def test_load_evaluate_predict_match_training_metrics(trained, tmp_path):
    root, data, results = trained
    operator = load_operator(results["checkpoint"])
    assert operator.data_description["task"] == "static" and operator.data_description["resolution"] == [N_X]
    fresh = write_smoothing_file(tmp_path / "fresh.h5", n_samples=8, seed=1)
    metrics = evaluate(operator, fresh)
    with h5py.File(fresh) as handle:
        inputs = torch.from_numpy(handle["t0_fields/initial"][:]).unsqueeze(1)
        target = torch.from_numpy(handle["t0_fields/solution"][:, -1]).unsqueeze(1)
    prediction = predict(results["checkpoint"], inputs)
    errors = torch.linalg.vector_norm((prediction - target).flatten(1), dim=1) / torch.linalg.vector_norm(
        target.flatten(1), dim=1)
    assert metrics["relative_l2"] == pytest.approx(errors.mean().item(), rel=1e-5)
    assert metrics["mse"] == pytest.approx(torch.mean((prediction - target) ** 2).item(), rel=1e-5)
    assert metrics["samples"] == 8 and math.isfinite(results["test/relative_l2"])

    coarse = evaluate(operator, fresh, resolution=16)  # every other grid point, same operator
    assert coarse["resolution"] == [16]
    prediction_16 = operator.predict(inputs[..., ::2])
    errors_16 = torch.linalg.vector_norm((prediction_16 - target[..., ::2]).flatten(1), dim=1) / \
        torch.linalg.vector_norm(target[..., ::2].flatten(1), dim=1)
    assert coarse["relative_l2"] == pytest.approx(errors_16.mean().item(), rel=1e-5)


def test_predict_file_writes_our_schema_atomically(trained, tmp_path):
    _, data, results = trained
    out = tmp_path / "prediction.h5"
    assert opkit_main(["predict", "--ckpt", results["checkpoint"], "--data", str(data), "--out", str(out)]) == 0
    operator = load_operator(results["checkpoint"])
    with h5py.File(out) as handle, h5py.File(data) as source:
        assert handle.attrs["format"] == "opkit" and bool(handle.attrs["complete"])
        assert handle.attrs["checkpoint"] == results["checkpoint"] and handle.attrs["model"] == "fno"
        prediction = handle["t0_fields/prediction"][:]
        np.testing.assert_array_equal(handle["t0_fields/target"][:], source["t0_fields/solution"][:, -1])
        expected = operator.predict(torch.from_numpy(source["t0_fields/initial"][:]).unsqueeze(1))[:, 0]
        np.testing.assert_allclose(prediction, expected.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(handle["dimensions/x"][:], source["dimensions/x"][:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prediction.h5"]  # no temporary left behind


def test_evaluate_command_prints_metrics(trained, capsys):
    _, data, results = trained
    assert opkit_main(["evaluate", "--ckpt", results["checkpoint"], "--data", str(data), "--resolution", "16"]) == 0
    printed = capsys.readouterr().out
    assert "relative L2:" in printed and "resolution: 16 (trained at 32)" in printed


def test_clear_errors_for_bad_checkpoints_and_data(trained, tmp_path, capsys):
    _, data, results = trained
    with pytest.raises(DataError, match="checkpoint not found.*shipped name"):
        load_operator(tmp_path / "missing.ckpt")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}, "epoch": 3}, foreign)
    with pytest.raises(DataError, match="not an opkit checkpoint"):
        load_operator(foreign)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_text("hello")
    with pytest.raises(DataError, match="not a PyTorch checkpoint"):
        load_operator(garbage)

    # 2-D data for a 1-D operator
    grid = tmp_path / "grid.h5"
    handle = create_file(grid, pde="darcy", preset="test", solver="none", params={},
                         fields=[FieldLayout("coefficient", ("x", "y"), (8, 8)),
                                 FieldLayout("solution", ("x", "y"), (8, 8))],
                         coords={"x": np.arange(8) / 8, "y": np.arange(8) / 8},
                         boundary_conditions={"x": "dirichlet", "y": "dirichlet"}, n_samples=2, base_seed=0)
    write_samples(handle, [0, 1], {"coefficient": np.ones((2, 8, 8), np.float32),
                                   "solution": np.ones((2, 8, 8), np.float32)})
    finalize(handle)
    handle.close()
    operator = load_operator(results["checkpoint"])
    with pytest.raises(DataError, match="2 spatial axes.*trained on 1"):
        evaluate(operator, grid)
    assert opkit_main(["evaluate", "--ckpt", str(foreign), "--data", str(data)]) == 2
    assert "not an opkit checkpoint" in capsys.readouterr().err


class _WritesAFile:
    """A pickled object whose unpickling runs code: it writes ``marker`` (a stand-in for any payload)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('payload ran')",)


def test_checkpoints_with_pickled_code_are_refused_before_it_runs(trained, tmp_path, capsys):
    from opkit.training.pretrained import strip_checkpoint

    _, data, results = trained
    marker = tmp_path / "payload_ran"
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"model": _WritesAFile(marker)}, foreign)
    real_plus_key = tmp_path / "real_plus_key.ckpt"  # a genuine train.py checkpoint with one extra entry
    contents = torch.load(results["checkpoint"], weights_only=True)
    torch.save({**contents, "extra": _WritesAFile(marker)}, real_plus_key)
    for path in (foreign, real_plus_key):
        with pytest.raises(DataError, match=r"real_plus_key|foreign") as refused:
            load_operator(path)
        assert str(refused.value).startswith(f"{path}: not a plain-weights opkit checkpoint")
        assert "such as exec" in str(refused.value)  # names what it refused
        with pytest.raises(DataError, match="not a plain-weights opkit checkpoint"):
            strip_checkpoint(path, tmp_path / "stripped.ckpt")
        assert opkit_main(["evaluate", "--ckpt", str(path), "--data", str(data)]) == 2
        printed = capsys.readouterr().err.strip().splitlines()
        assert len(printed) == 1 and "not a plain-weights opkit checkpoint" in printed[0] and str(path) in printed[0]
    assert not marker.exists()
    assert not (tmp_path / "stripped.ckpt").exists()
    # the genuine checkpoint itself is plain weights and still loads
    assert load_operator(results["checkpoint"]).data_description["task"] == "static"


def test_resuming_training_from_a_checkpoint_with_pickled_code_does_not_run_it(trained, tmp_path):
    """``train.py fit --ckpt_path X`` goes through Lightning, which loads with torch's default weights_only=True."""
    from lightning.pytorch import Trainer

    from opkit.data.datamodule import PDEDataModule
    from opkit.training.module import OperatorModule

    root, data, results = trained
    marker = tmp_path / "payload_ran"
    contents = torch.load(results["checkpoint"], weights_only=True)
    malicious = tmp_path / "last.ckpt"
    torch.save({**contents, "extra": _WritesAFile(marker)}, malicious)
    module = OperatorModule.load_from_checkpoint(results["checkpoint"], weights_only=True)
    datamodule = PDEDataModule(data, n_train=24, n_val=4, n_test=4, batch_size=8)
    trainer = Trainer(max_epochs=5, accelerator="cpu", logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    with pytest.raises(Exception, match="Weights only load failed"):
        trainer.fit(module, datamodule=datamodule, ckpt_path=malicious)
    assert not marker.exists()
