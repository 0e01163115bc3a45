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


#: Logit of a padding category (a level or spike a column lacks, batched with one that has it): far
#: below any real logit, yet finite, so that no softmax or gradient meets an infinity.
PADDING_LOGIT = -1e4


class SpikedNormal(dist.TorchDistribution):
    """Spikes of probability at a few values beside a Normal for the rest.

    ``P(x = spikes[k]) = softmax(logits)[k]`` for the ``K`` spikes; otherwise, with the probability of
    the last of the ``K + 1`` logits, ``x ~ Normal(loc, scale)``. ``log_prob`` is the log of a spike's
    probability at a spike and the log of the last probability times the Normal's density elsewhere:
    a density with respect to point masses at the spikes plus Lebesgue measure, as
    :class:`ZeroInflatedLogNormal` is for one spike at 0. A value meets a spike when it equals it:
    cells and spikes are the same numbers rounded to 32-bit floats alike.

    Parameters
    ----------
    logits:
        ``batch_shape + (K + 1,)``: the spikes' log-odds, then the Normal's.
    spikes:
        ``batch_shape + (K,)`` (or broadcastable): the spikes' values.
    loc, scale:
        ``batch_shape``: the Normal's.
    real_spikes:
        Broadcastable to ``spikes``: ``False`` where a spike only pads a column with fewer spikes than
        the others batched with it: its probability is (next to) 0 whatever its logit, and no value
        meets it.
    """

    arg_constraints = {
        "logits": constraints.real_vector,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = False

    def __init__(
        self,
        logits: torch.Tensor,
        spikes: torch.Tensor,
        loc: torch.Tensor,
        scale: torch.Tensor,
        real_spikes: torch.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self.loc, self.scale = torch.broadcast_tensors(loc, scale)
        batch_shape = self.loc.shape
        spike_shape = batch_shape + (logits.shape[-1] - 1,)
        if spike_shape[-1] < 1:
            raise ValueError("a SpikedNormal needs at least one spike (pad with real_spikes False)")
        self.spikes = spikes.expand(spike_shape)
        real = torch.ones((), dtype=torch.bool) if real_spikes is None else real_spikes
        self.real_spikes = real.expand(spike_shape)
        keep = torch.cat([self.real_spikes, self.real_spikes.new_ones(batch_shape + (1,))], -1)
        self.logits = torch.where(keep, logits.expand(batch_shape + logits.shape[-1:]), PADDING_LOGIT)
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def slab(self) -> dist.Normal:
        return dist.Normal(self.loc, self.scale)

    def _spike_hits(self, value: torch.Tensor) -> torch.Tensor:
        return (value.unsqueeze(-1) == self.spikes) & self.real_spikes

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        hits = self._spike_hits(value)  # the value's sample dimensions, then the batch's, then K
        log_probabilities = torch.log_softmax(self.logits, -1).expand(
            hits.shape[:-1] + self.logits.shape[-1:]
        )
        first_hit = hits.to(torch.uint8).argmax(-1, keepdim=True)
        spike = log_probabilities[..., :-1].gather(-1, first_hit).squeeze(-1)
        slab = log_probabilities[..., -1] + self.slab.log_prob(value)
        return torch.where(hits.any(-1), spike, slab)

    def sample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        sample_shape = torch.Size(sample_shape)
        with torch.no_grad():
            component = dist.Categorical(logits=self.logits).sample(sample_shape)
            slab = self.slab.sample(sample_shape)
            spikes = self.spikes.expand(sample_shape + self.spikes.shape)
            spiked = spikes.gather(-1, component.clamp_max(spikes.shape[-1] - 1).unsqueeze(-1)).squeeze(-1)
            return torch.where(component == spikes.shape[-1], slab, spiked)

    @property
    def mean(self) -> torch.Tensor:
        probabilities = torch.softmax(self.logits, -1)
        spikes = torch.where(self.real_spikes, self.spikes, torch.zeros_like(self.spikes))
        return (probabilities[..., :-1] * spikes).sum(-1) + probabilities[..., -1] * self.loc
