"""Whole training commands under distributed data parallel, and a run killed and resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "SLURM_PROCID")
DDP_FLAGS = ["--accelerator", "cpu", "--strategy", "ddp", "--devices", "2", "--no-progress"]


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES}


def _vaekit(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vaekit.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_environment(),
    )


def _epochs_logged(run_dir: Path) -> list[int]:
    with open(run_dir / "log.csv") as stream:
        return [int(float(row["epoch"])) for row in csv.DictReader(stream)]


@pytest.mark.parametrize(
    ("model", "arguments", "test_rows"),
    [
        ("vae", ["--epochs", "2", "--iw-samples", "20"], 360),
        ("ssvae", ["--epochs", "1", "--labels", "100", "--iw-samples", "20"], 360),
        ("tabular", ["--dataset", "seed", "--rows", "600", "--epochs", "2", "--iw-samples", "20"], 600),
    ],
)
def test_each_flagship_trains_on_two_processes_and_rank_zero_writes_one_run(
    tmp_path, model, arguments, test_rows
):
    run_dir = tmp_path / model
    completed = _vaekit("train", model, *arguments, *DDP_FLAGS, "--out", str(run_dir))
    assert completed.returncode == 0, completed.stderr[-3000:]
    # Only rank 0 reports and writes: one summary line, one complete run folder, no stray files.
    assert completed.stdout.count(str(run_dir)) == 1
    assert {"model.pt", "metrics.json", "config.json", "command.json", "log.csv"} <= {
        p.name for p in run_dir.iterdir()
    }
    assert not list(run_dir.rglob("*.tmp"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["processes"] == 2
    # Every test example scored once, on rank 0.
    assert metrics.get("test_examples", metrics.get("test_rows")) == test_rows
    assert _epochs_logged(run_dir) == list(range(1, metrics["epochs"] + 1))


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the training process")
        time.sleep(0.05)


def test_a_run_killed_mid_epoch_resumes_and_ends_with_the_uninterrupted_weights(tmp_path):
    # Small batches make each epoch long enough (about 160 steps) to be killed in the middle.
    arguments = ["train", "vae", "--epochs", "4", "--batch-size", "8", "--iw-samples", "5", "--no-progress"]
    whole = tmp_path / "whole"
    assert _vaekit(*arguments, "--out", str(whole)).returncode == 0

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "vaekit.cli", *arguments, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(),
    )
    try:
        _wait_for(lambda: (killed / "log.csv").is_file() and len(_epochs_logged(killed)) >= 2, timeout=240)
        time.sleep(0.3)  # into the third epoch
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "model.pt").exists()
    checkpoint = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] >= 1  # a complete checkpoint of a finished epoch survived the kill

    resumed = _vaekit("train", "vae", "--resume", str(killed), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _epochs_logged(killed) == [1, 2, 3, 4]
    assert not list(killed.rglob("*.tmp"))
    assert json.loads((killed / "metrics.json").read_text())["epochs"] == 4
    final = [torch.load(run / "model.pt", weights_only=True)["state_dict"] for run in (whole, killed)]
    assert final[0].keys() == final[1].keys()
    for name in final[0]:
        assert torch.equal(final[0][name], final[1][name]), name


def test_resume_errors_are_one_clear_line(tmp_path):
    missing = _vaekit("train", "vae", "--resume", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("vaekit: error: cannot resume")
    no_out = _vaekit("train", "vae", "--epochs", "1")
    assert no_out.returncode == 2 and "--out RUN_DIR is required" in no_out.stderr


def test_resume_refuses_changed_data_and_keeps_the_settings_it_started_with(tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("a,b\n" + "".join(f"{i % 7 + 0.5},{'xy'[i % 2]}\n" for i in range(60)))
    run_dir = tmp_path / "run"
    first = _vaekit(
        "train", "tabular", "--csv", str(table), "--epochs", "2", "--iw-samples", "5", "--out", str(run_dir)
    )
    assert first.returncode == 0, first.stderr[-2000:]
    config_before = (run_dir / "config.json").read_text()

    table.write_text(table.read_text() + "3.5,z\n")
    changed = _vaekit("train", "tabular", "--resume", str(run_dir))
    assert changed.returncode == 2
    assert "cannot resume" in changed.stderr and "data" in changed.stderr
    assert len(changed.stderr.strip().splitlines()) == 1
    assert (run_dir / "config.json").read_text() == config_before

    image_run = tmp_path / "image"
    assert (
        _vaekit("train", "vae", "--epochs", "1", "--iw-samples", "5", "--out", str(image_run)).returncode == 0
    )
    # --lr may change on resume (tests/inference covers how); --epochs may not, and saying so is refused.
    refused = _vaekit("train", "vae", "--resume", str(image_run), "--lr", "1e-5", "--epochs", "7")
    assert refused.returncode == 2 and "with a new --epochs (the run has 1)" in refused.stderr
    resumed = _vaekit("train", "vae", "--resume", str(image_run), "--lr", "1e-5")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((image_run / "metrics.json").read_text())["epochs"] == 1
