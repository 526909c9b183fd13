"""The ablation probe's pieces on hand-computed cases: spectral record fields, init hints, FLOPs."""

import math

import pytest
import torch
from torch import nn

from opkit.ablation.callbacks import apply_init_hint, count_flops, spectral_summary
from opkit.spectral.shells import ShellSums


def test_spectral_summary_of_a_prediction_one_and_a_half_times_the_target():
    # target cos(2 pi x) on 16 points: energy 1/2 in shell 1 only (Parseval); the error is half the
    # target, so e(1) = 1/4, every other shell is empty (NaN), and the test MSE mean(0.25 cos^2) = 1/8
    # lies wholly in the low band.
    x = torch.arange(16) / 16
    target = torch.cos(2 * math.pi * x).view(1, 1, 16)
    summary = spectral_summary(ShellSums.of(1.5 * target, target, 1), threshold=0.1, mode_cutoff=None)
    assert summary["mode_cutoff"] == 4  # half the highest complete shell, 8
    assert summary["band_errors"]["low"] == pytest.approx(0.25, rel=1e-6)
    assert math.isnan(summary["band_errors"]["mid"]) and math.isnan(summary["band_errors"]["high"])
    assert summary["error_spectrum"][1] == pytest.approx(0.25, rel=1e-6)
    assert len(summary["error_spectrum"]) == 9 and math.isnan(summary["error_spectrum"][2])
    assert summary["energy_spectrum_true"][1] == pytest.approx(0.5, rel=1e-6)
    assert summary["energy_spectrum_pred"][1] == pytest.approx(1.125, rel=1e-6)
    assert summary["resolved_bandwidth"] == -1  # no shell within 0.1
    assert summary["band_mse"]["low"] == pytest.approx(0.125, rel=1e-6)
    assert summary["band_mse"]["mid"] == pytest.approx(0.0, abs=1e-12)


def test_init_hint_applies_siren_to_sine_and_leaves_other_activations_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.Linear(64, 64))
    before = [layer.weight.clone() for layer in model]
    for activation in (None, "gelu", "no_such_activation"):
        assert apply_init_hint(model, activation) == "default"
    assert all(torch.equal(layer.weight, old) for layer, old in zip(model, before))
    assert apply_init_hint(model, "sine") == "siren"
    # SIREN: first layer U(-1/n, 1/n), later layers U(-sqrt(6/n)/30, sqrt(6/n)/30), n = fan_in
    assert model[0].weight.abs().max() <= 1 / 4 and model[0].weight.abs().max() > 0.8 / 4
    bound = math.sqrt(6 / 64) / 30
    assert model[1].weight.abs().max() <= bound and model[1].weight.abs().max() > 0.8 * bound


def test_count_flops_of_a_matrix_multiply():
    # (2, 4) @ (4, 3): 2 * 3 outputs, each 4 multiplies and 4 adds
    assert count_flops(nn.Linear(4, 3, bias=False), torch.ones(2, 4)) == 2 * 2 * 3 * 4
    assert count_flops(lambda x: x.no_such_method(), torch.ones(2)) is None
