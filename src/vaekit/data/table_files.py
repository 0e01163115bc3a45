"""Table files: reading a table from a CSV or Parquet file, and column overrides from a schema file.

Each reader refuses what it cannot read faithfully (binary files, repeated column names, rows with
more cells than the header names, Parquet cells that are neither numbers, text nor true/false) with a
one-line :class:`~vaekit.errors.DataError`; what each column holds is for the schema to decide
(:mod:`~vaekit.data.tabular`).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vaekit.data.cells import _first_bad_row, _format_number, quote_cell
from vaekit.errors import DataError
from vaekit.schema import kind_names


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV file (or a Parquet file, when pyarrow is installed) into a DataFrame.

    Empty cells become NaN; every other cell keeps its text until the schema decides what it is.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"table not found: {path}")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            table = pd.read_parquet(path)
        except ImportError:
            raise DataError(f"reading {path} needs pyarrow: pip install pyarrow") from None
        except Exception as error:  # pyarrow raises many types for a bad file
            raise DataError(f"cannot read Parquet file {path}: {_first_line(error)}") from None
        if table.shape[0] == 0:
            raise DataError(f"Parquet file {path} has no rows")
        return _check_cells(path, table)
    _check_header(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: a row with a trailing comma must not shift its values into another column.
            table = pd.read_csv(path, dtype=str, index_col=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty: it has no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"cannot parse {path} as CSV: {_first_line(error)}") from None
    for warning in caught:
        if issubclass(warning.category, pd.errors.ParserWarning):
            # pandas warns, and drops the extra cells, when a row has more fields than the header.
            _check_row_lengths(path, table.shape[1])
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if table.shape[0] == 0:
        raise DataError(f"{path} has a header but no rows")
    return table


def _first_line(error: BaseException) -> str:
    """An exception's message cut to its first line, for one-line errors."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _check_header(path: Path) -> None:
    """Refuse binary files and repeated column names, which pandas would silently rename."""
    import csv

    try:
        with open(path, "rb") as stream:
            offset = 0
            for block in iter(lambda: stream.read(1 << 20), b""):
                if b"\0" in block:
                    at = offset + block.index(b"\0")
                    raise DataError(
                        f"{path} holds a NUL byte at offset {at}: it is not a UTF-8 CSV file "
                        "(a binary file, or UTF-16 text?)"
                    )
                offset += len(block)
        # utf-8-sig: a byte order mark is not part of the first name (pandas drops it too).
        with open(path, newline="", encoding="utf-8-sig") as stream:
            header = next(csv.reader(stream), [])
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text") from None
    except csv.Error as error:
        raise DataError(f"cannot parse {path} as CSV: {error}") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    names = [name.strip() for name in header]
    if len(names) == 1:
        for separator, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if separator in names[0]:
                raise DataError(
                    f"{path} reads as a single column named {quote_cell(names[0], 40)}: its header is "
                    f"separated by {word}, and vaekit reads comma-separated files; write it with commas "
                    "(pandas: pd.read_csv(path, sep=None, engine='python').to_csv(new_path, index=False))"
                )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        shown = ", ".join(name if name.isprintable() and name else repr(name) for name in repeated)
        raise DataError(f"{path} repeats these column names: {shown}")


def _check_row_lengths(path: Path, width: int) -> None:
    """Refuse a row with more cells than the header names columns (empty extra cells are harmless)."""
    import csv

    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream, skipinitialspace=True)
        try:
            next(reader, None)
            for fields in reader:
                if any(field.strip() for field in fields[width:]):
                    raise DataError(
                        f"{path}: line {reader.line_num} has {len(fields)} cells but the header names "
                        f"{width} columns; remove the extra cells or name their columns in the header"
                    )
        except csv.Error as error:
            raise DataError(f"cannot parse {path} as CSV: {error}") from None


def _check_cells(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Refuse Parquet columns of bytes, lists or records: a cell is a number, text or true/false."""
    for name in table.columns:
        column = table[name]
        if column.dtype != object:
            continue
        nested = column.map(lambda cell: isinstance(cell, bytes | bytearray | list | dict | np.ndarray))
        if nested.any():
            row = _first_bad_row(nested.astype(bool))
            raise DataError(
                f"Parquet file {path}: column {name!r} holds {type(column.iloc[row]).__name__} values (row "
                f"{row + 1}); vaekit reads numbers, text and true/false cells"
            )
    return table


#: The key of a schema file's list of constraints between columns (:mod:`vaekit.data.constraints`),
#: beside its columns; a column of that name is still declared as any other (its entry is a mapping
#: with a kind, or a kind's name: :func:`declares_constraints`).
CONSTRAINTS_KEY = "constraints"


def declares_constraints(overrides: Mapping[str, Any]) -> bool:
    """Whether ``overrides`` (a schema file's content) hold constraints under :data:`CONSTRAINTS_KEY`:
    anything there but a column's entry (a mapping with a kind, or the name of a kind), so that a
    malformed list is reported as constraints, not as a column named ``constraints``."""
    if CONSTRAINTS_KEY not in overrides:
        return False
    entry = overrides[CONSTRAINTS_KEY]
    column = (isinstance(entry, Mapping) and "kind" in entry) or (
        isinstance(entry, str) and entry in kind_names()
    )
    return not column


def read_schema_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read column overrides from JSON, YAML or TOML: ``{column: {"kind": ..., "family": ...}}``.

    A column may also map to a kind alone (``{"age": "count"}``). Top-level ``columns:`` may wrap
    the mapping. Besides ``kind`` and ``family`` a column may declare ``min`` and ``max`` (numbers:
    the range synthetic and imputed values are kept in), ``decimals`` (a whole number), ``step`` (the
    grid values are snapped to when written back; 0 for none), ``spikes`` (a list of numbers: a
    spiked column's spikes) and ``levels`` (a list: an ordinal column's levels, in order). A
    top-level ``constraints:`` list declares constraints between columns (``debt <= income``,
    ``{combinations: [city, region]}``), kept under :data:`CONSTRAINTS_KEY` in the result.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"schema file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a byte order mark is no key
    except UnicodeDecodeError:
        raise DataError(f"schema file {path} is not UTF-8 text") from None
    except OSError as error:
        raise DataError(f"cannot read schema file {path}: {error.strerror or error}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            raise DataError(f"schema file {path} must end in .json, .yaml, .yml or .toml")
    except DataError:
        raise
    except Exception as error:  # each parser has its own error types
        raise DataError(f"cannot parse schema file {path}: {_first_line(error)}") from None
    constraints = None
    if isinstance(data, dict) and declares_constraints(data):
        data = dict(data)
        constraints = data.pop(CONSTRAINTS_KEY)
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or (not data and constraints is None):
        raise DataError(f"schema file {path} must map column names to kinds")
    overrides: dict[str, Any] = {}
    if constraints is not None:
        # Read by vaekit.data.constraints when the schema is inferred, once the columns are known.
        overrides[CONSTRAINTS_KEY] = constraints
    for name, entry in data.items():
        if isinstance(entry, str):
            entry = {"kind": entry}
        if not isinstance(entry, dict) or "kind" not in entry:
            raise DataError(f"schema file {path}: column {name!r} needs a kind")
        unknown = set(entry) - {"kind", "family", *_DECLARED_CONSTRAINTS}
        if unknown:
            # repr as the key: YAML keys may be numbers or null, which do not sort with text.
            raise DataError(
                f"schema file {path}: column {name!r} has unknown keys {sorted(unknown, key=repr)}"
            )
        for key, value in entry.items():
            if key in _DECLARED_CONSTRAINTS:
                entry[key] = _DECLARED_CONSTRAINTS[key](path, name, value)
            # Only text: str() of a nested value (a YAML alias bomb) could take forever.
            elif not isinstance(value, str):
                kind = type(value).__name__
                raise DataError(f"schema file {path}: the {key} of column {name!r} must be text, not {kind}")
        overrides[str(name)] = dict(entry)
    return overrides


#: Most levels a schema file may declare for one column.
MAX_DECLARED_LEVELS = 10_000
#: Most spikes a schema file may declare for one column (each is a logit of its head).
MAX_DECLARED_SPIKES = 100


def _declared_number(path: Path, name: Any, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"schema file {path}: the min and max of column {name!r} must be finite numbers")
    return float(value)


def _declared_decimals(path: Path, name: Any, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
        raise DataError(f"schema file {path}: the decimals of column {name!r} must be a whole number 0..15")
    return value


def _declared_step(path: Path, name: Any, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise DataError(f"schema file {path}: the step of column {name!r} must be a number >= 0 (0: no grid)")
    return float(value)


def _declared_spikes(path: Path, name: Any, value: Any) -> list[float]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_DECLARED_SPIKES:
        raise DataError(
            f"schema file {path}: the spikes of column {name!r} must be a list of 1 to "
            f"{MAX_DECLARED_SPIKES} numbers"
        )
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in value):
        raise DataError(f"schema file {path}: the spikes of column {name!r} must be finite numbers")
    if len(set(value)) < len(value):
        raise DataError(f"schema file {path}: column {name!r} declares a spike twice")
    return sorted(float(v) for v in value)


def _declared_levels(path: Path, name: Any, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_DECLARED_LEVELS:
        raise DataError(
            f"schema file {path}: the levels of column {name!r} must be a list of 1 to 10,000 levels"
        )
    levels = []
    for level in value:
        if isinstance(level, bool) or not isinstance(level, str | int | float):
            raise DataError(f"schema file {path}: the levels of column {name!r} must be text or numbers")
        levels.append(level if isinstance(level, str) else _format_number(level))
    if len(set(levels)) < len(levels):
        raise DataError(f"schema file {path}: column {name!r} declares a level twice")
    return levels


#: What a schema file may declare of a column beyond its kind and family, each with its check:
#: ``min`` and ``max`` (the range values are kept in), ``decimals``, the ``step`` of a grid values are
#: snapped to (0: none), a spiked column's ``spikes`` and ordered ``levels``.
_DECLARED_CONSTRAINTS = {
    "min": _declared_number,
    "max": _declared_number,
    "decimals": _declared_decimals,
    "step": _declared_step,
    "spikes": _declared_spikes,
    "levels": _declared_levels,
}
