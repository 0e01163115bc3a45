"""Heads for the distribution families of the observation and posterior models."""

from __future__ import annotations

from collections.abc import Sequence

import pyro.distributions as dist
import torch
from pyro.distributions import constraints

from vaekit.distributions import IntensityBernoulli, SpikedNormal, ZeroInflatedLogNormal
from vaekit.heads.base import DistributionHead, InShape

# Scales and rates use softplus rather than exp: exp overflows for large pre-activations and makes
# the gradient grow with the parameter, softplus is close to linear there.
_POSITIVE = constraints.softplus_positive


class NormalHead(DistributionHead):
    """Normal(loc, scale): loc in R, scale in R+ (softplus). The usual posterior q(z | x)."""

    param_constraints = {"loc": constraints.real, "scale": _POSITIVE}

    def make_distribution(self, loc: torch.Tensor, scale: torch.Tensor) -> dist.Normal:
        return dist.Normal(loc, scale)


class LogNormalHead(DistributionHead):
    """LogNormal(loc, scale) for positive data: loc in R, scale in R+."""

    param_constraints = {"loc": constraints.real, "scale": _POSITIVE}

    def make_distribution(self, loc: torch.Tensor, scale: torch.Tensor) -> dist.LogNormal:
        return dist.LogNormal(loc, scale)


class ZeroInflatedLogNormalHead(DistributionHead):
    """A spike at 0 beside a LogNormal (:class:`~vaekit.distributions.ZeroInflatedLogNormal`):
    gate_logits and loc in R, scale in R+."""

    param_constraints = {"gate_logits": constraints.real, "loc": constraints.real, "scale": _POSITIVE}

    def make_distribution(
        self, gate_logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor
    ) -> ZeroInflatedLogNormal:
        return ZeroInflatedLogNormal(gate_logits, loc, scale)


class SpikedNormalHead(DistributionHead):
    """Spikes of probability at given values beside a Normal
    (:class:`~vaekit.distributions.SpikedNormal`): one logit per spike and one for the Normal, loc in
    R, scale in R+.

    Parameters
    ----------
    in_shape, event_shape:
        See :class:`DistributionHead`.
    spikes:
        ``event_shape + (K,)``: the spikes' values, in the units of the head's loc and scale; a
        buffer, not a parameter, and not in the state dict (a model rebuilds it from its schema).
    real_spikes:
        Broadcastable to ``spikes``: ``False`` where a spike only pads an element with fewer spikes.
    """

    param_constraints = {"logits": constraints.real, "loc": constraints.real, "scale": _POSITIVE}

    def __init__(
        self,
        in_shape: InShape,
        spikes: torch.Tensor,
        event_shape: Sequence[int] = (),
        real_spikes: torch.Tensor | None = None,
    ) -> None:
        if spikes.ndim < 1 or spikes.shape[-1] < 1:
            raise ValueError(
                f"a spiked head needs at least one spike, got spikes of shape {tuple(spikes.shape)}"
            )
        self.num_spikes = int(spikes.shape[-1])
        super().__init__(in_shape, event_shape)
        real = torch.ones_like(spikes, dtype=torch.bool) if real_spikes is None else real_spikes
        self.register_buffer("spikes", spikes.float(), persistent=False)
        self.register_buffer("real_spikes", real.expand(spikes.shape).clone(), persistent=False)

    def param_shape(self, name: str) -> tuple[int, ...]:
        return self.event_shape + (self.num_spikes + 1,) if name == "logits" else self.event_shape

    def make_distribution(self, logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> SpikedNormal:
        return SpikedNormal(logits, self.spikes, loc, scale, self.real_spikes)


class _MixtureHead(DistributionHead):
    """A mixture of ``num_components`` distributions of one family for each element: logits, loc in
    R and scale in R+ of each component."""

    param_constraints = {"logits": constraints.real, "loc": constraints.real, "scale": _POSITIVE}
    component: type[dist.TorchDistribution]

    def __init__(self, in_shape: InShape, num_components: int, event_shape: Sequence[int] = ()) -> None:
        if num_components < 2:
            raise ValueError(f"a mixture head needs at least 2 components, got {num_components}")
        self.num_components = int(num_components)
        super().__init__(in_shape, event_shape)

    def param_shape(self, name: str) -> tuple[int, ...]:
        return self.event_shape + (self.num_components,)

    def make_distribution(
        self, logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor
    ) -> dist.MixtureSameFamily:
        return dist.MixtureSameFamily(dist.Categorical(logits=logits), self.component(loc, scale))


class NormalMixtureHead(_MixtureHead):
    """A mixture of Normals for numbers with several modes."""

    component = dist.Normal


class LogNormalMixtureHead(_MixtureHead):
    """A mixture of LogNormals for positive numbers with several modes."""

    component = dist.LogNormal


class ZeroInflatedNegativeBinomialHead(DistributionHead):
    """A negative binomial with extra zeros (Pyro's ``ZeroInflatedNegativeBinomial``): gate_logits
    (the log-odds of a structural zero) and logits in R, total_count in R+."""

    param_constraints = {
        "gate_logits": constraints.real,
        "total_count": _POSITIVE,
        "logits": constraints.real,
    }

    def make_distribution(
        self, gate_logits: torch.Tensor, total_count: torch.Tensor, logits: torch.Tensor
    ) -> dist.ZeroInflatedNegativeBinomial:
        return dist.ZeroInflatedNegativeBinomial(total_count, logits=logits, gate_logits=gate_logits)


class BernoulliHead(DistributionHead):
    """Bernoulli(logits): logits in R, which keeps the log-likelihood numerically stable.

    Parameters
    ----------
    in_shape, event_shape:
        See :class:`DistributionHead`.
    intensity_targets:
        Score observations in ``[0, 1]`` (grey-scale intensities) with the cross-entropy of
        :class:`~vaekit.distributions.IntensityBernoulli`; ``False`` accepts only binary data.
    """

    param_constraints = {"logits": constraints.real}

    def __init__(
        self, in_shape: InShape, event_shape: Sequence[int] = (), *, intensity_targets: bool = False
    ) -> None:
        super().__init__(in_shape, event_shape)
        self.intensity_targets = intensity_targets

    def make_distribution(self, logits: torch.Tensor) -> dist.Bernoulli:
        family = IntensityBernoulli if self.intensity_targets else dist.Bernoulli
        return family(logits=logits)


class CategoricalHead(DistributionHead):
    """Categorical(logits) over ``num_categories`` levels for each element of ``event_shape``."""

    param_constraints = {"logits": constraints.real}

    def __init__(self, in_shape: InShape, num_categories: int, event_shape: Sequence[int] = ()) -> None:
        if num_categories < 2:
            raise ValueError(f"a categorical head needs at least 2 categories, got {num_categories}")
        self.num_categories = int(num_categories)
        super().__init__(in_shape, event_shape)

    def param_shape(self, name: str) -> tuple[int, ...]:
        return self.event_shape + (self.num_categories,)

    def make_distribution(self, logits: torch.Tensor) -> dist.Categorical:
        return dist.Categorical(logits=logits)


class GammaHead(DistributionHead):
    """Gamma(concentration, rate): both in R+."""

    param_constraints = {"concentration": _POSITIVE, "rate": _POSITIVE}

    def make_distribution(self, concentration: torch.Tensor, rate: torch.Tensor) -> dist.Gamma:
        return dist.Gamma(concentration, rate)


class PoissonHead(DistributionHead):
    """Poisson(rate): rate in R+."""

    param_constraints = {"rate": _POSITIVE}

    def make_distribution(self, rate: torch.Tensor) -> dist.Poisson:
        return dist.Poisson(rate)


class NegativeBinomialHead(DistributionHead):
    """NegativeBinomial(total_count, logits): total_count in R+, logits in R (over-dispersed counts)."""

    param_constraints = {"total_count": _POSITIVE, "logits": constraints.real}

    def make_distribution(self, total_count: torch.Tensor, logits: torch.Tensor) -> dist.NegativeBinomial:
        return dist.NegativeBinomial(total_count=total_count, logits=logits)
