"""opkit/models/common.py: the argument and input checks every operator shares."""

import pytest
import torch

from opkit.errors import ConfigError
from opkit.models.common import check_input, check_positive_int, check_spatial_dims, count_parameters, per_axis


def test_per_axis_expands_an_int_and_checks_a_list():
    assert per_axis("n_modes", 4, 2) == (4, 4)
    assert per_axis("n_modes", [4, 6], None) == (4, 6)
    for value, spatial_dims, message in ((4, None, "give spatial_dims"), ([4, 6], 3, "expected 3 values"),
                                         ([4, 0], 2, "expected positive ints"), (True, 1, "expected a positive int"),
                                         ("4", 1, r"expected positive ints, got \['4'\]")):
        with pytest.raises(ConfigError, match=message):
            per_axis("n_modes", value, spatial_dims)


def test_count_parameters_counts_trainable_scalars():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1, bias=False))
    assert count_parameters(model) == 3 * 2 + 2 + 2
    model[0].weight.requires_grad_(False)
    assert count_parameters(model) == 4 and count_parameters(model, trainable_only=False) == 10


def test_checks_name_the_model_and_the_expected_shape():
    check_input("fno", torch.zeros(2, 3, 16, 16), 3, 2, min_grid=(8, 8))
    with pytest.raises(ConfigError, match=r"fno: expected input of shape \(batch, 3, x, y\), got \(2, 3, 16\)"):
        check_input("fno", torch.zeros(2, 3, 16), 3, 2)
    with pytest.raises(ConfigError, match=r"grid \(4, 16\) is too coarse; need at least \(8, 8\)"):
        check_input("fno", torch.zeros(2, 3, 4, 16), 3, 2, min_grid=(8, 8))
    with pytest.raises(ConfigError, match="got ndarray"):
        check_input("fno", torch.zeros(1, 1, 4).numpy(), 1, 1)
    with pytest.raises(ConfigError, match=r"mgno: spatial_dims must be one of \[1, 2\], got 3"):
        check_spatial_dims("mgno", 3, (1, 2))
    with pytest.raises(ConfigError, match="width: expected a positive int, got 0"):
        check_positive_int("width", 0)
