"""Spectral metrics against exact sinusoids, Parseval, brute-force loops and hand-computed cases."""

import math

import numpy as np
import pytest
import torch

from opkit.errors import ConfigError
from opkit.spectral.metrics import (
    energy_spectrum,
    error_spectrum,
    pdebench_fourier_rmse,
    rfft_grid,
    rfft_power,
    sine_energy_spectrum,
    spectral_ratio,
    well_binned_spectral_error,
)


def grid(n):
    return torch.arange(n, dtype=torch.float64) / n


def wave_1d(n, amplitudes: dict, phase=0.0):
    """sum_k A_k sin(2 pi k x + phase) on n points, shape (n,)."""
    x = grid(n)
    return sum(a * torch.sin(2 * math.pi * k * x + phase) for k, a in amplitudes.items())


@pytest.mark.parametrize("n", [32, 33])
def test_sinusoid_1d_lands_in_its_shell(n):
    u = (0.7 * torch.sin(2 * math.pi * 5 * grid(n) + 0.3)).reshape(1, 1, n)
    spectrum = energy_spectrum(u)[0, 0]
    expected = torch.zeros_like(spectrum)
    expected[5] = 0.7**2 / 2
    torch.testing.assert_close(spectrum, expected, atol=1e-12, rtol=0)


def test_sinusoid_2d_lands_in_radial_shell():
    x = grid(24)[:, None]
    y = grid(20)[None, :]
    u = 2.0 * torch.cos(2 * math.pi * (3 * x + 4 * y))  # |k| = 5
    spectrum = energy_spectrum(u.reshape(1, 1, 24, 20))[0, 0]
    assert spectrum[5].item() == pytest.approx(2.0, rel=1e-12)
    assert spectrum.sum().item() == pytest.approx(2.0, rel=1e-12)


def test_error_spectrum_of_sinusoidal_error():
    torch.manual_seed(0)
    target = torch.randn(3, 2, 32, 32, dtype=torch.float64)
    x = grid(32)[:, None]
    error = 0.1 * torch.sin(2 * math.pi * (6 * x + 0 * grid(32)[None, :]))
    absolute = error_spectrum(target + error, target, relative=False)
    assert absolute[6].item() == pytest.approx(0.01 / 2, rel=1e-10)
    assert absolute.sum().item() == pytest.approx(absolute[6].item(), rel=1e-10)


@pytest.mark.parametrize("shape", [(40,), (16, 12), (15, 9), (8, 6, 10)])
def test_parseval_bins_sum_to_total_squared_error(shape):
    torch.manual_seed(1)
    pred = torch.randn(4, 3, *shape, dtype=torch.float64)
    target = torch.randn(4, 3, *shape, dtype=torch.float64)
    mse = (pred - target).square().mean()
    assert error_spectrum(pred, target, relative=False).sum().item() == pytest.approx(mse.item(), rel=1e-10)
    per_sample = energy_spectrum(pred).sum(-1)
    torch.testing.assert_close(per_sample, pred.square().flatten(2).mean(-1))
    mse_bins, _ = well_binned_spectral_error(pred, target)
    assert mse_bins.sum().item() == pytest.approx(mse.item(), rel=1e-10)


def test_radial_binning_matches_brute_force_loop():
    rng = np.random.default_rng(2)
    u = rng.standard_normal((2, 1, 10, 7))
    spectrum = energy_spectrum(torch.from_numpy(u)).numpy()
    u_hat = np.fft.fft2(u)
    nx, ny = 10, 7
    expected = np.zeros_like(spectrum)
    for i in range(nx):
        for j in range(ny):
            kx = i if i <= nx // 2 else i - nx  # nx even: Nyquist counted as +nx/2
            ky = j if j <= ny // 2 else j - ny
            shell = int(round(math.sqrt(kx**2 + ky**2)))
            expected[..., shell] += np.abs(u_hat[..., i, j]) ** 2 / (nx * ny) ** 2
    np.testing.assert_allclose(spectrum, expected, rtol=1e-12, atol=1e-14)


def test_time_axis_is_treated_as_batch():
    torch.manual_seed(3)
    u = torch.randn(2, 3, 5, 16, 16)
    with_time = energy_spectrum(u, spatial_dims=2)
    flat = energy_spectrum(u.reshape(2, 15, 16, 16))
    torch.testing.assert_close(with_time.reshape(2, 15, -1), flat)


def test_relative_error_and_spectral_ratio_per_shell():
    n = 64
    target = wave_1d(n, {k: 1.0 for k in range(1, 17)}).reshape(1, 1, n)
    pred = wave_1d(n, {k: (1.0 if k <= 8 else 0.5) for k in range(1, 17)}).reshape(1, 1, n)
    relative = error_spectrum(pred, target)
    ratio = spectral_ratio(pred, target)
    torch.testing.assert_close(relative[1:9], torch.zeros(8, dtype=torch.float64), atol=1e-20, rtol=0)
    torch.testing.assert_close(relative[9:17], torch.full((8,), 0.25, dtype=torch.float64))
    torch.testing.assert_close(ratio[9:17], torch.full((8,), 0.25, dtype=torch.float64))
    assert torch.isnan(relative[0]) and torch.isnan(relative[20])  # no target energy there


def test_pdebench_fourier_rmse_hand_computed_1d():
    n = 32
    error = wave_1d(n, {2: 0.8}).reshape(1, 1, n)
    bands = pdebench_fourier_rmse(error, torch.zeros_like(error))
    # |rfft| at k=2 is A n / 2; sqrt(mean |.|^2) / n = A / 2; the low band averages 4 shells
    assert bands["low"] == pytest.approx(0.8 / 2 / 4, rel=1e-12)
    assert bands["mid"] == pytest.approx(0.0, abs=1e-12)
    assert bands["high"] == pytest.approx(0.0, abs=1e-12)


def reference_pdebench_2d(pred, target, low=4, high=12):
    """PDEBench's 2D fRMSE transcribed with explicit loops, channels-first (batch, channels, nx, ny)."""
    nb, nc, nx, ny = pred.shape
    err = np.abs(np.fft.fftn(pred - target, axes=(2, 3))) ** 2
    n_shells = min(nx // 2, ny // 2)
    shells = np.zeros((nb, nc, n_shells))
    for i in range(nx // 2):
        for j in range(ny // 2):
            it = math.floor(math.sqrt(i**2 + j**2))
            if it > n_shells - 1:
                continue
            shells[:, :, it] += err[:, :, i, j]
    per_shell = np.sqrt(shells.mean(0)) / (nx * ny)
    return [per_shell[:, :low].mean(1).mean(), per_shell[:, low:high].mean(1).mean(), per_shell[:, high:].mean(1).mean()]


def test_pdebench_fourier_rmse_matches_loop_reference_2d():
    rng = np.random.default_rng(4)
    pred = rng.standard_normal((3, 2, 32, 28))
    target = rng.standard_normal((3, 2, 32, 28))
    bands = pdebench_fourier_rmse(torch.from_numpy(pred), torch.from_numpy(target))
    np.testing.assert_allclose(list(bands.values()), reference_pdebench_2d(pred, target), rtol=1e-10)


def test_well_bins_and_normalisation():
    n = 64
    # default edges for n=64, d=1: [0, 2pi/64, .., pi]; omega = 2 pi k / 64
    edges = np.logspace(np.log10(2 * np.pi / n), np.log10(np.pi + 1e-6), 4)
    k_mid = 6  # omega = 0.589: between edges[1]=0.3927 and edges[2]
    assert edges[1] <= 2 * np.pi * k_mid / n < edges[2]
    target = wave_1d(n, {k_mid: 1.0, 30: 1.0}).reshape(1, 1, n)
    pred = wave_1d(n, {k_mid: 0.0, 30: 1.0}).reshape(1, 1, n)
    mse, nmse = well_binned_spectral_error(pred, target)
    torch.testing.assert_close(mse, torch.tensor([0.0, 0.5, 0.0], dtype=torch.float64), atol=1e-12, rtol=0)
    assert nmse[1].item() == pytest.approx(0.5 / (0.5 + 1e-7), rel=1e-9)
    assert nmse[2].item() == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs_raise_one_clear_error():
    u = torch.zeros(2, 1, 8)
    with pytest.raises(ConfigError, match="pred and target: expected the same shape"):
        error_spectrum(u, torch.zeros(2, 1, 9))
    with pytest.raises(ConfigError, match="u: expected shape"):
        energy_spectrum(torch.zeros(8), spatial_dims=1)
    with pytest.raises(ConfigError, match="spatial_dims=4"):
        energy_spectrum(torch.zeros(1, 1, 2, 2, 2, 2))
    with pytest.raises(ConfigError, match="reduce"):
        error_spectrum(u, u, reduce="sum")


def test_sine_spectrum_single_mode_lands_in_one_shell():
    # sin(6 pi x) on the vertex grid x_j = j/32: 3 periods per unit length -> shell 3;
    # sum_j sin^2(6 pi j/32) over j = 0..32 is 16, so the energy is 16/33 (mean over all 33 nodes).
    x = torch.linspace(0, 1, 33, dtype=torch.float64)
    spectrum = sine_energy_spectrum(torch.sin(6 * math.pi * x).reshape(1, 1, 33))[0, 0]
    expected = torch.zeros_like(spectrum)
    expected[3] = 16 / 33
    torch.testing.assert_close(spectrum, expected, atol=1e-13, rtol=0)
    # 2D: sin(3 pi x) sin(4 pi y), |m| = 5 -> |k| = 2.5 -> shell 3; energy 8 * 8 / 17^2
    x = torch.linspace(0, 1, 17, dtype=torch.float64)
    u = torch.sin(3 * math.pi * x)[:, None] * torch.sin(4 * math.pi * x)[None, :]
    spectrum = sine_energy_spectrum(u.reshape(1, 1, 17, 17))[0, 0]
    assert spectrum.argmax().item() == 3
    assert spectrum[3].item() == pytest.approx(64 / 289, abs=1e-13)
    assert spectrum.sum().item() == pytest.approx(64 / 289, abs=1e-13)


def test_sine_spectrum_matches_scipy_dst_and_parseval():
    import scipy.fft

    rng = np.random.default_rng(0)
    u = np.zeros((2, 1, 3, 9, 12))
    u[..., 1:-1, 1:-1] = rng.standard_normal((2, 1, 3, 7, 10))
    spectrum = sine_energy_spectrum(torch.from_numpy(u), spatial_dims=2).numpy()
    coefficients = scipy.fft.dstn(u[..., 1:-1, 1:-1], type=1, axes=(-2, -1), norm="ortho")
    m1, m2 = np.meshgrid(np.arange(1, 8), np.arange(1, 11), indexing="ij")
    shells = np.floor(np.sqrt(m1**2 + m2**2) / 2 + 0.5).astype(int)
    expected = np.zeros_like(spectrum)
    for shell in np.unique(shells):
        expected[..., shell] = (coefficients[..., shells == shell] ** 2).sum(-1) / (9 * 12)
    np.testing.assert_allclose(spectrum, expected, atol=1e-13)
    np.testing.assert_allclose(spectrum.sum(-1), (u**2).mean((-2, -1)), rtol=1e-12)


@pytest.mark.parametrize("shape", [(12,), (8, 7), (4, 5, 6)])
def test_rfft_power_with_grid_weights_sums_to_the_mean_square(shape):
    u = torch.randn(2, 3, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    wavevectors, magnitude, weights = rfft_grid(shape, "cpu")
    power = rfft_power(u, len(shape))
    assert wavevectors.shape == (len(shape), power.shape[-1]) and magnitude.shape == weights.shape == power.shape[-1:]
    torch.testing.assert_close((power * weights).sum(-1), u.square().flatten(2).mean(-1))
