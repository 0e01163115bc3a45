"""Evaluation, sampling and figures of image runs (the image VAE and the semi-supervised VAE), and
the entry points that serve a run of any kind through its registered kind."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit._io import atomic_write_json
from vaekit.data import ImageDataset
from vaekit.errors import VaekitError
from vaekit.evaluation import (
    accuracy,
    clustering_accuracy,
    confusion_matrix,
    estimate_log_likelihood,
    predict_classes,
)
from vaekit.models import SemiSupervisedVAE
from vaekit.runs.images import run_images, test_images
from vaekit.runs.registry import kind_of, require_command
from vaekit.runs.store import DEFAULT_IW_EXAMPLES, DEFAULT_IW_SAMPLES, Run, load_run, progress_bar


def evaluate_run(
    run: Run | str | Path,
    *,
    dataset: Any = None,
    iw_samples: int = DEFAULT_IW_SAMPLES,
    iw_examples: int | None = DEFAULT_IW_EXAMPLES,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute a run's test metrics, whatever its model, and (re)write ``metrics.json``.

    The run's kind (:mod:`vaekit.runs.registry`) says what its metrics are; ``dataset`` is its
    data when the caller has it in memory already (an :class:`~vaekit.data.ImageDataset` for
    image runs), read again from the run's settings otherwise. ``iw_examples`` applies to image
    runs (see :func:`evaluate_images`).
    """
    if not isinstance(run, Run):
        run = load_run(run)
    return require_command(run, "evaluate").evaluate(
        run, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress, data=dataset
    )


def evaluate_images(
    run: Run,
    *,
    dataset: ImageDataset | None = None,
    iw_samples: int = DEFAULT_IW_SAMPLES,
    iw_examples: int | None = DEFAULT_IW_EXAMPLES,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute the test metrics of an image run and (re)write ``metrics.json``.

    The ELBO (one sample of z per example) uses the whole test set; the IWAE bound with
    ``iw_samples`` samples uses ``iw_examples`` test examples drawn at random with a fixed seed
    (all when ``None``; file order can be sorted by difficulty, a random subset is not).
    Both are in nats per example. For the semi-supervised model, unlabelled y is sampled from
    q(y | x) in both (a valid, if looser, bound than summing it out), and the test accuracy of
    q(y | x) is added (the clustering accuracy under the best matching of clusters to classes
    when it trained without labels: :func:`evaluate_ss_run`). Other entries of ``metrics.json`` are
    kept.
    """
    if iw_samples < 1:
        raise VaekitError(f"--iw-samples must be at least 1, got {iw_samples}")
    if iw_examples is not None and iw_examples < 1:
        raise VaekitError(f"--iw-examples must be at least 1, got {iw_examples}")
    dataset = dataset or run_images(run)
    images = test_images(run, dataset)
    generator_state = torch.get_rng_state()
    torch.manual_seed(run.config["train_config"]["seed"])
    try:
        started = time.perf_counter()
        with progress_bar(len(images), "test ELBO", progress) as bar:
            elbo = estimate_log_likelihood(run.model, images, num_samples=1, progress=bar)
        if iw_examples is None or iw_examples >= len(images):
            subset = images
        else:
            chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:iw_examples]
            subset = images[chosen.sort().values]
        with progress_bar(len(subset), f"IWAE, K={iw_samples}", progress) as bar:
            iwae = estimate_log_likelihood(run.model, subset, num_samples=iw_samples, progress=bar)
        seconds = time.perf_counter() - started
    finally:
        torch.set_rng_state(generator_state)
    run.metrics.update(
        {
            "test_elbo": round(float(elbo.elbo.mean()), 4),
            "test_log_likelihood": round(float(iwae.log_likelihood.mean()), 4),
            "test_elbo_on_iw_subset": round(float(iwae.elbo.mean()), 4),
            "iw_samples": iw_samples,
            "iw_examples": len(subset),
            "test_examples": len(images),
            "evaluation_seconds": round(seconds, 2),
            "units": "nats per example",
        }
    )
    atomic_write_json(run.path / "metrics.json", run.metrics)
    return run.metrics


def evaluate_ss_run(
    run: Run,
    *,
    dataset: ImageDataset | None = None,
    iw_samples: int = DEFAULT_IW_SAMPLES,
    iw_examples: int | None = DEFAULT_IW_EXAMPLES,
    progress: bool = True,
) -> dict[str, Any]:
    """:func:`evaluate_images`, and the test accuracy and confusion matrix of q(y | x)."""
    dataset = dataset or run_images(run)
    evaluate_images(run, dataset=dataset, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress)
    model: SemiSupervisedVAE = run.model  # type: ignore[assignment]
    run.metrics.update(
        classification_metrics(model, test_images(run, dataset), dataset.test_labels, run.config)
    )
    atomic_write_json(run.path / "metrics.json", run.metrics)
    return run.metrics


def classification_metrics(
    model: SemiSupervisedVAE, images: torch.Tensor, labels: torch.Tensor, config: dict[str, Any]
) -> dict[str, Any]:
    """Test accuracy and confusion matrix of q(y | x)."""
    predicted = predict_classes(model.classify, images)
    classes = model.config.num_classes
    if config.get("labels", 1) == 0:
        score, mapping = clustering_accuracy(predicted, labels, classes)
        predicted = torch.as_tensor(mapping)[predicted]
        return {
            "test_accuracy": round(score, 4),
            "accuracy_kind": "clustering accuracy (best matching of clusters to classes)",
            "cluster_to_class": mapping.tolist(),
            "confusion_matrix": confusion_matrix(predicted, labels, classes).tolist(),
        }
    return {
        "test_accuracy": round(accuracy(predicted, labels), 4),
        "accuracy_kind": "accuracy",
        "confusion_matrix": confusion_matrix(predicted, labels, classes).tolist(),
    }


def sample_images(run: Run, num_samples: int, *, seed: int = 0, label: int | None = None) -> np.ndarray:
    """Pixel probabilities of ``num_samples`` images from the prior, ``(N, C, H, W)``.

    ``label`` draws from p(x | z, y = label) for models with a class label.
    """
    if num_samples < 1:
        raise VaekitError(f"--n must be at least 1, got {num_samples}")
    generator = torch.Generator().manual_seed(seed)
    if label is None:
        return run.model.sample(num_samples, generator=generator).cpu().numpy()
    if not kind_of(run.model).has_labels:
        raise VaekitError(
            f"--label needs a model with a class label; {run.path} holds a {type(run.model).__name__}"
        )
    classes = run.model.config.num_classes
    if not 0 <= label < classes:
        raise VaekitError(f"--label must be a class in 0..{classes - 1}, got {label}")
    return run.model.sample(num_samples, label, generator=generator).cpu().numpy()


def write_figures(run: Run, dataset: Any = None) -> dict[str, Path]:
    """Write a run's figures under ``figures/``, whatever its model, and return their paths by name."""
    return kind_of(run.model).write_figures(run, data=dataset)


def _image_figures(run: Run, dataset: ImageDataset, save: Callable[[str, Any], None]) -> Any:
    """The figures every image run has: samples, reconstructions and training curves; returns the
    training log (``None`` when there is none)."""
    import pandas as pd

    from vaekit import plots

    model = run.model
    save(
        "samples",
        plots.image_grid(sample_images(run, 64), title="Samples from the prior (pixel probabilities)"),
    )
    originals = test_images(run, dataset)[:16]
    save(
        "reconstructions",
        plots.reconstruction_grid(
            originals.numpy(),
            model.reconstruct(originals).numpy(),
            title="Test images and their reconstructions",
        ),
    )
    log_path = run.path / "log.csv"
    log = pd.read_csv(log_path) if log_path.is_file() else None
    if log is not None:
        elbo_columns = [c for c in log.columns if "accuracy" not in c and "classification" not in c]
        save(
            "training_curves", plots.training_curves(log[elbo_columns], title="ELBO and its terms per epoch")
        )
    return log


def _saver(run: Run, written: dict[str, Path]) -> Callable[[str, Any], None]:
    from vaekit import plots

    def save(name: str, figure: Any) -> None:
        written[name] = plots.save_figure(figure, run.figures / f"{name}.png")

    return save


def write_image_figures(run: Run, dataset: ImageDataset | None = None) -> dict[str, Path]:
    """Write an image VAE run's figures under ``figures/`` (and, for a 2-D latent space, the decoded
    manifold and the test set's posterior means) and return their paths by name."""
    from vaekit import plots

    dataset = dataset or run_images(run)
    written: dict[str, Path] = {}
    save = _saver(run, written)
    _image_figures(run, dataset, save)
    model = run.model
    if model.config.z_dim == 2:
        grid = np.linspace(-2.5, 2.5, 15)
        points = torch.tensor([[z1, z2] for z2 in grid[::-1] for z1 in grid], dtype=torch.float32)
        with torch.no_grad():
            decoded = model.decode(points).mean.numpy()
        save("latent_manifold", plots.latent_manifold(decoded, grid, title="Decoded 2-D latent space"))
        with torch.no_grad():
            means = model.encode(test_images(run, dataset)).mean.numpy()
        save(
            "latent_means",
            plots.latent_scatter(
                means,
                dataset.test_labels.numpy(),
                class_names=dataset.class_names,
                title="Test set: means of q(z|x)",
            ),
        )
    return written


def write_ss_figures(run: Run, dataset: ImageDataset | None = None) -> dict[str, Path]:
    """Write a semi-supervised run's figures under ``figures/``: those of every image run, samples of
    each class, the confusion matrix and the accuracy per epoch; returns their paths by name."""
    from vaekit import plots

    dataset = dataset or run_images(run)
    written: dict[str, Path] = {}
    save = _saver(run, written)
    log = _image_figures(run, dataset, save)
    model: SemiSupervisedVAE = run.model  # type: ignore[assignment]
    grid = model.conditional_grid(10, generator=torch.Generator().manual_seed(0)).numpy()
    save(
        "conditional_samples",
        plots.image_grid(
            grid,
            ncols=10,
            row_labels=list(dataset.class_names),
            title="p(x | z, y): one row per class, the same z down each column",
        ),
    )
    if "confusion_matrix" in run.metrics:
        save(
            "confusion_matrix",
            plots.confusion_matrix(
                np.asarray(run.metrics["confusion_matrix"]),
                dataset.class_names,
                title=f"Test set ({run.metrics['accuracy_kind']} {run.metrics['test_accuracy']:.3f})",
            ),
        )
    if log is not None:
        curves = {
            name: log[column].tolist()
            for name, column in (("test", "test_accuracy"), ("validation", "val_accuracy"))
            if column in log.columns
        }
        if curves:
            save(
                "accuracy", plots.metric_history(log["epoch"].tolist(), curves, ylabel="accuracy of q(y | x)")
            )
    return written
