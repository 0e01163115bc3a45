"""Figures of images and of the latent space: grids, reconstructions, manifolds, scatters.

All functions take plain numpy arrays (already decoded or encoded by the caller) and return a
:class:`matplotlib.figure.Figure`; none of them runs a model.

Image grids are drawn as a single mosaic array in one axes instead of one axes per image: a
20 x 20 latent manifold would otherwise create 400 axes, which is slow to lay out and render.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vaekit.plots.figures import DEFAULT_DPI, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MAX_GRID_IMAGES",
    "MAX_SCATTER_POINTS",
    "image_grid",
    "latent_manifold",
    "latent_scatter",
    "reconstruction_grid",
]

#: Most images one grid tiles (100 by 100): more would not be told apart in one picture.
MAX_GRID_IMAGES = 10_000
#: Most points a latent scatter draws (a seeded subset): more would only cover one another.
MAX_SCATTER_POINTS = 20_000

_MAX_RECONSTRUCTION_COLUMNS = 16
_TARGET_GRID_INCHES = 8.0
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _as_nhwc(images: np.ndarray, name: str) -> np.ndarray:
    """Validate an image batch and return it as float ``(N, H, W, C)`` in [0, 1]."""
    arr = np.asarray(images)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[..., np.newaxis]
    elif arr.ndim == 4:
        if arr.shape[1] not in (1, 3):
            hint = ""
            if arr.shape[-1] in (1, 3):
                hint = "; it looks channels-last, transpose it with .transpose(0, 3, 1, 2)"
            raise ValueError(
                f"{name} must have shape (N, C, H, W) with C = 1 (grey) or 3 (RGB), "
                f"got shape {arr.shape}{hint}"
            )
        arr = arr.transpose(0, 2, 3, 1)
    else:
        raise ValueError(
            f"{name} must have shape (N, C, H, W) or (N, H, W), got {arr.ndim}-D shape {arr.shape}"
        )
    if 0 in arr.shape:
        raise ValueError(f"{name} must hold at least one non-empty image, got shape {np.shape(images)}")
    if np.issubdtype(arr.dtype, np.integer) and arr.max() > 1:
        # Catches 0-255 uint8 data, which clipping would silently turn into an all-white grid.
        raise ValueError(f"{name} must have values in [0, 1], got integers up to {arr.max()}; divide by 255")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    # Decoder means of Gaussian likelihoods stray slightly outside [0, 1]; clip like imshow would.
    return np.clip(arr, 0.0, 1.0)


def _tile(
    images: np.ndarray, ncols: int, *, group_rows: int = 0
) -> tuple[np.ndarray, list[float], list[float]]:
    """Tile ``(N, H, W, C)`` images row-major into a mosaic with NaN gaps.

    ``group_rows`` > 0 widens the gap after every ``group_rows`` rows, so that row pairs (data /
    model) read as units. Returns the ``(rows, cols, C)`` mosaic and the centre coordinate of
    every grid row and column, in mosaic pixels, for placing tick labels.
    """
    n, h, w, c = images.shape
    nrows = math.ceil(n / ncols)
    gap = max(1, round(0.06 * max(h, w)))
    group_gap = 4 * gap

    row_tops = []
    top = 0
    for r in range(nrows):
        if r > 0:
            top += group_gap if group_rows and r % group_rows == 0 else gap
        row_tops.append(top)
        top += h
    col_lefts = [col * (w + gap) for col in range(ncols)]

    mosaic = np.full((top, col_lefts[-1] + w, c), np.nan)
    for i in range(n):
        r, col = divmod(i, ncols)
        mosaic[row_tops[r] : row_tops[r] + h, col_lefts[col] : col_lefts[col] + w] = images[i]
    row_centres = [t + (h - 1) / 2 for t in row_tops]
    col_centres = [left + (w - 1) / 2 for left in col_lefts]
    return mosaic, row_centres, col_centres


def _mosaic_figure(
    mosaic: np.ndarray,
    nrows: int,
    ncols: int,
    *,
    left_in: float = 0.1,
    bottom_in: float = 0.1,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Create a figure sized to the mosaic and draw it, gaps transparent, without ticks."""
    height_px, width_px = mosaic.shape[:2]
    # Aim at about 8 inches for the larger side, but never below one screen pixel per image
    # pixel, so small grids stay readable and large ones do not lose their thin gaps.
    # A few images should not be blown up to poster size either, hence the cap per grid cell.
    per_px = min(
        _TARGET_GRID_INCHES / max(width_px, height_px), 1.2 / max(width_px / ncols, height_px / nrows)
    )
    per_px = max(per_px, 1.0 / DEFAULT_DPI)
    top_in = 0.45 if title else 0.1
    fig = new_figure(width_px * per_px + left_in + 0.1, height_px * per_px + bottom_in + top_in)
    ax = fig.add_subplot()

    if mosaic.shape[-1] == 1:
        from matplotlib import colormaps

        # Gaps are masked and drawn fully transparent, which lets the background show through
        # as a neutral separator whatever the images' own intensities are.
        cmap = colormaps["gray"].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
        ax.imshow(np.ma.masked_invalid(mosaic[..., 0]), cmap=cmap, vmin=0.0, vmax=1.0)
    else:
        alpha = np.isfinite(mosaic[..., :1]).astype(np.float64)
        ax.imshow(np.concatenate([np.nan_to_num(mosaic, nan=0.0), alpha], axis=-1))

    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return fig, ax


def _label_rows(ax: Axes, centres: Sequence[float], labels: Sequence[str]) -> None:
    ax.set_yticks(list(centres), labels=[str(label) for label in labels])
    ax.tick_params(axis="y", length=0)


def _label_width_inches(labels: Sequence[str], fontsize: float = 10.0) -> float:
    # A rough average glyph width is enough: constrained layout fixes the rest.
    longest = max((len(str(label)) for label in labels), default=0)
    return 0.25 + 0.62 * fontsize / 72 * longest


def image_grid(
    images: np.ndarray,
    *,
    ncols: int | None = None,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
) -> Figure:
    """Tile a batch of images into one grid.

    Parameters
    ----------
    images : numpy.ndarray
        Shape ``(N, C, H, W)`` with ``C`` = 1 (grey) or 3 (RGB), or ``(N, H, W)`` for grey.
        Values are expected in [0, 1]; floats slightly outside are clipped.
    ncols : int, optional
        Images per row. Default ``ceil(sqrt(N))``, which gives a square-ish grid.
    title : str, optional
        Title above the grid.
    row_labels : sequence of str, optional
        One label per grid row, written to the left of the row (e.g. one row per class).

    Returns
    -------
    matplotlib.figure.Figure
        One axes showing the images row-major, separated by thin gaps, without ticks.

    Raises
    ------
    ValueError
        If ``images`` has another shape, non-finite values or 0-255 integers, if ``ncols`` is
        not a positive integer, if ``row_labels`` does not have one entry per row, or if there are
        more than :data:`MAX_GRID_IMAGES` images.
    """
    if len(images) > MAX_GRID_IMAGES:
        raise ValueError(f"a grid shows at most {MAX_GRID_IMAGES:,} images, got {len(images):,}")
    arr = _as_nhwc(images, "images")
    n = arr.shape[0]
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    elif isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(
            f"row_labels needs one label per grid row: {n} images in {ncols} columns make "
            f"{nrows} rows, got {len(row_labels)} labels"
        )

    mosaic, row_centres, _ = _tile(arr, ncols)
    left_in = _label_width_inches(row_labels) if row_labels is not None else 0.1
    fig, ax = _mosaic_figure(mosaic, nrows, ncols, left_in=left_in, title=title)
    if row_labels is not None:
        _label_rows(ax, row_centres, row_labels)
    return fig


def reconstruction_grid(
    originals: np.ndarray, reconstructions: np.ndarray, *, title: str | None = None
) -> Figure:
    """Show inputs above their reconstructions.

    Parameters
    ----------
    originals : numpy.ndarray
        Shape ``(N, C, H, W)`` or ``(N, H, W)``, values in [0, 1].
    reconstructions : numpy.ndarray
        Same shape as ``originals`` (a missing grey channel axis on one of them is tolerated);
        ``reconstructions[i]`` is the model's reconstruction of ``originals[i]``.
    title : str, optional
        Title above the grid.

    Returns
    -------
    matplotlib.figure.Figure
        Row pairs labelled "data" and "model". Up to 16 images fit in one pair; more are
        wrapped into several pairs of equal width, with a wider gap between pairs.

    Raises
    ------
    ValueError
        If either array has an invalid shape or values, or their shapes differ.
    """
    data = _as_nhwc(originals, "originals")
    model = _as_nhwc(reconstructions, "reconstructions")
    if data.shape != model.shape:
        raise ValueError(
            "originals and reconstructions must have the same shape, got "
            f"{np.shape(originals)} and {np.shape(reconstructions)}"
        )
    n = data.shape[0]
    pairs = math.ceil(n / _MAX_RECONSTRUCTION_COLUMNS)
    # Balanced pairs (20 images -> 2 x 10) read better than one full pair and a short one.
    ncols = math.ceil(n / pairs)

    # Pad to whole rows so that each reconstruction sits right below its original; padding is
    # NaN, which the mosaic draws as an empty (transparent) cell.
    padded = pairs * ncols
    pad = np.full((padded - n, *data.shape[1:]), np.nan)
    data_rows = np.concatenate([data, pad]).reshape(pairs, 1, ncols, *data.shape[1:])
    model_rows = np.concatenate([model, pad]).reshape(pairs, 1, ncols, *data.shape[1:])
    interleaved = np.concatenate([data_rows, model_rows], axis=1).reshape(padded * 2, *data.shape[1:])

    mosaic, row_centres, _ = _tile(interleaved, ncols, group_rows=2)
    labels = ["data", "model"] * pairs
    fig, ax = _mosaic_figure(mosaic, 2 * pairs, ncols, left_in=_label_width_inches(labels), title=title)
    _label_rows(ax, row_centres, labels)
    return fig


def _format_z(value: float) -> str:
    return f"{value:.3g}".replace("-", "\N{MINUS SIGN}")


def latent_manifold(images: np.ndarray, grid_values: np.ndarray, *, title: str | None = None) -> Figure:
    """Show images decoded over a regular grid of 2-D latent points.

    Parameters
    ----------
    images : numpy.ndarray
        Shape ``(n * n, C, H, W)`` or ``(n * n, H, W)``, values in [0, 1], row-major: image
        ``i * n + j`` was decoded at ``z = (grid_values[j], grid_values[n - 1 - i])``, i.e. the
        first latent coordinate runs along the columns (left to right, increasing) and the
        second along the rows (top row = largest value).
    grid_values : numpy.ndarray
        Shape ``(n,)``, strictly increasing; the values used for both latent coordinates.
    title : str, optional
        Title above the grid.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the grid values as tick labels, ``z1`` on the x axis, ``z2`` on the y axis.

    Raises
    ------
    ValueError
        If ``grid_values`` is not a strictly increasing finite 1-D array, or ``images`` does not
        hold exactly ``n * n`` valid images.
    """
    values = np.asarray(grid_values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"grid_values must be a non-empty 1-D array, got shape {values.shape}")
    if not np.isfinite(values).all() or (values.size > 1 and not (np.diff(values) > 0).all()):
        raise ValueError("grid_values must be finite and strictly increasing")
    arr = _as_nhwc(images, "images")
    n = values.size
    if arr.shape[0] != n * n:
        raise ValueError(f"images must hold n * n = {n * n} images for {n} grid values, got {arr.shape[0]}")

    mosaic, row_centres, col_centres = _tile(arr, n)
    fontsize = 8.0 if n > 10 else 9.0
    y_labels = [_format_z(v) for v in values[::-1]]
    fig, ax = _mosaic_figure(
        mosaic,
        n,
        n,
        left_in=_label_width_inches(y_labels, fontsize) + 0.3,
        bottom_in=_label_width_inches(y_labels, fontsize) + 0.3 if n > 10 else 0.6,
        title=title,
    )
    ax.set_xticks(col_centres, labels=[_format_z(v) for v in values])
    ax.set_yticks(row_centres, labels=y_labels)
    # Crowded horizontal labels would run into each other; vertical ones have room per column.
    ax.tick_params(axis="both", length=2, labelsize=fontsize)
    ax.tick_params(axis="x", labelrotation=90 if n > 10 else 0)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    return fig


def latent_scatter(
    means: np.ndarray,
    labels: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter 2-D latent means coloured by class.

    Parameters
    ----------
    means : numpy.ndarray
        Shape ``(N, 2)``: posterior means of a 2-D latent variable, finite.
    labels : numpy.ndarray
        Shape ``(N,)``: non-negative integer class of each point.
    class_names : sequence of str, optional
        ``class_names[k]`` names class ``k`` in the legend; default the class number.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with small markers in tab10 colours (classes beyond ten reuse the colours with
        a different marker shape), a legend of the classes present, and axis labels z1, z2.

    Raises
    ------
    ValueError
        On a wrong shape, non-finite means, non-integer or negative labels, or too few
        ``class_names``.
    """
    pts = np.asarray(means)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise ValueError(f"means must have shape (N, 2) with N >= 1, got {pts.shape}")
    pts = pts.astype(np.float64)
    if not np.isfinite(pts).all():
        raise ValueError("means contains NaN or infinite values")
    cls = np.asarray(labels)
    if cls.shape != (pts.shape[0],):
        raise ValueError(f"labels must have shape ({pts.shape[0]},) to match means, got {cls.shape}")
    if not np.issubdtype(cls.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids, got dtype {cls.dtype}")
    if cls.min() < 0:
        raise ValueError(f"labels must be non-negative class ids, got {cls.min()}")
    present = np.unique(cls)
    if class_names is not None and len(class_names) <= present[-1]:
        raise ValueError(f"class_names has {len(class_names)} names but labels go up to {present[-1]}")

    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    palette = colormaps["tab10"].colors
    fig = new_figure(6.5, 5.0)
    ax = fig.add_subplot()
    # Points are drawn in a shuffled (but reproducible) order: drawing class by class would
    # bury the early classes under the later ones wherever clusters overlap. At most
    # MAX_SCATTER_POINTS of them (a seeded subset): more would only cover one another.
    order = np.random.default_rng(0).permutation(pts.shape[0])[:MAX_SCATTER_POINTS]
    marker_group = cls[order] // len(palette)
    for group in np.unique(marker_group):
        idx = order[marker_group == group]
        colours = [palette[k % len(palette)] for k in cls[idx]]
        ax.scatter(
            pts[idx, 0],
            pts[idx, 1],
            c=colours,
            s=6,
            marker=_MARKERS[group % len(_MARKERS)],
            linewidths=0,
            alpha=0.8,
        )

    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker=_MARKERS[(k // len(palette)) % len(_MARKERS)],
            markersize=6,
            color=palette[k % len(palette)],
            label=str(class_names[k]) if class_names is not None else str(k),
        )
        for k in present
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        fontsize=9,
    )
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    # The prior is isotropic, so equal units on both axes keep distances comparable.
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    return fig
