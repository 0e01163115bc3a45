"""Tables: schemas inferred from a table and fitted to it, and tables encoded as tensors and back.

A schema names each column's *kind* (what the values are) and *family* (the likelihood that
models them):

============ ======================================= ============================================
kind         values                                  families (default first)
============ ======================================= ============================================
real         any finite number                       normal, normal_mixture
positive     numbers > 0                             gamma, lognormal, lognormal_mixture
count        whole numbers >= 0                      poisson, negative_binomial, zero_inflated_nb
binary       two levels (0/1, true/false, yes/no...) bernoulli
categorical  a fixed set of levels seen in training  categorical, many_levels
ordinal      ordered levels (few-valued numbers)     ordinal
nonnegative  numbers >= 0 with a spike at 0          zero_lognormal
datetime     ISO 8601 dates and date-times           datetime_normal
spiked       numbers with spikes at a few values     spiked_normal
============ ======================================= ============================================

(``zero_inflated_nb`` stands for ``zero_inflated_negative_binomial``.)

Inference from a table, column by column (empty cells and NaN are missing values):

* identifiers (:func:`identifier_columns`: text almost all distinct, row numbers, whole numbers of 10
  or more digits almost all distinct) are left out of the model with a warning, and get fresh
  identifiers of their form in synthetic rows;
* all values numbers: only 0 and 1 -> binary; at most 15 distinct values, each seen at least 5 times
  -> ordinal; >= 0 with at least a fifth exactly 0 and more than 15 distinct positive values ->
  nonnegative; more than 15 distinct values, one of them a spike (at least 5% of the cells and 3
  times the share of each value next to it) -> spiked; all whole, >= 0 and at most 1e15 -> count;
  all > 0 -> positive; otherwise real (at most 1e15 in magnitude); the thresholds are in
  :mod:`~vaekit.data.column_kinds`;
* true/false values -> binary; ISO 8601 dates or date-times -> datetime;
* text -> categorical, except that a column whose values are numbers but for a few
  (at least 90%) is an error naming the first text cell, since that is almost always a typo;
* a column with no value at all is an error.

Fitting a schema to training data also records what the model needs to work in well-scaled
units (the centre and spread of each numeric column, on the log scale for positive and count
columns), the levels of binary, categorical and ordinal columns, the spikes of spiked columns, and
the range, decimals and grid of each numeric column, which decoding keeps synthetic and imputed
values to.

Each kind is a registered :class:`ColumnKind` (see :func:`register_kind`): its inference rule,
its checks, how its cells become numbers and how they are decoded back; the functions of this
module loop over the registered kinds and name none. Its likelihood families are registered on
the model side (:mod:`vaekit.models.families`).

The rest of the tabular path lives beside this module, and every name of it can still be imported
from here: the kinds and their registry in :mod:`~vaekit.data.column_kinds`, reading tables and
schema files (:func:`read_table`, :func:`read_schema_file`) in :mod:`~vaekit.data.table_files`, the
cell helpers they share in :mod:`~vaekit.data.cells`, and the reference data with a known density
(:func:`seed_table`, :func:`seed_log_density`) in :mod:`~vaekit.data.seed_data`.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from vaekit.data.cells import _first_bad_row, _level_text, _numbers
from vaekit.data.cells import quote_cell as quote_cell
from vaekit.data.column_kinds import MAX_COUNT as MAX_COUNT
from vaekit.data.column_kinds import MAX_LEVEL_CHARS as MAX_LEVEL_CHARS
from vaekit.data.column_kinds import MAX_REAL_MAGNITUDE as MAX_REAL_MAGNITUDE
from vaekit.data.column_kinds import BinaryKind as BinaryKind
from vaekit.data.column_kinds import CategoricalKind as CategoricalKind
from vaekit.data.column_kinds import ColumnKind as ColumnKind
from vaekit.data.column_kinds import CountKind as CountKind
from vaekit.data.column_kinds import LevelKind as LevelKind
from vaekit.data.column_kinds import NumberKind as NumberKind
from vaekit.data.column_kinds import PositiveKind as PositiveKind
from vaekit.data.column_kinds import RealKind as RealKind
from vaekit.data.column_kinds import ValueCheck as ValueCheck
from vaekit.data.column_kinds import kind_named as kind_named
from vaekit.data.column_kinds import register_kind as register_kind
from vaekit.data.column_kinds import registered_kinds as registered_kinds
from vaekit.data.column_kinds import unregister_kind as unregister_kind
from vaekit.data.constraints import declared_constraints, fit_constraints
from vaekit.data.seed_data import SeedDataParameters as SeedDataParameters
from vaekit.data.seed_data import seed_log_density as seed_log_density
from vaekit.data.seed_data import seed_table as seed_table
from vaekit.data.table_files import CONSTRAINTS_KEY, declares_constraints
from vaekit.data.table_files import read_schema_file as read_schema_file
from vaekit.data.table_files import read_table as read_table
from vaekit.errors import DataError, VaekitWarning
from vaekit.schema import ColumnSpec, IdentifierSpec, Schema, family_declaration

#: Whole numbers of at least this size, almost all distinct, are identifiers or time stamps (epoch
#: seconds have 10 digits, nanoseconds 19), not quantities: see :func:`identifier_columns`.
IDENTIFIER_MINIMUM = 1e9
_IDENTIFIER_DISTINCT_SHARE = 0.9
_IDENTIFIER_MINIMUM_VALUES = 20


# --- inference -------------------------------------------------------------------------------------


def _infer_kind(name: str, column: pd.Series) -> str:
    """The first registered kind, in inference order, that claims the column's cells."""
    numbers, present = _numbers(column)
    if not present.any():
        raise DataError(f"column {name!r} is entirely empty; drop it or fill it")
    parsed = numbers.notna() & present
    candidates = sorted(
        (kind for kind in registered_kinds() if kind.inference_rank is not None),
        key=lambda kind: kind.inference_rank,
    )
    if parsed.sum() < present.sum():
        text = column.astype("string").str.strip().str.lower()
        words = set(text[present].unique())
        share = parsed.sum() / present.sum()
        claimed = next((kind for kind in candidates if kind.claims_text(words, share)), None)
        if claimed is None:
            row = _first_bad_row(present & ~parsed)
            raise DataError(
                f"text {quote_cell(column.iloc[row])} in numeric column {name!r} at row {row + 1}; fix the "
                "cell, leave it empty, or declare the column categorical in a schema file"
            )
        return claimed.name
    values = numbers[present]
    if not np.isfinite(values).all():
        row = _first_bad_row(present & ~np.isfinite(numbers.fillna(0.0)))
        raise DataError(f"column {name!r} holds an infinite value at row {row + 1}")
    claimed = next((kind for kind in candidates if kind.claims_numbers(values)), None)
    if claimed is None:
        raise DataError(
            f"no kind of column fits the numbers of column {name!r}; declare one in a schema file"
        )
    return claimed.name


def _looks_like_identifiers(column: pd.Series) -> bool:
    """Identifiers or time stamps, not quantities: whole numbers of 10 or more digits, almost all
    distinct; whole numbers that are a run with no gap and no repeat (row numbers); or text of no
    spaces, almost all distinct, that is not dates (customer ids)."""
    numbers, present = _numbers(column)
    values = numbers[present].to_numpy(dtype=float)
    if len(values) < _IDENTIFIER_MINIMUM_VALUES:
        return False
    if np.isnan(values).any():
        # Numbers but for a few text cells are a typo, which inference names, not identifiers.
        return bool(np.isnan(values).mean() > 0.1) and _looks_like_text_identifiers(column[present])
    if not np.isfinite(values).all() or (values != np.round(values)).any():
        return False
    distinct = len(np.unique(values))
    if distinct == len(values) and values.max() - values.min() == len(values) - 1:
        return True  # row numbers
    if values.min() < IDENTIFIER_MINIMUM:
        return False
    return distinct >= _IDENTIFIER_DISTINCT_SHARE * len(values)


#: Longest identifier, in characters: longer unique cells are free text, not keys.
_IDENTIFIER_MAX_CHARS = 100


def _looks_like_text_identifiers(cells: pd.Series) -> bool:
    text = cells.astype("string").str.strip()
    if text.str.len().max() > _IDENTIFIER_MAX_CHARS or text.str.contains(r"\s").mean() > 0.1:
        return False
    if text.str.match(_ISO_DATE).mean() >= 0.5:
        return False  # dates, all distinct in a daily table: a datetime column
    return text.nunique() >= _IDENTIFIER_DISTINCT_SHARE * len(text)


_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
#: An identifier's form: a prefix without digits, a number, a suffix without digits (C-00042, 17).
_IDENTIFIER_FORM = r"^(\D*?)(\d+)(\D*)$"


def identifier_spec(name: str, position: int, column: pd.Series) -> IdentifierSpec:
    """The form of a column of identifiers (:class:`~vaekit.schema.IdentifierSpec`): the most common
    prefix, suffix and width of the number inside them, or their most common length when at least a
    tenth of them have no such form."""
    text = _level_text(column).dropna()
    length = int(text.str.len().mode().iloc[0]) if len(text) else 8
    numeric = pd.api.types.is_numeric_dtype(column) or bool(
        pd.to_numeric(text, errors="coerce").notna().all()
    )
    parts = text.str.extract(_IDENTIFIER_FORM)
    formed = parts[1].notna()
    if len(text) == 0 or formed.mean() < _IDENTIFIER_DISTINCT_SHARE:
        characters = sorted(set("".join(text.head(10_000))))
        alphabet = "".join(characters) if len(characters) <= _IDENTIFIER_MAX_CHARS else ""
        return IdentifierSpec(name, position, length=length, alphabet=alphabet)
    digits = parts[1][formed]
    padded = (digits.str.startswith("0") & (digits.str.len() > 1)).any()
    return IdentifierSpec(
        name,
        position,
        prefix=str(parts[0][formed].mode().iloc[0]),
        suffix=str(parts[2][formed].mode().iloc[0]),
        width=int(digits.str.len().mode().iloc[0]) if padded else 1,
        start=max(int(d) for d in digits) + 1,
        numeric=numeric,
        length=length,
    )


def fresh_identifiers(spec: IdentifierSpec, rows: int, seed: int = 0) -> np.ndarray:
    """``rows`` identifiers of the column's form that training never saw: numbers counted on from
    one past the largest seen, or random characters of the column's own (its hex digits, say), of its
    length."""
    if spec.width:
        numbers = range(spec.start, spec.start + rows)
        if spec.numeric and spec.start + rows < 2**63:
            return np.array(list(numbers), dtype=np.int64)
        return np.array([f"{spec.prefix}{n:0{spec.width}d}{spec.suffix}" for n in numbers], dtype=object)
    alphabet = np.array(list(spec.alphabet or "abcdefghijklmnopqrstuvwxyz0123456789"))
    drawn = np.random.default_rng(seed).choice(alphabet, size=(rows, max(spec.length, 1)))
    return np.array(["".join(row) for row in drawn], dtype=object)


def identifier_columns(table: pd.DataFrame, overrides: Mapping[str, Any] | None = None) -> list[str]:
    """Columns that :func:`infer_schema` leaves out of the model as identifiers: whole numbers of at
    least :data:`IDENTIFIER_MINIMUM` (10 digits), at least 90% of them distinct (ids, epoch seconds,
    nanoseconds: as counts they would cost millions of nats a row and teach the model nothing);
    whole numbers running from their smallest to their largest with no gap or repeat (row numbers);
    text without spaces, at least 90% of it distinct and not dates (customer ids: as a categorical,
    every one a level seen once). At least 20 values, and not named in ``overrides`` (except as
    ``identifier``)."""
    overrides = overrides or {}
    return [
        str(name)
        for name in table.columns
        if (
            overrides[name]["kind"] == "identifier"
            if name in overrides
            else _looks_like_identifiers(table[name])
        )
    ]


def infer_schema(table: pd.DataFrame, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Schema:
    """Infer each column's kind (see the module docstring), then apply ``overrides``.

    Columns named in ``overrides`` keep the given kind and family and are not inferred; an
    override naming a column the table lacks is an error. Columns of identifiers or time stamps
    written as large whole numbers (:func:`identifier_columns`) are left out of the schema, with a
    :class:`~vaekit.errors.VaekitWarning` naming them; name one in ``overrides`` to model it. The
    result still has to be fitted (:func:`fit_schema`) before encoding.
    """
    if table.shape[1] == 0:
        raise DataError("the table has no columns")
    if table.shape[0] == 0:
        raise DataError("the table has no rows")
    overrides = dict(overrides or {})
    # A schema file's constraints between columns sit beside its columns (read_schema_file).
    constraints = overrides.pop(CONSTRAINTS_KEY) if declares_constraints(overrides) else ()
    missing = [name for name in overrides if name not in table.columns]
    if missing:
        raise DataError(f"the schema names columns the table lacks: {', '.join(missing)}")
    left_out = identifier_columns(table, overrides)
    if left_out and len(left_out) == table.shape[1]:
        raise DataError(
            "every column looks like identifiers or time stamps (whole numbers of 10 or more digits, "
            f"almost all distinct): {', '.join(left_out)}; declare the kinds of those to model in a "
            "schema file"
        )
    identifiers = []
    for position, name in enumerate(table.columns):
        if str(name) in left_out:
            identifiers.append(identifier_spec(str(name), position, table[name]))
    if left_out:
        repeated = [
            f"{name!r} ({count:,} repeated)"
            for name in left_out
            if (count := int(table[name].notna().sum() - table[name].nunique())) > 0
        ]
        warnings.warn(
            f"left out of the model, as identifiers or time stamps (whole numbers of 10 or more digits "
            "almost all distinct, row numbers, or text almost all distinct): "
            f"{', '.join(repr(name) for name in left_out)}; synthetic rows get fresh identifiers of the "
            "same form"
            + (f"; identifiers repeated in {', '.join(repeated)} are accepted" if repeated else "")
            + "; declare a kind for one in a schema file to model it",
            VaekitWarning,
            stacklevel=2,
        )
    columns = []
    for name in table.columns:
        if str(name) in left_out:
            continue
        if name in overrides:
            columns.append(_declared_spec(str(name), overrides[name]))
        else:
            kind = kind_named(_infer_kind(str(name), table[name]))
            columns.append(ColumnSpec(str(name), kind.name, kind.infer_family(table[name])))
            kind.check_inferred(str(name), table[name])
    declared = declared_constraints(constraints, [c.name for c in columns], [i.name for i in identifiers])
    return Schema(tuple(columns), tuple(identifiers), declared)


def _declared_spec(name: str, entry: Mapping[str, Any]) -> ColumnSpec:
    """The column a schema file's entry declares: kind and family, and any declared range, decimals,
    step, spikes and levels, which fitting keeps as declared."""
    lower, upper = entry.get("min"), entry.get("max")
    if lower is not None and upper is not None and lower > upper:
        raise DataError(f"column {name!r}: the declared min {lower:g} is above the max {upper:g}")
    spec = ColumnSpec(
        name,
        entry["kind"],
        entry.get("family", ""),
        levels=tuple(entry.get("levels", ())),
        lower=lower,
        upper=upper,
        decimals=entry.get("decimals"),
        step=entry.get("step"),
        spikes=tuple(entry.get("spikes", ())),
    )
    if spec.levels and not kind_named(spec.kind).has_levels:
        raise DataError(f"column {name!r}: levels are declared, but a {spec.kind} column has none")
    if spec.spikes and not kind_named(spec.kind).has_spikes:
        raise DataError(f"column {name!r}: spikes are declared, but only a spiked column has spikes")
    if spec.step is not None and not kind_named(spec.kind).snaps_to_grid:
        raise DataError(
            f"column {name!r}: a step is declared, but a {spec.kind} column has no grid of numbers"
        )
    if spec.step and spec.decimals is not None:
        units = spec.step * 10**spec.decimals
        if abs(round(units) - units) > 1e-9 * max(1.0, units):
            raise DataError(
                f"column {name!r}: the declared step {spec.step:g} is no multiple of the declared "
                f"{spec.decimals} decimal(s): values on its grid could not be written"
            )
    return spec


def fit_schema(schema: Schema, table: pd.DataFrame) -> Schema:
    """Learn levels and scales of each column from training data (validating every cell)."""
    missing = [name for name in schema.names if name not in table.columns]
    if missing:
        raise DataError(f"the schema names columns the table lacks: {', '.join(missing)}")
    fitted = tuple(kind_named(spec.kind).fit(spec, table[spec.name]) for spec in schema.columns)
    return fit_constraints(Schema(fitted, schema.identifiers, schema.constraints), table)


def explain_divergence(schema: Schema, table: pd.DataFrame, *, ratio: float = 1e4) -> str:
    """The numeric columns whose values could explain a diverging loss, as a clause for its message.

    A column is named when some value lies more than ``ratio`` times its median absolute deviation
    from its median, on the scale the model works in (the log scale for positive and count columns):
    a few such values dominate the loss. Returns ``""`` when no column stands out.
    """
    suspects = []
    for spec in schema.columns:
        if kind_named(spec.kind).has_levels or spec.name not in table.columns:
            continue
        numbers, present = _numbers(table[spec.name])
        values = numbers[present].to_numpy(dtype=float)
        values = kind_named(spec.kind).model_scale(values[np.isfinite(values)])
        if len(values) < 2:
            continue
        median = np.median(values)
        deviation = np.abs(values - median)
        scale = max(float(np.median(deviation)), 1e-12 * max(abs(float(median)), 1.0))
        worst = int(np.argmax(deviation))
        if deviation[worst] > ratio * scale:
            suspects.append(
                f"{spec.name!r} (a value of {numbers[present].to_numpy()[worst]:.3g} "
                f"against a median of {float(np.median(numbers[present])):.3g})"
            )
    if not suspects:
        return ""
    return (
        f"; the data may explain it: extreme values in column{'s' if len(suspects) > 1 else ''} "
        f"{', '.join(suspects)}: remove or rescale them"
    )


# --- encoding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedTable:
    """A table as tensors.

    Attributes
    ----------
    values:
        ``(rows, columns)`` float: numbers in their original units, level codes for binary and
        categorical columns; missing cells hold a value of the column family's support.
    observed:
        ``(rows, columns)`` bool: False where the cell is missing.
    """

    values: torch.Tensor
    observed: torch.Tensor

    def __len__(self) -> int:
        return self.values.shape[0]


def encode_table(schema: Schema, table: pd.DataFrame) -> EncodedTable:
    """Encode ``table`` with a fitted schema; a clear error names the column (and row) of any bad cell.

    Columns of the table that the schema does not name are ignored; columns the schema names
    must be present. A level that training never saw is an error.
    """
    missing = [name for name in schema.names if name not in table.columns]
    if missing:
        raise DataError(f"the table lacks these columns of the model's schema: {', '.join(missing)}")
    if len(table) == 0:
        raise DataError("the table has no rows")
    values = np.zeros((len(table), len(schema.columns)), dtype=np.float32)
    observed = np.zeros((len(table), len(schema.columns)), dtype=bool)
    for j, spec in enumerate(schema.columns):
        numbers, present = kind_named(spec.kind).encode(spec, table[spec.name])
        values[:, j] = np.where(present, numbers, safe_fill(spec))
        observed[:, j] = present
    return EncodedTable(torch.from_numpy(values), torch.from_numpy(observed))


def decode_table(schema: Schema, values: torch.Tensor | np.ndarray, observed: Any = None) -> pd.DataFrame:
    """Turn encoded values back into a table with the original column names, kinds and levels."""
    values = np.asarray(values)
    columns: dict[str, Any] = {}
    for j, spec in enumerate(schema.columns):
        series = pd.Series(kind_named(spec.kind).decode(spec, values[:, j]))
        if observed is not None:
            if series.dtype.kind == "i":
                # Nullable integers keep whole numbers whole where cells are missing.
                series = series.astype("Int64")
            series = series.where(np.asarray(observed)[:, j])
        columns[spec.name] = series
    decoded = pd.DataFrame(columns)
    # Identifier columns, no part of the model, get fresh identifiers of their form, in their place;
    # seeded by the drawn values, so that the same draws give the same identifiers.
    seed = zlib.crc32(np.ascontiguousarray(values).tobytes())
    for identifier in schema.identifiers:
        fresh = fresh_identifiers(identifier, len(decoded), seed)
        decoded.insert(min(identifier.position, decoded.shape[1]), identifier.name, fresh)
    return decoded


def safe_fill(spec: ColumnSpec) -> float:
    """The value put in a missing cell of the column: one of its family's support."""
    return family_declaration(spec.family).safe_fill
