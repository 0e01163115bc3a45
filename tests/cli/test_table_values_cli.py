"""Values in the user's tables that once broke a command (issue 14 items 6-9): each run ends in a
result or in a one-line message, and what was written reads back as it was written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vaekit.cli.main import main

TINY = ["--epochs", "1", "--hidden", "8", "--z-dim", "2", "--iw-samples", "2", "--no-progress"]


@pytest.fixture(scope="module")
def zip_run(tmp_path_factory):
    """A run whose categorical column holds zip codes with leading zeros."""
    folder = tmp_path_factory.mktemp("zip")
    rng = np.random.default_rng(0)
    rows = 60
    table = pd.DataFrame(
        {"zip": rng.choice(["00501", "02139", "10001"], rows), "x": rng.normal(size=rows).round(3)}
    )
    table.to_csv(folder / "t.csv", index=False)
    (folder / "schema.json").write_text(json.dumps({"zip": "categorical"}))
    argv = ["train", "tabular", "--csv", str(folder / "t.csv"), "--schema", str(folder / "schema.json")]
    assert main([*argv, *TINY, "--out", str(folder / "run")]) == 0
    return folder


def test_sample_and_impute_write_numeric_looking_levels_as_written(zip_run, capsys):
    """Issue 14 item 7: '00501' was written back as 501, and score then refused the imputed file."""
    run = str(zip_run / "run")
    assert main(["sample", run, "--n", "50", "--out", str(zip_run / "s.csv")]) == 0
    sampled = pd.read_csv(zip_run / "s.csv", dtype=str)
    assert set(sampled["zip"]) <= {"00501", "02139", "10001"}
    (zip_run / "holes.csv").write_text("zip,x\n,0.5\n00501,\n,-1\n")
    assert main(["impute", run, "--csv", str(zip_run / "holes.csv"), "--out", str(zip_run / "i.csv")]) == 0
    imputed = pd.read_csv(zip_run / "i.csv", dtype=str)
    assert set(imputed["zip"]) <= {"00501", "02139", "10001"} and imputed["zip"][1] == "00501"
    argv = ["score", run, "--csv", str(zip_run / "i.csv"), "--out", str(zip_run / "sc.csv")]
    assert main([*argv, "--iw-samples", "2", "--no-progress"]) == 0, capsys.readouterr().err


def test_a_huge_text_cell_is_refused_in_one_line_before_training(tmp_path, capsys):
    """Issue 14 item 6: a 100 MB cell trained, then drawing the marginals ran to 23 GB."""
    rows = ["note,x"] + [f"{'ab'[k % 2]},{k / 7:.3f}" for k in range(30)] + ["z" * 2_000_000 + ",1.5"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert (
        main(["train", "tabular", "--csv", str(tmp_path / "t.csv"), *TINY, "--out", str(tmp_path / "r")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and len(err[0]) < 400, err
    assert "'note' holds a cell of 2,000,000 characters at row 31" in err[0]
    assert not (tmp_path / "r").exists()


def test_huge_values_end_in_a_message_naming_the_column(tmp_path, capsys):
    """Issue 14 item 8: a real column of spread 1e20 ended in an internal error (NaN loc), whole
    numbers near 1e30 in "Too many bins"."""
    rng = np.random.default_rng(0)
    pd.DataFrame({"big": rng.normal(size=40) * 1e20, "x": rng.normal(size=40)}).to_csv(
        tmp_path / "big.csv", index=False
    )
    capsys.readouterr()
    assert (
        main(["train", "tabular", "--csv", str(tmp_path / "big.csv"), *TINY, "--out", str(tmp_path / "a")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'big' holds a value beyond 1e15 in magnitude" in err[0]
    # Values not all seen 5 times (else levels: an ordinal column, since issue 16), nor almost all
    # distinct (else identifiers).
    pd.DataFrame({"c": rng.integers(1, 10, 40) * 1e30, "x": rng.normal(size=40)}).to_csv(
        tmp_path / "c.csv", index=False
    )
    assert (
        main(["train", "tabular", "--csv", str(tmp_path / "c.csv"), *TINY, "--out", str(tmp_path / "b")]) == 0
    )
    assert (
        json.loads((tmp_path / "b" / "config.json").read_text())["model_config"]["schema"]["columns"][0][
            "kind"
        ]
        == "positive"
    )


def test_a_diverging_run_names_the_column_that_explains_it(tmp_path, capsys, monkeypatch):
    """Issue 14 item 8: the divergence message blamed only the learning rate."""
    import vaekit.runs.tabular
    from vaekit.errors import TrainingDivergedError

    def diverge(*args, **kwargs):
        raise TrainingDivergedError("the training loss became nan at epoch 1, step 1; likely causes: ...")

    monkeypatch.setattr(vaekit.runs.tabular, "fit", diverge)
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    x[7] = 3e14
    pd.DataFrame({"x": x, "y": rng.normal(size=40)}).to_csv(tmp_path / "t.csv", index=False)
    capsys.readouterr()
    assert (
        main(["train", "tabular", "--csv", str(tmp_path / "t.csv"), *TINY, "--out", str(tmp_path / "r")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1].startswith("vaekit: error: the training loss became nan")
        and "the data may explain it: extreme values in column 'x' (a value of 3e+14" in err[-1]
    )


def test_identifier_columns_are_left_out_of_the_model_and_kept_by_impute(tmp_path, capsys):
    """Issue 14 item 9: a 10-digit id column was a count (test log-likelihood -1.6e9)."""
    from vaekit.errors import VaekitWarning

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"id": rng.integers(10**9, 10**10, 60), "x": rng.normal(size=60).round(3)})
    table.to_csv(tmp_path / "t.csv", index=False)
    with pytest.warns(VaekitWarning, match="left out of the model.*'id'"):
        assert (
            main(["train", "tabular", "--csv", str(tmp_path / "t.csv"), *TINY, "--out", str(tmp_path / "r")])
            == 0
        )
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["test_log_likelihood"] > -100
    assert main(["sample", str(tmp_path / "r"), "--n", "5", "--out", str(tmp_path / "s.csv")]) == 0
    # Since issue 16, synthetic rows get fresh ids of the column's form, none of them a training id.
    synthetic = pd.read_csv(tmp_path / "s.csv")
    assert list(synthetic.columns) == ["id", "x"]
    assert synthetic["id"].dtype.kind == "i" and not set(synthetic["id"]) & set(table["id"])
    (tmp_path / "holes.csv").write_text("id,x\n1234567890,\n")
    assert (
        main(
            [
                "impute",
                str(tmp_path / "r"),
                "--csv",
                str(tmp_path / "holes.csv"),
                "--out",
                str(tmp_path / "i.csv"),
            ]
        )
        == 0
    )
    assert pd.read_csv(tmp_path / "i.csv")["id"].tolist() == [1234567890]


def test_sequences_with_offsets_across_daylight_saving_train(tmp_path, capsys):
    """Issue 14 item 10: this table ended in an internal error ("Mixed timezones detected")."""
    stamps = ["2023-03-26T01:00:00+01:00", "2023-03-26T03:00:00+02:00", "2023-03-26T04:00:00+02:00"]
    rows = ["id,t,x"] + [f"s{i},{t},{i + k * 0.5}" for i in range(8) for k, t in enumerate(stamps)]
    (tmp_path / "tz.csv").write_text("\n".join(rows) + "\n")
    argv = ["train", "sequence", "--csv", str(tmp_path / "tz.csv"), "--id", "id", "--time", "t"]
    assert main([*argv, *TINY, "--out", str(tmp_path / "r")]) == 0, capsys.readouterr().err


def test_a_fresh_sequence_run_is_scored_and_sampled(tmp_path, capsys):
    """The config check of 6c8ccf8 wanted data.train_lengths as a list, where training writes a dict:
    every sequence score and sample was refused ("'data.train_lengths' is a dict")."""
    rows = ["id,t,x"] + [f"s{i},{k},{i + k * 0.5}" for i in range(8) for k in range(3)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    argv = ["train", "sequence", "--csv", str(tmp_path / "s.csv"), "--id", "id", "--time", "t"]
    assert main([*argv, *TINY, "--out", str(tmp_path / "r")]) == 0, capsys.readouterr().err
    run = str(tmp_path / "r")
    assert main(["score", run, "--csv", str(tmp_path / "s.csv"), "--out", str(tmp_path / "sc.csv")]) == 0, (
        capsys.readouterr().err
    )
    assert set(pd.read_csv(tmp_path / "sc.csv")["steps"]) == {3}
    assert main(["sample", run, "--n", "3", "--out", str(tmp_path / "sa.csv")]) == 0, capsys.readouterr().err
