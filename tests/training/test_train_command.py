"""``opkit train``: shipped configs by name, tiny configs, n_val=0, help text, quiet output, packaging."""

import csv
import glob
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from opkit.cli import build_parser, main
from opkit.data import write_arrays
from opkit.data.commands import PRESET_SUMMARIES
from opkit.errors import ConfigError
from opkit.pde.problems import PRESETS, get_problem
from opkit.training.train_command import CONFIG_DIR, list_configs, prepare_arguments, resolve_config

REPO = Path(__file__).resolve().parents[2]


def test_every_package_data_glob_matches_files():
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for pattern in package_data["opkit"]:
        assert glob.glob(str(REPO / "opkit" / pattern)), pattern
    shipped = {Path(p).relative_to(REPO / "opkit" / "configs") for p in glob.glob(str(REPO / "opkit/configs/*/*.yaml"))}
    assert shipped == {p.relative_to(REPO / "configs") for p in (REPO / "configs").glob("*/*.yaml")}


def test_config_names_resolve_to_shipped_files_with_either_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here: names resolve to the package's
    assert Path(resolve_config("darcy/fno")) == CONFIG_DIR / "darcy" / "fno.yaml"
    assert resolve_config("navier-stokes/fno") == resolve_config("navier_stokes/fno.yaml")
    assert resolve_config("configs/burgers/tiny.yaml") == str(CONFIG_DIR / "burgers" / "tiny.yaml")
    path = str(REPO / "configs" / "darcy" / "mgno.yaml")
    assert resolve_config(path) == path  # a path stays a path
    for name in ("darcy/nope", "ablation/activations_burgers_fno", "darcy"):
        with pytest.raises(ConfigError, match="darcy/tiny"):  # the error lists the names
            resolve_config(name)
    assert prepare_arguments(["--config", "darcy/fno", "--model.width", "8"])[:2] == ["fit", "--config"]
    assert prepare_arguments(["test", "--config=darcy/fno"]) == ["test", f"--config={CONFIG_DIR}/darcy/fno.yaml"]


def test_every_pde_has_a_tiny_config_and_every_config_is_listed():
    configs = list_configs()
    assert {"burgers/tiny", "darcy/tiny", "navier_stokes/tiny", "own/fno"} <= set(configs)
    assert len(configs) == len([p for p in (REPO / "configs").glob("*/*.yaml") if p.parent.name != "ablation"])


def test_print_config_resolves_a_shipped_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", "burgers/fno", "--print_config"])
    assert exit_.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "path: datasets/burgers_fno.h5" in printed and "n_modes: 16" in printed


def _tiny_darcy_file(path, n=20, size=17):
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((n, size, size))
    return write_arrays(path, inputs=inputs, targets=np.cumsum(inputs, axis=1) / size, dims="x,y")


def _metrics(root):
    return list(csv.DictReader(next(Path(root).glob("version_*/metrics.csv")).open()))


def test_tiny_config_trains_on_a_users_file(tmp_path):
    data = _tiny_darcy_file(tmp_path / "mine.h5")
    root = tmp_path / "run"
    assert main(["train", "--config", "darcy/tiny", "--data.path", str(data), "--trainer.default_root_dir",
                 str(root), "--trainer.enable_progress_bar", "false"]) == 0
    checkpoint = torch.load(root / "version_0" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 2 and checkpoint["hyper_parameters"]["width"] == 8  # 3 epochs of the tiny config
    assert sum(bool(row.get("val/relative_l2")) for row in _metrics(root)) == 3


def test_n_val_zero_trains_on_everything_and_keeps_the_last_epoch(tmp_path, caplog):
    data = _tiny_darcy_file(tmp_path / "mine.h5")
    root = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "--config", "darcy/tiny", "--data.path", str(data), "--data.n_val", "0",
                     "--data.n_test", "2", "--trainer.default_root_dir", str(root),
                     "--trainer.enable_progress_bar", "false"]) == 0
    messages = [str(w.message) for w in caught] + [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "monitored" in m or "across ranks is zero" in m], messages
    checkpoint = torch.load(root / "version_0" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 2
    assert len(checkpoint["PDEDataModule"]["splits"]["train"]) == 18  # 20 samples - 2 test, none for validation
    assert not any(row.get("val/relative_l2") for row in _metrics(root))


def test_help_lists_presets_configs_and_defaults(capsys):
    assert {pde: set(presets) for pde, presets in PRESET_SUMMARIES.items()} == \
        {pde: set(presets) for pde, presets in PRESETS.items()}
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = capsys.readouterr().out
    for pde, presets in PRESETS.items():
        for preset in presets:
            assert f"  {pde.replace('_', '-')} {preset}: " in text
    assert "(default: small)" in text and "(default: 0)" in text
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for name in list_configs():
        assert f"  {name} " in text
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("convert", "inspect"):
        assert len(choices[command].description) > 80


def test_navier_stokes_has_one_spelling_everywhere():
    for spelling in ("navier-stokes", "navier_stokes"):
        assert build_parser().parse_args(["generate", spelling, "--n", "1", "--out", "x.h5"]).pde == spelling
        assert get_problem(spelling, "tiny").pde == "navier_stokes"
        assert "navier_stokes/tiny" in resolve_config(f"{spelling}/tiny")
