"""The semi-supervised objective of Kingma et al. (2014), M2."""

from __future__ import annotations

import pyro
import torch
from pyro.infer import TraceEnum_ELBO
from pyro.infer.util import is_validation_enabled

from vaekit.inference.config import DEFAULT_CLASSIFIER_WEIGHT, MIN_DEFAULT_ALPHA_PER_EXAMPLE
from vaekit.inference.losses import TermwiseELBO
from vaekit.inference.objectives import Batch, Objective, StepResult
from vaekit.models.base import VAE


def resolve_alpha(
    num_labelled: int, num_examples: int, *, alpha: float | None, classifier_weight: float | None
) -> float:
    """The total weight alpha of the classification term, from at most one of its two forms.

    ``alpha`` is the paper's total weight; ``classifier_weight`` the weight per labelled example
    (``alpha = classifier_weight * num_labelled``). With neither, the default is
    ``max(DEFAULT_CLASSIFIER_WEIGHT * num_labelled, MIN_DEFAULT_ALPHA_PER_EXAMPLE * num_examples)``
    (no floor without labels), ``num_examples`` counting labelled and unlabelled examples.
    """
    if alpha is not None and classifier_weight is not None:
        raise ValueError("give the classification weight once: alpha or classifier_weight, not both")
    if alpha is None and classifier_weight is None:
        if num_labelled == 0:
            return 0.0
        return max(DEFAULT_CLASSIFIER_WEIGHT * num_labelled, MIN_DEFAULT_ALPHA_PER_EXAMPLE * num_examples)
    if alpha is None:
        weight = float(classifier_weight)
        if weight < 0:
            raise ValueError(f"classifier_weight must not be negative, got {classifier_weight}")
        return weight * num_labelled
    if alpha < 0:
        raise ValueError(f"alpha must not be negative, got {alpha}")
    return float(alpha)


def _classification_log_likelihood(vae: VAE, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log q(y | x) per labelled example: the model's own estimate where it has one."""
    estimate = getattr(vae, "classification_log_likelihood", None)
    return estimate(x, y) if estimate is not None else vae.classify(x).log_prob(y)


class SemiSupervisedObjective(Objective):
    """J^alpha = sum_labelled ELBO(x, y) + sum_unlabelled ELBO(x) + alpha * E_labelled[log q(y | x)].

    Written per training example (divided by N = N_labelled + N_unlabelled), each minibatch
    part scaled to its share of the data set so that every step estimates the whole objective:

    * labelled batches ``(x, y)`` observe y; their ELBO is :class:`TermwiseELBO`'s and they
      never enumerate;
    * unlabelled batches ``(x,)`` leave y latent, and Pyro's ``TraceEnum_ELBO`` sums it out
      exactly over the classes (the guide marks y for parallel enumeration);
    * the classification term ``alpha * E[log q(y | x)]`` sees only labelled examples. It is
      given either as ``alpha`` (the paper's total weight; the paper's own choice is ``0.1 * N``)
      or, by default, as ``classifier_weight`` per labelled example (``alpha = classifier_weight *
      N_labelled``): relative to a labelled example's ELBO its log q(y | x) counts that many times,
      whatever the share of labels. The default, :data:`DEFAULT_CLASSIFIER_WEIGHT`, is the weight of
      Pyro's tutorial of this model (its ``aux_loss_multiplier``), with alpha at least
      :data:`MIN_DEFAULT_ALPHA_PER_EXAMPLE` per example (see :func:`resolve_alpha`).

    The model must take ``(x, y=None)`` and expose ``classify(x)`` returning q(y | x), as
    :class:`~vaekit.models.SemiSupervisedVAE` does; a model whose classifier reads a latent of its
    own (the auxiliary a of :class:`~vaekit.models.AuxiliarySemiSupervisedVAE`) estimates the term
    itself with ``classification_log_likelihood(x, y)``.

    Training batches are mappings with ``"labelled"`` and/or ``"unlabelled"`` entries; validation
    batches are ``(x, y)``, scored without their labels (the ELBO with y summed out, which needs
    no label and so selects weights without spending any) and by classification accuracy.
    """

    def __init__(
        self,
        *,
        num_labelled: int,
        num_unlabelled: int,
        alpha: float | None = None,
        classifier_weight: float | None = None,
        num_particles: int = 1,
    ) -> None:
        if num_labelled < 0 or num_unlabelled < 0 or num_labelled + num_unlabelled == 0:
            raise ValueError(f"bad data set sizes: {num_labelled} labelled, {num_unlabelled} unlabelled")
        self.num_labelled, self.num_unlabelled = num_labelled, num_unlabelled
        self.alpha = resolve_alpha(
            num_labelled, num_labelled + num_unlabelled, alpha=alpha, classifier_weight=classifier_weight
        )
        self.labelled_elbo = TermwiseELBO(max_plate_nesting=1, num_particles=num_particles)
        self.unlabelled_elbo = TraceEnum_ELBO(
            max_plate_nesting=1, num_particles=num_particles, vectorize_particles=num_particles > 1
        )
        self._checked = False

    def unlabelled_loss(self, vae: VAE, x: torch.Tensor, *, differentiable: bool = True) -> torch.Tensor:
        """-ELBO(x) per example with y summed out exactly."""
        # As in TermwiseELBO: Pyro's checks on the first batch, not on every one.
        with pyro.validation_enabled(is_validation_enabled() and not self._checked):
            if differentiable:
                loss = self.unlabelled_elbo.differentiable_loss(vae.model, vae.guide, x)
            else:
                loss = torch.as_tensor(self.unlabelled_elbo.loss(vae.model, vae.guide, x), device=x.device)
        self._checked = True
        return loss / x.shape[0]

    def training(self, vae: VAE, batch: Batch) -> StepResult:
        total = self.num_labelled + self.num_unlabelled
        terms: dict[str, torch.Tensor] = {}
        loss: torch.Tensor | float = 0.0
        elbo: torch.Tensor | float = 0.0
        examples = 0
        if "labelled" in batch:
            x, y = batch["labelled"]
            estimate = self.labelled_elbo(vae.model, vae.guide, x, y)
            log_q = _classification_log_likelihood(vae, x, y)
            share = self.num_labelled / total
            loss = loss + share * estimate.loss - self.alpha / total * log_q.mean()
            elbo = elbo + share * estimate.elbo
            terms["elbo_labelled"] = estimate.elbo
            terms["classification_log_likelihood"] = log_q.mean().detach()
            examples += x.shape[0]
        if "unlabelled" in batch:
            (x,) = batch["unlabelled"]
            unlabelled = self.unlabelled_loss(vae, x)
            share = self.num_unlabelled / total
            loss = loss + share * unlabelled
            elbo = elbo - share * unlabelled.detach()
            terms["elbo_unlabelled"] = -unlabelled.detach()
            examples += x.shape[0]
        if not examples:
            raise ValueError("a semi-supervised batch needs a 'labelled' or an 'unlabelled' part")
        terms = {"elbo": torch.as_tensor(elbo), **terms}
        return StepResult(torch.as_tensor(loss), terms, examples)

    def validation(self, vae: VAE, batch: Batch) -> StepResult:
        x, y = batch
        with torch.no_grad():
            unlabelled = self.unlabelled_loss(vae, x, differentiable=False)
            terms = {"elbo": -unlabelled}
            # Without any label q(y | x) clusters: its raw agreement with the classes means nothing.
            if self.num_labelled:
                terms["accuracy"] = (vae.classify(x).logits.argmax(-1) == y).float().mean()
        return StepResult(unlabelled, terms, x.shape[0])


class TargetColumnObjective(Objective):
    """M2's objective for a table whose target column is partly given, in batches that mix rows.

    Per row, ``-ELBO(row) - classifier_weight * log q(y | x) * [row labelled]``: the ELBO with y
    summed out exactly by ``TraceEnum_ELBO`` (the guide of a labelled row puts its mass on the label,
    which makes its sum the ELBO with y observed: :class:`~vaekit.models.TargetedTabularVAE`), and
    the classification term, ``classifier_weight`` per labelled row, as
    :class:`SemiSupervisedObjective` weighs it (``alpha = classifier_weight * N_labelled``). A
    batch's loss is its rows' mean, an unbiased estimate of the objective per row of the table.

    The model must take the encoded table ``(values, observed)`` and expose ``classify(values,
    observed)`` (q(y | x)) and ``split(values, observed)`` (the labels and which rows have them).
    Validation logs the accuracy of q(y | x) on the labelled validation rows beside the ELBO; the
    weights are chosen on the ELBO, which needs no label.
    """

    def __init__(
        self, *, classifier_weight: float = DEFAULT_CLASSIFIER_WEIGHT, num_particles: int = 1
    ) -> None:
        if classifier_weight < 0:
            raise ValueError(f"classifier_weight must not be negative, got {classifier_weight}")
        self.classifier_weight = float(classifier_weight)
        self.elbo = TraceEnum_ELBO(
            max_plate_nesting=1, num_particles=num_particles, vectorize_particles=num_particles > 1
        )
        self._checked = False

    def _negative_elbo(
        self, vae: VAE, values: torch.Tensor, observed: torch.Tensor, *, differentiable: bool = True
    ) -> torch.Tensor:
        # As in TermwiseELBO: Pyro's checks on the first batch, not on every one.
        with pyro.validation_enabled(is_validation_enabled() and not self._checked):
            if differentiable:
                loss = self.elbo.differentiable_loss(vae.model, vae.guide, values, observed)
            else:
                loss = torch.as_tensor(
                    self.elbo.loss(vae.model, vae.guide, values, observed), device=values.device
                )
        self._checked = True
        return loss / values.shape[0]

    def _classification(
        self, vae: VAE, values: torch.Tensor, observed: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Per row: log q(y | x) at the label (0 where none), whether labelled, whether right."""
        _, _, labels, labelled = vae.split(values, observed)
        q = vae.classify(values, observed)
        log_q = torch.where(labelled, q.log_prob(labels), torch.zeros_like(labels, dtype=values.dtype))
        return log_q, labelled, q.logits.argmax(-1) == labels

    def training(self, vae: VAE, batch: Batch) -> StepResult:
        values, observed = batch
        negative_elbo = self._negative_elbo(vae, values, observed)
        log_q, labelled, _ = self._classification(vae, values, observed)
        loss = negative_elbo - self.classifier_weight * log_q.sum() / values.shape[0]
        labelled_rows = labelled.sum()
        terms = {
            "elbo": -negative_elbo.detach(),
            "classification_log_likelihood": log_q.sum().detach() / labelled_rows.clamp_min(1),
        }
        counts = {"classification_log_likelihood": labelled_rows}
        return StepResult(loss, terms, values.shape[0], counts)

    def validation(self, vae: VAE, batch: Batch) -> StepResult:
        values, observed = batch
        with torch.no_grad():
            negative_elbo = self._negative_elbo(vae, values, observed, differentiable=False)
            _, labelled, right = self._classification(vae, values, observed)
        labelled_rows = labelled.sum()
        accuracy = (right & labelled).sum().to(values.dtype) / labelled_rows.clamp_min(1)
        terms = {"elbo": -negative_elbo, "accuracy": accuracy}
        return StepResult(negative_elbo, terms, values.shape[0], {"accuracy": labelled_rows})
