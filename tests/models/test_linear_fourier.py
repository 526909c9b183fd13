"""linear_fourier: closed-form least squares per Fourier mode recovers known linear operators."""

import math

import pytest
import torch

from opkit.errors import ConfigError
from opkit.models import build_model

GRID = 64
NU_T = 0.002  # nu * T of the heat equation: exp(-NU_T (2 pi 16)^2) = 1.7e-9 at the 16-mode cutoff


def heat_multipliers(n=GRID):
    """Exact solution map of u_t = nu u_xx on the periodic unit interval: u_hat_k(T) = exp(-nu T (2 pi k)^2) a_hat_k."""
    k = torch.fft.rfftfreq(n, 1.0 / n, dtype=torch.float64)
    return torch.exp(-NU_T * (2 * math.pi * k) ** 2)


def heat(a):
    return torch.fft.irfft(torch.fft.rfft(a) * heat_multipliers(a.shape[-1]), n=a.shape[-1])


def fitted(model, inputs, targets, batch=32):
    for start in range(0, inputs.shape[0], batch):
        model.accumulate(inputs[start:start + batch], targets[start:start + batch])
    model.solve()
    return model


def test_recovers_the_heat_equation_solution_map():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(96, 1, GRID, dtype=torch.float64, generator=generator)
    model = fitted(build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=16, spatial_dims=1,
                               bias=False).double(), a, heat(a))
    # The per-mode multipliers (spectral weight + the shared pointwise matrix) are the exact ones.
    multipliers = torch.view_as_complex(model.spectral.weight.detach().contiguous())[:, 0, 0] + model.pointwise.weight[0, 0]
    torch.testing.assert_close(multipliers, heat_multipliers()[:16].to(multipliers.dtype), rtol=0, atol=1e-8)
    test = torch.randn(8, 1, GRID, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        error = (model(test) - heat(test)).norm() / heat(test).norm()
    assert error < 1e-6
    # ... and on a finer grid (the same operator, as for an FNO)
    fine = torch.randn(4, 1, 2 * GRID, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        assert (model(fine) - heat(fine)).norm() / heat(fine).norm() < 1e-6


def test_channel_mixing_in_2d_and_the_high_modes():
    """u = A a (a pointwise channel map): every mode, kept or not, has the same real matrix A."""
    generator = torch.Generator().manual_seed(1)
    mixing = torch.randn(3, 2, dtype=torch.float64, generator=generator)
    a = torch.randn(40, 2, 16, 12, dtype=torch.float64, generator=generator)
    model = fitted(build_model("linear_fourier", in_channels=2, out_channels=3, n_modes=[4, 3]).double(), a,
                   torch.einsum("oi,bixy->boxy", mixing, a))
    test = torch.randn(3, 2, 16, 12, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(model(test), torch.einsum("oi,bixy->boxy", mixing, test), rtol=0, atol=1e-7)
    torch.testing.assert_close(model.pointwise.weight.detach(), mixing, rtol=0, atol=1e-8)


def test_intercept_with_bias_and_linearity_without():
    generator = torch.Generator().manual_seed(2)
    a = torch.randn(64, 1, 32, dtype=torch.float64, generator=generator) + 3.0
    targets = heat(a) - 0.5
    affine = fitted(build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=8, spatial_dims=1,
                                bias=True).double(), a, targets)
    assert affine.pointwise.bias.item() == pytest.approx(-0.5, abs=1e-6)
    linear = fitted(build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=8, spatial_dims=1,
                                bias=False).double(), a, targets)
    x, y = torch.randn(2, 1, 1, 32, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(linear(x + 2 * y), linear(x) + 2 * linear(y), rtol=1e-12, atol=1e-12)
        assert linear(torch.zeros_like(x)).abs().max() == 0


def test_unfitted_is_zero_and_bad_input_is_one_line():
    model = build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=4, spatial_dims=1)
    assert model(torch.randn(2, 1, 16)).abs().max() == 0
    with pytest.raises(ConfigError, match="nothing to solve"):
        model.solve()
    with pytest.raises(ConfigError, match="same batch size and grid"):
        model.accumulate(torch.randn(2, 1, 16), torch.randn(2, 1, 32))
    model.accumulate(torch.randn(2, 1, 16), torch.randn(2, 1, 16))
    with pytest.raises(ConfigError, match="a batch on 32 grid points after batches on 16"):
        model.accumulate(torch.randn(2, 1, 32), torch.randn(2, 1, 32))
    with pytest.raises(ConfigError, match="ridge: expected a number >= 0"):
        build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=4, spatial_dims=1, ridge=-1.0)


def test_all_modes_when_n_modes_is_none_and_the_state_dict_reloads():
    """n_modes=None keeps every mode of the training grid: a circular convolution is recovered exactly."""
    generator = torch.Generator().manual_seed(3)
    kernel = torch.randn(32, dtype=torch.float64, generator=generator)

    def convolve(a):
        return torch.fft.irfft(torch.fft.rfft(a) * torch.fft.rfft(kernel), n=32)

    a = torch.randn(64, 1, 32, dtype=torch.float64, generator=generator)
    model = fitted(build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=None,
                               spatial_dims=1).double(), a, convolve(a))
    assert model.n_modes == (16,)
    test = torch.randn(4, 1, 32, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        assert (model(test) - convolve(test)).norm() / convolve(test).norm() < 1e-6
        reloaded = build_model("linear_fourier", in_channels=1, out_channels=1, n_modes=None, spatial_dims=1).double()
        reloaded.load_state_dict(model.state_dict())
        assert torch.equal(reloaded(test), model(test))


def test_linear_full_recovers_a_dense_map_on_its_grid():
    """A dense map that no per-mode operator represents (not translation invariant), plus an intercept."""
    generator = torch.Generator().manual_seed(4)
    matrix = torch.randn(12, 24, dtype=torch.float64, generator=generator)  # (out * P, in * P), P = 12

    def apply(a):
        return (a.reshape(a.shape[0], -1) @ matrix.T + 0.25).reshape(a.shape[0], 1, 12)

    a = torch.randn(80, 2, 12, dtype=torch.float64, generator=generator)
    model = fitted(build_model("linear_full", in_channels=2, out_channels=1, spatial_dims=1, bias=True).double(),
                   a, apply(a))
    test = torch.randn(5, 2, 12, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(model(test), apply(test), rtol=0, atol=1e-8)
        reloaded = build_model("linear_full", in_channels=2, out_channels=1, spatial_dims=1, bias=True).double()
        reloaded.load_state_dict(model.state_dict())
        assert torch.equal(reloaded(test), model(test))
    with pytest.raises(ConfigError, match=r"fitted on grid \(12,\), got \(24,\); the full map runs only on its own grid"):
        model(torch.randn(1, 2, 24, dtype=torch.float64))
    with pytest.raises(ConfigError, match="above max_features=8192; use linear_fourier"):
        build_model("linear_full", in_channels=1, out_channels=1, spatial_dims=2).accumulate(
            torch.zeros(1, 1, 128, 128), torch.zeros(1, 1, 128, 128))


def test_weights_scale_each_pairs_squared_error():
    """Weighted least squares equals plain least squares on pairs scaled by sqrt(w) (for a linear map)."""
    generator = torch.Generator().manual_seed(6)
    a = torch.randn(40, 1, 16, dtype=torch.float64, generator=generator)
    u = torch.tanh(heat(a) * 3)  # not linear: the weighting changes the fit
    weights = torch.rand(40, dtype=torch.float64, generator=generator) * 10
    for name, kwargs in (("linear_fourier", {"n_modes": 4}), ("linear_full", {})):
        weighted = build_model(name, in_channels=1, out_channels=1, spatial_dims=1, **kwargs).double()
        weighted.accumulate(a, u, weights)
        weighted.solve()
        scaled = fitted(build_model(name, in_channels=1, out_channels=1, spatial_dims=1, **kwargs).double(),
                        a * weights.sqrt().view(-1, 1, 1), u * weights.sqrt().view(-1, 1, 1))
        plain = fitted(build_model(name, in_channels=1, out_channels=1, spatial_dims=1, **kwargs).double(), a, u)
        with torch.no_grad():
            torch.testing.assert_close(weighted(a), scaled(a), rtol=1e-9, atol=1e-9)
            assert (weighted(a) - plain(a)).abs().max() > 1e-4
