"""A sweep is checked before its first run: colliding run ids and overrides the training CLI rejects
are refused in one line; a run that still fails in the CLI is recorded as failed, never a crash."""

import sys
from pathlib import Path

import pytest
import yaml

from opkit.ablation.runner import execute_run, run_sweep
from opkit.ablation.spec import expand
from opkit.ablation.sweep_file import parse_sweep
from opkit.ablation.store import ResultStore
from opkit.cli import main
from opkit.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import tiny_base_config  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


@pytest.fixture
def base_config(tmp_path):
    path = tmp_path / "base.yaml"  # the data file is never read: every check happens before
    path.write_text(yaml.safe_dump(tiny_base_config(tmp_path / "never_read.h5")))
    return path


def test_labels_that_slug_to_one_run_id_are_refused():
    with pytest.raises(ConfigError, match=r"axes.activation: labels 're lu' and 're-lu' give the same run id part "
                                          r"'re-lu'; rename one"):
        parse_sweep({"name": "s", "seeds": [0], "baseline": "re lu", "axes": {"activation": ["re lu", "re-lu"]}})
    with pytest.raises(ConfigError, match="labels 'GELU' and 'gelu'"):
        parse_sweep({"name": "s", "seeds": [0], "axes": {"activation": ["GELU", "gelu"]}})
    with pytest.raises(ConfigError, match="print alike"):
        parse_sweep({"name": "s", "seeds": [0], "axes": {"activation": ["gelu"]},
                     "lr_sweep": {"values": [1e-3, 1.0000001e-3]}})
    runs = expand(parse_sweep({"name": "s", "seeds": [0], "axes": {"activation": ["gelu", "re lu"]}}))
    assert [run.run_id for run in runs] == ["gelu__seed0", "re-lu__seed0"]


@pytest.mark.parametrize("axis, message", [
    ("bogus_key", "run bogus_key=1__seed0: training config: Option 'bogus_key' is not accepted"),
    ("model.nonexistent", "run model.nonexistent=1__seed0: training config: Group 'model' does not accept option "
                          "'nonexistent'"),
])
def test_an_override_the_training_cli_rejects_stops_the_sweep_before_any_run(base_config, tmp_path, axis, message):
    sweep = parse_sweep({"name": "s", "base_config": str(base_config), "seeds": [0],
                         "axes": {"activation": ["gelu"], axis: [{"label": f"{axis}=1", "value": 1}, 2]}})
    with pytest.raises(ConfigError) as raised:
        run_sweep(sweep, tmp_path / "results")
    assert str(raised.value) == message.replace("run ", "run gelu__", 1)
    assert not (tmp_path / "results").exists()  # nothing recorded, nothing trained


def test_ablate_command_names_the_bad_key_in_one_line(base_config, tmp_path, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"name": "s", "base_config": str(base_config), "seeds": [0, 1],
                                     "axes": {"activation": ["gelu", "snake"], "model.activation_typo": [1]}}))
    assert main(["ablate", str(sweep), "--results", str(tmp_path / "results")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Group 'model' does not accept option 'activation_typo'" in error


def test_a_run_that_fails_in_the_training_cli_is_a_failed_record(base_config, tmp_path):
    sweep = parse_sweep({"name": "s", "base_config": str(base_config), "seeds": [0],
                         "axes": {"activation": ["gelu"], "bogus_key": [1]}})
    spec = expand(sweep)[0]
    assert execute_run(spec.to_dict(), str(tmp_path / "results")) == {"run_id": spec.run_id, "status": "failed"}
    record = ResultStore(tmp_path / "results").read_record(spec.run_id)
    assert record["status"] == "failed" and "Option 'bogus_key' is not accepted" in record["error"]

    def exits(config, overrides, run_dir, seed):  # what a command-line parser does when it gives up
        raise SystemExit(2)

    assert execute_run(spec.to_dict(), str(tmp_path / "other"), entry=exits)["status"] == "failed"
    assert ResultStore(tmp_path / "other").read_record(spec.run_id)["error"] == "SystemExit: 2"


def test_ctrl_c_inside_lightning_interrupts_the_sweep_and_records_nothing(base_config, tmp_path):
    """Lightning answers Ctrl-C with sys.exit(1) raised while handling the KeyboardInterrupt."""
    sweep = parse_sweep({"name": "s", "base_config": str(base_config), "seeds": [0], "axes": {"activation": ["gelu"]}})
    spec = expand(sweep)[0]

    def interrupted(config, overrides, run_dir, seed):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            sys.exit(1)

    with pytest.raises(KeyboardInterrupt):
        execute_run(spec.to_dict(), str(tmp_path / "results"), entry=interrupted)
    assert ResultStore(tmp_path / "results").read_record(spec.run_id) is None
