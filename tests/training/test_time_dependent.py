"""One-step training, pushforward and autoregressive rollout evaluation on a hand-made trajectory file."""

import numpy as np
import pytest
import torch

from opkit.data.schema import FieldLayout
from opkit.errors import ConfigError
from opkit.data.writer import create_file, finalize, write_samples
from opkit.training import module as module_file
from opkit.training.inference import evaluate, load_operator
from opkit.training.module import OperatorModule
from opkit.training.run import run_experiment

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter", "ignore:.*does not have many workers")


def write_decay_file(path, n_samples=12, n_times=6, n=8, seed=0):
    """Vorticity-like trajectories w(t+1) = 0.8 w(t) on a periodic 8x8 grid."""
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(n_samples, n, n))
    frames = np.stack([first * 0.8**t for t in range(n_times)], axis=1).astype(np.float32)
    grid = np.arange(n) / n
    handle = create_file(path, pde="navier_stokes", preset="test", solver="exact decay", params={},
                         fields=[FieldLayout("vorticity", ("t", "x", "y"), (n_times, n, n))],
                         coords={"x": grid, "y": grid, "t": np.arange(n_times, dtype=float)},
                         boundary_conditions={"x": "periodic", "y": "periodic"}, n_samples=n_samples,
                         base_seed=seed)
    write_samples(handle, np.arange(n_samples), {"vorticity": frames})
    finalize(handle)
    handle.close()
    return path


def test_step_training_with_rollout_metrics(tmp_path):
    data = write_decay_file(tmp_path / "decay.h5")
    config = {
        "model": {"model": "fno", "width": 8, "n_modes": 3, "n_layers": 2, "lr": 1e-2, "scheduler": "none"},
        "data": {"path": str(data), "n_train": 8, "n_val": 2, "n_test": 2, "batch_size": 8, "task": "step",
                 "history": 2},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_model_summary": False},
    }
    results = run_experiment(config, run_dir=tmp_path / "run", progress_bar=False)
    # 6 frames, history 2: one-step test over 4 windows per trajectory, rollouts of 4 steps
    steps = [results[f"rollout/rollout_relative_l2_step{k}"] for k in range(1, 5)]
    assert all(np.isfinite(steps)) and "rollout/relative_l2" in results
    operator = load_operator(results["checkpoint"])
    assert operator.data_description["task"] == "step" and operator.data_description["history"] == 2
    metrics = evaluate(operator, data, split="all")  # its training file: the default would be its 2 test trajectories
    assert len(metrics["rollout_relative_l2"]) == 4 and metrics["samples"] == 12
    # the rollout metric is the plain relative L2 of the autoregressive prediction, per step
    from opkit.data.dataset import PDEDataset

    rollout = PDEDataset(data, task="rollout", history=2)
    inputs = torch.stack([rollout[i][0] for i in range(len(rollout))])
    target = torch.stack([rollout[i][1] for i in range(len(rollout))])
    prediction = operator.rollout(inputs, 4).detach()
    per_step = (torch.linalg.vector_norm((prediction - target).flatten(2), dim=2)
                / torch.linalg.vector_norm(target.flatten(2), dim=2)).mean(0)
    np.testing.assert_allclose(metrics["rollout_relative_l2"], per_step.numpy(), rtol=1e-5)


class ScaleLastFrame(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return self.scale * x[:, -1:]


def test_pushforward_trains_on_the_unrolled_step_or_one_step_ahead_drawn_per_batch(monkeypatch):
    monkeypatch.setattr(module_file, "build_operator", lambda name, **kwargs: ScaleLastFrame())
    module = OperatorModule(model="standin", in_channels=2, out_channels=1, pushforward_steps=1, loss="mse")
    module.log = lambda *args, **kwargs: None
    inputs = torch.tensor([[[1.0], [2.0]]])           # frames t-1, t
    target = torch.tensor([[[1.6], [1.28]]])          # frames t+1, t+2 of w(t+1) = 0.8 w(t)
    # one unrolled step without gradient: 0.5 * 2 = 1; then predict t+2 from [2, 1]: 0.5 * 1 = 0.5;
    # no unrolled step: predict t+1 from [1, 2]: 0.5 * 2 = 1
    unrolled, one_step = (0.5 - 1.28) ** 2, (1.0 - 1.6) ** 2
    # gradients only through the last step: d/ds (s * 1 - 1.28)^2 and d/ds (s * 2 - 1.6)^2
    gradients = {unrolled: 2 * (0.5 - 1.28) * 1, one_step: 2 * (1.0 - 1.6) * 2}
    torch.manual_seed(0)
    seen = []
    for _ in range(200):
        module.model.scale.grad = None
        loss = module.training_step((inputs, target), 0)
        kind = unrolled if loss.item() == pytest.approx(unrolled) else one_step
        assert loss.item() == pytest.approx(kind)
        loss.backward()
        assert module.model.scale.grad.item() == pytest.approx(gradients[kind])
        seen.append(kind == unrolled)
    assert 0.4 < sum(seen) / len(seen) < 0.6           # j uniform over {0, 1}: true histories half the time


def test_pushforward_without_enough_target_frames_is_a_one_line_error(monkeypatch):
    """Before: a step dataset gives one target frame, and pushforward_steps > 0 silently trained one step ahead."""
    monkeypatch.setattr(module_file, "build_operator", lambda name, **kwargs: ScaleLastFrame())
    module = OperatorModule(model="standin", in_channels=2, out_channels=1, pushforward_steps=2, loss="mse")
    module.log = lambda *args, **kwargs: None
    with pytest.raises(ConfigError, match=r"pushforward_steps=2 needs training targets of 3 frames; the batches "
                                          r"hold 2 \(set data.future: 3\)"):
        module.training_step((torch.ones(1, 2, 1), torch.ones(1, 2, 1)), 0)


def test_pushforward_run_end_to_end_from_future_frames(tmp_path):
    """data.future: 2 + pushforward_steps: 1 trains; validation stays one step ahead, the rollout is whole."""
    data = write_decay_file(tmp_path / "decay.h5")
    config = {
        "model": {"model": "fno", "width": 8, "n_modes": 3, "n_layers": 2, "lr": 1e-2, "scheduler": "none",
                  "pushforward_steps": 1},
        "data": {"path": str(data), "n_train": 8, "n_val": 2, "n_test": 2, "batch_size": 8, "task": "step",
                 "history": 2, "future": 2, "cache": True},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_model_summary": False},
    }
    results = run_experiment(config, run_dir=tmp_path / "run", progress_bar=False)
    assert np.isfinite(results["test/relative_l2"])
    assert [f"rollout/rollout_relative_l2_step{k}" in results for k in range(1, 5)] == [True] * 4
