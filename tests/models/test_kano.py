"""KAN-style Fourier operators: structure, parameter matching with FNO, space selection."""

from pathlib import Path

import pytest
import torch
from torch import nn

from opkit.errors import ConfigError
from opkit.layers.kan import KANChannelMix, KANLinear, SelectableKANChannelMix
from opkit.models import FNO, KANO, build_model, count_parameters, width_for_parameters
from opkit.models.fno import FourierLayer


@pytest.mark.parametrize("name", ["kano", "kano_s"])
@pytest.mark.parametrize("fno_config", [dict(width=64, n_modes=[16]), dict(width=32, n_modes=[12, 12]),
                                        dict(width=20, n_modes=[8, 8, 6])])
def test_target_parameters_matches_fno_within_ten_percent(name, fno_config):
    fno = FNO(1, 1, n_layers=4, **fno_config)
    target = count_parameters(fno)
    with torch.device("meta"):
        model = build_model(name, in_channels=1, out_channels=1, n_modes=fno_config["n_modes"], n_layers=4,
                            target_parameters=target)
    assert abs(count_parameters(model) - target) <= 0.1 * target
    # no other width is closer
    for other in (model.width - 1, model.width + 1):
        with torch.device("meta"):
            candidate = build_model(name, in_channels=1, out_channels=1, n_modes=fno_config["n_modes"],
                                    n_layers=4, width=other)
        assert abs(count_parameters(candidate) - target) >= abs(count_parameters(model) - target)


def test_width_for_parameters_hits_an_exact_count():
    with torch.device("meta"):
        exact = count_parameters(KANO(2, 1, width=13, n_modes=[4]))
    assert width_for_parameters(KANO, exact, in_channels=2, out_channels=1, n_modes=[4]) == (13, exact)


def test_layer_is_spectral_conv_plus_pointwise_kan():
    """v -> K v + KAN(v), with KAN applied to the channel vector at each grid point."""
    torch.manual_seed(0)
    model = KANO(1, 1, width=6, n_modes=[4], n_layers=1, basis="chebyshev").double()
    layer = model.layers[0]
    v = torch.randn(3, 6, 16, dtype=torch.float64)
    kan: KANLinear = layer.skip.kan
    pointwise = torch.stack([kan(v[:, :, j]) for j in range(16)], dim=-1)
    torch.testing.assert_close(layer(v), layer.spectral(v) + pointwise, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("basis", ["bspline", "rbf", "chebyshev", "fourier"])
def test_every_basis_runs_in_2d_and_is_shift_equivariant(basis):
    torch.manual_seed(0)
    model = KANO(1, 1, width=4, n_modes=[3, 3], n_layers=2, basis=basis).double()
    x = torch.randn(2, 1, 12, 8, dtype=torch.float64)
    shift = lambda t: torch.roll(t, shifts=(5, 3), dims=(2, 3))  # noqa: E731
    torch.testing.assert_close(model(shift(x)), shift(model(x)), rtol=1e-9, atol=1e-10)


def test_basis_kwargs_reach_the_kan_layers():
    model = KANO(1, 1, width=4, n_modes=[3], n_layers=1, basis="bspline", basis_kwargs={"grid_size": 7, "order": 2})
    assert model.layers[0].skip.kan.coefficients.shape == (4, 4, 9)  # G + k basis functions


def test_selectable_spaces_are_learned_and_reported():
    torch.manual_seed(0)
    model = build_model("kano_s", in_channels=1, out_channels=1, width=4, n_modes=[3], n_layers=2,
                        spaces=["rbf", "fourier"])
    model(torch.randn(2, 1, 10)).square().mean().backward()
    selected = model.selected_spaces()
    assert len(selected) == 2 and all(len(layer) == 4 and set(layer) <= {"rbf", "fourier"} for layer in selected)
    assert all(layer.skip.kan.logits.grad.abs().sum() > 0 for layer in model.layers)


def test_bias_false_and_errors():
    model = KANO(1, 1, width=4, n_modes=[3], n_layers=2, bias=False)
    assert not [name for name, _ in model.named_parameters() if "bias" in name]
    with pytest.raises(ConfigError, match="model .kano.: got an unexpected keyword argument .wobble.; accepted arg"):
        build_model("kano", in_channels=1, out_channels=1, n_modes=[3], wobble=1)
    with pytest.raises(ConfigError, match=r"expected input of shape \(batch, 1, x\), got \(2, 2, 10\)"):
        model(torch.randn(2, 2, 10))
    with pytest.raises(ConfigError, match="target_parameters"):
        KANO(1, 1, n_modes=[3], target_parameters=0)


# ---------------------------------------------------------------------------------------------
# Pinned outputs: KANO's initialisation and forward, recorded in kano_reference.pt by an earlier
# version of the code (regenerate only on purpose: `python tests/models/test_kano.py`). A seed must
# keep giving the same parameters and outputs, and recorded state dicts (checkpoints of shipped
# models and studies) must keep loading, whatever the module layout.
REFERENCE = Path(__file__).with_name("kano_reference.pt")
REFERENCE_VARIANTS = {
    "kano_bspline_1d": ("kano", dict(in_channels=2, out_channels=1, width=5, n_modes=[4], n_layers=2), (2, 2, 12)),
    "kano_rbf_2d_coordinates_padding": ("kano", dict(in_channels=1, out_channels=2, width=4, n_modes=[3, 3],
                                                     n_layers=2, basis="rbf", coordinates=True, padding=0.25),
                                        (2, 1, 8, 6)),
    "kano_chebyshev_no_bias": ("kano", dict(in_channels=1, out_channels=1, width=4, n_modes=[3], n_layers=3,
                                            basis="chebyshev", bias=False), (3, 1, 10)),
    "kano_fourier_3d": ("kano", dict(in_channels=1, out_channels=1, width=3, n_modes=[2, 2, 2], n_layers=2,
                                     basis="fourier", basis_kwargs={"n_frequencies": 3}), (1, 1, 4, 4, 5)),
    "kano_relu_control": ("kano", dict(in_channels=1, out_channels=1, width=4, n_modes=[3], n_layers=2,
                                       basis="relu", base_activation=None, bias=False), (2, 1, 8)),
    "kano_linear_control": ("kano", dict(in_channels=1, out_channels=1, width=4, n_modes=[3], n_layers=2,
                                         basis="linear", base_activation=None), (2, 1, 8)),
    "kano_target_parameters": ("kano", dict(in_channels=1, out_channels=1, n_modes=[4], n_layers=2,
                                            projection_channels=16, target_parameters=2000), (2, 1, 10)),
    "kano_s_default": ("kano_s", dict(in_channels=1, out_channels=1, width=4, n_modes=[3], n_layers=2), (2, 1, 8)),
    "kano_s_two_spaces": ("kano_s", dict(in_channels=1, out_channels=1, width=3, n_modes=[3, 2], n_layers=2,
                                         spaces=["rbf", "fourier"], space_kwargs={"rbf": {"grid_size": 5}},
                                         temperature=0.5, bias=False), (2, 1, 7, 6)),
}


def _reference_run(name: str):
    """The variant ``name`` built from seed 0, a fixed input, and its output."""
    model_name, kwargs, shape = REFERENCE_VARIANTS[name]
    torch.manual_seed(0)
    model = build_model(model_name, **kwargs)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return model, x, model(x)


@pytest.mark.parametrize("name", sorted(REFERENCE_VARIANTS))
def test_seed_gives_the_recorded_parameters_and_outputs(name):
    reference = torch.load(REFERENCE, weights_only=True)[name]
    model, x, output = _reference_run(name)
    assert torch.equal(x, reference["input"])
    assert torch.equal(output, reference["output"])
    # the recorded state dict loads (strictly) and holds exactly this seed's parameters
    torch.manual_seed(123)
    recorded = build_model(REFERENCE_VARIANTS[name][0], **REFERENCE_VARIANTS[name][1])
    recorded.load_state_dict(reference["state_dict"])
    fresh_state = model.state_dict()
    assert fresh_state.keys() == recorded.state_dict().keys()
    assert all(torch.equal(fresh_state[key], value) for key, value in recorded.state_dict().items())
    with torch.no_grad():
        assert torch.equal(recorded(x), reference["output"])


if __name__ == "__main__":
    references = {}
    for variant in REFERENCE_VARIANTS:
        model, x, output = _reference_run(variant)
        references[variant] = {"state_dict": model.state_dict(), "input": x, "output": output}
    torch.save(references, REFERENCE)
    print(f"wrote {REFERENCE}: {', '.join(references)}")


@pytest.mark.parametrize("name", ["kano", "kano_s"])
def test_kano_is_the_fno_backbone_with_kan_skips(name):
    """Lifting, spectral convolutions and projection are FNO's (same shapes); only the skips differ."""
    model = build_model(name, in_channels=2, out_channels=1, width=6, n_modes=[4, 3], n_layers=3, bias=False)
    fno = FNO(2, 1, width=6, n_modes=[4, 3], n_layers=3, bias=False)
    assert isinstance(model, FNO)
    kan_class = KANChannelMix if name == "kano" else SelectableKANChannelMix
    assert all(isinstance(layer, FourierLayer) and isinstance(layer.skip, kan_class) and layer.channel_mlp is None
               for layer in model.layers)
    backbone = {key: value.shape for key, value in model.state_dict().items() if ".skip." not in key}
    assert backbone == {key: value.shape for key, value in fno.state_dict().items() if ".skip." not in key}
    # no activation after K v + KAN(v): a layer is exactly the sum
    v = torch.randn(2, 6, 8, 6)
    for layer in model.layers:
        torch.testing.assert_close(layer(v), layer.spectral(v) + layer.skip(v), rtol=0, atol=0)


def test_checkpoints_of_earlier_versions_load_under_a_prefix():
    """Earlier versions named each layer's KAN ``layers.<l>.kan``; a Lightning module nests the model as ``model``."""
    torch.manual_seed(0)
    model = KANO(1, 1, width=4, n_modes=[3], n_layers=2)
    earlier = {"model." + key.replace(".skip.", ".kan."): value for key, value in model.state_dict().items()}
    assert any(key.startswith("model.layers.1.kan.kan.") for key in earlier)
    torch.manual_seed(1)
    holder = nn.ModuleDict({"model": KANO(1, 1, width=4, n_modes=[3], n_layers=2)})
    holder.load_state_dict(earlier)
    assert all(torch.equal(value, model.state_dict()[key]) for key, value in holder["model"].state_dict().items())
