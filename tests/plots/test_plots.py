"""Tests of the figures layer: figures are built, saved atomically, and show what they were given."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import imread

import vaekit.plots
from vaekit.plots import (
    DEFAULT_DPI,
    image_grid,
    latent_manifold,
    latent_scatter,
    metric_history,
    new_figure,
    reconstruction_grid,
    save_figure,
    training_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _images(n: int, value: float | None = None, *, channels: int = 1, size: int = 8) -> np.ndarray:
    if value is None:
        return np.random.default_rng(n).random((n, channels, size, size))
    return np.full((n, channels, size, size), value)


def _log(epochs: int = 6) -> pd.DataFrame:
    e = np.arange(1, epochs + 1, dtype=float)
    return pd.DataFrame(
        {
            "epoch": e.astype(int),
            "train_elbo": -100 + 10 * np.log(e),
            "val_elbo": -105 + 10 * np.log(e),
            "train_log_likelihood_x": -90 + 8 * np.log(e),
            "val_log_likelihood_x": -94 + 8 * np.log(e),
            "train_log_likelihood_age": -3 + 0.1 * e,
            "val_log_likelihood_age": -3.2 + 0.1 * e,
            "train_kl_z": 10 + e,
            "val_kl_z": 11 + e,
            "learning_rate": np.full(epochs, 1e-3),
        }
    )


def _mosaic(fig: Figure) -> np.ndarray:
    """The array drawn by a grid figure, gaps as NaN."""
    (image,) = fig.axes[0].get_images()
    return np.ma.filled(np.ma.asarray(image.get_array(), dtype=float), np.nan)


def _tick_texts(labels: list) -> list[str]:
    return [label.get_text().replace("\N{MINUS SIGN}", "-") for label in labels]


BUILDERS: dict[str, Callable[[], Figure]] = {
    "image_grid": lambda: image_grid(_images(10), title="samples"),
    "image_grid_rgb": lambda: image_grid(_images(6, channels=3), ncols=3, row_labels=["a", "b"]),
    "reconstruction_grid": lambda: reconstruction_grid(_images(20), _images(20)[::-1], title="recon"),
    "latent_manifold": lambda: latent_manifold(_images(9), np.array([-1.0, 0.0, 1.0]), title="manifold"),
    "latent_scatter": lambda: latent_scatter(
        np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 3, title="latent"
    ),
    "training_curves": lambda: training_curves(_log(), title="training"),
    "metric_history": lambda: metric_history([1, 2, 3], {"accuracy": [0.5, 0.7, 0.8]}, ylabel="accuracy"),
}


# --- figures.py --------------------------------------------------------------------------------


def test_new_figure_has_requested_size_and_an_agg_canvas() -> None:
    fig = new_figure(3.0, 2.0)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (3.0, 2.0)
    assert fig.dpi == DEFAULT_DPI
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"


@pytest.mark.parametrize("width, height", [(0, 2), (2, -1), (float("nan"), 2), (2, float("inf"))])
def test_new_figure_rejects_bad_sizes(width: float, height: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        new_figure(width, height)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_figure_saves_as_png_of_expected_pixel_size(name: str, tmp_path: Path) -> None:
    fig = BUILDERS[name]()
    assert isinstance(fig, Figure)
    out = save_figure(fig, tmp_path / f"{name}.png")

    assert out == tmp_path / f"{name}.png"
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    pixels = imread(out)
    width_in, height_in = fig.get_size_inches()
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert abs(pixels.shape[0] - height_in * fig.dpi) <= 1
    assert abs(pixels.shape[1] - width_in * fig.dpi) <= 1
    # Something was drawn: a blank figure would be one flat colour.
    assert pixels[..., :3].std() > 0.05
    assert list(tmp_path.iterdir()) == [out]


def test_save_figure_creates_parent_folders_and_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "grid.png"
    save_figure(image_grid(_images(4, 0.0)), str(target))
    first = target.read_bytes()
    save_figure(image_grid(_images(4, 1.0)), target)
    assert target.read_bytes() != first
    assert sorted(p.name for p in target.parent.iterdir()) == ["grid.png"]


def test_save_figure_rejects_non_png_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        save_figure(new_figure(2, 2), tmp_path / "figure.pdf")
    assert list(tmp_path.iterdir()) == []


def test_save_figure_leaves_no_file_when_rendering_fails(tmp_path: Path, monkeypatch) -> None:
    fig = image_grid(_images(4))
    written: list[str] = []

    def half_written_savefig(fname, *args, **kwargs):
        fname.write(PNG_SIGNATURE + b"partial")
        fname.flush()
        written.append(fname.name)
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(fig, "savefig", half_written_savefig)
    folder = tmp_path / "figures"
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(fig, folder / "grid.png")

    # The fake really wrote into a temporary file in the destination folder, which is now gone.
    assert len(written) == 1 and Path(written[0]).parent == folder
    assert list(folder.iterdir()) == []


def test_save_figure_keeps_previous_file_when_replacement_fails(tmp_path: Path, monkeypatch) -> None:
    target = save_figure(image_grid(_images(4)), tmp_path / "grid.png")
    before = target.read_bytes()
    fig = image_grid(_images(4, 1.0))

    def failing_savefig(fname, *args, **kwargs):
        fname.write(b"garbage")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", failing_savefig)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, target)
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


# --- image_grid --------------------------------------------------------------------------------


def test_image_grid_of_white_images_is_bright_and_of_black_images_dark(tmp_path: Path) -> None:
    white = imread(save_figure(image_grid(_images(16, 1.0)), tmp_path / "white.png"))[..., :3].mean(-1)
    black = imread(save_figure(image_grid(_images(16, 0.0)), tmp_path / "black.png"))[..., :3].mean(-1)
    assert (white > 0.9).mean() > 0.95
    assert (black < 0.1).mean() > 0.6
    assert white.mean() - black.mean() > 0.5


def test_image_grid_places_images_row_major_with_gaps() -> None:
    values = np.linspace(0.1, 1.0, 7)
    images = np.stack([np.full((5, 4), v) for v in values])
    mosaic = _mosaic(image_grid(images, ncols=3))

    # Grid rows are the runs of image pixels between all-NaN gap rows (likewise for columns).
    filled_rows = ~np.isnan(mosaic).all(axis=1)
    filled_cols = ~np.isnan(mosaic).all(axis=0)
    row_starts = np.flatnonzero(filled_rows & ~np.r_[False, filled_rows[:-1]])
    col_starts = np.flatnonzero(filled_cols & ~np.r_[False, filled_cols[:-1]])
    assert len(row_starts) == 3 and len(col_starts) == 3
    assert np.isnan(mosaic).any(), "images must be separated by gaps"
    for i, value in enumerate(values):
        r, c = divmod(i, 3)
        cell = mosaic[row_starts[r] : row_starts[r] + 5, col_starts[c] : col_starts[c] + 4]
        np.testing.assert_allclose(cell, value)
    # The two unused cells of the last row stay empty.
    assert np.isnan(mosaic[row_starts[2] :, col_starts[1] :]).all()


def test_image_grid_grey_uses_grey_colormap_and_no_ticks() -> None:
    fig = image_grid(_images(4))
    (image,) = fig.axes[0].get_images()
    assert image.get_cmap().name.startswith("gray")
    assert image.get_clim() == (0.0, 1.0)
    assert list(fig.axes[0].get_xticks()) == [] and list(fig.axes[0].get_yticks()) == []


def test_image_grid_accepts_channelless_and_rgb_images() -> None:
    grey = _mosaic(image_grid(np.full((4, 6, 6), 0.25)))
    assert np.nanmax(grey) == pytest.approx(0.25)
    rgb = _mosaic(image_grid(np.broadcast_to(np.array([1.0, 0.0, 0.0])[None, :, None, None], (4, 3, 6, 6))))
    assert rgb.shape[-1] == 4
    opaque = rgb[..., 3] == 1
    np.testing.assert_allclose(rgb[opaque][:, :3], np.tile([1.0, 0.0, 0.0], (opaque.sum(), 1)))


def test_image_grid_is_square_ish_by_default() -> None:
    with pytest.raises(ValueError, match="3 rows"):
        image_grid(_images(10), row_labels=["a", "b"])
    fig = image_grid(_images(10), row_labels=["a", "b", "c"])
    assert _tick_texts(fig.axes[0].get_yticklabels()) == ["a", "b", "c"]


def test_image_grid_clips_slightly_out_of_range_floats() -> None:
    mosaic = _mosaic(image_grid(np.array([[[-0.2, 1.3]]]).repeat(2, axis=0)))
    assert np.nanmin(mosaic) == 0.0 and np.nanmax(mosaic) == 1.0


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 8, 8, 3)), "channels-last"),
        (np.zeros((4, 2, 8, 8)), r"C = 1 \(grey\) or 3 \(RGB\)"),
        (np.zeros((8, 8)), r"\(N, C, H, W\) or \(N, H, W\)"),
        (np.zeros((2, 4, 1, 8, 8)), r"\(N, C, H, W\) or \(N, H, W\)"),
        (np.zeros((0, 1, 8, 8)), "at least one"),
        (np.full((2, 1, 4, 4), np.nan), "NaN"),
        (np.full((2, 1, 4, 4), 255, dtype=np.uint8), "255"),
        (np.array([["a"]] * 2), "numeric"),
    ],
)
def test_image_grid_rejects_bad_images(images: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        image_grid(images)


@pytest.mark.parametrize("ncols", [0, -1, 2.5, True])
def test_image_grid_rejects_bad_ncols(ncols) -> None:
    with pytest.raises(ValueError, match="ncols"):
        image_grid(_images(4), ncols=ncols)


# --- reconstruction_grid -----------------------------------------------------------------------


def test_reconstruction_grid_puts_reconstructions_below_originals() -> None:
    fig = reconstruction_grid(_images(5, 1.0), _images(5, 0.0), title="recon")
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == ["data", "model"]
    assert ax.get_title() == "recon"
    mosaic = _mosaic(fig)
    data_row, model_row = (int(round(y)) for y in ax.get_yticks())
    assert np.nanmin(mosaic[data_row]) == 1.0
    assert np.nanmax(mosaic[model_row]) == 0.0


def test_reconstruction_grid_wraps_long_batches_into_balanced_row_pairs() -> None:
    originals = np.stack([np.full((1, 4, 4), (i + 1) / 40) for i in range(20)])
    fig = reconstruction_grid(originals, originals + 0.5)
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == ["data", "model"] * 2
    mosaic = _mosaic(fig)
    rows = [mosaic[int(round(y))] for y in ax.get_yticks()]
    # 20 images make two pairs of 10 columns, and image i sits above its own reconstruction.
    for pair in range(2):
        data = rows[2 * pair][~np.isnan(rows[2 * pair])].reshape(10, 4)[:, 0]
        model = rows[2 * pair + 1][~np.isnan(rows[2 * pair + 1])].reshape(10, 4)[:, 0]
        np.testing.assert_allclose(data, originals[10 * pair : 10 * pair + 10, 0, 0, 0])
        np.testing.assert_allclose(model, data + 0.5)


def test_reconstruction_grid_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_grid(_images(4), _images(5))
    with pytest.raises(ValueError, match="reconstructions"):
        reconstruction_grid(_images(4), np.zeros((4, 8, 8, 3)))


# --- latent_manifold ---------------------------------------------------------------------------


def test_latent_manifold_labels_both_axes_with_grid_values_largest_on_top() -> None:
    grid = np.array([-1.5, 0.0, 1.5])
    # Image i*n + j is decoded at (grid[j], grid[n-1-i]); encode that position in its intensity.
    images = np.stack([np.full((1, 4, 4), (3 * i + j) / 8) for i in range(3) for j in range(3)])
    fig = latent_manifold(images, grid)
    ax = fig.axes[0]
    assert _tick_texts(ax.get_xticklabels()) == ["-1.5", "0", "1.5"]
    assert _tick_texts(ax.get_yticklabels()) == ["1.5", "0", "-1.5"]
    assert ax.get_xlabel() == "z1" and ax.get_ylabel() == "z2"
    mosaic = _mosaic(fig)
    for i, y in enumerate(ax.get_yticks()):
        for j, x in enumerate(ax.get_xticks()):
            assert mosaic[int(round(y)), int(round(x))] == pytest.approx((3 * i + j) / 8)


@pytest.mark.parametrize(
    "n_images, grid, message",
    [
        (8, np.array([0.0, 1.0, 2.0]), "n \\* n = 9"),
        (4, np.array([1.0, 0.0]), "strictly increasing"),
        (4, np.array([0.0, np.nan]), "strictly increasing"),
        (4, np.zeros((2, 2)), "1-D"),
    ],
)
def test_latent_manifold_rejects_inconsistent_inputs(n_images: int, grid: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        latent_manifold(_images(n_images), grid)


# --- latent_scatter ----------------------------------------------------------------------------


def test_latent_scatter_colours_points_by_class_with_legend() -> None:
    rng = np.random.default_rng(1)
    labels = np.array([0, 2, 2, 5, 0, 5, 2])
    means = rng.normal(size=(len(labels), 2))
    names = [f"class {k}" for k in range(6)]
    fig = latent_scatter(means, labels, class_names=names, title="latent")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 2", "class 5"]
    assert ax.get_xlabel() == "z1" and ax.get_ylabel() == "z2"

    palette = colormaps["tab10"].colors
    (points,) = ax.collections
    offsets = points.get_offsets()
    colours = points.get_facecolors()
    assert len(offsets) == len(labels)
    for offset, colour in zip(offsets, colours, strict=True):
        k = labels[np.flatnonzero(np.all(np.isclose(means, offset), axis=1))[0]]
        np.testing.assert_allclose(colour[:3], to_rgba(palette[k])[:3])


def test_latent_scatter_default_legend_uses_class_numbers_and_handles_many_classes() -> None:
    labels = np.arange(12)
    fig = latent_scatter(np.random.default_rng(2).normal(size=(12, 2)), labels)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(k) for k in range(12)]
    # Classes 10 and 11 reuse tab10 colours, so they need another marker to stay distinguishable.
    assert len(ax.collections) == 2


@pytest.mark.parametrize(
    "means, labels, names, message",
    [
        (np.zeros((4, 3)), np.zeros(4, dtype=int), None, r"\(N, 2\)"),
        (np.zeros(4), np.zeros(4, dtype=int), None, r"\(N, 2\)"),
        (np.zeros((4, 2)), np.zeros(3, dtype=int), None, r"shape \(4,\)"),
        (np.zeros((4, 2)), np.zeros(4), None, "integer"),
        (np.zeros((4, 2)), np.array([0, 1, -1, 0]), None, "non-negative"),
        (np.full((4, 2), np.nan), np.zeros(4, dtype=int), None, "NaN"),
        (np.zeros((4, 2)), np.array([0, 1, 2, 3]), ["a", "b"], "class_names"),
    ],
)
def test_latent_scatter_rejects_bad_inputs(means, labels, names, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        latent_scatter(means, labels, class_names=names)


# --- training_curves ---------------------------------------------------------------------------


def test_training_curves_draws_one_line_per_split_and_variable() -> None:
    fig = training_curves(_log(), title="run 1")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["ELBO", "reconstruction log-likelihood", "KL divergence"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 4, 2]
    assert fig.get_suptitle() == "run 1"
    for ax in fig.axes:
        assert ax.get_xlabel() == "epoch"
        assert ax.get_ylabel() == "nats per example"

    ll_lines = fig.axes[1].get_lines()
    styles = [(line.get_color(), line.get_linestyle()) for line in ll_lines]
    # Per variable: train solid, validation dashed, in one colour; the variables differ in colour.
    assert styles[0][1] == "-" and styles[1][1] == "--" and styles[0][0] == styles[1][0]
    assert styles[2][1] == "-" and styles[3][1] == "--" and styles[2][0] == styles[3][0]
    assert styles[0][0] != styles[2][0]
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert legend == ["x", "age", "train", "validation"]
    np.testing.assert_allclose(ll_lines[2].get_ydata(), _log()["train_log_likelihood_age"])


def test_training_curves_skips_missing_columns_and_bridges_nan_epochs() -> None:
    log = _log(6)[["epoch", "train_elbo", "val_elbo", "train_kl_z"]].assign(train_kl_w=1.0)
    log.loc[log.index % 2 == 0, "val_elbo"] = np.nan
    fig = training_curves(log)
    assert [ax.get_title() for ax in fig.axes] == ["ELBO", "KL divergence"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2]
    val_elbo = fig.axes[0].get_lines()[1]
    np.testing.assert_array_equal(val_elbo.get_xdata(), [2, 4, 6])


def test_training_curves_with_one_epoch_shows_markers() -> None:
    fig = training_curves(_log(1))
    assert all(line.get_marker() == "o" for ax in fig.axes for line in ax.get_lines())


@pytest.mark.parametrize(
    "log, message",
    [
        (pd.DataFrame(columns=["epoch", "train_elbo"]), "empty"),
        (pd.DataFrame({"train_elbo": [1.0]}), "'epoch'"),
        (pd.DataFrame({"epoch": [1], "loss": [1.0]}), "train_elbo"),
        (pd.DataFrame({"epoch": [1], "train_elbo": ["high"]}), "numeric"),
    ],
)
def test_training_curves_rejects_unusable_logs(log: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        training_curves(log)


# --- metric_history ----------------------------------------------------------------------------


def test_metric_history_draws_one_labelled_line_per_series() -> None:
    fig = metric_history(
        [1, 2, 3, 4], {"train": [0.1, 0.5, 0.7, 0.8], "test": [0.1, 0.4, 0.6, 0.7]}, ylabel="accuracy"
    )
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["train", "test"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.1, 0.4, 0.6, 0.7])
    assert ax.get_ylabel() == "accuracy" and ax.get_xlabel() == "epoch"


@pytest.mark.parametrize(
    "epochs, values, message",
    [
        ([1, 2], {"a": [0.1]}, "'a'"),
        ([], {"a": []}, "non-empty"),
        ([1, 2], {}, "at least one series"),
    ],
)
def test_metric_history_rejects_bad_inputs(epochs, values, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metric_history(epochs, values, ylabel="y")


# --- import hygiene ----------------------------------------------------------------------------


def _imported_modules(nodes: list[ast.stmt] | ast.AST) -> list[str]:
    walked = nodes if isinstance(nodes, list) else list(ast.walk(nodes))
    names = []
    for node in walked:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("module", ["__init__", "figures", "images", "training"])
def test_plots_never_import_pyplot_or_torch_and_import_matplotlib_lazily(module: str) -> None:
    # Checked on the source, not on sys.modules: the vaekit package root imports torch itself.
    source = Path(vaekit.plots.__file__).with_name(f"{module}.py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    everywhere = _imported_modules(tree)
    forbidden = [m for m in everywhere if m.split(".")[0] in ("torch", "pyro") or m == "matplotlib.pyplot"]
    assert not forbidden, f"{module}.py imports {forbidden}"
    # Module-level statements only: imports under `if TYPE_CHECKING:` or in functions are lazy.
    eager = [m for m in _imported_modules(tree.body) if m.split(".")[0] in ("matplotlib", "pandas")]
    assert not eager, f"{module}.py imports {eager} at import time"


def test_table_figures_bound_their_work_by_what_they_show() -> None:
    """Issue 14 item 6: a 100 MB level took 12 minutes and 23 GB to draw; panels, bars, labels and
    points are now bounded whatever the table holds."""
    from vaekit.plots.tables import MAX_LABEL_CHARS, MAX_LEVELS_SHOWN, MAX_PANELS, MAX_POINTS

    rng = np.random.default_rng(0)
    wide = pd.DataFrame({f"c{j}": rng.normal(size=20) for j in range(MAX_PANELS + 10)})
    figure = vaekit.plots.column_marginals(wide, wide, kinds=dict.fromkeys(wide.columns, "real"))
    assert len(figure.axes) == MAX_PANELS and "10 more not drawn" in figure._suptitle.get_text()
    shifted = wide + np.where(wide.columns.isin(["c3", "c37"]), 5.0, 0.0)  # two columns the model misses
    distances = {name: float(shifted[name].mean() > 2) for name in wide.columns}
    figure = vaekit.plots.column_marginals(
        wide, shifted, kinds=dict.fromkeys(wide.columns, "real"), distances=distances
    )
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:3] == ["c3 (real, KS 1.00)", "c37 (real, KS 1.00)", "c0 (real, KS 0.00)"]  # worst first
    assert "the 30 worst-fitting columns (10 more not drawn)" in figure._suptitle.get_text()
    levels = pd.DataFrame({"t": ["x" * 100_000] * 5 + [f"level {k}" for k in range(200)]})
    figure = vaekit.plots.column_marginals(levels, levels, kinds={"t": "categorical"}, with_levels={"t"})
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert len(labels) == MAX_LEVELS_SHOWN and max(map(len, labels)) <= MAX_LABEL_CHARS
    assert ("x" * (MAX_LABEL_CHARS - 3) + "...") in labels  # the most frequent level is drawn, cut
    many = pd.DataFrame(rng.normal(size=(50_000, 2)), columns=["a", "b"])
    figure = vaekit.plots.pairwise_scatter(many, many, ["a", "b"])
    assert all(len(c.get_offsets()) == MAX_POINTS for ax in figure.axes for c in ax.collections)


def test_image_figures_bound_their_work_by_what_they_show() -> None:
    from vaekit.plots.classification import MAX_NAMED_CLASSES
    from vaekit.plots.images import MAX_GRID_IMAGES, MAX_SCATTER_POINTS

    figure = vaekit.plots.confusion_matrix(np.eye(500, dtype=int), [str(k) for k in range(500)])
    assert max(figure.get_size_inches()) < 1.2 + 0.55 * MAX_NAMED_CLASSES + 2 and not figure.axes[0].texts
    means = np.random.default_rng(0).normal(size=(MAX_SCATTER_POINTS + 5000, 2))
    figure = vaekit.plots.latent_scatter(means, np.zeros(len(means), dtype=int))
    assert sum(len(c.get_offsets()) for c in figure.axes[0].collections) == MAX_SCATTER_POINTS
    with pytest.raises(ValueError, match="at most 10,000 images"):
        vaekit.plots.image_grid(np.zeros((MAX_GRID_IMAGES + 1, 1, 1), dtype=np.float32))
