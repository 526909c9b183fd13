"""The generation driver: values, determinism, resumption after interruption, workers, atomicity."""

import h5py
import numpy as np
import pytest

from opkit.data.formats import open_dataset_file
from opkit.data.generate import generate_dataset, partial_path
from opkit.errors import ConfigError, DataError


def read_all(path):
    with open_dataset_file(path) as f:
        return {name: f.read(name, slice(None)) for name in f.fields}, dict(f.attrs)


def test_values_attributes_and_statistics(tmp_path, fake_problem):
    problem = fake_problem(batch_size=4)
    out = generate_dataset(problem, tmp_path / "fake.h5", 7, base_seed=11, progress=False)
    arrays, attrs = read_all(out)
    for i in range(7):
        initial, solution = problem.expected(i, 11)
        np.testing.assert_array_equal(arrays["initial"][i], initial)
        np.testing.assert_array_equal(arrays["solution"][i], solution)
    assert attrs["complete"] and attrs["base_seed"] == 11 and attrs["pde"] == "fake" and attrs["preset"] == "tiny"
    assert attrs["param_viscosity"] == 0.01 and attrs["solver"] == "closed form, exact"
    assert problem.calls == [[0, 1, 2, 3], [4, 5, 6]]
    with h5py.File(out, "r") as f:
        assert f["t0_fields/solution"].attrs["mean"] == pytest.approx(arrays["solution"].astype(float).mean())
        assert f["t0_fields/solution"].attrs["std"] == pytest.approx(arrays["solution"].astype(float).std())
        assert np.asarray(f["completed"]).all()
    assert not partial_path(out).exists()


def test_interrupted_run_resumes_with_only_the_missing_samples(tmp_path, fake_problem):
    out = tmp_path / "fake.h5"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(fake_problem(batch_size=2, fail_after=2), out, 7, base_seed=5, progress=False)
    assert not out.exists() and partial_path(out).exists()       # nothing looks complete
    with h5py.File(partial_path(out), "r") as f:
        assert np.asarray(f["completed"]).tolist() == [True] * 4 + [False] * 3
        assert not f.attrs["complete"]
    resumed = fake_problem(batch_size=2)
    generate_dataset(resumed, out, 7, base_seed=5, progress=False)
    assert resumed.calls == [[4, 5], [6]]
    in_one_go = generate_dataset(fake_problem(batch_size=3), tmp_path / "once.h5", 7, base_seed=5, progress=False)
    (a, _), (b, _) = read_all(out), read_all(in_one_go)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_two_workers_give_the_same_file(tmp_path, fake_problem):
    serial = generate_dataset(fake_problem(batch_size=2), tmp_path / "serial.h5", 9, base_seed=2, progress=False)
    parallel = generate_dataset(fake_problem(batch_size=2), tmp_path / "parallel.h5", 9, base_seed=2, workers=2,
                                progress=False)
    (a, _), (b, _) = read_all(serial), read_all(parallel)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_existing_output(tmp_path, fake_problem):
    out = generate_dataset(fake_problem(), tmp_path / "fake.h5", 4, progress=False)
    again = fake_problem()
    assert generate_dataset(again, out, 4, progress=False) == out and again.calls == []   # already there
    with pytest.raises(DataError, match=r"fake\.h5: already exists with other contents: n_samples 4 \(expected 5\)"):
        generate_dataset(fake_problem(), out, 5, progress=False)


def test_partial_from_another_run_is_not_mixed_in(tmp_path, fake_problem):
    out = tmp_path / "fake.h5"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(fake_problem(fail_after=1), out, 6, base_seed=1, progress=False)
    with pytest.raises(DataError, match=r"fake\.h5\.partial: unfinished file from a different run: base_seed 1 "
                                        r"\(expected 2\)"):
        generate_dataset(fake_problem(), out, 6, base_seed=2, progress=False)


def test_unreadable_partial_starts_afresh(tmp_path, fake_problem):
    out = tmp_path / "fake.h5"
    partial_path(out).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)   # a hard kill mid-write
    problem = fake_problem(batch_size=10)
    generate_dataset(problem, out, 3, progress=False)
    assert problem.calls == [[0, 1, 2]] and read_all(out)[1]["complete"]


def test_bad_arguments(tmp_path, fake_problem):
    with pytest.raises(ConfigError, match="n_samples=0; expected a positive integer"):
        generate_dataset(fake_problem(), tmp_path / "a.h5", 0)
    with pytest.raises(ConfigError, match="workers=0"):
        generate_dataset(fake_problem(), tmp_path / "a.h5", 2, workers=0)
    with pytest.raises(DataError, match="compression 'lzf'; expected None or 'gzip'"):
        generate_dataset(fake_problem(), tmp_path / "a.h5", 2, compression="lzf")


def test_a_failing_worker_stops_the_run_and_keeps_the_partial_file(tmp_path, fake_problem):
    out = tmp_path / "fake.h5"
    with pytest.raises(RuntimeError, match="simulated interruption"):
        generate_dataset(fake_problem(batch_size=1, fail_after=1, fail_with=RuntimeError), out, 8, workers=2,
                         progress=False)
    assert not out.exists() and partial_path(out).exists()
    with h5py.File(partial_path(out), "r") as f:
        assert 0 < np.asarray(f["completed"]).sum() < 8        # each worker wrote its first batch
    generate_dataset(fake_problem(batch_size=1), out, 8, workers=2, progress=False)
    assert read_all(out)[1]["complete"]


def test_concurrent_requests_for_one_file_generate_it_once(tmp_path, fake_problem):
    """A second process (here: thread) asking for a file being generated waits, then finds it complete."""
    import threading
    import time

    from opkit.data.generate import _generate_unlocked
    from opkit.io import exclusive_lock

    out = tmp_path / "shared.h5"
    second = fake_problem(batch_size=3)
    results = []
    with exclusive_lock(out):  # as if another process were generating `out` right now
        worker = threading.Thread(target=lambda: results.append(generate_dataset(second, out, 5, progress=False)))
        worker.start()
        time.sleep(0.3)
        assert worker.is_alive() and not partial_path(out).exists() and second.calls == []
        # the "other process" does its work under the lock (a second lock here would wait for ourselves)
        _generate_unlocked(fake_problem(batch_size=5), out, 5, 0, 1, None, False)
    worker.join(timeout=30)
    assert results == [out] and second.calls == []  # it found the complete file and generated nothing
    (a, _), (b, _) = read_all(out), read_all(generate_dataset(fake_problem(), tmp_path / "alone.h5", 5,
                                                               progress=False))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_two_processes_generating_the_same_file_both_succeed(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "burgers.h5"
    command = [sys.executable, "-m", "opkit.cli", "generate", "burgers", "--preset", "tiny", "--n", "6",
               "--out", str(out)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert not partial_path(out).exists()
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["complete"]) and np.asarray(f["completed"]).all()


def test_a_killed_worker_ends_the_run_within_seconds_and_the_partial_file_resumes(tmp_path, fake_problem,
                                                                                 monkeypatch):
    """SIGKILL of one worker (the OOM killer's way) mid-run: one clear error, no hang, a resumable .partial."""
    import multiprocessing
    import os
    import signal
    import threading
    import time

    from opkit.data import writer
    from opkit.errors import OpkitError

    written = []  # batches the parent has written: the kill comes once the run is well under way
    write_samples = writer.write_samples
    monkeypatch.setattr(writer, "write_samples",
                        lambda handle, indices, arrays: (write_samples(handle, indices, arrays), written.append(indices)))
    out = tmp_path / "fake.h5"
    outcome = {}

    def generate():
        try:
            generate_dataset(fake_problem(batch_size=1, delay=0.2), out, 40, workers=2, progress=False)
        except BaseException as error:  # noqa: BLE001  (the test inspects whatever ended the run)
            outcome["error"] = error

    thread = threading.Thread(target=generate, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while len(written) < 3 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = multiprocessing.active_children()
    assert len(written) >= 3 and len(workers) == 2
    killed = time.monotonic()
    os.kill(workers[0].pid, signal.SIGKILL)
    thread.join(timeout=30)
    assert not thread.is_alive(), "generation hangs after a worker was killed"
    assert time.monotonic() - killed < 10
    error = outcome.get("error")
    assert isinstance(error, OpkitError), repr(error)
    message = str(error)
    assert "\n" not in message and "killed by SIGKILL" in message and str(partial_path(out)) in message
    assert "rerun the same command to resume" in message
    assert not out.exists() and not any(p.name.startswith(".fake.h5.partial.batches") for p in tmp_path.iterdir())
    assert all(not worker.is_alive() for worker in workers)
    with h5py.File(partial_path(out), "r") as f:
        assert 3 <= np.asarray(f["completed"]).sum() < 40

    monkeypatch.undo()
    resumed = generate_dataset(fake_problem(batch_size=1), out, 40, workers=2, progress=False)
    uninterrupted = generate_dataset(fake_problem(batch_size=7), tmp_path / "uninterrupted.h5", 40, progress=False)
    (a, attributes), (b, _) = read_all(resumed), read_all(uninterrupted)
    assert attributes["complete"] and sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
