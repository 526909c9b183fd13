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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Field:
    name: str
    dims: tuple
    shape: tuple
    description: str


class FakeProblem:
    """tests/data/conftest.py's FakeProblem, cut down: ``initial[i] = rng([seed, i]).normal(n_x)``,
    ``solution[i, k] = initial[i] exp(-t_k)``; ``fail_after`` generate calls, then RuntimeError.

    Defined here rather than imported from the tests so that the spawned workers, which import
    this script, do not also import pytest and scipy in every iteration.
    """

    def __init__(self, batch_size=3, fail_after=None, n_x=8, n_t=5):
        field = Field
        self.pde, self.preset, self.solver = "fake", "tiny", "closed form, exact"
        self.params = {"n_x": n_x, "n_t": n_t}
        self.fields = [field("initial", ("x",), (n_x,), "u(0, x)"), field("solution", ("t", "x"), (n_t, n_x), "u")]
        self.coords = {"x": np.linspace(0, 1, n_x, endpoint=False), "t": np.linspace(0, 1, n_t)}
        self.boundary_conditions = {"x": "periodic"}
        self.batch_size, self.fail_after, self.calls = batch_size, fail_after, 0

    def generate(self, indices, base_seed):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated interruption")
        self.calls += 1
        initial = np.stack([np.random.default_rng([base_seed, i]).standard_normal(self.params["n_x"])
                            for i in indices]).astype(np.float32)
        decay = np.exp(-self.coords["t"]).astype(np.float32)
        return {"initial": initial, "solution": initial[:, None, :] * decay[None, :, None]}


def one_iteration(directory: Path, n_samples: int = 8) -> None:
    """The failing-worker scenario once; AssertionError when any expectation fails."""
    import h5py

    from opkit.data.generate import generate_dataset, partial_path

    out = directory / "fake.h5"
    try:
        generate_dataset(FakeProblem(batch_size=1, fail_after=1), out, n_samples,
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
