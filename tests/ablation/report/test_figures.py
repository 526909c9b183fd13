"""The report's figures read as a newcomer needs them: inspected as matplotlib Axes before saving."""

import itertools

import numpy as np
from matplotlib.colors import to_rgb

from opkit.ablation import stats
from opkit.ablation.report import figures
from opkit.ablation.report.analysis import RankTest

ACTIVATIONS = ["relu", "gelu", "silu", "tanh", "sine", "snake", "rational", "kan_bspline", "selu", "elu", "mish",
               "softplus"]
CONTROLS = ["linear", "lstsq", "lstsq_full", "affine", "relu_nobias"]


def test_line_styles_distinguish_many_activations_and_grey_dashed_controls():
    for activations in (ACTIVATIONS, [f"act{i}" for i in range(30)]):
        styles = figures.line_styles(activations + CONTROLS)
        keys = [(to_rgb(s["color"]), str(s["linestyle"])) for s in styles.values()]
        assert len(set(keys)) == len(keys)
        for label in CONTROLS:
            red, green, blue = to_rgb(styles[label]["color"])
            assert red == green == blue and styles[label]["linestyle"] != "-"
        for label in activations:
            red, green, blue = to_rgb(styles[label]["color"])
            assert not red == green == blue
    few = figures.line_styles(["gelu", "relu", "linear"])
    assert few["gelu"]["linestyle"] == few["relu"]["linestyle"] == "-" and few["linear"]["linestyle"] != "-"


def test_critical_difference_labels_and_cliques_do_not_overlap(captured, tmp_path):
    rng = np.random.default_rng(0)
    labels = ACTIVATIONS + CONTROLS[:2]
    table = rng.normal(size=(6, len(labels))) + np.linspace(0, 3, len(labels))
    result = stats.friedman(table)
    test = RankTest("test/relative_l2", "seeds", labels, result,
                    stats.nemenyi_critical_difference(len(labels), table.shape[0]))
    layout = figures.critical_difference_layout(result.average_ranks, test.critical_difference)
    assert len(layout.cliques) >= 2
    clique_rows = [y for _, _, y in layout.cliques]
    assert len(set(clique_rows)) == len(clique_rows)
    assert max(y for _, y, _ in layout.labels) < min(clique_rows)

    figures.plot_critical_difference(test, tmp_path / "cd.png")
    figure = captured[0]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in figure.axes[0].texts]
    assert len(boxes) == len(labels) * 2 + 1  # rank ticks, the CD, one label per activation
    for one, other in itertools.combinations(boxes, 2):
        assert not one.overlaps(other)
    # every clique bar on a row above the highest label row (no bar through a label's connector)
    bars = [line.get_ydata()[0] for line in figure.axes[0].get_lines() if line.get_color() == "C3"]
    label_rows = [text.get_position()[1] for text in figure.axes[0].texts if text.get_position()[1] < 0]
    assert len(bars) == len(layout.cliques) and min(bars) > max(label_rows)
