
from opkit.layers.kan import KANChannelMix, KANLinear, SelectableKANChannelMix, SelectableKANLinear  # noqa: F401
from opkit.layers.mlp import ChannelMLP, PointwiseLinear  # noqa: F401
from opkit.layers.multigrid import MgConv  # noqa: F401
from opkit.layers.spectral_conv import SpectralConv  # noqa: F401
