"""PDE problems: one PDE with one parameter set, its fields, coordinates and sampler.

``get_problem("darcy", "fno", resolution=141)`` returns a Problem whose ``generate(indices,
base_seed)`` produces float32 arrays ``(len(indices), *field.shape)``. Sample i draws all
its randomness from ``np.random.default_rng([base_seed, i])``, so it is the same whether
it is generated alone, in a batch, or in another process. Presets are documented, with
sizes and costs, in ``datasets/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from opkit.errors import ConfigError
from opkit.pde.burgers import solve_burgers
from opkit.pde.darcy import FACE_AVERAGES, solve_darcy
from opkit.pde.grf import GaussianRandomField
from opkit.pde.navier_stokes import fno_forcing, solve_navier_stokes


@dataclass(frozen=True)
class FieldSpec:
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    description: str


# Every preset is a complete parameter set: base values updated by the preset's own.
_BURGERS_BASE = dict(
    nu=0.1, final_time=1.0, n_times=1, include_initial_time=False,
    resolution=256, solve_resolution=1024, initial_condition="grf",
    grf_alpha=2.0, grf_tau=5.0, grf_sigma=25.0,
    sines_count=2, sines_max_wavenumber=4, sines_abs_probability=0.1, sines_window_probability=0.1,
    dt_max=1e-3, cfl=0.5,
)
_DARCY_BASE = dict(
    resolution=64, solve_resolution=127, coefficient="threshold",
    grf_alpha=2.0, grf_tau=3.0, grf_sigma=3.0, coefficient_high=12.0, coefficient_low=3.0,
    forcing=1.0, face_average="arithmetic",
)
_NAVIER_STOKES_BASE = dict(
    nu=1e-3, resolution=64, solve_resolution=64, final_time=5.0, record_interval=0.5, dt=5e-3,
    grf_alpha=2.5, grf_tau=7.0, grf_sigma=7.0**1.5, forcing_amplitude=0.1, cfl_max=1.0,
)

PRESETS: dict[str, dict[str, dict]] = {
    "burgers": {
        "tiny": dict(resolution=64, solve_resolution=128),
        "small": dict(),
        "fno": dict(resolution=8192, solve_resolution=8192),
        "pdebench": dict(nu=0.01 / np.pi, final_time=2.0, n_times=200, include_initial_time=True,
                         resolution=1024, solve_resolution=4096, initial_condition="sines"),
        # The FNO authors' public generator (gen_burgers1.m): nu = 1e-3, u0 ~ GRF 49^2 (-Lap + 49)^-2.5.
        "fno_public": dict(nu=1e-3, grf_alpha=2.5, grf_tau=7.0, grf_sigma=49.0,
                           resolution=1024, solve_resolution=1024),
        # The FNO paper's u0 law 625 (-Lap + 25)^-2 at nu = 1e-3 instead of 0.1: shocks, broadband.
        "fno_nu1e-3": dict(nu=1e-3, resolution=1024, solve_resolution=1024),
    },
    "darcy": {
        "tiny": dict(resolution=17, solve_resolution=33),
        "small": dict(),
        "fno": dict(resolution=85, solve_resolution=421, coefficient_low=3.0),
        "smooth": dict(coefficient="lognormal", grf_sigma=10.0),
        # Rough: 100:1 contrast on short correlation lengths, harmonic faces, fine solve grid.
        "rough": dict(resolution=64, solve_resolution=253, grf_tau=12.0, coefficient_high=100.0,
                      coefficient_low=1.0, face_average="harmonic"),
    },
    "navier_stokes": {
        "tiny": dict(resolution=16, solve_resolution=32, final_time=1.0, record_interval=0.5, dt=5e-3),
        "small": dict(),
        "fno": dict(resolution=64, solve_resolution=256, final_time=50.0, record_interval=1.0, dt=1e-4),
        # The recipe's statistics, solved where it is converged for nu = 1e-3 (see datasets/README.md):
        # 64^2 differs from 128^2 by ~5e-6 (relative L2) and dt = 1e-2 from dt = 2.5e-3 by ~1e-5 at t = 50.
        "fno_fast": dict(resolution=64, solve_resolution=64, final_time=50.0, record_interval=1.0, dt=1e-2),
        # The FNO paper's second setting, nu = 1e-4, T = 30: turbulent late frames with energy above k = 12.
        "fno_nu1e-4": dict(nu=1e-4, resolution=64, solve_resolution=128, final_time=30.0, record_interval=1.0,
                           dt=2e-3),
    },
}
_BASES = {"burgers": _BURGERS_BASE, "darcy": _DARCY_BASE, "navier_stokes": _NAVIER_STOKES_BASE}
_BATCH_SIZES = {"burgers": 32, "darcy": 8, "navier_stokes": 16}
_CHOICES = {"initial_condition": ("grf", "sines"), "coefficient": ("threshold", "lognormal"),
            "face_average": FACE_AVERAGES}


def list_presets() -> dict[str, list[str]]:
    """Preset names per PDE."""
    return {pde: list(presets) for pde, presets in PRESETS.items()}


def _coerce(pde: str, name: str, value, default):
    """``value`` as the type of ``default`` (bool, int, float or str), parsed by jsonargparse.

    The parser behind the YAML configs reads command-line strings too: ``"0.05"``, ``"1e-3"``,
    ``"true"``/``"yes"``; it refuses what is not exactly of the type (``"many"`` or ``3.5`` for
    an int, ``1`` for a bool).
    """
    from jsonargparse import ArgumentError, ArgumentParser

    kind = next(kind for kind in (bool, int, float, str) if isinstance(default, kind))
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument(f"--{name}", type=kind)
    try:
        return parser.parse_object({name: value})[name]
    except ArgumentError:
        raise ConfigError(f"{pde}: parameter {name!r} expects {kind.__name__}, got {value!r}") from None


def _require(condition: bool, pde: str, message: str):
    if not condition:
        raise ConfigError(f"{pde}: {message}")


class Problem:
    """One PDE with one parameter set; see docs/ARCHITECTURE.md section 1."""

    pde: str = ""

    def __init__(self, preset: str, params: dict, batch_size: int):
        self.preset = preset
        self.params = params
        self.batch_size = batch_size
        self.validate()

    # Subclasses set: solver, fields, coords, boundary_conditions; implement validate, _generate.
    def validate(self):
        raise NotImplementedError

    def _generate(self, rngs: list[np.random.Generator]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def generate(self, indices, base_seed: int) -> dict[str, np.ndarray]:
        """float32 arrays (len(indices), *field.shape); sample i depends only on (base_seed, i)."""
        indices = [int(i) for i in np.atleast_1d(np.asarray(indices))]
        if any(i < 0 for i in indices) or int(base_seed) < 0:
            raise ConfigError(f"{self.pde}: sample indices and base_seed must be >= 0, got "
                              f"indices {indices[:5]}{'...' if len(indices) > 5 else ''}, base_seed {base_seed}")
        if not indices:
            return {field.name: np.empty((0, *field.shape), np.float32) for field in self.fields}
        rngs = [np.random.default_rng([int(base_seed), i]) for i in indices]
        arrays = self._generate(rngs)
        return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in arrays.items()}

    def __repr__(self):
        return f"{type(self).__name__}(preset={self.preset!r}, params={self.params})"


class BurgersProblem(Problem):
    """u_t + (u^2/2)_x = nu u_xx on [0, 1) periodic; initial condition -> solution at times t."""

    pde = "burgers"

    def validate(self):
        p = self.params
        _require(p["nu"] > 0 and p["final_time"] > 0 and p["n_times"] >= 1, self.pde,
                 "nu, final_time must be > 0 and n_times >= 1")
        _require(p["resolution"] >= 4 and p["solve_resolution"] % p["resolution"] == 0, self.pde,
                 f"solve_resolution ({p['solve_resolution']}) must be a multiple of resolution ({p['resolution']})")
        _require(p["dt_max"] > 0 and p["cfl"] > 0, self.pde, "dt_max and cfl must be > 0")
        _require(1 <= p["sines_max_wavenumber"] and 1 <= p["sines_count"], self.pde,
                 "sines_count and sines_max_wavenumber must be >= 1")
        times = np.linspace(0.0, p["final_time"], p["n_times"] + 1)
        self.times = times if p["include_initial_time"] else times[1:]
        n = p["resolution"]
        self.coords = {"x": np.arange(n) / n, "t": self.times.copy()}
        self.boundary_conditions = {"x": "periodic"}
        self.fields = [
            FieldSpec("initial", ("x",), (n,), "initial condition u(x, 0)"),
            FieldSpec("solution", ("t", "x"), (len(self.times), n), "u(x, t) at the stored times"),
        ]
        ic = (f"GRF {p['grf_sigma']:g}^2 (-Lap + {p['grf_tau']:g}^2)^-{p['grf_alpha']:g}"
              if p["initial_condition"] == "grf" else "PDEBench-style random sines")
        self.solver = (f"Fourier pseudo-spectral (2/3 dealiasing) + ETDRK4 (4th order), n={p['solve_resolution']}, "
                       f"dt<=min({p['dt_max']:g}, CFL {p['cfl']:g}), nu={p['nu']:.6g}, IC {ic}")

    def _initial(self, rngs) -> np.ndarray:
        p = self.params
        n = p["solve_resolution"]
        if p["initial_condition"] == "grf":
            grf = GaussianRandomField((n,), p["grf_alpha"], p["grf_tau"], p["grf_sigma"], "periodic")
            return grf.sample(rngs)
        x = np.arange(n) / n
        fields = []
        for rng in rngs:
            wavenumbers = rng.integers(1, p["sines_max_wavenumber"] + 1, size=p["sines_count"])
            amplitudes = rng.uniform(0, 1, size=p["sines_count"])
            phases = rng.uniform(0, 2 * np.pi, size=p["sines_count"])
            u = np.sum(amplitudes[:, None] * np.sin(2 * np.pi * wavenumbers[:, None] * x + phases[:, None]), axis=0)
            take_abs, flip, window = rng.uniform(size=3)
            left, right = rng.uniform(0.1, 0.45), rng.uniform(0.55, 0.9)
            if take_abs < p["sines_abs_probability"]:
                u = np.abs(u)
            if flip < 0.5:
                u = -u
            if window < p["sines_window_probability"]:
                u = u * 0.5 * (np.tanh((x - left) / 0.01) - np.tanh((x - right) / 0.01))
            fields.append(u)
        return np.stack(fields)

    def _generate(self, rngs):
        p = self.params
        stride = p["solve_resolution"] // p["resolution"]
        initial = self._initial(rngs)
        solution = solve_burgers(initial, p["nu"], self.times, dt_max=p["dt_max"], cfl=p["cfl"])
        return {"initial": initial[:, ::stride], "solution": solution[:, :, ::stride]}


class DarcyProblem(Problem):
    """-div(a grad u) = f on the unit square, u = 0 on the boundary; coefficient -> solution."""

    pde = "darcy"

    def validate(self):
        p = self.params
        r, s = p["resolution"], p["solve_resolution"]
        _require(r >= 3 and s >= r and (s - 1) % (r - 1) == 0, self.pde,
                 f"solve_resolution - 1 ({s - 1}) must be a multiple of resolution - 1 ({r - 1}), "
                 f"e.g. 421 stores 85, 141, 211 or 421")
        _require(p["coefficient_high"] > 0 and p["coefficient_low"] > 0, self.pde,
                 "coefficient_high and coefficient_low must be > 0")
        self.coords = {"x": np.linspace(0, 1, r), "y": np.linspace(0, 1, r)}
        self.boundary_conditions = {"x": "dirichlet", "y": "dirichlet"}
        grf = f"GRF {p['grf_sigma']:g}^2 (-Lap_N + {p['grf_tau']:g}^2)^-{p['grf_alpha']:g} (cosine basis, mean mode removed)"
        if p["coefficient"] == "threshold":
            law = f"a = {p['coefficient_high']:g} where {grf} >= 0, else {p['coefficient_low']:g}"
        else:
            law = f"a = exp({grf})"
        self.fields = [
            FieldSpec("coefficient", ("x", "y"), (r, r), law),
            FieldSpec("solution", ("x", "y"), (r, r), f"u with -div(a grad u) = {p['forcing']:g}, u = 0 on the boundary"),
        ]
        order = ("2nd order for smooth a" if p["coefficient"] == "lognormal"
                 else "order 1.1-1.8 on this discontinuous a, 2 for smooth a")
        self.solver = (f"5-point finite differences ({p['face_average']} face average, {order}), "
                       f"SuperLU sparse direct, {s}x{s} grid")

    def _generate(self, rngs):
        p = self.params
        s = p["solve_resolution"]
        stride = (s - 1) // (p["resolution"] - 1)
        grf = GaussianRandomField((s, s), p["grf_alpha"], p["grf_tau"], p["grf_sigma"], "neumann")
        field = grf.sample(rngs)
        if p["coefficient"] == "threshold":
            a = np.where(field >= 0, p["coefficient_high"], p["coefficient_low"])
        else:
            a = np.exp(field)
        u = solve_darcy(a, p["forcing"], p["face_average"])
        return {"coefficient": a[:, ::stride, ::stride], "solution": u[:, ::stride, ::stride]}


class NavierStokesProblem(Problem):
    """Vorticity w_t + u.grad w = nu Lap w + f on the unit torus; trajectory from w0."""

    pde = "navier_stokes"

    def validate(self):
        p = self.params
        r, s = p["resolution"], p["solve_resolution"]
        _require(r >= 4 and s % r == 0, self.pde,
                 f"solve_resolution ({s}) must be a multiple of resolution ({r})")
        _require(p["nu"] >= 0 and p["dt"] > 0 and p["final_time"] > 0 and p["record_interval"] > 0, self.pde,
                 "need nu >= 0 and dt, final_time, record_interval > 0")
        n_records = round(p["final_time"] / p["record_interval"])
        _require(n_records >= 1 and abs(n_records * p["record_interval"] - p["final_time"]) <= 1e-9 * p["final_time"],
                 self.pde, f"final_time ({p['final_time']}) must be a whole number of record_interval ({p['record_interval']})")
        times = p["record_interval"] * np.arange(n_records + 1)
        self.coords = {"x": np.arange(r) / r, "y": np.arange(r) / r, "t": times}
        self.boundary_conditions = {"x": "periodic", "y": "periodic"}
        self.fields = [FieldSpec(
            "vorticity", ("t", "x", "y"), (n_records + 1, r, r),
            f"w(x, y, t) at t = 0, {p['record_interval']:g}, ..., {p['final_time']:g}; w0 ~ GRF "
            f"{p['grf_sigma']:.6g}^2 (-Lap + {p['grf_tau']:g}^2)^-{p['grf_alpha']:g}; forcing "
            f"f = {p['forcing_amplitude']:g} (sin 2pi(x+y) + cos 2pi(x+y)); nu = {p['nu']:g}")]
        self.solver = (f"Fourier pseudo-spectral (2/3 dealiasing), Crank-Nicolson diffusion + Heun advection "
                       f"(2nd order), {s}x{s} grid, dt={p['dt']:g}, stored every {s // r} points")

    def _generate(self, rngs):
        p = self.params
        s = p["solve_resolution"]
        grf = GaussianRandomField((s, s), p["grf_alpha"], p["grf_tau"], p["grf_sigma"], "periodic")
        w0 = grf.sample(rngs)
        forcing = fno_forcing(s, p["forcing_amplitude"]) if p["forcing_amplitude"] else None
        total_steps = round(p["final_time"] / p["record_interval"]) * int(np.ceil(p["record_interval"] / p["dt"] - 1e-9))
        # a batch that takes minutes (fno_nu1e-4: ~6 min for 16) or hours (fno) shows its own
        # progress (steps, time left); the sample bar only moves when a batch is done
        with tqdm(total=total_steps, unit="step", desc=f"navier-stokes batch of {len(rngs)}", leave=False,
                  disable=total_steps * len(rngs) * s * s < 5e8) as bar:
            w = solve_navier_stokes(w0, p["nu"], p["final_time"], p["record_interval"], dt=p["dt"],
                                    forcing=forcing, stride=s // p["resolution"], cfl_max=p["cfl_max"],
                                    progress=bar.update)
        return {"vorticity": w}


_PROBLEMS = {"burgers": BurgersProblem, "darcy": DarcyProblem, "navier_stokes": NavierStokesProblem}


def get_problem(pde: str, preset: str = "small", **overrides) -> Problem:
    """The problem ``pde`` with the parameters of ``preset`` updated by ``overrides``.

    ``batch_size`` may also be overridden (it changes speed and memory, never the samples).
    Unknown PDE, preset or parameter names, and values of the wrong type, raise ConfigError.
    """
    name = str(pde).replace("-", "_").lower()
    if name not in PRESETS:
        raise ConfigError(f"unknown pde {pde!r}; valid: {', '.join(PRESETS)} (navier-stokes also accepted)")
    if preset not in PRESETS[name]:
        raise ConfigError(f"{name}: unknown preset {preset!r}; valid: {', '.join(PRESETS[name])}")
    params = dict(_BASES[name])
    params.update(PRESETS[name][preset])
    batch_size = _BATCH_SIZES[name]
    for key, value in overrides.items():
        if key == "batch_size":
            batch_size = _coerce(name, key, value, 1)
            _require(batch_size >= 1, name, f"batch_size must be >= 1, got {batch_size}")
            continue
        if key not in params:
            raise ConfigError(f"{name}: unknown parameter {key!r}; valid: {', '.join(sorted(params))}, batch_size")
        params[key] = _coerce(name, key, value, params[key])
        if key in _CHOICES and params[key] not in _CHOICES[key]:
            raise ConfigError(f"{name}: parameter {key!r} must be one of {', '.join(_CHOICES[key])}, got {params[key]!r}")
    params = {key: (float(v) if isinstance(v, (float, np.floating)) else v) for key, v in params.items()}
    return _PROBLEMS[name](preset, params, batch_size)
