"""Training run of the image VAE."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vaekit._io import atomic_write_json
from vaekit.data import ImageDataset
from vaekit.inference import TrainConfig, fit
from vaekit.models import ImageVAE, ImageVAEConfig
from vaekit.runs.evaluate import evaluate_run, write_figures
from vaekit.runs.store import (
    DEFAULT_IW_EXAMPLES,
    DEFAULT_IW_SAMPLES,
    Run,
    binarize,
    binarize_batch,
    build_model,
    check_image_shape,
    check_not_diverged,
    run_config,
    save_model,
    split_train_val,
    training_metrics,
    write_run_config,
)


def train_image_vae(
    dataset: ImageDataset,
    model_config: ImageVAEConfig,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    data_settings: dict[str, Any] | None = None,
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
        How to reload the data later (``{"data": NAME_OR_PATH, "data_dir": DIR}``), stored in
        ``config.json`` so that ``evaluate`` and ``sample`` can find the test set.
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
    import lightning as L

    check_image_shape(model_config.image_shape, dataset)
    run_path = Path(run_dir)
    run_path.mkdir(parents=True, exist_ok=True)
    config = run_config("ImageVAE", model_config, train_config, dataset, data_settings)
    write_run_config(run_path, config, resume=resume)

    L.seed_everything(train_config.seed, verbose=False)
    model = build_model(ImageVAE, model_config)
    train_index, val_index = split_train_val(
        len(dataset.train_images), train_config.val_fraction, train_config.seed
    )
    train_images = dataset.train_images[train_index]
    val_images = dataset.train_images[val_index]
    if model_config.binarize:
        val_images = binarize(val_images, train_config.seed + 1)
    result = fit(
        model,
        (train_images,),
        (val_images,),
        train_config,
        run_dir=run_path,
        batch_transform=binarize_batch if model_config.binarize else None,
        resume=resume,
    )
    if not result.is_global_zero:
        return None
    check_not_diverged(result, math.prod(model_config.image_shape), train_config.lr)
    model = model.cpu().eval()
    save_model(model, run_path / "model.pt")
    run = Run(path=run_path, model=model, config=config)
    run.metrics = training_metrics(result, train_config)
    atomic_write_json(run_path / "metrics.json", run.metrics)
    evaluate_run(run, dataset=dataset, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress)
    if figures:
        write_figures(run, dataset)
    return run
