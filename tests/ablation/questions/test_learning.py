"""Time-to-learn per band, on a hand-computed dynamics table."""

import numpy as np
import pytest

from opkit.ablation import questions
from opkit.errors import DataError

from made_records import SEEDS, dynamics, record


def test_time_to_learn_on_a_hand_computed_table():
    # mode cutoff 2 over shells 0..5: low = {0, 1}, mid = {2}, high = {3, 4, 5}; shell 5 empty in the target
    gelu_times = [1, 1, 2, 3, 3, None]
    sine_times = [1, 2, 2, 1, 2, None]
    by_activation = {
        "gelu": [record("gelu", s, {"dynamics": dynamics(gelu_times), "mode_cutoff": 2}) for s in SEEDS],
        "sine": [record("sine", s, {"dynamics": dynamics(sine_times), "mode_cutoff": 2}) for s in SEEDS],
        "relu": [record("relu", s, {"mode_cutoff": 2}) for s in SEEDS],  # no dynamics: left out
    }
    table = questions.dynamics_table(by_activation["gelu"][0]["metrics"]["dynamics"], "gelu")
    from opkit.spectral.dynamics import time_to_learn

    np.testing.assert_array_equal(time_to_learn(table), [1, 1, 2, 3, 3, np.nan])
    analysis = questions.time_to_learn_analysis(by_activation, "gelu")
    assert set(analysis) == {"gelu", "sine"}
    assert analysis["gelu"]["bands"]["low"].mean == 1.0
    assert analysis["gelu"]["bands"]["mid"].mean == 2.0
    assert analysis["gelu"]["bands"]["high"].mean == 3.0
    assert analysis["sine"]["bands"]["low"].mean == 1.5
    assert analysis["sine"]["bands"]["high"].mean == 1.5
    difference = analysis["sine"]["high_vs_baseline"]
    assert (difference.n, difference.mean, difference.ci_low, difference.ci_high) == (3, -1.5, -1.5, -1.5)
    assert questions.activation_family("sine") == "periodic"

    bad = {"epoch": [0, 1], "wavenumber": [0, 1, 2], "error": [[1, 1, 1]], "target_energy": [1, 1, 1]}
    with pytest.raises(DataError, match=r"record 7: metrics.dynamics: error has shape \(1, 3\)"):
        questions.dynamics_table(bad, "record 7")
