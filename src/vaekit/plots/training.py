"""Figures of training progress: ELBO and its terms per epoch, and generic metric histories.

The functions read an epoch log that the training code has already written (one row per epoch)
and never touch a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vaekit.plots.figures import new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["metric_history", "training_curves"]

_SPLIT_STYLES = {"train": "-", "val": "--"}
_SPLIT_NAMES = {"train": "train", "val": "validation"}
# Panel order and titles; the ELBO has no variable suffix, the other panels one per variable.
_PANELS = (
    ("elbo", "ELBO"),
    ("log_likelihood", "reconstruction log-likelihood"),
    ("kl", "KL divergence"),
)
_COLUMN = re.compile(r"^(train|val)_(elbo|log_likelihood_(?P<ll>.+)|kl_(?P<kl>.+))$")
_PANEL_WIDTH_IN = 4.2
_PANEL_HEIGHT_IN = 3.4


def _parse_columns(columns: Sequence[str]) -> dict[str, dict[str, dict[str, str]]]:
    """Group log columns as ``{panel: {variable: {split: column}}}``, keeping column order."""
    found: dict[str, dict[str, dict[str, str]]] = {panel: {} for panel, _ in _PANELS}
    for column in columns:
        match = _COLUMN.match(str(column))
        if match is None:
            continue
        split = match.group(1)
        if match.group(2) == "elbo":
            panel, variable = "elbo", "elbo"
        elif match.group("ll") is not None:
            panel, variable = "log_likelihood", match.group("ll")
        else:
            panel, variable = "kl", match.group("kl")
        found[panel].setdefault(variable, {})[split] = str(column)
    return found


def _numeric(series: pd.Series, name: str) -> np.ndarray:
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"log column {name!r} must be numeric: {exc}") from exc


def _plot_series(ax: Axes, x: np.ndarray, y: np.ndarray, **style: object) -> None:
    # Validation often runs only every few epochs, leaving NaN rows; dropping them keeps the
    # dashed line connected instead of breaking it into invisible single points.
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        return
    # A lone point has no line segment to show, so give it a marker.
    marker = "o" if keep.sum() == 1 else None
    ax.plot(x[keep], y[keep], marker=marker, markersize=4, **style)


def _style_epoch_axis(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)


def training_curves(log: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Plot the ELBO and its terms per epoch, for training and validation.

    Parameters
    ----------
    log : pandas.DataFrame
        One row per epoch with an ``epoch`` column and any of the columns ``train_elbo``,
        ``val_elbo``, ``{split}_log_likelihood_{variable}`` and ``{split}_kl_{latent}``
        (``split`` is ``train`` or ``val``; there may be several variables and latents), all
        in nats per example. Missing columns are skipped, other columns ignored, and NaN
        entries (e.g. epochs without validation) are left out of the lines.
    title : str, optional
        Title above all panels.

    Returns
    -------
    matplotlib.figure.Figure
        Panels side by side, in this order and only when their columns are present: ELBO,
        reconstruction log-likelihood (one colour per observed variable), KL divergence (one
        colour per latent variable). Training is drawn solid, validation dashed, in the same
        colour for the same variable; every line in ``fig.axes[i].get_lines()`` is data.

    Raises
    ------
    ValueError
        If ``log`` has no rows, no ``epoch`` column, no ELBO/term column, or non-numeric values.
    """
    if len(log.index) == 0:
        raise ValueError("the training log is empty: there are no epochs to plot")
    if "epoch" not in log.columns:
        raise ValueError(f"the training log needs an 'epoch' column, got columns {list(log.columns)}")
    found = _parse_columns(list(log.columns))
    panels = [(panel, panel_title) for panel, panel_title in _PANELS if found[panel]]
    if not panels:
        raise ValueError(
            "the training log has no columns to plot; expected names like 'train_elbo', "
            f"'val_log_likelihood_x' or 'train_kl_z', got {list(log.columns)}"
        )

    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    palette = colormaps["tab10"].colors
    epochs = _numeric(log["epoch"], "epoch")
    fig = new_figure(_PANEL_WIDTH_IN * len(panels), _PANEL_HEIGHT_IN + (0.4 if title else 0.0))
    axes = fig.subplots(1, len(panels), sharex=True, squeeze=False)[0]

    for ax, (panel, panel_title) in zip(axes, panels, strict=True):
        variables = found[panel]
        handles = []
        for i, (variable, columns) in enumerate(variables.items()):
            colour = palette[i % len(palette)]
            for split in ("train", "val"):
                if split in columns:
                    values = _numeric(log[columns[split]], columns[split])
                    _plot_series(ax, epochs, values, color=colour, linestyle=_SPLIT_STYLES[split])
            if panel != "elbo":
                handles.append(Line2D([], [], color=colour, label=variable))
        # The legend explains colour (variable) and line style (split) separately, which stays
        # short with many variables, instead of one entry per drawn line.
        splits = [s for s in ("train", "val") if any(s in cols for cols in variables.values())]
        handles += [
            Line2D([], [], color="0.3", linestyle=_SPLIT_STYLES[s], label=_SPLIT_NAMES[s]) for s in splits
        ]
        ax.legend(handles=handles, fontsize=8)
        ax.set_title(panel_title)
        ax.set_ylabel("nats per example")
        _style_epoch_axis(ax)

    if title:
        fig.suptitle(title)
    return fig


def metric_history(
    epochs: Sequence[int],
    values: Mapping[str, Sequence[float]],
    *,
    ylabel: str,
    title: str | None = None,
) -> Figure:
    """Plot one or more metrics per epoch, e.g. a classifier's accuracy.

    Parameters
    ----------
    epochs : sequence of int
        Shape ``(E,)``: the epoch of each value.
    values : mapping of str to sequence of float
        Series name to its values, each of shape ``(E,)``. NaN entries are left out of the line.
    ylabel : str
        Label of the y axis (what is measured, with its unit).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one line per series, in mapping order, and a legend.

    Raises
    ------
    ValueError
        If there are no epochs or no series, or a series' length differs from ``epochs``.
    """
    x = np.asarray(epochs, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"epochs must be a non-empty 1-D sequence, got shape {x.shape}")
    if not values:
        raise ValueError("values must contain at least one series")
    series = {}
    for name, ys in values.items():
        y = np.asarray(ys, dtype=np.float64)
        if y.shape != x.shape:
            raise ValueError(f"series {name!r} has shape {y.shape}, but epochs has shape {x.shape}")
        series[str(name)] = y

    fig = new_figure(6.0, 4.0 + (0.3 if title else 0.0))
    ax = fig.add_subplot()
    for name, y in series.items():
        _plot_series(ax, x, y, label=name)
    ax.legend(fontsize=9)
    ax.set_ylabel(ylabel)
    _style_epoch_axis(ax)
    if title:
        ax.set_title(title)
    return fig
