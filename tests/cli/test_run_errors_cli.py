"""Run folders used after the fact (issue 14 items 14 and 15): a diverged image run, a moved CSV, a
config.json of the wrong shape and a huge image sample end in one-line messages, exit 2."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vaekit.cli.main import main

TINY = ["--epochs", "1", "--hidden", "8", "--z-dim", "2", "--iw-samples", "2", "--no-progress"]
IMAGE = ["train", "vae", "--data", "digits", "--iw-examples", "20", *TINY]


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("vaekit: error: ") and "internal error" not in "".join(err), err
    return err[-1]


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=40).round(3), "b": rng.choice(["x", "y"], 40)}).to_csv(
        folder / "t.csv", index=False
    )
    assert (
        main(["train", "tabular", "--csv", str(folder / "t.csv"), *TINY, "--out", str(folder / "run")]) == 0
    )
    return folder


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("image") / "run"
    assert main([*IMAGE, "--out", str(out)]) == 0
    return out


def test_a_diverged_image_run_is_a_failure(tmp_path, capsys):
    """Issue 14 item 14: --lr 1e6 reported success with an ELBO of -1.7e30."""
    assert main([*IMAGE, "--lr", "1e6", "--out", str(tmp_path / "run")]) == 2
    message = _one_error(capsys)
    assert "training diverged: the validation ELBO" in message and "try a lower --lr than 1e+06" in message


def test_resume_after_the_csv_moved_says_so(tabular_run, tmp_path, capsys):
    run = shutil.copytree(tabular_run / "run", tmp_path / "run")
    shutil.move(tabular_run / "t.csv", tmp_path / "moved.csv")
    try:
        assert main(["train", "tabular", "--resume", str(run), "--no-progress"]) == 2
    finally:
        shutil.move(tmp_path / "moved.csv", tabular_run / "t.csv")
    message = _one_error(capsys)
    assert f"cannot resume {run}: its --csv {tabular_run / 't.csv'} is gone; put it back there" in message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], "it holds a JSON list, not an object"),
        ({"model": "TabularVAE"}, "it lacks 'model_config'"),
        ("drop data.dataset", "it lacks 'data.dataset'"),
        ("train_config.seed=x", "'train_config.seed' is a str, where vaekit wrote a int"),
        ("data=5", "'data' is a int, where vaekit wrote a dict"),
    ],
)
def test_a_config_of_the_wrong_shape_is_one_line_for_every_command(
    tabular_run, tmp_path, capsys, config, message
):
    """Issue 14 item 15: a config.json of valid JSON but the wrong shape was an internal error."""
    run = shutil.copytree(tabular_run / "run", tmp_path / "run")
    stored = json.loads((run / "config.json").read_text())
    if config == "drop data.dataset":
        del stored["data"]["dataset"]
        config = stored
    elif config == "train_config.seed=x":
        stored["train_config"]["seed"] = "x"
        config = stored
    elif config == "data=5":
        stored["data"] = 5
        config = stored
    (run / "config.json").write_text(json.dumps(config))
    table = str(tabular_run / "t.csv")
    for argv in (
        ["sample", str(run), "--n", "3", "--out", str(tmp_path / "s.csv")],
        ["score", str(run), "--csv", table, "--out", str(tmp_path / "sc.csv"), "--no-progress"],
        ["impute", str(run), "--csv", table, "--out", str(tmp_path / "i.csv")],
        ["encode", str(run), "--csv", table, "--out", str(tmp_path / "e.csv")],
        ["evaluate", str(run), "--no-progress"],
        ["train", "tabular", "--resume", str(run), "--no-progress"],
    ):
        capsys.readouterr()
        assert main(argv) == 2, argv
        assert message in _one_error(capsys), argv


def test_a_huge_image_sample_is_refused_with_its_size(image_run, tmp_path, capsys):
    """Issue 14 item 15: sample --n 10000000 tried to allocate 164 GB (of MNIST images)."""
    assert main(["sample", str(image_run), "--n", "10000000", "--out", str(tmp_path / "s.png")]) == 2
    message = _one_error(capsys)
    assert "--n 10000000: a picture grid shows at most 10,000 images (these would take 2.6 GB" in message
    assert not (tmp_path / "s.png").exists()
    assert main(["sample", str(image_run), "--n", "16", "--out", str(tmp_path / "s.png")]) == 0


def test_resume_refuses_a_setting_given_anew(tabular_run, tmp_path, capsys):
    """Issue 14 item 16: --resume with --epochs 5 or --z-dim 9 was silently ignored; now refused,
    naming the setting and the run's value, while --lr (resumable) and an unchanged value pass."""
    run = shutil.copytree(tabular_run / "run", tmp_path / "run")
    for flag, value, stored in (("--epochs", "5", "1"), ("--z-dim", "9", "2"), ("--hidden", "4,4", "8")):
        capsys.readouterr()
        assert main(["train", "tabular", "--resume", str(run), flag, value, "--no-progress"]) == 2
        message = _one_error(capsys)
        assert f"with a new {flag} (the run has {stored}): a resumed run keeps the settings" in message
    argv = ["train", "tabular", "--resume", str(run), "--epochs", "1", "--lr", "1e-4", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--batch-size", "--z-dim", "--hidden"])
def test_a_size_beyond_2_31_is_refused_by_the_parser(flag, tmp_path, capsys):
    """Issue 14 acceptance sweep: --batch-size 99999999999999999999 ended in an internal error
    ("Please call iter(combined_loader) first"), --z-dim and --hidden in an overflow of torch.empty."""
    argv = ["train", "vae", "--epochs", "1", "--no-progress", flag, "99999999999999999999"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--out", str(tmp_path / "r")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "below 2147483648" in err and "internal error" not in err
    assert not (tmp_path / "r").exists()


def test_an_allocation_the_settings_cannot_get_is_a_message(tmp_path, capsys, monkeypatch):
    """Issue 14 acceptance sweep: a model too large for memory ended in an internal error."""
    import vaekit.cli.main as cli

    def refuse(args):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(cli, "_handle", refuse)
    assert main(["train", "vae", "--z-dim", "2000000000", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vaekit: error: not enough memory for these settings")


@pytest.mark.parametrize("model", ["tabular", "sequence"])
def test_a_huge_learning_rate_is_a_diverged_run_not_an_internal_error(model, tmp_path, capsys):
    """Issue 14 acceptance sweep: --lr 1e20 made the parameters NaN, and the next step's
    distribution check ended in an internal error (ValueError: ... found invalid values)."""
    if model == "tabular":
        rows = ["c,x"] + [f"{'ab'[k % 2]},{k / 7:.3f}" for k in range(60)]
        source = ["--csv", str(tmp_path / "t.csv")]
    else:
        rows = ["id,t,x"] + [f"s{i},{k},{i + k / 2}" for i in range(8) for k in range(3)]
        source = ["--csv", str(tmp_path / "t.csv"), "--id", "id", "--time", "t"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    argv = ["train", model, *source, "--epochs", "1", "--hidden", "8", "--z-dim", "2", "--no-progress"]
    assert main([*argv, "--lr", "99999999999999999999", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "internal error" not in err[-1] and err[-1].startswith("vaekit: error: "), err
    assert "--lr" in err[-1]


@pytest.mark.skipif(not Path("/proc/self").is_dir() or os.geteuid() != 0, reason="needs /proc and root")
def test_an_output_in_a_folder_that_refuses_files_is_refused_before_any_work(tmp_path, capsys):
    """Issue 14 acceptance sweep: as root, os.access says /proc is writable; sample, score and impute
    then ended in an internal error (FileNotFoundError of the temporary file), score after all its work."""
    rows = ["c,x"] + [f"{'ab'[k % 2]},{k / 7:.3f}" for k in range(60)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    argv = ["train", "tabular", "--csv", str(tmp_path / "t.csv"), "--epochs", "1", "--hidden", "8"]
    assert (
        main([*argv, "--z-dim", "2", "--iw-samples", "2", "--no-progress", "--out", str(tmp_path / "r")]) == 0
    )
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "r"), "--out", "/proc/x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vaekit: error: --out /proc/x.csv cannot be written"), err
