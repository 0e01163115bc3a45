"""Conditions on a table's cells, for sampling rows that meet them (``vaekit sample RUN --given``).

A condition is ``COLUMN OPERATOR VALUE``: ``region=north`` or ``age=40`` gives the cell (the model
is conditioned on it: its other cells are drawn given it), and ``age>30``, ``age<=65`` or
``region!=south`` keeps only the rows drawn that meet it. ``=`` works on every column, ``!=`` on
every column, and ``<``, ``<=``, ``>``, ``>=`` on columns of numbers.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from vaekit.data.tabular import encode_table, kind_named
from vaekit.errors import VaekitError
from vaekit.schema import Schema

#: The operators a condition may use, longest first so that ``<=`` is not read as ``<``.
OPERATORS: tuple[str, ...] = ("<=", ">=", "!=", "=", "<", ">")
_COMPARE: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Condition:
    """One condition on a column: ``column``, its position in the schema, ``operator`` and the
    value as the model encodes it (a number, or a level's code)."""

    text: str
    column: str
    position: int
    operator: str
    encoded: float
    #: Whether the column holds levels: an ``=`` on it can be met by rows drawn from the joint.
    on_levels: bool = False

    @property
    def gives_the_cell(self) -> bool:
        """Whether the model is conditioned on the cell (``=``); otherwise rows are kept that meet it."""
        return self.operator == "="

    def holds(self, rows: torch.Tensor, schema: Schema | None = None) -> torch.Tensor:
        """Which of the encoded ``rows`` ``(N, columns)`` meet the condition: ``(N,)`` booleans. With
        the ``schema``, a bound is judged on the values as they will be written (snapped to the
        column's grid and rounded to its decimals), not on the values the model drew."""
        cells = rows[:, self.position]
        if self.gives_the_cell:
            return cells == self.encoded
        if schema is not None and not self.on_levels:
            spec = schema.columns[self.position]
            written = kind_named(spec.kind).written_values(spec, cells.detach().cpu().double().numpy())
            cells = torch.as_tensor(written, dtype=torch.float64)
        return _COMPARE[self.operator](cells, self.encoded)


def parse_condition(text: str, schema: Schema) -> Condition:
    """Read ``COLUMN OPERATOR VALUE`` against the model's columns; a clear error for a column the
    model does not have, an operator a column of levels cannot take, or a value outside the column
    (a level training never saw, a negative number for a positive column, text for a number)."""
    column, found = _split(text.strip(), schema)
    op, value = found
    position = schema.names.index(column)
    spec = schema.columns[position]
    has_levels = kind_named(spec.kind).has_levels
    if op not in ("=", "!=") and has_levels:
        raise VaekitError(f"--given {text!r}: {column} is a {spec.kind} column: it takes = or != conditions")
    if op in ("=", "!="):
        try:
            encoded = encode_table(Schema((spec,)), pd.DataFrame({column: [value]}))
        except VaekitError as error:
            # The value was read as a one-row table: "at row 1" would only puzzle.
            raise VaekitError(f"--given {text!r}: {str(error).replace(' at row 1', '')}") from None
        if not bool(encoded.observed[0, 0]):
            raise VaekitError(f"--given {text!r}: the value is empty; name a value, or leave the column out")
        return Condition(text, column, position, op, float(encoded.values[0, 0]), has_levels)
    try:
        number = float(value)
    except ValueError:
        raise VaekitError(f"--given {text!r}: {column} holds numbers, got {value!r}") from None
    if not np.isfinite(number):
        raise VaekitError(f"--given {text!r}: the bound must be a finite number")
    return Condition(text, column, position, op, number)


def _split(text: str, schema: Schema) -> tuple[str, tuple[str, str]]:
    """The column a condition names (the longest of the model's column names it starts with, so
    that names holding spaces or operator signs work), its operator and its value."""
    for column in sorted(schema.names, key=len, reverse=True):
        if not text.startswith(column):
            continue
        rest = text[len(column) :].lstrip()
        for op in OPERATORS:
            if rest.startswith(op):
                return column, (op, rest[len(op) :].strip())
    for op in OPERATORS:
        if op in text:
            name = text.split(op, 1)[0].strip()
            known = ", ".join(schema.names[:10]) + (" ..." if len(schema.names) > 10 else "")
            raise VaekitError(f"--given {text!r}: the model has no column {name!r} (it has {known})")
    raise VaekitError(
        f"--given {text!r}: write COLUMN=VALUE, or COLUMN followed by <, <=, >, >= or != and a value"
    )


def check_consistent(conditions: Sequence[Condition], num_columns: int) -> None:
    """Refuse, before drawing anything, conditions that no row can meet together: two ``=`` that give
    one cell different values, or a ``=`` whose value another condition on its column excludes."""
    given: dict[str, Condition] = {}
    for condition in conditions:
        if not condition.gives_the_cell:
            continue
        other = given.setdefault(condition.column, condition)
        if other.encoded != condition.encoded:
            raise VaekitError(
                f"--given {other.text!r} and {condition.text!r} give {condition.column} two values: no row "
                "meets both"
            )
    for condition in conditions:
        cell = given.get(condition.column)
        if cell is None or condition.gives_the_cell:
            continue
        row = torch.zeros((1, num_columns))
        row[0, cell.position] = cell.encoded
        if not bool(condition.holds(row)[0]):
            raise VaekitError(
                f"--given {cell.text!r} and {condition.text!r} contradict each other: no row meets both"
            )
