"""Shared test set-up: headless plotting, a bounded thread count (CI has 2 cores), float64 on request."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def float64_default():
    """Tensors and parameters created in float64 for the test, so formulas can be checked to round-off."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
