"""MgNO: paper configuration size, options, any grid size, train coarse / evaluate fine, input checks."""

from pathlib import Path

import pytest
import torch

from opkit.errors import ConfigError
from opkit.models import MgNO, build_model, count_parameters


def test_darcy_configuration_parameter_count_by_hand():
    """Paper Darcy model (5 layers, 24 channels, 5 levels, [1, 0] smoothing): 0.57M.

    Per layer with f channels c_f and u channels c=24 (3x3 convs, no smoother bias):
      level 0: S (c_f -> c); levels 1-4: Pi (c -> c), R (c_f -> c_f), A (c -> c_f), S (c_f -> c);
      4 prolongations 4x4 (c -> c); 1x1 conv c_f -> c with bias. Output 1x1 c -> 1, no bias.
    """
    c = 24

    def layer(c_f):
        return 9 * c_f * c + 4 * 9 * (c * c + c_f * c_f + 2 * c * c_f) + 4 * 16 * c * c + c_f * c + c

    expected = layer(1) + 4 * layer(c) + c
    model = build_model("mgno", in_channels=1, out_channels=1)
    assert count_parameters(model) == expected == 562_020


@pytest.mark.parametrize("n", [63, 64, 100])
@pytest.mark.parametrize("padding_mode", ["zeros", "circular", "reflect"])
def test_runs_on_odd_and_even_grids_2d(n, padding_mode):
    model = MgNO(1, 2, width=4, n_layers=2, levels=5, padding_mode=padding_mode)
    out = model(torch.randn(1, 1, n, n))
    assert out.shape == (1, 2, n, n) and torch.isfinite(out).all()


def test_1d_any_size_and_training_coarse_then_fine():
    """Fit u -> u^2 at 65 points, evaluate the same weights at 129 points. MgNO's stencils
    live in grid units, so it is not resolution invariant like FNO, but the model must
    still run there and stay far better than the zero predictor (relative MSE 1):
    measured 0.003 at 65 points, 0.08 at 129."""
    torch.manual_seed(0)

    def data(n):
        s = torch.linspace(0, 1, n)
        a = torch.randn(8, 1, 1)
        b = torch.randn(8, 1, 1)
        u = a * torch.sin(2 * torch.pi * s) + b * torch.cos(4 * torch.pi * s)
        return u, u.square()

    model = MgNO(1, 1, width=6, n_layers=2, levels=4, spatial_dims=1, padding_mode="reflect")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = data(65)
    first = None
    for _ in range(100):
        optimizer.zero_grad()
        loss = (model(x) - y).square().mean() / y.square().mean()
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    x_fine, y_fine = data(129)
    with torch.no_grad():
        fine = ((model(x_fine) - y_fine).square().mean() / y_fine.square().mean()).item()
    assert loss.item() < first / 20
    assert fine < 0.2


def test_bias_false_removes_every_bias():
    model = MgNO(2, 1, width=4, n_layers=2, levels=3, bias=False, smoother_bias=True)
    assert not [name for name, _ in model.named_parameters() if "bias" in name]
    assert torch.equal(model(torch.zeros(1, 2, 12, 12)), torch.zeros(1, 1, 12, 12))
    with_bias = MgNO(2, 1, width=4, n_layers=2, levels=3, smoother_bias=True)
    assert any("multigrid" in name and "bias" in name for name, _ in with_bias.named_parameters())


def test_configuration_and_input_errors():
    with pytest.raises(ConfigError, match="padding_mode: expected one of"):
        MgNO(1, 1, padding_mode="wrap")
    with pytest.raises(ConfigError, match="expected 5 .pre, post. pairs"):
        MgNO(1, 1, levels=5, smoothing=[[1, 0]] * 4)
    with pytest.raises(ConfigError, match="at least 1 pre-smoothing"):
        MgNO(1, 1, smoothing=[0, 1])
    with pytest.raises(ConfigError, match="spatial_dims must be one of"):
        MgNO(1, 1, spatial_dims=3)
    model = MgNO(3, 1, width=4, n_layers=1, levels=3)
    with pytest.raises(ConfigError, match=r"expected input of shape \(batch, 3, x, y\), got \(2, 1, 8, 8\)"):
        model(torch.randn(2, 1, 8, 8))
    reflect = MgNO(1, 1, width=4, n_layers=1, levels=4, spatial_dims=1, padding_mode="reflect")
    with pytest.raises(ConfigError, match="too coarse for 4 levels"):
        reflect(torch.randn(1, 1, 8))
    assert reflect(torch.randn(1, 1, 9)).shape == (1, 1, 9)


# ---------------------------------------------------------------------------------------------
# Pinned outputs and gradients: recorded in mgno_reference.pt by the code before the V-cycle's
# periodic padding got its own autograd function (regenerate only on purpose:
# `python tests/models/test_mgno.py`). Speed work must keep a seed's output and gradients.
REFERENCE = Path(__file__).with_name("mgno_reference.pt")
REFERENCE_CASES = [(dims, mode) for dims in (1, 2) for mode in ("zeros", "circular", "reflect")]


def _reference_run(spatial_dims: int, padding_mode: str) -> dict:
    """Output, input gradient and parameter gradients of a small MgNO (seed 0, float64, fixed input)."""
    torch.manual_seed(0)
    model = build_model("mgno", in_channels=2, out_channels=1, width=4, n_layers=2, levels=3,
                        smoothing=[1, 1], spatial_dims=spatial_dims, padding_mode=padding_mode,
                        smoother_bias=True).double()
    x = torch.randn((2, 2) + (13, 10)[:spatial_dims], dtype=torch.float64, requires_grad=True)
    out = model(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view(out.shape)).sum().backward()
    result = {"output": out.detach(), "input_grad": x.grad}
    result.update({"grad." + name: parameter.grad for name, parameter in model.named_parameters()})
    return result


@pytest.mark.parametrize("spatial_dims, padding_mode", REFERENCE_CASES)
def test_output_and_gradients_match_the_recorded_reference(spatial_dims, padding_mode):
    """The forward pass is copies and the same convolutions: equal bit for bit. With periodic padding
    the gradient of a wrapped boundary point sums its contributions in another order than autograd's
    slice-by-slice backward of ``F.pad``, so there they agree to rounding (float64: 1e-12)."""
    expected = torch.load(REFERENCE)[f"{spatial_dims}d_{padding_mode}"]
    actual = _reference_run(spatial_dims, padding_mode)
    assert actual.keys() == expected.keys()
    assert torch.equal(actual["output"], expected["output"])
    for key in expected:
        if padding_mode == "circular":
            torch.testing.assert_close(actual[key], expected[key], rtol=1e-12, atol=1e-14, msg=key)
        else:
            assert torch.equal(actual[key], expected[key]), key


if __name__ == "__main__":
    torch.save({f"{dims}d_{mode}": _reference_run(dims, mode) for dims, mode in REFERENCE_CASES}, REFERENCE)
