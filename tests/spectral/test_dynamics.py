"""SpectralDynamics callback on a tiny LightningModule, and the time-to-learn analysis."""

import math

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from opkit.errors import ConfigError, DataError
from opkit.spectral.dynamics import (
    DynamicsTable,
    SpectralDynamics,
    band_history,
    band_learning_epochs,
    read_dynamics,
    time_to_learn,
)
from opkit.spectral.metrics import error_spectrum
from opkit.spectral.shells import relative_band_errors

N = 32


def smoothing_pairs(count, seed):
    """Inputs: random fields with energy up to k=12; targets: a fixed smoothing of them."""
    generator = torch.Generator().manual_seed(seed)
    x_hat = torch.zeros(count, 1, N // 2 + 1, dtype=torch.complex64)
    x_hat[..., 1:13] = torch.randn(count, 1, 12, generator=generator) + 1j * torch.randn(count, 1, 12, generator=generator)
    x = torch.fft.irfft(x_hat, n=N)
    kernel = torch.tensor([0.25, 0.5, 0.25])
    y = sum(w * torch.roll(x, shift, dims=-1) for w, shift in zip(kernel, (-1, 0, 1)))
    return x, y


class TinyOperator(pl.LightningModule):
    def __init__(self, scale=1.0):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 5, padding=2, padding_mode="circular", bias=False)
        self.scale = scale

    def forward(self, x):
        return self.conv(x)

    def decode_target(self, u):
        return self.scale * u

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


class TinyData(pl.LightningDataModule):
    def __init__(self):
        super().__init__()
        self.train = TensorDataset(*smoothing_pairs(32, seed=0))
        self.val = TensorDataset(*smoothing_pairs(12, seed=1))

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=8)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=5)


def make_trainer(tmp_path, epochs, callback):
    return pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=CSVLogger(tmp_path),
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )


def test_callback_writes_spectra_and_logs_band_errors(tmp_path):
    torch.manual_seed(0)
    module, data = TinyOperator(scale=2.0), TinyData()
    callback = SpectralDynamics(every_n_epochs=1, n_samples=8, mode_cutoff=6)
    trainer = make_trainer(tmp_path, 3, callback)
    trainer.fit(module, datamodule=data)

    path = tmp_path / "lightning_logs" / "version_0" / "spectral_dynamics.csv"
    table = read_dynamics(path)
    assert list(table.epochs) == [0, 1, 2, 3]
    assert list(table.steps) == [0, 4, 8, 12]
    # the last row is the final model's error spectrum on the first 8 validation samples, decoded
    x, y = data.val.tensors[0][:8], data.val.tensors[1][:8]
    with torch.no_grad():
        prediction = module(x)
    expected = error_spectrum(2.0 * prediction, 2.0 * y).numpy()
    np.testing.assert_allclose(table.errors[-1], expected, rtol=1e-4, equal_nan=True)
    # training reduces the error, and the logged bands are relative_band_errors with the same cutoff
    assert np.nansum(table.errors[-1]) < np.nansum(table.errors[0])
    bands = relative_band_errors(prediction, y, "cutoff", mode_cutoff=6)
    for name in ("low", "mid", "high"):
        assert trainer.callback_metrics[f"spectral/{name}"].item() == pytest.approx(bands[name], rel=1e-4)
    history = band_history(table, {"low": (0, 4), "high": (7, 17)})
    assert history["low"][-1] == pytest.approx(bands["low"], rel=1e-4)
    assert history["high"][-1] == pytest.approx(bands["high"], rel=1e-4)


def test_callback_interval_and_given_tensors(tmp_path):
    torch.manual_seed(1)
    x, y = smoothing_pairs(6, seed=3)
    callback = SpectralDynamics(every_n_epochs=2, inputs=x, targets=y)
    trainer = make_trainer(tmp_path, 4, callback)
    trainer.fit(TinyOperator(), train_dataloaders=DataLoader(TensorDataset(*smoothing_pairs(16, 0)), batch_size=8))
    table = read_dynamics(tmp_path / "lightning_logs" / "version_0" / "spectral_dynamics.csv")
    assert list(table.epochs) == [0, 2, 4]
    assert table.errors.shape == (3, N // 2 + 1)


def test_callback_without_validation_data_raises(tmp_path):
    trainer = make_trainer(tmp_path, 1, SpectralDynamics())
    loader = DataLoader(TensorDataset(*smoothing_pairs(8, 0)), batch_size=8)
    with pytest.raises(ConfigError, match="no validation data"):
        trainer.fit(TinyOperator(), train_dataloaders=loader)


def test_bad_callback_arguments():
    with pytest.raises(ConfigError, match="every_n_epochs"):
        SpectralDynamics(every_n_epochs=0)
    with pytest.raises(ConfigError, match="inputs and targets"):
        SpectralDynamics(inputs=torch.zeros(2, 1, 8))


def synthetic_table():
    """e(k, epoch) = e_final(k) * (1 + 99 * exp(-epoch / tau_k)) with tau growing with k."""
    epochs = np.arange(0, 21)
    wavenumbers = np.arange(4)
    final = np.array([np.nan, 0.01, 0.02, 0.05])
    tau = np.array([1.0, 1.0, 2.0, 4.0])
    errors = final[None, :] * (1 + 99 * np.exp(-epochs[:, None] / tau[None, :]))
    errors[-1] = final  # exactly final at the last evaluation
    energy = np.array([0.0, 1.0, 1.0, 2.0])
    return DynamicsTable(epochs, epochs * 10, wavenumbers, errors, energy)


def test_time_to_learn_matches_closed_form():
    table = synthetic_table()
    learned = time_to_learn(table, factor=2.0)
    # within 2x of final once 99 exp(-t/tau) <= 1, i.e. t >= tau ln 99
    expected = np.ceil(np.array([1.0, 2.0, 4.0]) * math.log(99))
    assert math.isnan(learned[0])
    np.testing.assert_array_equal(learned[1:], expected)


def test_band_learning_epochs_hand_computed():
    table = synthetic_table()
    result = band_learning_epochs(table, {"low": (0, 2), "high": (2, 4)}, threshold=0.1)
    # low band is shell 1 only: 0.01 (1 + 99 e^-t) < 0.1  <=>  t > ln(99/9)
    assert result["low"] == math.ceil(math.log(99 / 9))
    # high band pools shells 2 (energy 1) and 3 (energy 2): find the first epoch numerically by hand
    t = table.epochs
    pooled = (0.02 * (1 + 99 * np.exp(-t / 2)) * 1 + 0.05 * (1 + 99 * np.exp(-t / 4)) * 2) / 3
    pooled[-1] = (0.02 + 0.1) / 3
    assert result["high"] == t[np.nonzero(pooled < 0.1)[0][0]]
    assert math.isnan(band_learning_epochs(table, {"low": (0, 2)}, threshold=0.001)["low"])


def test_read_dynamics_rejects_bad_files(tmp_path):
    missing = tmp_path / "missing.csv"
    with pytest.raises(DataError, match="missing.csv: no such file"):
        read_dynamics(missing)
    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,error\n1,2\n")
    with pytest.raises(DataError, match="expected the header"):
        read_dynamics(bad)
    worse = tmp_path / "worse.csv"
    worse.write_text("epoch,step,wavenumber,error,target_energy\n1,2,x,0.1,1\n")
    with pytest.raises(DataError, match="line 2"):
        read_dynamics(worse)


class ValidatedOperator(TinyOperator):
    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/mse", nn.functional.mse_loss(self(x), y))


def test_callback_reads_validation_loader_passed_to_fit(tmp_path):
    torch.manual_seed(2)
    x, y = smoothing_pairs(10, seed=4)
    callback = SpectralDynamics(n_samples=6)
    trainer = make_trainer(tmp_path, 1, callback)
    trainer.limit_val_batches = 1.0
    trainer.fit(ValidatedOperator(), train_dataloaders=DataLoader(TensorDataset(*smoothing_pairs(8, 0)), batch_size=8),
                val_dataloaders=DataLoader(TensorDataset(x, y), batch_size=4))
    torch.testing.assert_close(callback.inputs, x[:6])
    torch.testing.assert_close(callback.targets, y[:6])
    # the loader built for the subset is the one validation then ran on
    assert trainer.callback_metrics["val/mse"].item() > 0
    assert list(read_dynamics(callback.path).epochs) == [0, 1]


def test_callback_refuses_fit_loaders_while_validation_is_off(tmp_path):
    x, y = smoothing_pairs(10, seed=4)
    trainer = make_trainer(tmp_path, 1, SpectralDynamics(n_samples=6))  # limit_val_batches=0
    with pytest.raises(ConfigError, match="no validation data.*with validation on"):
        trainer.fit(ValidatedOperator(), train_dataloaders=DataLoader(TensorDataset(*smoothing_pairs(8, 0)), batch_size=8),
                    val_dataloaders=DataLoader(TensorDataset(x, y), batch_size=4))
