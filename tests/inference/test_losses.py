"""TermwiseELBO against Pyro's own ELBOs, and its terms."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO

from vaekit import ImageVAE, ImageVAEConfig, TermwiseELBO, VaekitError
from vaekit.models import VAE


@pytest.fixture
def vae_and_data() -> tuple[ImageVAE, torch.Tensor]:
    torch.manual_seed(0)
    model = ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=4, hidden=(32,)))
    return model, torch.rand(16, 1, 8, 8)


@pytest.mark.parametrize(("analytic_kl", "reference"), [(True, TraceMeanField_ELBO), (False, Trace_ELBO)])
def test_loss_equals_pyros_elbo_per_example(vae_and_data, analytic_kl, reference):
    model, x = vae_and_data
    pyro.set_rng_seed(1)
    ours = TermwiseELBO(analytic_kl=analytic_kl)(model.model, model.guide, x)
    pyro.set_rng_seed(1)
    theirs = reference().differentiable_loss(model.model, model.guide, x) / x.shape[0]
    assert torch.allclose(ours.loss, theirs, rtol=1e-5)


def test_terms_add_up_to_the_elbo(vae_and_data):
    model, x = vae_and_data
    estimate = TermwiseELBO()(model.model, model.guide, x)
    assert set(estimate.log_likelihood) == {"x"}
    assert set(estimate.kl) == {"z"}
    assert torch.allclose(estimate.elbo, estimate.log_likelihood["x"] - estimate.kl["z"])
    assert estimate.kl["z"] >= 0  # analytic KL between Normals is never negative
    assert set(estimate.terms()) == {"elbo", "log_likelihood_x", "kl_z"}


def test_loss_is_differentiable_and_terms_are_detached(vae_and_data):
    model, x = vae_and_data
    estimate = TermwiseELBO()(model.model, model.guide, x)
    estimate.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert not estimate.log_likelihood["x"].requires_grad


def test_several_particles_average_the_estimate(vae_and_data):
    model, x = vae_and_data
    pyro.set_rng_seed(0)
    many = TermwiseELBO(num_particles=200, analytic_kl=False)(model.model, model.guide, x)
    pyro.set_rng_seed(0)
    analytic = TermwiseELBO(num_particles=200)(model.model, model.guide, x)
    # The Monte Carlo KL converges to the analytic one as particles grow.
    assert torch.allclose(many.kl["z"], analytic.kl["z"], atol=0.05)
    assert many.loss.shape == ()


class _DiscreteLatent(VAE):
    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(3))

    def model(self, x=None, **kwargs):
        with pyro.plate("data", x.shape[0]):
            c = pyro.sample("c", dist.Categorical(logits=torch.zeros(3)))
            pyro.sample("x", dist.Normal(c.float(), 1.0), obs=x)

    def guide(self, x=None, **kwargs):
        with pyro.plate("data", x.shape[0]):
            pyro.sample("c", dist.Categorical(logits=self.logits))


def test_discrete_latent_is_refused_with_a_clear_error():
    model = _DiscreteLatent()
    with pytest.raises(VaekitError, match="not reparameterizable"):
        TermwiseELBO()(model.model, model.guide, torch.zeros(4))


@pytest.mark.filterwarnings("ignore:Found vars in model but not guide")
def test_mismatched_guide_is_reported_on_the_first_batch(vae_and_data):
    model, x = vae_and_data

    def guide_without_z(x):
        pass

    with pytest.raises(VaekitError, match="no matching site"):
        TermwiseELBO()(model.model, guide_without_z, x)


class AuxiliaryChain(VAE):
    """z ~ N(0, 1), x ~ N(z, 1), a ~ N(z, 1); the guide draws a first, then z given a."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = torch.nn.Parameter(torch.tensor([0.3, 0.7, -0.2]))

    def model(self, x):
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(0.0, 1.0))
            pyro.sample("x", dist.Normal(z, 1.0), obs=x)
            pyro.sample("a", dist.Normal(z, 1.0))

    def guide(self, x):
        with pyro.plate("data", x.shape[0]):
            a = pyro.sample("a", dist.Normal(self.weights[0] * x, 1.0))
            pyro.sample("z", dist.Normal(self.weights[1] * x + self.weights[2] * a, 0.5))


def test_the_closed_form_is_kept_only_where_the_model_site_reads_nothing_drawn_after_it():
    """At a, p(a | z) reads a z the guide draws from a: a closed form there would hold z fixed while
    integrating a out. The estimate must be z's closed form plus a's Monte Carlo terms."""
    model, x = AuxiliaryChain(), torch.tensor([0.5, -1.0, 2.0])
    pyro.set_rng_seed(2)
    estimate = TermwiseELBO(analytic_kl=True)(model.model, model.guide, x)
    pyro.set_rng_seed(2)
    guide = pyro.poutine.trace(model.guide).get_trace(x)
    a, z = guide.nodes["a"]["value"], guide.nodes["z"]["value"]
    q_a, q_z = (
        dist.Normal(model.weights[0] * x, 1.0),
        dist.Normal(model.weights[1] * x + model.weights[2] * a, 0.5),
    )
    kl_z = torch.distributions.kl_divergence(q_z, dist.Normal(0.0, 1.0))
    by_hand = dist.Normal(z, 1.0).log_prob(x) - kl_z + dist.Normal(z, 1.0).log_prob(a) - q_a.log_prob(a)
    assert torch.allclose(estimate.loss, -by_hand.mean(), atol=1e-5)
