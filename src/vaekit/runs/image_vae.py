"""Training run of the image VAE."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vaekit.data import ImageDataset
from vaekit.inference import FitResult, TrainConfig, fit
from vaekit.models import VAE, ImageVAE, ImageVAEConfig
from vaekit.runs.evaluate import evaluate_images, write_image_figures
from vaekit.runs.images import (
    ImageSource,
    binarize_batch,
    check_image_shape,
    check_not_diverged,
    image_data_settings,
    split_images,
)
from vaekit.runs.store import DEFAULT_IW_EXAMPLES, DEFAULT_IW_SAMPLES, Run
from vaekit.runs.training_run import train_run


def train_image_vae(
    dataset: ImageDataset,
    model_config: ImageVAEConfig,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    data_settings: ImageSource | dict[str, Any] | None = None,
    iw_samples: int = DEFAULT_IW_SAMPLES,
    iw_examples: int | None = DEFAULT_IW_EXAMPLES,
    figures: bool = True,
    progress: bool = True,
    resume: bool = False,
) -> Run | None:
    """Train an :class:`ImageVAE`, evaluate it on the test set and write a complete run folder.

    Parameters
    ----------
    dataset:
        Images and labels (labels are only used to colour figures).
    model_config, train_config:
        Architecture and training settings.
    run_dir:
        Folder to write; created if needed.
    data_settings:
        Where to load the images again (an :class:`~vaekit.runs.images.ImageSource`, or its
        ``{"data": NAME_OR_PATH, "data_dir": DIR}`` form), stored in ``config.json`` so that
        ``evaluate`` and ``sample`` can find the test set; the set by its name when ``None``.
    iw_samples, iw_examples:
        Importance samples and number of test examples for the IWAE estimate.
    figures:
        Write the figures under ``figures/``.
    progress:
        Show progress bars.
    resume:
        Continue the run in ``run_dir`` from its last checkpoint (see :func:`vaekit.inference.fit`).

    Returns the run, or ``None`` on the processes other than the global rank 0 of a distributed
    run: only rank 0 writes the run folder and evaluates.
    """
    check_image_shape(model_config.image_shape, dataset)
    split = split_images(dataset, train_config, binarized=model_config.binarize)
    train_images, val_images = dataset.train_images[split.train_index], split.val_images

    def fit_model(model: VAE, run_path: Path) -> FitResult:
        return fit(
            model,
            (train_images,),
            (val_images,),
            train_config,
            run_dir=run_path,
            batch_transform=binarize_batch if model_config.binarize else None,
            resume=resume,
        )

    run = train_run(
        ImageVAE,
        model_config,
        train_config,
        run_dir,
        data=image_data_settings(dataset, data_settings),
        fit_model=fit_model,
        resume=resume,
        check_result=lambda result: check_not_diverged(
            result, math.prod(model_config.image_shape), train_config.lr
        ),
    )
    if run is None:  # another rank of a distributed run
        return None
    evaluate_images(run, dataset=dataset, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress)
    if figures:
        write_image_figures(run, dataset)
    return run
