"""``OperatorModule``'s arguments: checked before anything is built, and turned into model arguments.

:func:`check_arguments` needs no data, so ``train.py`` runs it (through the CLI) before the
data is read or generated: a typo in a config fails in a second. :func:`model_arguments`
assembles what the registry model is built with from the module's common arguments and
``model_kwargs``, asking the model's signature which optional ones it takes.
:func:`compile_model` applies the ``compile`` option.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from torch import nn

from opkit.errors import ConfigError
from opkit.training.losses import get_loss

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("step", "cosine", "onecycle", "none")


def _positive_integers(value) -> bool:
    values = value if isinstance(value, (list, tuple)) else [value]
    return bool(values) and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def check_arguments(model: str = "fno", activation: str | None = "gelu", width=None, n_modes=None, n_layers=None,
                    model_kwargs: dict | None = None, loss: str = "relative_l2", loss_kwargs: dict | None = None,
                    optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 1e-4,
                    scheduler: str | None = "step", scheduler_step_size: int = 100, scheduler_gamma: float = 0.5,
                    pushforward_steps: int = 0, **unused) -> None:
    """Check the ``OperatorModule`` arguments that need no data (names, ranges): one ``ConfigError``.

    ``train.py`` calls it (and ``check_operator``) before the data is read or generated, so a
    typo in a config fails in a second, not after building the dataset.
    """
    if str(optimizer).lower() not in OPTIMIZERS:
        raise ConfigError(f"OperatorModule: unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    if str(scheduler).lower() not in SCHEDULERS + ("null",):
        raise ConfigError(f"OperatorModule: unknown scheduler {scheduler!r}; valid: {', '.join(SCHEDULERS)}")
    if activation is not None:
        from opkit.activations import activation_info

        activation_info(activation)
    get_loss(loss, **(loss_kwargs or {}))
    numbers = {"lr": (lr, "a positive number", lambda v: v > 0),
               "weight_decay": (weight_decay, "a number >= 0", lambda v: v >= 0),
               "scheduler_gamma": (scheduler_gamma, "a positive number", lambda v: v > 0)}
    for name, (value, expected, valid) in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not valid(value):
            raise ConfigError(f"OperatorModule: {name}={value!r}; expected {expected}")
    for name, value in (("width", width), ("n_layers", n_layers), ("n_modes", n_modes)):
        if value is not None and not _positive_integers(value):
            raise ConfigError(f"OperatorModule: {name}={value!r}; expected a positive integer"
                              + (" or a list of them" if name == "n_modes" else ""))
    if not _positive_integers(scheduler_step_size):
        raise ConfigError(f"OperatorModule: scheduler_step_size={scheduler_step_size!r}; expected a positive integer")
    if not isinstance(pushforward_steps, int) or pushforward_steps < 0:
        raise ConfigError(f"OperatorModule: pushforward_steps={pushforward_steps}; expected >= 0")
    if model_kwargs is not None and not isinstance(model_kwargs, dict):
        raise ConfigError(f"OperatorModule: model_kwargs={model_kwargs!r}; expected a mapping of model arguments")


def model_arguments(model: str, model_kwargs: dict[str, Any] | None, *, activation, width, n_modes, n_layers,
                    bias: bool, coordinates: bool | None, spatial_dims: int | None) -> dict[str, Any]:
    """The keyword arguments (besides channels) of the registry model ``model``.

    ``model_kwargs`` first, then every common argument that is not None (``bias`` always).
    ``spatial_dims``, and ``coordinates=False``, are dropped for a model whose signature lacks
    them: it infers the first, and has no coordinate channels to switch off.
    """
    arguments: dict[str, Any] = dict(model_kwargs or {})
    for key, value in (("activation", activation), ("width", width), ("n_modes", n_modes), ("n_layers", n_layers)):
        if value is not None:
            arguments[key] = value
    arguments["bias"] = bias
    if coordinates is not None:
        arguments["coordinates"] = coordinates
    if spatial_dims is not None:
        arguments["spatial_dims"] = spatial_dims
    accepted = _accepted_arguments(model)
    for key in ("spatial_dims", "coordinates"):
        if (accepted is not None and key in arguments and key not in accepted
                and (key != "coordinates" or arguments[key] is False)):
            del arguments[key]
    return arguments


def _accepted_arguments(name) -> set[str] | None:
    """Keyword arguments the registry's model ``name`` takes; None when unknown or it takes ``**kwargs``."""
    from opkit.models.registry import model_signature

    try:
        parameters = model_signature(name).parameters
    except ConfigError:  # not a registry name (a stand-in model): pass every argument on
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return set(parameters)


COMPILE_OPTIONS = ("fullgraph", "dynamic", "backend", "mode", "options", "disable")


def compile_model(model: nn.Module, compile: bool | dict[str, Any]) -> None:
    """``model.compile(**options)`` for ``compile: true`` or ``compile: {mode: ..., ...}``; one-line errors."""
    if compile is True:
        compile = {}
    if not isinstance(compile, dict):
        raise ConfigError(f"OperatorModule: compile={compile!r}; expected true, false or a mapping of "
                          f"torch.compile options ({', '.join(COMPILE_OPTIONS)})")
    unknown = sorted(set(compile) - set(COMPILE_OPTIONS))
    if unknown:
        raise ConfigError(f"OperatorModule: compile has unknown option(s) {', '.join(map(str, unknown))}; "
                          f"valid: {', '.join(COMPILE_OPTIONS)}")
    try:
        model.compile(**compile)
    except (RuntimeError, TypeError, ValueError) as error:  # e.g. an unknown mode or backend name
        raise ConfigError(f"OperatorModule: compile={compile!r}: {str(error).splitlines()[0]}") from None
