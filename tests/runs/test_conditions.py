"""Conditional sampling from a tabular run: ``vaekit sample RUN --given 'col=value' --given 'x>3'``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vaekit.runs.tabular as tabular_runs
from vaekit.cli.main import main
from vaekit.errors import VaekitError
from vaekit.runs.conditions import parse_condition
from vaekit.runs.tabular import default_train_config, sample_rows, train_tabular


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A table where the group sets the level of x: x ~ Normal(0, 1) in group a, Normal(10, 1) in b.

    Trained briefly, the model learns the dependence only in part; what the tests check is that its
    conditionals are its own joint's, whatever it has learnt."""
    rng = np.random.default_rng(0)
    group = rng.choice(["a", "b"], size=600)
    x = np.where(group == "a", 0.0, 10.0) + rng.normal(0, 1, size=600)
    folder = tmp_path_factory.mktemp("conditions")
    csv = folder / "table.csv"
    pd.DataFrame({"group": group, "x": x}).to_csv(csv, index=False)
    config = default_train_config(epochs=60, seed=0, progress_bar=False)
    return train_tabular(
        {"dataset": "csv", "csv": str(csv), "split_seed": 0},
        config,
        folder / "run",
        iw_samples=5,
        figures=False,
        progress=False,
    )


@pytest.fixture(scope="module")
def joint(run):
    """Rows drawn from the model's joint p(x): what its conditionals must agree with."""
    return sample_rows(run, 20_000, seed=11)


def test_a_given_cell_is_kept_and_the_others_are_drawn_from_the_models_conditional(run, joint):
    given_b = sample_rows(run, 2000, given=["group=b"])
    given_a = sample_rows(run, 2000, given=["group=a"])
    assert (given_b["group"] == "b").all() and (given_a["group"] == "a").all()
    # p(x | group) of the model: the x of its own joint rows of that group, to sampling error.
    for rows, level in ((given_b, "b"), (given_a, "a")):
        assert abs(rows["x"].mean() - joint.loc[joint["group"] == level, "x"].mean()) < 0.5
    assert given_b["x"].mean() > given_a["x"].mean() + 3  # and the model has learnt that x follows the group


def test_a_range_keeps_only_rows_that_meet_it(run, joint):
    rows = sample_rows(run, 1000, given=["x>5", "x<=12"])
    assert len(rows) == 1000 and ((rows["x"] > 5) & (rows["x"] <= 12)).all()
    met = joint[(joint["x"] > 5) & (joint["x"] <= 12)]
    assert abs((rows["group"] == "b").mean() - (met["group"] == "b").mean()) < 0.06
    assert (sample_rows(run, 50, given=["group!=a"])["group"] == "b").all()


def test_conditional_samples_are_seeded(run):
    first = sample_rows(run, 20, given=["group=a"], seed=3)
    pd.testing.assert_frame_equal(first, sample_rows(run, 20, given=["group=a"], seed=3))
    assert not first.equals(sample_rows(run, 20, given=["group=a"], seed=4))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["age=3"], "the model has no column 'age'"),
        (["group=c"], "--given 'group=c'"),
        (["group>a"], "group is a categorical column: it takes = or != conditions"),
        (["x>abc"], "x holds numbers, got 'abc'"),
        (["x>inf"], "the bound must be a finite number"),
        (["x"], "write COLUMN=VALUE"),
        (["group=a", "group=b"], "give group two values: no row meets both"),
    ],
)
def test_a_condition_that_cannot_be_read_is_refused(run, given, message):
    with pytest.raises(VaekitError, match=message):
        sample_rows(run, 5, given=given)


def test_an_impossible_condition_is_refused_after_a_bounded_search(run, monkeypatch):
    monkeypatch.setattr(tabular_runs, "MAX_CONDITIONAL_DRAWS", 20_000)
    monkeypatch.setattr(tabular_runs, "DRAWS_PER_ROW_ASKED", 1)  # the budget: 20,000 draws whatever --n
    with pytest.raises(VaekitError, match="none of 20,000 rows drawn .* impossible under the model"):
        sample_rows(run, 5, given=["x>1000"])
    with pytest.raises(VaekitError, match=r"ask for --n \d+ or fewer"):
        sample_rows(run, 10_000, given=["x>12"])
    # Bounds are judged on the values as written: none is written above the training maximum (12.39),
    # however far above it the model draws.
    with pytest.raises(VaekitError, match="none of 20,000 rows drawn .* impossible under the model"):
        sample_rows(run, 5, given=["x>12.4"])
    # Asked for many rows, the search may draw more: 20 per row asked for.
    monkeypatch.setattr(tabular_runs, "DRAWS_PER_ROW_ASKED", 20)
    assert len(sample_rows(run, 10_000, given=["x>11"])) == 10_000


def test_column_names_with_operator_signs_are_read_whole():
    from vaekit.schema import ColumnSpec, Schema

    schema = Schema((ColumnSpec("a<b", "real"), ColumnSpec("a", "real")))
    condition = parse_condition("a<b>=2", schema)
    assert (condition.column, condition.operator, condition.encoded) == ("a<b", ">=", 2.0)


def test_the_command_line_samples_given_a_cell(run, tmp_path, capsys):
    out = tmp_path / "given.csv"
    argv = ["sample", str(run.path), "--n", "30", "--given", "group=b", "--given", "x>8", "--out", str(out)]
    assert main(argv) == 0
    rows = pd.read_csv(out)
    assert len(rows) == 30 and (rows["group"] == "b").all() and (rows["x"] > 8).all()
    assert main(["sample", str(run.path), "--given", "nope=1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "the model has no column 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_cells_not_given_are_filled_inside_their_support(tmp_path):
    """A lognormal column has no density at 0: the cells not given hold a safe value of its support."""
    import torch

    from vaekit.models import TabularVAE, TabularVAEConfig
    from vaekit.runs.store import Run
    from vaekit.schema import ColumnSpec, Schema

    schema = Schema(
        (
            ColumnSpec("income", "positive", family="lognormal", center=1.0, spread=1.0),
            ColumnSpec("x", "real", center=0.0, spread=1.0),
        )
    )
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema=schema.to_dict())).eval()
    run = Run(path=tmp_path, model=model, config={"model_config": {"schema": schema.to_dict()}})
    rows = sample_rows(run, 50, given=["x=0.5"])
    assert (rows["x"] == 0.5).all() and (rows["income"] > 0).all()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["x=1", "x>2"], "'x=1' and 'x>2' contradict each other"),
        (["group=a", "group!=a"], "'group=a' and 'group!=a' contradict each other"),
    ],
)
def test_contradictory_conditions_are_refused_before_drawing(run, given, message, monkeypatch):
    monkeypatch.setattr(tabular_runs, "MAX_CONDITIONAL_DRAWS", 0)  # no draw may be needed to say so
    with pytest.raises(VaekitError, match=message):
        sample_rows(run, 5, given=given)


def test_condition_text_is_read_forgivingly_and_errors_name_no_row(run):
    assert (sample_rows(run, 5, given=[" group = a "])["group"] == "a").all()
    with pytest.raises(VaekitError) as caught:
        sample_rows(run, 5, given=["x==1"])
    assert "row" not in str(caught.value)


@pytest.fixture(scope="module")
def holey_run(tmp_path_factory):
    """A table with missing cells: a is missing in 30% of rows, and c exactly where a is; b in 10%."""
    rng = np.random.default_rng(1)
    rows = 500
    a = rng.normal(size=rows)
    b = rng.choice(["x", "y", "z"], size=rows).astype(object)
    c = rng.normal(size=rows)
    a_missing = rng.random(rows) < 0.3
    a[a_missing], c[a_missing] = np.nan, np.nan
    b[rng.random(rows) < 0.1] = None
    folder = tmp_path_factory.mktemp("holes")
    pd.DataFrame({"a": a, "b": b, "c": c}).to_csv(folder / "holes.csv", index=False)
    config = default_train_config(epochs=3, seed=0, progress_bar=False)
    data = {"dataset": "csv", "csv": str(folder / "holes.csv"), "split_seed": 0}
    return train_tabular(data, config, folder / "run", iw_samples=2, figures=False, progress=False)


def test_keep_missing_gives_the_rows_the_training_tables_missing_cells(holey_run):
    from vaekit.runs.tabular import tabular_data

    train, _ = tabular_data(holey_run.config)
    rows = sample_rows(holey_run, 4000, keep_missing=True, seed=5)
    for column in ("a", "b", "c"):
        assert abs(rows[column].isna().mean() - train[column].isna().mean()) < 0.03, column
    assert (rows["a"].isna() == rows["c"].isna()).all()  # which columns go missing together, too
    assert sample_rows(holey_run, 100).notna().all().all()  # off by default
    given = sample_rows(holey_run, 300, keep_missing=True, given=["a>-5"])
    assert given["a"].notna().all() and given["c"].isna().any()  # a column conditioned on is never blanked


def test_keep_missing_says_so_when_the_training_table_has_no_missing_cell(run):
    from vaekit.errors import VaekitWarning

    with pytest.warns(VaekitWarning, match="the training table has no missing cell"):
        rows = sample_rows(run, 20, keep_missing=True)
    assert rows.notna().all().all()


def test_the_command_line_keeps_missing_cells(holey_run, tmp_path):
    out = tmp_path / "holes.csv"
    assert main(["sample", str(holey_run.path), "--n", "200", "--keep-missing", "--out", str(out)]) == 0
    assert pd.read_csv(out)["a"].isna().any()


def test_a_given_number_draws_the_other_cells_from_the_models_conditional(run, joint):
    rows = sample_rows(run, 2000, given=["x=10"])
    near = joint[(joint["x"] - 10).abs() < 0.5]
    assert (rows["x"] == 10).all() and len(near) > 200
    assert abs((rows["group"] == "b").mean() - (near["group"] == "b").mean()) < 0.1


def test_a_level_too_rare_to_meet_by_drawing_is_given_and_said_to_be_approximate(run, joint, monkeypatch):
    from vaekit.errors import VaekitWarning

    monkeypatch.setattr(tabular_runs, "MAX_EXACT_DRAWS", 0)  # as if group b were too rare
    with pytest.warns(VaekitWarning, match="approximate"):
        rows = sample_rows(run, 2000, given=["group=b"])
    assert (rows["group"] == "b").all()
    assert abs(rows["x"].mean() - joint.loc[joint["group"] == "b", "x"].mean()) < 0.5
    assert rows["x"].std() > 0.7 * joint.loc[joint["group"] == "b", "x"].std()  # not collapsed onto few z
