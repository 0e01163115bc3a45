"""The training commands and their run folders: --force loses nothing, a failed start leaves nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vaekit.cli.main import main
from vaekit.runs.folder import claim_run_folder

TINY = ["--epochs", "1", "--hidden", "8", "--z-dim", "2", "--iw-samples", "2", "--no-progress"]


def _table(path, rows: int = 60):
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=rows).round(3), "b": rng.choice(["x", "y"], rows)}).to_csv(
        path, index=False
    )
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny tabular run trained by the command, and its table."""
    folder = tmp_path_factory.mktemp("folders")
    table = _table(folder / "t.csv")
    assert main(["train", "tabular", "--csv", str(table), *TINY, "--out", str(folder / "run")]) == 0
    return folder / "run", table


@pytest.fixture
def run(trained, tmp_path):
    """A copy of the trained run to spoil, and its table."""
    original, table = trained
    return shutil.copytree(original, tmp_path / "run"), table


def _contents(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_never_clears_a_folder_that_merely_holds_a_config(tmp_path, capsys):
    table = _table(tmp_path / "t.csv")
    folder = tmp_path / "p"
    (folder / "src").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "src" / "thesis.tex").write_text("x")
    argv = ["train", "tabular", "--csv", str(table), *TINY, "--out", str(folder), "--force"]
    assert main(argv) == 2
    assert "no .vaekit-run marker" in capsys.readouterr().err
    assert (folder / "src" / "thesis.tex").read_text() == "x" and (folder / "config.json").exists()


@pytest.mark.parametrize("flag", ["--csv", "--parquet"])
def test_force_refuses_a_run_folder_holding_an_input(run, flag, capsys):
    run_dir, table = run
    if flag == "--csv":
        given = run_dir / "t.csv"
        shutil.copy(table, given)
    else:
        given = run_dir / "parts"
        given.mkdir()
        pd.read_csv(table).to_parquet(given / "0.parquet")
    before = _contents(run_dir)
    assert main(["train", "tabular", flag, str(given), *TINY, "--out", str(run_dir), "--force"]) == 2
    assert "an input of this command" in capsys.readouterr().err
    assert _contents(run_dir) == before


@pytest.mark.parametrize(
    "wrong",
    [
        ["--val-fraction", "0.999"],
        pytest.param(
            ["--accelerator", "gpu"],
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU"),
        ),
    ],
)
def test_force_keeps_the_previous_run_when_a_later_check_fails(run, wrong, capsys):
    run_dir, table = run
    before = _contents(run_dir)
    argv = ["train", "tabular", "--csv", str(table), *TINY, *wrong, "--out", str(run_dir), "--force"]
    assert main(argv) == 2
    assert "is back in place" in capsys.readouterr().err
    assert _contents(run_dir) == before


def test_force_says_what_it_replaces_and_keeps_what_vaekit_did_not_write(run, capsys):
    run_dir, table = run
    (run_dir / "notes.txt").write_text("mine")
    assert main(["train", "tabular", "--csv", str(table), *TINY, "--out", str(run_dir), "--force"]) == 0
    err = capsys.readouterr().err
    assert "--force: replacing the run in" in err and "model.pt" in err and "checkpoints/ (2 files)" in err
    assert "left in place, not written by vaekit: notes.txt" in err
    assert (run_dir / "notes.txt").read_text() == "mine" and (run_dir / "model.pt").is_file()
    assert not (run_dir / ".vaekit-previous").exists()


def test_a_second_training_on_a_folder_in_use_is_refused(run, capsys):
    run_dir, table = run
    before = _contents(run_dir)
    first = claim_run_folder(run_dir, resume=True)  # as a training in progress holds it
    try:
        argv = ["train", "tabular", "--csv", str(table), *TINY, "--out", str(run_dir), "--force"]
        assert main(argv) == 2
        assert "in use by another vaekit training" in capsys.readouterr().err
        assert main(["train", "tabular", "--resume", str(run_dir)]) == 2
    finally:
        first.close(failed=False)
    assert _contents(run_dir) == before


@pytest.mark.parametrize("command", ["score", "impute", "encode"])
def test_an_output_that_is_an_input_is_refused(run, command, tmp_path, capsys):
    run_dir, table = run
    given = shutil.copy(table, tmp_path / "in.csv")
    before = given.read_bytes()
    assert main([command, str(run_dir), "--csv", str(given), "--out", str(given)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert given.read_bytes() == before
    assert main([command, str(run_dir), "--csv", str(given), "--out", str(run_dir / "log.csv")]) == 2
    assert "is a file of the run" in capsys.readouterr().err


def test_a_failed_start_writes_nothing_and_a_plain_rerun_works(tmp_path, capsys):
    table = _table(tmp_path / "t.csv")
    out = tmp_path / "new" / "run"
    argv = ["train", "tabular", "--csv", str(table), *TINY, "--out", str(out)]
    assert main([*argv, "--val-fraction", "0.999"]) == 2
    assert not (tmp_path / "new").exists()
    assert main(argv) == 0
    assert (out / "model.pt").is_file()


@pytest.mark.parametrize("command", ["sample", "score", "impute", "encode"])
def test_an_output_that_is_the_runs_training_table_is_refused(run, command, tmp_path, capsys):
    """Issue 14 acceptance sweep: impute --csv holes.csv --out t.csv replaced the table the run was
    trained on (then --resume and evaluate refused the run, its data changed)."""
    run_dir, table = run
    before = Path(table).read_bytes()
    given = shutil.copy(table, tmp_path / "other.csv")
    argv = [command, str(run_dir)] + ([] if command == "sample" else ["--csv", str(given)])
    assert main([*argv, "--out", str(table)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert Path(table).read_bytes() == before
