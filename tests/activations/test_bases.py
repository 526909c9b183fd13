"""KAN bases against scipy/numpy and their formulas; grid moves."""

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from opkit.activations.bases import (
    BSplineBasis,
    ChebyshevBasis,
    FourierBasis,
    GaussianRBFBasis,
    make_basis,
)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_bspline_bases_match_scipy(order, float64_default):
    basis = BSplineBasis(2, grid_size=6, order=order)
    basis.set_grid(torch.tensor([-1.0, 0.5]), torch.tensor([2.0, 4.0]))
    knots = basis.knots()
    generator = torch.Generator().manual_seed(order)
    for i in range(2):
        t = knots[i].numpy()
        # random points across the whole span and beyond it on both sides
        x = torch.rand(2000, generator=generator, dtype=torch.float64) * (t[-1] - t[0] + 4) + t[0] - 2
        inputs = torch.zeros(2000, 2, dtype=torch.float64)
        inputs[:, i] = x
        ours = basis(inputs)[:, i].numpy()
        reference = np.stack([
            np.nan_to_num(BSpline.basis_element(t[j : j + order + 2], extrapolate=False)(x.numpy()))
            for j in range(basis.n_basis)
        ], axis=1)
        np.testing.assert_allclose(ours, reference, atol=1e-13)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_bspline_partition_of_unity_and_derivative(order, float64_default):
    """Inside the grid range the bases sum to 1, so their derivatives sum to 0."""
    basis = BSplineBasis(1, grid_size=4, order=order)
    x = torch.linspace(-1, 1 - 1e-9, 101).unsqueeze(-1)
    np.testing.assert_allclose(basis(x).sum(-1).numpy(), 1.0, atol=1e-13)
    scale, shift = basis.affine(1, x.dtype, x.device)
    z = torch.addcmul(shift, x, scale)
    ones = torch.ones(x.shape[0], basis.n_basis, 1)
    np.testing.assert_allclose(basis.contract_derivative(z, ones).numpy(), 0.0, atol=1e-12)


def test_bspline_span_edges_in_float32():
    basis = BSplineBasis(1, grid_size=5, order=3)
    step = 2.0 / 5
    inside = torch.tensor([[-1 - 3 * step + 1e-4], [1 + 3 * step - 1e-4]])
    outside = torch.tensor([[-1 - 3 * step - 1e-4], [1 + 3 * step + 1e-4]])
    assert (basis(inside).sum(-1) > 0).all()
    assert (basis(outside) == 0).all()


def test_other_bases_against_formulas(float64_default):
    x = torch.linspace(-3, 3, 101, dtype=torch.float64).unsqueeze(-1)
    t = np.tanh(x.numpy()[:, 0])
    chebyshev = ChebyshevBasis(1, degree=5)(x)[:, 0].numpy()
    for j in range(6):
        np.testing.assert_allclose(chebyshev[:, j], np.polynomial.chebyshev.chebval(t, np.eye(6)[j]), atol=1e-12)
    rbf = GaussianRBFBasis(1, grid_size=5, grid_range=(-2, 2))(x)[:, 0].numpy()
    centres = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(rbf, np.exp(-(((x.numpy() - centres) / 1.0) ** 2)), atol=1e-12)
    fourier = FourierBasis(1, n_frequencies=3, grid_range=(0, 4))(x)[:, 0].numpy()
    w = 2 * np.pi / 4
    expected = np.concatenate([np.cos(np.arange(1, 4) * w * x.numpy()), np.sin(np.arange(1, 4) * w * x.numpy())], 1)
    np.testing.assert_allclose(fourier, expected, atol=1e-12)



@pytest.mark.parametrize("name", ["bspline", "rbf"])
def test_set_grid_gives_the_basis_built_on_that_grid(name, float64_default):
    """Moving the grid (and changing G) is building the basis on the new range, per input."""
    basis = make_basis(name, 2, grid_size=5)
    basis.set_grid(torch.tensor([-2.0, 0.5]), torch.tensor([3.0, 1.5]), grid_size=7)
    x = torch.linspace(-4, 4, 41).unsqueeze(-1).expand(-1, 2)
    moved = basis(x)
    for i, grid_range in enumerate([(-2.0, 3.0), (0.5, 1.5)]):
        built = make_basis(name, 1, grid_size=7, grid_range=grid_range)
        torch.testing.assert_close(moved[:, i], built(x[:, i:i + 1])[:, 0], rtol=1e-12, atol=1e-12)
    assert basis.n_basis == built.n_basis
