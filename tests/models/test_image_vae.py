"""Tests of ImageVAE: sample sites and shapes, model/guide match, config round-trips, training steps."""

from __future__ import annotations

import dataclasses
import json

import pyro
import pytest
import torch
import torch.nn.functional as F
from pyro import poutine
from pyro.poutine.util import site_is_subsample
from pyro.util import check_model_guide_match, check_site_shape

from vaekit.distributions import IntensityBernoulli
from vaekit.inference.losses import TermwiseELBO
from vaekit.models import VAE, ImageVAE, ImageVAEConfig

ENCODERS = ["mlp", "cnn", "rnn"]
IMAGE_SHAPES = [(1, 8, 8), (1, 28, 28)]
Z_DIM = 3
N = 4


def _config(encoder: str = "mlp", image_shape=(1, 8, 8), **kwargs) -> ImageVAEConfig:
    return ImageVAEConfig(
        image_shape=image_shape, z_dim=Z_DIM, hidden=(16,), encoder=encoder, conv_channels=(4, 8), **kwargs
    )


def _images(n: int, image_shape, seed: int = 0) -> torch.Tensor:
    return torch.rand((n, *image_shape), generator=torch.Generator().manual_seed(seed))


def _traces(vae: ImageVAE, x: torch.Tensor):
    guide_trace = poutine.trace(vae.guide).get_trace(x)
    model_trace = poutine.trace(poutine.replay(vae.model, trace=guide_trace)).get_trace(x)
    return model_trace, guide_trace


def _data_plate(site) -> tuple[str, int]:
    (frame,) = site["cond_indep_stack"]
    return frame.name, frame.size


@pytest.fixture(params=ENCODERS)
def encoder(request) -> str:
    return request.param


@pytest.fixture(params=IMAGE_SHAPES, ids=str)
def image_shape(request) -> tuple[int, int, int]:
    return request.param


# ------------------------------------------------------------------------------------ sample sites


def test_guide_and_replayed_model_sites(encoder, image_shape):
    vae = ImageVAE(_config(encoder, image_shape))
    assert isinstance(vae, VAE)
    x = _images(N, image_shape)
    model_trace, guide_trace = _traces(vae, x)

    q_z = guide_trace.nodes["z"]
    assert not q_z["is_observed"]
    assert q_z["value"].shape == (N, Z_DIM)
    assert q_z["fn"].batch_shape == (N,) and q_z["fn"].event_shape == (Z_DIM,)
    assert _data_plate(q_z) == ("data", N)

    p_z = model_trace.nodes["z"]
    assert p_z["value"] is q_z["value"]  # replayed, not resampled
    assert p_z["fn"].batch_shape == (N,) and p_z["fn"].event_shape == (Z_DIM,)
    assert _data_plate(p_z) == ("data", N)

    p_x = model_trace.nodes["x"]
    assert p_x["is_observed"]
    assert p_x["value"] is x
    assert p_x["fn"].batch_shape == (N,) and p_x["fn"].event_shape == image_shape
    assert _data_plate(p_x) == ("data", N)

    sample_sites = {
        name
        for name, site in model_trace.nodes.items()
        if site["type"] == "sample" and not site_is_subsample(site)
    }
    assert sample_sites == {"z", "x"}
    check_model_guide_match(model_trace, guide_trace, vae.max_plate_nesting)
    for trace in (model_trace, guide_trace):
        trace.compute_log_prob()
        for site in trace.nodes.values():
            if site["type"] == "sample" and not site_is_subsample(site):
                check_site_shape(site, vae.max_plate_nesting)
                assert site["log_prob"].shape == (N,)
                assert torch.isfinite(site["log_prob"]).all()


@pytest.mark.parametrize("num_samples", [1, 5])
def test_model_generates_without_data(encoder, image_shape, num_samples):
    vae = ImageVAE(_config(encoder, image_shape))
    trace = poutine.trace(vae.model).get_trace(num_samples=num_samples)
    assert trace.nodes["z"]["value"].shape == (num_samples, Z_DIM)
    x = trace.nodes["x"]
    assert not x["is_observed"]
    assert x["value"].shape == (num_samples, *image_shape)
    assert x["fn"].batch_shape == (num_samples,) and x["fn"].event_shape == image_shape
    assert ((x["value"] == 0) | (x["value"] == 1)).all()


def test_model_and_guide_need_data():
    vae = ImageVAE(_config())
    with pytest.raises(ValueError, match="num_samples"):
        vae.model()
    with pytest.raises(ValueError, match="needs data"):
        vae.guide(None)


def test_sample_and_reconstruct(encoder, image_shape):
    vae = ImageVAE(_config(encoder, image_shape))
    probs = vae.sample(6)
    assert probs.shape == (6, *image_shape)
    assert ((probs >= 0) & (probs <= 1)).all()
    assert not probs.requires_grad
    first = vae.sample(3, generator=torch.Generator().manual_seed(5))
    again = vae.sample(3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(first, again, rtol=0, atol=0)

    x = _images(N, image_shape)
    recon = vae.reconstruct(x)
    assert recon.shape == x.shape
    assert ((recon >= 0) & (recon <= 1)).all()
    assert not recon.requires_grad
    torch.testing.assert_close(recon, vae.decode(vae.encode(x).mean).mean.detach())


def test_no_global_params(encoder):
    vae = ImageVAE(_config(encoder))
    x = _images(N, (1, 8, 8))
    _traces(vae, x)
    poutine.trace(vae.model).get_trace(num_samples=2)
    TermwiseELBO(max_plate_nesting=vae.max_plate_nesting)(vae.model, vae.guide, x).loss.backward()
    vae.sample(2)
    vae.reconstruct(x)
    assert list(pyro.get_param_store().keys()) == []


# ------------------------------------------------------------------------------------------ config

CONFIGS = [
    pytest.param(ImageVAEConfig(image_shape=(1, 28, 28)), id="defaults"),
    pytest.param(_config("cnn", (3, 8, 8), binarize=True), id="cnn-binarize"),
    pytest.param(ImageVAEConfig((1, 8, 8), z_dim=2, hidden=(32, 16, 8), conv_channels=(2,)), id="deep-mlp"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_config_round_trips_through_json(config):
    text = json.dumps(dataclasses.asdict(config))
    loaded = json.loads(text)
    assert isinstance(loaded["image_shape"], list)
    restored = ImageVAEConfig(**loaded)
    assert restored == config
    assert isinstance(restored.image_shape, tuple) and isinstance(restored.hidden, tuple)
    assert isinstance(restored.conv_channels, tuple)
    assert hash(restored) == hash(config)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"image_shape": (8, 8)}, "image_shape", id="2d-image"),
        pytest.param({"image_shape": (1, 1, 8, 8)}, "image_shape", id="4d-image"),
        pytest.param({"z_dim": 0}, "z_dim", id="z0"),
        pytest.param({"z_dim": -2}, "z_dim", id="z-negative"),
        pytest.param({"hidden": ()}, "hidden", id="hidden-empty"),
        pytest.param({"hidden": (16, 0)}, "hidden", id="hidden-zero"),
        pytest.param({"hidden": (-1,)}, "hidden", id="hidden-negative"),
        pytest.param({"encoder": "transformer"}, "encoder", id="encoder-unknown"),
        pytest.param({"encoder": "rnn", "rnn_cell": "elman"}, "rnn_cell", id="rnn-cell-unknown"),
    ],
)
def test_invalid_configs_raise(kwargs, match):
    base = {"image_shape": (1, 8, 8)}
    with pytest.raises(ValueError, match=match):
        ImageVAEConfig(**{**base, **kwargs})


@pytest.mark.parametrize("image_shape", [(1, 10, 10), (1, 8, 6)], ids=str)
def test_cnn_on_indivisible_images_raises(image_shape):
    with pytest.raises(ValueError, match="divisible"):
        ImageVAE(_config("cnn", image_shape))


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"image_shape": (1, -2, -4)}, id="negative-dims"),
        pytest.param({"encoder": "cnn", "conv_channels": ()}, id="cnn-no-channels"),
        pytest.param({"encoder": "cnn", "conv_channels": (0, 4)}, id="cnn-zero-channels"),
    ],
)
def test_config_rejects_unbuildable_architectures(kwargs):
    # Either the config or, at the latest, the model built from it must say so with a ValueError.
    with pytest.raises(ValueError):
        ImageVAE(ImageVAEConfig(**{"image_shape": (1, 8, 8), "z_dim": 2, "hidden": (5,), **kwargs}))


# ---------------------------------------------------------------------------------------- training


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def test_one_adam_step_changes_every_parameter(encoder):
    vae = ImageVAE(_config(encoder))
    x = _images(N, (1, 8, 8))
    before = _snapshot(vae)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    estimate = TermwiseELBO(max_plate_nesting=vae.max_plate_nesting)(vae.model, vae.guide, x)
    assert estimate.loss.shape == () and torch.isfinite(estimate.loss)
    estimate.loss.backward()
    optimizer.step()
    for name, p in vae.named_parameters():
        assert not torch.equal(p, before[name]), name


def test_loss_under_no_grad_changes_nothing(encoder):
    vae = ImageVAE(_config(encoder))
    x = _images(N, (1, 8, 8))
    before = _snapshot(vae)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    with torch.no_grad():
        estimate = TermwiseELBO(max_plate_nesting=vae.max_plate_nesting)(vae.model, vae.guide, x)
    assert not estimate.loss.requires_grad
    assert torch.isfinite(estimate.loss)
    optimizer.step()  # no gradients: Adam must skip every parameter
    for name, p in vae.named_parameters():
        assert p.grad is None, name
        assert torch.equal(p, before[name]), name


@pytest.mark.parametrize("seed", [0, 123])
def test_same_seed_same_parameters(encoder, seed):
    config = _config(encoder)
    torch.manual_seed(seed)
    first = ImageVAE(config).state_dict()
    torch.manual_seed(seed)
    second = ImageVAE(config).state_dict()
    third = ImageVAE(config).state_dict()  # the RNG has moved on
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert any(not torch.equal(first[name], third[name]) for name in first)


# ------------------------------------------------------------------------------------- likelihoods


def test_binarize_gives_a_true_bernoulli(encoder):
    vae = ImageVAE(_config(encoder, binarize=True))
    assert not vae.decoder_head.intensity_targets
    intensities = torch.full((N, 1, 8, 8), 0.5)
    binary = (_images(N, (1, 8, 8)) > 0.5).float()

    model_trace, _ = _traces(vae, binary)
    model_trace.compute_log_prob()
    assert torch.isfinite(model_trace.nodes["x"]["log_prob"]).all()

    model_trace, _ = _traces(vae, intensities)
    with pytest.raises(ValueError, match="support"):
        model_trace.compute_log_prob()
    with pytest.raises(ValueError, match="support"):
        TermwiseELBO(max_plate_nesting=1)(vae.model, vae.guide, intensities)


def test_default_scores_intensities_with_cross_entropy(encoder):
    vae = ImageVAE(_config(encoder))
    assert vae.decoder_head.intensity_targets
    x = _images(N, (1, 8, 8))
    model_trace, guide_trace = _traces(vae, x)
    model_trace.compute_log_prob()
    site = model_trace.nodes["x"]
    assert isinstance(site["fn"].base_dist, IntensityBernoulli)
    z = guide_trace.nodes["z"]["value"]
    logits = vae.decoder_head.project(vae.decoder_body(z))["logits"]
    expected = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))
    torch.testing.assert_close(site["log_prob"], expected)
    # The ELBO accepts intensities under validation too.
    assert torch.isfinite(TermwiseELBO(max_plate_nesting=1)(vae.model, vae.guide, x).loss)
