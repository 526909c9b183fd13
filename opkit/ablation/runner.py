"""Run a sweep: local worker processes or SLURM jobs, all through one per-run entry point.

:func:`execute_run` is the per-run entry point. It takes a JSON-able run spec and the
results directory, calls the training function (``opkit.training.run.run_experiment``
unless the sweep names another ``entry``), classifies the outcome as finished, failed or
diverged and writes the run's record atomically. Local workers and SLURM jobs call
exactly this function, so the results directory is the same either way.

Threads: each of N local workers gets ``cores // N`` threads, set through the
environment before the worker imports torch (workers are spawned, never forked).

Local workers die with the sweep process (``opkit.workers.die_with_parent``), so a
``kill -9`` of ``opkit ablate`` leaves no orphan training into the run directories. They
ignore Ctrl-C: the sweep process then queues nothing more (at most one run per worker is
ever queued), kills the workers after a one-second grace period and exits. A run cut
short that way has no record (records are written atomically when a run ends), so the
next ``opkit ablate`` trains it again from scratch.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone

from opkit.ablation.spec import (RunSpec, Sweep, cell_key, check_runs, expand, load_entry, lr_sweep_runs,
                                 run_overrides)
from opkit.ablation.store import DIVERGED, FAILED, FINISHED, ResultStore, collect_run_files
from opkit.errors import ConfigError, OpkitError
from opkit.io import write_text_atomic
from opkit.workers import describe_dead_workers, die_with_parent, ignore_interrupts, stop_workers, worker_processes

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def classify(result: dict) -> tuple[str, int | None]:
    """(status, diverged epoch) of a training result: diverged if it says so or its losses are not finite."""
    if result.get("diverged") is True or result.get("status") == DIVERGED:
        return DIVERGED, result.get("diverged_epoch", result.get("epoch"))
    for key, value in result.items():
        if "loss" in key and isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isfinite(value):
            return DIVERGED, result.get("diverged_epoch", result.get("epoch"))
    return FINISHED, None


def execute_run(spec_data: dict, results_dir: str, entry=None) -> dict:
    """The per-run entry point: train one run and write its record. Never raises for a failed run.

    ``entry`` is the training function ``(config, overrides, run_dir, seed) -> dict`` (a
    callable or an entry string); by default the one the spec names.
    """
    spec = RunSpec.from_dict(spec_data)
    store = ResultStore(results_dir).create()
    run_dir = store.run_dir(spec.run_id)
    if run_dir.exists():  # leftovers of a killed attempt
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    record = {
        "run_id": spec.run_id, "phase": spec.phase, "seed": spec.seed, "learning_rate": spec.learning_rate,
        "factors": spec.factors, "fingerprint": spec.fingerprint(), "spec": spec.to_dict(),
        "started": _now(), "host": platform.node(),
        "run_dir": str(run_dir.relative_to(store.root)),
    }
    start = time.perf_counter()
    try:
        function = load_entry(entry or spec.entry) if not callable(entry) else entry
        _quiet_lightning()
        result = function(spec.base_config or {}, run_overrides(spec), str(run_dir), spec.seed)
        if not isinstance(result, dict):
            raise TypeError(f"training function returned {type(result).__name__}, expected a dict of metrics")
        status, epoch = classify(result)
        if status == FINISHED:
            result = {**result, **collect_run_files(run_dir, result)}
        record.update(status=status, diverged_epoch=epoch, error=None, metrics=result)
    except (Exception, SystemExit) as error:  # a failed run is a record, not a crash of the sweep
        # SystemExit: a command-line parser (the training CLI's) that gave up on its arguments.
        # But Lightning turns Ctrl-C into sys.exit(1): an interrupted run is no record at all.
        if isinstance(error, SystemExit) and isinstance(error.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        record.update(status=FAILED, diverged_epoch=None, error=f"{type(error).__name__}: {error}",
                      traceback=traceback.format_exc(), metrics={})
    record["duration_s"] = time.perf_counter() - start
    record["threads"] = _thread_count()  # torch's intra-op threads in the process that ran it
    record["finished"] = _now()
    store.write_record(record)
    return {"run_id": spec.run_id, "status": record["status"]}


def _quiet_lightning() -> None:
    """Keep Lightning's per-run banners out of the sweep's progress output (warnings still show)."""
    import logging

    try:  # Lightning sets its loggers' levels when first imported, so import it before changing them
        import lightning.pytorch  # noqa: F401
    except ImportError:
        return
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _thread_count() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """``cores // workers`` (at least 1); cores defaults to the CPUs this process may use."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // workers)


def _init_worker(threads: int) -> None:
    """Runs in each spawned worker before any task, hence before torch is imported there."""
    die_with_parent()
    ignore_interrupts()  # Ctrl-C is the sweep process's to handle: it stops the workers
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:  # only if something imported it already
        torch.set_num_threads(threads)


def _progress(total: int, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="run", dynamic_ncols=True)


def run_specs(specs: list[RunSpec], store: ResultStore, workers: int = 1, entry=None,
              description: str = "runs", executor=None) -> list[dict]:
    """Run ``specs`` (already filtered to those that need running) and return their outcomes.

    ``workers == 1`` runs in this process; more uses spawned worker processes; an
    ``executor`` with ``submit(fn, *args)`` returning futures (e.g. a submitit executor)
    replaces the local pool.
    """
    outcomes = []
    if not specs:
        return outcomes
    progress = _progress(len(specs), description)
    try:
        if executor is None and workers == 1:  # in this process, with the caller's thread settings
            for spec in specs:
                outcomes.append(execute_run(spec.to_dict(), str(store.root), entry))
                store.write_table()
                progress.update(1)
            return outcomes
        if executor is not None:  # cluster jobs: all submitted at once, collected in order
            futures = [executor.submit(execute_run, spec.to_dict(), str(store.root), entry) for spec in specs]
            for future in _completed(futures):
                outcomes.append(future.result())
                store.write_table()
                progress.update(1)
            return outcomes
        # closing(): the workers are stopped as soon as this loop ends, however it ends
        with contextlib.closing(_run_in_local_workers(specs, store, workers, entry)) as local_outcomes:
            for outcome in local_outcomes:
                outcomes.append(outcome)
                store.write_table()
                progress.update(1)
    finally:
        progress.close()
    return outcomes


def _run_in_local_workers(specs: list[RunSpec], store: ResultStore, workers: int, entry):
    """Yield the outcome of each spec, run in ``workers`` spawned processes that die with this one.

    A new run is submitted only when a worker is free, so nothing waits in the pool's
    queue: on Ctrl-C (or any error) no further run starts, and the workers are killed
    after a one-second grace period.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_spawn_context(), initializer=_init_worker,
                               initargs=(threads_per_worker(workers),))
    queue = iter(specs)
    running: dict = {}  # future -> run id
    processes = []

    def submit_next() -> None:
        spec = next(queue, None)
        if spec is not None:
            running[pool.submit(execute_run, spec.to_dict(), str(store.root), entry)] = spec.run_id

    try:
        for _ in range(workers):
            submit_next()
        processes = worker_processes(pool)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                run_id = running.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    raise OpkitError(f"{describe_dead_workers(processes)} during run {run_id}; finished runs are "
                                     f"recorded in {store.root}: rerun the same command to resume") from None
                yield outcome
                submit_next()
    finally:
        stop_workers(pool)


def _completed(futures):
    """Local futures in completion order; cluster jobs (submitit) in submission order."""
    if all(isinstance(future, Future) for future in futures):
        return as_completed(futures)
    return futures


def _spawn_context():
    import multiprocessing

    return multiprocessing.get_context("spawn")


def slurm_executor(folder, parameters: dict | None = None, cluster: str | None = None):
    """A submitit executor writing its logs under ``folder`` (``pip install opkit[slurm]``).

    ``parameters`` are submitit's (``timeout_min``, ``gpus_per_node``, ``slurm_partition``...);
    ``cluster`` is submitit's choice of backend: None picks SLURM where ``sbatch`` exists,
    ``"local"`` runs each job as a local process (tests, trying a sweep file out).
    """
    try:
        import submitit
    except ImportError:
        raise ConfigError("--slurm needs submitit: pip install 'opkit[slurm]'") from None
    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    try:
        executor.update_parameters(**(parameters or {}))
    except (AssertionError, NameError, TypeError, ValueError) as error:  # submitit adds lines of valid names
        raise ConfigError(f"slurm settings: {str(error).splitlines()[0]}") from None
    return executor


def select_learning_rates(sweep: Sweep, store: ResultStore) -> dict[str, float]:
    """Per grid cell, the lr_sweep learning rate with the best validation metric (never test)."""
    metric = sweep.lr_sweep.select_on
    best: dict[str, tuple[float, float]] = {}
    for spec in lr_sweep_runs(sweep):
        record = store.read_record(spec.run_id)
        if record is None or record["status"] != FINISHED:
            continue
        value = (record.get("metrics") or {}).get(metric)
        if not _is_finite_number(value):
            continue
        cell = cell_key(spec.factors)
        if cell not in best or value < best[cell][1]:
            best[cell] = (spec.learning_rate, value)
    return {cell: lr for cell, (lr, _) in best.items()}


def plan(sweep: Sweep, store: ResultStore, retry_failed: bool = False, selected_lr: dict | None = None) -> list[RunSpec]:
    """The main runs that still need running (with their selected learning rates applied)."""
    specs = []
    for spec in expand(sweep):
        if selected_lr is not None:
            lr = selected_lr.get(cell_key(spec.factors))
            if lr is not None:
                spec = RunSpec(**{**spec.to_dict(), "learning_rate": lr})
        if store.needs_run(spec.run_id, spec.fingerprint(), retry_failed):
            specs.append(spec)
    return specs


def run_sweep(sweep: Sweep, results_dir, workers: int = 1, retry_failed: bool = False, entry=None,
              executor=None) -> dict:
    """Run every run of ``sweep`` that has no record yet; returns counts per status."""
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")
    check_runs(lr_sweep_runs(sweep) + expand(sweep))  # a bad override fails now, not in every run
    store = ResultStore(results_dir).create()
    if sweep.path is not None and sweep.path.resolve() != (store.root / "sweep.yaml").resolve():
        write_text_atomic(store.root / "sweep.yaml", sweep.path.read_text())
    store.write_json("sweep.json", sweep_summary(sweep))
    selected_lr = None
    if sweep.lr_sweep is not None:
        pending = [s for s in lr_sweep_runs(sweep) if store.needs_run(s.run_id, s.fingerprint(), retry_failed)]
        run_specs(pending, store, workers, entry, "lr sweep", executor)
        selected_lr = select_learning_rates(sweep, store)
        store.write_json("lr_selection.json", selected_lr)
    pending = plan(sweep, store, retry_failed, selected_lr)
    run_specs(pending, store, workers, entry, sweep.name, executor)
    store.write_table()
    counts = {FINISHED: 0, FAILED: 0, DIVERGED: 0}
    for spec in expand(sweep):  # this sweep's runs only: a results directory may hold others
        record = store.read_record(spec.run_id)
        if record is not None:
            counts[record["status"]] += 1
    counts["total"] = len(expand(sweep))
    return counts


def sweep_summary(sweep: Sweep) -> dict:
    """What the report needs to know about the sweep, independent of the sweep file's location."""
    return {
        "name": sweep.name, "description": sweep.description, "baseline": sweep.baseline, "metric": sweep.metric,
        "seeds": list(sweep.seeds), "axes": {axis: [v.label for v in values] for axis, values in sweep.axes.items()},
        "base_config": sweep.base_config, "overrides": sweep.overrides, "entry": sweep.entry,
        "lr_sweep": None if sweep.lr_sweep is None else {
            "values": list(sweep.lr_sweep.values), "select_on": sweep.lr_sweep.select_on},
    }
