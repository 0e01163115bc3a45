"""One pass over a whole streamed table before training: every cell checked against the schema, the
rows of each part counted, and bounded samples of held-out rows kept for evaluation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaekit.data.streaming.encoding import encode_chunk
from vaekit.data.streaming.source import DEFAULT_CHUNK_ROWS, ParquetSource
from vaekit.data.streaming.split import PARTS, StreamSplit
from vaekit.schema import Schema

#: Held-out rows on which a streamed run's test metrics are computed.
DEFAULT_EVAL_ROWS = 10_000


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
            encode_chunk(schema, source, first, batch, None, schema_sample_size)
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
