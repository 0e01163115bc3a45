"""Figures for vaekit: plain numpy arrays and pandas DataFrames in, matplotlib Figures out.

Nothing here runs a model or imports torch/pyro, and matplotlib is used through its
object-oriented API only (no pyplot), so figures can be made in any process without a display.
"""

from vaekit.plots.classification import confusion_matrix
from vaekit.plots.figures import DEFAULT_DPI, new_figure, save_figure
from vaekit.plots.images import (
    MAX_GRID_IMAGES,
    image_grid,
    latent_manifold,
    latent_scatter,
    reconstruction_grid,
)
from vaekit.plots.sequences import sequence_samples
from vaekit.plots.tables import column_marginals, pairwise_scatter
from vaekit.plots.training import metric_history, training_curves

__all__ = [
    "DEFAULT_DPI",
    "MAX_GRID_IMAGES",
    "column_marginals",
    "confusion_matrix",
    "image_grid",
    "latent_manifold",
    "latent_scatter",
    "metric_history",
    "new_figure",
    "pairwise_scatter",
    "reconstruction_grid",
    "save_figure",
    "sequence_samples",
    "training_curves",
]
