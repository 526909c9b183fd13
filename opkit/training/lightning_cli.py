"""``OperatorCLI``: the LightningCLI over ``OperatorModule`` and ``PDEDataModule``.

``train.py`` and ``opkit.training.run.run_experiment`` both build runs through this class,
so a YAML config means the same thing in both. What it adds to LightningCLI:

* ``data.in_channels`` / ``out_channels`` / ``spatial_dims`` are linked into the model at instantiation;
* a ``checkpoint`` section (a ``ModelCheckpoint``) keeping the best model by
  ``val/relative_l2`` and ``last.ckpt``, in ``<trainer.default_root_dir>/checkpoints`` so
  that ``--ckpt_path last`` finds it again after a crash;
* CSV logs (plus TensorBoard when it is installed) under ``<default_root_dir>/logs``;
* ``EpochTimer`` and ``DivergenceMonitor`` callbacks on every run;
* seed 0 by default, and a resumable shuffling loader in single-process runs so that a
  resumed run repeats the uninterrupted one exactly (``opkit.training.resumable``).
"""

from __future__ import annotations

import importlib.util
import os

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from opkit.training.callbacks import DivergenceMonitor, EpochTimer
from opkit.training.module import OperatorModule
from opkit.training.resumable import make_resumable

DEFAULT_ROOT = "runs"


def default_loggers(root: str) -> list:
    """CSV logs always; TensorBoard beside them when ``tensorboard`` is importable."""
    csv = CSVLogger(save_dir=root, name="logs")
    loggers = [csv]
    if importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None:
        loggers.append(TensorBoardLogger(save_dir=root, name="logs", version=csv.version))
    return loggers


def _default_datamodule_class():
    from opkit.data.datamodule import PDEDataModule

    return PDEDataModule


class OperatorCLI(LightningCLI):
    """LightningCLI with opkit's links, checkpointing, logging and callbacks (see module docstring).

    ``datamodule_class`` defaults to ``opkit.data.PDEDataModule``; tests pass a stand-in.
    Every other keyword goes to ``LightningCLI`` (``args=``, ``run=``...).
    """

    def __init__(self, datamodule_class=None, **kwargs):
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

    def before_instantiate_classes(self) -> None:
        config = self._section()
        root = config.trainer.default_root_dir or DEFAULT_ROOT
        config.trainer.default_root_dir = root
        if config.checkpoint.dirpath is None:
            config.checkpoint.dirpath = os.path.join(root, "checkpoints")
        data = config.get("data")
        if getattr(data, "get", None) and data.get("n_val") == 0:  # every sample trains: no validation loop,
            config.trainer.limit_val_batches = 0                    # and the checkpoint is the last epoch's
            if config.checkpoint.monitor == "val/relative_l2":
                config.checkpoint.monitor = None

    def instantiate_trainer(self, **kwargs):
        config = self._section()
        if config.trainer.get("logger") in (None, True):
            kwargs["logger"] = default_loggers(config.trainer.default_root_dir)
        return super().instantiate_trainer(**kwargs)

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        if self.trainer.world_size == 1 and self.datamodule is not None:
            seed = self._section().get("seed_everything")
            make_resumable(self.datamodule, seed if isinstance(seed, int) and not isinstance(seed, bool) else 0)
