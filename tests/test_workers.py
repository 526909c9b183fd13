"""opkit/workers.py: the one-line cause of a broken pool, from its workers' exit codes."""

from types import SimpleNamespace

from opkit.workers import describe_dead_workers


def _processes(*codes):
    return [SimpleNamespace(exitcode=code, join=lambda timeout=None: None) for code in codes]


def test_the_killed_worker_is_named_not_the_ones_the_pool_terminated_after_it():
    # concurrent.futures terminates the remaining workers (SIGTERM) once one has died
    assert describe_dead_workers(_processes(-9, -15, 0)) == "a worker process was killed by SIGKILL (out of memory?)"
    assert describe_dead_workers(_processes(-15)) == "a worker process was killed by SIGTERM"


def test_exit_codes_and_unknown_causes():
    assert describe_dead_workers(_processes(3, 0)) == \
        "a worker process exited unexpectedly (exit code 3; see its error above)"
    assert describe_dead_workers(_processes(None, 0)) == "a worker process died"
