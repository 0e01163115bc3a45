"""Training run of the semi-supervised VAE (M2), and the partly labelled data it takes."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit.data import ImageDataset
from vaekit.errors import VaekitError
from vaekit.evaluation import accuracy, clustering_accuracy, predict_classes
from vaekit.inference import FitResult, SemiSupervisedObjective, TrainConfig, fit
from vaekit.inference.semi_supervised import resolve_alpha
from vaekit.models import VAE, SemiSupervisedVAE, SemiSupervisedVAEConfig
from vaekit.runs.defaults import DEFAULT_FIRST_STAGE_EPOCHS
from vaekit.runs.evaluate import evaluate_ss_run, write_ss_figures
from vaekit.runs.images import (
    ImageSource,
    binarize_batch,
    check_image_shape,
    image_data_settings,
    seen_test_images,
    split_images,
)
from vaekit.runs.store import DEFAULT_IW_EXAMPLES, DEFAULT_IW_SAMPLES, Run
from vaekit.runs.training_run import train_run

#: Marks a missing label in an integer label vector (NaN does the same in a float one).
MISSING_LABEL = -1


def choose_labelled(labels: torch.Tensor, num_labels: int, num_classes: int, seed: int) -> torch.Tensor:
    """Indices of ``num_labels`` examples balanced over the classes, chosen by ``seed``.

    Each class gets ``num_labels // num_classes`` examples and the remainder goes, one each, to
    classes picked by the seed; a class with too few examples gives all it has.
    """
    if num_labels < 0:
        raise VaekitError(f"--labels must not be negative, got {num_labels}")
    generator = torch.Generator().manual_seed(seed)
    if num_labels >= len(labels):
        return torch.arange(len(labels))
    per_class = torch.full((num_classes,), num_labels // num_classes)
    per_class[torch.randperm(num_classes, generator=generator)[: num_labels % num_classes]] += 1
    chosen = []
    for k in range(num_classes):
        members = torch.nonzero(labels == k).squeeze(1)
        chosen.append(members[torch.randperm(len(members), generator=generator)[: int(per_class[k])]])
    return torch.cat(chosen).sort().values


def check_label_budget(num_labels: int, num_train: int, num_classes: int) -> None:
    """Refuse a ``--labels`` that cannot be honoured, before anything is written.

    More labels than training images (what is left after the validation split), or fewer than
    one per class, would silently train another experiment than the one asked for.
    """
    if num_labels > num_train:
        raise VaekitError(
            f"--labels {num_labels} is more than the {num_train} training images left after the "
            f"validation split; use at most --labels {num_train} (every training image labelled)"
        )
    if 0 < num_labels < num_classes:
        raise VaekitError(
            f"--labels {num_labels} is fewer than the {num_classes} classes: each class needs at least one "
            "labelled image (or use --labels 0 to train without labels: q(y | x) then clusters)"
        )


def _warn_unlabelled_classes(labels: torch.Tensor, observed: torch.Tensor, num_classes: int) -> None:
    """Warn when some class has no labelled example: q(y | x) then never learns its name."""
    if not observed.any():
        return
    seen = torch.bincount(labels[observed], minlength=num_classes)
    missing = torch.nonzero(seen == 0).squeeze(1).tolist()
    if missing:
        warnings.warn(
            f"{len(missing)} of {num_classes} classes have no labelled example ({missing[:10]}): "
            "the classifier cannot learn to predict them",
            stacklevel=3,
        )


def _split_partial_labels(
    images: torch.Tensor, labels: torch.Tensor | np.ndarray, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a label vector with missing entries; return (labelled mask, integer labels)."""
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or len(labels) != len(images):
        raise VaekitError(
            f"the label vector must have one entry per image: got shape {tuple(labels.shape)} "
            f"for {len(images)} images"
        )
    if labels.is_floating_point():
        missing = torch.isnan(labels) | (labels == MISSING_LABEL)
        if not torch.equal(labels[~missing], labels[~missing].round()):
            raise VaekitError("labels must be whole numbers (class indices), NaN or -1 for missing")
        labels = torch.where(missing, torch.full_like(labels, MISSING_LABEL), labels).long()
    else:
        labels = labels.long()
    observed = labels != MISSING_LABEL
    bad = observed & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        first = int(torch.nonzero(bad)[0])
        raise VaekitError(
            f"label {int(labels[first])} of image {first} is outside the classes 0..{num_classes - 1} "
            f"(use {MISSING_LABEL} or NaN for a missing label)"
        )
    return observed, labels


def fit_first_stage(
    model: SemiSupervisedVAE,
    images: torch.Tensor,
    val_images: torch.Tensor,
    config: TrainConfig,
    *,
    batch_transform: Callable[[Any], Any] | None = None,
    resume: bool = False,
) -> FitResult | None:
    """Train the part of ``model`` that is trained alone (its :meth:`first_stage`) on every image,
    with its own ELBO, and freeze it; nothing for a model without one.

    The labels play no part: M1 of M1+M2 learns its codes from the images alone. A resumed run
    skips the stage, whose frozen weights are in the checkpoint of the second; the first stage
    writes no checkpoint of its own (it is short: a run stopped in it is started again).
    """
    first = model.first_stage()
    if first is None:
        return None
    result = None
    if not resume:
        result = fit(first, (images,), (val_images,), config, batch_transform=batch_transform)
    first.requires_grad_(False)
    return result


def fit_semi_supervised(
    model: SemiSupervisedVAE,
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray,
    val_images: torch.Tensor,
    val_labels: torch.Tensor,
    config: TrainConfig,
    *,
    alpha: float | None = None,
    classifier_weight: float | None = None,
    run_dir: str | Path | None = None,
    batch_transform: Callable[[Any], Any] | None = None,
    epoch_metrics: Callable[[Any], dict[str, float]] | None = None,
    resume: bool = False,
) -> tuple[FitResult, SemiSupervisedObjective]:
    """Fit the M2 model on images whose labels are partly missing.

    ``labels`` has one entry per image: a class index, or ``-1``/NaN where the label is missing.
    All labelled (supervised), none labelled (unsupervised: q(y | x) then clusters) and anything
    between work. ``val_labels`` are only used to report the validation accuracy; the best
    weights are chosen on the validation ELBO, which needs no label. The classification term
    weighs ``classifier_weight`` per labelled example, or ``alpha`` in total (the paper's form);
    with neither, the default of :func:`~vaekit.inference.semi_supervised.resolve_alpha`.
    """
    classes = model.config.num_classes
    observed, labels = _split_partial_labels(images, labels, classes)
    _warn_unlabelled_classes(labels, observed, classes)
    _split_partial_labels(val_images, val_labels, classes)
    train: dict[str, tuple[torch.Tensor, ...]] = {}
    if observed.any():
        train["labelled"] = (images[observed], labels[observed])
    if (~observed).any():
        train["unlabelled"] = (images[~observed],)
    objective = SemiSupervisedObjective(
        num_labelled=int(observed.sum()),
        num_unlabelled=int((~observed).sum()),
        alpha=alpha,
        classifier_weight=classifier_weight,
        num_particles=config.num_particles,
    )
    result = fit(
        model,
        train,
        (val_images, torch.as_tensor(val_labels).long()),
        config,
        objective=objective,
        run_dir=run_dir,
        batch_transform=batch_transform,
        epoch_metrics=epoch_metrics,
        resume=resume,
    )
    return result, objective


def train_ssvae(
    dataset: ImageDataset,
    model_config: SemiSupervisedVAEConfig,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    num_labels: int,
    model_class: type[SemiSupervisedVAE] = SemiSupervisedVAE,
    alpha: float | None = None,
    classifier_weight: float | None = None,
    data_settings: ImageSource | dict[str, Any] | None = None,
    first_stage_epochs: int | None = None,
    iw_samples: int = DEFAULT_IW_SAMPLES,
    iw_examples: int | None = DEFAULT_IW_EXAMPLES,
    figures: bool = True,
    progress: bool = True,
    resume: bool = False,
) -> Run | None:
    """Train the semi-supervised VAE with ``num_labels`` labelled training images and write a run folder.

    ``model_class`` is the story: M2, or :class:`~vaekit.models.AuxiliarySemiSupervisedVAE` (with an
    ``AuxiliarySemiSupervisedVAEConfig``). The validation set is held out of the training set
    first; ``num_labels`` images of the rest,
    balanced over the classes and chosen by the seed, keep their labels, and the others are
    used without. The classification term weighs ``classifier_weight`` per labelled image
    (alpha = classifier_weight * labels), or ``alpha`` in total; with neither, 46 per labelled
    image and at least 2.5 per training image
    (:func:`~vaekit.inference.semi_supervised.resolve_alpha`). The test accuracy
    of q(y | x) is recorded after every epoch (it never influences training) and in
    ``metrics.json``. A story with a first stage (M1 of
    :class:`~vaekit.models.StackedSemiSupervisedVAE`) trains it first, for ``first_stage_epochs``
    (:data:`DEFAULT_FIRST_STAGE_EPOCHS` by default), on every training image without labels
    (:func:`fit_first_stage`). ``resume`` continues the run from its last
    checkpoint. Returns ``None`` on the processes other than the global rank 0 of a distributed
    run: only rank 0 writes the run folder and evaluates.
    """

    has_first_stage = model_class.first_stage is not SemiSupervisedVAE.first_stage
    if first_stage_epochs is None:
        first_stage_epochs = DEFAULT_FIRST_STAGE_EPOCHS
    if first_stage_epochs < 1:
        raise VaekitError(f"first_stage_epochs must be at least 1, got {first_stage_epochs}")
    if type(model_config) is not model_class.config_class:
        raise VaekitError(
            f"a {model_class.__name__} is built from a {model_class.config_class.__name__}, "
            f"not a {type(model_config).__name__}"
        )
    check_image_shape(model_config.image_shape, dataset)
    if model_config.num_classes != dataset.num_classes:
        raise VaekitError(f"the model has {model_config.num_classes} classes, the data {dataset.num_classes}")
    split = split_images(dataset, train_config, binarized=model_config.binarize)
    train_index, val_images = split.train_index, split.val_images
    check_label_budget(num_labels, len(train_index), model_config.num_classes)
    train_images, train_labels = dataset.train_images[train_index], dataset.train_labels[train_index]
    labelled = choose_labelled(train_labels, num_labels, model_config.num_classes, train_config.seed)
    partial = torch.full_like(train_labels, MISSING_LABEL)
    partial[labelled] = train_labels[labelled]
    val_labels = dataset.train_labels[split.val_index]
    test = seen_test_images(dataset, binarized=model_config.binarize, seed=train_config.seed)
    supervised = len(labelled) > 0

    def test_accuracy(model: SemiSupervisedVAE) -> dict[str, float]:
        predicted = predict_classes(model.classify, test.to(model.device))
        if supervised:
            return {"test_accuracy": accuracy(predicted, dataset.test_labels)}
        return {
            "test_accuracy": clustering_accuracy(predicted, dataset.test_labels, model_config.num_classes)[0]
        }

    num_labelled = len(labelled)
    alpha = resolve_alpha(num_labelled, len(train_index), alpha=alpha, classifier_weight=classifier_weight)

    def fit_model(model: VAE, run_path: Path) -> FitResult:
        fit_first_stage(
            model,  # type: ignore[arg-type]
            train_images,
            val_images,
            replace(train_config, epochs=first_stage_epochs, early_stopping=None),
            batch_transform=binarize_batch if model_config.binarize else None,
            resume=resume,
        )
        result, _ = fit_semi_supervised(
            model,  # type: ignore[arg-type]
            train_images,
            partial,
            val_images,
            val_labels,
            train_config,
            alpha=alpha,
            run_dir=run_path,
            batch_transform=binarize_batch if model_config.binarize else None,
            epoch_metrics=test_accuracy,
            resume=resume,
        )
        return result

    classifier_weight = round(alpha / num_labelled, 6) if num_labelled else None
    stage_settings = {"first_stage_epochs": first_stage_epochs} if has_first_stage else {}
    run = train_run(
        model_class,
        model_config,
        train_config,
        run_dir,
        data=image_data_settings(dataset, data_settings),
        fit_model=fit_model,
        resume=resume,
        extra_config={
            "labels": num_labelled,
            "alpha": alpha,
            "classifier_weight": classifier_weight,
            **stage_settings,
        },
        extra_metrics=lambda result: {
            "labels": num_labelled,
            "alpha": alpha,
            "classifier_weight": classifier_weight,
            "accuracy_history": [round(row["test_accuracy"], 4) for row in result.history],
            "val_accuracy_history": [
                round(row["val_accuracy"], 4) for row in result.history if "val_accuracy" in row
            ],
        },
    )
    if run is None:  # another rank of a distributed run
        return None
    evaluate_ss_run(run, dataset=dataset, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress)
    if figures:
        write_ss_figures(run, dataset)
    return run
