"""Tables larger than memory: a Parquet file, or a folder of them, streamed in chunks.

A :class:`ParquetSource` is one table made of the ``*.parquet`` (or ``*.pq``) files of a folder,
taken in name order (or of a single file); its rows are numbered from 0 across the files in that
order. Nothing is read into memory beyond the footers until a chunk is asked for.

* **Schema.** :func:`infer_stream_schema` infers and fits the schema on a sample of rows spread
  over the row groups (the first rows of each, ``sample_rows`` in all), with the same rules as the
  in-memory path (:func:`vaekit.data.tabular.infer_schema`, :func:`~vaekit.data.tabular.fit_schema`);
  the schema is then fixed. A later value outside it (a level of a binary or categorical column the
  sample never saw, zero or a negative in a positive column, text in a numeric column...) is a
  :class:`~vaekit.errors.DataError` naming the column, the file and the row within that file, never
  a silent change to the schema. :func:`scan` makes one pass over the whole table that finds such
  values before training starts.
* **Splits.** Each row belongs to the test, validation or training part by a hash of its row number
  and a seed (:class:`StreamSplit`): deterministic, independent of chunk sizes, ranks and workers, and
  spread evenly over the table.
* **Batches.** :class:`StreamingTable` is a ``torch.utils.data.IterableDataset`` of ready batches
  ``(values, observed)`` (the tensors :func:`~vaekit.data.tabular.encode_table` makes, in the same
  order), read with ``ParquetFile.iter_batches`` one chunk at a time. Training batches are shuffled
  within a buffer: the row groups of a shard are visited in a fresh seeded order each epoch and the
  rows are drawn at random from a window of ``buffer_rows`` rows, so memory is bounded by the buffer
  and one chunk, never by the table. Under ``torch.distributed`` (world size above 1) and in
  ``DataLoader`` worker processes each rank and worker reads its own row groups (whole ones, or
  slices of them when there are fewer than eight row groups per reader), balanced by their rows.
  Under DDP every rank must take the same number of training steps: a rank with fewer rows reads
  its share again, freshly shuffled, for the batches it lacks (as the in-memory sampler wraps
  around), so no row is left out and a few are seen twice; validation reads every row once.

Shuffling is local: a table sorted by some column is mixed within the buffer and across row groups,
not globally. Write the table in random order, or raise ``buffer_rows``, when that matters.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, IterableDataset, Sampler

from vaekit.data.tabular import encode_table, fit_schema, infer_schema
from vaekit.errors import DataError
from vaekit.schema import Schema

PARQUET_SUFFIXES = (".parquet", ".pq")
#: Rows read to infer and fit the schema.
DEFAULT_SAMPLE_ROWS = 100_000
#: Rows held in the shuffle buffer of a training stream (about 5 bytes per column each).
DEFAULT_BUFFER_ROWS = 262_144
#: Rows read from a file at a time.
DEFAULT_CHUNK_ROWS = 65_536
#: Held-out rows on which a streamed run's test metrics are computed.
DEFAULT_EVAL_ROWS = 10_000
#: Bytes read at a time from a column chunk, so that a large row group is never read whole.
_READ_BUFFER_BYTES = 1 << 20

PARTS = ("train", "val", "test")


def _parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError('streaming Parquet files needs pyarrow: pip install "vaekit[parquet]"') from None
    return pq


# --- the files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowGroup:
    """One row group of one file, or a slice ``[start, stop)`` of its rows."""

    file: int
    index: int
    start: int
    stop: int
    #: Row of the file, and of the whole table, where the row group begins.
    file_row: int
    table_row: int

    @property
    def num_rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file, or the Parquet files of a folder in name order, read as one table."""

    path: Path
    files: tuple[Path, ...]
    columns: tuple[str, ...]
    row_groups: tuple[RowGroup, ...]
    file_rows: tuple[int, ...] = field(default=())

    @classmethod
    def open(cls, path: str | Path) -> ParquetSource:
        """Read the footers of ``path`` (a file, or a folder whose ``*.parquet`` files are the table)."""
        pq = _parquet()
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES)
            if not files:
                raise DataError(f"{path} holds no .parquet files (subfolders are not read)")
        elif path.is_file():
            files = [path]
        else:
            raise DataError(f"table not found: {path}")
        columns: list[str] | None = None
        groups: list[RowGroup] = []
        file_rows: list[int] = []
        table_row = 0
        for i, file in enumerate(files):
            try:
                parquet = pq.ParquetFile(file)
            except Exception as error:  # pyarrow raises many types for a bad file
                raise DataError(f"cannot read Parquet file {file}: {error}") from None
            with parquet:
                _check_types(file, parquet.schema_arrow)
                names = list(parquet.schema_arrow.names)
                repeated = sorted({name for name in names if names.count(name) > 1})
                if repeated:
                    raise DataError(f"{file} repeats these column names: {', '.join(repeated)}")
                if columns is None:
                    columns = names
                elif set(names) != set(columns):
                    lacking = [name for name in columns if name not in names]
                    extra = [name for name in names if name not in columns]
                    raise DataError(
                        f"{file} does not have the columns of {files[0].name}"
                        + (f"; it lacks {', '.join(lacking)}" if lacking else "")
                        + (f"; it adds {', '.join(extra)}" if extra else "")
                    )
                metadata = parquet.metadata
                file_row = 0
                for index in range(metadata.num_row_groups):
                    rows = metadata.row_group(index).num_rows
                    if rows:
                        groups.append(RowGroup(i, index, 0, rows, file_row, table_row))
                    file_row += rows
                    table_row += rows
                file_rows.append(file_row)
        if not groups:
            raise DataError(f"{path} has no rows")
        return cls(path, tuple(files), tuple(columns or ()), tuple(groups), tuple(file_rows))

    @property
    def num_rows(self) -> int:
        return sum(self.file_rows)

    def fingerprint(self) -> list[dict[str, Any]]:
        """Name, size, rows and SHA-256 of each file: a run refuses to evaluate on changed files."""
        result = []
        for file, rows in zip(self.files, self.file_rows, strict=True):
            digest = hashlib.sha256()
            with open(file, "rb") as stream:
                for block in iter(lambda stream=stream: stream.read(1 << 20), b""):
                    digest.update(block)
            result.append(
                {"name": file.name, "bytes": file.stat().st_size, "rows": rows, "sha256": digest.hexdigest()}
            )
        return result

    def locate(self, table_row: int) -> tuple[str, int]:
        """The file name and the row within that file (from 0) of a row of the table."""
        offset = 0
        for file, rows in zip(self.files, self.file_rows, strict=True):
            if table_row < offset + rows:
                return file.name, table_row - offset
            offset += rows
        raise IndexError(table_row)

    def check_columns(self, names: Sequence[str]) -> None:
        lacking = [name for name in names if name not in self.columns]
        if lacking:
            raise DataError(f"{self.path} lacks these columns of the schema: {', '.join(lacking)}")

    def chunks(
        self, groups: Sequence[RowGroup], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[tuple[RowGroup, int, Any]]:
        """``(row group, table row of the chunk's first row, record batch)`` for each chunk of ``groups``.

        A slice of a row group is read from the row group's start (Parquet cannot seek inside one),
        its rows before the slice decoded and dropped.
        """
        pq = _parquet()
        opened: dict[int, Any] = {}
        try:
            for group in groups:
                if group.file not in opened:
                    for old in opened.values():
                        old.close()
                    opened = {
                        group.file: pq.ParquetFile(self.files[group.file], buffer_size=_READ_BUFFER_BYTES)
                    }
                parquet = opened[group.file]
                position = 0
                batches = parquet.iter_batches(
                    batch_size=chunk_rows, row_groups=[group.index], columns=list(columns), use_threads=False
                )
                for batch in batches:
                    low, high = position, position + batch.num_rows
                    position = high
                    if high <= group.start:
                        continue
                    if low >= group.stop:
                        break
                    first, last = max(low, group.start), min(high, group.stop)
                    yield group, group.table_row + first, batch.slice(first - low, last - first)
        finally:
            for old in opened.values():
                old.close()


def _check_types(file: Path, schema: Any) -> None:
    """Refuse columns of bytes, lists or records: a cell is a number, text or true/false."""
    import pyarrow as pa

    for column in schema:
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if (
            pa.types.is_nested(kind)
            or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
        ):
            raise DataError(
                f"{file}: column {column.name!r} holds {kind} values; vaekit reads numbers, text and "
                "true/false cells"
            )


# --- which rows are held out ------------------------------------------------------------------------------


def _uniform(rows: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) for each row number: the splitmix64 hash of (row, seed), deterministic."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class StreamSplit:
    """Test, validation and training parts by a seeded hash of the row number.

    A row with hash ``u`` is a test row when ``u < test_fraction``, a validation row when
    ``u < test_fraction + (1 - test_fraction) * val_fraction``, a training row otherwise: the
    shares of the in-memory path, without a permutation of the whole table.
    """

    seed: int
    val_fraction: float = 0.1
    test_fraction: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise DataError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not 0 <= self.test_fraction < 1:
            raise DataError(f"test_fraction must be in [0, 1), got {self.test_fraction}")

    def bounds(self, part: str) -> tuple[float, float]:
        """The range of hash values of ``part``."""
        val_end = self.test_fraction + (1 - self.test_fraction) * self.val_fraction
        return {
            "test": (0.0, self.test_fraction),
            "val": (self.test_fraction, val_end),
            "train": (val_end, 1.0),
        }[part]

    def uniform(self, rows: np.ndarray) -> np.ndarray:
        return _uniform(rows, self.seed)

    def mask(self, part: str, rows: np.ndarray) -> np.ndarray:
        low, high = self.bounds(part)
        u = self.uniform(rows)
        return (u >= low) & (u < high)

    def count(self, part: str, start: int, stop: int, *, step: int = 1 << 20) -> int:
        """Rows of ``part`` among the table rows ``[start, stop)``, computed in bounded pieces."""
        return sum(
            int(self.mask(part, np.arange(low, min(low + step, stop), dtype=np.uint64)).sum())
            for low in range(start, stop, step)
        )


# --- schema from a sample ----------------------------------------------------------------------------


_ROW_IN_MESSAGE = re.compile(r"at row (\d+)")


def _located(error: DataError, locate: Callable[[int], tuple[str, int]], hint: str = "") -> DataError:
    """``error`` with its row (counted in the frame that failed) told as a row of a file."""

    def replace(match: re.Match[str]) -> str:
        name, row = locate(int(match.group(1)) - 1)
        return f"at row {row + 1} of {name}"

    message = _ROW_IN_MESSAGE.sub(replace, str(error), count=1)
    return DataError(message + hint)


def schema_sample(
    source: ParquetSource, rows: int, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """About ``rows`` rows spread over the row groups (the first rows of each) and their table rows."""
    if rows < 1:
        raise DataError(f"the schema sample needs at least 1 row, got {rows}")
    groups = list(source.row_groups)
    if len(groups) > rows:
        groups = [groups[int(i)] for i in np.linspace(0, len(groups) - 1, rows).round()]
    quota, extra = divmod(rows, len(groups))
    frames, numbers = [], []
    wanted = list(columns or source.columns)
    for k, group in enumerate(groups):
        take = min(quota + (k < extra), group.num_rows)
        if take == 0:
            continue
        piece = RowGroup(
            group.file, group.index, group.start, group.start + take, group.file_row, group.table_row
        )
        for _, first, batch in source.chunks([piece], wanted, take):
            frames.append(batch.to_pandas())
            numbers.append(np.arange(first, first + batch.num_rows))
    return pd.concat(frames, ignore_index=True), np.concatenate(numbers)


def infer_stream_schema(
    source: ParquetSource,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    *,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
) -> tuple[Schema, int]:
    """Infer and fit the schema on a sample spread over the row groups; it is fixed from then on.

    Returns the fitted schema and the number of rows of the sample.
    """
    sample, numbers = schema_sample(source, sample_rows)
    try:
        schema = fit_schema(infer_schema(sample, overrides), sample)
    except DataError as error:
        raise _located(
            error,
            lambda row: source.locate(int(numbers[row])),
            f" (in the sample of {len(sample)} rows the schema is inferred from)",
        ) from None
    return schema, len(sample)


def _schema_hint(sample_size: int | None) -> str:
    sample = f"a sample of {sample_size} rows" if sample_size else "a sample"
    return (
        f" (the schema was fixed from {sample} spread over the table: sample more rows with "
        "--sample-rows, or declare the column's kind in a schema file with --schema)"
    )


def _encode(
    schema: Schema,
    source: ParquetSource,
    first_row: int,
    batch: Any,
    mask: np.ndarray | None,
    sample_size: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode the rows of a record batch (those of ``mask``) as the in-memory path would."""
    chosen = batch if mask is None else batch.filter(mask)
    try:
        encoded = encode_table(schema, chosen.to_pandas())
    except DataError as error:
        if mask is not None:
            # Encode the whole chunk to learn the row that failed, counted from the chunk's start.
            _encode(schema, source, first_row, batch, None, sample_size)
        raise _located(error, lambda row: source.locate(first_row + row), _schema_hint(sample_size)) from None
    return encoded.values, encoded.observed


# --- one pass over the whole table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """What one pass over a table found: rows per part, and bounded samples of held-out rows."""

    rows: dict[str, int]
    samples: dict[str, pd.DataFrame]


def _sample_threshold(split: StreamSplit, part: str, wanted: int, total_rows: int) -> float:
    """A hash threshold below which ``part`` has comfortably more than ``wanted`` rows."""
    low, high = split.bounds(part)
    margin = wanted + 5 * math.sqrt(wanted) + 10
    return min(high, low + margin / max(total_rows, 1))


def scan(
    source: ParquetSource,
    schema: Schema,
    split: StreamSplit,
    *,
    sample_parts: Sequence[str] = ("train", "test"),
    keep_rows: int = DEFAULT_EVAL_ROWS,
    validate: bool = True,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    schema_sample_size: int | None = None,
) -> Scan:
    """Read the whole table once: check every cell against ``schema`` (``validate``), count the rows of
    each part and keep, of each of ``sample_parts``, the ``keep_rows`` rows with the smallest hash
    (a seeded sample spread over the table), in table order. Memory: one chunk and the samples."""
    source.check_columns(schema.names)
    columns = schema.names
    rows = dict.fromkeys(PARTS, 0)
    thresholds = {part: _sample_threshold(split, part, keep_rows, source.num_rows) for part in sample_parts}
    kept: dict[str, list[tuple[np.ndarray, np.ndarray, pd.DataFrame]]] = {part: [] for part in sample_parts}
    for _, first, batch in source.chunks(source.row_groups, columns, chunk_rows):
        numbers = np.arange(first, first + batch.num_rows, dtype=np.uint64)
        if validate:
            _encode(schema, source, first, batch, None, schema_sample_size)
        u = split.uniform(numbers)
        for part in PARTS:
            low, high = split.bounds(part)
            rows[part] += int(((u >= low) & (u < high)).sum())
        for part, threshold in thresholds.items():
            low, _ = split.bounds(part)
            chosen = (u >= low) & (u < threshold)
            if chosen.any():
                kept[part].append((numbers[chosen], u[chosen], batch.filter(chosen).to_pandas()))
        for part in sample_parts:
            kept[part] = _smallest(kept[part], keep_rows)
    samples = {}
    for part in sample_parts:
        pieces = kept[part]
        if pieces:
            order_numbers = np.concatenate([p[0] for p in pieces])
            frame = pd.concat([p[2] for p in pieces], ignore_index=True)
            frame = frame.iloc[np.argsort(order_numbers, kind="stable")].reset_index(drop=True)
        else:
            frame = pd.DataFrame({name: pd.Series(dtype=float) for name in columns})
        samples[part] = frame
    return Scan(rows, samples)


def _smallest(
    pieces: list[tuple[np.ndarray, np.ndarray, pd.DataFrame]], limit: int
) -> list[tuple[np.ndarray, np.ndarray, pd.DataFrame]]:
    """Keep the ``limit`` rows of smallest hash among ``pieces`` (one piece once over the limit)."""
    total = sum(len(p[0]) for p in pieces)
    if total <= limit:
        return pieces
    numbers = np.concatenate([p[0] for p in pieces])
    u = np.concatenate([p[1] for p in pieces])
    frame = pd.concat([p[2] for p in pieces], ignore_index=True)
    keep = np.sort(np.argpartition(u, limit - 1)[:limit])
    return [(numbers[keep], u[keep], frame.iloc[keep].reset_index(drop=True))]


# --- the stream of batches ---------------------------------------------------------------------------------


def _distributed() -> tuple[int, int]:
    """``(rank, world size)`` of ``torch.distributed`` when initialised, else ``(0, 1)``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


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
        return recorded if recorded is not None else _distributed()

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
            values, observed = _encode(self.schema, self.source, first, batch, mask, self.sample_size)
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
        self.dataset.recorded_rank_and_world = _distributed()  # type: ignore[attr-defined]
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
