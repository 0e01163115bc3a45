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

    With ``classifier_weight`` w > 0 and a story with partially observed discrete sites (an M2
    label, :attr:`~vaekit.auto.AutoVAE.partial_sites`), the loss adds M2's classification term,
    ``-w * log q(value | x)`` per row that gives the value (Kingma et al. 2014: without it the
    classifier learns from the labels only through the ELBO, slowly); validation then logs each
    such site's accuracy on the rows that give it (``accuracy_SITE``).
    """

    def __init__(
        self, *, max_plate_nesting: int = 1, num_particles: int = 1, classifier_weight: float = 0.0
    ) -> None:
        if num_particles < 1:
            raise ValueError(f"num_particles must be at least 1, got {num_particles}")
        if classifier_weight < 0:
            raise ValueError(f"classifier_weight must not be negative, got {classifier_weight}")
        self.classifier_weight = float(classifier_weight)
        self.elbo = TraceEnum_ELBO(
            max_plate_nesting=max_plate_nesting,
            num_particles=num_particles,
            vectorize_particles=num_particles > 1,
        )

    def training(self, vae: VAE, batch: Batch) -> StepResult:
        num_examples = batch[0].shape[0]
        loss = self.elbo.differentiable_loss(vae.model, vae.guide, *batch) / num_examples
        terms = {"elbo": -loss.detach()}
        if self.classifier_weight and getattr(vae, "partial_sites", ()):
            for q, values, given in vae.classifiers(*batch).values():  # type: ignore[operator]
                log_q = torch.where(
                    given, q.log_prob(values.clamp(min=0)), torch.zeros_like(values, dtype=loss.dtype)
                )
                loss = loss - self.classifier_weight * log_q.sum() / num_examples
        return StepResult(loss, terms, num_examples)

    def validation(self, vae: VAE, batch: Batch) -> StepResult:
        # Validation runs without gradients, which differentiable_loss refuses; loss() needs none.
        num_examples = batch[0].shape[0]
        loss = torch.as_tensor(self.elbo.loss(vae.model, vae.guide, *batch) / num_examples)
        terms: dict[str, torch.Tensor] = {"elbo": -loss}
        counts: dict[str, torch.Tensor | int] = {}
        classifiers = vae.classifiers(*batch) if getattr(vae, "partial_sites", ()) else {}  # type: ignore[operator]
        for name, (q, values, given) in classifiers.items():
            right = q.mode == values
            if right.dim() > given.dim():  # one-hot values
                right = right.all(-1)
            right = right & given
            key = f"accuracy_{name.removesuffix('_unobserved')}"
            terms[key] = right.sum().to(loss.dtype) / given.sum().clamp_min(1)
            counts[key] = given.sum()
        return StepResult(loss, terms, num_examples, counts)
