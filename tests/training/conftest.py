"""tests/training on sys.path (for standins.py), and the stand-in model fixture."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

from opkit.training import module as module_file  # noqa: E402
from standins import build_standin  # noqa: E402


@pytest.fixture
def standin_model(monkeypatch):
    """OperatorModule builds the tiny stand-in model (and skips the registry's argument check) for any name."""
    monkeypatch.setattr(module_file, "build_operator", build_standin)
    monkeypatch.setattr(module_file, "check_operator", lambda name, **kwargs: None)
