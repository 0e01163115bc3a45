"""Cells: how one cell of a table reads, as a number or as the text of a level, and how an error
message quotes it.

The column kinds (:mod:`~vaekit.data.column_kinds`), schema inference (:mod:`~vaekit.data.tabular`)
and the readers of table files (:mod:`~vaekit.data.table_files`) all read cells the same way
through these helpers, which know nothing of kinds or schemas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: Pairs of words read as the two levels of a binary column (compared in lower case).
_BINARY_PAIRS = (("false", "true"), ("no", "yes"), ("n", "y"), ("f", "t"), ("0", "1"))


#: Characters of a cell quoted in an error message.
_QUOTED_CHARS = 60


def quote_cell(value: Any, limit: int = _QUOTED_CHARS) -> str:
    """``repr`` of a cell for a one-line message, cut to about ``limit`` characters with its length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[:limit]}... ({length:,} characters)"


def _numbers(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Values parsed as numbers (NaN where not) and the mask of present cells."""
    present = column.notna()
    if pd.api.types.is_bool_dtype(column):
        return column.astype(float), present
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float), present
    text = column.astype("string").str.strip()
    present = text.notna() & (text != "")
    return pd.to_numeric(text.where(present), errors="coerce"), present


def _first_bad_row(bad: pd.Series) -> int:
    return int(np.flatnonzero(bad.to_numpy())[0])


def _level_sort_key(level: str) -> tuple[int, float, str]:
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level.lower())


def _format_number(value: float) -> str:
    """A number as level text without losing digits: whole numbers as integers, others exactly."""
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _level_text(column: pd.Series, *, binary: bool = False) -> pd.Series:
    """Cells as level text. Numbers become exact text; text stays as written (so '02139' keeps its
    zero), except that the words of a binary pair (yes/no, true/false...) are compared in lower case
    and, in a binary column, numbers written as text are compared as numbers ('1.0' is '1')."""
    if pd.api.types.is_bool_dtype(column):
        return column.map(lambda v: ("true" if v else "false") if pd.notna(v) else None).astype("string")
    if pd.api.types.is_numeric_dtype(column):
        return column.map(lambda v: _format_number(v) if pd.notna(v) else None).astype("string")
    text = column.astype("string").str.strip()
    text = text.where(text != "")
    lowered = text.str.lower()
    paired = lowered.isin([word for pair in _BINARY_PAIRS for word in pair])
    text = text.where(~paired, lowered)
    if binary:
        numbers = pd.to_numeric(text, errors="coerce")
        canonical = numbers.map(lambda v: _format_number(v) if pd.notna(v) else None).astype("string")
        text = text.where(numbers.isna(), canonical)
    return text


def _is_canonical_number(text: str) -> bool:
    """Whether ``text`` is a finite number written as vaekit writes numbers (so that '501' is and
    '00501', '+5', '1.50' and '1e3' are not): only such levels may be given back as numbers."""
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and _format_number(value) == text
