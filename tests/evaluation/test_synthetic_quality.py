"""The numbers of a synthetic-data report, on tables whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vaekit.evaluation import synthetic_quality
from vaekit.evaluation.synthetic_quality import (
    MAX_PAIR_COLUMNS,
    column_kinds,
    default_target,
    quality_report,
)


def _people(rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Height and weight tied together, a level that follows height, a category and a flag; some
    weights missing."""
    rng = np.random.default_rng(seed)
    height = rng.normal(170, 10, rows)
    table = pd.DataFrame(
        {
            "height": height + shift * 10,
            "weight": 0.9 * height - 80 + rng.normal(0, 5, rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows, p=[0.5, 0.3, 0.2]),
            "tall": np.where(height + rng.normal(0, 3, rows) > 172, "yes", "no"),
        }
    )
    table.loc[rng.random(rows) < 0.1, "weight"] = np.nan
    return table


@pytest.fixture(scope="module")
def tables():
    return _people(800, 0), _people(300, 1)


def test_identical_tables_have_no_distance(tables):
    train, held = tables
    report = quality_report(train, held, held.copy())
    assert all(entry["distance"] == 0 for entry in report["column_shapes"])
    assert all(entry["distance"] == 0 for entry in report["pair_trends"]["pairs"])
    assert report["missing"]["max_difference"] == 0
    assert report["summary"]["category_adherence"] == 1


def test_rows_from_the_same_distribution_cannot_be_told_apart(tables):
    train, held = tables
    report = quality_report(train, held, _people(300, 2))
    summary = report["summary"]
    assert 0.4 < summary["detection_auc"] < 0.6
    assert summary["column_shape_distance_mean"] < 0.1
    # As close as the training rows are to the held-out ones, column by column and pair by pair.
    assert summary["column_shape_distance_mean"] < summary["column_shape_baseline_mean"] + 0.03
    assert summary["pair_trend_distance_mean"] < summary["pair_trend_baseline_mean"] + 0.03
    # Trained on fresh rows, the target is predicted as well as from the training rows.
    assert summary["efficacy_target"] == "tall" and summary["efficacy_metric"] == "accuracy"
    assert abs(summary["train_on_synthetic"] - summary["train_on_real"]) < 0.05
    # Fresh rows are as far from the training rows as held-out rows are, and copy none.
    assert 0.8 < report["privacy"]["median_ratio"] < 1.25
    assert summary["copy_share"] == 0 and summary["held_out_copy_share"] == 0
    assert summary["boundary_adherence"] > 0.99


def test_a_shifted_column_gets_a_large_ks_ranks_first_and_is_detected(tables):
    train, held = tables
    report = quality_report(train, held, _people(300, 2, shift=2.0))
    worst = report["column_shapes"][0]
    assert worst["column"] == "height" and worst["metric"] == "kolmogorov_smirnov"
    assert worst["distance"] > 0.6 and worst["baseline"] < 0.1
    assert all(entry["distance"] < 0.3 for entry in report["column_shapes"][1:])
    assert report["summary"]["detection_auc"] > 0.9
    # Heights 2 sd up fall out of the training range more often.
    assert report["adherence"]["numbers"]["height"] < 0.9


def test_a_broken_pair_ranks_first_among_the_pairs(tables):
    train, held = tables
    synthetic = _people(300, 2)
    synthetic["weight"] = np.random.default_rng(3).permutation(synthetic["weight"].to_numpy())
    pairs = quality_report(train, held, synthetic)["pair_trends"]["pairs"]
    assert pairs[0]["columns"] == ["height", "weight"] and pairs[0]["metric"] == "correlation"
    assert pairs[0]["correlation_real"] > 0.8 and abs(pairs[0]["correlation_synthetic"]) < 0.2
    assert pairs[0]["distance"] > 0.35 and pairs[0]["baseline"] < 0.05


def test_copies_of_training_rows_are_counted_and_sit_at_distance_zero(tables):
    train, held = tables
    copies = train.sample(150, random_state=0)
    # A generator's float32 draws of the training values are still copies.
    copies["height"] = copies["height"].astype(np.float32)
    synthetic = pd.concat([copies, _people(150, 2)], ignore_index=True)
    privacy = quality_report(train, held, synthetic)["privacy"]
    assert privacy["synthetic"]["copy_share"] == pytest.approx(0.5, abs=0.01)
    assert privacy["synthetic"]["percentile_5"] == 0 and privacy["held_out"]["percentile_5"] > 0
    assert privacy["synthetic"]["median"] < privacy["held_out"]["median"]


def test_distance_to_closest_record_orders_near_copies_before_fresh_rows(tables):
    train, held = tables
    rng = np.random.default_rng(4)
    near = train.sample(300, random_state=1).reset_index(drop=True)
    near["height"] += rng.normal(0, 0.1, 300)
    near["weight"] += rng.normal(0, 0.1, 300)
    near_privacy = quality_report(train, held, near)["privacy"]
    fresh_privacy = quality_report(train, held, _people(300, 2))["privacy"]
    assert near_privacy["synthetic"]["copy_share"] < 0.05  # not copies, but close
    assert near_privacy["synthetic"]["median"] < fresh_privacy["synthetic"]["median"]
    assert near_privacy["median_ratio"] < 0.5


def test_the_missing_share_of_each_column_is_compared(tables):
    train, held = tables
    synthetic = _people(300, 2)
    synthetic["weight"] = synthetic["weight"].fillna(70.0)
    synthetic.loc[:149, "city"] = np.nan
    missing = quality_report(train, held, synthetic)["missing"]
    assert missing["columns"][0]["column"] == "city"
    assert missing["columns"][0]["synthetic"] == 0.5 and missing["columns"][0]["real"] == 0
    by_column = {entry["column"]: entry for entry in missing["columns"]}
    assert by_column["weight"]["synthetic"] == 0 and by_column["weight"]["real"] > 0.05


def test_kinds_and_the_default_target():
    table = pd.DataFrame({"a": [1.0, 2.0], "code": [1, 2], "flag": [True, False], "b": [0.5, 0.1]})
    kinds = column_kinds(table, categorical=["code"])
    assert kinds == {"a": "number", "code": "category", "flag": "category", "b": "number"}
    assert default_target(kinds) == "flag"
    assert default_target({"a": "number", "b": "number"}) == "b"


def test_a_level_written_as_a_whole_float_is_the_same_level():
    real = pd.DataFrame({"code": [1, 2, 2, 3] * 10, "x": np.arange(40.0)})
    synthetic = real.assign(code=real["code"].astype(float))
    report = quality_report(real, real, synthetic, categorical=["code"])
    assert report["adherence"]["categories"]["code"] == 1
    assert next(e for e in report["column_shapes"] if e["column"] == "code")["distance"] == 0


def test_a_table_of_numbers_is_scored_by_r2(tables):
    train, held = (table[["height", "weight"]] for table in tables)
    efficacy = quality_report(train, held, _people(300, 2)[["height", "weight"]])["ml_efficacy"]
    assert efficacy["target"] == "weight" and efficacy["metric"] == "r2"
    assert efficacy["real"]["r2"] > 0.5 and efficacy["synthetic"]["r2"] > 0.5


def test_tables_of_other_columns_or_no_rows_are_refused(tables):
    train, held = tables
    with pytest.raises(ValueError, match="real_held_out lacks city"):
        quality_report(train, held.drop(columns="city"), held)
    with pytest.raises(ValueError, match="synthetic has columns real_train lacks: extra"):
        quality_report(train, held, held.assign(extra=1))
    with pytest.raises(ValueError, match="synthetic has no rows"):
        quality_report(train, held, held.iloc[:0])
    with pytest.raises(ValueError, match="target column 'nope'"):
        quality_report(train, held, held, target="nope")


def test_a_wide_table_pairs_and_models_a_bounded_number_of_columns(monkeypatch):
    monkeypatch.setattr(synthetic_quality, "MAX_MODEL_COLUMNS", 10)
    rng = np.random.default_rng(0)

    def wide(rows: int) -> pd.DataFrame:
        numbers = {f"x{k}": rng.normal(size=rows) for k in range(45)}
        levels = {f"c{k}": rng.choice(["a", "b", "c"], rows) for k in range(15)}
        return pd.DataFrame({**numbers, **levels})

    report = quality_report(wide(200), wide(100), wide(100), max_rows=100)
    trends = report["pair_trends"]
    assert len(trends["columns"]) == MAX_PAIR_COLUMNS and trends["columns_left_out"] == 60 - MAX_PAIR_COLUMNS
    assert len(trends["pairs"]) == MAX_PAIR_COLUMNS * (MAX_PAIR_COLUMNS - 1) // 2
    assert len(report["column_shapes"]) == 60
    assert report["detection"]["columns"] == 10 and report["ml_efficacy"]["columns"] == 9
