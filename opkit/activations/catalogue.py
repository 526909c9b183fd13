"""The registered activations: torch built-ins wherever they exist, ours otherwise."""

from __future__ import annotations

from torch import nn

from opkit.activations.bases import BASES
from opkit.activations.functional import ReLU2, Sine
from opkit.activations.kan_activation import kan_activation_info
from opkit.activations.learnable import SAU, PolyReLU, Rational, Snake, SwishBeta, XGELU, XSiLU
from opkit.activations.partial import partial_activation_info
from opkit.activations.registry import ActivationFamily, ActivationInfo, register_activation, register_family


def _prelu(num_channels: int | None = None, init: float = 0.25) -> nn.PReLU:
    """PReLU with one slope per channel (axis 1) when ``num_channels`` is given."""
    return nn.PReLU(num_parameters=num_channels or 1, init=init)


def _gelu_tanh() -> nn.GELU:
    return nn.GELU(approximate="tanh")


def _entry(name, factory, *, learnable=False, periodic=False, smooth, monotonic, bounded=False,
           formula, source, aliases=(), init="default", defaults=None):
    register_activation(ActivationInfo(
        name=name, factory=factory, learnable=learnable, periodic=periodic, smooth=smooth,
        monotonic=monotonic, bounded=bounded, formula=formula, source=source,
        aliases=tuple(aliases), init=init, defaults=dict(defaults or {}),
    ))


# Controls and the ReLU family.
_entry("identity", nn.Identity, smooth=True, monotonic=True, aliases=("linear", "none"),
       formula="f(x) = x", source="control: the network is linear")
_entry("relu", nn.ReLU, smooth=False, monotonic=True,
       formula="f(x) = max(x, 0)", source="Nair & Hinton 2010, ICML")
_entry("leaky_relu", nn.LeakyReLU, smooth=False, monotonic=True, aliases=("lrelu",),
       formula="f(x) = max(x, 0) + negative_slope * min(x, 0), negative_slope = 0.01",
       source="Maas, Hannun & Ng 2013, ICML workshop")
_entry("prelu", _prelu, learnable=True, smooth=False, monotonic=True,
       formula="f(x) = max(x, 0) + a * min(x, 0), learnable a (init 0.25)",
       source="He et al. 2015, 'Delving Deep into Rectifiers', ICCV")
_entry("relu2", ReLU2, smooth=False, monotonic=True, aliases=("squared_relu", "relu_squared"),
       formula="f(x) = max(x, 0)^2", source="So et al. 2021, 'Primer', NeurIPS")
_entry("elu", nn.ELU, smooth=False, monotonic=True,
       formula="f(x) = x if x > 0 else alpha (exp(x) - 1), alpha = 1",
       source="Clevert, Unterthiner & Hochreiter 2016, ICLR")
_entry("selu", nn.SELU, smooth=False, monotonic=True, init="lecun_normal",
       formula="f(x) = lambda (x if x > 0 else alpha (exp(x) - 1)), lambda ~ 1.0507, alpha ~ 1.6733",
       source="Klambauer et al. 2017, 'Self-Normalizing Neural Networks', NeurIPS")
_entry("celu", nn.CELU, smooth=False, monotonic=True,
       formula="f(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1)), alpha = 1",
       source="Barron 2017, 'Continuously Differentiable Exponential Linear Units'")
_entry("hardtanh", nn.Hardtanh, smooth=False, monotonic=True, bounded=True,
       formula="f(x) = clamp(x, -1, 1)", source="Collobert 2004 (thesis)")

# Smooth gated and classical activations.
_entry("gelu", nn.GELU, smooth=True, monotonic=False,
       formula="f(x) = x Phi(x), Phi the standard normal CDF",
       source="Hendrycks & Gimpel 2016, 'Gaussian Error Linear Units'")
_entry("gelu_tanh", _gelu_tanh, smooth=True, monotonic=False, aliases=("gelu_approx",),
       formula="f(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
       source="Hendrycks & Gimpel 2016 (tanh approximation)")
_entry("silu", nn.SiLU, smooth=True, monotonic=False, aliases=("swish",),
       formula="f(x) = x sigmoid(x)",
       source="Elfwing et al. 2018; Ramachandran et al. 2017 'Searching for Activation Functions'")
_entry("swish_beta", SwishBeta, learnable=True, smooth=True, monotonic=False,
       formula="f(x) = x sigmoid(beta x), learnable beta (init 1)",
       source="Ramachandran, Zoph & Le 2017, 'Searching for Activation Functions'")
_entry("mish", nn.Mish, smooth=True, monotonic=False,
       formula="f(x) = x tanh(softplus(x))", source="Misra 2019, 'Mish', BMVC 2020")
_entry("softplus", nn.Softplus, smooth=True, monotonic=True,
       formula="f(x) = log(1 + exp(beta x)) / beta, beta = 1", source="Dugas et al. 2001, NeurIPS")
_entry("tanh", nn.Tanh, smooth=True, monotonic=True, bounded=True,
       formula="f(x) = tanh(x)", source="classical (LeCun et al. 1998, 'Efficient BackProp')")
_entry("sigmoid", nn.Sigmoid, smooth=True, monotonic=True, bounded=True,
       formula="f(x) = 1 / (1 + exp(-x))", source="classical (Rumelhart, Hinton & Williams 1986)")
_entry("xgelu", XGELU, learnable=True, smooth=True, monotonic=False,
       formula="f(x) = x ((1 + 2 alpha) Phi(x) - alpha), learnable alpha (init 0)",
       source="Huang 2024, 'Expanded Gating Ranges Improve Activation Functions'")
_entry("xsilu", XSiLU, learnable=True, smooth=True, monotonic=False,
       formula="f(x) = x ((1 + 2 alpha) sigmoid(x) - alpha), learnable alpha (init 0)",
       source="Huang 2024, 'Expanded Gating Ranges Improve Activation Functions'")

# Periodic.
_entry("sine", Sine, periodic=True, smooth=True, monotonic=False, bounded=True, aliases=("siren", "sin"),
       init="siren", formula="f(x) = sin(w0 x), w0 = 30",
       source="Sitzmann et al. 2020, 'Implicit Neural Representations with Periodic Activation Functions' (SIREN)")
_entry("snake", Snake, learnable=True, periodic=True, smooth=True, monotonic=True,
       formula="f(x) = x + sin^2(a x) / a, learnable a (init 1)",
       source="Liu Ziyin, Hartwig & Ueda 2020, 'Neural Networks Fail to Learn Periodic Functions and How to Fix It'")

# Learnable shapes.
_entry("rational", Rational, learnable=True, smooth=False, monotonic=False, aliases=("pau", "pade"),
       formula="f(x) = P5(x) / (1 + |b1 x + b2 x^2 + b3 x^3 + b4 x^4|), init fit to leaky ReLU",
       source="Molina, Schramowski & Kersting 2020, 'Padé Activation Units', ICLR")
_entry("polyrelu", PolyReLU, learnable=True, smooth=False, monotonic=True,
       formula="f(x) = sum_{i=0}^{3} a_i ReLU(x)^i, learnable a (init a_0 = 0, a_i = 1/3)",
       source="Zhuo et al. 2024, 'Polynomial Composition Activations' (PolyCom)")
_entry("sau", SAU, learnable=True, smooth=True, monotonic=True,
       formula="f(x) = (leaky_relu_alpha * N(0, sigma^2))(x), learnable alpha (0.01) and sigma (0.5)",
       source="Biswas et al. 2021, 'SAU: Smooth activation function using convolution with approximate identities'")

# Families: the parameters are part of the name.
register_family(ActivationFamily("kan_", f"kan_<basis> (basis: {', '.join(BASES)})", kan_activation_info))
register_family(ActivationFamily("partial_", "partial_<fraction>_<name> (fraction in [0, 1])",
                                 partial_activation_info))
