"""How much of an activation's output a Fourier neural operator cannot see.

``SpectralConv`` keeps the Fourier modes below its mode cutoff; what a pointwise activation
creates above it (a ReLU of a band-limited field has content at every frequency) is dropped
by the next spectral convolution. :func:`activation_aliasing` measures, per activation
module of a model, the share of its output energy in the dropped modes (forward hooks on
the activation modules), :func:`discarded_energy_fraction` the same share for one field.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from opkit.errors import ConfigError
from opkit.spectral.metrics import rfft_grid, rfft_power


def _activation_types() -> tuple[type, ...]:
    from opkit.activations import get_activation, list_activations

    types = {type(get_activation(info.name)) for info in list_activations()}
    return tuple(types - {nn.Identity})


def discarded_energy_fraction(u: torch.Tensor, mode_cutoff, spatial_dims: int | None = None) -> float:
    """Share of the energy of ``u (B, C, *spatial)`` in the modes a spectral convolution drops.

    ``SpectralConv`` with ``n_modes = m`` (one int, or one per axis) keeps ``k = 0 .. m-1`` on
    the last axis and ``k = -m .. m-1`` on every other axis; every other mode counts here.
    """
    spatial_dims = u.ndim - 2 if spatial_dims is None else spatial_dims
    cutoffs = [mode_cutoff] * spatial_dims if isinstance(mode_cutoff, int) else list(mode_cutoff)
    if len(cutoffs) != spatial_dims or any(not isinstance(m, int) or m < 1 for m in cutoffs):
        raise ConfigError(f"mode_cutoff: expected a positive integer or {spatial_dims} of them, got {mode_cutoff!r}")
    wavevectors, _, weights = rfft_grid(tuple(u.shape[-spatial_dims:]), str(u.device))
    power = rfft_power(u.detach().double(), spatial_dims) * weights.double()
    kept = wavevectors[-1] < cutoffs[-1]
    for axis, m in enumerate(cutoffs[:-1]):
        kept &= (wavevectors[axis] >= -m) & (wavevectors[axis] < m)
    total = power.sum()
    return float(power[..., ~kept].sum() / total) if total > 0 else 0.0


def fno_activation_selector(n_layers: int) -> Callable[[str, nn.Module], bool]:
    """Select the activations of an opkit FNO that feed a spectral convolution.

    ``layers.<i>.activation`` for ``i < n_layers - 1`` (the last Fourier layer has none, and
    ``projection.activation`` is followed by pointwise layers only), whatever their type.
    """
    names = {f"layers.{i}.activation" for i in range(n_layers - 1)}
    return lambda name, module: name in names


@torch.no_grad()
def activation_aliasing(
    model: nn.Module,
    inputs: torch.Tensor,
    mode_cutoff: int,
    select: Callable[[str, nn.Module], bool] | None = None,
) -> dict[str, float]:
    """Per activation module of ``model``: the energy share its output puts above the mode cutoff.

    Args:
        model: an operator, e.g. an FNO keeping ``mode_cutoff`` modes per axis.
        inputs: ``(B, C_in, *spatial)``.
        select: ``(module name, module) -> bool`` choosing the modules to hook; by default
            every module whose type is an activation from the registry.

    Returns ``{module name: fraction}`` in forward order, from forward hooks on the modules.
    In an opkit FNO the activations ``layers.<i>.activation`` feed the next spectral
    convolution; ``projection.activation`` does not (its share is reported all the same).
    """
    discarded_energy_fraction(inputs, mode_cutoff)  # checks mode_cutoff against the input's dimensions
    if select is None:
        types = _activation_types()

        def select(name, module):
            return isinstance(module, types)

    fractions: dict[str, float] = {}
    handles = []
    for name, module in model.named_modules():
        if name and select(name, module):
            def hook(module, args, output, name=name):
                if isinstance(output, torch.Tensor) and output.ndim == inputs.ndim:
                    fractions[name] = discarded_energy_fraction(output, mode_cutoff)
            handles.append(module.register_forward_hook(hook))
    if not handles:
        raise ConfigError(f"activation_aliasing: no activation modules found in {type(model).__name__}")
    was_training = model.training
    model.eval()
    try:
        model(inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return fractions
