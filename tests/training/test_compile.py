"""``compile`` on OperatorModule: the config reaches ``torch.compile``, and a compiled operator
computes what the eager one does, forward and backward, with unchanged checkpoint keys."""

import sys
import unittest.mock

import pytest
import torch

from opkit.errors import ConfigError
from opkit.training.lightning_cli import OperatorCLI
from opkit.training.module import OperatorModule

from standins import AffineDataModule  # noqa: E402  (tests/training is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")
TINY_FNO = dict(model="fno", in_channels=1, out_channels=1, spatial_dims=1, width=8, n_modes=4, n_layers=2)


@pytest.mark.parametrize("value, options", [("true", {}), ("{mode: max-autotune}", {"mode": "max-autotune"}),
                                            ("false", None)])
def test_config_value_reaches_torch_compile(monkeypatch, value, options):
    calls = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kwargs: calls.append((self, kwargs)))
    arguments = ["train.py", f"--model.compile={value}", "--model.width=4", "--trainer.logger=false"]
    with unittest.mock.patch.object(sys, "argv", arguments):
        cli = OperatorCLI(datamodule_class=AffineDataModule, run=False)
    assert calls == ([] if options is None else [(cli.model.model, options)])


def test_bad_compile_values_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"compile=\['fast'\]; expected true, false or a mapping"):
        OperatorModule(**TINY_FNO, compile=["fast"])
    with pytest.raises(ConfigError, match="unknown option.*speed; valid: fullgraph"):
        OperatorModule(**TINY_FNO, compile={"speed": 2})
    with pytest.raises(ConfigError, match="Unrecognized mode=fast"):
        OperatorModule(**TINY_FNO, compile={"mode": "fast"})


@pytest.mark.slow  # the inductor compiles forward and backward: 40-100 s on 2 shared cores, less when cached
def test_compiled_operator_matches_eager_forward_and_backward():
    torch.manual_seed(0)
    eager = OperatorModule(**TINY_FNO)
    compiled = OperatorModule(**TINY_FNO, compile=True)
    compiled.load_state_dict(eager.state_dict())  # same keys: compiling in place adds no prefix
    assert list(compiled.state_dict()) == list(eager.state_dict())
    x = torch.randn(4, 1, 16)
    for module in (eager, compiled):
        module(x).square().mean().backward()
    torch.testing.assert_close(compiled(x), eager(x), rtol=1e-5, atol=1e-6)
    for (name, expected), actual in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(actual.grad, expected.grad, rtol=1e-4, atol=1e-6, msg=name)
