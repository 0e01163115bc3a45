"""Constraints between a table's columns that every synthetic row must meet.

A schema file declares them beside its columns::

    columns:
      debt: nonnegative
    constraints:
      - debt <= income            # one column at most (or at least: >=, <, >) another, in every row
      - combinations: [city, region]   # only the combinations of levels the training table has

Each kind of constraint is a registered :class:`ConstraintKind` with a name, the declarations it
reads (:meth:`ConstraintKind.declared`), what it learns from the training table
(:meth:`ConstraintKind.fit`, which also refuses a table that breaks it, naming the row) and which
decoded rows meet it (:meth:`ConstraintKind.holds`). A fitted constraint is a plain JSON-able dict
stored in the schema (``Schema.constraints``), so that a run reloaded later enforces it too.
Sampling (:func:`vaekit.runs.tabular.sample_rows`) draws rows from the model and keeps those that
meet every constraint: exact draws of the model given the constraints, at the cost of the rows
turned away.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from vaekit.data.cells import quote_cell
from vaekit.data.column_kinds import kind_named
from vaekit.errors import DataError
from vaekit.schema import Schema

Constraint = dict[str, Any]

#: The comparisons a constraint between two numeric columns may make, longest first (``<=`` before ``<``).
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


class ConstraintKind(ABC):
    """A kind of constraint between columns. Subclass it, define :attr:`name` and the three methods,
    and call :func:`register_constraint_kind` with an instance."""

    name: ClassVar[str]

    @abstractmethod
    def declared(self, entry: Any) -> Constraint | None:
        """The constraint a schema file's entry declares (with ``"kind": self.name``), or ``None``
        when the entry is not of this kind."""

    @abstractmethod
    def fit(self, constraint: Constraint, schema: Schema, table: pd.DataFrame) -> Constraint:
        """The constraint with what the training ``table`` teaches; a clear error when the schema's
        columns cannot take it or a row of the table breaks it."""

    @abstractmethod
    def holds(self, constraint: Constraint, rows: pd.DataFrame, schema: Schema) -> np.ndarray:
        """Which decoded ``rows`` meet it: ``(len(rows),)`` booleans; a missing cell breaks nothing."""


class Comparison(ConstraintKind):
    """``A <= B`` (or ``>=``, ``<``, ``>``) between two numeric columns, in every row."""

    name = "comparison"

    def declared(self, entry: Any) -> Constraint | None:
        if not isinstance(entry, str):
            return None
        for symbol in _COMPARISONS:
            left, found, right = entry.partition(symbol)
            if found and left.strip() and right.strip():
                text = f"{left.strip()} {symbol} {right.strip()}"
                return {
                    "kind": self.name,
                    "columns": [left.strip(), right.strip()],
                    "op": symbol,
                    "text": text,
                }
        return None

    def fit(self, constraint: Constraint, schema: Schema, table: pd.DataFrame) -> Constraint:
        for name in constraint["columns"]:
            if kind_named(schema[name].kind).has_levels:
                raise DataError(
                    f"constraint {constraint['text']!r}: column {name!r} holds levels, not numbers; "
                    "a comparison takes two numeric columns"
                )
        broken = ~self.holds(constraint, table, schema)
        if broken.any():
            row = int(np.flatnonzero(broken)[0])
            left, right = constraint["columns"]
            raise DataError(
                f"constraint {constraint['text']!r}: the training table breaks it in {int(broken.sum()):,} "
                f"row(s), first at row {row + 1} ({left} {quote_cell(table[left].iloc[row])}, {right} "
                f"{quote_cell(table[right].iloc[row])}); fix those rows or drop the constraint"
            )
        return constraint

    def holds(self, constraint: Constraint, rows: pd.DataFrame, schema: Schema) -> np.ndarray:
        # As numbers: a datetime column's dates as days, text from a CSV as the numbers it holds.
        left, right = (
            pd.to_numeric(kind_named(schema[name].kind).as_numbers(schema[name], rows[name]), errors="coerce")
            for name in constraint["columns"]
        )
        meets = _COMPARISONS[constraint["op"]](left, right).to_numpy(dtype=bool)
        return meets | left.isna().to_numpy() | right.isna().to_numpy()


class Combinations(ConstraintKind):
    """Only the combinations of levels of some columns that the training table has (a city and its
    region; a product and its category)."""

    name = "combinations"

    def declared(self, entry: Any) -> Constraint | None:
        if not (isinstance(entry, Mapping) and set(entry) == {"combinations"}):
            return None
        columns = entry["combinations"]
        if not (isinstance(columns, list) and len(columns) >= 2 and all(isinstance(c, str) for c in columns)):
            raise DataError("a combinations constraint names two or more columns in a list of text")
        return {"kind": self.name, "columns": list(columns), "text": f"combinations of {', '.join(columns)}"}

    def fit(self, constraint: Constraint, schema: Schema, table: pd.DataFrame) -> Constraint:
        for name in constraint["columns"]:
            if not kind_named(schema[name].kind).has_levels:
                raise DataError(
                    f"constraint {constraint['text']!r}: column {name!r} holds numbers, not levels; "
                    "combinations are of columns of levels"
                )
        seen = self._keys(constraint, table, schema).dropna().unique()
        return {**constraint, "seen": sorted(str(key) for key in seen)}

    def holds(self, constraint: Constraint, rows: pd.DataFrame, schema: Schema) -> np.ndarray:
        keys = self._keys(constraint, rows, schema)
        return (keys.isna() | keys.isin(constraint["seen"])).to_numpy(dtype=bool)

    @staticmethod
    def _keys(constraint: Constraint, rows: pd.DataFrame, schema: Schema) -> pd.Series:
        """Each row's combination as one text key (NA where a cell is missing)."""
        # The level text the kinds compare on, so that 'Yes' and 'yes' are one level here too.
        parts = [
            kind_named(schema[name].kind).level_text(rows[name]).astype("string")  # type: ignore[attr-defined]
            for name in constraint["columns"]
        ]
        key = parts[0]
        for part in parts[1:]:
            key = key + "\x1f" + part  # a separator no level holds; NA where any part is NA
        return key


_REGISTERED: dict[str, ConstraintKind] = {}


def register_constraint_kind(kind: ConstraintKind) -> ConstraintKind:
    """Make a kind of constraint available to schema files; returns it."""
    if kind.name in _REGISTERED:
        raise ValueError(f"a constraint kind named {kind.name!r} is already registered")
    _REGISTERED[kind.name] = kind
    return kind


def constraint_kind(constraint: Constraint) -> ConstraintKind:
    """The registered kind of a (declared or fitted) constraint."""
    try:
        return _REGISTERED[constraint["kind"]]
    except KeyError:
        raise DataError(f"unknown kind of constraint {constraint.get('kind')!r}") from None


def declared_constraints(
    entries: Sequence[Any], columns: Sequence[str], identifiers: Sequence[str] = ()
) -> tuple[Constraint, ...]:
    """The constraints a schema file's ``constraints:`` list declares, their columns checked
    against the schema's ``columns`` (and the ``identifiers`` it leaves out of the model)."""
    if isinstance(entries, (str, Mapping)) or not isinstance(entries, Sequence):
        raise DataError("a schema file's constraints are a list (one entry per constraint)")
    result = []
    for entry in entries:
        constraint = next(
            (c for kind in _REGISTERED.values() if (c := kind.declared(entry)) is not None),
            None,
        )
        if constraint is None:
            # Never str() of a nested entry: a YAML alias bomb would take forever to print.
            shown = quote_cell(entry) if isinstance(entry, str) else f"of type {type(entry).__name__}"
            raise DataError(
                f"cannot read the constraint {shown}: write 'A <= B' (or >=, <, >) between "
                "two numeric columns, or {combinations: [A, B]} for columns of levels"
            )
        left_out = [name for name in constraint["columns"] if name in identifiers]
        if left_out:
            raise DataError(
                f"constraint {constraint['text']!r}: column {left_out[0]!r} was left out of the model as "
                "identifiers; declare its kind in the schema file to model and constrain it"
            )
        unknown = [name for name in constraint["columns"] if name not in columns]
        if unknown:
            raise DataError(
                f"constraint {constraint['text']!r} names columns the schema lacks: {', '.join(unknown)}"
            )
        result.append(constraint)
    return tuple(result)


def fit_constraints(schema: Schema, table: pd.DataFrame) -> Schema:
    """The schema with its constraints fitted on the training ``table``."""
    if not schema.constraints:
        return schema
    fitted = tuple(constraint_kind(c).fit(c, schema, table) for c in schema.constraints)
    return Schema(schema.columns, schema.identifiers, fitted)


def rows_meeting(schema: Schema, rows: pd.DataFrame) -> np.ndarray:
    """Which decoded ``rows`` meet every constraint of the schema: ``(len(rows),)`` booleans."""
    meets = np.ones(len(rows), dtype=bool)
    for constraint in schema.constraints:
        meets &= constraint_kind(constraint).holds(constraint, rows, schema)
    return meets


for _kind in (Comparison(), Combinations()):
    register_constraint_kind(_kind)
