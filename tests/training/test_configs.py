"""Every shipped config parses with train.py's parser and builds a working model."""

from pathlib import Path

import pytest
import torch
import yaml

from opkit.models import list_models
from opkit.training.module import OperatorModule

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(path for pde in ("burgers", "darcy", "navier_stokes")
                 for path in (REPO / "configs" / pde).glob("*.yaml"))
SHAPES = {"burgers": (1, 1, (64,)), "darcy": (1, 1, (64, 64)), "navier_stokes": (10, 1, (64, 64))}


def test_every_dataset_has_each_operator():
    names = {(path.parent.name, path.stem) for path in CONFIGS}
    missing = {(d, m) for d in SHAPES for m in ("fno", "mgno", "kano")} - names
    assert not missing, f"missing configs: {sorted(missing)}"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_builds_a_model_for_its_data(path):
    config = yaml.safe_load(path.read_text())
    assert set(config) <= {"seed_everything", "model", "data", "trainer", "checkpoint"}
    assert config["data"]["path"].startswith("datasets/") and config["data"]["pde"] == path.parent.name
    if config["model"]["model"] not in list_models():
        pytest.skip(f"model {config['model']['model']!r} not registered")
    in_channels, out_channels, grid = SHAPES[path.parent.name]
    if path.stem == "tiny":  # tiny data has few frames: fewer history frames than the paper's
        in_channels = config["data"].get("history", 1)
    assert config["data"].get("history", 1) == in_channels
    module = OperatorModule(**config["model"], in_channels=in_channels, out_channels=out_channels,
                            spatial_dims=len(grid))
    output = module(torch.randn(2, in_channels, *grid))
    assert output.shape == (2, out_channels, *grid) and torch.isfinite(output).all()


def test_kano_configs_match_the_fno_parameter_count():
    for pde, (in_channels, out_channels, grid) in SHAPES.items():
        counts = {}
        for name in ("fno", "kano"):
            config = yaml.safe_load((REPO / "configs" / pde / f"{name}.yaml").read_text())
            module = OperatorModule(**config["model"], in_channels=in_channels, out_channels=out_channels,
                                    spatial_dims=len(grid))
            counts[name] = module.parameter_count()
        assert abs(counts["kano"] / counts["fno"] - 1) < 0.10, (pde, counts)
