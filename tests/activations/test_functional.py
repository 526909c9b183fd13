"""opkit/activations/functional.py: the fixed activations torch does not ship, against their formulas."""

import math

import pytest
import torch

from opkit.activations.functional import ReLU2, Sine
from opkit.errors import ConfigError


def test_relu2_is_the_squared_positive_part():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64)
    torch.testing.assert_close(ReLU2()(x), torch.tensor([0.0, 0.0, 0.0, 0.25, 9.0], dtype=torch.float64))


def test_sine_hand_values_and_shape():
    sine = Sine(w0=2.0)
    x = torch.tensor([0.0, math.pi / 4, math.pi / 2], dtype=torch.float64)
    torch.testing.assert_close(sine(x), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12, rtol=0)
    assert sine(torch.zeros(2, 3, 4)).shape == (2, 3, 4) and "w0=2.0" in repr(sine)
    with pytest.raises(ConfigError, match="w0 must be positive, got -1"):
        Sine(w0=-1)
