"""The registry: names, aliases, errors, metadata, and every activation against its formula (float64)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import erf
from torch import nn

from opkit.activations import (
    KANActivation,
    PartialActivation,
    activation_info,
    activation_names,
    get_activation,
    list_activations,
    partial_activation_name,
)
from opkit.activations.bases import BASES
from opkit.errors import ConfigError

REQUIRED = [
    "identity", "relu", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "gelu_tanh", "silu",
    "swish", "swish_beta", "mish", "softplus", "tanh", "sigmoid", "hardtanh", "relu2", "sine", "snake",
    "xgelu", "xsilu", "rational", "polyrelu", "sau",
]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0.0, x)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# Independent float64 formulas (numpy), at each activation's default parameters.
FORMULAS = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "prelu": lambda x: np.where(x > 0, x, 0.25 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x)),
    "hardtanh": lambda x: np.clip(x, -1, 1),
    "relu2": lambda x: np.maximum(x, 0) ** 2,
    "gelu": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x * _sigmoid(x),
    "swish_beta": lambda x: x * _sigmoid(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "softplus": _softplus,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "xgelu": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))),
    "xsilu": lambda x: x * _sigmoid(x),
    "sine": lambda x: np.sin(30.0 * x),
    "snake": lambda x: x + np.sin(x) ** 2,
    "polyrelu": lambda x: (np.maximum(x, 0) + np.maximum(x, 0) ** 2 + np.maximum(x, 0) ** 3) / 3.0,
}


def _random_input(seed=0, shape=(4, 3, 50)):
    generator = torch.Generator().manual_seed(seed)
    return 3.0 * torch.randn(*shape, generator=generator, dtype=torch.float64)


def test_required_activations_registered_with_metadata():
    names = {info.name for info in list_activations()}
    for name in REQUIRED:
        assert activation_info(name).name in names
    for info in list_activations():
        for flag in ("learnable", "periodic", "smooth", "monotonic", "bounded"):
            assert isinstance(getattr(info, flag), bool), (info.name, flag)
        assert info.formula.startswith("f(x) =") and "\n" not in info.formula
        assert info.source
        assert info.init in ("default", "siren", "lecun_normal")


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_default_activation_matches_formula_float64(name, float64_default):
    module = get_activation(name)
    x = _random_input()
    expected = FORMULAS[name](x.numpy())
    np.testing.assert_allclose(module(x).detach().numpy(), expected, rtol=1e-12, atol=1e-12)


def test_aliases_and_case_insensitive_names():
    assert isinstance(get_activation("Swish"), nn.SiLU)
    assert get_activation("GELU-tanh").approximate == "tanh"
    assert get_activation("gelu").approximate == "none"
    assert isinstance(get_activation("SIREN"), type(get_activation("sine")))
    assert isinstance(get_activation("none"), nn.Identity)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown name 'gleu'.*gelu.*snake"):
        get_activation("gleu")


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="'gelu': unknown parameter.*tanh_mode.*approximate"):
        get_activation("gelu", tanh_mode=True)


def test_bad_type_and_bad_values():
    with pytest.raises(ConfigError, match="expected a registered name"):
        get_activation(3)
    with pytest.raises(ConfigError, match="w0 must be positive"):
        get_activation("sine", w0=0)
    with pytest.raises(ConfigError, match="num_channels must be a positive integer"):
        get_activation("snake", num_channels=0)
    with pytest.raises(ConfigError, match="approximate must be one of"):
        get_activation("rational", approximate="cubic")


def test_parameters_are_passed_on():
    x = _random_input()
    np.testing.assert_allclose(get_activation("leaky_relu", negative_slope=0.2)(x).numpy(),
                               np.where(x.numpy() > 0, x.numpy(), 0.2 * x.numpy()))
    np.testing.assert_allclose(get_activation("sine", w0=2.0)(x).numpy(), np.sin(2.0 * x.numpy()), rtol=1e-12)


def test_class_and_instance_are_accepted():
    class Scaled(nn.Module):
        def __init__(self, scale=1.0):
            super().__init__()
            self.scale = scale

        def forward(self, x):
            return self.scale * x

    built = get_activation(Scaled, scale=2.0, num_channels=8)  # num_channels dropped: Scaled does not take it
    assert built.scale == 2.0
    instance = nn.Tanh()
    assert get_activation(instance, num_channels=8) is instance
    with pytest.raises(ConfigError, match="already built"):
        get_activation(instance, scale=2.0)


def test_fixed_activations_ignore_num_channels():
    for info in list_activations():
        module = get_activation(info.name, num_channels=5)
        has_parameters = any(True for _ in module.parameters())
        assert has_parameters == info.learnable, info.name


@pytest.mark.parametrize("info", list_activations(), ids=lambda info: info.name)
def test_metadata_flags_hold_numerically(info):
    """monotonic / bounded / periodic flags against the built module on a dense float64 grid."""
    module = get_activation(info.name).double()
    x = torch.linspace(-20, 20, 40001, dtype=torch.float64)
    with torch.no_grad():
        y = module(x)
    assert torch.isfinite(y).all()
    increments = torch.diff(y)
    assert bool((increments >= -1e-12).all()) == info.monotonic
    with torch.no_grad():
        far = module(torch.tensor([-1e6, 1e6], dtype=torch.float64))
    assert bool(far.abs().max() < 100) == info.bounded


def test_family_names_resolve_without_registration():
    """kan_<basis> and partial_<fraction>_<name> are built from the name; only plain entries are listed."""
    for basis in BASES:
        module = get_activation(f"KAN_{basis}", num_channels=3)
        assert isinstance(module, KANActivation) and module.basis.n_basis == module.coefficients.shape[1]
        info = activation_info(f"kan_{basis}")
        assert info.name == f"kan_{basis}" and info.learnable and info.periodic == (basis == "fourier")
    assert activation_info("kan_bspline") is activation_info("kan_bspline")  # one entry (and factory) per name

    partial = get_activation("partial_0.5_snake", num_channels=6)
    assert isinstance(partial, PartialActivation) and partial.active_channels == 3
    x = torch.randn(2, 6, 7)
    torch.testing.assert_close(partial(x)[:, 3:], x[:, 3:])
    torch.testing.assert_close(partial(x)[:, :3], x[:, :3] + torch.sin(x[:, :3]) ** 2)  # snake at a = 1
    assert activation_info("partial_0.50_swish").name == "partial_0.5_silu" == partial_activation_name("swish", 0.5)
    assert activation_info("partial_1_tanh").bounded and not activation_info("partial_0.25_tanh").bounded
    nested = get_activation("partial_0.25_kan_rbf", num_channels=8)
    assert isinstance(nested.activation, KANActivation) and nested.active_channels == 2

    listed = {info.name for info in list_activations()} | set(activation_names(include_aliases=True))
    assert not any(name.startswith(("kan_", "partial_")) for name in listed)


def test_family_names_with_bad_parameters_are_refused():
    with pytest.raises(ConfigError, match="'kan_spline': unknown basis 'spline'; valid: kan_bspline, kan_rbf"):
        get_activation("kan_spline")
    with pytest.raises(ConfigError, match=r"'partial_1.5_gelu': expected partial_<fraction>_<name> with a fraction in \[0, 1\]"):
        get_activation("partial_1.5_gelu")
    with pytest.raises(ConfigError, match="'partial_nan_gelu': expected"):
        get_activation("partial_nan_gelu")
    with pytest.raises(ConfigError, match="unknown name 'gleu'"):
        get_activation("partial_0.5_gleu")
    with pytest.raises(ConfigError, match=r"unknown name 'kna_rbf'.*kan_<basis> \(basis: bspline.*partial_<fraction>_<name>"):
        get_activation("kna_rbf")


FAMILY_NAMES = [*(f"kan_{basis}" for basis in BASES), "partial_0.5_snake"]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_family_checkpoints_load_and_evaluate_in_a_fresh_process(tmp_path):
    """A checkpoint trained with each family name loads and evaluates in a process that only imports opkit.

    The names once existed only after a sweep registered them in its own process, so
    ``load_operator``, ``opkit evaluate`` and ``opkit spectral`` could not rebuild the model.
    """
    from opkit.training.inference import evaluate, load_operator
    from opkit.training.run import run_experiment

    sys.path.insert(0, str(Path(__file__).parents[1] / "ablation"))
    from tiny_data import tiny_base_config, write_tiny_file

    data = write_tiny_file(tmp_path / "tiny.h5")
    config = tiny_base_config(data, max_epochs=1)  # 2 optimiser steps
    checkpoints = {}
    for name in FAMILY_NAMES:
        result = run_experiment(config, {"model.activation": name}, tmp_path / name, seed=0, progress_bar=False)
        checkpoints[name] = result["checkpoint"]
    script = """
import json, sys
from opkit.training.inference import evaluate, load_operator
found = {}
for name, path in json.loads(sys.argv[1]).items():
    operator = load_operator(path)
    classes = sorted({type(m).__name__ for m in operator.model.modules()
                      if type(m).__module__.startswith("opkit.activations")})
    found[name] = [operator.hparams.activation, classes, evaluate(operator, sys.argv[2])["relative_l2"]]
print(json.dumps(found))
"""
    completed = subprocess.run([sys.executable, "-c", script, json.dumps(checkpoints), str(data)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    found = json.loads(completed.stdout.splitlines()[-1])
    for name in FAMILY_NAMES:
        activation, classes, error = found[name]
        assert activation == name
        assert {"KANActivation"} <= set(classes) if name.startswith("kan_") else {"Partial_snake_0.5", "Snake"} <= set(classes)
        assert error == pytest.approx(evaluate(load_operator(checkpoints[name]), data)["relative_l2"], rel=1e-5)
