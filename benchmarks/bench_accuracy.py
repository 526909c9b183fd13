"""Accuracy of opkit's operators against the published figures (FNO paper, Li et al. 2021).

    python benchmarks/bench_accuracy.py                  # FNO-paper samples and resolutions, time-boxed
    python benchmarks/bench_accuracy.py --quick          # small presets, a few epochs: checks the pipeline
    python benchmarks/bench_accuracy.py --datasets darcy --operators fno --epochs 100 --minutes 40
    python benchmarks/bench_accuracy.py --datasets darcy --operators fno --recipe speedrun --json darcy.json
    python benchmarks/bench_accuracy.py --figure darcy.json burgers.json --out curves.png

Each (dataset, operator) pair is one ``run_experiment`` of ``configs/<dataset>/<operator>.yaml``
(the paper's hyperparameters) with a training budget that fits a 2-core CPU: ``--epochs``
(default 100 instead of 500, with the step schedule compressed in proportion: the learning
rate is halved every epochs/5) and ``--minutes`` per run (Lightning's ``max_time``). The table
prints the test relative L2 beside the published figure for the closest setting and their
ratio; for Navier-Stokes the error is the autoregressive rollout over the test trajectories,
as in the paper. The printed notes give the differences in samples, resolution and epochs.

``--recipe NAME`` runs ``configs/<dataset>/<operator>_NAME.yaml`` instead, with its own epochs,
schedule and time cap (``--minutes`` still caps it when given): the time-to-accuracy runs. Every
run's JSON row keeps its validation curve (``curve``: minutes since the fit started against the
validation relative L2, from ``metrics.csv``), and ``--figure`` draws the curves of saved rows
against wall-clock time, with each run's test error and published figure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from opkit.training.commands import positive_int  # noqa: E402  (argparse type: an integer >= 1)

# Published test relative L2 (Li et al. 2021, "Fourier Neural Operator for Parametric PDEs", tables 1-3).
PUBLISHED = {
    ("burgers", "fno"): (0.0160, "FNO paper: s=1024, 1000 train, 500 epochs"),
    ("darcy", "fno"): (0.0108, "FNO paper: s=85, 1000 train, 500 epochs"),
    ("navier_stokes", "fno"): (0.0128, "FNO paper: FNO-2D, nu=1e-3, T=50, 1000 train, 500 epochs"),
}
DATASETS = ("burgers", "darcy", "navier_stokes")
OPERATORS = ("fno", "mgno", "kano")

# --quick: small presets, few samples and epochs; proves every pair trains end to end.
QUICK_DATA = {
    "burgers": {"data.path": "datasets/burgers_small.h5", "data.preset": "small", "data.n_samples": 240,
                "data.n_train": 200, "data.n_val": 20, "data.n_test": 20, "data.resolution": None},
    "darcy": {"data.path": "datasets/darcy_small.h5", "data.preset": "small", "data.n_samples": 240,
              "data.n_train": 200, "data.n_val": 20, "data.n_test": 20, "data.resolution": None},
    "navier_stokes": {"data.path": "datasets/navier_stokes_small.h5", "data.preset": "small", "data.n_samples": 24,
                      "data.n_train": 16, "data.n_val": 4, "data.n_test": 4, "data.resolution": None,
                      "data.history": 2},  # the small preset stores 11 frames: 2 in, rollouts of 9
}


def budget_overrides(dataset: str, epochs: int, minutes: float, quick: bool,
                     steps_per_epoch: int | None = None, val_batches: int | None = None) -> dict:
    overrides = {"trainer.max_epochs": epochs, "model.scheduler_step_size": max(1, epochs // 5),
                 "trainer.max_time": {"minutes": max(1, int(round(minutes)))}, "trainer.enable_progress_bar": False}
    if steps_per_epoch:  # an "epoch" of one-step NS windows is 41,000 samples: shorter epochs, same schedule shape
        overrides["trainer.limit_train_batches"] = steps_per_epoch
    if val_batches:
        overrides["trainer.limit_val_batches"] = val_batches
    if quick:
        overrides.update(QUICK_DATA[dataset])
    return overrides


def config_path(dataset: str, operator: str, recipe: str | None = None) -> Path:
    return REPO / "configs" / dataset / (f"{operator}_{recipe}.yaml" if recipe else f"{operator}.yaml")


def run_pair(dataset: str, operator: str, epochs: int, minutes: float, quick: bool, seed: int,
             steps_per_epoch: int | None = None, val_batches: int | None = None, recipe: str | None = None,
             minutes_given: bool = False) -> dict:
    from opkit.training.run import run_experiment

    config = config_path(dataset, operator, recipe)
    if recipe:  # the recipe's own epochs and schedule; --minutes only as a cap
        overrides = {"trainer.enable_progress_bar": False}
        if minutes_given:
            overrides["trainer.max_time"] = {"minutes": max(1, int(round(minutes)))}
    else:
        overrides = budget_overrides(dataset, epochs, minutes, quick, steps_per_epoch, val_batches)
    name = f"{dataset}-{operator}" + (f"-{recipe}" if recipe else "")
    run_dir = REPO / "runs" / "bench_accuracy" / ("quick" if quick else "full") / name
    start = time.perf_counter()
    results = run_experiment(config, overrides, run_dir=run_dir, seed=seed, progress_bar=False)
    results["wall_seconds"] = time.perf_counter() - start
    results["error"] = results.get("rollout/relative_l2", results["test/relative_l2"])
    results["curve"] = validation_curve(Path(results["log_dir"]) / "metrics.csv")
    import yaml

    data = yaml.safe_load(config.read_text())["data"]
    data.update({key.split(".", 1)[1]: value for key, value in overrides.items() if key.startswith("data.")})
    results["setting"] = (f"{data.get('preset')} preset, {data.get('n_train')} train, "
                          f"resolution {data.get('resolution') or 'native'}, {results['epochs']} epochs"
                          + (f" of {steps_per_epoch} steps" if steps_per_epoch else "")
                          + (f", recipe {config.relative_to(REPO)}" if recipe else ""))
    return results


def validation_curve(metrics_csv: Path) -> list[list[float]]:
    """``[[minutes since the fit started, validation relative L2], ...]`` from a run's metrics.csv."""
    import csv

    if not metrics_csv.exists():
        return []
    with open(metrics_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [[float(row["time/elapsed_s"]) / 60, float(row["val/relative_l2"])] for row in rows
            if row.get("time/elapsed_s") and row.get("val/relative_l2")]


def draw_curves(rows: list[dict], out: Path) -> Path:
    """Validation error against wall-clock minutes for each row, its test error and published figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from opkit.io import atomic_path

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for index, row in enumerate(rows):
        colour = f"C{index}"
        curve = row.get("curve") or []
        threads = row.get("threads")
        label = f"{row['dataset']} {row['operator']}" + (f" ({row['recipe']}" if row.get("recipe") else " (") + \
            (f", {threads} thread{'s' if threads != 1 else ''})" if threads else ")")
        if curve:
            axis.plot([c[0] for c in curve], [c[1] for c in curve], color=colour, label=f"{label}: validation")
        axis.plot([row["minutes"]], [row["error"]], "o", color=colour, label=f"{label}: test {row['error']:.4f}")
        if not math.isnan(row.get("published", math.nan)):
            axis.axhline(row["published"], color=colour, linestyle="--", linewidth=1,
                         label=f"{label}: FNO paper {row['published']:.4f}")
    axis.set_yscale("log")
    axis.set_xlabel("wall-clock minutes since the fit started")
    axis.set_ylabel("relative L2 error")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    axis.set_title("Time to accuracy: validation error during training, test error at the end")
    figure.tight_layout()
    with atomic_path(out) as temporary:
        figure.savefig(temporary, format="png", dpi=120)
    plt.close(figure)
    return out


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small presets and 3 epochs")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--operators", nargs="+", default=list(OPERATORS), choices=OPERATORS)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 100; quick 3)")
    parser.add_argument("--minutes", type=float, default=None, help="wall-clock cap per run (default 40; quick 5)")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=None,
                        help="training batches per epoch (Lightning's limit_train_batches; default: all)")
    parser.add_argument("--val-batches", type=positive_int, default=None,
                        help="validation batches per epoch (limit_val_batches; default: all); the test is always full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    parser.add_argument("--recipe", default=None,
                        help="run configs/<dataset>/<operator>_RECIPE.yaml with its own schedule (e.g. speedrun)")
    parser.add_argument("--figure", type=Path, nargs="+", default=None, metavar="JSON",
                        help="draw the error-vs-time curves of rows saved with --json (no training)")
    parser.add_argument("--out", type=Path, default=Path("time_to_accuracy.png"), help="--figure's PNG")
    args = parser.parse_args(argv)
    if args.figure:
        rows = [row for path in args.figure for row in json.loads(path.read_text()) if "failed" not in row]
        print(f"wrote {draw_curves(rows, args.out)}")
        return 0
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    epochs = args.epochs or (3 if args.quick else 100)
    minutes = args.minutes or (5.0 if args.quick else 40.0)

    rows = []
    for dataset in args.datasets:
        for operator in args.operators:
            if not config_path(dataset, operator, args.recipe).exists():
                print(f"skip {dataset}/{operator}: no config {config_path(dataset, operator, args.recipe)}",
                      file=sys.stderr)
                continue
            try:
                results = run_pair(dataset, operator, epochs, minutes, args.quick, args.seed,
                                   args.steps_per_epoch, args.val_batches, args.recipe, args.minutes is not None)
            except Exception as error:  # one failing pair must not hide the others' results
                print(f"{dataset}/{operator}: failed: {type(error).__name__}: {error}", file=sys.stderr)
                rows.append({"dataset": dataset, "operator": operator, "error": math.nan, "failed": str(error)})
                continue
            published, note = PUBLISHED.get((dataset, operator), (math.nan, "no published figure in the FNO paper"))
            rows.append({"dataset": dataset, "operator": operator, "error": results["error"],
                         "published": published, "ratio": results["error"] / published if published else math.nan,
                         "parameters": results["parameters"], "epochs": results["epochs"],
                         "minutes": results["wall_seconds"] / 60,
                         "seconds_per_epoch": results["seconds_per_epoch"], "ours": results["setting"],
                         "published_setting": note, "diverged": results["diverged"],
                         "recipe": args.recipe, "curve": results["curve"],
                         "threads": torch_threads()})

    header = f"{'dataset':<14} {'operator':<8} {'params':>9} {'epochs':>6} {'s/epoch':>8} {'minutes':>7} " \
             f"{'test relL2':>10} {'published':>9} {'ratio':>6}"
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        if "failed" in row:
            print(f"{row['dataset']:<14} {row['operator']:<8} failed: {row['failed'][:60]}")
            continue
        published = f"{row['published']:.4f}" if not math.isnan(row["published"]) else "-"
        ratio = f"{row['ratio']:.2f}" if not math.isnan(row["ratio"]) else "-"
        print(f"{row['dataset']:<14} {row['operator']:<8} {row['parameters']:>9,} {row['epochs']:>6} "
              f"{row['seconds_per_epoch']:>8.1f} {row['minutes']:>7.1f} {row['error']:>10.4f} {published:>9} {ratio:>6}")
    print()
    print("Settings (ours vs published):")
    for row in rows:
        if "failed" not in row:
            print(f"  {row['dataset']}/{row['operator']}: ours {row['ours']}; {row['published_setting']}")
    if args.quick:
        print("Quick mode: small presets and a few epochs; the errors check the pipeline, not the accuracy.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
