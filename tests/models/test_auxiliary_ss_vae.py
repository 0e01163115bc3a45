"""The auxiliary deep generative model (ADGM): its bound by hand, its enumeration, its runs."""

from __future__ import annotations

import json

import pyro
import pytest
import torch
from pyro import poutine

from vaekit import TrainConfig, load_image_dataset, load_run, train_ssvae
from vaekit.cli.main import main
from vaekit.inference import SemiSupervisedObjective
from vaekit.models import AuxiliarySemiSupervisedVAE, AuxiliarySemiSupervisedVAEConfig


def _tiny(**kwargs) -> AuxiliarySemiSupervisedVAE:
    torch.manual_seed(0)
    return AuxiliarySemiSupervisedVAE(
        AuxiliarySemiSupervisedVAEConfig((1, 8, 8), num_classes=4, z_dim=3, hidden=(16,), aux_dim=2, **kwargs)
    )


def test_labelled_examples_never_enumerate_and_unlabelled_ones_do():
    model, x, y = _tiny(), torch.rand(5, 1, 8, 8), torch.arange(5) % 4
    labelled = poutine.trace(model.guide).get_trace(x, y)
    assert "y" not in labelled.nodes and labelled.nodes["a"]["value"].shape == (5, 2)
    enumerated = poutine.trace(poutine.enum(model.guide, first_available_dim=-2)).get_trace(x)
    assert enumerated.nodes["y"]["value"].shape == (4, 1)  # all classes at once, in parallel
    assert enumerated.nodes["a"]["value"].shape == (5, 2)  # one draw of a, shared by the classes
    assert enumerated.nodes["z"]["value"].shape == (4, 5, 3)


def test_the_unlabelled_bound_is_the_exact_sum_over_classes_at_the_drawn_a_and_z():
    model, x = _tiny(), torch.rand(5, 1, 8, 8).round()
    objective = SemiSupervisedObjective(num_labelled=0, num_unlabelled=5)
    pyro.set_rng_seed(3)
    loss = objective.unlabelled_loss(model, x, differentiable=False)
    # The same seed makes the guide draw the same a and z (one z per class) as the ELBO did.
    pyro.set_rng_seed(3)
    trace = poutine.trace(poutine.enum(model.guide, first_available_dim=-2)).get_trace(x)
    a, z = trace.nodes["a"]["value"], trace.nodes["z"]["value"]
    with torch.no_grad():
        q_y = model.classify_given(x, a).probs  # (5, 4)
        per_class = []
        for k in range(4):
            y = torch.full((5,), k)
            log_p = (
                model.prior((5,)).log_prob(z[k])
                + model.label_prior().log_prob(y)
                + model.decode(z[k], y).log_prob(x)
                + model.decode_aux(x, z[k], y).log_prob(a)
            )
            log_q = model.encode(x, y, a).log_prob(z[k]) + model.classify_given(x, a).log_prob(y)
            per_class.append(log_p - log_q)
        by_hand = (q_y * torch.stack(per_class, -1)).sum(-1) - model.encode_aux(x).log_prob(a)
    assert torch.allclose(-loss, by_hand.mean(), atol=1e-4)


def test_the_labelled_bound_is_z_in_closed_form_and_a_at_its_draw():
    """With y given: log p(x | z, y) + log p(y) - KL(q(z | a, x, y) || p(z)) + log p(a | x, z, y)
    - log q(a | x), at the drawn a and z. A closed form at a would hold z fixed while integrating a
    out, though z is drawn from a."""
    model, x, y = _tiny(), torch.rand(3, 1, 8, 8).round(), torch.tensor([0, 2, 3])
    objective = SemiSupervisedObjective(num_labelled=3, num_unlabelled=0)
    pyro.set_rng_seed(5)
    estimate = objective.labelled_elbo(model.model, model.guide, x, y)
    pyro.set_rng_seed(5)
    trace = poutine.trace(model.guide).get_trace(x, y)
    a, z = trace.nodes["a"]["value"], trace.nodes["z"]["value"]
    with torch.no_grad():
        q_z = model.encode(x, y, a)
        by_hand = (
            model.decode(z, y).log_prob(x)
            + model.label_prior().log_prob(y)
            - torch.distributions.kl_divergence(q_z, model.prior((3,)))
            + model.decode_aux(x, z, y).log_prob(a)
            - model.encode_aux(x).log_prob(a)
        )
    assert torch.allclose(estimate.loss, -by_hand.mean(), atol=1e-4)


def test_predictions_are_deterministic_and_the_classification_term_draws_a():
    model, x, y = _tiny(), torch.rand(6, 1, 8, 8), torch.arange(6) % 4
    for mode in (model.train, model.eval):
        mode()
        assert torch.equal(model.classify(x).logits, model.classify(x).logits)
        assert torch.equal(model.predict(x), model.classify(x).logits.argmax(-1))
    first, second = model.classification_log_likelihood(x, y), model.classification_log_likelihood(x, y)
    assert first.shape == (6,) and not torch.allclose(first, second)
    first.sum().backward()  # reparameterized: the encoder of a learns from the classification term
    assert model.aux_encoder_head.projection.weight.grad.abs().sum() > 0


def test_a_config_of_the_other_story_is_refused_before_training(tmp_path):
    from vaekit import SemiSupervisedVAEConfig, VaekitError

    digits = load_image_dataset("digits")
    with pytest.raises(VaekitError, match="built from a AuxiliarySemiSupervisedVAEConfig"):
        train_ssvae(
            digits,
            SemiSupervisedVAEConfig(digits.image_shape, num_classes=10),
            TrainConfig(epochs=1),
            tmp_path / "run",
            num_labels=50,
            model_class=AuxiliarySemiSupervisedVAE,
        )
    assert not (tmp_path / "run").exists()


def test_the_config_refuses_an_empty_auxiliary_latent():
    with pytest.raises(ValueError, match="aux_dim"):
        AuxiliarySemiSupervisedVAEConfig((1, 8, 8), num_classes=4, aux_dim=0)


@pytest.fixture(scope="module")
def adgm_run(tmp_path_factory):
    digits = load_image_dataset("digits")
    config = AuxiliarySemiSupervisedVAEConfig(
        digits.image_shape, num_classes=10, z_dim=8, hidden=(128,), aux_dim=8
    )
    return train_ssvae(
        digits,
        config,
        TrainConfig(epochs=15, batch_size=100, progress_bar=False),
        tmp_path_factory.mktemp("adgm") / "run",
        num_labels=130,
        model_class=AuxiliarySemiSupervisedVAE,
        iw_samples=20,
        progress=False,
    )


def test_the_bound_improves_and_the_classifier_learns_on_digits(adgm_run):
    metrics = json.loads((adgm_run.path / "metrics.json").read_text())
    log = (adgm_run.path / "log.csv").read_text().splitlines()
    header = log[0].split(",")
    val_elbo = [float(row.split(",")[header.index("val_elbo")]) for row in log[1:]]
    assert val_elbo[-1] > val_elbo[0] + 5  # nats per image
    # Chance is 0.1; a classifier that ignores its labels stays near it.
    assert metrics["test_accuracy"] > 0.6


def test_a_reloaded_run_predicts_the_same_classes(adgm_run):
    digits = load_image_dataset("digits")
    reloaded = load_run(adgm_run.path)
    assert isinstance(reloaded.model, AuxiliarySemiSupervisedVAE)
    assert reloaded.model.config == adgm_run.model.config
    images = digits.test_images[:50]
    assert torch.equal(reloaded.model.predict(images), adgm_run.model.predict(images))


def test_the_command_line_trains_samples_and_evaluates_the_adgm(tmp_path):
    out = tmp_path / "run"
    common = ["--data", "digits", "--labels", "50", "--epochs", "1", "--hidden", "32", "--z-dim", "4"]
    assert main(["train", "ssvae", *common, "--model", "adgm", "--aux-dim", "3", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "AuxiliarySemiSupervisedVAE" and config["model_config"]["aux_dim"] == 3
    assert (out / "figures" / "conditional_samples.png").exists()
    assert main(["sample", str(out), "--label", "3", "--n", "4", "--out", str(tmp_path / "threes.png")]) == 0
    assert (tmp_path / "threes.png").exists()
    assert main(["evaluate", str(out), "--iw-samples", "5", "--iw-examples", "20"]) == 0


def test_aux_dim_without_the_adgm_is_refused_before_loading_any_data(tmp_path, capsys, monkeypatch):
    from vaekit.runs.kinds.semi_supervised import SemiSupervisedKind

    def no_loading(*_args, **_kwargs):
        raise AssertionError("the data was loaded before the flags were checked")

    monkeypatch.setattr(SemiSupervisedKind, "load_data", no_loading)
    out = tmp_path / "run"
    code = main(["train", "ssvae", "--data", "digits", "--labels", "50", "--aux-dim", "3", "--out", str(out)])
    assert code != 0 and "--model adgm" in capsys.readouterr().err
    assert not out.exists()


def test_the_adgm_refuses_a_classifier_dropout_it_would_not_use():
    with pytest.raises(ValueError, match="adgm"):
        AuxiliarySemiSupervisedVAEConfig((1, 8, 8), num_classes=4, classifier_dropout=0.5)
