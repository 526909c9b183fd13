"""Pooled shell sums: batches add up to the whole set, hand-computed pooled ratios and bands,
and the one-call summaries of a (pred, target) pair."""

import math
from types import SimpleNamespace

import pytest
import torch

from opkit.errors import ConfigError
from opkit.spectral.metrics import energy_spectrum, error_spectrum, sine_energy_spectrum
from opkit.spectral.shells import (
    ShellSums,
    cutoff_bands,
    default_mode_cutoff,
    module_mode_cutoff,
    relative_band_errors,
    resolved_bandwidth,
    spectral_bias_index,
)


def wave_1d(n, amplitudes: dict, phase=0.0):
    """sum_k A_k sin(2 pi k x + phase) on n points, shape (1, 1, n)."""
    x = torch.arange(n, dtype=torch.float64) / n
    return sum(a * torch.sin(2 * math.pi * k * x + phase) for k, a in amplitudes.items()).reshape(1, 1, n)


def test_batches_pool_to_the_whole_set():
    generator = torch.Generator().manual_seed(0)
    k = torch.arange(1, 9, dtype=torch.float64)
    x = torch.arange(24, dtype=torch.float64) / 24
    target = (torch.randn(7, 2, 8, 1, 1, dtype=torch.float64, generator=generator) / k[:, None, None]
              * torch.sin(2 * math.pi * (k[:, None, None] * x[:, None] + x[None, :]))).sum(2)
    prediction = target + 0.05 * torch.randn(target.shape, dtype=torch.float64, generator=generator)
    whole = ShellSums.of(prediction, target)
    batches = [ShellSums.of(prediction[s], target[s]) for s in (slice(0, 2), slice(2, 3), slice(3, 7))]
    pooled = batches[0] + batches[1] + batches[2]
    assert pooled.fields == whole.fields == 14 and pooled.spatial_shape == (24, 24)
    for name in ("error", "target", "prediction"):
        torch.testing.assert_close(getattr(pooled, name), getattr(whole, name), rtol=1e-12, atol=0)
    # the whole-set computation by other means: per-shell energies summed over every field
    torch.testing.assert_close(pooled.error, energy_spectrum(prediction - target).sum((0, 1)))
    torch.testing.assert_close(pooled.relative(), error_spectrum(prediction, target), equal_nan=True)
    bands = cutoff_bands(6, pooled.top)
    assert pooled.relative_band_errors(bands) == pytest.approx(relative_band_errors(prediction, target, bands),
                                                               nan_ok=True)
    assert pooled.resolved_bandwidth(0.05) == resolved_bandwidth(prediction, target, threshold=0.05)
    assert pooled.bias_index(6) == pytest.approx(spectral_bias_index(prediction, target, mode_cutoff=6))
    # bands that cover every shell split the MSE (Parseval)
    every = {"below": (0, 7), "above": (7, pooled.top + 1)}
    assert sum(pooled.band_mse(every).values()) == pytest.approx(float((prediction - target).square().mean()))


def test_pooled_ratios_hand_computed():
    """Two batches: the pooled e(k) is a ratio of sums, not a mean of per-batch ratios."""
    n = 64
    first = (wave_1d(n, {1: 1.0, 3: 1.0, 10: 0.5}), wave_1d(n, {1: 1.0, 3: 2.0, 10: 1.0}))
    second = (torch.zeros(1, 1, n, dtype=torch.float64), wave_1d(n, {10: 2.0}))
    sums = ShellSums.of(*first) + ShellSums.of(*second)
    # shell energies A^2 / 2: error 1/2 at k=3, 1/8 + 2 at k=10; target 1/2 at k=1, 2 at k=3, 1/2 + 2 at k=10
    relative = sums.relative()
    assert relative[3].item() == pytest.approx(0.25, rel=1e-12)
    assert relative[10].item() == pytest.approx(2.125 / 2.5, rel=1e-12)  # per-batch ratios 0.25, 1 average 0.625
    assert relative[1].item() == pytest.approx(0.0, abs=1e-20)
    assert torch.isnan(relative[0]) and torch.isnan(relative[20])  # no target energy there
    bands = sums.relative_band_errors(sums.cutoff_bands(8))  # low |k| <= 4, mid 5..8, high 9..32
    assert bands["low"] == pytest.approx(0.5 / 2.5, rel=1e-12)
    assert math.isnan(bands["mid"])  # no target energy in 4 < |k| <= 8
    assert bands["high"] == pytest.approx(0.85, rel=1e-12)
    assert sums.band_mse(sums.cutoff_bands(8)) == pytest.approx({"low": 0.25, "mid": 0.0, "high": 2.125 / 2})
    assert sums.bias_index(8)["high_low_ratio"] == pytest.approx(0.85 / 0.2, rel=1e-12)
    assert sums.resolved_bandwidth(0.3) == 3 and sums.resolved_bandwidth(0.9) == 10
    torch.testing.assert_close(sums.spectral_ratio()[[1, 3, 10]],
                               torch.tensor([1.0, 0.25, 0.125 / 2.5], dtype=torch.float64))


def test_relative_band_errors_of_a_pair_hand_computed():
    n = 64
    target = wave_1d(n, {1: 1.0, 3: 2.0, 10: 1.0})
    pred = wave_1d(n, {1: 1.0, 3: 1.0, 10: 0.5})
    bands = relative_band_errors(pred, target, "cutoff", mode_cutoff=8)
    # low |k|<=4: error power (1^2)/2 at k=3 over target 1/2 + 4/2 -> 0.5/2.5
    assert bands["low"] == pytest.approx(0.2, rel=1e-12)
    assert math.isnan(bands["mid"])  # 4 < |k| <= 8 carries no target energy
    assert bands["high"] == pytest.approx(0.25, rel=1e-12)
    custom = relative_band_errors(pred, target, [0, 2, 5, 33])
    assert list(custom) == ["[0,2)", "[2,5)", "[5,33)"]
    assert custom["[0,2)"] == pytest.approx(0.0, abs=1e-20)
    assert custom["[2,5)"] == pytest.approx(0.25, rel=1e-12)
    named = relative_band_errors(pred, target, {"all": (0, 33)})
    assert named["all"] == pytest.approx((0.5 + 0.125) / (0.5 + 2 + 0.5), rel=1e-12)


def test_spectral_bias_index_slope_of_power_law():
    n = 64
    target = wave_1d(n, {k: 1.0 for k in range(1, 33)})
    error = wave_1d(n, {k: 0.01 * k for k in range(1, 32)}, phase=0.4)
    index = spectral_bias_index(target + error, target, mode_cutoff=8)
    assert index["slope"] == pytest.approx(2.0, rel=1e-6)  # e(k) = 1e-4 k^2
    low = sum(1e-4 * k**2 for k in range(1, 5)) / 4
    high = sum(1e-4 * k**2 for k in range(9, 32)) / 23  # sin at the Nyquist shell 32 vanishes on the grid
    assert index["high_low_ratio"] == pytest.approx(high / low, rel=1e-9)


def test_bias_index_of_an_exact_prediction_is_nan():
    """No error in the low band: the ratio is undefined (it raised ZeroDivisionError before)."""
    target = wave_1d(32, {2: 1.0, 12: 1.0})
    index = spectral_bias_index(target.clone(), target, mode_cutoff=8)
    assert math.isnan(index["high_low_ratio"]) and math.isnan(index["slope"])  # no positive e(k): no slope


def test_resolved_bandwidth_per_shell():
    n = 64
    target = wave_1d(n, {k: 1.0 for k in range(1, 17)})
    pred = wave_1d(n, {k: (1.0 if k <= 8 else 0.5) for k in range(1, 17)})  # e(k) = 0 up to 8, 0.25 above
    assert resolved_bandwidth(pred, target, threshold=0.1) == 8
    assert resolved_bandwidth(pred, target, threshold=0.3) == 16  # empty shells above 16 are skipped


def test_resolved_bandwidth_ignores_the_mean_of_zero_mean_data():
    """A zero-mean target with a float-rounding mean and a prediction off by a tiny constant:
    shells 1..8 are exact, so the bandwidth is 8, not -1 from the meaningless shell 0."""
    x = torch.arange(64, dtype=torch.float64) / 64
    target = sum(torch.sin(2 * torch.pi * k * x) / k for k in range(1, 9)).reshape(1, 1, 64) + 1e-4
    prediction = target + 1e-3  # a mean offset 10x the target's mean: relative error 100 at shell 0
    assert resolved_bandwidth(prediction, target, threshold=0.1) == 8
    # shell 1 wrong: nothing resolved
    wrong = prediction + 0.5 * torch.sin(2 * torch.pi * x)
    assert resolved_bandwidth(wrong, target, threshold=0.1) == -1


def test_sine_basis_and_precision():
    generator = torch.Generator().manual_seed(1)
    target = torch.zeros(3, 1, 9, 10)
    target[..., 1:-1, 1:-1] = torch.randn(3, 1, 7, 8, generator=generator)
    prediction = 0.9 * target
    sums = ShellSums.of(prediction, target, basis="sine", dtype=torch.float64)
    assert sums.error.dtype == torch.float64
    expected = sine_energy_spectrum((prediction - target).double()).sum((0, 1))
    torch.testing.assert_close(sums.error, expected)
    torch.testing.assert_close(sums.relative()[1:], torch.full_like(sums.relative()[1:], 0.01))


def test_mode_cutoffs():
    assert default_mode_cutoff((64,)) == 16 and default_mode_cutoff((3,)) == 1
    assert cutoff_bands(5, 10) == {"low": (0, 3), "mid": (3, 6), "high": (6, 11)}
    assert module_mode_cutoff(SimpleNamespace(n_modes=6)) == 6
    assert module_mode_cutoff(SimpleNamespace(model=SimpleNamespace(n_modes=(12, 8)))) == 8
    assert module_mode_cutoff(SimpleNamespace(n_modes=[], model=SimpleNamespace(n_modes=[4]))) == 4
    assert module_mode_cutoff(SimpleNamespace(model=torch.nn.Linear(2, 2))) is None


def test_bad_inputs_raise_one_clear_error():
    u = torch.zeros(2, 1, 8)
    with pytest.raises(ConfigError, match="bands: expected 'cutoff'"):
        relative_band_errors(u, u, "pdebench")
    with pytest.raises(ConfigError, match="mode_cutoff"):
        relative_band_errors(u, u, "cutoff", mode_cutoff=0)
    with pytest.raises(ConfigError, match="threshold"):
        resolved_bandwidth(u, u, threshold=0)
    with pytest.raises(ConfigError, match="pred and target: expected the same shape"):
        ShellSums.of(u, torch.zeros(2, 1, 9))
    with pytest.raises(ConfigError, match="basis"):
        ShellSums.of(u, u, basis="chebyshev")
    with pytest.raises(ConfigError, match="cannot pool 5 shells with 9"):
        ShellSums.of(u, u) + ShellSums.of(torch.zeros(1, 1, 16), torch.zeros(1, 1, 16))
