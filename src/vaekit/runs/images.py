"""What the image runs (the image VAE and the semi-supervised VAE) share: where their images come
from, the held-out validation images, binarization, and the check that a run has not diverged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vaekit.data import ImageDataset, load_image_dataset
from vaekit.errors import VaekitError
from vaekit.inference import FitResult, TrainConfig
from vaekit.runs.store import Run, split_train_val

#: Image sets vaekit knows by name; any other ``--data`` is a folder of IDX files.
NAMED_IMAGE_SETS = ("digits", "mnist", "fashion-mnist")


@dataclass(frozen=True)
class ImageSource:
    """Where a run's images come from: a named set (``digits``, ``mnist``, ``fashion-mnist``) or a
    folder of IDX files (``data``), and the folder holding the named sets' files (``data_dir``)."""

    data: str = "digits"
    data_dir: str | None = None

    @classmethod
    def given(cls, data: str, data_dir: str | None = None) -> ImageSource:
        """The source as given on the command line, with its paths made absolute, so that a run
        finds its images again from any folder."""
        folder = str(Path(data_dir).resolve()) if data_dir else None
        return cls(data if data in NAMED_IMAGE_SETS else str(Path(data).resolve()), folder)

    @classmethod
    def from_settings(cls, data: dict[str, Any]) -> ImageSource:
        """The source a run's ``config.json`` ``data`` describes."""
        return cls(data["data"], data.get("data_dir"))

    def load(self, *, download: bool = False) -> ImageDataset:
        """The image set (downloading MNIST or Fashion-MNIST when asked and missing)."""
        return load_image_dataset(self.data, data_dir=self.data_dir, download=download)

    def settings(self, dataset: ImageDataset) -> dict[str, Any]:
        """What ``config.json`` records: the set's name, origin, shape and classes, and this source."""
        return {**_described(dataset), "data": self.data, "data_dir": self.data_dir}


def _described(dataset: ImageDataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "source": dataset.source,
        "image_shape": list(dataset.image_shape),
        "class_names": list(dataset.class_names),
    }


def run_images(run: Run) -> ImageDataset:
    """Reload the image set a run was trained on."""
    return ImageSource.from_settings(run.config["data"]).load()


def binarize(images: torch.Tensor, seed: int) -> torch.Tensor:
    """A fixed binarization of intensities: each pixel is 1 with probability its intensity."""
    return torch.bernoulli(images, generator=torch.Generator().manual_seed(seed))


#: A run of Bernoulli pixels whose kept validation ELBO is this many times below that of the model
#: that gives every pixel probability 0.5 (-pixels * log 2 nats per image) has diverged.
DIVERGED_ELBO_FACTOR = 10.0


def check_not_diverged(result: FitResult, pixels: int, lr: float) -> None:
    """Refuse a run of an image model whose kept weights are far worse than knowing nothing.

    The loss of a diverged image VAE may stay finite (an ELBO of -1.7e30 after ``--lr 1e6``), so the
    non-finite check of training does not stop it; this one fails such a run as a non-finite loss
    fails a tabular one, with :class:`~vaekit.errors.TrainingDivergedError`.
    """
    from vaekit.errors import TrainingDivergedError

    rows = [row for row in result.history if int(row["epoch"]) == result.kept_epoch] or result.history[-1:]
    if not rows or "val_elbo" not in rows[0]:
        return
    elbo, floor = float(rows[0]["val_elbo"]), -pixels * math.log(2)
    if not elbo >= DIVERGED_ELBO_FACTOR * floor:  # also NaN
        raise TrainingDivergedError(
            f"training diverged: the validation ELBO of the kept epoch {result.kept_epoch} is {elbo:.3g} "
            f"nats per image, far below the {floor:.1f} of a model that gives every pixel probability "
            f"0.5; try a lower --lr than {lr:g}"
        )


def test_images(run: Run, dataset: ImageDataset) -> torch.Tensor:
    """The test images as the model sees them (binarized once, with a fixed seed, if it trained so)."""
    return seen_test_images(
        dataset, binarized=run.model.config.binarize, seed=run.config["train_config"]["seed"]
    )


def seen_test_images(dataset: ImageDataset, *, binarized: bool, seed: int) -> torch.Tensor:
    """The test images as a model trained with ``seed`` sees them: binarized once with ``seed + 2``
    when it trains on binarized images (``--binarize``)."""
    return binarize(dataset.test_images, seed + 2) if binarized else dataset.test_images


@dataclass(frozen=True)
class ImageSplit:
    """An image set's training images split into training and validation images (``val_images``
    as the model sees them: binarized once, with a fixed seed, when it trains on binarized images)."""

    train_index: torch.Tensor
    val_index: torch.Tensor
    val_images: torch.Tensor


def split_images(dataset: ImageDataset, train_config: TrainConfig, *, binarized: bool) -> ImageSplit:
    """Hold a validation set out of the training images, seeded by ``train_config.seed``."""
    train_index, val_index = split_train_val(
        len(dataset.train_images), train_config.val_fraction, train_config.seed
    )
    val_images = dataset.train_images[val_index]
    if binarized:
        val_images = binarize(val_images, train_config.seed + 1)
    return ImageSplit(train_index, val_index, val_images)


def image_data_settings(dataset: ImageDataset, source: ImageSource | dict[str, Any] | None) -> dict[str, Any]:
    """What ``config.json`` records of an image set: its name, origin, shape and classes, and where to
    load it again (``source``; a ``{"data": NAME_OR_PATH, "data_dir": DIR}`` dict is read as one;
    ``None``: the set by its name)."""
    if isinstance(source, ImageSource):
        return source.settings(dataset)
    # As vaekit 0.2 recorded them: the set by its name, or the settings as given.
    return {**_described(dataset), **(source or {"data": dataset.name})}


def binarize_batch(batch: Any) -> Any:
    """Dynamic binarization of the images (first tensor) of a batch or of each part of a batch."""
    if isinstance(batch, dict):
        return {name: binarize_batch(part) for name, part in batch.items()}
    return (torch.bernoulli(batch[0]), *batch[1:])


def check_image_shape(expected: tuple[int, ...], dataset: ImageDataset) -> None:
    if tuple(expected) != dataset.image_shape:
        raise VaekitError(
            f"the model expects images of shape {tuple(expected)}, the data have {dataset.image_shape}"
        )
