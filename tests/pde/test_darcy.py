"""Darcy 5-point scheme: second order on a manufactured solution with a variable coefficient; exact
interface fluxes of the harmonic face average on a layered medium."""

import numpy as np
import pytest
import scipy.sparse.linalg

from opkit.errors import ConfigError
from opkit.pde.darcy import darcy_matrix, solve_darcy

PI = np.pi


def _manufactured(s):
    x = np.linspace(0, 1, s)
    X, Y = np.meshgrid(x, x, indexing="ij")
    a = 1 + 0.5 * np.sin(2 * PI * X) * np.cos(PI * Y)
    a_x = PI * np.cos(2 * PI * X) * np.cos(PI * Y)
    a_y = -0.5 * PI * np.sin(2 * PI * X) * np.sin(PI * Y)
    u = np.sin(PI * X) * np.sin(2 * PI * Y)
    u_x = PI * np.cos(PI * X) * np.sin(2 * PI * Y)
    u_y = 2 * PI * np.sin(PI * X) * np.cos(2 * PI * Y)
    f = -(a_x * u_x + a_y * u_y - 5 * PI**2 * a * u)
    return a, f, u


@pytest.mark.parametrize("face_average", ["arithmetic", "harmonic"])
def test_second_order_convergence(face_average):
    errors = []
    for s in (17, 33, 65):
        a, f, u = _manufactured(s)
        errors.append(np.max(np.abs(solve_darcy(a, f, face_average) - u)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - 2) < 0.15), orders


def test_constant_coefficient_matches_laplacian():
    # a = 1: the matrix is the standard 5-point Laplacian (times h^2)
    s = 7
    m = s - 2
    laplacian_1d = scipy.sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    identity = scipy.sparse.identity(m)
    expected = scipy.sparse.kron(laplacian_1d, identity) + scipy.sparse.kron(identity, laplacian_1d)
    np.testing.assert_allclose(darcy_matrix(np.ones((s, s))).toarray(), expected.toarray())


def test_batch_matches_single_and_solution_is_positive():
    rng = np.random.default_rng(1)
    a = np.where(rng.standard_normal((3, 21, 21)) > 0, 12.0, 3.0)
    batch = solve_darcy(a, 1.0)
    np.testing.assert_allclose(solve_darcy(a[2], 1.0), batch[2], rtol=1e-12)
    assert np.all(batch[:, 0] == 0) and np.all(batch[:, :, -1] == 0)
    assert np.all(batch[:, 1:-1, 1:-1] > 0)  # maximum principle with f = 1 > 0
    # the discrete equations hold
    matrix = darcy_matrix(a[0])
    residual = matrix @ batch[0, 1:-1, 1:-1].ravel() - (1 / 20) ** 2
    assert np.max(np.abs(residual)) < 1e-12


def test_bad_arguments():
    with pytest.raises(ConfigError, match="positive"):
        solve_darcy(np.zeros((5, 5)))
    with pytest.raises(ConfigError, match="face_average"):
        solve_darcy(np.ones((5, 5)), face_average="geometric")
    with pytest.raises(ConfigError, match=r"\(batch, s, s\)"):
        solve_darcy(np.ones((5, 6)))


def _layered(s, discrete: bool):
    """a = 1 | 100 across x = 1/2, u = sin(2 pi x) sin(pi y) / a: flux a u_x is continuous.

    With ``discrete`` the forcing uses the 3-point stencil's eigenvalues of the two sines
    instead of 4 pi^2 and pi^2, so a scheme with exact interface fluxes reproduces u to
    rounding: on an even s the interface lies halfway between two nodes, where the harmonic
    mean of the two node values is the exact flux coefficient of the layered medium.
    """
    h = 1 / (s - 1)
    x = np.linspace(0, 1, s)
    X, Y = np.meshgrid(x, x, indexing="ij")
    a = np.where(X < 0.5, 1.0, 100.0)
    u = np.sin(2 * PI * X) * np.sin(PI * Y) / a
    if discrete:
        eigenvalue = (4 * np.sin(PI * h) ** 2 + 4 * np.sin(PI * h / 2) ** 2) / h**2
    else:
        eigenvalue = 5 * PI**2
    return a, eigenvalue * np.sin(2 * PI * X) * np.sin(PI * Y), u


def test_harmonic_average_is_exact_on_a_layered_medium():
    a, f, u = _layered(34, discrete=True)
    scale = np.abs(u).max()
    assert np.abs(solve_darcy(a, f, "harmonic") - u).max() < 1e-12 * scale
    assert np.abs(solve_darcy(a, f, "arithmetic") - u).max() > 1e-2 * scale


def test_layered_medium_orders_harmonic_two_arithmetic_one():
    sizes = np.array([18, 34, 66])
    h = 1 / (sizes - 1)
    for face_average, expected in (("harmonic", 2.0), ("arithmetic", 1.0)):
        errors = []
        for s in sizes:
            a, f, u = _layered(s, discrete=False)
            errors.append(np.max(np.abs(solve_darcy(a, f, face_average) - u)))
        orders = np.log(np.array(errors[:-1]) / errors[1:]) / np.log(h[:-1] / h[1:])
        assert np.all(np.abs(orders - expected) < 0.1), (face_average, orders)
