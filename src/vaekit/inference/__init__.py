"""Inference: ELBO losses with their terms, and the Lightning training loop around them."""

from vaekit.inference.config import TrainConfig as TrainConfig
from vaekit.inference.losses import ELBOEstimate as ELBOEstimate
from vaekit.inference.losses import TermwiseELBO as TermwiseELBO
from vaekit.inference.training import FitResult as FitResult
from vaekit.inference.training import fit as fit

__all__ = ["ELBOEstimate", "TermwiseELBO", "TrainConfig", "FitResult", "fit"]
