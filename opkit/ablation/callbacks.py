"""``AblationProbe``: the per-run measurements an ablation adds to a training run.

Attached to every sweep run through ``trainer.callbacks`` (so the run still goes through
``run_experiment`` exactly like ``train.py``), it does two things:

* at the start of fitting, the weight initialisation the activation is designed for, when
  its registry entry names one (``ActivationInfo.init``: SIREN for sine, LeCun normal for
  SELU), applied to every real weight matrix of the operator (the first one is the SIREN
  "first layer"); spectral weights (complex) keep their own initialisation;
* during the test of the best checkpoint, the error spectrum pooled over the whole test
  split, from which it derives the band errors, resolved bandwidth and spectral-bias index
  (all from :mod:`opkit.spectral.shells`), written to ``<run_dir>/spectral_test.json``;
  on data whose spatial axes are not all periodic (Darcy, Dirichlet) the same in the sine
  basis (``sine_*`` keys), where the FFT's high shells hold mostly the periodic extension's kink;
* on the first test batch, the share of each activation's output energy above the mode cutoff
  (``aliasing``: energy the next spectral convolution discards, ``aliasing.activation_aliasing``)
  and, for learnable activations, their learned shapes (``learned_activation``), so that a
  shipped record is enough to draw the report's figures without the checkpoint.

Pooling: per shell k, ``E_err(k) = Σ_samples E_{pred-target}(k)`` and
``E_true(k) = Σ_samples E_target(k)`` (:class:`opkit.spectral.shells.ShellSums`), so the
relative spectrum ``E_err / E_true`` and the band errors equal those of
:func:`opkit.spectral.metrics.error_spectrum` / :func:`opkit.spectral.shells.relative_band_errors`
on the concatenated test set.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

from opkit.io import write_text_atomic
from opkit.spectral.shells import ShellSums, default_mode_cutoff, module_mode_cutoff

SPECTRAL_FILE = "spectral_test.json"


def _activation_name(pl_module) -> str | None:
    hparams = getattr(pl_module, "hparams", {}) or {}
    name = hparams.get("activation") if hasattr(hparams, "get") else None
    return name if isinstance(name, str) else None


def _weight_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """Modules with a real floating weight of >= 2 dims, outside activation modules, in order."""
    activation_types = tuple({type(m) for m in model.modules() if type(m).__module__.startswith("opkit.activations")})
    excluded = set()
    for module in model.modules():
        if activation_types and isinstance(module, activation_types):
            excluded.update(id(m) for m in module.modules())
    layers = []
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if (id(module) not in excluded and isinstance(weight, torch.nn.Parameter) and weight.dim() >= 2
                and weight.is_floating_point() and not weight.is_complex()):
            layers.append(module)
    return layers


def apply_init_hint(model: torch.nn.Module, activation: str | None) -> str:
    """Re-initialise ``model``'s real weights as ``activation``'s registry entry asks; returns the init name."""
    if activation is None:
        return "default"
    from opkit.activations.init import INITIALISERS
    from opkit.activations.registry import activation_info

    try:
        info = activation_info(activation)
    except Exception:  # an activation class or an unknown name: keep the default
        return "default"
    initialiser = INITIALISERS.get(info.init)
    if initialiser is None:
        return "default"
    w0 = float(info.defaults.get("w0", 30.0)) if info.init == "siren" else None
    for index, layer in enumerate(_weight_layers(model)):
        if w0 is not None:
            initialiser(layer, w0=w0, is_first=index == 0)
        else:
            initialiser(layer)
    return info.init


class AblationProbe(Callback):
    """Init hints at fit start and a pooled test-set error spectrum (see module docstring).

    Args:
        init_hints: apply the activation's registry initialisation (default True).
        threshold: relative error power under which a shell counts as resolved.
        mode_cutoff: band split for band errors and the bias index; default the model's
            smallest ``n_modes`` when it has one, else half the highest complete shell.
    """

    def __init__(self, init_hints: bool = True, threshold: float = 0.1, mode_cutoff: int | None = None):
        super().__init__()
        self.init_hints = init_hints
        self.threshold = threshold
        self.mode_cutoff = mode_cutoff
        self.init_applied = "default"
        self._sums: ShellSums | None = None
        self._sine_sums: ShellSums | None = None
        self._done = False
        self._extra: dict = {}

    def on_fit_start(self, trainer, pl_module) -> None:
        if self.init_hints and trainer.ckpt_path is None:
            model = getattr(pl_module, "model", pl_module)
            self.init_applied = apply_init_hint(model, _activation_name(pl_module))

    def on_test_start(self, trainer, pl_module) -> None:
        self._sums = None
        self._sine_sums = None
        self._periodic = _data_is_periodic(trainer)

    @torch.no_grad()
    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if self._done or dataloader_idx != 0:
            return
        inputs, target = batch[0], batch[1]
        if batch_idx == 0 and self._sums is None:
            self.flops_per_sample = count_flops(pl_module, inputs[:1])
            self._extra = first_batch_probes(pl_module, inputs, self.mode_cutoff or module_mode_cutoff(pl_module))
        prediction = pl_module(inputs)
        if target.shape[1] != prediction.shape[1]:  # a trajectory target: compare the first frame
            target = target[:, : prediction.shape[1]]
        self._sums = _pool(self._sums, ShellSums.of(prediction, target, dtype=torch.float64))
        spatial_dims = prediction.ndim - 2
        if self._periodic is False and min(prediction.shape[-spatial_dims:]) >= 3:
            sine = ShellSums.of(prediction, target, basis="sine", dtype=torch.float64)
            self._sine_sums = _pool(self._sine_sums, sine)

    def on_test_end(self, trainer, pl_module) -> None:
        if self._done or self._sums is None:
            return
        self._done = True  # later test calls (rollout) do not overwrite the one-step spectrum
        cutoff = self.mode_cutoff or module_mode_cutoff(pl_module)
        result = spectral_summary(self._sums, self.threshold, cutoff)
        if self._sine_sums is not None:
            sine = spectral_summary(self._sine_sums, self.threshold, cutoff)
            result.update({f"sine_{key}": sine[key] for key in ("band_errors", "resolved_bandwidth", "error_spectrum",
                                                                 "energy_spectrum_true", "energy_spectrum_pred")})
        result.update(self._extra)
        result["init"] = self.init_applied
        result["flops_per_sample"] = getattr(self, "flops_per_sample", None)
        write_text_atomic(Path(trainer.default_root_dir) / SPECTRAL_FILE, json.dumps(result, indent=1) + "\n")


def _pool(sums: ShellSums | None, batch: ShellSums) -> ShellSums:
    return batch if sums is None else sums + batch


def _data_is_periodic(trainer) -> bool | None:
    """Whether every spatial axis of the run's data file is periodic (None: unknown)."""
    path = getattr(getattr(trainer, "datamodule", None), "path", None)
    if path is None:
        return None
    try:
        from opkit.data.formats import open_dataset_file

        with open_dataset_file(path) as datafile:
            kinds = set(datafile.boundary_conditions.values())
    except Exception:  # a file the probe cannot describe: FFT shells only, as before
        return None
    return kinds == {"periodic"} if kinds else None


ACTIVATION_GRID = torch.linspace(-3.0, 3.0, 61)


def first_batch_probes(pl_module, inputs: torch.Tensor, mode_cutoff: int | None) -> dict:
    """``aliasing`` per activation module and its mean over the hidden layers (those feeding a
    spectral convolution, i.e. all but the projection), and ``learned_activation`` shapes."""
    from opkit.spectral.aliasing import activation_aliasing

    result: dict = {}
    spatial = inputs.shape[2:]
    if mode_cutoff is not None and spatial and mode_cutoff < min(spatial) // 2:
        try:
            fractions = activation_aliasing(pl_module, inputs[:8], mode_cutoff)
        except Exception:  # no activation modules (identity controls) or an unusual layout: no figure
            fractions = {}
        hidden = [value for name, value in fractions.items() if "projection" not in name]
        result["aliasing"] = fractions
        result["aliasing_mean"] = sum(hidden) / len(hidden) if hidden else None
    shapes = learned_activation_shapes(pl_module)
    if shapes:
        result["learned_activation"] = shapes
    return result


@torch.no_grad()
def learned_activation_shapes(pl_module) -> dict | None:
    """Learnable activations after training on ``ACTIVATION_GRID``: per layer, mean/min/max over
    channels, and the same activation at its initialisation (``initial``)."""
    from opkit.activations import PartialActivation, get_activation
    from opkit.activations.registry import activation_info

    name = _activation_name(pl_module)
    try:
        if name is None or not activation_info(name).learnable:
            return None
    except Exception:
        return None
    x = ACTIVATION_GRID
    layers = []
    model = getattr(pl_module, "model", pl_module)
    taken: list[str] = []
    for module_name, layer in model.named_modules():
        if isinstance(layer, PartialActivation) or any(module_name.startswith(f"{t}.") for t in taken):
            continue  # a partial's inner activation is visited next; a taken activation's parts are not
        if type(layer).__module__.startswith("opkit.activations") and any(True for _ in layer.parameters()):
            taken.append(module_name)
            first = next(layer.parameters())  # per-channel parameters are (..., C)
            channels = first.shape[-1] if first.dim() else 1
            try:
                y = layer(x.to(first.device, first.dtype).expand(channels, -1).unsqueeze(0).clone())[0].float().cpu()
            except Exception:  # a layout this grid does not fit: leave the layer out
                continue
            layers.append({"name": module_name, "mean": y.mean(0).tolist(), "min": y.min(0).values.tolist(),
                           "max": y.max(0).values.tolist()})
    if not layers:
        return None
    initial = get_activation(name, num_channels=1)(x.view(1, 1, -1))[0, 0]
    return {"x": x.tolist(), "initial": initial.tolist(), "layers": layers}


def count_flops(module, inputs: torch.Tensor) -> int | None:
    """Floating-point operations of one forward pass, as ``torch.utils.flop_counter`` counts them
    (matmuls, convolutions, einsum; FFTs and elementwise operations are not counted)."""
    try:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            module(inputs)
        return int(counter.get_total_flops())
    except Exception:  # an operator the counter cannot trace: no estimate rather than a failed run
        return None


def spectral_summary(sums: ShellSums, threshold: float, mode_cutoff: int | None) -> dict:
    """The record's spectral fields from pooled shell sums.

    Band errors (relative: error over target energy in the band; NaN where the target has no
    energy) in the bands of ``mode_cutoff`` (default half the highest complete shell, at most
    two shells below the last), resolved bandwidth, bias index, the spectra up to the highest
    complete shell, and ``band_mse``: the error energy per band per field, which sums over the
    bands to the test MSE.
    """
    cutoff = mode_cutoff if mode_cutoff is not None else default_mode_cutoff(sums.spatial_shape)
    cutoff = min(cutoff, max(1, sums.top - 1))
    bands = sums.cutoff_bands(cutoff)
    complete = sums.complete
    summary = {
        "band_errors": sums.relative_band_errors(bands),
        "mode_cutoff": cutoff,
        "resolved_bandwidth": sums.resolved_bandwidth(threshold),
        "spectral_bias": sums.bias_index(cutoff),
        "error_spectrum": sums.relative()[: complete + 1].tolist(),
        "energy_spectrum_true": sums.target[: complete + 1].tolist(),
        "energy_spectrum_pred": sums.prediction[: complete + 1].tolist(),
    }
    if sums.fields:
        summary["band_mse"] = sums.band_mse(bands)
    return summary
