"""A resumed epoch sees exactly the samples the interrupted one had not yet seen, in the same order."""

import torch
from torch.utils.data import DataLoader, TensorDataset

from opkit.training.resumable import EpochSeededSampler, ResumableDataLoader, resumable_copy


def test_sampler_is_a_permutation_seeded_by_seed_plus_epoch():
    sampler = EpochSeededSampler(10, seed=3)
    sampler.set_epoch(2)
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(5)).tolist()
    assert list(sampler) == expected
    assert sorted(expected) == list(range(10)) and len(sampler) == 10


def test_loader_state_round_trip_skips_the_batches_already_seen():
    dataset = TensorDataset(torch.arange(10.0))
    first = ResumableDataLoader(dataset, batch_size=3, sampler=EpochSeededSampler(10, seed=1))
    first.sampler.set_epoch(4)
    whole_epoch = [batch[0].tolist() for batch in first]
    iterator = iter(first)
    seen = [next(iterator)[0].tolist(), next(iterator)[0].tolist()]
    state = first.state_dict()
    assert state == {"epoch": 4, "batches": 2, "seed": 1}

    resumed = ResumableDataLoader(dataset, batch_size=3, sampler=EpochSeededSampler(10, seed=0))
    resumed.load_state_dict(state)
    rest = [batch[0].tolist() for batch in resumed]
    assert seen + rest == whole_epoch
    assert len(resumed) == 4  # Lightning counts progress against the whole epoch


def test_resumable_copy_only_replaces_shuffling_loaders():
    dataset = TensorDataset(torch.arange(6.0))
    ordered = DataLoader(dataset, batch_size=2)
    assert resumable_copy(ordered, seed=0) is ordered
    copy = resumable_copy(DataLoader(dataset, batch_size=2, shuffle=True, drop_last=True), seed=7)
    assert isinstance(copy, ResumableDataLoader) and copy.batch_size == 2 and copy.drop_last
    assert copy.sampler.seed == 7 and sorted(torch.cat([b[0] for b in copy]).tolist()) == list(range(6))
