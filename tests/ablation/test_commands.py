"""`opkit ablate` / `opkit report` command-line behaviour (the kill-and-resume sweep is in test_real_path.py)."""

import os
import subprocess
import sys

import pytest


def opkit(*args, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.Popen([sys.executable, "-m", "opkit.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_bad_config_is_one_line_error(tmp_path):
    sweep = tmp_path / "bad.yaml"
    sweep.write_text("name: bad\naxes: {activation: [gelu]}\nseeds: [0, 0]\n")
    process = opkit("ablate", str(sweep), "--results", str(tmp_path / "r"))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().splitlines() == [f"opkit ablate: error: {sweep}: 'seeds' has duplicates: [0, 0]"]


def test_report_on_missing_directory_is_one_line_error(tmp_path):
    process = opkit("report", str(tmp_path / "nothing"))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        f"opkit report: error: {tmp_path / 'nothing'}: not a results directory: no records/ folder "
        "(run `opkit ablate` first)"]


def test_set_overrides_parse_as_yaml():
    import pytest

    from opkit.ablation.commands import parse_settings
    from opkit.errors import ConfigError

    assert parse_settings(["trainer.max_epochs=5", "model.bias=false", "data.path=a.h5", "model.lr=1e-3"]) == {
        "trainer.max_epochs": 5, "model.bias": False, "data.path": "a.h5", "model.lr": 1e-3}

    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_settings(["max_epochs"])


# ----------------------------------------------------------------------------- worker processes

def _sweep_file(tmp_path, activations, sleep):
    import json

    fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_run.py") + ":run"
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(json.dumps({  # JSON is YAML
        "name": "workers", "seeds": [0], "baseline": activations[0], "entry": fake,
        "overrides": {"fake.log_dir": str(tmp_path / "log"), "fake.sleep": sleep},
        "axes": {"activation": list(activations)}}))
    return sweep


def _started_runs(log_dir):
    """(run id, worker pid) of every run started so far (fake_run writes one file per execution)."""
    if not log_dir.exists():
        return []
    return sorted((name.split(".")[0], int(name.split(".")[1])) for name in os.listdir(log_dir))


def _wait_for_started_runs(log_dir, count, process, timeout=300):
    import time

    deadline = time.monotonic() + timeout
    while len(_started_runs(log_dir)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"fewer than {count} runs started in {timeout} s"
        time.sleep(0.05)
    return _started_runs(log_dir)


def _alive(pid):
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_until_gone(pids, timeout):
    import time

    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if _alive(pid)]


def _kill_leftovers(pids):
    import signal

    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_workers_die_with_a_killed_sweep(tmp_path):
    """``kill -9`` of ``opkit ablate --workers 2`` takes its workers with it: no orphan trains on."""
    sweep = _sweep_file(tmp_path, ["gelu", "relu", "tanh"], sleep=120)
    process = opkit("ablate", str(sweep), "--workers", "2", "--results", str(tmp_path / "results"), "--no-report")
    pids = []
    try:
        pids = [pid for _, pid in _wait_for_started_runs(tmp_path / "log", 2, process)]
        assert process.pid not in pids and len(set(pids)) == 2
        process.kill()
        process.wait(timeout=30)
        assert _wait_until_gone(pids, timeout=5) == []
    finally:
        process.kill()
        _kill_leftovers(pids)
        process.communicate(timeout=30)  # orphans would hold its pipes open
    assert os.listdir(tmp_path / "results" / "records") == []


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_at_once_and_leaves_the_interrupted_runs_to_a_resume(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) starts no further run, kills the
    workers and records nothing for the runs it cut short, so the next ``opkit ablate`` trains them."""
    import signal
    import time

    from opkit.ablation.runner import plan
    from opkit.ablation.sweep_file import load_sweep
    from opkit.ablation.store import ResultStore

    # Runs far longer than the test takes: with 10 s, a test process starved of CPU for 20 s (a busy
    # machine) saw the whole sweep finish before its Ctrl-C and read exit code 0.
    sweep = _sweep_file(tmp_path, ["gelu", "relu", "tanh"], sleep=300)
    results = tmp_path / "results"
    process = opkit("ablate", str(sweep), "--workers", "2", "--results", str(results), "--no-report",
                    start_new_session=True)
    pids = []
    try:
        started = _wait_for_started_runs(tmp_path / "log", 2, process)
        pids = [pid for _, pid in started]
        interrupted = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert time.monotonic() - interrupted < 30  # mostly the interpreter's exit with torch loaded
        assert process.returncode == 130 and err.strip().splitlines()[-1] == "opkit ablate: interrupted"
        assert _wait_until_gone(pids, timeout=5) == []
        time.sleep(1.0)  # a run started late would have logged by now
        assert _started_runs(tmp_path / "log") == started  # the queued third run never started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        _kill_leftovers(pids)
    assert os.listdir(results / "records") == []  # no record at all, so no half-written one
    assert sorted(spec.run_id for spec in plan(load_sweep(sweep), ResultStore(results))) == [
        "gelu__seed0", "relu__seed0", "tanh__seed0"]  # a resume runs the two interrupted runs again
