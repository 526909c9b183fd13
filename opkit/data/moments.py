"""Streaming per-channel moments: one implementation for file statistics and for normalisers.

``StreamingMoments`` takes blocks ``(channels, n)`` one at a time and keeps, per channel,
the count, mean, sum of squared deviations ``M2``, minimum and maximum. Blocks are
merged with the pairwise update of Chan, Golub and LeVeque (1979),

    n = n_a + n_b,   delta = mean_b - mean_a,
    mean = mean_a + delta n_b / n,   M2 = M2_a + M2_b + delta^2 n_a n_b / n,

in float64, so neither a large file nor a large mean relative to the spread loses the
variance to cancellation (as ``sum(x^2)/n - mean^2`` would).
"""

from __future__ import annotations

import numpy as np


class StreamingMoments:
    """Per-channel count, mean, variance, RMS, min and max over blocks of values.

    ``update(block)`` takes an array ``(channels, *anything)``; every value after the
    channel axis counts. The first block fixes the number of channels; a later block
    with another number raises ``ValueError`` (callers turn it into their own error).
    """

    def __init__(self):
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        self.minimum: np.ndarray | None = None
        self.maximum: np.ndarray | None = None

    @property
    def channels(self) -> int | None:
        return None if self.mean is None else self.mean.shape[0]

    def update(self, block) -> None:
        values = np.asarray(block, dtype=np.float64)
        values = values.reshape(values.shape[0], -1)
        if self.mean is not None and values.shape[0] != self.mean.shape[0]:
            raise ValueError(f"a block has {values.shape[0]} channels; expected {self.mean.shape[0]} like the first")
        n_block = values.shape[1]
        if n_block == 0:
            return
        block_mean = values.mean(axis=1)
        block_m2 = ((values - block_mean[:, None]) ** 2).sum(axis=1)
        if self.mean is None:
            self.count, self.mean, self.m2 = n_block, block_mean, block_m2
            self.minimum, self.maximum = values.min(axis=1), values.max(axis=1)
            return
        total = self.count + n_block
        delta = block_mean - self.mean
        self.mean = self.mean + delta * n_block / total
        self.m2 = self.m2 + block_m2 + delta * delta * self.count * n_block / total
        self.minimum = np.minimum(self.minimum, values.min(axis=1))
        self.maximum = np.maximum(self.maximum, values.max(axis=1))
        self.count = total

    @property
    def variance(self) -> np.ndarray:
        """Population variance ``M2 / n`` per channel."""
        return self.m2 / self.count

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.variance)

    @property
    def rms(self) -> np.ndarray:
        """Root mean square ``sqrt(mean(x^2)) = sqrt(mean^2 + variance)`` per channel."""
        return np.sqrt(self.mean * self.mean + self.variance)
