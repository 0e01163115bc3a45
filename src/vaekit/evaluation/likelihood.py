"""The test ELBO and the importance-weighted estimate of log p(x), per example.

For each example, K draws z_k ~ q(z | x) give log-weights log w_k = log p(x, z_k) - log q(z_k | x).
Their mean is an unbiased estimate of the ELBO; ``logsumexp_k log w_k - log K`` is the IWAE
bound of Burda et al. (2016), a lower bound on log p(x) that tightens as K grows and is never
below the ELBO in expectation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vaekit.importance import log_importance_weights as log_importance_weights
from vaekit.models.base import VAE


@dataclass(frozen=True)
class LikelihoodEstimate:
    """Per-example estimates, in nats.

    Attributes
    ----------
    elbo:
        Mean of the log-weights: an unbiased estimate of each example's ELBO.
    log_likelihood:
        The IWAE bound with ``num_samples`` draws: a lower bound on each example's log p(x).
    num_samples:
        Draws per example (K).
    """

    elbo: torch.Tensor
    log_likelihood: torch.Tensor
    num_samples: int


@torch.no_grad()
def estimate_log_likelihood(
    vae: VAE,
    data: torch.Tensor | tuple[torch.Tensor, ...],
    *,
    num_samples: int = 1000,
    batch_size: int = 100,
    chunk_size: int = 100,
    progress: Callable[[int], None] | None = None,
) -> LikelihoodEstimate:
    """ELBO and IWAE log-likelihood of every example of ``data``.

    Parameters
    ----------
    vae:
        A trained model.
    data:
        A tensor of examples, or a tuple of tensors passed to ``model``/``guide`` as arguments.
    num_samples:
        K, the importance samples per example.
    batch_size:
        Examples scored together.
    chunk_size:
        Importance samples drawn together; memory grows with ``batch_size * chunk_size``.
    progress:
        Called with the number of examples finished after each batch (a progress bar's update).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    tensors = data if isinstance(data, tuple) else (data,)
    was_training = vae.training
    vae.eval()
    elbos, log_likelihoods = [], []
    try:
        for start in range(0, tensors[0].shape[0], batch_size):
            batch = tuple(t[start : start + batch_size].to(vae.device) for t in tensors)
            chunks = []
            for first in range(0, num_samples, chunk_size):
                k = min(chunk_size, num_samples - first)
                chunks.append(
                    log_importance_weights(
                        vae.model, vae.guide, batch, num_particles=k, max_plate_nesting=vae.max_plate_nesting
                    )
                )
            log_weights = torch.cat(chunks)
            elbos.append(log_weights.mean(0).cpu())
            log_likelihoods.append((torch.logsumexp(log_weights, 0) - math.log(num_samples)).cpu())
            if progress is not None:
                progress(batch[0].shape[0])
    finally:
        vae.train(was_training)
    return LikelihoodEstimate(torch.cat(elbos), torch.cat(log_likelihoods), num_samples)
