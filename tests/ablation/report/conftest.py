"""Fixtures for the report's figure tests."""

from pathlib import Path

import pytest

from opkit.ablation.report import figures, spectra


@pytest.fixture
def captured(monkeypatch):
    """Figures handed to the save functions, instead of PNG files."""
    shown = []

    def keep(figure, path):
        shown.append(figure)
        return Path(path)

    monkeypatch.setattr(figures, "save_figure", keep)
    monkeypatch.setattr(spectra, "save_figure", keep)
    return shown
