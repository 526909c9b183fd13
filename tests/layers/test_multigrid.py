"""MgConv: level sizes, a hand-written V-cycle, linearity, boundary conditions, odd grids."""

import pytest
import torch
import torch.nn.functional as F

from opkit.layers.multigrid import MgConv, level_sizes


def test_level_sizes_halve_rounding_up():
    assert level_sizes((100, 63), 5) == [(100, 63), (50, 32), (25, 16), (13, 8), (7, 4)]


def test_single_level_single_step_is_one_convolution():
    torch.manual_seed(0)
    layer = MgConv(2, 3, [[1, 0]], spatial_dims=2).double()
    f = torch.randn(2, 2, 9, 7, dtype=torch.float64)
    expected = F.conv2d(f, layer.pre[0][0].S.weight, padding=1)
    torch.testing.assert_close(layer(f), expected, rtol=1e-12, atol=1e-12)


def test_two_level_cycle_matches_hand_written_formula():
    """u0 = S0 f;  u0 <- u0 + S0'(f - A0' u0);  f1 = R f;  u1 = Pi u0;  u1 <- u1 + S1 (f1 - A1 u1);
    u = u0 + P u1 (cropped);  u <- u + S0''(f - A0'' u)."""
    torch.manual_seed(0)
    layer = MgConv(2, 3, [[2, 1], [1, 0]], spatial_dims=2).double()
    f = torch.randn(2, 2, 11, 8, dtype=torch.float64)
    conv = lambda x, m: F.conv2d(x, m.weight, padding=1)  # noqa: E731
    step = lambda u, f, s: u + conv(f - conv(u, s.A), s.S)  # noqa: E731
    u0 = conv(f, layer.pre[0][0].S)
    u0 = step(u0, f, layer.pre[0][1])
    f1 = F.conv2d(f, layer.restrict_f[0].weight, stride=2, padding=1)
    u1 = F.conv2d(u0, layer.restrict_u[0].weight, stride=2, padding=1)
    u1 = step(u1, f1, layer.pre[1][0])
    u = u0 + F.conv_transpose2d(u1, layer.prolong[0].P.weight, stride=2, padding=1)[..., :11, :8]
    u = step(u, f, layer.post[0][0])
    torch.testing.assert_close(layer(f), u, rtol=1e-12, atol=1e-12)


def test_residual_restriction_restricts_f_minus_a_u():
    torch.manual_seed(0)
    layer = MgConv(1, 2, [[1, 0], [1, 0]], spatial_dims=1, residual_restriction=True).double()
    f = torch.randn(1, 1, 10, dtype=torch.float64)
    conv = lambda x, m: F.conv1d(x, m.weight, padding=1)  # noqa: E731
    u0 = conv(f, layer.pre[0][0].S)
    f1 = F.conv1d(f - conv(u0, layer.residual[0]), layer.restrict_f[0].weight, stride=2, padding=1)
    u1 = F.conv1d(u0, layer.restrict_u[0].weight, stride=2, padding=1)
    u1 = u1 + conv(f1 - conv(u1, layer.pre[1][0].A), layer.pre[1][0].S)
    expected = u0 + F.conv_transpose1d(u1, layer.prolong[0].P.weight, stride=2, padding=1)
    torch.testing.assert_close(layer(f), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spatial_dims", [1, 2])
def test_cycle_is_linear_without_bias(spatial_dims):
    torch.manual_seed(0)
    layer = MgConv(2, 3, [[1, 1]] * 4, spatial_dims=spatial_dims, padding_mode="reflect").double()
    shape = (2, 2) + (21, 19)[:spatial_dims]
    f, g = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(layer(2 * f - 3 * g), 2 * layer(f) - 3 * layer(g), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spatial_dims", [1, 2])
def test_circular_padding_gives_periodic_shift_equivariance(spatial_dims):
    """With periodic padding everywhere (including the prolongation) the cycle commutes
    with circular shifts by multiples of 2^(levels-1); zero padding does not."""
    torch.manual_seed(0)
    shape = (1, 2) + (32, 16)[:spatial_dims]
    dims = tuple(range(2, 2 + spatial_dims))
    shift = lambda t: torch.roll(t, shifts=(8, 4)[:spatial_dims], dims=dims)  # noqa: E731
    f = torch.randn(shape, dtype=torch.float64)
    periodic = MgConv(2, 3, [[1, 1]] * 3, spatial_dims=spatial_dims, padding_mode="circular").double()
    torch.testing.assert_close(periodic(shift(f)), shift(periodic(f)), rtol=1e-10, atol=1e-10)
    dirichlet = MgConv(2, 3, [[1, 1]] * 3, spatial_dims=spatial_dims, padding_mode="zeros").double()
    assert (dirichlet(shift(f)) - shift(dirichlet(f))).abs().max() > 1e-3


@pytest.mark.parametrize("n", [1, 2, 3, 63, 64, 100])
def test_any_grid_size(n):
    layer = MgConv(1, 2, [[1, 0]] * 5, spatial_dims=2, padding_mode="circular")
    assert layer(torch.randn(1, 1, n, n + 1)).shape == (1, 2, n, n + 1)


@pytest.mark.parametrize("in_channels, size, padding", [(8, 16, 0), (1, 13, 1), (8, 9, 1)])
def test_strided_convolution_gives_the_gradients_of_f_conv2d_bit_for_bit(in_channels, size, padding):
    """The restriction's backward runs on channels-last copies (faster on oneDNN): same numbers."""
    from opkit.layers.multigrid import StridedConv2dFunction

    torch.manual_seed(0)
    x = torch.randn(3, in_channels, size, size + 2)
    weight = torch.randn(6, in_channels, 3, 3)
    results = []
    for convolution in (lambda x, w: F.conv2d(x, w, stride=2, padding=padding),
                        lambda x, w: StridedConv2dFunction.apply(x, w, (2, 2), (padding, padding))):
        x_leaf, weight_leaf = x.clone().requires_grad_(), weight.clone().requires_grad_()
        out = convolution(x_leaf, weight_leaf)
        out.backward(torch.linspace(-1, 1, out.numel()).view(out.shape))
        results.append((out, x_leaf.grad, weight_leaf.grad))
    for reference, actual in zip(*results):
        assert actual.is_contiguous() and torch.equal(actual, reference)


def test_periodic_pad_gradient_folds_the_padding_back():
    from opkit.layers.multigrid import periodic_pad

    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 5, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 3, 9, 7, dtype=torch.float64)
    (grad,) = torch.autograd.grad(periodic_pad(x, 1), x, g)
    (expected,) = torch.autograd.grad(F.pad(x, [1, 1, 1, 1], mode="circular"), x, g)
    assert torch.equal(periodic_pad(x, 1), F.pad(x, [1, 1, 1, 1], mode="circular"))
    torch.testing.assert_close(grad, expected, rtol=1e-14, atol=1e-14)
