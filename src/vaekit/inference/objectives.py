"""Objectives: what one training or validation step computes from a model and a batch.

The training loop (:mod:`vaekit.inference.training`) is the same for every model; an objective
says how a batch becomes a loss and the terms logged beside it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch

from vaekit.importance import log_importance_weights
from vaekit.inference.losses import TermwiseELBO
from vaekit.models.base import VAE

Batch = Any  # a tuple of tensors, or a mapping of names to tuples of tensors


@dataclass(frozen=True)
class StepResult:
    """One step's outcome.

    Attributes
    ----------
    loss:
        Differentiable loss to minimise, per example.
    terms:
        Detached per-example averages to log; the objective's ``selection_term`` must be among
        the validation terms: the best weights are chosen on it.
    num_examples:
        Examples the averages are over, to weight them into epoch means.
    term_counts:
        For a term averaged over some of the batch's examples only (the labelled rows of a
        table, say), how many: the epoch mean then weighs it by that count. A count of 0 leaves
        the batch out of that term's mean (its value is then ignored, and may be anything finite).
    """

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]
    num_examples: int
    term_counts: dict[str, torch.Tensor | int] = field(default_factory=dict)


class Objective(ABC):
    """How a batch becomes a loss. Define :meth:`training`; override :meth:`validation` when the
    validation batches differ from the training ones."""

    #: The validation term on which the best weights are chosen (and early stopping decides).
    selection_term: str = "elbo"

    @abstractmethod
    def training(self, vae: VAE, batch: Batch) -> StepResult:
        """Loss and terms of a training batch."""

    def validation(self, vae: VAE, batch: Batch) -> StepResult:
        """Terms of a validation batch; the training computation by default."""
        return self.training(vae, batch)


class ELBOObjective(Objective):
    """Maximise the ELBO of ``vae.model``/``vae.guide`` on batches of tensors passed as arguments."""

    def __init__(self, elbo: TermwiseELBO) -> None:
        self.elbo = elbo

    def training(self, vae: VAE, batch: Batch) -> StepResult:
        estimate = self.elbo(vae.model, vae.guide, *batch)
        return StepResult(estimate.loss, estimate.terms(), batch[0].shape[0])


class ImportanceWeightedObjective(Objective):
    """Maximise the importance-weighted bound (IWAE, Burda et al. 2016) with ``num_particles`` draws.

    With K draws of z per example the bound ``logsumexp_k log w_k - log K`` lies between the ELBO
    (K = 1) and log p(x); maximising it fits the generative model to the data more closely than
    the ELBO does, at K times the cost of a step. The logged terms are ``iwae`` (the bound) and
    ``elbo`` (the mean log-weight), both per example. The best weights are chosen on ``iwae``,
    the bound being maximised: the ELBO of an IWAE-trained model can fall while log p(x) rises.
    """

    selection_term = "iwae"

    def __init__(self, num_particles: int) -> None:
        if num_particles < 1:
            raise ValueError(f"num_particles must be at least 1, got {num_particles}")
        self.num_particles = num_particles

    def training(self, vae: VAE, batch: Batch) -> StepResult:
        log_weights = log_importance_weights(
            vae.model,
            vae.guide,
            tuple(batch),
            num_particles=self.num_particles,
            max_plate_nesting=vae.max_plate_nesting,
        )
        bound = torch.logsumexp(log_weights, 0) - math.log(self.num_particles)
        terms = {"elbo": log_weights.mean().detach(), "iwae": bound.mean().detach()}
        return StepResult(-bound.mean(), terms, batch[0].shape[0])
