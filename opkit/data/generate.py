"""The generation driver: a PDE problem's samples into an opkit file, resumable and atomic.

Samples are written into ``<out>.partial`` together with a per-sample ``completed`` mask.
An interrupted run leaves only the ``.partial`` file; running the same command again
continues with the samples still missing. Sample ``i`` depends only on ``(base_seed, i)``,
so the result does not depend on interruptions, batch order or the number of workers.
Once every sample is written the statistics are computed, ``complete`` is set and the
file is renamed to ``<out>``: a file under the final name is always complete.

With ``workers > 1`` worker processes (``opkit.workers``: spawned, never forked)
compute batches and save each to a small temporary ``.npz`` beside the output; only the
parent writes the ``.partial`` file. A worker that dies (SIGKILL, out of memory) stops the
run with one line and the ``.partial`` kept for a resume; so do a failing batch and Ctrl-C,
after which the queued batches are cancelled and the workers stopped within seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from opkit.data import schema, writer
from opkit.data.schema import as_layout, decode
from opkit.errors import ConfigError, DataError, OpkitError
from opkit.io import atomic_path, exclusive_lock
from opkit.workers import (describe_dead_workers, die_with_parent, ignore_interrupts, stop_workers,
                           worker_context, worker_processes)

_WORKER_PROBLEM = None  # the problem a worker process computes batches of


def partial_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _identity(problem, n_samples: int, base_seed: int) -> dict:
    """What must match for a file (or ``.partial``) to be this run's output."""
    return {"pde": str(problem.pde), "preset": str(problem.preset), "n_samples": int(n_samples),
            "base_seed": int(base_seed), "params": json.loads(schema.params_json(problem.params)),
            "fields": {f.name: [list(f.dims), list(f.shape)] for f in map(as_layout, problem.fields)}}


def _file_identity(handle: h5py.File) -> dict:
    fields = {}
    for name, dataset in writer.field_datasets(handle).items():
        dims = [decode(d) for d in dataset.attrs["dims"]]
        fields[name] = [dims[1:], list(dataset.shape[1:])]
    return {"pde": decode(handle.attrs["pde"]), "preset": decode(handle.attrs["preset"]),
            "n_samples": int(handle.attrs["n_samples"]), "base_seed": int(handle.attrs["base_seed"]),
            "params": schema.params_from_attrs(handle.attrs), "fields": fields}


def _differences(wanted: dict, found: dict) -> str:
    return ", ".join(f"{key} {found.get(key)!r} (expected {wanted[key]!r})"
                     for key in wanted if wanted[key] != found.get(key))


def _init_worker(problem) -> None:
    global _WORKER_PROBLEM
    die_with_parent()
    ignore_interrupts()  # Ctrl-C is the parent's to handle: it stops the pool
    _WORKER_PROBLEM = problem


def _generate_batch(indices: list[int], base_seed: int, batch_dir: str) -> str:
    """Compute one batch in a worker and save it to ``batch_dir``; return the file's path.

    Only the path travels back through the result pipe: a large pickle there could be cut
    in half by a killed worker and leave the parent waiting for the rest.
    """
    arrays = _WORKER_PROBLEM.generate(indices, base_seed)
    path = Path(batch_dir) / f"batch-{indices[0]}.npz"
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **arrays)
    return str(path)


def _batch_directory_prefix(partial: Path) -> str:
    return f".{partial.name}.batches-"


def _generate_in_workers(problem, handle: h5py.File, partial: Path, batches: list[list[int]], base_seed: int,
                         workers: int, bar) -> None:
    """Compute ``batches`` in ``workers`` processes; write each result into ``handle`` as it arrives.

    At most ``2 * workers`` batches are queued at a time, so a failure or Ctrl-C leaves
    little to cancel. Any exit (error, dead worker, interrupt) stops the workers within seconds.
    """
    for stale in partial.parent.glob(_batch_directory_prefix(partial) + "*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    batch_dir = Path(tempfile.mkdtemp(prefix=_batch_directory_prefix(partial), dir=partial.parent))
    executor = ProcessPoolExecutor(workers, mp_context=worker_context(), initializer=_init_worker,
                                   initargs=(problem,))
    queue = iter(batches)
    running: dict = {}  # future -> the sample indices it computes

    def submit_next() -> None:
        indices = next(queue, None)
        if indices is not None:
            running[executor.submit(_generate_batch, indices, base_seed, str(batch_dir))] = indices

    processes = []
    try:
        for _ in range(2 * workers):
            submit_next()
        processes = worker_processes(executor)  # started by the submits above
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            # every finished batch is written before a failed one stops the run: nothing computed is lost
            order = list(running)
            done = sorted(done, key=lambda future: (future.exception() is not None, order.index(future)))
            for future in done:
                indices = running.pop(future)
                path = future.result()  # a batch's own exception, or BrokenProcessPool
                with np.load(path) as arrays:
                    writer.write_samples(handle, indices, {name: arrays[name] for name in arrays.files})
                os.remove(path)
                bar.update(len(indices))
                submit_next()
    except BrokenProcessPool:
        written = int(np.asarray(handle[schema.COMPLETED_MASK]).sum())
        raise OpkitError(f"{describe_dead_workers(processes)} while generating {partial.name}; the {written} "
                         f"samples written so far are kept in {partial}: rerun the same command to resume") from None
    finally:
        stop_workers(executor)
        shutil.rmtree(batch_dir, ignore_errors=True)


def _open_partial(problem, partial: Path, n_samples: int, base_seed: int, compression) -> h5py.File:
    """Open ``partial`` to resume it, or create it (atomically) when absent or unreadable."""
    wanted = _identity(problem, n_samples, base_seed)
    if partial.exists():
        try:
            handle = h5py.File(partial, "r+")
            found = _file_identity(handle)
        except (OSError, KeyError) as error:  # a hard kill can leave it unreadable: start again
            print(f"opkit generate: {partial} is unreadable ({error.__class__.__name__}); starting afresh",
                  file=sys.stderr)
            partial.unlink()
        else:
            if found != wanted:
                handle.close()
                raise DataError(partial, f"unfinished file from a different run: {_differences(wanted, found)}; "
                                         "delete it or rerun with the same settings to resume")
            return handle
    with atomic_path(partial) as tmp:
        handle = writer.create_file(
            tmp, pde=problem.pde, preset=problem.preset, solver=problem.solver, params=problem.params,
            fields=problem.fields, coords=problem.coords, boundary_conditions=problem.boundary_conditions,
            n_samples=n_samples, base_seed=base_seed, compression=compression)
        handle.close()
    return h5py.File(partial, "r+")


def _record_cost(handle: h5py.File, seconds: float, cpu_seconds: float, samples: int, workers: int) -> None:
    """Generation cost in the file's attributes (``opkit inspect --spectrum`` prints it).

    A resumed run records only its own part. Wall seconds times workers over samples
    approximates the cost per sample on one core of an idle machine; on a shared machine
    the CPU seconds of this process (recorded when it computed every sample itself) are
    the better measure.
    """
    handle.attrs["generation_seconds"] = float(seconds)
    handle.attrs["generation_samples"] = int(samples)
    handle.attrs["generation_workers"] = int(workers)
    if workers == 1:
        handle.attrs["generation_cpu_seconds"] = float(cpu_seconds)


def generate_dataset(problem, out, n_samples: int, base_seed: int = 0, workers: int = 1,
                     compression: str | None = None, progress: bool = True) -> Path:
    """Write ``n_samples`` samples of ``problem`` to the opkit file ``out``; return ``out``.

    ``problem`` has the members of ``opkit.pde.problems.Problem`` (pde, preset, params,
    solver, fields, coords, boundary_conditions, batch_size, generate). If ``out`` already
    holds this exact dataset nothing is done; if it holds another, ``DataError``.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ConfigError(f"n_samples={n_samples!r}; expected a positive integer")
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"workers={workers!r}; expected a positive integer")
    out = Path(out)
    # Several processes may ask for the same file at once (sweep workers, two trainings):
    # one generates it, the others wait and then find it complete.
    with exclusive_lock(out, f"opkit generate: waiting for another process that is generating {out}"):
        return _generate_unlocked(problem, out, n_samples, base_seed, workers, compression, progress)


def _generate_unlocked(problem, out: Path, n_samples: int, base_seed: int, workers: int, compression,
                       progress: bool) -> Path:
    wanted = _identity(problem, n_samples, base_seed)
    if out.exists():
        try:
            with h5py.File(out, "r") as handle:
                found = _file_identity(handle) if decode(handle.attrs.get("format", "")) == schema.FORMAT_NAME \
                    else None
                complete = bool(handle.attrs.get("complete", False))
        except (OSError, KeyError):
            found, complete = None, False
        if found == wanted and complete:
            return out
        detail = _differences(wanted, found) if found else "not an opkit dataset"
        raise DataError(out, f"already exists with other contents: {detail}; choose another output or delete it")

    partial = partial_path(out)
    handle = _open_partial(problem, partial, n_samples, base_seed, compression)
    try:
        done = np.asarray(handle[schema.COMPLETED_MASK])
        missing = np.flatnonzero(~done)
        batch_size = max(1, int(getattr(problem, "batch_size", 1) or 1))
        batches = [missing[start:start + batch_size].tolist() for start in range(0, missing.size, batch_size)]
        started, cpu_started = time.perf_counter(), time.process_time()
        bar = tqdm(total=n_samples, initial=int(done.sum()), unit="sample", disable=not progress,
                   desc=f"generate {problem.pde}/{problem.preset}", dynamic_ncols=True)
        if workers == 1 or len(batches) <= 1:
            for indices in batches:
                writer.write_samples(handle, indices, problem.generate(indices, base_seed))
                bar.update(len(indices))
        else:
            _generate_in_workers(problem, handle, partial, batches, base_seed, workers, bar)
        bar.close()
        _record_cost(handle, time.perf_counter() - started, time.process_time() - cpu_started, len(missing),
                     workers if len(batches) > 1 else 1)
        writer.finalize(handle)
    finally:
        handle.close()
    os.replace(partial, out)
    return out


def generate_preset(pde: str, preset: str, n_samples: int, out, base_seed: int = 0, overrides: dict | None = None,
                    workers: int = 1, compression: str | None = None, progress: bool = True) -> Path:
    """``generate_dataset`` for ``opkit.pde.problems.get_problem(pde, preset, **overrides)``."""
    from opkit.pde.problems import get_problem

    problem = get_problem(pde, preset, **(overrides or {}))
    return generate_dataset(problem, out, n_samples, base_seed=base_seed, workers=workers,
                            compression=compression, progress=progress)
