"""The activation registry: every opkit model takes its activation from here.

    from opkit.activations import get_activation, list_activations
    act = get_activation("gelu")                       # a registered name (case-insensitive)
    act = get_activation("snake", num_channels=32)      # learnable, one parameter per channel
    act = get_activation(MyActivation, scale=2.0)       # your own nn.Module class (or instance)

``list_activations()`` gives each entry's metadata for the ablation report;
``init_for(name)`` the weight initialisation it is designed for (SIREN for
``sine``, LeCun normal for ``selu``; None otherwise). Two families carry
parameters in the name: ``kan_<basis>`` (``KANActivation``, a per-channel KAN
basis) and ``partial_<fraction>_<name>`` (``PartialActivation``).
"""

from opkit.activations.registry import (
    ActivationFamily,
    ActivationInfo,
    activation_info,
    activation_names,
    get_activation,
    list_activations,
    register_activation,
    register_family,
)
from opkit.activations.init import init_for, lecun_normal_, siren_init_
from opkit.activations.functional import ReLU2, Sine
from opkit.activations.learnable import SAU, PolyReLU, Rational, Snake, SwishBeta, XGELU, XSiLU, channel_view
from opkit.activations.kan_activation import KANActivation
from opkit.activations.partial import PartialActivation, partial_activation_class, partial_activation_name
from opkit.activations import catalogue as _catalogue  # noqa: F401  (fills the registry)

__all__ = [
    "ActivationFamily", "ActivationInfo", "activation_info", "activation_names", "get_activation",
    "list_activations", "register_activation", "register_family", "init_for", "lecun_normal_", "siren_init_",
    "ReLU2", "Sine", "SAU", "PolyReLU", "Rational", "Snake", "SwishBeta", "XGELU", "XSiLU", "channel_view",
    "KANActivation", "PartialActivation", "partial_activation_class", "partial_activation_name",
]
