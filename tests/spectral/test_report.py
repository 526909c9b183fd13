"""The printed spectral table explains its special values where they appear; the summary
file holds every number the report computes."""

import csv
import math

import pytest
import torch

from opkit.spectral.dynamics import CSV_COLUMNS
from opkit.spectral.report import format_table, spectral_report


def test_table_footnotes_explain_nan_and_minus_one():
    rows = [{"model": "a", "relative_l2": 0.5, "low": 0.1, "mid": 0.2, "high": float("nan"),
             "resolved_bandwidth": -1, "high_low_ratio": float("nan"), "slope": 1.0}]
    lines = format_table(rows).splitlines()
    assert len(lines) == 4  # header, one row, two footnotes
    assert lines[2].startswith("resolved_bandwidth -1: never resolved")
    assert lines[3].startswith("nan: undefined, the band holds only empty shells")


def test_table_without_special_values_has_no_footnote():
    rows = [{"model": "a", "relative_l2": 0.5, "low": 0.1, "mid": 0.2, "high": 0.3, "resolved_bandwidth": 4,
             "high_low_ratio": 3.0, "slope": 1.0, "pdebench_low": 0.1, "pdebench_mid": 0.1, "pdebench_high": 0.1,
             "well_nmse_low": 0.1, "well_nmse_mid": 0.1, "well_nmse_high": 0.1}]
    assert len(format_table(rows).splitlines()) == 2


def test_summary_csv_holds_the_band_learning_epochs(tmp_path):
    """With a model's spectral dynamics, the first epoch each band's error falls under the
    threshold is written into spectral_summary.csv (and left empty for a model without)."""
    n, cutoff = 32, 4  # bands: low shells 0..2, mid 3..4, high 5..16
    per_epoch = {"low": [0.5, 0.05, 0.01], "mid": [0.5, 0.2, 0.05], "high": [0.5, 0.5, 0.5]}
    path = tmp_path / "spectral_dynamics.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for epoch in range(3):
            for k in range(n // 2 + 1):
                band = "low" if k <= 2 else "mid" if k <= 4 else "high"
                writer.writerow([epoch, 10 * epoch, k, per_epoch[band][epoch], 1.0])
    x = torch.arange(n, dtype=torch.float64) / n
    target = torch.sin(2 * math.pi * 3 * x).reshape(1, 1, n)
    rows = spectral_report({"a": 0.9 * target, "b": target.clone()}, target, tmp_path / "out", mode_cutoff=cutoff,
                           dynamics={"a": path})
    with open(tmp_path / "out" / "spectral_summary.csv") as handle:
        written = {row["model"]: row for row in csv.DictReader(handle)}
    assert float(written["a"]["epoch_low_under_0.1"]) == 1.0 == rows[0]["epoch_low_under_0.1"]
    assert float(written["a"]["epoch_mid_under_0.1"]) == 2.0
    assert math.isnan(float(written["a"]["epoch_high_under_0.1"]))  # never
    assert written["b"]["epoch_low_under_0.1"] == ""
    assert float(written["a"]["mid"]) == pytest.approx(0.01)  # shell 3: error power 0.1^2
