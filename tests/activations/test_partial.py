"""PartialActivation against the activation applied by hand to the channel slices."""

import pytest
import torch

from opkit.activations.partial import PartialActivation, partial_activation_class
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
