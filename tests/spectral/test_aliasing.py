"""Aliasing shares: hand-computed fields, hooks on each activation, and what an FNO's next
spectral convolution really drops."""

import math

import pytest
import torch
from torch import nn

from opkit.activations import get_activation
from opkit.errors import ConfigError
from opkit.spectral.aliasing import activation_aliasing, discarded_energy_fraction, fno_activation_selector
from opkit.spectral.probes import band_limited_functions


def test_discarded_energy_fraction_hand_computed():
    x = torch.arange(64) / 64
    u = (torch.cos(2 * math.pi * 3 * x) + torch.cos(2 * math.pi * 10 * x)).reshape(1, 1, 64)
    assert discarded_energy_fraction(u, 8) == pytest.approx(0.5, rel=1e-6)
    y = x[None, :]
    field = torch.cos(2 * math.pi * (3 * x[:, None] + 9 * y)) + 1.0  # k_y = 9 -> dropped; the mean is kept
    assert discarded_energy_fraction(field.reshape(1, 1, 64, 64), 8) == pytest.approx(0.5 / 1.5, rel=1e-6)
    # SpectralConv on the real FFT keeps k_x in [-m, m-1] with k_y in [0, m-1] (and the conjugates):
    # the pair (-8, 3)/(8, -3) is kept, the pair (8, 3)/(-8, -3) is not
    kept = torch.cos(2 * math.pi * (-8 * x[:, None] + 3 * y)).reshape(1, 1, 64, 64)
    dropped = torch.cos(2 * math.pi * (8 * x[:, None] + 3 * y)).reshape(1, 1, 64, 64)
    assert discarded_energy_fraction(kept, 8) == pytest.approx(0.0, abs=1e-12)
    assert discarded_energy_fraction(dropped, 8) == pytest.approx(1.0, rel=1e-12)
    assert discarded_energy_fraction(dropped, (9, 8)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ConfigError, match="mode_cutoff"):
        discarded_energy_fraction(kept, (8,))


def test_activation_aliasing_hooks_each_activation():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(1, 4, 3, padding=1, padding_mode="circular"),
        get_activation("relu"),
        nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular"),
        get_activation("tanh"),
    )
    inputs = band_limited_functions(4, 64, 6, torch.Generator().manual_seed(3))
    fractions = activation_aliasing(model, inputs, mode_cutoff=8)
    assert list(fractions) == ["1", "3"]
    with torch.no_grad():
        first = model[1](model[0](inputs))
        second = model[3](model[2](first))
    assert fractions["1"] == pytest.approx(discarded_energy_fraction(first, 8))
    assert fractions["3"] == pytest.approx(discarded_energy_fraction(second, 8))
    assert fractions["1"] > 1e-4  # ReLU creates modes above 8 from inputs below 7
    with pytest.raises(ConfigError, match="no activation modules"):
        activation_aliasing(nn.Conv1d(1, 1, 1), inputs, 8)


def test_aliasing_share_is_what_the_next_spectral_convolution_drops():
    from opkit.models import build_model

    torch.manual_seed(0)
    fno = build_model("fno", in_channels=1, out_channels=1, width=4, n_modes=6, n_layers=3, spatial_dims=1, activation="relu")
    inputs = band_limited_functions(3, 64, 3, torch.Generator().manual_seed(1))
    captured = {}
    handle = fno.layers[0].activation.register_forward_hook(lambda m, a, out: captured.setdefault("h", out.detach()))
    fractions = activation_aliasing(fno, inputs, 6, select=fno_activation_selector(3))
    handle.remove()
    assert list(fractions) == ["layers.0.activation", "layers.1.activation"]
    fno(inputs)
    h = captured["h"].double()
    h_hat = torch.fft.rfft(h)
    h_hat[..., :6] = 0
    dropped = torch.fft.irfft(h_hat, n=64)
    spectral = fno.layers[1].spectral.double()
    assert spectral(dropped).abs().max() < 1e-10  # the next layer sees none of it
    assert fractions["layers.0.activation"] == pytest.approx((dropped.square().sum() / h.square().sum()).item(), rel=1e-6)
