"""Evaluation: pure functions of a trained model and data."""

from vaekit.evaluation.likelihood import LikelihoodEstimate as LikelihoodEstimate
from vaekit.evaluation.likelihood import estimate_log_likelihood as estimate_log_likelihood
from vaekit.evaluation.likelihood import log_importance_weights as log_importance_weights

__all__ = ["LikelihoodEstimate", "estimate_log_likelihood", "log_importance_weights"]
