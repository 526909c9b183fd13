"""Headless figures: files are valid PNGs, overlays differ from single curves, bad input is refused."""

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from opkit.errors import ConfigError
from opkit.spectral import plots
from opkit.spectral.plots import (
    plot_dynamics_heatmap,
    plot_error_spectrum,
    plot_prediction,
    plot_probe_heatmap,
    plot_spectral_ratio,
)

K = np.arange(17)


def read_png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    return image


def test_error_spectrum_overlay_and_log_scale(tmp_path):
    one = plot_error_spectrum({"gelu": 1e-3 * (1 + K) ** 2}, tmp_path / "one.png", mode_cutoff=8)
    two = plot_error_spectrum(
        {"gelu": 1e-3 * (1 + K) ** 2, "sin": 1e-4 * (1 + K) ** 3}, tmp_path / "two.png", mode_cutoff=8
    )
    assert not np.array_equal(read_png(one), read_png(two))
    ratio = plot_spectral_ratio({"gelu": np.exp(-K / 5.0), "relu": np.full(17, np.nan)}, tmp_path / "ratio.png")
    read_png(ratio)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_heatmaps_and_prediction_figures(tmp_path):
    epochs = np.arange(5)
    errors = np.exp(-epochs[:, None] / (1 + K[None, :]))
    path = plot_dynamics_heatmap({"a": (epochs, K, errors), "b": (epochs, K, 2 * errors)}, tmp_path / "heat.png")
    read_png(path)
    probe = plot_probe_heatmap({"tanh": (np.arange(3), [5, 10], np.array([[0, 0], [0.5, 0.1], [1, 0.4]]))}, tmp_path / "p.png")
    read_png(probe)
    x = np.linspace(0, 1, 32)
    read_png(plot_prediction(np.sin(x), np.sin(x) + 0.1, tmp_path / "line.png"))
    read_png(plot_prediction(np.outer(x, x), np.outer(x, x) ** 2, tmp_path / "field.png", title="sample 0"))


def test_dynamics_heatmap_starts_at_shell_one_and_marks_the_cutoff(monkeypatch, tmp_path):
    captured = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: captured.append(figure) or Path(path))
    epochs, k = np.arange(4), np.arange(9)
    errors = np.outer(1.0 / (1 + epochs), 1 + k)
    errors[:, 0] = np.nan
    plots.plot_dynamics_heatmap({"a": (epochs, k, errors), "b": (epochs, k, 2 * errors)}, tmp_path / "h.png",
                                mode_cutoff=4)
    panels = [axis for axis in captured[0].axes if axis.get_title() in ("a", "b")]
    assert len(panels) == 2
    for axis in panels:
        mesh = axis.collections[0]
        x = mesh.get_coordinates()[..., 0]
        assert x.min() == pytest.approx(0.5) and x.max() == pytest.approx(8.5)  # shells 1..8, no k = 0 column
        assert [line.get_xdata()[0] for line in axis.get_lines()] == [4]


def test_plots_refuse_bad_input(tmp_path):
    with pytest.raises(ConfigError, match="curves: expected at least one"):
        plot_error_spectrum({}, tmp_path / "x.png")
    with pytest.raises(ConfigError, match=r"a: values: expected shape \(5, 17\)"):
        plot_dynamics_heatmap({"a": (np.arange(5), K, np.zeros((4, 17)))}, tmp_path / "x.png")
    with pytest.raises(ConfigError, match="truth and prediction"):
        plot_prediction(np.zeros(4), np.zeros(5), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
