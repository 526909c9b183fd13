"""What each speed lever of a training run is worth: seconds per epoch of the Darcy FNO, one lever at a time.

    python benchmarks/bench_levers.py                      # datasets/darcy_fno.h5, s=85, 2 threads
    python benchmarks/bench_levers.py --data datasets/darcy_fno.h5 --steps 6 --threads 2

Builds the FNO of ``configs/darcy/fno.yaml`` (width 32, 12 modes, coordinates, 10% padding)
and times, on the same machine in one process:

* data: one epoch of batches (1000 samples, batch 20) read per sample from the HDF5 file
  (``PDEDataset``) against one gather per batch from tensors held in memory (``in_memory``);
* the training step (forward, backward, Adam) at batch 10, 20 and 40, per sample;
* the share of the step spent in the projection MLP (width -> 128 -> 1 at every grid point);
* the step at s=43 (every 10th point of the 421 grid) against s=85: the price of a coarse
  epoch in a resolution schedule;
* a validation pass over 100 samples, against a training epoch;
* ``torch.compile`` of the operator (after its compile time, which is printed).

Times are medians of ``--steps`` steps after two warm-up steps; epochs are extrapolated from
steps (50 steps of 20 samples). Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def median_seconds(function, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_fno():
    from opkit.models import build_model

    return build_model("fno", in_channels=1, out_channels=1, spatial_dims=2, width=32, n_modes=12, n_layers=4,
                       activation="gelu", coordinates=True, padding=0.1)


def step_function(model, x, y):
    """One training step of the Darcy config: relative L2 loss (the project's), backward, Adam."""
    import torch

    from opkit.training.losses import relative_l2

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        relative_l2(model(x), y).backward()
        optimizer.step()
    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "datasets" / "darcy_fno.h5")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per measurement (median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-compile", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from opkit.data.datamodule import PDEDataModule

    torch.set_num_threads(args.threads)
    rows: list[tuple[str, float, str]] = []
    batches_per_epoch = 50

    # --- data: per-sample reads against one gather per batch
    for in_memory in (False, True):
        module = PDEDataModule(str(args.data), n_train=1000, n_val=100, n_test=100, batch_size=20, resolution=85,
                               in_memory=in_memory)
        module.setup("fit")
        start = time.perf_counter()
        loader = module.train_dataloader()
        first = time.perf_counter()
        for _ in loader:
            pass
        if in_memory:
            held = time.perf_counter() - first
            rows.append(("data: read into memory once (1000 samples)", first - start, "once per run"))
            rows.append(("data: one epoch, one gather per batch (in_memory)", held, "per epoch"))
        else:
            rows.append(("data: one epoch, read per sample from HDF5", time.perf_counter() - first, "per epoch"))

    torch.manual_seed(0)
    model = build_fno()
    steps = {}
    for batch in (10, 20, 40):
        x, y = torch.randn(batch, 1, 85, 85), torch.randn(batch, 1, 85, 85)
        steps[batch] = median_seconds(step_function(model, x, y), args.steps)
    for batch in (10, 20, 40):
        rows.append((f"step s=85, batch {batch}: per epoch of 1000 samples", steps[batch] * 1000 / batch,
                     f"{steps[batch] * 1000 / batch / (steps[20] * 50):.2f}x batch 20"))
    epoch = steps[20] * batches_per_epoch

    # --- projection share: the MLP alone on the cropped grid it sees in the model, forward + backward
    hidden = torch.randn(20, 32, 85, 85, requires_grad=True)

    def projection_step():
        model.projection(hidden).sum().backward()
    projection = median_seconds(projection_step, args.steps)
    rows.append(("projection MLP (32 -> 128 -> 1), forward + backward", projection * batches_per_epoch,
                 f"{projection / steps[20]:.0%} of the step"))

    # --- coarse grid
    x, y = torch.randn(20, 1, 43, 43), torch.randn(20, 1, 43, 43)
    coarse = median_seconds(step_function(model, x, y), args.steps)
    rows.append(("step s=43 (coarse stage of a resolution schedule)", coarse * batches_per_epoch,
                 f"{coarse / steps[20]:.2f}x s=85"))

    # --- validation pass
    model.eval()
    x = torch.randn(20, 1, 85, 85)

    def validate():
        with torch.no_grad():
            for _ in range(5):
                model(x)
    validation = median_seconds(validate, max(2, args.steps // 2))
    model.train()
    rows.append(("validation pass, 100 samples", validation, f"{validation / epoch:.0%} of a training epoch"))

    # --- torch.compile
    if not args.skip_compile:
        torch.manual_seed(0)
        compiled = build_fno()
        compiled.compile()
        x, y = torch.randn(20, 1, 85, 85), torch.randn(20, 1, 85, 85)
        step = step_function(compiled, x, y)
        start = time.perf_counter()
        step()
        compile_seconds = time.perf_counter() - start
        fast = median_seconds(step, args.steps, warmup=1)
        rows.append((f"step s=85 batch 20, torch.compile (first step {compile_seconds:.0f} s)",
                     fast * batches_per_epoch, f"{fast / steps[20]:.2f}x eager"))

    width = max(len(name) for name, _, _ in rows)
    print(f"Darcy FNO (width 32, 12 modes), {args.threads} threads; seconds per epoch of 1000 samples "
          f"unless noted\n")
    print(f"{'lever':<{width}}  {'seconds':>8}  note")
    print("-" * (width + 30))
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:>8.2f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
