"""``OperatorCLI``: the LightningCLI over ``OperatorModule`` and ``PDEDataModule``.

``train.py`` and ``opkit.training.run.run_experiment`` both build runs through this class,
so a YAML config means the same thing in both. What it adds to LightningCLI:

* every run in its own directory ``<trainer.default_root_dir>/version_N/`` holding
  ``checkpoints/`` (the best model by ``val/relative_l2``, and ``last.ckpt``), ``metrics.csv``,
  ``hparams.yaml`` and ``config.yaml`` (CSV logs, plus TensorBoard when it is installed), so
  two trainings of one config never share checkpoints or logs;
* ``--ckpt_path last`` resumes the newest run under the root whose ``config.yaml`` has the
  same ``model``, ``data`` and ``seed_everything`` as this config, in its own directory
  (its ``metrics.csv`` continues); with no such run it starts a new one; it refuses when
  the root holds checkpoints of unknown runs (the shared ``checkpoints/`` of older opkit);
* a checkpoint given to ``--ckpt_path`` is checked first: a Lightning checkpoint whose
  hyperparameters equal the model's, else one line naming the differences;
* model arguments and trainer limits are checked before the data is built;
* ``data.in_channels`` / ``out_channels`` / ``spatial_dims`` are linked into the model at instantiation;
* ``EpochTimer`` and ``DivergenceMonitor`` callbacks on every run;
* seed 0 by default, and a resumable shuffling loader in single-process runs so that a
  resumed run repeats the uninterrupted one exactly (``opkit.training.resumable``).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import sys
from pathlib import Path

import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from opkit.errors import ConfigError
from opkit.training import module as module_file
from opkit.training.arguments import check_arguments
from opkit.training.callbacks import DivergenceMonitor, EpochTimer
from opkit.training.module import OperatorModule
from opkit.training.resumable import make_resumable

DEFAULT_ROOT = "runs"
RUN_PREFIX = "version_"
# The config sections that make two runs "the same run": what is trained, on what, from which seed.
# Trainer settings (max_epochs, devices, progress bar) may change when a run is resumed.
IDENTITY_KEYS = ("model", "data", "seed_everything")


class _ContinuedWriter(ExperimentWriter):
    """A CSV writer that keeps the rows of an interrupted run up to the step it resumes from.

    Lightning's writer deletes an existing ``metrics.csv``; rows logged after the last
    checkpoint are dropped here because the resumed run logs those steps again.
    """

    def __init__(self, log_dir: str, resume_step: int):
        self._resume_step = resume_step
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        if not os.path.isfile(self.metrics_file_path):
            return
        with open(self.metrics_file_path, newline="") as handle:
            reader = csv.DictReader(handle)
            keys = list(reader.fieldnames or [])
            rows = [row for row in reader if not row.get("step") or int(float(row["step"])) <= self._resume_step]
        with open(self.metrics_file_path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        self.metrics_keys = keys


class RunCSVLogger(CSVLogger):
    """``CSVLogger`` writing straight into the run directory ``<root>/version_N`` (no ``logs/`` level).

    ``resume_step``: the run continues from a checkpoint at that global step; its earlier
    rows are kept (see ``_ContinuedWriter``).
    """

    def __init__(self, root: str, version: str, resume_step: int | None = None):
        super().__init__(save_dir=root, name="", version=version)
        self._resume_step = resume_step

    @property
    @rank_zero_experiment
    def experiment(self):
        if self._experiment is None and self._resume_step is not None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuedWriter(self.log_dir, self._resume_step)
        return super().experiment


class RunTensorBoardLogger(TensorBoardLogger):
    """TensorBoard events of one run, every stage kept.

    Lightning closes the writer after ``fit`` and ``test`` opens a new event file; tensorboardX
    names event files by the second and the host only, so a test that starts within the same
    second as fit ended replaced fit's file (the validation curves were lost). Each file written
    after the first gets its own suffix.
    """

    def finalize(self, status: str) -> None:
        super().finalize(status)
        self._experiment = None  # the next stage opens a new writer, with a new file name
        self._files = getattr(self, "_files", 0) + 1
        self._kwargs["filename_suffix"] = f".{os.getpid()}.{self._files}"


def default_loggers(root: str, version: str, resume_step: int | None = None) -> list:
    """CSV logs always; TensorBoard beside them when ``tensorboard`` is importable; both in ``<root>/<version>``."""
    loggers = [RunCSVLogger(root, version, resume_step)]
    if importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None:
        loggers.append(RunTensorBoardLogger(save_dir=root, name="", version=version))
    return loggers


def run_directories(root: str | os.PathLike) -> list[Path]:
    """``<root>/version_N`` folders, oldest (lowest N) first."""
    root = Path(root)
    found = [(int(match.group(1)), path) for path in (root.iterdir() if root.is_dir() else [])
             if path.is_dir() and (match := re.fullmatch(rf"{RUN_PREFIX}(\d+)", path.name))]
    return [path for _, path in sorted(found)]


def new_run_directory(root: str | os.PathLike) -> Path:
    """Create and return ``<root>/version_N`` with the next free N (``mkdir`` is the atomic claim)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    existing = run_directories(root)
    number = int(existing[-1].name[len(RUN_PREFIX):]) + 1 if existing else 0
    while True:
        path = root / f"{RUN_PREFIX}{number}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another training claimed it first
            number += 1


def _is_global_zero() -> bool:
    """Rank 0 of a distributed launch (or a single process); read from the launcher's environment."""
    for variable in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        value = os.environ.get(variable)
        if value not in (None, ""):
            return value == "0"
    return True


def _differences(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """``"model.activation gelu vs snake"`` for every leaf that differs (saved value first)."""
    lines = []
    for key in sorted(set(saved) | set(current), key=str):
        if str(key).startswith("_"):  # Lightning's own bookkeeping (_class_path, _instantiator)
            continue
        old, new = saved.get(key, "(unset)"), current.get(key, "(unset)")
        if isinstance(old, dict) and isinstance(new, dict):
            lines += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            lines.append(f"{prefix}{key} {old} vs {new}")
    return lines


def load_checkpoint_header(path: str | os.PathLike) -> dict:
    """The checkpoint dict at ``path`` (tensors only, no code run), refusing what train.py cannot resume."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--ckpt_path {path}: file not found; expected a checkpoint written by train.py, or 'last'")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean the same thing here
        raise ConfigError(f"--ckpt_path {path}: not a PyTorch checkpoint that loads safely ({type(error).__name__}); "
                          "expected a file written by train.py") from None
    if not isinstance(contents, dict) or "pytorch-lightning_version" not in contents:
        raise ConfigError(f"--ckpt_path {path}: not a Lightning checkpoint (no 'pytorch-lightning_version' entry); "
                          "expected a file written by train.py")
    if "state_dict" not in contents:
        raise ConfigError(f"--ckpt_path {path}: a Lightning checkpoint without 'state_dict' (weights); expected a "
                          "file written by train.py")
    return contents


def _default_datamodule_class():
    from opkit.data.datamodule import PDEDataModule

    return PDEDataModule


class OperatorCLI(LightningCLI):
    """LightningCLI with opkit's links, run directories, checks, logging and callbacks (see module docstring).

    ``datamodule_class`` defaults to ``opkit.data.PDEDataModule``; tests pass a stand-in.
    ``check_only=True`` parses and checks the config and stops before creating a directory or
    reading data (``opkit ablate`` checks every run this way before the first one starts).
    Every other keyword goes to ``LightningCLI`` (``args=``, ``run=``...).
    """

    def __init__(self, datamodule_class=None, check_only: bool = False, **kwargs):
        self.check_only = check_only
        self.run_dir: Path | None = None
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        trainer_defaults = {"default_root_dir": DEFAULT_ROOT}
        trainer_defaults.update(kwargs.pop("trainer_defaults", {}) or {})
        trainer_defaults["callbacks"] = [EpochTimer(), DivergenceMonitor()] + list(trainer_defaults.get("callbacks", []))
        super().__init__(
            OperatorModule,
            datamodule_class or _default_datamodule_class(),
            trainer_defaults=trainer_defaults,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.in_channels", "model.in_channels", apply_on="instantiate")
        parser.link_arguments("data.out_channels", "model.out_channels", apply_on="instantiate")
        parser.link_arguments("data.spatial_dims", "model.spatial_dims", apply_on="instantiate")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({
            "checkpoint.monitor": "val/relative_l2",
            "checkpoint.mode": "min",
            "checkpoint.save_last": True,
            "checkpoint.save_top_k": 1,
            "checkpoint.filename": "best-epoch{epoch}-step{step}",
            "checkpoint.auto_insert_metric_name": False,
        })

    def _section(self):
        return self.config[self.subcommand] if self.subcommand else self.config

    def _parse_ckpt_path(self) -> None:
        """Right after parsing: check the arguments (before seeding, data or directories).

        Lightning's version would silently replace the config's model arguments by the
        checkpoint's; ``_check_checkpoint`` refuses a checkpoint that differs from the config instead.
        """
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else self.config
        self._check_arguments(config)
        if config.get("ckpt_path") not in (None, "last", "best", "hpc", "registry"):
            self._checkpoint_header(config.ckpt_path)

    def _checkpoint_header(self, path) -> dict:
        """``load_checkpoint_header(path)``, read once per run."""
        cached = getattr(self, "_checkpoint_cache", None)
        if cached is None or cached[0] != path:
            cached = self._checkpoint_cache = (path, load_checkpoint_header(path))
        return cached[1]

    def _set_seed(self) -> None:
        if not self.check_only:  # checking a config leaves the global random state alone
            super()._set_seed()

    def before_instantiate_classes(self) -> None:
        config = self._section()
        if self.check_only:
            return
        root = config.trainer.default_root_dir or DEFAULT_ROOT
        config.trainer.default_root_dir = root
        ckpt_path = config.get("ckpt_path")
        if ckpt_path == "last":
            self.run_dir, config.ckpt_path = self._find_last_run(root)
        elif ckpt_path not in (None, "best", "hpc", "registry"):
            run = Path(ckpt_path).resolve().parent.parent  # a run's own checkpoint continues in that run
            if Path(ckpt_path).parent.name == "checkpoints" and run in [r.resolve() for r in run_directories(root)]:
                self.run_dir = Path(root) / run.name
        if self.subcommand != "fit":
            self.run_dir = None  # testing a run's checkpoint is a new run directory
        # the model's channels are linked from the data later; every other hyperparameter is known now
        self._check_checkpoint(config.model.as_dict(), linked_unknown=True)
        if self.run_dir is None:
            # DDP: rank 0 claims the directory before launching the other ranks, which then find
            # it as the newest; they never write there themselves (Lightning broadcasts rank 0's paths).
            self.run_dir = new_run_directory(root) if _is_global_zero() else (
                run_directories(root) or [Path(root) / f"{RUN_PREFIX}0"])[-1]
        if config.checkpoint.dirpath is None:
            config.checkpoint.dirpath = str(self.run_dir / "checkpoints")
        data = config.get("data")
        if getattr(data, "get", None) and data.get("n_val") == 0:  # every sample trains: no validation loop,
            config.trainer.limit_val_batches = 0                    # and the checkpoint is the last epoch's
            if config.checkpoint.monitor == "val/relative_l2":
                config.checkpoint.monitor = None

    def _check_arguments(self, config) -> None:
        """Model arguments and trainer limits, before any data is read (one ConfigError each)."""
        model = config.model.as_dict() if hasattr(config.model, "as_dict") else dict(config.model)
        check_arguments(**model)
        arguments = dict(model.get("model_kwargs") or {})
        for key in ("activation", "width", "n_modes", "n_layers", "bias"):
            if model.get(key) is not None:
                arguments[key] = model[key]
        module_file.check_operator(model.get("model", "fno"), **arguments)  # at call time: tests stand in a model
        trainer = config.trainer
        for key in ("max_epochs", "max_steps"):
            value = trainer.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < -1):
                raise ConfigError(f"--trainer.{key}={value}; expected a positive integer, or -1 for no limit")

    def _identity(self, config) -> dict:
        """The ``IDENTITY_KEYS`` sections of ``config`` as ``config.yaml`` stores them."""
        dumped = yaml.safe_load(self._parser(self.subcommand).dump(config, skip_none=False)) or {}
        return {key: dumped.get(key) for key in IDENTITY_KEYS}

    def _find_last_run(self, root: str) -> tuple[Path | None, str | None]:
        """``(run directory, its last.ckpt)`` of the newest run of this config under ``root``, or ``(None, None)``."""
        identity = self._identity(self._section())
        unknown, closest = [], None
        for run in reversed(run_directories(root)):
            last = run / "checkpoints" / "last.ckpt"
            if not last.is_file():
                continue
            saved_path = run / "config.yaml"
            try:
                saved = yaml.safe_load(saved_path.read_text()) if saved_path.is_file() else None
            except yaml.YAMLError:
                saved = None
            if not isinstance(saved, dict):
                unknown.append(run)
                continue
            differences = _differences({key: saved.get(key) for key in IDENTITY_KEYS}, identity)
            if not differences:
                return run, str(last)
            closest = closest or (run, differences)
        legacy = sorted(Path(root, "checkpoints").glob("last*.ckpt"))
        if unknown or legacy:
            found = ", ".join(str(path) for path in unknown + legacy)
            raise ConfigError(f"--ckpt_path last: {root} holds checkpoints whose config is unknown ({found}), so "
                              "which run to resume is ambiguous; pass --ckpt_path with the checkpoint file")
        if closest is not None:
            run, differences = closest
            print(f"train.py: no run of this config to resume under {root} (newest other run {run.name}: "
                  f"{'; '.join(differences[:3])}); starting a new run", file=sys.stderr)
        return None, None

    def _check_checkpoint(self, hyperparameters: dict, linked_unknown: bool = False) -> None:
        """Refuse a ``--ckpt_path`` file that is not a Lightning checkpoint of these hyperparameters.

        ``linked_unknown``: the linked ``in_channels``/``out_channels``/``spatial_dims`` are not set
        yet (before instantiation), so they are not compared.
        """
        path = self._section().get("ckpt_path")
        if path in (None, "last", "best", "hpc", "registry"):
            return
        saved = dict(self._checkpoint_header(path).get("hyper_parameters") or {})
        if linked_unknown:
            saved = {key: value for key, value in saved.items() if key in hyperparameters}
        differences = _differences(saved, dict(hyperparameters))
        if differences:
            raise ConfigError(f"--ckpt_path {path}: trained with other hyperparameters than this config "
                              f"(checkpoint vs config: {'; '.join(differences)}); use that run's config.yaml or "
                              "train without --ckpt_path")

    def _run_subcommand(self, subcommand: str) -> None:
        self._check_checkpoint(dict(self.model.hparams))  # now with the channels linked from the data
        super()._run_subcommand(subcommand)

    def instantiate_classes(self) -> None:
        if self.check_only:
            return
        super().instantiate_classes()
        if self.trainer.world_size == 1 and self.datamodule is not None:
            seed = self._section().get("seed_everything")
            make_resumable(self.datamodule, seed if isinstance(seed, int) and not isinstance(seed, bool) else 0)

    def instantiate_trainer(self, **kwargs):
        config = self._section()
        if config.trainer.get("logger") in (None, True):
            resume_step = None
            ckpt_path = config.get("ckpt_path")
            if self.subcommand == "fit" and ckpt_path not in (None, "last", "best", "hpc", "registry") \
                    and Path(ckpt_path).resolve().parent.parent == self.run_dir.resolve():
                resume_step = int(self._checkpoint_header(ckpt_path).get("global_step", 0))
            kwargs["logger"] = default_loggers(str(self.run_dir.parent), self.run_dir.name, resume_step)
        return super().instantiate_trainer(**kwargs)

