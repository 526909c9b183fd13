"""``opkit predict`` and ``opkit evaluate``: use a trained operator on a data file."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train an operator from a YAML config (as python train.py)", add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="opkit train [fit|validate|test|predict] [--config NAME_OR_PATH] [--section.key VALUE ...]",
        description="LightningCLI over OperatorModule and PDEDataModule, exactly as `python train.py`: every "
                    "argument after `train` goes to it,\n`fit` is implied, and --config takes a path or a shipped "
                    "config by name. Without arguments: the default Burgers\nrun. All options: "
                    "`opkit train fit --help`; the resolved config: add --print_config.",
        epilog=_configs_epilog())
    train.set_defaults(handler=run_train, pass_through=True, parser=train)

    predict = subparsers.add_parser(
        "predict", help="write a trained operator's predictions for a data file (opkit schema)",
        description="Run a checkpoint (path, or a shipped name such as fno-darcy) on every sample of a data "
                    "file and write the predictions, beside the targets, to an opkit HDF5 file.")
    predict.add_argument("--ckpt", required=True, help="checkpoint file written by train.py, or a shipped name")
    predict.add_argument("--data", required=True, help="data file (opkit, PDEBench, FNO .mat, The Well)")
    predict.add_argument("--out", required=True, help="output file (.h5), written atomically")
    predict.add_argument("--resolution", type=int, default=None,
                         help="evaluate at this spatial resolution (subsampled from the file)")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.set_defaults(handler=run_predict)

    evaluate = subparsers.add_parser(
        "evaluate", help="relative L2 and MSE of a trained operator on a data file",
        description="Evaluate a checkpoint on every sample of a data file, in physical units; --resolution "
                    "evaluates at another resolution than training (zero-shot super-resolution).")
    evaluate.add_argument("--ckpt", required=True, help="checkpoint file written by train.py, or a shipped name")
    evaluate.add_argument("--data", required=True, help="data file")
    evaluate.add_argument("--resolution", type=int, default=None, help="spatial resolution to evaluate at")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(handler=run_evaluate)


def _configs_epilog() -> str:
    from opkit.training.train_command import list_configs

    configs = list_configs()
    width = max((len(name) for name in configs), default=0)
    lines = ["shipped configs (--config NAME):"]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in configs.items()]
    lines.append("\nexample: opkit train --config darcy/tiny --data.path my_data.h5 --trainer.max_epochs 20")
    return "\n".join(lines)


def run_train(args: argparse.Namespace) -> int:
    from opkit.training.train_command import main

    if args.extra in (["-h"], ["--help"]):
        args.parser.print_help()
        return 0
    return main(args.extra)


def run_predict(args: argparse.Namespace) -> int:
    from opkit.training.inference import load_operator, predict_file

    operator = load_operator(args.ckpt)
    out = predict_file(operator, args.data, args.out, resolution=args.resolution, batch_size=args.batch_size)
    print(f"wrote {out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from opkit.training.inference import evaluate, load_operator

    operator = load_operator(args.ckpt)
    metrics = evaluate(operator, args.data, resolution=args.resolution, batch_size=args.batch_size, progress=True)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    resolution = "x".join(str(n) for n in metrics["resolution"])
    trained = metrics["trained_resolution"]
    trained = "x".join(str(n) for n in trained) if trained else "unknown"
    print(f"checkpoint: {args.ckpt}   data: {args.data}   samples: {metrics['samples']}")
    print(f"resolution: {resolution} (trained at {trained})")
    print(f"relative L2: {metrics['relative_l2']:.4f} (std {metrics['relative_l2_std']:.4f})   "
          f"MSE: {metrics['mse']:.4e}")
    if "rollout_relative_l2" in metrics:
        steps = metrics["rollout_relative_l2"]
        print("rollout relative L2 per step: " + " ".join(f"{value:.4f}" for value in steps))
    return 0
