"""Fixtures for the data tests: a fake PDE problem and small files in the community layouts.

The community files are written in exactly the layouts of the published datasets
(PDEBench HDF5, FNO ``.mat`` in MATLAB v5 and v7.3, The Well), only with fewer samples
and coarser grids; their contents are known closed-form arrays so tests can check values.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import scipy.io

# Generation workers are spawned processes that import FakeProblem by its
# module name, tests.data.conftest: the repository root must be on their path (they inherit ours).
_REPOSITORY = str(Path(__file__).resolve().parents[2])
if _REPOSITORY not in sys.path:
    sys.path.append(_REPOSITORY)


@dataclass(frozen=True)
class FakeField:
    name: str
    dims: tuple
    shape: tuple
    description: str = ""


class FakeProblem:
    """The members of ``opkit.pde.problems.Problem``, with arrays known in closed form.

    ``initial[i] = rng([seed, i]).standard_normal(n_x)`` and
    ``solution[i, k] = initial[i] * exp(-t_k)``: sample ``i`` depends only on ``(seed, i)``.
    ``fail_after``: raise after that many ``generate`` calls (a simulated interruption).
    """

    def __init__(self, n_x=8, n_t=5, batch_size=3, fail_after=None, nan_sample=None, delay=0.0,
                 fail_with=KeyboardInterrupt):
        self.pde, self.preset = "fake", "tiny"
        self.params = {"n_x": n_x, "n_t": n_t, "viscosity": 0.01, "name": "fake"}
        self.solver = "closed form, exact"
        self.fields = [FakeField("initial", ("x",), (n_x,), "u(0, x)"),
                       FakeField("solution", ("t", "x"), (n_t, n_x), "u(t, x)")]
        self.coords = {"x": np.linspace(0, 1, n_x, endpoint=False), "t": np.linspace(0, 1, n_t)}
        self.boundary_conditions = {"x": "periodic"}
        self.batch_size = batch_size
        self.fail_after, self.nan_sample, self.delay, self.fail_with = fail_after, nan_sample, delay, fail_with
        self.calls: list[list[int]] = []

    def expected(self, index, seed):
        initial = np.random.default_rng([seed, index]).standard_normal(self.params["n_x"]).astype(np.float32)
        solution = initial[None, :] * np.exp(-self.coords["t"])[:, None].astype(np.float32)
        return initial, solution.astype(np.float32)

    def generate(self, indices, base_seed):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise self.fail_with("simulated interruption")
        self.calls.append(list(indices))
        time.sleep(self.delay)
        pairs = [self.expected(i, base_seed) for i in indices]
        arrays = {"initial": np.stack([p[0] for p in pairs]), "solution": np.stack([p[1] for p in pairs])}
        if self.nan_sample is not None and self.nan_sample in indices:
            arrays["solution"][list(indices).index(self.nan_sample), 0, 0] = np.nan
        return arrays


@pytest.fixture
def fake_problem():
    return FakeProblem


# ----------------------------------------------------------------------------- community layouts

def burgers_values(n, n_t, n_x):
    """u[i, k, j] = sin(2 pi x_j + i) * exp(-t_k), a known array."""
    x = np.linspace(0, 1, n_x, endpoint=False)
    t = np.linspace(0, 2, n_t)
    samples = np.arange(n)[:, None, None]
    return (np.sin(2 * np.pi * x[None, None, :] + samples) * np.exp(-t)[None, :, None]).astype(np.float32), x, t


def darcy_values(n, n_x):
    x = np.linspace(0, 1, n_x)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    samples = np.arange(n)[:, None, None]
    coefficient = (1.0 + samples + xx[None] + 2.0 * yy[None]).astype(np.float32)   # asymmetric in x, y
    solution = (samples * xx[None] * (1 - xx[None]) * yy[None] ** 2).astype(np.float32)
    return coefficient, solution, x


def vorticity_values(n, n_t, n_x, n_y):
    """w[i, k, j, l] = i + 10 k + 0.1 j + 0.001 l: every index recoverable from the value."""
    i, k, j, l = np.meshgrid(np.arange(n), np.arange(n_t), np.arange(n_x), np.arange(n_y), indexing="ij")
    return (i + 10.0 * k + 0.1 * j + 0.001 * l).astype(np.float32)


def write_pdebench_burgers(path, n=4, n_t=201, n_x=32):
    """PDEBench 1D Burgers: tensor (N, 201, X), x-coordinate (X), t-coordinate (202)."""
    u, x, _ = burgers_values(n, n_t, n_x)
    with h5py.File(path, "w") as f:
        f["tensor"] = u
        f["x-coordinate"] = x.astype(np.float32)
        f["t-coordinate"] = np.linspace(0, 2.01, n_t + 1).astype(np.float32)
    return u


def write_pdebench_darcy(path, n=3, n_x=16):
    """PDEBench 2D Darcy: nu (N, X, Y), tensor (N, 1, X, Y), x-coordinate, y-coordinate."""
    coefficient, solution, x = darcy_values(n, n_x)
    with h5py.File(path, "w") as f:
        f["nu"] = coefficient
        f["tensor"] = solution[:, None]
        f["x-coordinate"] = x.astype(np.float32)
        f["y-coordinate"] = x.astype(np.float32)
    return coefficient, solution


def write_pdebench_ns(path, n=2, n_t=6, n_x=8):
    """PDEBench 2D incompressible NS: velocity (N,T,X,Y,2), particles (N,T,X,Y,1), force (N,X,Y,2), t (N,T)."""
    w = vorticity_values(n, n_t, n_x, n_x)
    velocity = np.stack([w, -w], axis=-1)
    with h5py.File(path, "w") as f:
        f["velocity"] = velocity
        f["particles"] = (w * 2)[..., None]
        f["force"] = np.stack([w[:, 0], w[:, 0] + 1], axis=-1)
        f["t"] = np.tile(np.linspace(0, 1, n_t), (n, 1)).astype(np.float32)
    return velocity


def fno_arrays(kind, n=3):
    """The FNO .mat contents, in MATLAB's axis order (sample first)."""
    if kind == "burgers":          # burgers_data_R10.mat: a (N, X), u (N, X)
        u, _, _ = burgers_values(n, 2, 64)
        return {"a": u[:, 0].astype(np.float64), "u": u[:, 1].astype(np.float64)}
    if kind == "darcy":            # piececonst_r421_N1024_smooth1.mat: coeff, sol (N, X, Y)
        coefficient, solution, _ = darcy_values(n, 21)
        return {"coeff": coefficient.astype(np.float64), "sol": solution.astype(np.float64)}
    if kind == "navier_stokes":    # ns_V1e-3_N5000_T50.mat: a (N, X, Y), u (N, X, Y, T), t (1, T)
        w = vorticity_values(n, 5, 8, 6)                       # (N, T, X, Y), X != Y to catch swaps
        return {"a": w[:, 0].astype(np.float32), "u": np.moveaxis(w, 1, -1).astype(np.float32),
                "t": np.arange(1, 6, dtype=np.float64)[None, :]}
    raise ValueError(kind)


def write_mat_v5(path, arrays):
    scipy.io.savemat(str(path), arrays)


def write_mat_v73(path, arrays):
    """MATLAB v7.3: HDF5 with a 512-byte MATLAB header as user block; column-major, so axes reversed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for key, value in arrays.items():
            value = np.asarray(value)
            f.create_dataset(key, data=value.transpose())     # MATLAB (N, X, Y, T) -> HDF5 (T, Y, X, N)
            f[key].attrs["MATLAB_class"] = np.bytes_("double" if value.dtype == np.float64 else "single")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as stream:
        stream.write(header.ljust(512, b"\x00"))


def write_the_well(path, n=2, n_t=4, n_x=8, n_y=6):
    """The Well: t0_fields (N, T, X, Y), t1_fields (N, T, X, Y, 2), dimensions, boundary_conditions."""
    w = vorticity_values(n, n_t, n_x, n_y)
    with h5py.File(path, "w") as f:
        f.attrs.update({"dataset_name": "toy_flow", "grid_type": "cartesian", "n_spatial_dims": 2,
                        "n_trajectories": n, "simulation_parameters": ["Re"], "Re": 100.0})
        dims = f.create_group("dimensions")
        dims.attrs["spatial_dims"] = ["x", "y"]
        dims["time"] = np.linspace(0, 1, n_t).astype(np.float32)
        dims["x"] = np.linspace(0, 1, n_x, endpoint=False).astype(np.float32)
        dims["y"] = np.linspace(0, 1, n_y, endpoint=False).astype(np.float32)
        for name in ("time", "x", "y"):
            dims[name].attrs.update({"sample_varying": False, "time_varying": False})
        bcs = f.create_group("boundary_conditions")
        group = bcs.create_group("x_periodic")
        group.attrs.update({"associated_dims": ["x"], "bc_type": "PERIODIC", "sample_varying": False,
                            "time_varying": False})
        group["mask"] = np.zeros(n_x, dtype=bool)
        t0 = f.create_group("t0_fields")
        t0["pressure"] = w
        t0["pressure"].attrs.update({"dim_varying": [True, True], "sample_varying": True, "time_varying": True})
        t1 = f.create_group("t1_fields")
        t1["velocity"] = np.stack([w, 2 * w], axis=-1)
        t1["velocity"].attrs.update({"dim_varying": [True, True], "sample_varying": True, "time_varying": True})
        f.create_group("t2_fields")
        f.create_group("scalars").attrs["field_names"] = ["Re"]
    return w


@pytest.fixture
def community():
    return SimpleNamespace(
        burgers_values=burgers_values, darcy_values=darcy_values, vorticity_values=vorticity_values,
        write_pdebench_burgers=write_pdebench_burgers, write_pdebench_darcy=write_pdebench_darcy,
        write_pdebench_ns=write_pdebench_ns, fno_arrays=fno_arrays, write_mat_v5=write_mat_v5,
        write_mat_v73=write_mat_v73, write_the_well=write_the_well, write_opkit=write_opkit)


def write_opkit(path, fields, coords, pde="test", bcs=None):
    """An opkit file from ``{name: (dims, array (sample, *dims))}`` through the real writer."""
    from opkit.data import writer
    from opkit.data.schema import FieldLayout

    n = next(iter(fields.values()))[1].shape[0]
    handle = writer.create_file(
        path, pde=pde, preset="test", solver="closed form", params={}, n_samples=n, base_seed=0,
        fields=[FieldLayout(name, dims, array.shape[1:]) for name, (dims, array) in fields.items()],
        coords=coords, boundary_conditions=bcs or {})
    writer.write_samples(handle, np.arange(n), {name: array for name, (_, array) in fields.items()})
    writer.finalize(handle)
    handle.close()
    return path


@pytest.fixture
def opkit_files(tmp_path):
    """Small opkit files: Darcy-like (n=6, 17x17, coefficient/solution) and NS-like (n=3, 6 frames, 8x8)."""
    coefficient, solution, x = darcy_values(6, 17)
    darcy = write_opkit(tmp_path / "darcy.h5", {"coefficient": (("x", "y"), coefficient),
                                                "solution": (("x", "y"), solution)}, {"x": x, "y": x}, "darcy")
    w = vorticity_values(3, 6, 8, 8)
    grid = np.linspace(0, 1, 8, endpoint=False)
    ns = write_opkit(tmp_path / "ns.h5", {"vorticity": (("t", "x", "y"), w)},
                     {"x": grid, "y": grid, "t": np.arange(6.0)}, "navier_stokes")
    return SimpleNamespace(darcy=darcy, ns=ns, coefficient=coefficient, solution=solution, x=x, vorticity=w)


class FakeDarcy(FakeProblem):
    """Darcy-shaped fake: coefficient[i] = 1 + i + x + 2y, solution[i] = coefficient[i] * mean over rng([seed, i])."""

    def __init__(self, n_x=9, **overrides):
        super().__init__(**{k: v for k, v in overrides.items() if k in ("batch_size", "fail_after")})
        self.pde = "darcy"
        self.params = {"n_x": n_x, **{k: v for k, v in overrides.items() if k not in ("batch_size", "fail_after")}}
        self.fields = [FakeField("coefficient", ("x", "y"), (n_x, n_x)), FakeField("solution", ("x", "y"), (n_x, n_x))]
        grid = np.linspace(0, 1, n_x)
        self.coords = {"x": grid, "y": grid}
        self.boundary_conditions = {"x": "dirichlet", "y": "dirichlet"}

    def generate(self, indices, base_seed):
        self.calls.append(list(indices))
        n_x = self.params["n_x"]
        coefficient, _, _ = darcy_values(max(indices) + 1, n_x)
        coefficient = coefficient[list(indices)]
        scale = np.array([np.random.default_rng([base_seed, i]).uniform(1, 2) for i in indices], dtype=np.float32)
        return {"coefficient": coefficient, "solution": coefficient * scale[:, None, None]}


class FakeVorticity(FakeProblem):
    """Navier-Stokes-shaped fake: vorticity[i, k, j, l] from ``vorticity_values`` plus seed."""

    def __init__(self, n_x=8, n_t=5, **overrides):
        super().__init__()
        self.pde = "navier_stokes"
        self.params = {"n_x": n_x, "n_t": n_t}
        self.fields = [FakeField("vorticity", ("t", "x", "y"), (n_t, n_x, n_x))]
        grid = np.linspace(0, 1, n_x, endpoint=False)
        self.coords = {"x": grid, "y": grid, "t": np.arange(n_t, dtype=float)}
        self.boundary_conditions = {"x": "periodic", "y": "periodic"}

    def generate(self, indices, base_seed):
        self.calls.append(list(indices))
        p = self.params
        w = vorticity_values(max(indices) + 1, p["n_t"], p["n_x"], p["n_x"])[list(indices)]
        return {"vorticity": w + base_seed}


@pytest.fixture
def fake_pde_module(monkeypatch):
    """Stand in for ``opkit.pde.problems`` (``get_problem``), recording every problem made."""
    import types

    from opkit.errors import ConfigError

    module = types.ModuleType("opkit.pde.problems")
    module.made = []
    classes = {"burgers": FakeProblem, "darcy": FakeDarcy, "navier_stokes": FakeVorticity}

    def get_problem(pde, preset="small", **overrides):
        if pde not in classes:
            raise ConfigError(f"unknown pde {pde!r}; expected one of {sorted(classes)}")
        problem = classes[pde](**overrides)
        problem.preset = preset
        module.made.append(problem)
        return problem

    module.get_problem = get_problem
    monkeypatch.setitem(sys.modules, "opkit.pde.problems", module)
    return module
