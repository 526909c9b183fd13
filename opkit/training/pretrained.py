"""Produce the shipped checkpoints in ``opkit/pretrained/`` from the configs in ``configs/``.

    python -m opkit.training.pretrained                 # all of them (run from the repository root)
    python -m opkit.training.pretrained fno-darcy       # one

Each checkpoint is a repo config (``configs/<pde>/<model>.yaml``) with the overrides below:
the ``small`` data preset, a smaller model (the whole set stays under 20 MB) and a short
run. The best checkpoint is stripped of optimizer and loop state, copied to
``opkit/pretrained/<name>.ckpt`` and evaluated on a *fresh* test set generated with
another base seed (``FRESH``); ``opkit/pretrained/errors.json`` records the errors, the
config, the overrides and the fresh-data recipe, so a test can regenerate that set and
check that the shipped checkpoint still reaches the recorded error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from opkit.errors import ConfigError
from opkit.io import atomic_path, write_text_atomic
from opkit.training.inference import PRETRAINED_DIR, load_checkpoint_contents

# Small-preset data shared by every pretrained run of one PDE.
SMALL_DATA: dict[str, dict[str, Any]] = {
    "burgers": {"data.path": "datasets/burgers_small.h5", "data.preset": "small", "data.n_samples": 600,
                "data.n_train": 500, "data.n_val": 50, "data.n_test": 50, "data.resolution": None,
                "data.batch_size": 20},
    "darcy": {"data.path": "datasets/darcy_small.h5", "data.preset": "small", "data.n_samples": 600,
              "data.n_train": 500, "data.n_val": 50, "data.n_test": 50, "data.resolution": None,
              "data.batch_size": 20},
}
# The fresh test set: same preset, a base seed no training sample used.
FRESH = {"n_samples": 32, "base_seed": 1000}

PRETRAINED: dict[str, dict[str, Any]] = {
    "fno-burgers": {"config": "configs/burgers/fno.yaml", "pde": "burgers",
                    "overrides": {"model.width": 32, "model.n_modes": 16, "trainer.max_epochs": 100,
                                  "model.scheduler_step_size": 20}},
    "mgno-burgers": {"config": "configs/burgers/mgno.yaml", "pde": "burgers",
                     "overrides": {"model.width": 16, "model.n_layers": 4, "trainer.max_epochs": 30}},
    "kano-burgers": {"config": "configs/burgers/kano.yaml", "pde": "burgers",
                     "overrides": {"model.model_kwargs.target_parameters": 139745,  # = fno-burgers
                                   "trainer.max_epochs": 30, "model.scheduler_step_size": 6}},
    "fno-darcy": {"config": "configs/darcy/fno.yaml", "pde": "darcy",
                  "overrides": {"model.width": 16, "model.n_modes": 8, "trainer.max_epochs": 40,
                                "model.scheduler_step_size": 10}},
    "mgno-darcy": {"config": "configs/darcy/mgno.yaml", "pde": "darcy",
                   "overrides": {"model.width": 16, "model.n_layers": 4, "trainer.max_epochs": 15}},
    "kano-darcy": {"config": "configs/darcy/kano.yaml", "pde": "darcy",
                   # trained (and evaluated) at 32x32: the KAN paths make a 64x64 epoch take minutes on CPU
                   "overrides": {"model.model_kwargs.target_parameters": 265601, "model.n_modes": 8,  # = fno-darcy
                                 "data.resolution": 32, "trainer.max_epochs": 15, "model.scheduler_step_size": 3}},
}
# What a shipped checkpoint keeps: enough for OperatorModule.load_from_checkpoint.
KEEP = ("state_dict", "hyper_parameters", "opkit", "epoch", "global_step", "pytorch-lightning_version")


def fresh_data_path(pde: str, directory: str | Path = "datasets") -> Path:
    return Path(directory) / f"{pde}_small_fresh{FRESH['base_seed']}.h5"


def generate_fresh(pde: str, directory: str | Path = "datasets", progress: bool = False) -> Path:
    """The fresh test set of ``pde`` (generated once, then reused)."""
    from opkit.data.generate import generate_preset

    path = fresh_data_path(pde, directory)
    if not path.exists():
        generate_preset(pde, SMALL_DATA[pde]["data.preset"], FRESH["n_samples"], path,
                        base_seed=FRESH["base_seed"], progress=progress)
    return path


def strip_checkpoint(source: str | Path, target: str | Path) -> int:
    """Copy the parts of a Lightning checkpoint needed for inference; return the file size."""
    contents = load_checkpoint_contents(source)  # weights only: no pickled code runs
    kept = {key: contents[key] for key in KEEP if key in contents}
    with atomic_path(target) as temporary:
        torch.save(kept, temporary)
    return Path(target).stat().st_size


def make_pretrained(names: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Train, strip, evaluate and record the named checkpoints (all by default)."""
    from opkit.training.inference import evaluate, load_operator
    from opkit.training.run import run_experiment

    unknown = sorted(set(names or []) - set(PRETRAINED))
    if unknown:
        raise ConfigError(f"unknown pretrained name(s) {unknown}; valid: {', '.join(PRETRAINED)}")
    errors_path = PRETRAINED_DIR / "errors.json"
    record = json.loads(errors_path.read_text()) if errors_path.exists() else {}
    for name in names or list(PRETRAINED):
        recipe = PRETRAINED[name]
        overrides = {**SMALL_DATA[recipe["pde"]], **recipe["overrides"]}
        results = run_experiment(recipe["config"], overrides, run_dir=Path("runs/pretrained") / name, seed=seed)
        target = PRETRAINED_DIR / f"{name}.ckpt"
        size = strip_checkpoint(results["checkpoint"], target)
        resolution = overrides.get("data.resolution")
        fresh = evaluate(load_operator(target), generate_fresh(recipe["pde"]), resolution=resolution)
        record[name] = {
            "config": recipe["config"], "overrides": overrides, "seed": seed,
            "test_relative_l2": results["test/relative_l2"], "test_mse": results["test/mse"],
            "fresh_relative_l2": fresh["relative_l2"], "fresh_mse": fresh["mse"],
            "fresh_data": {"pde": recipe["pde"], "preset": SMALL_DATA[recipe["pde"]]["data.preset"],
                           "resolution": resolution, **FRESH},
            "parameters": results["parameters"], "epochs": results["epochs"],
            "seconds_per_epoch": round(results["seconds_per_epoch"], 2), "size_bytes": size,
        }
        # re-read first: several recipes may be made by parallel processes
        current = json.loads(errors_path.read_text()) if errors_path.exists() else {}
        current[name] = record[name]
        write_text_atomic(errors_path, json.dumps(current, indent=2, sort_keys=True) + "\n")
        print(f"{name}: test relative L2 {results['test/relative_l2']:.4f}, fresh {fresh['relative_l2']:.4f}, "
              f"{size / 1e6:.2f} MB")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"checkpoints to make (default all: {', '.join(PRETRAINED)})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_pretrained(args.names or None, seed=args.seed)


if __name__ == "__main__":
    main()
