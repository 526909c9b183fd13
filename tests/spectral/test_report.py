"""The printed spectral table explains its special values where they appear."""

from opkit.spectral.report import format_table


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
