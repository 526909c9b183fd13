"""Learnable activations: formulas at non-default parameters, gradients, per-channel broadcasting."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import integrate
from scipy.special import erf
from torch.func import functional_call

from opkit.activations import get_activation, list_activations
from opkit.activations.learnable import rational_fit
from opkit.errors import ConfigError

LEARNABLE = [info.name for info in list_activations() if info.learnable]
CUSTOM = ["swish_beta", "snake", "xgelu", "xsilu", "rational", "polyrelu", "sau", "relu2", "sine"]


# Parameters are created in float64, so formulas can be checked to round-off.
pytestmark = pytest.mark.usefixtures("float64_default")


def _x(shape=(3, 4, 7), seed=0, scale=2.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator, dtype=torch.float64)


def _perturb(module, seed=1):
    """Move every parameter away from its initial value (per channel) so tests see real parameters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(1 + 0.3 * torch.rand(parameter.shape, generator=generator, dtype=parameter.dtype))
            parameter.add_(0.05 * torch.rand(parameter.shape, generator=generator, dtype=parameter.dtype))
    return module


@pytest.mark.parametrize("name", CUSTOM)
def test_gradcheck_input_and_parameters(name):
    module = _perturb(get_activation(name, num_channels=4).double())
    names = [n for n, _ in module.named_parameters()]
    parameters = tuple(p.detach().clone().requires_grad_(True) for _, p in module.named_parameters())
    x = _x(scale=1.5).requires_grad_(True)

    def evaluate(x, *values):
        return functional_call(module, dict(zip(names, values)), (x,))

    assert torch.autograd.gradcheck(evaluate, (x, *parameters), eps=1e-6, atol=1e-5)


def test_torch_builtins_match_at_neutral_parameters():
    x = _x()
    torch.testing.assert_close(get_activation("xgelu").double()(x), F.gelu(x))
    torch.testing.assert_close(get_activation("xsilu").double()(x), F.silu(x))
    torch.testing.assert_close(get_activation("swish_beta").double()(x), F.silu(x))
    torch.testing.assert_close(get_activation("prelu", init=0.1).double()(x), F.leaky_relu(x, 0.1))


def test_expanded_gating_formula_with_alpha():
    x = _x().numpy()
    alpha = 0.7
    xgelu = get_activation("xgelu", alpha=alpha).double()
    expected = x * ((1 + 2 * alpha) * 0.5 * (1 + erf(x / np.sqrt(2))) - alpha)
    np.testing.assert_allclose(xgelu(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-12)
    xsilu = get_activation("xsilu", alpha=alpha).double()
    expected = x * ((1 + 2 * alpha) / (1 + np.exp(-x)) - alpha)
    np.testing.assert_allclose(xsilu(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-12)


def test_snake_and_swish_beta_with_parameters():
    x = _x().numpy()
    snake = get_activation("snake", a=0.5).double()
    np.testing.assert_allclose(snake(torch.from_numpy(x)).detach().numpy(), x + np.sin(0.5 * x) ** 2 / 0.5, rtol=1e-12)
    swish = get_activation("swish_beta", beta=2.0).double()
    np.testing.assert_allclose(swish(torch.from_numpy(x)).detach().numpy(), x / (1 + np.exp(-2 * x)), rtol=1e-12)


def test_sau_equals_leaky_relu_convolved_with_gaussian():
    alpha, sigma = 0.1, 0.7
    sau = get_activation("sau", alpha=alpha, sigma=sigma).double()
    points = np.array([-3.0, -1.2, -0.3, 0.0, 0.4, 1.5, 2.8])

    def convolved(x):
        integrand = lambda t: max(x - t, alpha * (x - t)) * np.exp(-t * t / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))
        return integrate.quad(integrand, -12 * sigma, 12 * sigma, points=[x], epsabs=1e-13, epsrel=1e-13)[0]

    expected = np.array([convolved(x) for x in points])
    actual = sau(torch.from_numpy(points)).detach().numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-9)


def test_rational_formula_and_safe_denominator():
    rational = _perturb(get_activation("rational", num_channels=1).double())
    a = rational.numerator.detach().numpy()[:, 0]
    b = rational.denominator.detach().numpy()[:, 0]
    x = np.linspace(-6, 6, 301)
    expected = np.polyval(a[::-1], x) / (1 + np.abs(sum(b[j] * x ** (j + 1) for j in range(4))))
    np.testing.assert_allclose(rational(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize("target, reference, tolerance", [
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.01), 0.05),
    ("gelu", F.gelu, 0.003),
])
def test_rational_initialisation_approximates_target(target, reference, tolerance):
    rational = get_activation("rational", approximate=target).double()
    x = torch.linspace(-3, 3, 1201, dtype=torch.float64)
    error = (rational(x) - reference(x)).abs().max().item()
    assert error < tolerance
    numerator, denominator = rational_fit(target)
    assert len(numerator) == 6 and len(denominator) == 4


def test_polyrelu_with_custom_coefficients():
    polyrelu = get_activation("polyrelu", order=2).double()
    with torch.no_grad():
        polyrelu.coefficients.copy_(torch.tensor([[0.5], [-1.0], [2.0]], dtype=torch.float64))
    x = _x().numpy()
    r = np.maximum(x, 0)
    np.testing.assert_allclose(polyrelu(torch.from_numpy(x)).detach().numpy(), 0.5 - r + 2 * r**2, rtol=1e-12)


@pytest.mark.parametrize("name", LEARNABLE)
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 4)],
                         ids=["features", "1d", "2d", "3d"])
def test_per_channel_parameters_broadcast_on_axis_one(name, shape):
    """Channel c of the per-channel module equals a shared module holding channel c's parameters."""
    channels = shape[1]
    module = _perturb(get_activation(name, num_channels=channels).double())
    x = _x(shape)
    output = module(x)
    assert output.shape == x.shape
    for channel in range(channels):
        shared = get_activation(name).double()
        with torch.no_grad():
            for (_, target), (_, source) in zip(shared.named_parameters(), module.named_parameters()):
                target.copy_(source[..., channel : channel + 1])
        torch.testing.assert_close(output[:, channel], shared(x[:, channel : channel + 1])[:, 0])


def test_wrong_channel_count_is_reported():
    with pytest.raises(ConfigError, match="3 channels on axis 1.*num_channels=4"):
        get_activation("snake", num_channels=4)(torch.zeros(2, 3, 5))
