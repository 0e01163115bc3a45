"""Evaluation: pure functions of a trained model and data (the importance weights it shares with
training live below both, in :mod:`vaekit.importance`)."""

from vaekit.evaluation.classification import accuracy as accuracy
from vaekit.evaluation.classification import clustering_accuracy as clustering_accuracy
from vaekit.evaluation.classification import confusion_matrix as confusion_matrix
from vaekit.evaluation.classification import predict_classes as predict_classes
from vaekit.evaluation.likelihood import LikelihoodEstimate as LikelihoodEstimate
from vaekit.evaluation.likelihood import estimate_log_likelihood as estimate_log_likelihood
from vaekit.evaluation.likelihood import log_importance_weights as log_importance_weights

__all__ = [
    "LikelihoodEstimate",
    "accuracy",
    "clustering_accuracy",
    "confusion_matrix",
    "estimate_log_likelihood",
    "log_importance_weights",
    "predict_classes",
]
