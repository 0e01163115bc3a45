"""The batches of one part of a streamed table: a ``torch`` ``IterableDataset`` read chunk by chunk.

Training batches are shuffled within a buffer: a reader's row groups are visited in a fresh seeded
order each epoch and rows are drawn at random from a window of ``buffer_rows`` rows, so memory is
bounded by the buffer and one chunk, never by the table. Each rank and ``DataLoader`` worker reads
its own row groups (whole, or slices of them when there are fewer than eight per reader), balanced
by their rows; under DDP a rank with fewer rows reads its share again for the batches it lacks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset

from vaekit._distributed import rank_and_world_size
from vaekit.data.streaming.encoding import encode_chunk
from vaekit.data.streaming.source import DEFAULT_CHUNK_ROWS, ParquetSource, RowGroup
from vaekit.data.streaming.split import PARTS, StreamSplit
from vaekit.errors import DataError
from vaekit.schema import Schema

#: Rows held in the shuffle buffer of a training stream (about 5 bytes per column each).
DEFAULT_BUFFER_ROWS = 262_144


@dataclass(frozen=True)
class _Plan:
    """Who reads what this epoch: this reader's row groups, the batches it yields (more than one
    pass over them gives when DDP pads, fewer under ``max_batches``), and this rank's batches."""

    groups: tuple[RowGroup, ...]
    batches: int
    rank_batches: int


class StreamingTable(IterableDataset):
    """Batches ``(values, observed)`` of one part of a Parquet table, read and encoded chunk by chunk.

    Parameters
    ----------
    source, schema, split:
        The table, its fixed schema, and how rows are split into parts.
    part:
        ``"train"``, ``"val"`` or ``"test"``.
    batch_size:
        Rows per batch; the last batch of a reader's pass may be smaller.
    shuffle:
        Visit this reader's row groups in a seeded order that changes every epoch and draw rows at
        random from a buffer of ``buffer_rows``; otherwise rows come in table order.
    seed:
        Seeds the shuffling, with the epoch (:meth:`set_epoch`, or :func:`streaming_loader`, which
        counts epochs) and the reader.
    chunk_rows, buffer_rows:
        Rows read at a time, and rows held for shuffling. At most ``buffer_rows + chunk_rows``
        encoded rows are held at once (``peak_buffered_rows`` records the most held).
    row_numbers:
        Also yield each row's number in the table (for tests): batches ``(values, observed, rows)``.
    sample_size:
        Rows the schema was inferred from, named in the message of an out-of-schema value.
    max_batches:
        At most this many batches per epoch on each rank (benchmarks, smoke tests); the rows left
        out differ from epoch to epoch when shuffling.
    workers:
        ``DataLoader`` worker processes that will read this dataset (:func:`streaming_loader` sets it),
        needed to know the number of batches in the main process.
    """

    def __init__(
        self,
        source: ParquetSource,
        schema: Schema,
        split: StreamSplit,
        part: str,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        buffer_rows: int = DEFAULT_BUFFER_ROWS,
        row_numbers: bool = False,
        sample_size: int | None = None,
        max_batches: int | None = None,
        workers: int = 0,
    ) -> None:
        super().__init__()
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        for name, value in (
            ("batch_size", batch_size),
            ("chunk_rows", chunk_rows),
            ("buffer_rows", buffer_rows),
        ):
            if value < 1:
                raise DataError(f"{name} must be at least 1, got {value}")
        source.check_columns(schema.names)
        self.source, self.schema, self.split, self.part = source, schema, split, part
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.chunk_rows, self.buffer_rows = chunk_rows, buffer_rows
        self.row_numbers, self.sample_size, self.workers = row_numbers, sample_size, workers
        if max_batches is not None and max_batches < 1:
            raise DataError(f"max_batches must be at least 1, got {max_batches}")
        self.max_batches = max_batches
        self.epoch = 0
        self.peak_buffered_rows = 0
        self._counts: dict[tuple[int, int, int, int], int] = {}

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffling of the next pass (the same epoch gives the same order)."""
        self.epoch = epoch

    # -- who reads what

    def _count(self, group: RowGroup) -> int:
        key = (group.file, group.index, group.start, group.stop)
        if key not in self._counts:
            self._counts[key] = self.split.count(
                self.part, group.table_row + group.start, group.table_row + group.stop
            )
        return self._counts[key]

    def _groups(self, readers: int) -> list[RowGroup]:
        """Row groups, sliced into equal pieces when there are fewer than eight per reader, so that
        the readers' shares come out nearly equal (a slice is read from its row group's start, so
        slicing costs reading time; large tables have row groups enough)."""
        groups = list(self.source.row_groups)
        if readers == 1 or len(groups) >= 8 * readers:
            return groups
        pieces = math.ceil(8 * readers / len(groups))
        sliced = []
        for group in groups:
            edges = np.linspace(group.start, group.stop, pieces + 1).round().astype(int)
            sliced += [
                RowGroup(group.file, group.index, int(a), int(b), group.file_row, group.table_row)
                for a, b in zip(edges[:-1], edges[1:], strict=True)
                if b > a
            ]
        return sliced

    def _assign(self, groups: list[RowGroup], readers: int) -> list[list[RowGroup]]:
        """Row groups to readers, largest first to the reader with the fewest rows: balanced shares."""
        shares: list[list[RowGroup]] = [[] for _ in range(readers)]
        totals = [0] * readers
        counts = [self._count(g) for g in groups]
        for k in sorted(range(len(groups)), key=lambda k: (-counts[k], k)):
            reader = min(range(readers), key=lambda r: (totals[r], r))
            shares[reader].append(groups[k])
            totals[reader] += counts[k]
        return [sorted(share, key=lambda g: (g.table_row, g.start)) for share in shares]

    def _rank_and_world(self) -> tuple[int, int]:
        # Reader processes may be spawned rather than forked, and then see no process group: they
        # use what the main process recorded when the epoch began.
        recorded = getattr(self, "recorded_rank_and_world", None)
        return recorded if recorded is not None else rank_and_world_size()

    def _plan(self, worker: int, workers: int) -> _Plan:
        rank, world = self._rank_and_world()
        readers = world * workers
        shares = self._assign(self._groups(readers), readers)
        rows = [sum(self._count(g) for g in share) for share in shares]
        batches = [math.ceil(n / self.batch_size) for n in rows]
        mine = rank * workers + worker
        ours = slice(rank * workers, (rank + 1) * workers)
        # Checked for every rank on every rank, so that all stop together rather than one alone.
        empty = [r for r in range(world) if sum(rows[r * workers : (r + 1) * workers]) == 0]
        if world > 1 and empty:
            raise DataError(
                f"the {self.part} part has no rows for process {empty[0]} of {world}; "
                "use fewer processes for so small a table"
            )
        counts = batches[ours]
        if world > 1 and self.shuffle:
            # Under DDP every rank must take the same number of training steps, as many as the rank
            # with the most: the others read their share again (freshly shuffled) for the batches
            # they lack, as the in-memory sampler wraps around. No row is left out; a few are seen
            # twice. (Evaluation reads every row once: ranks may take different numbers of steps
            # there, which only training cannot afford.)
            target = max(sum(batches[r * workers : (r + 1) * workers]) for r in range(world))
            with_rows = [w for w in range(workers) if counts[w] > 0]
            for k in range(target - sum(counts)):
                counts[with_rows[k % len(with_rows)]] += 1
        if self.max_batches is not None:
            # The same cap on every rank keeps their steps equal; the largest readers give up most.
            while sum(counts) > self.max_batches:
                counts[max(range(workers), key=lambda w: (counts[w], -w))] -= 1
        return _Plan(tuple(shares[mine]), counts[worker], sum(counts))

    def __len__(self) -> int:
        """Batches per epoch on this rank (all its workers together)."""
        return self._plan(0, max(1, self.workers)).rank_batches

    # -- the stream

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        # Everything that depends on the epoch is fixed here, not when the first batch is asked for.
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        plan = self._plan(worker, workers)
        rank, _ = self._rank_and_world()
        passes = (self._pass(plan, self.epoch, rank, worker, again) for again in itertools.count())
        batches = itertools.chain.from_iterable(passes)
        return itertools.islice(batches, plan.batches)

    def _pass(
        self, plan: _Plan, epoch: int, rank: int, worker: int, again: int
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        """One pass over this reader's share: pass 0 is the epoch's, later ones only pad under DDP."""
        generator = np.random.default_rng([self.seed, epoch, rank, worker, again])
        groups = list(plan.groups)
        if self.shuffle:
            groups = [groups[i] for i in generator.permutation(len(groups))]
        shuffler = torch.Generator().manual_seed(int(generator.integers(2**62)))
        return self._batches(groups, shuffler)

    def _encoded_chunks(self, groups: Sequence[RowGroup]) -> Iterator[tuple[torch.Tensor, ...]]:
        for _, first, batch in self.source.chunks(groups, self.schema.names, self.chunk_rows):
            numbers = np.arange(first, first + batch.num_rows, dtype=np.uint64)
            mask = self.split.mask(self.part, numbers)
            if not mask.any():
                continue
            values, observed = encode_chunk(self.schema, self.source, first, batch, mask, self.sample_size)
            parts = [values, observed]
            if self.row_numbers:
                parts.append(torch.from_numpy(numbers[mask].astype(np.int64)))
            yield tuple(parts)

    def _batches(
        self, groups: Sequence[RowGroup], shuffler: torch.Generator
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        held: list[tuple[torch.Tensor, ...]] = []
        count = 0
        # Shuffling: fill the buffer, draw half of it at random, refill; in order: whole batches as they come.
        fill = self.buffer_rows if self.shuffle else self.batch_size
        keep = self.buffer_rows // 2 if self.shuffle else 0
        for chunk in self._encoded_chunks(groups):
            held.append(chunk)
            count += len(chunk[0])
            self.peak_buffered_rows = max(self.peak_buffered_rows, count)
            if count >= fill:
                out, held, count = self._draw(held, count - keep, shuffler)
                yield from out
        out, _, _ = self._draw(held, count, shuffler, last=True)
        yield from out

    def _draw(
        self,
        held: list[tuple[torch.Tensor, ...]],
        wanted: int,
        shuffler: torch.Generator,
        *,
        last: bool = False,
    ) -> tuple[list[tuple[torch.Tensor, ...]], list[tuple[torch.Tensor, ...]], int]:
        """Whole batches of at most ``wanted`` rows drawn from ``held`` (all of it when ``last``), and
        what stays held."""
        if not held:
            return [], [], 0
        tensors = tuple(torch.cat(column) for column in zip(*held, strict=True))
        total = len(tensors[0])
        if self.shuffle:
            order = torch.randperm(total, generator=shuffler)
            tensors = tuple(t[order] for t in tensors)
        taken = total if last else (max(wanted, 0) // self.batch_size) * self.batch_size
        batches = [
            tuple(t[i : i + self.batch_size] for t in tensors) for i in range(0, taken, self.batch_size)
        ]
        rest = [tuple(t[taken:].clone() for t in tensors)] if taken < total else []
        return batches, rest, total - taken
