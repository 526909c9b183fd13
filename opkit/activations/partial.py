"""Partial linearisation: the activation on a fraction of the channels, identity on the rest.

After "The Nonlinear Advantage" style experiments: sweeping the fraction 0, 0.25, 0.5, 1
shows how much nonlinearity a task needs. With ``k = round(fraction · C)``::

    y[:, :k] = act(x[:, :k])       y[:, k:] = x[:, k:]         x: (batch, C, *spatial)

Fraction 1 is the plain activation, fraction 0 makes the layer linear. Models take the
activation as a name, an ``nn.Module`` class or an instance (see ``get_activation``);
:func:`partial_activation_class` gives a class that models build with
``num_channels=C`` like any learnable activation, so per-channel parameters of a
learnable activation cover exactly its ``k`` channels.

Registry names: ``partial_<fraction>_<name>``, e.g. ``partial_0.25_gelu`` (the family is
resolved by the registry from the name, see :func:`partial_activation_info`), so a config
or a checkpoint names a partial activation like any other.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from opkit.activations.registry import ActivationInfo, activation_info, get_activation
from opkit.errors import ConfigError


class PartialActivation(nn.Module):
    """Apply ``activation`` to the first ``round(fraction · C)`` channels (axis 1), identity elsewhere.

    Args:
        activation: a registered name, an ``nn.Module`` class or instance.
        fraction: share of channels that get the activation, in [0, 1].
        num_channels: channel count C, when known at construction (needed for learnable
            activations, which get ``num_channels=k``); otherwise k is computed per call.
    """

    def __init__(self, activation="gelu", fraction: float = 1.0, num_channels: int | None = None, **kwargs):
        super().__init__()
        if not isinstance(fraction, (int, float)) or not 0.0 <= float(fraction) <= 1.0:
            raise ConfigError(f"PartialActivation: fraction must be in [0, 1], got {fraction!r}")
        if num_channels is not None and (not isinstance(num_channels, int) or num_channels < 1):
            raise ConfigError(f"PartialActivation: num_channels must be a positive integer, got {num_channels!r}")
        self.fraction = float(fraction)
        self.num_channels = num_channels
        self.active_channels = None if num_channels is None else round(self.fraction * num_channels)
        if self.active_channels is not None:
            kwargs["num_channels"] = max(self.active_channels, 1)
        self.activation = get_activation(activation, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, C, *spatial) -> same shape."""
        channels = x.shape[1]
        if self.num_channels is not None and channels != self.num_channels:
            raise ConfigError(f"PartialActivation: built for {self.num_channels} channels, got input with {channels}")
        k = self.active_channels if self.active_channels is not None else round(self.fraction * channels)
        if k == channels:
            return self.activation(x)
        if k == 0:
            return x
        return torch.cat([self.activation(x[:, :k]), x[:, k:]], dim=1)

    def extra_repr(self) -> str:
        return f"fraction={self.fraction}, num_channels={self.num_channels}"


def partial_activation_class(activation, fraction: float) -> type[PartialActivation]:
    """A ``PartialActivation`` subclass with ``activation`` and ``fraction`` fixed.

    ``cls(num_channels=C)`` builds it, so the class can stand wherever a model accepts
    an activation class.
    """
    if not 0.0 <= float(fraction) <= 1.0:
        raise ConfigError(f"activation_fraction must be in [0, 1], got {fraction!r}")
    label = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")

    def __init__(self, num_channels: int | None = None, **kwargs):
        PartialActivation.__init__(self, activation, fraction, num_channels=num_channels, **kwargs)

    return type(f"Partial_{label}_{fraction:g}", (PartialActivation,), {"__init__": __init__})


def partial_activation_name(activation: str, fraction: float) -> str:
    """The registry name of ``activation`` on ``fraction`` of the channels, e.g. ``partial_0.25_gelu``.

    A plain string, so it passes through training configs and checkpoint hyper-parameters
    like any registered activation name.
    """
    if not isinstance(activation, str):
        raise ConfigError(f"activation_fraction needs a registered activation name, got {activation!r}")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ConfigError(f"activation_fraction must be in [0, 1], got {fraction!r}")
    return f"partial_{float(fraction):g}_{activation_info(activation).name}"


def partial_activation_info(parameters: str) -> ActivationInfo:
    """The registry entry ``partial_<parameters>``, ``parameters`` being ``<fraction>_<name>``.

    Metadata follow the base activation's (bounded only at fraction 1: the identity
    channels are unbounded). ConfigError for a fraction outside [0, 1] or an unknown name.
    """
    fraction_text, _, base_name = parameters.partition("_")
    try:
        fraction = float(fraction_text)
    except ValueError:
        fraction = math.nan
    if not base_name or not 0.0 <= fraction <= 1.0:  # NaN fails the comparison too
        raise ConfigError(f"activation 'partial_{parameters}': expected partial_<fraction>_<name> "
                          "with a fraction in [0, 1], e.g. partial_0.5_gelu")
    base = activation_info(base_name)
    return ActivationInfo(
        name=f"partial_{fraction:g}_{base.name}", factory=partial_activation_class(base.name, fraction),
        learnable=base.learnable, periodic=base.periodic, smooth=base.smooth, monotonic=base.monotonic,
        bounded=base.bounded and fraction == 1.0,
        formula=f"{base.formula} on the first {fraction:g} of the channels, identity on the rest",
        source=base.source,
    )
