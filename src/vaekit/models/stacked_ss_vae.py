"""M1+M2 of Kingma et al. (2014): the semi-supervised VAE (M2) told over the latent codes of an
image VAE (M1) instead of over the pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyro
import pyro.distributions as dist
import torch

from vaekit.heads import NormalHead
from vaekit.models.base import VAE
from vaekit.models.image_vae import ImageVAE, ImageVAEConfig
from vaekit.models.ss_vae import SemiSupervisedVAE, SemiSupervisedVAEConfig
from vaekit.nn import MLP


@dataclass(frozen=True)
class StackedSemiSupervisedVAEConfig(SemiSupervisedVAEConfig):
    """Architecture of a :class:`StackedSemiSupervisedVAE`: M2's, over codes of ``code_dim``
    dimensions, and the image VAE (M1) that makes them.

    Parameters
    ----------
    code_dim:
        Dimension of M1's latent code (the paper's 50).
    code_hidden:
        Hidden widths of M1's MLP bodies (the paper's two layers of 600); with ``encoder="cnn"``
        the first is the width after the conv layers. ``encoder``, ``conv_channels``,
        ``rnn_cell`` and ``binarize`` are M1's; M2's bodies over the codes are MLPs of ``hidden``.
    """

    code_dim: int = 50
    code_hidden: tuple[int, ...] = (600, 600)
    classifier_reads_images: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "code_hidden", tuple(int(v) for v in self.code_hidden))
        if not isinstance(self.code_dim, int) or self.code_dim < 1:
            raise ValueError(f"code_dim must be a positive integer, got {self.code_dim}")

    def first_stage_config(self) -> ImageVAEConfig:
        """The image VAE (M1) whose codes M2 reads."""
        return ImageVAEConfig(
            self.image_shape,
            z_dim=self.code_dim,
            hidden=self.code_hidden,
            encoder=self.encoder,
            conv_channels=self.conv_channels,
            binarize=self.binarize,
            rnn_cell=self.rnn_cell,
        )


class StackedSemiSupervisedVAE(SemiSupervisedVAE):
    """M1+M2 (Kingma et al. 2014): M2 whose data are the latent codes c of an image VAE (M1).

    Generative story, for each image in the data plate::

        z ~ Normal(0, I)                          # style
        y ~ Categorical(uniform)                  # class: observed when labelled, latent otherwise
        c ~ Normal(P_c(f_c(z, y)))                # M1's code, told by M2
        x ~ Bernoulli(logits = M1's decoder(c))   # all pixels as one site

    Amortized posterior::

        c ~ M1's encoder q(c | x)
        y ~ Categorical(P_y(f_y(c)))              # the classifier q(y | c); only when y is latent
        z ~ Normal(P_z(f_z(c, y)))                # q(z | c, y)

    Training has two stages, as in the paper: M1 alone on every image, labelled or not
    (:meth:`first_stage`, with its own prior N(0, I) on c), then the whole story with M1's
    weights frozen, which is M2's objective on codes drawn from q(c | x) (the terms of x and of
    q(c | x) then have no gradient) and leaves a bound on the same log p(x). The codes are far
    easier to separate into classes than the pixels, which is why the paper's M1+M2 needs fewer
    labels than M2. The classification term reads q(y | c) at one draw of q(c | x)
    (:meth:`classification_log_likelihood`); predictions read it at the mean of q(c | x).
    """

    config: StackedSemiSupervisedVAEConfig
    config_class = StackedSemiSupervisedVAEConfig

    def __init__(self, config: StackedSemiSupervisedVAEConfig) -> None:
        super().__init__(config)
        self.codes = ImageVAE(config.first_stage_config())

    def _encoder_bodies(self) -> tuple[torch.nn.Module, torch.nn.Module, int]:
        config = self.config
        classifier = MLP(config.code_dim, config.hidden, dropout=config.classifier_dropout)
        return classifier, torch.nn.Identity(), config.code_dim

    def _decoder_head(self, in_features: int) -> torch.nn.Module:
        return NormalHead(in_features, (self.config.code_dim,))

    def first_stage(self) -> VAE | None:
        """M1, trained alone before the rest and then frozen."""
        return self.codes

    def _code_posterior(self, x: torch.Tensor) -> dist.Independent:
        return self.codes.encode(x)

    def classify(self, x: torch.Tensor) -> dist.Categorical:
        """q(y | c) at the mean of q(c | x): the deterministic classifier predictions use."""
        return self.classifier_head(self.classifier_body(self._code_posterior(x).mean))

    def classification_log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log q(y | c) at one draw of q(c | x): the classification term per example, on the noisy
        codes M2 is trained on."""
        code = self._code_posterior(x).rsample()
        return self.classifier_head(self.classifier_body(code)).log_prob(y)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """q(z | c, y) at the mean of q(c | x)."""
        return self._encode_code(self._code_posterior(x).mean, y)

    def _encode_code(self, code: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        return self.z_encoder_head(self.z_encoder_body(code, self._one_hot(y)))

    def decode_code(self, z: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """p(c | z, y): M2's decoder, onto M1's codes."""
        return self.decoder_head(self.decoder_body(z, self._one_hot(y)))

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """p(x | c, y) with c at the mean of p(c | z, y): what figures and samples draw (p(x | z, y)
        itself has no closed form)."""
        return self.codes.decode(self.decode_code(z, y).mean)

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
            code = pyro.sample("code", self.decode_code(z, y))
            pyro.sample("x", self.codes.decode(code), obs=x)

    def guide(
        self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, *, num_samples: int | None = None
    ) -> None:
        """Amortized posterior: M1's code, then the classifier for an unobserved y, then z."""
        if x is None:
            raise ValueError("the guide needs data x")
        with pyro.plate("data", x.shape[0]):
            code = pyro.sample("code", self._code_posterior(x))
            if y is None:
                y = pyro.sample(
                    "y",
                    self.classifier_head(self.classifier_body(code)),
                    infer={"enumerate": "parallel"},
                )
            pyro.sample("z", self._encode_code(code, y))
