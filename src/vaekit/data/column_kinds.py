"""Column kinds: what the values of a column are, each kind a registered object.

A kind is a :class:`ColumnKind` made available with :func:`register_kind`: its inference rule, its
checks, how its cells become the numbers a model reads and how those are decoded back. Five are
built in: real, positive and count (:class:`NumberKind`: numbers, scaled by a centre and a spread)
and binary and categorical (:class:`LevelKind`: a fixed set of levels, encoded as codes 0, 1, ...).
Inference, fitting, encoding and decoding (:mod:`~vaekit.data.tabular`) loop over the registered
kinds and name none; a kind's likelihood families are registered on the model side
(:mod:`vaekit.models.families`).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

import numpy as np
import pandas as pd

from vaekit.data.cells import (
    _BINARY_PAIRS,
    _format_number,
    _is_canonical_number,
    _level_sort_key,
    _level_text,
    _numbers,
    quote_cell,
)
from vaekit.errors import DataError, VaekitWarning
from vaekit.schema import ColumnSpec

_NUMERIC_SHARE_FOR_TYPO = 0.9
#: Longest level of a binary or categorical column, in characters: a longer cell is free text, which a
#: categorical column cannot model, and it would be stored in every run file and drawn in every figure.
MAX_LEVEL_CHARS = 1000
#: Largest count, and largest magnitude of a real value: beyond, whole numbers are not counts (ids,
#: amounts in tiny units) and a real column's squared deviations overflow the model's 32-bit floats.
#: Positive columns are modelled on the log scale and take any value up to 3.4e38.
MAX_COUNT = 1e15
MAX_REAL_MAGNITUDE = 1e15


#: An ISO 8601 date, with or without a time of day and offset.
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
#: A date in any common numeric form (2024-03-01, 01/03/2024, 1.3.24), a time of day allowed after it.
_ANY_DATE = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\S.*)?$"
#: Distinct dates from which a categorical column of dates gets a warning.
_DATE_LEVELS_WARNED = 20


def _warn_of_dates(name: str, column: pd.Series) -> None:
    """Warn of a column of dates, with many distinct values, that is categorical because some cells
    are not ISO dates (all-ISO columns are datetime; 01/03/2024 could be March or January): as a
    categorical each date is a level unrelated to the next day."""
    text = column.astype("string").str.strip()
    text = text[text.notna() & (text != "")]
    if text.empty or not text.str.match(_ANY_DATE).mean() >= _NUMERIC_SHARE_FOR_TYPO:
        return
    levels = text.nunique()
    if levels >= _DATE_LEVELS_WARNED:
        other = ~text.str.match(_ISO_DATE)
        row = int(np.flatnonzero(other.reindex(column.index, fill_value=False).to_numpy())[0])
        warnings.warn(
            f"column {name!r} holds dates, but not only ISO dates (first {quote_cell(column.iloc[row])} at "
            f"row {row + 1}), so it is read as a categorical of {levels} levels, each date a level "
            "unrelated to the next day; write those cells as ISO dates (2024-03-01) for a datetime "
            "column, or drop it",
            VaekitWarning,
            stacklevel=4,  # _warn_of_dates, check_inferred, infer_schema, its caller
        )


def _levels_of(name: str, column: pd.Series, kind: LevelKind) -> tuple[str, ...]:
    text = kind.level_text(column)
    present = text.notna()
    if not present.any():
        raise DataError(f"column {name!r} is entirely empty; drop it or fill it")
    lengths = text.str.len().fillna(0).to_numpy()
    if lengths.max() > MAX_LEVEL_CHARS:
        row = int(np.argmax(lengths > MAX_LEVEL_CHARS))
        raise DataError(
            f"{kind.name} column {name!r} holds a cell of {int(lengths[row]):,} characters at row {row + 1} "
            f"({quote_cell(text.iloc[row], 30)}); levels are at most {MAX_LEVEL_CHARS:,} characters, since "
            "free text cannot be modelled as levels: drop the column or shorten its cells"
        )
    levels = sorted(text[present].unique(), key=_level_sort_key)
    return kind.checked_levels(name, tuple(levels))


def _spellings(column: pd.Series, text: pd.Series, levels: tuple[str, ...]) -> str:
    """How the table writes each level, where that differs from the level: the words of a binary pair
    are compared in lower case ('Yes', 'YES' and 'yes' are one level, 'yes'), and written back as the
    column most often spells them. A JSON list parallel to ``levels`` (a level kind's ``format``);
    empty when every level is written as it is (numbers, and text the levels keep as written).
    Only differences of case count: numbers written as text ('1.0', the level '1') come back as
    numbers."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return ""
    written = column.astype("string").str.strip()
    # Only a difference of case: '1.0' read as the level '1' is a number, written back as one.
    differs = text.notna() & (written != text).fillna(False) & (written.str.lower() == text).fillna(False)
    if not differs.any():
        return ""
    pairs = pd.DataFrame({"level": text[differs], "written": written[differs]})
    most_common = pairs.groupby("level")["written"].agg(lambda spelled: spelled.value_counts().index[0])
    # A level spelled as it is by more rows than any other spelling keeps its own text.
    kept = text[text.notna() & ~differs].value_counts()
    spelled = []
    for level in levels:
        other = most_common.get(level)
        as_is = int(kept.get(level, 0))
        spelled.append(level if other is None or as_is >= int((pairs["written"] == other).sum()) else other)
    return json.dumps(spelled) if list(spelled) != list(levels) else ""


#: A check of a numeric column's values: the cells that fail it, what they hold, and optionally a
#: hint on what to do, appended to the message.
ValueCheck = tuple[np.ndarray, str] | tuple[np.ndarray, str, str]


def _validated_numbers(
    spec: ColumnSpec, column: pd.Series, kind_checks: Callable[[np.ndarray, np.ndarray], list[ValueCheck]]
) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a numeric column and the mask of present cells; a clear error for any bad cell.

    ``kind_checks(values, single)`` gives the kind's own checks, from the values in 64-bit and in
    32-bit floats."""
    numbers, present = _numbers(column)
    present_array = present.to_numpy(dtype=bool)
    values = numbers.to_numpy(dtype=float)
    text_cells = present_array & np.isnan(values)
    if text_cells.any():
        row = int(np.flatnonzero(text_cells)[0])
        raise DataError(
            f"text {quote_cell(column.iloc[row])} in {spec.kind} column {spec.name!r} at row {row + 1}"
        )
    # Models work in 32-bit floats: a finite number beyond their range would become infinite, and a
    # positive one too close to 0 would become 0.
    with np.errstate(over="ignore", under="ignore"):
        single = values.astype(np.float32)
    checks: list[ValueCheck] = [
        (np.isinf(values), "an infinite value"),
        (np.isinf(single) & ~np.isinf(values), "a value too large for 32-bit floats (beyond 3.4e38)"),
    ]
    checks.extend(kind_checks(values, single))
    for bad, what, *hint in checks:
        bad = bad & present_array
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"column {spec.name!r} holds {what} at row {row + 1}: {quote_cell(column.iloc[row])}"
                + "".join(hint)
            )
    return values, present_array


class ColumnKind(ABC):
    """What the values of a column are: how to recognise them, check them, turn them into the
    numbers a model reads, and turn those back into the table's values.

    To add a kind, subclass :class:`NumberKind` (numbers, scaled by a centre and a spread) or
    :class:`LevelKind` (a fixed set of levels, encoded as codes 0, 1, ...), or this class, and
    define

    * ``name``: the kind's name in schemas;
    * ``inference_rank``: its place in the order in which kinds are tried on a column when a
      schema is inferred (the first that claims the column wins: binary 10, count 20, positive
      30, real 40, categorical 50), or ``None`` to take it only when a schema file names it; and
      then :meth:`claims_numbers` and/or :meth:`claims_text`;
    * ``has_levels`` (set by the two base classes) and ``correlates``: whether its codes are
      compared by frequency rather than as numbers, and whether its values enter correlations
      between columns;
    * :meth:`fit`, :meth:`encode` and :meth:`decode` (the base classes define them from smaller
      parts: :meth:`NumberKind.model_scale` and :meth:`NumberKind.value_checks`, or
      :meth:`LevelKind.checked_levels`);

    then call :func:`register_kind` with an instance. Its likelihoods are families registered on
    the model side (:func:`vaekit.models.families.register_family`), one of them with
    ``default_for_kind = True``.
    """

    name: ClassVar[str]
    has_levels: ClassVar[bool]
    has_spikes: ClassVar[bool] = False
    snaps_to_grid: ClassVar[bool] = False
    correlates: ClassVar[bool] = True
    inference_rank: ClassVar[int | None] = None

    def claims_numbers(self, values: pd.Series) -> bool:
        """Whether a column whose present cells are all these (finite) numbers is of this kind."""
        return False

    def claims_text(self, words: set[str], numeric_share: float) -> bool:
        """Whether a column with text cells is of this kind, from its distinct cells in lower case
        and the share of its present cells that are numbers."""
        return False

    def check_inferred(self, name: str, column: pd.Series) -> None:
        """Warn of what inference may have got wrong about a column inferred to be of this kind."""
        return None  # most kinds have nothing to warn of

    def infer_family(self, column: pd.Series) -> str:
        """The family that fits a column inferred to be of this kind, from its values; ``""`` for
        the kind's default (most kinds have one family, or choose by declaration only)."""
        return ""

    @abstractmethod
    def fit(self, spec: ColumnSpec, column: pd.Series) -> ColumnSpec:
        """``spec`` with what training data teach (levels, centre, spread), every cell validated."""

    @abstractmethod
    def encode(self, spec: ColumnSpec, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """The cells as float numbers (anything where missing) and the mask of present cells; a
        clear error names the row of a bad cell."""

    @abstractmethod
    def decode(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        """Encoded values of the column (as a model draws them) back as the table's values."""

    def written_values(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        """Encoded values as the table will write them, still encoded (a number kind's values
        snapped, rounded and kept in range), so that a condition on drawn rows judges what is
        written; the values themselves by default."""
        return values

    def model_scale(self, values: np.ndarray) -> np.ndarray:
        """Present values on the scale the model works on (for a number kind), dropping any
        outside the kind's support."""
        return values

    def as_numbers(self, spec: ColumnSpec, values: pd.Series) -> pd.Series:
        """Decoded values of a kind without levels as numbers, for figures (a datetime column's
        dates as days since 1970); the values themselves for the kinds that decode to numbers."""
        return values


#: Most decimals recorded for a numeric column: values with more are not rounded when written back
#: (they are measurements or results of arithmetic, not amounts recorded to a precision).
MAX_DECIMALS = 6


def decimals_of(values: np.ndarray) -> int | None:
    """The fewest decimals, at most :data:`MAX_DECIMALS`, that write every one of ``values`` exactly
    (to 1e-9 of its magnitude); ``None`` when more are needed."""
    distinct = np.unique(values[np.isfinite(values)])
    tolerance = 1e-9 * np.maximum(1.0, np.abs(distinct))
    for decimals in range(MAX_DECIMALS + 1):
        if (np.abs(np.round(distinct, decimals) - distinct) <= tolerance).all():
            return decimals
    return None


#: Fewest distinct training values that show a column's grid: ten distinct values that all happen to
#: be multiples of twice the resolution of their decimals are a chance of about one in a thousand.
GRID_MIN_VALUES = 10


def grid_step(values: np.ndarray, decimals: int | None) -> float | None:
    """The step of the grid ``values`` lie on, when it is coarser than their ``decimals``: the greatest
    common divisor of the values, in units of ``10**-decimals`` (wind directions 0, 10, ... 360 give
    10; speeds of whole knots written in miles an hour, 1.15078 k, give 1.15078). ``None`` when the
    values are not on such a grid, their decimals are unknown, or fewer than :data:`GRID_MIN_VALUES`
    distinct values show it.
    """
    distinct = np.unique(values[np.isfinite(values)])
    if decimals is None or len(distinct) < GRID_MIN_VALUES:
        return None
    units = np.round(distinct * 10.0**decimals)
    if np.abs(units).max() >= 2**53:  # beyond exact whole numbers in float
        return None
    divisor = int(np.gcd.reduce(units.astype(np.int64)))
    return divisor / 10.0**decimals if divisor >= 2 else None


class NumberKind(ColumnKind):
    """Numbers, standardised by the centre and spread of :meth:`model_scale` of the training values.

    Fitting also records the range of the training values, their decimals (:func:`decimals_of`) and
    the step of a grid they lie on (:func:`grid_step`), unless the spec declares them (a schema file's
    ``min``, ``max``, ``decimals`` and ``step``): decoded values are snapped to that grid, rounded to
    those decimals and kept inside that range, so that synthetic and imputed values look like the
    column's own. A spec without them (a run saved before vaekit recorded them) is decoded as it was
    then, unrounded and unbounded.
    """

    has_levels, snaps_to_grid = False, True

    def value_checks(self, values: np.ndarray, single: np.ndarray) -> list[ValueCheck]:
        """Checks of the kind's own, beyond text, infinite and out-of-float32 cells; ``single`` holds
        the values in 32-bit floats. A check is ``(bad cells, what they hold[, hint])``."""
        return []

    def fit(self, spec: ColumnSpec, column: pd.Series) -> ColumnSpec:
        values, present = _validated_numbers(spec, column, self.value_checks)
        if not present.any():
            raise DataError(f"column {spec.name!r} is entirely empty; drop it or fill it")
        return self.fit_values(spec, values[present])

    def fit_values(self, spec: ColumnSpec, present_values: np.ndarray) -> ColumnSpec:
        """:meth:`fit` on the column's present values, already validated."""
        observed = self.model_scale(present_values)
        center = float(observed.mean()) if len(observed) else 0.0
        spread = float(observed.std()) if len(observed) > 1 else 0.0
        decimals = decimals_of(present_values) if spec.decimals is None else spec.decimals
        # A declared step of 0 turns the grid off.
        step = grid_step(present_values, decimals) if spec.step is None else (spec.step or None)
        if step is not None and decimals is not None and spec.decimals is None:
            # Values on a declared grid of 2.5 keep its decimal even when the training values are whole.
            decimals = max(decimals, decimals_of(np.array([step])) or 0)
        # A constant column has no spread; 1 keeps the scaling an identity rather than a division by 0.
        return replace(
            spec,
            center=center,
            spread=spread if spread > 1e-8 else 1.0,
            lower=float(present_values.min()) if spec.lower is None else spec.lower,
            upper=float(present_values.max()) if spec.upper is None else spec.upper,
            decimals=decimals,
            step=step,
        )

    def encode(self, spec: ColumnSpec, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        return _validated_numbers(spec, column, self.value_checks)

    def written_values(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        written = values.astype(float)
        lower, upper = spec.lower, spec.upper
        if spec.step:
            written = np.round(written / spec.step) * spec.step
            # The range's ends moved onto the grid, inward, so that clipping keeps values on it.
            if lower is not None:
                lower = math.ceil(lower / spec.step - 1e-9) * spec.step
            if upper is not None:
                upper = math.floor(upper / spec.step + 1e-9) * spec.step
            if lower is not None and upper is not None and lower > upper:
                lower, upper = spec.lower, spec.upper  # a range narrower than a step: the range wins
        # A product of the step carries float noise (0.30000000000000004): the step's own decimals.
        decimals = spec.decimals
        if spec.step and decimals is None:
            decimals = decimals_of(np.array([spec.step]))
        if decimals is not None:
            written = np.round(written, decimals)
        if lower is not None or upper is not None:
            written = np.clip(written, lower, upper)
        return written

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        decoded = self.written_values(spec, values)
        if spec.decimals == 0 and np.isfinite(decoded).all() and np.abs(decoded).max(initial=0) < 2**53:
            return decoded.astype(np.int64)  # whole numbers stay whole numbers
        return decoded


class RealKind(NumberKind):
    """Any finite number up to :data:`MAX_REAL_MAGNITUDE`; what every numeric column is at least."""

    name, inference_rank = "real", 40

    def claims_numbers(self, values: pd.Series) -> bool:
        return True

    def value_checks(self, values: np.ndarray, single: np.ndarray) -> list[ValueCheck]:
        return [
            (
                np.abs(values) > MAX_REAL_MAGNITUDE,
                "a value beyond 1e15 in magnitude",
                "; a real column's squared deviations would overflow 32-bit floats: divide the column "
                "by a power of ten, or declare it positive if its values are all > 0",
            )
        ]


#: A positive column whose logarithm has a standard deviation below this is inferred LogNormal, not
#: Gamma: air pressure (983 to 1042 hPa, 0.007) asks a Gamma for a concentration of about 1/0.007^2,
#: some 19,000, far beyond what its head reaches in training, so its draws spread several times too
#: wide; the LogNormal's head works in standard units of the logarithm whatever its spread. Chosen on
#: validation rows (README, the *positive* entry of schema inference; benchmarks/column_shapes.py).
NARROW_LOG_SPREAD = 0.1


class PositiveKind(NumberKind):
    """Numbers > 0, modelled on the log scale."""

    name, inference_rank = "positive", 30

    def claims_numbers(self, values: pd.Series) -> bool:
        return bool((values > 0).all())

    def value_checks(self, values: np.ndarray, single: np.ndarray) -> list[ValueCheck]:
        return [
            (values <= 0, "a zero or negative value (the column is positive)"),
            ((single == 0) & (values > 0), "a value too close to 0 for 32-bit floats (below 1e-45)"),
        ]

    def model_scale(self, values: np.ndarray) -> np.ndarray:
        return np.log(values[values > 0])

    def infer_family(self, column: pd.Series) -> str:
        """A LogNormal for positive numbers whose logarithm spreads less than
        :data:`NARROW_LOG_SPREAD`; the Gamma otherwise."""
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        logs = np.log(values[np.isfinite(values) & (values > 0)])
        return "lognormal" if len(logs) > 1 and logs.std() < NARROW_LOG_SPREAD else ""


#: Counts whose variance is more than this many times their mean are inferred over-dispersed and get
#: a negative binomial instead of a Poisson (whose variance is its mean); chosen on held-out rows
#: of real count tables (README, the *count* entry of schema inference; benchmarks/count_families.py).
OVERDISPERSED_RATIO = 2.0
#: Present values a count column needs before its dispersion is read (fewer tell too little).
OVERDISPERSED_MIN_VALUES = 20


class CountKind(NumberKind):
    """Whole numbers >= 0 up to :data:`MAX_COUNT`, modelled on the scale of ``log(1 + x)``."""

    name, inference_rank = "count", 20

    def claims_numbers(self, values: pd.Series) -> bool:
        return bool((values == values.round()).all() and (values >= 0).all() and values.max() <= MAX_COUNT)

    def value_checks(self, values: np.ndarray, single: np.ndarray) -> list[ValueCheck]:
        return [
            (
                values > MAX_COUNT,
                "a count beyond 1e15",
                "; whole numbers that large are amounts or identifiers, not counts: declare the "
                "column positive or real, or drop it",
            ),
            (values < 0, "a negative value (the column holds counts)"),
            (values != np.round(values), "a value that is not a whole number (the column holds counts)"),
        ]

    def model_scale(self, values: np.ndarray) -> np.ndarray:
        return np.log1p(values[values >= 0])

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        return np.round(super().decode(spec, values)).astype(np.int64)

    def infer_family(self, column: pd.Series) -> str:
        """A negative binomial for counts whose variance is above :data:`OVERDISPERSED_RATIO`
        times their mean (a Poisson's equals its mean), read from at least
        :data:`OVERDISPERSED_MIN_VALUES` values; the Poisson otherwise."""
        values = pd.to_numeric(column, errors="coerce").dropna()
        if len(values) >= OVERDISPERSED_MIN_VALUES and values.var() > OVERDISPERSED_RATIO * values.mean():
            return "negative_binomial"
        return ""


class LevelKind(ColumnKind):
    """A fixed set of levels seen in training, kept as text and encoded as codes 0, 1, ... in the
    order of :func:`_level_sort_key`."""

    has_levels = True

    def level_text(self, column: pd.Series) -> pd.Series:
        """The cells as level text (missing as NA)."""
        return _level_text(column)

    def checked_levels(self, name: str, levels: tuple[str, ...]) -> tuple[str, ...]:
        """The column's levels, sorted, after the kind's checks (none by default)."""
        return levels

    def fit(self, spec: ColumnSpec, column: pd.Series) -> ColumnSpec:
        levels = _levels_of(spec.name, column, self)
        return replace(spec, levels=levels, format=_spellings(column, self.level_text(column), levels))

    def encode(self, spec: ColumnSpec, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        text = self.level_text(column)
        present = text.notna().to_numpy()
        codes = {level: i for i, level in enumerate(spec.levels)}
        mapped = text.map(codes).fillna(-1).to_numpy(dtype=np.int64)
        unseen = present & (mapped < 0)
        if unseen.any():
            row = int(np.flatnonzero(unseen)[0])
            known = ", ".join(quote_cell(level, 20) for level in spec.levels[:10])
            raise DataError(
                f"level {quote_cell(text.iloc[row])} of column {spec.name!r} at row {row + 1} was never "
                f"seen in training (known levels: {known})"
            )
        return mapped, present

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        codes = np.clip(np.round(values).astype(int), 0, len(spec.levels) - 1)
        if spec.format:  # the levels as the table wrote them ('Yes' where the level is 'yes')
            return np.asarray(spec.written_levels, dtype=object)[codes]
        decoded = np.asarray(spec.levels, dtype=object)[codes]
        # Numbers only where writing them back gives the same text: '00501', '1.50' or '1e3' stay text.
        if all(_is_canonical_number(level) for level in spec.levels):
            decoded = decoded.astype(float)
            if all(float(level).is_integer() for level in spec.levels):
                decoded = decoded.astype(np.int64)
        return decoded


class BinaryKind(LevelKind):
    """Two levels: 0/1, true/false, yes/no and the other pairs of :data:`_BINARY_PAIRS`."""

    name, inference_rank = "binary", 10

    def claims_numbers(self, values: pd.Series) -> bool:
        return set(values.unique()) <= {0.0, 1.0}

    def claims_text(self, words: set[str], numeric_share: float) -> bool:
        return any(words <= set(pair) for pair in _BINARY_PAIRS)

    def level_text(self, column: pd.Series) -> pd.Series:
        return _level_text(column, binary=True)

    def checked_levels(self, name: str, levels: tuple[str, ...]) -> tuple[str, ...]:
        if len(levels) > 2:
            shown = ", ".join(quote_cell(level, 20) for level in levels[:5])
            raise DataError(f"binary column {name!r} has {len(levels)} levels: {shown}")
        if len(levels) == 1:
            only = levels[0]
            pair = next((pair for pair in _BINARY_PAIRS if only.lower() in pair), None)
            if pair is None:
                raise DataError(
                    f"binary column {name!r} holds the single level {only!r}, whose partner is unknown; "
                    "declare it categorical in a schema file"
                )
            levels = tuple(sorted(set(pair), key=_level_sort_key))
        return levels


#: A categorical column with more distinct levels than this is inferred ``many_levels``: the encoder
#: sees a learned embedding of at most 32 numbers per cell instead of a one-hot vector as wide as the
#: levels, and its head is padded apart from the other categorical columns'. Below 100 levels a
#: one-hot block costs the encoder little (100 inputs against about 20 for the embedding) and
#: needs no parameters learned from the few rows each level has; above it, one-hot inputs and the
#: padding of every categorical head to the widest column grow with the levels (a 4,000-level
#: column beside 20 others: 84,000 inputs and 84,000 logits a row).
MANY_LEVELS = 100


class CategoricalKind(LevelKind):
    """Any set of levels; the codes are labels, so they take no part in correlations."""

    name, inference_rank = "categorical", 50
    correlates = False

    def claims_text(self, words: set[str], numeric_share: float) -> bool:
        # Mostly numbers with a few words is almost always a typo, which inference reports instead.
        return numeric_share < _NUMERIC_SHARE_FOR_TYPO

    def check_inferred(self, name: str, column: pd.Series) -> None:
        _warn_of_dates(name, column)

    def infer_family(self, column: pd.Series) -> str:
        """``many_levels`` (levels embedded for the encoder, see
        :class:`~vaekit.models.families.ManyLevelsFamily`) for a column of more than
        :data:`MANY_LEVELS` distinct levels; the one-hot categorical otherwise."""
        return "many_levels" if _level_text(column).nunique(dropna=True) > MANY_LEVELS else ""


#: A numeric column with at most this many distinct values, every one of them seen at least
#: :data:`ORDINAL_MIN_REPEATS` times, is inferred ordinal: its values are levels (a loan term of 6, 12,
#: ... 60 months; a year of study; a rating), drawn only among those seen. 15 keeps Likert scales,
#: months and term lengths as levels, while the measured quantities of real tables have far more values.
ORDINAL_MAX_LEVELS = 15
#: Fewest rows of each value of a few-valued numeric column for it to be taken for levels. A value
#: seen less often is the tail of a quantity that may well take values the table has not shown yet
#: (a count of visits: 0 to 6 here, 7 in the next file), which a count or number kind models.
ORDINAL_MIN_REPEATS = 5


class OrdinalKind(LevelKind):
    """Ordered levels: few-valued numbers (inferred, see :data:`ORDINAL_MAX_LEVELS`), or levels
    declared in order in a schema file (``{"kind": "ordinal", "levels": ["low", "mid", "high"]}``).

    Inferred levels are the distinct values in numeric order, written back as numbers (whole
    numbers as integers); declared ones keep their order, and a cell outside them is an error.
    """

    name, inference_rank = "ordinal", 15

    def claims_numbers(self, values: pd.Series) -> bool:
        frequencies = values.value_counts()
        return bool(len(frequencies) <= ORDINAL_MAX_LEVELS and frequencies.min() >= ORDINAL_MIN_REPEATS)

    def level_text(self, column: pd.Series) -> pd.Series:
        text = _level_text(column)
        numbers = pd.to_numeric(text, errors="coerce")
        if (numbers.notna() == text.notna()).all():
            # Numbers as vaekit writes them, so that '6', '6.0' and 6 are one level, given back as 6.
            return numbers.map(lambda v: _format_number(v) if pd.notna(v) else None).astype("string")
        return text

    def fit(self, spec: ColumnSpec, column: pd.Series) -> ColumnSpec:
        if not spec.levels:
            return super().fit(spec, column)
        super().encode(spec, column)  # declared levels: a cell outside them is named
        return spec

    def encode(self, spec: ColumnSpec, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Codes of the cells; a number between or beyond numeric levels (a value training never saw,
        in rows to score or impute) takes the nearest level's code, with a warning naming the column
        and row. Text outside the levels is an error, as for a categorical column."""
        text = self.level_text(column)
        levels = np.array([float(level) if _is_canonical_number(level) else np.nan for level in spec.levels])
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        unseen = text.notna().to_numpy() & ~text.isin(spec.levels).to_numpy() & np.isfinite(numbers)
        if not unseen.any() or np.isnan(levels).any():
            return super().encode(spec, column)
        row = int(np.flatnonzero(unseen)[0])
        warnings.warn(
            f"column {spec.name!r} holds {int(unseen.sum()):,} value(s) training never saw, first "
            f"{quote_cell(text.iloc[row])} at row {row + 1}; each is read as the nearest of its levels "
            f"({', '.join(spec.levels[:10])}{', ...' if len(spec.levels) > 10 else ''}): declare the "
            "column count or real in a schema file to model any value",
            VaekitWarning,
            stacklevel=4,  # encode, encode_table, its caller
        )
        nearest = np.abs(numbers[unseen, None] - levels[None, :]).argmin(axis=1)
        replaced = text.copy()
        replaced[unseen] = np.asarray(spec.levels, dtype=object)[nearest]
        return super().encode(spec, replaced)


#: A column of numbers >= 0 with at least this share of them exactly 0 is inferred nonnegative, and
#: modelled by a spike at 0 beside a continuous family for the rest: debts, assets, hours worked or
#: spending that many rows do not have. With a fifth of the rows on one value, a Normal or Gamma
#: spreads a fifth of its draws where the data have none (and writes no zero at all), and a Poisson
#: cannot be both that peaked at 0 and as wide as the positive values. The positive values must take
#: more than :data:`ORDINAL_MAX_LEVELS` distinct values: a count of 0 to 4 with many zeros is what a
#: count family models.
ZERO_INFLATED_SHARE = 0.2


class NonnegativeKind(NumberKind):
    """Numbers >= 0 with a spike at exactly 0 (see :data:`ZERO_INFLATED_SHARE`): the centre and spread
    are those of the logarithm of the positive values, which the continuous part models."""

    name, inference_rank = "nonnegative", 18

    def claims_numbers(self, values: pd.Series) -> bool:
        return bool(
            (values >= 0).all()
            and (values == 0).mean() >= ZERO_INFLATED_SHARE
            # Few positive values (a count of 0 to 4) are what a count family models, zeros included.
            and values[values > 0].nunique() > ORDINAL_MAX_LEVELS
            and values.max() <= MAX_REAL_MAGNITUDE
        )

    def value_checks(self, values: np.ndarray, single: np.ndarray) -> list[ValueCheck]:
        return [
            (values < 0, "a negative value (the column holds numbers >= 0)"),
            ((single == 0) & (values > 0), "a value too close to 0 for 32-bit floats (below 1e-45)"),
        ]

    def model_scale(self, values: np.ndarray) -> np.ndarray:
        return np.log(values[values > 0])


#: A value is a spike of a numeric column when it holds at least this share of the present cells...
SPIKE_MIN_SHARE = 0.05
#: ... and at least this many times the share of each of the distinct values next to it: 12 years of
#: education (0.38 of the rows of AER's CPS1988, against 0.04 and 0.07 for 11 and 13), a visibility
#: of 10 miles (0.84 against 0.03 for 9), expenses of 35, 45, 60 and 75 in a credit table, while the
#: most common value of a smooth count or a grid (wind in steps of 10 degrees) is no more than about
#: twice its neighbours'.
SPIKE_RATIO = 3.0
#: Most spikes of one column, the most frequent kept.
MAX_SPIKES = 8


def find_spikes(values: np.ndarray) -> tuple[float, ...]:
    """The spikes among ``values`` (see :data:`SPIKE_MIN_SHARE` and :data:`SPIKE_RATIO`), at most
    :data:`MAX_SPIKES` of them, the most frequent, in increasing order."""
    distinct, counts = np.unique(values[np.isfinite(values)], return_counts=True)
    if len(distinct) < 2:
        return ()
    shares = counts / counts.sum()
    below = np.concatenate([[0.0], shares[:-1]])
    above = np.concatenate([shares[1:], [0.0]])
    spiked = (shares >= SPIKE_MIN_SHARE) & (shares >= SPIKE_RATIO * np.maximum(below, above))
    chosen = np.flatnonzero(spiked)
    chosen = chosen[np.argsort(-counts[chosen], kind="stable")[:MAX_SPIKES]]
    return tuple(float(value) for value in np.sort(distinct[chosen]))


class SpikedKind(RealKind):
    """Numbers with spikes of probability at a few values (:func:`find_spikes`): round numbers people
    report (40 hours, 12 years of schooling, expenses of 35 or 60), an instrument's top reading. The
    spikes are drawn exactly, the other values from a continuous family whose centre and spread are
    theirs. Inferred for a numeric column of more than :data:`ORDINAL_MAX_LEVELS` distinct values
    with a spike, unless a spike at 0 makes it :class:`NonnegativeKind`; declare a column ``real`` in a
    schema file to model it without spikes.
    """

    name, inference_rank, has_spikes = "spiked", 19, True

    def claims_numbers(self, values: pd.Series) -> bool:
        numbers = values.to_numpy(dtype=float)
        if values.nunique() <= ORDINAL_MAX_LEVELS or np.abs(numbers).max() > MAX_REAL_MAGNITUDE:
            return False
        spikes = find_spikes(numbers)
        # The continuous part needs values of its own, at least two of them distinct.
        return bool(spikes) and len(np.setdiff1d(numbers, spikes)) >= 2

    def fit_values(self, spec: ColumnSpec, present_values: np.ndarray) -> ColumnSpec:
        fitted = super().fit_values(spec, present_values)
        spikes = spec.spikes or find_spikes(present_values)
        if not spikes:
            warnings.warn(
                f"column {spec.name!r} is declared spiked, but no value of it is a spike (at least "
                f"{SPIKE_MIN_SHARE:.0%} of the cells and {SPIKE_RATIO:g} times its neighbours'): it is "
                "modelled as a Normal; declare its spikes (spikes: [...]) or another kind",
                VaekitWarning,
                stacklevel=4,
            )
        rest = present_values[~np.isin(present_values, spikes)]
        if len(rest) < 2:
            return replace(fitted, spikes=spikes)
        spread = float(rest.std())
        center = float(rest.mean())
        return replace(fitted, spikes=spikes, center=center, spread=spread if spread > 1e-8 else 1.0)

    def written_values(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        """A spike drawn is written as the spike itself (the model holds it in 32-bit floats); a value
        drawn from the continuous part that rounding would turn into a spike goes to the next value
        of the grid or decimals on its own side, so that rounding does not add to the spikes."""
        spikes = np.asarray(spec.spikes, dtype=float)
        if not len(spikes):
            return super().written_values(spec, values)
        values = values.astype(float)
        drawn_spike = values[:, None] == spikes.astype(np.float32).astype(float)[None, :]
        written = super().written_values(spec, values)
        resolution = spec.step or (10.0**-spec.decimals if spec.decimals is not None else 0.0)
        onto_spike = np.isin(written, spikes) & ~drawn_spike.any(1)
        if resolution and onto_spike.any():
            side = np.where(values[onto_spike] >= written[onto_spike], 1.0, -1.0)
            moved = super().written_values(spec, written[onto_spike] + side * resolution)
            # A spike at the end of the range: clipping brought the value back onto it, so the other side.
            back = np.isin(moved, spikes)
            moved[back] = super().written_values(spec, written[onto_spike][back] - side[back] * resolution)
            written[onto_spike] = moved
        hit = drawn_spike.any(1)
        written[hit] = spikes[drawn_spike[hit].argmax(1)]
        return written


#: The shapes of ISO 8601 dates and times vaekit writes back, each with its ``strftime`` format and
#: the resolution, in seconds, that decoded values are rounded to; tried in this order.
_ISO_SHAPES = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d", 86400.0),
    (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$", "%Y-%m-%dT%H:%M", 60.0),
    (r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", "%Y-%m-%d %H:%M", 60.0),
    (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", "%Y-%m-%dT%H:%M:%S", 1.0),
    (r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", "%Y-%m-%d %H:%M:%S", 1.0),
    (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+$", "%Y-%m-%dT%H:%M:%S.%f", 1e-6),
    (r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+$", "%Y-%m-%d %H:%M:%S.%f", 1e-6),
)
_SECONDS_PER_DAY = 86400.0
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def _iso_shape(cell: str) -> str:
    """The ``strftime`` format of one ISO cell: a zone ('Z' or an offset) is written back as 'Z', the
    time in UTC; ``""`` for a cell of no known shape."""
    cell = cell.strip()
    zone = re.search(r"(?:Z|[+-]\d{2}:?\d{2})$", cell) if len(cell) > 10 else None
    bare = cell[: zone.start()] if zone else cell
    for pattern, shape, _ in _ISO_SHAPES:
        if re.match(pattern, bare):
            return shape + ("Z" if zone else "")
    return ""


def _resolution(shape: str) -> float:
    return next(seconds for _, known, seconds in _ISO_SHAPES if shape.removesuffix("Z") == known)


class DateTimeKind(NumberKind):
    """ISO 8601 dates and date-times (``2024-03-01``, ``2024-03-01T12:30:00``, with a zone or not),
    modelled as days since the column's earliest value (standardised like any number) and written
    back in the column's own format: a date stays a date, a time keeps its seconds. Times with a zone
    are read in UTC and written back in UTC with a ``Z``.

    A column whose cells are all ISO dates or times but of several shapes (some with a time of day,
    some without) is read whole, written back in its most common shape, with a warning naming the
    column and its shapes. The earliest and latest values (as days since 1970-01-01 UTC) are the
    spec's ``lower`` and ``upper``, and its format ``format``.
    """

    name, inference_rank = "datetime", 45
    snaps_to_grid = False  # its values are written in its format's resolution

    def claims_text(self, words: set[str], numeric_share: float) -> bool:
        return numeric_share == 0 and all(_iso_shape(word.upper()) for word in words)

    def check_inferred(self, name: str, column: pd.Series) -> None:
        shapes = self._shapes(column)
        if len(shapes) > 1:
            chosen = shapes.index[0]
            warnings.warn(
                f"datetime column {name!r} mixes {len(shapes)} formats ("
                + ", ".join(f"{shape}: {count:,} cell(s)" for shape, count in shapes.items())
                + f"); all are read, and values are written back as {chosen}; declare the column "
                "categorical in a schema file to keep its cells as they are",
                VaekitWarning,
                stacklevel=4,  # check_inferred, infer_schema, its caller
            )

    @staticmethod
    def _shapes(column: pd.Series) -> pd.Series:
        text = column.astype("string").str.strip()
        text = text[text.notna() & (text != "")]
        return text.map(lambda cell: _iso_shape(cell.upper())).value_counts()

    def _days(self, spec: ColumnSpec, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Days since 1970-01-01 UTC of the cells, and the mask of present ones; a clear error names
        the first cell that is not an ISO date or time."""
        text = column.astype("string").str.strip()
        present = (text.notna() & (text != "")).to_numpy()
        days = np.zeros(len(column))
        shapes = text[present].map(lambda cell: _iso_shape(cell.upper()))
        if (shapes == "").any():
            row = int(np.flatnonzero(present)[int(np.argmax((shapes == "").to_numpy()))])
            raise DataError(
                f"column {spec.name!r} holds {quote_cell(column.iloc[row])} at row {row + 1}, which is not "
                "an ISO 8601 date or time (the column is datetime: 2024-03-01, 2024-03-01T12:30:00)"
            )
        try:
            parsed = pd.to_datetime(text[present], format="ISO8601", utc=True)
        except (ValueError, OverflowError) as error:
            raise DataError(f"column {spec.name!r}: a date that does not exist ({error})") from None
        days[present] = ((parsed - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        return days, present

    def fit(self, spec: ColumnSpec, column: pd.Series) -> ColumnSpec:
        days, present = self._days(spec, column)
        if not present.any():
            raise DataError(f"column {spec.name!r} is entirely empty; drop it or fill it")
        lower = float(days[present].min()) if spec.lower is None else spec.lower
        offsets = days[present] - lower
        spread = float(offsets.std()) if len(offsets) > 1 else 0.0
        return replace(
            spec,
            center=float(offsets.mean()),
            spread=spread if spread > 1e-8 else 1.0,
            lower=lower,
            upper=float(days[present].max()) if spec.upper is None else spec.upper,
            format=spec.format or str(self._shapes(column).index[0]),
        )

    def encode(self, spec: ColumnSpec, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        # Days since the earliest training value: smaller numbers than days since 1970, so that the
        # model's 32-bit floats keep them to about 2 seconds over a year's span (days since 1970: about
        # 2 minutes whatever the span).
        days, present = self._days(spec, column)
        return np.where(present, days - (spec.lower or 0.0), 0.0), present

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        days = values.astype(float) + (spec.lower or 0.0)
        if spec.lower is not None and spec.upper is not None:
            days = np.clip(days, spec.lower, spec.upper)
        shape = spec.format or "%Y-%m-%dT%H:%M:%S"
        resolution = _resolution(shape)
        seconds = np.round(days * _SECONDS_PER_DAY / resolution) * resolution
        stamps = pd.to_datetime(pd.Series(seconds), unit="s", utc=True)
        return stamps.dt.strftime(shape).to_numpy(dtype=object)

    def as_numbers(self, spec: ColumnSpec, values: pd.Series) -> pd.Series:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        return (parsed - _EPOCH) / pd.Timedelta(days=1)


# In registration order, which breaks ties of inference rank.
_KINDS: dict[str, ColumnKind] = {}


def register_kind(kind: ColumnKind) -> ColumnKind:
    """Make ``kind`` available to inference, fitting, encoding and decoding; returns it.

    The kind's families must be registered on the model side too (a schema names a kind only
    when some family models it). A second kind of the same name is a ``ValueError``.
    """
    if kind.name in _KINDS:
        raise ValueError(f"a column kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Remove a registered kind (a test that registered one puts the registry back)."""
    _KINDS.pop(name, None)


def registered_kinds() -> tuple[ColumnKind, ...]:
    """Every registered kind, in registration order."""
    return tuple(_KINDS.values())


def kind_named(name: str) -> ColumnKind:
    """The registered kind of that name."""
    try:
        return _KINDS[name]
    except KeyError:
        raise DataError(f"no column kind named {name!r} is registered (known: {', '.join(_KINDS)})") from None


for _kind in (
    RealKind(),
    PositiveKind(),
    CountKind(),
    BinaryKind(),
    CategoricalKind(),
    OrdinalKind(),
    NonnegativeKind(),
    DateTimeKind(),
    SpikedKind(),
):
    register_kind(_kind)
