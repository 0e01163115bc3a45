"""The training objective for stories with discrete latents: the ELBO summed over them exactly."""

from __future__ import annotations

from collections.abc import Mapping

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
        self,
        *,
        max_plate_nesting: int = 1,
        num_particles: int = 1,
        classifier_weight: float = 0.0,
        shares: Mapping[str, float] | None = None,
    ) -> None:
        if shares is not None and (
            not shares or min(shares.values()) < 0 or abs(sum(shares.values()) - 1) > 1e-6
        ):
            raise ValueError(
                f"shares must be non-negative fractions of the data set summing to 1, got {shares}"
            )
        self.shares = dict(shares) if shares is not None else None
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
        if isinstance(batch, Mapping):
            # One batch per part of the data set (the rows that give a label, those that do not),
            # each weighted by its share of the data set: the same objective in expectation as
            # batches drawn from all rows, but every step sees labelled rows.
            if self.shares is None or set(batch) - set(self.shares):
                raise ValueError(f"batches of parts {sorted(batch)} need the parts' shares of the data set")
            loss: torch.Tensor | float = 0.0
            elbo: torch.Tensor | float = 0.0
            examples = 0
            for part, tensors in batch.items():
                part_loss, part_elbo = self._loss(vae, tensors)
                loss = loss + self.shares[part] * part_loss
                elbo = elbo + self.shares[part] * part_elbo
                examples += tensors[0].shape[0]
            return StepResult(torch.as_tensor(loss), {"elbo": torch.as_tensor(elbo)}, examples)
        loss, elbo = self._loss(vae, batch)
        return StepResult(loss, {"elbo": elbo}, batch[0].shape[0])

    def _loss(self, vae: VAE, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss per example of one batch (the classification term included) and its ELBO."""
        num_examples = batch[0].shape[0]
        loss = self.elbo.differentiable_loss(vae.model, vae.guide, *batch) / num_examples
        elbo = -loss.detach()
        if self.classifier_weight and getattr(vae, "partial_sites", ()):
            for q, values, given in vae.classifiers(*batch).values():  # type: ignore[operator]
                # Missing rows (-1 or NaN) are scored at 0 and then dropped: a NaN even in the
                # dropped branch of the where would make the gradient NaN.
                known = torch.where(given, values, torch.zeros_like(values))
                log_q = torch.where(given, q.log_prob(known), torch.zeros_like(values, dtype=loss.dtype))
                loss = loss - self.classifier_weight * log_q.sum() / num_examples
        return loss, elbo

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
