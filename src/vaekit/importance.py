"""Importance weights of an amortized posterior, per example: the core of the IWAE bound.

For each example, K draws z_k ~ q(z | x) give log-weights log w_k = log p(x, z_k) - log q(z_k | x).
Their mean estimates the ELBO; ``logsumexp_k log w_k - log K`` is the importance-weighted bound
of Burda et al. (2016), a lower bound on log p(x) that tightens as K grows. Training maximises it
(:class:`~vaekit.inference.objectives.ImportanceWeightedObjective`) and evaluation reports it
(:mod:`vaekit.evaluation.likelihood`); both use this one function, which lives below both layers
(it needs only Pyro and torch) so that evaluation does not depend on training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyro
import torch
from pyro import poutine
from pyro.poutine.util import prune_subsample_sites


def log_importance_weights(
    model: Callable[..., Any],
    guide: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    num_particles: int,
    max_plate_nesting: int = 1,
) -> torch.Tensor:
    """Log importance weights ``(num_particles, batch)`` of the guide as proposal for the model.

    ``args`` are passed to both model and guide; ``args[0]``'s first dimension is the batch.

    The guide runs once under a particle plate left of the model's plates, the model is replayed
    against it, and each site's log-density is kept per example (summed over its event and the
    plates nested in the data plate, not over the batch), so the result is per example rather than
    for the batch as a whole. The data plate must be the one at dim -1.

    A discrete site that the model marks ``infer={"enumerate": "parallel"}`` and the guide does not
    sample is summed out exactly (Pyro's ``enum`` in dimensions left of the particle plate), so the
    weight holds log p(x, z) with that site marginalised rather than a draw of it.
    """

    def vectorized(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*a: Any, **k: Any) -> Any:
            with pyro.plate("iw_particles", num_particles, dim=-(max_plate_nesting + 1)):
                return fn(*a, **k)

        return wrapped

    guide_trace = poutine.trace(vectorized(guide)).get_trace(*args)
    # A discrete site the model marks enumerate="parallel" and the guide lacks is summed out
    # exactly, in dimensions left of the particle plate (replayed sites are left alone).
    # (replay inside enum: a site the guide drew is replayed, and never enumerated).
    replayed = poutine.replay(vectorized(model), trace=guide_trace)
    enumerated_model = poutine.enum(replayed, first_available_dim=-(max_plate_nesting + 2))
    model_trace = poutine.trace(enumerated_model).get_trace(*args)
    guide_trace = prune_subsample_sites(guide_trace)
    model_trace = prune_subsample_sites(model_trace)
    batch_size = args[0].shape[0]
    log_weights = torch.zeros((num_particles, batch_size), device=args[0].device)
    for site in guide_trace.nodes.values():
        if site["type"] == "sample":
            log_weights = log_weights - per_example_log_prob(site, max_plate_nesting)
    summed = any(
        site["type"] == "sample" and "_enumerate_dim" in site["infer"] for site in model_trace.nodes.values()
    )
    if not summed:
        for site in model_trace.nodes.values():
            if site["type"] == "sample":
                log_weights = log_weights + per_example_log_prob(site, max_plate_nesting)
        return log_weights
    # log p(x, z) = logsumexp over the summed sites' values of the sum of every site's log-density
    # per example, each broadcast over the enumerated dimensions it does not depend on.
    total = torch.zeros((), device=args[0].device)
    for site in model_trace.nodes.values():
        if site["type"] == "sample":
            total = total + per_example_log_prob(site, max_plate_nesting)
    enumerated = list(range(total.dim() - 2))  # left of the particle and data dimensions
    total = torch.logsumexp(total, dim=enumerated) if enumerated else total
    return log_weights + total


def per_example_log_prob(site: dict[str, Any], max_plate_nesting: int) -> torch.Tensor:
    """A sample site's log-density (masked where the site has a mask), summed over the plates
    nested in the data plate: ``(..., particles, examples)``, the data plate at dim -1.

    Each site is summed on its own before any sum with others, so that a site outside an inner
    plate, broadcast along it, is not counted once per inner index."""
    log_prob = site["fn"].log_prob(site["value"])
    if site["mask"] is not None:
        log_prob = log_prob * site["mask"]
    inner = [dim for dim in range(-max_plate_nesting, -1) if log_prob.dim() >= -dim]
    return log_prob.sum(dim=inner) if inner else log_prob
