"""``opkit inspect CHECKPOINT``: what a checkpoint holds, read without running any of its code.

The file is loaded with ``torch.load(weights_only=True)`` (tensors and plain containers only),
so inspecting a checkpoint from elsewhere is safe. The summary gives the model and its
arguments, the parameter count, the training data (file, PDE and preset, task, resolution),
the normalisers, the training length and the errors recorded for it: the best validation
error kept by the checkpoint callback, and for shipped checkpoints the test errors in
``opkit/pretrained/errors.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opkit.errors import DataError

CHECKPOINT_SUFFIXES = (".ckpt", ".pt", ".pth")


def is_checkpoint(name: str) -> bool:
    """True for a ``.ckpt`` path or a shipped checkpoint name (``fno-darcy``)."""
    from opkit.training.inference import pretrained_checkpoints

    path = Path(name)
    return path.suffix.lower() == ".ckpt" or (not path.exists() and str(name) in pretrained_checkpoints())


def _load(path: Path) -> dict[str, Any]:
    import torch

    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean the same thing here
        raise DataError(path, f"not loadable with torch.load(weights_only=True) ({type(error).__name__}); "
                              "expected a checkpoint written by opkit train / train.py") from None
    if not isinstance(contents, dict) or "state_dict" not in contents or "hyper_parameters" not in contents:
        raise DataError(path, "not an opkit checkpoint (no 'state_dict' and 'hyper_parameters'); expected a file "
                              "written by opkit train / train.py")
    return contents


def _parameter_count(hyper: dict, state: dict) -> int:
    """The model's trainable parameters, rebuilt from its arguments (else the state dict's model tensors)."""
    from opkit.training.module import OperatorModule

    try:
        module = OperatorModule(**{key: value for key, value in hyper.items() if not key.startswith("_")})
        return module.parameter_count()
    except Exception:  # a model that needs more than its hyperparameters: count the stored tensors
        return sum(value.numel() for key, value in state.items() if key.startswith("model."))


def _values(tensor) -> str:
    values = [float(v) for v in tensor.reshape(-1)[:8]]
    more = " ..." if tensor.numel() > 8 else ""
    return "[" + ", ".join(f"{v:.4g}" for v in values) + more + "]"


def describe_checkpoint(checkpoint: str | Path) -> str:
    """A readable summary of ``checkpoint`` (path or shipped name)."""
    from opkit.training.inference import pretrained_errors, resolve_checkpoint

    path = resolve_checkpoint(checkpoint)
    contents = _load(path)
    hyper = dict(contents["hyper_parameters"])
    state = contents["state_dict"]
    info = contents.get("opkit") or {}
    data = info.get("data") or {}
    lines = [f"{path}  checkpoint  ({path.stat().st_size / 1e6:.1f} MB, Lightning "
             f"{contents.get('pytorch-lightning_version', '?')})"]
    arguments = ("width", "n_modes", "n_layers", "activation")
    shown = "  ".join(f"{key}={hyper[key]}" for key in arguments if hyper.get(key) is not None)
    lines.append(f"model: {hyper.get('model')}  {shown}".rstrip())
    if hyper.get("model_kwargs"):
        lines.append("  model_kwargs: " + ", ".join(f"{k}={v}" for k, v in hyper["model_kwargs"].items()))
    lines.append(f"parameters: {_parameter_count(hyper, state):,}")
    lines.append(f"channels: {hyper.get('in_channels')} -> {hyper.get('out_channels')} over "
                 f"{hyper.get('spatial_dims') or data.get('n_spatial_dims')} spatial axes")
    lines.append(f"training: loss {hyper.get('loss')}, {hyper.get('optimizer')} lr {hyper.get('lr')}, "
                 f"scheduler {hyper.get('scheduler')}; saved at epoch {contents.get('epoch', '?')} (counted from 0), "
                 f"step {contents.get('global_step', '?')}")
    if data:
        source = "/".join(str(data[key]) for key in ("pde", "preset") if data.get(key)) or "user data"
        resolution = "x".join(str(n) for n in data.get("resolution") or []) or "?"
        fields = ""
        if data.get("input_fields") or data.get("target_field"):
            fields = f"  fields {data.get('input_fields')} -> {data.get('target_field')}"
        lines.append(f"training data: {data.get('path')} ({source})  task={data.get('task')}  "
                     f"history={data.get('history')}  resolution={resolution}{fields}")
    else:
        lines.append("training data: not recorded (not written by OperatorModule)")
    for role in ("input", "target"):
        mean, std = state.get(f"{role}_normalizer.mean"), state.get(f"{role}_normalizer.std")
        if mean is not None and std is not None:
            lines.append(f"{role} normaliser: mean={_values(mean)} std={_values(std)}")
    errors = []
    for key, value in (contents.get("callbacks") or {}).items():
        if key.startswith("ModelCheckpoint") and isinstance(value, dict) and value.get("best_model_score") is not None:
            errors.append(f"best {value.get('monitor')} = {float(value['best_model_score']):.4g}")
    recorded = pretrained_errors().get(path.stem) if path.parent.name == "pretrained" else None
    if recorded:
        for key in ("test_relative_l2", "fresh_relative_l2", "test_mse", "fresh_mse"):
            if key in recorded:
                errors.append(f"{key.replace('_', ' ', 1)} = {recorded[key]:.4g}")
    lines.append("recorded errors: " + ("; ".join(errors) if errors else "none"))
    return "\n".join(lines)
