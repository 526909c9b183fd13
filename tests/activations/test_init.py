"""opkit/activations/init.py: the SIREN and LeCun-normal initialisations, and which activation asks for which."""

import math

import pytest
import torch
from torch import nn

from opkit.activations import init_for, lecun_normal_, siren_init_
from opkit.errors import ConfigError


def test_siren_init_bounds():
    torch.manual_seed(0)
    first = siren_init_(nn.Linear(50, 400), w0=30.0, is_first=True)
    assert first.weight.abs().max() <= 1 / 50
    assert first.weight.abs().max() > 0.95 / 50
    hidden = siren_init_(nn.Conv2d(8, 400, 3), w0=30.0)
    bound = math.sqrt(6 / (8 * 9)) / 30
    assert hidden.weight.abs().max() <= bound and hidden.weight.abs().max() > 0.95 * bound
    assert init_for("sine") is siren_init_


def test_lecun_normal_variance():
    torch.manual_seed(0)
    layer = lecun_normal_(nn.Linear(100, 2000))
    assert abs(layer.weight.var().item() * 100 - 1.0) < 0.02
    assert layer.bias.abs().max() == 0
    assert init_for("selu") is lecun_normal_
    assert init_for("relu") is None


def test_bad_layers_and_w0_are_one_line_errors():
    with pytest.raises(ConfigError, match="w0 must be positive"):
        siren_init_(nn.Linear(2, 2), w0=0)
    with pytest.raises(ConfigError, match=r"expected a weight with >= 2 dims, got shape \(4,\)"):
        lecun_normal_(nn.LayerNorm(4))
