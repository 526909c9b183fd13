"""Error spectra pooled over many fields, and the numbers read from them.

A test set or a validation subset is seen in batches; its error spectrum is a ratio of
sums over every field (sample x channel x extra axis) of every batch:

    e(k) = sum_fields E_{pred - target}(k) / sum_fields E_target(k)

(``E`` the shell energy of :func:`opkit.spectral.metrics.energy_spectrum`), not a mean of
per-batch ratios. :class:`ShellSums` holds those sums; batches add with ``+``, and the
summaries (relative spectrum, band errors, resolved bandwidth, spectral-bias index) are
read from the pooled sums only, so they equal the computation on the concatenated set.
The functions at the end are the same summaries for one ``(pred, target)`` pair of tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from opkit.errors import ConfigError
from opkit.spectral.metrics import (
    EMPTY_SHELL_FRACTION,
    check_pair,
    complete_shells,
    energy_spectrum,
    log_log_slope,
    ratio_per_shell,
    sine_energy_spectrum,
)

BASES = {"fourier": energy_spectrum, "sine": sine_energy_spectrum}


# --------------------------------------------------------------------------- mode-cutoff bands


def cutoff_bands(mode_cutoff: int, top: int) -> dict[str, tuple[float, float]]:
    """Bands relative to a mode cutoff m: low ``|k| <= m/2``, mid ``m/2 < |k| <= m``, high ``|k| > m``.

    Returned as half-open shell ranges ``[start, stop)`` up to shell ``top`` inclusive.
    """
    if not isinstance(mode_cutoff, int) or mode_cutoff < 1:
        raise ConfigError(f"mode_cutoff: expected a positive integer number of modes, got {mode_cutoff!r}")
    half = math.floor(mode_cutoff / 2)
    return {"low": (0, half + 1), "mid": (half + 1, mode_cutoff + 1), "high": (mode_cutoff + 1, top + 1)}


def default_mode_cutoff(spatial_shape: Sequence[int]) -> int:
    """The band cutoff for models without Fourier modes: half the highest complete shell."""
    return max(1, complete_shells(spatial_shape) // 2)


def module_mode_cutoff(module) -> int | None:
    """The Fourier modes an operator keeps (its smallest axis): ``n_modes`` of ``module`` or of
    ``module.model`` (a LightningModule's operator); ``None`` when neither has Fourier modes."""
    for owner in (module, getattr(module, "model", None)):
        modes = getattr(owner, "n_modes", None)
        if isinstance(modes, (tuple, list)):
            if modes:
                return int(min(modes))
        elif modes is not None:
            return int(modes)
    return None


# --------------------------------------------------------------------------- pooled sums


@dataclass(frozen=True)
class ShellSums:
    """Shell energies summed over fields: ``error``, ``target``, ``prediction``, each ``(K,)``.

    ``fields`` counts the fields summed (samples x channels x extra axes), ``spatial_shape``
    is their grid. Build one per batch with :meth:`of` and pool batches with ``+``.
    """

    error: torch.Tensor
    target: torch.Tensor
    prediction: torch.Tensor
    fields: int
    spatial_shape: tuple[int, ...]

    @classmethod
    def of(cls, prediction: torch.Tensor, target: torch.Tensor, spatial_dims: int | None = None,
           basis: str = "fourier", dtype: torch.dtype | None = None) -> ShellSums:
        """The sums of one batch ``(batch, channels, *extra, *spatial)``.

        ``basis``: ``"fourier"`` (:func:`~opkit.spectral.metrics.energy_spectrum`) or ``"sine"``
        (:func:`~opkit.spectral.metrics.sine_energy_spectrum`, fields zero on the boundary).
        ``dtype``: the precision of the transforms (default the inputs'); the difference
        ``prediction - target`` is taken before the cast, in the inputs' precision.
        """
        spatial_dims = check_pair(prediction, target, spatial_dims)
        if basis not in BASES:
            raise ConfigError(f"basis: expected one of {', '.join(BASES)}, got {basis!r}")
        fields = (prediction - target, target, prediction)
        if dtype is not None:
            fields = tuple(field.to(dtype) for field in fields)
        spectra = [BASES[basis](field, spatial_dims) for field in fields]
        error, true, predicted = (spectrum.reshape(-1, spectrum.shape[-1]).sum(0) for spectrum in spectra)
        return cls(error, true, predicted, fields=math.prod(prediction.shape[:-spatial_dims]),
                   spatial_shape=tuple(prediction.shape[-spatial_dims:]))

    def __add__(self, other: ShellSums) -> ShellSums:
        if not isinstance(other, ShellSums):
            return NotImplemented
        if other.error.shape != self.error.shape:
            raise ConfigError(f"ShellSums: cannot pool {self.error.shape[-1]} shells with {other.error.shape[-1]} "
                              f"(grids {self.spatial_shape} and {other.spatial_shape})")
        return ShellSums(self.error + other.error, self.target + other.target, self.prediction + other.prediction,
                         fields=self.fields + other.fields, spatial_shape=other.spatial_shape)

    def to(self, *args, **kwargs) -> ShellSums:
        """The sums moved or cast as ``torch.Tensor.to(*args, **kwargs)``."""
        return ShellSums(self.error.to(*args, **kwargs), self.target.to(*args, **kwargs),
                         self.prediction.to(*args, **kwargs), fields=self.fields, spatial_shape=self.spatial_shape)

    @property
    def top(self) -> int:
        """The highest shell held, ``K - 1``."""
        return self.error.shape[-1] - 1

    @property
    def complete(self) -> int:
        """The highest complete shell of the grid, ``min(n_i) // 2``: spectra and slopes stop here."""
        return complete_shells(self.spatial_shape)

    def relative(self) -> torch.Tensor:
        """``e(k) = E_err(k) / E_target(k)``, ``(K,)``; ``nan`` where the target is (next to) empty."""
        return ratio_per_shell(self.error, self.target)

    def spectral_ratio(self) -> torch.Tensor:
        """``E_pred(k) / E_target(k)``, ``(K,)``; ``nan`` where the target is (next to) empty."""
        return ratio_per_shell(self.prediction, self.target)

    def cutoff_bands(self, mode_cutoff: int | None = None) -> dict[str, tuple[float, float]]:
        """:func:`cutoff_bands` up to the last shell held; the default
        ``mode_cutoff`` is half the highest complete shell."""
        cutoff = mode_cutoff if mode_cutoff is not None else default_mode_cutoff(self.spatial_shape)
        return cutoff_bands(cutoff, self.top)

    def relative_band_errors(self, bands: Mapping[str, tuple[float, float]]) -> dict[str, float]:
        """Relative error power per half-open shell band, ``sum_band E_err / sum_band E_target``.

        A band where the target has (next to) no energy gives ``nan``.
        """
        shells = torch.arange(self.error.shape[-1], device=self.error.device)
        smallest = EMPTY_SHELL_FRACTION * self.target.max()
        result = {}
        for name, (start, stop) in bands.items():
            inside = (shells >= start) & (shells < stop)
            denominator = self.target[inside].sum()
            result[name] = (self.error[inside].sum() / denominator).item() if denominator > smallest else float("nan")
        return result

    def band_mse(self, bands: Mapping[str, tuple[float, float]]) -> dict[str, float]:
        """Error energy per band per field: over bands that cover every shell, these sum to the MSE."""
        shells = torch.arange(self.error.shape[-1], device=self.error.device)
        return {name: float(self.error[(shells >= start) & (shells < stop)].sum() / self.fields)
                for name, (start, stop) in bands.items()}

    def resolved_bandwidth(self, threshold: float = 0.1) -> int:
        """Highest shell up to which ``e(k)`` stays under ``threshold``.

        Scans shells ``1 .. complete``, skipping shells where the target has no energy; returns
        the last shell before the first one at or above the threshold (``-1`` when already the
        first non-empty shell fails). Shell 0, the spatial mean, is not a frequency: on
        zero-mean data (Burgers, vorticity) its target energy is a rounding-size remainder,
        whose relative error would make every model "never resolved".
        """
        resolved = -1
        for k, value in enumerate(self.relative()[: self.complete + 1].tolist()):
            if k == 0 or math.isnan(value):
                continue
            if value >= threshold:
                break
            resolved = k
        return resolved

    def bias_index(self, mode_cutoff: int | None = None) -> dict[str, float]:
        """Two numbers that summarise spectral bias.

        * ``high_low_ratio``: high-band over low-band relative error (:meth:`cutoff_bands`);
          much above 1 means the high frequencies are learned worse (``nan`` when the low
          band's error is 0 or undefined).
        * ``slope``: least-squares slope of ``log e(k)`` against ``log k`` over the non-empty
          shells ``1 .. complete``; positive means the error grows with frequency.
        """
        bands = self.relative_band_errors(self.cutoff_bands(mode_cutoff))
        low = bands.get("low", float("nan"))
        return {"high_low_ratio": bands["high"] / low if low else float("nan"),
                "slope": log_log_slope(self.relative(), self.complete)}


# --------------------------------------------------------------------------- one pair of tensors


def _parse_bands(bands) -> dict[str, tuple[float, float]]:
    if isinstance(bands, Mapping):
        parsed = {str(name): tuple(edges) for name, edges in bands.items()}
    elif isinstance(bands, Sequence) and not isinstance(bands, str):
        edges = list(bands)
        if len(edges) < 2:
            raise ConfigError(f"bands: expected at least two shell edges, got {edges}")
        parsed = {f"[{a:g},{b:g})": (a, b) for a, b in zip(edges[:-1], edges[1:])}
    else:
        raise ConfigError(f"bands: expected 'cutoff', a list of shell edges or a dict of (start, stop), got {bands!r}")
    for name, edges in parsed.items():
        if len(edges) != 2 or not edges[0] < edges[1]:
            raise ConfigError(f"bands: band {name!r}: expected (start, stop) with start < stop, got {edges}")
    return parsed


def relative_band_errors(
    pred: torch.Tensor,
    target: torch.Tensor,
    bands="cutoff",
    mode_cutoff: int | None = None,
    spatial_dims: int | None = None,
) -> dict[str, float]:
    """Relative error power in wavenumber bands, ``sum_band E_err / sum_band E_target``, pooled
    over samples and channels.

    ``bands``: ``"cutoff"`` (bands relative to ``mode_cutoff`` m: low ``|k| <= m/2``, mid up to
    m, high above; default m = half the highest complete shell), a list of shell edges
    ``[0, 4, 12, 64]`` or a dict ``{"name": (start, stop)}`` of half-open shell ranges.
    (PDEBench's fRMSE and The Well's binned MSE are other quantities:
    :func:`~opkit.spectral.metrics.pdebench_fourier_rmse`,
    :func:`~opkit.spectral.metrics.well_binned_spectral_error`.)
    """
    sums = ShellSums.of(pred, target, spatial_dims)
    if isinstance(bands, str):
        if bands != "cutoff":
            raise ConfigError(f"bands: expected 'cutoff', a list of shell edges or a dict of (start, stop), "
                              f"got {bands!r}")
        return sums.relative_band_errors(sums.cutoff_bands(mode_cutoff))
    return sums.relative_band_errors(_parse_bands(bands))


def resolved_bandwidth(
    pred: torch.Tensor,
    target: torch.Tensor,
    threshold: float = 0.1,
    spatial_dims: int | None = None,
) -> int:
    """Highest wavenumber up to which the pooled relative error stays under ``threshold``
    (see :meth:`ShellSums.resolved_bandwidth`)."""
    if not threshold > 0:
        raise ConfigError(f"threshold: expected a positive relative error, got {threshold!r}")
    return ShellSums.of(pred, target, spatial_dims).resolved_bandwidth(threshold)


def spectral_bias_index(
    pred: torch.Tensor,
    target: torch.Tensor,
    mode_cutoff: int | None = None,
    spatial_dims: int | None = None,
) -> dict[str, float]:
    """``high_low_ratio`` and ``slope`` of the pooled error spectrum (see :meth:`ShellSums.bias_index`)."""
    return ShellSums.of(pred, target, spatial_dims).bias_index(mode_cutoff)
