"""Every operator under autocast (bf16 and fp16 on CPU): forward and backward run, the output comes
back in the autocast dtype, and output and gradients stay within a few half-precision roundings of
float32. The spectral transforms run in float32 inside (opkit.layers.spectral_conv)."""

import pytest
import torch

from opkit.models import build_model

TINY = {
    "fno": dict(width=8, n_modes=4, n_layers=2),
    "mgno": dict(width=6, n_layers=2, levels=3, smoothing=[1, 1]),
    "kano": dict(width=6, n_modes=4, n_layers=2),
    "kano_s": dict(width=6, n_modes=4, n_layers=2),
}
GRID = {1: (16,), 2: (16, 12), 3: (8, 8, 8)}
CASES = [(name, dims) for name in sorted(TINY) for dims in (1, 2)] + [("fno", 3)]
# Relative L2 distance to float32, for output and for all gradients together. The unit
# roundoff is 2^-8 = 0.0039 for bfloat16 and 2^-11 = 0.00049 for float16; measured worst
# cases on these models: 0.032 (bf16, kano_s gradients) and 0.0048 (fp16, kano_s gradients).
TOLERANCE = {torch.bfloat16: 0.06, torch.float16: 0.01}


def relative_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.float() - b).norm() / b.norm()).item()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("name, spatial_dims", CASES)
def test_autocast_forward_backward_close_to_float32(name, spatial_dims, dtype):
    torch.manual_seed(0)
    model = build_model(name, in_channels=2, out_channels=1, spatial_dims=spatial_dims, **TINY[name])
    x = torch.randn(4, 2, *GRID[spatial_dims])

    expected = model(x)
    expected.square().mean().backward()
    expected_gradients = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad()

    with torch.autocast("cpu", dtype=dtype):
        output = model(x)
    assert output.dtype == dtype
    output.float().square().mean().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in model.parameters())
    gradients = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert torch.isfinite(output).all() and torch.isfinite(gradients).all()
    assert relative_distance(output, expected.detach()) < TOLERANCE[dtype]
    assert relative_distance(gradients, expected_gradients) < TOLERANCE[dtype]
