"""The semi-supervised VAE of Kingma et al. (2014), model M2: the class label is a partially
observed variable of the generative story."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F

from vaekit.heads import BernoulliHead, CategoricalHead, NormalHead
from vaekit.models.base import VAE, check_image_architecture
from vaekit.nn import MLP, ConditionalMLP, ConvEncoder, ImageRowEncoder


@dataclass(frozen=True)
class SemiSupervisedVAEConfig:
    """Architecture of a :class:`SemiSupervisedVAE`.

    Parameters
    ----------
    image_shape:
        ``(channels, height, width)`` of the images.
    num_classes:
        Number of classes of the label y.
    z_dim:
        Dimension of the latent style code z.
    hidden:
        Hidden layer widths of the MLP bodies (the classifier, the z encoder, and reversed for the
        decoder); with the CNN encoder, the first entry is the width after the conv layers; with the
        RNN encoder, the size of its recurrent state.
    encoder:
        Body of the classifier q(y | x) and of the z encoder q(z | x, y): ``"mlp"``, ``"cnn"``, or
        ``"rnn"`` (a recurrent body reading the image row by row). The decoder is an MLP either way.
    conv_channels:
        Channels of the conv layers when ``encoder="cnn"``.
    rnn_cell:
        Recurrent cell when ``encoder="rnn"``: ``"gru"`` or ``"lstm"``.
    classifier_dropout:
        Dropout on the last hidden units of the classifier's body in training (the MLP's layers, or
        the CNN's fully connected layer; not with ``encoder="rnn"``): with few labels, it keeps
        q(y | x) from learning the labelled images by heart.
    binarize:
        Dynamic binarization of training images (see :class:`~vaekit.models.ImageVAEConfig`).
    """

    image_shape: tuple[int, int, int]
    num_classes: int
    z_dim: int = 50
    hidden: tuple[int, ...] = (500,)
    encoder: Literal["mlp", "cnn", "rnn"] = "mlp"
    conv_channels: tuple[int, ...] = (32, 64)
    binarize: bool = False
    rnn_cell: Literal["gru", "lstm"] = "gru"
    classifier_dropout: float = 0.0
    #: Whether the classifier's body is built by ``encoder`` over the image (M2's), or is an MLP over
    #: something else (M1's codes in M1+M2).
    classifier_reads_images: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.classifier_dropout < 1.0:
            raise ValueError(f"classifier_dropout must be in [0, 1), got {self.classifier_dropout}")
        if self.classifier_dropout > 0 and self.encoder == "rnn" and self.classifier_reads_images:
            raise ValueError("classifier_dropout needs the mlp or cnn encoder; the rnn one has none")
        for name in ("image_shape", "hidden", "conv_channels"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        check_image_architecture(
            self.image_shape, self.z_dim, self.hidden, self.encoder, self.conv_channels, self.rnn_cell
        )
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ValueError(f"num_classes must be an integer of at least 2, got {self.num_classes}")


class SemiSupervisedVAE(VAE):
    """Semi-supervised VAE, model M2 of Kingma et al. (2014).

    Generative story, for each image in the data plate::

        z ~ Normal(0, I)                          # style
        y ~ Categorical(uniform)                  # class: observed when labelled, latent otherwise
        x ~ Bernoulli(logits = P_d(f_d(z, y)))    # all pixels as one site

    Amortized posterior::

        y ~ Categorical(P_y(f_y(x)))              # the classifier q(y | x); only when y is latent
        z ~ Normal(P_z(f_z(x, y)))                # q(z | x, y)

    Pass ``y`` to ``model``/``guide`` for labelled examples; leave it ``None`` for unlabelled ones,
    whose label the guide marks for parallel enumeration, so that an enumerating ELBO
    (``TraceEnum_ELBO``) sums over the classes exactly instead of sampling them. The label is
    an integer class index.
    """

    #: The config class this model is built from (a story's subclass names its own).
    config_class: ClassVar[type[SemiSupervisedVAEConfig]] = SemiSupervisedVAEConfig

    def __init__(self, config: SemiSupervisedVAEConfig) -> None:
        super().__init__()
        self.config = config
        classes = config.num_classes
        self.classifier_body, self.z_features, features = self._encoder_bodies()
        self.classifier_head = CategoricalHead(self.classifier_body.out_features, classes)
        self.z_encoder_body = ConditionalMLP(features, classes, config.hidden[:1])
        self.z_encoder_head = NormalHead(self.z_encoder_body.out_features, (config.z_dim,))
        self.decoder_body = ConditionalMLP(config.z_dim, classes, config.hidden[::-1])
        self.decoder_head = self._decoder_head(self.decoder_body.out_features)

    def _encoder_bodies(self) -> tuple[torch.nn.Module, torch.nn.Module, int]:
        """The classifier's body, the z encoder's features of the data and their width: here bodies
        over the image, by ``config.encoder`` (a story on other data builds its own)."""
        config = self.config
        shape = config.image_shape
        if config.encoder == "mlp":
            pixels = math.prod(shape)
            classifier = MLP(pixels, config.hidden, flatten_dims=3, dropout=config.classifier_dropout)
            return classifier, torch.nn.Flatten(start_dim=-3), pixels
        if config.encoder == "cnn":
            return (
                ConvEncoder(
                    shape,
                    config.conv_channels,
                    out_features=config.hidden[0],
                    dropout=config.classifier_dropout,
                ),
                ConvEncoder(shape, config.conv_channels, out_features=config.hidden[0]),
                config.hidden[0],
            )
        return (
            ImageRowEncoder(shape, config.hidden[0], cell=config.rnn_cell),
            ImageRowEncoder(shape, config.hidden[0], cell=config.rnn_cell),
            config.hidden[0],
        )

    def _decoder_head(self, in_features: int) -> torch.nn.Module:
        """The projection of the decoder's body onto p(x | z, y): Bernoulli pixels here."""
        return BernoulliHead(in_features, self.config.image_shape, intensity_targets=not self.config.binarize)

    def first_stage(self) -> VAE | None:
        """A part of the model trained alone, on every image, before the rest and then frozen (M1 of
        :class:`~vaekit.models.StackedSemiSupervisedVAE`); M2 has none."""
        return None

    def _one_hot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.config.num_classes).to(self.decoder_head.projection.weight.dtype)

    def label_prior(self) -> dist.Categorical:
        """p(y): uniform over the classes."""
        return dist.Categorical(logits=torch.zeros(self.config.num_classes, device=self.device))

    def classify(self, x: torch.Tensor) -> dist.Categorical:
        """q(y | x): images ``(..., C, H, W)`` -> Categorical with batch shape ``...``."""
        return self.classifier_head(self.classifier_body(x))

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """q(z | x, y); ``y`` holds class indices whose batch shape broadcasts with ``x``'s."""
        return self.z_encoder_head(self.z_encoder_body(self.z_features(x), self._one_hot(y)))

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """p(x | z, y): codes ``(..., z_dim)`` and class indices -> Bernoulli over whole images."""
        return self.decoder_head(self.decoder_body(z, self._one_hot(y)))

    def model(
        self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, *, num_samples: int | None = None
    ) -> None:
        """Generative story; ``y`` observed where given, latent (to be enumerated) where ``None``."""
        batch_size = x.shape[0] if x is not None else (y.shape[0] if y is not None else num_samples)
        if batch_size is None:
            raise ValueError("model() needs data x, labels y or num_samples")
        with pyro.plate("data", batch_size):
            z = pyro.sample("z", self.prior((batch_size,)))
            y = pyro.sample("y", self.label_prior(), obs=y)
            pyro.sample("x", self.decode(z, y), obs=x)
            if x is not None:
                self.sites_given_data(x, z, y)

    def sites_given_data(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> None:
        """Sample sites a story adds, in the data plate, once the image is given: none in M2 (the
        auxiliary a of :class:`~vaekit.models.AuxiliarySemiSupervisedVAE`)."""

    def guide(
        self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, *, num_samples: int | None = None
    ) -> None:
        """Amortized posterior: the classifier for an unobserved y, then q(z | x, y)."""
        if x is None:
            raise ValueError("the guide needs data x")
        with pyro.plate("data", x.shape[0]):
            if y is None:
                y = pyro.sample("y", self.classify(x), infer={"enumerate": "parallel"})
            pyro.sample("z", self.encode(x, y))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Most probable class under q(y | x) for each image: ``(N,)`` integer labels."""
        return self.classify(x).logits.argmax(-1)

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        label: int | torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Pixel probabilities ``(N, C, H, W)`` of images drawn from p(x | z, y), z from the prior.

        ``label`` fixes the class (an int, or a tensor of N class indices); ``None`` draws it
        from the uniform prior.
        """
        z = torch.randn((num_samples, self.config.z_dim), generator=generator).to(self.device)
        if label is None:
            y = torch.randint(self.config.num_classes, (num_samples,), generator=generator).to(self.device)
        else:
            y = torch.as_tensor(label, device=self.device).long().expand(num_samples)
            if (y < 0).any() or (y >= self.config.num_classes).any():
                raise ValueError(f"label must be a class in 0..{self.config.num_classes - 1}, got {label}")
        return self.decode(z, y).mean

    @torch.no_grad()
    def conditional_grid(self, num_styles: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """One row per class, one column per style z shared down the column: ``(K * S, C, H, W)``."""
        classes = self.config.num_classes
        z = torch.randn((1, num_styles, self.config.z_dim), generator=generator).to(self.device)
        y = torch.arange(classes, device=self.device).unsqueeze(1)
        probabilities = self.decode(z.expand(classes, -1, -1), y.expand(-1, num_styles)).mean
        return probabilities.reshape(classes * num_styles, *self.config.image_shape)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities of p(x | E_q[z | x, y*], y*) with y* the most probable class."""
        label = self.predict(x)
        return self.decode(self.encode(x, label).mean, label).mean
