"""The model registry: ``build_model(name, **kwargs)`` and ``list_models()``.

Every entry is a class whose constructor takes plain-typed arguments (ints, floats,
strings, bools, lists), so a LightningCLI config can set all of them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from opkit.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_model(name: str, description: str):
    """Class decorator / function adding ``name`` to the registry."""
    def add(factory):
        _MODELS[name] = factory
        _DESCRIPTIONS[name] = description
        return factory
    return add


def list_models() -> list[str]:
    """Names accepted by ``build_model``."""
    return sorted(_MODELS)


def describe_models() -> dict[str, str]:
    """Name -> one-line description."""
    return {name: _DESCRIPTIONS[name] for name in list_models()}


def model_signature(name: str) -> inspect.Signature:
    """The constructor signature of the registered model ``name``; ConfigError (listing the names) otherwise."""
    if not isinstance(name, str) or name.strip().lower() not in _MODELS:
        raise ConfigError(f"model: unknown name {name!r}; valid names: {', '.join(list_models())}")
    return inspect.signature(_MODELS[name.strip().lower()])


def check_model_arguments(name: str, partial: bool = False, **kwargs) -> None:
    """ConfigError for an unknown model name or an argument it does not take (``partial``: some may be missing)."""
    signature = model_signature(name)
    try:
        (signature.bind_partial if partial else signature.bind)(**kwargs)
    except TypeError as error:  # unexpected keyword / missing argument
        accepted = ", ".join(p for p in signature.parameters if p not in ("args", "kwargs"))
        raise ConfigError(f"model {name!r}: {error}; accepted arguments: {accepted}") from None


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with constructor arguments ``kwargs``.

    Raises:
        ConfigError: unknown name (lists the valid ones) or an argument the model
            does not take.
    """
    check_model_arguments(name, **kwargs)
    return _MODELS[name.strip().lower()](**kwargs)
