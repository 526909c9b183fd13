"""OperatorModule with stand-in data and model: normalisation, checkpoints, rollout, seeds, resume."""

import math
from pathlib import Path

import lightning as L
import pytest
import torch

from opkit.errors import ConfigError
from opkit.training import module as module_file
from opkit.training.lightning_cli import OperatorCLI
from opkit.training.module import OperatorModule
from opkit.training.run import run_experiment

from standins import AffineDataModule  # noqa: E402  (tests/training on sys.path via conftest)

pytestmark = [pytest.mark.filterwarnings("ignore:LightningCLI's args parameter"),
              pytest.mark.usefixtures("standin_model")]  # every test trains the stand-in (conftest.py)

STANDIN_CONFIG = {
    "model": {"model": "standin", "width": 16, "lr": 1e-2, "scheduler": "none", "weight_decay": 0.0},
    "data": {"n_train": 64, "batch_size": 8},
    "trainer": {"max_epochs": 3, "accelerator": "cpu", "devices": 1, "enable_model_summary": False},
}


def test_fit_copies_normalizers_and_checkpoint_is_self_contained(tmp_path):
    results = run_experiment(STANDIN_CONFIG, run_dir=tmp_path, datamodule_class=AffineDataModule,
                             progress_bar=False)
    assert results["test/relative_l2"] < 0.05  # an affine map, learnt in 3 epochs
    assert not results["diverged"] and results["epochs"] == 3
    assert Path(results["checkpoint"]).exists() and Path(results["last_checkpoint"]).name == "last.ckpt"
    assert Path(results["checkpoint"]).parent == tmp_path / "version_0" / "checkpoints"
    assert (tmp_path / "version_0" / "metrics.csv").exists() and results["log_dir"] == str(tmp_path / "version_0")

    restored = OperatorModule.load_from_checkpoint(results["checkpoint"])
    data = AffineDataModule()
    torch.testing.assert_close(restored.input_normalizer.mean, data.input_normalizer.mean)
    torch.testing.assert_close(restored.target_normalizer.std, data.target_normalizer.std)
    assert restored.target_normalizer.eps == data.target_normalizer.eps
    inputs, target = data.inputs[data.parts["test"]], data.targets[data.parts["test"]]
    prediction = restored.predict(inputs)
    error = (torch.linalg.vector_norm((prediction - target).flatten(1), dim=1)
             / torch.linalg.vector_norm(target.flatten(1), dim=1)).mean()
    assert error.item() == pytest.approx(results["test/relative_l2"], rel=1e-4)
    # the metric is in physical units: a plain MSE of the decoded prediction
    assert torch.mean((prediction - target) ** 2).item() == pytest.approx(results["test/mse"], rel=1e-4)
    # relative H1 by second-order finite differences (np.gradient, edge order 2), computed independently
    import numpy as np

    def h1_squared(field):
        field = field.double().numpy()
        spatial = tuple(range(2, field.ndim))
        gradients = sum(np.gradient(field, 1.0 / (field.shape[a] - 1), axis=a, edge_order=2) ** 2
                        for a in spatial)
        return (field**2 + gradients).reshape(field.shape[0], -1).mean(axis=1)

    h1 = np.sqrt(h1_squared(prediction - target) / h1_squared(target)).mean()
    assert h1 == pytest.approx(results["test/relative_h1"], rel=1e-3)


def test_same_seed_same_metrics_and_other_seed_differs(tmp_path):
    runs = [run_experiment(STANDIN_CONFIG, {"trainer.max_epochs": 1}, run_dir=tmp_path / str(i), seed=seed,
                           datamodule_class=AffineDataModule, progress_bar=False)
            for i, seed in enumerate((7, 7, 8))]
    assert runs[0]["test/relative_l2"] == runs[1]["test/relative_l2"]
    assert runs[0]["test/relative_l2"] != runs[2]["test/relative_l2"]


class Crash(L.Callback):
    def __init__(self, after_steps):
        self.after_steps = after_steps

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == self.after_steps:
            raise RuntimeError("simulated crash")


def _fit(root, extra_args=(), callbacks=()):
    args = ["fit", f"--trainer.default_root_dir={root}", "--trainer.max_epochs=2", "--trainer.accelerator=cpu",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
            "--checkpoint.every_n_train_steps=1", "--model.model=standin", "--model.scheduler=step",
            "--model.scheduler_step_size=1", "--model.lr=0.01", "--seed_everything=3", *extra_args]
    cli = OperatorCLI(datamodule_class=AffineDataModule, args=args,
                      trainer_defaults={"callbacks": list(callbacks)})
    return cli.model


def test_resume_mid_epoch_reaches_the_uninterrupted_state(tmp_path):
    reference = _fit(tmp_path / "reference")
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(tmp_path / "crashed", callbacks=[Crash(after_steps=11)])  # 8 batches per epoch: mid epoch 2
    assert (tmp_path / "crashed" / "version_0" / "checkpoints" / "last.ckpt").exists()
    resumed = _fit(tmp_path / "crashed", extra_args=["--ckpt_path=last"])
    for (name, expected), (_, actual) in zip(reference.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0, msg=name)


class HalfLastFrame(torch.nn.Module):
    """(B, 2 frames [+ fixed], x) -> (B, 1, x): next = 0.5 * last frame + fixed channel."""

    def forward(self, x):
        extra = x[:, 2:3] if x.shape[1] > 2 else 0
        return 0.5 * x[:, 1:2] + extra


def test_rollout_hand_computed():
    module = OperatorModule(model="standin", in_channels=2, out_channels=1)
    module.model = HalfLastFrame()
    module.data_description = {"history": 2}
    initial = torch.tensor([[[1.0, 2.0], [4.0, 8.0]]])  # (B=1, frames=2, x=2)
    frames = module.rollout(initial, n_steps=3)
    torch.testing.assert_close(frames, torch.tensor([[[2.0, 4.0], [1.0, 2.0], [0.5, 1.0]]]))

    # a fixed coordinate channel after the frames is carried along, not shifted
    with_coordinates = OperatorModule(model="standin", in_channels=3, out_channels=1)
    with_coordinates.model = HalfLastFrame()
    with_coordinates.data_description = {"history": 2}
    initial = torch.tensor([[[0.0], [4.0], [1.0]]])
    torch.testing.assert_close(with_coordinates.rollout(initial, 2), torch.tensor([[[3.0], [2.5]]]))


def test_bad_arguments_and_inputs():
    with pytest.raises(ConfigError, match="unknown optimizer 'sgd'"):
        OperatorModule(model="standin", optimizer="sgd")
    with pytest.raises(ConfigError, match="unknown scheduler 'linear'"):
        OperatorModule(model="standin", scheduler="linear")
    with pytest.raises(ConfigError, match="unknown loss"):
        OperatorModule(model="standin", loss="l7")
    module = OperatorModule(model="standin", in_channels=1, out_channels=1)
    module.data_description = {"n_spatial_dims": 1}
    with pytest.raises(ConfigError, match=r"expects \(batch, 1 channels, 1 spatial axes\)"):
        module.predict(torch.zeros(2, 3, 8))
    with pytest.raises(ConfigError, match="1 spatial axes"):
        module.predict(torch.zeros(2, 1, 8, 8))


@pytest.mark.parametrize("scheduler, final_ratio", [("cosine", 0.0), ("step", 0.25)])
def test_schedulers(tmp_path, scheduler, final_ratio):
    config = {**STANDIN_CONFIG, "model": {**STANDIN_CONFIG["model"], "scheduler": scheduler,
                                           "scheduler_step_size": 1}}
    cli = OperatorCLI(datamodule_class=AffineDataModule, run=False,
                      args={**config, "trainer": {**config["trainer"], "default_root_dir": str(tmp_path),
                                                  "enable_progress_bar": False}})
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    lr = cli.trainer.optimizers[0].param_groups[0]["lr"]
    # cosine: zero after the last step; step (gamma 0.5 per epoch): 0.01 * 0.5^2 after 3 epochs... minus the last
    expected = 0.01 * final_ratio if scheduler == "cosine" else 0.01 * 0.5**3
    assert lr == pytest.approx(expected, abs=1e-12)


class PoisonedDataModule(AffineDataModule):
    """A NaN in one training target: the loss becomes NaN in the first epoch."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.targets[5, 0, 3] = float("nan")


def test_divergence_is_reported_not_raised(tmp_path):
    results = run_experiment(STANDIN_CONFIG, run_dir=tmp_path, datamodule_class=PoisonedDataModule,
                             progress_bar=False)
    assert results["diverged"] and results["diverged_epoch"] == 0
    assert math.isnan(results["test/relative_l2"]) and results["epochs"] == 1  # stopped in the first epoch


def test_coordinates_argument_overrides_model_kwargs_and_suits_models_without_them(monkeypatch):
    from opkit.models import build_model

    monkeypatch.setattr(module_file, "build_operator", build_model)
    with_coordinates = {"model_kwargs": {"coordinates": True}, "spatial_dims": 1, "width": 4, "n_modes": 2,
                        "n_layers": 1}
    assert OperatorModule(model="fno", **with_coordinates).model.coordinates is True
    assert OperatorModule(model="fno", coordinates=False, **with_coordinates).model.coordinates is False
    mgno = OperatorModule(model="mgno", spatial_dims=1, width=4, n_layers=1, coordinates=False,
                          model_kwargs={"levels": 2})
    assert type(mgno.model).__name__ == "MgNO"
    with pytest.raises(ConfigError, match="model 'mgno': got an unexpected keyword argument 'coordinates'"):
        OperatorModule(model="mgno", spatial_dims=1, width=4, n_layers=1, coordinates=True, model_kwargs={"levels": 2})
