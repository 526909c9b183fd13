"""Problem presets: the contract of docs/ARCHITECTURE.md section 1."""

import numpy as np
import pytest

from opkit.errors import ConfigError
from opkit.pde.problems import get_problem, list_presets

PDES = ["burgers", "darcy", "navier_stokes"]


def test_list_presets():
    presets = list_presets()
    assert set(presets) == set(PDES)
    for pde in PDES:
        assert {"tiny", "small", "fno"} <= set(presets[pde])
    assert "pdebench" in presets["burgers"] and "smooth" in presets["darcy"]
    for pde, names in presets.items():
        for name in names:  # every preset is a valid, complete parameter set
            problem = get_problem(pde, name)
            assert problem.fields and problem.params.keys() == get_problem(pde, "tiny").params.keys()


@pytest.mark.parametrize("pde", PDES)
def test_tiny_contract(pde):
    problem = get_problem(pde, "tiny")
    assert problem.pde == pde and problem.preset == "tiny" and problem.solver
    assert all(isinstance(v, (str, int, float, bool)) for v in problem.params.values())
    out = problem.generate([0, 1, 2], base_seed=7)
    assert set(out) == {field.name for field in problem.fields}
    for field in problem.fields:
        assert out[field.name].dtype == np.float32
        assert out[field.name].shape == (3, *field.shape)
        assert len(field.dims) == len(field.shape)
        for dim, length in zip(field.dims, field.shape):
            assert len(problem.coords[dim]) == length
        assert np.all(np.isfinite(out[field.name]))
    assert set(problem.boundary_conditions) <= set(problem.coords)
    # sample i depends only on (base_seed, i)
    alone = problem.generate([2], base_seed=7)
    for name in out:
        np.testing.assert_allclose(alone[name][0], out[name][2], rtol=1e-6, atol=1e-6 * np.abs(out[name]).max())
    other_seed = problem.generate([2], base_seed=8)
    assert not np.allclose(other_seed[problem.fields[0].name], alone[problem.fields[0].name])


def test_navier_stokes_alias_and_time_axis():
    problem = get_problem("navier-stokes", "tiny")
    assert problem.pde == "navier_stokes"
    np.testing.assert_allclose(problem.coords["t"], [0.0, 0.5, 1.0])
    out = problem.generate([0], 0)["vorticity"][0]
    # t = 0 is the initial GRF on the solve grid, subsampled: it equals the preset's GRF
    from opkit.pde.grf import GaussianRandomField
    p = problem.params
    w0 = GaussianRandomField((p["solve_resolution"],) * 2, p["grf_alpha"], p["grf_tau"], p["grf_sigma"])
    expected = w0.sample([np.random.default_rng([0, 0])])[0, ::2, ::2]
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(out[0], out[-1], atol=1e-3)


def test_burgers_stored_data_is_subsampled_solve():
    problem = get_problem("burgers", "tiny", n_times=2, include_initial_time=True)
    np.testing.assert_allclose(problem.coords["t"], [0.0, 0.5, 1.0])
    out = problem.generate([4], 0)
    np.testing.assert_allclose(out["solution"][0, 0], out["initial"][0], atol=1e-6)
    assert problem.fields[1].shape == (3, 64)
    # viscous decay: the solution at t = 1 is smaller than the initial condition
    assert np.abs(out["solution"][0, -1]).max() < np.abs(out["initial"][0]).max()


def test_burgers_pdebench_initial_conditions_are_bounded_sines():
    problem = get_problem("burgers", "pdebench", solve_resolution=256, resolution=128, n_times=4, final_time=0.1)
    initial = problem.generate(range(6), 0)["initial"]
    assert initial.shape == (6, 128)
    assert np.all(np.abs(initial) <= problem.params["sines_count"] + 1e-6)


def test_darcy_presets():
    threshold = get_problem("darcy", "tiny").generate([0, 1], 0)
    assert set(np.unique(threshold["coefficient"])) <= {3.0, 12.0}
    smooth = get_problem("darcy", "smooth", resolution=17, solve_resolution=33).generate([0], 0)
    assert len(np.unique(smooth["coefficient"])) > 100 and np.all(smooth["coefficient"] > 0)
    fno = get_problem("darcy", "fno", resolution=141)
    assert fno.params["solve_resolution"] == 421 and fno.fields[0].shape == (141, 141)


def test_overrides_are_typed():
    problem = get_problem("burgers", "tiny", nu="0.05", n_times="3", include_initial_time="true", batch_size="4")
    assert problem.params["nu"] == 0.05 and problem.params["n_times"] == 3
    assert problem.params["include_initial_time"] is True and problem.batch_size == 4
    params = get_problem("burgers", "tiny", nu="1e-3", final_time=2).params  # YAML 1.1 reads "1e-3" as text
    assert params["nu"] == 0.001 and params["final_time"] == 2.0 and isinstance(params["final_time"], float)
    for key, value, kind in [("n_times", 2.5, "int"), ("include_initial_time", 1, "bool"), ("nu", "fast", "float")]:
        with pytest.raises(ConfigError, match=rf"^burgers: parameter '{key}' expects {kind}, got {value!r}$"):
            get_problem("burgers", "tiny", **{key: value})


def test_errors_list_valid_names():
    with pytest.raises(ConfigError, match="valid: burgers, darcy, navier_stokes"):
        get_problem("heat")
    with pytest.raises(ConfigError, match="valid: tiny, small, fno, smooth"):
        get_problem("darcy", "huge")
    with pytest.raises(ConfigError, match="unknown parameter 'viscosity'.*nu"):
        get_problem("burgers", viscosity=0.1)
    with pytest.raises(ConfigError, match="'n_times' expects int"):
        get_problem("burgers", n_times="many")
    with pytest.raises(ConfigError, match="face_average.*arithmetic, harmonic"):
        get_problem("darcy", face_average="geometric")
    with pytest.raises(ConfigError, match="multiple of resolution - 1"):
        get_problem("darcy", "fno", resolution=100)
    with pytest.raises(ConfigError, match="multiple of resolution"):
        get_problem("navier_stokes", resolution=48)
    with pytest.raises(ConfigError, match="base_seed must be >= 0"):
        get_problem("darcy", "tiny").generate([0], -1)


def _fraction_above_12(frames: np.ndarray, spatial_dims: int) -> float:
    """Pooled FFT-shell energy fraction above |k| = 12 of samples (n, *spatial)."""
    import torch

    from opkit.spectral.content import fraction_above
    from opkit.spectral.metrics import energy_spectrum

    spectrum = energy_spectrum(torch.from_numpy(frames.astype(np.float64))[:, None], spatial_dims=spatial_dims)
    return fraction_above(spectrum.sum(dim=(0, 1)), 12)


@pytest.mark.parametrize("preset", ["fno_public", "fno_nu1e-3"])
def test_broadband_burgers_presets_have_energy_above_k12(preset):
    # nu = 1e-3 keeps shocks about 10-30 grid points wide at 1024: a few percent of the energy
    # lies above k = 12 (the viscous nu = 0.1 presets have ~1e-15 there)
    problem = get_problem("burgers", preset)
    assert problem.params["nu"] == 1e-3 and problem.params["final_time"] == 1.0
    solution = problem.generate(range(4), base_seed=0)["solution"][:, -1]
    assert _fraction_above_12(solution, 1) > 1e-2


@pytest.mark.slow
def test_navier_stokes_nu1e4_final_frame_has_energy_above_k12():
    # One full trajectory (128^2, 15,000 steps to T = 30; ~25-45 s on one core): the physics
    # needs the whole time span, and a shorter T or coarser grid would test another flow.
    problem = get_problem("navier_stokes", "fno_nu1e-4")
    vorticity = problem.generate([0], base_seed=0)["vorticity"]
    assert vorticity.shape == (1, 31, 64, 64)
    assert _fraction_above_12(vorticity[:, -1], 2) > 1e-3
    # viscosity removes the initial field's tail within a few time units; the cascade refills
    # it only from t ~ 20 on (sample 0: 2e-3 at t = 0, 9e-6 at t = 5, 4e-3 at t = 30)
    assert _fraction_above_12(vorticity[:, 5], 2) < 1e-4
