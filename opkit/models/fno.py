"""Fourier Neural Operator (Li et al., ICLR 2021, arXiv:2010.08895), in 1D, 2D and 3D.

    v_0     = P(a)                                  lifting: pointwise linear, in -> width
    v_{l+1} = sigma( K_l v_l + W_l v_l )            L Fourier layers, l = 0 .. L-1
    u       = Q(v_L)                                projection: pointwise MLP, width -> 128 -> out

``K_l`` is the spectral convolution (``opkit.layers.spectral_conv``): FFT, keep the
lowest ``n_modes`` frequencies per axis, multiply by complex weights, inverse FFT.
``W_l`` is a pointwise linear skip. As in the paper, the last Fourier layer has no
activation (the projection has its own). With ``channel_mlp_expansion > 0`` each
layer passes ``K_l v`` through a channel MLP first (the variant of Kossaifi et al.,
neuraloperator): ``v_{l+1} = sigma( MLP_l(K_l v_l) + W_l v_l )``.

Options:
    coordinates: append the grid coordinates ``x_j = j / n`` per axis as input channels.
    padding: fraction of each axis appended as zeros before the Fourier layers and
        cropped after them, so a non-periodic problem is not treated as periodic
        (the paper pads Darcy flow by 9 points of 85 ~ 0.1). 3D (2D + time) models
        usually pad the time axis.
    bias: ``False`` removes every bias (lifting, skips, MLPs, projection).
    activation: any name of the activation registry; learnable activations get
        ``num_channels`` of the layer they follow.

The same weights run on any grid with at least ``2 * n_modes`` points per axis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from opkit.activations import get_activation
from opkit.errors import ConfigError
from opkit.layers.mlp import ChannelMLP, PointwiseLinear
from opkit.layers.spectral_conv import SpectralConv
from opkit.models.common import check_input, check_positive_int, check_spatial_dims, per_axis


class FourierLayer(nn.Module):
    """One FNO layer: ``v -> sigma(K v + W v)`` (or ``sigma(MLP(K v) + W v)``).

    Shapes ``(B, width, *spatial) -> (B, width, *spatial)``. ``skip`` is any module
    with that signature (a pointwise linear map here; a KAN layer in ``kano``).
    """

    def __init__(self, width: int, n_modes: tuple[int, ...], activation, bias: bool,
                 channel_mlp_expansion: float = 0.0, skip: nn.Module | None = None,
                 channel_mlp: nn.Module | None = None):
        super().__init__()
        self.spectral = SpectralConv(width, width, n_modes)
        self.skip = skip if skip is not None else PointwiseLinear(width, width, bias=bias)
        if channel_mlp is None and channel_mlp_expansion > 0:
            hidden = max(1, round(channel_mlp_expansion * width))
            channel_mlp = ChannelMLP(width, hidden, width, activation=activation, bias=bias)
        self.channel_mlp = channel_mlp
        self.activation = get_activation(activation, num_channels=width)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        k_v = self.spectral(v)
        if self.channel_mlp is not None:
            k_v = self.channel_mlp(k_v)
        return self.activation(k_v + self.skip(v))


class FNO(nn.Module):
    """Fourier Neural Operator: ``(B, in_channels, *spatial) -> (B, out_channels, *spatial)``.

    Args:
        in_channels, out_channels: channels of the input and output fields.
        width: channels inside the Fourier layers.
        n_modes: kept Fourier modes, one int for every axis or a list (one per axis).
        n_layers: number of Fourier layers.
        spatial_dims: 1, 2 or 3; may be omitted when ``n_modes`` is a list.
        activation: activation registry name (or class) used after each Fourier
            layer but the last, and inside the projection (and channel MLPs).
        bias: ``False`` removes every bias in the model.
        channel_mlp_expansion: hidden size of an optional channel MLP after each
            spectral convolution, as a multiple of ``width`` (0 = none, as in the paper).
        projection_channels: hidden channels of the projection MLP (128 in the paper).
        coordinates: append grid coordinates as extra input channels.
        padding: zero-padding fraction per axis for non-periodic problems (0 = none).
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 32, n_modes=16,
                 n_layers: int = 4, spatial_dims: int | None = None, activation="gelu",
                 bias: bool = True, channel_mlp_expansion: float = 0.0, projection_channels: int = 128,
                 coordinates: bool = False, padding: float = 0.0):
        super().__init__()
        label = type(self).__name__  # errors name the model built: FNO, or a subclass (KANO)
        for name, value in [("in_channels", in_channels), ("out_channels", out_channels), ("width", width),
                            ("n_layers", n_layers), ("projection_channels", projection_channels)]:
            check_positive_int(f"{label} {name}", value)
        self.n_modes = per_axis(f"{label} n_modes", n_modes, spatial_dims)
        check_spatial_dims(label, len(self.n_modes), (1, 2, 3))
        if not 0.0 <= padding < 10.0:
            raise ConfigError(f"{label} padding: expected a fraction of the grid in [0, 10), got {padding!r}")
        if channel_mlp_expansion < 0:
            raise ConfigError(f"{label} channel_mlp_expansion: expected >= 0, got {channel_mlp_expansion!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.spatial_dims = len(self.n_modes)
        self.width, self.coordinates, self.padding = width, coordinates, float(padding)

        lifted_channels = in_channels + (self.spatial_dims if coordinates else 0)
        self.lifting = PointwiseLinear(lifted_channels, width, bias=bias)
        self.layers = nn.ModuleList(
            self.fourier_layer(activation if i < n_layers - 1 else "identity", bias, channel_mlp_expansion)
            for i in range(n_layers)
        )
        self.projection = ChannelMLP(width, projection_channels, out_channels, activation=activation, bias=bias)

    def fourier_layer(self, activation, bias: bool, channel_mlp_expansion: float) -> FourierLayer:
        """One Fourier layer ``sigma(K v + W v)`` of this model's width and modes (``kano`` replaces ``W``)."""
        return FourierLayer(self.width, self.n_modes, activation, bias, channel_mlp_expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(type(self).__name__, x, self.in_channels, self.spatial_dims, min_grid=[2 * n for n in self.n_modes])
        if self.coordinates:
            x = torch.cat([x, grid_coordinates(x)], dim=1)
        v = self.lifting(x)
        grid = v.shape[2:]
        v = pad_domain(v, self.padding)
        for layer in self.layers:
            v = layer(v)
        v = v[(..., *(slice(0, n) for n in grid))]  # crop the padding
        return self.projection(v)


def grid_coordinates(x: torch.Tensor) -> torch.Tensor:
    """Coordinates ``j / n`` of each axis of ``x`` (B, C, *spatial) as ``(B, len(spatial), *spatial)``.

    ``j / n`` (not ``j / (n-1)``) so that grid point ``j`` of an ``n``-grid and point
    ``2j`` of a ``2n``-grid have the same coordinate.
    """
    batch, _, *grid = x.shape
    axes = [torch.arange(n, dtype=x.dtype, device=x.device) / n for n in grid]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack(mesh).unsqueeze(0).expand(batch, -1, *grid)


def pad_domain(v: torch.Tensor, fraction: float) -> torch.Tensor:
    """Append ``round(fraction * n)`` zeros at the end of every spatial axis of ``v``."""
    if fraction == 0:
        return v
    widths = []
    for n in reversed(v.shape[2:]):  # F.pad lists the last axis first
        widths += [0, round(fraction * n)]
    return F.pad(v, widths)
