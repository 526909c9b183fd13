"""Spectra and spectral errors of fields on periodic grids (and, for fields that vanish on
the boundary of a vertex grid, energy spectra in the sine basis).

All functions take channels-first tensors ``(batch, channels, *extra, *spatial)``: the
last ``spatial_dims`` axes are space (1, 2 or 3 of them; by default every axis after
the channel axis), anything between the channel axis and space (a time axis, say) is
treated as more batch.

Wavenumbers are integers counted in periods per domain: a field ``sin(2 pi k x)`` on
``x in [0, 1)`` has wavenumber ``k``. In several dimensions the *shell* of a Fourier
mode ``(k_1, ..., k_d)`` is the nearest integer to ``|k| = sqrt(k_1^2 + ... + k_d^2)``.

The energy in shell ``k`` is

    E(k) = sum_{modes in shell k} |u_hat(k)|^2 / N^2,     u_hat = DFT(u), N = grid points,

so that, by Parseval, ``sum_k E(k) = mean(u^2)``: the spectrum of ``pred - target`` sums
to the mean squared error.

Two published band-error definitions are reproduced so that numbers compare:

* PDEBench's Fourier RMSE (Takamoto et al. 2022, ``metric_func`` in
  ``pdebench/models/metrics.py``): squared DFT error summed in shells
  ``floor(|k|)`` over the non-negative quadrant ``0 <= k_i < n_i/2``, shells kept below
  ``min(n_i)/2`` (in 1D every rfft bin is its own shell), square root of the mean over
  samples, divided by ``N`` and multiplied by the domain volume, then averaged over the
  shells of each band ``[0, 4), [4, 12), [12, end)`` and over channels and time.
* The Well's binned spectral MSE / NMSE (Ohana et al. 2024, ``binned_spectral_mse`` in
  ``the_well/benchmark/metrics/spectral.py``): angular wavenumber
  ``|omega| = |2 pi fftfreq|`` per axis, three bins with edges
  ``[0, logspace(log10(2 pi / max n), log10(pi sqrt(d)), 4)[1:]]``, per-bin MSE
  ``sum |DFT(pred - target)|^2 / N^2`` (the bins sum to the MSE), NMSE the per-bin MSE
  over the per-bin energy of the target (+1e-7), both averaged over samples.

The relative error power in shell bands (below and above a mode cutoff) and the other
summaries of an error spectrum pooled over a whole test set are in :mod:`opkit.spectral.shells`.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import torch

from opkit.errors import ConfigError

# Shell energies of the target below this fraction of its largest shell count as empty:
# a relative error there is noise divided by noise.
EMPTY_SHELL_FRACTION = 1e-10
WELL_EPSILON = 1e-7


# --------------------------------------------------------------------------- input checks


def _check_field(u, name: str, spatial_dims: int | None) -> int:
    if not isinstance(u, torch.Tensor):
        raise ConfigError(f"{name}: expected a torch.Tensor, got {type(u).__name__}")
    if spatial_dims is None:
        spatial_dims = u.ndim - 2
    if spatial_dims not in (1, 2, 3):
        raise ConfigError(
            f"{name}: expected 1, 2 or 3 spatial dimensions after (batch, channels), "
            f"got spatial_dims={spatial_dims} for shape {tuple(u.shape)}"
        )
    if u.ndim < spatial_dims + 2:
        raise ConfigError(
            f"{name}: expected shape (batch, channels, ..., *spatial) with {spatial_dims} "
            f"spatial dimensions, got {tuple(u.shape)}"
        )
    if u.is_complex():
        raise ConfigError(f"{name}: expected a real tensor, got {u.dtype}")
    return spatial_dims


def check_pair(pred, target, spatial_dims: int | None) -> int:
    """Check a prediction and a target of one shape; returns the number of spatial axes."""
    spatial_dims = _check_field(pred, "pred", spatial_dims)
    _check_field(target, "target", spatial_dims)
    if pred.shape != target.shape:
        raise ConfigError(
            f"pred and target: expected the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    return spatial_dims


# --------------------------------------------------------------------------- Fourier grid


@functools.lru_cache(maxsize=32)
def rfft_grid(spatial_shape: tuple[int, ...], device: str):
    """Integer wavenumbers, shells and Hermitian weights of the ``rfftn`` grid.

    Returns ``(wavevectors (d, M) long, magnitude (M,) float64, weights (M,) float)`` for the
    ``M`` points of ``rfftn`` over ``spatial_shape``. A weight is 2 where the mode stands for
    itself and its conjugate (interior of the last axis), else 1, so that the weighted sum
    over the half grid equals the sum over the full grid.
    """
    axes = [torch.fft.fftfreq(n, 1.0 / n).round().long() for n in spatial_shape[:-1]]
    last = spatial_shape[-1]
    axes.append(torch.arange(last // 2 + 1))
    mesh = torch.meshgrid(*axes, indexing="ij")
    wavevectors = torch.stack([m.reshape(-1) for m in mesh])
    magnitude = wavevectors.double().pow(2).sum(0).sqrt()
    weights = torch.full((last // 2 + 1,), 2.0)
    weights[0] = 1.0
    if last % 2 == 0:
        weights[-1] = 1.0
    weights = weights.expand(mesh[0].shape).reshape(-1)
    return wavevectors.to(device), magnitude.to(device), weights.to(device)


def rfft_power(u: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """``|rfftn(u)|^2 / N^2`` flattened over the Fourier grid: ``(*leading, M)``.

    The modes are those of :func:`rfft_grid`; multiplied by its weights, the sum over ``M`` is
    ``mean(u^2)`` (Parseval).
    """
    spatial_shape = u.shape[-spatial_dims:]
    n_points = math.prod(spatial_shape)
    u_hat = torch.fft.rfftn(u, dim=tuple(range(-spatial_dims, 0)))
    power = u_hat.real.square() + u_hat.imag.square()
    return power.flatten(-spatial_dims) / n_points**2


def _sum_in_bins(values: torch.Tensor, bin_index: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Sum the last axis of ``values (*leading, M)`` into ``n_bins`` by ``bin_index (M,)``."""
    flat = values.reshape(-1, values.shape[-1])
    out = flat.new_zeros(flat.shape[0], n_bins)
    out.index_add_(1, bin_index, flat)
    return out.reshape(*values.shape[:-1], n_bins)


def shell_count(spatial_shape: Sequence[int]) -> int:
    """Number of integer shells ``round(|k|)`` on a grid: ``0 .. round(|k_max|)``."""
    k_max = math.sqrt(sum((n // 2) ** 2 for n in spatial_shape))
    return int(round(k_max)) + 1


def complete_shells(spatial_shape: Sequence[int]) -> int:
    """Highest shell that lies wholly inside the grid, ``min(n_i) // 2``.

    Shells above it are cut by the grid's corners; plots and summaries stop here.
    """
    return min(spatial_shape) // 2


# --------------------------------------------------------------------------- spectra


def energy_spectrum(u: torch.Tensor, spatial_dims: int | None = None) -> torch.Tensor:
    """Energy per integer wavenumber shell.

    Args:
        u: ``(batch, channels, *extra, *spatial)`` real field on a periodic grid.
        spatial_dims: number of trailing spatial axes (default ``u.ndim - 2``).

    Returns:
        ``(batch, channels, *extra, K)`` with ``E(k) = sum_{round|k|=k} |u_hat|^2 / N^2`` for
        ``k = 0 .. K-1``; ``E.sum(-1) == (u**2).mean(spatial axes)`` (Parseval).
    """
    spatial_dims = _check_field(u, "u", spatial_dims)
    spatial_shape = tuple(u.shape[-spatial_dims:])
    _, magnitude, weights = rfft_grid(spatial_shape, str(u.device))
    shells = magnitude.round().long()
    power = rfft_power(u, spatial_dims)
    power = power * weights.to(power.dtype)
    return _sum_in_bins(power, shells, shell_count(spatial_shape))


def sine_shell_count(spatial_shape: Sequence[int]) -> int:
    """Number of shells of :func:`sine_energy_spectrum` on a vertex grid of ``spatial_shape``."""
    k_max = math.sqrt(sum((n - 2) ** 2 for n in spatial_shape)) / 2
    return int(math.floor(k_max + 0.5)) + 1


def sine_energy_spectrum(u: torch.Tensor, spatial_dims: int | None = None) -> torch.Tensor:
    """Energy per integer wavenumber shell in the sine basis, for fields that vanish on the boundary.

    Args:
        u: ``(batch, channels, *extra, *spatial)`` real field on a vertex grid
            ``x_j = j / (n - 1)``, ``j = 0 .. n-1``, per axis, boundary nodes first and last
            (Darcy, Dirichlet data). Only the interior nodes enter.
        spatial_dims: number of trailing spatial axes (default ``u.ndim - 2``).

    Returns:
        ``(batch, channels, *extra, K)``. The interior values are expanded as
        ``u = sum_m b_m prod_i sin(pi m_i x_i)``, ``m_i = 1 .. n_i - 2`` (type-I DST, orthonormal).
        ``sin(pi m x)`` has ``m / 2`` periods per unit length, the same wavenumber the FFT
        shells count, so mode ``m`` lies in shell ``floor(|m| / 2 + 1/2)`` and
        ``E(k) = sum_{modes in shell k} |b_m|^2 / N`` with ``N`` all grid points:
        ``E.sum(-1) == (u**2).mean(spatial axes)`` when ``u`` is zero on the boundary. Unlike
        the FFT of such a field, no energy is spread to high k by the kink of its periodic
        extension.
    """
    spatial_dims = _check_field(u, "u", spatial_dims)
    spatial_shape = tuple(u.shape[-spatial_dims:])
    if min(spatial_shape) < 3:
        raise ConfigError(f"u: the sine basis needs at least 3 points per axis, got {spatial_shape}")
    interior = u[(..., *[slice(1, -1)] * spatial_dims)]
    # DST-I through the FFT of the odd extension [0, v, 0, -reversed(v)] of length 2(n-1):
    # its coefficients are -2i sum_j v_j sin(pi m j / (n-1)), so |b_m|^2 = |X_m|^2 / (2(n-1)) per axis.
    extended = interior
    for axis in range(-spatial_dims, 0):
        zero = torch.zeros_like(extended.narrow(axis, 0, 1))
        extended = torch.cat([zero, extended, zero, -extended.flip(axis)], dim=axis)
    coefficients = torch.fft.fftn(extended, dim=tuple(range(-spatial_dims, 0)))
    coefficients = coefficients[(..., *[slice(1, n - 1) for n in spatial_shape])]
    length = math.prod(2 * (n - 1) for n in spatial_shape)
    power = (coefficients.real.square() + coefficients.imag.square()) / length / math.prod(spatial_shape)
    modes = torch.meshgrid(*[torch.arange(1, n - 1, dtype=torch.float64) for n in spatial_shape], indexing="ij")
    shells = torch.floor(torch.stack(modes).square().sum(0).sqrt() / 2 + 0.5).long().reshape(-1)
    return _sum_in_bins(power.flatten(-spatial_dims), shells.to(u.device), sine_shell_count(spatial_shape))


def _reduce_leading(spectrum: torch.Tensor, reduce: str, extra_axes: int) -> torch.Tensor:
    """Mean of ``(batch, channels, *extra, K)`` over the axes that ``reduce`` names."""
    if reduce == "mean":
        return spectrum.reshape(-1, spectrum.shape[-1]).mean(0)
    if reduce == "channel":
        moved = spectrum.movedim(1, 0)
        return moved.reshape(moved.shape[0], -1, moved.shape[-1]).mean(1)
    return spectrum


def _check_reduce(reduce: str) -> None:
    if reduce not in ("mean", "channel", "none"):
        raise ConfigError(f"reduce: expected 'mean', 'channel' or 'none', got {reduce!r}")


def error_spectrum(
    pred: torch.Tensor,
    target: torch.Tensor,
    relative: bool = True,
    spatial_dims: int | None = None,
    reduce: str = "mean",
) -> torch.Tensor:
    """Error energy per wavenumber shell, optionally relative to the target's.

    ``e(k) = E_{pred - target}(k) / E_target(k)`` (``relative=True``: a power ratio; its
    square root is the relative L2 error of the fields band-passed to shell k), or
    ``E_{pred - target}(k)`` (``relative=False``: sums over k to the MSE).

    Args:
        pred, target: ``(batch, channels, *extra, *spatial)``, same shape.
        reduce: ``"mean"`` -> ``(K,)`` pooled over batch, channels and extra axes (the ratio
            of pooled energies); ``"channel"`` -> ``(channels, K)``; ``"none"`` ->
            ``(batch, channels, *extra, K)``.

    Shells where the target has (next to) no energy give ``nan`` in relative mode.
    """
    spatial_dims = check_pair(pred, target, spatial_dims)
    _check_reduce(reduce)
    extra = pred.ndim - 2 - spatial_dims
    error = _reduce_leading(energy_spectrum(pred - target, spatial_dims), reduce, extra)
    if not relative:
        return error
    reference = _reduce_leading(energy_spectrum(target, spatial_dims), reduce, extra)
    return ratio_per_shell(error, reference)


def ratio_per_shell(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """``numerator / denominator`` per shell (last axis), ``nan`` where the denominator is under
    :data:`EMPTY_SHELL_FRACTION` of its largest shell."""
    scale = denominator.amax(-1, keepdim=True)
    empty = denominator <= EMPTY_SHELL_FRACTION * scale
    ratio = numerator / torch.where(empty, torch.ones_like(denominator), denominator)
    return torch.where(empty, torch.full_like(ratio, float("nan")), ratio)


def spectral_ratio(
    pred: torch.Tensor,
    target: torch.Tensor,
    spatial_dims: int | None = None,
    reduce: str = "mean",
) -> torch.Tensor:
    """Predicted over true energy per shell, ``E_pred(k) / E_target(k)``.

    Below 1 at high k marks a low-pass operator, above 1 spurious high-frequency content.
    Shapes and ``reduce`` as in :func:`error_spectrum`; empty target shells give ``nan``.
    """
    spatial_dims = check_pair(pred, target, spatial_dims)
    _check_reduce(reduce)
    extra = pred.ndim - 2 - spatial_dims
    predicted = _reduce_leading(energy_spectrum(pred, spatial_dims), reduce, extra)
    true = _reduce_leading(energy_spectrum(target, spatial_dims), reduce, extra)
    return ratio_per_shell(predicted, true)


# --------------------------------------------------------------------------- published band errors


def pdebench_fourier_rmse(
    pred: torch.Tensor,
    target: torch.Tensor,
    low: int = 4,
    high: int = 12,
    domain_length: float = 1.0,
    spatial_dims: int | None = None,
) -> dict[str, float]:
    """PDEBench's fRMSE in the bands ``[0, low)``, ``[low, high)``, ``[high, end)``.

    See the module docstring for the definition; the square root is taken over the mean
    across axis 0 (samples), the band values are then averaged over channels and extra
    axes. PDEBench evaluates per loader batch and averages; on one batch they agree.
    """
    spatial_dims = check_pair(pred, target, spatial_dims)
    spatial_shape = tuple(pred.shape[-spatial_dims:])
    n_points = math.prod(spatial_shape)
    volume = domain_length**spatial_dims
    wavevectors, magnitude, _ = rfft_grid(spatial_shape, str(pred.device))
    power = rfft_power(pred - target, spatial_dims) * n_points**2  # raw |DFT|^2
    if spatial_dims == 1:
        n_shells = spatial_shape[0] // 2 + 1
        shell_sums = power
    else:
        n_shells = min(n // 2 for n in spatial_shape)
        limits = torch.tensor([n // 2 for n in spatial_shape], device=wavevectors.device)
        shells = magnitude.floor().long()
        in_quadrant = ((wavevectors >= 0) & (wavevectors < limits[:, None])).all(0) & (shells < n_shells)
        shell_sums = _sum_in_bins(power[..., in_quadrant], shells[in_quadrant], n_shells)
    per_shell = shell_sums.mean(0).sqrt() / n_points * volume  # (channels, *extra, K)
    per_shell = per_shell.reshape(-1, n_shells)
    bands = {"low": (0, low), "mid": (low, high), "high": (high, n_shells)}
    return {name: per_shell[:, a:b].mean().item() for name, (a, b) in bands.items()}


def well_binned_spectral_error(
    pred: torch.Tensor,
    target: torch.Tensor,
    bin_edges: Sequence[float] | None = None,
    spatial_dims: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Well's binned spectral MSE and NMSE, averaged over samples, channels and extra axes.

    Args:
        bin_edges: edges in angular wavenumber ``|omega|`` (radians per grid step); default
            the Well's three log-spaced bins up to ``pi sqrt(d)``.

    Returns:
        ``(mse_per_bin, nmse_per_bin)``, each ``(n_bins,)``; ``mse_per_bin.sum()`` is the MSE
        when the edges cover every mode (the default ones do).
    """
    spatial_dims = check_pair(pred, target, spatial_dims)
    spatial_shape = tuple(pred.shape[-spatial_dims:])
    if bin_edges is None:
        top = math.pi * math.sqrt(spatial_dims) + 1e-6
        edges = torch.logspace(math.log10(2 * math.pi / max(spatial_shape)), math.log10(top), 4, dtype=torch.float64)
        edges[0] = 0.0
    else:
        edges = torch.as_tensor(bin_edges, dtype=torch.float64)
        if edges.ndim != 1 or len(edges) < 2 or not bool((edges[1:] > edges[:-1]).all()):
            raise ConfigError(f"bin_edges: expected at least two increasing edges, got {list(bin_edges)}")
    wavevectors, _, weights = rfft_grid(spatial_shape, str(pred.device))
    sizes = torch.tensor(spatial_shape, dtype=torch.float64, device=wavevectors.device)
    omega = (2 * math.pi * wavevectors.double() / sizes[:, None]).pow(2).sum(0).sqrt()
    edges = edges.to(omega.device)
    index = torch.bucketize(omega, edges, right=True) - 1
    inside = (index >= 0) & (index < len(edges) - 1)
    n_bins = len(edges) - 1

    def binned(u):
        power = rfft_power(u, spatial_dims)
        power = power * weights.to(power.dtype)
        return _sum_in_bins(power[..., inside], index[inside], n_bins)

    mse = binned(pred - target)
    energy = binned(target)
    nmse = mse / (energy + WELL_EPSILON)
    return mse.reshape(-1, n_bins).mean(0), nmse.reshape(-1, n_bins).mean(0)


# --------------------------------------------------------------------------- spectral slope


def log_log_slope(relative: torch.Tensor, top: int) -> float:
    """Slope of ``log e(k)`` vs ``log k`` for shells ``1..top`` with finite, positive e(k)."""
    k = torch.arange(relative.shape[-1], dtype=torch.float64)
    values = relative.detach().double().cpu()
    keep = (k >= 1) & (k <= top) & torch.isfinite(values) & (values > 0)
    if int(keep.sum()) < 2:
        return float("nan")
    x, y = k[keep].log(), values[keep].log()
    x_centered = x - x.mean()
    return float((x_centered * (y - y.mean())).sum() / x_centered.square().sum())
