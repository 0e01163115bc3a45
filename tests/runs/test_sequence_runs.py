"""Sequence runs end to end (train, sample, score, evaluate, reload), image models with the RNN
encoder, and the one-line errors of bad sequence files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits

from vaekit.cli.main import main
from vaekit.inference import TrainConfig
from vaekit.models import ImageVAE, SemiSupervisedVAE
from vaekit.nn import ImageRowEncoder
from vaekit.runs import Run, load_model, load_run
from vaekit.runs.sequence import (
    sample_sequences,
    score_sequences,
    sequence_data,
    train_sequence,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Small recurrent steps run fastest on one thread, and far slower on a shared, busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _digit_sequences(count: int = 60) -> pd.DataFrame:
    """Digits as sequences of rows (8 features per step); every third one cut to 5 to 7 rows, and rows
    shuffled, so that lengths differ and the time column has to order the steps."""
    images = load_digits().data[:count].reshape(-1, 8, 8)
    rows = []
    for i, image in enumerate(images):
        steps = 8 if i % 3 else 5 + (i // 3) % 3
        rows += [
            {"digit": f"d{i}", "row": t, **{f"c{j}": image[t, j] for j in range(8)}} for t in range(steps)
        ]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0)


@pytest.fixture(scope="module")
def sequence_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sequence")
    path = folder / "digits.csv"
    _digit_sequences().to_csv(path, index=False)
    torch.set_num_threads(1)
    run = train_sequence(
        {"csv": str(path), "id": "digit", "time": "row", "value_columns": None, "split_seed": 0},
        TrainConfig(epochs=2, batch_size=16, progress_bar=False),
        folder / "run",
        z_dim=3,
        hidden=16,
        iw_samples=10,
        progress=False,
    )
    return run, path


def test_training_writes_a_run_folder_with_metrics_and_figures(sequence_run):
    run, _ = sequence_run
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["test_sequences"] == 6
    assert np.isfinite(metrics["test_log_likelihood"]) and np.isfinite(metrics["test_elbo"])
    assert metrics["test_log_likelihood_per_step"] == pytest.approx(
        metrics["test_log_likelihood"] / metrics["mean_steps"], rel=0.1
    )
    config = json.loads((run.path / "config.json").read_text())
    assert config["model"] == "SequenceVAE"
    assert config["data"]["value_columns"] == [f"c{j}" for j in range(8)]
    assert set(config["data"]["train_lengths"]) == {"5", "6", "7", "8"}
    for figure in ("samples", "training_curves"):
        assert (run.path / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_reloaded_run_gives_identical_outputs(sequence_run):
    run, _ = sequence_run
    reloaded = load_run(run.path)
    assert type(reloaded.model).__name__ == "SequenceVAE"
    for key, value in run.model.state_dict().items():
        torch.testing.assert_close(reloaded.model.state_dict()[key], value, rtol=0, atol=0)
    _, test = sequence_data(reloaded)
    for model in (run.model, reloaded.model):
        assert not model.training
    tensors = (test.values, test.observed, test.lengths)
    torch.testing.assert_close(reloaded.model.encode(*tensors).mean, run.model.encode(*tensors).mean)
    torch.testing.assert_close(reloaded.model.reconstruct(*tensors), run.model.reconstruct(*tensors))
    table = pd.read_csv(run.config["data"]["csv"], dtype=str)
    first = score_sequences(run, table, iw_samples=5)
    second = score_sequences(reloaded, table, iw_samples=5)
    pd.testing.assert_frame_equal(first, second)


def test_sampled_sequences_have_the_runs_columns_and_training_lengths(sequence_run):
    run, _ = sequence_run
    sampled = sample_sequences(load_run(run.path), 20, seed=3)
    assert list(sampled.columns) == ["digit", "row", *[f"c{j}" for j in range(8)]]
    lengths = sampled.groupby("digit", sort=False).size()
    assert len(lengths) == 20 and set(lengths) <= {5, 6, 7, 8}
    for _, steps in sampled.groupby("digit"):
        assert steps["row"].tolist() == list(range(len(steps)))
    pd.testing.assert_frame_equal(sampled, sample_sequences(run, 20, seed=3))


def test_scores_are_per_sequence_and_independent_of_the_rows_around_them(sequence_run):
    run, path = sequence_run
    table = pd.read_csv(path, dtype=str)
    scores = score_sequences(run, table, iw_samples=20)
    assert list(scores.columns) == ["digit", "steps", "log_likelihood", "log_likelihood_per_step"]
    assert len(scores) == 60 and np.isfinite(scores["log_likelihood"]).all()
    # Sequences keep the order in which their ids first appear in the file.
    assert scores["digit"].tolist() == list(dict.fromkeys(table["digit"]))
    # A sequence of 5 steps scored alone scores as beside longer ones that pad the batch, up to the
    # estimator's noise (the draws of z differ; the exact invariance is a test of the model).
    alone = score_sequences(run, table[table["digit"] == "d0"], iw_samples=20)
    assert alone["steps"].tolist() == [5]
    in_file = scores.loc[scores["digit"] == "d0", "log_likelihood"].item()
    assert alone["log_likelihood"].item() == pytest.approx(in_file, abs=2.0)


def test_encode_gives_one_latent_code_per_sequence(sequence_run):
    from vaekit.runs.sequence import encode_sequences_latent

    run, path = sequence_run
    table = pd.read_csv(path, dtype=str)
    latent = encode_sequences_latent(run, table)
    assert list(latent.columns) == [
        "digit",
        *(f"z_mean_{k}" for k in (1, 2, 3)),
        "z_scale_1",
        "z_scale_2",
        "z_scale_3",
    ]
    assert latent["digit"].tolist() == list(dict.fromkeys(table["digit"]))
    assert (latent.filter(like="z_scale") > 0).all().all()


@pytest.mark.parametrize("id_name", ["steps", "log_likelihood"])
def test_score_columns_never_replace_the_id_column(sequence_run, id_name):
    run, path = sequence_run
    renamed = Run(path=run.path, model=run.model, config=json.loads(json.dumps(run.config)))
    renamed.config["data"]["id"] = id_name
    table = pd.read_csv(path, dtype=str).rename(columns={"digit": id_name})
    scores = score_sequences(renamed, table[table[id_name].isin(["d0", "d1"])], iw_samples=2)
    assert scores.columns[0] == id_name and sorted(scores[id_name]) == ["d0", "d1"]
    assert f"{id_name}_" in scores.columns and len(set(scores.columns)) == 4


def test_cli_sample_score_evaluate(sequence_run, tmp_path, capsys):
    run, path = sequence_run
    samples = tmp_path / "samples.csv"
    assert main(["sample", str(run.path), "--n", "4", "--out", str(samples)]) == 0
    assert pd.read_csv(samples)["digit"].nunique() == 4
    scores = tmp_path / "scores.csv"
    argv = ["score", str(run.path), "--csv", str(path), "--out", str(scores), "--iw-samples", "5"]
    assert main([*argv, "--no-progress"]) == 0
    assert len(pd.read_csv(scores)) == 60
    assert main(["evaluate", str(run.path), "--iw-samples", "7", "--no-progress"]) == 0
    assert json.loads((run.path / "metrics.json").read_text())["iw_samples"] == 7
    capsys.readouterr()
    assert main(["sample", str(run.path), "--label", "1", "--out", str(tmp_path / "s.csv")]) == 2
    assert "a sequence run has none" in capsys.readouterr().err
    assert main(["sample", str(run.path), "--out", str(tmp_path / "s.png")]) == 2
    assert "must name a .csv file" in capsys.readouterr().err


def test_cli_trains_a_sequence_run(tmp_path, capsys):
    path = tmp_path / "digits.csv"
    _digit_sequences(30).to_csv(path, index=False)
    out = tmp_path / "run"
    argv = ["train", "sequence", "--csv", str(path), "--id", "digit", "--time", "row", "--value", "c2,c3,c4"]
    argv += ["--epochs", "1", "--z-dim", "2", "--hidden", "8", "--rnn-cell", "lstm", "--iw-samples", "3"]
    assert main([*argv, "--no-progress", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_config"]["cell"] == "lstm" and config["model_config"]["hidden"] == 8
    assert config["data"]["value_columns"] == ["c2", "c3", "c4"]
    assert "value columns (override with --schema FILE)" in capsys.readouterr().err


def _write(tmp_path, table: pd.DataFrame):
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "flags", "message"),
    [
        pytest.param(
            lambda t: t[~((t["digit"] == "d4") & (t["row"] > 0))],
            (),
            "sequence 'd4' has a single step",
            id="one-step",
        ),
        pytest.param(
            lambda t: t.assign(row=t["row"].where(~((t["digit"] == "d2") & (t["row"] == 3)), 2)),
            (),
            "sequence 'd2' has more than one row at time '2'",
            id="duplicate-time",
        ),
        pytest.param(
            lambda t: t.assign(c3=t["c3"].astype(object).where(t["digit"] != "d7", "n/a?")),
            (),
            "value column 'c3' holds the text 'n/a?'",
            id="text-value",
        ),
        pytest.param(
            lambda t: t, ("--id", "image"), "--id column 'image' is not in the table", id="no-id-column"
        ),
        pytest.param(
            lambda t: t, ("--time", "step"), "--time column 'step' is not in the table", id="no-time"
        ),
    ],
)
def test_cli_refuses_bad_sequences_with_one_line(tmp_path, capsys, change, flags, message):
    path = _write(tmp_path, change(_digit_sequences(12)))
    options = {"--id": "digit", "--time": "row", **dict(zip(flags[::2], flags[1::2], strict=True))}
    argv = ["train", "sequence", "--csv", str(path), *[x for pair in options.items() for x in pair]]
    assert main([*argv, "--epochs", "1", "--no-progress", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_cli_needs_id_and_time(tmp_path, capsys):
    path = _write(tmp_path, _digit_sequences(12))
    assert main(["train", "sequence", "--csv", str(path), "--out", str(tmp_path / "run")]) == 2
    assert "train sequence needs --id, --time" in capsys.readouterr().err


def test_scoring_a_file_without_the_runs_time_column_is_refused(sequence_run, tmp_path, capsys):
    run, _ = sequence_run
    path = _write(tmp_path, _digit_sequences(5).rename(columns={"row": "step"}))
    argv = ["score", str(run.path), "--csv", str(path), "--out", str(tmp_path / "s.csv"), "--no-progress"]
    assert main(argv) == 2
    assert "time column 'row' is not in the table" in capsys.readouterr().err


# --- image models with the recurrent encoder ----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "extra", "model_class"),
    [
        (["train", "vae"], [], ImageVAE),
        (["train", "ssvae", "--labels", "50", "--rnn-cell", "lstm"], [], SemiSupervisedVAE),
    ],
)
def test_image_models_read_rows_with_the_rnn_encoder_and_reload(tmp_path, command, extra, model_class):
    out = tmp_path / "run"
    argv = [*command, "--encoder", "rnn", "--epochs", "1", "--z-dim", "2", "--hidden", "16"]
    argv += ["--iw-samples", "2", "--iw-examples", "20", "--no-progress", "--out", str(out), *extra]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_config"]["encoder"] == "rnn"
    model = load_model(out / "model.pt")
    assert isinstance(model, model_class)
    bodies = [m for m in model.modules() if isinstance(m, ImageRowEncoder)]
    assert bodies and all(b.rows.rnn.mode == ("LSTM" if "lstm" in command else "GRU") for b in bodies)
    images = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    again = load_model(out / "model.pt")
    if model_class is ImageVAE:
        torch.testing.assert_close(model.encode(images).mean, again.encode(images).mean, rtol=0, atol=0)
    else:
        torch.testing.assert_close(
            model.classify(images).logits, again.classify(images).logits, rtol=0, atol=0
        )
    assert np.isfinite(json.loads((out / "metrics.json").read_text())["test_elbo"])
