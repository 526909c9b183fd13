"""The activation registry: one table from names to activation modules, with metadata.

Configs name an activation with one word (``activation: gelu``); power users pass
their own ``nn.Module`` class or instance instead. Every entry carries the
metadata the ablation report shows (learnable, periodic, smooth, monotonic,
bounded, a one-line formula and its source) and the weight initialisation the
activation is designed for (``init``: ``"default"``, ``"siren"`` or
``"lecun_normal"``, see :func:`init_for`).

Metadata conventions:

* ``smooth``: infinitely differentiable everywhere (ELU/CELU are only C^1, ReLU^2 is C^1).
* ``monotonic``: non-decreasing at the default parameters.
* ``bounded``: bounded above and below.
* ``periodic``: the function is periodic or has a periodic component (sine, snake).

Families: a name can also carry parameters, ``kan_<basis>`` (a per-channel KAN basis) and
``partial_<fraction>_<name>`` (``name`` on a fraction of the channels). The registry
resolves such a name itself, by its family's prefix (:func:`register_family`), so every
name a config or checkpoint holds is known at import; ``list_activations`` lists only the
plain entries.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from opkit.errors import ConfigError


@dataclass(frozen=True)
class ActivationInfo:
    """One registry entry: how to build the activation and what it is."""

    name: str
    factory: Callable[..., nn.Module] = field(repr=False)
    learnable: bool
    periodic: bool
    smooth: bool
    monotonic: bool
    bounded: bool
    formula: str
    source: str
    aliases: tuple[str, ...] = ()
    init: str = "default"
    defaults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActivationFamily:
    """Names ``<prefix><parameters>``: ``resolve(parameters)`` builds the entry (ConfigError if they are bad)."""

    prefix: str
    pattern: str  # for error messages, e.g. "kan_<basis> (basis: bspline, rbf, chebyshev, fourier)"
    resolve: Callable[[str], ActivationInfo] = field(repr=False)


_REGISTRY: dict[str, ActivationInfo] = {}
_ALIASES: dict[str, str] = {}
_FAMILIES: list[ActivationFamily] = []
_RESOLVED: dict[str, ActivationInfo] = {}  # family entries by name: one factory (class) per name


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_activation(info: ActivationInfo) -> ActivationInfo:
    """Add ``info`` to the registry under its name and aliases (all lower case)."""
    for key in (info.name, *info.aliases):
        key = _normalise(key)
        if key in _ALIASES:
            raise ValueError(f"activation name {key!r} is already registered")
        _ALIASES[key] = info.name
    _REGISTRY[info.name] = info
    return info


def register_family(family: ActivationFamily) -> ActivationFamily:
    """Resolve names starting with ``family.prefix`` (lower case) through ``family.resolve``."""
    if any(family.prefix.startswith(other.prefix) or other.prefix.startswith(family.prefix) for other in _FAMILIES):
        raise ValueError(f"activation family prefix {family.prefix!r} overlaps a registered one")
    _FAMILIES.append(family)
    return family


def activation_names(include_aliases: bool = False) -> list[str]:
    """Registered names in registration order (optionally with aliases)."""
    if include_aliases:
        return list(_ALIASES)
    return list(_REGISTRY)


def list_activations() -> list[ActivationInfo]:
    """Every registered activation with its metadata, in registration order."""
    return list(_REGISTRY.values())


def activation_info(name: str) -> ActivationInfo:
    """The registry entry for ``name`` (or an alias); ConfigError listing the names if unknown."""
    if not isinstance(name, str):
        raise ConfigError(f"activation: expected a name (str), got {type(name).__name__}")
    key = _normalise(name)
    if key in _ALIASES:
        return _REGISTRY[_ALIASES[key]]
    for family in _FAMILIES:
        if key.startswith(family.prefix):
            # the parameters as written: "-" may be part of a number (partial_1e-05_gelu)
            info = family.resolve(name.strip().lower()[len(family.prefix):])
            return _RESOLVED.setdefault(info.name, info)
    families = "".join(f", {family.pattern}" for family in _FAMILIES)
    raise ConfigError(
        f"activation: unknown name {name!r}; valid names: {', '.join(activation_names(True))}{families}"
    )


def _accepted_parameters(factory) -> tuple[set[str], bool]:
    """Keyword names ``factory`` accepts, and whether it takes ``**kwargs``."""
    if isinstance(factory, type) and factory.__init__ is nn.Module.__init__:
        return set(), False  # a module without its own constructor takes no parameters
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins have no signature
        return set(), True
    names = set()
    var_keyword = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.add(parameter.name)
    names.discard("self")
    return names, var_keyword


def _build(factory, label: str, kwargs: dict) -> nn.Module:
    accepted, var_keyword = _accepted_parameters(factory)
    kwargs = dict(kwargs)
    if "num_channels" in kwargs and "num_channels" not in accepted and not var_keyword:
        # Models always pass num_channels; fixed activations have no use for it.
        kwargs.pop("num_channels")
    if not var_keyword:
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            valid = ", ".join(sorted(accepted - {"inplace"})) or "none"
            raise ConfigError(
                f"activation {label!r}: unknown parameter(s) {', '.join(unknown)}; valid parameters: {valid}"
            )
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"activation {label!r}: {error}") from error


def get_activation(name_or_class_or_instance, **kwargs) -> nn.Module:
    """Build an activation module from a registered name, an ``nn.Module`` class or an instance.

    Args:
        name_or_class_or_instance: a registered name or alias (case-insensitive,
            ``-`` and ``_`` equivalent, e.g. ``"gelu"``, ``"swish"``, ``"gelu_tanh"``),
            an ``nn.Module`` subclass (instantiated with ``kwargs``), or an
            ``nn.Module`` instance (returned as is).
        **kwargs: parameters of the activation (e.g. ``w0`` for sine,
            ``negative_slope`` for leaky_relu). ``num_channels`` gives learnable
            activations one parameter set per channel (axis 1); activations that
            do not take it ignore it, so models can always pass it.

    Raises:
        ConfigError: unknown name (the message lists the valid names), unknown
            parameter, or a value that is not a name, class or module.
    """
    target = name_or_class_or_instance
    if isinstance(target, nn.Module):
        extra = sorted(set(kwargs) - {"num_channels"})
        if extra:
            raise ConfigError(
                f"activation: parameters {', '.join(extra)} were given with an already built "
                f"{type(target).__name__} instance; pass the class or a name instead"
            )
        return target
    if isinstance(target, type) and issubclass(target, nn.Module):
        return _build(target, target.__name__, kwargs)
    if isinstance(target, str):
        info = activation_info(target)
        return _build(info.factory, info.name, {**info.defaults, **kwargs})
    raise ConfigError(
        "activation: expected a registered name, an nn.Module subclass or instance, "
        f"got {type(target).__name__}"
    )
