"""KAN bases: the univariate basis functions of KAN layers and KAN activations.

A KAN edge function is a learnable combination of basis functions, phi(x) = sum_j c_j B_j(x)
(Liu et al. 2024, "KAN: Kolmogorov-Arnold Networks"). The KAN layer
(:class:`opkit.layers.kan.KANLinear`, one function per edge) and the KAN activation
(:class:`opkit.activations.kan_activation.KANActivation`, one function per channel) share
the bases here: ``make_basis(name, in_features, **kwargs)``, names in ``BASES`` (and the
ablation controls' ``CONTROL_BASES``): ``"bspline"`` (order k on a uniform grid of G
intervals, n = G + k), ``"rbf"`` (Gaussian, FastKAN), ``"chebyshev"`` (T_j(tanh x)),
``"fourier"`` (cos/sin of j w x), ``"relu"`` and ``"linear"``. Each basis is a module
holding its parameters (grid, order, ...); it maps x (N, in) to the normalised input
z = x * scale + shift and evaluates basis-major features F (N, n, in) with the pure kernel
functions of :mod:`opkit.activations.basis_kernels`, which also holds the compile switch
and the fused autograd function ``FusedBasis``.

See :mod:`opkit.layers.kan` for the equations of the layer and the grid update.
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from opkit.activations.basis_kernels import (
    bspline_kernels,
    chebyshev_kernels,
    fourier_kernels,
    linear_kernels,
    rbf_kernels,
    relu_kernels,
    run_kernel,
)
from opkit.errors import ConfigError

BASES = ("bspline", "rbf", "chebyshev", "fourier")
# Edge-function spaces without a grid, for the ablation controls (homogeneous, linear).
CONTROL_BASES = ("relu", "linear")


def positive_int(label: str, value) -> int:
    """``value`` if it is a positive int (not a bool); ConfigError naming ``label`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{label} must be a positive integer, got {value!r}")
    return value


def _grid_range(label: str, grid_range) -> tuple[float, float]:
    try:
        lower, upper = (float(v) for v in grid_range)
    except (TypeError, ValueError):
        raise ConfigError(f"{label}: grid_range must be two numbers (lower, upper), got {grid_range!r}") from None
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ConfigError(f"{label}: grid_range must be finite with lower < upper, got {grid_range!r}")
    return lower, upper


class _Basis(nn.Module):
    """A family of n basis functions per input, evaluated on the normalised input z = x * scale + shift.

    Subclasses define ``n_basis``, ``affine`` (per-input ``scale``/``shift``) and
    ``kernels()``: the (features, contract_derivative) pair for their current constants.
    """

    has_grid = False

    def affine(self, in_features: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
        one = torch.ones(in_features, dtype=dtype, device=device)
        return one, torch.zeros_like(one)

    def kernels(self):
        raise NotImplementedError

    def features(self, z: torch.Tensor, compile_mode=False) -> torch.Tensor:
        """Basis-major features of the normalised input: z (N, in) -> (N, n, in)."""
        return run_kernel(self.kernels()[0], compile_mode, z.numel() * self.n_basis, z)

    def contract_derivative(self, z: torch.Tensor, grad_features: torch.Tensor, compile_mode=False) -> torch.Tensor:
        """sum_j grad_features[:, j] * dB_j/dz (z): (N, in), (N, n, in) -> (N, in)."""
        return run_kernel(self.kernels()[1], compile_mode, grad_features.numel(), z, grad_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The basis values B_j(x_i): x (N, in) -> (N, in, n)."""
        scale, shift = self.affine(x.shape[-1], x.dtype, x.device)
        return self.features(torch.addcmul(shift, x, scale)).transpose(1, 2)


class _GridBasis(_Basis):
    """A family on a uniform grid over [lower_i, upper_i] per input (buffers), ``grid_size`` G intervals or centres."""

    has_grid = True

    def __init__(self, name: str, in_features: int, grid_size: int, grid_range):
        super().__init__()
        self.grid_size = positive_int(f"KANLinear(basis={name!r}): grid_size", grid_size)
        lower, upper = _grid_range(f"KANLinear(basis={name!r})", grid_range)
        self.register_buffer("lower", torch.full((in_features,), lower))
        self.register_buffer("upper", torch.full((in_features,), upper))

    def set_grid(self, lower: torch.Tensor, upper: torch.Tensor, grid_size: int | None = None) -> None:
        """Move each input's grid to [lower_i, upper_i] (shape (in,)) and optionally change G."""
        self.lower.copy_(lower)
        self.upper.copy_(upper)
        if grid_size is not None:
            self.grid_size = grid_size


class BSplineBasis(_GridBasis):
    """Uniform B-splines of order k per input: (N, in) -> (N, in, G + k); see the module docstring.

    Input i has knots t_m = lower_i + (m - k) h_i, m = 0..G + 2k, h_i = (upper_i -
    lower_i) / G; basis j is the B-spline on knots t_j..t_{j+k+1}, i.e. N_k(u - j) with
    u = (x - lower_i) / h_i + k.
    """

    def __init__(self, in_features: int, grid_size: int = 5, order: int = 3, grid_range=(-1.0, 1.0)):
        super().__init__("bspline", in_features, grid_size, grid_range)
        self.order = positive_int("KANLinear(basis='bspline'): order", order)

    @property
    def n_basis(self) -> int:
        return self.grid_size + self.order

    def kernels(self):
        return bspline_kernels(self.order, self.n_basis)

    def knots(self) -> torch.Tensor:
        """Knot vectors per input, shape (in, G + 2k + 1)."""
        k, G = self.order, self.grid_size
        step = (self.upper - self.lower) / G
        m = torch.arange(G + 2 * k + 1, dtype=self.lower.dtype, device=self.lower.device)
        return self.lower[:, None] + (m[None, :] - k) * step[:, None]

    def affine(self, in_features, dtype, device):
        scale = (self.grid_size / (self.upper - self.lower)).to(dtype)
        return scale, self.order - self.lower.to(dtype) * scale


class GaussianRBFBasis(_GridBasis):
    """Gaussian RBFs (FastKAN): B_j(x) = exp(-((x - mu_j) / h)^2), G centres on grid_range per input."""

    def __init__(self, in_features: int, grid_size: int = 8, grid_range=(-1.0, 1.0)):
        super().__init__("rbf", in_features, grid_size, grid_range)
        if grid_size < 2:
            raise ConfigError("KANLinear(basis='rbf'): grid_size must be at least 2")

    @property
    def n_basis(self) -> int:
        return self.grid_size

    def kernels(self):
        return rbf_kernels(self.grid_size)

    def affine(self, in_features, dtype, device):
        scale = ((self.grid_size - 1) / (self.upper - self.lower)).to(dtype)
        return scale, -self.lower.to(dtype) * scale  # centre j sits at z = j


class ChebyshevBasis(_Basis):
    """Chebyshev polynomials of tanh(x): T_0..T_degree by the three-term recurrence."""

    def __init__(self, in_features: int, degree: int = 4):
        super().__init__()
        self.degree = positive_int("KANLinear(basis='chebyshev'): degree", degree)

    @property
    def n_basis(self) -> int:
        return self.degree + 1

    def kernels(self):
        return chebyshev_kernels(self.degree)


class FourierBasis(_Basis):
    """cos(j w x), sin(j w x), j = 1..n_frequencies, with w = 2 pi / (upper - lower)."""

    def __init__(self, in_features: int, n_frequencies: int = 4, grid_range=(-1.0, 1.0)):
        super().__init__()
        self.n_frequencies = positive_int("KANLinear(basis='fourier'): n_frequencies", n_frequencies)
        lower, upper = _grid_range("KANLinear(basis='fourier')", grid_range)
        self.angular_frequency = 2 * math.pi / (upper - lower)

    @property
    def n_basis(self) -> int:
        return 2 * self.n_frequencies

    def kernels(self):
        return fourier_kernels(self.n_frequencies)

    def affine(self, in_features, dtype, device):
        scale = torch.full((in_features,), self.angular_frequency, dtype=dtype, device=device)
        return scale, torch.zeros_like(scale)


class _GridlessBasis(_Basis):
    """A fixed family without grid or scale; subclasses name ``n_basis`` and their ``kernel_factory``."""

    n_basis: int
    kernel_factory = None

    def __init__(self, in_features: int):
        super().__init__()

    def kernels(self):
        return self.kernel_factory()


class ReLUBasis(_GridlessBasis):
    """relu(x), relu(-x): the positively homogeneous edge functions (no grid, no scale)."""

    n_basis = 2
    kernel_factory = staticmethod(relu_kernels)


class LinearBasis(_GridlessBasis):
    """x: the linear edge functions (no grid, no scale)."""

    n_basis = 1
    kernel_factory = staticmethod(linear_kernels)


_BASIS_CLASSES = {"bspline": BSplineBasis, "rbf": GaussianRBFBasis, "chebyshev": ChebyshevBasis,
                  "fourier": FourierBasis, "relu": ReLUBasis, "linear": LinearBasis}
_BASIS_ALIASES = {"b_spline": "bspline", "spline": "bspline", "gaussian": "rbf", "fastkan": "rbf",
                  "cheby": "chebyshev"}


def canonical_basis(basis) -> str:
    """The name in ``BASES`` for a basis name or alias (``"spline"``, ``"gaussian"``, ...); ConfigError otherwise."""
    if not isinstance(basis, str):
        raise ConfigError(f"KANLinear: basis must be a name, one of {', '.join(BASES + CONTROL_BASES)}; "
                          f"got {type(basis).__name__}")
    key = _BASIS_ALIASES.get(basis.lower(), basis.lower())
    if key not in _BASIS_CLASSES:
        raise ConfigError(f"KANLinear: unknown basis {basis!r}; valid bases: {', '.join(BASES + CONTROL_BASES)}")
    return key


def make_basis(basis: str, in_features: int, **kwargs) -> _Basis:
    """Build a basis module by name; ConfigError for an unknown name or parameter."""
    key = canonical_basis(basis)
    cls = _BASIS_CLASSES[key]
    accepted = set(inspect.signature(cls).parameters) - {"in_features"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ConfigError(
            f"KANLinear(basis={key!r}): unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(accepted))}"
        )
    return cls(in_features, **kwargs)

