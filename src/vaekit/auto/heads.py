"""Heads of the automatic guide: one per latent site, chosen by the site's support."""

from __future__ import annotations

import pyro.distributions as dist
import torch
from torch import nn
from torch.distributions import biject_to, constraints
from torch.distributions.transforms import ComposeTransform, IndependentTransform, Transform

from vaekit.auto.story import LatentSite
from vaekit.heads import BernoulliHead, CategoricalHead, NormalHead

# A logit this far below the observed class makes its probability exactly 0 in float32, and the
# observed class's exactly 1: the observed rows of a partially observed site then add nothing
# to the enumerated sum, rather than a NaN from 0 * log 0.
_RULED_OUT_LOGIT = -1e4


def _is_identity(transform: Transform) -> bool:
    while isinstance(transform, IndependentTransform):
        transform = transform.base_transform
    return isinstance(transform, ComposeTransform) and not transform.parts


class SupportHead(nn.Module):
    """q(z | h) for a continuous latent: a Normal in unconstrained space pushed through
    ``biject_to(support)``.

    The Normal has the unconstrained shape of the site's event (``K - 1`` numbers for a point on
    the K-simplex); on the real line the transform is the identity and the plain Normal is
    returned, whose KL from a Normal prior has a closed form.

    Parameters
    ----------
    in_features:
        Size of the hidden representation.
    support:
        The latent site's support (``fn.support``, which counts its event dimensions).
    event_shape:
        The site's event shape.
    """

    def __init__(
        self, in_features: int, support: constraints.Constraint, event_shape: tuple[int, ...]
    ) -> None:
        super().__init__()
        self.transform = biject_to(support)
        self.event_shape = tuple(event_shape)
        unconstrained_shape = tuple(self.transform.inverse_shape(torch.Size(self.event_shape)))
        self.normal = NormalHead(in_features, unconstrained_shape)

    @staticmethod
    def centre(fn: dist.TorchDistribution) -> torch.Tensor:
        """The centre of a distribution this head returned: its Normal's mean, mapped into the support."""
        if not isinstance(fn, dist.TransformedDistribution):
            return fn.mean
        point = fn.base_dist.mean
        for transform in fn.transforms:
            point = transform(point)
        return point

    def forward(self, hidden: torch.Tensor) -> dist.TorchDistribution:
        """The distribution over the support, with batch shape ``hidden.shape[:-1]``."""
        base = self.normal(hidden)
        if _is_identity(self.transform):
            return base
        return dist.TransformedDistribution(base, [self.transform])


class DiscreteHead(nn.Module):
    """q(y | h) for a discrete latent with finite support: a classifier head.

    Bernoulli and Categorical sites come from vaekit's heads; a one-hot site from the categorical
    head's logits. For a partially observed site, the rows whose value is given get a point mass
    on it, so that enumeration sums over the missing rows only.
    """

    def __init__(self, in_features: int, latent: LatentSite) -> None:
        super().__init__()
        self.kind = latent.kind
        self.num_categories = latent.num_categories
        if latent.kind == "bernoulli":
            self.head: nn.Module = BernoulliHead(in_features)
        else:
            self.head = CategoricalHead(in_features, latent.num_categories)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``batch`` (Bernoulli) or ``batch + (K,)``."""
        return self.head.project(hidden)["logits"]

    def forward(
        self,
        hidden: torch.Tensor,
        observed: torch.Tensor | None = None,
        given: torch.Tensor | None = None,
    ) -> dist.TorchDistribution:
        """The distribution; ``observed`` (bool, batch shape) marks rows whose value ``given`` is known."""
        logits = self.logits(hidden)
        if observed is not None and given is not None:
            if self.kind == "bernoulli":
                certain = (2.0 * given.to(logits.dtype) - 1.0) * -_RULED_OUT_LOGIT
                logits = torch.where(observed, certain, logits)
            else:
                one_hot = nn.functional.one_hot(given.long(), self.num_categories).to(logits.dtype)
                certain = (1.0 - one_hot) * _RULED_OUT_LOGIT
                logits = torch.where(observed.unsqueeze(-1), certain, logits)
        if self.kind == "bernoulli":
            return dist.Bernoulli(logits=logits)
        if self.kind == "categorical":
            return dist.Categorical(logits=logits)
        return dist.OneHotCategorical(logits=logits)

    def most_probable(self, fn: dist.TorchDistribution) -> torch.Tensor:
        """The most probable value of a distribution this head returned."""
        logits = fn.logits
        if self.kind == "bernoulli":
            return (logits > 0).to(logits.dtype)
        if self.kind == "categorical":
            return logits.argmax(-1)
        return nn.functional.one_hot(logits.argmax(-1), self.num_categories).to(logits.dtype)

    def features(self, value: torch.Tensor) -> torch.Tensor:
        """The value as input features for the encoders of later latents: a one-hot row."""
        if self.kind == "bernoulli":
            return value.unsqueeze(-1)
        if self.kind == "categorical":
            return nn.functional.one_hot(value.long(), self.num_categories).to(torch.get_default_dtype())
        return value
