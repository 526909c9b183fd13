"""KAN-style Fourier operators: FNO layers whose pointwise channel path is a KAN layer.

Design. An FNO layer is ``v <- sigma(K v + W v)``: a global spectral convolution
``K`` plus a pointwise linear map ``W`` followed by a fixed activation. In a
Kolmogorov-Arnold network (Liu et al. 2024, "KAN: Kolmogorov-Arnold Networks",
arXiv:2404.19756) the linear map and the fixed activation are replaced by learnable
one-dimensional functions on every edge, ``y_o = sum_i phi_oi(x_i)``. ``KANO``
puts such a layer on the pointwise path of every Fourier layer:

    v_{l+1}(x) = (K_l v_l)(x) + KAN_l(v_l(x)),      KAN_l: R^width -> R^width per grid point

so the only nonlinearity inside the operator is learnable (per edge, any basis of
``opkit.layers.kan``: B-spline, RBF, Chebyshev, Fourier). ``KANO`` is an ``FNO``
whose ``FourierLayer``s get the KAN as their skip and no activation: validation,
lifting, spectral convolutions, padding and the projection MLP are FNO's own, so a
comparison with FNO isolates "learnable edge activations vs Linear + fixed
activation". This follows the Fourier/KAN operator hybrids of Lee et al. 2025
("KANO: Kolmogorov-Arnold Neural Operator", arXiv:2509.16825) and Abueidda et al.
2025 ("DeepOKAN", arXiv:2405.19143) in spirit; it is our own formulation.

``KANOSelectable`` (registry name ``kano_s``) uses a KAN whose every output node
mixes several basis spaces with softmax weights it learns, and can be read out
with ``selected_spaces()`` (in the spirit of selectable-activation KANs, S-KAN).

Size. A KAN edge has ``n_basis + 2`` parameters (coefficients, spline scale, base
weight; ``n_basis + 1`` without the base branch), so at equal width a KANO is larger than an FNO; pass
``target_parameters`` (e.g. the FNO's ``count_parameters``) and the width is chosen
so that the parameter count is the closest reachable (``width_for_parameters``).

Inputs to B-spline and RBF bases should lie about in their ``grid_range``
([-1, 1] by default); the SiLU base branch carries the signal outside it.
"""

from __future__ import annotations

import re

import torch

from opkit.errors import ConfigError
from opkit.layers.kan import KANChannelMix, SelectableKANChannelMix
from opkit.models.common import check_positive_int, count_parameters
from opkit.models.fno import FNO, FourierLayer


class KANO(FNO):
    """Fourier operator with KAN pointwise paths: ``(B, in_channels, *spatial) -> (B, out_channels, *spatial)``.

    An ``FNO`` whose Fourier layers are ``v -> K v + KAN(v)``: the KAN (``KANChannelMix``)
    is the layer's skip in place of FNO's ``W``, and no activation follows the sum.

    Args:
        in_channels, out_channels, n_modes, n_layers, spatial_dims, projection_channels,
            coordinates, padding: as in ``FNO``.
        width: channels inside the Fourier layers (ignored when ``target_parameters`` is set).
        basis: KAN basis, ``bspline``, ``rbf``, ``chebyshev`` or ``fourier``.
        basis_kwargs: basis parameters, e.g. ``{"grid_size": 5, "order": 3}``.
        base_activation: the KAN's residual branch (``silu`` as in the KAN paper).
        activation: activation of the projection MLP (as in FNO).
        bias: ``False`` removes every bias (lifting, KAN, projection).
        target_parameters: choose the width whose parameter count is closest to this.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 16, n_modes=16, n_layers: int = 4,
                 spatial_dims: int | None = None, basis: str = "bspline", basis_kwargs: dict | None = None,
                 base_activation: str = "silu", activation="gelu", bias: bool = True,
                 projection_channels: int = 128, coordinates: bool = False, padding: float = 0.0,
                 target_parameters: int | None = None):
        if basis_kwargs is not None and not isinstance(basis_kwargs, dict):
            raise ConfigError(f"KANO basis_kwargs: expected a mapping, got {basis_kwargs!r}")
        backbone = dict(in_channels=in_channels, out_channels=out_channels, n_modes=n_modes, n_layers=n_layers,
                        spatial_dims=spatial_dims, activation=activation, bias=bias,
                        projection_channels=projection_channels, coordinates=coordinates, padding=padding)
        width = matched_width(type(self), width, target_parameters, basis=basis, basis_kwargs=basis_kwargs,
                              base_activation=base_activation, **backbone)
        # Read by fourier_layer, which FNO.__init__ calls; a plain attribute may precede Module.__init__.
        self.kan_options = dict(basis=basis, base_activation=base_activation, **(basis_kwargs or {}))
        super().__init__(width=width, **backbone)  # builds the layers with fourier_layer below
        self.register_load_state_dict_pre_hook(rename_earlier_keys)

    def fourier_layer(self, activation, bias: bool, channel_mlp_expansion: float) -> FourierLayer:
        """``v -> K v + KAN(v)``: no activation, the KAN is the layer's nonlinearity."""
        return FourierLayer(self.width, self.n_modes, "identity", bias,
                            skip=KANChannelMix(self.width, self.width, bias=bias, **self.kan_options))


class KANOSelectable(FNO):
    """KANO whose KAN layers choose among several basis spaces per output node (``kano_s``).

    The Fourier layers are ``v -> K v + SelectableKAN(v)`` (``SelectableKANChannelMix``).

    Args (besides KANO's, which it takes except ``basis``/``basis_kwargs``):
        spaces: basis names to choose from.
        space_kwargs: per-space basis parameters, e.g. ``{"bspline": {"grid_size": 8}}``.
        temperature: softmax temperature of the space weights.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 16, n_modes=16, n_layers: int = 4,
                 spatial_dims: int | None = None, spaces=("bspline", "rbf", "chebyshev", "fourier"),
                 space_kwargs: dict | None = None, temperature: float = 1.0, base_activation: str = "silu",
                 activation="gelu", bias: bool = True, projection_channels: int = 128, coordinates: bool = False,
                 padding: float = 0.0, target_parameters: int | None = None):
        backbone = dict(in_channels=in_channels, out_channels=out_channels, n_modes=n_modes, n_layers=n_layers,
                        spatial_dims=spatial_dims, activation=activation, bias=bias,
                        projection_channels=projection_channels, coordinates=coordinates, padding=padding)
        width = matched_width(type(self), width, target_parameters, spaces=spaces, space_kwargs=space_kwargs,
                              temperature=temperature, base_activation=base_activation, **backbone)
        self.kan_options = dict(spaces=list(spaces), space_kwargs=space_kwargs, temperature=temperature,
                                base_activation=base_activation)
        super().__init__(width=width, **backbone)  # builds the layers with fourier_layer below
        self.register_load_state_dict_pre_hook(rename_earlier_keys)

    def fourier_layer(self, activation, bias: bool, channel_mlp_expansion: float) -> FourierLayer:
        """``v -> K v + SelectableKAN(v)``: no activation, the KAN is the layer's nonlinearity."""
        return FourierLayer(self.width, self.n_modes, "identity", bias,
                            skip=SelectableKANChannelMix(self.width, self.width, bias=bias, **self.kan_options))

    def selected_spaces(self) -> list[list[str]]:
        """Per layer, the basis space with the largest weight for each output channel."""
        return [layer.skip.kan.selected_spaces() for layer in self.layers]


def rename_earlier_keys(module, state_dict, prefix, *_) -> None:
    """Load-state-dict pre-hook: earlier versions called each layer's KAN ``layers.<l>.kan``, now ``.skip``.

    Keeps the shipped checkpoints and those of earlier studies loading.
    """
    earlier = re.compile(re.escape(prefix) + r"layers\.\d+\.kan\.")
    for key in list(state_dict):
        match = earlier.match(key)
        if match:
            state_dict[key[:match.end() - len("kan.")] + "skip." + key[match.end():]] = state_dict.pop(key)


def matched_width(model_class, width: int, target_parameters: int | None, **arguments) -> int:
    """``width``, or with ``target_parameters`` the width of ``model_class(**arguments)`` closest to that count."""
    if target_parameters is None:
        return width
    check_positive_int(f"{model_class.__name__} target_parameters", target_parameters)
    return width_for_parameters(model_class, target_parameters, **arguments)[0]


def width_for_parameters(model_class, target_parameters: int, max_width: int = 4096, **kwargs) -> tuple[int, int]:
    """The width of ``model_class(width=w, **kwargs)`` whose parameter count is closest to the target.

    Returns ``(width, count)``. Models are built on the meta device (no memory, no
    initialisation cost); the count grows with the width, so a bisection finds it.
    """
    def count(width: int) -> int:
        with torch.device("meta"):
            return count_parameters(model_class(width=width, **kwargs))

    low, high = 1, 1
    while count(high) < target_parameters and high < max_width:
        low, high = high, min(2 * high, max_width)
    while high - low > 1:
        middle = (low + high) // 2
        if count(middle) < target_parameters:
            low = middle
        else:
            high = middle
    best = min((low, high), key=lambda w: abs(count(w) - target_parameters))
    return best, count(best)
