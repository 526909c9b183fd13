"""Behaviour every registered operator shares: registry, shapes, gradients, dtypes, seeds,
activations, and fitting a tiny dataset."""

import pytest
import torch

from opkit.activations import list_activations
from opkit.errors import ConfigError
from opkit.models import build_model, count_parameters, list_models

# Tiny configurations per model, 1D and 2D.
TINY = {
    "fno": dict(width=8, n_modes=4, n_layers=2),
    "mgno": dict(width=6, n_layers=2, levels=3, smoothing=[1, 1]),
    "kano": dict(width=6, n_modes=4, n_layers=2),
    "kano_s": dict(width=6, n_modes=4, n_layers=2),
    "linear_fourier": dict(n_modes=4),
    "linear_full": dict(),
}
# Models trained by gradient descent (the linear_* baselines are fitted in closed form: tests/models/test_linear_fourier.py).
TRAINED = sorted(name for name in TINY if not name.startswith("linear_"))
GRID = {1: (16,), 2: (16, 12)}


def tiny(name, spatial_dims, **overrides):
    kwargs = dict(TINY[name], in_channels=2, out_channels=1, spatial_dims=spatial_dims)
    kwargs.update(overrides)
    return build_model(name, **kwargs)


def test_every_registered_model_has_a_tiny_config():
    assert set(TINY) == set(list_models())


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown name 'fn0'; valid names: .*fno"):
        build_model("fn0")


def test_unknown_argument_is_a_config_error():
    with pytest.raises(ConfigError, match="model 'fno'.*hidden.*accepted arguments: in_channels"):
        build_model("fno", in_channels=1, out_channels=1, hidden=3)


@pytest.mark.parametrize("name", TRAINED)
@pytest.mark.parametrize("spatial_dims", [1, 2])
def test_gradients_reach_every_parameter(name, spatial_dims):
    torch.manual_seed(0)
    model = tiny(name, spatial_dims)
    model(torch.randn(2, 2, *GRID[spatial_dims])).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().max() == 0]
    assert not missing


@pytest.mark.parametrize("name", TRAINED)
def test_float64_and_seed_reproducibility(name):
    torch.manual_seed(3)
    first = tiny(name, 2).double()
    torch.manual_seed(3)
    second = tiny(name, 2).double()
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    x = torch.randn(1, 2, *GRID[2], dtype=torch.float64)
    out = first(x)
    assert out.dtype == torch.float64 and torch.equal(out, second(x))
    torch.manual_seed(4)
    assert not torch.equal(tiny(name, 2).double()(x), out)


@pytest.mark.parametrize("name", TRAINED)
def test_every_registry_activation_plugs_in(name):
    x = torch.randn(2, 2, 16)
    for info in list_activations():
        torch.manual_seed(0)
        model = tiny(name, 1, activation=info.name)
        out = model(x)
        out.square().mean().backward()
        assert out.shape == (2, 1, 16) and torch.isfinite(out).all(), info.name
        if info.learnable:
            learnable = [p for n, p in model.named_parameters() if "activation" in n]
            assert learnable and all(p.grad is not None for p in learnable), info.name


@pytest.mark.parametrize("name", TRAINED + ["linear_fourier"])  # linear_full has no matrix before its fit
def test_count_parameters_matches_manual_sum(name):
    model = tiny(name, 2)
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("name", TRAINED)
def test_tiny_model_overfits_tiny_dataset(name):
    """A smooth 1D operator (a shifted, scaled copy of the input) on 4 samples: Adam
    drives the MSE down by at least 100x in a few hundred steps."""
    torch.manual_seed(0)
    s = torch.arange(32) * 2 * torch.pi / 32
    coefficients = torch.randn(4, 3, 1)
    inputs = (coefficients[:, 0:1] * torch.sin(s) + coefficients[:, 1:2] * torch.cos(2 * s)
              + coefficients[:, 2:3]).repeat(1, 2, 1)  # (4, 2, 32)
    targets = 0.5 * torch.roll(inputs[:, :1], 3, dims=-1)
    model = tiny(name, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(400):  # stops as soon as the loss has dropped 100x
        optimizer.zero_grad()
        loss = (model(inputs) - targets).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if losses[-1] < losses[0] / 100:
            break
    assert losses[-1] < losses[0] / 100, (losses[0], min(losses))
