"""A KAN basis as an activation: one learnable univariate function per channel.

A KAN layer (Liu et al. 2024) puts a learnable function on every edge. Restricted to the
diagonal (channel c feeds only channel c), it becomes a per-channel learnable activation
that can replace GELU inside any operator, which is how the ablation compares a KAN basis
with fixed activations at (almost) the same parameter count:

    phi_c(x) = w_c · silu(x) + sum_j a_{c,j} B_j(x)         x: (batch, C, *spatial)

with the bases ``B_j`` of :func:`opkit.activations.bases.make_basis` (B-spline, RBF,
Chebyshev, Fourier) and the fused autograd function the KAN layer uses too. At
initialisation ``w = 1`` and ``a = 0``: the activation starts as SiLU, so a difference to
SiLU is what the learnable basis adds. Parameters: ``C · (n_basis + 1)``.

Registry names: ``kan_bspline``, ``kan_rbf``, ``kan_chebyshev``, ``kan_fourier`` (the
``kan_<basis>`` family, resolved by the registry from the name, see :func:`kan_activation_info`).
"""

from __future__ import annotations

import torch
from torch import nn

from opkit.activations.bases import BASES, make_basis
from opkit.activations.basis_kernels import FusedBasis
from opkit.activations.registry import ActivationInfo
from opkit.errors import ConfigError


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
        coefficients = self.coefficients.to(flat.dtype).t()  # (n_basis, C): basis-major like the features
        learned = FusedBasis.apply(flat, coefficients, scale, shift, self.basis, self.compile, True)
        learned = learned.reshape(last.shape).movedim(-1, 1)
        weight = self.base_weight.view(1, -1, *([1] * (x.dim() - 2))) if not self.shared else self.base_weight
        return weight * nn.functional.silu(x) + learned


def kan_activation_info(basis: str) -> ActivationInfo:
    """The registry entry ``kan_<basis>``: a KANActivation with that basis; ConfigError for an unknown basis."""
    if basis not in BASES:
        raise ConfigError(f"activation 'kan_{basis}': unknown basis {basis!r}; valid: "
                          f"{', '.join('kan_' + name for name in BASES)}")

    def factory(num_channels: int | None = None, **kwargs) -> KANActivation:
        return KANActivation(num_channels, basis=basis, **kwargs)

    return ActivationInfo(
        name=f"kan_{basis}", factory=factory, learnable=True, periodic=basis == "fourier", smooth=basis != "bspline",
        monotonic=False, bounded=False, formula=f"phi_c(x) = w_c silu(x) + sum_j a_cj B_j(x), {basis} basis",
        source="Liu et al. 2024, KAN: Kolmogorov-Arnold Networks (diagonal KAN layer)",
    )
