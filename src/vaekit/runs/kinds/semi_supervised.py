"""The semi-supervised VAE (M2) as a model kind (``vaekit train ssvae``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from vaekit.errors import VaekitError
from vaekit.inference.config import DEFAULT_CLASSIFIER_WEIGHT, MIN_DEFAULT_ALPHA_PER_EXAMPLE
from vaekit.models import (
    VAE,
    AuxiliarySemiSupervisedVAE,
    AuxiliarySemiSupervisedVAEConfig,
    SemiSupervisedVAE,
    SemiSupervisedVAEConfig,
    StackedSemiSupervisedVAE,
    StackedSemiSupervisedVAEConfig,
)
from vaekit.runs.defaults import DEFAULT_FIRST_STAGE_EPOCHS, SSVAE_DEFAULTS, ssvae_default_epochs
from vaekit.runs.evaluate import evaluate_ss_run, write_ss_figures
from vaekit.runs.kinds.flags import (
    add_evaluation_flags,
    add_image_flags,
    add_training_flags,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from vaekit.runs.kinds.image import EXAMPLE_ROWS, ImageKind
from vaekit.runs.registry import TrainRequest
from vaekit.runs.store import Run, split_train_val

#: A 0.2 ssvae run stored no classification weight: its default was the paper's alpha = 0.1 N,
#: which a resumed 0.2 run keeps (see :attr:`SemiSupervisedKind.legacy_arguments`).
PAPERS_ALPHA = "0.1 N"

#: The semi-supervised stories ``--model`` chooses from: the same command, run folder, figures,
#: sampling and evaluation, one more latent in the story.
SEMI_SUPERVISED_STORIES: dict[str, tuple[type[SemiSupervisedVAE], type[SemiSupervisedVAEConfig]]] = {
    "m2": (SemiSupervisedVAE, SemiSupervisedVAEConfig),
    "adgm": (AuxiliarySemiSupervisedVAE, AuxiliarySemiSupervisedVAEConfig),
    "m1m2": (StackedSemiSupervisedVAE, StackedSemiSupervisedVAEConfig),
}


class SemiSupervisedKind(ImageKind):
    """The semi-supervised VAE (Kingma et al. 2014, M2): the class label as a partially observed
    variable."""

    command = "ssvae"
    model_class = SemiSupervisedVAE
    config_class = SemiSupervisedVAEConfig
    help = "semi-supervised VAE (Kingma et al. 2014, M2): the class label as a partially observed variable"
    noun = "a semi-supervised VAE run"
    has_labels = True
    partial_note = "given where labelled, summed out where not"
    other_models = (
        (AuxiliarySemiSupervisedVAE, AuxiliarySemiSupervisedVAEConfig),
        (StackedSemiSupervisedVAE, StackedSemiSupervisedVAEConfig),
    )
    legacy_arguments: Mapping[str, Any] = {"classifier_weight": PAPERS_ALPHA}
    image_metrics = staticmethod(evaluate_ss_run)
    image_figures = staticmethod(write_ss_figures)

    def add_arguments(self, parser: Any) -> None:
        arch = add_image_flags(
            parser, hidden=500, encoder_help="body of the classifier and the z encoder (mlp)"
        )
        arch.add_argument(
            "--model",
            choices=tuple(SEMI_SUPERVISED_STORIES),
            default="m2",
            help="the story: m2 (Kingma et al. 2014); adgm, M2 with an auxiliary latent a "
            "(Maaloe et al. 2016); or m1m2, M2 on the latent codes of an image VAE trained first "
            "(Kingma et al. 2014) (m2)",
        )
        arch.add_argument(
            "--classifier-dropout",
            type=float,
            default=None,
            metavar="P",
            help="dropout on the hidden units of the classifier q(y|x) in training, mlp encoder "
            f"({SemiSupervisedVAEConfig.classifier_dropout:g})",
        )
        arch.add_argument(
            "--first-stage-epochs",
            type=positive_int,
            default=None,
            metavar="E",
            help=f"epochs of m1m2's first stage, the image VAE (M1) ({DEFAULT_FIRST_STAGE_EPOCHS})",
        )
        arch.add_argument(
            "--aux-dim",
            type=positive_int,
            default=None,
            metavar="A",
            help=f"size of adgm's auxiliary latent a ({AuxiliarySemiSupervisedVAEConfig.aux_dim})",
        )
        arch.add_argument(
            "--labels",
            type=non_negative_int,
            required=True,
            metavar="N",
            help="labelled training images, balanced over the classes and chosen by the seed "
            "(0: unsupervised)",
        )
        weight = arch.add_mutually_exclusive_group()
        weight.add_argument(
            "--classifier-weight",
            type=non_negative_float,
            default=None,
            metavar="W",
            help="weight of log q(y|x) per labelled image, relative to its ELBO: alpha = W * labels "
            f"(default {DEFAULT_CLASSIFIER_WEIGHT:g}, Pyro's tutorial's, with alpha at least "
            f"{MIN_DEFAULT_ALPHA_PER_EXAMPLE:g} * training images)",
        )
        weight.add_argument(
            "--alpha",
            type=non_negative_float,
            default=None,
            help="total weight of the classification term alpha * E[log q(y|x)] instead of "
            "--classifier-weight (the paper's choice is 0.1 * training set size)",
        )
        add_training_flags(parser)
        add_evaluation_flags(parser)
        # epochs=None: resolved by encoder (SSVAE_DEFAULTS) once the arguments are parsed.
        parser.set_defaults(
            epochs=None,
            batch_size=SSVAE_DEFAULTS["batch_size"],
            lr_schedule=SSVAE_DEFAULTS["lr_schedule"],
            keep=SSVAE_DEFAULTS["keep"],
        )

    def train(self, request: TrainRequest) -> Run | None:
        from vaekit.runs.ss_vae import check_label_budget, train_ssvae

        args = request.args
        model_class, config_class = SEMI_SUPERVISED_STORIES[args.model]
        story_fields = {"aux_dim": args.aux_dim} if args.aux_dim is not None else {}
        if args.classifier_dropout is not None:
            story_fields["classifier_dropout"] = args.classifier_dropout
        if "aux_dim" in story_fields and model_class is not AuxiliarySemiSupervisedVAE:
            raise VaekitError("--aux-dim sizes adgm's auxiliary latent: give it with --model adgm")
        if args.first_stage_epochs is not None and model_class is not StackedSemiSupervisedVAE:
            raise VaekitError(
                "--first-stage-epochs sets the epochs of m1m2's image VAE: give it with --model m1m2"
            )
        if args.epochs is None:
            args.epochs = ssvae_default_epochs(args.encoder)
        if args.objective != "elbo":
            raise VaekitError(
                "the semi-supervised VAE trains with its own ELBO and classifier term: --objective elbo"
            )
        train_config = self.train_config(args)
        dataset, data_settings = self.load_data(args)
        model_config = self.model_config(
            args, dataset, config_class=config_class, num_classes=dataset.num_classes, **story_fields
        )
        num_train = len(
            split_train_val(len(dataset.train_images), train_config.val_fraction, train_config.seed)[0]
        )
        check_label_budget(args.labels, num_train, dataset.num_classes)
        alpha, classifier_weight = args.alpha, args.classifier_weight
        if classifier_weight == PAPERS_ALPHA:  # a 0.2 run resumed: its default was the paper's alpha
            classifier_weight = None
            alpha = 0.1 * num_train if alpha is None else alpha
        request.begin()
        return train_ssvae(
            dataset,
            model_config,
            train_config,
            request.run_dir,
            num_labels=args.labels,
            model_class=model_class,
            alpha=alpha,
            classifier_weight=classifier_weight,
            first_stage_epochs=args.first_stage_epochs,
            data_settings=data_settings,
            iw_samples=args.iw_samples,
            iw_examples=args.iw_examples,
            progress=request.progress,
            resume=request.resume,
        )

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        # The batch twice, with labels and without: y is observed in one trace, latent in the other.
        ((images,),) = super().example_arguments(model)
        labels = torch.zeros(EXAMPLE_ROWS, dtype=torch.long, device=model.device)
        return [(images, labels), (images, None)]
