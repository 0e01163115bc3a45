"""In-memory data sets served as whole batches: the loaders that training reads tensors with.

A batch is gathered in one indexing per tensor rather than fetched and collated row by row, no
worker processes are needed, and under distributed training each process takes its own rows
(:class:`BatchIndices`). When an accelerator has room, :func:`move_to_device_once` puts the
tensors there once, so batches are gathered on the device.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from vaekit._distributed import rank_and_world_size


class TensorBatches(Dataset):
    """Rows of in-memory tensors fetched a whole batch at a time.

    Indexing with a tensor of indices returns the batch in one gather per tensor, far cheaper
    than the default per-example fetch and collate of ``TensorDataset``.
    """

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        sizes = {t.shape[0] for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"tensors must have the same number of rows, got {sorted(sizes)}")
        self.tensors = tuple(tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


class BatchIndices(Sampler[torch.Tensor]):
    """Yields one tensor of row indices per batch: a fresh seeded permutation per epoch, or in order.

    Under distributed training each rank takes every ``world``-th row of the same order (all ranks
    share the generator's seed), so the ranks see disjoint rows. Training (``shuffle``) pads the
    order by wrapping around so that every rank takes the same number of steps, as gradient
    synchronisation needs; evaluation never pads, so each row is scored exactly once.
    """

    def __init__(
        self, num_rows: int, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None
    ) -> None:
        self.num_rows, self.batch_size, self.shuffle, self.generator = (
            num_rows,
            batch_size,
            shuffle,
            generator,
        )

    def _rows_of_this_rank(self, order: torch.Tensor) -> torch.Tensor:
        rank, world = rank_and_world_size()
        if world == 1:
            return order
        if self.shuffle:
            padded = math.ceil(self.num_rows / world) * world
            order = order.repeat(math.ceil(padded / max(self.num_rows, 1)))[:padded]
        return order[rank::world]

    def __len__(self) -> int:
        rank, world = rank_and_world_size()
        if world == 1:
            rows = self.num_rows
        elif self.shuffle:
            rows = math.ceil(self.num_rows / world)
        else:
            rows = len(range(rank, self.num_rows, world))
        return math.ceil(rows / self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self.shuffle:
            order = torch.randperm(self.num_rows, generator=self.generator)
        else:
            order = torch.arange(self.num_rows)
        return iter(self._rows_of_this_rank(order).split(self.batch_size))


def batch_loader(
    tensors: Sequence[torch.Tensor],
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """A ``DataLoader`` of whole batches of in-memory tensors (no worker processes needed)."""
    dataset = TensorBatches(tensors)
    sampler = BatchIndices(len(dataset), batch_size, shuffle=shuffle, generator=generator)
    return DataLoader(dataset, sampler=sampler, batch_size=None)


#: Share of the accelerator's free memory the data may take to be moved there once, whole.
_DEVICE_MEMORY_SHARE = 0.5


def move_to_device_once(device: torch.device, *loaders: Any) -> None:
    """Put in-memory data sets on the accelerator once, when they fit, instead of every batch.

    Batches are then gathered on the device and Lightning's per-step transfer has nothing to do.
    Data that would take more than half the free device memory stay on the host.
    """
    if device.type == "cpu":
        return
    datasets = [
        loader.dataset
        for outer in loaders
        for loader in (outer.iterables.values() if hasattr(outer, "iterables") else [outer])
        if isinstance(getattr(loader, "dataset", None), TensorBatches)
    ]
    size = sum(t.numel() * t.element_size() for dataset in datasets for t in dataset.tensors)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if size > _DEVICE_MEMORY_SHARE * free:
            return
    for dataset in datasets:
        dataset.tensors = tuple(t.to(device) for t in dataset.tensors)
