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

from opkit.activations import get_activation
from opkit.errors import ConfigError

BASES = ("bspline", "rbf", "chebyshev", "fourier")
# Edge-function spaces without a grid, for the ablation controls (homogeneous, linear).
CONTROL_BASES = ("relu", "linear")


def _positive_int(label: str, value) -> int:
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


# Compiling pays for itself only on large inputs; below this many basis values (N * in * n)
# the eager kernels run, so small layers, tests and interactive use never wait for a compile.
COMPILE_MIN_VALUES = 2**20
_compiled_kernels: dict = {}
_compile_failure: str | None = None


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
        self.grid_size = _positive_int("KANLinear(basis='bspline'): grid_size", grid_size)
        self.order = _positive_int("KANLinear(basis='bspline'): order", order)
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
        self.grid_size = _positive_int("KANLinear(basis='rbf'): grid_size", grid_size)
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
        self.degree = _positive_int("KANLinear(basis='chebyshev'): degree", degree)

    @property
    def n_basis(self) -> int:
        return self.degree + 1

    def kernels(self):
        return chebyshev_kernels(self.degree)


class FourierBasis(_Basis):
    """cos(j w x), sin(j w x), j = 1..n_frequencies, with w = 2 pi / (upper - lower)."""

    def __init__(self, in_features: int, n_frequencies: int = 4, grid_range=(-1.0, 1.0)):
        super().__init__()
        self.n_frequencies = _positive_int("KANLinear(basis='fourier'): n_frequencies", n_frequencies)
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


class ReLUBasis(_Basis):
    """relu(x), relu(-x): the positively homogeneous edge functions (no grid, no scale)."""

    def __init__(self, in_features: int):
        super().__init__()

    @property
    def n_basis(self) -> int:
        return 2

    def kernels(self):
        return relu_kernels()


class LinearBasis(_Basis):
    """x: the linear edge functions (no grid, no scale)."""

    def __init__(self, in_features: int):
        super().__init__()

    @property
    def n_basis(self) -> int:
        return 1

    def kernels(self):
        return linear_kernels()


class _BasisMatmul(torch.autograd.Function):
    """y = F(x) @ W with F the (N, n * in) basis-major features, keeping only F and z for backward.

    Backward: dL/dW = F^T g; dL/dx_i = scale_i sum_j (g W^T)[(j, i)] dB_j/dz (z_i), the
    derivative contracted by the basis kernel without materialising dB/dz.
    """

    @staticmethod
    def forward(ctx, x, weight, scale, shift, basis, compile_mode):
        z = torch.addcmul(shift, x, scale)
        features = basis.features(z, compile_mode)
        ctx.basis, ctx.compile_mode = basis, compile_mode
        ctx.save_for_backward(features, weight, scale, z)
        return features.view(x.shape[0], -1) @ weight

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        features, weight, scale, z = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = features.view(features.shape[0], -1).t() @ grad_out
        if ctx.needs_input_grad[0]:
            grad_features = (grad_out @ weight.t()).view(features.shape)
            grad_x = ctx.basis.contract_derivative(z, grad_features, ctx.compile_mode) * scale
        return grad_x, grad_weight, None, None, None, None


_BASIS_CLASSES = {"bspline": BSplineBasis, "rbf": GaussianRBFBasis, "chebyshev": ChebyshevBasis,
                  "fourier": FourierBasis, "relu": ReLUBasis, "linear": LinearBasis}
_BASIS_ALIASES = {"b_spline": "bspline", "spline": "bspline", "gaussian": "rbf", "fastkan": "rbf",
                  "cheby": "chebyshev"}


def _basis_key(basis) -> str:
    if not isinstance(basis, str):
        raise ConfigError(f"KANLinear: basis must be a name, one of {', '.join(BASES + CONTROL_BASES)}; "
                          f"got {type(basis).__name__}")
    key = _BASIS_ALIASES.get(basis.lower(), basis.lower())
    if key not in _BASIS_CLASSES:
        raise ConfigError(f"KANLinear: unknown basis {basis!r}; valid bases: {', '.join(BASES + CONTROL_BASES)}")
    return key


def make_basis(basis: str, in_features: int, **kwargs) -> _Basis:
    """Build a basis module by name; ConfigError for an unknown name or parameter."""
    key = _basis_key(basis)
    cls = _BASIS_CLASSES[key]
    accepted = set(inspect.signature(cls).parameters) - {"in_features"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ConfigError(
            f"KANLinear(basis={key!r}): unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(accepted))}"
        )
    return cls(in_features, **kwargs)


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

    Parameters: ``base_weight`` w_b (out, in), ``spline_scale`` w_s (out, in),
    ``coefficients`` c (out, in, n_basis), optional ``bias`` (out,).
    """

    def __init__(self, in_features: int, out_features: int, basis: str = "bspline",
                 base_activation="silu", bias: bool = False, init_scale: float = 0.1, fused: bool = True,
                 compile: bool | None = None, **basis_kwargs):
        super().__init__()
        self.in_features = _positive_int("KANLinear: in_features", in_features)
        self.out_features = _positive_int("KANLinear: out_features", out_features)
        self.basis_name = _basis_key(basis)
        self.basis = make_basis(basis, in_features, **basis_kwargs)
        self.base_activation = None if base_activation is None else get_activation(base_activation)
        self.fused = bool(fused)
        if compile not in (None, True, False):
            raise ConfigError(f"KANLinear: compile must be true, false or null (auto), got {compile!r}")
        self.compile = compile
        bound = 1.0 / math.sqrt(in_features)
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.spline_scale = nn.Parameter(torch.full((out_features, in_features), bound))
        self.coefficients = nn.Parameter(init_scale * torch.randn(out_features, in_features, self.basis.n_basis))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

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
            out = _BasisMatmul.apply(flat, weight, scale, shift, self.basis, self.compile)
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
            grid_size = _positive_int("KANLinear.update_grid: grid_size", grid_size)
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
        spaces = tuple(_basis_key(name) for name in spaces)
        if not spaces or len(set(spaces)) != len(spaces):
            raise ConfigError(f"SelectableKANLinear: spaces must be distinct basis names, got {spaces!r}")
        space_kwargs = {_basis_key(name): value for name, value in dict(space_kwargs or {}).items()}
        unused = sorted(set(space_kwargs) - set(spaces))
        if unused:
            raise ConfigError(f"SelectableKANLinear: space_kwargs given for unused space(s) {', '.join(unused)}")
        if not temperature > 0:
            raise ConfigError(f"SelectableKANLinear: temperature must be positive, got {temperature}")
        self.spaces = spaces
        self.temperature = float(temperature)
        self.in_features = _positive_int("SelectableKANLinear: in_features", in_features)
        self.out_features = _positive_int("SelectableKANLinear: out_features", out_features)
        self.layers = nn.ModuleList(
            KANLinear(in_features, out_features, basis=name, base_activation=None, fused=fused,
                      **space_kwargs.get(name, {}))
            for name in spaces
        )
        self.base_activation = None if base_activation is None else get_activation(base_activation)
        bound = 1.0 / math.sqrt(in_features)
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.logits = nn.Parameter(torch.zeros(out_features, len(spaces)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

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
