"""Objectives: what one training or validation step computes from a model and a batch.

The training loop (:mod:`vaekit.inference.training`) is the same for every model; an objective
says how a batch becomes a loss and the terms logged beside it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch

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
        Detached per-example averages to log (``elbo`` must be among the validation terms: the
        best weights are chosen on it).
    num_examples:
        Examples the averages are over, to weight them into epoch means.
    """

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]
    num_examples: int


class Objective(ABC):
    """How a batch becomes a loss. Define :meth:`training`; override :meth:`validation` when the
    validation batches differ from the training ones."""

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
