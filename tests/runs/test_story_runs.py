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


@pytest.fixture(scope="module")
def seed_run(folder):
    out = folder / "seed_run"
    command = [
        "train",
        "model",
        "--model",
        f"{folder / 'stories.py'}:SeedStory",
        "--csv",
        str(folder / "seed.csv"),
    ]
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


def test_a_partially_labelled_image_story_trains_its_classifier(folder):
    out = folder / "m2_run"
    command = ["train", "model", "--model", f"{folder / 'm2.py'}:M2", "--data", "digits", "--labels", "200"]
    assert main([*command, "--epochs", "2", "--iw-samples", "5", "--no-progress", "--out", str(out)]) == 0
    log = pd.read_csv(out / "log.csv")
    assert "val_accuracy_y" in log.columns  # the classifier's accuracy on the labelled validation images
    run = load_run(out)
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
