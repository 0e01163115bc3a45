"""Training settings, kept apart from a model's architecture."""

from __future__ import annotations

from dataclasses import dataclass

#: Weight of log q(y | x) per labelled example, relative to that example's ELBO: Pyro's tutorial of
#: M2 (``aux_loss_multiplier = 46``). The paper's alpha = 0.1 N gives each labelled example 0.1 N /
#: N_labelled instead (2 at 5% of labels): far too little with few labels (see the README).
DEFAULT_CLASSIFIER_WEIGHT = 46.0
#: Least total weight alpha of the classification term per training image, under the default
#: weight: alpha = max(46 * N_labelled, 2.5 * N). 2.5 is the balance 46 per label gives at 3,000
#: labels of 54,000 images, where it was validated; with fewer labels each step's gradient from the
#: labelled images would otherwise drown in the unlabelled ELBO's (see the README's figures).
MIN_DEFAULT_ALPHA_PER_EXAMPLE = 2.5


@dataclass(frozen=True)
class TrainConfig:
    """How to fit a model; the architecture lives in the model's own config.

    Parameters
    ----------
    epochs:
        Maximum number of passes over the training set.
    batch_size:
        Examples per optimisation step.
    lr:
        Adam's learning rate.
    lr_schedule:
        ``"constant"``, or ``"cosine"``: the learning rate decays to 0 along a half cosine over the
        epochs, which settles the weights at the end of a long run (density estimation gains
        from it).
    weight_decay:
        Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): each step shrinks every weight
        by ``lr * weight_decay`` of itself, which keeps a large network from fitting the noise of
        a small data set. 0 is plain Adam.
    seed:
        Seeds the validation split, shuffling and the draws during training (and, in the run
        functions of :mod:`vaekit.runs`, which build the model, its initialisation); on the CPU
        the same seed repeats a run exactly.
    val_fraction:
        Share of the training set held out to select the best weights.
    early_stopping:
        Stop after this many epochs without a better validation ELBO (the objective's
        ``selection_term``: the bound for ``"iwae"``); ``None`` never stops early. With
        ``keep="last"`` the weights kept are then those ``early_stopping`` epochs past the best.
    keep:
        Which weights the fitted model ends with: ``"best"``, those of the epoch with the best
        validation ELBO (or bound), or ``"last"``, those of the last epoch. After a learning rate
        annealed to 0 the last weights are the settled ones, and choosing among epochs on a small
        validation set picks noise as often as a better model (the default of
        ``vaekit train tabular``, :func:`vaekit.runs.defaults.default_train_config`).
    objective:
        ``"elbo"``, or ``"iwae"``: the importance-weighted bound with ``num_particles`` draws of z
        per example, which fits the generative model more closely at ``num_particles`` times the
        cost of a step (the tabular model's default). Models with their own objective (M2) take
        ``"elbo"`` only.
    num_particles:
        Samples of z per example in the training ELBO, or K of the importance-weighted bound.
    accelerator, devices, strategy, num_nodes:
        Passed to ``lightning.Trainer`` unchanged (``"cpu"``, ``"gpu"``, ``"auto"``; ``"ddp"``
        with ``devices=N``, ``num_nodes=M``). Under data parallelism ``batch_size`` is per device:
        each step averages the gradients of ``devices * num_nodes`` batches.
    progress_bar:
        Show Lightning's progress bar.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    seed: int = 0
    val_fraction: float = 0.1
    early_stopping: int | None = None
    keep: str = "best"
    objective: str = "elbo"
    num_particles: int = 1
    accelerator: str = "auto"
    devices: str | int = 1
    strategy: str = "auto"
    num_nodes: int = 1
    progress_bar: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be at least 0, got {self.weight_decay}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.keep not in ("best", "last"):
            raise ValueError(f"keep must be 'best' or 'last', got {self.keep!r}")
        if self.objective not in ("elbo", "iwae"):
            raise ValueError(f"objective must be 'elbo' or 'iwae', got {self.objective!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.num_nodes < 1:
            raise ValueError(f"num_nodes must be at least 1, got {self.num_nodes}")
        if self.early_stopping is not None and self.early_stopping < 1:
            raise ValueError(f"early_stopping patience must be at least 1, got {self.early_stopping}")
