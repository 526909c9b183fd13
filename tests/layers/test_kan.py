"""KAN layers: the fused backward against autograd, fitting, grid update, compiled kernels."""

import math

import pytest
import torch
import torch.nn.functional as F

from opkit.activations.bases import BASES, CONTROL_BASES
from opkit.errors import ConfigError
from opkit.layers.kan import KANChannelMix, KANLinear, SelectableKANChannelMix, SelectableKANLinear


def test_bspline_zero_outside_span_in_float32_far_away():
    torch.manual_seed(0)
    layer = KANLinear(3, 4)
    x = torch.tensor([[1e6, -1e6, 0.3], [-3.0e7, 2.0e30, -1e6]], requires_grad=True)
    bases = layer.basis(x.detach())
    assert torch.equal(bases[0, :2], torch.zeros(2, layer.basis.n_basis))
    assert torch.equal(bases[1], torch.zeros(3, layer.basis.n_basis))
    y = layer(x)
    assert torch.isfinite(y).all()
    # only the base branch remains for the far-away inputs of row 1
    expected = F.silu(x.detach()[1]) @ layer.base_weight.detach().t()
    torch.testing.assert_close(y[1].detach(), expected)
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("basis", BASES + CONTROL_BASES)
def test_fused_backward_matches_autograd_and_gradcheck(basis, float64_default):
    torch.manual_seed(0)
    fused = KANLinear(3, 2, basis=basis, bias=True)
    plain = KANLinear(3, 2, basis=basis, bias=True, fused=False)
    plain.load_state_dict(fused.state_dict())
    x = (1.5 * torch.randn(9, 3)).requires_grad_(True)
    parameters = tuple(fused.parameters())
    assert torch.autograd.gradcheck(lambda x, *p: fused(x), (x, *parameters))
    out_fused, out_plain = fused(x), plain(x)
    torch.testing.assert_close(out_fused, out_plain)
    weights = torch.randn_like(out_fused)
    grads_fused = torch.autograd.grad((out_fused * weights).sum(), (x, *fused.parameters()))
    grads_plain = torch.autograd.grad((out_plain * weights).sum(), (x, *plain.parameters()))
    for a, b in zip(grads_fused, grads_plain):
        torch.testing.assert_close(a, b)


def test_control_bases_give_homogeneous_and_linear_layers(float64_default):
    """relu basis: phi(x) = a relu(x) + b relu(-x), so the layer is positively homogeneous
    (not odd); linear basis: phi(x) = a x, a linear layer. Without base branch and bias."""
    torch.manual_seed(1)
    x, y = torch.randn(2, 7, 4)
    relu = KANLinear(4, 3, basis="relu", base_activation=None)
    for c in (0.5, 2.0, 10.0):
        torch.testing.assert_close(relu(c * x), c * relu(x), rtol=1e-13, atol=0)
    assert (relu(-x) + relu(x)).abs().max() > 1e-3
    expected = (relu.spline_scale[None] * (relu.coefficients[None, ..., 0] * F.relu(x)[:, None]
                                            + relu.coefficients[None, ..., 1] * F.relu(-x)[:, None])).sum(-1)
    torch.testing.assert_close(relu(x), expected)
    linear = KANLinear(4, 3, basis="linear", base_activation=None)
    torch.testing.assert_close(linear(x + 3 * y), linear(x) + 3 * linear(y), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(linear(x), x @ (linear.spline_scale * linear.coefficients[..., 0]).T)


def test_unfused_supports_second_derivatives(float64_default):
    layer = KANLinear(2, 1, fused=False)
    x = torch.randn(5, 2, requires_grad=True)
    (gradient,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
    assert torch.autograd.gradcheck(lambda x: torch.autograd.grad(layer(x).sum(), x, create_graph=True)[0], (x,))
    assert gradient.requires_grad


def _train(model, x, y, steps, lr):
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return (torch.linalg.norm(model(x) - y) / torch.linalg.norm(y)).item()


def test_kan_fits_smooth_1d_function():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 256).unsqueeze(-1)
    y = torch.sin(math.pi * x) + 0.5 * x**2
    model = KANLinear(1, 1, grid_size=10)
    error = _train(model, x, y, steps=300, lr=0.05)
    assert error < 0.01


def test_kan_fits_product():
    torch.manual_seed(0)
    x = 2 * torch.rand(512, 2) - 1
    y = x[:, :1] * x[:, 1:]
    model = torch.nn.Sequential(KANLinear(2, 4, grid_size=5), KANLinear(4, 1, grid_size=5))
    error = _train(model, x, y, steps=400, lr=0.02)
    assert error < 0.05


def test_grid_update_keeps_function(float64_default):
    torch.manual_seed(0)
    layer = KANLinear(3, 2, grid_size=8, init_scale=1.0)
    x = torch.rand(500, 3) * 1.4 - 0.6  # inside [-0.6, 0.8]: the old grid covers it
    before = layer(x)
    coefficients = layer.coefficients
    layer.update_grid(x)
    after = layer(x)
    assert layer.coefficients is coefficients  # same size: updated in place
    torch.testing.assert_close(layer.basis.lower, x.min(0).values)
    relative = (torch.linalg.norm(after - before) / torch.linalg.norm(before)).item()
    assert relative < 0.02


def test_grid_extension_is_exact_on_nested_grids(float64_default):
    """G = 5 -> 10 on the same range: the old spline space is contained in the new one."""
    torch.manual_seed(0)
    layer = KANLinear(2, 3, grid_size=5, init_scale=1.0)
    x = torch.rand(400, 2) * 2 - 1
    x[0], x[1] = -1.0, 1.0 - 1e-12  # the data span the whole old grid range
    before = layer(x)
    layer.update_grid(x, grid_size=10)
    assert layer.coefficients.shape == (3, 2, 13)
    torch.testing.assert_close(layer(x), before, rtol=1e-8, atol=1e-8)


def test_channel_mix_applies_the_layer_at_every_point():
    torch.manual_seed(0)
    mix = KANChannelMix(3, 5, basis="rbf")
    for spatial in [(7,), (4, 6), (2, 3, 4)]:
        x = torch.randn(2, 3, *spatial)
        y = mix(x)
        assert y.shape == (2, 5, *spatial)
        pointwise = mix.kan(x.movedim(1, -1).reshape(-1, 3)).reshape(2, *spatial, 5).movedim(-1, 1)
        torch.testing.assert_close(y, pointwise)
        corner = (1, slice(None)) + (0,) * len(spatial)  # one grid point of sample 1
        torch.testing.assert_close(y[corner], mix.kan(x[corner]))
    with pytest.raises(ConfigError, match=r"expected input \(batch, 3, \*spatial\)"):
        mix(torch.randn(2, 4, 5))


def test_selectable_layer_mixes_spaces_and_reports_selection(float64_default):
    torch.manual_seed(0)
    layer = SelectableKANLinear(3, 4, spaces=("bspline", "chebyshev", "fourier"), temperature=0.5)
    with torch.no_grad():
        layer.logits.copy_(torch.tensor([[2.0, 0, 0], [0, 3.0, 0], [0, 0, 1.0], [0, 0.5, 0]]))
    assert layer.selected_spaces() == ["bspline", "chebyshev", "fourier", "chebyshev"]
    x = torch.randn(6, 3)
    p = torch.softmax(layer.logits / 0.5, dim=-1)
    expected = F.silu(x) @ layer.base_weight.t()
    for s, sub in enumerate(layer.layers):
        expected = expected + p[:, s] * sub(x)
    torch.testing.assert_close(layer(x), expected)
    layer.temperature = 1e-3  # sharp: each node uses only its selected space
    sharp = layer(x)
    chosen = F.silu(x) @ layer.base_weight.t()
    for o, name in enumerate(layer.selected_spaces()):
        chosen[:, o] += layer.layers[layer.spaces.index(name)](x)[:, o]
    torch.testing.assert_close(sharp, chosen)


def test_selectable_layer_learns_the_generating_space():
    torch.manual_seed(0)
    x = 2 * torch.rand(512, 1) - 1
    y = torch.sin(2 * math.pi * x)  # one period on [-1, 1]: exactly a Fourier basis function
    layer = SelectableKANLinear(1, 1, spaces=("chebyshev", "fourier"), base_activation=None)
    _train(layer, x, y, steps=200, lr=0.05)
    assert layer.selected_spaces() == ["fourier"]


def test_invalid_configuration_is_reported():
    with pytest.raises(ConfigError, match="unknown basis 'wavelet'; valid bases: bspline, rbf, chebyshev, fourier"):
        KANLinear(2, 2, basis="wavelet")
    with pytest.raises(ConfigError, match="basis='bspline'.*unknown parameter.*degree"):
        KANLinear(2, 2, degree=3)
    with pytest.raises(ConfigError, match="order must be a positive integer"):
        KANLinear(2, 2, order=0)
    with pytest.raises(ConfigError, match="grid_range must be finite with lower < upper"):
        KANLinear(2, 2, grid_range=(1, -1))
    with pytest.raises(ConfigError, match=r"expected input \(\.\.\., 2\)"):
        KANLinear(2, 2)(torch.zeros(4, 3))
    with pytest.raises(ConfigError, match="basis 'chebyshev' has no grid"):
        KANLinear(2, 2, basis="chebyshev").update_grid(torch.zeros(4, 2))
    with pytest.raises(ConfigError, match="temperature must be positive"):
        SelectableKANLinear(2, 2, temperature=0)


@pytest.mark.parametrize("basis", BASES)
def test_compiled_kernels_match_eager(basis):
    """torch.compile'd basis kernels give the eager values and gradients, and stay exact far outside."""
    torch.manual_seed(0)
    compiled = KANLinear(16, 8, basis=basis, compile=True)
    eager = KANLinear(16, 8, basis=basis, compile=False)
    eager.load_state_dict(compiled.state_dict())
    x = 1.5 * torch.randn(300, 16)
    x[:5] = torch.tensor([1e6, -1e6, 3.0e7, float("inf"), -float("inf")]).unsqueeze(-1)  # far outside
    grads = []
    for layer in (compiled, eager):
        xi = x.clone().requires_grad_(True)
        out = layer(xi)
        weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        grads.append((out, *torch.autograd.grad((out.nan_to_num() * weights).sum(), (xi, *layer.parameters()))))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, equal_nan=True)
    if basis == "bspline":
        scale, shift = compiled.basis.affine(16, x.dtype, x.device)
        with torch.no_grad():
            features = compiled.basis.features(torch.addcmul(shift, x[:5], scale), compile_mode=True)
        assert torch.equal(features, torch.zeros_like(features))


def test_compile_option_is_checked():
    with pytest.raises(ConfigError, match="compile must be true, false or null"):
        KANLinear(2, 2, compile="yes")


@pytest.mark.parametrize("layer_class", [KANLinear, SelectableKANLinear])
def test_base_weight_only_with_a_base_branch_and_earlier_state_dicts_load(layer_class):
    """Without a base branch there is no (dead) base weight; the seed still gives the same other parameters."""
    torch.manual_seed(0)
    with_branch = layer_class(3, 2)
    torch.manual_seed(0)
    without = layer_class(3, 2, base_activation=None)
    assert "base_weight" not in dict(without.named_parameters())
    assert sum(p.numel() for p in with_branch.parameters()) - sum(p.numel() for p in without.parameters()) == 3 * 2
    others = {key: value for key, value in with_branch.state_dict().items() if key != "base_weight"}
    assert others.keys() == without.state_dict().keys()
    assert all(torch.equal(value, without.state_dict()[key]) for key, value in others.items())
    # a state dict of an earlier version, which kept a base weight without a branch, loads strictly
    fresh = layer_class(3, 2, base_activation=None)
    fresh.load_state_dict(with_branch.state_dict())
    x = torch.randn(5, 3)
    torch.testing.assert_close(fresh(x), without(x), rtol=0, atol=0)


def test_selectable_channel_mix_applies_the_layer_at_every_point():
    torch.manual_seed(0)
    mix = SelectableKANChannelMix(3, 2, spaces=("rbf", "chebyshev"))
    assert all(space.base_weight is None for space in mix.kan.layers)  # one shared base branch
    x = torch.randn(2, 3, 4, 5)
    pointwise = mix.kan(x.movedim(1, -1).reshape(-1, 3)).reshape(2, 4, 5, 2).movedim(-1, 1)
    torch.testing.assert_close(mix(x), pointwise, rtol=0, atol=0)
