"""Run folders and the Python API that mirrors the command line.

A run folder holds everything one training run produced::

    RUN_DIR/
      config.json        model, training and data settings
      model.pt           best weights + architecture; loads with torch.load(weights_only=True)
      checkpoints/       Lightning checkpoints (best.ckpt, last.ckpt)
      log.csv            ELBO and its terms per epoch, train and validation
      metrics.json       test ELBO, IWAE log-likelihood, timing
      figures/           PNG figures

This module is the one place that maps the names stored in files onto classes
(:data:`MODEL_TYPES`); everything below it passes objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit._io import atomic_torch_save, atomic_write_json
from vaekit._version import __version__
from vaekit.data import ImageDataset, load_image_dataset
from vaekit.errors import RunError, VaekitError
from vaekit.evaluation import estimate_log_likelihood
from vaekit.inference import FitResult, TrainConfig, fit
from vaekit.models import VAE, ImageVAE, ImageVAEConfig

#: The model classes a run folder or model file may name, with their config classes.
MODEL_TYPES: dict[str, tuple[type[VAE], type]] = {"ImageVAE": (ImageVAE, ImageVAEConfig)}

MODEL_FILE_FORMAT = "vaekit-model"
MODEL_FILE_VERSION = 1
#: Default importance samples per example for the test log-likelihood.
DEFAULT_IW_SAMPLES = 1000
#: Default number of test examples (the first ones, in file order) the IWAE estimate is computed on;
#: the test ELBO always uses the whole test set.
DEFAULT_IW_EXAMPLES = 2000


# --- model files -----------------------------------------------------------------------------------


def save_model(model: VAE, path: str | Path) -> Path:
    """Write the model's architecture and weights to ``path`` atomically.

    The file holds only tensors, strings and numbers, so :func:`load_model` can read it with
    ``torch.load(weights_only=True)``: loading a model never runs code from the file.
    """
    name = type(model).__name__
    if name not in MODEL_TYPES:
        raise VaekitError(f"cannot save a {name}: only {sorted(MODEL_TYPES)} can be saved")
    payload = {
        "format": MODEL_FILE_FORMAT,
        "version": MODEL_FILE_VERSION,
        "vaekit_version": __version__,
        "model": name,
        "config": asdict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    return atomic_torch_save(path, payload)


def load_model(path: str | Path, *, map_location: str | torch.device = "cpu") -> VAE:
    """Rebuild a model saved by :func:`save_model`; refuses files that would need unpickling code."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        raise RunError(
            f"cannot load {path}: it is not a vaekit model file, is corrupt, or holds objects other than "
            f"tensors and plain values ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FILE_FORMAT:
        raise RunError(f"{path} is not a vaekit model file")
    if payload.get("version") != MODEL_FILE_VERSION:
        raise RunError(f"{path} has model file version {payload.get('version')}; this vaekit reads version 1")
    name = payload.get("model")
    if name not in MODEL_TYPES:
        raise RunError(f"{path} holds an unknown model type {name!r}; known: {sorted(MODEL_TYPES)}")
    model_class, config_class = MODEL_TYPES[name]
    model = model_class(config_class(**payload["config"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise RunError(f"the weights in {path} do not fit its architecture: {error}") from None
    return model.eval()


# --- runs --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """A run folder's model and settings, loaded or just trained."""

    path: Path
    model: VAE
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    def dataset(self) -> ImageDataset:
        """Reload the data set the run was trained on."""
        data = self.config["data"]
        return load_image_dataset(data["data"], data_dir=data.get("data_dir"))


def load_run(run_dir: str | Path) -> Run:
    """Load a run folder written by :func:`train_image_vae`."""
    path = Path(run_dir)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise RunError(f"{path} is not a vaekit run folder: {config_path.name} is missing")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise RunError(f"{config_path} is not valid JSON: {error}") from None
    model = load_model(path / "model.pt")
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Run(path=path, model=model, config=config, metrics=metrics)


def split_train_val(num_examples: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random split of ``range(num_examples)`` into training and validation indices."""
    num_val = max(1, round(num_examples * val_fraction))
    if num_val >= num_examples:
        raise VaekitError(f"cannot hold out a validation set from {num_examples} training examples")
    order = torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed))
    return order[num_val:].sort().values, order[:num_val].sort().values


def binarize(images: torch.Tensor, seed: int) -> torch.Tensor:
    """A fixed binarization of intensities: each pixel is 1 with probability its intensity."""
    return torch.bernoulli(images, generator=torch.Generator().manual_seed(seed))


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
) -> Run:
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
    """
    import lightning as L

    if tuple(model_config.image_shape) != dataset.image_shape:
        raise VaekitError(
            f"the model expects images of shape {model_config.image_shape}, "
            f"the data have {dataset.image_shape}"
        )
    run_path = Path(run_dir)
    run_path.mkdir(parents=True, exist_ok=True)
    config = {
        "vaekit_version": __version__,
        "model": "ImageVAE",
        "model_config": asdict(model_config),
        "train_config": asdict(train_config),
        "data": {
            "name": dataset.name,
            "source": dataset.source,
            "image_shape": list(dataset.image_shape),
            "class_names": list(dataset.class_names),
            **(data_settings or {"data": dataset.name}),
        },
    }
    atomic_write_json(run_path / "config.json", config)

    L.seed_everything(train_config.seed, verbose=False)
    model = ImageVAE(model_config)
    train_index, val_index = split_train_val(
        len(dataset.train_images), train_config.val_fraction, train_config.seed
    )
    train_images = dataset.train_images[train_index]
    val_images = dataset.train_images[val_index]
    batch_transform: Callable[[tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]] | None = None
    if model_config.binarize:
        val_images = binarize(val_images, train_config.seed + 1)

        def batch_transform(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
            return (torch.bernoulli(batch[0]),)

    result = fit(
        model, (train_images,), (val_images,), train_config, run_dir=run_path, batch_transform=batch_transform
    )
    model = model.cpu().eval()
    save_model(model, run_path / "model.pt")
    run = Run(path=run_path, model=model, config=config)
    run.metrics = _training_metrics(result, train_config)
    atomic_write_json(run_path / "metrics.json", run.metrics)
    evaluate_run(run, dataset=dataset, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress)
    if figures:
        write_figures(run, dataset)
    return run


def _training_metrics(result: FitResult, train_config: TrainConfig) -> dict[str, Any]:
    epochs = len(result.history)
    return {
        "epochs": epochs,
        "best_epoch": result.best_epoch,
        "stopped_early": epochs < train_config.epochs,
        "train_seconds": round(result.train_seconds, 3),
        "seconds_per_epoch": round(result.train_seconds / epochs, 3) if epochs else None,
        "train_examples_per_second": round(result.examples_per_second, 1),
        "best_val_elbo": max((row["val_elbo"] for row in result.history), default=None),
    }


def test_images(run: Run, dataset: ImageDataset) -> torch.Tensor:
    """The test images as the model sees them (binarized once, with a fixed seed, if it trained so)."""
    images = dataset.test_images
    if run.model.config.binarize:
        images = binarize(images, run.config["train_config"]["seed"] + 2)
    return images


def evaluate_run(
    run: Run | str | Path,
    *,
    dataset: ImageDataset | None = None,
    iw_samples: int = DEFAULT_IW_SAMPLES,
    iw_examples: int | None = DEFAULT_IW_EXAMPLES,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute the test ELBO and IWAE log-likelihood and (re)write ``metrics.json``.

    The ELBO (one sample of z per example) uses the whole test set; the IWAE bound with
    ``iw_samples`` samples uses the first ``iw_examples`` test examples (all when ``None``).
    Both are in nats per example. Other entries of ``metrics.json`` are kept.
    """
    if not isinstance(run, Run):
        run = load_run(run)
    if iw_samples < 1:
        raise VaekitError(f"--iw-samples must be at least 1, got {iw_samples}")
    dataset = dataset or run.dataset()
    images = test_images(run, dataset)
    generator_state = torch.get_rng_state()
    torch.manual_seed(run.config["train_config"]["seed"])
    try:
        started = time.perf_counter()
        with _progress_bar(len(images), "test ELBO", progress) as bar:
            elbo = estimate_log_likelihood(run.model, images, num_samples=1, progress=bar)
        subset = images if iw_examples is None else images[:iw_examples]
        with _progress_bar(len(subset), f"IWAE, K={iw_samples}", progress) as bar:
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


class _progress_bar:
    """A tqdm bar used as ``update`` callback; silent when disabled."""

    def __init__(self, total: int, description: str, enabled: bool) -> None:
        self.total, self.description, self.enabled = total, description, enabled

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from tqdm.auto import tqdm

        self._bar = tqdm(total=self.total, desc=self.description, unit="ex", leave=False)
        return self._bar.update

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.close()


def sample_images(run: Run, num_samples: int, *, seed: int = 0) -> np.ndarray:
    """Pixel probabilities of ``num_samples`` images from the prior, ``(N, C, H, W)``."""
    if num_samples < 1:
        raise VaekitError(f"--n must be at least 1, got {num_samples}")
    generator = torch.Generator().manual_seed(seed)
    return run.model.sample(num_samples, generator=generator).cpu().numpy()


def write_figures(run: Run, dataset: ImageDataset | None = None) -> dict[str, Path]:
    """Write the run's figures under ``figures/`` and return their paths by name."""
    import pandas as pd

    from vaekit import plots

    dataset = dataset or run.dataset()
    model = run.model
    written: dict[str, Path] = {}

    def save(name: str, figure: Any) -> None:
        written[name] = plots.save_figure(figure, run.figures / f"{name}.png")

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
    if log_path.is_file():
        save(
            "training_curves",
            plots.training_curves(pd.read_csv(log_path), title="ELBO and its terms per epoch"),
        )
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
