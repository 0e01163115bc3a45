"""Shared figure helpers: display-free figure creation and atomic PNG saving.

Figures are built with the object-oriented matplotlib API (``Figure`` plus an Agg canvas) rather
than ``pyplot``, so no global figure registry is touched, nothing needs a display, and figures are
garbage-collected like ordinary objects. matplotlib is imported inside the functions so that
importing :mod:`vaekit.plots` stays cheap for code paths that never draw.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vaekit._io import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_DPI: float = 100.0
"""Resolution of every figure made by :func:`new_figure`; saved PNGs are ``figsize * dpi`` pixels."""


def new_figure(width: float, height: float, *, dpi: float = DEFAULT_DPI) -> Figure:
    """Create an empty figure attached to an off-screen Agg canvas.

    Parameters
    ----------
    width, height : float
        Figure size in inches; both must be positive and finite.
    dpi : float, optional
        Dots per inch, used both for drawing and by :func:`save_figure`.

    Returns
    -------
    matplotlib.figure.Figure
        A figure using constrained layout, so titles, tick labels and legends placed outside
        the axes do not overlap or get clipped.

    Raises
    ------
    ValueError
        If ``width``, ``height`` or ``dpi`` is not a positive finite number.
    """
    for name, value in (("width", width), ("height", height), ("dpi", dpi)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``path`` as a PNG, atomically.

    The image is rendered into a hidden temporary file in the destination folder and then moved
    over ``path`` with :func:`os.replace`, so readers (a report, a file watcher, a later resume)
    never see a half-written PNG, and an existing file is only replaced by a complete one. The
    temporary file lives in the same folder because a rename is only atomic within one file
    system. If rendering fails the temporary file is removed and the error is re-raised.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save, at its own size and dpi (``figsize * dpi`` pixels).
    path : str or os.PathLike
        Destination; must end in ``.png``. Missing parent folders are created.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ValueError
        If ``path`` does not end in ``.png``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_figure writes PNG files; the path must end in '.png', got {str(path)!r}")
    return atomic_write(path, lambda stream: fig.savefig(stream, format="png", dpi=fig.dpi))
