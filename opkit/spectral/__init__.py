"""Spectral-bias evaluation: which frequencies an operator gets right, and when it learns them.

``metrics``   energy / error spectra, PDEBench fRMSE and The Well's binned MSE per band
``shells``    ``ShellSums``: error spectra pooled over batches; relative band errors, bandwidth, bias index
``plots``     headless matplotlib figures (error spectrum, spectral ratio, epoch x wavenumber heatmap)
``dynamics``  the ``SpectralDynamics`` Lightning callback and time-to-learn analysis
``probes``    Rahaman et al. frequency probes, operator probes, spectrum at initialisation
``aliasing``  the share of each activation's output an FNO's next spectral convolution drops
"""

from opkit.spectral.metrics import (
    energy_spectrum,
    error_spectrum,
    pdebench_fourier_rmse,
    spectral_ratio,
    well_binned_spectral_error,
)
from opkit.spectral.shells import ShellSums, relative_band_errors, resolved_bandwidth, spectral_bias_index

__all__ = [
    "ShellSums",
    "energy_spectrum",
    "error_spectrum",
    "pdebench_fourier_rmse",
    "relative_band_errors",
    "resolved_bandwidth",
    "spectral_bias_index",
    "spectral_ratio",
    "well_binned_spectral_error",
]
