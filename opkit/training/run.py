"""``run_experiment``: one training run from a config, as ``train.py`` would run it, returning metrics.

This is the programmatic face of ``train.py`` (same ``OperatorCLI``, same defaults), used by
the ablation sweep runner and by ``python train.py`` without arguments:

    from opkit.training.run import run_experiment
    metrics = run_experiment("configs/darcy/fno.yaml", {"model.activation": "snake",
                             "trainer.max_epochs": 5}, run_dir="runs/darcy-snake", seed=1)
    metrics["test/relative_l2"], metrics["checkpoint"], metrics["diverged"]
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

from opkit.errors import ConfigError

# The default run of `python train.py` (and `make train`): a few minutes on a laptop CPU.
DEFAULT_EXPERIMENT: dict[str, Any] = {
    "model": {"model": "fno", "width": 32, "n_modes": 16, "n_layers": 4, "activation": "gelu",
              "lr": 1e-3, "weight_decay": 1e-4, "scheduler": "step", "scheduler_step_size": 25,
              "scheduler_gamma": 0.5},
    "data": {"path": "datasets/burgers_small.h5", "pde": "burgers", "preset": "small", "n_samples": 600,
             "n_train": 500, "n_val": 50, "n_test": 50, "batch_size": 20},
    "trainer": {"max_epochs": 100, "accelerator": "cpu", "devices": 1},
}


def _load_config(config: str | Path | dict) -> dict:
    if isinstance(config, dict):
        return copy.deepcopy(config)
    path = Path(config)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a YAML mapping of sections (model, data, trainer), got "
                          f"{type(loaded).__name__}")
    return loaded


def apply_overrides(config: dict, overrides: dict | None) -> dict:
    """Set ``overrides`` into ``config``: dotted keys (``"model.activation"``) or nested dicts.

    Values are copied in: a dict set here is ``config``'s own, so a later dotted key
    (``"model.model_kwargs.basis"``) changes ``config`` and never the caller's ``overrides``,
    which a sweep shares between runs.
    """
    for key, value in (overrides or {}).items():
        value = copy.deepcopy(value)
        if isinstance(value, dict) and "." not in key and isinstance(config.get(key), dict):
            apply_overrides(config[key], value)
            continue
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r}: {part!r} is not a section")
        node[leaf] = value
    return config


def train_main(argv: list[str] | None = None, prog: str = "train.py") -> int:
    """``train.py`` and ``opkit train``: the default run without arguments, else ``OperatorCLI`` over ``argv``.

    Shipped config names are resolved and ``fit`` is implied (``train_command.prepare_arguments``).
    An opkit ``ConfigError``/``DataError`` is printed as one line ``<prog>: error: ...`` and
    gives exit status 2 (a traceback would bury the message). Returns the exit status.
    """
    from opkit.errors import OpkitError
    from opkit.training.lightning_cli import OperatorCLI
    from opkit.training.train_command import prepare_arguments

    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        if not arguments:
            run_default()
        else:
            with _arguments_are_ours():
                OperatorCLI(args=prepare_arguments(arguments))
    except OpkitError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


@contextlib.contextmanager
def _arguments_are_ours():
    """Silence LightningCLI's warning about ``args`` given while ``sys.argv`` holds arguments: those
    are the caller's (``opkit train``, ``opkit ablate``, pytest), never meant for the training CLI."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        yield


def check_experiment(config: str | Path | dict, overrides: dict | None = None,
                     datamodule_class=None) -> None:
    """Parse ``config`` + ``overrides`` as ``run_experiment`` would and check them, without training.

    Raises one ``ConfigError`` naming the first key the training CLI rejects (unknown key,
    wrong type, unknown activation, negative learning rate...). Reads no data, writes nothing.
    """
    from opkit.training.lightning_cli import OperatorCLI

    settings = apply_overrides(_load_config(config), overrides)
    settings.pop("ckpt_path", None)
    _parse_cli(OperatorCLI, settings, datamodule_class, check_only=True)


def _parse_cli(cli_class, settings: dict, datamodule_class, **kwargs):
    """``cli_class(args=settings, run=False)``, with the parser's usage-and-exit turned into a ConfigError."""
    import jsonargparse

    try:
        with _arguments_are_ours():
            return cli_class(datamodule_class=datamodule_class, args=settings, run=False,
                             parser_kwargs={"exit_on_error": False}, **kwargs)
    except jsonargparse.ArgumentError as error:
        message = " ".join(str(error).split())
        raise ConfigError(f"training config: {message}") from None


def run_experiment(config: str | Path | dict, overrides: dict | None = None, run_dir: str | Path = "runs/experiment",
                   seed: int = 0, datamodule_class=None, progress_bar: bool = True) -> dict[str, Any]:
    """Fit and test one operator; return its metrics.

    Args:
        config: a YAML path (as given to ``train.py --config``) or the same content as a dict.
        overrides: ``{"model.activation": "snake", "trainer.max_epochs": 10}`` (dotted or nested).
        run_dir: ``trainer.default_root_dir``: the run writes ``<run_dir>/version_N/`` (N = 0 in a
            fresh folder) with ``checkpoints/``, ``metrics.csv`` and ``config.yaml``.
        seed: ``seed_everything``; the same seed gives the same metrics on the same machine.
        datamodule_class: stand-in for ``PDEDataModule`` (tests).

    Returns a dict with ``test/relative_l2``, ``test/mse`` (physical units, best checkpoint),
    any other ``test/...`` metric, ``rollout/...`` metrics for time-dependent data,
    ``parameters``, ``epochs``, ``seconds_per_epoch``, ``checkpoint`` (best, or last),
    ``last_checkpoint``, ``log_dir``, ``diverged`` and ``diverged_epoch`` (None unless
    the training loss became NaN/inf; then the test metrics are NaN and no test is run).
    """
    from opkit.training.callbacks import DivergenceMonitor, EpochTimer
    from opkit.training.lightning_cli import OperatorCLI

    settings = apply_overrides(_load_config(config), overrides)
    settings.setdefault("trainer", {})
    settings["trainer"]["default_root_dir"] = str(run_dir)
    settings["trainer"].setdefault("enable_progress_bar", progress_bar)
    settings["seed_everything"] = int(seed)
    settings.pop("ckpt_path", None)
    start = time.perf_counter()
    cli = _parse_cli(OperatorCLI, settings, datamodule_class)
    trainer, module, datamodule = cli.trainer, cli.model, cli.datamodule
    trainer.fit(module, datamodule=datamodule)
    timer = next(c for c in trainer.callbacks if isinstance(c, EpochTimer))
    monitor = next(c for c in trainer.callbacks if isinstance(c, DivergenceMonitor))
    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint is not None else ""
    last = checkpoint.last_model_path if checkpoint is not None else ""
    results: dict[str, Any] = {
        "parameters": module.parameter_count(),
        "epochs": trainer.current_epoch,
        "seconds_per_epoch": timer.mean_epoch_seconds,
        "checkpoint": best or last,
        "last_checkpoint": last,
        "log_dir": trainer.log_dir,
        "diverged": monitor.diverged,
        "diverged_epoch": monitor.diverged_epoch,
        "seed": int(seed),
    }
    if monitor.diverged:
        results.update({"test/relative_l2": math.nan, "test/mse": math.nan})
    else:
        tested = trainer.test(module, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        results.update({key: float(value) for key, value in tested[0].items()})
        results.update(_rollout_metrics(trainer, module, datamodule))
    results["seconds"] = time.perf_counter() - start
    return results


def _rollout_metrics(trainer, module, datamodule) -> dict[str, float]:
    """For one-step (``step`` task) data: autoregressive rollout over the test trajectories."""
    rollout_dataloader = getattr(datamodule, "rollout_dataloader", None)
    loader = rollout_dataloader() if callable(rollout_dataloader) else None
    if loader is None:
        return {}
    tested = trainer.test(module, dataloaders=loader, verbose=False)
    return {key.replace("test/", "rollout/", 1): float(value) for key, value in tested[0].items()}


def run_default() -> dict[str, Any]:
    """``python train.py`` without arguments: the embedded Burgers + FNO run, with a summary."""
    run_dir = Path("runs/default")
    print(f"opkit: default run (Burgers 'small' preset, FNO); data in datasets/, outputs in {run_dir}/")
    results = run_experiment(DEFAULT_EXPERIMENT, run_dir=run_dir, seed=0)
    print()
    print(f"test relative L2 error: {results['test/relative_l2']:.4f}   test MSE: {results['test/mse']:.3e}")
    print(f"parameters: {results['parameters']:,}   epochs: {results['epochs']}   "
          f"seconds per epoch: {results['seconds_per_epoch']:.1f}")
    print(f"checkpoint: {results['checkpoint']}")
    print(f"logs:       {results['log_dir']}")
    print(f"predict with: opkit evaluate --ckpt {results['checkpoint']} --data {DEFAULT_EXPERIMENT['data']['path']}")
    return results
