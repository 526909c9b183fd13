"""Cost of opkit's spectral evaluation next to the model it evaluates.

1. Metrics on a full test set against the model's forward pass over the same set
   (target: under 10 %): error spectrum, spectral ratio, cutoff / PDEBench / The Well band
   errors and resolved bandwidth, all from ``opkit.spectral.metrics``.
2. The same PDEBench fRMSE computed the way PDEBench's reference code does it (a Python
   loop over the quadrant's modes), as the peer for our vectorised shell binning.
3. The ``SpectralDynamics`` callback's overhead per training epoch at its default
   interval (every epoch, 16 samples; target: under 5 %).

The model is opkit's FNO (``opkit.models.build_model("fno")``) when available, else a
small convolutional network; the table says which.

    python benchmarks/bench_spectral.py            # 2D 64x64, 256 test samples
    python benchmarks/bench_spectral.py --quick    # 2D 32x32, 64 test samples
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn


def build_network(resolution: int):
    try:
        from opkit.models import build_model

        return build_model("fno", in_channels=1, out_channels=1, width=32, n_modes=12, n_layers=4, spatial_dims=2), "opkit FNO (width 32, 12 modes, 4 layers)"
    except Exception:  # noqa: BLE001  any failure: fall back to a local network
        network = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2, padding_mode="circular"), nn.GELU(),
            nn.Conv2d(32, 32, 5, padding=2, padding_mode="circular"), nn.GELU(),
            nn.Conv2d(32, 1, 5, padding=2, padding_mode="circular"),
        )
        return network, "local conv net (3 layers, 32 channels)"


def random_fields(count: int, resolution: int, seed: int) -> torch.Tensor:
    """Smooth random fields ``(count, 1, n, n)`` with a k^-2 amplitude spectrum."""
    generator = torch.Generator().manual_seed(seed)
    k = torch.fft.fftfreq(resolution, 1.0 / resolution)
    magnitude = (k[:, None] ** 2 + k[None, :] ** 2).sqrt().clamp_min(1.0)
    noise = torch.randn(count, 1, resolution, resolution, generator=generator)
    return torch.fft.ifft2(torch.fft.fft2(noise) / magnitude**2).real * resolution


def best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def pdebench_loop_frmse(pred: torch.Tensor, target: torch.Tensor, low: int = 4, high: int = 12) -> list[float]:
    """PDEBench's 2D fRMSE with its per-mode Python loop (channels-first tensors)."""
    nb, nc, nx, ny = pred.shape
    error = torch.fft.fftn(pred - target, dim=[2, 3]).abs() ** 2
    n_shells = min(nx // 2, ny // 2)
    shells = torch.zeros(nb, nc, n_shells)
    for i in range(nx // 2):
        for j in range(ny // 2):
            index = math.floor(math.sqrt(i**2 + j**2))
            if index > n_shells - 1:
                continue
            shells[:, :, index] += error[:, :, i, j]
    per_shell = shells.mean(0).sqrt() / (nx * ny)
    return [per_shell[:, :low].mean().item(), per_shell[:, low:high].mean().item(), per_shell[:, high:].mean().item()]


def bench_metrics(network, inputs, targets, batch_size, repeats):
    from opkit.spectral.metrics import (
        error_spectrum, pdebench_fourier_rmse, spectral_ratio, well_binned_spectral_error,
    )
    from opkit.spectral.shells import relative_band_errors, resolved_bandwidth

    network.eval()

    @torch.no_grad()
    def forward():
        return torch.cat([network(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)])

    predictions = forward()

    def metrics():
        error_spectrum(predictions, targets)
        spectral_ratio(predictions, targets)
        relative_band_errors(predictions, targets, "cutoff", mode_cutoff=12)
        pdebench_fourier_rmse(predictions, targets)
        well_binned_spectral_error(predictions, targets)
        resolved_bandwidth(predictions, targets)

    ours = pdebench_fourier_rmse(predictions, targets)
    peer = pdebench_loop_frmse(predictions, targets)
    agreement = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(ours.values(), peer))
    return {
        "forward": best_of(forward, repeats),
        "metrics": best_of(metrics, repeats),
        "frmse_ours": best_of(lambda: pdebench_fourier_rmse(predictions, targets), repeats),
        "frmse_loop": best_of(lambda: pdebench_loop_frmse(predictions, targets), max(1, repeats // 2)),
        "agreement": agreement,
    }


def bench_callback(make_network, inputs, targets, epochs: int, rounds: int):
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset

    from opkit.spectral.dynamics import SpectralDynamics

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.network = make_network()

        def forward(self, x):
            return self.network(x)

        def training_step(self, batch, batch_idx):
            return nn.functional.mse_loss(self(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class EpochClock(pl.Callback):
        def __init__(self):
            self.durations = []

        def on_train_epoch_start(self, trainer, pl_module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):  # runs after SpectralDynamics (callback order)
            self.durations.append(time.perf_counter() - self.start)

    loader = DataLoader(TensorDataset(inputs, targets), batch_size=32, shuffle=True)
    validation = DataLoader(TensorDataset(inputs[:64], targets[:64]), batch_size=32)

    def run(with_callback: bool, root: str) -> float:
        clock = EpochClock()
        callbacks = ([SpectralDynamics()] if with_callback else []) + [clock]
        trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", callbacks=callbacks, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             default_root_dir=root, limit_val_batches=0)
        torch.manual_seed(0)
        trainer.fit(Module(), train_dataloaders=loader, val_dataloaders=validation)
        return sorted(clock.durations[1:])[len(clock.durations[1:]) // 2]  # median, first epoch is warm-up

    import tempfile

    with tempfile.TemporaryDirectory() as root:
        plain = min(run(False, root) for _ in range(rounds))
        with_callback = min(run(True, root) for _ in range(rounds))
    return plain, with_callback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    resolution, n_test, n_train, epochs, repeats = (32, 64, 128, 3, 3) if args.quick else (64, 256, 512, 4, 5)

    network, description = build_network(resolution)
    inputs = random_fields(n_test, resolution, seed=0)
    targets = random_fields(n_test, resolution, seed=1)
    result = bench_metrics(network, inputs, targets, batch_size=32, repeats=repeats)
    train_inputs = random_fields(n_train, resolution, seed=2)
    train_targets = random_fields(n_train, resolution, seed=3)
    plain, with_callback = bench_callback(lambda: build_network(resolution)[0], train_inputs, train_targets, epochs, rounds=2)

    print(f"model: {description}; test set {n_test} x 1 x {resolution} x {resolution}; 1 thread")
    print(f"{'measurement':<52s}{'ours (s)':>12s}{'reference (s)':>16s}{'ratio':>10s}")
    rows = [
        ("all spectral metrics vs model forward (target < 0.10)", result["metrics"], result["forward"]),
        ("PDEBench fRMSE: ours vs PDEBench-style mode loop", result["frmse_ours"], result["frmse_loop"]),
        ("epoch with SpectralDynamics vs without (target < 1.05)", with_callback, plain),
    ]
    for name, ours, reference in rows:
        print(f"{name:<52s}{ours:>12.4f}{reference:>16.4f}{ours / reference:>10.3f}")
    print(f"fRMSE agreement with the loop: max relative difference {result['agreement']:.1e}")


if __name__ == "__main__":
    main()
