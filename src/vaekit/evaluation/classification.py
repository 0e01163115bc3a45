"""Classification metrics of a model with a classifier q(y | x)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment


@torch.no_grad()
def predict_classes(classify: object, x: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Most probable class of q(y | x) per example; ``classify(x)`` returns a Categorical."""
    predictions = [classify(batch).logits.argmax(-1).cpu() for batch in x.split(batch_size)]  # type: ignore[operator]
    return torch.cat(predictions)


def accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of correct predictions over all examples."""
    if predicted.shape != labels.shape:
        raise ValueError(
            f"predictions {tuple(predicted.shape)} and labels {tuple(labels.shape)} differ in shape"
        )
    return float((predicted == labels).float().mean())


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``, shape ``(num_classes, num_classes)``."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels.numpy(), predicted.numpy()), 1)
    return matrix


def clustering_accuracy(
    predicted: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> tuple[float, np.ndarray]:
    """Accuracy under the best one-to-one matching of clusters to classes (Hungarian algorithm).

    Returns the accuracy and ``mapping`` with ``mapping[cluster] = class``.
    """
    counts = confusion_matrix(predicted, labels, num_classes)  # [class, cluster]
    classes, clusters = linear_sum_assignment(counts, maximize=True)
    mapping = np.empty(num_classes, dtype=np.int64)
    mapping[clusters] = classes
    return float(counts[classes, clusters].sum() / max(len(labels), 1)), mapping
