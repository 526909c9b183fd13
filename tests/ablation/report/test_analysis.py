"""Grouping records into comparisons and reading their list-valued metrics, hand-made records."""

import math

from opkit.ablation.report.analysis import group_records, list_metric, list_metric_keys, setting_of


def record(activation, task, phase="main", **metrics):
    return {"phase": phase, "status": "finished", "factors": {"task": task, "activation": activation},
            "metrics": metrics}


def test_setting_is_the_grid_cell_without_the_activation():
    assert setting_of({"task": "burgers", "activation": "gelu", "width": 8}) == "task=burgers, width=8"
    assert setting_of({"activation": "gelu"}) == "all runs"


def test_group_records_by_setting_in_the_sweeps_activation_order():
    records = [record("relu", "burgers"), record("gelu", "darcy"), record("gelu", "burgers"),
               record("tanh", "burgers", phase="probe")]
    groups = group_records(records, order=["gelu", "relu"])
    assert list(groups) == ["task=darcy", "task=burgers"]
    assert list(groups["task=burgers"]) == ["gelu", "relu"]  # the probe-phase tanh run is not compared
    assert groups["task=burgers"]["relu"] == [records[0]]


def test_list_metric_reads_dotted_keys_as_floats():
    spectra = record("gelu", "burgers", spectra={"error": [1, 0.5, "nan", "oops"]}, scalar=3.0)
    values = list_metric(spectra, "spectra.error")
    assert values[:2] == [1.0, 0.5] and math.isnan(values[2]) and math.isnan(values[3])
    assert list_metric(spectra, "scalar") is None
    assert list_metric(spectra, "spectra.missing") is None
    assert list_metric_keys([record("gelu", "burgers", spectrum=[1.0, 2.0], single=[1.0], scalar=2.0)]) == ["spectrum"]
