"""The automatic guide: reading a story, heads by support, structure, training, saving, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine
from torch import nn

import vaekit
from vaekit import VaekitError
from vaekit.auto import AutoVAE, AutoVAEConfig, SupportHead, auto

# TraceEnum_ELBO warns when a story has nothing to enumerate; it is the same ELBO then.
pytestmark = pytest.mark.filterwarnings("ignore:TraceEnum_ELBO found no sample sites")

SMALL = AutoVAEConfig(data_hidden=(32,), conv_channels=(8, 16), latent_hidden=(16,))


def enum_loss(vae: AutoVAE, *args: torch.Tensor) -> torch.Tensor:
    """-ELBO per example, with Pyro's model/guide checks on."""
    elbo = pyro.infer.TraceEnum_ELBO(max_plate_nesting=1)
    with pyro.validation_enabled(True):
        if not torch.is_grad_enabled():
            return torch.tensor(elbo.loss(vae.model, vae.guide, *args) / args[0].shape[0])
        return elbo.differentiable_loss(vae.model, vae.guide, *args) / args[0].shape[0]


def latent_sites(trace: poutine.Trace) -> set[str]:
    return {
        name
        for name, site in trace.nodes.items()
        if site["type"] == "sample" and not site["is_observed"] and not poutine.util.site_is_subsample(site)
    }


class ImageStory(nn.Module):
    """z ~ N(0, I); pixels ~ Bernoulli(decoder(z)), as in the image VAE."""

    def __init__(self, image_shape: tuple[int, int, int], z_dim: int = 4) -> None:
        super().__init__()
        self.image_shape, self.z_dim = image_shape, z_dim
        pixels = image_shape[0] * image_shape[1] * image_shape[2]
        self.decoder = nn.Sequential(nn.Linear(z_dim, 64), nn.Softplus(), nn.Linear(64, pixels))

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(self.z_dim), 1.0).to_event(1))
            logits = self.decoder(z).unflatten(-1, self.image_shape)
            pyro.sample("x", dist.Bernoulli(logits=logits).to_event(3), obs=x)


class MixtureStory(nn.Module):
    """c ~ Categorical(K); z | c ~ N(mu_c, I); x ~ N(W z, 0.5)."""

    def __init__(self, clusters: int = 3, z_dim: int = 2, x_dim: int = 2) -> None:
        super().__init__()
        self.cluster_means = nn.Parameter(torch.randn(clusters, z_dim) * 3)
        self.decoder = nn.Linear(z_dim, x_dim)
        self.clusters = clusters

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            c = pyro.sample("c", dist.Categorical(logits=torch.zeros(self.clusters)))
            z = pyro.sample("z", dist.Normal(self.cluster_means[c], 1.0).to_event(1))
            pyro.sample("x", dist.Normal(self.decoder(z), 0.5).to_event(1), obs=x)


def m2_story(x: torch.Tensor, y: torch.Tensor) -> None:
    """A label observed where y >= 0 and summed out where y = -1; z given nothing."""
    with pyro.plate("data", x.shape[0]):
        label = pyro.sample("y", dist.Categorical(logits=torch.zeros(3)), obs=y.clamp(min=0), obs_mask=y >= 0)
        z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
        pyro.sample("x", dist.Normal(z + 2.0 * label.unsqueeze(-1).float(), 1.0).to_event(1), obs=x)


def mixture_data(n: int = 96) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    labels = torch.arange(n) % 3
    return centres[labels] + 0.5 * torch.randn(n, 2, generator=generator)


# --- heads by support ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prior",
    [
        dist.Normal(torch.zeros(3), 1.0).to_event(1),  # real
        dist.Gamma(torch.full((3,), 2.0), 1.0).to_event(1),  # positive
        dist.Beta(torch.full((3,), 2.0), 2.0).to_event(1),  # unit interval
        dist.Dirichlet(torch.ones(4)),  # simplex
        dist.LogNormal(0.0, 1.0),  # positive scalar
    ],
    ids=["real", "positive", "unit_interval", "simplex", "positive_scalar"],
)
def test_head_samples_lie_in_the_support_with_finite_density(prior):
    torch.manual_seed(0)
    head = SupportHead(8, prior.support, tuple(prior.event_shape))
    q = head(torch.randn(5, 8) * 3)
    assert q.batch_shape == (5,) and q.event_shape == prior.event_shape
    draws = q.rsample((200,))
    assert bool(prior.support.check(draws).all())
    assert torch.isfinite(q.log_prob(draws)).all()


@pytest.mark.parametrize(
    "prior",
    [dist.Gamma(2.0, 1.0), dist.Beta(2.0, 2.0), dist.Dirichlet(torch.ones(3))],
    ids=["positive", "unit_interval", "simplex"],
)
def test_a_story_with_each_support_trains_with_matching_sites(prior):
    def story(x):
        with pyro.plate("data", x.shape[0]):
            u = pyro.sample("u", prior)
            loc = u.sum(-1, keepdim=True) if u.dim() > 1 else u.unsqueeze(-1)
            pyro.sample("x", dist.Normal(loc, 1.0).to_event(1), obs=x)

    x = torch.rand(8, 1)
    vae = auto(story, x, config=SMALL)
    assert torch.isfinite(enum_loss(vae, x))
    guide_trace = poutine.trace(vae.guide).get_trace(x)
    assert bool(prior.support.check(guide_trace.nodes["u"]["value"]).all())


# --- reading the story and the guide's structure --------------------------------------------------


def test_guide_sites_match_the_model_latents_and_discrete_sites_are_enumerated():
    x = mixture_data(16)
    vae = auto(MixtureStory(), x, config=SMALL)
    assert [latent.name for latent in vae.story.latents] == ["c", "z"]
    assert torch.isfinite(enum_loss(vae, x))  # Pyro's model/guide match checks pass
    guide_trace = poutine.trace(vae.guide).get_trace(x)
    model_trace = poutine.trace(vae.model).get_trace(x)
    assert latent_sites(guide_trace) == latent_sites(model_trace) == {"c", "z"}
    assert guide_trace.nodes["c"]["infer"] == {"enumerate": "parallel"}
    assert "enumerate" not in guide_trace.nodes["z"]["infer"]


def test_discrete_latents_come_first_and_later_encoders_see_earlier_latents():
    def story(x):
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(0.0, 1.0))
            b = pyro.sample("b", dist.Bernoulli(0.5))
            pyro.sample("x", dist.Normal((z + b).unsqueeze(-1), 1.0).to_event(1), obs=x)

    vae = auto(story, torch.randn(4, 1), config=SMALL)
    assert [latent.name for latent in vae.story.latents] == ["b", "z"]
    assert isinstance(vae.latent_bodies["b"], vaekit.nn.MLP)
    assert isinstance(vae.latent_bodies["z"], vaekit.nn.ConditionalMLP)  # q(z | x, b)


def test_partially_observed_label_is_enumerated_only_where_missing():
    x = torch.randn(8, 2)
    y = torch.tensor([0, 1, -1, 2, -1, 0, -1, 1])
    vae = auto(m2_story, x, y, config=SMALL)
    assert [latent.name for latent in vae.story.latents] == ["y_unobserved", "z"]
    assert torch.isfinite(enum_loss(vae, x, y))
    guide_trace = poutine.trace(poutine.enum(vae.guide, first_available_dim=-2)).get_trace(x, y)
    site = guide_trace.nodes["y_unobserved"]
    assert site["infer"]["enumerate"] == "parallel"
    probs = site["fn"].probs  # (N, K): a point mass on the given label in observed rows
    given = y >= 0
    assert torch.equal(probs[given].argmax(-1), y[given])
    assert torch.allclose(probs[given].max(-1).values, torch.ones(int(given.sum())))
    assert (probs[~given] < 1 - 1e-6).all()


def test_m2_story_written_as_a_model_only_trains():
    torch.manual_seed(0)
    pyro.set_rng_seed(0)
    labels = torch.arange(90) % 3
    x = 2.0 * labels.unsqueeze(-1).float() + torch.randn(90, 2) * 0.5
    y = torch.where(torch.arange(90) < 30, labels, torch.full_like(labels, -1))
    vae = auto(m2_story, x, y, config=SMALL)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    before = enum_loss(vae, x, y).item()
    for _ in range(150):
        optimizer.zero_grad()
        loss = pyro.infer.TraceEnum_ELBO(max_plate_nesting=1).differentiable_loss(vae.model, vae.guide, x, y)
        loss.backward()
        optimizer.step()
    assert enum_loss(vae, x, y).item() < before - 0.5


# --- training ---------------------------------------------------------------------------------------


def train(vae: AutoVAE, args: tuple[torch.Tensor, ...], steps: int, lr: float = 3e-3) -> tuple[float, float]:
    """-ELBO per example before and after ``steps`` Adam steps (mean of a few evaluations)."""

    def evaluate() -> float:
        with torch.no_grad():
            return sum(enum_loss(vae, *args).item() for _ in range(5)) / 5

    before = evaluate()
    optimizer = torch.optim.Adam(vae.parameters(), lr=lr)
    elbo = pyro.infer.TraceEnum_ELBO(max_plate_nesting=1)
    for _ in range(steps):
        optimizer.zero_grad()
        elbo.differentiable_loss(vae.model, vae.guide, *args).backward()
        optimizer.step()
    return before, evaluate()


def test_image_story_elbo_improves_on_digits():
    torch.manual_seed(0)
    pyro.set_rng_seed(0)
    images = vaekit.load_image_dataset("digits").train_images[:64]
    x = (images > 0.5).float()
    vae = auto(ImageStory(tuple(x.shape[1:])), x, config=SMALL)
    assert isinstance(vae.data_bodies[0], vaekit.nn.ConvEncoder)  # images get the conv body
    before, after = train(vae, (x,), steps=200)
    assert after < before - 5.0, (before, after)


def test_mixture_story_elbo_improves():
    torch.manual_seed(0)
    pyro.set_rng_seed(0)
    x = mixture_data()
    vae = auto(MixtureStory(), x, config=SMALL)
    before, after = train(vae, (x,), steps=300, lr=1e-2)
    assert after < before - 1.0, (before, after)


def test_fit_trains_an_auto_vae_for_two_epochs():
    torch.manual_seed(0)
    x = mixture_data(64)
    vae = auto(MixtureStory(), x, config=SMALL)
    config = vaekit.TrainConfig(epochs=2, batch_size=32, lr=1e-2, accelerator="cpu")
    result = vaekit.fit(vae, (x[:48],), (x[48:],), config, objective=vae.training_objective())
    assert len(result.history) == 2
    assert all(torch.isfinite(torch.tensor(row["val_elbo"])) for row in result.history)


# --- saving -----------------------------------------------------------------------------------------


def test_saved_weights_reload_into_a_rebuilt_vae_with_identical_guide_outputs(tmp_path):
    x = mixture_data(16)
    torch.manual_seed(0)
    vae = auto(MixtureStory(), x, config=SMALL)
    torch.save(vae.state_dict(), tmp_path / "model.pt")
    torch.manual_seed(1)
    rebuilt = auto(MixtureStory(), x, config=SMALL)
    rebuilt.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))

    def guide_outputs(model: AutoVAE) -> list[torch.Tensor]:
        pyro.set_rng_seed(7)
        trace = poutine.trace(poutine.enum(model.guide, first_available_dim=-2)).get_trace(x)
        trace.compute_log_prob()
        return [trace.nodes[name][key] for name in ("c", "z") for key in ("value", "log_prob")]

    for saved, reloaded in zip(guide_outputs(vae), guide_outputs(rebuilt), strict=True):
        assert torch.equal(saved, reloaded)


# --- errors -----------------------------------------------------------------------------------------


def test_no_data_plate_is_a_clear_error():
    def story(x):
        z = pyro.sample("z", dist.Normal(torch.zeros(x.shape[0]), 1.0).to_event(1))
        pyro.sample("x", dist.Normal(z, 1.0).to_event(1), obs=x)

    with pytest.raises(VaekitError, match="no data plate"):
        auto(story, torch.randn(5))


def test_unsupported_latent_error_names_the_site():
    def story(x):
        with pyro.plate("data", x.shape[0]):
            counts = pyro.sample("counts", dist.Poisson(3.0))
            pyro.sample("x", dist.Normal(counts, 1.0), obs=x)

    with pytest.raises(VaekitError, match="'counts'.*Poisson"):
        auto(story, torch.randn(5))


def test_global_latent_is_not_supported_yet():
    def story(x):
        scale = pyro.sample("scale", dist.Gamma(2.0, 1.0))
        with pyro.plate("data", x.shape[0]):
            pyro.sample("x", dist.Normal(0.0, scale), obs=x)

    with pytest.raises(VaekitError, match="'scale' is global"):
        auto(story, torch.randn(5))


def test_example_batch_that_does_not_run_is_a_clear_error():
    with pytest.raises(VaekitError, match="did not run on the example batch"):
        auto(ImageStory((1, 8, 8)), torch.zeros(4, 3))


def test_plain_function_with_trainable_weights_is_refused():
    decoder = nn.Linear(2, 2)

    def story(x):
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
            pyro.sample("x", dist.Normal(decoder(z), 1.0).to_event(1), obs=x)

    with pytest.raises(VaekitError, match="nn.Module"):
        auto(story, torch.randn(4, 2))


# --- README -----------------------------------------------------------------------------------------


def test_readme_example_trains():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Write only the story: `vaekit.auto`", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    namespace: dict = {"__name__": "readme_auto_example"}
    exec(compile(code, "README.md", "exec"), namespace)
    history = namespace["result"].history
    assert history[-1]["val_elbo"] > history[0]["val_elbo"]
    assert [latent.name for latent in namespace["model"].story.latents] == ["c", "z"]


class SummedMixtureStory(nn.Module):
    """c ~ Categorical(3), summed out in the model; z | c ~ N(mu_c, 1); x | z ~ N(z, 1), all 1-D,
    so that p(x) = sum_c p(c) N(x; mu_c, 2) and p(c | z) are known exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.means = nn.Parameter(torch.tensor([-4.0, 0.0, 3.0]))
        self.prior_logits = nn.Parameter(torch.tensor([0.2, -0.5, 0.1]))

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            c = pyro.sample("c", dist.Categorical(logits=self.prior_logits), infer={"enumerate": "parallel"})
            z = pyro.sample("z", dist.Normal(self.means[c], 1.0))
            pyro.sample("x", dist.Normal(z, 1.0), obs=x)


def test_a_site_the_story_sums_out_gets_no_guide_site_and_trains():
    x = torch.cat([torch.randn(40) - 4.0, torch.randn(40) + 3.0])
    vae = auto(SummedMixtureStory(), x[:8], config=SMALL)
    assert [latent.name for latent in vae.story.summed] == ["c"]
    assert [latent.name for latent in vae.story.latents] == ["z"]  # the guide: q(z | x) only
    guide_trace = poutine.trace(vae.guide).get_trace(x[:8])
    assert latent_sites(guide_trace) == {"z"}
    before = float(enum_loss(vae, x).detach())
    optimizer = torch.optim.Adam(vae.parameters(), lr=0.02)
    for _ in range(100):
        optimizer.zero_grad()
        enum_loss(vae, x).backward()
        optimizer.step()
    assert float(enum_loss(vae, x).detach()) < before - 0.1


def test_the_importance_weighted_bound_sums_the_story_s_own_discrete_sites_exactly():
    from vaekit.importance import log_importance_weights

    torch.manual_seed(0)
    story = SummedMixtureStory()
    x = torch.tensor([-4.5, -1.0, 0.5, 3.2])
    vae = auto(story, x, config=SMALL)

    def broad_guide(x: torch.Tensor) -> None:
        # A proposal that covers every posterior here, so that 20,000 draws estimate p(x) closely.
        with pyro.plate("data", x.shape[0]):
            pyro.sample("z", dist.Normal(torch.zeros(x.shape[0]), 4.0))

    with torch.no_grad():
        log_weights = log_importance_weights(vae.model, broad_guide, (x,), num_particles=20_000)
        estimate = torch.logsumexp(log_weights, 0) - torch.log(torch.tensor(20_000.0))
        prior = story.prior_logits.log_softmax(0)
        exact = torch.logsumexp(prior + dist.Normal(story.means, 2.0**0.5).log_prob(x[:, None]), -1)
    # The weights' log p(x, z) is log sum_c p(c) p(z | c) p(x | z): a draw of c from its prior
    # would be no worse on average, but adding its log p(c) would shift this by about -1.1.
    assert torch.allclose(estimate, exact, atol=0.05), (estimate, exact)
    assert bool((log_weights.mean(0) <= exact + 0.05).all())  # the ELBO stays below log p(x)


def test_the_posterior_of_a_summed_site_is_exact_given_the_guide_s_centre():
    story = SummedMixtureStory()
    x = torch.tensor([-4.5, -1.0, 0.5, 3.2])
    vae = auto(story, x, config=SMALL)
    posterior = vae.posterior(x)
    with torch.no_grad():
        z = posterior["z"].mean
        log_joint = story.prior_logits.log_softmax(0) + dist.Normal(story.means, 1.0).log_prob(z[:, None])
        expected = log_joint.softmax(-1)
    assert torch.allclose(posterior["c"].probs, expected, atol=1e-5)


def test_a_drawn_example_follows_the_story_with_a_fixed_label():
    class LabelledStory(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.label_means = nn.Parameter(torch.tensor([[-50.0, -50.0], [50.0, 50.0]]))

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> None:
            with pyro.plate("data", x.shape[0]):
                prior = dist.Categorical(logits=torch.zeros(2))
                label = pyro.sample("y", prior, obs=y.clamp(min=0), obs_mask=y >= 0)
                z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
                pyro.sample("x", dist.Normal(self.label_means[label] + z, 0.1).to_event(1), obs=x)

    x, y = torch.randn(6, 2), torch.tensor([0, 1, -1, -1, 0, 1])
    vae = auto(LabelledStory(), x, y, config=SMALL)
    for label, sign in ((0, -1.0), (1, 1.0)):
        values, mean = vae.draw(500, (x, y), partial_values={"y": label})["x"]
        assert values.shape == (500, 2) and mean.shape == (500, 2)
        assert bool((values * sign > 40).all())  # every draw near its label's mean
    values, _ = vae.draw(2000, (x, y))["x"]
    share = float((values[:, 0] > 0).float().mean())
    assert 0.45 < share < 0.55  # the label drawn from its uniform prior
    with pytest.raises(VaekitError, match="no partially observed site 'label'"):
        vae.draw(3, (x, y), partial_values={"label": 1})


@pytest.mark.parametrize("encoder", ["mlp", "cnn"])
def test_the_automatic_guide_of_the_image_vae_s_story_is_its_hand_written_guide(encoder):
    """With the flagship's bodies and heads (no latent body), the guide vaekit builds from the image
    VAE's story has the hand-written guide's sites and parameters, and, weights copied, its ELBO."""
    from vaekit.models import ImageVAE, ImageVAEConfig

    torch.manual_seed(0)
    flagship = ImageVAE(
        ImageVAEConfig(image_shape=(1, 8, 8), z_dim=4, hidden=(32,), encoder=encoder, conv_channels=(8, 16))
    )

    class FlagshipStory(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.flagship = flagship

        def forward(self, x: torch.Tensor) -> None:
            self.flagship.model(x)

    x = (torch.rand(16, 1, 8, 8) > 0.5).float()
    config = AutoVAEConfig(data_hidden=(32,), conv_channels=(8, 16), latent_hidden=(), image_encoder=encoder)
    vae = auto(FlagshipStory(), x, config=config)
    guide_parameters = [p for name, p in vae.named_parameters() if not name.startswith("story_module.")]
    hand_written = [*flagship.encoder_body.parameters(), *flagship.encoder_head.parameters()]
    assert [p.shape for p in guide_parameters] == [p.shape for p in hand_written]
    vae.data_bodies[0].load_state_dict(flagship.encoder_body.state_dict())
    vae.latent_heads["z"].normal.load_state_dict(flagship.encoder_head.state_dict())

    traces = [poutine.trace(guide).get_trace(x) for guide in (flagship.guide, vae.guide)]
    assert latent_sites(traces[0]) == latent_sites(traces[1]) == {"z"}
    for name in ("batch_shape", "event_shape"):
        assert getattr(traces[0].nodes["z"]["fn"], name) == getattr(traces[1].nodes["z"]["fn"], name)
    elbo = pyro.infer.Trace_ELBO(num_particles=4)
    losses = []
    for model, guide in ((flagship.model, flagship.guide), (vae.model, vae.guide)):
        pyro.set_rng_seed(7)
        losses.append(elbo.loss(model, guide, x))
    assert abs(losses[0] - losses[1]) <= 1e-5 * abs(losses[0])


def test_the_bound_sums_a_summed_site_exactly_when_the_data_lie_in_a_nested_plate():
    """c summed out per example, z per example, and I = 3 readings x_in ~ N(z, 1) in a plate nested in
    the data plate: given c the readings are N(mu_c 1, I + 1 1^T), so log p(x_n) is known exactly."""
    from vaekit.importance import log_importance_weights

    means, readings = torch.tensor([-3.0, 0.0, 2.0]), 3

    def model(x: torch.Tensor) -> None:  # x: (examples, readings)
        with pyro.plate("data", x.shape[0], dim=-1):
            c = pyro.sample("c", dist.Categorical(logits=torch.zeros(3)), infer={"enumerate": "parallel"})
            z = pyro.sample("z", dist.Normal(means[c], 1.0))
            with pyro.plate("readings", readings, dim=-2):
                pyro.sample("x", dist.Normal(z, 1.0), obs=x.T)

    def guide(x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0], dim=-1):
            pyro.sample("z", dist.Normal(torch.zeros(x.shape[0]), 4.0))

    torch.manual_seed(0)
    x = torch.tensor([[-3.2, -2.5, -3.9], [0.1, -0.4, 0.3], [2.5, 1.8, 2.2], [-1.0, 0.0, 1.0]])
    particles = 20_000
    with torch.no_grad():
        log_weights = log_importance_weights(model, guide, (x,), num_particles=particles, max_plate_nesting=2)
        estimate = torch.logsumexp(log_weights, 0) - torch.log(torch.tensor(float(particles)))
        given_c = dist.MultivariateNormal(
            means[:, None] * torch.ones(readings), torch.eye(readings) + torch.ones(readings, readings)
        )
        exact = torch.logsumexp(given_c.log_prob(x[:, None, :]) - torch.log(torch.tensor(3.0)), -1)
    # Adding the log-densities of c and z before summing over the readings would count them 3 times.
    assert torch.allclose(estimate, exact, atol=0.05), (estimate, exact)
