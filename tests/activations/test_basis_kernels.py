"""KAN basis kernels: derivative contractions against autograd, the fused autograd function, the compile switch."""

import warnings

import pytest
import torch

import opkit.activations.basis_kernels as basis_kernels
from opkit.activations.bases import BASES, CONTROL_BASES, make_basis
from opkit.activations.basis_kernels import (
    COMPILE_MIN_VALUES,
    FusedBasis,
    bspline_kernels,
    compile_disabled_reason,
    rbf_kernels,
    run_kernel,
)


@pytest.mark.parametrize("basis_name", BASES + CONTROL_BASES)
def test_contract_derivative_is_the_gradient_of_the_features(basis_name, float64_default):
    """sum_j g[:, j] dB_j/dz in closed form equals autograd through the features kernel."""
    torch.manual_seed(0)
    features, contract_derivative = make_basis(basis_name, 3).kernels()
    z = (2.0 * torch.randn(11, 3)).requires_grad_(True)
    with torch.enable_grad():
        value = features(z)
    grad_features = torch.randn_like(value)
    (expected,) = torch.autograd.grad((value * grad_features).sum(), z)
    torch.testing.assert_close(contract_derivative(z.detach(), grad_features), expected)


@pytest.mark.parametrize("basis_name", BASES)
@pytest.mark.parametrize("diagonal", [False, True])
def test_fused_basis_matches_plain_autograd(basis_name, diagonal, float64_default):
    """Dense (layer) and diagonal (activation) contractions: values and gradients as autograd of the formulas."""
    torch.manual_seed(0)
    basis = make_basis(basis_name, 3)
    x = (1.5 * torch.randn(9, 3)).requires_grad_(True)
    weight = (torch.randn(basis.n_basis, 3) if diagonal else torch.randn(basis.n_basis * 3, 2)).requires_grad_(True)
    scale, shift = basis.affine(3, x.dtype, x.device)
    fused = FusedBasis.apply(x, weight, scale, shift, basis, False, diagonal)
    features = basis.features(torch.addcmul(shift, x, scale))  # (9, n, 3), recorded by autograd
    plain = (features * weight).sum(1) if diagonal else features.reshape(9, -1) @ weight
    torch.testing.assert_close(fused, plain)
    weights = torch.randn_like(fused)
    fused_grads = torch.autograd.grad((fused * weights).sum(), (x, weight))
    plain_grads = torch.autograd.grad((plain * weights).sum(), (x, weight))
    for a, b in zip(fused_grads, plain_grads):
        torch.testing.assert_close(a, b)


@pytest.fixture
def fresh_compile_state(monkeypatch):
    monkeypatch.setattr(basis_kernels, "_compiled_kernels", {})
    monkeypatch.setattr(basis_kernels, "_compile_failure", None)
    monkeypatch.delenv("OPKIT_COMPILE", raising=False)


def test_compile_failure_falls_back_to_eager_with_one_warning(monkeypatch, fresh_compile_state):
    def broken_compile(fn, **kwargs):
        def call(*args):
            raise RuntimeError("no C++ compiler found\nsecond line")
        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    features, _ = bspline_kernels(3, 8)
    z = torch.randn(10, 4)
    expected = r"torch.compile failed \(RuntimeError: no C\+\+ compiler found\); running the eager kernels"
    with pytest.warns(RuntimeWarning, match=expected):
        out = run_kernel(features, True, z.numel() * 8, z)
    torch.testing.assert_close(out, features(z))
    assert compile_disabled_reason().startswith("torch.compile failed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning: eager from now on
        torch.testing.assert_close(run_kernel(features, True, z.numel() * 8, z), out)


def test_compile_only_for_large_inputs_unless_asked(monkeypatch, fresh_compile_state):
    calls = []

    def recording_compile(fn, **kwargs):
        calls.append(fn)
        return fn

    monkeypatch.setattr(torch, "compile", recording_compile)
    features, _ = bspline_kernels(3, 8)
    z = torch.randn(16, 8)
    run_kernel(features, None, COMPILE_MIN_VALUES - 1, z)  # automatic, below the threshold: eager
    run_kernel(features, False, COMPILE_MIN_VALUES, z)  # never
    assert calls == []
    run_kernel(features, None, COMPILE_MIN_VALUES, z)
    assert calls == [features]
    rbf_features, _ = rbf_kernels(8)
    run_kernel(rbf_features, True, 1, z)  # always, however small
    assert calls == [features, rbf_features]
    monkeypatch.setenv("OPKIT_COMPILE", "0")
    run_kernel(bspline_kernels(2, 7)[0], True, COMPILE_MIN_VALUES, z)
    assert len(calls) == 2 and compile_disabled_reason() == "OPKIT_COMPILE=0"
