"""ChannelNormalizer: statistics against torch, exact inverse, buffers in the state dict."""

import pytest
import torch

from opkit.data.normalize import ChannelNormalizer
from opkit.errors import ConfigError


def test_fit_matches_torch_and_decode_inverts_encode():
    generator = torch.Generator().manual_seed(0)
    samples = [torch.randn(3, 5, 4, generator=generator) * torch.tensor([1.0, 10.0, 0.1])[:, None, None]
               + torch.tensor([0.0, -3.0, 100.0])[:, None, None] for _ in range(7)]
    normalizer = ChannelNormalizer.fit(samples)
    stacked = torch.stack(samples).double()
    torch.testing.assert_close(normalizer.mean, stacked.mean(dim=(0, 2, 3)).float())
    torch.testing.assert_close(normalizer.std, stacked.std(dim=(0, 2, 3), unbiased=False).float())
    batch = torch.stack(samples)
    encoded = normalizer.encode(batch)
    torch.testing.assert_close(encoded.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)  # float32 rounding of 100 at std 0.1
    torch.testing.assert_close(encoded.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalizer.decode(encoded), batch, atol=1e-4, rtol=1e-6)


def test_buffers_travel_in_the_state_dict():
    source = ChannelNormalizer([1.0, 2.0], [3.0, 4.0])
    target = ChannelNormalizer.identity(2)
    assert set(source.state_dict()) == {"mean", "std"}
    target.load_state_dict(source.state_dict())
    x = torch.randn(2, 2, 7)
    torch.testing.assert_close(target.encode(x), (x - torch.tensor([1.0, 2.0])[:, None])
                               / (torch.tensor([3.0, 4.0])[:, None] + target.eps))


def test_identity_changes_nothing_and_wrong_channels_fail():
    x = torch.randn(4, 3, 8, 8)
    identity = ChannelNormalizer.identity(3)
    assert torch.equal(identity.encode(x), x) and torch.equal(identity.decode(x), x)
    with pytest.raises(ConfigError, match=r"input shape \(4, 2, 8\); expected \(batch, 3, \*spatial\)"):
        identity.encode(torch.zeros(4, 2, 8))
    with pytest.raises(ConfigError, match="mean has 2 channels and std 3"):
        ChannelNormalizer([0.0, 0.0], [1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="no samples"):
        ChannelNormalizer.fit([])
    with pytest.raises(ConfigError, match="a sample has 3 channels; expected 2 like the first"):
        ChannelNormalizer.fit([torch.zeros(2, 4), torch.zeros(3, 4)])


def test_scale_only_normaliser_divides_by_the_rms_and_is_linear():
    generator = torch.Generator().manual_seed(2)
    samples = [torch.randn(2, 16, generator=generator) + torch.tensor([[3.0], [-1.0]]) for _ in range(5)]
    normalizer = ChannelNormalizer.fit(samples, mode="scale")
    stacked = torch.stack(samples).double()
    assert torch.equal(normalizer.mean, torch.zeros(2))
    torch.testing.assert_close(normalizer.std, stacked.square().mean(dim=(0, 2)).sqrt().float())
    a, b = torch.randn(3, 2, 16, dtype=torch.float64), torch.randn(3, 2, 16, dtype=torch.float64)
    normalizer = normalizer.double()
    torch.testing.assert_close(normalizer.encode(a + 2.5 * b), normalizer.encode(a) + 2.5 * normalizer.encode(b),
                               rtol=1e-14, atol=1e-14)
    with pytest.raises(ConfigError, match="mode 'rms'; expected one of standard, scale"):
        ChannelNormalizer.fit(samples, mode="rms")
