"""Sequences in long format: one row per sequence and time step, read, checked, padded and decoded.

A long table has an id column (which sequence a row belongs to), a time column (where in the
sequence the row lies: numbers or dates) and value columns (what was measured at that step)::

    id,t,temperature,pressure
    a,0,20.1,1013
    a,1,20.4,1011
    b,0,18.0,1020
    ...

Sequences keep the order in which their ids first appear; the steps of a sequence are sorted by
time (the time stamps order the steps; their spacing is not modelled). Dates are read as instants:
a UTC offset is honoured (so a change of daylight saving time orders the steps rightly) and a stamp
without one is taken as UTC, with a warning when a column mixes the two. Every value column is
real (a Normal likelihood) unless a schema file declares another kind, as for tables
(:mod:`vaekit.data.tabular`); empty cells are missing values. Encoded sequences are padded to the
longest one, with their lengths beside them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from vaekit.data.cells import quote_cell
from vaekit.data.column_kinds import kind_named
from vaekit.data.table_files import CONSTRAINTS_KEY
from vaekit.data.tabular import decode_table, encode_table, fit_schema, safe_fill
from vaekit.errors import DataError, VaekitWarning
from vaekit.schema import ColumnSpec, Schema


@dataclass(frozen=True)
class SequenceColumns:
    """Which columns of a long table hold the sequence id, the time stamp and the values."""

    id: str
    time: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class EncodedSequences:
    """Sequences as padded tensors.

    Attributes
    ----------
    ids:
        Each sequence's id, as written in the table.
    values:
        ``(sequences, steps, columns)`` float: numbers in their original units, level codes for
        binary and categorical columns; missing cells and padded steps hold a value of the
        column family's support.
    observed:
        ``(sequences, steps, columns)`` bool: False where a cell is missing or a step is padding.
    lengths:
        ``(sequences,)`` long: the real steps of each sequence.
    """

    ids: tuple[str, ...]
    values: torch.Tensor
    observed: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: Sequence[int] | np.ndarray | torch.Tensor) -> EncodedSequences:
        """The sequences at ``index``, in that order."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return EncodedSequences(
            tuple(self.ids[i] for i in index.tolist()),
            self.values[index],
            self.observed[index],
            self.lengths[index],
        )


def resolve_columns(
    table: pd.DataFrame, id_column: str, time_column: str, value_columns: Sequence[str] | None = None
) -> SequenceColumns:
    """Check that the named columns exist; the value columns default to all the others."""
    names = [str(name) for name in table.columns]
    _require_columns(table, {"--id": id_column, "--time": time_column})
    if id_column == time_column:
        raise DataError(f"--id and --time name the same column {id_column!r}")
    if value_columns:
        values = tuple(value_columns)
        lacking = [name for name in values if name not in names]
        if lacking:
            raise DataError(
                f"--value names columns the table lacks: {', '.join(lacking)}; "
                f"its columns are {', '.join(names)}"
            )
        clash = [name for name in values if name in (id_column, time_column)]
        if clash:
            raise DataError(f"--value names the id or time column: {', '.join(clash)}")
        if len(set(values)) < len(values):
            raise DataError("--value names a column more than once")
    else:
        values = tuple(name for name in names if name not in (id_column, time_column))
        if not values:
            raise DataError(f"the table has no value columns besides {id_column!r} and {time_column!r}")
    return SequenceColumns(id_column, time_column, values)


def _require_columns(table: pd.DataFrame, roles: Mapping[str, str]) -> None:
    names = [str(name) for name in table.columns]
    for role, name in roles.items():
        if name not in names:
            raise DataError(f"{role} column {name!r} is not in the table; its columns are {', '.join(names)}")


#: A time of day followed by a UTC offset at the end of a stamp: Z, UTC, +01, +0100 or +01:00.
_UTC_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def _time_keys(column: pd.Series, name: str, ids: pd.Series) -> pd.Series:
    """Time stamps as sortable keys: numbers, or else dates; a clear error for anything else."""
    text = column.astype("string").str.strip()
    empty = text.isna() | (text == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(
            f"time column {name!r} is empty at row {row + 1} (sequence {quote_cell(ids.iloc[row], 30)})"
        )
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        if not np.isfinite(numbers.to_numpy(dtype=float)).all():
            row = int(np.flatnonzero(~np.isfinite(numbers.to_numpy(dtype=float)))[0])
            raise DataError(f"time column {name!r} holds {quote_cell(text.iloc[row])} at row {row + 1}")
        return numbers.astype(float)
    # Instants: a UTC offset is honoured (02:30+01:00 and 03:30+02:00 are one instant, across a change
    # of daylight saving time), and a stamp without one is read as UTC.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas' "could not infer format"
        dates = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    if dates.notna().all():
        with_offset = text.str.contains(_UTC_OFFSET, regex=True)
        if with_offset.any() and not with_offset.all():
            row = int(np.flatnonzero(~with_offset.to_numpy())[0])
            warnings.warn(
                f"time column {name!r} mixes time stamps with and without a UTC offset (row {row + 1}: "
                f"{quote_cell(text.iloc[row])}); those without one are read as UTC",
                VaekitWarning,
                stacklevel=2,
            )
        return dates
    bad = numbers.isna() & dates.isna()
    row = int(np.flatnonzero(bad.to_numpy())[0])
    raise DataError(
        f"time column {name!r} holds {quote_cell(text.iloc[row])} at row {row + 1} "
        f"(sequence {quote_cell(ids.iloc[row], 30)}), which is neither a number nor a date"
    )


@dataclass(frozen=True)
class SequenceLayout:
    """Where each row of a long table goes: its sequence and its step, in the table's row order.

    Attributes
    ----------
    ids:
        The sequences' ids, in order of first appearance.
    sequence:
        ``(rows,)``: each row's sequence, an index into ``ids``.
    step:
        ``(rows,)``: each row's position in its sequence once sorted by time (0 first).
    lengths:
        ``(sequences,)``: the steps of each sequence.
    """

    ids: tuple[str, ...]
    sequence: np.ndarray
    step: np.ndarray
    lengths: np.ndarray


def sequence_layout(table: pd.DataFrame, columns: SequenceColumns) -> SequenceLayout:
    """Group the rows by sequence and order each sequence's steps by time.

    Refuses a row without an id or time stamp, time stamps that are neither numbers nor dates,
    two rows of one sequence at the same time, and a sequence of a single step. Row numbers in
    the messages count the table's rows from 1.
    """
    _require_columns(table, {"id": columns.id, "time": columns.time})
    if len(table) == 0:
        raise DataError("the table has no rows")
    ids = table[columns.id].astype("string").str.strip()
    missing = ids.isna() | (ids == "")
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(f"id column {columns.id!r} is empty at row {row + 1}; every row needs a sequence id")
    times = _time_keys(table[columns.time], columns.time, ids)
    codes, uniques = pd.factorize(ids)
    keys = pd.DataFrame({"sequence": codes, "time": times.to_numpy()})
    duplicated = keys.duplicated(keep=False).to_numpy()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        same = np.flatnonzero(
            duplicated & (codes == codes[first]) & (keys["time"] == keys["time"].iloc[first]).to_numpy()
        )
        raise DataError(
            f"sequence {str(ids.iloc[first])!r} has more than one row at time "
            f"{str(table[columns.time].iloc[first]).strip()!r} "
            f"(rows {', '.join(str(r + 1) for r in same[:5])}); "
            "each step of a sequence needs its own time stamp"
        )
    lengths = np.bincount(codes)
    single = np.flatnonzero(lengths == 1)
    if len(single):
        names = ", ".join(repr(str(uniques[i])) for i in single[:5])
        more = f" and {len(single) - 5} more" if len(single) > 5 else ""
        raise DataError(
            f"sequence {names}{more} has a single step; a sequence needs at least 2 steps "
            "(drop it, or check the --id column)"
        )
    order = keys.sort_values(["sequence", "time"], kind="stable").index.to_numpy()
    step = np.empty(len(table), dtype=np.int64)
    step[order] = keys["sequence"].iloc[order].groupby(codes[order]).cumcount().to_numpy()
    return SequenceLayout(tuple(str(i) for i in uniques), codes.astype(np.int64), step, lengths)


def sequence_schema(
    table: pd.DataFrame,
    columns: SequenceColumns,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Schema:
    """The fitted schema of the value columns: real (Normal) unless ``overrides`` give a kind.

    A text cell in a numeric value column is an error that names the column, the row and the
    sequence; declare such a column binary or categorical in a schema file instead.
    """
    overrides = dict(overrides or {})
    if isinstance(overrides.get(CONSTRAINTS_KEY), list):
        raise DataError(
            "the schema file declares constraints between columns, which only tables take; a sequence "
            "schema names the value columns' kinds"
        )
    unknown = [name for name in overrides if name not in columns.values]
    if unknown:
        raise DataError(f"the schema names columns that are not value columns: {', '.join(unknown)}")
    specs = []
    for name in columns.values:
        entry = overrides.get(name)
        spec = ColumnSpec(name, entry["kind"], entry.get("family", "")) if entry else ColumnSpec(name, "real")
        specs.append(spec)
    schema = Schema(tuple(specs))
    check_value_cells(schema, table, columns)
    return fit_schema(schema, table)


def check_value_cells(schema: Schema, table: pd.DataFrame, columns: SequenceColumns) -> None:
    """Refuse text in a numeric value column, naming the column, row and sequence."""
    for spec in schema.columns:
        if kind_named(spec.kind).has_levels or spec.name not in table.columns:
            continue
        column = table[spec.name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        text = column.astype("string").str.strip()
        present = text.notna() & (text != "")
        bad = present & pd.to_numeric(text.where(present), errors="coerce").isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"value column {spec.name!r} holds the text {quote_cell(text.iloc[row])} at row {row + 1} "
                f"(sequence {str(table[columns.id].iloc[row]).strip()!r}); value columns hold numbers: "
                "fix the cell, leave it empty, or declare the column binary or categorical in a schema file"
            )


def encode_sequences(schema: Schema, table: pd.DataFrame, columns: SequenceColumns) -> EncodedSequences:
    """Check and encode a long table with a fitted schema, padded to its longest sequence.

    A clear error names the column, row (and sequence) of any bad cell: see
    :func:`sequence_layout` and :func:`check_value_cells`; cells are then checked as in a table
    (:func:`~vaekit.data.tabular.encode_table`). Columns the schema does not name are ignored.
    """
    layout = sequence_layout(table, columns)
    check_value_cells(schema, table, columns)
    flat = encode_table(schema, table)
    sequences, steps = len(layout.ids), int(layout.lengths.max())
    fill = torch.tensor([safe_fill(spec) for spec in schema.columns], dtype=torch.float32)
    values = fill.repeat(sequences, steps, 1)
    observed = torch.zeros((sequences, steps, len(schema.columns)), dtype=torch.bool)
    where = (torch.from_numpy(layout.sequence), torch.from_numpy(layout.step))
    values[where] = flat.values
    observed[where] = flat.observed
    return EncodedSequences(layout.ids, values, observed, torch.from_numpy(layout.lengths).long())


def decode_sequences(
    schema: Schema,
    values: torch.Tensor | np.ndarray,
    lengths: torch.Tensor | np.ndarray,
    columns: SequenceColumns,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Padded encoded values ``(sequences, steps, columns)`` back to a long table.

    The time column holds each step's position (0, 1, ...); ids default to 1, 2, ...
    """
    values = np.asarray(values)
    lengths = np.asarray(lengths, dtype=np.int64)
    ids = list(ids) if ids is not None else [str(i + 1) for i in range(len(lengths))]
    valid = np.arange(values.shape[1])[None, :] < lengths[:, None]
    decoded = decode_table(schema, values[valid])
    decoded.insert(0, columns.time, np.concatenate([np.arange(n) for n in lengths]))
    decoded.insert(0, columns.id, np.repeat(np.asarray(ids, dtype=object), lengths))
    return decoded
