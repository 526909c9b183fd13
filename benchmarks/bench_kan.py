"""KANLinear speed and memory against pykan, flashkan and nn.Linear + GELU; activation costs.

    python benchmarks/bench_kan.py            # batch 4096, 64 -> 64; activations on (32, 64, 64, 64)
    python benchmarks/bench_kan.py --quick    # smaller activation tensor, fewer repeats

Time: median wall time of forward + backward (loss = sum of outputs) over the repeats,
one CPU thread by default, after warm-up calls (which also run any torch.compile).
Memory: peak of the CPU memory that torch allocates during one forward + backward, from
the torch profiler's memory events (profile_memory=True), above what was allocated before.
Two input settings: x without gradient (a first layer) and x with gradient (a layer
inside a network, which also needs dL/dx). The peers are optional and installed for the
benchmark only (``pip install --no-deps pykan==0.2.8 flashkan==0.2.0`` plus pykan's
scikit-learn and pandas); a missing one's row says so. Exactness: float32 basis values of
ours and flashkan's against float64 B-splines, inside the grid and far outside it.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time

import torch
from torch import nn
from tqdm import tqdm

from opkit.activations import get_activation, list_activations
from opkit.layers.kan import KANLinear


def forward_backward(model, x):
    out = model(x)
    if isinstance(out, tuple):  # pykan's KANLayer returns (y, preacts, postacts, postspline)
        out = out[0]
    out.sum().backward()


def median_time(model, x, repeats: int) -> float:
    for _ in range(2):
        forward_backward(model, x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward_backward(model, x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(model, x) -> float:
    """Peak MiB allocated by torch on the CPU during one forward + backward."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        forward_backward(model, x)
    events = sorted(prof.events(), key=lambda event: event.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


def pykan_layer(width: int):
    try:
        from kan.KANLayer import KANLayer
    except Exception as error:  # not installed, or its dependencies are missing
        return None, f"pykan not available ({type(error).__name__}: {error})"
    return KANLayer(in_dim=width, out_dim=width, num=5, k=3, device="cpu"), ""


def flashkan_layer(width: int):
    """flashkan 0.2.0: truncated-power B-splines, basis compiled with torch.compile."""
    try:
        from flashkan import KANLayer
    except Exception as error:
        return None, f"flashkan not available ({type(error).__name__}: {error})"
    return KANLayer(width, width, grid_size=5, spline_order=3), ""


class LinearGELU(nn.Sequential):
    def __init__(self, width):
        super().__init__(nn.Linear(width, width), nn.GELU())


def kan_table(batch: int, width: int, repeats: int) -> None:
    torch.manual_seed(0)
    models = {
        "nn.Linear + GELU": LinearGELU(width),
        "KANLinear bspline G=5 k=3": KANLinear(width, width, basis="bspline", grid_size=5, order=3),
        "KANLinear bspline, eager kernels": KANLinear(width, width, basis="bspline", compile=False),
        "KANLinear bspline, plain autograd": KANLinear(width, width, basis="bspline", fused=False),
        "KANLinear rbf G=8": KANLinear(width, width, basis="rbf", grid_size=8),
        "KANLinear chebyshev degree 4": KANLinear(width, width, basis="chebyshev", degree=4),
        "KANLinear fourier 4 frequencies": KANLinear(width, width, basis="fourier", n_frequencies=4),
    }
    missing = []
    for name, (layer, why) in {"flashkan KANLayer G=5 k=3": flashkan_layer(width),
                               "pykan KANLayer G=5 k=3": pykan_layer(width)}.items():
        if layer is None:
            missing.append(f"{name}: {why}")
        else:
            models[name] = layer
    x = torch.rand(batch, width) * 2 - 1
    times = {name: ([], []) for name in models}
    memory = {name: [0.0, 0.0] for name in models}
    for setting, needs_grad in enumerate((False, True)):
        xi = x.clone().requires_grad_(needs_grad)
        for name, model in models.items():
            for _ in range(2):  # warm-up: allocator, caches and any compilation
                forward_backward(model, xi)
            memory[name][setting] = peak_memory(model, xi)
        # round robin, so that a slow spell of the machine hits every layer alike
        for repeat in tqdm(range(repeats), desc=f"KAN layers ({'x grad' if needs_grad else 'x no grad'})",
                           leave=False):
            for name, model in models.items():
                if name.startswith("pykan") and repeat >= max(3, repeats // 5):
                    continue  # pykan is ~100x slower: fewer repeats
                start = time.perf_counter()
                forward_backward(model, xi)
                times[name][setting].append(time.perf_counter() - start)
    results = {name: [statistics.median(times[name][0]), memory[name][0], statistics.median(times[name][1]),
                      memory[name][1]] for name in models}
    reference = results["nn.Linear + GELU"]
    print(f"\nKAN layer {width} -> {width}, batch {batch}, forward + backward, {torch.get_num_threads()} thread(s)")
    header = f"{'layer':36s} {'ms (x no grad)':>15s} {'ratio':>7s} {'MiB':>7s} {'ms (x grad)':>12s} {'ratio':>7s} {'MiB':>7s}"
    print(header)
    print("-" * len(header))
    for name, (t0, m0, t1, m1) in results.items():
        print(f"{name:36s} {t0 * 1e3:15.2f} {t0 / reference[0]:7.1f} {m0:7.1f} {t1 * 1e3:12.2f} {t1 / reference[2]:7.1f} {m1:7.1f}")
    for line in missing:
        print(line)
    ours = results["KANLinear bspline G=5 k=3"]
    for peer in ("pykan KANLayer G=5 k=3", "flashkan KANLayer G=5 k=3"):
        if peer in results:
            theirs = results[peer]
            print(f"{peer.split()[0]} / ours (B-spline): {theirs[0] / ours[0]:.2f}x (x no grad), "
                  f"{theirs[2] / ours[2]:.2f}x (x grad)")
    print(f"ours / Linear+GELU (B-spline): {ours[0] / reference[0]:.2f}x (x no grad), "
          f"{ours[2] / reference[2]:.2f}x (x grad)")
    exactness_table(models["KANLinear bspline G=5 k=3"], models.get("flashkan KANLayer G=5 k=3"))


def exactness_table(ours: KANLinear, flashkan) -> None:
    """Max |B(x) - B_exact(x)| of float32 bases, exact = our float64 bases (which match scipy's BSpline)."""
    generator = torch.Generator().manual_seed(0)
    ranges = {"inside [-1, 1]": (-1.0, 1.0), "near, [-3, 3]": (-3.0, 3.0), "far, [-1e3, 1e3]": (-1e3, 1e3),
              "very far, +-1e6": (-1e6, 1e6)}
    exact_basis = copy.deepcopy(ours.basis).double()
    print("\nB-spline bases in float32, max abs error against float64 (G=5, k=3, grid [-1, 1])")
    print(f"{'inputs':18s} {'ours':>10s} {'flashkan':>10s}")
    for label, (low, high) in ranges.items():
        x = torch.rand(4096, ours.in_features, generator=generator, dtype=torch.float64) * (high - low) + low
        exact = exact_basis(x)
        error_ours = (ours.basis(x.float()).double() - exact).abs().max().item()
        error_flash = math.nan
        if flashkan is not None:
            from flashkan.basis import bspline_basis

            with torch.no_grad():
                values = bspline_basis(x.float(), flashkan.grid_starts, flashkan.inv_h)
            error_flash = (values.double() - exact).abs().max().item()
        print(f"{label:18s} {error_ours:10.2e} {error_flash:10.2e}")


def activation_table(shape, repeats: int) -> None:
    x = torch.randn(*shape)
    times = {}
    for info in tqdm(list_activations(), desc="activations", leave=False):
        module = get_activation(info.name, num_channels=shape[1])
        xi = x.clone().requires_grad_(True)
        times[info.name] = median_time(module, xi, repeats)
    relu = times["relu"]
    print(f"\nActivations on {tuple(shape)}, forward + backward, relative to ReLU ({relu * 1e3:.1f} ms)")
    print(f"{'activation':12s} {'ms':>9s} {'x ReLU':>8s}  learnable")
    for info in list_activations():
        print(f"{info.name:12s} {times[info.name] * 1e3:9.2f} {times[info.name] / relu:8.2f}  {info.learnable}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller activation tensor and fewer repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--skip-activations", action="store_true", help="only the KAN layer tables")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 5 if args.quick else 20
    kan_table(args.batch, args.width, repeats)
    if args.skip_activations:
        return
    activation_table((8, 64, 32, 32) if args.quick else (32, 64, 64, 64), 3 if args.quick else 5)


if __name__ == "__main__":
    main()
