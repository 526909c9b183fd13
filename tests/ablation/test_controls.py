"""Control entries of the activation axis: what each implies, per operator, in the run specs."""

import pytest
import yaml

from opkit.ablation.controls import BIAS_FREE, CONTROLS
from opkit.ablation.spec import expand, run_overrides
from opkit.ablation.sweep_file import parse_sweep
from opkit.errors import ConfigError


def sweep(operators, activations, **extra):
    return parse_sweep({"name": "controls", "seeds": [0], "baseline": "gelu",
                        "axes": {"operator": operators, "activation": ["gelu"] + activations}, **extra})


def runs_by_cell(parsed):
    return {(r.factors["operator"], r.factors["activation"]): r for r in expand(parsed)}


def test_bias_free_controls_switch_off_biases_coordinates_and_the_mean_shift():
    runs = runs_by_cell(sweep(["fno", "mgno", "kano"], ["relu_nobias", "linear", "affine"]))
    for operator in ("fno", "mgno", "kano"):
        for name, activation in (("relu_nobias", "relu"), ("linear", "identity")):
            run = runs[(operator, name)]
            assert run.values["activation"] == activation
            assert {key: run.overrides[key] for key in BIAS_FREE} == {
                "model.bias": False, "model.coordinates": False, "data.coordinates": False, "data.normalize": "scale"}
            assert run_overrides(run)["model.activation"] == activation
        affine = runs[(operator, "affine")]
        assert affine.values["activation"] == "identity" and not set(BIAS_FREE) & set(affine.overrides)
        assert "data.normalize" not in runs[(operator, "gelu")].overrides
    # KANO's learned activations are its KAN edges: homogeneous / linear edge functions, no SiLU branch
    assert runs[("kano", "relu_nobias")].overrides["model.model_kwargs.basis"] == "relu"
    assert runs[("kano", "linear")].overrides["model.model_kwargs.basis"] == "linear"
    assert runs[("kano", "linear")].overrides["model.model_kwargs.base_activation"] is None
    assert "model.model_kwargs.basis" not in runs[("fno", "linear")].overrides


def test_lstsq_replaces_the_network_by_the_closed_form_baseline():
    runs = runs_by_cell(sweep([{"label": "fno", "value": "fno", "overrides": {"model.n_modes": 12}},
                               {"label": "mgno", "value": "mgno", "overrides": {"model.n_modes": None}}], ["lstsq"]))
    for operator, n_modes in (("fno", 12), ("mgno", None)):
        run = runs[(operator, "lstsq")]
        overrides = run_overrides(run)
        assert overrides["model.model"] == "linear_fourier" and overrides["model.n_modes"] == n_modes
        assert overrides["trainer.max_epochs"] == 1 and overrides["data.normalize"] == "scale"
        assert "model.activation" in overrides and overrides["model.activation"] is None
        assert run.factors == {"operator": operator, "activation": "lstsq"}


def test_operator_from_the_base_config_and_entry_overrides_come_last(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"model": {"model": "kano", "model_kwargs": {"basis": "bspline"}}}))
    parsed = parse_sweep({"name": "x", "seeds": [0], "base_config": str(base), "baseline": "gelu",
                          "axes": {"activation": ["gelu", "linear", {"label": "lin2", "value": "linear",
                                                                     "overrides": {"data.normalize": False}}]}})
    runs = {r.factors["activation"]: r for r in expand(parsed)}
    assert runs["linear"].overrides["model.model_kwargs.basis"] == "linear"
    assert runs["lin2"].overrides["data.normalize"] is False and runs["lin2"].values["activation"] == "identity"


def test_a_control_label_with_another_value_is_refused():
    with pytest.raises(ConfigError, match="label 'relu_nobias' names a control but its value is 'relu'; "
                                          "write '- relu_nobias'"):
        sweep(["fno"], [{"label": "relu_nobias", "value": "relu", "overrides": {"model.bias": False}}])
    with pytest.raises(ConfigError, match="not defined for kano_s"):
        expand(sweep(["kano_s"], ["linear"]))


def test_every_control_states_its_claim():
    assert set(CONTROLS) == {"relu_nobias", "linear", "affine", "lstsq", "lstsq_full"}
    assert all(control.claim for control in CONTROLS.values())
