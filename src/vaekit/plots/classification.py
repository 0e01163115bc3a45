"""Figures of a classifier's performance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vaekit.plots.figures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_NAMED_CLASSES", "confusion_matrix"]

#: Classes up to which the matrix names them and writes each share; beyond, the figure keeps this size.
MAX_NAMED_CLASSES = 40


def confusion_matrix(counts: np.ndarray, class_names: Sequence[str], *, title: str | None = None) -> Figure:
    """Heat map of a confusion matrix, each row normalised to the share of its true class.

    Up to :data:`MAX_NAMED_CLASSES` classes the axes name them and each cell shows its share; with
    more, the heat map alone, at the size of that many classes.

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
    # Bounded by what a figure can show: beyond MAX_NAMED_CLASSES the cells are too small for names
    # and shares, and the figure stops growing.
    many = len(class_names) > MAX_NAMED_CLASSES
    size = 1.2 + 0.55 * min(len(class_names), MAX_NAMED_CLASSES)
    figure = new_figure(size + 1.5, size)
    ax = figure.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    if many:
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ticks = np.arange(len(class_names))
        ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right")
        ax.set_yticks(ticks, labels=list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (row, column), share in np.ndenumerate(shares if not many else np.zeros((0, 0))):
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
