"""``opkit spectral`` (evaluate checkpoints per wavenumber) and ``opkit spectral-probe`` (controlled probes)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from opkit.errors import ConfigError

DEFAULT_ACTIVATIONS = ["relu", "tanh", "gelu", "sine"]
PROBE_KINDS = ("function", "operator", "init", "aliasing")


def register(subparsers) -> None:
    spectral = subparsers.add_parser(
        "spectral", help="spectral evaluation of checkpoints: band errors, resolved bandwidth, figures",
        epilog="Checkpoints are compared on the samples of the first checkpoint's dataset view (task, history).",
        description="Evaluate one or more checkpoints on a data file per wavenumber: a table of band errors "
                    "(mode-cutoff bands, PDEBench fRMSE, The Well NMSE) and resolved bandwidth, and PNGs of the "
                    "error spectrum, spectral ratio, predictions and (for training runs with a "
                    "spectral_dynamics.csv) the epoch x wavenumber heatmap. Several checkpoints are overlaid.")
    spectral.add_argument("--ckpt", nargs="+", required=True, metavar="PATH", help="checkpoint(s) written by opkit training")
    spectral.add_argument("--data", required=True, metavar="FILE.h5", help="test data file")
    spectral.add_argument("--out", required=True, metavar="DIR", help="output folder")
    spectral.add_argument("--labels", nargs="+", default=None, help="one legend label per checkpoint")
    spectral.add_argument("--n-samples", type=int, default=None, help="use the first N samples (default all)")
    spectral.add_argument("--task", default="auto", help="dataset task (default: the checkpoint's)")
    spectral.add_argument("--resolution", type=int, default=None, help="evaluate at this spatial resolution")
    spectral.add_argument("--mode-cutoff", type=int, default=None,
                          help="m for the low/mid/high bands (default: the models' n_modes)")
    spectral.add_argument("--threshold", type=float, default=0.1, help="relative error for the resolved bandwidth")
    spectral.add_argument("--dynamics", nargs="+", default=None, metavar="CSV",
                          help="spectral_dynamics.csv per checkpoint (default: the one its training run recorded in it)")
    spectral.add_argument("--batch-size", type=int, default=32)
    spectral.set_defaults(handler=run_spectral)

    probe = subparsers.add_parser(
        "spectral-probe", help="spectral-bias probes per activation (Rahaman et al. 2019 and operator versions)",
        description="function: an MLP fits sum_i A_i sin(2 pi k_i z + phi_i), k = 5..50, learned fraction "
                    "2|FFT(f)(k_i)|/(N A_i) per iteration. operator: a small FNO learns a filter + pointwise "
                    "nonlinearity, relative error per wavenumber per iteration. init: output spectra of untrained "
                    "FNOs. aliasing: share of each activation layer's energy above the FNO mode cutoff.")
    probe.add_argument("--kind", choices=PROBE_KINDS, default="function")
    probe.add_argument("--activations", nargs="+", default=DEFAULT_ACTIVATIONS)
    probe.add_argument("--out", required=True, metavar="DIR")
    probe.add_argument("--iterations", type=int, default=None, help="training steps (function: 2000, operator: 300)")
    probe.add_argument("--record-every", type=int, default=None, help="iterations between measurements (function: 50, operator: 25)")
    probe.add_argument("--repeats", type=int, default=2, help="repeats (new phases and initialisation) to average")
    probe.add_argument("--frequencies", type=int, nargs="+", default=list(range(5, 55, 5)))
    probe.add_argument("--amplitudes", choices=["equal", "rising"], default="equal")
    probe.add_argument("--n-modes", type=int, default=16, help="FNO modes (operator, init, aliasing)")
    probe.add_argument("--width", type=int, default=32, help="FNO channels (operator, init, aliasing)")
    probe.add_argument("--seed", type=int, default=0)
    probe.set_defaults(handler=run_probe)


# --------------------------------------------------------------------------- opkit spectral


def _labels(paths: list[Path], labels: list[str] | None) -> list[str]:
    if labels is not None:
        if len(labels) != len(paths):
            raise ConfigError(f"--labels: expected {len(paths)} labels (one per --ckpt), got {len(labels)}")
        return labels
    stems = [path.stem for path in paths]
    if len(set(stems)) == len(stems):
        return stems
    return [f"{path.parent.parent.name}/{path.stem}" if path.parent.name == "checkpoints" else f"{path.parent.name}/{path.stem}"
            for path in paths]


def find_dynamics(operator) -> Path | None:
    """The ``spectral_dynamics.csv`` that the loaded checkpoint's own training run wrote, if any.

    Only the file recorded in the checkpoint counts (its ``SpectralDynamics`` callback writes
    the path): a search of nearby folders would attach another run's curves, since runs can
    share a folder and a shipped name or bare path has no run folder at all.
    """
    recorded = getattr(operator, "dynamics_path", None)
    if not recorded:
        return None
    path = Path(recorded)
    return path if path.is_file() else None


def model_mode_cutoff(operators: dict[str, object]) -> int | None:
    """The Fourier modes kept per axis (the smallest axis) shared by the labelled operators' models.

    ``None`` when no model has Fourier layers (e.g. MgNO); ``ConfigError`` when the models keep
    different numbers of modes, since the low/mid/high bands need one cutoff.
    """
    from opkit.spectral.shells import module_mode_cutoff

    found = {label: module_mode_cutoff(operator) for label, operator in operators.items()}
    found = {label: modes for label, modes in found.items() if modes is not None}
    if len(set(found.values())) > 1:
        kept = ", ".join(f"{label} {modes}" for label, modes in found.items())
        raise ConfigError(f"--ckpt: the models keep different numbers of Fourier modes ({kept}); pass "
                          "--mode-cutoff to choose the band cutoff")
    return next(iter(found.values()), None)


def _load_pairs(operator, path: str, task: str | None, resolution, n_samples: int | None):
    """Inputs and targets ``(B, C, *spatial)`` of the first ``n_samples`` samples, shaped for ``operator``."""
    import torch
    from tqdm.auto import tqdm

    from opkit.training.inference import _dataset_for

    dataset = _dataset_for(operator, path, resolution=resolution, task=task)
    if n_samples is not None and n_samples < 1:
        raise ConfigError(f"--n-samples: expected a positive number, got {n_samples}")
    count = len(dataset) if n_samples is None else min(n_samples, len(dataset))
    pairs = [dataset[i] for i in tqdm(range(count), desc="reading test set", leave=False)]
    return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])


def run_spectral(args: argparse.Namespace) -> int:
    from opkit.spectral.report import format_table, spectral_report
    from opkit.spectral.shells import default_mode_cutoff
    from opkit.training.inference import load_operator

    paths = [Path(p) for p in args.ckpt]
    labels = _labels(paths, args.labels)
    if args.dynamics is not None and len(args.dynamics) != len(paths):
        raise ConfigError(f"--dynamics: expected {len(paths)} files (one per --ckpt), got {len(args.dynamics)}")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: expected a positive number, got {args.batch_size}")
    operators = [load_operator(path) for path in paths]
    mode_cutoff, cutoff_source = args.mode_cutoff, "--mode-cutoff"
    if mode_cutoff is None:
        mode_cutoff, cutoff_source = model_mode_cutoff(dict(zip(labels, operators))), "the models' n_modes"
    task = None if args.task == "auto" else args.task
    inputs, targets = _load_pairs(operators[0], args.data, task, args.resolution, args.n_samples)
    predictions, dynamics = {}, {}
    for index, (label, path, operator) in enumerate(zip(labels, paths, operators)):
        prediction = operator.predict(inputs, batch_size=args.batch_size).detach().cpu()
        if prediction.shape != targets[:, : prediction.shape[1]].shape:
            raise ConfigError(f"--ckpt {path}: prediction shape {tuple(prediction.shape)} does not match the "
                              f"data's target {tuple(targets.shape)}")
        predictions[label] = prediction
        csv_path = Path(args.dynamics[index]) if args.dynamics else find_dynamics(operator)
        if csv_path is not None:
            dynamics[label] = csv_path
    # a trajectory target (step task) is compared with the one-step prediction: its first frame
    target = targets[:, : next(iter(predictions.values())).shape[1]]
    rows = spectral_report(predictions, target, args.out, mode_cutoff=mode_cutoff, threshold=args.threshold,
                           dynamics=dynamics or None)
    if mode_cutoff is None:
        mode_cutoff = default_mode_cutoff(tuple(target.shape[2:]))
        cutoff_source = "half the grid: no model has Fourier modes"
    print(f"bands: low |k| <= {mode_cutoff // 2}, mid to {mode_cutoff}, high above (mode cutoff {mode_cutoff} from "
          f"{cutoff_source})")
    print(format_table(rows))
    if not args.dynamics:
        missing = [label for label in labels if label not in dynamics]
        if missing:
            print(f"no learning dynamics for {', '.join(missing)} (none recorded in the checkpoint; --dynamics "
                  "gives a spectral_dynamics.csv)")
    print(f"figures and spectral_summary.csv in {args.out}")
    return 0


# --------------------------------------------------------------------------- opkit spectral-probe


def _write_probe_csv(path: Path, result) -> None:
    from opkit.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["activation", "iteration", "frequency", result.quantity.split(" (")[0].replace(" ", "_")])
            for name, values in result.values.items():
                for row, iteration in enumerate(result.iterations):
                    for column, frequency in enumerate(result.frequencies):
                        writer.writerow([name, int(iteration), int(frequency), float(values[row, column])])


def run_probe(args: argparse.Namespace) -> int:
    import numpy as np

    from opkit.spectral import aliasing, plots, probes

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    factory = probes.default_fno_factory(n_modes=args.n_modes, width=args.width)
    if args.kind == "function":
        result = probes.frequency_probe(args.activations, frequencies=args.frequencies, amplitudes=args.amplitudes,
                                        iterations=args.iterations or 2000, record_every=args.record_every or 50,
                                        repeats=args.repeats, seed=args.seed)
    elif args.kind == "operator":
        result = probes.operator_probe(args.activations, factory, iterations=args.iterations or 300,
                                       record_every=args.record_every or 25, repeats=args.repeats, seed=args.seed)
    if args.kind in ("function", "operator"):
        _write_probe_csv(out / f"probe_{args.kind}.csv", result)
        panels = {name: (result.iterations, result.frequencies, values) for name, values in result.values.items()}
        if args.kind == "function":
            plots.plot_probe_heatmap(panels, out / "probe_function.png")
        else:
            plots.plot_dynamics_heatmap(panels, out / "probe_operator.png", title="Relative error by iteration and wavenumber")
        print(f"{result.quantity} at the last iteration ({int(result.iterations[-1])}), averaged over {args.repeats} repeat(s)")
        header = "activation  " + "  ".join(f"k={int(k):<4d}" for k in result.frequencies) + "  final loss"
        print(header)
        for name, values in result.values.items():
            cells = "  ".join(f"{v:<6.3g}" for v in values[-1])
            print(f"{name:<10s}  {cells}  {result.final_loss[name]:.3g}")
    elif args.kind == "init":
        spectra = probes.initial_spectra(args.activations, factory, n_inits=max(args.repeats, 1), seed=args.seed)
        plots.plot_error_spectrum(spectra, out / "initial_spectra.png", relative=False, mode_cutoff=args.n_modes,
                                  title="Output spectrum of untrained FNOs (band-limited inputs, |k| <= 8)")
        print("activation  energy share above the input band (|k| > 8)  above the mode cutoff")
        for name, spectrum in spectra.items():
            print(f"{name:<10s}  {probes.high_frequency_fraction(spectrum, 8):<42.3g}  "
                  f"{probes.high_frequency_fraction(spectrum, args.n_modes):.3g}")
    else:
        import torch

        band = max(1, args.n_modes // 2)
        inputs = probes.band_limited_functions(16, max(128, 4 * args.n_modes), band, torch.Generator().manual_seed(args.seed))
        select = aliasing.fno_activation_selector(4)  # default_fno_factory builds 4 Fourier layers
        print(f"energy share in modes the next spectral convolution drops (n_modes={args.n_modes}) after each "
              f"activation (inputs: |k| <= {band}, {max(args.repeats, 1)} initialisation(s))")
        for name in args.activations:
            shares = []
            for repeat in range(max(args.repeats, 1)):
                torch.manual_seed(args.seed * 1000 + repeat)
                fractions = aliasing.activation_aliasing(factory(name), inputs, args.n_modes, select=select)
                shares.append(list(fractions.values()))
            mean = np.mean(np.array(shares), axis=0)
            print(f"{name:<10s}  " + "  ".join(f"{layer}={v:.3g}" for layer, v in zip(fractions, mean)))
    print(f"results in {out}")
    return 0
