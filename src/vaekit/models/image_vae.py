"""The image VAE of Kingma & Welling (2013): z ~ N(0, I), pixels ~ Bernoulli."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pyro
import pyro.distributions as dist
import torch

from vaekit.heads import BernoulliHead, NormalHead
from vaekit.models.base import VAE, check_image_architecture
from vaekit.nn import MLP, ConvDecoder, ConvEncoder, ImageRowEncoder


@dataclass(frozen=True)
class ImageVAEConfig:
    """Architecture of an :class:`ImageVAE`.

    Parameters
    ----------
    image_shape:
        ``(channels, height, width)`` of the images.
    z_dim:
        Dimension of the latent code z.
    hidden:
        Widths of the MLP bodies' hidden layers (encoder in this order, decoder reversed); with the
        CNN bodies, the first entry is the width of the fully connected layer; with the RNN
        encoder, the first entry is the size of its recurrent state.
    encoder:
        ``"mlp"`` (fully connected bodies, as in the paper), ``"cnn"`` (a convolutional encoder
        with the matching deconvolutional decoder) or ``"rnn"`` (a recurrent encoder that reads the
        image row by row, ``H`` steps of ``C * W`` features, with the MLP decoder).
    conv_channels:
        Channels of the conv layers when ``encoder="cnn"``.
    rnn_cell:
        Recurrent cell when ``encoder="rnn"``: ``"gru"`` or ``"lstm"``.
    binarize:
        Dynamic binarization: training images are resampled as Bernoulli(intensity) at every
        step and the likelihood is a true Bernoulli. Otherwise intensities in ``[0, 1]`` are the
        targets of the cross-entropy (:class:`~vaekit.distributions.IntensityBernoulli`).
    """

    image_shape: tuple[int, int, int]
    z_dim: int = 50
    hidden: tuple[int, ...] = (400,)
    encoder: Literal["mlp", "cnn", "rnn"] = "mlp"
    conv_channels: tuple[int, ...] = (32, 64)
    binarize: bool = False
    rnn_cell: Literal["gru", "lstm"] = "gru"

    def __post_init__(self) -> None:
        # JSON round-trips give lists; the dataclass is frozen, so normalise through object.__setattr__.
        for name in ("image_shape", "hidden", "conv_channels"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        check_image_architecture(
            self.image_shape, self.z_dim, self.hidden, self.encoder, self.conv_channels, self.rnn_cell
        )


class ImageVAE(VAE):
    """Variational autoencoder for images (Kingma & Welling 2013).

    Generative story, for each image in the data plate::

        z ~ Normal(0, I)                       # latent code, z_dim dimensions
        x ~ Bernoulli(logits = P_d(f_d(z)))    # all pixels as one site

    Amortized posterior::

        z ~ Normal(P_e(f_e(x)))                # loc in R, scale in R+

    where f_e, f_d are MLP (or conv/deconv) bodies, or a recurrent f_e reading rows with the MLP
    f_d, and P_e, P_d the Normal and Bernoulli heads.
    """

    def __init__(self, config: ImageVAEConfig) -> None:
        super().__init__()
        self.config = config
        shape = config.image_shape
        pixels = math.prod(shape)
        if config.encoder == "cnn":
            self.encoder_body = ConvEncoder(shape, config.conv_channels, out_features=config.hidden[0])
            self.decoder_body = ConvDecoder(config.z_dim, shape, config.conv_channels)
            decoder_out: int | tuple[int, int, int] = self.decoder_body.out_shape
        else:
            if config.encoder == "mlp":
                self.encoder_body = MLP(pixels, config.hidden, flatten_dims=3)
            else:
                self.encoder_body = ImageRowEncoder(shape, config.hidden[0], cell=config.rnn_cell)
            self.decoder_body = MLP(config.z_dim, config.hidden[::-1])
            decoder_out = self.decoder_body.out_features
        self.encoder_head = NormalHead(self.encoder_body.out_features, (config.z_dim,))
        self.decoder_head = BernoulliHead(decoder_out, shape, intensity_targets=not config.binarize)

    def encode(self, x: torch.Tensor) -> dist.Independent:
        """q(z | x): images ``(..., C, H, W)`` -> Normal with batch shape ``...``."""
        return self.encoder_head(self.encoder_body(x))

    def decode(self, z: torch.Tensor) -> dist.Independent:
        """p(x | z): codes ``(..., z_dim)`` -> Bernoulli over whole images ``(C, H, W)``."""
        return self.decoder_head(self.decoder_body(z))

    def model(self, x: torch.Tensor | None = None, *, num_samples: int | None = None) -> None:
        """Generative story; pass ``x`` to score data or ``num_samples`` to generate."""
        batch_size = x.shape[0] if x is not None else num_samples
        if batch_size is None:
            raise ValueError("model() needs either data x or num_samples")
        with pyro.plate("data", batch_size):
            z = pyro.sample("z", self.prior((batch_size,)))
            pyro.sample("x", self.decode(z), obs=x)

    def guide(self, x: torch.Tensor | None = None, *, num_samples: int | None = None) -> None:
        """Amortized posterior q(z | x)."""
        if x is None:
            raise ValueError("the guide needs data x")
        with pyro.plate("data", x.shape[0]):
            pyro.sample("z", self.encode(x))

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pixel probabilities of ``num_samples`` images decoded from prior draws: ``(N, C, H, W)``."""
        z = torch.randn((num_samples, self.config.z_dim), generator=generator).to(self.device)
        return self.decode(z).mean

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities of p(x | z = E_q[z | x]): ``(N, C, H, W)``."""
        return self.decode(self.encode(x).mean).mean
