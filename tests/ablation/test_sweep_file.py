"""Sweep files (opkit/ablation/sweep_file.py): one clear error per bad key, paths relative to the file."""

import pytest
import yaml

from opkit.ablation.sweep_file import load_sweep, parse_sweep
from opkit.errors import ConfigError

from made_records import DEMO_SWEEP as SWEEP


@pytest.mark.parametrize(
    "change, message",
    [
        ({"axes": {}}, "'axes' must be a non-empty mapping"),
        ({"seeds": [0, 0]}, "duplicates"),
        ({"seeds": ["a"]}, "'seeds' must be"),
        ({"baseline": "silu"}, "baseline 'silu' is not an activation label"),
        ({"colour": 1}, r"unknown key\(s\) \['colour'\]"),
        ({"axes": {"activation": ["gelu", "gelu"]}}, "labels must be unique"),
        ({"axes": {"activation": ["gelu"], "activation_fraction": [1.5]}}, r"expected numbers in \[0, 1\]"),
        ({"lr_sweep": {"values": [1e-3], "select_on": "test_relative_l2"}}, "never test"),
        ({"lr_sweep": {"values": [-1]}}, "must be positive"),
        ({"entry": "no_colon"}, "entry: expected"),
        ({"base_config": "missing.yaml"}, "base_config: file 'missing.yaml' not found"),
    ],
)
def test_bad_sweeps_raise_one_clear_error(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_sweep({**SWEEP, **change})


def test_load_sweep_resolves_paths_relative_to_file(tmp_path):
    (tmp_path / "base.yaml").write_text("model: {}\n")
    (tmp_path / "train_fn.py").write_text("def run(config, overrides, run_dir, seed):\n    return {}\n")
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**SWEEP, "base_config": "base.yaml", "entry": "train_fn.py:run"}))
    sweep = load_sweep(path)
    assert sweep.base_config == str((tmp_path / "base.yaml").resolve())
    assert sweep.entry == f"{(tmp_path / 'train_fn.py').resolve()}:run"
    with pytest.raises(ConfigError, match="sweep file not found"):
        load_sweep(tmp_path / "nope.yaml")
    path.write_text("axes: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sweep(path)

