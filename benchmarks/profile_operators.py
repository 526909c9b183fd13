"""Where an operator's training step spends its time: torch.profiler's per-op table.

    python benchmarks/profile_operators.py mgno            # 2D case of bench_operators.py, one thread
    python benchmarks/profile_operators.py kano --case 1d --steps 3 --rows 30
    python benchmarks/profile_operators.py --flops           # the FLOP floor of each model against the FNO's

Builds the model of ``bench_operators.py`` (same sizes, same seed), runs two warm-up
training steps (forward + backward + Adam; the first compiles KAN kernels), then
profiles ``--steps`` steps and prints the ops sorted by their own CPU time, with each
op's share of the total. On a loaded machine the shares are what to compare, not the
absolute times.

``--flops`` counts the floating-point operations of one forward + backward of every model in
both cases (torch's FlopCounterMode; it does not count FFTs, so the FFTs of the Fourier layers
are added as 2.5 n log2 n per real transform of n points, forward and inverse, times three for
the backward) and prints each as a multiple of the FNO's: a step cannot be cheaper than its
FLOPs at the machine's matmul rate, which the FNO's step is already close to.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_operators import CASES, MODELS, build, training_step  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS, nargs="?", default="mgno")
    parser.add_argument("--flops", action="store_true", help="print FLOPs per step of every model instead")
    parser.add_argument("--case", default="2d", choices=list(CASES))
    parser.add_argument("--steps", type=int, default=2, help="profiled steps (after two warm-up steps)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=20, help="ops to list")
    args = parser.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(args.threads)
    if args.flops:
        print_flops()
        return
    case = CASES[args.case]
    torch.manual_seed(0)
    model = build(args.model, case)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(case["batch"], 1, *case["grid"])
    y = torch.randn(case["batch"], 1, *case["grid"])
    for _ in range(2):
        training_step(model, optimizer, x, y)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(args.steps):
            training_step(model, optimizer, x, y)
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def fft_flops(case: dict) -> float:
    """FLOPs of the Fourier layers' real FFTs (forward and inverse; backward counted as twice the forward)."""
    points = math.prod(case["grid"])
    per_transform = 2.5 * points * math.log2(points)
    return 3 * 2 * case["n_layers"] * case["batch"] * case["width"] * per_transform


def print_flops() -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    print(f"{'case':<4} {'model':<12} {'GFLOP/step':>10} {'x FNO':>6}  largest ops (GFLOP)")
    for case_name, case in CASES.items():
        reference = None
        for name in ("fno", "mgno", "kano", "kano_s"):
            torch.manual_seed(0)
            model = build(name, case)
            if model is None:
                continue
            x = torch.randn(case["batch"], 1, *case["grid"])
            counter = FlopCounterMode(display=False)
            with counter:
                model(x).square().mean().backward()
            total = counter.get_total_flops() + (fft_flops(case) if name != "mgno" else 0.0)
            reference = reference or total
            ops = sorted(counter.get_flop_counts()["Global"].items(), key=lambda item: -item[1])[:3]
            largest = ", ".join(f"{op} {count / 1e9:.1f}" for op, count in ops)
            print(f"{case_name:<4} {name:<12} {total / 1e9:>10.2f} {total / reference:>5.1f}x  {largest}")


if __name__ == "__main__":
    main()
