"""PDEDataModule: generation on first use, deterministic splits, train-only normalisation, resolutions."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from opkit.data.datamodule import PDEDataModule, split_indices
from opkit.data.normalize import ChannelNormalizer
from opkit.errors import ConfigError, DataError


def test_split_indices_are_deterministic_disjoint_and_sized():
    a = split_indices(50, n_train=30, n_val=5, n_test=10, seed=3)
    assert a == split_indices(50, n_train=30, n_val=5, n_test=10, seed=3)
    assert a != split_indices(50, n_train=30, n_val=5, n_test=10, seed=4)
    assert [len(a[k]) for k in ("train", "val", "test")] == [30, 5, 10]
    assert len(set(a["train"]) | set(a["val"]) | set(a["test"])) == 45
    assert all(a[k] == sorted(a[k]) for k in a)
    # the test set does not move when the training set shrinks (training-size ablations)
    small = split_indices(50, n_train=10, n_val=5, n_test=10, seed=3)
    assert small["test"] == a["test"] and small["val"] == a["val"] and set(small["train"]) < set(a["train"])
    default = split_indices(20, seed=0)
    assert [len(default[k]) for k in ("train", "val", "test")] == [16, 2, 2]
    with pytest.raises(ConfigError, match="needs 21 samples with at least one for training; the file has 20"):
        split_indices(20, n_train=15, n_val=3, n_test=3)


def test_generates_missing_file_once_and_exposes_model_facts(tmp_path, fake_pde_module):
    path = tmp_path / "datasets" / "darcy_tiny.h5"
    module = PDEDataModule(path, pde="darcy", preset="tiny", n_samples=10, n_train=6, n_val=2, n_test=2,
                           batch_size=4)
    assert (module.in_channels, module.out_channels, module.spatial_dims) == (1, 1, 2)
    assert path.exists() and len(fake_pde_module.made) == 1 and fake_pde_module.made[0].preset == "tiny"
    again = PDEDataModule(path, pde="darcy", preset="tiny", n_samples=10, n_train=6, n_val=2, n_test=2)
    again.prepare_data()
    assert len(fake_pde_module.made) == 1                      # the file was there: nothing generated
    assert again.in_channels == 1 and again.splits == module.splits


def test_normalizers_are_fitted_on_the_training_split_only(tmp_path, opkit_files):
    module = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, split_seed=1)
    module.setup("fit")
    train = module.splits["train"]
    expected = ChannelNormalizer.fit(torch.from_numpy(opkit_files.coefficient[i][None]) for i in train)
    torch.testing.assert_close(module.input_normalizer.mean, expected.mean)
    torch.testing.assert_close(module.input_normalizer.std, expected.std)
    everything = opkit_files.solution.astype(np.float64)
    on_train = everything[train]
    assert module.target_normalizer.mean.item() == pytest.approx(on_train.mean(), rel=1e-5)
    assert module.target_normalizer.mean.item() != pytest.approx(everything.mean(), rel=1e-3)


def test_train_coarse_test_fine_with_workers(opkit_files):
    module = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, resolution=9, test_resolution=17,
                           batch_size=2, num_workers=2)
    module.setup("fit")
    batches = list(module.train_dataloader())
    assert sum(x.shape[0] for x, _ in batches) == 4 and batches[0][0].shape == (2, 1, 9, 9)
    (x, y), = list(module.test_dataloader())
    assert x.shape == (1, 1, 17, 17)
    index = module.splits["test"][0]
    np.testing.assert_array_equal(y[0, 0].numpy(), opkit_files.solution[index])


def test_step_task_and_separate_test_file(tmp_path, opkit_files, community):
    other = community.write_opkit(tmp_path / "ns_test.h5",
                                  {"vorticity": (("t", "x", "y"), opkit_files.vorticity[:2] + 1000)},
                                  {"t": np.arange(6.0)})
    module = PDEDataModule(opkit_files.ns, n_train=2, n_val=1, test_path=other, history=3, coordinates=True)
    assert (module.in_channels, module.out_channels) == (3 + 2, 1)
    assert len(module.datasets["test"]) == 2 * 3 and module.splits["test"] == []
    _, y = module.datasets["test"][0]
    assert float(y[0, 0, 0]) == 1000 + 30                      # trajectory 0, frame 3 of the other file


def test_state_dict_restores_splits_and_normalizers(opkit_files):
    module = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, split_seed=5)
    module.setup("fit")
    state = module.state_dict()
    restored = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, split_seed=99)
    restored.load_state_dict(state)
    assert restored.splits == module.splits
    torch.testing.assert_close(restored.target_normalizer.std, module.target_normalizer.std)


def test_bad_configuration(tmp_path):
    with pytest.raises(DataError, match=r"absent\.h5: file not found; expected an existing data file, or pde="):
        PDEDataModule(tmp_path / "absent.h5").prepare_data()
    with pytest.raises(ConfigError, match="give both pde and preset"):
        PDEDataModule(tmp_path / "a.h5", pde="darcy")
    with pytest.raises(ConfigError, match="n_samples=None; expected a positive integer"):
        PDEDataModule(tmp_path / "a.h5", pde="darcy", preset="tiny")


def test_other_ranks_wait_for_rank_zero(tmp_path, opkit_files, fake_pde_module, monkeypatch):
    import shutil
    import threading

    from opkit.data import datamodule

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setattr(datamodule, "WAIT_POLL_S", 0.02)
    path = tmp_path / "late.h5"
    def rank_zero_finishes():                                              # appears whole, as os.replace does
        shutil.copy(opkit_files.darcy, tmp_path / "late.tmp")
        (tmp_path / "late.tmp").replace(path)

    threading.Timer(0.2, rank_zero_finishes).start()
    module = PDEDataModule(path, pde="darcy", preset="tiny", n_samples=6, n_train=4, n_val=1, n_test=1)
    assert module.in_channels == 1
    assert fake_pde_module.made == []                                      # this rank generated nothing


def test_scale_only_normalizers_divide_by_the_training_rms(opkit_files):
    module = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, split_seed=1, normalize="scale")
    module.setup("fit")
    on_train = opkit_files.solution.astype(np.float64)[module.splits["train"]]
    assert module.target_normalizer.mean.item() == 0.0
    assert module.target_normalizer.std.item() == pytest.approx(np.sqrt((on_train ** 2).mean()), rel=1e-6)
    assert module.input_normalizer.mean.item() == 0.0
    with pytest.raises(ConfigError, match="normalize='rms'; expected true, false, 'standard', 'scale' or 'none'"):
        PDEDataModule(opkit_files.darcy, normalize="rms")


def test_description_holds_plain_facts_for_the_checkpoint(opkit_files):
    module = PDEDataModule(opkit_files.ns, n_train=1, n_val=1, n_test=1, history=2, task="step", split_seed=3)
    description = module.description()
    assert {key: description[key] for key in ("n_spatial_dims", "task", "history", "resolution", "time_index",
                                              "coordinates", "path", "pde", "target_field")} == {
        "n_spatial_dims": 2, "task": "step", "history": 2, "resolution": [8, 8], "time_index": None,
        "coordinates": False, "path": str(opkit_files.ns), "pde": None, "target_field": None}
    assert description["split"] == module.splits and description["source"]["n_samples"] == 3
    assert "test_source" not in description
    static = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1).description()
    assert static["task"] == "static" and static["time_index"] == -1  # counted from the end: frame 0 of 1
    assert static["pde"] is None and static["resolution"] == [17, 17]


def test_rollout_dataloader_gives_whole_test_trajectories_for_step_data_only(opkit_files):
    module = PDEDataModule(opkit_files.ns, n_train=1, n_val=1, n_test=1, history=2, task="step", batch_size=4)
    (initial, later), = list(module.rollout_dataloader())
    index = module.splits["test"][0]
    assert initial.shape == (1, 2, 8, 8) and later.shape == (1, 4, 8, 8)  # 2 frames in, the 4 after them out
    np.testing.assert_array_equal(later[0].numpy(), opkit_files.vorticity[index, 2:])
    assert PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1).rollout_dataloader() is None


def test_in_memory_loaders_give_the_batches_of_the_per_sample_loaders(opkit_files):
    options = dict(n_train=4, n_val=1, n_test=1, batch_size=3, resolution=9, coordinates=True)
    plain, held = PDEDataModule(opkit_files.darcy, **options), PDEDataModule(opkit_files.darcy, in_memory=True,
                                                                             **options)
    for module in (plain, held):
        module.setup("fit")
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        torch.manual_seed(5)
        expected = list(getattr(plain, name)())
        torch.manual_seed(5)
        got = list(getattr(held, name)())
        assert [x.shape for x, _ in got] == [x.shape for x, _ in expected]
        for (x, y), (ex, ey) in zip(got, expected):      # same shuffle, same values: one gather per batch
            assert torch.equal(x, ex) and torch.equal(y, ey)


def test_resolution_schedule_trains_coarse_then_fine_and_validates_fine(opkit_files):
    module = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, batch_size=4, resolution=17,
                           in_memory=True, resolution_schedule=[[2, 17], [0, 9]])
    module.setup("fit")
    module.trainer = SimpleNamespace(current_epoch=0)
    loader = module.train_dataloader()
    train = sorted(module.splits["train"])
    for epoch, n in ((0, 9), (1, 9), (2, 17), (7, 17)):
        module.trainer.current_epoch = epoch
        (x, y), = list(loader)
        assert x.shape == (4, 1, n, n) and y.shape == (4, 1, n, n)
        step = (17 - 1) // (n - 1)                          # every step-th point of the 17-point grid
        expected = opkit_files.coefficient[train][:, ::step, ::step]
        assert sorted(x[:, 0, 0, 0].tolist()) == sorted(expected[:, 0, 0].tolist())
    (x, _), = list(module.val_dataloader())
    assert x.shape[-2:] == (17, 17)


def test_in_memory_and_schedule_errors_are_one_line(opkit_files):
    with pytest.raises(ConfigError, match="resolution_schedule needs in_memory: true"):
        PDEDataModule(opkit_files.darcy, resolution_schedule=[[0, 9]])
    for bad in ([[1, 9]], [[0, 9], [0, 17]], [["a", 9]], []):
        with pytest.raises(ConfigError, match=r"expected \[\[epoch, resolution\], ...\]"):
            PDEDataModule(opkit_files.darcy, in_memory=True, resolution_schedule=bad)
    module = PDEDataModule(opkit_files.ns, task="step", history=2, in_memory=True, n_train=1, n_val=1, n_test=1)
    module.setup("fit")
    with pytest.raises(ConfigError, match="in_memory holds static .* use cache: true instead"):
        module.train_dataloader()
    module = PDEDataModule(opkit_files.darcy, in_memory=True, resolution_schedule=[[0, 10]], n_train=4, n_val=1,
                           n_test=1)
    module.setup("fit")
    with pytest.raises(DataError, match="resolution 10 on axis 'x' does not subsample 17 points evenly"):
        module.train_dataloader()


def test_resolution_schedule_takes_a_resolution_per_axis(opkit_files):
    module = PDEDataModule(opkit_files.darcy, n_train=4, n_val=1, n_test=1, batch_size=4, in_memory=True,
                           resolution_schedule=[[0, [9, 17]], [1, 17]])
    module.setup("fit")
    module.trainer = SimpleNamespace(current_epoch=0)
    loader = module.train_dataloader()
    (x, _), = list(loader)
    assert x.shape == (4, 1, 9, 17)
    module.trainer.current_epoch = 1
    (x, _), = list(loader)
    assert x.shape == (4, 1, 17, 17)
