"""Figures of a synthetic-data quality report (:func:`vaekit.evaluation.synthetic_quality.quality_report`).

Each figure draws at most a screenful, whatever the table's width: the worst columns or pairs first,
:data:`MAX_BARS` bars, :data:`MAX_PANELS` panels and a :data:`MAX_HEATMAP` by :data:`MAX_HEATMAP`
heatmap, so a table of 1,000 columns draws no more than one of 10.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vaekit.plots.figures import new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "MAX_BARS",
    "MAX_HEATMAP",
    "MAX_PANELS",
    "distance_to_closest_record",
    "missing_shares",
    "pair_heatmap",
    "shape_distances",
    "worst_marginals",
]

_REAL_COLOUR, _SYNTHETIC_COLOUR, _BASELINE_COLOUR = "tab:blue", "tab:orange", "0.2"
#: Bars of a bar chart (the worst columns),
MAX_BARS = 25
#: panels of the marginals figure (the worst columns),
MAX_PANELS = 12
#: columns of the pair heatmap,
MAX_HEATMAP = 20
#: bars per category panel (the most frequent levels), labels cut to this many characters.
MAX_LEVELS_SHOWN = 12
MAX_LABEL_CHARS = 18


def _label(text: Any) -> str:
    text = str(text)
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def _more(shown: int, total: int, what: str) -> str:
    return f" (the worst {shown} of {total} {what})" if total > shown else ""


def shape_distances(shapes: Sequence[Mapping[str, Any]]) -> Figure:
    """Horizontal bars of each column's distance, synthetic against held-out, worst at the top, with a
    mark at the distance between training and held-out rows (what sampling alone gives)."""
    shown = [entry for entry in shapes if entry["distance"] is not None][:MAX_BARS]
    figure = new_figure(7.5, 1.2 + 0.28 * max(len(shown), 1))
    ax = figure.add_subplot()
    y = np.arange(len(shown))[::-1]
    colours = [_REAL_COLOUR if entry["kind"] == "number" else _SYNTHETIC_COLOUR for entry in shown]
    ax.barh(y, [entry["distance"] for entry in shown], color=colours, height=0.7)
    baseline = [(position, entry.get("baseline")) for position, entry in zip(y, shown, strict=True)]
    marks = [(position, value) for position, value in baseline if value is not None]
    if marks:
        ax.scatter(
            [value for _, value in marks],
            [position for position, _ in marks],
            marker="|",
            s=160,
            color=_BASELINE_COLOUR,
            label="train vs held-out",
            zorder=3,
        )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(y, labels=[_label(entry["column"]) for entry in shown], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("KS statistic (numbers, blue) / total variation (categories, orange)")
    ax.set_title(
        "Column shapes: synthetic vs held-out" + _more(len(shown), len(shapes), "columns"), fontsize=10
    )
    return figure


def worst_marginals(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str], columns: Sequence[str]
) -> Figure:
    """Held-out and synthetic values of the first :data:`MAX_PANELS` of ``columns`` (give them worst
    first): histograms of numbers, bars of the most frequent levels."""
    columns = list(columns)[:MAX_PANELS]
    ncols = min(4, max(len(columns), 1))
    nrows = max(math.ceil(len(columns) / ncols), 1)
    figure = new_figure(3.1 * ncols, 2.5 * nrows)
    for position, name in enumerate(columns):
        ax = figure.add_subplot(nrows, ncols, position + 1)
        a, b = real[name].dropna(), synthetic[name].dropna()
        if kinds[name] == "number":
            a, b = a.to_numpy(float), b.to_numpy(float)
            values = np.concatenate([a, b])
            low, high = np.percentile(values, [0.5, 99.5]) if len(values) else (0.0, 1.0)
            bins = np.linspace(low, high, 30) if high > low else 10
            ax.hist(a, bins=bins, density=True, color=_REAL_COLOUR, alpha=0.55, label="held-out")
            ax.hist(b, bins=bins, density=True, color=_SYNTHETIC_COLOUR, alpha=0.55, label="synthetic")
        else:
            shares_a = a.astype(str).value_counts(normalize=True)
            shares_b = b.astype(str).value_counts(normalize=True)
            levels = list(
                shares_a.add(shares_b, fill_value=0).sort_values(ascending=False).index[:MAX_LEVELS_SHOWN]
            )
            x = np.arange(len(levels))
            ax.bar(
                x - 0.2,
                shares_a.reindex(levels, fill_value=0),
                width=0.4,
                color=_REAL_COLOUR,
                label="held-out",
            )
            ax.bar(
                x + 0.2,
                shares_b.reindex(levels, fill_value=0),
                width=0.4,
                color=_SYNTHETIC_COLOUR,
                label="synthetic",
            )
            ax.set_xticks(x, labels=[_label(level) for level in levels], rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(_label(name), fontsize=9)
        if position == 0:
            ax.legend(fontsize=7)
    figure.suptitle("The worst columns, held-out (blue) and synthetic (orange)", fontsize=10)
    return figure


def pair_heatmap(columns: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> Figure:
    """The pair-trend distances of the first :data:`MAX_HEATMAP` of ``columns`` (give them worst
    first) as a heatmap, 0 (white: same trend) to 1."""
    shown = list(columns)[:MAX_HEATMAP]
    values = np.array(
        [[np.nan if value is None else value for value in row[: len(shown)]] for row in matrix[: len(shown)]],
        dtype=float,
    )
    side = 2.2 + 0.24 * len(shown)
    figure = new_figure(side + 1.2, side)
    ax = figure.add_subplot()
    image = ax.imshow(
        values,
        vmin=0,
        vmax=max(0.3, float(np.nanmax(values)) if np.isfinite(values).any() else 0.3),
        cmap="Reds",
    )
    ticks = np.arange(len(shown))
    labels = [_label(name) for name in shown]
    ax.set_xticks(ticks, labels=labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(ticks, labels=labels, fontsize=7)
    figure.colorbar(image, ax=ax, shrink=0.8, label="pair distance")
    ax.set_title("Pair trends: distance per pair" + _more(len(shown), len(columns), "columns"), fontsize=10)
    return figure


def missing_shares(entries: Sequence[Mapping[str, Any]]) -> Figure:
    """Each column's share of missing cells, held-out beside synthetic, largest difference first."""
    shown = list(entries)[:MAX_BARS]
    figure = new_figure(7.5, 1.2 + 0.3 * max(len(shown), 1))
    ax = figure.add_subplot()
    y = np.arange(len(shown))[::-1]
    ax.barh(y + 0.18, [entry["real"] for entry in shown], height=0.36, color=_REAL_COLOUR, label="held-out")
    ax.barh(
        y - 0.18,
        [entry["synthetic"] for entry in shown],
        height=0.36,
        color=_SYNTHETIC_COLOUR,
        label="synthetic",
    )
    ax.set_yticks(y, labels=[_label(entry["column"]) for entry in shown], fontsize=8)
    ax.set_xlabel("share of missing cells")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Missing cells per column" + _more(len(shown), len(entries), "columns"), fontsize=10)
    return figure


def distance_to_closest_record(histogram: Mapping[str, Sequence[float]]) -> Figure:
    """Histograms of the distance to the closest training row, synthetic beside held-out rows."""
    edges = np.asarray(histogram["edges"], dtype=float)
    figure = new_figure(7.5, 3.0)
    ax = figure.add_subplot()
    for name, colour, label in (
        ("held_out", _REAL_COLOUR, "held-out rows"),
        ("synthetic", _SYNTHETIC_COLOUR, "synthetic rows"),
    ):
        counts = np.asarray(histogram[name], dtype=float)
        shares = counts / counts.sum() if counts.sum() else counts
        ax.stairs(shares, edges, fill=True, alpha=0.5, color=colour, label=label)
    ax.set_xlabel("distance to the closest training row (standardised numbers, one-hot levels)")
    ax.set_ylabel("share of rows")
    ax.legend(fontsize=8)
    ax.set_title("Privacy: distance to closest record", fontsize=10)
    return figure
