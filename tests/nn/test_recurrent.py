"""The recurrent bodies: padding never changes an encoding, decoding is causal, shapes and checks."""

from __future__ import annotations

import pytest
import torch

from vaekit.nn import ImageRowEncoder, RNNDecoder, RNNEncoder

CELLS = ["gru", "lstm"]


def _seeded(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_a_padded_batch_encodes_each_sequence_as_it_would_alone(cell, num_layers):
    torch.manual_seed(0)
    encoder = RNNEncoder(3, 16, cell=cell, num_layers=num_layers)
    lengths = torch.tensor([7, 2, 5, 1, 7])
    batch = _seeded(5, 7, 3)
    batched = encoder(batch, lengths)
    for i, length in enumerate(lengths.tolist()):
        alone = encoder(batch[i : i + 1, :length])
        torch.testing.assert_close(batched[i : i + 1], alone)


@pytest.mark.parametrize("cell", CELLS)
def test_what_the_padding_holds_never_reaches_the_encoding(cell):
    torch.manual_seed(0)
    encoder = RNNEncoder(4, 8, cell=cell)
    lengths = torch.tensor([3, 6, 1])
    batch = _seeded(3, 6, 4)
    garbage = batch.clone()
    padding = torch.arange(6)[None, :] >= lengths[:, None]
    garbage[padding] = 1e6
    torch.testing.assert_close(encoder(garbage, lengths), encoder(batch, lengths), rtol=0, atol=0)
    # ...whereas a real step does change it.
    changed = batch.clone()
    changed[1, 5] += 1.0
    assert not torch.allclose(encoder(changed, lengths)[1], encoder(batch, lengths)[1])


def test_encoder_without_lengths_reads_every_step_and_accepts_leading_dims():
    torch.manual_seed(0)
    encoder = RNNEncoder(3, 5)
    x = _seeded(2, 4, 6, 3)
    out = encoder(x)
    assert out.shape == (2, 4, 5) and encoder.out_features == 5
    torch.testing.assert_close(out, encoder(x, torch.full((2, 4), 6)))
    torch.testing.assert_close(out[1, 2], encoder(x[1, 2:3])[0])


def test_encoder_refuses_lengths_outside_the_steps():
    encoder = RNNEncoder(2, 4)
    with pytest.raises(ValueError, match="lengths must lie in 1..3"):
        encoder(torch.zeros(2, 3, 2), torch.tensor([3, 4]))
    with pytest.raises(ValueError, match="lengths must lie in 1..3"):
        encoder(torch.zeros(2, 3, 2), torch.tensor([0, 2]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cell": "transformer"}, "cell must be one of gru, lstm"),
        ({"hidden_size": 0}, "positive"),
        ({"num_layers": 0}, "positive"),
    ],
)
def test_recurrent_bodies_refuse_bad_settings(kwargs, match):
    for body in (RNNEncoder, RNNDecoder):
        with pytest.raises(ValueError, match=match):
            body(3, **kwargs)


def test_gradients_reach_every_weight_of_encoder_and_decoder():
    torch.manual_seed(0)
    encoder, decoder = RNNEncoder(3, 6, cell="lstm"), RNNDecoder(6, 5, cell="lstm")
    out = decoder(encoder(_seeded(4, 5, 3), torch.tensor([5, 3, 2, 4])), 5)
    out.square().sum().backward()
    for module in (encoder, decoder):
        for name, parameter in module.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cell", CELLS)
def test_decoder_unrolls_steps_and_earlier_steps_never_depend_on_later_ones(cell):
    torch.manual_seed(0)
    decoder = RNNDecoder(3, 7, cell=cell, num_layers=2)
    z = _seeded(2, 4, 3)
    long = decoder(z, 9)
    assert long.shape == (2, 4, 9, 7) and decoder.out_features == 7
    torch.testing.assert_close(decoder(z, 4), long[..., :4, :])
    # Each code gets its own steps: the rows of a batch do not interact.
    torch.testing.assert_close(decoder(z[1, 2], 9), long[1, 2])
    # The steps differ from one another: position matters, not only the code.
    assert not torch.allclose(long[..., 0, :], long[..., 1, :])
    with pytest.raises(ValueError, match="num_steps"):
        decoder(z, 0)


def test_image_row_encoder_reads_one_row_per_step():
    torch.manual_seed(0)
    encoder = ImageRowEncoder((2, 5, 3), 8)
    images = _seeded(4, 2, 5, 3)
    # Step h holds row h of every channel: (C, H, W) -> (H, C * W).
    rows = images.permute(0, 2, 1, 3).reshape(4, 5, 6)
    torch.testing.assert_close(encoder(images), encoder.rows(rows))
    assert encoder(images).shape == (4, 8)
    assert encoder(images.unsqueeze(0).expand(3, -1, -1, -1, -1)).shape == (3, 4, 8)
    # Row order matters: a recurrent encoder is not invariant to flipping the image.
    assert not torch.allclose(encoder(images.flip(-2)), encoder(images))
    with pytest.raises(ValueError, match="image_shape"):
        ImageRowEncoder((28, 28), 8)
