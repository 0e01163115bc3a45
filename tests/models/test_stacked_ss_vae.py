"""M1+M2: M2 over the codes of an image VAE; its bound by hand, its two stages, its runs."""

from __future__ import annotations

import json

import pyro
import pytest
import torch
from pyro import poutine

from vaekit import TrainConfig, load_image_dataset, load_run, train_ssvae
from vaekit.cli.main import main
from vaekit.inference import SemiSupervisedObjective
from vaekit.models import StackedSemiSupervisedVAE, StackedSemiSupervisedVAEConfig
from vaekit.runs.ss_vae import fit_first_stage


def _tiny() -> StackedSemiSupervisedVAE:
    torch.manual_seed(0)
    return StackedSemiSupervisedVAE(
        StackedSemiSupervisedVAEConfig(
            (1, 8, 8), num_classes=4, z_dim=3, hidden=(16,), code_dim=2, code_hidden=(16,)
        )
    )


def test_labelled_examples_never_enumerate_and_unlabelled_ones_do():
    model, x, y = _tiny(), torch.rand(5, 1, 8, 8), torch.arange(5) % 4
    labelled = poutine.trace(model.guide).get_trace(x, y)
    assert "y" not in labelled.nodes and labelled.nodes["z"]["value"].shape == (5, 3)
    enumerated = poutine.trace(poutine.enum(model.guide, first_available_dim=-2)).get_trace(x)
    assert enumerated.nodes["y"]["value"].shape == (4, 1)  # all classes at once, in parallel
    assert enumerated.nodes["code"]["value"].shape == (5, 2)  # one code per image, shared by the classes
    assert enumerated.nodes["z"]["value"].shape == (4, 5, 3)


def test_the_unlabelled_bound_is_the_exact_sum_over_classes_at_the_drawn_code_and_z():
    model, x = _tiny(), torch.rand(5, 1, 8, 8).round()
    objective = SemiSupervisedObjective(num_labelled=0, num_unlabelled=5)
    pyro.set_rng_seed(3)
    loss = objective.unlabelled_loss(model, x, differentiable=False)
    # The same seed makes the guide draw the same code and z (one z per class) as the ELBO did.
    pyro.set_rng_seed(3)
    trace = poutine.trace(poutine.enum(model.guide, first_available_dim=-2)).get_trace(x)
    code, z = trace.nodes["code"]["value"], trace.nodes["z"]["value"]
    with torch.no_grad():
        q_y = model.classifier_head(model.classifier_body(code))
        per_class = []
        for k in range(4):
            y = torch.full((5,), k)
            log_p = (
                model.prior((5,)).log_prob(z[k])
                + model.label_prior().log_prob(y)
                + model.decode_code(z[k], y).log_prob(code)
            )
            log_q = model._encode_code(code, y).log_prob(z[k]) + q_y.log_prob(y)
            per_class.append(log_p - log_q)
        by_hand = (
            (q_y.probs * torch.stack(per_class, -1)).sum(-1)
            + model.codes.decode(code).log_prob(x)
            - model.codes.encode(x).log_prob(code)
        )
    assert torch.allclose(-loss, by_hand.mean(), atol=1e-4)


def test_predictions_read_the_mean_code_and_the_classification_term_a_drawn_one():
    model, x, y = _tiny(), torch.rand(6, 1, 8, 8), torch.arange(6) % 4
    assert torch.equal(model.classify(x).logits, model.classify(x).logits)
    mean_code = model.codes.encode(x).mean
    assert torch.allclose(
        model.classify(x).logits, model.classifier_head(model.classifier_body(mean_code)).logits
    )
    first, second = model.classification_log_likelihood(x, y), model.classification_log_likelihood(x, y)
    assert first.shape == (6,) and not torch.allclose(first, second)


def test_the_first_stage_trains_m1_alone_and_freezes_it():
    model = _tiny()
    images = torch.rand(40, 1, 8, 8)
    m2_before = {name: p.clone() for name, p in model.named_parameters() if not name.startswith("codes.")}
    m1_before = {name: p.clone() for name, p in model.codes.named_parameters()}
    result = fit_first_stage(
        model, images, images[:10], TrainConfig(epochs=2, batch_size=20, progress_bar=False)
    )
    assert result is not None and len(result.history) == 2
    assert any(not torch.equal(p, m1_before[name]) for name, p in model.codes.named_parameters())
    assert all(torch.equal(p, m2_before[name]) for name, p in model.named_parameters() if name in m2_before)
    assert not any(p.requires_grad for p in model.codes.parameters())
    # The second stage's loss then has no gradient into M1.
    objective = SemiSupervisedObjective(num_labelled=4, num_unlabelled=4)
    step = objective.training(
        model, {"labelled": (images[:4], torch.arange(4)), "unlabelled": (images[4:8],)}
    )
    step.loss.backward()
    assert model.classifier_head.projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.codes.parameters())


def test_m2_has_no_first_stage():
    from vaekit.models import SemiSupervisedVAE, SemiSupervisedVAEConfig

    m2 = SemiSupervisedVAE(SemiSupervisedVAEConfig((1, 8, 8), num_classes=4, hidden=(16,), z_dim=2))
    assert m2.first_stage() is None
    assert fit_first_stage(m2, torch.rand(4, 1, 8, 8), torch.rand(2, 1, 8, 8), TrainConfig(epochs=1)) is None


def test_the_config_refuses_an_empty_code():
    with pytest.raises(ValueError, match="code_dim"):
        StackedSemiSupervisedVAEConfig((1, 8, 8), num_classes=4, code_dim=0)


@pytest.fixture(scope="module")
def m1m2_run(tmp_path_factory):
    digits = load_image_dataset("digits")
    config = StackedSemiSupervisedVAEConfig(
        digits.image_shape, num_classes=10, z_dim=8, hidden=(128,), code_dim=16, code_hidden=(128,)
    )
    return train_ssvae(
        digits,
        config,
        TrainConfig(epochs=15, batch_size=100, progress_bar=False),
        tmp_path_factory.mktemp("m1m2") / "run",
        num_labels=130,
        model_class=StackedSemiSupervisedVAE,
        first_stage_epochs=30,
        iw_samples=20,
        progress=False,
    )


def test_the_bound_improves_and_the_classifier_learns_on_digits(m1m2_run):
    metrics = json.loads((m1m2_run.path / "metrics.json").read_text())
    log = (m1m2_run.path / "log.csv").read_text().splitlines()
    header = log[0].split(",")
    val_elbo = [float(row.split(",")[header.index("val_elbo")]) for row in log[1:]]
    assert val_elbo[-1] > val_elbo[0]
    # Chance is 0.1; a classifier that ignores its labels stays near it (measured: 0.58 with these
    # small networks; M1's codes of 8x8 digits separate the classes less well than the pixels).
    assert metrics["test_accuracy"] > 0.4
    config = json.loads((m1m2_run.path / "config.json").read_text())
    assert config["first_stage_epochs"] == 30


def test_a_reloaded_run_predicts_the_same_classes(m1m2_run):
    digits = load_image_dataset("digits")
    reloaded = load_run(m1m2_run.path)
    assert isinstance(reloaded.model, StackedSemiSupervisedVAE)
    images = digits.test_images[:50]
    assert torch.equal(reloaded.model.predict(images), m1m2_run.model.predict(images))


def test_the_command_line_trains_samples_and_evaluates_m1m2(tmp_path):
    out = tmp_path / "run"
    common = ["--data", "digits", "--labels", "50", "--epochs", "1", "--hidden", "32", "--z-dim", "4"]
    common += ["--iw-samples", "5", "--iw-examples", "20"]
    assert (
        main(["train", "ssvae", *common, "--model", "m1m2", "--first-stage-epochs", "2", "--out", str(out)])
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "StackedSemiSupervisedVAE" and config["first_stage_epochs"] == 2
    assert (out / "figures" / "conditional_samples.png").exists()
    assert main(["sample", str(out), "--label", "3", "--n", "4", "--out", str(tmp_path / "threes.png")]) == 0
    assert (tmp_path / "threes.png").exists()
    assert main(["evaluate", str(out), "--iw-samples", "5", "--iw-examples", "20"]) == 0
    # Resumed, the run skips the first stage: its frozen weights are in the second stage's checkpoint.
    before = load_run(out).model.state_dict()
    assert main(["train", "ssvae", "--labels", "50", "--resume", str(out), "--no-progress"]) == 0
    after = load_run(out).model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_first_stage_epochs_without_m1m2_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "ssvae",
            "--data",
            "digits",
            "--labels",
            "50",
            "--first-stage-epochs",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code != 0 and "--model m1m2" in capsys.readouterr().err
    assert not out.exists()
