"""A tiny 1-D periodic dataset written with opkit's writer, for sweeps through the real training path."""

import numpy as np

from opkit.data.schema import FieldLayout
from opkit.data.writer import create_file, finalize, write_samples


def write_tiny_file(path, n_samples=24, n_x=32, seed=0):
    """initial u0 (4 random Fourier modes) -> solution [u0, heat-smoothed u0] (exact), plus 1."""
    rng = np.random.default_rng(seed)
    x = np.arange(n_x) / n_x
    modes = np.arange(1, 5)
    coefficients = rng.normal(size=(n_samples, modes.size, 2))
    waves = (coefficients[..., 0, None] * np.sin(2 * np.pi * modes[:, None] * x)
             + coefficients[..., 1, None] * np.cos(2 * np.pi * modes[:, None] * x))
    damping = np.exp(-0.01 * (2 * np.pi * modes) ** 2)
    initial = waves.sum(1)
    final = (damping[:, None] * waves).sum(1)
    fields = [FieldLayout("initial", ("x",), (n_x,), "u(0, x)"),
              FieldLayout("solution", ("t", "x"), (2, n_x), "u(t, x)")]
    handle = create_file(path, pde="burgers", preset="test", solver="exact heat smoothing", params={},
                         fields=fields, coords={"x": x, "t": np.array([0.0, 1.0])},
                         boundary_conditions={"x": "periodic"}, n_samples=n_samples, base_seed=seed)
    write_samples(handle, np.arange(n_samples), {"initial": (initial + 1.0).astype(np.float32),
                                                  "solution": (np.stack([initial, final], 1) + 1.0).astype(np.float32)})
    finalize(handle)
    handle.close()
    return path


def tiny_base_config(data_path, max_epochs=2) -> dict:
    return {
        "model": {"model": "fno", "width": 8, "n_modes": 6, "n_layers": 2, "lr": 1e-2, "scheduler": "none"},
        "data": {"path": str(data_path), "n_train": 16, "n_val": 4, "n_test": 4, "batch_size": 8},
        "trainer": {"max_epochs": max_epochs, "accelerator": "cpu", "enable_model_summary": False,
                    "enable_progress_bar": False},
    }


def write_dirichlet_file(path, coefficient, solution):
    """A 2-D Dirichlet file (the Darcy presets' layout) of given ``(n_samples, n, n)`` arrays a -> u
    on the vertex grid x_j = j / (n - 1)."""
    count, n = coefficient.shape[0], coefficient.shape[-1]
    x = np.linspace(0, 1, n)
    fields = [FieldLayout("coefficient", ("x", "y"), (n, n), "a"), FieldLayout("solution", ("x", "y"), (n, n), "u")]
    handle = create_file(path, pde="darcy", preset="test", solver="exact", params={}, fields=fields,
                         coords={"x": x, "y": x}, boundary_conditions={"x": "dirichlet", "y": "dirichlet"},
                         n_samples=count, base_seed=0)
    write_samples(handle, np.arange(count), {"coefficient": coefficient.astype(np.float32),
                                              "solution": solution.astype(np.float32)})
    finalize(handle)
    handle.close()
    return path
