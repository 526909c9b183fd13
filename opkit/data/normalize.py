"""Per-channel normalisation, fitted on the training split and saved with the model.

Two kinds: ``standard`` (subtract the mean, divide by the std) and ``scale`` (divide by
the root mean square, no shift: a linear map, for the bias-free and linear controls).

``ChannelNormalizer`` is an ``nn.Module`` whose mean and std are buffers: copied into a
LightningModule, they travel in its checkpoint, so predictions can be decoded later.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from opkit.data.moments import StreamingMoments
from opkit.errors import ConfigError


NORMALIZER_MODES = ("standard", "scale")


class ChannelNormalizer(nn.Module):
    """``encode(x) = (x - mean_c) / (std_c + eps)`` per channel c, ``decode`` its inverse.

    ``x`` is channels-first with a batch axis: ``(batch, channels, *spatial)``; mean and std
    have shape ``(channels,)``.
    """

    def __init__(self, mean, std, eps: float = 1e-6):
        super().__init__()
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        if mean.shape != std.shape:
            raise ConfigError(f"ChannelNormalizer: mean has {mean.numel()} channels and std {std.numel()}; "
                              "expected the same number")
        if (std < 0).any():
            raise ConfigError("ChannelNormalizer: std must be non-negative")
        self.eps = float(eps)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    @classmethod
    def identity(cls, num_channels: int) -> "ChannelNormalizer":
        """A normaliser that changes nothing (mean 0, std 1): a placeholder to load a checkpoint into."""
        return cls(torch.zeros(num_channels), torch.ones(num_channels), eps=0.0)

    @classmethod
    def fit(cls, samples: Iterable[torch.Tensor], eps: float = 1e-6, mode: str = "standard") -> "ChannelNormalizer":
        """Fit on ``samples``, each ``(channels, *spatial)``: population mean and std per channel.

        ``mode="scale"`` fits a scale-only normaliser: mean 0 and the root mean square
        ``sqrt(E[x^2])`` as the scale, so ``encode`` and ``decode`` are linear maps (no shift),
        as the bias-free and linear controls need.
        """
        if mode not in NORMALIZER_MODES:
            raise ConfigError(f"ChannelNormalizer.fit: mode {mode!r}; expected one of {', '.join(NORMALIZER_MODES)}")
        moments = RunningMoments()
        for sample in samples:
            moments.update(sample)
        return moments.normalizer(eps, mode)

    @property
    def num_channels(self) -> int:
        return self.mean.numel()

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ConfigError(f"ChannelNormalizer: input shape {tuple(x.shape)}; expected (batch, "
                              f"{self.num_channels}, *spatial)")
        return (1, self.num_channels) + (1,) * (x.ndim - 2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        shape = self._shape(x)
        return (x - self.mean.view(shape)) / (self.std.view(shape) + self.eps)

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        shape = self._shape(x)
        return x * (self.std.view(shape) + self.eps) + self.mean.view(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)

    def extra_repr(self) -> str:
        return f"channels={self.num_channels}, eps={self.eps}"


class RunningMoments(StreamingMoments):
    """Per-channel moments of ``(channels, *spatial)`` samples, one at a time (``StreamingMoments``).

    One pass over a dataset can feed several of these (inputs and targets) without keeping
    the samples; the float64 pairwise merge makes the result independent of the sample order.
    """

    def update(self, sample: torch.Tensor) -> None:
        """Add one ``(channels, *spatial)`` sample."""
        values = torch.as_tensor(sample).detach().to("cpu", torch.float64)
        try:
            super().update(values.reshape(values.shape[0], -1).numpy())
        except ValueError as error:
            raise ConfigError(f"ChannelNormalizer.fit: {str(error).replace('block', 'sample')}") from None

    def normalizer(self, eps: float = 1e-6, mode: str = "standard") -> ChannelNormalizer:
        """The fitted normaliser: ``"standard"`` (mean and std) or ``"scale"`` (mean 0, RMS as scale)."""
        if self.mean is None:
            raise ConfigError("ChannelNormalizer.fit: no samples; expected a non-empty training split")
        if mode == "scale":
            return ChannelNormalizer(torch.zeros(self.channels), torch.from_numpy(self.rms), eps=eps)
        return ChannelNormalizer(torch.from_numpy(self.mean), torch.from_numpy(self.std), eps=eps)
