"""OperatorModule's arguments: checked without data, and assembled into the registry model's arguments."""

import pytest
import torch

from opkit.errors import ConfigError
from opkit.training.arguments import check_arguments, compile_model, model_arguments


def test_model_arguments_keep_what_the_model_takes():
    # MgNO infers its spatial axes from the input but takes spatial_dims; it has no coordinate channels
    assert model_arguments("mgno", {"levels": 2}, activation="gelu", width=4, n_modes=None, n_layers=1, bias=True,
                           coordinates=False, spatial_dims=2) == {"levels": 2, "activation": "gelu", "width": 4,
                                                                  "n_layers": 1, "bias": True, "spatial_dims": 2}
    # None leaves the model's default, or model_kwargs' value; bias is always passed
    assert model_arguments("fno", {"width": 7}, activation=None, width=None, n_modes=[3, 4], n_layers=None,
                           bias=False, coordinates=None, spatial_dims=None) == {"width": 7, "n_modes": [3, 4],
                                                                                "bias": False}
    # a name the registry does not know (a stand-in): every argument is passed on
    assert model_arguments("standin", None, activation=None, width=None, n_modes=None, n_layers=None, bias=True,
                           coordinates=False, spatial_dims=1) == {"bias": True, "coordinates": False,
                                                                  "spatial_dims": 1}


def test_coordinates_true_is_kept_for_the_model_to_refuse():
    arguments = model_arguments("mgno", None, activation=None, width=None, n_modes=None, n_layers=None, bias=True,
                                coordinates=True, spatial_dims=None)
    assert arguments["coordinates"] is True


@pytest.mark.parametrize("change, message", [
    ({"optimizer": "sgd"}, "unknown optimizer 'sgd'; valid: adam, adamw"),
    ({"scheduler": "linear"}, "unknown scheduler 'linear'; valid: step, cosine, onecycle, none"),
    ({"lr": 0}, "lr=0; expected a positive number"),
    ({"lr": float("nan")}, "lr=nan; expected a positive number"),
    ({"weight_decay": -1e-4}, "weight_decay=-0.0001; expected a number >= 0"),
    ({"width": True}, "width=True; expected a positive integer"),
    ({"n_modes": [4, 0]}, r"n_modes=\[4, 0\]; expected a positive integer or a list of them"),
    ({"scheduler_step_size": 0}, "scheduler_step_size=0; expected a positive integer"),
    ({"pushforward_steps": -1}, "pushforward_steps=-1; expected >= 0"),
    ({"model_kwargs": [1]}, r"model_kwargs=\[1\]; expected a mapping"),
    ({"activation": "no_such_activation"}, "no_such_activation"),
])
def test_check_arguments_names_the_bad_one(change, message):
    with pytest.raises(ConfigError, match=message):
        check_arguments(**change)


def test_check_arguments_accepts_the_defaults_and_ignores_data_arguments():
    check_arguments()
    check_arguments(model="mgno", width=8, n_modes=[4, 4], scheduler=None, in_channels=3)


def test_compile_options_are_checked_before_torch_sees_them():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ConfigError, match="compile has unknown option"):
        compile_model(model, {"speed": "max"})
    with pytest.raises(ConfigError, match="expected true, false or a mapping"):
        compile_model(model, "yes")
