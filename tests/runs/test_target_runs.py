"""``vaekit train tabular --target COL`` and ``vaekit predict``: a partly labelled column as a class label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from vaekit.cli.main import main
from vaekit.errors import VaekitError
from vaekit.runs import load_run
from vaekit.runs.registry import kind_of_name
from vaekit.runs.store import load_model, save_model
from vaekit.runs.target import DEFAULT_TARGET_CLASSIFIER_WEIGHT


def _table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    return pd.DataFrame(
        {
            "income": rng.normal(30 + 20 * y, 8),
            "region": np.where(rng.random(rows) < 0.8, np.array(["north", "south"])[y], "east"),
            "owner": np.array(["no", "yes"])[y],
        }
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("target")
    table = _table(800, 0)
    table.loc[np.random.default_rng(0).random(len(table)) < 0.85, "owner"] = np.nan
    table.to_csv(folder / "train.csv", index=False)
    _table(300, 1).to_csv(folder / "labelled.csv", index=False)
    _table(300, 1).drop(columns="owner").to_csv(folder / "no_target.csv", index=False)
    out = folder / "run"
    arguments = ["train", "tabular", "--csv", str(folder / "train.csv"), "--target", "owner"]
    main([*arguments, "--epochs", "15", "--iw-samples", "5", "--no-progress", "--out", str(out)])
    return out


def test_the_run_reports_its_accuracy_beside_gradient_boosting(run_dir):
    metrics = load_run(run_dir).metrics
    assert metrics["target"] == "owner"
    assert 0 < metrics["labelled_test_rows"] < metrics["test_rows"]
    assert metrics["target_accuracy"] > 0.8 and metrics["gradient_boosting_accuracy"] > 0.8
    assert metrics["test_log_likelihood"] < 0
    assert load_run(run_dir).config["classifier_weight"] == DEFAULT_TARGET_CLASSIFIER_WEIGHT


def test_predict_writes_probabilities_that_classify_held_out_rows(run_dir, capsys):
    folder = run_dir.parent
    main(["predict", str(run_dir), "--csv", str(folder / "labelled.csv"), "--out", str(folder / "p.csv")])
    predictions = pd.read_csv(folder / "p.csv")
    assert list(predictions.columns) == ["row", "predicted", "p_no", "p_yes"]
    np.testing.assert_allclose(predictions[["p_no", "p_yes"]].sum(axis=1), 1.0, atol=1e-5)
    truth = pd.read_csv(folder / "labelled.csv")["owner"]
    assert (predictions["predicted"] == truth).mean() > 0.85
    # The target's cells are never read: a table without the column gives the same answer.
    main(["predict", str(run_dir), "--csv", str(folder / "no_target.csv"), "--out", str(folder / "q.csv")])
    pd.testing.assert_frame_equal(predictions, pd.read_csv(folder / "q.csv"))


def test_the_other_commands_answer_a_run_with_a_target(run_dir, tmp_path):
    folder = run_dir.parent
    main(["sample", str(run_dir), "--n", "200", "--given", "owner=yes", "--out", str(tmp_path / "s.csv")])
    rows = pd.read_csv(tmp_path / "s.csv")
    assert (rows["owner"] == "yes").all() and rows["income"].mean() > 40
    main(["impute", str(run_dir), "--csv", str(folder / "train.csv"), "--out", str(tmp_path / "i.csv")])
    assert pd.read_csv(tmp_path / "i.csv")["owner"].notna().all()
    main(["encode", str(run_dir), "--csv", str(folder / "train.csv"), "--out", str(tmp_path / "e.csv")])
    assert len(pd.read_csv(tmp_path / "e.csv")) == 800
    main(
        [
            "score",
            str(run_dir),
            "--csv",
            str(folder / "labelled.csv"),
            "--out",
            str(tmp_path / "c.csv"),
            "--iw-samples",
            "5",
            "--no-progress",
        ]
    )
    assert np.isfinite(pd.read_csv(tmp_path / "c.csv")["log_likelihood"]).all()


def test_the_model_file_round_trips_and_names_the_tabular_kind(run_dir, tmp_path):
    run = load_run(run_dir)
    assert kind_of_name("TargetedTabularVAE").command == "tabular"
    loaded = load_model(save_model(run.model, tmp_path / "m.pt"))
    values = run.model.sample(5)
    observed = torch.ones_like(values, dtype=torch.bool)
    assert torch.equal(loaded.predict_proba(values, observed), run.model.predict_proba(values, observed))


@pytest.fixture
def plain_table(tmp_path):
    path = tmp_path / "t.csv"
    table = _table(60, 3)
    table["constant"] = "same"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--target", "income"], "inferred as positive; declare it categorical"),
        (["--target", "nope"], "no such column"),
        (["--target", "constant"], "one level"),
        (["--target", "owner", "--objective", "iwae"], "--objective iwae is not available"),
        (["--classifier-weight", "3"], "name one"),
    ],
)
def test_a_target_that_cannot_be_a_label_is_refused_before_training(
    plain_table, tmp_path, capsys, flags, message
):
    out = tmp_path / "run"
    command = ["train", "tabular", "--csv", str(plain_table), *flags, "--epochs", "1", "--no-progress"]
    assert main([*command, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_target_with_no_labelled_row_is_refused_by_name(tmp_path, capsys):
    path = tmp_path / "t.csv"
    table = _table(60, 3)
    table["owner"] = table["owner"].where(table.index < 0)
    table["kind"] = np.where(table.index % 2 == 0, "a", "b")
    table.to_csv(path, index=False)
    assert (
        main(["train", "tabular", "--csv", str(path), "--target", "owner", "--out", str(tmp_path / "r")]) == 2
    )
    # The table reader refuses a column with no value before the target is looked at.
    assert "column 'owner' is entirely empty" in capsys.readouterr().err


def test_predict_refuses_a_run_without_a_target(plain_table, tmp_path, capsys):
    out = tmp_path / "run"
    command = [
        "train",
        "tabular",
        "--csv",
        str(plain_table),
        "--epochs",
        "1",
        "--iw-samples",
        "2",
        "--no-progress",
    ]
    assert main([*command, "--out", str(out)]) == 0
    assert main(["predict", str(out), "--csv", str(plain_table), "--out", str(tmp_path / "p.csv")]) == 2
    assert "without --target" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_a_target_whose_training_cells_are_all_missing_is_refused():
    from vaekit.data.tabular import fit_schema, infer_schema
    from vaekit.runs.target import check_target

    table = _table(40, 4)
    schema = fit_schema(infer_schema(table), table)
    with pytest.raises(VaekitError, match="no training row has a value"):
        check_target(schema, "owner", table.assign(owner=np.nan))
