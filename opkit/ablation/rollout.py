"""``RolloutProbe``: how a step-trained operator's test error grows along its autoregressive rollout.

A run on time-dependent data (task ``step``: ``history`` frames -> the next frame) is
tested twice by ``opkit.training.run.run_experiment``: one step ahead, then by rollout over
the test trajectories (a ``rollout`` dataset: the first ``history`` frames of each
trajectory -> all its later frames, ``(batch, n_steps * channels, *spatial)``). During the
rollout test this callback rolls the model out again on each batch
(``OperatorModule.rollout``) and records, in ``<run_dir>/rollout_test.json``:

* per rollout step ``s = 1 .. n``: the relative L2 error ``||u_s - v_s|| / ||v_s||`` per
  trajectory, averaged over the test trajectories (what the module logs as
  ``test/rollout_relative_l2_step<s>``), and the stored frame ``s`` predicts;
* at an early (``1``), a middle (``ceil(n / 2)``) and the final (``n``) step: the shell
  spectra of the error, the true and the predicted frames pooled over the test
  trajectories (:class:`opkit.spectral.shells.ShellSums`), summarised by
  :func:`opkit.ablation.callbacks.spectral_summary` (band errors
  low / mid below the mode cutoff and high above it, resolved bandwidth, spectra up to the
  highest complete shell), and ``energy``: the whole spectra's sums per field, which by
  Parseval are the mean squares of the error, true and predicted frames.

The pooling is the ``AblationProbe``'s: per shell ``k``, ``E(k) = sum_trajectories E_traj(k)``,
so relative band errors are ratios of pooled energies. The sweep runner merges the file
into the run's record as ``metrics["rollout"]``. Sums are per process (one device).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

from opkit.io import write_text_atomic
from opkit.spectral.shells import ShellSums, module_mode_cutoff

ROLLOUT_FILE = "rollout_test.json"


def probe_steps(n_steps: int) -> dict[str, int]:
    """The rollout steps whose spectra are kept: ``{"early": 1, "middle": ceil(n / 2), "final": n}``."""
    return {"early": 1, "middle": (n_steps + 1) // 2, "final": n_steps}


class RolloutProbe(Callback):
    """Per-step relative L2 and three-step spectra of the test rollout (see module docstring).

    Args:
        threshold: relative error power under which a shell counts as resolved.
        mode_cutoff: band split; default the model's smallest ``n_modes``, else half the
            highest complete shell (as ``AblationProbe``).

    Only test batches whose target holds more frames than the model outputs (a trajectory)
    are probed; a one-step test leaves nothing to write.
    """

    def __init__(self, threshold: float = 0.1, mode_cutoff: int | None = None):
        super().__init__()
        self.threshold = threshold
        self.mode_cutoff = mode_cutoff
        self._reset()

    def _reset(self) -> None:
        self._n_steps: int | None = None
        self._relative_sums: torch.Tensor | None = None   # (n_steps,) sum over trajectories
        self._trajectories = 0
        self._spectra: dict[str, ShellSums] = {}   # name -> error, true and predicted energies pooled (K,)

    def on_test_start(self, trainer, pl_module) -> None:
        self._reset()

    @torch.no_grad()
    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        from opkit.training.losses import relative_l2

        inputs, target = batch[0], batch[1]
        out_channels = int(getattr(pl_module.hparams, "out_channels", 0) or 0)
        if (not callable(getattr(pl_module, "rollout", None)) or out_channels < 1
                or target.shape[1] <= out_channels or target.shape[1] % out_channels):
            return  # a one-step test batch
        n_steps = target.shape[1] // out_channels
        if self._n_steps is None:
            self._n_steps = n_steps
            self._relative_sums = torch.zeros(n_steps, dtype=torch.float64)
        elif n_steps != self._n_steps:  # trajectories of different lengths would pool unlike steps
            return
        prediction = pl_module.rollout(inputs, n_steps)
        batch_size = inputs.shape[0]
        # (batch, n_steps * channels, *spatial) -> (n_steps, batch, channels, *spatial)
        prediction = prediction.unflatten(1, (n_steps, out_channels)).transpose(0, 1)
        target = target.unflatten(1, (n_steps, out_channels)).transpose(0, 1)
        per_step = relative_l2(prediction.flatten(0, 1), target.flatten(0, 1), reduction="none")
        self._relative_sums += per_step.view(n_steps, batch_size).sum(1).double().cpu()
        self._trajectories += batch_size
        for name, step in probe_steps(n_steps).items():
            sums = ShellSums.of(prediction[step - 1].double(), target[step - 1].double()).to("cpu")
            previous = self._spectra.get(name)
            self._spectra[name] = sums if previous is None else previous + sums

    def on_test_end(self, trainer, pl_module) -> None:
        if self._n_steps is None or not self._trajectories:
            return
        from opkit.ablation.callbacks import spectral_summary

        cutoff = self.mode_cutoff or module_mode_cutoff(pl_module)
        first_frame = _first_target_frame(trainer, pl_module)
        steps = list(range(1, self._n_steps + 1))
        result = {
            "steps": steps,
            "frames": [first_frame + s - 1 for s in steps] if first_frame is not None else None,
            "relative_l2": (self._relative_sums / self._trajectories).tolist(),
            "trajectories": self._trajectories,
            "at": {},
        }
        for name, step in probe_steps(self._n_steps).items():
            sums = self._spectra[name]
            summary = spectral_summary(sums, self.threshold, cutoff)
            energy = {key: float(spectrum.sum()) / sums.fields
                      for key, spectrum in (("error", sums.error), ("true", sums.target), ("pred", sums.prediction))}
            result["at"][name] = {"step": step, "frame": result["frames"][step - 1] if result["frames"] else None,
                                  **summary, "energy": energy}
        text = json.dumps({"rollout": result}, indent=1) + "\n"
        write_text_atomic(Path(trainer.default_root_dir) / ROLLOUT_FILE, text)


def _first_target_frame(trainer, pl_module) -> int | None:
    """The stored frame index the first rollout step predicts (``history`` when rollouts start at frame 0)."""
    loaders = trainer.test_dataloaders
    loader = loaders[0] if isinstance(loaders, (list, tuple)) and loaders else loaders
    dataset = getattr(loader, "dataset", None)
    history = getattr(dataset, "history", None)
    if getattr(dataset, "task", None) != "rollout" or not isinstance(history, int):
        return None
    return history
