"""The multigrid V-cycle as a learnable linear operator (MgConv), in 1D and 2D.

He, Liu and Xu, "MgNO: Efficient Parameterization of Linear Operators via Multigrid",
ICLR 2024 (arXiv:2310.19809). A linear operator ``W: f -> u`` between multi-channel
fields is parameterised as one V-cycle of a multigrid solver for ``A u = f`` in
which every operator is a small learnable convolution:

    level 0 (finest):    u = S f                                  first smoothing step
                         u <- u + S (f - A u)                      further pre-smoothing steps
    level l -> l+1:      f_{l+1} = R_l f_l        (or R_l (f_l - A u_l), "residual restriction")
                         u_{l+1} = Pi_l u_l
                         u <- u + S (f - A u)                      pre-smoothing on level l+1
                                                                   (the coarsest level: pre, then post)
    back up, l+1 -> l:   u_l <- u_l + P_l u_{l+1}                  prolongation
                         u <- u + S (f - A u)                      post-smoothing on level l

``A`` (u -> f channels) and ``S`` (f -> u channels) are 3x3 convolutions (3 in 1D),
each step with its own weights; ``R`` and ``Pi`` are 3x3 stride-2 convolutions;
``P`` is a 4x4 stride-2 transposed convolution. The boundary condition enters through
the padding of every convolution: ``zeros`` (Dirichlet), ``circular`` (periodic) or
``reflect`` (Neumann-like); the prolongation pads its coarse input the same way.

Any grid size works: level ``l+1`` has ``ceil(n_l / 2)`` points per axis and the
prolongated correction (``2 * ceil(n_l / 2)`` points) is cropped to ``n_l``, so the
operator is defined on odd grids and can be trained coarse and evaluated fine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

PADDING_MODES = {"zeros": "zeros", "zero": "zeros", "dirichlet": "zeros",
                 "circular": "circular", "periodic": "circular", "reflect": "reflect"}

_CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}


class PeriodicPad(torch.autograd.Function):
    """Periodic padding by ``width`` points on both sides of every spatial axis.

    ``(B, C, *grid) -> (B, C, *(n + 2 width))``. The forward is ``F.pad(mode="circular")``;
    the backward folds the gradient of the padded field back in one copy of the interior
    plus one addition per boundary strip. Autograd's own backward of ``F.pad`` runs one
    zero-filled full-size tensor per slice, which made the padding of the V-cycle's
    convolutions a third of an MgNO training step. The folded sums are the same terms, in
    another order at the wrapped points (equal up to rounding).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, width: int) -> torch.Tensor:
        ctx.width = width
        return F.pad(x, [width] * (2 * (x.dim() - 2)), mode="circular")

    @staticmethod
    def backward(ctx, grad_padded: torch.Tensor):
        width = ctx.width
        grad = grad_padded
        for dim in range(grad_padded.dim() - 1, 1, -1):  # fold one axis at a time: (n + 2 w) -> n
            n = grad.shape[dim] - 2 * width
            folded = grad.narrow(dim, width, n).clone()
            folded.narrow(dim, 0, width).add_(grad.narrow(dim, n + width, width))  # right pad wraps to the start
            folded.narrow(dim, n - width, width).add_(grad.narrow(dim, 0, width))  # left pad wraps to the end
            grad = folded
        return grad, None


def periodic_pad(x: torch.Tensor, width: int) -> torch.Tensor:
    """``F.pad(x, [width] * 2 * spatial_dims, mode="circular")`` with a cheap backward (``PeriodicPad``)."""
    return PeriodicPad.apply(x, width)


class StridedConv2dFunction(torch.autograd.Function):
    """``F.conv2d(x, weight, stride=stride, padding=padding)`` (no bias) whose input gradient runs channels-last.

    ``(B, C_in, H, W) -> (B, C_out, H', W')``. oneDNN's input gradient of a stride-2
    convolution is about 3x faster on channels-last tensors than on channels-first ones,
    and the numbers are the same; its weight gradient is faster channels-first (also the
    same numbers either way), and the forward stays channels-first, whose sums channels-last
    would order differently. Used for float32 on the CPU (oneDNN), not under autocast.
    """

    @staticmethod
    def forward(ctx, x, weight, stride, padding):
        ctx.stride, ctx.padding = stride, padding
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None

        def convolution_backward(grad, x, mask):
            return torch.ops.aten.convolution_backward(grad, x, weight, None, list(ctx.stride), list(ctx.padding),
                                                       [1, 1], False, [0, 0], 1, mask)

        if ctx.needs_input_grad[0]:
            channels_last = torch.channels_last
            grad_x = convolution_backward(grad_out.contiguous(memory_format=channels_last),
                                          x.contiguous(memory_format=channels_last), [True, False, False])[0]
            grad_x = grad_x.contiguous()
        if ctx.needs_input_grad[1]:
            grad_weight = convolution_backward(grad_out.contiguous(), x, [False, True, False])[1]
        return grad_x, grad_weight, None, None


class _PaddedConv:
    """Mixin for ``nn.ConvNd``, same parameters and values: ``padding_mode="circular"`` pads with
    ``periodic_pad``, and bias-free strided 2D float32 CPU convolutions (restrictions) run
    ``StridedConv2dFunction``."""

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode == "zeros":
            padding = self.padding
        else:
            padding = (0,) * len(self.padding)
            if self.padding_mode == "circular":
                input = periodic_pad(input, self.padding[0])
            else:
                input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        if input.dim() == 4 and input.dtype == torch.float32 and input.device.type == "cpu" \
                and not torch.is_autocast_enabled("cpu") \
                and self.stride != (1, 1) and bias is None and self.groups == 1 and self.dilation == (1, 1):
            return StridedConv2dFunction.apply(input, weight, self.stride, padding)
        return self._convolution(input, weight, bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_PaddedConv, nn.Conv1d):
    _convolution = staticmethod(F.conv1d)


class Conv2d(_PaddedConv, nn.Conv2d):
    _convolution = staticmethod(F.conv2d)


_CONV = {1: Conv1d, 2: Conv2d}


def level_sizes(grid: Sequence[int], levels: int) -> list[tuple[int, ...]]:
    """Grid of each level, finest first: ``n_{l+1} = ceil(n_l / 2)`` per axis."""
    sizes = [tuple(grid)]
    for _ in range(levels - 1):
        sizes.append(tuple(math.ceil(n / 2) for n in sizes[-1]))
    return sizes


class SmoothingStep(nn.Module):
    """``u <- u + S (f - A u)``; with no ``u`` yet (first step of the cycle), ``u = S f``."""

    def __init__(self, u_channels: int, f_channels: int, spatial_dims: int, padding_mode: str,
                 bias: bool, first: bool = False):
        super().__init__()
        conv = _CONV[spatial_dims]
        self.S = conv(f_channels, u_channels, 3, padding=1, padding_mode=padding_mode, bias=bias)
        self.A = None if first else conv(u_channels, f_channels, 3, padding=1, padding_mode=padding_mode, bias=bias)

    def forward(self, u: torch.Tensor | None, f: torch.Tensor) -> torch.Tensor:
        if self.A is None:
            return self.S(f)
        return u + self.S(f - self.A(u))


class Prolongation(nn.Module):
    """``P``: 4x4 (4 in 1D) stride-2 transposed convolution, coarse ``m`` -> fine ``2m`` points.

    For circular/reflect boundaries the coarse field is padded by one point in that
    mode first (and the transposed convolution's own padding is widened to keep the
    same alignment), so the fine boundary values use the right neighbours.
    """

    def __init__(self, channels: int, spatial_dims: int, padding_mode: str):
        super().__init__()
        self.padding_mode = padding_mode
        self.pad = 3 if padding_mode != "zeros" else 1
        self.P = _CONV_TRANSPOSE[spatial_dims](channels, channels, 4, stride=2, padding=self.pad, bias=False)

    def forward(self, u_coarse: torch.Tensor, fine_grid: Sequence[int]) -> torch.Tensor:
        if self.padding_mode != "zeros":
            if self.padding_mode == "circular":
                u_coarse = periodic_pad(u_coarse, 1)
            else:
                u_coarse = F.pad(u_coarse, [1, 1] * (u_coarse.dim() - 2), mode=self.padding_mode)
        u_fine = self.P(u_coarse)
        return u_fine[(..., *(slice(0, n) for n in fine_grid))]  # 2*ceil(n/2) -> n


class MgConv(nn.Module):
    """One multi-channel V-cycle ``f -> u``: ``(B, in_channels, *grid) -> (B, out_channels, *grid)``.

    Args:
        in_channels: channels of ``f`` (kept on every level).
        out_channels: channels of ``u``.
        smoothing: ``[pre, post]`` smoothing steps per level, finest first; its length
            is the number of levels. Level 0 needs ``pre >= 1`` (``u = S f``).
        spatial_dims: 1 or 2.
        padding_mode: ``zeros``, ``circular`` or ``reflect``.
        bias: bias in the smoothing convolutions ``A`` and ``S``.
        residual_restriction: restrict the residual ``f - A u`` instead of ``f``.
    """

    def __init__(self, in_channels: int, out_channels: int, smoothing: Sequence[Sequence[int]],
                 spatial_dims: int = 2, padding_mode: str = "zeros", bias: bool = False,
                 residual_restriction: bool = False):
        super().__init__()
        self.smoothing = [tuple(int(s) for s in level) for level in smoothing]
        self.levels = len(self.smoothing)
        self.padding_mode = PADDING_MODES[padding_mode]
        conv = _CONV[spatial_dims]
        u_ch, f_ch, mode = out_channels, in_channels, self.padding_mode

        def steps(count, first_level=False):
            return nn.ModuleList(SmoothingStep(u_ch, f_ch, spatial_dims, mode, bias, first=first_level and i == 0)
                                 for i in range(count))

        self.pre = nn.ModuleList(steps(pre, first_level=(l == 0)) for l, (pre, _) in enumerate(self.smoothing))
        self.post = nn.ModuleList(steps(post) for _, post in self.smoothing)
        coarser = range(self.levels - 1)
        self.restrict_f = nn.ModuleList(conv(f_ch, f_ch, 3, stride=2, padding=1, padding_mode=mode, bias=False)
                                        for _ in coarser)
        self.restrict_u = nn.ModuleList(conv(u_ch, u_ch, 3, stride=2, padding=1, padding_mode=mode, bias=False)
                                        for _ in coarser)
        self.residual = nn.ModuleList(conv(u_ch, f_ch, 3, padding=1, padding_mode=mode, bias=bias)
                                      for _ in coarser) if residual_restriction else None
        self.prolong = nn.ModuleList(Prolongation(u_ch, spatial_dims, mode) for _ in coarser)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        u, us, fs = None, [], []
        for level in range(self.levels):  # down: smooth, then restrict f and u
            if level > 0:
                r = f if self.residual is None else f - self.residual[level - 1](u)
                f = self.restrict_f[level - 1](r)
                u = self.restrict_u[level - 1](u)
            for step in self.pre[level]:
                u = step(u, f)
            if level == self.levels - 1:  # coarsest level: pre- and post-smoothing back to back
                for step in self.post[level]:
                    u = step(u, f)
            us.append(u)
            fs.append(f)
        for level in range(self.levels - 2, -1, -1):  # up: correct from the coarser level, smooth
            u = us[level] + self.prolong[level](u, fs[level].shape[2:])
            for step in self.post[level]:
                u = step(u, fs[level])
        return u
