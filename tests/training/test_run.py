"""Experiment configs: overrides set by dotted key or nested section, never sharing the caller's dicts."""

import pytest

from opkit.errors import ConfigError
from opkit.training.run import apply_overrides


def test_dotted_and_nested_overrides():
    config = {"model": {"activation": "gelu", "width": 8}, "trainer": {"max_epochs": 10}}
    apply_overrides(config, {"model.activation": "sine", "trainer": {"max_epochs": 2}, "data.path": "a.h5"})
    assert config == {"model": {"activation": "sine", "width": 8}, "trainer": {"max_epochs": 2},
                      "data": {"path": "a.h5"}}


def test_overrides_are_copied_so_a_sweep_can_share_them():
    shared = {"model_kwargs": {"basis": "bspline"}}
    first = apply_overrides({"model": {}}, {"model": shared})
    apply_overrides(first, {"model.model_kwargs.basis": "chebyshev"})
    assert first["model"]["model_kwargs"]["basis"] == "chebyshev"
    assert shared == {"model_kwargs": {"basis": "bspline"}}


def test_override_through_a_value_is_one_line_error():
    with pytest.raises(ConfigError, match="override 'model.width.x': 'width' is not a section"):
        apply_overrides({"model": {"width": 8}}, {"model.width.x": 1})
