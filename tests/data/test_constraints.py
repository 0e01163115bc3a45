"""Constraints between columns (data/constraints.py): declared in a schema file, fitted on the
training table, met by every synthetic row (runs/tabular.py's sample_rows)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vaekit.cli.main import main
from vaekit.data.constraints import rows_meeting
from vaekit.data.tabular import decode_table, fit_schema, infer_schema, read_schema_file
from vaekit.errors import DataError
from vaekit.runs.tabular import default_train_config, sample_rows, train_tabular
from vaekit.schema import Schema

CITIES = {"Oslo": "north", "Bergen": "north", "Lima": "south", "Cusco": "south", "Pune": "east"}


def _table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Debt at most income (a share of it), and each city in its one region."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.gamma(4.0, 10.0, rows), 2)
    city = rng.choice(list(CITIES), rows)
    return pd.DataFrame(
        {
            "income": income,
            "debt": np.round(income * rng.beta(2, 3, rows), 2),
            "city": city,
            "region": [CITIES[c] for c in city],
        }
    )


CONSTRAINTS = ["debt <= income", {"combinations": ["city", "region"]}]


def _schema(table: pd.DataFrame, constraints=CONSTRAINTS) -> Schema:
    return fit_schema(infer_schema(table, {"constraints": list(constraints)}), table)


def test_a_schema_file_declares_constraints_beside_its_columns(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(
        "columns:\n  debt: real\nconstraints:\n  - debt <= income\n  - combinations: [city, region]\n"
    )
    overrides = read_schema_file(path)
    assert overrides["constraints"] == CONSTRAINTS and overrides["debt"] == {"kind": "real"}
    table = _table(300)
    schema = fit_schema(infer_schema(table, overrides), table)
    assert [c["text"] for c in schema.constraints] == ["debt <= income", "combinations of city, region"]
    assert "constraint: debt <= income" in schema.describe()
    # The seen combinations are learnt, and kept with the schema a run stores.
    assert len(schema.constraints[1]["seen"]) == len(CITIES)
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_rows_meet_a_comparison_and_only_seen_combinations():
    schema = _schema(_table(300))
    rows = pd.DataFrame(
        {
            "income": [10.0, 10.0, 10.0, np.nan, 10.0],
            "debt": [5.0, 12.0, 5.0, 50.0, 10.0],
            "city": ["Oslo", "Oslo", "Oslo", "Lima", "Pune"],
            "region": ["north", "north", "south", "south", "east"],
        }
    )
    # Row 2: debt above income; row 3: Oslo is not in the south; row 4: a missing income breaks nothing.
    assert rows_meeting(schema, rows).tolist() == [True, False, False, True, True]


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        (["income <= debt"], r"breaks it in \d+ row\(s\), first at row \d+ \(income "),
        (["debt <= salary"], "names columns the schema lacks: salary"),
        (["city <= income"], "column 'city' holds levels"),
        ([{"combinations": ["city", "income"]}], "column 'income' holds numbers"),
        (["debt is small"], "cannot read the constraint 'debt is small'"),
        ([{"combinations": "city"}], "two or more columns"),
        ([["debt", "income"]], "cannot read the constraint of type list"),
    ],
)
def test_a_constraint_the_table_or_its_columns_cannot_take_is_a_clear_error(constraints, message):
    with pytest.raises(DataError, match=message):
        _schema(_table(300), constraints)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("constraints")
    _table(600).to_csv(folder / "table.csv", index=False)
    (folder / "schema.json").write_text(json.dumps({"constraints": CONSTRAINTS}))
    return train_tabular(
        {"dataset": "csv", "csv": str(folder / "table.csv"), "split_seed": 0},
        default_train_config(epochs=3, seed=0, progress_bar=False),
        folder / "run",
        overrides=read_schema_file(folder / "schema.json"),
        iw_samples=2,
        figures=False,
        progress=False,
    )


def test_every_sampled_row_meets_the_constraints_which_the_model_alone_does_not(run):
    rows = sample_rows(run, 2_000, seed=1)
    assert len(rows) == 2_000
    assert (rows["debt"] <= rows["income"]).all()
    assert all(CITIES[city] == region for city, region in zip(rows["city"], rows["region"], strict=True))
    # Briefly trained, the model's own draws break them: the rows above were kept, not lucky.
    schema = Schema.from_dict(run.config["model_config"]["schema"])
    assert not rows_meeting(schema, decode_table(schema, run.model.sample(2_000))).all()
    # Conditions and constraints together.
    given = sample_rows(run, 200, seed=2, given=["city=Lima"])
    assert (given["region"] == "south").all() and (given["debt"] <= given["income"]).all()


def test_the_command_samples_rows_that_meet_the_constraints(run, tmp_path):
    out = tmp_path / "synthetic.csv"
    assert main(["sample", str(run.path), "--n", "300", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert (rows["debt"] <= rows["income"]).all()
    assert all(CITIES[city] == region for city, region in zip(rows["city"], rows["region"], strict=True))


def test_a_comparison_of_dates_compares_the_dates():
    table = pd.DataFrame(
        {
            "opened": ["2024-01-05", "2024-02-01", "2024-03-10"] * 10,
            "closed": ["2024-01-20", "2024-02-01", "2024-12-31"] * 10,
        }
    )
    schema = _schema(table, ["opened <= closed"])
    rows = pd.DataFrame({"opened": ["2024-05-01", "2024-05-01"], "closed": ["2024-06-01", "2024-04-30"]})
    assert rows_meeting(schema, rows).tolist() == [True, False]


@pytest.mark.parametrize("declared", ["debt <= income", {"debt": "income"}])
def test_constraints_not_given_as_a_list_are_named_as_such(declared):
    with pytest.raises(DataError, match="constraints are a list"):
        infer_schema(_table(50), {"constraints": declared})


def test_a_constraint_on_a_column_left_out_as_identifiers_says_so():
    table = _table(300).assign(account=[f"A{i:05d}" for i in range(300)])
    with pytest.raises(DataError, match="'account' was left out of the model as identifiers"):
        infer_schema(table, {"constraints": ["debt <= account"]})
