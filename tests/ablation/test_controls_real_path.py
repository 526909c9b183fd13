"""The controls hold through the real training path: datamodule normalisers + network + decode, in float64.

Each control run is expanded from a sweep (so the overrides are exactly what ``opkit ablate``
passes), trained for one short epoch by ``run_experiment``, and its checkpoint loaded as
``opkit evaluate`` loads it. The base config has coordinate channels and mean-shift
normalisation, as the shipped configs do, so nothing but the control makes the map
homogeneous or linear.
"""

import sys
from pathlib import Path

import pytest
import torch
import yaml

from opkit.ablation.spec import expand, run_overrides
from opkit.ablation.sweep_file import parse_sweep
from opkit.data.dataset import PDEDataset
from opkit.training.inference import load_operator
from opkit.training.run import run_experiment

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import tiny_base_config, write_tiny_file  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

OPERATORS = {
    "fno": {"model.n_modes": 6, "model.model_kwargs": {"coordinates": True}},
    "mgno": {"model.n_modes": None, "model.model_kwargs": {"levels": 3, "padding_mode": "circular"}},
    "kano": {"model.n_modes": 6, "model.width": 6, "model.model_kwargs": {"coordinates": True, "basis": "bspline"}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("controls")
    data = write_tiny_file(root / "tiny.h5")  # values offset by +1: a mean shift matters
    config = tiny_base_config(data, max_epochs=1)
    config["data"]["batch_size"] = 16
    base = root / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    inputs = torch.stack([PDEDataset(data, indices=range(20, 24))[i][0] for i in range(4)]).double()
    return root, base, inputs


def trained(setup, operator, activation):
    """The float64 operator of one control run (physical units in and out)."""
    root, base, _ = setup
    sweep = parse_sweep({"name": "c", "seeds": [0], "base_config": str(base), "baseline": activation,
                         "axes": {"operator": [{"label": operator, "value": operator,
                                                "overrides": OPERATORS[operator]}],
                                  "activation": [activation]}})
    (spec,) = expand(sweep)
    result = run_experiment(str(base), run_overrides(spec), run_dir=root / spec.run_id, seed=0, progress_bar=False)
    return load_operator(result["checkpoint"]).double()


def relative(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_bias_free_relu_is_positively_homogeneous(setup, operator):
    model = trained(setup, operator, "relu_nobias")
    a = setup[2]
    with torch.no_grad():
        for c in (0.5, 2.0, 10.0):
            assert relative(model(c * a), c * model(a)) < 1e-10, c
        assert relative(model(-a), -model(a)) > 1e-6  # homogeneous, not linear: the ReLUs are active


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_linear_control_is_linear(setup, operator):
    model = trained(setup, operator, "linear")
    a = setup[2]
    b = torch.roll(a, 5, dims=-1).flip(0)
    with torch.no_grad():
        assert relative(model(a + b), model(a) + model(b)) < 1e-10
        assert relative(model(-2.5 * a), -2.5 * model(a)) < 1e-10
        assert model(torch.zeros_like(a)).abs().max().item() == 0.0
        assert model(a).norm() > 0


def test_the_old_bias_free_control_was_not_homogeneous(setup):
    """model.bias: false alone (coordinates and mean-shift normalisers left on) is off by far more than 1e-10."""
    root, base, a = setup
    overrides = {"model.activation": "relu", "model.bias": False, **OPERATORS["fno"]}
    result = run_experiment(str(base), overrides, run_dir=root / "old", seed=0, progress_bar=False)
    model = load_operator(result["checkpoint"]).double()
    with torch.no_grad():
        assert relative(model(2.0 * a), 2.0 * model(a)) > 1e-3
