"""Tiny stand-ins for the data and model stages, so training code is tested on its own."""

import numpy as np
import torch
from lightning import LightningDataModule
from lightning.pytorch.callbacks import Callback
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from opkit.data.normalize import ChannelNormalizer
from opkit.data.schema import FieldLayout
from opkit.data.writer import create_file, finalize, write_samples


class PointwiseOperator(nn.Module):
    """(B, C_in, x) -> (B, C_out, x): a two-layer pointwise network (a 1x1-convolution MLP)."""

    def __init__(self, in_channels, out_channels, width=8, activation="gelu", bias=True, **unused):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(in_channels, width, 1, bias=bias), nn.GELU(),
                                 nn.Conv1d(width, out_channels, 1, bias=bias))

    def forward(self, x):
        return self.net(x)


def build_standin(name, **kwargs):
    return PointwiseOperator(**kwargs)


class AffineDataModule(LightningDataModule):
    """target = 3 * input + 10 on a 1-D grid: physical units far from zero mean, unit std.

    Args mirror PDEDataModule's where they matter (in/out channels, batch size, normalizers).
    """

    def __init__(self, n_train: int = 64, n_val: int = 16, n_test: int = 16, size: int = 16,
                 batch_size: int = 8, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        n = n_train + n_val + n_test
        inputs = torch.randn(n, 1, size, generator=generator) * 2 + 5
        targets = 3 * inputs + 10
        self.parts = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
                      "test": slice(n_train + n_val, n)}
        self.inputs, self.targets = inputs, targets
        self.batch_size = batch_size
        train = self.parts["train"]
        self.input_normalizer = ChannelNormalizer.fit(inputs[train])
        self.target_normalizer = ChannelNormalizer.fit(targets[train])
        self.in_channels, self.out_channels, self.spatial_dims = 1, 1, 1

    def _loader(self, part, shuffle=False):
        part = self.parts[part]
        return DataLoader(TensorDataset(self.inputs[part], self.targets[part]), batch_size=self.batch_size,
                          shuffle=shuffle)

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("val")

    def test_dataloader(self):
        return self._loader("test")


def write_smoothing_file(path, n_samples=32, n_x=32, seed=0):
    """1-D periodic 'Burgers-like' file: initial u0 -> solution whose last frame is a heat-smoothed u0."""
    rng = np.random.default_rng(seed)
    x = np.arange(n_x) / n_x
    modes = np.arange(1, 5)
    coefficients = rng.normal(size=(n_samples, modes.size, 2))
    initial = (coefficients[..., 0, None] * np.sin(2 * np.pi * modes[:, None] * x)
               + coefficients[..., 1, None] * np.cos(2 * np.pi * modes[:, None] * x)).sum(1)
    damping = np.exp(-0.01 * (2 * np.pi * modes) ** 2)
    final = (damping[:, None] * (coefficients[..., 0, None] * np.sin(2 * np.pi * modes[:, None] * x)
                                  + coefficients[..., 1, None] * np.cos(2 * np.pi * modes[:, None] * x))).sum(1)
    solution = np.stack([initial, final], axis=1) + 1.0
    fields = [FieldLayout("initial", ("x",), (n_x,), "u(0, x)"),
              FieldLayout("solution", ("t", "x"), (2, n_x), "u(t, x)")]
    handle = create_file(path, pde="burgers", preset="test", solver="exact heat smoothing", params={},
                         fields=fields, coords={"x": x, "t": np.array([0.0, 1.0])},
                         boundary_conditions={"x": "periodic"}, n_samples=n_samples, base_seed=seed)
    write_samples(handle, np.arange(n_samples), {"initial": (initial + 1.0).astype(np.float32),
                                                  "solution": solution.astype(np.float32)})
    finalize(handle)
    handle.close()
    return path


class BatchShapes(Callback):
    """Records ``(epoch, input shape)`` of every training batch in the class list ``seen`` (end-to-end tests)."""

    seen: list = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        BatchShapes.seen.append((trainer.current_epoch, tuple(batch[0].shape)))
