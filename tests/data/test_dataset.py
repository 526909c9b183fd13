"""PDEDataset: tasks, subsampling, coordinate channels, caching, workers and distributed sampling."""

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from opkit.data.dataset import PDEDataset, subsampling_strides
from opkit.errors import ConfigError, DataError


def test_static_task_and_subset(opkit_files):
    dataset = PDEDataset(opkit_files.darcy, indices=[4, 1])
    assert dataset.task == "static" and len(dataset) == 2
    assert (dataset.in_channels, dataset.out_channels, dataset.spatial_shape) == (1, 1, (17, 17))
    x, y = dataset[0]
    assert x.dtype == torch.float32 and x.shape == (1, 17, 17)
    np.testing.assert_array_equal(x[0].numpy(), opkit_files.coefficient[4])
    np.testing.assert_array_equal(y[0].numpy(), opkit_files.solution[4])
    with pytest.raises(IndexError):
        dataset[2]


def test_stride_and_resolution_subsampling(opkit_files):
    by_stride = PDEDataset(opkit_files.darcy, stride=(2, 4))
    x, y = by_stride[3]
    np.testing.assert_array_equal(x[0].numpy(), opkit_files.coefficient[3, ::2, ::4])
    assert by_stride.spatial_shape == (9, 5)
    # 17 points including both ends: resolution 9 is every 2nd point, 5 every 4th
    coarse, fine = PDEDataset(opkit_files.darcy, resolution=5), PDEDataset(opkit_files.darcy, resolution=17)
    np.testing.assert_array_equal(coarse[1][1][0].numpy(), fine[1][1][0].numpy()[::4, ::4])
    with pytest.raises(DataError, match=r"resolution 6 on axis 'x' does not subsample 17 points evenly"):
        PDEDataset(opkit_files.darcy, resolution=6)
    with pytest.raises(DataError, match="finer than the file's 17 points"):
        PDEDataset(opkit_files.darcy, resolution=34)


def test_strides_for_periodic_and_vertex_grids():
    assert subsampling_strides("f", ("x",), (256,), resolution=64) == (4,)       # periodic 256 -> 64
    assert subsampling_strides("f", ("x", "y"), (421, 421), resolution=85) == (5, 5)   # FNO Darcy 421 -> 85
    assert subsampling_strides("f", ("x", "y"), (421, 421), resolution=(211, 141)) == (2, 3)
    with pytest.raises(ConfigError, match="either resolution or stride"):
        subsampling_strides("f", ("x",), (8,), resolution=4, stride=2)
    with pytest.raises(ConfigError, match=r"stride=\(1, 2, 3\); expected a positive integer or 2 of them"):
        subsampling_strides("f", ("x", "y"), (8, 8), stride=(1, 2, 3))


def test_coordinate_channels(opkit_files):
    dataset = PDEDataset(opkit_files.darcy, coordinates=True, stride=2)
    x, _ = dataset[0]
    assert dataset.in_channels == 3 and x.shape == (3, 9, 9)
    grid = opkit_files.x[::2]
    np.testing.assert_allclose(x[1].numpy(), np.broadcast_to(grid[:, None], (9, 9)), rtol=1e-6)
    np.testing.assert_allclose(x[2].numpy(), np.broadcast_to(grid[None, :], (9, 9)), rtol=1e-6)


def test_step_task_windows_over_every_trajectory(opkit_files):
    w = opkit_files.vorticity                           # (3, 6, 8, 8)
    dataset = PDEDataset(opkit_files.ns, history=2, indices=[0, 2])
    assert dataset.task == "step" and dataset.windows == 4 and len(dataset) == 8
    assert (dataset.in_channels, dataset.out_channels) == (2, 1)
    seen = set()
    for item in range(len(dataset)):
        x, y = dataset[item]
        trajectory, start = [0, 2][item // 4], item % 4
        np.testing.assert_array_equal(x.numpy(), w[trajectory, start:start + 2])
        np.testing.assert_array_equal(y.numpy(), w[trajectory, start + 2:start + 3])
        seen.add((trajectory, start))
    assert len(seen) == 8


def test_step_task_with_future_frames_gives_the_next_frames_as_target(opkit_files):
    w = opkit_files.vorticity                           # (3, 6, 8, 8)
    dataset = PDEDataset(opkit_files.ns, history=2, future=3, indices=[1])
    assert dataset.windows == 2 and len(dataset) == 2
    assert (dataset.in_channels, dataset.out_channels) == (2, 1)   # the model still predicts one frame
    for start in range(2):
        x, y = dataset[start]
        np.testing.assert_array_equal(x.numpy(), w[1, start:start + 2])
        np.testing.assert_array_equal(y.numpy(), w[1, start + 2:start + 5])


def test_rollout_task(opkit_files):
    w = opkit_files.vorticity
    dataset = PDEDataset(opkit_files.ns, task="rollout", history=1, stride=2)
    assert len(dataset) == 3 and (dataset.in_channels, dataset.out_channels) == (1, 5)
    x, y = dataset[2]
    np.testing.assert_array_equal(x.numpy(), w[2, :1, ::2, ::2])
    np.testing.assert_array_equal(y.numpy(), w[2, 1:, ::2, ::2])


def test_bad_options(opkit_files):
    with pytest.raises(ConfigError, match="task 'forecast'; expected one of"):
        PDEDataset(opkit_files.ns, task="forecast")
    with pytest.raises(DataError, match=r"6 frames; expected at least history \+ future = 7"):
        PDEDataset(opkit_files.ns, history=6)
    with pytest.raises(DataError, match=r"6 frames; expected at least history \+ future = 7"):
        PDEDataset(opkit_files.ns, history=4, future=3)
    with pytest.raises(ConfigError, match="future=0; expected a positive integer"):
        PDEDataset(opkit_files.ns, future=0)
    with pytest.raises(ConfigError, match="future=2 needs the step task"):
        PDEDataset(opkit_files.darcy, future=2)
    with pytest.raises(DataError, match="field 'coefficient': has no time axis"):
        PDEDataset(opkit_files.darcy, task="step", input_fields=["coefficient"])
    with pytest.raises(ConfigError, match=r"sample indices must lie in \[0, 6\)"):
        PDEDataset(opkit_files.darcy, indices=[0, 6])


def test_cache_serves_from_memory(tmp_path, opkit_files):
    dataset = PDEDataset(opkit_files.ns, history=1, cache=True)
    first = [dataset[i] for i in range(len(dataset))]
    dataset.close()
    opkit_files.ns.rename(tmp_path / "moved.h5")        # the file is gone: only the cache can answer
    again = [dataset[i] for i in range(len(dataset))]
    for (x1, y1), (x2, y2) in zip(first, again):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_two_workers_and_pickling_after_reads(opkit_files):
    dataset = PDEDataset(opkit_files.ns, history=2)
    expected = [dataset[i] for i in range(len(dataset))]       # opens a handle in this process
    pickle.dumps(dataset)                                        # the handle is not part of the state
    loader = DataLoader(dataset, batch_size=3, shuffle=False, num_workers=2)
    inputs, targets = zip(*loader)
    torch.testing.assert_close(torch.cat(inputs), torch.stack([x for x, _ in expected]), rtol=0, atol=0)
    torch.testing.assert_close(torch.cat(targets), torch.stack([y for _, y in expected]), rtol=0, atol=0)


def test_distributed_sampler_partitions_items(opkit_files):
    dataset = PDEDataset(opkit_files.ns, history=1)             # 3 trajectories x 5 windows
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True, seed=3, drop_last=True)
        loader = DataLoader(dataset, batch_size=2, sampler=sampler, num_workers=2)
        for x, y in loader:
            for frame, following in zip(x, y):
                value = float(frame[0, 0, 0])                   # w = i + 10 k at the origin
                assert float(following[0, 0, 0]) == pytest.approx(value + 10.0)
                seen.append(value)
    assert len(seen) == len(set(seen)) == 14                     # disjoint shards; drop_last keeps 2 x 7
