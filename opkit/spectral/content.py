"""Spectral content of a dataset: how much of each field's energy lies above a given wavenumber.

``opkit inspect FILE --spectrum`` prints, for every field of any supported file, pooled over
the first samples:

* the fraction of the energy in shells above |k| = 4, 8, 12, 16, 24 (an FNO keeping 12-16
  modes cannot represent the energy above its cutoff, and a spectral-bias study has nothing
  to measure where a band is empty);
* the smallest shell k holding 99% and 99.99% of the energy (cumulative from k = 0);
* the slope of log E(k) against log k over shells 1 .. k(99.99%) (none if that is below 3);
* for fields with a time axis, the fraction above k = 12 frame by frame.

The table rows use the last stored time of time-dependent fields (Burgers' u(T), the final
vorticity frame). Spectra are the FFT shell spectra of :func:`opkit.spectral.metrics.energy_spectrum`
and, when a spatial axis is not periodic (Darcy, Dirichlet data), also the sine-basis spectra of
:func:`opkit.spectral.metrics.sine_energy_spectrum`: the FFT of such a field puts energy at high k
that is only the kink of its periodic extension.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from opkit.errors import ConfigError
from opkit.spectral.metrics import energy_spectrum, log_log_slope, sine_energy_spectrum

THRESHOLDS = (4, 8, 12, 16, 24)
QUANTILES = (0.99, 0.9999)
FRAME_THRESHOLD = 12
DEFAULT_SAMPLES = 64


def fraction_above(spectrum: torch.Tensor, k: int) -> float:
    """Fraction of the energy of a pooled spectrum ``(K,)`` in shells above ``k``."""
    total = float(spectrum.sum())
    return float(spectrum[k + 1:].sum()) / total if total > 0 else float("nan")


def shell_holding(spectrum: torch.Tensor, fraction: float) -> int:
    """Smallest shell k with ``sum(E[0..k]) >= fraction * sum(E)`` (-1 for a zero field)."""
    total = float(spectrum.sum())
    if total <= 0:
        return -1
    cumulative = torch.cumsum(spectrum.double(), 0) / total
    # rounding can leave the last partial sum a hair below `fraction`: clamp to the last shell
    return min(int(torch.searchsorted(cumulative, torch.tensor([fraction], dtype=torch.float64))[0]),
               spectrum.shape[0] - 1)


def spectral_content(spectrum: torch.Tensor) -> dict[str, float]:
    """The summary of one pooled spectrum ``(K,)``: ``above_4 .. above_24``, ``k99``, ``k9999``, ``slope``."""
    spectrum = spectrum.detach().double().cpu()
    content = {f"above_{k}": fraction_above(spectrum, k) for k in THRESHOLDS}
    content["k99"] = shell_holding(spectrum, QUANTILES[0])
    content["k9999"] = shell_holding(spectrum, QUANTILES[1])
    # a slope needs a range of shells: none when the energy sits in k <= 2 (then it would fit noise)
    content["slope"] = log_log_slope(spectrum, content["k9999"]) if content["k9999"] >= 3 else float("nan")
    return content


def _spatial_layout(info, datafile) -> tuple[int, bool]:
    """(number of spatial axes, whether every one of them is periodic) for a field."""
    spatial = info.spatial_dims
    kinds = [str(datafile.boundary_conditions.get(axis, "unknown")) for axis in spatial]
    return len(spatial), all(kind == "periodic" for kind in kinds)


def _field_spectra(values: np.ndarray, info, spatial_dims: int, periodic: bool) -> dict[str, torch.Tensor]:
    """Pooled spectra per basis of samples ``(n, *field.shape)``: ``{basis: (frames, K)}``.

    Time-dependent fields keep one spectrum per stored time; vector components and samples
    are pooled (energies add).
    """
    array = np.asarray(values, dtype=np.float64)
    dims = list(info.dims)
    if info.is_vector:  # components become more samples
        array = np.moveaxis(array, 1 + dims.index("component"), 1)
        array = array.reshape(-1, *array.shape[2:])
        dims.remove("component")
    if "t" in dims:
        array = np.moveaxis(array, 1 + dims.index("t"), 1)
    else:
        array = array[:, None]
    u = torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1)  # (n, 1, frames, *spatial)
    spectra = {"fft": energy_spectrum(u, spatial_dims=spatial_dims).sum(dim=(0, 1))}
    if not periodic and min(array.shape[-spatial_dims:]) >= 3:
        spectra["sine"] = sine_energy_spectrum(u, spatial_dims=spatial_dims).sum(dim=(0, 1))
    return spectra


def _frames_to_read(info) -> list[int] | None:
    """Stored time indices read for a time-dependent field: up to 7, evenly spaced, the last included."""
    if not info.has_time:
        return None
    n_times = info.shape[info.dims.index("t")]
    return sorted({int(i) for i in np.linspace(0, n_times - 1, min(n_times, 7)).round()})


def file_spectra(path, n_samples: int = DEFAULT_SAMPLES, chunk: int = 8) -> dict:
    """Spectra of the first ``n_samples`` samples of every field of a supported data file.

    Time-dependent fields are read at up to 7 stored times (the last included), ``chunk``
    samples at a time, so memory stays bounded for long trajectories on fine grids.

    Returns ``{"path", "format", "n_samples", "attrs", "fields": {name: {basis: (frames, K)}},
    "times": {name: the frames' t values or None}}``.
    """
    from opkit.data.formats import open_dataset_file

    if not isinstance(n_samples, int) or n_samples < 1:
        raise ConfigError(f"--samples: expected a positive integer, got {n_samples!r}")
    result = {"path": str(path), "fields": {}, "times": {}}
    with open_dataset_file(path) as datafile:
        count = min(n_samples, datafile.n_samples)
        result.update(format=datafile.format, n_samples=count, attrs=dict(datafile.attrs))
        for name, info in datafile.fields.items():
            spatial_dims, periodic = _spatial_layout(info, datafile)
            if spatial_dims not in (1, 2, 3):
                continue
            frames = _frames_to_read(info)
            slices = {"t": frames} if frames is not None else None
            total: dict[str, torch.Tensor] = {}
            for start in range(0, count, chunk):
                values = datafile.read(name, slice(start, min(start + chunk, count)), slices)
                for basis, spectrum in _field_spectra(values, info, spatial_dims, periodic).items():
                    total[basis] = total[basis] + spectrum if basis in total else spectrum
            result["fields"][name] = total
            times = np.asarray(datafile.coords.get("t", [])).reshape(-1)
            known = frames is not None and len(times) == info.shape[info.dims.index("t")]
            result["times"][name] = times[frames] if known else None
    return result


def _format_fraction(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.2g}"


def _generation_cost(attrs: dict) -> str | None:
    seconds, samples = attrs.get("generation_seconds"), attrs.get("generation_samples")
    if seconds is None or not samples:
        return None
    workers = int(attrs.get("generation_workers", 1) or 1)
    samples = int(samples)
    text = (f"generation cost: {float(seconds) * workers / samples:.3g} s wall per sample per worker "
            f"({float(seconds):.4g} s for {samples} samples, {workers} worker{'s' if workers > 1 else ''})")
    cpu = attrs.get("generation_cpu_seconds")
    if cpu is not None:
        text += f"; {float(cpu) / samples:.3g} CPU s per sample"
    return text


def describe_spectrum(path, n_samples: int = DEFAULT_SAMPLES, plot: str | os.PathLike | None = None) -> str:
    """The table ``opkit inspect FILE --spectrum`` prints (and, with ``plot``, the spectrum PNG)."""
    spectra = file_spectra(path, n_samples)
    attrs = spectra["attrs"]
    label = "/".join(str(attrs[key]) for key in ("pde", "preset") if attrs.get(key))
    lines = [f"{Path(path)}  format={spectra['format']}  {label}".rstrip(),
             f"energy fractions above |k|, pooled over the first {spectra['n_samples']} samples; time-dependent "
             "fields at their last stored time ('-': no shell above k on this grid)"]
    header = (f"  {'field':<16}{'basis':<6}" + "".join(f"{'>' + str(k):>9}" for k in THRESHOLDS)
              + f"{'k99%':>7}{'k99.99%':>9}{'slope':>8}")
    lines.append(header)
    for name, per_basis in spectra["fields"].items():
        for basis, frames in per_basis.items():
            content = spectral_content(frames[-1])
            shells = frames.shape[-1]
            lines.append(f"  {name:<16}{basis:<6}"
                         + "".join(f"{_format_fraction(content[f'above_{k}']) if k + 1 < shells else '-':>9}"
                                   for k in THRESHOLDS)
                         + f"{content['k99']:>7}{content['k9999']:>9}"
                         + (f"{content['slope']:>8.2f}" if not math.isnan(content["slope"]) else f"{'-':>8}"))
    for name, per_basis in spectra["fields"].items():
        frames = per_basis["fft"]
        times = spectra["times"][name]
        if frames.shape[0] < 2:
            continue
        picks = range(frames.shape[0])
        stamps = [f"t={times[i]:.3g}" if times is not None else f"frame {i}" for i in picks]
        if FRAME_THRESHOLD + 1 >= frames.shape[-1]:
            continue  # no shell above the threshold on this grid
        lines.append(f"  {name}: fraction above k={FRAME_THRESHOLD} (fft) by time: "
                     + ", ".join(f"{stamp}: {_format_fraction(fraction_above(frames[i], FRAME_THRESHOLD))}"
                                 for stamp, i in zip(stamps, picks)))
    cost = _generation_cost(attrs)
    if cost:
        lines.append(cost)
    if plot is not None:
        written = plot_file_spectra(spectra, plot)
        lines.append(f"wrote {written}")
    return "\n".join(lines)


def plot_file_spectra(spectra: dict, path: str | os.PathLike) -> Path:
    """Energy spectra E(k) (last stored time) of every field on log-log axes, one PNG."""
    from matplotlib.figure import Figure

    from opkit.io import atomic_path

    names = list(spectra["fields"])
    if not names:
        raise ConfigError(f"{spectra['path']}: no field with 1-3 spatial axes to plot")
    figure = Figure(figsize=(5 * len(names), 4))
    for index, name in enumerate(names):
        axes = figure.add_subplot(1, len(names), index + 1)
        for basis, frames in spectra["fields"][name].items():
            energy = frames[-1].double().numpy()
            k = np.arange(len(energy))
            keep = (k >= 1) & (energy > 0)
            axes.loglog(k[keep], energy[keep], "-" if basis == "fft" else "--", label=basis)
        for threshold in (12, 16):
            axes.axvline(threshold, color="grey", linewidth=0.6, linestyle=":")
        axes.set_xlabel("wavenumber shell |k|")
        axes.set_ylabel("E(k)")
        axes.set_title(name)
        axes.legend()
    figure.suptitle(f"{Path(spectra['path']).name}: first {spectra['n_samples']} samples")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return Path(path)
