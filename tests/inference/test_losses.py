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
