"""Data: examples read from disk, checked, encoded as tensors, and served in batches.

* **Images** (:mod:`~vaekit.data.images`, :mod:`~vaekit.data.idx`): scikit-learn's digits, MNIST,
  Fashion-MNIST and any folder of IDX files, as an :class:`ImageDataset` of ``[0, 1]`` tensors.
* **Tables** (:mod:`~vaekit.data.tabular`): CSV or Parquet files (read by
  :mod:`~vaekit.data.table_files`), each column's kind (:mod:`~vaekit.data.column_kinds`) and family
  inferred or read from a schema file (:func:`infer_schema`, :func:`fit_schema`), encoded as values
  and an observed mask (:func:`encode_table`) and decoded back (:func:`decode_table`); cells are read
  as numbers or levels by :mod:`~vaekit.data.cells`, and :mod:`~vaekit.data.seed_data` draws
  reference data with a known density (:func:`seed_table`).
* **Sequences** (:mod:`~vaekit.data.sequences`): long tables of id, time and value columns, checked,
  padded to the longest sequence (:func:`encode_sequences`) and decoded back.
* **Streaming** (:mod:`~vaekit.data.streaming`): tables larger than memory, read from Parquet chunk by
  chunk with a schema fixed from a sample and a hashed split (:class:`StreamingTable`).
* **Loaders** (:mod:`~vaekit.data.loaders`): in-memory tensors served as whole batches, sharded by
  process under distributed training (:func:`batch_loader`).
"""

from vaekit.data import streaming as streaming
from vaekit.data.idx import read_idx as read_idx
from vaekit.data.idx import write_idx as write_idx
from vaekit.data.images import DATASET_NAMES as DATASET_NAMES
from vaekit.data.images import ImageDataset as ImageDataset
from vaekit.data.images import default_cache_dir as default_cache_dir
from vaekit.data.images import download_dataset as download_dataset
from vaekit.data.images import find_dataset_folder as find_dataset_folder
from vaekit.data.images import load_digits_dataset as load_digits_dataset
from vaekit.data.images import load_idx_folder as load_idx_folder
from vaekit.data.images import load_image_dataset as load_image_dataset
from vaekit.data.loaders import batch_loader as batch_loader
from vaekit.data.seed_data import seed_table as seed_table
from vaekit.data.sequences import EncodedSequences as EncodedSequences
from vaekit.data.sequences import SequenceColumns as SequenceColumns
from vaekit.data.sequences import decode_sequences as decode_sequences
from vaekit.data.sequences import encode_sequences as encode_sequences
from vaekit.data.sequences import resolve_columns as resolve_columns
from vaekit.data.sequences import sequence_schema as sequence_schema
from vaekit.data.streaming import ParquetSource as ParquetSource
from vaekit.data.streaming import StreamingTable as StreamingTable
from vaekit.data.streaming import StreamSplit as StreamSplit
from vaekit.data.streaming import infer_stream_schema as infer_stream_schema
from vaekit.data.streaming import streaming_loader as streaming_loader
from vaekit.data.table_files import read_schema_file as read_schema_file
from vaekit.data.table_files import read_table as read_table
from vaekit.data.tabular import EncodedTable as EncodedTable
from vaekit.data.tabular import decode_table as decode_table
from vaekit.data.tabular import encode_table as encode_table
from vaekit.data.tabular import fit_schema as fit_schema
from vaekit.data.tabular import infer_schema as infer_schema

__all__ = [
    "DATASET_NAMES",
    "EncodedSequences",
    "EncodedTable",
    "ImageDataset",
    "ParquetSource",
    "SequenceColumns",
    "StreamSplit",
    "StreamingTable",
    "batch_loader",
    "decode_sequences",
    "decode_table",
    "default_cache_dir",
    "download_dataset",
    "encode_sequences",
    "encode_table",
    "find_dataset_folder",
    "fit_schema",
    "infer_schema",
    "infer_stream_schema",
    "load_digits_dataset",
    "load_idx_folder",
    "load_image_dataset",
    "read_idx",
    "read_schema_file",
    "read_table",
    "resolve_columns",
    "seed_table",
    "sequence_schema",
    "streaming",
    "streaming_loader",
    "write_idx",
]
