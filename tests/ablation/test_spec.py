"""Sweep files: validation errors and grid expansion."""

import pytest

from opkit.ablation.spec import expand, lr_sweep_runs

from opkit.ablation.sweep_file import parse_sweep
from opkit.errors import ConfigError

from made_records import DEMO_SWEEP as SWEEP


def test_expand_grid_ids_and_overrides():
    runs = expand(parse_sweep(SWEEP))
    assert len(runs) == 1 * 3 * 2 * 3
    ids = [r.run_id for r in runs]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "fno__gelu__8__seed0"
    nobias = [r for r in runs if r.factors["activation"] == "relu_nobias"]
    assert all(r.overrides["model.bias"] is False and r.values["activation"] == "relu" for r in nobias)
    assert all(r.overrides["trainer.max_epochs"] == 2 for r in runs)
    assert {r.overrides["model.width"] for r in runs} == {8, 16}
    # every activation gets the same seeds (paired design)
    seeds = {}
    for r in runs:
        seeds.setdefault(r.factors["activation"], set()).add(r.seed)
    assert all(s == {0, 1, 2} for s in seeds.values())
    # stable: the same sweep gives the same ids and fingerprints
    again = expand(parse_sweep(SWEEP))
    assert [(r.run_id, r.fingerprint()) for r in again] == [(r.run_id, r.fingerprint()) for r in runs]
    changed = expand(parse_sweep({**SWEEP, "overrides": {"trainer.max_epochs": 3}}))
    assert changed[0].run_id == runs[0].run_id and changed[0].fingerprint() != runs[0].fingerprint()


def test_seed_count_and_lr_sweep_runs():
    sweep = parse_sweep({**SWEEP, "seeds": 6, "lr_sweep": {"values": [1e-3, 3e-3], "overrides": {"trainer.max_epochs": 1}}})
    assert sweep.seeds == (0, 1, 2, 3, 4, 5)
    runs = lr_sweep_runs(sweep)
    assert len(runs) == 3 * 2 * 2  # one seed per cell, two learning rates
    assert {r.learning_rate for r in runs} == {1e-3, 3e-3}
    assert all(r.phase == "lr_sweep" and r.overrides["trainer.max_epochs"] == 1 for r in runs)


def test_only_restricts_a_point_to_some_labels_of_another_axis():
    sweep = parse_sweep({"name": "subset", "seeds": [0, 1], "axes": {
        "operator": ["fno", {"label": "mgno", "value": "mgno", "only": {"activation": ["gelu", "linear"]}}],
        "activation": ["linear", "relu", "gelu"]}})
    cells = sorted({(spec.factors["operator"], spec.factors["activation"]) for spec in expand(sweep)})
    assert cells == [("fno", "gelu"), ("fno", "linear"), ("fno", "relu"), ("mgno", "gelu"), ("mgno", "linear")]
    assert len(expand(sweep)) == 10
    for only, message in [({"activation": ["silu"]}, r"\['silu'\] are not labels of axis activation"),
                          ({"seed": ["gelu"]}, "expected another axis"), ({"activation": []}, "non-empty list")]:
        with pytest.raises(ConfigError, match=message):
            parse_sweep({"name": "bad", "axes": {"operator": [{"label": "mgno", "only": only}],
                                                 "activation": ["gelu"]}})


# Finished sweeps resume by fingerprint: these were computed before the run specs' code was
# reorganised, and must never change (a changed fingerprint retrains every finished run).
PINNED_SWEEP = {
    "name": "pinned", "seeds": [0, 1], "baseline": "gelu", "overrides": {"trainer.max_epochs": 2},
    "axes": {"operator": ["fno"], "activation": ["gelu", "relu_nobias", "linear"],
             "activation_fraction": [1.0, 0.5], "model.width": [8]},
    "lr_sweep": {"values": [1e-3, 3e-3], "overrides": {"trainer.max_epochs": 1}},
}
PINNED_FINGERPRINTS = {
    "lrsweep__fno__gelu__1.0__8__lr0.001": "eec92f6b8c4d", "lrsweep__fno__gelu__1.0__8__lr0.003": "b714cf9c0c90",
    "lrsweep__fno__gelu__0.5__8__lr0.001": "27739b96ed1d", "lrsweep__fno__gelu__0.5__8__lr0.003": "f0eaa36bc4e1",
    "lrsweep__fno__relu_nobias__1.0__8__lr0.001": "fca19686c767",
    "lrsweep__fno__relu_nobias__1.0__8__lr0.003": "35f41df0b971",
    "lrsweep__fno__relu_nobias__0.5__8__lr0.001": "c2b48f8e9980",
    "lrsweep__fno__relu_nobias__0.5__8__lr0.003": "f65a085cbc34",
    "lrsweep__fno__linear__1.0__8__lr0.001": "4412d19d9adf", "lrsweep__fno__linear__1.0__8__lr0.003": "0d52a6d34c96",
    "lrsweep__fno__linear__0.5__8__lr0.001": "16326f816172", "lrsweep__fno__linear__0.5__8__lr0.003": "7741f71ce138",
    "fno__gelu__1.0__8__seed0": "4d20880823ea", "fno__gelu__1.0__8__seed1": "17128c7c95dc",
    "fno__gelu__0.5__8__seed0": "6a206448dcac", "fno__gelu__0.5__8__seed1": "63c08fd296e9",
    "fno__relu_nobias__1.0__8__seed0": "3e210caf21e4", "fno__relu_nobias__1.0__8__seed1": "3e5d2f76fd4c",
    "fno__relu_nobias__0.5__8__seed0": "f499b60671cc", "fno__relu_nobias__0.5__8__seed1": "4925548f8741",
    "fno__linear__1.0__8__seed0": "276813015c69", "fno__linear__1.0__8__seed1": "5a5367adbeff",
    "fno__linear__0.5__8__seed0": "79f8c2024486", "fno__linear__0.5__8__seed1": "baae578460d8",
}


def test_fingerprints_of_a_small_sweep_are_pinned():
    sweep = parse_sweep(PINNED_SWEEP)
    runs = lr_sweep_runs(sweep) + expand(sweep)
    assert {run.run_id: run.fingerprint() for run in runs} == PINNED_FINGERPRINTS


def test_load_entry_imports_a_module_function_or_a_file_once(tmp_path):
    from opkit.ablation.spec import load_entry
    from opkit.training.run import run_experiment

    assert load_entry("opkit.training.run:run_experiment") is run_experiment
    (tmp_path / "train_fn.py").write_text("CALLS = []\ndef run(config, overrides, run_dir, seed):\n    return {}\n")
    first = load_entry(f"{tmp_path / 'train_fn.py'}:run")
    assert first is load_entry(f"{tmp_path / 'train_fn.py'}:run")  # one module per file and process
    for entry, message in [("no_colon", "expected 'module.path:function'"),
                           ("opkit.no_such_module:run", "cannot import module 'opkit.no_such_module'"),
                           ("opkit.training.run:no_such_function", "has no function 'no_such_function'"),
                           (f"{tmp_path / 'missing.py'}:run", "missing.py' not found")]:
        with pytest.raises(ConfigError, match=message):
            load_entry(entry)
