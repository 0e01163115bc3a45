"""The importance-weighted bound: exact on a toy with a known density, above the ELBO, tightening in K."""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import torch

from vaekit import ImageVAE, ImageVAEConfig, TermwiseELBO, estimate_log_likelihood
from vaekit.evaluation import log_importance_weights
from vaekit.models import VAE


class LinearGaussian(VAE):
    """z ~ N(0, 1), x ~ N(z, 1): p(x) = N(0, 2); the guide is the exact posterior N(x/2, 1/2)."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def model(self, x=None, **kwargs):
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(x.shape[0]), 1.0))
            pyro.sample("x", dist.Normal(z, 1.0), obs=x)

    def guide(self, x=None, **kwargs):
        with pyro.plate("data", x.shape[0]):
            pyro.sample("z", dist.Normal(x / 2, math.sqrt(0.5)))


def test_exact_posterior_gives_the_exact_log_likelihood():
    x = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    truth = dist.Normal(0.0, math.sqrt(2.0)).log_prob(x)
    estimate = estimate_log_likelihood(LinearGaussian(), x, num_samples=7)
    assert torch.allclose(estimate.log_likelihood, truth, atol=1e-5)
    assert torch.allclose(estimate.elbo, truth, atol=1e-5)  # the ELBO is tight when q is exact


def _trained_free_model() -> tuple[ImageVAE, torch.Tensor]:
    torch.manual_seed(0)
    return ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=4, hidden=(32,))), torch.rand(64, 1, 8, 8)


def test_one_sample_weights_are_the_monte_carlo_elbo():
    model, x = _trained_free_model()
    pyro.set_rng_seed(5)
    log_weights = log_importance_weights(model.model, model.guide, (x,), num_particles=1)
    pyro.set_rng_seed(5)
    elbo = TermwiseELBO(analytic_kl=False)(model.model, model.guide, x).elbo
    assert log_weights.shape == (1, 64)
    assert torch.allclose(log_weights.mean(), elbo, rtol=1e-5)


def test_iwae_is_at_least_the_elbo_on_average_and_tightens_with_k():
    model, x = _trained_free_model()
    torch.manual_seed(1)
    elbo = estimate_log_likelihood(model, x, num_samples=1).elbo.mean()
    k10 = estimate_log_likelihood(model, x, num_samples=10).log_likelihood.mean()
    k500 = estimate_log_likelihood(model, x, num_samples=500, chunk_size=64).log_likelihood.mean()
    assert k10 > elbo
    assert k500 > k10


def test_estimates_are_per_example_and_batching_does_not_change_them():
    model, x = _trained_free_model()
    torch.manual_seed(2)
    whole = estimate_log_likelihood(model, x, num_samples=1, batch_size=64)
    torch.manual_seed(2)
    split = estimate_log_likelihood(model, x, num_samples=1, batch_size=64, chunk_size=1)
    assert whole.elbo.shape == (64,)
    assert torch.allclose(whole.elbo, split.elbo)


def test_model_mode_is_restored():
    model, x = _trained_free_model()
    model.train()
    estimate_log_likelihood(model, x[:4], num_samples=2)
    assert model.training
