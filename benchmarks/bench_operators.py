"""Training-step cost of opkit's operators, with neuraloperator's FNO side by side.

    python benchmarks/bench_operators.py            # full sizes (see CASES)
    python benchmarks/bench_operators.py --quick    # small sizes, a few steps
    python benchmarks/bench_operators.py --threads 2 --device cpu
    python benchmarks/bench_operators.py --compile  # also time a torch.compile'd copy of each model

For each problem (1D: batch 32, 1024 points, FNO width 64, 16 modes; 2D: batch 16,
64x64, FNO width 32, 12x12 modes, 4 layers) and each operator it prints the number
of parameters, the median time of one training step (forward + backward + Adam
step) and the peak memory of the step. Timing runs all models of a problem in one
process, one step of each in turn, so that load from other processes hits them
alike; memory is measured in a subprocess per model, so that the peak resident
memory (CPU) or ``max_memory_allocated`` (CUDA) belongs to that model alone. neuraloperator's FNO (pip package ``neuraloperator``, only needed
here) is configured to the same architecture and the same parameter count: kept
modes, a single linear lifting, the same projection MLP, linear skips, no channel
MLP, no positional embedding. ``ratio`` is neuraloperator time / opkit time.
With ``--compile`` each model also runs as a ``torch.compile``'d copy (same weights,
timed in the same interleaved rounds): ``compiled ms``, ``speed-up`` (eager / compiled)
and ``compile s``, the first step's wall time, which waits for the compiler.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

# name -> problem sizes; "quick" versions keep the architecture, shrink batch and grid
CASES = {
    "1d": dict(batch=32, grid=(1024,), width=64, n_modes=(16,), n_layers=4),
    "2d": dict(batch=16, grid=(64, 64), width=32, n_modes=(12, 12), n_layers=4),
}
QUICK = {
    "1d": dict(batch=8, grid=(256,), width=32, n_modes=(16,), n_layers=4),
    "2d": dict(batch=4, grid=(32, 32), width=16, n_modes=(8, 8), n_layers=4),
}
MODELS = ["fno", "neuralop_fno", "mgno", "kano", "kano_s"]
PROJECTION_CHANNELS = 128


def build(model_name: str, case: dict):
    """The model of row ``model_name`` for problem ``case`` (in = out = 1 channel)."""
    from opkit.models import build_model, list_models

    dims = len(case["grid"])
    width, n_modes, n_layers = case["width"], list(case["n_modes"]), case["n_layers"]
    if model_name == "fno":
        return build_model("fno", in_channels=1, out_channels=1, width=width, n_modes=n_modes,
                           n_layers=n_layers, projection_channels=PROJECTION_CHANNELS)
    if model_name == "neuralop_fno":
        from neuralop.models import FNO as NeuralopFNO

        # neuraloperator counts modes over both signs on every axis; on the real-FFT
        # (last) axis it keeps n // 2 + 1, so 2k - 2 keeps the same k modes as ours.
        total_modes = tuple(2 * k for k in n_modes[:-1]) + (2 * n_modes[-1] - 2,)
        return NeuralopFNO(n_modes=total_modes, in_channels=1, out_channels=1, hidden_channels=width,
                           n_layers=n_layers, lifting_channel_ratio=0,
                           projection_channel_ratio=PROJECTION_CHANNELS / width, positional_embedding=None,
                           use_channel_mlp=False, fno_skip="linear")
    if model_name == "mgno":  # the paper's shape: 5 levels, [1, 0] smoothing, 4 layers
        return build_model("mgno", in_channels=1, out_channels=1, width=width if dims == 2 else 32,
                           n_layers=4, levels=5, spatial_dims=dims, padding_mode="circular")
    if model_name in ("kano", "kano_s") and model_name in list_models():
        from opkit.models import count_parameters

        reference = build("fno", case)
        return build_model(model_name, in_channels=1, out_channels=1, n_modes=n_modes, n_layers=n_layers,
                           projection_channels=PROJECTION_CHANNELS,
                           target_parameters=count_parameters(reference))
    return None


def training_step(model, optimizer, x, y):
    """One forward + backward + Adam step."""
    optimizer.zero_grad(set_to_none=True)
    loss = (model(x) - y).square().mean()
    loss.backward()
    optimizer.step()


def time_models(names: list[str], case: dict, steps: int, threads: int, device: str,
                compile: bool = False) -> dict:
    """Median step time (ms) per model, the models' steps interleaved so that load from
    other processes hits all of them alike.

    With ``compile``, a compiled copy of each model runs as ``(name, "compiled")`` and
    ``(name, "compile s")`` holds its first step's seconds (the compiler's wait).
    """
    import copy

    import torch

    torch.set_num_threads(threads)
    runs = {}
    for name in names:
        torch.manual_seed(0)
        try:
            model = build(name, case)
        except ImportError as error:
            runs[name] = str(error)
            continue
        if model is None:
            runs[name] = "not available"
            continue
        model = model.to(device)
        runs[name] = (model, torch.optim.Adam(model.parameters(), lr=1e-3), [])
        if compile:
            compiled = copy.deepcopy(model)
            compiled.compile()
            runs[(name, "compiled")] = (compiled, torch.optim.Adam(compiled.parameters(), lr=1e-3), [])
    x = torch.randn(case["batch"], 1, *case["grid"], device=device)
    y = torch.randn(case["batch"], 1, *case["grid"], device=device)
    live = {name: run for name, run in runs.items() if not isinstance(run, str)}
    first_step = {}
    for round_index in range(steps + 2):  # two warm-up rounds
        for key, (model, optimizer, times) in live.items():
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            training_step(model, optimizer, x, y)
            if device == "cuda":
                torch.cuda.synchronize()
            if round_index == 0:
                first_step[key] = time.perf_counter() - start
            if round_index >= 2:
                times.append(time.perf_counter() - start)
    result = {name: run if isinstance(run, str) else 1000 * statistics.median(run[2]) for name, run in runs.items()}
    result.update({(key[0], "compile s"): seconds for key, seconds in first_step.items() if isinstance(key, tuple)})
    return result


def measure_memory(model_name: str, case: dict, threads: int, device: str) -> dict:
    """Run in a fresh process: parameters and peak memory of two training steps."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(model_name, case).to(device)
    x = torch.randn(case["batch"], 1, *case["grid"], device=device)
    y = torch.randn(case["batch"], 1, *case["grid"], device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        for _ in range(2):
            training_step(model, optimizer, x, y)
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:  # resident set sampled every 0.5 ms during the steps, above what it was before
        baseline_kib, peak_kib, done = _resident_kib(), [0], threading.Event()

        def sample():
            while not done.is_set():
                peak_kib[0] = max(peak_kib[0], _resident_kib())
                time.sleep(0.0005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        for _ in range(2):
            training_step(model, optimizer, x, y)
        done.set()
        sampler.join()
        peak_mib = max(0, peak_kib[0] - baseline_kib) / 1024
    # complex parameters (neuraloperator's spectral weights) count as two real numbers
    parameters = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    return {"parameters": parameters, "peak_mib": peak_mib}


def _resident_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def memory_row(model_name: str, case_name: str, args) -> dict:
    command = [sys.executable, __file__, "--row", model_name, case_name, "--threads", str(args.threads),
               "--device", args.device] + (["--quick"] if args.quick else [])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return {"skipped": (result.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model (default 10, quick 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--compile", action="store_true",
                        help="also time a torch.compile'd copy of each model (compiled ms, speed-up, compile s)")
    parser.add_argument("--row", nargs=2, metavar=("MODEL", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else 10)
    cases = QUICK if args.quick else CASES
    if args.row:
        model_name, case_name = args.row
        print(json.dumps(measure_memory(model_name, cases[case_name], args.threads, args.device)))
        return

    print(f"device={args.device} threads={args.threads} timed steps={args.steps} "
          f"(median; step = forward + backward + Adam)")
    for case_name in args.cases:
        case = cases[case_name]
        print(f"\n{case_name}: batch {case['batch']}, grid {'x'.join(map(str, case['grid']))}, "
              f"width {case['width']}, modes {'x'.join(map(str, case['n_modes']))}, {case['n_layers']} layers")
        compile_header = f"{'compiled ms':>13}{'speed-up':>10}{'compile s':>11}" if args.compile else ""
        print(f"{'model':<14}{'parameters':>12}{'step ms':>10}{'peak MiB':>10}{'ratio':>8}{compile_header}")
        step_ms = time_models(args.models, case, args.steps, args.threads, args.device, compile=args.compile)
        ours = step_ms.get("fno")
        for name in args.models:
            row = {"skipped": step_ms[name]} if isinstance(step_ms[name], str) else memory_row(name, case_name, args)
            if "skipped" in row:
                print(f"{name:<14}  skipped: {row['skipped']}")
                continue
            ratio = ""
            if name == "neuralop_fno" and isinstance(ours, float):
                ratio = f"{step_ms[name] / ours:.2f}x"
            compiled = ""
            if args.compile:
                compiled_ms = step_ms[(name, "compiled")]
                compiled = (f"{compiled_ms:>13.1f}{step_ms[name] / compiled_ms:>9.2f}x"
                            f"{step_ms[(name, 'compile s')]:>11.1f}")
            print(f"{name:<14}{row['parameters']:>12,}{step_ms[name]:>10.1f}{row['peak_mib']:>10.0f}{ratio:>8}"
                  f"{compiled}")
    print("\nratio = neuraloperator FNO step time / opkit FNO step time (> 1: opkit faster)")


if __name__ == "__main__":
    main()
