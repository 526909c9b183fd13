"""The shipped Burgers and Darcy study sweeps, shrunk (2 entries x 2 seeds, tiny data), through the
real training path; and the shipped sweeps' shapes (matched operators, both controls, 6 seeds)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from opkit.ablation.runner import run_sweep
from opkit.ablation.spec import expand
from opkit.ablation.sweep_file import load_sweep
from opkit.ablation.store import ResultStore

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import write_dirichlet_file, write_tiny_file  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

SWEEPS = Path(__file__).resolve().parents[2] / "configs" / "ablation"
TINY = {"data.n_samples": 24, "data.n_train": 16, "data.n_val": 4, "data.n_test": 4, "data.batch_size": 8,
        "data.resolution": None, "model.width": 8, "model.n_layers": 2, "trainer.max_epochs": 1}


@pytest.mark.parametrize("name", ["activations_burgers_broadband", "activations_darcy_rough"])
def test_shipped_study_sweep_shape(name):
    sweep = load_sweep(SWEEPS / f"{name}.yaml")
    operators = {value.label for value in sweep.axes["operator"]}
    assert operators == {"fno", "mgno", "kano"} and len(sweep.seeds) == 6
    cells = {(s.factors["operator"], s.factors["activation"]) for s in expand(sweep)}
    for operator in operators:
        activations = {a for o, a in cells if o == operator}
        assert {"linear", "lstsq", "relu_nobias", "gelu"} <= activations and len(activations) >= 6


def _darcy_like(path, n=9, count=24):
    """a -> u with u = 0 on the boundary (the layout of the Darcy presets)."""
    x = np.linspace(0, 1, n)
    c = np.random.default_rng(0).normal(size=(count, 2))
    bump = np.sin(np.pi * x)[:, None] * np.sin(np.pi * x)[None]
    a = 1.5 + c[:, :1, None] * bump
    return write_dirichlet_file(path, a, c[:, 1:, None] * bump / a)


@pytest.mark.parametrize("name", ["activations_burgers_broadband", "activations_darcy_rough"])
def test_tiny_study_sweep_runs_every_operator(name, tmp_path):
    shipped = yaml.safe_load((SWEEPS / f"{name}.yaml").read_text())
    data = write_tiny_file(tmp_path / "tiny.h5") if "burgers" in name else _darcy_like(tmp_path / "tiny.h5")
    shipped["base_config"] = str((SWEEPS / shipped["base_config"]).resolve())
    shipped["overrides"].update({**TINY, "data.path": str(data), "model.n_modes": 3})
    for value in shipped["axes"]["operator"]:  # the tiny grid has room for 2 multigrid levels
        kwargs = (value.get("overrides") or {}).get("model.model_kwargs") or {}
        if "levels" in kwargs:
            kwargs["levels"] = 2
        if "target_parameters" in kwargs:
            kwargs["target_parameters"] = 2000
        if "model.width" in (value.get("overrides") or {}):
            value["overrides"]["model.width"] = 8
        value.pop("only", None)
    shipped["axes"]["activation"] = ["linear", "lstsq", "gelu"]  # lstsq: every operator's cell, MgNO's too
    shipped["seeds"] = [0, 1]
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(shipped))
    sweep = load_sweep(tmp_path / "sweep.yaml")
    counts = run_sweep(sweep, tmp_path / "results")
    assert counts["finished"] == 18, counts
    for record in ResultStore(tmp_path / "results").records():
        metrics = record["metrics"]
        assert np.isfinite(metrics["test/relative_l2"])
        if record["factors"]["activation"] != "lstsq":  # a closed-form fit has no training epochs
            assert metrics["dynamics"]["epoch"] == [0]
        assert set(metrics["band_errors"]) == {"low", "mid", "high"}
        assert ("sine_band_errors" in metrics) == ("darcy" in name)  # Dirichlet data: sine-basis bands too


def test_checking_the_shipped_burgers_sweep_leaves_each_kano_cell_its_own_model_kwargs():
    """``opkit ablate`` checks every run's config before the first starts. That check once wrote a
    control's dotted ``model.model_kwargs.basis: relu`` into the one ``model_kwargs`` dict that every
    KANO cell shared, so KANO with GELU, ReLU and Snake trained as ReLU-edge KANs without a base branch."""
    from opkit.ablation.spec import check_runs

    specs = [spec for spec in expand(load_sweep(SWEEPS / "activations_burgers_broadband.yaml"))
             if spec.values.get("operator") == "kano" and spec.seed == 0]
    before = {spec.run_id: yaml.safe_dump(spec.overrides) for spec in specs}
    check_runs(specs)
    assert {spec.run_id: yaml.safe_dump(spec.overrides) for spec in specs} == before
    gelu = next(spec for spec in specs if spec.values["activation"] == "gelu")
    assert gelu.overrides["model.model_kwargs"]["basis"] == "bspline"
    assert "model.model_kwargs.basis" not in gelu.overrides
