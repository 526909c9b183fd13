"""``opkit generate``, ``opkit convert`` and ``opkit inspect``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opkit.errors import ConfigError

PDE_NAMES = {"burgers": "burgers", "darcy": "darcy", "navier-stokes": "navier_stokes",
             "navier_stokes": "navier_stokes"}

# One line per preset of opkit.pde.problems.PRESETS for `opkit generate --help` (kept here, not
# beside the presets, so that help does not import the solvers; the full cards: datasets/README.md).
PRESET_SUMMARIES: dict[str, dict[str, str]] = {
    "burgers": {
        "tiny": "GRF initial condition, nu=0.1, solution at t=1; 64 points (tests, < 1 s)",
        "small": "as tiny at 256 points (solved at 1024); ~12 samples/s",
        "fno": "the FNO paper's data: 8192 points; ~1 sample/s",
        "pdebench": "PDEBench-style random sines, nu=0.01/pi, 201 times to t=2, 1024 points",
        "fno_public": "broadband: the FNO authors' public generator (nu=1e-3, GRF sigma=49, tau=7), 1024 points; "
                      "~13 samples/s",
        "fno_nu1e-3": "broadband: the FNO paper's 625(-Lap+25)^-2 law at nu=1e-3 (shocks), 1024 points; ~2 samples/s",
    },
    "darcy": {
        "tiny": "12/3 threshold coefficient of a GRF, 17x17 (tests, < 1 s)",
        "small": "as tiny at 64x64 (solved at 127); ~12 samples/s",
        "fno": "the FNO paper's data: 85x85 (solved at 421); ~0.5 samples/s",
        "smooth": "log-normal (smooth) coefficient, 64x64",
        "rough": "100:1 threshold coefficient, tau=12, harmonic face average solved at 253^2, 64x64; ~2 samples/s",
    },
    "navier_stokes": {
        "tiny": "vorticity, nu=1e-3, 3 frames to t=1, 16x16 (tests, < 1 s)",
        "small": "11 frames to t=5, 64x64; ~1-2.5 s per trajectory",
        "fno": "the FNO paper's recipe: 51 frames to t=50, solved at 256^2 (not feasible on a CPU)",
        "fno_fast": "the FNO paper's statistics solved at 64^2, dt=1e-2; ~3.3 s per trajectory",
        "fno_nu1e-4": "broadband: nu=1e-4, 31 frames to t=30 (content from t~20), solved at 128^2, 64x64; "
                      "~23 s per trajectory",
    },
}


def register(subparsers) -> None:
    generate = subparsers.add_parser(
        "generate", help="generate a PDE dataset with opkit's solvers",
        description="Generate N samples of a PDE preset into an opkit HDF5 file. Resumable: an interrupted "
                    "run leaves OUT.partial, and the same command continues it.",
        epilog=_presets_epilog())
    generate.add_argument("pde", choices=list(PDE_NAMES), metavar="{burgers,darcy,navier-stokes}",
                          help="the PDE (navier_stokes also accepted)")
    generate.add_argument("--preset", default="small", help="parameter preset (listed below)")
    generate.add_argument("--n", type=int, required=True, help="number of samples")
    generate.add_argument("--out", required=True, help="output file (.h5); missing folders are created")
    generate.add_argument("--seed", type=int, default=0, help="base seed: sample i depends only on (seed, i)")
    generate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="override a preset parameter (repeatable)")
    generate.add_argument("--workers", type=int, default=1, help="processes computing samples")
    generate.add_argument("--compression", choices=["gzip"], default=None)
    generate.set_defaults(handler=run_generate)

    convert = subparsers.add_parser(
        "convert", help="convert a PDEBench, FNO .mat or The Well file, or your own arrays, into the opkit schema",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write SOURCE as an opkit HDF5 file OUT (atomically: OUT appears only when complete).\n\n"
                    "Community files (PDEBench, FNO .mat, The Well) are recognised from their content.\n"
                    "Your own arrays (.npy, .npz, torch .pt/.pth holding a dict of tensors, plain HDF5) need\n"
                    "the mapping: which arrays are inputs and targets, and the names of their axes:\n\n"
                    "  opkit convert data.pt out.h5 --input x --target y --dims x,y --pde darcy --bc dirichlet\n\n"
                    "Every array has the sample axis first: (sample, x, y), or with a channel axis\n"
                    "(sample, channel, x, y) -- channels-first is assumed unless --channels last.")
    convert.add_argument("source", help="input file")
    convert.add_argument("out", help="output opkit file (.h5), written atomically; never the input")
    convert.add_argument("--input", action="append", default=[], metavar="KEY",
                         help="array holding inputs: a key of SOURCE (HDF5: dataset path) or a .npy file; "
                              "repeatable (one field each); a .npy SOURCE is the input by default")
    convert.add_argument("--target", action="append", default=[], metavar="KEY",
                         help="array holding targets (like --input)")
    convert.add_argument("--dims", metavar="AXES", help="per-sample axis names, comma separated, e.g. x,y or t,x "
                                                        "(time first); needed for your own arrays")
    convert.add_argument("--coords", action="append", default=[], metavar="AXIS=KEY|START:STOP",
                         help="coordinates of an axis: an array of SOURCE or a uniform range (default 0:1)")
    convert.add_argument("--channels", choices=["first", "last"], default=None,
                         help="where an array's channel axis is, if it has one (default: first)")
    convert.add_argument("--pde", help="PDE name recorded in the file (navier-stokes = navier_stokes)")
    convert.add_argument("--bc", choices=[kind for kind in ("periodic", "dirichlet", "neumann", "open", "wall")],
                         default=None, help="boundary condition of every spatial axis (default: none recorded)")
    convert.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    convert.add_argument("--compression", choices=["gzip"], default=None)
    convert.set_defaults(handler=run_convert)

    inspect = subparsers.add_parser(
        "inspect", help="describe a data file or a checkpoint",
        description="Describe a data file (format, attributes, coordinates, fields with shapes and statistics) "
                    "or a checkpoint (a .ckpt path or a shipped name such as fno-darcy: model, parameters, "
                    "modes, training data and resolution, normalisers, recorded errors).")
    inspect.add_argument("file", help="data file, checkpoint file, or shipped checkpoint name")
    inspect.add_argument("--no-stats", action="store_true", help="skip computing statistics missing from the file")
    inspect.add_argument("--spectrum", action="store_true",
                         help="print each field's spectral content instead: energy fractions above |k| = 4, 8, 12, "
                              "16, 24, the k holding 99%% and 99.99%% of the energy, the slope (FFT shells; sine basis "
                              "too for non-periodic data)")
    inspect.add_argument("--samples", type=int, default=64, help="samples pooled by --spectrum (the first N)")
    inspect.add_argument("--plot", metavar="PNG", default=None, help="with --spectrum: write the spectra to PNG")
    inspect.set_defaults(handler=run_inspect)


def _presets_epilog() -> str:
    lines = ["presets (details in datasets/README.md):"]
    for pde, presets in PRESET_SUMMARIES.items():
        lines += [f"  {pde.replace('_', '-')} {name}: {summary}" for name, summary in presets.items()]
    return "\n".join(lines)


def parse_overrides(pairs: list[str]) -> dict:
    """``["viscosity=0.01", "n_x=64"]`` -> ``{"viscosity": 0.01, "n_x": 64}`` (numbers, else YAML)."""
    import yaml

    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}; expected KEY=VALUE")
        overrides[key.strip()] = _parse_value(value, yaml)
    return overrides


def _parse_value(text: str, yaml):
    """Numbers first (YAML 1.1 reads ``1e-3`` as a string), then YAML (true, [1, 2], text)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def run_generate(args: argparse.Namespace) -> int:
    from opkit.data.generate import generate_preset
    from opkit.io import create_parent_directory

    create_parent_directory(args.out)
    out = generate_preset(PDE_NAMES[args.pde], args.preset, args.n, args.out, base_seed=args.seed,
                          overrides=parse_overrides(args.set), workers=args.workers, compression=args.compression)
    print(f"wrote {out}")
    return 0


ARRAY_SUFFIXES = (".npy", ".npz", ".pt", ".pth")


def run_convert(args: argparse.Namespace) -> int:
    from opkit.data.arrays import convert_arrays
    from opkit.data.writer import convert_file
    from opkit.io import check_output_path

    check_output_path(args.out, inputs=[args.source], overwrite=args.overwrite)
    own_arrays = bool(args.input or args.target or args.dims) or Path(args.source).suffix.lower() in ARRAY_SUFFIXES
    if not own_arrays:
        out = convert_file(args.source, args.out, compression=args.compression, overwrite=args.overwrite)
        print(f"wrote {out}")
        return 0
    if not args.dims:
        raise ConfigError(f"{args.source}: --dims is missing; expected the per-sample axis names, e.g. --dims x,y")
    notes: list[str] = []
    out = convert_arrays(args.source, args.out, args.input, args.target, args.dims, coords=args.coords,
                         channels=args.channels, pde=args.pde, boundary_conditions=args.bc,
                         compression=args.compression, overwrite=args.overwrite, notes=notes)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {out}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    """Print the summary; exit 1 (after the summary) when a field holds NaN or Inf values."""
    from opkit.training.describe import describe_checkpoint, is_checkpoint  # the command spans both stages

    if is_checkpoint(args.file):
        print(describe_checkpoint(args.file))
        return 0
    if args.spectrum or args.plot:
        return run_inspect_spectrum(args)
    problems: list[str] = []
    print(describe(args.file, statistics=not args.no_stats, problems=problems))
    for problem in problems:
        print(f"opkit inspect: warning: {problem}", file=sys.stderr)
    return 1 if problems else 0


def run_inspect_spectrum(args: argparse.Namespace) -> int:
    """``opkit inspect FILE --spectrum [--samples N] [--plot PNG]`` (``--plot`` implies ``--spectrum``)."""
    from opkit.spectral.content import describe_spectrum  # the command glue reaches the spectral stage lazily

    if args.samples < 1:
        raise ConfigError(f"--samples {args.samples}: expected a positive integer")
    print(describe_spectrum(args.file, n_samples=args.samples, plot=args.plot))
    return 0


def describe(path, statistics: bool = True, problems: list[str] | None = None) -> str:
    """A readable summary of any supported file: format, attributes, coordinates, fields, statistics.

    With ``statistics`` every value is read: a field holding NaN or Inf is marked in the
    summary (its stored statistics are stale, so they are not shown) and one line naming the
    file, the field and the count is appended to ``problems``.
    """
    import numpy as np

    from opkit.data.formats import open_dataset_file
    from opkit.data.writer import nonfinite_count
    from opkit.data.writer import statistics as compute_statistics

    lines = []
    with open_dataset_file(path, allow_incomplete=True) as datafile:
        lines.append(f"{Path(path)}  format={datafile.format}  samples={datafile.n_samples}")
        if datafile.format == "opkit" and not datafile.attrs.get("complete"):
            done = int(np.asarray(datafile._handle["completed"]).sum())
            lines.append(f"INCOMPLETE: {done} of {datafile.n_samples} samples written; rerun `opkit generate` "
                         "with the same arguments to finish it")
            statistics = False
        lines.append("attributes:")
        for key in sorted(datafile.attrs):
            value = datafile.attrs[key]
            if key == "params_json":
                continue
            lines.append(f"  {key} = {value}")
        lines.append("dimensions:")
        for name, values in datafile.coords.items():
            values = np.asarray(values).reshape(-1)
            span = f"[{values.min():.6g}, {values.max():.6g}]" if values.size else "[]"
            lines.append(f"  {name}: {values.size} points in {span}")
        if datafile.boundary_conditions:
            lines.append("boundary conditions: " + ", ".join(f"{axis}={kind}" for axis, kind
                                                             in datafile.boundary_conditions.items()))
        lines.append("fields:")
        for name, info in datafile.fields.items():
            source = f" (from {info.source})" if info.source and info.source != name else ""
            dims = ", ".join(f"{d}={n}" for d, n in zip(("sample", *info.dims), (datafile.n_samples, *info.shape)))
            lines.append(f"  {name}{source}: ({dims})  {info.description}".rstrip())
            stats = {key: info.attrs[key] for key in ("mean", "std", "min", "max") if key in info.attrs}
            if statistics:
                bad, bad_samples = nonfinite_count(_SampleView(datafile, name))
                if bad:
                    lines.append(f"    NON-FINITE: {bad} NaN/Inf values in {bad_samples} of {datafile.n_samples} "
                                 "samples; no statistics")
                    if problems is not None:
                        problems.append(f"{datafile.path}: field {info.source or name!r}: {bad} non-finite values "
                                        f"(NaN or Inf) in {bad_samples} of {datafile.n_samples} samples")
                    continue
            if not stats and statistics:
                stats = compute_statistics(_SampleView(datafile, name), datafile.path, info.source or name)
            if stats:
                lines.append("    " + "  ".join(f"{key}={float(value):.6g}" for key, value in stats.items()))
    return "\n".join(lines)


class _SampleView:
    """A field as an array-like over samples (``shape``, slicing by sample), for ``statistics``."""

    def __init__(self, datafile, name: str):
        self.datafile, self.name = datafile, name
        info = datafile.field(name)
        self.shape = (datafile.n_samples, *info.shape)

    def __getitem__(self, index):
        return self.datafile.field(self.name).read(index)
