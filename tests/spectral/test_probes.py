"""Probes: exact learned fractions, target operators, short training runs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from opkit.activations import get_activation
from opkit.errors import ConfigError
from opkit.spectral.metrics import energy_spectrum
from opkit.spectral.probes import (
    FilterNonlinearityOperator,
    band_limited_functions,
    frequency_probe,
    high_frequency_fraction,
    initial_spectra,
    learned_fraction,
    operator_probe,
)


def conv_operator(activation: str) -> nn.Module:
    """A tiny local operator: circular convolutions with a registry activation between them."""
    return nn.Sequential(
        nn.Conv1d(1, 8, 5, padding=2, padding_mode="circular"),
        get_activation(activation, num_channels=8),
        nn.Conv1d(8, 1, 5, padding=2, padding_mode="circular"),
    )


def test_learned_fraction_is_one_for_the_exact_target():
    n = 200
    z = torch.arange(n, dtype=torch.float64) / n
    amplitudes = torch.tensor([1.0, 0.5, 0.2], dtype=torch.float64)
    target = sum(a * torch.sin(2 * math.pi * k * z + 0.7 * k) for a, k in zip(amplitudes, (5, 10, 50)))
    torch.testing.assert_close(learned_fraction(target, [5, 10, 50], amplitudes), torch.ones(3, dtype=torch.float64))
    half = learned_fraction(0.5 * target, [5, 10, 50], amplitudes)
    torch.testing.assert_close(half, torch.full((3,), 0.5, dtype=torch.float64))


def test_frequency_probe_learns_low_frequency_first():
    result = frequency_probe(
        ["relu"], frequencies=[1, 6], n_points=64, iterations=300, record_every=100, repeats=1,
        width=32, depth=3, learning_rate=3e-3, progress=False,
    )
    values = result.values["relu"]
    assert values.shape == (4, 2) and list(result.iterations) == [0, 100, 200, 300]
    assert values[-1, 0] > 0.8  # k = 1 is learned
    assert values[-1, 0] > values[-1, 1]  # before k = 6
    assert result.final_loss["relu"] < 1.0  # the target's mean square is 1


def test_band_limited_inputs_have_equal_amplitudes():
    u = band_limited_functions(5, 64, 6, torch.Generator().manual_seed(0))
    spectrum = energy_spectrum(u)[:, 0]
    expected = torch.zeros(33)
    expected[1:7] = 1 / 6
    torch.testing.assert_close(spectrum, expected.expand(5, 33), atol=1e-6, rtol=1e-5)


def test_filter_nonlinearity_operator_content():
    u = band_limited_functions(3, 64, 5, torch.Generator().manual_seed(1))
    all_pass = FilterNonlinearityOperator(64, beta=0.0, seed=2)
    torch.testing.assert_close(energy_spectrum(all_pass(u)), energy_spectrum(u), atol=1e-6, rtol=1e-5)
    squared = energy_spectrum(FilterNonlinearityOperator(64, beta=0.5, seed=2)(u))
    assert squared[..., 6:11].sum() > 0.01  # the square creates modes 6..10
    assert squared[..., 11:].abs().max() < 1e-10  # and nothing beyond twice the input band


def test_operator_probe_with_local_operator_reduces_error_in_the_input_band():
    result = operator_probe(
        ["gelu"], model_factory=conv_operator, n_points=32, input_modes=4, n_train=32, n_test=16,
        iterations=150, record_every=50, progress=False, learning_rate=1e-2,
    )
    values = result.values["gelu"]
    assert values.shape == (4, 9)
    assert np.all(values[-1, 1:5] < values[0, 1:5])


def test_initial_spectra_linear_makes_no_new_frequencies():
    spectra = initial_spectra(["identity", "relu"], model_factory=conv_operator, n_points=64, input_modes=4, n_inits=2)
    assert spectra["identity"].shape == (33,)
    assert spectra["identity"].sum() == pytest.approx(1.0)
    assert high_frequency_fraction(spectra["identity"], 4) < 1e-10
    assert high_frequency_fraction(spectra["relu"], 4) > 1e-3


def test_probe_arguments_are_checked():
    with pytest.raises(ConfigError, match="frequencies: expected integers in 1..99"):
        frequency_probe(["relu"], frequencies=[5, 100], progress=False)
    with pytest.raises(ConfigError, match="amplitudes"):
        frequency_probe(["relu"], frequencies=[5], amplitudes=[1.0, 2.0], progress=False)
    with pytest.raises(ConfigError, match="input_modes"):
        operator_probe(["relu"], model_factory=conv_operator, n_points=32, input_modes=8, progress=False)
    with pytest.raises(ConfigError, match="iterations"):
        frequency_probe(["relu"], iterations=0, progress=False)
