"""PartialActivation against the activation applied by hand to the channel slices."""

import pytest
import torch

from opkit.ablation.partial import PartialActivation, partial_activation_class
from opkit.activations import get_activation
from opkit.errors import ConfigError


@pytest.mark.parametrize("fraction, k", [(0.0, 0), (0.25, 2), (0.5, 4), (1.0, 8)])
def test_fraction_of_channels(fraction, k):
    x = torch.randn(3, 8, 5, 4)
    y = PartialActivation("tanh", fraction)(x)
    torch.testing.assert_close(y[:, :k], torch.tanh(x[:, :k]))
    torch.testing.assert_close(y[:, k:], x[:, k:])


def test_learnable_activation_gets_active_channel_count():
    cls = partial_activation_class("snake", 0.5)
    module = get_activation(cls, num_channels=6)  # how a model builds it
    assert isinstance(module, PartialActivation) and module.active_channels == 3
    reference = get_activation("snake", num_channels=3)
    reference.load_state_dict(module.activation.state_dict())
    x = torch.randn(2, 6, 7)
    y = module(x)
    torch.testing.assert_close(y[:, :3], reference(x[:, :3]))
    torch.testing.assert_close(y[:, 3:], x[:, 3:])
    assert sum(p.numel() for p in module.parameters()) == sum(p.numel() for p in reference.parameters())


def test_bad_fraction_and_channels():
    with pytest.raises(ConfigError, match=r"fraction must be in \[0, 1\]"):
        PartialActivation("gelu", 1.5)
    with pytest.raises(ConfigError, match="built for 4 channels"):
        PartialActivation("gelu", 0.5, num_channels=4)(torch.randn(1, 6, 3))


def test_kan_activation_starts_as_silu_and_learns_per_channel():
    from opkit.ablation.kan_activation import KANActivation, register

    assert register("kan_bspline") and not register("gelu")
    module = get_activation("kan_bspline", num_channels=3)
    assert isinstance(module, KANActivation)
    x = torch.randn(2, 3, 5, 4)
    torch.testing.assert_close(module(x), torch.nn.functional.silu(x))
    # with coefficients set, channel c adds sum_j a_cj B_j(x) computed from the basis directly
    with torch.no_grad():
        module.coefficients.copy_(torch.randn_like(module.coefficients))
    features = module.basis(x.movedim(1, -1).reshape(-1, 3))  # (N, 3, n)
    expected = torch.nn.functional.silu(x) + (features * module.coefficients).sum(-1).reshape(2, 5, 4, 3).movedim(-1, 1)
    torch.testing.assert_close(module(x), expected)
    assert sum(p.numel() for p in module.parameters()) == 3 * (module.basis.n_basis + 1)
    with pytest.raises(ConfigError, match="unknown basis 'spline'"):
        KANActivation(3, basis="spline")


@pytest.mark.parametrize("basis", ["bspline", "rbf", "chebyshev", "fourier"])
@pytest.mark.parametrize("shared", [False, True])
def test_kan_activation_gradients(basis, shared):
    """The fused basis activation's backward (kernel-contracted derivative) against finite differences."""
    from opkit.ablation.kan_activation import KANActivation

    torch.manual_seed(0)
    module = KANActivation(None if shared else 3, basis=basis).double()
    with torch.no_grad():
        module.coefficients.copy_(torch.randn_like(module.coefficients))
    x = (2 * torch.randn(2, 3, 4, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, *p: module(x), (x, *module.parameters()))
