"""Local worker processes that can neither hang their parent nor outlive it.

``opkit generate --workers N`` and ``opkit ablate --workers N`` run their work in a
``concurrent.futures.ProcessPoolExecutor`` built from the pieces here:

* ``worker_context()``: spawned processes, never ``fork``: the parent has threads (tqdm's
  monitor, torch's pools) and a forked copy of a lock held by one of them stays locked
  forever in the child. Not forkserver either: its workers are children of the fork
  server, which outlives a killed parent as long as they run, so the kernel's
  parent-death signal below would never fire.
* A worker that dies (SIGKILL, the OOM killer) fails every pending future with
  ``BrokenProcessPool`` instead of leaving the parent waiting; ``describe_dead_workers``
  turns that into one line. Results sent back must stay small (well under the 4 KiB a
  pipe writes atomically): a worker killed halfway through sending a large pickle would
  leave the reading end waiting for the rest of it.
* ``die_with_parent()`` (call it first in the worker initializer): the kernel kills the
  worker when its parent dies (Linux ``PR_SET_PDEATHSIG``), and a watchdog thread exits
  it when the pipe from the parent closes (every platform), so a ``kill -9`` of the
  parent leaves no orphan working on.
* ``stop_workers(executor)``: cancel the queued work, give the workers a short grace
  period to exit, kill the rest, and join everything with timeouts.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def worker_context():
    """The multiprocessing context for worker pools: spawn (see the module docstring)."""
    return multiprocessing.get_context("spawn")


def die_with_parent() -> None:
    """Make this worker process end when the process that started it dies, even by SIGKILL.

    Call in the worker's initializer. On Linux the kernel sends SIGKILL when the parent
    dies (``prctl(PR_SET_PDEATHSIG)``; strictly, when the parent *thread* that started the
    worker ends, so start pools from the thread that also stops them). Everywhere, a daemon
    thread waits on the pipe that the parent holds open
    (``multiprocessing.parent_process().sentinel``) and exits the worker when it closes.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog below still applies
            pass
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    if not parent.is_alive():  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_exit_when_closed, args=(parent.sentinel,), name="opkit-parent-watchdog",
                     daemon=True).start()


def _exit_when_closed(sentinel) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])  # readable only at end of file: the parent is gone
    os._exit(1)


def ignore_interrupts() -> None:
    """Leave Ctrl-C to the parent: it stops the pool; a worker must not act on it by itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_processes(executor) -> list:
    """The executor's worker ``Process`` objects (empty for executors without local processes)."""
    return list((getattr(executor, "_processes", None) or {}).values())


def describe_dead_workers(processes) -> str:
    """``"a worker process was killed by SIGKILL (out of memory?)"``, or another one-line cause.

    A worker whose death broke the pool may not be reaped yet when the pool reports it (its
    exit code reads None for a moment): wait for each at most until a shared 1 s deadline.
    """
    deadline = time.monotonic() + 1.0
    for process in processes:
        if process.exitcode is None:
            process.join(max(0.0, deadline - time.monotonic()))
    codes = sorted({process.exitcode for process in processes if process.exitcode not in (None, 0)})
    signals = []
    for code in (code for code in codes if code < 0):
        try:
            signals.append(signal.Signals(-code).name)
        except ValueError:
            signals.append(f"signal {-code}")
    if len(signals) > 1 and "SIGTERM" in signals:  # the pool itself terminates the rest once one died
        signals.remove("SIGTERM")
    if signals:
        memory = " (out of memory?)" if "SIGKILL" in signals else ""
        return f"a worker process was killed by {', '.join(signals)}{memory}"
    if codes:
        return f"a worker process exited unexpectedly (exit code {', '.join(map(str, codes))}; see its error above)"
    return "a worker process died"


def stop_workers(executor, grace: float = 1.0, timeout: float = 10.0) -> None:
    """Cancel ``executor``'s queued work and end its workers; never waits longer than ``grace + 2 * timeout``.

    Workers get ``grace`` seconds to finish and exit on their own, then SIGKILL (not
    SIGTERM: Lightning lets a training process carry on after SIGTERM). The parent owns
    every output a worker contributes to (records and files are written atomically), so a
    killed worker leaves nothing half-written. Safe to call on a finished or broken pool.
    """
    processes = worker_processes(executor)
    manager = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    if manager is not None:  # it notices the dead workers and cleans up the queues
        manager.join(timeout)
