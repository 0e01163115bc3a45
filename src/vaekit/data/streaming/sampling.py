"""The schema of a streamed table, inferred and fitted on a sample of rows spread over its row groups.

The rules are those of the in-memory path (:func:`vaekit.data.tabular.infer_schema`,
:func:`~vaekit.data.tabular.fit_schema`); the schema is fixed from then on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vaekit.data.streaming.encoding import located_error
from vaekit.data.streaming.source import ParquetSource, RowGroup
from vaekit.data.tabular import fit_schema, infer_schema
from vaekit.errors import DataError
from vaekit.schema import Schema

#: Rows read to infer and fit the schema.
DEFAULT_SAMPLE_ROWS = 100_000


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
        raise located_error(
            error,
            lambda row: source.locate(int(numbers[row])),
            f" (in the sample of {len(sample)} rows the schema is inferred from)",
        ) from None
    return schema, len(sample)
