"""StreamingMoments: block-merged per-channel moments against numpy on the whole array."""

import numpy as np
import pytest

from opkit.data.moments import StreamingMoments
from opkit.data.normalize import RunningMoments


def test_blocks_of_any_size_match_numpy_on_the_whole_array():
    rng = np.random.default_rng(0)
    # A large mean relative to the spread: sum(x^2)/n - mean^2 would lose the variance here.
    values = rng.normal(1.0e4, 1.0e-2, (3, 1000)) * np.array([1.0, -2.0, 0.5])[:, None]
    for cuts in ([1000], [1, 999], [7, 300, 1, 692], [250] * 4):
        moments = StreamingMoments()
        for block in np.split(values, np.cumsum(cuts)[:-1], axis=1):
            moments.update(block)
        assert moments.count == 1000
        np.testing.assert_allclose(moments.mean, values.mean(axis=1), rtol=1e-15)
        np.testing.assert_allclose(moments.std, values.std(axis=1), rtol=1e-9)
        np.testing.assert_allclose(moments.rms, np.sqrt((values ** 2).mean(axis=1)), rtol=1e-14)
        np.testing.assert_array_equal(moments.minimum, values.min(axis=1))
        np.testing.assert_array_equal(moments.maximum, values.max(axis=1))


def test_samples_are_flattened_after_the_channel_axis_and_channel_counts_must_agree():
    rng = np.random.default_rng(1)
    samples = [rng.normal(size=(2, 4, 5)) for _ in range(6)]
    moments = RunningMoments()
    for sample in samples:
        moments.update(sample)
    stacked = np.stack(samples).transpose(1, 0, 2, 3).reshape(2, -1)
    np.testing.assert_allclose(moments.mean, stacked.mean(axis=1), rtol=1e-13)
    np.testing.assert_allclose(moments.variance, stacked.var(axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match="a block has 3 channels; expected 2 like the first"):
        _two_then_three()


def _two_then_three():
    moments = StreamingMoments()
    moments.update(np.zeros((2, 3)))
    moments.update(np.zeros((3, 3)))
