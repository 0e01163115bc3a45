"""Figures of sequences: a few real sequences beside a few drawn from the model, as line plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vaekit.plots.figures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["sequence_samples"]

#: Value columns drawn at most (one row of panels each).
MAX_COLUMNS = 6


def sequence_samples(
    data: Sequence[np.ndarray],
    model: Sequence[np.ndarray],
    column_names: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """One row of panels per value column: real sequences on the left, sampled ones on the right.

    Parameters
    ----------
    data, model:
        Sequences as arrays ``(steps, columns)``, of any lengths; each is one line per panel. Cells
        that are NaN (missing) leave a gap in their line.
    column_names:
        Names of the columns, in order; the first :data:`MAX_COLUMNS` are drawn.
    """
    if not data or not model:
        raise ValueError("sequence_samples needs at least one real and one sampled sequence")
    names = list(column_names)[:MAX_COLUMNS]
    for sequence in (*data, *model):
        if np.ndim(sequence) != 2 or np.shape(sequence)[1] < len(names):
            raise ValueError(f"each sequence must be (steps, columns) with {len(names)} columns")
    figure = new_figure(9.0, 2.3 * len(names) + 0.6)
    axes = figure.subplots(len(names), 2, sharex=True, squeeze=False)
    colours = [f"C{k % 10}" for k in range(max(len(data), len(model)))]
    for row, name in enumerate(names):
        values = np.concatenate([np.asarray(s, dtype=float)[:, row] for s in (*data, *model)])
        finite = values[np.isfinite(values)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        margin = 0.05 * (high - low) or 0.5
        for column, (label, sequences) in enumerate((("data", data), ("model", model))):
            ax = axes[row, column]
            for colour, sequence in zip(colours, sequences, strict=False):
                y = np.asarray(sequence, dtype=float)[:, row]
                ax.plot(np.arange(len(y)), y, color=colour, linewidth=1.2, alpha=0.85)
            ax.set_ylim(low - margin, high + margin)
            if row == 0:
                ax.set_title(f"{label}: {len(sequences)} sequences", fontsize=10)
            if column == 0:
                ax.set_ylabel(name)
        axes[-1, 0].set_xlabel("step")
        axes[-1, 1].set_xlabel("step")
    if title:
        figure.suptitle(title)
    return figure
