"""A KAN basis as an activation: one learnable univariate function per channel.

A KAN layer (Liu et al. 2024) puts a learnable function on every edge. Restricted to the
diagonal (channel c feeds only channel c), it becomes a per-channel learnable activation
that can replace GELU inside any operator, which is how the ablation compares a KAN basis
with fixed activations at (almost) the same parameter count:

    phi_c(x) = w_c · silu(x) + sum_j a_{c,j} B_j(x)         x: (batch, C, *spatial)

with the bases ``B_j`` of :func:`opkit.layers.kan.make_basis` (B-spline, RBF, Chebyshev,
Fourier). At initialisation ``w = 1`` and ``a = 0``: the activation starts as SiLU, so a
difference to SiLU is what the learnable basis adds. Parameters: ``C · (n_basis + 1)``.

Registered names (added to the activation registry on first use, see :func:`register`):
``kan_bspline``, ``kan_rbf``, ``kan_chebyshev``, ``kan_fourier``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from opkit.errors import ConfigError

BASES = ("bspline", "rbf", "chebyshev", "fourier")
PREFIX = "kan_"


class _BasisActivation(torch.autograd.Function):
    """sum_j a[c, j] B_j(z[n, c]) with z = x * scale + shift: (N, C) -> (N, C), keeping only F and z.

    Backward: dL/da[c, j] = sum_n g[n, c] B_j(z[n, c]); dL/dx = g * scale * sum_j a[c, j] dB_j/dz,
    the basis kernel contracting its derivative with a (broadcast over rows, never copied).
    """

    @staticmethod
    def forward(ctx, x, coefficients, scale, shift, basis, compile_mode):
        z = torch.addcmul(shift, x, scale)
        features = basis.features(z, compile_mode)  # (N, n, C)
        ctx.basis, ctx.compile_mode = basis, compile_mode
        ctx.save_for_backward(features, coefficients, scale, z)
        return (features * coefficients.t()).sum(1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        features, coefficients, scale, z = ctx.saved_tensors
        grad_x = grad_coefficients = None
        if ctx.needs_input_grad[1]:
            grad_coefficients = (features * grad_out.unsqueeze(1)).sum(0).t()
        if ctx.needs_input_grad[0]:
            weights = coefficients.t().unsqueeze(0).expand(features.shape)
            grad_x = ctx.basis.contract_derivative(z, weights, ctx.compile_mode) * grad_out * scale
        return grad_x, grad_coefficients, None, None, None, None


class KANActivation(nn.Module):
    """Per-channel ``phi_c(x) = w_c silu(x) + sum_j a_cj B_j(x)``; channel axis 1, any spatial dims.

    Args:
        num_channels: C (None: one function shared by all channels).
        basis: "bspline", "rbf", "chebyshev" or "fourier".
        grid_range: input interval the grid-based bases cover (pre-activations of a
            normalised operator are mostly within it; outside, the SiLU branch carries x).
        compile: as ``KANLinear``'s: None compiles the basis kernels for large inputs.
        **basis_kwargs: e.g. ``grid_size``, ``order`` (bspline), ``degree`` (chebyshev).
    """

    def __init__(self, num_channels: int | None = None, basis: str = "bspline", grid_range=(-3.0, 3.0),
                 compile: bool | None = None, **basis_kwargs):
        super().__init__()
        from opkit.layers.kan import make_basis

        if basis not in BASES:
            raise ConfigError(f"KANActivation: unknown basis {basis!r}; valid: {', '.join(BASES)}")
        if num_channels is not None and (not isinstance(num_channels, int) or num_channels < 1):
            raise ConfigError(f"KANActivation: num_channels must be a positive integer or None, got {num_channels!r}")
        if compile not in (None, True, False):
            raise ConfigError(f"KANActivation: compile must be true, false or null (auto), got {compile!r}")
        channels = num_channels or 1
        if basis != "chebyshev":
            basis_kwargs.setdefault("grid_range", tuple(grid_range))
        self.basis = make_basis(basis, channels, **basis_kwargs)
        self.shared = num_channels is None
        self.compile = compile
        self.base_weight = nn.Parameter(torch.ones(channels))
        self.coefficients = nn.Parameter(torch.zeros(channels, self.basis.n_basis))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, C, *spatial) -> same shape."""
        channels = x.shape[1]
        if not self.shared and channels != self.base_weight.numel():
            raise ConfigError(f"KANActivation: built for {self.base_weight.numel()} channels, input has {channels}")
        last = x.movedim(1, -1)
        flat = last.reshape(-1, channels if not self.shared else 1).contiguous()  # (N, C) or (N*C, 1)
        scale, shift = self.basis.affine(flat.shape[1], flat.dtype, flat.device)
        coefficients = self.coefficients.to(flat.dtype)
        learned = _BasisActivation.apply(flat, coefficients, scale, shift, self.basis, self.compile)
        learned = learned.reshape(last.shape).movedim(-1, 1)
        weight = self.base_weight.view(1, -1, *([1] * (x.dim() - 2))) if not self.shared else self.base_weight
        return weight * nn.functional.silu(x) + learned


def register(name: str) -> bool:
    """Add ``kan_<basis>`` to the activation registry if ``name`` is such a name; True if it is one."""
    from opkit.activations.registry import ActivationInfo, activation_names, register_activation

    if not isinstance(name, str) or not name.startswith(PREFIX) or name[len(PREFIX):] not in BASES:
        return False
    if name in activation_names(include_aliases=True):
        return True
    basis = name[len(PREFIX):]

    def factory(num_channels: int | None = None, **kwargs) -> KANActivation:
        return KANActivation(num_channels, basis=basis, **kwargs)

    register_activation(ActivationInfo(
        name=name, factory=factory, learnable=True, periodic=basis == "fourier", smooth=basis != "bspline",
        monotonic=False, bounded=False, formula=f"phi_c(x) = w_c silu(x) + sum_j a_cj B_j(x), {basis} basis",
        source="Liu et al. 2024, KAN: Kolmogorov-Arnold Networks (diagonal KAN layer)",
    ))
    return True
