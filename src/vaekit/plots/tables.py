"""Figures of tables: the data's marginals and pairs beside the model's synthetic rows."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vaekit.plots.figures import new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["MAX_LEVELS_SHOWN", "MAX_PANELS", "MAX_POINTS", "column_marginals", "pairwise_scatter"]

_DATA_COLOUR, _MODEL_COLOUR = "tab:blue", "tab:orange"
#: The work of each figure is bounded by what it can show, whatever the size of the table:
#: panels of :func:`column_marginals` (the worst-fitting columns, or the first; the title says how
#: many are left out),
MAX_PANELS = 30
#: bars per categorical panel (the most frequent levels), with tick labels cut to this many characters,
MAX_LEVELS_SHOWN = 30
MAX_LABEL_CHARS = 20
#: and points per scatter panel (a seeded random subset of the rows).
MAX_POINTS = 5000


def _label(level: str) -> str:
    return level if len(level) <= MAX_LABEL_CHARS else level[: MAX_LABEL_CHARS - 3] + "..."


def _subset(table: pd.DataFrame, rows: int = MAX_POINTS) -> pd.DataFrame:
    """At most ``rows`` rows of ``table``, drawn at random with a fixed seed, in their order."""
    if len(table) <= rows:
        return table
    chosen = np.sort(np.random.default_rng(0).choice(len(table), size=rows, replace=False))
    return table.iloc[chosen]


def column_marginals(
    data: pd.DataFrame,
    model: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    with_levels: Collection[str] = (),
    title: str | None = None,
    distances: Mapping[str, float | None] | None = None,
) -> Figure:
    """One panel per column: a histogram of data and model values (numeric), or bars of level shares.

    At most :data:`MAX_PANELS` columns are drawn (the title says how many more there are), and at
    most :data:`MAX_LEVELS_SHOWN` levels per column, the most frequent in data and model together.
    With ``distances`` (each column's distance between data and model: Kolmogorov-Smirnov for
    numbers, total variation for levels, as
    :func:`vaekit.evaluation.synthetic_quality.column_distance` gives them)
    the worst-fitting columns are drawn first, each panel's title saying its distance: on a wide
    table the panels drawn are those a reader most needs to see.

    Parameters
    ----------
    data, model:
        Tables with the same columns (held-out rows and synthetic rows); missing cells are skipped.
    kinds:
        Each column to draw, in order, with the name of its kind for the panel's title.
    with_levels:
        The columns that hold levels, drawn as bars of their shares; the others hold numbers, drawn
        as histograms (what each column's kind says: ``vaekit.data.tabular.ColumnKind.has_levels``).
    """
    columns = list(kinds)
    if not columns:
        raise ValueError("no columns to plot")
    if distances is not None:
        # Worst first; ties keep the table's order, and columns without a distance come last.
        columns = sorted(columns, key=lambda name: 1.0 if distances.get(name) is None else -distances[name])
    left_out = len(columns) - MAX_PANELS
    columns = columns[:MAX_PANELS]
    ncols = min(3, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    figure = new_figure(4.2 * ncols, 3.0 * nrows)
    for position, name in enumerate(columns):
        ax = figure.add_subplot(nrows, ncols, position + 1)
        a, b = data[name].dropna(), model[name].dropna()
        if name in with_levels:
            counts_a = a.astype(str).value_counts(normalize=True)
            counts_b = b.astype(str).value_counts(normalize=True)
            both = counts_a.add(counts_b, fill_value=0).sort_values(ascending=False, kind="stable")
            levels = sorted(both.index[:MAX_LEVELS_SHOWN])
            x = np.arange(len(levels))
            share_a = counts_a.reindex(levels, fill_value=0)
            share_b = counts_b.reindex(levels, fill_value=0)
            ax.bar(x - 0.2, share_a.to_numpy(), width=0.4, color=_DATA_COLOUR, label="data")
            ax.bar(x + 0.2, share_b.to_numpy(), width=0.4, color=_MODEL_COLOUR, label="model")
            labels = [_label(level) for level in levels]
            ax.set_xticks(x, labels=labels, rotation=45 if len(levels) > 4 else 0, ha="right")
            ax.set_ylabel("share")
        else:
            values = np.concatenate([a.to_numpy(float), b.to_numpy(float)])
            low, high = np.nanpercentile(values, [0.5, 99.5]) if len(values) else (0.0, 1.0)
            bins = np.linspace(low, high, 50) if high > low else 10
            ax.hist(a.to_numpy(float), bins=bins, density=True, color=_DATA_COLOUR, alpha=0.55, label="data")
            ax.hist(
                b.to_numpy(float), bins=bins, density=True, color=_MODEL_COLOUR, alpha=0.55, label="model"
            )
            ax.set_ylabel("density")
        distance = None if distances is None else distances.get(name)
        said = "" if distance is None else f", {'TV' if name in with_levels else 'KS'} {distance:.2f}"
        ax.set_title(f"{_label(str(name))} ({kinds[name]}{said})", fontsize=10)
        if position == 0:
            ax.legend(fontsize=8)
    if left_out > 0:
        which = f"{MAX_PANELS} worst-fitting" if distances is not None else f"first {MAX_PANELS}"
        title = f"{title + ': ' if title else ''}the {which} columns ({left_out} more not drawn)"
    if title:
        figure.suptitle(title)
    return figure


def pairwise_scatter(
    data: pd.DataFrame, model: pd.DataFrame, columns: Sequence[str], *, title: str | None = None
) -> Figure:
    """Scatter plots of every pair of ``columns``: data on the left of each pair, model on the right.

    Each panel draws at most :data:`MAX_POINTS` rows (a seeded random subset) of its table.
    """
    columns = list(columns)
    if len(columns) < 2:
        raise ValueError("a pairwise scatter needs at least two columns")
    data, model = _subset(data), _subset(model)
    pairs = [(a, b) for i, a in enumerate(columns) for b in columns[i + 1 :]]
    figure = new_figure(7.6, 3.4 * len(pairs))
    for row, (x_name, y_name) in enumerate(pairs):
        both = np.concatenate(
            [data[[x_name, y_name]].dropna().to_numpy(float), model[[x_name, y_name]].to_numpy(float)]
        )
        x_limits = np.nanpercentile(both[:, 0], [0.5, 99.5])
        y_limits = np.nanpercentile(both[:, 1], [0.5, 99.5])
        for column, (table, label, colour) in enumerate(
            ((data, "data", _DATA_COLOUR), (model, "model", _MODEL_COLOUR))
        ):
            ax = figure.add_subplot(len(pairs), 2, 2 * row + column + 1)
            ax.scatter(table[x_name], table[y_name], s=3, alpha=0.35, color=colour, linewidths=0)
            ax.set_xlim(*x_limits)
            ax.set_ylim(*y_limits)
            ax.set_xlabel(x_name)
            ax.set_ylabel(y_name)
            ax.set_title(label, fontsize=10)
    if title:
        figure.suptitle(title)
    return figure
