"""The auxiliary deep generative model of Maaloe et al. (2016): M2 with an auxiliary latent a that
makes the approximate posterior richer and gives the classifier a noisy view of each image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyro
import pyro.distributions as dist
import torch

from vaekit.heads import CategoricalHead, NormalHead
from vaekit.models.ss_vae import SemiSupervisedVAE, SemiSupervisedVAEConfig
from vaekit.nn import MLP, ConditionalMLP


@dataclass(frozen=True)
class AuxiliarySemiSupervisedVAEConfig(SemiSupervisedVAEConfig):
    """Architecture of an :class:`AuxiliarySemiSupervisedVAE`: that of M2 and the auxiliary latent's size.

    Parameters
    ----------
    aux_dim:
        Dimension of the auxiliary latent a (the paper uses 100 on MNIST).
    """

    aux_dim: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.aux_dim, int) or self.aux_dim < 1:
            raise ValueError(f"aux_dim must be a positive integer, got {self.aux_dim}")
        if self.classifier_dropout > 0:
            # Its classifier reads a noisy view of each image already: the draw of a.
            raise ValueError("classifier_dropout is M2's and M1+M2's: the adgm's classifier has none")


def _broadcast_cat(*parts: torch.Tensor) -> torch.Tensor:
    """Concatenate on the last dimension after broadcasting the batch dimensions (an enumerated
    label ``(K, 1, C)`` beside per-example codes ``(N, A)``)."""
    batch = torch.broadcast_shapes(*(part.shape[:-1] for part in parts))
    return torch.cat([part.expand(*batch, part.shape[-1]) for part in parts], dim=-1)


class AuxiliarySemiSupervisedVAE(SemiSupervisedVAE):
    """Semi-supervised VAE with an auxiliary latent (ADGM, Maaloe et al. 2016).

    Generative story, for each image in the data plate::

        z ~ Normal(0, I)                          # style
        y ~ Categorical(uniform)                  # class: observed when labelled, latent otherwise
        x ~ Bernoulli(logits = P_d(f_d(z, y)))
        a ~ Normal(P_a(f_a(x, z, y)))             # auxiliary: leaves p(x, y, z) unchanged

    Amortized posterior::

        a ~ Normal(P_qa(f_qa(h(x))))              # q(a | x)
        y ~ Categorical(P_y(f_y(h(x), a)))        # the classifier q(y | a, x); only when y is latent
        z ~ Normal(P_z(f_z(h(x), y, a)))          # q(z | a, x, y)

    ``h`` is the encoder's body over the image (flattened pixels for ``"mlp"``, the conv or row-wise
    recurrent body otherwise), computed once per image and read by all three. Marginalising a gives
    q(y, z | x) = E_q(a|x)[q(y | a, x) q(z | a, x, y)], a mixture richer than M2's, while
    p(x, y, z) is M2's: the bound stays a bound on the same log p(x).

    The classification term of the objective is E_q(a|x)[log q(y | a, x)], estimated with one draw
    of a (:meth:`classification_log_likelihood`); :meth:`classify`, which predictions and the
    reported accuracies use, reads q(y | a, x) at the mean of q(a | x), so it is deterministic.
    """

    config: AuxiliarySemiSupervisedVAEConfig
    config_class = AuxiliarySemiSupervisedVAEConfig

    def __init__(self, config: AuxiliarySemiSupervisedVAEConfig) -> None:
        super().__init__(config)
        classes, hidden = config.num_classes, config.hidden
        features = self.z_encoder_body.input_layer.in_features
        # M2's own classifier body over x is replaced by one over h(x) and a.
        self.classifier_body = ConditionalMLP(features, config.aux_dim, hidden)
        self.classifier_head = CategoricalHead(self.classifier_body.out_features, classes)
        self.aux_encoder_body = MLP(features, hidden[:1])
        self.aux_encoder_head = NormalHead(self.aux_encoder_body.out_features, (config.aux_dim,))
        self.z_encoder_body = ConditionalMLP(features, classes + config.aux_dim, hidden[:1])
        self.aux_decoder_body = ConditionalMLP(
            math.prod(config.image_shape), config.z_dim + classes, hidden[:1]
        )
        self.aux_decoder_head = NormalHead(self.aux_decoder_body.out_features, (config.aux_dim,))

    def _aux_posterior(self, features: torch.Tensor) -> dist.Independent:
        return self.aux_encoder_head(self.aux_encoder_body(features))

    def _label_posterior(self, features: torch.Tensor, a: torch.Tensor) -> dist.Categorical:
        return self.classifier_head(self.classifier_body(features, a))

    def _z_posterior(self, features: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> dist.Independent:
        return self.z_encoder_head(self.z_encoder_body(features, _broadcast_cat(self._one_hot(y), a)))

    def encode_aux(self, x: torch.Tensor) -> dist.Independent:
        """q(a | x)."""
        return self._aux_posterior(self.z_features(x))

    def classify_given(self, x: torch.Tensor, a: torch.Tensor) -> dist.Categorical:
        """q(y | a, x)."""
        return self._label_posterior(self.z_features(x), a)

    def classify(self, x: torch.Tensor) -> dist.Categorical:
        """q(y | a, x) at the mean of q(a | x): the deterministic classifier predictions use."""
        features = self.z_features(x)
        return self._label_posterior(features, self._aux_posterior(features).mean)

    def classification_log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log q(y | a, x) at one reparameterized draw of q(a | x): an unbiased estimate of the
        classification term E_q(a|x)[log q(y | a, x)] per example."""
        features = self.z_features(x)
        a = self._aux_posterior(features).rsample()
        return self._label_posterior(features, a).log_prob(y)

    def encode(self, x: torch.Tensor, y: torch.Tensor, a: torch.Tensor | None = None) -> dist.Independent:
        """q(z | a, x, y); without ``a``, at the mean of q(a | x)."""
        features = self.z_features(x)
        if a is None:
            a = self._aux_posterior(features).mean
        return self._z_posterior(features, y, a)

    def decode_aux(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """p(a | x, z, y)."""
        flat = x.flatten(start_dim=-3)
        return self.aux_decoder_head(self.aux_decoder_body(flat, _broadcast_cat(z, self._one_hot(y))))

    def sites_given_data(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> None:
        """a ~ p(a | x, z, y), scored only given data (it is a device of inference, not of x)."""
        pyro.sample("a", self.decode_aux(x, z, y))

    def guide(
        self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, *, num_samples: int | None = None
    ) -> None:
        """Amortized posterior: a, then the classifier for an unobserved y, then z."""
        if x is None:
            raise ValueError("the guide needs data x")
        features = self.z_features(x)
        with pyro.plate("data", x.shape[0]):
            a = pyro.sample("a", self._aux_posterior(features))
            if y is None:
                y = pyro.sample("y", self._label_posterior(features, a), infer={"enumerate": "parallel"})
            pyro.sample("z", self._z_posterior(features, y, a))
