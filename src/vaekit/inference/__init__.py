"""Inference: ELBO losses with their terms, and the Lightning training loop around them."""

from vaekit.importance import log_importance_weights as log_importance_weights
from vaekit.inference.config import TrainConfig as TrainConfig
from vaekit.inference.losses import ELBOEstimate as ELBOEstimate
from vaekit.inference.losses import TermwiseELBO as TermwiseELBO
from vaekit.inference.objectives import ELBOObjective as ELBOObjective
from vaekit.inference.objectives import ImportanceWeightedObjective as ImportanceWeightedObjective
from vaekit.inference.objectives import Objective as Objective
from vaekit.inference.objectives import StepResult as StepResult
from vaekit.inference.semi_supervised import SemiSupervisedObjective as SemiSupervisedObjective
from vaekit.inference.training import FitResult as FitResult
from vaekit.inference.training import build_optimizer as build_optimizer
from vaekit.inference.training import fit as fit

__all__ = [
    "ELBOEstimate",
    "ELBOObjective",
    "FitResult",
    "ImportanceWeightedObjective",
    "Objective",
    "SemiSupervisedObjective",
    "StepResult",
    "TermwiseELBO",
    "TrainConfig",
    "build_optimizer",
    "fit",
    "log_importance_weights",
]
