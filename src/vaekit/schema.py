"""Table schemas: each column's kind and the likelihood family that models it.

Pure data, no tensors: the data layer fits and applies schemas, models read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from vaekit.errors import DataError

KINDS = ("real", "positive", "count", "binary", "categorical")
FAMILIES: dict[str, tuple[str, ...]] = {
    "real": ("normal",),
    "positive": ("gamma", "lognormal"),
    "count": ("poisson", "negative_binomial"),
    "binary": ("bernoulli",),
    "categorical": ("categorical",),
}


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
        Likelihood family, one of ``FAMILIES[kind]``.
    levels:
        Binary and categorical columns: the levels as text, in code order (code ``i`` is
        ``levels[i]``); empty for numeric columns.
    center, spread:
        Numeric columns: mean and standard deviation of the values (real), of their logarithm
        (positive) or of ``log(1 + value)`` (count), used to scale the network's inputs and outputs.
    """

    name: str
    kind: str
    family: str = ""
    levels: tuple[str, ...] = ()
    center: float = 0.0
    spread: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(
                f"column {self.name!r}: unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}"
            )
        family = self.family or FAMILIES[self.kind][0]
        if family not in FAMILIES[self.kind]:
            raise DataError(
                f"column {self.name!r}: family {family!r} does not fit kind {self.kind!r}; "
                f"choose one of {', '.join(FAMILIES[self.kind])}"
            )
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "levels", tuple(str(level) for level in self.levels))


@dataclass(frozen=True)
class Schema:
    """The columns of a table, in order."""

    columns: tuple[ColumnSpec, ...] = field(default_factory=tuple)

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
        return {"columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        return cls(tuple(ColumnSpec(**column) for column in data["columns"]))

    def describe(self) -> str:
        """A table of the columns for the user to check."""
        width = max(len(c.name) for c in self.columns)
        lines = [f"{'column':<{width}}  kind         family             details"]
        for c in self.columns:
            if c.levels:
                shown = ", ".join(_short(level) for level in c.levels[:6])
                shown += ", ..." if len(c.levels) > 6 else ""
                details = f"{len(c.levels)} levels: {shown}"
            else:
                details = ""
            lines.append(f"{c.name:<{width}}  {c.kind:<11}  {c.family:<17}  {details}".rstrip())
        return "\n".join(lines)


def _short(text: str, limit: int = 24) -> str:
    """A level cut to ``limit`` characters for a one-line listing."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
