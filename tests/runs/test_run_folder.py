"""Run folders: the marker, the lock, what --force may remove, and what killed commands left."""

from __future__ import annotations

import json
import os
import time

import pytest

from vaekit._io import temporary_path
from vaekit.errors import RunError
from vaekit.runs.folder import LOCK, MARKER, PREVIOUS, claim_run_folder, inventory, mark_run_folder


def _trained_run(folder):
    """A folder laid out as a finished training run writes it, marker included."""
    folder.mkdir(parents=True)
    mark_run_folder(folder)
    for name in ("config.json", "command.json", "metrics.json"):
        (folder / name).write_text("{}")
    (folder / "model.pt").write_bytes(b"model")
    (folder / "log.csv").write_text("epoch\n1\n")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"ckpt")
    (folder / "figures").mkdir()
    (folder / "figures" / "samples.png").write_bytes(b"png")
    return folder


def _old(path):
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


def test_inventory_tells_vaekits_files_from_others(tmp_path):
    run = _trained_run(tmp_path / "run")
    (run / "notes.txt").write_text("mine")
    (run / "figures" / "poster.pdf").write_text("mine")
    found = inventory(run)
    assert [p.name for p in found.kept] == ["notes.txt"]
    assert found.foreign == [run / "figures" / "poster.pdf"]
    assert "figures" not in [p.name for p in found.owned] and "model.pt" in [p.name for p in found.owned]


def test_a_folder_without_the_marker_is_never_replaced(tmp_path):
    folder = tmp_path / "p"
    (folder / "src").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "src" / "thesis.tex").write_text("x")
    with pytest.raises(RunError, match="no .vaekit-run marker"):
        claim_run_folder(folder, force=True)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "src"]


def test_force_replaces_only_vaekits_files_and_puts_them_back_on_a_failed_start(tmp_path, capsys):
    run = _trained_run(tmp_path / "run")
    (run / "notes.txt").write_text("mine")
    claimed = claim_run_folder(run, force=True)
    claimed.begin()
    err = capsys.readouterr().err
    assert "replacing the run" in err and "model.pt" in err and "checkpoints/ (1 file)" in err
    assert "left in place, not written by vaekit: notes.txt" in err
    assert sorted(p.name for p in run.iterdir()) == sorted([MARKER, LOCK, PREVIOUS, "notes.txt"])
    (run / "config.json").write_text('{"new": 1}')  # the new run starts, then fails
    claimed.close(failed=True)
    assert (run / "model.pt").read_bytes() == b"model" and (run / "config.json").read_text() == "{}"
    assert not (run / PREVIOUS).exists() and not (run / LOCK).exists()


def test_the_previous_run_goes_once_the_new_one_has_a_checkpoint(tmp_path):
    run = _trained_run(tmp_path / "run")
    claimed = claim_run_folder(run, force=True)
    claimed.begin()
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"new")
    claimed.close(failed=True)  # e.g. a divergence at epoch 3: the new run is kept, to resume
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == b"new"
    assert not (run / PREVIOUS).exists() and not (run / "model.pt").exists()


def test_a_foreign_file_inside_a_run_folder_blocks_force(tmp_path):
    run = _trained_run(tmp_path / "run")
    (run / "checkpoints" / "thesis.tex").write_text("mine")
    with pytest.raises(RunError, match="thesis.tex was not written by vaekit"):
        claim_run_folder(run, force=True)
    assert (run / "checkpoints" / "thesis.tex").exists() and (run / "model.pt").exists()


@pytest.mark.parametrize("inside", ["data.csv", "parts/0.parquet"])
def test_a_folder_holding_an_input_is_refused(tmp_path, inside):
    run = _trained_run(tmp_path / "run")
    data = run / inside
    data.parent.mkdir(exist_ok=True)
    data.write_text("a\n1\n")
    given = data if inside.endswith(".csv") else data.parent
    with pytest.raises(RunError, match="an input of this command"):
        claim_run_folder(run, force=True, inputs=[given])
    assert data.exists() and (run / "model.pt").exists()


def test_a_second_claim_of_a_locked_folder_is_refused(tmp_path):
    first = claim_run_folder(tmp_path / "run")
    with pytest.raises(RunError, match=f"in use by another vaekit training \\(process {os.getpid()}\\)"):
        claim_run_folder(tmp_path / "run", force=True)
    first.close(failed=False)
    claim_run_folder(tmp_path / "run").close(failed=False)


def test_a_failed_start_in_a_new_folder_leaves_nothing(tmp_path):
    claimed = claim_run_folder(tmp_path / "a" / "b" / "run")
    claimed.begin()
    (claimed.path / "command.json").write_text("{}")
    (claimed.path / "config.json").write_text("{}")
    claimed.close(failed=True)
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_never_trained_is_replaced_without_force(tmp_path, capsys):
    run = tmp_path / "run"  # what a start killed before its first checkpoint leaves
    run.mkdir()
    mark_run_folder(run)
    (run / "command.json").write_text("{}")
    (run / "config.json").write_text("{}")
    (run / LOCK).write_text("12345\n")  # its lock died with it
    claimed = claim_run_folder(run)
    claimed.begin()
    assert "never trained" in capsys.readouterr().err
    claimed.close(failed=False)
    assert sorted(p.name for p in run.iterdir()) == [MARKER]


def test_what_a_killed_force_left_is_finished_or_undone(tmp_path, capsys):
    run = _trained_run(tmp_path / "run")
    claimed = claim_run_folder(run, force=True)
    claimed.begin()
    (run / "config.json").write_text('{"new": 1}')
    os.close(claimed._lock)  # killed: the lock goes with the process, the files stay
    claimed._lock = None
    claim_run_folder(run, resume=True).close(failed=False)
    assert "put back the previous run" in capsys.readouterr().err
    assert (run / "model.pt").read_bytes() == b"model" and (run / "config.json").read_text() == "{}"
    assert not (run / PREVIOUS).exists()


def test_leftovers_of_killed_writes_are_removed_when_the_folder_is_next_used(tmp_path):
    run = _trained_run(tmp_path / "run")
    leftovers = [
        temporary_path(run / "model.pt"),
        temporary_path(run / "checkpoints" / "last.ckpt"),
        temporary_path(run / "figures" / "samples.png"),
    ]
    for leftover in leftovers:
        leftover.write_bytes(b"x" * 1000)
        _old(leftover)
    claim_run_folder(run, resume=True).close(failed=False)
    assert not any(leftover.exists() for leftover in leftovers)


def test_the_marker_names_the_kind(tmp_path):
    mark_run_folder(tmp_path, "demo")
    assert json.loads((tmp_path / MARKER).read_text())["kind"] == "demo"
    (tmp_path / "report.md").write_text("x")
    with pytest.raises(RunError, match="holds a vaekit demo, not a run"):
        claim_run_folder(tmp_path, force=True)


def test_a_resumed_run_keeps_every_resolved_setting_and_0_2_runs_their_unresolved_alpha(tmp_path):
    from vaekit.runs.store import write_run_config

    def config(**extra):
        data = {"class_names": ["a", "b"], "image_shape": [1, 2, 2]}
        return {
            "model": "SemiSupervisedVAE",
            "model_config": {},
            "train_config": {"seed": 0},
            "data": data,
            **extra,
        }

    write_run_config(tmp_path, config(alpha=4600.0, classifier_weight=46.0), resume=False)
    write_run_config(tmp_path, config(alpha=4600.0, classifier_weight=46.0), resume=True)
    with pytest.raises(RunError, match="alpha, classifier_weight differ"):
        write_run_config(tmp_path, config(alpha=9200.0, classifier_weight=92.0), resume=True)
    # What 0.2 wrote: alpha null until training ended, no classifier weight.
    (tmp_path / "config.json").write_text(json.dumps(config(alpha=None)))
    write_run_config(tmp_path, config(alpha=540.0, classifier_weight=None), resume=True)


def test_a_run_started_before_spellings_and_grids_resumes_but_not_one_whose_model_changed(tmp_path):
    from vaekit.runs.store import write_run_config
    from vaekit.schema import ColumnSpec, Schema

    def config(*columns):
        return {
            "model": "TabularVAE",
            "model_config": {"schema": Schema(columns).to_dict()},
            "train_config": {"seed": 0},
            "data": {"dataset": "t"},
        }

    now = config(ColumnSpec("a", "count", "poisson", step=10.0), ColumnSpec("b", "real"))
    # Written before vaekit recorded a column's grid and spikes: no such keys at all.
    before = json.loads(json.dumps(now))
    for column in before["model_config"]["schema"]["columns"]:
        del column["step"], column["spikes"]
    (tmp_path / "config.json").write_text(json.dumps(before))
    write_run_config(tmp_path, now, resume=True)
    # Spikes are the model itself.
    spiked = config(ColumnSpec("a", "count", "poisson"), ColumnSpec("b", "spiked", spikes=(40.0,)))
    with pytest.raises(RunError, match="model_config differ"):
        write_run_config(tmp_path, spiked, resume=True)
