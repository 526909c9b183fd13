"""``opkit ablate`` and ``opkit report``."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    ablate = subparsers.add_parser(
        "ablate", help="run an activation ablation sweep (resumable)",
        description="Run every run of a sweep file that has no record yet in the results directory.",
    )
    ablate.add_argument("config", help="sweep YAML, e.g. configs/ablation/activations_burgers_fno.yaml")
    ablate.add_argument("--workers", type=int, default=1, help="parallel local worker processes (default 1)")
    ablate.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    ablate.add_argument("--results", default=None, help="results directory (default results/<sweep name>)")
    ablate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training setting for every run, e.g. --set trainer.max_epochs=5 "
                             "(VALUE read as YAML; repeatable)")
    ablate.add_argument("--slurm", action="store_true",
                        help="submit each run as a SLURM job with submitit, with the sweep file's `slurm:` "
                             "settings (docs/slurm.md)")
    ablate.add_argument("--slurm-partition", default=None, help="SLURM partition (overrides slurm.slurm_partition)")
    ablate.add_argument("--slurm-minutes", type=int, default=None,
                        help="time limit per run in minutes (overrides slurm.timeout_min; default 60)")
    ablate.add_argument("--slurm-gpus", type=int, default=None,
                        help="GPUs per run (overrides slurm.gpus_per_node; default 0)")
    ablate.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    ablate.set_defaults(handler=_ablate)

    report = subparsers.add_parser(
        "report", help="statistics, figures and an HTML page for a sweep's results",
        description="Write RESULTS_DIR/report/report.md, PNG figures and report.html. With several results "
                    "directories, write the cross-task summary (summary.md, summary.html, summary.json, figures/) "
                    "to --out instead.",
    )
    report.add_argument("results_dir", nargs="+", help="a results directory written by `opkit ablate` (several: "
                                                       "combined into one summary)")
    report.add_argument("--baseline", default=None,
                        help="baseline activation label (default: the sweep's; gelu for a summary)")
    report.add_argument("--out", default=None,
                        help="output folder (default RESULTS_DIR/report; required with several directories)")
    report.add_argument("--metric", default=None,
                        help="metric of a summary (default: the sweeps' common primary metric; 'primary': each sweep's own, "
                             "e.g. a rollout error beside test errors)")
    report.set_defaults(handler=_report)


def _ablate(args) -> int:
    from opkit.ablation.report import write_report
    from opkit.ablation.runner import run_sweep, slurm_executor
    from opkit.ablation.sweep_file import load_sweep
    from opkit.errors import ConfigError

    sweep = load_sweep(args.config)
    sweep.overrides.update(parse_settings(args.set))
    if args.workers < 1:
        raise ConfigError(f"--workers must be a positive integer, got {args.workers}")
    results = Path(args.results or Path("results") / sweep.name)
    executor = None
    if args.slurm:
        executor = slurm_executor(results / "slurm", slurm_parameters(sweep.slurm, args))
    counts = run_sweep(sweep, results, workers=args.workers, retry_failed=args.retry_failed, executor=executor)
    print(f"{sweep.name}: {counts['finished']} finished, {counts['diverged']} diverged, "
          f"{counts['failed']} failed of {counts['total']} runs -> {results}")
    if not args.no_report and counts["finished"]:
        out = write_report(results)
        print(f"report: {out}")
    return 1 if counts["failed"] else 0


def slurm_parameters(settings: dict, args) -> dict:
    """submitit parameters: defaults, then the sweep file's ``slurm:`` mapping, then the command line."""
    parameters = {"timeout_min": 60, "cpus_per_task": 1, **settings}
    for key, value in (("slurm_partition", args.slurm_partition), ("timeout_min", args.slurm_minutes),
                       ("gpus_per_node", args.slurm_gpus)):
        if value is not None:
            parameters[key] = value
    return parameters


def parse_settings(items: list[str]) -> dict:
    """``["trainer.max_epochs=5"]`` -> ``{"trainer.max_epochs": 5}`` (values parsed as YAML scalars)."""
    import yaml

    from opkit.errors import ConfigError

    settings = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. trainer.max_epochs=5")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):
            try:  # YAML 1.1 reads 1e-3 as a string
                parsed = float(parsed)
            except ValueError:
                pass
        settings[key.strip()] = parsed
    return settings


def _report(args) -> int:
    from opkit.ablation.report import write_report
    from opkit.errors import ConfigError

    if len(args.results_dir) > 1:
        from opkit.ablation.summary import write_summary

        if args.out is None:
            raise ConfigError("--out: a summary of several results directories needs an output folder, "
                              "e.g. --out docs/ablation/summary")
        out = write_summary(args.results_dir, args.out, baseline=args.baseline, metric=args.metric)
        print(f"summary: {out}")
        return 0
    if args.metric is not None:
        raise ConfigError("--metric applies to a summary of several results directories; one sweep's report "
                          "uses the sweep's metric")
    out = write_report(args.results_dir[0], baseline=args.baseline, out_dir=args.out)
    print(f"report: {out}")
    return 0
