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

One idea a module: :mod:`~vaekit.data.streaming.source` (the files), :mod:`~.split` (which rows are
held out), :mod:`~.sampling` (the schema from a sample), :mod:`~.encoding` (chunks encoded, errors
told by file and row), :mod:`~.checking` (the pass over the whole table), :mod:`~.dataset` (the
stream of batches) and :mod:`~.loader` (the epoch-counting ``DataLoader``). Their public names are
all here.
"""

from vaekit.data.streaming.checking import DEFAULT_EVAL_ROWS as DEFAULT_EVAL_ROWS
from vaekit.data.streaming.checking import Scan as Scan
from vaekit.data.streaming.checking import scan as scan
from vaekit.data.streaming.dataset import DEFAULT_BUFFER_ROWS as DEFAULT_BUFFER_ROWS
from vaekit.data.streaming.dataset import StreamingTable as StreamingTable
from vaekit.data.streaming.loader import streaming_loader as streaming_loader
from vaekit.data.streaming.sampling import DEFAULT_SAMPLE_ROWS as DEFAULT_SAMPLE_ROWS
from vaekit.data.streaming.sampling import infer_stream_schema as infer_stream_schema
from vaekit.data.streaming.sampling import schema_sample as schema_sample
from vaekit.data.streaming.source import DEFAULT_CHUNK_ROWS as DEFAULT_CHUNK_ROWS
from vaekit.data.streaming.source import PARQUET_SUFFIXES as PARQUET_SUFFIXES
from vaekit.data.streaming.source import ParquetSource as ParquetSource
from vaekit.data.streaming.source import RowGroup as RowGroup
from vaekit.data.streaming.split import PARTS as PARTS
from vaekit.data.streaming.split import StreamSplit as StreamSplit

__all__ = [
    "DEFAULT_BUFFER_ROWS",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_EVAL_ROWS",
    "DEFAULT_SAMPLE_ROWS",
    "PARQUET_SUFFIXES",
    "PARTS",
    "ParquetSource",
    "RowGroup",
    "Scan",
    "StreamSplit",
    "StreamingTable",
    "infer_stream_schema",
    "scan",
    "schema_sample",
    "streaming_loader",
]
