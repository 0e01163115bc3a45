"""Tables larger than memory, streamed from Parquet in chunks (the code lies in ``dataset``, to be
split into modules of one idea each; the public names are re-exported here)."""

from vaekit.data.streaming.dataset import (
    DEFAULT_BUFFER_ROWS,
    DEFAULT_CHUNK_ROWS,
    DEFAULT_EVAL_ROWS,
    DEFAULT_SAMPLE_ROWS,
    PARQUET_SUFFIXES,
    PARTS,
    ParquetSource,
    RowGroup,
    Scan,
    StreamingTable,
    StreamSplit,
    infer_stream_schema,
    scan,
    schema_sample,
    streaming_loader,
)

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
