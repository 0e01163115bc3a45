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
