"""Default settings of the run commands, kept apart from the runs themselves so that the command
line can read them without importing pandas and the table machinery; the architectures' defaults
are their model configs', read from there."""

from __future__ import annotations

from typing import Any

from vaekit.inference.config import TrainConfig
from vaekit.models import SequenceVAEConfig, TabularVAEConfig

#: Defaults of ``vaekit train tabular`` (where they differ from the image models'), chosen on the
#: reference data: the importance-weighted bound (8 draws) with a cosine-decayed learning rate, a
#: small network (wider ones fit the 9,000 training rows more closely and held-out rows less: the
#: model config's defaults, kept there alone), and the last epoch's weights, as the settled ones.
#: ``epochs`` is ``None``: the epochs follow from the table's length (:func:`tabular_default_epochs`).
TABULAR_DEFAULTS: dict[str, Any] = {
    "epochs": None,
    "batch_size": 128,
    "z_dim": TabularVAEConfig.z_dim,
    "hidden": TabularVAEConfig.hidden,
    "lr_schedule": "cosine",
    "objective": "iwae",
    "keep": "last",
}
#: Defaults of ``vaekit train ssvae`` (where they differ from the image VAE's), chosen on the
#: validation split of the bundled digits and of Fashion-MNIST (README, "Why these defaults"): a
#: cosine-decayed learning rate, and as many epochs as keep a default run on Fashion-MNIST (54,000
#: training images) within 20 minutes on 2 cores (measured: about 60 s per MLP epoch, 145-210 s per
#: CNN epoch; the CNN's validation accuracy peaked by its third epoch of seven), and
#: the last epoch's weights: after the annealed learning rate they classify the validation split as
#: well as or better than the epoch of the best validation ELBO.
SSVAE_DEFAULTS: dict[str, Any] = {
    "epochs": {"mlp": 20, "cnn": 5, "rnn": 5},
    "batch_size": 200,
    "lr_schedule": "cosine",
    "keep": "last",
}


#: Defaults of ``vaekit train sequence``, where they differ from the image models' (the architecture's
#: are the model config's).
SEQUENCE_DEFAULTS: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 64,
    "z_dim": SequenceVAEConfig.z_dim,
    "hidden": SequenceVAEConfig.hidden,
    "cell": SequenceVAEConfig.cell,
    "num_layers": SequenceVAEConfig.num_layers,
}


#: Epochs of the first stage (the image VAE, M1) of ``vaekit train ssvae --model m1m2`` (README,
#: "Why these defaults").
DEFAULT_FIRST_STAGE_EPOCHS = 10


def ssvae_default_epochs(encoder: str) -> int:
    """Epochs of a ``vaekit train ssvae`` run with ``encoder`` when ``--epochs`` is not given."""
    return int(SSVAE_DEFAULTS["epochs"][encoder])


#: Optimiser steps of a default tabular run (README, "Why these defaults": validation log-likelihood
#: of five real tables and the reference data against the steps trained, in
#: ``benchmarks/results/tabular_epochs.txt``).
TABULAR_STEP_BUDGET = 20_000
#: Epochs of a default tabular run at most: short tables once trained this many, and gain nothing
#: from more (the reference data's figures were measured at 600).
TABULAR_MAX_EPOCHS = 600


def tabular_default_epochs(steps_per_epoch: int) -> int:
    """Epochs of a ``vaekit train tabular`` run without ``--epochs``: enough for about
    :data:`TABULAR_STEP_BUDGET` steps, at least one and at most :data:`TABULAR_MAX_EPOCHS`, so that
    the work of a default run no longer grows with the table's length beyond a point."""
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    return max(1, min(TABULAR_MAX_EPOCHS, round(TABULAR_STEP_BUDGET / steps_per_epoch)))


def describe_default_epochs(steps_per_epoch: int, batch_size: int) -> str:
    """The line the command prints: the epochs :func:`tabular_default_epochs` chose, and why."""
    epochs = tabular_default_epochs(steps_per_epoch)
    return (
        f"epochs: {epochs} ({steps_per_epoch} steps of {batch_size} rows an epoch, "
        f"{epochs * steps_per_epoch} "
        f"steps in all: the default aims at about {TABULAR_STEP_BUDGET:,} steps, at most "
        f"{TABULAR_MAX_EPOCHS} epochs; --epochs N to change)"
    )


#: Draws of z per row in the default importance-weighted bound.
TABULAR_DEFAULT_PARTICLES = 8


def default_train_config(**changes: Any) -> TrainConfig:
    """The training settings of ``vaekit train tabular`` (:data:`TABULAR_DEFAULTS`), with ``changes``.

    The command's default epochs follow from the table's length (:func:`vaekit.runs.tabular.default_epochs`),
    which these settings cannot know: without ``epochs`` they hold :data:`TABULAR_MAX_EPOCHS`, what a
    short table gets."""
    settings = {key: TABULAR_DEFAULTS[key] for key in ("batch_size", "lr_schedule", "objective", "keep")}
    settings["epochs"] = TABULAR_MAX_EPOCHS
    settings["num_particles"] = TABULAR_DEFAULT_PARTICLES
    return TrainConfig(**{**settings, **changes})
