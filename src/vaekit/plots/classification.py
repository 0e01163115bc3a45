"""Figures of a classifier's performance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vaekit.plots.figures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["confusion_matrix"]


def confusion_matrix(counts: np.ndarray, class_names: Sequence[str], *, title: str | None = None) -> Figure:
    """Heat map of a confusion matrix, each row normalised to the share of its true class.

    Parameters
    ----------
    counts:
        Shape ``(K, K)``: ``counts[true, predicted]``.
    class_names:
        ``K`` names, in class order.
    title:
        Axes title.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(class_names):
        raise ValueError(
            f"counts must be a square matrix with one row per class name, got shape {counts.shape} "
            f"for {len(class_names)} names"
        )
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    size = 1.2 + 0.55 * len(class_names)
    figure = new_figure(size + 1.5, size)
    ax = figure.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (row, column), share in np.ndenumerate(shares):
        if counts[row, column]:
            ax.text(
                column,
                row,
                f"{share:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share > 0.5 else "black",
            )
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if title:
        ax.set_title(title)
    return figure
