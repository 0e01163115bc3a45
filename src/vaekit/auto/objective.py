"""The training objective for stories with discrete latents: the ELBO summed over them exactly."""

from __future__ import annotations

import torch
from pyro.infer import TraceEnum_ELBO

from vaekit.inference.objectives import Batch, Objective, StepResult
from vaekit.models.base import VAE


class EnumeratedELBOObjective(Objective):
    """Maximise the ELBO with Pyro's ``TraceEnum_ELBO``: the discrete sites the guide marks
    ``enumerate="parallel"`` are summed over their values instead of sampled.

    Only the total is logged (``elbo``, per example): the enumerated sum does not split into one
    reconstruction and one KL term per site.
    """

    def __init__(self, *, max_plate_nesting: int = 1, num_particles: int = 1) -> None:
        if num_particles < 1:
            raise ValueError(f"num_particles must be at least 1, got {num_particles}")
        self.elbo = TraceEnum_ELBO(
            max_plate_nesting=max_plate_nesting,
            num_particles=num_particles,
            vectorize_particles=num_particles > 1,
        )

    def training(self, vae: VAE, batch: Batch) -> StepResult:
        num_examples = batch[0].shape[0]
        loss = self.elbo.differentiable_loss(vae.model, vae.guide, *batch) / num_examples
        return StepResult(loss, {"elbo": -loss.detach()}, num_examples)

    def validation(self, vae: VAE, batch: Batch) -> StepResult:
        # Validation runs without gradients, which differentiable_loss refuses; loss() needs none.
        num_examples = batch[0].shape[0]
        loss = torch.as_tensor(self.elbo.loss(vae.model, vae.guide, *batch) / num_examples)
        return StepResult(loss, {"elbo": -loss}, num_examples)
