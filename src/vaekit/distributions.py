"""Observation distributions that Pyro does not ship in the form vaekit needs."""

from __future__ import annotations

import pyro.distributions as dist
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
