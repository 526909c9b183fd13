"""``opkit generate``, ``opkit convert`` and ``opkit inspect``."""

from __future__ import annotations

import argparse
from pathlib import Path

from opkit.errors import ConfigError

PDE_NAMES = {"burgers": "burgers", "darcy": "darcy", "navier-stokes": "navier_stokes",
             "navier_stokes": "navier_stokes"}


def register(subparsers) -> None:
    generate = subparsers.add_parser(
        "generate", help="generate a PDE dataset with opkit's solvers",
        description="Generate N samples of a PDE preset into an opkit HDF5 file. Resumable: an interrupted "
                    "run leaves OUT.partial, and the same command continues it.")
    generate.add_argument("pde", choices=["burgers", "darcy", "navier-stokes"])
    generate.add_argument("--preset", default="small", help="parameter preset (tiny, small, fno, ...)")
    generate.add_argument("--n", type=int, required=True, help="number of samples")
    generate.add_argument("--out", required=True, help="output file (.h5)")
    generate.add_argument("--seed", type=int, default=0, help="base seed: sample i depends only on (seed, i)")
    generate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="override a preset parameter (repeatable)")
    generate.add_argument("--workers", type=int, default=1, help="processes computing samples")
    generate.add_argument("--compression", choices=["gzip"], default=None)
    generate.set_defaults(handler=run_generate)

    convert = subparsers.add_parser(
        "convert", help="convert a PDEBench, FNO .mat or The Well file into the opkit schema")
    convert.add_argument("source", help="input file")
    convert.add_argument("out", help="output opkit file (.h5)")
    convert.add_argument("--compression", choices=["gzip"], default=None)
    convert.set_defaults(handler=run_convert)

    inspect = subparsers.add_parser(
        "inspect", help="print the schema, shapes, attributes and statistics of a data file")
    inspect.add_argument("file")
    inspect.add_argument("--no-stats", action="store_true", help="skip computing statistics missing from the file")
    inspect.add_argument("--spectrum", action="store_true",
                         help="print each field's spectral content instead: energy fractions above |k| = 4, 8, 12, "
                              "16, 24, the k holding 99%% and 99.99%% of the energy, the slope (FFT shells; sine basis "
                              "too for non-periodic data)")
    inspect.add_argument("--samples", type=int, default=64, help="samples pooled by --spectrum (the first N)")
    inspect.add_argument("--plot", metavar="PNG", default=None, help="with --spectrum: write the spectra to PNG")
    inspect.set_defaults(handler=run_inspect)


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

    out = generate_preset(PDE_NAMES[args.pde], args.preset, args.n, args.out, base_seed=args.seed,
                          overrides=parse_overrides(args.set), workers=args.workers, compression=args.compression)
    print(f"wrote {out}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from opkit.data.writer import convert_file

    out = convert_file(args.source, args.out, compression=args.compression)
    print(f"wrote {out}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    if args.spectrum or args.plot:
        return run_inspect_spectrum(args)
    print(describe(args.file, statistics=not args.no_stats))
    return 0


def run_inspect_spectrum(args: argparse.Namespace) -> int:
    """``opkit inspect FILE --spectrum [--samples N] [--plot PNG]`` (``--plot`` implies ``--spectrum``)."""
    from opkit.spectral.content import describe_spectrum  # the command glue reaches the spectral stage lazily

    if args.samples < 1:
        raise ConfigError(f"--samples {args.samples}: expected a positive integer")
    print(describe_spectrum(args.file, n_samples=args.samples, plot=args.plot))
    return 0


def describe(path, statistics: bool = True) -> str:
    """A readable summary of any supported file: format, attributes, coordinates, fields, statistics."""
    import numpy as np

    from opkit.data.formats import open_dataset_file
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
