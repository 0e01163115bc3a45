"""Default settings of the run commands, kept apart from the runs themselves so that the command
line can read them without importing pandas and the table machinery; the architectures' defaults
are their model configs', read from there."""

from __future__ import annotations

from typing import Any

from vaekit.inference.config import TrainConfig
from vaekit.models import SequenceVAEConfig, TabularVAEConfig

#: Defaults of ``vaekit train tabular`` (where they differ from the image models'), chosen on the
#: reference data: the importance-weighted bound (8 draws) over 600 epochs of a cosine-decayed
#: learning rate, a small network (wider ones fit the 9,000 training rows more closely and
#: held-out rows less: the model config's defaults, kept there alone), and the last epoch's
#: weights, as the settled ones.
TABULAR_DEFAULTS: dict[str, Any] = {
    "epochs": 600,
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


def ssvae_default_epochs(encoder: str) -> int:
    """Epochs of a ``vaekit train ssvae`` run with ``encoder`` when ``--epochs`` is not given."""
    return int(SSVAE_DEFAULTS["epochs"][encoder])


#: Draws of z per row in the default importance-weighted bound.
TABULAR_DEFAULT_PARTICLES = 8


def default_train_config(**changes: Any) -> TrainConfig:
    """The training settings of ``vaekit train tabular`` (:data:`TABULAR_DEFAULTS`), with ``changes``."""
    settings = {
        key: TABULAR_DEFAULTS[key] for key in ("epochs", "batch_size", "lr_schedule", "objective", "keep")
    }
    settings["num_particles"] = TABULAR_DEFAULT_PARTICLES
    return TrainConfig(**{**settings, **changes})
