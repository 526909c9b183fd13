"""The closed-form linear baseline: the best linear operator a linear FNO layer can represent.

A linear FNO layer (identity activation, no biases) maps ``a -> K a + W a``: the spectral
convolution ``K`` multiplies every kept Fourier mode ``k`` by its own complex channel
matrix, and the pointwise ``W`` multiplies every mode by one real matrix. So, per mode,

    u_hat_k = W_k a_hat_k      k kept (complex (in -> out) matrix per mode)
    u_hat_k = M a_hat_k        every other mode (one real (in -> out) matrix)

and ``LinearFourier`` fits these matrices to training pairs in closed form (no gradient
descent), by ridge least squares per mode:

    W_k = (sum_n conj(a_nk) a_nk^T + lambda I)^-1  sum_n conj(a_nk) u_nk^T
    M   = argmin sum_n || u_high,n - M a_high,n ||^2 (+ lambda ||M||^2)  over the grid points,

with ``a_high = a - L a`` the input without its kept modes (``L``: the spectral convolution
with identity weights, so ``L`` is exactly the part ``K`` acts on) and likewise
``u_high``. ``lambda`` is ``ridge`` times the mean input energy per mode and channel, so
it is scale-free, and a mode the data never excites gets a zero matrix instead of a
singular solve. With ``bias=True`` the zero mode also fits an intercept per output
channel (an affine baseline). The fitted operator is stored as one FNO layer, spectral
weights ``W_k - M`` plus the pointwise ``M``, so it runs on any grid like an FNO.

This is the seed result's reference point (Lakkapragada 2023: a linear network trained
by gradient descent does worse than linear regression on the same data): in an
ablation it sits beside the identity-activation network.

Fitting: ``reset_fit()``, then ``accumulate(inputs, targets)`` for every training batch
(normalised units, as the model sees them), then ``solve()``. ``OperatorModule`` does
this in one pass over the training loader for models with ``closed_form = True``.

Kept modes: those of ``SpectralConv`` (``0..n-1`` on the last axis, ``-n..n-1`` on the
others). In 2D and 3D the modes ``(-n, .., 0)`` have no kept mirror ``(n, .., 0)``, and
the inverse real FFT halves them, as in every FNO; their fit there is close, not exact.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from opkit.errors import ConfigError
from opkit.layers.mlp import PointwiseLinear
from opkit.layers.spectral_conv import SpectralConv
from opkit.models.common import check_input, check_positive_int, per_axis


def kept_coefficients(x: torch.Tensor, n_modes: tuple[int, ...]) -> torch.Tensor:
    """Fourier coefficients of ``x`` (B, C, *spatial) on ``SpectralConv``'s kept modes, in its order.

    Returns a complex tensor ``(B, C, n_kept)``: the unnormalised ``rfftn`` over the spatial
    axes, cut to ``0..n-1`` on the last axis and ``0..n-1, -n..-1`` on the others.
    """
    axes = list(range(2, x.dim()))
    x_hat = torch.fft.rfftn(x, dim=axes)[..., :n_modes[-1]]
    for axis, n in zip(axes[:-1], n_modes[:-1]):
        x_hat = torch.cat([x_hat.narrow(axis, 0, n), x_hat.narrow(axis, x_hat.shape[axis] - n, n)], dim=axis)
    return x_hat.reshape(x.shape[0], x.shape[1], -1)


class LinearFourier(nn.Module):
    """Closed-form linear operator per Fourier mode: ``(B, in_channels, *spatial) -> (B, out_channels, *spatial)``.

    Args:
        in_channels, out_channels: channels of the input and output fields.
        n_modes: kept Fourier modes, one int for every axis or a list (as in ``FNO``);
            ``None``: every mode the training grid resolves (``grid // 2`` per axis), chosen
            at the first ``accumulate`` (the best translation-invariant linear operator).
        spatial_dims: 1, 2 or 3; may be omitted when ``n_modes`` is a list.
        bias: fit an intercept per output channel (affine); ``False``: a linear operator.
        ridge: Tikhonov weight relative to the mean input energy per mode (1e-10: plain
            least squares wherever the data determine the map).
        high_modes: fit the shared real matrix ``M`` for the modes above the cutoff;
            ``False`` leaves them at zero (the spectral convolution alone).

    Unfitted, the operator is zero. ``count_parameters`` counts the stored matrices; no
    optimiser ever updates them.
    """

    closed_form = True

    def __init__(self, in_channels: int, out_channels: int, n_modes=16, spatial_dims: int | None = None,
                 bias: bool = False, ridge: float = 1e-10, high_modes: bool = True):
        super().__init__()
        check_positive_int("linear_fourier in_channels", in_channels)
        check_positive_int("linear_fourier out_channels", out_channels)
        if n_modes is None:
            if spatial_dims not in (1, 2, 3):
                raise ConfigError(f"linear_fourier: n_modes=None needs spatial_dims 1, 2 or 3, got {spatial_dims!r}")
            self.n_modes = None
        else:
            self.n_modes = per_axis("linear_fourier n_modes", n_modes, spatial_dims)
            spatial_dims = len(self.n_modes)
        if spatial_dims not in (1, 2, 3):
            raise ConfigError(f"linear_fourier: spatial_dims must be 1, 2 or 3, got {spatial_dims}")
        if not isinstance(ridge, (int, float)) or isinstance(ridge, bool) or not ridge >= 0:
            raise ConfigError(f"linear_fourier ridge: expected a number >= 0, got {ridge!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.spatial_dims = spatial_dims
        self.ridge, self.high_modes = float(ridge), bool(high_modes)
        self.pointwise = PointwiseLinear(in_channels, out_channels, bias=bias)
        nn.init.zeros_(self.pointwise.weight)
        if bias:
            nn.init.zeros_(self.pointwise.bias)
        # The kept modes travel in the checkpoint, so a model fitted with n_modes=None reloads.
        self.register_buffer("kept_modes", torch.tensor(self.n_modes or [0] * spatial_dims, dtype=torch.int64))
        self.spectral = None if self.n_modes is None else self._make_spectral(self.n_modes)
        self.reset_fit()

    def _make_spectral(self, n_modes) -> SpectralConv:
        spectral = SpectralConv(self.in_channels, self.out_channels, tuple(int(n) for n in n_modes))
        nn.init.zeros_(spectral.weight)
        return spectral.to(self.pointwise.weight)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "kept_modes"
        if self.spectral is None and key in state_dict and int(state_dict[key].min()) > 0:
            self.n_modes = tuple(int(n) for n in state_dict[key])
            self.spectral = self._make_spectral(self.n_modes)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _min_grid(self):
        return None if self.spectral is None else self.spectral.min_grid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("linear_fourier", x, self.in_channels, self.spatial_dims, min_grid=self._min_grid())
        if self.spectral is None:  # not fitted yet: the zero operator (plus the zero pointwise map)
            return self.pointwise(x)
        return self.spectral(x) + self.pointwise(x)

    # ------------------------------------------------------------------ closed-form fit
    def reset_fit(self) -> None:
        """Forget accumulated sums (the fitted matrices stay until the next ``solve``)."""
        self._sums: dict[str, torch.Tensor] | None = None
        self._points: int | None = None

    @property
    def fit_pending(self) -> bool:
        """True when data were accumulated since the last ``solve``."""
        return self._sums is not None

    @torch.no_grad()
    def accumulate(self, inputs: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        """Add a batch of pairs ``(B, in, *spatial)``, ``(B, out, *spatial)`` to the normal equations (float64).

        ``weights`` (B,) weight each pair's squared error (``1 / ||u||^2`` makes it the squared
        relative error, the quantity a relative-L2 training loss looks at).
        """
        if self.spectral is None:
            self.n_modes = tuple(max(1, n // 2) for n in inputs.shape[2:])
            self.kept_modes.copy_(torch.tensor(self.n_modes))
            self.spectral = self._make_spectral(self.n_modes)
        check_input("linear_fourier", inputs, self.in_channels, self.spatial_dims, min_grid=self._min_grid())
        check_input("linear_fourier targets", targets, self.out_channels, self.spatial_dims)
        if targets.shape[0] != inputs.shape[0] or targets.shape[2:] != inputs.shape[2:]:
            raise ConfigError(f"linear_fourier: inputs {tuple(inputs.shape)} and targets {tuple(targets.shape)} "
                              "need the same batch size and grid")
        x, y = inputs.double(), targets.double()
        x_hat = kept_coefficients(x, self.n_modes).permute(2, 0, 1)   # (modes, B, in)
        y_hat = kept_coefficients(y, self.n_modes).permute(2, 0, 1)   # (modes, B, out)
        points = x[0, 0].numel()
        if self.pointwise.bias is not None:  # an intercept: a constant field has a_hat_0 = points
            constant = torch.zeros_like(x_hat[..., :1])
            constant[0] = points
            x_hat = torch.cat([x_hat, constant], dim=-1)
        if weights is not None:  # rows scaled by sqrt(w): every sum below becomes a weighted sum
            root = weights.double().to(x.device).sqrt().view(-1, *[1] * (x.dim() - 1))
            x_hat, y_hat, x, y = x_hat * root.view(1, -1, 1), y_hat * root.view(1, -1, 1), x * root, y * root
        sums = {"gram": x_hat.conj().transpose(1, 2) @ x_hat,          # (modes, in', in')
                "cross": x_hat.conj().transpose(1, 2) @ y_hat}         # (modes, in', out)
        if self.high_modes:
            x_high = (x - self._lowpass(x)).transpose(0, 1).reshape(self.in_channels, -1)
            y_high = (y - self._lowpass(y)).transpose(0, 1).reshape(self.out_channels, -1)
            sums["high_gram"] = x_high @ x_high.T
            sums["high_cross"] = x_high @ y_high.T
        if self._sums is None:
            self._sums, self._points = sums, points
        else:
            if points != self._points:
                raise ConfigError(f"linear_fourier: a batch on {points} grid points after batches on {self._points}; "
                                  "fit on one resolution")
            for key, value in sums.items():
                self._sums[key] += value

    @torch.no_grad()
    def solve(self) -> None:
        """Solve the accumulated normal equations and store the matrices; then forget the sums."""
        if self._sums is None:
            raise ConfigError("linear_fourier: nothing to solve; accumulate training pairs first")
        gram, cross = self._sums["gram"], self._sums["cross"]
        n_in = self.in_channels
        energy = gram[:, :n_in, :n_in].diagonal(dim1=1, dim2=2).real.mean().clamp_min(torch.finfo(torch.float64).tiny)
        identity = torch.eye(gram.shape[-1], dtype=gram.dtype)
        # A floor far below float64 resolution of the data keeps unexcited modes (and the
        # intercept's column on modes other than zero) solvable: their matrices come out zero.
        ridge = max(self.ridge, 1e-14)
        weights = torch.linalg.solve(gram + ridge * energy * identity, cross)   # (modes, in', out)
        high = torch.zeros(self.out_channels, n_in, dtype=torch.float64)
        if self.high_modes:
            high_gram = self._sums["high_gram"]
            scale = high_gram.diagonal().mean().clamp_min(torch.finfo(torch.float64).tiny)
            regularised = high_gram + ridge * scale * torch.eye(n_in, dtype=torch.float64)
            high = torch.linalg.solve(regularised, self._sums["high_cross"]).T           # (out, in)
        spectral = weights[:, :n_in] - high.T.to(weights.dtype)  # the pointwise M acts on the kept modes too
        parameter = self.spectral.weight
        parameter.copy_(torch.view_as_real(spectral.contiguous()).to(parameter.dtype))
        self.pointwise.weight.copy_(high.to(self.pointwise.weight.dtype))
        if self.pointwise.bias is not None:
            self.pointwise.bias.copy_(weights[0, n_in].real.to(self.pointwise.bias.dtype))
        self.reset_fit()

    def _lowpass(self, x: torch.Tensor) -> torch.Tensor:
        """``L x``: the part of ``x`` the spectral convolution acts on (identity weights), per channel."""
        channels = x.shape[1]
        identity = SpectralConv(1, 1, self.n_modes).to(dtype=x.dtype, device=x.device)
        with torch.no_grad():
            identity.weight.zero_()
            identity.weight[..., 0] = 1.0
        return identity(x.reshape(-1, 1, *x.shape[2:])).reshape(x.shape[0], channels, *x.shape[2:])

    def extra_repr(self) -> str:
        return f"n_modes={self.n_modes or 'all (set by the fit)'}, ridge={self.ridge:g}, high_modes={self.high_modes}"


class LinearFull(nn.Module):
    """The full least-squares linear map on one grid: ``u = A a (+ b)``, ``A`` dense over points and channels.

    ``(B, in_channels, *grid) -> (B, out_channels, *grid)`` with ``A`` of shape
    ``(out * P, in * P)``, ``P`` the number of grid points, fitted by ridge least squares

        A^T = (sum_n a_n a_n^T + lambda I)^-1 sum_n a_n u_n^T

    (``a_n`` flattened; with ``bias=True`` a constant feature adds ``b``). It is the best
    linear operator of all on that grid, with no translation invariance assumed (e.g. for
    Dirichlet problems), so it needs more samples than ``in * P`` to be determined and runs
    only on the grid it was fitted on. For small grids: ``in * P`` is at most ``max_features``.
    The grid is set by the first ``accumulate`` and stored in the checkpoint.
    """

    closed_form = True

    def __init__(self, in_channels: int, out_channels: int, spatial_dims: int | None = None, bias: bool = False,
                 ridge: float = 1e-10, max_features: int = 8192):
        super().__init__()
        check_positive_int("linear_full in_channels", in_channels)
        check_positive_int("linear_full out_channels", out_channels)
        check_positive_int("linear_full max_features", max_features)
        if not isinstance(ridge, (int, float)) or isinstance(ridge, bool) or not ridge >= 0:
            raise ConfigError(f"linear_full ridge: expected a number >= 0, got {ridge!r}")
        self.in_channels, self.out_channels, self.spatial_dims = in_channels, out_channels, spatial_dims
        self.use_bias, self.ridge, self.max_features = bool(bias), float(ridge), max_features
        self.register_buffer("grid", torch.zeros(0, dtype=torch.int64))
        self.matrix: nn.Parameter | None = None
        self.reset_fit()

    def _allocate(self, grid, like: torch.Tensor | None = None) -> None:
        points = math.prod(grid)
        features = self.in_channels * points + (1 if self.use_bias else 0)
        if features - (1 if self.use_bias else 0) > self.max_features:
            raise ConfigError(f"linear_full: grid {tuple(grid)} with {self.in_channels} channels has "
                              f"{features} features, above max_features={self.max_features}; use linear_fourier "
                              "or a coarser resolution")
        self.grid = torch.tensor(list(grid), dtype=torch.int64)
        # dtype and device of the first fitted batch (a model cast before its fit had no matrix to cast)
        options = {} if like is None else {"dtype": like.dtype, "device": like.device}
        self.matrix = nn.Parameter(torch.zeros(features, self.out_channels * points, **options))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "grid"
        if self.matrix is None and state_dict.get(key) is not None and state_dict[key].numel():
            self._allocate([int(n) for n in state_dict[key]], like=state_dict.get(prefix + "matrix"))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], -1)
        if self.use_bias:
            flat = torch.cat([flat, flat.new_ones(flat.shape[0], 1)], dim=1)
        return flat

    def _check(self, x: torch.Tensor, name: str = "linear_full") -> None:
        if self.spatial_dims is not None:
            check_input(name, x, self.in_channels, self.spatial_dims)
        elif x.dim() < 3 or x.shape[1] != self.in_channels:
            raise ConfigError(f"{name}: expected input (batch, {self.in_channels}, *grid), got {tuple(x.shape)}")
        if self.matrix is not None and tuple(x.shape[2:]) != tuple(self.grid.tolist()):
            raise ConfigError(f"{name}: fitted on grid {tuple(self.grid.tolist())}, got {tuple(x.shape[2:])}; "
                              "the full map runs only on its own grid")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        if self.matrix is None:
            return x.new_zeros(x.shape[0], self.out_channels, *x.shape[2:])
        return (self._features(x) @ self.matrix.to(x.dtype)).reshape(x.shape[0], self.out_channels, *x.shape[2:])

    def reset_fit(self) -> None:
        self._sums: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def fit_pending(self) -> bool:
        return self._sums is not None

    @torch.no_grad()
    def accumulate(self, inputs: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        """Add a batch of pairs ``(B, in, *grid)``, ``(B, out, *grid)`` (per-pair ``weights`` (B,) on the
        squared error, as in ``LinearFourier.accumulate``) to the normal equations (float64)."""
        if self.matrix is None:
            self._allocate(inputs.shape[2:], like=inputs)
        self._check(inputs)
        if targets.shape != (inputs.shape[0], self.out_channels, *inputs.shape[2:]):
            raise ConfigError(f"linear_full: targets {tuple(targets.shape)}; expected "
                              f"{(inputs.shape[0], self.out_channels, *inputs.shape[2:])}")
        features = self._features(inputs.double())
        outputs = targets.double().reshape(targets.shape[0], -1)
        if weights is not None:
            root = weights.double().to(features.device).sqrt().view(-1, 1)
            features, outputs = features * root, outputs * root
        gram, cross = features.T @ features, features.T @ outputs
        if self._sums is None:
            self._sums = (gram, cross)
        else:
            self._sums[0].add_(gram)
            self._sums[1].add_(cross)

    @torch.no_grad()
    def solve(self) -> None:
        if self._sums is None:
            raise ConfigError("linear_full: nothing to solve; accumulate training pairs first")
        gram, cross = self._sums
        energy = gram.diagonal().mean().clamp_min(torch.finfo(torch.float64).tiny)
        regularised = gram + max(self.ridge, 1e-14) * energy * torch.eye(gram.shape[0], dtype=gram.dtype)
        self.matrix.copy_(torch.linalg.solve(regularised, cross).to(self.matrix.dtype))
        self.reset_fit()

    def extra_repr(self) -> str:
        return f"grid={tuple(self.grid.tolist()) or 'set by the fit'}, bias={self.use_bias}, ridge={self.ridge:g}"
