"""SpectralConv against a direct full-spectrum implementation, plus its resolution behaviour."""

import itertools

import pytest
import torch

from opkit.layers.spectral_conv import SpectralConv


def reference_spectral_conv(layer: SpectralConv, x: torch.Tensor) -> torch.Tensor:
    """The textbook form: rfftn of the whole grid, multiply each kept corner, irfftn."""
    dims = layer.spatial_dims
    axes = tuple(range(2, 2 + dims))
    x_hat = torch.fft.rfftn(x, dim=axes)
    weight = torch.view_as_complex(layer.weight).reshape(*layer.kept_shape, layer.in_channels, layer.out_channels)
    out_hat = torch.zeros(x.shape[0], layer.out_channels, *x_hat.shape[2:], dtype=x_hat.dtype)
    # Each leading axis has a low block (0..n-1) and a high block (-n..-1).
    for corner in itertools.product([0, 1], repeat=dims - 1):
        grid_index, weight_index = [], []
        for high, n, size in zip(corner, layer.n_modes[:-1], x.shape[2:]):
            grid_index.append(slice(size - n, size) if high else slice(0, n))
            weight_index.append(slice(n, 2 * n) if high else slice(0, n))
        grid_index.append(slice(0, layer.n_modes[-1]))
        weight_index.append(slice(0, layer.n_modes[-1]))
        block = x_hat[(slice(None), slice(None), *grid_index)]
        w = weight[tuple(weight_index)]
        letters = "xyz"[:dims]
        out_hat[(slice(None), slice(None), *grid_index)] = torch.einsum(
            f"bi{letters},{letters}io->bo{letters}", block, w)
    return torch.fft.irfftn(out_hat, s=x.shape[2:], dim=axes)


@pytest.mark.parametrize("n_modes, grid", [((5,), (24,)), ((4, 3), (16, 11)), ((3, 2, 4), (8, 6, 9))])
def test_matches_full_spectrum_reference(n_modes, grid):
    torch.manual_seed(0)
    layer = SpectralConv(3, 2, n_modes).double()
    x = torch.randn(2, 3, *grid, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference_spectral_conv(layer, x), rtol=1e-10, atol=1e-12)


def test_single_mode_hand_case():
    """1 channel, weight 1 on mode k: the output is the mode-k part of the input."""
    layer = SpectralConv(1, 1, (3,)).double()
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[2, 0, 0, 0] = 1.0  # keep only frequency 2, multiply by 1
    x_grid = torch.arange(32, dtype=torch.float64) * 2 * torch.pi / 32
    x = (torch.cos(2 * x_grid) + 0.5 * torch.sin(x_grid) + 3.0)[None, None]
    torch.testing.assert_close(layer(x)[0, 0], torch.cos(2 * x_grid), rtol=0, atol=1e-12)


def test_output_is_grid_independent_for_band_limited_input():
    """The same weights on a 2x finer sampling of a band-limited field give the finer sampling of the output."""
    torch.manual_seed(1)
    layer = SpectralConv(2, 2, (4, 4)).double()

    def field(n):
        s = torch.arange(n, dtype=torch.float64) * 2 * torch.pi / n
        X, Y = torch.meshgrid(s, s, indexing="ij")
        return torch.stack([torch.sin(X + 2 * Y) + torch.cos(3 * X), torch.cos(X - Y) + 1])[None]

    coarse, fine = layer(field(16)), layer(field(32))
    torch.testing.assert_close(fine[..., ::2, ::2], coarse, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_runs_the_transform_in_float32(dtype):
    """Under autocast the layer returns the float32 transform of its input, rounded once to the input dtype."""
    torch.manual_seed(0)
    layer = SpectralConv(3, 2, (4, 3))
    x = torch.randn(2, 3, 16, 12).to(dtype)
    with torch.autocast("cpu", dtype=dtype):
        y = layer(x)
    assert y.dtype == dtype
    assert torch.equal(y, layer(x.float()).to(dtype))


def test_half_precision_weights_run_in_float32():
    """bf16-true (weights and inputs in bfloat16, no autocast): the same float32 transform, rounded once."""
    torch.manual_seed(0)
    layer = SpectralConv(3, 2, (5,))
    x = torch.randn(2, 3, 24).bfloat16()
    reference = SpectralConv(3, 2, (5,))
    reference.load_state_dict(layer.state_dict())
    with torch.no_grad():
        reference.weight.copy_(layer.weight.bfloat16().float())
    y = layer.bfloat16()(x)
    assert y.dtype == torch.bfloat16
    assert torch.equal(y, reference(x.float()).bfloat16())
