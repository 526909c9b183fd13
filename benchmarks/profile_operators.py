"""Where an operator's training step spends its time: torch.profiler's per-op table.

    python benchmarks/profile_operators.py mgno            # 2D case of bench_operators.py, one thread
    python benchmarks/profile_operators.py kano --case 1d --steps 3 --rows 30

Builds the model of ``bench_operators.py`` (same sizes, same seed), runs two warm-up
training steps (forward + backward + Adam; the first compiles KAN kernels), then
profiles ``--steps`` steps and prints the ops sorted by their own CPU time, with each
op's share of the total. On a loaded machine the shares are what to compare, not the
absolute times.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_operators import CASES, MODELS, build, training_step  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--case", default="2d", choices=list(CASES))
    parser.add_argument("--steps", type=int, default=2, help="profiled steps (after two warm-up steps)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=20, help="ops to list")
    args = parser.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(args.threads)
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


if __name__ == "__main__":
    main()
