"""`opkit ablate --slurm` through submitit's real machinery: the LocalExecutor pickles each run,
writes its job folder and runs it in a separate process, as a SLURM job would be run; the
settings come from the sweep file's ``slurm:`` mapping and the command line."""

import argparse
import os
from pathlib import Path

import pytest

from opkit.ablation.commands import slurm_parameters
from opkit.ablation.runner import run_sweep, slurm_executor
from opkit.ablation.sweep_file import load_sweep, parse_sweep
from opkit.ablation.store import ResultStore
from opkit.errors import ConfigError

pytest.importorskip("submitit")

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "configs" / "ablation" / "slurm_burgers_fno.yaml"
FAKE = str(Path(__file__).with_name("fake_run.py")) + ":run"


def _flags(**values):
    return argparse.Namespace(**{"slurm_partition": None, "slurm_minutes": None, "slurm_gpus": None, **values})


def test_example_settings_and_command_line_overrides():
    settings = load_sweep(EXAMPLE).slurm
    assert settings == {"slurm_partition": "gpu", "timeout_min": 30, "gpus_per_node": 1, "cpus_per_task": 4,
                        "mem_gb": 16}
    assert slurm_parameters(settings, _flags()) == settings
    overridden = slurm_parameters(settings, _flags(slurm_partition="debug", slurm_minutes=10, slurm_gpus=2))
    assert overridden == {**settings, "slurm_partition": "debug", "timeout_min": 10, "gpus_per_node": 2}
    assert slurm_parameters({}, _flags()) == {"timeout_min": 60, "cpus_per_task": 1}  # no slurm: section


@pytest.mark.slow  # one Python process per run: 1-3 minutes on a busy 2-core machine
def test_local_executor_runs_each_run_as_a_submitit_job(tmp_path):
    sweep = parse_sweep({
        "name": "t", "seeds": [0, 1], "baseline": "gelu", "entry": FAKE,
        "overrides": {"fake.log_dir": str(tmp_path / "log")}, "axes": {"activation": ["gelu"]},
    })
    parameters = slurm_parameters(load_sweep(EXAMPLE).slurm, _flags(slurm_minutes=5, slurm_gpus=0))
    executor = slurm_executor(tmp_path / "slurm", parameters, cluster="local")
    counts = run_sweep(sweep, tmp_path / "results", executor=executor)
    assert counts == {"finished": 2, "failed": 0, "diverged": 0, "total": 2}
    records = ResultStore(tmp_path / "results").records()
    assert sorted(r["run_id"] for r in records) == ["gelu__seed0", "gelu__seed1"]
    # each run executed in its own process, from submitit's pickled job in its job folder
    pids = {int(p.name.split(".")[1]) for p in (tmp_path / "log").iterdir()}
    assert len(pids) == 2 and os.getpid() not in pids
    assert len(list((tmp_path / "slurm").glob("*_submitted.pkl"))) == 2
    assert len(list((tmp_path / "slurm").glob("*_result.pkl"))) == 2


def test_bad_settings_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"^slurm settings: .*'gpu'.*prefixed by an executor name\.$"):
        slurm_executor(tmp_path, {"gpu": 1}, cluster="local")
    with pytest.raises(ConfigError, match=r"^slurm settings: .*timeout_min.*ten"):
        slurm_executor(tmp_path, {"timeout_min": "ten"}, cluster="local")
    with pytest.raises(ConfigError, match="slurm: expected a mapping of submitit parameters"):
        parse_sweep({"name": "t", "axes": {"activation": ["gelu"]}, "slurm": ["gpu"]})
