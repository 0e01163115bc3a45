"""Command-line flags the model kinds share, and the argument types that check them.

The kinds (:mod:`vaekit.runs.kinds`) declare their ``vaekit train`` flags with these; the command
line (:mod:`vaekit.cli`) parses them. A value outside its range is refused by the parser with a
one-line message, before any work starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaekit.errors import VaekitError
from vaekit.inference import TrainConfig
from vaekit.runs.defaults import SSVAE_DEFAULTS
from vaekit.runs.store import DEFAULT_IW_EXAMPLES, DEFAULT_IW_SAMPLES

#: Draws of z per example when --num-particles is not given, per training objective.
DEFAULT_PARTICLES = {"elbo": 1, "iwae": 8}


def number_type(kind: type, *, minimum: float, strict: bool, upper: float = math.inf) -> Callable[[str], Any]:
    """An argparse type: ``kind`` (int or float) at least (``strict``: above) ``minimum``, below ``upper``."""
    bound = f"above {minimum:g}" if strict else f"at least {minimum:g}"
    if upper < math.inf:
        bound += f" and below {int(upper)}"
    noun = "whole number" if kind is int else "number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {noun}, got {text!r}") from None
        in_range = (value > minimum if strict else value >= minimum) and value < upper
        if not in_range:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"expected a {noun} {bound}, got {text}")
        return value

    return parse


#: Counts and sizes stop below 2**31: larger ones overflow torch's sizes and Python's loaders.
positive_int = number_type(int, minimum=1, strict=False, upper=2**31)
positive_float = number_type(float, minimum=0, strict=True)
non_negative_float = number_type(float, minimum=0, strict=False)
non_negative_int = number_type(int, minimum=0, strict=False)
seed_number = number_type(int, minimum=0, strict=False, upper=2**32)


def layer_widths(text: str) -> tuple[int, ...]:
    """``400`` or ``512,256``: widths of the hidden layers."""
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 400 or 512,256, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"layer widths must be positive, got {text!r}")
    if max(widths) >= 2**31:
        raise argparse.ArgumentTypeError(f"layer widths must be below 2147483648, got {text!r}")
    return widths


def optional_layer_widths(text: str) -> tuple[int, ...]:
    """``none``, ``400`` or ``512,256``: widths of hidden layers that may be left out."""
    return () if text.strip().lower() == "none" else layer_widths(text)


def column_names(text: str) -> tuple[str, ...]:
    """``a,b,c``: column names."""
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names like a,b,c, got {text!r}")
    return names


def add_image_flags(parser: argparse.ArgumentParser, *, hidden: int, encoder_help: str) -> Any:
    """The data and model flags of the image models; returns the model group, for more flags."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default="digits",
        help="digits (bundled), mnist, fashion-mnist, or a folder of IDX files (digits)",
    )
    data.add_argument("--data-dir", help="folder holding the MNIST / Fashion-MNIST IDX files")
    data.add_argument("--download", action="store_true", help="download MNIST / Fashion-MNIST if not found")
    arch = parser.add_argument_group("model")
    arch.add_argument("--z-dim", type=positive_int, default=50, help="latent dimension (50)")
    arch.add_argument(
        "--hidden",
        type=layer_widths,
        default=(hidden,),
        help=f"hidden layer widths, e.g. {hidden} or 512,256",
    )
    arch.add_argument("--encoder", choices=("mlp", "cnn", "rnn"), default="mlp", help=encoder_help)
    arch.add_argument(
        "--rnn-cell",
        choices=("gru", "lstm"),
        default="gru",
        help="cell of the rnn encoder, which reads an image row by row (gru)",
    )
    arch.add_argument("--binarize", action="store_true", help="dynamic binarization of the training images")
    return arch


def devices(text: str) -> str | int:
    """``--devices``: a count (``2``) or Lightning's words (``auto``)."""
    return int(text) if text.isdigit() else text


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """The training flags every ``vaekit train`` command has."""
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=10,
        help="passes over the training set (10; tabular: about 20,000 steps' worth, at most 600; ssvae: "
        + ", ".join(f"{epochs} with {encoder}" for encoder, epochs in SSVAE_DEFAULTS["epochs"].items())
        + ")",
    )
    group.add_argument(
        "--batch-size", type=positive_int, default=128, help="examples per step (128; ssvae 200)"
    )
    # The settings --resume may change default to None here and are resolved in _train_config.
    group.add_argument("--lr", type=positive_float, help="Adam learning rate (1e-3)")
    group.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="learning-rate schedule: constant, or cosine decay to 0 (constant; tabular, ssvae: cosine)",
    )
    group.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=0.0,
        help="decoupled weight decay (AdamW) per step, relative to the learning rate (0)",
    )
    group.add_argument(
        "--seed", type=seed_number, default=0, help="seed for initialisation, splits and sampling (0)"
    )
    group.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of training data for validation"
    )
    group.add_argument(
        "--early-stopping",
        type=positive_int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation ELBO (iwae: bound); see --keep",
    )
    group.add_argument(
        "--keep",
        choices=("best", "last"),
        default="best",
        help="weights the run ends with: the best validation epoch's, or the last epoch's "
        "(best; tabular, ssvae: last)",
    )
    group.add_argument(
        "--objective",
        choices=("elbo", "iwae"),
        default="elbo",
        help="training bound: the ELBO, or the importance-weighted bound with --num-particles draws "
        "(elbo; tabular: iwae)",
    )
    group.add_argument(
        "--num-particles",
        type=positive_int,
        help="samples of z per example in the ELBO, or K of the iwae bound (elbo: 1, iwae: 8)",
    )
    group.add_argument("--accelerator", help="Lightning accelerator: cpu, gpu, auto (auto)")
    group.add_argument(
        "--devices",
        type=devices,
        help="Lightning devices per node, e.g. 2 with --strategy ddp (1; --batch-size is per device)",
    )
    group.add_argument("--strategy", help="Lightning strategy: auto, ddp, ... (auto)")
    group.add_argument("--num-nodes", type=positive_int, help="Lightning nodes (1)")
    group.add_argument("--no-progress", action="store_true", help="hide progress bars")
    group.add_argument("--out", metavar="RUN_DIR", help="run folder to write (required unless --resume)")
    group.add_argument("--force", action="store_true", help="overwrite an existing run folder")
    group.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint, with the settings it was started "
        "with; only --lr, --accelerator, --devices, --strategy, --num-nodes and --no-progress may "
        "change (a lower --lr after a diverging loss, other hardware after a crash)",
    )


def add_evaluation_flags(parser: argparse.ArgumentParser) -> None:
    """``--iw-samples`` and ``--iw-examples`` of the image models' test metrics."""
    parser.add_argument(
        "--iw-samples",
        type=positive_int,
        default=DEFAULT_IW_SAMPLES,
        metavar="K",
        help=f"importance samples per example for the test log-likelihood ({DEFAULT_IW_SAMPLES})",
    )
    parser.add_argument(
        "--iw-examples",
        type=positive_int,
        default=DEFAULT_IW_EXAMPLES,
        metavar="N",
        help=f"first N test examples for the importance-weighted estimate ({DEFAULT_IW_EXAMPLES}); the ELBO "
        "always uses the whole test set",
    )


def check_input_file(path: str | None, flag: str) -> None:
    """Refuse an input file that does not exist or is a folder, before anything reads or hashes it."""
    if path is None:
        return
    if not Path(path).exists():
        raise VaekitError(f"{flag} {path}: no such file")
    if Path(path).is_dir():
        raise VaekitError(f"{flag} {path} is a folder; name a file")


def given_or(value: Any, default: Any) -> Any:
    """``value``, or ``default`` where the flag was not given."""
    return default if value is None else value


def user_config(config_class: type, **fields: Any) -> Any:
    """Build a model config, turning a bad value into a user error."""
    try:
        return config_class(**fields)
    except ValueError as error:
        raise VaekitError(str(error)) from None


def train_config_from(args: argparse.Namespace, config_class: type = TrainConfig) -> Any:
    """The training settings of a ``vaekit train`` command, each unset one at its default."""
    try:
        return config_class(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=given_or(args.lr, 1e-3),
            lr_schedule=args.lr_schedule,
            weight_decay=args.weight_decay,
            seed=args.seed,
            val_fraction=args.val_fraction,
            early_stopping=args.early_stopping,
            keep=args.keep,
            objective=args.objective,
            num_particles=given_or(args.num_particles, DEFAULT_PARTICLES[args.objective]),
            accelerator=given_or(args.accelerator, "auto"),
            devices=given_or(args.devices, 1),
            strategy=given_or(args.strategy, "auto"),
            num_nodes=given_or(args.num_nodes, 1),
            progress_bar=not args.no_progress,
        )
    except ValueError as error:
        raise VaekitError(str(error)) from None
