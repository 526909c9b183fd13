"""KAN basis kernels: pure functions evaluating basis features and contracting their derivatives.

Each basis of :mod:`opkit.activations.bases` (B-spline, RBF, Chebyshev, Fourier, and the
ReLU/linear controls) reduces, once its input is normalised to z = x * scale + shift, to two
pure functions of z (N, in) with its constants baked in:

* ``features(z)``: the basis-major features F (N, n, in), so that every elementwise op runs
  over the contiguous input axis;
* ``contract_derivative(z, g)``: sum_j g[:, j] dB_j/dz (z) -> (N, in), in closed form, without
  ever storing dB/dz.

``run_kernel`` runs either eagerly or through ``torch.compile`` (which fuses a kernel into one
loop, several times faster than eager's one pass over memory per op): automatically above
``COMPILE_MIN_VALUES`` basis values; ``OPKIT_COMPILE=0`` turns it off; a machine where the
compiler does not work falls back to eager with one warning. :class:`FusedBasis` is the one
autograd function that evaluates F, contracts it with the weights (densely for a KAN layer,
per channel for a KAN activation) and keeps only F and z for the backward pass.
"""

from __future__ import annotations

import functools
import math
import os
import warnings

import torch
from torch.autograd.function import once_differentiable


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


def run_kernel(kernel, compile_mode, n_values: int, *args):
    """``kernel(*args)``, compiled or eagerly: ``compile_mode`` True, False or None (auto: ``n_values`` basis
    values at least ``COMPILE_MIN_VALUES``). Compiled: torch.compile, any number of rows, one cache entry per kernel.

    If torch.compile does not work here (no C++ compiler for the CPU, no Triton for a GPU),
    one warning says so and every kernel runs eagerly from then on: same values, only slower.
    """
    global _compile_failure
    if not _use_compiled(compile_mode, n_values):
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

