"""Kolmogorov-Arnold layers: learnable edge functions, evaluated as one matrix product.

A KAN layer maps ``x in R^in`` to ``y in R^out`` with one learnable function per edge
(Liu et al. 2024, "KAN: Kolmogorov-Arnold Networks"):

    y_o = sum_i phi_oi(x_i),   phi_oi(x) = w_b[o, i] base(x) + w_s[o, i] sum_j c[o, i, j] B_j(x)

The bases ``B_j`` are shared by all edges leaving input ``i``, so the layer is

    F = [B_j(x_i)]_(j, i)                              shape (N, n * in), basis-major
    y = F @ W + base(x) @ w_b^T,   W[(j, i), o] = w_s[o, i] c[o, i, j]

one evaluation of the bases and one matmul: no per-edge loop, and no
``(batch, in, out, n_basis)`` tensor. By default (``fused=True``) a custom autograd
function evaluates the bases, keeps only ``F`` and the normalised input for the
backward pass, and contracts ``dL/dF`` with the closed-form derivative of the bases
in one kernel (d/dx without ever storing dB/dx); ``fused=False`` runs the same
formulas through plain autograd (use it if you need second derivatives).

Speed. The two matmuls (forward, and dL/dW) are already as fast as the BLAS makes
them; what is left is the elementwise work over F, one pass over memory per torch op
when run eagerly. For large inputs the fused path therefore runs each basis kernel
through ``torch.compile``, which fuses it into one loop (``compile=None``: automatic
above ``COMPILE_MIN_VALUES`` basis values; ``OPKIT_COMPILE=0`` turns it off, and a
machine where the compiler does not work falls back to eager with one warning). The
kernels are the same Python functions either way.

Bases (``basis=``):

* ``"bspline"``: B-splines of order k (polynomial degree k >= 1) on a uniform grid
  of G intervals over ``grid_range`` per input, extended by k knots on each side as
  in the KAN paper (n = G + k bases). Evaluated in closed form: with
  ``u = (x - lower) / h + k`` (h = (upper - lower) / G, knots at integer u) basis j is
  the cardinal B-spline N_k(u - j), written in symmetric truncated powers of the
  distance r to its centre (``bspline_kernels``): a few clamps and powers of bounded
  numbers, no recursion, no cancellation. All bases are exactly 0 outside the extended
  knot span ``[lower - k h, upper + k h]``, also in float32 far outside (x = 1e6 or
  inf: the clamps are 0 there), and there the base branch carries the signal.
  ``update_grid(x)`` moves each input's grid to the range of the data (and can refine
  G: grid extension), refitting the coefficients by least squares so that the layer
  keeps the function it represents.
* ``"rbf"``: Gaussian radial basis functions, B_j(x) = exp(-((x - mu_j) / h)^2) with
  G centres spread over ``grid_range`` and h their spacing (FastKAN, Li 2024).
* ``"chebyshev"``: T_j(tanh(x)), j = 0..degree (ChebyKAN, SS et al. 2024); tanh maps
  any input into [-1, 1].
* ``"fourier"``: cos(j w x), sin(j w x), j = 1..n_frequencies, w = 2 pi / (upper -
  lower) (FourierKAN); periodic with period upper - lower.
* ``"relu"``: relu(x), relu(-x): every edge function is a x for x > 0 and -b x for
  x < 0, i.e. any positively homogeneous function of one variable (phi(c x) = c phi(x),
  c > 0). With ``base_activation=None`` and ``bias=False`` the layer is positively
  homogeneous: the KAN form of a bias-free ReLU layer (the ablations' bias-free control).
* ``"linear"``: x: every edge function is a x; with ``base_activation=None`` and
  ``bias=False`` the layer is linear (the ablations' linear control).

Normalisation: B-spline and RBF bases only resolve inputs inside ``grid_range``
(default [-1, 1]); normalise the inputs to about that range (opkit's channel
normaliser, or a LayerNorm before the layer), or call ``update_grid(x)`` with a batch
of real inputs. Chebyshev needs no normalisation (tanh squashes), Fourier treats the
range as one period.

The bases live in ``opkit.activations.bases``; their kernels, the compile switch and the
fused autograd function in ``opkit.activations.basis_kernels``; both are shared with the
per-channel KAN activation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from opkit.activations import get_activation
from opkit.activations.bases import canonical_basis, make_basis, positive_int
from opkit.activations.basis_kernels import FusedBasis
from opkit.errors import ConfigError


class KANLinear(nn.Module):
    """KAN layer (..., in_features) -> (..., out_features), see the module docstring.

    Args:
        in_features, out_features: sizes.
        basis: "bspline" (default), "rbf", "chebyshev", "fourier", "relu" or "linear".
        base_activation: registry name (or module) of the residual branch base(x),
            "silu" as in the KAN paper; None drops the branch.
        bias: add a learnable bias per output (the KAN paper has none).
        init_scale: standard deviation of the initial coefficients c.
        fused: use the fused basis-and-matmul autograd function (fast, first
            derivatives only); False runs plain autograd (supports double backward).
        compile: run the fused path's basis kernels through torch.compile: None (default)
            does so for inputs with at least ``COMPILE_MIN_VALUES`` basis values (about
            2 000 rows of 64 inputs with 8 bases), True always, False never; the first
            compiled call of a process waits for the compiler (seconds; cached on disk).
            ``OPKIT_COMPILE=0`` in the environment turns it off everywhere.
        **basis_kwargs: grid_size, order, grid_range (bspline); grid_size,
            grid_range (rbf); degree (chebyshev); n_frequencies, grid_range (fourier).

    Parameters: ``base_weight`` w_b (out, in; only with a base branch), ``spline_scale``
    w_s (out, in), ``coefficients`` c (out, in, n_basis), optional ``bias`` (out,).
    """

    def __init__(self, in_features: int, out_features: int, basis: str = "bspline",
                 base_activation="silu", bias: bool = False, init_scale: float = 0.1, fused: bool = True,
                 compile: bool | None = None, **basis_kwargs):
        super().__init__()
        self.in_features = positive_int("KANLinear: in_features", in_features)
        self.out_features = positive_int("KANLinear: out_features", out_features)
        self.basis_name = canonical_basis(basis)
        self.basis = make_basis(basis, in_features, **basis_kwargs)
        self.base_activation = None if base_activation is None else get_activation(base_activation)
        self.fused = bool(fused)
        if compile not in (None, True, False):
            raise ConfigError(f"KANLinear: compile must be true, false or null (auto), got {compile!r}")
        self.compile = compile
        bound = 1.0 / math.sqrt(in_features)
        # Drawn with or without a base branch, so that a seed gives the same coefficients either way.
        base_weight = torch.empty(out_features, in_features).uniform_(-bound, bound)
        self.base_weight = None if self.base_activation is None else nn.Parameter(base_weight)
        self.spline_scale = nn.Parameter(torch.full((out_features, in_features), bound))
        self.coefficients = nn.Parameter(init_scale * torch.randn(out_features, in_features, self.basis.n_basis))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.register_load_state_dict_pre_hook(_drop_unused_base_weight)

    def spline_weight(self) -> torch.Tensor:
        """W, shape (n_basis * in, out), basis-major like the features: W[(j, i), o] = w_s[o, i] c[o, i, j]."""
        weight = self.spline_scale.unsqueeze(-1) * self.coefficients  # (out, in, n)
        return weight.permute(2, 1, 0).reshape(-1, self.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ConfigError(f"KANLinear: expected input (..., {self.in_features}), got shape {tuple(x.shape)}")
        leading = x.shape[:-1]
        flat = x.reshape(-1, self.in_features).contiguous()  # the kernels index rows of z and F
        weight = self.spline_weight().to(flat.dtype)
        scale, shift = self.basis.affine(self.in_features, flat.dtype, flat.device)
        if self.fused:
            out = FusedBasis.apply(flat, weight, scale, shift, self.basis, self.compile, False)
        else:
            features = self.basis.features(torch.addcmul(shift, flat, scale))
            out = features.reshape(flat.shape[0], -1) @ weight
        if self.base_activation is not None:
            out = torch.addmm(out, self.base_activation(flat), self.base_weight.t())
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*leading, self.out_features)

    def edge_functions(self, x: torch.Tensor) -> torch.Tensor:
        """phi_oi(x_i) for every edge: (N, in) -> (N, out, in). For plots and analysis (materialises N*out*in)."""
        spline = torch.einsum("nij,oij->noi", self.basis(x), self.coefficients) * self.spline_scale
        if self.base_activation is not None:
            spline = spline + self.base_activation(x).unsqueeze(1) * self.base_weight
        return spline

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_size: int | None = None, margin: float = 0.0,
                    n_points: int = 256) -> None:
        """Fit each input's grid to the data range, keeping the function the layer represents.

        The new grid of input i spans [min_i - m, max_i + m] of ``x`` (m = margin *
        (max_i - min_i)), with ``grid_size`` intervals (None: unchanged; larger:
        grid extension). The new coefficients solve, per input i and output o,

            min_c  sum_n ( sum_j c_j B'_j(z_n) - sum_j c[o, i, j] B_j(z_n) )^2

        over the data ``z = x[:, i]`` together with ``n_points`` uniform points of the
        new range (so every new basis is constrained). Cost: one batched least-squares
        solve with an (n' x n') normal matrix per input. The base branch is unchanged.
        With an unchanged ``grid_size`` the coefficients are updated in place; a new
        ``grid_size`` creates a new ``coefficients`` Parameter (rebuild the optimiser).
        """
        if not self.basis.has_grid:
            raise ConfigError(f"KANLinear.update_grid: basis {self.basis_name!r} has no grid to update")
        if grid_size is not None:
            grid_size = positive_int("KANLinear.update_grid: grid_size", grid_size)
        x = x.reshape(-1, self.in_features).to(self.coefficients.dtype)
        if x.shape[0] == 0 or not torch.isfinite(x).all():
            raise ConfigError("KANLinear.update_grid: x must be a non-empty batch of finite values")
        lower, upper = x.min(dim=0).values, x.max(dim=0).values
        spread = (upper - lower).clamp_min(1e-6)
        lower, upper = lower - margin * spread, lower + (1 + margin) * spread
        uniform = torch.linspace(0, 1, n_points, dtype=x.dtype, device=x.device)
        points = torch.cat([x, lower + uniform[:, None] * (upper - lower)], dim=0)  # (M, in)

        old = self.basis(points).to(torch.float64)  # (M, in, n)
        targets = torch.einsum("min,oin->imo", old, self.coefficients.to(torch.float64))  # (in, M, out)
        self.basis.set_grid(lower, upper, grid_size)
        new = self.basis(points).to(torch.float64).transpose(0, 1)  # (in, M, n')
        gram = new.transpose(1, 2) @ new
        ridge = 1e-10 * gram.diagonal(dim1=1, dim2=2).mean(-1)[:, None, None]
        gram = gram + ridge * torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
        solution = torch.linalg.solve(gram, new.transpose(1, 2) @ targets)  # (in, n', out)
        solution = solution.permute(2, 0, 1).to(self.coefficients.dtype)
        if solution.shape == self.coefficients.shape:
            self.coefficients.copy_(solution)  # same Parameter: optimisers keep working
        else:  # grid extension: a new Parameter, so rebuild the optimiser afterwards
            self.coefficients = nn.Parameter(solution.contiguous())


class KANChannelMix(nn.Module):
    """KANLinear over channels at every grid point: (B, C_in, *spatial) -> (B, C_out, *spatial)."""

    def __init__(self, in_channels: int, out_channels: int, basis: str = "bspline", **kwargs):
        super().__init__()
        self.kan = KANLinear(in_channels, out_channels, basis=basis, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.kan.in_features:
            raise ConfigError(
                f"KANChannelMix: expected input (batch, {self.kan.in_features}, *spatial), got shape {tuple(x.shape)}"
            )
        return self.kan(x.movedim(1, -1)).movedim(-1, 1)

    def update_grid(self, x: torch.Tensor, **kwargs) -> None:
        """Grid update from a channels-first batch (see KANLinear.update_grid)."""
        self.kan.update_grid(x.movedim(1, -1).reshape(-1, self.kan.in_features), **kwargs)


def _drop_unused_base_weight(layer, state_dict, prefix, *_) -> None:
    """Load-state-dict pre-hook: earlier versions kept a ``base_weight`` also without a base branch."""
    if layer.base_activation is None:
        state_dict.pop(prefix + "base_weight", None)


class SelectableKANLinear(nn.Module):
    """KAN layer whose output nodes choose among several basis spaces (in the spirit of S-KAN).

    Each space s has its own coefficients; output node o mixes them with softmax weights

        y_o = sum_i w_b[o, i] base(x_i) + sum_s p[o, s] sum_i w_s^s[o, i] sum_j c^s[o, i, j] B^s_j(x_i),
        p[o, :] = softmax(logits[o, :] / temperature)

    Lower the ``temperature`` during training to sharpen the choice;
    ``selected_spaces()`` reports the space with the largest weight per node.
    ``space_kwargs`` maps a space name to its basis parameters, e.g.
    ``{"bspline": {"grid_size": 8}}``.
    """

    def __init__(self, in_features: int, out_features: int, spaces=("bspline", "rbf", "chebyshev", "fourier"),
                 temperature: float = 1.0, base_activation="silu", bias: bool = False,
                 space_kwargs: dict | None = None, fused: bool = True):
        super().__init__()
        spaces = tuple(canonical_basis(name) for name in spaces)
        if not spaces or len(set(spaces)) != len(spaces):
            raise ConfigError(f"SelectableKANLinear: spaces must be distinct basis names, got {spaces!r}")
        space_kwargs = {canonical_basis(name): value for name, value in dict(space_kwargs or {}).items()}
        unused = sorted(set(space_kwargs) - set(spaces))
        if unused:
            raise ConfigError(f"SelectableKANLinear: space_kwargs given for unused space(s) {', '.join(unused)}")
        if not temperature > 0:
            raise ConfigError(f"SelectableKANLinear: temperature must be positive, got {temperature}")
        self.spaces = spaces
        self.temperature = float(temperature)
        self.in_features = positive_int("SelectableKANLinear: in_features", in_features)
        self.out_features = positive_int("SelectableKANLinear: out_features", out_features)
        self.layers = nn.ModuleList(
            KANLinear(in_features, out_features, basis=name, base_activation=None, fused=fused,
                      **space_kwargs.get(name, {}))
            for name in spaces
        )
        self.base_activation = None if base_activation is None else get_activation(base_activation)
        bound = 1.0 / math.sqrt(in_features)
        base_weight = torch.empty(out_features, in_features).uniform_(-bound, bound)  # drawn either way (see KANLinear)
        self.base_weight = None if self.base_activation is None else nn.Parameter(base_weight)
        self.logits = nn.Parameter(torch.zeros(out_features, len(spaces)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.register_load_state_dict_pre_hook(_drop_unused_base_weight)

    def space_weights(self) -> torch.Tensor:
        """p, shape (out, n_spaces): softmax over spaces per output node."""
        return torch.softmax(self.logits / self.temperature, dim=-1)

    def selected_spaces(self) -> list[str]:
        """The space with the largest weight, for each output node."""
        return [self.spaces[s] for s in self.space_weights().argmax(dim=-1).tolist()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ConfigError(
                f"SelectableKANLinear: expected input (..., {self.in_features}), got shape {tuple(x.shape)}"
            )
        p = self.space_weights()
        out = sum(p[:, s] * layer(x) for s, layer in enumerate(self.layers))
        if self.base_activation is not None:
            out = out + self.base_activation(x) @ self.base_weight.t()
        if self.bias is not None:
            out = out + self.bias
        return out


class SelectableKANChannelMix(nn.Module):
    """SelectableKANLinear over channels at every grid point: (B, C_in, *spatial) -> (B, C_out, *spatial)."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.kan = SelectableKANLinear(in_channels, out_channels, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kan(x.movedim(1, -1)).movedim(-1, 1)
