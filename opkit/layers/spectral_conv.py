"""Spectral convolution, the kernel integral operator of the Fourier Neural Operator.

Li et al., "Fourier Neural Operator for Parametric Partial Differential Equations",
ICLR 2021 (arXiv:2010.08895), eq. (4)-(5):

    (K u)(x) = F^{-1}( R_k . (F u)_k )(x),   k in the kept modes,

with ``F`` the discrete Fourier transform over the ``d`` spatial axes and ``R_k`` a
complex ``(in_channels, out_channels)`` matrix per kept frequency ``k``. The kept
frequencies are the lowest ``n_modes[i]`` per axis: ``0 .. n-1`` on the last axis
(the real FFT stores only non-negative frequencies there) and ``-n .. n-1`` (both
signs) on every other axis. All other frequencies are set to zero.

Speed: only the kept modes are ever computed or multiplied. The transform is done
one axis at a time and truncated right away: on the last axis the ``n_modes[-1]``
kept frequencies of the real DFT are one real matrix product with a cached
``(n, 2 k)`` cosine/sine matrix (for a few modes of many points this beats a full
real FFT, forward and backward), then a complex FFT runs on each further axis of the
already truncated tensor, so the full-grid transforms touch as little data as possible. The kept block is
laid out as ``(modes, batch, in_channels)`` so that the channel mixing is one
batched matrix product against weights ``(modes, in_channels, out_channels)``,
done in real arithmetic with the 2x2 real block form of each complex weight. The inverse runs the same steps backwards, zero-filling only along
one axis at a time.

Resolution: the FFTs use the "backward" normalisation (``1/N`` on the inverse), so
a band-limited function sampled on any grid with more than ``2 * n_modes`` points per
axis gives the same continuous output; the same weights run on every grid.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SpectralConv(nn.Module):
    """Fourier layer ``K``: keep the lowest ``n_modes`` frequencies, mix channels with complex weights.

    Args:
        in_channels: channels of the input field.
        out_channels: channels of the output field.
        n_modes: kept frequencies per spatial axis, e.g. ``(12, 12)`` for 2D (each
            axis keeps ``2 * n`` frequencies, the last keeps ``n``).

    Shapes: ``(batch, in_channels, *spatial) -> (batch, out_channels, *spatial)``
    with ``len(spatial) == len(n_modes)``; every axis needs at least ``2 * n_modes``
    points (callers validate this; see ``min_grid``).

    Weights: real tensor ``(n_kept, in_channels, out_channels, 2)`` (real and imaginary
    parts, so ``.double()`` / ``.to(dtype)`` work like on any real module), initialised
    uniform in ``[0, 1/(in*out))`` as in the FNO reference implementation.
    """

    def __init__(self, in_channels: int, out_channels: int, n_modes: tuple[int, ...]):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.n_modes = tuple(int(n) for n in n_modes)
        # Kept block: 2n per leading axis (both signs), n on the real-FFT axis.
        self.kept_shape = tuple(2 * n for n in self.n_modes[:-1]) + (self.n_modes[-1],)
        n_kept = math.prod(self.kept_shape)
        scale = 1.0 / (in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.rand(n_kept, in_channels, out_channels, 2))
        self._bases: dict = {}  # (grid size, dtype, device) -> last-axis DFT matrices

    @property
    def spatial_dims(self) -> int:
        return len(self.n_modes)

    def min_grid(self) -> tuple[int, ...]:
        """The smallest grid (points per axis) this layer runs on: ``2 * n_modes``."""
        return tuple(2 * n for n in self.n_modes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in, *spatial) -> (B, out, *spatial)``, returned in the dtype of ``x``.

        Mixed precision: the transform and the mode mixing always run in float32 or wider
        (autocast off, half-precision inputs and weights cast up), as the FNO community
        does: the FFT has no bfloat16 kernels, half-precision FFTs are limited to
        power-of-two sizes on GPUs, and the spectral sums lose digits in 16 bits. The
        pointwise layers around it keep running in the autocast dtype.
        """
        compute_dtype = torch.promote_types(x.dtype, torch.float32)
        with torch.autocast(x.device.type, enabled=False):
            y = self._spectral(x.to(compute_dtype), self.weight.to(compute_dtype))
        return y.to(x.dtype)

    def _spectral(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The transform, mode mixing and inverse transform, all in the dtype of ``x``."""
        batch, _, *grid = x.shape
        axes = list(range(2, x.dim()))

        # Forward transform, truncating after each axis: (B, in, *kept_shape), complex.
        # The last axis keeps few of many frequencies, so its truncated real DFT is a
        # real matrix product (cheaper than a full rfft, and so is its backward).
        forward_basis, inverse_basis = self._last_axis_bases(grid[-1], x.dtype, x.device)
        x_hat = torch.matmul(x, forward_basis)                                  # (..., 2k): real, imag
        x_hat = torch.complex(*x_hat.split(self.n_modes[-1], dim=-1))
        for axis, n in zip(axes[-2::-1], self.n_modes[-2::-1]):
            x_hat = torch.fft.fft(x_hat, dim=axis)
            x_hat = torch.cat([x_hat.narrow(axis, 0, n), x_hat.narrow(axis, x_hat.shape[axis] - n, n)], dim=axis)

        # Channel mixing per mode as one batched real matrix product (complex bmm is
        # slow on CPU): with real and imaginary parts interleaved, each complex weight
        # w = a + ib acts as the real 2x2 block [[a, b], [-b, a]] on (Re x, Im x),
        # (modes, B, 2 in) @ (modes, 2 in, 2 out) -> (modes, B, 2 out).
        modes = x_hat.reshape(batch, self.in_channels, -1).permute(2, 0, 1)   # (modes, B, in)
        modes = torch.view_as_real(modes).reshape(modes.shape[0], batch, 2 * self.in_channels)
        real, imag = weight[..., 0], weight[..., 1]                            # (modes, in, out)
        block = torch.stack([torch.stack([real, imag], dim=-1), torch.stack([-imag, real], dim=-1)], dim=2)
        block = block.reshape(real.shape[0], 2 * self.in_channels, 2 * self.out_channels)
        mixed = torch.bmm(modes, block).view(-1, batch, self.out_channels, 2)
        mixed = torch.view_as_complex(mixed)                                     # (modes, B, out)
        y_hat = mixed.permute(1, 2, 0).reshape(batch, self.out_channels, *self.kept_shape)

        # Inverse transform: zero-fill the high frequencies one axis at a time.
        for axis, n, size in zip(axes[:-1], self.n_modes[:-1], grid[:-1]):
            zeros = y_hat.new_zeros(*y_hat.shape[:axis], size - 2 * n, *y_hat.shape[axis + 1:])
            y_hat = torch.cat([y_hat.narrow(axis, 0, n), zeros, y_hat.narrow(axis, n, n)], dim=axis)
            y_hat = torch.fft.ifft(y_hat, dim=axis)
        return torch.matmul(torch.cat([y_hat.real, y_hat.imag], dim=-1), inverse_basis)  # inverse real DFT

    def _last_axis_bases(self, size: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Truncated real DFT on the last axis as matrices, for grid ``size`` (cached).

        forward ``(size, 2k)``: ``x @ F = [Re, Im]`` of ``rfft(x)[:k]`` (``cos``, ``-sin``);
        inverse ``(2k, size)``: ``[Re, Im] @ G = irfft`` of the k modes zero-padded to
        ``size // 2 + 1``, i.e. ``(1/size) sum_q c_q (Re_q cos - Im_q sin)`` with
        ``c_0 = 1`` (the imaginary part of the mean is dropped, as irfft does) and
        ``c_q = 2`` otherwise (``size >= 2k``, so the Nyquist frequency is never kept).
        """
        key = (size, dtype, device)
        if key not in self._bases:
            k = self.n_modes[-1]
            angle = 2 * torch.pi * torch.outer(torch.arange(size, dtype=torch.float64),
                                               torch.arange(k, dtype=torch.float64)) / size  # (size, k)
            forward = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=1)
            weight = torch.full((k, 1), 2.0, dtype=torch.float64)
            weight[0] = 1.0
            imaginary = -weight * torch.sin(angle.t())
            imaginary[0] = 0.0
            inverse = torch.cat([weight * torch.cos(angle.t()), imaginary], dim=0) / size
            self._bases[key] = (forward.to(dtype=dtype, device=device), inverse.to(dtype=dtype, device=device))
        return self._bases[key]

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, n_modes={self.n_modes}"
