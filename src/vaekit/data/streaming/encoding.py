"""Chunks of a streamed table encoded as the in-memory path encodes a table, with errors told by file.

A value outside the fixed schema is a :class:`~vaekit.errors.DataError` naming the column, the file
and the row within that file, never a silent change to the schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from vaekit.data.streaming.source import ParquetSource
from vaekit.data.tabular import encode_table
from vaekit.errors import DataError
from vaekit.schema import Schema

_ROW_IN_MESSAGE = re.compile(r"at row (\d+)")


def located_error(error: DataError, locate: Callable[[int], tuple[str, int]], hint: str = "") -> DataError:
    """``error`` with its row (counted in the frame that failed) told as a row of a file."""

    def replace(match: re.Match[str]) -> str:
        name, row = locate(int(match.group(1)) - 1)
        return f"at row {row + 1} of {name}"

    message = _ROW_IN_MESSAGE.sub(replace, str(error), count=1)
    return DataError(message + hint)


def schema_hint(sample_size: int | None) -> str:
    """What to do about a value the schema, fixed from a sample, does not admit."""
    sample = f"a sample of {sample_size} rows" if sample_size else "a sample"
    return (
        f" (the schema was fixed from {sample} spread over the table: sample more rows with "
        "--sample-rows, or declare the column's kind in a schema file with --schema)"
    )


def encode_chunk(
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
            encode_chunk(schema, source, first_row, batch, None, sample_size)
        hint = schema_hint(sample_size)
        raise located_error(error, lambda row: source.locate(first_row + row), hint) from None
    return encoded.values, encoded.observed
