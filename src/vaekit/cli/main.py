"""``vaekit``: train, evaluate and sample VAEs from the command line.

Every user error (bad arguments, missing or corrupt data, a wrong run folder) ends with a one-line
message on stderr and exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vaekit.inference.config import DEFAULT_CLASSIFIER_WEIGHT, MIN_DEFAULT_ALPHA_PER_EXAMPLE
from vaekit.runs.defaults import SSVAE_DEFAULTS, TABULAR_DEFAULTS

EXIT_USER_ERROR = 2
#: Draws of z per example when --num-particles is not given, per training objective.
DEFAULT_PARTICLES = {"elbo": 1, "iwae": 8}
#: Defaults of `train sequence`, where they differ from the image models'.
SEQUENCE_DEFAULTS = {"epochs": 100, "batch_size": 64, "z_dim": 8, "hidden": 64}


def _number(kind: type, *, minimum: float, strict: bool, upper: float = math.inf) -> Callable[[str], Any]:
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
_positive_int = _number(int, minimum=1, strict=False, upper=2**31)
_positive_float = _number(float, minimum=0, strict=True)
_non_negative_float = _number(float, minimum=0, strict=False)
_non_negative_int = _number(int, minimum=0, strict=False)
_seed = _number(int, minimum=0, strict=False, upper=2**32)


def _layer_widths(text: str) -> tuple[int, ...]:
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


def _column_names(text: str) -> tuple[str, ...]:
    """``a,b,c``: column names."""
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names like a,b,c, got {text!r}")
    return names


def _add_image_flags(parser: argparse.ArgumentParser, *, hidden: int, encoder_help: str) -> Any:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default="digits",
        help="digits (bundled), mnist, fashion-mnist, or a folder of IDX files (digits)",
    )
    data.add_argument("--data-dir", help="folder holding the MNIST / Fashion-MNIST IDX files")
    data.add_argument("--download", action="store_true", help="download MNIST / Fashion-MNIST if not found")
    arch = parser.add_argument_group("model")
    arch.add_argument("--z-dim", type=_positive_int, default=50, help="latent dimension (50)")
    arch.add_argument(
        "--hidden",
        type=_layer_widths,
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


def _devices(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def _add_training_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=_positive_int,
        default=10,
        help="passes over the training set (10; tabular: 600; ssvae: "
        + ", ".join(f"{epochs} with {encoder}" for encoder, epochs in SSVAE_DEFAULTS["epochs"].items())
        + ")",
    )
    group.add_argument(
        "--batch-size", type=_positive_int, default=128, help="examples per step (128; ssvae 200)"
    )
    # The settings --resume may change default to None here and are resolved in _train_config.
    group.add_argument("--lr", type=_positive_float, help="Adam learning rate (1e-3)")
    group.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="learning-rate schedule: constant, or cosine decay to 0 (constant; tabular, ssvae: cosine)",
    )
    group.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=0.0,
        help="decoupled weight decay (AdamW) per step, relative to the learning rate (0)",
    )
    group.add_argument(
        "--seed", type=_seed, default=0, help="seed for initialisation, splits and sampling (0)"
    )
    group.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of training data for validation"
    )
    group.add_argument(
        "--early-stopping",
        type=_positive_int,
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
        type=_positive_int,
        help="samples of z per example in the ELBO, or K of the iwae bound (elbo: 1, iwae: 8)",
    )
    group.add_argument("--accelerator", help="Lightning accelerator: cpu, gpu, auto (auto)")
    group.add_argument(
        "--devices",
        type=_devices,
        help="Lightning devices per node, e.g. 2 with --strategy ddp (1; --batch-size is per device)",
    )
    group.add_argument("--strategy", help="Lightning strategy: auto, ddp, ... (auto)")
    group.add_argument("--num-nodes", type=_positive_int, help="Lightning nodes (1)")
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


def _add_evaluation_flags(parser: argparse.ArgumentParser) -> None:
    from vaekit.runs import DEFAULT_IW_EXAMPLES, DEFAULT_IW_SAMPLES

    parser.add_argument(
        "--iw-samples",
        type=_positive_int,
        default=DEFAULT_IW_SAMPLES,
        metavar="K",
        help=f"importance samples per example for the test log-likelihood ({DEFAULT_IW_SAMPLES})",
    )
    parser.add_argument(
        "--iw-examples",
        type=_positive_int,
        default=DEFAULT_IW_EXAMPLES,
        metavar="N",
        help=f"first N test examples for the importance-weighted estimate ({DEFAULT_IW_EXAMPLES}); the ELBO "
        "always uses the whole test set",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaekit",
        description="Variational autoencoders as latent variable models, fitted with amortized inference.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"vaekit {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model and write a run folder")
    models = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    vae = models.add_parser("vae", help="image VAE (Kingma & Welling 2013): z ~ N(0, I), pixels ~ Bernoulli")
    _add_image_flags(
        vae, hidden=400, encoder_help="body of encoder and decoder; rnn: recurrent encoder, MLP decoder (mlp)"
    )
    _add_training_flags(vae)
    _add_evaluation_flags(vae)
    vae.set_defaults(handler=_train_vae)

    ssvae = models.add_parser(
        "ssvae",
        help="semi-supervised VAE (Kingma et al. 2014, M2): the class label as a partially observed variable",
    )
    arch = _add_image_flags(ssvae, hidden=500, encoder_help="body of the classifier and the z encoder (mlp)")
    arch.add_argument(
        "--labels",
        type=_non_negative_int,
        required=True,
        metavar="N",
        help="labelled training images, balanced over the classes and chosen by the seed (0: unsupervised)",
    )
    weight = arch.add_mutually_exclusive_group()
    weight.add_argument(
        "--classifier-weight",
        type=_non_negative_float,
        default=None,
        metavar="W",
        help="weight of log q(y|x) per labelled image, relative to its ELBO: alpha = W * labels "
        f"(default {DEFAULT_CLASSIFIER_WEIGHT:g}, Pyro's tutorial's, with alpha at least "
        f"{MIN_DEFAULT_ALPHA_PER_EXAMPLE:g} * training images)",
    )
    weight.add_argument(
        "--alpha",
        type=_non_negative_float,
        default=None,
        help="total weight of the classification term alpha * E[log q(y|x)] instead of --classifier-weight "
        "(the paper's choice is 0.1 * training set size)",
    )
    _add_training_flags(ssvae)
    _add_evaluation_flags(ssvae)
    # epochs=None: resolved by encoder (SSVAE_DEFAULTS) once the arguments are parsed.
    ssvae.set_defaults(
        handler=_train_ssvae,
        epochs=None,
        batch_size=SSVAE_DEFAULTS["batch_size"],
        lr_schedule=SSVAE_DEFAULTS["lr_schedule"],
        keep=SSVAE_DEFAULTS["keep"],
    )

    tabular = models.add_parser(
        "tabular", help="tabular VAE: columns of different kinds, each with its own likelihood, tied by z"
    )
    # Required, but checked by the handler: a resumed run takes its source from the run folder.
    source = tabular.add_argument_group("data").add_mutually_exclusive_group(required=False)
    source.add_argument(
        "--csv", metavar="FILE", help="table to model, read into memory (CSV, or Parquet with pyarrow)"
    )
    source.add_argument(
        "--parquet",
        metavar="PATH",
        help="a Parquet file, or a folder of them, streamed in chunks: tables larger than memory",
    )
    source.add_argument("--dataset", choices=("seed",), help="the reference data with a known density")
    tabular.add_argument(
        "--schema", metavar="FILE", help="column kinds overriding the inferred ones (JSON/YAML/TOML)"
    )
    stream = tabular.add_argument_group("streaming (--parquet)")
    stream.add_argument(
        "--sample-rows",
        type=_positive_int,
        metavar="N",
        default=100_000,
        help="rows, spread over the row groups, that the schema is inferred from (100000)",
    )
    stream.add_argument(
        "--buffer-rows",
        type=_positive_int,
        metavar="N",
        default=262_144,
        help="rows held for shuffling (262144)",
    )
    stream.add_argument(
        "--chunk-rows",
        type=_positive_int,
        metavar="N",
        default=65_536,
        help="rows read from a file at a time (65536)",
    )
    stream.add_argument(
        "--eval-rows",
        type=_positive_int,
        metavar="N",
        default=10_000,
        help="seeded sample of test rows for the test metrics (10000)",
    )
    stream.add_argument(
        "--loader-workers",
        type=_non_negative_int,
        metavar="N",
        default=0,
        help="reader processes (0: read in the trainer)",
    )
    reference = tabular.add_argument_group("reference data (--dataset seed)")
    reference.add_argument("--k0", type=_positive_float, default=2.0, help="shape of x1 ~ Gamma (2)")
    reference.add_argument("--theta0", type=_positive_float, default=1.0, help="scale of x1 ~ Gamma (1)")
    reference.add_argument("--mu0", type=float, default=0.0, help="mean of x2 ~ Normal (0)")
    reference.add_argument("--sigma0", type=_positive_float, default=1.0, help="standard deviation of x2 (1)")
    reference.add_argument(
        "--rows", type=_positive_int, default=10_000, help="training rows, and as many test rows"
    )
    arch = tabular.add_argument_group("model")
    arch.add_argument(
        "--z-dim", type=_positive_int, default=TABULAR_DEFAULTS["z_dim"], help="latent dimension"
    )
    arch.add_argument(
        "--hidden",
        type=_layer_widths,
        default=TABULAR_DEFAULTS["hidden"],
        help="hidden layer widths (128,128)",
    )
    _add_training_flags(tabular)
    tabular.add_argument(
        "--iw-samples",
        type=_positive_int,
        default=1000,
        metavar="K",
        help="importance samples per row (1000)",
    )
    tabular.set_defaults(
        handler=_train_tabular,
        epochs=TABULAR_DEFAULTS["epochs"],
        batch_size=TABULAR_DEFAULTS["batch_size"],
        lr_schedule=TABULAR_DEFAULTS["lr_schedule"],
        objective=TABULAR_DEFAULTS["objective"],
        keep=TABULAR_DEFAULTS["keep"],
    )

    sequence = models.add_parser(
        "sequence",
        help="sequence VAE: one z per sequence, recurrent encoder and decoder, a likelihood per step",
    )
    # Required, but checked by the handler: a resumed run takes its source from the run folder.
    source = sequence.add_argument_group("data (long format: one row per sequence and time step)")
    source.add_argument("--csv", metavar="FILE", help="sequences to model (CSV, or Parquet with pyarrow)")
    source.add_argument("--id", metavar="COL", help="column naming the sequence of each row")
    source.add_argument("--time", metavar="COL", help="column ordering the steps (numbers or dates)")
    source.add_argument(
        "--value",
        type=_column_names,
        metavar="COLS",
        help="value columns, e.g. temperature,pressure (default: every other column)",
    )
    source.add_argument(
        "--schema", metavar="FILE", help="value column kinds other than real (JSON/YAML/TOML)"
    )
    arch = sequence.add_argument_group("model")
    arch.add_argument(
        "--z-dim", type=_positive_int, default=SEQUENCE_DEFAULTS["z_dim"], help="latent dimension"
    )
    arch.add_argument(
        "--hidden",
        type=_positive_int,
        default=SEQUENCE_DEFAULTS["hidden"],
        help=f"size of the recurrent state of encoder and decoder ({SEQUENCE_DEFAULTS['hidden']})",
    )
    arch.add_argument("--rnn-cell", choices=("gru", "lstm"), default="gru", help="recurrent cell (gru)")
    arch.add_argument("--rnn-layers", type=_positive_int, default=1, help="stacked recurrent layers (1)")
    _add_training_flags(sequence)
    sequence.add_argument(
        "--iw-samples",
        type=_positive_int,
        default=1000,
        metavar="K",
        help="importance samples per sequence (1000)",
    )
    sequence.set_defaults(
        handler=_train_sequence,
        epochs=SEQUENCE_DEFAULTS["epochs"],
        batch_size=SEQUENCE_DEFAULTS["batch_size"],
    )

    score = commands.add_parser(
        "score", help="log-likelihood of each table row or each sequence under a tabular or sequence model"
    )
    score.add_argument("run_dir", metavar="RUN_DIR")
    score.add_argument("--csv", required=True, metavar="FILE", help="table or long-format sequences to score")
    score.add_argument("--out", required=True, metavar="FILE.csv", help="scores to write")
    score.add_argument(
        "--iw-samples", type=_positive_int, default=1000, metavar="K", help="importance samples (1000)"
    )
    score.add_argument("--no-progress", action="store_true", help="hide progress bars")
    score.set_defaults(handler=_score)

    impute = commands.add_parser("impute", help="fill the missing cells of a table from a tabular model")
    impute.add_argument("run_dir", metavar="RUN_DIR")
    impute.add_argument("--csv", required=True, metavar="FILE", help="table with missing cells")
    impute.add_argument("--out", required=True, metavar="FILE.csv", help="completed table to write")
    impute.add_argument(
        "--draws",
        type=_positive_int,
        default=1,
        metavar="K",
        help="K multiple imputations (1: the point estimate)",
    )
    impute.add_argument("--seed", type=_seed, default=0, help="seed of the draws (0)")
    impute.set_defaults(handler=_impute)

    evaluate = commands.add_parser("evaluate", help="recompute a run's test metrics and rewrite metrics.json")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    _add_evaluation_flags(evaluate)
    evaluate.add_argument("--no-progress", action="store_true", help="hide progress bars")
    evaluate.set_defaults(handler=_evaluate)

    sample = commands.add_parser(
        "sample", help="draw images (a PNG grid), table rows or sequences (a CSV file) from a model"
    )
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--n", type=_positive_int, default=64, help="number of samples (64)")
    sample.add_argument("--seed", type=_seed, default=0, help="seed of the prior draws (0)")
    sample.add_argument(
        "--label", type=_non_negative_int, metavar="K", help="class to draw from (models with labels)"
    )
    sample.add_argument(
        "--out", required=True, metavar="FILE", help="PNG file (images) or CSV file (tables, sequences)"
    )
    sample.set_defaults(handler=_sample)

    graph = commands.add_parser("graph", help="draw the plate diagram of a run's model (needs Graphviz)")
    graph.add_argument("run_dir", metavar="RUN_DIR")
    graph.add_argument("--out", required=True, metavar="FILE", help="picture to write: .png, .svg or .pdf")
    graph.add_argument(
        "--format", choices=("png", "svg", "pdf"), help="format of the picture (default: from the suffix)"
    )
    graph.set_defaults(handler=_graph)

    demo = commands.add_parser("demo", help="train the flagship models on bundled data and write a report")
    demo.add_argument("--out", default="vaekit-demo", metavar="DIR", help="output folder (vaekit-demo)")
    demo.add_argument("--epochs", type=_positive_int, default=None, help="override the demo's epochs")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument("--force", action="store_true", help="overwrite an existing demo folder")
    demo.add_argument(
        "--iw-samples",
        type=_positive_int,
        default=1000,
        metavar="K",
        help="importance samples of the test metrics",
    )
    demo.set_defaults(handler=_demo)
    return parser


def _version() -> str:
    from vaekit._version import __version__

    return __version__


#: The run folders this command has claimed; :func:`main` closes them when the command ends.
_CLAIMED: list[Any] = []


def _claim(path: str, *, kind: str, force: bool, inputs: Sequence[Any] = (), resume: bool = False) -> Path:
    """Lock and check a run folder (:func:`vaekit.runs.folder.claim_run_folder`); nothing is removed yet."""
    from vaekit.runs.folder import claim_run_folder

    folder = claim_run_folder(path, kind=kind, force=force, inputs=inputs, resume=resume)
    _CLAIMED.append(folder)
    return folder.path


def _close_claims(*, failed: bool) -> None:
    while _CLAIMED:
        _CLAIMED.pop().close(failed=failed)


def _inputs(args: argparse.Namespace) -> list[str]:
    """The files and folders a training command reads: none may lie inside its run folder."""
    given = [getattr(args, name, None) for name in _PATH_ARGUMENTS]
    if getattr(args, "data", None) not in (None, "digits", "mnist", "fashion-mnist"):
        given.append(args.data)
    return [value for value in given if value is not None]


def _input_file(path: str | None, flag: str) -> None:
    """Refuse an input file that does not exist or is a folder, before anything reads or hashes it."""
    from vaekit.errors import VaekitError

    if path is None:
        return
    if not Path(path).exists():
        raise VaekitError(f"{flag} {path}: no such file")
    if Path(path).is_dir():
        raise VaekitError(f"{flag} {path} is a folder; name a file")


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


#: Settings a resumed run may change: how fast it learns from here on, and on what hardware.
_RESUME_OVERRIDES = ("lr", "accelerator", "devices", "strategy", "num_nodes")
#: Settings added after 0.2, with the value that repeats what a 0.2 run did without them: a resumed
#: run keeps training as it started (a 0.2 ssvae run without --alpha used the paper's alpha).
_PAPERS_ALPHA = "0.1 N"
_LEGACY_ARGUMENTS: dict[str, dict[str, Any]] = {"ssvae": {"classifier_weight": _PAPERS_ALPHA}}
#: The training command's arguments, kept in the run folder so that --resume can repeat them.
COMMAND_FILE = "command.json"
#: Arguments that say how to run this process, not what to train; never stored or restored.
_PROCESS_ARGUMENTS = ("handler", "debug", "resume", "force", "no_progress", "out")
#: Arguments holding paths, stored resolved so that a run resumes from any folder.
_PATH_ARGUMENTS = ("data_dir", "csv", "schema", "parquet")


def _start_run(args: argparse.Namespace, command: str) -> tuple[argparse.Namespace, Path, bool]:
    """Resolve ``--out``/``--resume``: the arguments to train with, the run folder, whether it resumes.

    The run folder is locked and checked (:func:`_claim`), nothing is replaced yet. Under
    distributed training the other ranks run this command again; only the global rank 0 claims
    the folder and later replaces the run in it.
    """
    import json

    from vaekit._distributed import is_global_zero
    from vaekit.errors import VaekitError
    from vaekit.inference import last_checkpoint

    if args.resume is None:
        if args.out is None:
            raise VaekitError("--out RUN_DIR is required (or --resume RUN_DIR to continue a run)")
        if not is_global_zero():
            return args, Path(args.out), False
        return args, _claim(args.out, kind="run", force=args.force, inputs=_inputs(args)), False
    run_dir = Path(args.resume)
    if not run_dir.is_dir():
        raise VaekitError(f"cannot resume {run_dir}: no such folder")
    if is_global_zero():
        _claim(args.resume, kind="run", force=False, resume=True)
    try:
        stored = json.loads((run_dir / COMMAND_FILE).read_text(encoding="utf-8"))
        stored_command, arguments = stored["command"], dict(stored["arguments"])
    except (OSError, ValueError, KeyError, TypeError):
        raise VaekitError(
            f"cannot resume {run_dir}: its {COMMAND_FILE} is missing or unreadable (was it written by "
            "`vaekit train`?)"
        ) from None
    if stored_command != command:
        raise VaekitError(
            f"cannot resume {run_dir} with `train {command}`: it is a `train {stored_command}` run"
        )
    last_checkpoint(run_dir)
    for name in (*_PATH_ARGUMENTS, "data"):
        value = arguments.get(name)
        if name == "data" and value in (None, "digits", "mnist", "fashion-mnist"):
            continue
        if isinstance(value, str) and not Path(value).exists():
            flag = "--" + name.replace("_", "-")
            raise VaekitError(
                f"cannot resume {run_dir}: its {flag} {value} is gone; put it back there (a CSV's hash "
                "is checked: it must be the same file), or train a new run with --out"
            )
    if isinstance(arguments.get("hidden"), list):
        arguments["hidden"] = tuple(arguments["hidden"])
    _refuse_changed_settings(run_dir, args, arguments)
    unknown = set(arguments) - set(vars(args))
    if unknown:
        raise VaekitError(f"cannot resume {run_dir}: it was started with unknown settings {sorted(unknown)}")
    overrides = {name: getattr(args, name) for name in _RESUME_OVERRIDES if getattr(args, name) is not None}
    legacy = {
        name: value for name, value in _LEGACY_ARGUMENTS.get(command, {}).items() if name not in arguments
    }
    resumed = argparse.Namespace(
        **{**vars(args), **legacy, **arguments, **overrides, "out": str(run_dir), "force": False}
    )
    return resumed, run_dir, True


#: The options given on this command line, as argument names (``--z-dim 9`` -> ``z_dim``).
_GIVEN_FLAGS: list[str] = []


def _refuse_changed_settings(run_dir: Path, args: argparse.Namespace, stored: dict[str, Any]) -> None:
    """Refuse ``--resume`` with a setting given anew that differs from the run's (``--epochs 5``,
    ``--z-dim 9``): a resumed run keeps the settings it was started with, only those of
    ``_RESUME_OVERRIDES`` may change. Giving a setting its stored value is harmless."""
    from vaekit.errors import VaekitError

    changed = []
    for name in dict.fromkeys(_GIVEN_FLAGS):
        if name in _RESUME_OVERRIDES or name in _PROCESS_ARGUMENTS or name not in stored:
            continue
        given, before = getattr(args, name, None), stored[name]
        if name in _PATH_ARGUMENTS and given is not None:
            given = str(Path(given).resolve())
        if (list(given) if isinstance(given, tuple) else given) != (
            list(before) if isinstance(before, tuple) else before
        ):
            shown = ",".join(map(str, before)) if isinstance(before, (list, tuple)) else before
            changed.append(f"--{name.replace('_', '-')} (the run has {shown})")
    if changed:
        raise VaekitError(
            f"cannot resume {run_dir} with a new {', '.join(changed)}: a resumed run keeps the settings "
            "it was started with; only --lr, --accelerator, --devices, --strategy and --num-nodes may "
            "change (train a new run with --out to change the others)"
        )


def _begin_run(run_dir: Path, args: argparse.Namespace, command: str, resume: bool) -> None:
    """Move an old run aside (inputs are valid by now) and record the command, on rank 0 only.

    The old run is deleted once the new one has a checkpoint, and put back if the command fails
    before (see :class:`vaekit.runs.folder.RunFolder`).
    """
    from vaekit._distributed import is_global_zero
    from vaekit._io import atomic_write_json

    if not is_global_zero():
        return
    _CLAIMED[-1].begin()
    if resume:
        return
    arguments = {}
    for name, value in vars(args).items():
        if name in _PROCESS_ARGUMENTS:
            continue
        if name in _PATH_ARGUMENTS and value is not None:
            value = str(Path(value).resolve())
        arguments[name] = list(value) if isinstance(value, tuple) else value
    if arguments.get("data") not in (None, "digits", "mnist", "fashion-mnist"):
        arguments["data"] = str(Path(arguments["data"]).resolve())
    atomic_write_json(run_dir / COMMAND_FILE, {"command": command, "arguments": arguments})


def _user_config(config_class: type, **fields: Any) -> Any:
    """Build a model config, turning a bad value into a user error."""
    from vaekit.errors import VaekitError

    try:
        return config_class(**fields)
    except ValueError as error:
        raise VaekitError(str(error)) from None


def _load_data(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from vaekit.data import load_image_dataset

    dataset = load_image_dataset(args.data, data_dir=args.data_dir, download=args.download)
    print(
        f"data: {dataset.name} from {dataset.source}: {len(dataset.train_images)} training and "
        f"{len(dataset.test_images)} test images of shape {dataset.image_shape}",
        file=sys.stderr,
    )
    data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
    data = args.data if args.data in ("digits", "mnist", "fashion-mnist") else str(Path(args.data).resolve())
    return dataset, {"data": data, "data_dir": data_dir}


def _train_ssvae(args: argparse.Namespace) -> int:
    from vaekit.inference import TrainConfig
    from vaekit.models import SemiSupervisedVAEConfig
    from vaekit.runs import train_ssvae
    from vaekit.runs.defaults import ssvae_default_epochs
    from vaekit.runs.ss_vae import check_label_budget
    from vaekit.runs.store import split_train_val

    args, run_dir, resume = _start_run(args, "ssvae")
    if args.epochs is None:
        args.epochs = ssvae_default_epochs(args.encoder)
    if args.objective != "elbo":
        from vaekit.errors import VaekitError

        raise VaekitError(
            "the semi-supervised VAE trains with its own ELBO and classifier term: --objective elbo"
        )
    train_config = _train_config(args, TrainConfig)
    dataset, data_settings = _load_data(args)
    model_config = _user_config(
        SemiSupervisedVAEConfig,
        image_shape=dataset.image_shape,
        num_classes=dataset.num_classes,
        z_dim=args.z_dim,
        hidden=args.hidden,
        encoder=args.encoder,
        rnn_cell=args.rnn_cell,
        binarize=args.binarize,
    )
    num_train = len(
        split_train_val(len(dataset.train_images), train_config.val_fraction, train_config.seed)[0]
    )
    check_label_budget(args.labels, num_train, dataset.num_classes)
    alpha, classifier_weight = args.alpha, args.classifier_weight
    if classifier_weight == _PAPERS_ALPHA:  # a 0.2 run resumed: its default was the paper's alpha
        classifier_weight = None
        alpha = 0.1 * num_train if alpha is None else alpha
    _begin_run(run_dir, args, "ssvae", resume)
    run = train_ssvae(
        dataset,
        model_config,
        train_config,
        run_dir,
        num_labels=args.labels,
        alpha=alpha,
        classifier_weight=classifier_weight,
        data_settings=data_settings,
        iw_samples=args.iw_samples,
        iw_examples=args.iw_examples,
        progress=not args.no_progress,
        resume=resume,
    )
    if run is None:  # another rank of a distributed run: rank 0 reports
        return 0
    _print_metrics(run.path, run.metrics)
    return 0


def _train_vae(args: argparse.Namespace) -> int:
    from vaekit.inference import TrainConfig
    from vaekit.models import ImageVAEConfig
    from vaekit.runs import train_image_vae

    args, run_dir, resume = _start_run(args, "vae")
    train_config = _train_config(args, TrainConfig)
    dataset, data_settings = _load_data(args)
    model_config = _user_config(
        ImageVAEConfig,
        image_shape=dataset.image_shape,
        z_dim=args.z_dim,
        hidden=args.hidden,
        encoder=args.encoder,
        rnn_cell=args.rnn_cell,
        binarize=args.binarize,
    )
    _begin_run(run_dir, args, "vae", resume)
    run = train_image_vae(
        dataset,
        model_config,
        train_config,
        run_dir,
        data_settings=data_settings,
        iw_samples=args.iw_samples,
        iw_examples=args.iw_examples,
        progress=not args.no_progress,
        resume=resume,
    )
    if run is None:  # another rank of a distributed run: rank 0 reports
        return 0
    _print_metrics(run.path, run.metrics)
    return 0


def _train_config(args: argparse.Namespace, config_class: type) -> object:
    from vaekit.errors import VaekitError

    try:
        return config_class(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=_given(args.lr, 1e-3),
            lr_schedule=args.lr_schedule,
            weight_decay=args.weight_decay,
            seed=args.seed,
            val_fraction=args.val_fraction,
            early_stopping=args.early_stopping,
            keep=args.keep,
            objective=args.objective,
            num_particles=_given(args.num_particles, DEFAULT_PARTICLES[args.objective]),
            accelerator=_given(args.accelerator, "auto"),
            devices=_given(args.devices, 1),
            strategy=_given(args.strategy, "auto"),
            num_nodes=_given(args.num_nodes, 1),
            progress_bar=not args.no_progress,
        )
    except ValueError as error:
        raise VaekitError(str(error)) from None


#: The metrics a finished run reports on its one summary line.
_SUMMARY_KEYS = (
    "test_elbo",
    "test_log_likelihood",
    "epochs",
    "best_epoch",
    "kept_epoch",
    "seconds_per_epoch",
    "train_examples_per_second",
)


def _print_metrics(run_dir: Path, metrics: dict, keys: Sequence[str] = _SUMMARY_KEYS) -> None:
    shown = ", ".join(f"{key}={metrics[key]}" for key in keys if key in metrics)
    print(f"{run_dir}: {shown}")


def _train_tabular(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import SeedDataParameters, read_schema_file
    from vaekit.errors import VaekitError
    from vaekit.inference import TrainConfig
    from vaekit.runs.tabular import prepare_table, train_tabular

    args, run_dir, resume = _start_run(args, "tabular")
    if args.csv is None and args.dataset is None and args.parquet is None:
        raise VaekitError("one of the arguments --csv --parquet --dataset is required")
    _input_file(args.csv, "--csv")
    _input_file(args.schema, "--schema")
    if args.parquet is not None and not Path(args.parquet).exists():
        raise VaekitError(f"--parquet {args.parquet}: no such file or folder")
    train_config = _train_config(args, TrainConfig)
    overrides = read_schema_file(args.schema) if args.schema else None
    if args.dataset == "seed":
        parameters = SeedDataParameters(k0=args.k0, theta0=args.theta0, mu0=args.mu0, sigma0=args.sigma0)
        data = {
            "dataset": "seed",
            "seed_parameters": asdict(parameters),
            "rows": args.rows,
            "split_seed": args.seed,
        }
    elif args.parquet is not None:
        data = {
            "dataset": "parquet",
            "parquet": str(Path(args.parquet).resolve()),
            "split_seed": args.seed,
            "val_fraction": args.val_fraction,
            "sample_rows": args.sample_rows,
            "chunk_rows": args.chunk_rows,
            "buffer_rows": args.buffer_rows,
            "eval_rows": args.eval_rows,
            "workers": args.loader_workers,
        }
    else:
        data = {"dataset": "csv", "csv": str(Path(args.csv).resolve()), "split_seed": args.seed}
    prepared = prepare_table(data, overrides)
    _begin_run(run_dir, args, "tabular", resume)
    run = train_tabular(
        prepared,
        train_config,
        run_dir,
        z_dim=args.z_dim,
        hidden=args.hidden,
        overrides=overrides,
        iw_samples=args.iw_samples,
        progress=not args.no_progress,
        on_schema=lambda schema: print(
            f"schema (override with --schema FILE):\n{schema.describe()}", file=sys.stderr
        ),
        resume=resume,
    )
    if run is None:  # another rank of a distributed run: rank 0 reports
        return 0
    keys = ("test_log_likelihood", "true_test_log_likelihood", "gap", "epochs", "seconds_per_epoch")
    _print_metrics(run.path, run.metrics, keys)
    return 0


def _train_sequence(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_schema_file
    from vaekit.errors import VaekitError
    from vaekit.inference import TrainConfig
    from vaekit.runs.sequence import prepare_sequences, train_sequence

    args, run_dir, resume = _start_run(args, "sequence")
    required = (("--csv", args.csv), ("--id", args.id), ("--time", args.time))
    missing = [flag for flag, value in required if not value]
    if missing:
        raise VaekitError(f"train sequence needs {', '.join(missing)}")
    _input_file(args.csv, "--csv")
    _input_file(args.schema, "--schema")
    train_config = _train_config(args, TrainConfig)
    overrides = read_schema_file(args.schema) if args.schema else None
    data = {
        "csv": str(Path(args.csv).resolve()),
        "id": args.id,
        "time": args.time,
        "value_columns": list(args.value) if args.value else None,
        "split_seed": args.seed,
    }
    prepared = prepare_sequences(data, overrides)
    print(
        f"data: {len(prepared.train)} training and {len(prepared.test)} test sequences, "
        f"{int(prepared.train.lengths.min())} to {int(prepared.train.lengths.max())} steps",
        file=sys.stderr,
    )
    _begin_run(run_dir, args, "sequence", resume)
    run = train_sequence(
        prepared,
        train_config,
        run_dir,
        z_dim=args.z_dim,
        hidden=args.hidden,
        cell=args.rnn_cell,
        num_layers=args.rnn_layers,
        iw_samples=args.iw_samples,
        progress=not args.no_progress,
        on_schema=lambda schema: print(
            f"value columns (override with --schema FILE):\n{schema.describe()}", file=sys.stderr
        ),
        resume=resume,
    )
    if run is None:  # another rank of a distributed run: rank 0 reports
        return 0
    keys = ("test_elbo", "test_log_likelihood", "test_log_likelihood_per_step", "epochs", "seconds_per_epoch")
    _print_metrics(run.path, run.metrics, keys)
    return 0


def _score(args: argparse.Namespace) -> int:
    import pandas as pd

    from vaekit.data.tabular import read_table
    from vaekit.models import SequenceVAE
    from vaekit.runs.sequence import score_sequences
    from vaekit.runs.tabular import score_rows, write_table

    out = _csv_out(args.out, inputs=(args.csv,), run_dir=args.run_dir)
    run = _load_run_of(args.run_dir, ("TabularVAE", "SequenceVAE"), "a tabular run or a sequence run")
    table = read_table(args.csv)
    if isinstance(run.model, SequenceVAE):
        scores = score_sequences(run, table, iw_samples=args.iw_samples, progress=not args.no_progress)
        write_table(scores, out)
        print(out)
        return 0
    scores = score_rows(run, table, iw_samples=args.iw_samples, progress=not args.no_progress)
    write_table(pd.DataFrame({"row": range(1, len(table) + 1), "log_likelihood": scores}), out)
    print(out)
    return 0


def _impute(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_table
    from vaekit.runs.tabular import impute_rows, write_table

    out = _csv_out(args.out, inputs=(args.csv,), run_dir=args.run_dir)
    run = _load_tabular_run(args.run_dir)
    write_table(impute_rows(run, read_table(args.csv), draws=args.draws, seed=args.seed), out)
    print(out)
    return 0


def _csv_out(path: str, *, inputs: Sequence[str] = (), run_dir: str | None = None) -> Path:
    """Check ``--out`` before any work: a .csv file, none of the command's inputs, in a writable folder."""
    from vaekit.errors import VaekitError

    out = Path(path)
    if out.suffix.lower() != ".csv":
        raise VaekitError(f"--out must name a .csv file, got {out}")
    _check_output(out, inputs=inputs, run_dir=run_dir)
    return out


def _run_inputs(run_dir: Path) -> list[str]:
    """The data files named in a run's config.json (none when it cannot be read)."""
    import json

    try:
        data = json.loads((run_dir / "config.json").read_text()).get("data", {})
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(data, dict):
        return []
    return [data[key] for key in ("csv", "schema") if isinstance(data.get(key), str)]


def _check_output(out: Path, *, inputs: Sequence[str] = (), run_dir: str | None = None) -> None:
    """Refuse an output that would overwrite an input, a file of the run, a folder, or cannot be written."""
    import os

    from vaekit.errors import VaekitError
    from vaekit.runs.folder import BOOKKEEPING, RUN_FILES

    target = out.resolve()
    if run_dir is not None:
        # The files the run was trained on are the user's too: an output must not replace them.
        inputs = (*inputs, *_run_inputs(Path(run_dir)))
    for given in inputs:
        if given is not None and Path(given).resolve() == target:
            raise VaekitError(f"--out {out} is the input {given}; choose another file to write")
    if (
        run_dir is not None
        and target.parent == Path(run_dir).resolve()
        and target.name
        in (
            *RUN_FILES,
            *BOOKKEEPING,
        )
    ):
        raise VaekitError(f"--out {out} is a file of the run {run_dir}; choose another file to write")
    if out.is_dir():
        raise VaekitError(f"--out {out} is a folder; name the file to write")
    parent = target.parent
    while not parent.exists() and parent.parent != parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise VaekitError(f"--out {out} cannot be written: {parent} is not a writable folder")
    # os.access says yes to root in /proc and on read-only mounts: create a file there to be sure.
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".vaekit-probe-"):
            pass
    except OSError as error:
        raise VaekitError(f"--out {out} cannot be written: {parent}: {error.strerror or error}") from None


def _load_tabular_run(run_dir: str) -> Any:
    return _load_run_of(run_dir, ("TabularVAE",), "a tabular run")


def _load_run_of(run_dir: str, model_names: tuple[str, ...], wanted: str) -> Any:
    from vaekit.errors import VaekitError
    from vaekit.runs import load_run

    run = load_run(run_dir)
    if type(run.model).__name__ not in model_names:
        raise VaekitError(f"{run_dir} holds a {type(run.model).__name__}; this command needs {wanted}")
    return _complete(run)


def _complete(run: Any) -> Any:
    """The run, once its config.json is known to hold every setting the commands read."""
    from vaekit.runs.store import check_config_shape

    check_config_shape(run.config, run.path / "config.json")
    return run


def _evaluate(args: argparse.Namespace) -> int:
    from vaekit.models import SequenceVAE, TabularVAE
    from vaekit.runs import evaluate_run, load_run
    from vaekit.runs.sequence import evaluate_sequences
    from vaekit.runs.tabular import evaluate_tabular

    run = _complete(load_run(args.run_dir))
    if isinstance(run.model, TabularVAE):
        metrics = evaluate_tabular(run, iw_samples=args.iw_samples, progress=not args.no_progress)
    elif isinstance(run.model, SequenceVAE):
        metrics = evaluate_sequences(run, iw_samples=args.iw_samples, progress=not args.no_progress)
    else:
        metrics = evaluate_run(
            run, iw_samples=args.iw_samples, iw_examples=args.iw_examples, progress=not args.no_progress
        )
    _print_metrics(run.path, metrics)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from vaekit import plots
    from vaekit.errors import VaekitError
    from vaekit.models import SequenceVAE, TabularVAE
    from vaekit.runs import load_run, sample_images
    from vaekit.runs.sequence import sample_sequences
    from vaekit.runs.tabular import sample_rows, write_table

    out = Path(args.out)
    run = _complete(load_run(args.run_dir))
    if isinstance(run.model, (TabularVAE, SequenceVAE)):
        kind = "tabular" if isinstance(run.model, TabularVAE) else "sequence"
        if args.label is not None:
            raise VaekitError(f"--label needs a model with a class label; a {kind} run has none")
        draw = sample_rows if kind == "tabular" else sample_sequences
        out = _csv_out(args.out, run_dir=args.run_dir)
        write_table(draw(run, args.n, seed=args.seed), out)
        print(out)
        return 0
    if out.suffix.lower() != ".png":
        raise VaekitError(f"--out must name a .png file for images, got {out}")
    _check_output(out, run_dir=args.run_dir)
    if args.n > plots.MAX_GRID_IMAGES:
        size = args.n * math.prod(run.model.config.image_shape) * 4
        raise VaekitError(
            f"--n {args.n}: a picture grid shows at most {plots.MAX_GRID_IMAGES:,} images (these would "
            f"take {size / 1e9:,.1f} GB as 32-bit floats before drawing); draw fewer, or several grids "
            "with different --seed"
        )
    images = sample_images(run, args.n, seed=args.seed, label=args.label)
    if args.label is None:
        title = f"{args.n} samples from the prior"
    else:
        title = f"{args.n} samples of class {run.config['data']['class_names'][args.label]}"
    plots.save_figure(plots.image_grid(images, title=title), out)
    print(out)
    return 0


def _graph(args: argparse.Namespace) -> int:
    from vaekit.errors import VaekitError
    from vaekit.plots.graph import graph_format, require_dot, require_graphviz
    from vaekit.runs import load_run
    from vaekit.runs.graph import write_model_graph

    out = Path(args.out)
    picture_format = graph_format(out, args.format)
    if out.is_dir():
        raise VaekitError(f"--out {out} is a folder; name the picture file to write")
    run = load_run(args.run_dir)
    require_graphviz()
    require_dot()
    print(write_model_graph(run, out, format=picture_format))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from vaekit.demo import run_demo

    _claim(args.out, kind="demo", force=args.force)
    _CLAIMED[-1].begin()
    report = run_demo(
        Path(args.out), epochs=args.epochs, iw_samples=args.iw_samples, progress=not args.no_progress
    )
    print(f"report: {report}")
    return 0


_FORMAT_WARNING = warnings.formatwarning


def _format_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    """vaekit's own warnings on one line (``vaekit: warning: ...``); others as Python writes them."""
    from vaekit.errors import VaekitWarning

    if issubclass(category, VaekitWarning):
        return f"vaekit: warning: {message}\n"
    return _FORMAT_WARNING(message, category, filename, lineno, line)


def _quiet_libraries() -> None:
    # Lightning logs hardware and tips at INFO on every run; keep the terminal for vaekit's output.
    # Its package sets its loggers' level when imported, so import it before lowering them.
    import lightning  # noqa: F401

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.formatwarning = _format_warning
    warnings.filterwarnings("ignore", message=".*litlogger.*")
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*")


def _handle(args: argparse.Namespace) -> int:
    """Run the command; then close the run folders it claimed, putting back what a failed start moved."""
    try:
        status = args.handler(args)
    except BaseException:
        _close_claims(failed=True)
        raise
    _close_claims(failed=False)
    return status


def _out_of_memory(error: BaseException) -> bool:
    """Whether torch's allocator refused an allocation (a size the settings asked for)."""
    text = str(error)
    return "can't allocate memory" in text or "out of memory" in text.lower()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vaekit`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _GIVEN_FLAGS[:] = [
        token.split("=", 1)[0][2:].replace("-", "_")
        for token in (sys.argv[1:] if argv is None else argv)
        if isinstance(token, str) and token.startswith("--")
    ]
    _quiet_libraries()
    if args.debug:
        return _handle(args)
    from vaekit.errors import VaekitError

    try:
        return _handle(args)
    except VaekitError as error:
        print(f"vaekit: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return 130
    except FloatingPointError as error:
        print(f"vaekit: error: {error}", file=sys.stderr)
        return 1
    except (MemoryError, RuntimeError) as error:
        if not isinstance(error, MemoryError) and not _out_of_memory(error):
            name = type(error).__name__
            print(
                f"vaekit: internal error: {name}: {error} (run with --debug for the traceback)",
                file=sys.stderr,
            )
            return 1
        print(
            "vaekit: error: not enough memory for these settings ("
            + (str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
            + "); lower --hidden, --z-dim, --batch-size, --n or --draws",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except Exception as error:  # noqa: BLE001 - the one place that turns any failure into a message
        print(
            f"vaekit: internal error: {type(error).__name__}: {error} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
