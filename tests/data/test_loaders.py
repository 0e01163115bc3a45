"""In-memory batch loaders: every row once per epoch, disjoint shards per process, and data moved
to the accelerator once."""

from __future__ import annotations

import pytest
import torch

from vaekit.data import loaders
from vaekit.data.loaders import batch_loader, move_to_device_once


def test_batch_loader_covers_every_row_once_per_epoch():
    rows = torch.arange(10).float().unsqueeze(1)
    loader = batch_loader((rows,), 4, shuffle=True, generator=torch.Generator().manual_seed(0))
    batches = [batch[0] for batch in loader]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).squeeze(1).tolist()) == list(range(10))
    in_order = [batch[0] for batch in batch_loader((rows,), 4, shuffle=False)]
    assert torch.equal(torch.cat(in_order), rows)


@pytest.mark.parametrize("num_rows", [10, 11, 13])
def test_distributed_shards_are_disjoint_and_evaluation_covers_each_row_once(monkeypatch, num_rows):
    shards = {}
    for rank in range(2):
        monkeypatch.setattr(loaders, "rank_and_world_size", lambda rank=rank: (rank, 2))
        generator = torch.Generator().manual_seed(0)
        train = list(loaders.BatchIndices(num_rows, 4, shuffle=True, generator=generator))
        evaluation = list(loaders.BatchIndices(num_rows, 4, shuffle=False))
        assert len(train) == len(loaders.BatchIndices(num_rows, 4, shuffle=True))
        assert len(evaluation) == len(loaders.BatchIndices(num_rows, 4, shuffle=False))
        shards[rank] = (torch.cat(train), torch.cat(evaluation))
    # Training: the same number of steps on both ranks, every row seen, padding by at most one row.
    assert len(shards[0][0]) == len(shards[1][0]) == -(-num_rows // 2)
    assert set(torch.cat([shards[0][0], shards[1][0]]).tolist()) == set(range(num_rows))
    # Evaluation: every row exactly once, no padding.
    assert sorted(torch.cat([shards[0][1], shards[1][1]]).tolist()) == list(range(num_rows))


def test_in_memory_data_go_to_the_accelerator_once():
    from lightning.pytorch.utilities import CombinedLoader

    rows = torch.rand(10, 3)
    single = batch_loader((rows,), 4, shuffle=False)
    combined = CombinedLoader(
        {"a": batch_loader((rows,), 4, shuffle=False), "b": batch_loader((rows,), 4, shuffle=False)}
    )
    move_to_device_once(torch.device("cpu"), single)
    assert single.dataset.tensors[0].device.type == "cpu"
    # Any non-CPU device: "meta" stands in for a GPU here, which this machine may not have.
    move_to_device_once(torch.device("meta"), single, combined)
    assert single.dataset.tensors[0].device.type == "meta"
    assert all(loader.dataset.tensors[0].device.type == "meta" for loader in combined.iterables.values())
