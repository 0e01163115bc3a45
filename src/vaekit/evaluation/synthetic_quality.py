"""How far a synthetic table is from the real one, and how close to the rows it was fitted on.

:func:`quality_report` compares three DataFrames with the same columns: the real rows a generator was
fitted on (``real_train``), real rows it never saw (``real_held_out``), and rows it drew
(``synthetic``). Every number is a pure function of the three tables (pandas, numpy, scipy and
scikit-learn), whatever made the synthetic rows:

- column shapes: per column, the Kolmogorov-Smirnov statistic (numbers) or the total-variation
  distance of the level shares (categories), synthetic against held-out; beside it the same distance
  between the training and held-out rows, the gap that sampling alone leaves;
- pair trends: per pair of columns, half the absolute difference of the correlations (two numbers),
  or the total-variation distance of the joint shares, numbers cut into quantile bins (categories
  and mixed pairs);
- adherence: the share of synthetic numbers inside the real min/max, of synthetic levels seen in
  the real rows;
- missing cells: each column's share of missing cells, synthetic against held-out;
- detection: the cross-validated ROC AUC of classifiers telling synthetic from held-out rows (0.5:
  they cannot);
- machine-learning efficacy: a model of a target column trained on the synthetic rows and on the
  training rows, both tested on the held-out rows;
- privacy: each row's distance to its closest training row (DCR), synthetic against held-out rows,
  and the share of synthetic rows that copy a training row exactly.

Work is bounded whatever the table's width: pairs are scored among at most :data:`MAX_PAIR_COLUMNS`
columns, the classifiers of detection and efficacy read at most :data:`MAX_MODEL_COLUMNS` (the
worst-shaped; efficacy's target besides), and rows are subsampled (seeded) to at most ``max_rows``
per table for the classifiers and distances.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

#: Columns among which pairs are scored (all of them when the table has no more; else the worst-shaped).
MAX_PAIR_COLUMNS = 40
#: Columns the classifiers of detection and machine-learning efficacy read (the worst-shaped first):
#: gradient boosting's cost grows with the columns, and a wide table's worst columns are those that
#: give synthetic rows away.
MAX_MODEL_COLUMNS = 100
#: Quantile bins of a number in a contingency table.
NUMBER_BINS = 5
#: Levels of a category kept in a contingency table or a one-hot encoding; the rarer ones are pooled.
MAX_LEVELS = 20
#: Folds of the cross-validated detection score.
DETECTION_FOLDS = 5
#: Bins of the histogram of distances to the closest record (the last one holds the top percent).
DCR_BINS = 30

NUMBER, CATEGORY = "number", "category"


def column_kinds(table: pd.DataFrame, categorical: Iterable[str] | None = None) -> dict[str, str]:
    """Each column's kind: ``"category"`` for the columns named in ``categorical`` and for columns of
    text, booleans or pandas categories; ``"number"`` for the other numeric columns."""
    named = set(categorical or ())
    kinds = {}
    for name in table.columns:
        series = table[name]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        kinds[name] = CATEGORY if name in named or not numeric else NUMBER
    return kinds


def default_target(kinds: Mapping[str, str]) -> str:
    """The column machine-learning efficacy predicts by default: the last category column, else the
    last number column."""
    categories = [name for name, kind in kinds.items() if kind == CATEGORY]
    return categories[-1] if categories else list(kinds)[-1]


def quality_report(
    real_train: pd.DataFrame,
    real_held_out: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    categorical: Iterable[str] | None = None,
    target: str | None = None,
    max_rows: int = 5000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Judge ``synthetic`` rows against real ones; a JSON-ready dict of the numbers.

    ``categorical`` names columns of numbers to treat as categories (codes, 0/1 flags); ``target``
    is the column of the machine-learning efficacy (default: :func:`default_target`). ``progress``,
    if given, is called with the name of each step before it runs. Missing cells count only in the
    missing-value similarity: every other number is computed on the cells present.
    """
    _check_tables(real_train, real_held_out, synthetic)
    kinds = column_kinds(real_train, categorical)
    if target is not None and target not in kinds:
        raise ValueError(f"target column {target!r} is not a column of the tables")
    target = default_target(kinds) if target is None else target
    real_train, real_held_out, synthetic = (
        _typed(table, kinds) for table in (real_train, real_held_out, synthetic)
    )
    rng = np.random.default_rng(seed)
    step = progress or (lambda name: None)

    step("column shapes")
    shapes = column_shapes(real_held_out, synthetic, kinds, baseline=real_train)
    step("pair trends")
    order = [entry["column"] for entry in shapes]
    pairs = pair_trends(
        real_held_out, synthetic, kinds, columns=order[:MAX_PAIR_COLUMNS], baseline=real_train
    )
    step("adherence and missing cells")
    adherence = boundary_adherence(real_train, synthetic, kinds)
    missing = missing_similarity(real_held_out, synthetic)
    step("detection")
    held, syn = _subsample(real_held_out, max_rows, rng), _subsample(synthetic, max_rows, rng)
    train = _subsample(real_train, max_rows * 4, rng)
    modelled = {name: kinds[name] for name in order[:MAX_MODEL_COLUMNS]}
    detection = detection_score(held, syn, modelled, seed=seed)
    detection["columns"] = len(modelled)
    step("machine-learning efficacy")
    modelled = {name: kinds[name] for name in order if name != target}
    modelled = {**dict(list(modelled.items())[: MAX_MODEL_COLUMNS - 1]), target: kinds[target]}
    efficacy = ml_efficacy(train, syn, real_held_out, modelled, target, seed=seed)
    efficacy["columns"] = len(modelled) - 1
    step("privacy")
    privacy = distance_to_closest_record(real_train, held, syn, kinds, seed=seed)

    def mean_of(entries: list[dict[str, Any]], key: str) -> float | None:
        values = [entry[key] for entry in entries if entry.get(key) is not None]
        return _round(np.mean(values)) if values else None

    summary = {
        "rows": {"train": len(real_train), "held_out": len(real_held_out), "synthetic": len(synthetic)},
        "columns": len(kinds),
        "column_shape_distance_mean": mean_of(shapes, "distance"),
        "column_shape_baseline_mean": mean_of(shapes, "baseline"),
        "worst_column": shapes[0]["column"] if shapes else None,
        "pair_trend_distance_mean": mean_of(pairs["pairs"], "distance"),
        "pair_trend_baseline_mean": mean_of(pairs["pairs"], "baseline"),
        "boundary_adherence": adherence["boundary_adherence"],
        "category_adherence": adherence["category_adherence"],
        "missing_share_difference_max": missing["max_difference"],
        "detection_auc": detection["auc"],
        "efficacy_target": target,
        "efficacy_metric": efficacy["metric"],
        "train_on_synthetic": efficacy["synthetic"].get(efficacy["metric"]),
        "train_on_real": efficacy["real"].get(efficacy["metric"]),
        "dcr_synthetic_median": privacy["synthetic"]["median"],
        "dcr_held_out_median": privacy["held_out"]["median"],
        "copy_share": privacy["synthetic"]["copy_share"],
        "held_out_copy_share": privacy["held_out"]["copy_share"],
    }
    return {
        "summary": summary,
        "kinds": kinds,
        "column_shapes": shapes,
        "pair_trends": pairs,
        "adherence": adherence,
        "missing": missing,
        "detection": detection,
        "ml_efficacy": efficacy,
        "privacy": privacy,
    }


def _check_tables(*tables: pd.DataFrame) -> None:
    names = ("real_train", "real_held_out", "synthetic")
    for name, table in zip(names, tables, strict=True):
        if len(table) == 0:
            raise ValueError(f"{name} has no rows")
        if len(table.columns) == 0:
            raise ValueError(f"{name} has no columns")
    columns = list(tables[0].columns)
    for name, table in zip(names[1:], tables[1:], strict=True):
        lacking = [column for column in columns if column not in table.columns]
        extra = [column for column in table.columns if column not in columns]
        if lacking or extra:
            said = []
            if lacking:
                said.append(f"lacks {', '.join(map(str, lacking))}")
            if extra:
                said.append(f"has columns real_train lacks: {', '.join(map(str, extra))}")
            raise ValueError(f"{name} {' and '.join(said)}")


def _typed(table: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """Numbers as floats (NaN where missing), categories as text (NaN where missing), in ``kinds``'
    column order."""
    columns = {}
    for name, kind in kinds.items():
        series = table[name]
        if kind == NUMBER:
            columns[name] = pd.Series(_numbers(series), index=table.index)
        else:
            columns[name] = series.astype(object).where(series.notna()).map(_level)
    return pd.DataFrame(columns).reset_index(drop=True)


def _level(value: Any) -> Any:
    """A category's cell as text, a whole float as the integer it is (a level 1 read as 1.0 in one
    table and 1 in another is one level); missing cells stay NaN."""
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return np.nan
        if float(value).is_integer():
            return str(int(value))
    return str(value)


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _round(value: Any, digits: int = 4) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _subsample(table: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(table) <= rows:
        return table
    return table.iloc[np.sort(rng.choice(len(table), rows, replace=False))].reset_index(drop=True)


# --- column shapes ---------------------------------------------------------------------------------


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical
    distribution functions of ``a`` and ``b`` (scipy's ``ks_2samp`` statistic, without its p-value,
    whose exact computation dominates the cost on small samples)."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    gap = np.searchsorted(a, points, side="right") / len(a) - np.searchsorted(b, points, side="right") / len(
        b
    )
    return float(np.abs(gap).max())


def column_distance(real: pd.Series, synthetic: pd.Series, kind: str) -> float | None:
    """Kolmogorov-Smirnov statistic (numbers) or total-variation distance of the level shares
    (categories) between the present cells of two columns; ``None`` when either has none."""
    a, b = real.dropna(), synthetic.dropna()
    if len(a) == 0 or len(b) == 0:
        return None
    if kind == NUMBER:
        return ks_statistic(a.to_numpy(float), b.to_numpy(float))
    shares_a, shares_b = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * shares_a.sub(shares_b, fill_value=0).abs().sum())


def column_shapes(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    baseline: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Per column, its distance (:func:`column_distance`) synthetic against real, worst first; with
    ``baseline`` (other real rows), the distance of those to ``real`` as ``baseline`` too."""
    shapes = []
    for name, kind in kinds.items():
        distance = column_distance(real[name], synthetic[name], kind)
        entry: dict[str, Any] = {
            "column": name,
            "kind": kind,
            "metric": "kolmogorov_smirnov" if kind == NUMBER else "total_variation",
            "distance": None if distance is None else _round(distance),
        }
        if baseline is not None:
            gap = column_distance(real[name], baseline[name], kind)
            entry["baseline"] = None if gap is None else _round(gap)
        shapes.append(entry)
    shapes.sort(key=lambda entry: -1.0 if entry["distance"] is None else entry["distance"], reverse=True)
    return shapes


# --- pair trends -----------------------------------------------------------------------------------


def _codes(real: pd.Series, synthetic: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Both columns as small integer codes (-1 where missing), and the number of codes: numbers cut
    at the real column's quantiles, categories by level with the rarer levels pooled."""
    if kind == NUMBER:
        a, b = real.to_numpy(float), synthetic.to_numpy(float)
        present = a[np.isfinite(a)]
        if len(present) == 0:
            return np.full(len(a), -1), np.full(len(b), -1), 1
        edges = np.unique(np.quantile(present, np.linspace(0, 1, NUMBER_BINS + 1)[1:-1]))

        def cut(values: np.ndarray) -> np.ndarray:
            return np.where(np.isfinite(values), np.searchsorted(edges, values, side="right"), -1)

        return cut(a), cut(b), len(edges) + 1
    kept = list(real.value_counts().index[: MAX_LEVELS - 1])
    lookup = {level: code for code, level in enumerate(kept)}
    other = len(kept)

    def code(values: pd.Series) -> np.ndarray:
        mapped = values.map(lookup).to_numpy(dtype=float, na_value=np.nan)
        return np.where(values.isna().to_numpy(), -1, np.where(np.isnan(mapped), other, mapped)).astype(int)

    return code(real), code(synthetic), other + 1


def _joint_shares(x: np.ndarray, y: np.ndarray, size_x: int, size_y: int) -> np.ndarray:
    present = (x >= 0) & (y >= 0)
    counts = np.bincount(x[present] * size_y + y[present], minlength=size_x * size_y).astype(float)
    total = counts.sum()
    return counts / total if total else counts


def pair_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    columns: list[str] | None = None,
    baseline: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Per pair of ``columns`` (default: all), how differently the two columns vary together, worst
    first; and the matrix of these distances in ``columns``' order.

    Two numbers: half the absolute difference of their Pearson correlations, synthetic against real
    (0 to 1), ``correlation_difference`` the difference itself. A category with a number or another
    category: the total-variation distance between the joint shares of the two (numbers cut into
    :data:`NUMBER_BINS` bins at the real quantiles); two numbers carry this ``contingency`` too.
    With ``baseline`` (other real rows), each pair's ``baseline`` is the same distance between
    those rows and ``real``: what sampling alone leaves, on tables this size.
    """
    if baseline is not None:
        result = pair_trends(real, synthetic, kinds, columns=columns)
        gaps = pair_trends(real, baseline, kinds, columns=columns)["pairs"]
        by_pair = {tuple(entry["columns"]): entry["distance"] for entry in gaps}
        for entry in result["pairs"]:
            entry["baseline"] = by_pair[tuple(entry["columns"])]
        return result
    columns = list(kinds) if columns is None else list(columns)
    codes = {name: _codes(real[name], synthetic[name], kinds[name]) for name in columns}
    numbers = [name for name in columns if kinds[name] == NUMBER]
    real_corr = real[numbers].corr() if len(numbers) >= 2 else None
    synthetic_corr = synthetic[numbers].corr() if len(numbers) >= 2 else None
    pairs = []
    matrix = np.full((len(columns), len(columns)), np.nan)
    for i, first in enumerate(columns):
        for j in range(i + 1, len(columns)):
            second = columns[j]
            a_real, a_syn, size_a = codes[first]
            b_real, b_syn, size_b = codes[second]
            contingency = (
                0.5
                * np.abs(
                    _joint_shares(a_real, b_real, size_a, size_b)
                    - _joint_shares(a_syn, b_syn, size_a, size_b)
                ).sum()
            )
            entry: dict[str, Any] = {
                "columns": [first, second],
                "kinds": [kinds[first], kinds[second]],
                "contingency": _round(contingency),
            }
            if kinds[first] == NUMBER and kinds[second] == NUMBER:
                assert real_corr is not None and synthetic_corr is not None
                difference = synthetic_corr.loc[first, second] - real_corr.loc[first, second]
                entry["correlation_real"] = _round(real_corr.loc[first, second])
                entry["correlation_synthetic"] = _round(synthetic_corr.loc[first, second])
                entry["correlation_difference"] = _round(difference)
                entry["metric"] = "correlation"
                entry["distance"] = _round(abs(difference) / 2)
            else:
                entry["metric"] = "contingency"
                entry["distance"] = _round(contingency)
            if entry["distance"] is not None:
                matrix[i, j] = matrix[j, i] = entry["distance"]
            pairs.append(entry)
    pairs.sort(key=lambda entry: -1.0 if entry["distance"] is None else entry["distance"], reverse=True)
    return {
        "pairs": pairs,
        "columns": columns,
        "matrix": [[_round(value) if np.isfinite(value) else None for value in row] for row in matrix],
        "columns_left_out": len(kinds) - len(columns),
    }


# --- adherence and missing cells -------------------------------------------------------------------


def boundary_adherence(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> dict[str, Any]:
    """Per number column, the share of synthetic values inside the real column's min/max; per
    category column, the share of synthetic cells whose level the real column holds; and their means."""
    numbers, categories = {}, {}
    for name, kind in kinds.items():
        real_values, synthetic_values = real[name].dropna(), synthetic[name].dropna()
        if len(real_values) == 0 or len(synthetic_values) == 0:
            continue
        if kind == NUMBER:
            low, high = real_values.min(), real_values.max()
            numbers[name] = _round(synthetic_values.between(low, high).mean())
        else:
            categories[name] = _round(synthetic_values.isin(set(real_values)).mean())
    return {
        "boundary_adherence": _round(np.mean(list(numbers.values()))) if numbers else None,
        "category_adherence": _round(np.mean(list(categories.values()))) if categories else None,
        "numbers": numbers,
        "categories": categories,
    }


def missing_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Per column, the share of missing cells in the real and in the synthetic rows, largest
    difference first."""
    real_share, synthetic_share = real.isna().mean(), synthetic.isna().mean()
    columns = [
        {
            "column": name,
            "real": _round(real_share[name]),
            "synthetic": _round(synthetic_share[name]),
            "difference": _round(abs(real_share[name] - synthetic_share[name])),
        }
        for name in real.columns
    ]
    columns.sort(key=lambda entry: entry["difference"], reverse=True)
    return {
        "columns": columns,
        "max_difference": columns[0]["difference"] if columns else None,
        "any_missing": bool(real_share.any() or synthetic_share.any()),
    }


# --- features shared by the classifiers and the distances -------------------------------------------


class _Features:
    """Rows as numbers for a model: numbers standardised by a reference table (missing cells: 0, the
    mean, and a missing flag where the reference has missing cells), categories one-hot over the
    reference's most frequent levels (the others, and missing cells, all zeros)."""

    def __init__(self, reference: pd.DataFrame, kinds: Mapping[str, str], columns: Iterable[str]) -> None:
        self.kinds = kinds
        self.columns = list(columns)
        self.scales: dict[str, tuple[float, float]] = {}
        self.levels: dict[str, list[str]] = {}
        self.flags: list[str] = []
        for name in self.columns:
            if kinds[name] == NUMBER:
                values = reference[name].to_numpy(float)
                present = values[np.isfinite(values)]
                mean = float(present.mean()) if len(present) else 0.0
                std = float(present.std()) if len(present) > 1 else 0.0
                self.scales[name] = (mean, std if std > 0 else 1.0)
                if len(present) < len(values):
                    self.flags.append(name)
            else:
                self.levels[name] = list(reference[name].value_counts().index[:MAX_LEVELS])

    def __call__(self, table: pd.DataFrame) -> np.ndarray:
        blocks = []
        for name in self.columns:
            if name in self.scales:
                mean, std = self.scales[name]
                values = (table[name].to_numpy(float) - mean) / std
                blocks.append(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)[:, None])
                if name in self.flags:
                    blocks.append(table[name].isna().to_numpy(float)[:, None])
            elif self.levels[name]:
                cells = table[name].to_numpy(object)
                blocks.append(np.stack([cells == level for level in self.levels[name]], axis=1).astype(float))
        if not blocks:
            return np.zeros((len(table), 1))
        return np.concatenate(blocks, axis=1)


#: Rows from which gradient boosting stops early, on a tenth of them held out (fewer: 100 iterations).
EARLY_STOPPING_ROWS = 1000


def _boosting(model_class: type, rows: int, seed: int) -> Any:
    """Gradient-boosted trees of at most 100 iterations, stopping early on a large table (a wide
    table's many features make each iteration costly; a small one has too few rows to hold out)."""
    return model_class(max_iter=100, early_stopping=rows >= EARLY_STOPPING_ROWS, random_state=seed)


# --- detection -------------------------------------------------------------------------------------


def detection_score(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str], *, seed: int = 0
) -> dict[str, Any]:
    """How well classifiers tell synthetic rows from real ones: the ROC AUC of a logistic regression
    and of gradient-boosted trees, each cross-validated over :data:`DETECTION_FOLDS` stratified
    folds; ``auc`` is the larger (the better detector). 0.5: the rows cannot be told apart; 1:
    every synthetic row is recognised."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    both = pd.concat([real, synthetic], ignore_index=True)
    features = _Features(both, kinds, kinds)(both)
    labels = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    folds = min(DETECTION_FOLDS, len(real), len(synthetic))
    result: dict[str, Any] = {"rows": {"real": len(real), "synthetic": len(synthetic)}, "folds": folds}
    if folds < 2:
        return {**result, "auc": None, "logistic_regression": None, "gradient_boosting": None}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    classifiers = {
        "logistic_regression": LogisticRegression(max_iter=1000),
        "gradient_boosting": _boosting(HistGradientBoostingClassifier, len(labels), seed),
    }
    for name, classifier in classifiers.items():
        probability = cross_val_predict(classifier, features, labels, cv=splitter, method="predict_proba")
        result[name] = _round(roc_auc_score(labels, probability[:, 1]))
    result["auc"] = max(result["logistic_regression"], result["gradient_boosting"])
    return result


# --- machine-learning efficacy ---------------------------------------------------------------------


def ml_efficacy(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    real_held_out: pd.DataFrame,
    kinds: Mapping[str, str],
    target: str,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Train a gradient-boosting model of ``target`` from the other columns on the synthetic rows and,
    beside it, on the real training rows; test both on the held-out rows.

    A category target is scored by accuracy and macro F1 (``metric``: accuracy), a number by R².
    Rows whose target is missing are left out. A training table whose target has one value predicts
    that value.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, f1_score, r2_score

    classify = kinds[target] == CATEGORY
    predictors = [name for name in kinds if name != target]
    result: dict[str, Any] = {
        "target": target,
        "task": "classification" if classify else "regression",
        "metric": "accuracy" if classify else "r2",
        "model": "HistGradientBoostingClassifier" if classify else "HistGradientBoostingRegressor",
    }
    test = real_held_out[real_held_out[target].notna()]
    if len(test) == 0 or not predictors:
        why = "no held-out row has a target value" if len(test) == 0 else "the table has no other column"
        return {**result, "note": why, "synthetic": {}, "real": {}}
    features = _Features(real_train, kinds, predictors)
    test_x, test_y = features(test), test[target].to_numpy(object if classify else float)
    for name, table in (("synthetic", synthetic), ("real", real_train)):
        rows = table[table[target].notna()]
        scores: dict[str, Any] = {"rows": len(rows)}
        if len(rows) == 0:
            result[name] = {**scores, "note": "no row has a target value"}
            continue
        y = rows[target].to_numpy(object if classify else float)
        single = len(pd.unique(y)) < 2
        if classify:
            model: Any = (
                DummyClassifier(strategy="most_frequent")
                if single
                else _boosting(HistGradientBoostingClassifier, len(rows), seed)
            )
        else:
            model = DummyRegressor() if single else _boosting(HistGradientBoostingRegressor, len(rows), seed)
        model.fit(features(rows), y.astype(str) if classify else y)
        predicted = model.predict(test_x)
        if classify:
            truth = test_y.astype(str)
            scores["accuracy"] = _round(accuracy_score(truth, predicted))
            scores["macro_f1"] = _round(f1_score(truth, predicted, average="macro"))
        else:
            scores["r2"] = _round(r2_score(test_y, predicted))
        if single:
            scores["note"] = "the target has one value in these rows: the model predicts it"
        result[name] = scores
    return result


# --- privacy ---------------------------------------------------------------------------------------


def _row_keys(table: pd.DataFrame, kinds: Mapping[str, str]) -> np.ndarray:
    """A hash per row, numbers compared as 32-bit floats (a generator's float32 draw of a training
    value equals it at that precision; two independent draws of a continuous column almost never do)."""
    columns = {}
    for name, kind in kinds.items():
        if kind == NUMBER:
            columns[name] = table[name].to_numpy(float).astype(np.float32)
        else:
            columns[name] = table[name].fillna("\x00missing")
    return pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy()


def distance_to_closest_record(
    real_train: pd.DataFrame,
    real_held_out: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Each synthetic and each held-out row's Euclidean distance to its closest training row, on
    numbers standardised by the training rows and levels one-hot (:class:`_Features`): the median
    and 5th percentile of each, and the share of rows that copy a training row exactly.

    Held-out rows are the yardstick: they were never seen, so a generator that does not copy its
    training rows gives synthetic rows no closer to them than held-out rows are (a ratio of medians
    near 1 or above). Copies are counted on every column, numbers compared as 32-bit floats; a
    table of few levels has copies among real rows too (``held_out``)."""
    from sklearn.neighbors import NearestNeighbors

    features = _Features(real_train, kinds, kinds)
    neighbours = NearestNeighbors(n_neighbors=1).fit(features(real_train))
    training_keys = set(_row_keys(real_train, kinds).tolist())
    result: dict[str, Any] = {"training_rows": len(real_train)}
    distances = {}
    for name, table in (("synthetic", synthetic), ("held_out", real_held_out)):
        distance = neighbours.kneighbors(features(table), return_distance=True)[0][:, 0]
        distances[name] = distance
        copies = np.fromiter((key in training_keys for key in _row_keys(table, kinds)), bool, len(table))
        result[name] = {
            "rows": len(table),
            "median": _round(np.median(distance)),
            "percentile_5": _round(np.percentile(distance, 5)),
            "copy_share": _round(copies.mean()),
        }
    held_median = result["held_out"]["median"]
    result["median_ratio"] = _round(result["synthetic"]["median"] / held_median) if held_median else None
    top = max(float(np.percentile(np.concatenate(list(distances.values())), 99)), 1e-12)
    edges = np.linspace(0.0, top, DCR_BINS + 1)
    result["histogram"] = {
        "edges": [_round(edge) for edge in edges],
        **{
            name: np.histogram(np.minimum(values, top), bins=edges)[0].tolist()
            for name, values in distances.items()
        },
    }
    return result
