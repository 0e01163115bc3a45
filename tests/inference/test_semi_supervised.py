"""The M2 objective: exact enumeration of unlabelled classes, labels only where observed."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine

from vaekit import SemiSupervisedVAE, SemiSupervisedVAEConfig
from vaekit.inference import SemiSupervisedObjective
from vaekit.inference.config import DEFAULT_CLASSIFIER_WEIGHT
from vaekit.inference.semi_supervised import resolve_alpha
from vaekit.models import VAE


class TinyMixture(VAE):
    """y ~ Categorical(prior), x ~ Normal(mean_y, 1); q(y | x) = softmax(w * x + b)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))
        self.bias = torch.nn.Parameter(torch.tensor([0.1, 0.0, -0.3]))
        self.means = torch.tensor([-2.0, 0.0, 3.0])
        self.prior_logits = torch.tensor([0.2, -0.1, 0.4])

    def classify(self, x):
        return dist.Categorical(logits=x.unsqueeze(-1) * self.weight + self.bias)

    def model(self, x=None, y=None):
        with pyro.plate("data", x.shape[0]):
            y = pyro.sample("y", dist.Categorical(logits=self.prior_logits), obs=y)
            pyro.sample("x", dist.Normal(self.means[y], 1.0), obs=x)

    def guide(self, x=None, y=None):
        with pyro.plate("data", x.shape[0]):
            if y is None:
                pyro.sample("y", self.classify(x), infer={"enumerate": "parallel"})


def test_unlabelled_loss_is_the_exact_sum_over_classes():
    model, x = TinyMixture(), torch.tensor([-1.5, 0.2, 2.5, 4.0])
    objective = SemiSupervisedObjective(num_labelled=0, num_unlabelled=4)
    q = model.classify(x).probs  # (N, K)
    log_prior = torch.log_softmax(model.prior_logits, -1)
    log_likelihood = dist.Normal(model.means, 1.0).log_prob(x.unsqueeze(-1))  # (N, K)
    by_hand = (q * (log_prior + log_likelihood - q.log())).sum(-1)  # E_q[log p(x, y) - log q(y | x)]
    assert torch.allclose(-objective.unlabelled_loss(model, x), by_hand.mean(), atol=1e-5)


def test_gradient_of_the_enumerated_loss_is_exact():
    model, x = TinyMixture(), torch.tensor([-1.5, 0.2, 2.5])
    objective = SemiSupervisedObjective(num_labelled=0, num_unlabelled=3)
    objective.unlabelled_loss(model, x).backward()
    enumerated = model.weight.grad.clone()
    model.weight.grad = None
    q = model.classify(x).probs
    log_joint = torch.log_softmax(model.prior_logits, -1) + dist.Normal(model.means, 1.0).log_prob(
        x.unsqueeze(-1)
    )
    (-(q * (log_joint - q.log())).sum(-1).mean()).backward()
    assert torch.allclose(enumerated, model.weight.grad, atol=1e-5)


def _ss_model() -> SemiSupervisedVAE:
    torch.manual_seed(0)
    return SemiSupervisedVAE(SemiSupervisedVAEConfig((1, 8, 8), num_classes=10, z_dim=3, hidden=(16,)))


def test_labelled_examples_never_enumerate_and_unlabelled_ones_do():
    model, x, y = _ss_model(), torch.rand(5, 1, 8, 8), torch.arange(5)
    labelled = poutine.trace(model.guide).get_trace(x, y)
    assert "y" not in labelled.nodes
    enumerated = poutine.trace(poutine.enum(model.guide, first_available_dim=-2)).get_trace(x)
    assert enumerated.nodes["y"]["value"].shape == (10, 1)  # all classes at once, in parallel
    assert enumerated.nodes["z"]["value"].shape == (10, 5, 3)


def test_classification_term_only_sees_labelled_examples():
    model, x, y = _ss_model(), torch.rand(6, 1, 8, 8), torch.arange(6)
    unlabelled_only = {"unlabelled": (x,)}
    pyro.set_rng_seed(0)
    weak = SemiSupervisedObjective(num_labelled=6, num_unlabelled=6, alpha=0.0).training(
        model, unlabelled_only
    )
    pyro.set_rng_seed(0)
    strong = SemiSupervisedObjective(num_labelled=6, num_unlabelled=6, alpha=1e6).training(
        model, unlabelled_only
    )
    assert torch.equal(weak.loss, strong.loss)

    labelled_only = {"labelled": (x, y)}
    pyro.set_rng_seed(0)
    without = SemiSupervisedObjective(num_labelled=6, num_unlabelled=6, alpha=0.0).training(
        model, labelled_only
    )
    pyro.set_rng_seed(0)
    alpha = 3.0
    with_term = SemiSupervisedObjective(num_labelled=6, num_unlabelled=6, alpha=alpha).training(
        model, labelled_only
    )
    expected = -alpha / 12 * model.classify(x).log_prob(y).mean()
    assert torch.allclose(with_term.loss - without.loss, expected, atol=1e-5)


def test_default_classification_term_weighs_46_per_labelled_example():
    """The documented default: alpha = 46 * N_labelled, so a step's term is the formula's."""
    model, x, y = _ss_model(), torch.rand(6, 1, 8, 8), torch.arange(6)
    labelled_only = {"labelled": (x, y)}
    pyro.set_rng_seed(0)
    without = SemiSupervisedObjective(num_labelled=6, num_unlabelled=18, alpha=0.0).training(
        model, labelled_only
    )
    pyro.set_rng_seed(0)
    default = SemiSupervisedObjective(num_labelled=6, num_unlabelled=18).training(model, labelled_only)
    assert DEFAULT_CLASSIFIER_WEIGHT == 46.0
    expected = -DEFAULT_CLASSIFIER_WEIGHT * 6 / 24 * model.classify(x).log_prob(y).mean()
    assert torch.allclose(default.loss - without.loss, expected, atol=1e-4)


def test_alpha_and_classifier_weight_are_two_forms_of_one_setting():
    assert SemiSupervisedObjective(num_labelled=100, num_unlabelled=900).alpha == pytest.approx(4600.0)
    weighted = SemiSupervisedObjective(num_labelled=100, num_unlabelled=900, classifier_weight=2.5)
    assert weighted.alpha == pytest.approx(250.0)
    papers = SemiSupervisedObjective(num_labelled=100, num_unlabelled=900, alpha=100.0)
    assert papers.alpha == pytest.approx(100.0)
    assert resolve_alpha(0, 1000, alpha=None, classifier_weight=None) == 0.0
    with pytest.raises(ValueError, match="not both"):
        resolve_alpha(10, 1000, alpha=1.0, classifier_weight=1.0)
    with pytest.raises(ValueError, match="negative"):
        resolve_alpha(10, 1000, alpha=None, classifier_weight=-1.0)


def test_the_default_weight_has_a_floor_of_2_5_per_example_when_labels_are_scarce():
    # 100 labels of 54,000 images: 46 each would give alpha = 4,600; the floor gives 135,000.
    scarce = SemiSupervisedObjective(num_labelled=100, num_unlabelled=53_900)
    assert scarce.alpha == pytest.approx(135_000.0)
    # 3,000 labels: 46 each (138,000) is above the floor. An explicit weight has no floor.
    assert SemiSupervisedObjective(num_labelled=3000, num_unlabelled=51_000).alpha == pytest.approx(138_000.0)
    explicit = SemiSupervisedObjective(num_labelled=100, num_unlabelled=53_900, classifier_weight=46.0)
    assert explicit.alpha == pytest.approx(4600.0)


def test_validation_needs_no_label_for_the_elbo():
    model, x, y = _ss_model(), torch.rand(6, 1, 8, 8), torch.arange(6)
    objective = SemiSupervisedObjective(num_labelled=6, num_unlabelled=6)
    pyro.set_rng_seed(0)
    result = objective.validation(model, (x, y))
    pyro.set_rng_seed(0)
    shuffled = objective.validation(model, (x, y.flip(0)))
    assert torch.allclose(result.terms["elbo"], shuffled.terms["elbo"])
    assert 0.0 <= float(result.terms["accuracy"]) <= 1.0
