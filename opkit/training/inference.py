"""Use a trained operator: load a checkpoint (or a shipped one by name), predict, evaluate.

    import opkit
    operator = opkit.load_operator("fno-darcy")          # or a path to any train.py checkpoint
    solution = operator.predict(coefficient)             # (B, 1, 85, 85) physical units -> same
    metrics = evaluate(operator, "datasets/darcy_test.h5", resolution=128)   # zero-shot super-resolution
    metrics = evaluate(operator, "datasets/darcy_small.h5")   # its training file: the stored test split
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from opkit.errors import ConfigError, DataError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def pretrained_checkpoints() -> dict[str, Path]:
    """Shipped checkpoints by name (``"fno-darcy"`` -> ``opkit/pretrained/fno-darcy.ckpt``)."""
    return {path.stem: path for path in sorted(PRETRAINED_DIR.glob("*.ckpt"))}


def pretrained_errors() -> dict[str, Any]:
    """The recorded test errors of the shipped checkpoints (``opkit/pretrained/errors.json``)."""
    path = PRETRAINED_DIR / "errors.json"
    return json.loads(path.read_text()) if path.exists() else {}


def resolve_checkpoint(checkpoint: str | Path) -> Path:
    """A checkpoint path, or the shipped checkpoint called ``checkpoint``; DataError when neither exists."""
    path = Path(checkpoint)
    if path.is_file():
        return path
    shipped = pretrained_checkpoints()
    if str(checkpoint) in shipped:
        return shipped[str(checkpoint)]
    names = ", ".join(shipped) or "none installed"
    raise DataError(path, f"checkpoint not found; expected a file written by train.py or a shipped name ({names})")


def load_checkpoint_contents(path: str | Path) -> Any:
    """The unpickled contents of a checkpoint file, loaded with ``weights_only=True``.

    Only tensors and plain values (dict, list, str, numbers...) are unpickled, so a file that
    carries other pickled objects (whose ``__reduce__`` could run arbitrary code) is refused
    with a DataError before anything in it runs. Every train.py and shipped checkpoint is
    plain weights.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights only" not in str(error).lower():
            raise DataError(path, f"not a PyTorch checkpoint ({type(error).__name__}); expected a file written "
                                  "by train.py") from None
        blocked = re.search(r"GLOBAL ([\w.]+)", str(error))
        holds = f" such as {blocked.group(1)}" if blocked else ""
        raise DataError(path, f"not a plain-weights opkit checkpoint: it holds pickled objects{holds} that could "
                              "run code when loaded; refused without loading it (expected tensors and plain "
                              "values, as train.py writes)") from None
    except Exception as error:  # zip, pickle and torch errors all mean the same thing here
        raise DataError(path, f"not a PyTorch checkpoint ({type(error).__name__}); expected a file written by "
                              "train.py") from None


def load_operator(checkpoint: str | Path, map_location: str | torch.device = "cpu"):
    """The ``OperatorModule`` in ``checkpoint`` (path or shipped name), in eval mode, normalisation included.

    Call ``.predict(inputs)`` with physical-unit inputs ``(B, in_channels, *spatial)``.
    """
    from opkit.training.module import CHECKPOINT_KEY, OperatorModule

    path = resolve_checkpoint(checkpoint)
    contents = load_checkpoint_contents(path)
    if not isinstance(contents, dict) or CHECKPOINT_KEY not in contents or "state_dict" not in contents:
        raise DataError(path, "not an opkit checkpoint (no 'opkit' entry); expected a file written by train.py "
                              "or OperatorModule")
    if "pytorch-lightning_version" not in contents:  # Lightning's loader would stop with a KeyError
        raise DataError(path, "not a Lightning checkpoint (no 'pytorch-lightning_version' entry); expected a file "
                              "written by train.py or OperatorModule")
    # weights_only again: the file could have been swapped since it was checked
    module = OperatorModule.load_from_checkpoint(path, map_location=map_location, weights_only=True)
    module.eval()
    module.checkpoint_path = str(path)
    return module


def _dataset_for(operator, data: str | Path, resolution=None, task: str | None = None, indices=None):
    """A ``PDEDataset`` over ``data`` (samples ``indices``, default all) shaped like the operator's training data.

    Raises a clear DataError when the file does not fit the operator or holds no samples.
    """
    from opkit.data.dataset import PDEDataset

    description = operator.data_description
    trained_task = description.get("task") or "auto"
    history = int(description.get("history") or 1)
    options = {"coordinates": bool(description.get("coordinates") or False)}
    if description.get("time_index") is not None and (task or trained_task) == "static":
        options["time_index"] = int(description["time_index"])
    for key in ("input_fields", "target_field"):  # recorded when the training config named them
        if description.get(key):
            options[key] = description[key]
    dataset = PDEDataset(data, task=task or trained_task, history=history, resolution=resolution, indices=indices,
                         **options)
    if len(dataset) == 0:
        raise DataError(data, "no samples; expected at least one")
    in_channels = operator.hparams.in_channels
    if dataset.in_channels != in_channels:
        raise DataError(data, f"{dataset.in_channels} input channels ({dataset.task} task); the checkpoint "
                              f"expects {in_channels}")
    n_dims = description.get("n_spatial_dims")
    if n_dims is not None and len(dataset.spatial_dims) != n_dims:
        raise DataError(data, f"{len(dataset.spatial_dims)} spatial axes {tuple(dataset.spatial_dims)}; the "
                              f"checkpoint was trained on {n_dims}")
    return dataset


SPLITS = ("test", "val", "train", "all")


def evaluation_split(operator, data: str | Path, split: str | None = None) -> tuple[str, list[int] | None, str]:
    """Which samples of ``data`` to score: ``(split, sample indices or None for all, a sentence saying why)``.

    ``split=None`` scores the checkpoint's stored test split when ``data`` is its training
    file (recognised by content, see ``opkit.data.provenance``) and every sample otherwise.
    ``"test"``, ``"val"`` and ``"train"`` need the training file; ``"all"`` takes every sample.
    """
    from opkit.data.formats import open_dataset_file
    from opkit.data.provenance import same_data

    if split is not None and split not in SPLITS:
        raise ConfigError(f"split={split!r}; expected one of {', '.join(SPLITS)}")
    description = operator.data_description
    recorded, source = description.get("split"), description.get("source")
    with open_dataset_file(data) as datafile:
        n_samples = datafile.n_samples
        if source is not None:
            training_file = same_data(source, datafile)
        else:  # a checkpoint without the file's identity: only the same path counts
            trained_on = description.get("path")
            training_file = trained_on is not None and Path(trained_on).resolve() == Path(data).resolve()
        test_file = description.get("test_source")
        test_file = test_file is not None and same_data(test_file, datafile)
    if split is None:
        split = "test" if training_file and recorded is not None else "all"
    if split == "all":
        if training_file:
            why = "every sample, including the ones the checkpoint was trained on"
        elif test_file:
            why = "every sample of the checkpoint's test file"
        elif source is None and recorded is None:
            why = "every sample (the checkpoint records no training file to tell seen samples apart)"
        else:
            why = "every sample (not the checkpoint's training file)"
        return "all", None, why
    trained_on = description.get("path") or "unknown"
    if recorded is None:
        raise DataError(data, f"split {split!r}: the checkpoint records no train/val/test split; expected "
                              "split 'all'")
    if not training_file:
        raise DataError(data, f"split {split!r}: not the checkpoint's training file ({trained_on}), so none of its "
                              "samples was used in training; expected split 'all' (the default for other files)")
    indices = [int(i) for i in recorded.get(split, []) if int(i) < n_samples]
    if not indices:
        where = (" (the test samples came from a separate test file)" if split == "test" and test_file is False
                 and description.get("test_source") else "")
        raise DataError(data, f"split {split!r}: none of the checkpoint's {split} samples is in this file{where}; "
                              "expected another split or 'all'")
    why = f"the checkpoint's {split} split of its training file"
    stored = len(recorded.get(split, []))
    if len(indices) < stored:
        why += f" ({len(indices)} of its {stored} {split} samples are in this file)"
    return split, indices, why


def _batches(dataset, batch_size: int):
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        yield torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


@torch.no_grad()
def evaluate(operator, data: str | Path, resolution=None, batch_size: int = 32,
             progress: bool = False, split: str | None = None) -> dict[str, Any]:
    """Relative L2 and MSE (physical units) of ``operator`` on the samples of ``data`` it never trained on.

    ``operator``: a loaded operator or a checkpoint path/name. ``split``: ``None`` (default)
    scores the checkpoint's stored test split when ``data`` is its training file and every
    sample of any other file; ``"test"``, ``"val"``, ``"train"`` or ``"all"`` choose (see
    :func:`evaluation_split`). ``resolution``: evaluate at this spatial resolution
    (subsampled from the file), which may differ from training (zero-shot
    super-resolution). One-step (time-dependent) operators are evaluated by autoregressive
    rollout over each trajectory, with the error per rollout step. The result names the
    ``split`` scored, why (``split_description``) and the number of ``samples``.
    """
    from tqdm.auto import tqdm

    from opkit.training.losses import mse, relative_l2

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size={batch_size!r}; expected a positive integer")
    if not hasattr(operator, "predict"):
        operator = load_operator(operator)
    split, indices, why = evaluation_split(operator, data, split)
    trained_task = operator.data_description.get("task")
    rollout = trained_task == "step"
    dataset = _dataset_for(operator, data, resolution, task="rollout" if rollout else None, indices=indices)
    out_channels = operator.hparams.out_channels
    if not rollout and dataset.out_channels != out_channels:
        raise DataError(data, f"{dataset.out_channels} target channels; the checkpoint predicts {out_channels}")
    errors, squares, counts, steps = [], 0.0, 0, None
    for inputs, target in tqdm(_batches(dataset, batch_size), total=-(-len(dataset) // batch_size),
                               disable=not progress, desc="evaluate"):
        if rollout:
            n_steps = target.shape[1] // out_channels
            prediction = operator.rollout(inputs.to(operator.device), n_steps).cpu()
            per_step = relative_l2(prediction.unflatten(1, (n_steps, -1)).transpose(0, 1).flatten(0, 1),
                                   target.unflatten(1, (n_steps, -1)).transpose(0, 1).flatten(0, 1),
                                   reduction="none").view(n_steps, -1).sum(dim=1)
            steps = per_step if steps is None else steps + per_step
        else:
            prediction = operator.predict(inputs, batch_size=batch_size)
        errors.append(relative_l2(prediction, target, reduction="none"))
        squares += float(mse(prediction, target, reduction="sum"))
        counts += target.shape[0]
    errors = torch.cat(errors)
    result = {
        "relative_l2": float(errors.mean()),
        "relative_l2_std": float(errors.std()) if errors.numel() > 1 else 0.0,
        "mse": squares / counts,
        "samples": counts,
        "split": split,
        "split_description": why,
        "resolution": list(dataset.spatial_shape),
        "trained_resolution": operator.data_description.get("resolution"),
    }
    if steps is not None:
        result["rollout_relative_l2"] = (steps / counts).tolist()
    return result


@torch.no_grad()
def predict_file(operator, data: str | Path, out: str | Path, resolution=None, batch_size: int = 32,
                 progress: bool = True, overwrite: bool = False) -> Path:
    """Write ``operator``'s predictions for every sample of ``data`` to ``out`` (opkit schema, atomic).

    The file holds fields ``prediction`` (and ``target`` when the data has one) with the
    input file's coordinates (subsampled to ``resolution``) and boundary conditions; its
    attributes name the checkpoint (``checkpoint``, ``model``) and the source (``source``).
    One-step operators write the autoregressive rollout, with a time axis. An existing
    ``out`` is refused unless ``overwrite``; ``out == data`` always (``ConfigError``).
    """
    from tqdm.auto import tqdm

    from opkit.data.formats import open_dataset_file
    from opkit.data.schema import FieldLayout
    from opkit.data.writer import create_file, finalize, write_samples
    from opkit.io import atomic_path, check_output_path

    out = check_output_path(out, inputs=[data], overwrite=overwrite)
    if not hasattr(operator, "predict"):
        operator = load_operator(operator)
    rollout = operator.data_description.get("task") == "step"
    dataset = _dataset_for(operator, data, resolution, task="rollout" if rollout else None)
    spatial_dims = tuple(dataset.spatial_dims)
    spatial_shape = tuple(dataset.spatial_shape)
    out_channels = operator.hparams.out_channels
    n_frames = dataset.out_channels // out_channels if rollout else 1
    if rollout:
        dims, shape = ("t", *spatial_dims), (n_frames, *spatial_shape)
    elif out_channels == 1:
        dims, shape = spatial_dims, spatial_shape
    else:
        dims, shape = (*spatial_dims, "component"), (*spatial_shape, out_channels)

    def stored(tensor: torch.Tensor) -> np.ndarray:
        array = tensor.numpy()
        if not rollout and out_channels == 1:
            return array[:, 0]
        if not rollout:
            return np.moveaxis(array, 1, -1)
        return array

    with open_dataset_file(data) as source:
        coords = {name: np.asarray(values)[::stride] for name, values, stride in
                  ((d, source.coords[d], s) for d, s in zip(spatial_dims, dataset.strides) if d in source.coords)}
        if rollout and "t" in source.coords:
            coords["t"] = np.asarray(source.coords["t"])[dataset.history:]
        boundary_conditions = dict(source.boundary_conditions)
        pde, preset = source.pde or "unknown", str(source.attrs.get("preset", "unknown"))
    fields = [FieldLayout("prediction", dims, shape, f"operator prediction ({operator.hparams.model})")]
    has_target = rollout or dataset.out_channels == out_channels
    if has_target:
        fields.append(FieldLayout("target", dims, shape, "reference solution from the data file"))
    checkpoint = getattr(operator, "checkpoint_path", "")
    with atomic_path(out) as temporary:
        handle = create_file(
            temporary, pde=pde, preset=preset, solver=f"neural operator {operator.hparams.model}",
            params={"resolution": list(spatial_shape)}, fields=fields, coords=coords,
            boundary_conditions=boundary_conditions, n_samples=len(dataset), base_seed=None,
            extra_attrs={"checkpoint": str(checkpoint), "model": str(operator.hparams.model),
                         "source": str(data), "kind": "prediction"})
        try:
            position = 0
            for inputs, target in tqdm(_batches(dataset, batch_size), total=-(-len(dataset) // batch_size),
                                       disable=not progress, desc="predict"):
                if rollout:
                    prediction = operator.rollout(inputs.to(operator.device), n_frames).cpu()
                else:
                    prediction = operator.predict(inputs, batch_size=batch_size)
                arrays = {"prediction": stored(prediction)}
                if has_target:
                    arrays["target"] = stored(target)
                write_samples(handle, np.arange(position, position + len(inputs)), arrays)
                position += len(inputs)
            finalize(handle)
        finally:
            handle.close()
    return out


def predict(checkpoint, inputs: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """One-call inference: ``load_operator(checkpoint).predict(inputs)``."""
    operator = checkpoint if hasattr(checkpoint, "predict") else load_operator(checkpoint)
    if not isinstance(inputs, torch.Tensor):
        raise ConfigError(f"predict: inputs must be a torch.Tensor (batch, channels, *spatial), got "
                          f"{type(inputs).__name__}")
    return operator.predict(inputs, batch_size=batch_size)
