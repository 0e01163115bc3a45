"""The default epochs of a tabular run follow from the table's length (runs/defaults.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vaekit.cli.main import main
from vaekit.runs import defaults
from vaekit.runs.defaults import TABULAR_MAX_EPOCHS, TABULAR_STEP_BUDGET, tabular_default_epochs
from vaekit.runs.frame import TabularModel
from vaekit.runs.table_sources import CsvTable


def test_default_epochs_give_the_step_budget_within_one_epoch_and_never_more_than_the_cap():
    for steps_per_epoch in (1, 3, 7, 33, 71, 143, 1_000, 7_777):
        epochs = tabular_default_epochs(steps_per_epoch)
        assert 1 <= epochs <= TABULAR_MAX_EPOCHS
        if epochs < TABULAR_MAX_EPOCHS and epochs > 1:
            assert abs(epochs * steps_per_epoch - TABULAR_STEP_BUDGET) <= steps_per_epoch / 2
    assert tabular_default_epochs(1) == TABULAR_MAX_EPOCHS  # a short table keeps the old 600
    assert tabular_default_epochs(10 * TABULAR_STEP_BUDGET) == 1  # a long one still trains an epoch
    with pytest.raises(ValueError, match="steps_per_epoch"):
        tabular_default_epochs(0)


def _table(tmp_path, rows: int):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=rows).round(2), "c": rng.choice(["a", "b"], rows)})
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    return path, table


def test_steps_per_epoch_counts_the_batches_of_the_training_split(tmp_path):
    from vaekit.runs.defaults import default_train_config

    path, _ = _table(tmp_path, 1_000)  # 900 after the test tenth, 810 after validation
    prepared = CsvTable(str(path), 0).prepare()
    assert prepared.steps_per_epoch(default_train_config(batch_size=128)) == 7  # ceil(810 / 128)
    assert prepared.steps_per_epoch(default_train_config(batch_size=810)) == 1
    assert prepared.steps_per_epoch(default_train_config(batch_size=100)) == 9


def test_the_command_without_epochs_trains_the_budget_says_so_and_records_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(defaults, "TABULAR_STEP_BUDGET", 14)  # 7 steps an epoch: 2 epochs
    path, _ = _table(tmp_path, 1_000)
    run_dir = tmp_path / "run"
    assert main(["train", "tabular", "--csv", str(path), "--iw-samples", "5", "--no-progress",
                 "--out", str(run_dir)]) == 0  # fmt: skip
    assert "epochs: 2 (7 steps of 128 rows an epoch, 14 steps in all: the default aims at about 14 steps" in (
        capsys.readouterr().err
    )
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 2
    # --resume repeats the command with the epochs it chose, not a new choice
    assert json.loads((run_dir / "command.json").read_text())["arguments"]["epochs"] == 2


def test_given_epochs_are_kept_and_the_frame_face_chooses_as_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(defaults, "TABULAR_STEP_BUDGET", 21)
    path, table = _table(tmp_path, 1_000)
    assert main(["train", "tabular", "--csv", str(path), "--epochs", "1", "--iw-samples", "5",
                 "--no-progress", "--out", str(tmp_path / "run")]) == 0  # fmt: skip
    assert "epochs:" not in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"] == 1
    model = TabularModel.fit(table, z_dim=2, hidden=(8,))
    assert model.metrics["epochs"] == 3  # 21 steps of 7 an epoch (the frame holds out as the command)
