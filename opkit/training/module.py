"""``OperatorModule``: the Lightning glue between a registry model, the data and the losses.

The constructor arguments are the config (LightningCLI sets each one, e.g.
``--model.activation snake``). The data normalisation is copied from the datamodule in
``setup()`` into two ``ChannelNormalizer`` submodules, so a checkpoint is self-contained:

    module = OperatorModule.load_from_checkpoint("runs/.../last.ckpt")
    prediction = module.predict(inputs)          # physical units in, physical units out

Data flow for one batch ``(inputs, target)`` in physical units:

    prediction = target_normalizer.decode(model(input_normalizer.encode(inputs)))
    loss       = loss_fn(prediction, target)            # relative L2 by default (FNO paper)

Metrics (relative L2 and MSE) are therefore in physical units as well.

Closed-form models (``closed_form = True``, e.g. ``linear_fourier``) are not trained by an
optimiser: each training epoch is one pass that ``accumulate``s the normalised pairs, and
``solve`` runs before validation (with a relative loss, each pair weighted by ``1 / ||u||^2``,
so the fit minimises the sum of squared relative errors, the closed-form neighbour of the
relative-L2 loss the networks train on); validation, testing, checkpoints and inference are as
for any model (``trainer.max_epochs: 1`` is all they need). The sums are per process: fit
them in one process (a DDP run would solve each rank's shard on its own).

Time-dependent data (Navier-Stokes, task ``step``): the model maps ``history`` frames to
the next frame. Training is one step ahead; with ``pushforward_steps = k > 0`` and a target
holding ``k + 1`` future frames (``data.future``), each batch is first unrolled ``j`` steps
without gradient, ``j`` drawn uniformly from ``0..k`` (torch's seeded generator), and the loss is
the next step from a history that ends in the model's own ``j`` predictions (Brandstetter et al.
2022, "Message passing neural PDE solvers", the pushforward trick).
Whenever a validation/test target has more channels than the model outputs, it is
read as a trajectory ``(batch, n_steps * out_channels, *spatial)`` and evaluated by
autoregressive rollout, logging the error per rollout step.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning import LightningModule
from torch import nn

from opkit.data.normalize import ChannelNormalizer
from opkit.errors import ConfigError
from opkit.training.arguments import check_arguments, compile_model, model_arguments
from opkit.training.losses import get_loss, mse, relative_h1, relative_l2

CHECKPOINT_KEY = "opkit"  # marks a checkpoint as written by OperatorModule
CHECKPOINT_FORMAT = 1


def build_operator(name: str, **kwargs) -> nn.Module:
    """``opkit.models.build_model`` (imported here so tests can stand in for it)."""
    from opkit.models import build_model

    return build_model(name, **kwargs)


def check_operator(name: str, **kwargs) -> None:
    """Refuse an unknown model name or an argument the model does not take, without building it."""
    from opkit.models.registry import check_model_arguments

    check_model_arguments(name, partial=True, **kwargs)


def describe_datamodule(datamodule) -> dict[str, Any]:
    """Plain facts about the training data for the checkpoint: ``PDEDataModule.description()``, or,
    for another datamodule, the number of spatial axes when it says."""
    description = getattr(datamodule, "description", None)
    if callable(description):
        return description()
    spatial = getattr(datamodule, "spatial_dims", None)
    if spatial is None:
        return {}
    return {"n_spatial_dims": spatial if isinstance(spatial, int) else len(spatial)}


class OperatorModule(LightningModule):
    """Train a neural operator ``(B, in_channels, *spatial) -> (B, out_channels, *spatial)``.

    Args:
        model: registry name (``opkit.models.list_models()``): "fno", "mgno", "kano", ...
        in_channels, out_channels, spatial_dims: linked from the datamodule by ``train.py``
            (``spatial_dims`` reaches models that take it, so ``n_modes: 16`` means 16 per axis).
        activation, width, n_modes, n_layers, bias, coordinates: the common model arguments;
            ``None`` leaves the model's own default (or ``model_kwargs``' value). ``coordinates:
            false`` also suits a model without coordinate channels (MgNO): nothing to remove.
        model_kwargs: any other model argument, passed through unchanged.
        loss: "relative_l2" (default), "relative_l1", "relative_h1" or "mse"; ``loss_kwargs``
            e.g. ``{"periodic": false}`` for relative H1 on a non-periodic grid.
        optimizer: "adam" or "adamw", with ``lr`` and ``weight_decay``.
        scheduler: "step" (multiply lr by ``scheduler_gamma`` every ``scheduler_step_size``
            epochs, as the FNO paper), "cosine" (to zero over the run, per step),
            "onecycle" (peak ``lr``, per step) or "none".
        pushforward_steps: extra unrolled steps for time-dependent training (see module docstring).
        compile: ``True`` runs the operator through ``torch.compile`` (in place, so checkpoints
            keep the plain parameter names); a mapping gives its keyword arguments, e.g.
            ``{"mode": "max-autotune"}``. The first batches wait for the compiler.
    """

    def __init__(
        self,
        model: str = "fno",
        in_channels: int = 1,
        out_channels: int = 1,
        spatial_dims: int | None = None,
        activation: str | None = "gelu",
        width: int | None = None,
        n_modes: int | list[int] | None = None,
        n_layers: int | None = None,
        bias: bool = True,
        coordinates: bool | None = None,
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "relative_l2",
        loss_kwargs: dict[str, Any] | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        scheduler: str | None = "step",
        scheduler_step_size: int = 100,
        scheduler_gamma: float = 0.5,
        pushforward_steps: int = 0,
        compile: bool | dict[str, Any] = False,
    ):
        super().__init__()
        check_arguments(model=model, loss=loss, loss_kwargs=loss_kwargs, optimizer=optimizer, lr=lr,
                        weight_decay=weight_decay, scheduler=scheduler, scheduler_step_size=scheduler_step_size,
                        scheduler_gamma=scheduler_gamma, pushforward_steps=pushforward_steps,
                        activation=None)  # the model checks its own activation and sizes
        if in_channels < 1 or out_channels < 1:
            raise ConfigError(f"OperatorModule: in_channels={in_channels}, out_channels={out_channels}; "
                              "expected positive channel counts")
        self.save_hyperparameters()
        arguments = model_arguments(model, model_kwargs, activation=activation, width=width, n_modes=n_modes,
                                    n_layers=n_layers, bias=bias, coordinates=coordinates, spatial_dims=spatial_dims)
        self.model = build_operator(model, in_channels=in_channels, out_channels=out_channels, **arguments)
        if compile is not False:
            compile_model(self.model, compile)
        self.loss_fn = get_loss(loss, **(loss_kwargs or {}))
        self.closed_form = bool(getattr(self.model, "closed_form", False))
        self.automatic_optimization = not self.closed_form
        self.input_normalizer = ChannelNormalizer.identity(in_channels)
        self.target_normalizer = ChannelNormalizer.identity(out_channels)
        self.data_description: dict[str, Any] = {}
        self.dynamics_path: str | None = None  # this run's spectral_dynamics.csv, when it writes one

    # ------------------------------------------------------------------ normalisation
    def setup(self, stage: str) -> None:
        """Copy the datamodule's normalisers (fitted on its training split) when fitting."""
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is None or stage != "fit":
            return
        self.data_description = describe_datamodule(datamodule)
        for name in ("input_normalizer", "target_normalizer"):
            source = getattr(datamodule, name, None)
            if source is None:
                continue
            target = getattr(self, name)
            if source.mean.numel() != target.mean.numel():
                raise ConfigError(f"OperatorModule: datamodule {name} has {source.mean.numel()} channels, "
                                  f"the model expects {target.mean.numel()}")
            target.load_state_dict(source.state_dict())
            target.eps = source.eps

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "input_eps": self.input_normalizer.eps,
            "target_eps": self.target_normalizer.eps,
            "data": dict(self.data_description),
        }
        if getattr(self, "dynamics_path", None):  # set by the SpectralDynamics callback of this run
            checkpoint[CHECKPOINT_KEY]["dynamics"] = str(self.dynamics_path)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        info = checkpoint.get(CHECKPOINT_KEY, {})
        self.input_normalizer.eps = float(info.get("input_eps", self.input_normalizer.eps))
        self.target_normalizer.eps = float(info.get("target_eps", self.target_normalizer.eps))
        self.data_description = dict(info.get("data", {}))
        datamodule_state = checkpoint.get("PDEDataModule")  # train.py checkpoints from before the split was recorded
        if "split" not in self.data_description and isinstance(datamodule_state, dict) \
                and isinstance(datamodule_state.get("splits"), dict):
            self.data_description["split"] = datamodule_state["splits"]
        self.dynamics_path = info.get("dynamics")

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Physical inputs ``(B, in_channels, *spatial)`` -> physical outputs ``(B, out_channels, *spatial)``."""
        return self.target_normalizer.decode(self.model(self.input_normalizer.encode(inputs)))

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
        """Evaluate on physical-unit inputs ``(B, in_channels, *spatial)`` at any supported resolution.

        Runs in eval mode on the module's device, in chunks of ``batch_size``; returns a CPU tensor
        ``(B, out_channels, *spatial)``.
        """
        inputs = torch.as_tensor(inputs, dtype=torch.float32)
        n_dims = self.data_description.get("n_spatial_dims")
        if inputs.dim() < 3 or inputs.shape[1] != self.hparams.in_channels or (
            n_dims is not None and inputs.dim() - 2 != n_dims
        ):
            spatial = f"{n_dims} spatial axes" if n_dims is not None else "*spatial"
            raise ConfigError(f"predict: inputs of shape {tuple(inputs.shape)}; this operator expects "
                              f"(batch, {self.hparams.in_channels} channels, {spatial})")
        was_training = self.training
        self.eval()
        outputs = [self(chunk.to(self.device)).cpu() for chunk in inputs.split(batch_size)]
        self.train(was_training)
        return torch.cat(outputs)

    def _frame_channels(self) -> int:
        """Input channels that hold past frames; the rest (coordinates) stay fixed during a rollout."""
        out_channels = self.hparams.out_channels
        history = self.data_description.get("history") or self.hparams.in_channels // out_channels
        frames = history * out_channels
        if frames > self.hparams.in_channels or frames < out_channels:
            raise ConfigError(
                f"OperatorModule: rollout needs an input window of past frames: in_channels="
                f"{self.hparams.in_channels}, out_channels={out_channels}, history={history}"
            )
        return frames

    def rollout(self, initial: torch.Tensor, n_steps: int) -> torch.Tensor:
        """Autoregressive rollout in physical units.

        initial: (B, in_channels, *spatial): the last ``history`` frames (``history * out_channels``
        channels), then any fixed channels such as coordinates.
        Returns (B, n_steps * out_channels, *spatial): frames t+1 ... t+n_steps.
        """
        frame_channels = self._frame_channels()
        window, fixed = initial[:, :frame_channels], initial[:, frame_channels:]
        frames = []
        for _ in range(n_steps):
            step = self(torch.cat([window, fixed], dim=1))
            frames.append(step)
            window = torch.cat([window[:, step.shape[1]:], step], dim=1)
        return torch.cat(frames, dim=1)

    # ------------------------------------------------------------------ steps
    def training_step(self, batch, batch_idx: int) -> torch.Tensor | None:
        inputs, target = batch
        out_channels = self.hparams.out_channels
        if self.closed_form:  # one step ahead for trajectories, like the first step of gradient training
            target = target[:, :out_channels]
            weights = None
            if self.hparams.loss.startswith("relative"):  # weighted like the loss: squared relative errors
                weights = 1.0 / target.flatten(1).square().sum(1).clamp_min(torch.finfo(target.dtype).tiny)
            self.model.accumulate(self.input_normalizer.encode(inputs), self.target_normalizer.encode(target),
                                  weights)
            return None
        frames = target.shape[1] // out_channels
        if self.hparams.pushforward_steps >= frames:  # never train one step ahead while pushforward was asked for
            raise ConfigError(f"OperatorModule: pushforward_steps={self.hparams.pushforward_steps} needs training "
                              f"targets of {self.hparams.pushforward_steps + 1} frames; the batches hold {frames} "
                              f"(set data.future: {self.hparams.pushforward_steps + 1})")
        if target.shape[1] == out_channels:
            prediction = self(inputs)
        else:
            # several future frames: one-step loss after 0..pushforward_steps unrolled steps, drawn per batch
            # (Brandstetter et al.: a fixed unroll never shows the model a true history, and it then
            # fails on the first step of every rollout)
            unrolled = int(torch.randint(0, self.hparams.pushforward_steps + 1, ()))
            window = inputs
            if unrolled:
                with torch.no_grad():
                    frames = self.rollout(inputs, unrolled)
                frame_channels = self._frame_channels()
                history = torch.cat([inputs[:, :frame_channels], frames], dim=1)[:, -frame_channels:]
                window = torch.cat([history, inputs[:, frame_channels:]], dim=1)
            prediction = self(window)
            target = target[:, unrolled * out_channels:(unrolled + 1) * out_channels]
        loss = self.loss_fn(prediction, target)
        batch_size = inputs.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        with torch.no_grad():
            self.log("train/relative_l2", relative_l2(prediction, target), batch_size=batch_size)
            self.log("train/mse", mse(prediction, target), batch_size=batch_size)
        return loss

    def _evaluate(self, batch, stage: str) -> dict[str, torch.Tensor]:
        inputs, target = batch
        out_channels = self.hparams.out_channels
        batch_size = inputs.shape[0]
        if target.shape[1] == out_channels:
            prediction = self(inputs)
        else:
            n_steps = target.shape[1] // out_channels
            prediction = self.rollout(inputs, n_steps)
            per_step = relative_l2(
                prediction.unflatten(1, (n_steps, out_channels)).transpose(0, 1).flatten(0, 1),
                target.unflatten(1, (n_steps, out_channels)).transpose(0, 1).flatten(0, 1),
                reduction="none",
            ).view(n_steps, batch_size).mean(dim=1)
            for step, value in enumerate(per_step, start=1):
                self.log(f"{stage}/rollout_relative_l2_step{step}", value, batch_size=batch_size, sync_dist=True)
        metrics = {"relative_l2": relative_l2(prediction, target), "mse": mse(prediction, target)}
        if stage == "test":
            # Second-order finite differences: one definition for every grid, periodic or not.
            metrics["relative_h1"] = relative_h1(prediction, target, periodic=False)
        if stage == "val":
            metrics["loss"] = self.loss_fn(prediction, target)
        for name, value in metrics.items():
            self.log(f"{stage}/{name}", value, prog_bar=(name == "relative_l2"), batch_size=batch_size,
                     sync_dist=True)
        return metrics

    def on_train_epoch_start(self) -> None:
        if self.closed_form:
            self.model.reset_fit()

    def on_validation_epoch_start(self) -> None:
        # Lightning validates before on_train_epoch_end: solve the epoch's sums first.
        if self.closed_form and self.model.fit_pending:
            self.model.solve()

    def on_train_epoch_end(self) -> None:
        if self.closed_form and self.model.fit_pending:  # no validation this epoch
            self.model.solve()

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0):
        return self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0):
        return self._evaluate(batch, "test")

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self(inputs)

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self):
        hp = self.hparams
        if self.closed_form:
            return None
        optimizer_class = torch.optim.AdamW if hp.optimizer.lower() == "adamw" else torch.optim.Adam
        optimizer = optimizer_class(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        name = str(hp.scheduler).lower()
        if name in ("none", "null"):
            return optimizer
        if name == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=hp.scheduler_step_size,
                                                        gamma=hp.scheduler_gamma)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        total_steps = max(1, int(self.trainer.estimated_stepping_batches)) if self._trainer is not None else 1
        if not math.isfinite(total_steps):
            raise ConfigError(f"OperatorModule: scheduler {name!r} needs a finite run (set trainer.max_epochs)")
        if name == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        else:
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=hp.lr, total_steps=total_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def parameter_count(self) -> int:
        """Trainable parameters of the operator (``opkit.models.count_parameters``)."""
        from opkit.models import count_parameters

        return count_parameters(self.model)
