"""``vaekit``: train, evaluate and sample VAEs from the command line.

Every user error (bad arguments, missing or corrupt data, a wrong run folder) ends with a one-line
message on stderr and exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vaekit.runs.kinds.flags import (
    DEFAULT_PARTICLES as DEFAULT_PARTICLES,
)
from vaekit.runs.kinds.flags import (
    add_evaluation_flags,
    non_negative_int,
    positive_int,
    seed_number,
)
from vaekit.runs.registry import (
    SUMMARY_KEYS,
    ModelKind,
    ReportRequest,
    SampleRequest,
    TrainRequest,
    kind_of_name,
    model_kinds,
    require_command,
)

EXIT_USER_ERROR = 2


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
    for kind in model_kinds():
        command = models.add_parser(kind.command, help=kind.help)
        kind.add_arguments(command)
        command.set_defaults(handler=functools.partial(_train, kind))

    score = commands.add_parser(
        "score",
        help="log-likelihood of each table row or each sequence under a tabular, sequence or story model",
    )
    score.add_argument("run_dir", metavar="RUN_DIR")
    score.add_argument("--csv", required=True, metavar="FILE", help="table or long-format sequences to score")
    score.add_argument("--out", required=True, metavar="FILE.csv", help="scores to write")
    score.add_argument(
        "--iw-samples", type=positive_int, default=1000, metavar="K", help="importance samples (1000)"
    )
    score.add_argument("--no-progress", action="store_true", help="hide progress bars")
    score.set_defaults(handler=_score)

    impute = commands.add_parser("impute", help="fill the missing cells of a table from a tabular model")
    impute.add_argument("run_dir", metavar="RUN_DIR")
    impute.add_argument("--csv", required=True, metavar="FILE", help="table with missing cells")
    impute.add_argument("--out", required=True, metavar="FILE.csv", help="completed table to write")
    impute.add_argument(
        "--draws",
        type=positive_int,
        default=1,
        metavar="K",
        help="K multiple imputations (1: the point estimate)",
    )
    impute.add_argument("--seed", type=seed_number, default=0, help="seed of the draws (0)")
    impute.set_defaults(handler=_impute)

    encode = commands.add_parser(
        "encode",
        help="q(z | x) of each table row or sequence: latent means and scales (a story's: every latent)",
    )
    encode.add_argument("run_dir", metavar="RUN_DIR")
    encode.add_argument(
        "--csv", required=True, metavar="FILE", help="table or long-format sequences to encode"
    )
    encode.add_argument("--out", required=True, metavar="FILE.csv", help="latent codes to write")
    encode.set_defaults(handler=_encode)

    predict = commands.add_parser(
        "predict", help="class probabilities of each table row, from a run trained with --target"
    )
    predict.add_argument("run_dir", metavar="RUN_DIR")
    predict.add_argument(
        "--csv", required=True, metavar="FILE", help="table to predict (the target column may be absent)"
    )
    predict.add_argument("--out", required=True, metavar="FILE.csv", help="class probabilities to write")
    predict.set_defaults(handler=_predict)

    evaluate = commands.add_parser("evaluate", help="recompute a run's test metrics and rewrite metrics.json")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    add_evaluation_flags(evaluate)
    evaluate.add_argument("--no-progress", action="store_true", help="hide progress bars")
    evaluate.set_defaults(handler=_evaluate)

    sample = commands.add_parser(
        "sample", help="draw images (a PNG grid), table rows or sequences (a CSV file) from a model"
    )
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--n", type=positive_int, default=64, help="number of samples (64)")
    sample.add_argument("--seed", type=seed_number, default=0, help="seed of the prior draws (0)")
    sample.add_argument(
        "--label", type=non_negative_int, metavar="K", help="class to draw from (models with labels)"
    )
    sample.add_argument(
        "--given",
        action="append",
        default=[],
        metavar="COND",
        help="tables: a condition on a column, repeatable: 'region=north' gives the cell and draws the "
        "others given it; 'age>30' (<, <=, >=, !=) keeps the rows that meet it",
    )
    sample.add_argument(
        "--keep-missing",
        action="store_true",
        help="tables: give the rows the training table's missing cells (each row the pattern of a "
        "training row drawn at random)",
    )
    sample.add_argument(
        "--out", required=True, metavar="FILE", help="PNG file (images) or CSV file (tables, sequences)"
    )
    sample.set_defaults(handler=_sample)

    report = commands.add_parser(
        "report",
        help="judge a tabular run's synthetic rows against held-out rows: an HTML page, its numbers as JSON",
    )
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument(
        "--csv",
        required=True,
        metavar="FILE",
        help="held-out rows: a table with the training table's columns",
    )
    report.add_argument(
        "--out",
        default="report.html",
        metavar="FILE.html",
        help="page to write (report.html); the numbers go beside it, with .json for .html",
    )
    report.add_argument(
        "--n", type=positive_int, default=None, help="synthetic rows to draw (as many as the held-out rows)"
    )
    report.add_argument("--seed", type=seed_number, default=0, help="seed of the draws and classifiers (0)")
    report.add_argument(
        "--target",
        metavar="COLUMN",
        help="column that machine-learning efficacy predicts (the last categorical or binary column, "
        "else the last numeric one, scored by R²)",
    )
    report.add_argument("--force", action="store_true", help="replace an earlier report at --out")
    report.add_argument("--no-progress", action="store_true", help="hide progress bars")
    report.set_defaults(handler=_report)

    graph = commands.add_parser("graph", help="draw the plate diagram of a run's model (needs Graphviz)")
    graph.add_argument("run_dir", metavar="RUN_DIR")
    graph.add_argument("--out", required=True, metavar="FILE", help="picture to write: .png, .svg or .pdf")
    graph.add_argument(
        "--format", choices=("png", "svg", "pdf"), help="format of the picture (default: from the suffix)"
    )
    graph.set_defaults(handler=_graph)

    demo = commands.add_parser("demo", help="train the flagship models on bundled data and write a report")
    demo.add_argument("--out", default="vaekit-demo", metavar="DIR", help="output folder (vaekit-demo)")
    demo.add_argument("--epochs", type=positive_int, default=None, help="override the demo's epochs")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument("--force", action="store_true", help="overwrite an existing demo folder")
    demo.add_argument(
        "--iw-samples",
        type=positive_int,
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


def _inputs(kind: ModelKind, args: argparse.Namespace) -> list[str]:
    """The files and folders a training command reads: none may lie inside its run folder."""
    return [getattr(args, name) for name in kind.path_arguments(args)]


#: Settings a resumed run may change: how fast it learns from here on, and on what hardware.
_RESUME_OVERRIDES = ("lr", "accelerator", "devices", "strategy", "num_nodes")
#: The training command's arguments, kept in the run folder so that --resume can repeat them.
COMMAND_FILE = "command.json"
#: Arguments that say how to run this process, not what to train; never stored or restored.
_PROCESS_ARGUMENTS = ("handler", "debug", "resume", "force", "no_progress", "out")


def _start_run(kind: ModelKind, args: argparse.Namespace) -> tuple[argparse.Namespace, Path, bool]:
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
        return args, _claim(args.out, kind="run", force=args.force, inputs=_inputs(kind, args)), False
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
    if stored_command != kind.command:
        raise VaekitError(
            f"cannot resume {run_dir} with `train {kind.command}`: it is a `train {stored_command}` run"
        )
    last_checkpoint(run_dir)
    for name in kind.path_arguments(argparse.Namespace(**arguments)):
        value = arguments.get(name)
        if isinstance(value, str) and not Path(value).exists():
            flag = "--" + name.replace("_", "-")
            raise VaekitError(
                f"cannot resume {run_dir}: its {flag} {value} is gone; put it back there (a CSV's hash "
                "is checked: it must be the same file), or train a new run with --out"
            )
    if isinstance(arguments.get("hidden"), list):
        arguments["hidden"] = tuple(arguments["hidden"])
    _refuse_changed_settings(kind, run_dir, args, arguments)
    unknown = set(arguments) - set(vars(args))
    if unknown:
        raise VaekitError(f"cannot resume {run_dir}: it was started with unknown settings {sorted(unknown)}")
    overrides = {name: getattr(args, name) for name in _RESUME_OVERRIDES if getattr(args, name) is not None}
    legacy = {name: value for name, value in kind.legacy_arguments.items() if name not in arguments}
    resumed = argparse.Namespace(
        **{**vars(args), **legacy, **arguments, **overrides, "out": str(run_dir), "force": False}
    )
    return resumed, run_dir, True


#: The options given on this command line, as argument names (``--z-dim 9`` -> ``z_dim``).
_GIVEN_FLAGS: list[str] = []


def _refuse_changed_settings(
    kind: ModelKind, run_dir: Path, args: argparse.Namespace, stored: dict[str, Any]
) -> None:
    """Refuse ``--resume`` with a setting given anew that differs from the run's (``--epochs 5``,
    ``--z-dim 9``): a resumed run keeps the settings it was started with, only those of
    ``_RESUME_OVERRIDES`` may change. Giving a setting its stored value is harmless."""
    from vaekit.errors import VaekitError

    changed = []
    for name in dict.fromkeys(_GIVEN_FLAGS):
        if name in _RESUME_OVERRIDES or name in _PROCESS_ARGUMENTS or name not in stored:
            continue
        given, before = getattr(args, name, None), stored[name]
        if name in kind.path_arguments(args) and given is not None:
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


def _begin_run(kind: ModelKind, run_dir: Path, args: argparse.Namespace, resume: bool) -> None:
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
    paths = kind.path_arguments(args)
    arguments = {}
    for name, value in vars(args).items():
        if name in _PROCESS_ARGUMENTS:
            continue
        if name in paths:
            value = str(Path(value).resolve())
        arguments[name] = list(value) if isinstance(value, tuple) else value
    atomic_write_json(run_dir / COMMAND_FILE, {"command": kind.command, "arguments": arguments})


def _train(kind: ModelKind, args: argparse.Namespace) -> int:
    """``vaekit train KIND``: claim the run folder, let the kind train, report its summary."""
    args, run_dir, resume = _start_run(kind, args)
    request = TrainRequest(
        args=args, run_dir=run_dir, resume=resume, begin=lambda: _begin_run(kind, run_dir, args, resume)
    )
    run = kind.train(request)
    if run is None:  # another rank of a distributed run: rank 0 reports
        return 0
    _print_metrics(run.path, run.metrics, kind.summary_keys)
    return 0


def _print_metrics(run_dir: Path, metrics: dict, keys: Sequence[str] = SUMMARY_KEYS) -> None:
    shown = ", ".join(f"{key}={metrics[key]}" for key in keys if key in metrics)
    print(f"{run_dir}: {shown}")


def _score(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_table
    from vaekit.runs.tabular import write_table

    out = _csv_out(args.out, inputs=(args.csv,), run_dir=args.run_dir)
    run, kind = _load_run_for(args.run_dir, "score")
    scores = kind.score(run, read_table(args.csv), iw_samples=args.iw_samples, progress=not args.no_progress)
    write_table(scores, out)
    print(out)
    return 0


def _impute(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_table
    from vaekit.runs.tabular import write_table

    out = _csv_out(args.out, inputs=(args.csv,), run_dir=args.run_dir)
    run, kind = _load_run_for(args.run_dir, "impute")
    write_table(kind.impute(run, read_table(args.csv), draws=args.draws, seed=args.seed), out)
    print(out)
    return 0


def _encode(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_table
    from vaekit.runs.tabular import write_table

    out = _csv_out(args.out, inputs=(args.csv,), run_dir=args.run_dir)
    run, kind = _load_run_for(args.run_dir, "encode")
    write_table(kind.encode(run, read_table(args.csv)), out)
    print(out)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_table
    from vaekit.runs.tabular import write_table

    out = _csv_out(args.out, inputs=(args.csv,), run_dir=args.run_dir)
    run, kind = _load_run_for(args.run_dir, "predict")
    write_table(kind.predict(run, read_table(args.csv)), out)
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
        config = json.loads((run_dir / "config.json").read_text())
        kind = kind_of_name(config.get("model"))
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    return kind.input_files(config) if kind is not None else []


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


def _load_run_for(run_dir: str, command: str) -> tuple[Any, ModelKind]:
    """Load a run whose kind answers ``command``, once its config.json is known to be complete."""
    from vaekit.runs import load_run

    run = load_run(run_dir)
    kind = require_command(run, command)
    return _complete(run), kind


def _complete(run: Any) -> Any:
    """The run, once its config.json is known to hold every setting the commands read."""
    from vaekit.runs.store import check_config_shape

    check_config_shape(run.config, run.path / "config.json")
    return run


def _evaluate(args: argparse.Namespace) -> int:
    run, kind = _load_run_for(args.run_dir, "evaluate")
    metrics = kind.evaluate(
        run, iw_samples=args.iw_samples, iw_examples=args.iw_examples, progress=not args.no_progress
    )
    _print_metrics(run.path, metrics)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from vaekit.errors import VaekitError

    run, kind = _load_run_for(args.run_dir, "sample")
    if args.label is not None and not kind.has_labels:
        raise VaekitError(f"--label needs a model with a class label; {kind.noun} has none")
    if args.given and not kind.takes_conditions:
        raise VaekitError(f"--given conditions the columns of a table; {kind.noun} has none")
    if args.keep_missing and not kind.keeps_missing:
        raise VaekitError(f"--keep-missing gives a table's rows its missing cells; {kind.noun} has none")
    out = Path(args.out)
    suffix = kind.sample_suffix_of(run)
    if out.suffix.lower() != suffix:
        raise VaekitError(f"--out must name a {suffix} file for {kind.noun}, got {out}")
    _check_output(out, run_dir=args.run_dir)
    request = SampleRequest(
        args.n, args.seed, label=args.label, conditions=tuple(args.given), keep_missing=args.keep_missing
    )
    print(kind.write_samples(run, out, request))
    return 0


def _report(args: argparse.Namespace) -> int:
    from vaekit.data.tabular import read_table
    from vaekit.runs.report import check_report_out, json_path

    out = Path(args.out)
    _check_output(out, inputs=(args.csv,), run_dir=args.run_dir)
    _check_output(json_path(out), inputs=(args.csv,), run_dir=args.run_dir)
    check_report_out(out, force=args.force)
    run, kind = _load_run_for(args.run_dir, "report")
    if Path(args.csv).resolve() in {Path(path).resolve() for path in _run_inputs(run.path)}:
        from vaekit.errors import VaekitWarning

        warnings.warn(
            f"--csv {args.csv} is the table the run was trained on: its rows are not held out, so the "
            "detection, efficacy and privacy numbers compare the model with its own training rows",
            VaekitWarning,
            stacklevel=1,
        )
    request = ReportRequest(
        num_samples=args.n,
        seed=args.seed,
        target=args.target,
        held_out_name=args.csv,
        force=args.force,
        progress=not args.no_progress,
    )
    page, numbers = kind.report(run, read_table(args.csv), out, request)
    print(page)
    print(numbers)
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
    require_command(run, "graph")
    require_graphviz()
    require_dot()
    _check_output(out, run_dir=args.run_dir)
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
