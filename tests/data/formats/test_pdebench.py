"""PDEBench HDF5 files (opkit/data/formats/pdebench.py) in their published layouts, read back value for value."""

import numpy as np
import pytest

from opkit.data.dataset import PDEDataset
from opkit.data.formats import open_dataset_file


def test_pdebench_burgers_time_coordinate_trap_and_viscosity_convention(tmp_path, community):
    path = tmp_path / "1D_Burgers_Sols_Nu0.001.hdf5"
    u = community.write_pdebench_burgers(path, n=3, n_t=201, n_x=16)
    with open_dataset_file(path) as f:
        assert f.format == "pdebench" and f.pde == "burgers" and f.n_samples == 3
        assert f.fields["solution"].dims == ("t", "x") and f.fields["solution"].shape == (201, 16)
        assert f.coords["t"].shape == (201,)            # 202 stored, one per tensor step kept
        np.testing.assert_allclose(f.coords["t"], np.linspace(0, 2.01, 202)[:201], rtol=1e-6)
        np.testing.assert_array_equal(f.read("solution", 2), u[2])
        np.testing.assert_array_equal(f.read("initial", 1), u[1, 0])
        assert f.attrs["viscosity_convention"] == "nu/pi"
        assert f.attrs["param_nu"] == 0.001
        assert f.attrs["param_viscosity"] == pytest.approx(0.001 / np.pi)
    x, y = PDEDataset(path, time_index=100)[1]          # initial -> solution at t index 100
    np.testing.assert_array_equal(x[0].numpy(), u[1, 0])
    np.testing.assert_array_equal(y[0].numpy(), u[1, 100])



def test_pdebench_darcy_singleton_channel(tmp_path, community):
    path = tmp_path / "2D_DarcyFlow_beta1.0_Train.hdf5"
    coefficient, solution = community.write_pdebench_darcy(path, n=3, n_x=16)
    with open_dataset_file(path) as f:
        assert f.pde == "darcy" and f.attrs["param_beta"] == 1.0
        assert f.fields["solution"].shape == (16, 16)
    x, y = PDEDataset(path)[2]
    np.testing.assert_array_equal(x[0].numpy(), coefficient[2])
    np.testing.assert_array_equal(y[0].numpy(), solution[2])



def test_pdebench_incompressible_navier_stokes_vector_channels(tmp_path, community):
    path = tmp_path / "ns_incom_inhom_2d_512-0.h5"
    velocity = community.write_pdebench_ns(path, n=2, n_t=6, n_x=8)
    dataset = PDEDataset(path, input_fields=["velocity"], history=2)
    assert dataset.task == "step" and len(dataset) == 2 * 4 and dataset.in_channels == 4
    x, y = dataset[4 + 1]                                  # trajectory 1, window starting at frame 1
    np.testing.assert_array_equal(x.numpy(), np.moveaxis(velocity[1, 1:3], -1, 1).reshape(4, 8, 8))
    np.testing.assert_array_equal(y.numpy(), np.moveaxis(velocity[1, 3], -1, 0))



def test_pdebench_1d_pde_comes_from_the_file_name(tmp_path, community):
    advection = tmp_path / "1D_Advection_Sols_beta0.1.hdf5"
    community.write_pdebench_burgers(advection, n=2, n_t=11, n_x=8)
    with open_dataset_file(advection) as f:
        assert f.pde == "advection" and "viscosity_convention" not in f.attrs and "param_nu" not in f.attrs
    burgers = tmp_path / "1D_Burgers_Sols_Nu1.0.hdf5"
    community.write_pdebench_burgers(burgers, n=2, n_t=11, n_x=8)
    with open_dataset_file(burgers) as f:
        assert f.pde == "burgers" and f.attrs["param_nu"] == 1.0

