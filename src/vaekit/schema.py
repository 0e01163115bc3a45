"""Table schemas: each column's kind and the likelihood family that models it.

Pure data, no tensors: the data layer fits and applies schemas, models read them.

The kinds and families a schema may name live in a small registry of names here. Nothing in this
module lists them: each likelihood family, registered on the model side with
:func:`vaekit.models.families.register_family`, declares itself here (:func:`declare_family`) with
the kind it models, the value that fills its missing cells and whether it is that kind's default; a
kind exists as soon as one family models it. How a kind's cells are recognised, checked, encoded
and decoded is the data layer's part (:func:`vaekit.data.tabular.register_kind`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, overload

from vaekit.errors import DataError


@dataclass(frozen=True)
class FamilyDeclaration:
    """What the schema layer knows of a likelihood family: names and a number, no tensors.

    Attributes
    ----------
    name:
        The family's name, as schema files and model files write it (``"normal"``).
    kind:
        The kind of column it models (``"real"``).
    safe_fill:
        A value inside the family's support, put in missing cells so that their (masked)
        log-density and its gradient stay finite.
    default_for_kind:
        Whether a column of ``kind`` with no family named gets this one.
    """

    name: str
    kind: str
    safe_fill: float
    default_for_kind: bool = False


# In declaration order, which is the order kinds and families are listed in (and, on the model
# side, the order of the sample sites).
_DECLARED: dict[str, FamilyDeclaration] = {}


def declare_family(declaration: FamilyDeclaration) -> None:
    """Make a family's name valid in schemas. Called by ``register_family``, not by users.

    Declaring the same family again with the same particulars is harmless; a different family
    of the same name, or a second default for a kind, is a ``ValueError``.
    """
    known = _DECLARED.get(declaration.name)
    if known == declaration:
        return
    if known is not None:
        raise ValueError(f"a different family named {declaration.name!r} is already declared: {known}")
    if declaration.default_for_kind and _default_of(declaration.kind) is not None:
        raise ValueError(
            f"kind {declaration.kind!r} already has a default family, {_default_of(declaration.kind)!r}"
        )
    _DECLARED[declaration.name] = declaration


def withdraw_family(name: str) -> None:
    """Forget a declared family (a test that registered one puts the registry back)."""
    _DECLARED.pop(name, None)


def family_declaration(name: str) -> FamilyDeclaration:
    """The declaration of a family; ``KeyError`` when none is declared under ``name``."""
    return _DECLARED[name]


def _default_of(kind: str) -> str | None:
    return next((d.name for d in _DECLARED.values() if d.kind == kind and d.default_for_kind), None)


def kind_names() -> tuple[str, ...]:
    """Every kind some family models, in the order their first families were declared."""
    return tuple(dict.fromkeys(d.kind for d in _DECLARED.values()))


def families_of(kind: str) -> tuple[str, ...]:
    """The families of ``kind``, its default first and then in declaration order; ``()`` if none."""
    names = [d.name for d in _DECLARED.values() if d.kind == kind]
    default = _default_of(kind)
    return tuple(sorted(names, key=lambda name: name != default))  # a stable sort keeps the rest in order


class _KindNames(Sequence[str]):
    """A live view of :func:`kind_names`: a family registered later shows up here too."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return kind_names()[index]

    def __len__(self) -> int:
        return len(kind_names())

    def __repr__(self) -> str:
        return repr(kind_names())


class _FamiliesByKind(Mapping[str, tuple[str, ...]]):
    """A live view of :func:`families_of` for every kind."""

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        families = families_of(kind)
        if not families:
            raise KeyError(kind)
        return families

    def __iter__(self) -> Iterator[str]:
        return iter(kind_names())

    def __len__(self) -> int:
        return len(kind_names())

    def __repr__(self) -> str:
        return repr(dict(self))


#: The kinds of column, in order (``real``, ``positive``, ... once the families are registered).
KINDS: Sequence[str] = _KindNames()
#: Each kind's families, its default first (``FAMILIES["positive"] == ("gamma", "lognormal")``).
FAMILIES: Mapping[str, tuple[str, ...]] = _FamiliesByKind()


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its kind, the family that models it, and what fitting learnt about it.

    Attributes
    ----------
    name:
        Column name in the table.
    kind:
        One of :data:`KINDS`.
    family:
        Likelihood family, one of ``FAMILIES[kind]``; empty for the kind's default.
    levels:
        Binary and categorical columns: the levels as text, in code order (code ``i`` is
        ``levels[i]``); empty for numeric columns.
    center, spread:
        Numeric columns: mean and standard deviation of the values (real), of their logarithm
        (positive) or of ``log(1 + value)`` (count), used to scale the network's inputs and outputs.
    lower, upper:
        Numeric columns: the range synthetic and imputed values are kept in (the training range, or
        one declared in a schema file as ``min`` and ``max``); ``None``: unbounded (a run saved
        before vaekit recorded ranges).
    decimals:
        Numeric columns: the decimals values are rounded to when written back (those of the
        training values, at most 6, or declared); ``None``: not rounded.
    format:
        A kind's own description of how its values are written: a datetime column's ``strftime``
        format; for a column of levels, a JSON list of the levels as the table spells them
        (``["No", "Yes"]`` for the levels ``no`` and ``yes``) where that differs from the levels;
        empty otherwise.
    step:
        Numeric columns whose training values all lie on a grid coarser than their decimals (wind
        directions in steps of 10 degrees, speeds in steps of one knot written in miles an hour):
        the grid's step, which values are snapped to when written back (multiples of ``step``);
        ``None``: no grid.
    spikes:
        Spiked columns: the values that hold a spike of probability (12 years of education, a
        visibility of 10 miles), which the model draws exactly.
    """

    name: str
    kind: str
    family: str = ""
    levels: tuple[str, ...] = ()
    center: float = 0.0
    spread: float = 1.0
    lower: float | None = None
    upper: float | None = None
    decimals: int | None = None
    format: str = ""
    step: float | None = None
    spikes: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        families = families_of(self.kind)
        if not families:
            raise DataError(
                f"column {self.name!r}: unknown kind {self.kind!r}; choose one of {', '.join(kind_names())}"
            )
        family = self.family or families[0]
        if family not in families:
            raise DataError(
                f"column {self.name!r}: family {family!r} does not fit kind {self.kind!r}; "
                f"choose one of {', '.join(families)}"
            )
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "levels", tuple(str(level) for level in self.levels))
        object.__setattr__(self, "spikes", tuple(float(value) for value in self.spikes))

    @property
    def written_levels(self) -> tuple[str, ...]:
        """The levels as the table writes them: ``format``'s list where it holds one ('Yes' for the
        level 'yes'), the levels themselves otherwise."""
        return tuple(json.loads(self.format)) if self.levels and self.format else self.levels


@dataclass(frozen=True)
class IdentifierSpec:
    """A column of identifiers (a customer id): no part of the model, but given fresh values of the
    same form in synthetic rows.

    Attributes
    ----------
    name:
        Column name in the table.
    position:
        Its place among the table's columns, where synthetic rows put it back.
    prefix, suffix, width:
        The form of the identifiers: ``prefix`` + a number of at least ``width`` digits (zero-padded)
        + ``suffix`` (``C-00042``); ``width`` 0 when they have no such form, and fresh ones are
        random letters and digits of ``length`` characters.
    start:
        The first fresh number: one past the largest seen, so that no fresh identifier is a seen one.
    numeric:
        Whether the identifiers are whole numbers (written back as numbers).
    length:
        The most common length of the identifiers, in characters.
    alphabet:
        The characters of identifiers with no number in them (``0123456789abcdef`` for hex ids),
        which fresh ones are drawn from; empty: letters and digits.
    """

    name: str
    position: int = 0
    prefix: str = ""
    suffix: str = ""
    width: int = 0
    start: int = 1
    numeric: bool = False
    length: int = 8
    alphabet: str = ""


@dataclass(frozen=True)
class Schema:
    """The columns of a table, in order, the identifier columns the model leaves out, and the
    constraints between columns that synthetic rows meet (plain dicts, read by
    :mod:`vaekit.data.constraints`)."""

    columns: tuple[ColumnSpec, ...] = field(default_factory=tuple)
    identifiers: tuple[IdentifierSpec, ...] = ()
    constraints: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise DataError(f"the schema names these columns more than once: {', '.join(duplicated)}")
        if not self.columns:
            raise DataError("the schema has no columns")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in run folders)."""
        stored: dict[str, Any] = {"columns": [asdict(c) for c in self.columns]}
        if self.identifiers:
            stored["identifiers"] = [asdict(i) for i in self.identifiers]
        if self.constraints:
            stored["constraints"] = [dict(c) for c in self.constraints]
        return stored

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        return cls(
            tuple(ColumnSpec(**column) for column in data["columns"]),
            tuple(IdentifierSpec(**identifier) for identifier in data.get("identifiers", ())),
            tuple(dict(constraint) for constraint in data.get("constraints", ())),
        )

    def describe(self) -> str:
        """A table of the columns for the user to check."""
        width = max(len(c.name) for c in (*self.columns, *self.identifiers))
        lines = [f"{'column':<{width}}  kind         family             details"]
        for c in self.columns:
            if c.levels:
                shown = ", ".join(_short(level) for level in c.written_levels[:6])
                shown += ", ..." if len(c.levels) > 6 else ""
                details = f"{len(c.levels)} levels: {shown}"
            else:
                details = _range_text(c)
            lines.append(f"{c.name:<{width}}  {c.kind:<11}  {c.family:<17}  {details}".rstrip())
        for i in self.identifiers:
            form = f"{i.prefix}{'0' * max(i.width, 1)}{i.suffix}" if i.width else f"{i.length} characters"
            lines.append(
                f"{i.name:<{width}}  {'identifier':<11}  {'(not modelled)':<17}  fresh ids like {form}"
            )
        for constraint in self.constraints:
            lines.append(f"constraint: {constraint['text']}")
        return "\n".join(lines)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _range_text(column: ColumnSpec) -> str:
    """The recorded range, decimals and format of a numeric column, for :meth:`Schema.describe`."""
    parts = []
    if column.format and column.lower is not None and column.upper is not None:
        # A datetime column: its range is kept in days since 1970-01-01 UTC, shown in its format.
        low, high = (
            (_EPOCH + timedelta(days=days)).strftime(column.format) for days in (column.lower, column.upper)
        )
        return f"range {low}..{high}, format {column.format}"
    if column.lower is not None or column.upper is not None:
        low = "" if column.lower is None else f"{column.lower:.6g}"
        high = "" if column.upper is None else f"{column.upper:.6g}"
        parts.append(f"range {low}..{high}")
    if column.spikes:
        parts.append(f"spikes at {', '.join(f'{value:.6g}' for value in column.spikes)}")
    if column.step is not None:
        parts.append(f"steps of {column.step:.6g}")
    if column.decimals is not None:
        parts.append(f"{column.decimals} decimal{'' if column.decimals == 1 else 's'}")
    if column.format:
        parts.append(f"format {column.format}")
    return ", ".join(parts)


def _short(text: str, limit: int = 24) -> str:
    """A level cut to ``limit`` characters for a one-line listing."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
