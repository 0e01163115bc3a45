"""The image VAE as a model kind (``vaekit train vae``), and what every image kind shares."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch

from vaekit.data import ImageDataset
from vaekit.errors import VaekitError
from vaekit.models import VAE, ImageVAE, ImageVAEConfig
from vaekit.runs.evaluate import evaluate_images, sample_images, write_image_figures
from vaekit.runs.images import NAMED_IMAGE_SETS, ImageSource
from vaekit.runs.kinds.flags import (
    add_evaluation_flags,
    add_image_flags,
    add_training_flags,
    user_config,
)
from vaekit.runs.registry import ModelKind, SampleRequest, TrainRequest
from vaekit.runs.store import Run

#: Rows of the example batch a plate diagram is traced on.
EXAMPLE_ROWS = 2


class ImageKind(ModelKind):
    """What the image kinds share: their data (``--data``), config shape, samples (a PNG grid) and
    plate diagram. A subclass sets the model and flags and trains."""

    sample_suffix = ".png"
    #: The run's test metrics and figures, given the run and its image set (read again when ``None``).
    image_metrics: ClassVar[Callable[..., dict[str, Any]]] = staticmethod(evaluate_images)
    image_figures: ClassVar[Callable[..., dict[str, Path]]] = staticmethod(write_image_figures)

    def path_arguments(self, args: Any) -> tuple[str, ...]:
        names = super().path_arguments(args)
        if getattr(args, "data", None) not in (None, *NAMED_IMAGE_SETS):
            names = (*names, "data")
        return names

    def config_shape(self, config: Mapping[str, Any]) -> dict[str, type | tuple[type, ...]]:
        return {"data.class_names": list, "data.image_shape": list}

    def load_data(self, args: Any) -> tuple[ImageDataset, ImageSource]:
        """The image set the flags name, and where ``config.json`` records to find it again."""
        # Loaded as given, so that a message names the data as the user wrote it; stored resolved.
        dataset = ImageSource(args.data, args.data_dir).load(download=args.download)
        source = ImageSource.given(args.data, args.data_dir)
        print(
            f"data: {dataset.name} from {dataset.source}: {len(dataset.train_images)} training and "
            f"{len(dataset.test_images)} test images of shape {dataset.image_shape}",
            file=sys.stderr,
        )
        return dataset, source

    def model_config(
        self, args: Any, dataset: ImageDataset, *, config_class: type | None = None, **fields: Any
    ) -> Any:
        """The model config the flags ask for, fitted to the image set (``fields``: the kind's own;
        ``config_class``: one of the kind's other models)."""
        return user_config(
            config_class or self.config_class,
            image_shape=dataset.image_shape,
            z_dim=args.z_dim,
            hidden=args.hidden,
            encoder=args.encoder,
            rnn_cell=args.rnn_cell,
            binarize=args.binarize,
            **fields,
        )

    def write_samples(self, run: Run, out: Path, request: SampleRequest) -> Path:
        from vaekit import plots

        num_samples, label = request.num_samples, request.label
        if num_samples > plots.MAX_GRID_IMAGES:
            size = num_samples * math.prod(run.model.config.image_shape) * 4
            raise VaekitError(
                f"--n {num_samples}: a picture grid shows at most {plots.MAX_GRID_IMAGES:,} images (these "
                f"would take {size / 1e9:,.1f} GB as 32-bit floats before drawing); draw fewer, or several "
                "grids with different --seed"
            )
        images = sample_images(run, num_samples, seed=request.seed, label=label)
        if label is None:
            title = f"{num_samples} samples from the prior"
        else:
            title = f"{num_samples} samples of class {run.config['data']['class_names'][label]}"
        plots.save_figure(plots.image_grid(images, title=title), out)
        return out

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        return [(torch.zeros((EXAMPLE_ROWS, *model.config.image_shape), device=model.device),)]

    def evaluate(
        self, run: Run, *, iw_samples: int, iw_examples: int | None, progress: bool, data: Any = None
    ) -> dict[str, Any]:
        return self.image_metrics(
            run, dataset=data, iw_samples=iw_samples, iw_examples=iw_examples, progress=progress
        )

    def write_figures(self, run: Run, *, data: Any = None) -> dict[str, Path]:
        return self.image_figures(run, data)


class ImageVAEKind(ImageKind):
    """The image VAE (Kingma & Welling 2013): z ~ N(0, I), pixels ~ Bernoulli."""

    command = "vae"
    model_class = ImageVAE
    config_class = ImageVAEConfig
    help = "image VAE (Kingma & Welling 2013): z ~ N(0, I), pixels ~ Bernoulli"
    noun = "an image VAE run"

    def add_arguments(self, parser: Any) -> None:
        add_image_flags(
            parser,
            hidden=400,
            encoder_help="body of encoder and decoder; rnn: recurrent encoder, MLP decoder (mlp)",
        )
        add_training_flags(parser)
        add_evaluation_flags(parser)

    def train(self, request: TrainRequest) -> Run | None:
        from vaekit.runs.image_vae import train_image_vae

        args = request.args
        train_config = self.train_config(args)
        dataset, data_settings = self.load_data(args)
        model_config = self.model_config(args, dataset)
        request.begin()
        return train_image_vae(
            dataset,
            model_config,
            train_config,
            request.run_dir,
            data_settings=data_settings,
            iw_samples=args.iw_samples,
            iw_examples=args.iw_examples,
            progress=request.progress,
            resume=request.resume,
        )
