"""The ``DataLoader`` of a streamed table: it counts epochs, so each pass is the next epoch's shuffling.

The count is handed to the dataset before any worker process copies it: the epoch Lightning last
gave ``sampler.set_epoch`` (resumed runs included), else one more than the pass before.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader, Sampler

from vaekit._distributed import rank_and_world_size
from vaekit.data.streaming.dataset import StreamingTable
from vaekit.errors import DataError


class _EpochSampler(Sampler[None]):
    """The sampler of a streamed ``DataLoader``: nothing to sample (the dataset yields whole batches),
    but Lightning calls its ``set_epoch`` at the start of every epoch, resumed runs included."""

    def __init__(self, loader: _EpochCountingLoader) -> None:
        self.loader = loader

    def set_epoch(self, epoch: int) -> None:
        self.loader.next_epoch = epoch

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class _EpochCountingLoader(DataLoader):
    """A ``DataLoader`` that tells its :class:`StreamingTable` which epoch each new pass is, before any
    worker process copies it: the epoch Lightning last gave ``sampler.set_epoch``, else one more than
    the pass before."""

    def __init__(self, dataset: StreamingTable, **kwargs: Any) -> None:
        super().__init__(dataset, batch_size=None, **kwargs)
        self.next_epoch = 0
        # DataLoader refuses a sampler for an IterableDataset, and any new attribute of that name
        # once built; this one only carries set_epoch.
        object.__setattr__(self, "sampler", _EpochSampler(self))

    def set_epoch(self, epoch: int) -> None:
        self.next_epoch = epoch

    def __iter__(self) -> Any:
        self.dataset.set_epoch(self.next_epoch)  # type: ignore[attr-defined]
        self.dataset.recorded_rank_and_world = rank_and_world_size()  # type: ignore[attr-defined]
        self.next_epoch += 1
        return super().__iter__()


def streaming_loader(dataset: StreamingTable, *, workers: int = 0) -> DataLoader:
    """A ``DataLoader`` of the ready batches of ``dataset``, with ``workers`` reader processes.

    Each pass over it is the next epoch of the dataset's shuffling.
    """
    if workers < 0:
        raise DataError(f"workers must be at least 0, got {workers}")
    dataset.workers = workers
    return _EpochCountingLoader(dataset, num_workers=workers)
