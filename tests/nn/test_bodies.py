"""Contract tests of the bodies: output shapes, leading batch dims, argument checks, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vaekit.nn import MLP, ConvDecoder, ConvEncoder, IndicatorMLP

BATCH_SHAPES = [(), (2,), (2, 3)]
IMAGE_SHAPES = [(1, 8, 8), (1, 28, 28)]
CHANNELS = (4, 8)


def _seeded(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------------ MLP

MLP_CASES = [
    # (in_features, hidden, flatten_dims, trailing input shape)
    pytest.param(6, (4,), 1, (6,), id="one-layer"),
    pytest.param(6, (5, 4, 3), 1, (6,), id="three-layers"),
    pytest.param(12, (7,), 3, (3, 2, 2), id="flatten3-small"),
    pytest.param(64, (16, 8), 3, (1, 8, 8), id="flatten3-image"),
    pytest.param(10, (9, 7), 2, (2, 5), id="flatten2"),
]


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize(("in_features", "hidden", "flatten_dims", "trailing"), MLP_CASES)
def test_mlp_output_shape(in_features, hidden, flatten_dims, trailing, batch_shape):
    mlp = MLP(in_features, hidden, flatten_dims=flatten_dims)
    y = mlp(_seeded(*batch_shape, *trailing))
    assert y.shape == (*batch_shape, hidden[-1])
    assert mlp.out_features == hidden[-1]
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
def test_mlp_flatten_dims_equals_flattening_by_hand(batch_shape):
    mlp = MLP(64, (5,), flatten_dims=3)
    x = _seeded(*batch_shape, 1, 8, 8)
    expected = mlp.layers(x.reshape(*batch_shape, 64))
    torch.testing.assert_close(mlp(x), expected, rtol=0, atol=0)


def test_mlp_leading_dims_are_independent_examples():
    mlp = MLP(6, (5, 4))
    x = _seeded(2, 3, 6)
    batched = mlp(x)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(batched[i, j], mlp(x[i, j]))


def test_mlp_layers_default_to_softplus_after_every_linear():
    mlp = MLP(6, (5, 4, 3))
    kinds = [type(layer) for layer in mlp.layers]
    assert kinds == [nn.Linear, nn.Softplus] * 3
    widths = [(layer.in_features, layer.out_features) for layer in mlp.layers if isinstance(layer, nn.Linear)]
    assert widths == [(6, 5), (5, 4), (4, 3)]


def test_mlp_activation_is_configurable():
    mlp = MLP(6, (5, 4), activation=nn.Tanh)
    assert [type(layer) for layer in mlp.layers] == [nn.Linear, nn.Tanh] * 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"in_features": 6, "hidden": ()}, "at least one hidden layer", id="empty-hidden"),
        pytest.param({"in_features": 6, "hidden": []}, "at least one hidden layer", id="empty-list"),
        pytest.param({"in_features": 6, "hidden": (4, 0)}, "positive", id="zero-width"),
        pytest.param({"in_features": 6, "hidden": (-2,)}, "positive", id="negative-width"),
        pytest.param({"in_features": 0, "hidden": (4,)}, "positive", id="zero-in"),
        pytest.param({"in_features": -3, "hidden": (4,)}, "positive", id="negative-in"),
        pytest.param({"in_features": 6, "hidden": (4,), "flatten_dims": 0}, "flatten_dims", id="flatten0"),
    ],
)
def test_mlp_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


# ------------------------------------------------------------------------------------- conv bodies


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("image_shape", IMAGE_SHAPES, ids=str)
def test_conv_encoder_output_shape(image_shape, batch_shape):
    encoder = ConvEncoder(image_shape, CHANNELS, out_features=10)
    y = encoder(_seeded(*batch_shape, *image_shape))
    assert y.shape == (*batch_shape, 10)
    assert encoder.out_features == 10
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (3, 8, 16), (1, 28, 28)], ids=str)
def test_conv_encoder_halves_resolution_per_layer(image_shape):
    encoder = ConvEncoder(image_shape, CHANNELS, out_features=10)
    maps = encoder.convs(_seeded(2, *image_shape))
    factor = 2 ** len(CHANNELS)
    assert maps.shape == (2, CHANNELS[-1], image_shape[1] // factor, image_shape[2] // factor)


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("image_shape", IMAGE_SHAPES, ids=str)
@pytest.mark.parametrize("out_channels", [1, 5])
def test_conv_decoder_output_shape(image_shape, batch_shape, out_channels):
    decoder = ConvDecoder(3, image_shape, CHANNELS, out_channels=out_channels)
    assert decoder.out_shape == (out_channels, *image_shape[1:])
    y = decoder(_seeded(*batch_shape, 3))
    assert y.shape == (*batch_shape, *decoder.out_shape)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("image_shape", IMAGE_SHAPES, ids=str)
def test_conv_bodies_treat_leading_dims_as_independent_examples(image_shape):
    encoder = ConvEncoder(image_shape, CHANNELS, out_features=10)
    decoder = ConvDecoder(3, image_shape, CHANNELS, out_channels=2)
    x = _seeded(2, 3, *image_shape)
    z = _seeded(2, 3, 3, seed=1)
    encoded, decoded = encoder(x), decoder(z)
    # A reshape that mixes up examples and channels would still give the right shapes.
    torch.testing.assert_close(encoded, encoder(x.reshape(6, *image_shape)).reshape(2, 3, 10))
    for i, j in [(0, 0), (1, 2), (0, 1)]:
        torch.testing.assert_close(encoded[i, j], encoder(x[i, j]))
        torch.testing.assert_close(decoded[i, j], decoder(z[i, j]))


def test_conv_bodies_default_to_relu():
    encoder = ConvEncoder((1, 8, 8), CHANNELS, out_features=10)
    decoder = ConvDecoder(3, (1, 8, 8), CHANNELS)
    structural = (nn.Sequential, nn.Conv2d, nn.ConvTranspose2d, nn.Linear, ConvEncoder, ConvDecoder)
    for body in (encoder, decoder):
        assert {type(m) for m in body.modules() if not isinstance(m, structural)} == {nn.ReLU}


@pytest.mark.parametrize(
    ("image_shape", "channels", "factor"),
    [
        pytest.param((1, 10, 10), (4, 8), 4, id="10x10-two-layers"),
        pytest.param((1, 8, 12), (2, 2, 2), 8, id="width-not-divisible"),
        pytest.param((1, 12, 8), (2, 2, 2), 8, id="height-not-divisible"),
        pytest.param((1, 7, 8), (2,), 2, id="odd-height"),
        pytest.param((1, 28, 28), (2, 2, 2), 8, id="28x28-three-layers"),
    ],
)
def test_conv_bodies_reject_sizes_not_divisible_by_their_stride(image_shape, channels, factor):
    with pytest.raises(ValueError, match=f"divisible by {factor}"):
        ConvEncoder(image_shape, channels, out_features=10)
    with pytest.raises(ValueError, match=f"divisible by {factor}"):
        ConvDecoder(3, image_shape, channels)


@pytest.mark.parametrize(
    "image_shape",
    [(8, 8), (1, 1, 8, 8), (0, 8, 8), (1, 0, 8), (1, 8, -8), ()],
    ids=str,
)
def test_conv_bodies_reject_malformed_image_shapes(image_shape):
    with pytest.raises(ValueError, match="image_shape"):
        ConvEncoder(image_shape, (2,), out_features=10)
    with pytest.raises(ValueError, match="image_shape"):
        ConvDecoder(3, image_shape, (2,))


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: ConvEncoder((1, 8, 8), (0, 4), out_features=5), id="encoder-zero-channels"),
        pytest.param(lambda: ConvEncoder((1, 8, 8), (-1, 4), out_features=5), id="encoder-neg-channels"),
        pytest.param(lambda: ConvEncoder((1, 8, 8), (2, 4), out_features=0), id="encoder-zero-out"),
        pytest.param(lambda: ConvDecoder(0, (1, 8, 8), (2,)), id="decoder-zero-in"),
        pytest.param(lambda: ConvDecoder(3, (1, 8, 8), (2,), out_channels=0), id="decoder-zero-out"),
        pytest.param(lambda: ConvDecoder(3, (1, 8, 8), ()), id="decoder-no-layers"),
    ],
)
def test_conv_bodies_reject_non_positive_sizes(build):
    with pytest.raises(ValueError):
        build()


# -------------------------------------------------------------------------------------- gradients

BODIES = [
    pytest.param(lambda: (MLP(6, (5, 4)), _seeded(3, 6)), id="mlp"),
    pytest.param(lambda: (MLP(64, (7, 5), flatten_dims=3), _seeded(3, 1, 8, 8)), id="mlp-flatten3"),
    pytest.param(
        lambda: (ConvEncoder((1, 8, 8), CHANNELS, out_features=10), _seeded(3, 1, 8, 8)), id="conv-enc"
    ),
    pytest.param(lambda: (ConvDecoder(3, (1, 8, 8), CHANNELS, out_channels=2), _seeded(3, 3)), id="conv-dec"),
]


@pytest.mark.parametrize("build", BODIES)
def test_gradients_reach_every_parameter(build):
    body, x = build()
    x.requires_grad_(True)
    y = body(x)
    # Random output weights, so that no parameter's gradient cancels by symmetry.
    (y * _seeded(*y.shape, seed=7)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    params = dict(body.named_parameters())
    assert params
    for name, p in params.items():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def _indicator_mlp_and_its_concatenated_twin() -> tuple[IndicatorMLP, MLP]:
    torch.manual_seed(0)
    split = IndicatorMLP(5, 3, (8, 6))
    joined = MLP(8, (8, 6))
    with torch.no_grad():
        joined.layers[0].weight.copy_(
            torch.cat([split.input_layer.weight, split.condition_layer.weight], dim=1)
        )
        joined.layers[0].bias.copy_(split.input_layer.bias)
        joined.layers[2].load_state_dict(split.rest.layers[0].state_dict())
    return split, joined


@pytest.mark.parametrize("share_on", [0.0, 0.3, 1.0])
def test_indicator_mlp_is_an_mlp_on_the_concatenation(share_on):
    split, joined = _indicator_mlp_and_its_concatenated_twin()
    x = torch.randn(7, 5)
    indicators = torch.rand(7, 3) < share_on
    expected = joined(torch.cat([x, indicators.float()], dim=-1))
    assert torch.allclose(split(x, indicators), expected, atol=1e-6)


def test_indicator_mlp_learns_from_the_indicators_when_some_are_on():
    split, _ = _indicator_mlp_and_its_concatenated_twin()
    indicators = torch.zeros(4, 3, dtype=torch.bool)
    indicators[1, 2] = True
    split(torch.randn(4, 5), indicators).sum().backward()
    gradient = split.condition_layer.weight.grad
    assert gradient[:, 2].abs().sum() > 0 and gradient[:, :2].abs().sum() == 0
    # With none on, the indicator weights still get a gradient (of zeros), as data parallelism needs.
    split.zero_grad(set_to_none=True)
    split(torch.randn(4, 5), torch.zeros(4, 3, dtype=torch.bool)).sum().backward()
    assert split.condition_layer.weight.grad is not None
    assert torch.equal(split.condition_layer.weight.grad, torch.zeros(8, 3))


@pytest.mark.parametrize(
    "build",
    [
        lambda dropout: MLP(12, (32, 16), dropout=dropout),
        lambda dropout: ConvEncoder((1, 8, 8), (4,), out_features=16, dropout=dropout),
    ],
)
def test_dropout_draws_in_training_and_is_the_identity_in_evaluation(build):
    torch.manual_seed(0)
    body = build(0.5)
    x = torch.rand(6, 12) if isinstance(body, MLP) else torch.rand(6, 1, 8, 8)
    body.train()
    first, second = body(x), body(x)
    assert not torch.equal(first, second) and (first == 0).float().mean() > 0.3
    body.eval()
    plain = build(0.0)
    plain.load_state_dict(body.state_dict())  # dropout holds no weights: the same keys
    assert torch.equal(body(x), body(x)) and torch.allclose(body(x), plain.eval()(x))


@pytest.mark.parametrize("dropout", [-0.1, 1.0])
def test_bodies_refuse_a_dropout_outside_0_1(dropout):
    with pytest.raises(ValueError, match="dropout"):
        MLP(4, (8,), dropout=dropout)
    with pytest.raises(ValueError, match="dropout"):
        ConvEncoder((1, 8, 8), (4,), out_features=8, dropout=dropout)
