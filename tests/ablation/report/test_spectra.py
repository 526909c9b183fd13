"""The report's spectrum figures read as a newcomer needs them: inspected as matplotlib Axes before saving."""

import numpy as np
import pytest

from opkit.ablation.report import spectra

from made_records import figure_record as record

ACTIVATIONS = ["relu", "gelu", "silu", "tanh", "sine", "snake", "rational", "kan_bspline", "selu", "elu", "mish",
               "softplus"]


def vertical_lines(axis) -> list[float]:
    return [line.get_xdata()[0] for line in axis.get_lines()
            if len(set(np.atleast_1d(line.get_xdata()))) == 1 and len(line.get_xdata()) == 2]


def test_spectrum_axes_integer_shells_readable_labels_cutoff_and_noise_floor(captured, tmp_path):
    k = np.arange(12)
    energy = np.exp(-2.0 * k)  # falls to 3e-10 of its peak: below float32 round-off
    by_label = {label: [record(label, seed, error_spectrum=list((1 + i) * 0.01 * (1 + k) * (1 + 0.1 * seed)),
                               energy_spectrum_pred=list(energy * (1 + 0.01 * i)),
                               energy_spectrum_true=list(energy)) for seed in range(2)]
                for i, label in enumerate(ACTIVATIONS[:11] + ["linear"])}
    spectra.plot_curves(by_label, "error_spectrum", tmp_path / "e.png", "error")
    spectra.plot_curves(by_label, "energy_spectrum_pred", tmp_path / "p.png", "energy",
                        reference_key="energy_spectrum_true")
    error_axis, energy_axis = (figure.axes[0] for figure in captured)
    for axis in (error_axis, energy_axis):
        axis.figure.canvas.draw()
        ticks = [t for t in axis.get_xticks() if axis.get_xlim()[0] <= t <= axis.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert vertical_lines(axis) == [4]
        assert axis.get_xlabel() == "wavenumber shell k"
    assert error_axis.get_ylabel() == "relative error E_err(k)/E_true(k)"
    assert energy_axis.get_ylabel() == "energy E(k)"
    assert energy_axis.get_ylim()[0] == pytest.approx(1e-7 * energy.max() * 1.1, rel=0.2)
    linear = next(line for line in error_axis.get_lines() if line.get_label() == "linear")
    assert linear.get_linestyle() != "-"


def test_learned_activation_legend_on_every_panel(captured, tmp_path):
    x = list(np.linspace(-3, 3, 7))
    shape = {"x": x, "initial": x, "layers": [{"name": f"layer{i}", "mean": x, "min": x, "max": x}
                                              for i in range(2)]}
    by_label = {label: [record(label, 0, learned_activation=shape)] for label in ("rational", "snake", "kan_bspline")}
    spectra.plot_learned_activations(by_label, tmp_path, tmp_path / "s.png", "shapes")
    axes = captured[0].axes
    assert len(axes) == 3 and all(axis.get_legend() is not None for axis in axes)


def test_rollout_error_is_drawn_per_frame_not_as_a_spectrum(captured, tmp_path):
    """A rollout's per-step error is no spectrum: x is the predicted frame, no mode cutoff, and the
    spectra section leaves the per-step lists to the rollout section."""
    from opkit.ablation.report.analysis import list_metric_keys

    frames = list(range(10, 31))
    rollout = {"steps": list(range(1, 22)), "frames": frames, "trajectories": 8,
               "at": {"final": {"error_spectrum": [0.1, 0.2, 0.3]}}}
    by_label = {label: [record(label, seed, rollout={**rollout, "relative_l2": [0.01 * (i + 1) * s for s in
                                                                                 range(1, 22)]})
                        for seed in range(2)] for i, label in enumerate(["gelu", "relu", "linear"])}
    assert list_metric_keys([r for rs in by_label.values() for r in rs]) == ["rollout.at.final.error_spectrum"]
    spectra.plot_curves(by_label, "rollout.relative_l2", tmp_path / "r.png", "rollout",
                        x_key="rollout.frames", xlabel="predicted frame t")
    axis = captured[0].axes[0]
    gelu = next(line for line in axis.get_lines() if line.get_label() == "gelu")
    assert list(gelu.get_xdata()) == frames
    assert vertical_lines(axis) == [] and axis.get_xlabel() == "predicted frame t"
