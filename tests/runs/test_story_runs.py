"""``vaekit train model --model FILE.py:NAME``: a story in a file, trained with the guide vaekit builds."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from vaekit.auto.story_file import StoryVAE, load_story
from vaekit.cli.main import main
from vaekit.errors import VaekitError
from vaekit.runs import load_model, load_run, save_model

SEED_STORY = '''
import pyro
import pyro.distributions as dist
import torch
from torch import nn


class SeedStory(nn.Module):
    """x1 ~ Gamma, x2 ~ Normal, x3 ~ Normal, tied by z: one argument per column."""

    def __init__(self):
        super().__init__()
        self.decoder = nn.Sequential(nn.Linear(2, 32), nn.Softplus(), nn.Linear(32, 6))

    def forward(self, x1, x2, x3):
        with pyro.plate("data", x1.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
            h = self.decoder(z)
            soft = nn.functional.softplus
            pyro.sample("x1", dist.Gamma(soft(h[..., 0]) + 1e-3, soft(h[..., 1]) + 1e-3), obs=x1)
            pyro.sample("x2", dist.Normal(h[..., 2], soft(h[..., 3]) + 1e-3), obs=x2)
            pyro.sample("x3", dist.Normal(h[..., 4], soft(h[..., 5]) + 1e-3), obs=x3)


def table_story(x):
    with pyro.plate("data", x.shape[0]):
        z = pyro.sample("z", dist.Normal(torch.zeros(3), 1.0).to_event(1))
        pyro.sample("x", dist.Normal(z, 1.0).to_event(1), obs=x)


class LabelledTable(nn.Module):
    """A table whose last column is a class given for some rows only (NaN elsewhere)."""

    def __init__(self):
        super().__init__()
        self.means = nn.Parameter(torch.tensor([[-3.0, -3.0], [3.0, 3.0]]))

    def forward(self, a, b, label):
        with pyro.plate("data", a.shape[0]):
            given = ~torch.isnan(label)
            y = pyro.sample("y", dist.Bernoulli(0.5), obs=torch.nan_to_num(label), obs_mask=given)
            centre = self.means[y.long()]
            pyro.sample("a", dist.Normal(centre[..., 0], 1.0), obs=a)
            pyro.sample("b", dist.Normal(centre[..., 1], 1.0), obs=b)


def mixture(x):
    with pyro.plate("data", x.shape[0]):
        c = pyro.sample("c", dist.Categorical(logits=torch.zeros(2)), infer={"enumerate": "parallel"})
        z = pyro.sample("z", dist.Normal(torch.tensor([-4.0, 4.0])[c], 1.0))
        pyro.sample("x", dist.Normal(z, 0.5), obs=x[..., 0])


class NeedsArguments(nn.Module):
    def __init__(self, width):
        super().__init__()
'''

M2_STORY = """
import pyro
import pyro.distributions as dist
import torch
from torch import nn


class M2(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder = nn.Linear(4 + 10, 64)

    def forward(self, x, y):
        with pyro.plate("data", x.shape[0]):
            prior = dist.Categorical(logits=torch.zeros(10))
            label = pyro.sample("y", prior, obs=y.clamp(min=0), obs_mask=y >= 0)
            z = pyro.sample("z", dist.Normal(torch.zeros(4), 1.0).to_event(1))
            one_hot = nn.functional.one_hot(label, 10).to(z.dtype)
            shape = torch.broadcast_shapes(z.shape[:-1], one_hot.shape[:-1])
            logits = self.decoder(torch.cat([z.expand(*shape, 4), one_hot.expand(*shape, 10)], -1))
            pixels = dist.Bernoulli(logits=logits.reshape(*shape, 1, 8, 8), validate_args=False)
            pyro.sample("x", pixels.to_event(3), obs=x)
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("story")
    (folder / "stories.py").write_text(textwrap.dedent(SEED_STORY))
    (folder / "m2.py").write_text(textwrap.dedent(M2_STORY))
    rng = np.random.default_rng(0)
    x1 = rng.gamma(2.0, 1.0, 400)
    x2 = rng.normal(0.0, 1.0, 400)
    pd.DataFrame({"x1": x1, "x2": x2, "x3": rng.normal(x2, x1)}).to_csv(folder / "seed.csv", index=False)
    return folder


def seed_command(folder):
    """``vaekit train model`` of the seed story on the seed table, without its output flags."""
    return [
        "train",
        "model",
        "--model",
        f"{folder / 'stories.py'}:SeedStory",
        "--csv",
        str(folder / "seed.csv"),
    ]


@pytest.fixture(scope="module")
def seed_run(folder):
    out = folder / "seed_run"
    command = seed_command(folder)
    assert main([*command, "--epochs", "4", "--iw-samples", "10", "--no-progress", "--out", str(out)]) == 0
    return out


def test_a_story_in_a_file_trains_into_a_run_folder_that_rebuilds_it(seed_run, tmp_path):
    run = load_run(seed_run)
    assert isinstance(run.model, StoryVAE)
    assert run.config["data"]["arguments"] == "columns"  # one argument per column of the table
    metrics = run.metrics
    assert metrics["test_log_likelihood"] >= metrics["test_elbo"] - 0.05  # IWAE above the ELBO, to noise
    assert (seed_run / "figures" / "training_curves.png").is_file()
    reloaded = load_model(save_model(run.model, tmp_path / "story.pt"))
    for name, value in run.model.state_dict().items():
        assert torch.equal(value, reloaded.state_dict()[name]), name
    assert main(["evaluate", str(seed_run), "--iw-samples", "5", "--no-progress"]) == 0


def test_the_elbo_improves_with_training(seed_run):
    log = pd.read_csv(seed_run / "log.csv")
    assert log["val_elbo"].iloc[-1] > log["val_elbo"].iloc[0]


@pytest.fixture(scope="module")
def m2_run(folder):
    out = folder / "m2_run"
    command = ["train", "model", "--model", f"{folder / 'm2.py'}:M2", "--data", "digits", "--labels", "200"]
    assert main([*command, "--epochs", "2", "--iw-samples", "5", "--no-progress", "--out", str(out)]) == 0
    return out


def test_a_partially_labelled_image_story_trains_its_classifier(m2_run):
    out = m2_run
    log = pd.read_csv(out / "log.csv")
    assert "test_accuracy_y" in log.columns  # the classifier's test accuracy after every epoch
    run = load_run(out)
    from vaekit.runs.kinds.story import story_data
    from vaekit.runs.store import split_train_val

    (_, labels), _ = story_data(run.config["data"])
    fit_rows, val_rows = split_train_val(len(labels), 0.1, 0)
    assert int((labels[fit_rows] >= 0).sum()) == 200 and int((labels[val_rows] >= 0).sum()) == 0
    assert torch.bincount(labels[labels >= 0], minlength=10).tolist() == [20] * 10  # balanced
    assert run.model.data_arguments == (0,)  # the label is no input of its own classifier
    assert 0.0 <= run.metrics["test_accuracy_y"] <= 1.0


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nofile.py:SeedStory", "no such file"),
        ("{folder}/stories.py", "FILE.py:NAME"),
        ("{folder}/stories.py:Missing", "defines no 'Missing'"),
        ("{folder}/stories.py:NeedsArguments", "must build with no arguments"),
        ("{folder}/seed.csv:x", "not a Python file"),
    ],
)
def test_a_story_reference_that_names_nothing_usable_is_refused(folder, reference, message):
    with pytest.raises(VaekitError, match=message):
        load_story(reference.format(folder=folder))


def test_a_story_whose_arguments_do_not_fit_the_data_is_refused_before_writing(folder, tmp_path, capsys):
    out = tmp_path / "run"
    command = ["train", "model", "--model", f"{folder / 'm2.py'}:M2", "--data", "digits", "--epochs", "1"]
    assert main([*command, "--out", str(out)]) == 2
    assert "takes 2 data argument(s)" in capsys.readouterr().err
    assert not out.exists()
    text = tmp_path / "words.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}).to_csv(text, index=False)
    command = ["train", "model", "--model", f"{folder / 'stories.py'}:table_story", "--csv", str(text)]
    assert main([*command, "--out", str(out)]) == 2
    assert "column 'b' holds 'x' at row 1" in capsys.readouterr().err
    assert not out.exists()


def test_sample_draws_table_rows_named_by_the_training_columns(seed_run, tmp_path):
    out = tmp_path / "rows.csv"
    assert main(["sample", str(seed_run), "--n", "300", "--seed", "3", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows.columns) == ["x1", "x2", "x3"] and len(rows) == 300
    assert bool((rows["x1"] > 0).all())  # x1 ~ Gamma: its draws are positive
    assert rows.std().gt(0).all()  # draws, not one value repeated
    again = tmp_path / "again.csv"
    assert main(["sample", str(seed_run), "--n", "300", "--seed", "3", "--out", str(again)]) == 0
    pd.testing.assert_frame_equal(rows, pd.read_csv(again))  # the seed fixes the draws


def test_score_and_encode_read_the_training_columns_by_name(seed_run, folder, tmp_path):
    table = pd.read_csv(folder / "seed.csv").head(50)
    in_order = tmp_path / "in_order.csv"
    table.to_csv(in_order, index=False)
    scores, shuffled = tmp_path / "scores.csv", tmp_path / "shuffled.csv"
    assert main(["score", str(seed_run), "--csv", str(in_order), "--out", str(scores),
                 "--iw-samples", "20", "--no-progress"]) == 0  # fmt: skip
    reordered = tmp_path / "reordered.csv"
    table[["x3", "x1", "x2"]].assign(extra=1.0).to_csv(reordered, index=False)
    assert main(["score", str(seed_run), "--csv", str(reordered), "--out", str(shuffled),
                 "--iw-samples", "20", "--no-progress"]) == 0  # fmt: skip
    first, second = pd.read_csv(scores), pd.read_csv(shuffled)
    assert list(first.columns) == ["row", "log_likelihood"] and len(first) == 50
    assert np.isfinite(first["log_likelihood"]).all()
    np.testing.assert_allclose(second["log_likelihood"], first["log_likelihood"], rtol=1e-5)
    codes = tmp_path / "codes.csv"
    assert main(["encode", str(seed_run), "--csv", str(reordered), "--out", str(codes)]) == 0
    encoded = pd.read_csv(codes)
    assert list(encoded.columns) == ["row", "z_loc_1", "z_loc_2", "z_scale_1", "z_scale_2"]
    assert len(encoded) == 50 and bool((encoded[["z_scale_1", "z_scale_2"]] > 0).all().all())


def test_score_names_a_missing_training_column(seed_run, folder, tmp_path, capsys):
    partial = tmp_path / "partial.csv"
    pd.read_csv(folder / "seed.csv")[["x1", "x3"]].to_csv(partial, index=False)
    assert main(["score", str(seed_run), "--csv", str(partial), "--out", str(tmp_path / "s.csv")]) == 2
    assert "lacks the column(s) 'x2'" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_an_image_story_samples_a_picture_of_a_given_label(m2_run, folder, tmp_path, capsys):
    picture, fours = tmp_path / "threes.png", tmp_path / "fours.png"
    assert main(["sample", str(m2_run), "--n", "16", "--label", "3", "--out", str(picture)]) == 0
    assert main(["sample", str(m2_run), "--n", "16", "--label", "4", "--out", str(fours)]) == 0
    assert picture.stat().st_size > 1000
    assert picture.read_bytes() != fours.read_bytes()  # same seed, another label: other pictures
    for command, message in (
        (["sample", str(m2_run), "--label", "10", "--out", str(picture)], "takes the values 0 to 9"),
        (["sample", str(m2_run), "--out", str(tmp_path / "x.csv")], "must name a .png file"),
        (["score", str(m2_run), "--csv", str(folder / "seed.csv"), "--out", str(tmp_path / "s.csv")],
         "trained on images"),
    ):  # fmt: skip
        assert main(command) == 2
        assert message in capsys.readouterr().err


def test_a_run_refuses_to_rebuild_a_story_whose_file_changed(folder, tmp_path, capsys):
    story = tmp_path / "stories.py"
    story.write_text((folder / "stories.py").read_text())
    out = tmp_path / "run"
    command = ["train", "model", "--model", f"{story}:SeedStory", "--csv", str(folder / "seed.csv")]
    assert main([*command, "--epochs", "1", "--iw-samples", "2", "--no-progress", "--out", str(out)]) == 0
    assert len(load_run(out).config["model_config"]["story_sha256"]) == 64
    story.write_text(story.read_text() + "\nprint('STORY CODE RAN')\n")
    capsys.readouterr()
    with pytest.raises(VaekitError, match="changed since this model was trained"):
        load_run(out)
    assert main([*command, "--no-progress", "--resume", str(out)]) == 2
    captured = capsys.readouterr()
    assert "is not the one the run started with" in captured.err
    assert "STORY CODE RAN" not in captured.out  # refused before the edited code ran
    story.unlink()
    with pytest.raises(VaekitError, match="this model was trained with is missing"):
        load_run(out)


def test_a_table_story_s_drawn_label_is_written_under_its_column(folder, tmp_path):
    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, 300).astype(float)
    table = pd.DataFrame({"a": rng.normal(6 * label - 3), "b": rng.normal(6 * label - 3), "label": label})
    table.loc[:9, "label"] = np.nan
    table.loc[60:, "label"] = np.nan  # rows 11 to 60 give their class: the first rows do not
    table.to_csv(tmp_path / "labelled.csv", index=False)
    out = tmp_path / "run"
    command = ["train", "model", "--model", f"{folder / 'stories.py'}:LabelledTable", "--csv"]
    assert main([*command, str(tmp_path / "labelled.csv"), "--epochs", "2", "--iw-samples", "2",
                 "--no-progress", "--latent-hidden", "none", "--out", str(out)]) == 0  # fmt: skip
    drawn = tmp_path / "drawn.csv"
    assert main(["sample", str(out), "--n", "400", "--label", "1", "--out", str(drawn)]) == 0
    rows = pd.read_csv(drawn)
    assert list(rows.columns) == ["a", "b", "label"]
    assert bool((rows["label"] == 1).all()) and rows["a"].mean() > 2  # the fixed class, and its mean
    assert main(["sample", str(out), "--n", "400", "--out", str(drawn)]) == 0
    assert 0.35 < pd.read_csv(drawn)["label"].mean() < 0.65  # drawn from the prior, half and half


def test_encode_gives_the_posterior_of_a_site_the_story_sums_out(folder, tmp_path):
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.normal(-4, 1, 150), rng.normal(4, 1, 150)])
    pd.DataFrame({"x": values}).to_csv(tmp_path / "mixture.csv", index=False)
    out = tmp_path / "run"
    command = [
        "train",
        "model",
        "--model",
        f"{folder / 'stories.py'}:mixture",
        "--csv",
        str(tmp_path / "mixture.csv"),
    ]
    assert main([*command, "--epochs", "3", "--iw-samples", "4", "--no-progress", "--out", str(out)]) == 0
    assert np.isfinite(load_run(out).metrics["test_log_likelihood"])
    probe = tmp_path / "probe.csv"
    pd.DataFrame({"x": [-6.0, 6.0]}).to_csv(probe, index=False)
    codes = tmp_path / "codes.csv"
    assert main(["encode", str(out), "--csv", str(probe), "--out", str(codes)]) == 0
    encoded = pd.read_csv(codes)
    assert list(encoded.columns[:4]) == ["row", "c_p_0", "c_p_1", "c"]
    np.testing.assert_allclose(encoded[["c_p_0", "c_p_1"]].sum(1), 1.0, rtol=1e-6)
    assert encoded["c"].tolist() == [0, 1]  # far left the left cluster, far right the right one


def test_missing_cells_a_guide_reads_and_tables_of_the_wrong_width_are_refused(
    seed_run, folder, tmp_path, capsys
):
    table = pd.read_csv(folder / "seed.csv").head(20)
    table.loc[4, "x2"] = np.nan
    holes = tmp_path / "holes.csv"
    table.to_csv(holes, index=False)
    assert main(["score", str(seed_run), "--csv", str(holes), "--out", str(tmp_path / "s.csv")]) == 2
    assert "column 'x2' has a missing cell at row 5" in capsys.readouterr().err
    out = tmp_path / "run"
    command = ["train", "model", "--model", f"{folder / 'stories.py'}:SeedStory", "--csv", str(holes)]
    assert main([*command, "--epochs", "1", "--no-progress", "--out", str(out)]) == 2
    assert "column 'x2' has a missing cell at row 5" in capsys.readouterr().err and not out.exists()


def test_a_run_from_before_columns_and_hashes_were_recorded_still_loads_scores_and_resumes(
    folder, tmp_path, capsys
):
    import json

    out = tmp_path / "run"
    command = seed_command(folder)
    assert main([*command, "--epochs", "1", "--iw-samples", "2", "--no-progress", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    for section, key in (
        ("data", "columns"),
        ("model_config", "story_sha256"),
        ("model_config", "image_encoder"),
    ):
        del config[section][key]
    (out / "config.json").write_text(json.dumps(config))
    narrow = tmp_path / "narrow.csv"
    pd.read_csv(folder / "seed.csv")[["x1", "x2"]].to_csv(narrow, index=False)
    assert main(["score", str(out), "--csv", str(narrow), "--out", str(tmp_path / "s.csv")]) == 2
    assert "the table has 2 columns; the story was trained on 3" in capsys.readouterr().err
    assert main([*command, "--no-progress", "--resume", str(out)]) == 0  # nothing the run did has changed


def test_a_story_trains_with_the_importance_weighted_bound_unless_its_guide_enumerates(
    folder, tmp_path, capsys
):
    out = tmp_path / "iwae"
    flags = [
        "--objective",
        "iwae",
        "--num-particles",
        "4",
        "--epochs",
        "2",
        "--iw-samples",
        "4",
        "--no-progress",
    ]
    assert main([*seed_command(folder), *flags, "--out", str(out)]) == 0
    log = pd.read_csv(out / "log.csv")
    assert {"train_iwae", "val_iwae"} <= set(log.columns)
    assert bool((log["val_iwae"] >= log["val_elbo"] - 1e-6).all())  # the bound lies above the ELBO
    command = ["train", "model", "--model", f"{folder / 'm2.py'}:M2", "--data", "digits", "--labels", "200"]
    assert main([*command, *flags, "--out", str(tmp_path / "m2")]) == 2
    assert "the guide enumerates 'y_unobserved'" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists()


def test_a_changed_table_inf_cells_and_a_story_for_one_leading_dimension_are_refused(
    folder, tmp_path, capsys
):
    table = tmp_path / "seed.csv"
    table.write_text((folder / "seed.csv").read_text())
    out = tmp_path / "run"
    command = ["train", "model", "--model", f"{folder / 'stories.py'}:SeedStory", "--csv", str(table)]
    assert main([*command, "--epochs", "1", "--iw-samples", "2", "--no-progress", "--out", str(out)]) == 0
    infinite = tmp_path / "inf.csv"
    pd.DataFrame({"x1": [1.0, np.inf], "x2": [0.0, 0.0], "x3": [0.0, 0.0]}).to_csv(infinite, index=False)
    assert main(["score", str(out), "--csv", str(infinite), "--out", str(tmp_path / "s.csv")]) == 2
    assert "column 'x1' has inf at row 2" in capsys.readouterr().err
    table.write_text(table.read_text() + "1.0,0.0,0.0\n")
    assert main(["evaluate", str(out), "--iw-samples", "2", "--no-progress"]) == 2
    assert "has changed since the run was trained" in capsys.readouterr().err
    flat = tmp_path / "flat.py"
    flat.write_text(
        (folder / "stories.py").read_text().replace("h[..., 0]", "h[:, 0]").replace("h[..., 1]", "h[:, 1]")
    )
    command = ["train", "model", "--model", f"{flat}:SeedStory", "--csv", str(folder / "seed.csv")]
    assert main([*command, "--epochs", "1", "--out", str(tmp_path / "flat_run")]) == 2
    assert "leading dimensions" in capsys.readouterr().err and not (tmp_path / "flat_run").exists()
