"""Observation distributions that Pyro does not ship in the form vaekit needs."""

from __future__ import annotations

import pyro.distributions as dist
import torch
from pyro.distributions import constraints


class IntensityBernoulli(dist.Bernoulli):
    """Bernoulli likelihood that also scores pixel intensities in ``[0, 1]``.

    ``log_prob(x) = x log p + (1 - x) log(1 - p)`` is the binary cross-entropy, which is how
    Kingma & Welling (2013) and most VAE papers score grey-scale images. For binary ``x`` it is the
    exact Bernoulli log-probability; for intensities strictly inside ``(0, 1)`` it is not a
    normalised density, which is why it is a separate class rather than a Bernoulli with
    validation switched off. Samples are still binary; use ``mean`` (the probabilities) to show
    images.
    """

    support = constraints.unit_interval


class ZeroInflatedLogNormal(dist.TorchDistribution):
    """A spike at exactly 0 beside a LogNormal for the positive values ("spike and slab").

    ``P(x = 0) = sigmoid(gate_logits)``; otherwise ``x ~ LogNormal(loc, scale)``. ``log_prob`` is the
    log of that probability at 0 and the log of ``(1 - P(0))`` times the LogNormal's density above
    0, a density with respect to a point mass at 0 plus Lebesgue measure, which is how a likelihood
    of such a column is scored. Columns of debts or assets, mostly exactly 0, are its use.
    """

    arg_constraints = {
        "gate_logits": constraints.real,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.nonnegative
    has_rsample = False

    def __init__(
        self,
        gate_logits: torch.Tensor,
        loc: torch.Tensor,
        scale: torch.Tensor,
        validate_args: bool | None = None,
    ) -> None:
        self.gate_logits, self.loc, self.scale = torch.broadcast_tensors(gate_logits, loc, scale)
        super().__init__(self.gate_logits.shape, validate_args=validate_args)

    @property
    def slab(self) -> dist.LogNormal:
        return dist.LogNormal(self.loc, self.scale)

    @property
    def zero_probability(self) -> torch.Tensor:
        return torch.sigmoid(self.gate_logits)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        positive = value > 0
        # The slab is scored at 1 where the value is 0, so that no log(0) reaches the gradient.
        slab = self.slab.log_prob(torch.where(positive, value, torch.ones_like(value)))
        return torch.where(
            positive,
            torch.nn.functional.logsigmoid(-self.gate_logits) + slab,
            torch.nn.functional.logsigmoid(self.gate_logits),
        )

    def sample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        sample_shape = torch.Size(sample_shape)
        with torch.no_grad():
            zero = dist.Bernoulli(logits=self.gate_logits).sample(sample_shape).bool()
            slab = self.slab.sample(sample_shape)
            return torch.where(zero, torch.zeros_like(slab), slab)

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(-self.gate_logits) * self.slab.mean

    @property
    def variance(self) -> torch.Tensor:
        keep = torch.sigmoid(-self.gate_logits)
        second_moment = self.slab.variance + self.slab.mean**2
        return keep * second_moment - (keep * self.slab.mean) ** 2

    def expand(self, batch_shape: torch.Size, _instance: ZeroInflatedLogNormal | None = None):
        new = self._get_checked_instance(ZeroInflatedLogNormal, _instance)
        batch_shape = torch.Size(batch_shape)
        new.gate_logits = self.gate_logits.expand(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(ZeroInflatedLogNormal, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new
