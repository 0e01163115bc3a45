"""Inference: ELBO losses with their terms, the objectives built on them, and the Lightning
training loop around them.

One idea a module: :mod:`~vaekit.inference.config` (training settings), :mod:`~.losses` (the
termwise ELBO), :mod:`~.objectives` and :mod:`~.semi_supervised` (how a batch becomes a loss),
:mod:`~.optimizer`, :mod:`~.random_state` (the draws of z around validation),
:mod:`~.lightning_module` (the training step and what a checkpoint carries), :mod:`~.epoch_log`
(``log.csv``), :mod:`~.checkpoints` (checkpoint files), :mod:`~.trainer` (the Lightning trainer)
and :mod:`~.training` (:func:`fit`, which puts them together). The in-memory batch loaders are
data's (:mod:`vaekit.data.loaders`); the importance weights are shared with evaluation
(:mod:`vaekit.importance`).
"""

from vaekit.importance import log_importance_weights as log_importance_weights
from vaekit.inference.checkpoints import last_checkpoint as last_checkpoint
from vaekit.inference.config import TrainConfig as TrainConfig
from vaekit.inference.losses import ELBOEstimate as ELBOEstimate
from vaekit.inference.losses import TermwiseELBO as TermwiseELBO
from vaekit.inference.objectives import ELBOObjective as ELBOObjective
from vaekit.inference.objectives import ImportanceWeightedObjective as ImportanceWeightedObjective
from vaekit.inference.objectives import Objective as Objective
from vaekit.inference.objectives import StepResult as StepResult
from vaekit.inference.optimizer import build_optimizer as build_optimizer
from vaekit.inference.semi_supervised import SemiSupervisedObjective as SemiSupervisedObjective
from vaekit.inference.semi_supervised import TargetColumnObjective as TargetColumnObjective
from vaekit.inference.training import FitResult as FitResult
from vaekit.inference.training import fit as fit

__all__ = [
    "ELBOEstimate",
    "ELBOObjective",
    "FitResult",
    "ImportanceWeightedObjective",
    "Objective",
    "SemiSupervisedObjective",
    "TargetColumnObjective",
    "StepResult",
    "TermwiseELBO",
    "TrainConfig",
    "build_optimizer",
    "fit",
    "last_checkpoint",
    "log_importance_weights",
]
