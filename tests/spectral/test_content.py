"""Spectral content of data files (``opkit inspect --spectrum``) on fields with known spectra."""

import math

import numpy as np
import pytest
import torch

from opkit.cli import main
from opkit.data import writer
from opkit.pde.problems import FieldSpec
from opkit.spectral.content import file_spectra, fraction_above, shell_holding, spectral_content


def test_summary_of_a_hand_made_spectrum():
    spectrum = torch.zeros(40, dtype=torch.float64)
    spectrum[1], spectrum[10], spectrum[20] = 0.9, 0.09, 0.01
    content = spectral_content(spectrum)
    assert content["above_4"] == pytest.approx(0.1)
    assert content["above_8"] == pytest.approx(0.1)
    assert content["above_12"] == pytest.approx(0.01)
    assert content["above_16"] == pytest.approx(0.01)
    assert content["above_24"] == 0
    assert content["k99"] == 10 and content["k9999"] == 20
    # E(k) = k^-3 on 1..30: the fitted slope is -3, whatever the range
    power_law = torch.arange(31, dtype=torch.float64).clamp(min=1) ** -3.0
    power_law[0] = 0
    assert spectral_content(power_law)["slope"] == pytest.approx(-3.0)
    assert fraction_above(power_law, 30) == 0 and shell_holding(power_law, 1.0) == 30
    # all energy in shell 1 (a damped single mode plus rounding): no slope to speak of
    single = torch.full((20,), 1e-16, dtype=torch.float64)
    single[1] = 1.0
    assert math.isnan(spectral_content(single)["slope"])


def _write(path, fields, arrays, coords, boundary):
    handle = writer.create_file(path, pde="test", preset="known", solver="closed form", params={"n": 1},
                                fields=fields, coords=coords, boundary_conditions=boundary,
                                n_samples=2, base_seed=0)
    writer.write_samples(handle, [0, 1], arrays)
    writer.finalize(handle)
    handle.close()


def test_periodic_file_two_modes(tmp_path):
    # u = sin(2 pi 2 x) + sin(2 pi 14 x): half the energy above k = 12, none above 16;
    # over time the high mode decays as e^-t, so its share falls frame by frame.
    n, times = 64, np.array([0.0, 1.0, 2.0])
    x = np.arange(n) / n
    low, high = np.sin(2 * math.pi * 2 * x), np.sin(2 * math.pi * 14 * x)
    u = low[None] + np.exp(-times)[:, None] * high[None]
    path = tmp_path / "periodic.h5"
    _write(path, [FieldSpec("solution", ("t", "x"), (3, n), "")], {"solution": np.stack([u, 2 * u])},
           {"x": x, "t": times}, {"x": "periodic"})
    spectra = file_spectra(path)
    frames = spectra["fields"]["solution"]["fft"]
    assert list(spectra["fields"]["solution"]) == ["fft"]  # periodic: no sine basis
    expected = np.exp(-2 * times) / (1 + np.exp(-2 * times))
    np.testing.assert_allclose([fraction_above(frame, 12) for frame in frames], expected, rtol=1e-6)
    assert fraction_above(frames[-1], 16) < 1e-12


def test_dirichlet_file_sine_basis_and_command(tmp_path, capsys):
    # u = sin(pi 28 x) sin(pi 2 y) on the vertex grid vanishes on the boundary: in the sine basis
    # all its energy sits in shell round(|(28, 2)| / 2) = 14; the FFT spreads it (boundary kink).
    s = 33
    x = np.linspace(0, 1, s)
    u = np.sin(28 * math.pi * x)[:, None] * np.sin(2 * math.pi * x)[None, :]
    a = np.ones((s, s))
    path = tmp_path / "dirichlet.h5"
    _write(path, [FieldSpec("coefficient", ("x", "y"), (s, s), ""), FieldSpec("solution", ("x", "y"), (s, s), "")],
           {"coefficient": np.stack([a, a]), "solution": np.stack([u, u])},
           {"x": x, "y": x}, {"x": "dirichlet", "y": "dirichlet"})
    sine = file_spectra(path)["fields"]["solution"]["sine"][-1]
    assert sine.argmax().item() == 14 and fraction_above(sine, 13) == pytest.approx(1.0, abs=1e-12)
    assert fraction_above(sine, 14) < 1e-12

    png = tmp_path / "spectrum.png"
    assert main(["inspect", str(path), "--spectrum", "--samples", "1", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines() if line.startswith("  ")}
    assert ("solution", "fft") in rows and ("solution", "sine") in rows
    assert float(rows[("solution", "sine")][2]) == pytest.approx(1.0)  # > 12
    assert rows[("solution", "sine")][6] == "14"  # k holding 99.99%
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "first 1 samples" in out


def test_spectrum_command_rejects_bad_sample_count(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.h5"), "--spectrum", "--samples", "0"]) == 2
    assert "--samples" in capsys.readouterr().err
