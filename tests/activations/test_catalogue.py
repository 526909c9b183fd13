"""opkit/activations/catalogue.py: the entries' metadata (what the ablation report shows) is right."""

import torch

from opkit.activations import activation_info, get_activation, list_activations


def test_every_entry_has_its_formula_source_and_a_working_module():
    names = [info.name for info in list_activations()]
    assert len(names) == len(set(names)) == 24  # the plain entries (families are built from their names)
    for name in names:
        info = activation_info(name)
        assert info.formula.startswith("f(x) =") and info.source, name
        module = get_activation(name, num_channels=2) if info.learnable else get_activation(name)
        assert module(torch.zeros(1, 2, 3)).shape == (1, 2, 3), name


def test_metadata_of_a_few_entries():
    sine, snake, relu, selu = (activation_info(name) for name in ("sine", "snake", "relu", "selu"))
    assert sine.periodic and sine.bounded and not sine.learnable and sine.init == "siren"
    assert snake.periodic and snake.learnable and snake.monotonic
    assert not relu.smooth and relu.monotonic and not relu.bounded and relu.init == "default"
    assert selu.init == "lecun_normal"
    assert activation_info("linear").name == "identity" and activation_info("pau").name == "rational"
