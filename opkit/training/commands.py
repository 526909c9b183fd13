"""``opkit predict`` and ``opkit evaluate``: use a trained operator on a data file."""

from __future__ import annotations

import argparse
import json


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (a batch size of 0 or -1 gave a traceback)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


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
    predict.add_argument("--out", required=True, help="output file (.h5), written atomically; never the input")
    predict.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    predict.add_argument("--resolution", type=int, default=None,
                         help="evaluate at this spatial resolution (subsampled from the file)")
    predict.add_argument("--batch-size", type=positive_int, default=32)
    predict.set_defaults(handler=run_predict)

    evaluate = subparsers.add_parser(
        "evaluate", help="relative L2 and MSE of a trained operator on a data file",
        description="Evaluate a checkpoint on a data file, in physical units: on the checkpoint's stored test split "
                    "when the file is its training file, on every sample of any other file (--split chooses). "
                    "--resolution evaluates at another resolution than training (zero-shot super-resolution).")
    evaluate.add_argument("--ckpt", required=True, help="checkpoint file written by train.py, or a shipped name")
    evaluate.add_argument("--data", required=True, help="data file")
    evaluate.add_argument("--resolution", type=int, default=None, help="spatial resolution to evaluate at")
    evaluate.add_argument("--batch-size", type=positive_int, default=32)
    evaluate.add_argument("--split", choices=["test", "val", "train", "all"], default=None,
                          help="samples to score: a split stored in the checkpoint (its training file only) or all "
                               "(default: test for the training file, all for any other file)")
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

    from opkit.io import check_output_path

    check_output_path(args.out, inputs=[args.data], overwrite=args.overwrite)  # before loading anything
    operator = load_operator(args.ckpt)
    out = predict_file(operator, args.data, args.out, resolution=args.resolution, batch_size=args.batch_size,
                       overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from opkit.training.inference import evaluate, load_operator

    operator = load_operator(args.ckpt)
    metrics = evaluate(operator, args.data, resolution=args.resolution, batch_size=args.batch_size, progress=True,
                       split=args.split)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    resolution = "x".join(str(n) for n in metrics["resolution"])
    trained = metrics["trained_resolution"]
    trained = "x".join(str(n) for n in trained) if trained else "unknown"
    print(f"checkpoint: {args.ckpt}   data: {args.data}")
    print(f"split: {metrics['split']}, {metrics['samples']} samples ({metrics['split_description']})")
    print(f"resolution: {resolution} (trained at {trained})")
    print(f"relative L2: {metrics['relative_l2']:.4f} (std {metrics['relative_l2_std']:.4f})   "
          f"MSE: {metrics['mse']:.4e}")
    if "rollout_relative_l2" in metrics:
        steps = metrics["rollout_relative_l2"]
        print("rollout relative L2 per step: " + " ".join(f"{value:.4f}" for value in steps))
    return 0
