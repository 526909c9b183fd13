"""Stress test: ``generate --workers 2`` with a failing worker, many times in a row, each under a time limit.

    python benchmarks/stress_generate.py                       # 50 iterations, 60 s limit each
    python benchmarks/stress_generate.py --iterations 200 --timeout 30

Each iteration is the scenario of ``tests/data/test_generate.py::
test_a_failing_worker_stops_the_run_and_keeps_the_partial_file``: two workers, one sample
per batch, every worker raises on its second batch; the run must stop with that error
and keep a ``.partial`` holding some but not all samples, and rerunning the same call
must complete the file with the same values as an uninterrupted run. A deadlock (the old
fork ``Pool`` hung once in a full test run, in ``Pool._terminate_pool``) trips the
per-iteration limit: ``faulthandler`` prints every thread's stack and the script exits 1.
Too slow for CI; run it after touching ``opkit/data/generate.py`` or ``opkit/workers.py``.
"""

from __future__ import annotations

import argparse
import faulthandler
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # workers import the fake problem from tests.data.conftest through this path


def one_iteration(directory: Path, n_samples: int = 8) -> None:
    """The failing-worker scenario once; AssertionError when any expectation fails."""
    import h5py

    from opkit.data.generate import generate_dataset, partial_path
    from tests.data.conftest import FakeProblem

    out = directory / "fake.h5"
    try:
        generate_dataset(FakeProblem(batch_size=1, fail_after=1, fail_with=RuntimeError), out, n_samples,
                         workers=2, progress=False)
    except RuntimeError as error:
        assert "simulated interruption" in str(error), error
    else:
        raise AssertionError("the failing worker did not stop the run")
    assert not out.exists() and partial_path(out).exists()
    with h5py.File(partial_path(out), "r") as handle:
        written = int(np.asarray(handle["completed"]).sum())
    assert 0 < written < n_samples, written
    generate_dataset(FakeProblem(batch_size=1), out, n_samples, workers=2, progress=False)
    reference = generate_dataset(FakeProblem(batch_size=n_samples), directory / "reference.h5", n_samples,
                                 progress=False)
    with h5py.File(out, "r") as resumed, h5py.File(reference, "r") as uninterrupted:
        for name in ("initial", "solution"):
            np.testing.assert_array_equal(resumed[f"t0_fields/{name}"][:], uninterrupted[f"t0_fields/{name}"][:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per iteration")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.timeout <= 0:
        parser.error("--iterations and --timeout must be positive")
    durations = []
    start = time.perf_counter()
    for iteration in range(1, args.iterations + 1):
        directory = Path(tempfile.mkdtemp(prefix="opkit-stress-"))
        faulthandler.dump_traceback_later(args.timeout, exit=True)  # a hang ends the script with every stack
        began = time.perf_counter()
        try:
            one_iteration(directory)
        except AssertionError as error:
            faulthandler.cancel_dump_traceback_later()
            print(f"iteration {iteration}: FAILED: {error!r}")
            return 1
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        faulthandler.cancel_dump_traceback_later()
        durations.append(time.perf_counter() - began)
        print(f"iteration {iteration}/{args.iterations}: ok in {durations[-1]:.1f} s", flush=True)
    total = time.perf_counter() - start
    print(f"{len(durations)}/{args.iterations} iterations passed without a hang in {total:.0f} s "
          f"(per iteration: median {np.median(durations):.1f} s, max {max(durations):.1f} s, "
          f"limit {args.timeout:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
