"""KAN bases: the univariate basis functions of KAN layers and KAN activations, and their kernels.

A KAN edge function is a learnable combination of basis functions, phi(x) = sum_j c_j B_j(x)
(Liu et al. 2024, "KAN: Kolmogorov-Arnold Networks"). The KAN layer
(:class:`opkit.layers.kan.KANLinear`, one function per edge) and the KAN activation
(:class:`opkit.activations.kan_activation.KANActivation`, one function per channel) share
everything here:

* the bases (``make_basis(name, in_features, **kwargs)``; names in ``BASES``):
  ``"bspline"`` (order k on a uniform grid of G intervals, n = G + k), ``"rbf"``
  (Gaussian, FastKAN), ``"chebyshev"`` (T_j(tanh x)) and ``"fourier"`` (cos/sin of
  j w x); each maps x (N, in) to the normalised input z = x * scale + shift and
  evaluates basis-major features F (N, n, in) with a pure kernel function;
* the kernels (``bspline_kernels``, ``rbf_kernels``, ...): for each basis the features,
  and the contraction of a features gradient with the closed-form derivative
  sum_j grad[:, j] dB_j/dz, run eagerly or through ``torch.compile`` for large inputs
  (``compile=None``: above ``COMPILE_MIN_VALUES`` basis values; ``OPKIT_COMPILE=0``
  turns it off; a broken compiler falls back to eager with one warning);
* :class:`FusedBasis`, the one autograd function that evaluates F, contracts it with
  the weights (densely for a layer, per channel for an activation) and keeps only F and
  z for the backward pass.

See :mod:`opkit.layers.kan` for the equations of the layer and the grid update.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import warnings

import torch
from torch import nn
from torch.autograd.function import once_differentiable

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


# ---------------------------------------------------------------------------------------------
# Basis kernels. Each kernel is a pure function of the normalised input z (N, in) with its
# constants baked in, returning basis-major features (N, n, in): every elementwise op then runs
# over the contiguous input axis. Two kernels per basis: the features, and the contraction of a
# features gradient with the basis derivatives, sum_j grad[:, j] dB_j/dz -> (N, in). The same
# functions run eagerly or compiled (torch.compile fuses each into one loop over F, several
# times faster than eager's one pass per op); see ``_run_kernel``.
# ---------------------------------------------------------------------------------------------


@functools.cache
def bspline_kernels(order: int, n_basis: int):
    """Uniform B-splines of degree ``order`` on knots at the integers: B_j(z) = N_k(z - j).

    N_k is the cardinal B-spline on [0, k + 1]. In its symmetric truncated-power form, with
    r = |z - j - (k + 1)/2| the distance to the centre of basis j and a = ((k + 1)/2 - r)_+,

        N_k = sum_{t=0}^{floor(k/2)} w_t (a - t)_+^k,   w_t = (-1)^t binom(k + 1, t) / k!

    (the full sum over t = 0..k + 1 folded by symmetry, see de Boor, "A Practical Guide to
    Splines", ch. IX). Every term is clamped, so B_j is exactly 0 for r >= (k + 1)/2 however
    far away z is (also in float32, also for +-inf), and the terms are bounded by
    ((k + 1)/2)^k: no cancellation. dB_j/dz = sign(z - c_j) sum_t -k w_t (a - t)_+^(k - 1).
    Without autograd (the fused path, inference) the kernels work in place: one buffer for F
    and one scratch tensor, since on the CPU a fresh buffer costs more than a pass over it.
    """
    k = order
    half = (k + 1) / 2
    weights = [(-1) ** t * math.comb(k + 1, t) / math.factorial(k) for t in range(k // 2 + 1)]

    def centres(z):
        return (torch.arange(n_basis, dtype=z.dtype, device=z.device) + half).view(1, -1, 1)

    def features(z):
        if torch.is_grad_enabled():  # autograd records each step: no in-place ops
            a = torch.clamp(half - (z.unsqueeze(1) - centres(z)).abs(), min=0)
            return sum(weight * torch.clamp(a - t, min=0) ** k for t, weight in enumerate(weights))
        a = (z.unsqueeze(1) - centres(z)).abs_().neg_().add_(half).clamp_(min=0)
        rest = None
        for t, weight in enumerate(weights[1:], start=1):
            term = torch.sub(a, t).clamp_(min=0).pow_(k).mul_(weight)
            rest = term if rest is None else rest.add_(term)
        a.pow_(k).mul_(weights[0])
        return a if rest is None else a.add_(rest)

    def contract_derivative(z, grad_features):
        d = z.unsqueeze(1) - centres(z)
        a = d.abs().neg_().add_(half).clamp_(min=0)
        if k == 1:  # the hat function: slope -1 inside its support
            slope = (a > 0).to(z.dtype).neg_()
        else:
            slope = None
            for t, weight in enumerate(weights[1:], start=1):
                term = torch.sub(a, t).clamp_(min=0).pow_(k - 1).mul_(-k * weight)
                slope = term if slope is None else slope.add_(term)
            a.pow_(k - 1).mul_(-k * weights[0])
            slope = a if slope is None else a.add_(slope)
        return slope.mul_(d.sign_()).mul_(grad_features).sum(1)

    return features, contract_derivative


@functools.cache
def rbf_kernels(n_basis: int):
    """B_j(z) = exp(-(z - j)^2), dB_j/dz = -2 (z - j) B_j(z)."""

    def offsets(z):
        return z.unsqueeze(1) - torch.arange(n_basis, dtype=z.dtype, device=z.device).view(1, -1, 1)

    def features(z):
        if torch.is_grad_enabled():
            return torch.exp(-offsets(z).square())
        return offsets(z).square_().neg_().exp_()

    def contract_derivative(z, grad_features):
        d = offsets(z)
        return d.square().neg_().exp_().mul_(d).mul_(grad_features).sum(1).mul_(-2)

    return features, contract_derivative


@functools.cache
def chebyshev_kernels(degree: int):
    """T_j(tanh z), j = 0..degree; dT_j/dz = j U_{j-1}(t) (1 - t^2), U of the second kind."""

    def features(z):
        t = torch.tanh(z)
        polynomials = [torch.ones_like(t), t]
        for _ in range(2, degree + 1):
            polynomials.append(2 * t * polynomials[-1] - polynomials[-2])  # T_{j+1} = 2 t T_j - T_{j-1}
        return torch.stack(polynomials, dim=1)

    def contract_derivative(z, grad_features):
        t = torch.tanh(z)
        u_previous, u = torch.zeros_like(t), torch.ones_like(t)  # U_{-1}, U_0
        total = grad_features[:, 1]
        for j in range(2, degree + 1):
            u_previous, u = u, 2 * t * u - u_previous  # U_{j-1}
            total = total + j * grad_features[:, j] * u
        return total * (1 - t * t)

    return features, contract_derivative


@functools.cache
def fourier_kernels(n_frequencies: int):
    """[cos(z), ..., cos(K z), sin(z), ..., sin(K z)] (z already scaled by the angular frequency)."""

    def angles(z):
        j = torch.arange(1, n_frequencies + 1, dtype=z.dtype, device=z.device).view(1, -1, 1)
        return z.unsqueeze(1) * j, j

    def features(z):
        angle, _ = angles(z)
        return torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)

    def contract_derivative(z, grad_features):
        angle, j = angles(z)
        K = n_frequencies
        return ((grad_features[:, K:] * torch.cos(angle) - grad_features[:, :K] * torch.sin(angle)) * j).sum(1)

    return features, contract_derivative


# Compiling pays for itself only on large inputs; below this many basis values (N * in * n)
# the eager kernels run, so small layers, tests and interactive use never wait for a compile.
COMPILE_MIN_VALUES = 2**20
_compiled_kernels: dict = {}
_compile_failure: str | None = None


@functools.cache
def relu_kernels():
    """[relu(z), relu(-z)]; the derivative contracts to g_0 [z > 0] - g_1 [z < 0]."""

    def features(z):
        return torch.stack([torch.relu(z), torch.relu(-z)], dim=1)

    def contract_derivative(z, grad_features):
        return grad_features[:, 0] * (z > 0) - grad_features[:, 1] * (z < 0)

    return features, contract_derivative


@functools.cache
def linear_kernels():
    """[z]; the derivative contracts to g_0."""

    def features(z):
        return z.unsqueeze(1)

    def contract_derivative(z, grad_features):
        return grad_features[:, 0]

    return features, contract_derivative


def compile_disabled_reason() -> str | None:
    """Why compiled KAN kernels are not used (None when they can be)."""
    if os.environ.get("OPKIT_COMPILE", "").strip().lower() in ("0", "false", "no", "off"):
        return "OPKIT_COMPILE=0"
    return _compile_failure


def _is_compiling() -> bool:
    """True while torch.compile traces a model that contains this layer (then it fuses the kernels itself)."""
    compiler = getattr(torch, "compiler", None)
    return bool(getattr(compiler, "is_compiling", lambda: False)())


def _use_compiled(compile_mode, n_values: int) -> bool:
    """Whether a kernel call with ``n_values`` basis values runs compiled (mode True, False or None = auto)."""
    if compile_mode is None:
        compile_mode = n_values >= COMPILE_MIN_VALUES
    return bool(compile_mode) and compile_disabled_reason() is None and not _is_compiling()


def _run_kernel(kernel, compiled: bool, *args):
    """Run a basis kernel, compiled (torch.compile, any number of rows, one cache entry per kernel) or eagerly.

    If torch.compile does not work here (no C++ compiler for the CPU, no Triton for a GPU),
    one warning says so and every kernel runs eagerly from then on: same values, only slower.
    """
    global _compile_failure
    if not compiled:
        return kernel(*args)
    compiled_kernel = _compiled_kernels.get(kernel)
    if compiled_kernel is None:
        # Not dynamic=True: that would also turn the kernel's baked-in constants (order, weights)
        # into runtime inputs and x**3 into a generic pow. Only the row count varies.
        compiled_kernel = _compiled_kernels[kernel] = torch.compile(kernel, fullgraph=True)
    for tensor in args:
        torch._dynamo.maybe_mark_dynamic(tensor, 0)
    try:
        return compiled_kernel(*args)
    except Exception as error:  # the toolchain, not the kernel: the eager call below would raise a kernel bug
        _compile_failure = f"torch.compile failed ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
        warnings.warn(f"opkit KAN layers: {_compile_failure}; running the eager kernels instead", RuntimeWarning,
                      stacklevel=2)
        return kernel(*args)


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
        return _run_kernel(self.kernels()[0], _use_compiled(compile_mode, z.numel() * self.n_basis), z)

    def contract_derivative(self, z: torch.Tensor, grad_features: torch.Tensor, compile_mode=False) -> torch.Tensor:
        """sum_j grad_features[:, j] * dB_j/dz (z): (N, in), (N, n, in) -> (N, in)."""
        compiled = _use_compiled(compile_mode, grad_features.numel())
        return _run_kernel(self.kernels()[1], compiled, z, grad_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The basis values B_j(x_i): x (N, in) -> (N, in, n)."""
        scale, shift = self.affine(x.shape[-1], x.dtype, x.device)
        return self.features(torch.addcmul(shift, x, scale)).transpose(1, 2)


class BSplineBasis(_Basis):
    """Uniform B-splines of order k per input: (N, in) -> (N, in, G + k); see the module docstring.

    Input i has knots t_m = lower_i + (m - k) h_i, m = 0..G + 2k, h_i = (upper_i -
    lower_i) / G; basis j is the B-spline on knots t_j..t_{j+k+1}, i.e. N_k(u - j) with
    u = (x - lower_i) / h_i + k.
    """

    has_grid = True

    def __init__(self, in_features: int, grid_size: int = 5, order: int = 3, grid_range=(-1.0, 1.0)):
        super().__init__()
        self.grid_size = positive_int("KANLinear(basis='bspline'): grid_size", grid_size)
        self.order = positive_int("KANLinear(basis='bspline'): order", order)
        lower, upper = _grid_range("KANLinear(basis='bspline')", grid_range)
        self.register_buffer("lower", torch.full((in_features,), lower))
        self.register_buffer("upper", torch.full((in_features,), upper))

    @property
    def n_basis(self) -> int:
        return self.grid_size + self.order

    def kernels(self):
        return bspline_kernels(self.order, self.n_basis)

    def set_grid(self, lower: torch.Tensor, upper: torch.Tensor, grid_size: int | None = None) -> None:
        """Move each input's grid to [lower_i, upper_i] (shape (in,)) and optionally change G."""
        self.lower.copy_(lower)
        self.upper.copy_(upper)
        if grid_size is not None:
            self.grid_size = grid_size

    def knots(self) -> torch.Tensor:
        """Knot vectors per input, shape (in, G + 2k + 1)."""
        k, G = self.order, self.grid_size
        step = (self.upper - self.lower) / G
        m = torch.arange(G + 2 * k + 1, dtype=self.lower.dtype, device=self.lower.device)
        return self.lower[:, None] + (m[None, :] - k) * step[:, None]

    def affine(self, in_features, dtype, device):
        scale = (self.grid_size / (self.upper - self.lower)).to(dtype)
        return scale, self.order - self.lower.to(dtype) * scale


class GaussianRBFBasis(_Basis):
    """Gaussian RBFs (FastKAN): B_j(x) = exp(-((x - mu_j) / h)^2), G centres on grid_range per input."""

    has_grid = True

    def __init__(self, in_features: int, grid_size: int = 8, grid_range=(-1.0, 1.0)):
        super().__init__()
        self.grid_size = positive_int("KANLinear(basis='rbf'): grid_size", grid_size)
        if grid_size < 2:
            raise ConfigError("KANLinear(basis='rbf'): grid_size must be at least 2")
        lower, upper = _grid_range("KANLinear(basis='rbf')", grid_range)
        self.register_buffer("lower", torch.full((in_features,), lower))
        self.register_buffer("upper", torch.full((in_features,), upper))

    @property
    def n_basis(self) -> int:
        return self.grid_size

    def kernels(self):
        return rbf_kernels(self.grid_size)

    def set_grid(self, lower, upper, grid_size=None):
        self.lower.copy_(lower)
        self.upper.copy_(upper)
        if grid_size is not None:
            self.grid_size = grid_size

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


class FusedBasis(torch.autograd.Function):
    """y = F(x) contracted with ``weight``, keeping only F and z = x * scale + shift for backward.

    F (N, n, in) are the basis-major features of the normalised input z (N, in). Two contractions:

    * dense (``diagonal=False``, the KAN layer): y = F.view(N, n * in) @ W with W (n * in, out);
      dL/dW = F^T g and dL/dx_i = scale_i sum_j (g W^T)[(j, i)] dB_j/dz (z_i).
    * diagonal (``diagonal=True``, the KAN activation, in = out = C): y[:, c] = sum_j F[:, j, c] W[j, c]
      with W (n, C); dL/dW[j, c] = sum_N g[:, c] F[:, j, c] and
      dL/dx_c = g_c scale_c sum_j W[j, c] dB_j/dz (z_c).

    Either way the basis kernel contracts its derivative with dL/dF (or with W, broadcast over
    rows, never copied) without materialising dB/dz.
    """

    @staticmethod
    def forward(ctx, x, weight, scale, shift, basis, compile_mode, diagonal):
        z = torch.addcmul(shift, x, scale)
        features = basis.features(z, compile_mode)
        ctx.basis, ctx.compile_mode, ctx.diagonal = basis, compile_mode, diagonal
        ctx.save_for_backward(features, weight, scale, z)
        if diagonal:
            return (features * weight).sum(1)
        return features.view(x.shape[0], -1) @ weight

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        features, weight, scale, z = ctx.saved_tensors
        # Under autocast the forward matmul ran in bfloat16/float16 while F kept the input's
        # dtype: bring the incoming gradient to F's dtype (autograd casts the results back).
        grad_out = grad_out.to(features.dtype)
        grad_x = grad_weight = None
        if ctx.diagonal:
            if ctx.needs_input_grad[1]:
                grad_weight = (features * grad_out.unsqueeze(1)).sum(0)
            if ctx.needs_input_grad[0]:
                weights = weight.unsqueeze(0).expand(features.shape)
                grad_x = ctx.basis.contract_derivative(z, weights, ctx.compile_mode) * grad_out * scale
            return grad_x, grad_weight, None, None, None, None, None
        if ctx.needs_input_grad[1]:
            grad_weight = features.view(features.shape[0], -1).t() @ grad_out
        if ctx.needs_input_grad[0]:
            grad_features = (grad_out @ weight.t()).view(features.shape)
            grad_x = ctx.basis.contract_derivative(z, grad_features, ctx.compile_mode) * scale
        return grad_x, grad_weight, None, None, None, None, None


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

