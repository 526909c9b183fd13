"""KANActivation: starts as SiLU, adds its basis per channel, and its fused backward against finite differences."""

import pytest
import torch

from opkit.activations import get_activation
from opkit.activations.bases import BASES
from opkit.activations.kan_activation import KANActivation
from opkit.errors import ConfigError


def test_kan_activation_starts_as_silu_and_learns_per_channel():
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


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("shared", [False, True])
def test_kan_activation_gradients(basis, shared):
    """The fused basis activation's backward (kernel-contracted derivative) against finite differences."""
    torch.manual_seed(0)
    module = KANActivation(None if shared else 3, basis=basis).double()
    with torch.no_grad():
        module.coefficients.copy_(torch.randn_like(module.coefficients))
    x = (2 * torch.randn(2, 3, 4, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, *p: module(x), (x, *module.parameters()))
