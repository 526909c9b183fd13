"""Controls: activation-axis entries that stand for a whole kind of operator, not one activation.

    axes:
      activation: [linear, lstsq, relu_nobias, affine, gelu, snake]

A control makes a claim about the whole map a run learns, normalisers included
(``decode(network(encode(a)))``), and every part of that path must honour it:

============  ==========  ======  ===========  =============  ==============  ==========================================
entry         activation  biases  coordinates  normalisation  KANO's KAN      the learned map
============  ==========  ======  ===========  =============  ==============  ==========================================
relu_nobias   relu        none    none         scale (RMS)    relu edges      positively homogeneous: f(c a) = c f(a), c > 0
linear        identity    none    none         scale (RMS)    linear edges    linear: f(a + b) = f(a) + f(b), f(0) = 0
affine        identity    config  config       config         linear edges    affine (a linear map plus a constant)
lstsq         (none)      none    none         scale (RMS)    (no network)    ``linear_fourier`` fitted in closed form
lstsq_full    (none)      none    none         scale (RMS)    (no network)    ``linear_full``: dense, one small grid
============  ==========  ======  ===========  =============  ==============  ==========================================

Why each part: a bias is a constant added inside the network; a coordinate channel is a
learned position-dependent bias; a mean-shift normaliser adds ``mean_u`` after decoding
and subtracts ``mean_a`` before the network. Any of them breaks homogeneity and
linearity; "scale" divides by the root mean square (no shift). KANO's KAN layers learn
their activations, so "bias-free ReLU" there means edge functions ``a relu(x) + b relu(-x)``
(every positively homogeneous function of one variable) and "linear" means ``a x``
(``opkit.layers.kan``, bases ``relu`` and ``linear``, no SiLU branch). ``lstsq`` replaces
the network by the best linear operator an FNO layer represents, fitted by ridge least
squares per Fourier mode in one pass (``opkit.models.linear_fourier``), at the cell's
``n_modes`` (every mode the grid resolves when the cell has none, e.g. MgNO).

What a control implied is written into each run's overrides (its record's ``spec``) and
so into its training config: nothing is implicit.

Where the seed results apply: Burgers data are symmetric under ``u -> -u`` with
``x -> -x``, so a degree-1 homogeneous network is a fair control there. The Darcy map is
not: ``-div(c a grad u) = f`` gives ``u(c a) = u(a) / c``, degree -1, which no bias-free
ReLU network represents; on Darcy ``relu_nobias`` is a weak control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opkit.errors import ConfigError

# Everything a bias-free control switches off, for any operator.
BIAS_FREE = {"model.bias": False, "model.coordinates": False, "data.coordinates": False, "data.normalize": "scale"}
# Operators whose learned activations live in KAN layers: their edge-function space per control.
KAN_OPERATORS = ("kano",)


@dataclass(frozen=True)
class Control:
    """One control entry: the activation it sets, and what else it implies."""

    name: str
    activation: str | None          # model.activation (None: the control replaces the network)
    bias_free: bool                 # no biases, no coordinate channels, scale-only normalisation
    kan_edges: str | None           # KAN basis for KANO's edge functions (relu, linear), None: not a KAN control
    model: str | None = None        # a registry model replacing the operator (closed-form baselines)
    extra: dict = field(default_factory=dict)
    claim: str = ""

    def overrides(self, operator: str | None) -> dict:
        """Dotted config overrides this control implies for a cell whose operator is ``operator``."""
        implied = dict(BIAS_FREE) if self.bias_free else {}
        if self.model is not None:
            # the network's own arguments do not apply to the replacement; n_modes stays the cell's
            # A cell without n_modes (MgNO) gets every mode the grid resolves: n_modes=None reaches
            # linear_fourier through model_kwargs (a cell's own model.n_modes takes precedence).
            kwargs = {"n_modes": None} if self.model == "linear_fourier" else {}
            implied.update({"model.model": self.model, "model.activation": None, "model.width": None,
                            "model.n_layers": None, "model.model_kwargs": kwargs})
        elif self.kan_edges is not None and operator in KAN_OPERATORS:
            implied.update({"model.model_kwargs.basis": self.kan_edges, "model.model_kwargs.basis_kwargs": None,
                            "model.model_kwargs.base_activation": None})
        elif operator == "kano_s":
            raise ConfigError(f"control {self.name!r}: not defined for kano_s (its KAN selects among spline bases); "
                              f"use kano, fno or mgno")
        implied.update(self.extra)
        return implied


CONTROLS = {
    "relu_nobias": Control("relu_nobias", "relu", bias_free=True, kan_edges="relu",
                           claim="positively homogeneous: f(c a) = c f(a) for c > 0"),
    "linear": Control("linear", "identity", bias_free=True, kan_edges="linear",
                      claim="linear: f(a + b) = f(a) + f(b), f(0) = 0"),
    "affine": Control("affine", "identity", bias_free=False, kan_edges="linear",
                      claim="affine: a linear operator plus a constant field"),
    "lstsq": Control("lstsq", None, bias_free=True, kan_edges=None, model="linear_fourier",
                     extra={"trainer.max_epochs": 1},
                     claim="the best linear operator per Fourier mode, fitted in closed form (no gradient descent)"),
    "lstsq_full": Control("lstsq_full", None, bias_free=True, kan_edges=None, model="linear_full",
                          extra={"trainer.max_epochs": 1, "model.n_modes": None},
                          claim="the best linear operator on the training grid (dense least squares; small grids)"),
}


def control(name) -> Control | None:
    """The control called ``name``, or None for an ordinary activation entry."""
    return CONTROLS.get(name) if isinstance(name, str) else None
