"""The tabular VAE as a model kind (``vaekit train tabular``)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from vaekit.errors import VaekitError
from vaekit.models import VAE, TabularVAE, TabularVAEConfig, TargetedTabularVAE, TargetedTabularVAEConfig
from vaekit.runs.defaults import (
    TABULAR_DEFAULTS,
    TABULAR_MAX_EPOCHS,
    describe_default_epochs,
    tabular_default_epochs,
)
from vaekit.runs.kinds.flags import (
    add_training_flags,
    check_input_file,
    layer_widths,
    non_negative_int,
    positive_float,
    positive_int,
    train_config_from,
)
from vaekit.runs.registry import ModelKind, ReportRequest, SampleRequest, TrainRequest
from vaekit.runs.store import Run
from vaekit.runs.table_sources import (
    CsvTable,
    ParquetTable,
    SeedTable,
    TableSource,
    table_source,
    table_source_class,
)

#: Rows of the example batch a plate diagram is traced on.
EXAMPLE_ROWS = 2
#: Columns a plate diagram's legend names per site before it gives a count.
SHOWN_COLUMNS = 4


def column_notes(model: Any, shown: int = SHOWN_COLUMNS) -> dict[str, str]:
    """Each family's sample site (``x_FAMILY``) -> the names of the columns it holds (the first few,
    then a count)."""
    result = {}
    # A target column is a site of its own (y), not one of its family's columns.
    columns = [
        column for column in model.schema.columns if column.name != getattr(model.config, "target", None)
    ]
    for family in dict.fromkeys(column.family for column in columns):
        held = [column.name for column in columns if column.family == family]
        listed = ", ".join(held[:shown]) + (f" and {len(held) - shown} more" if len(held) > shown else "")
        result[model.decoder_heads.site_name(family)] = ("column " if len(held) == 1 else "columns ") + listed
    return result


class TabularKind(ModelKind):
    """The tabular VAE: columns of different kinds, each with its own likelihood, tied by z.

    Its methods import the run functions when called: every command builds the parser, which
    loads every kind, and importing the table machinery up front costs `vaekit --help` about a
    second (measured: 5.3 s against 4.3 s)."""

    command = "tabular"
    model_class = TabularVAE
    config_class = TabularVAEConfig
    other_models = ((TargetedTabularVAE, TargetedTabularVAEConfig),)
    help = "tabular VAE: columns of different kinds, each with its own likelihood, tied by z"
    noun = "a tabular run"
    commands = frozenset({"evaluate", "sample", "score", "impute", "encode", "predict", "graph", "report"})
    summary_keys = (
        "test_log_likelihood",
        "true_test_log_likelihood",
        "gap",
        "target_accuracy",
        "gradient_boosting_accuracy",
        "epochs",
        "seconds_per_epoch",
    )
    partial_note = "missing cells masked"
    takes_conditions = True
    keeps_missing = True

    def add_arguments(self, parser: Any) -> None:
        # Required, but checked by train: a resumed run takes its source from the run folder.
        source = parser.add_argument_group("data").add_mutually_exclusive_group(required=False)
        source.add_argument(
            "--csv", metavar="FILE", help="table to model, read into memory (CSV, or Parquet with pyarrow)"
        )
        source.add_argument(
            "--parquet",
            metavar="PATH",
            help="a Parquet file, or a folder of them, streamed in chunks: tables larger than memory",
        )
        source.add_argument("--dataset", choices=("seed",), help="the reference data with a known density")
        parser.add_argument(
            "--schema", metavar="FILE", help="column kinds overriding the inferred ones (JSON/YAML/TOML)"
        )
        stream = parser.add_argument_group("streaming (--parquet)")
        for flag, default, text in (
            ("--sample-rows", 100_000, "rows, spread over the row groups, that the schema is inferred from"),
            ("--buffer-rows", 262_144, "rows held for shuffling"),
            ("--chunk-rows", 65_536, "rows read from a file at a time"),
            ("--eval-rows", 10_000, "seeded sample of test rows for the test metrics"),
        ):
            stream.add_argument(
                flag, type=positive_int, metavar="N", default=default, help=f"{text} ({default})"
            )
        stream.add_argument(
            "--loader-workers",
            type=non_negative_int,
            metavar="N",
            default=0,
            help="reader processes (0: read in the trainer)",
        )
        reference = parser.add_argument_group("reference data (--dataset seed)")
        reference.add_argument("--k0", type=positive_float, default=2.0, help="shape of x1 ~ Gamma (2)")
        reference.add_argument("--theta0", type=positive_float, default=1.0, help="scale of x1 ~ Gamma (1)")
        reference.add_argument("--mu0", type=float, default=0.0, help="mean of x2 ~ Normal (0)")
        reference.add_argument(
            "--sigma0", type=positive_float, default=1.0, help="standard deviation of x2 (1)"
        )
        reference.add_argument(
            "--rows", type=positive_int, default=10_000, help="training rows, and as many test rows"
        )
        arch = parser.add_argument_group("model")
        arch.add_argument(
            "--z-dim", type=positive_int, default=TABULAR_DEFAULTS["z_dim"], help="latent dimension"
        )
        arch.add_argument(
            "--hidden",
            type=layer_widths,
            default=TABULAR_DEFAULTS["hidden"],
            help="hidden layer widths (128,128)",
        )
        target = parser.add_argument_group("target column")
        target.add_argument(
            "--target",
            metavar="COL",
            help="a binary or categorical column to predict: a class label observed where given and "
            "summed out where missing (trained with the ELBO); `vaekit predict` then gives each row's "
            "class probabilities",
        )
        target.add_argument(
            "--classifier-weight",
            type=positive_float,
            metavar="W",
            help="weight of log q(label | other columns) per labelled row, beside its ELBO (46)",
        )
        add_training_flags(parser)
        parser.add_argument(
            "--iw-samples",
            type=positive_int,
            default=1000,
            metavar="K",
            help="importance samples per row (1000)",
        )
        parser.set_defaults(
            epochs=None,  # from the table's length: see train
            batch_size=TABULAR_DEFAULTS["batch_size"],
            lr_schedule=TABULAR_DEFAULTS["lr_schedule"],
            objective=None,  # TABULAR_DEFAULTS["objective"], or the ELBO with --target: see train
            keep=TABULAR_DEFAULTS["keep"],
        )

    @staticmethod
    def source_from(args: Any) -> TableSource:
        """The table the flags name."""
        from vaekit.data.tabular import SeedDataParameters

        if args.dataset == "seed":
            parameters = SeedDataParameters(k0=args.k0, theta0=args.theta0, mu0=args.mu0, sigma0=args.sigma0)
            return SeedTable(parameters, args.rows, args.seed)
        if args.parquet is not None:
            options = {
                "val_fraction": args.val_fraction,
                "sample_rows": args.sample_rows,
                "chunk_rows": args.chunk_rows,
                "buffer_rows": args.buffer_rows,
                "eval_rows": args.eval_rows,
                "workers": args.loader_workers,
            }
            return ParquetTable(str(Path(args.parquet).resolve()), args.seed, options)
        return CsvTable(str(Path(args.csv).resolve()), args.seed)

    def train_config(self, args: Any) -> Any:
        # The importance-weighted bound by default; the ELBO with a target, whose label it sums out.
        if args.objective is None:
            args.objective = "elbo" if args.target is not None else TABULAR_DEFAULTS["objective"]
        # Without --epochs the epochs follow from the table's length, known once train has read it;
        # until then the settings hold the most a default run trains.
        epochs = args.epochs
        args.epochs = TABULAR_MAX_EPOCHS if epochs is None else epochs
        try:
            return train_config_from(args)
        finally:
            args.epochs = epochs

    def train(self, request: TrainRequest) -> Run | None:
        from vaekit._distributed import is_global_zero
        from vaekit.data.tabular import read_schema_file
        from vaekit.runs.tabular import train_tabular

        args = request.args
        if args.csv is None and args.dataset is None and args.parquet is None:
            raise VaekitError("one of the arguments --csv --parquet --dataset is required")
        check_input_file(args.csv, "--csv")
        check_input_file(args.schema, "--schema")
        if args.parquet is not None and not Path(args.parquet).exists():
            raise VaekitError(f"--parquet {args.parquet}: no such file or folder")
        # The settings are checked before the table is read; without --epochs the epochs follow
        # from its length.
        epochs_given = args.epochs is not None
        train_config = self.train_config(args)
        overrides = read_schema_file(args.schema) if args.schema else None
        prepared = self.source_from(args).prepare(overrides)
        if not epochs_given:
            steps = prepared.steps_per_epoch(train_config)
            args.epochs = tabular_default_epochs(steps)
            train_config = dataclasses.replace(train_config, epochs=args.epochs)
            if is_global_zero():
                print(describe_default_epochs(steps, train_config.batch_size), file=sys.stderr)
        if args.target is not None:
            from vaekit.runs.target import check_target

            check_target(prepared.schema, args.target, prepared.train)
        request.begin()
        return train_tabular(
            prepared,
            train_config,
            request.run_dir,
            z_dim=args.z_dim,
            hidden=args.hidden,
            overrides=overrides,
            iw_samples=args.iw_samples,
            progress=request.progress,
            on_schema=lambda schema: print(
                f"schema (override with --schema FILE):\n{schema.describe()}", file=sys.stderr
            ),
            resume=request.resume,
            target=args.target,
            classifier_weight=args.classifier_weight,
        )

    def config_shape(self, config: Mapping[str, Any]) -> dict[str, type | tuple[type, ...]]:
        shape: dict[str, type | tuple[type, ...]] = {"model_config.schema": dict, "data.dataset": str}
        data = config.get("data")
        source_class = table_source_class(data) if isinstance(data, dict) else None
        if source_class is not None:
            shape.update(source_class.config_shape)
        return shape

    def evaluate(
        self, run: Run, *, iw_samples: int, iw_examples: int | None, progress: bool, data: Any = None
    ) -> dict[str, Any]:
        from vaekit.runs.tabular import evaluate_tabular

        return evaluate_tabular(run, iw_samples=iw_samples, progress=progress, tables=data)

    def write_figures(self, run: Run, *, data: Any = None) -> dict[str, Path]:
        from vaekit.runs.tabular import write_tabular_figures

        return write_tabular_figures(run, tables=data)

    def write_samples(self, run: Run, out: Path, request: SampleRequest) -> Path:
        from vaekit.runs.tabular import sample_rows, write_table

        rows = sample_rows(
            run,
            request.num_samples,
            seed=request.seed,
            given=request.conditions,
            keep_missing=request.keep_missing,
        )
        return write_table(rows, out)

    def score(self, run: Run, table: pd.DataFrame, *, iw_samples: int, progress: bool) -> pd.DataFrame:
        from vaekit.runs.tabular import score_rows

        scores = score_rows(run, table, iw_samples=iw_samples, progress=progress)
        return pd.DataFrame({"row": range(1, len(table) + 1), "log_likelihood": scores})

    def impute(self, run: Run, table: pd.DataFrame, *, draws: int, seed: int) -> pd.DataFrame:
        from vaekit.runs.tabular import impute_rows

        return impute_rows(run, table, draws=draws, seed=seed)

    def encode(self, run: Run, table: pd.DataFrame) -> pd.DataFrame:
        from vaekit.runs.tabular import encode_rows

        return encode_rows(run, table)

    def predict(self, run: Run, table: pd.DataFrame) -> pd.DataFrame:
        from vaekit.runs.target import predict_rows

        return predict_rows(run, table)

    def report(
        self, run: Run, held_out: pd.DataFrame, out: Path, request: ReportRequest
    ) -> tuple[Path, Path]:
        from vaekit.runs.report import write_report

        return write_report(
            run,
            held_out,
            out,
            num_rows=request.num_samples,
            seed=request.seed,
            target=request.target,
            held_out_name=request.held_out_name,
            force=request.force,
            progress=request.progress,
        )

    def input_files(self, config: Mapping[str, Any]) -> list[str]:
        data = config.get("data")
        try:
            source = table_source(data) if isinstance(data, dict) else None
        except (VaekitError, KeyError, TypeError, ValueError):  # a damaged config.json: nothing to protect
            source = None
        return [*super().input_files(config), *(source.input_files() if source is not None else [])]

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            values = model.sample(EXAMPLE_ROWS)  # type: ignore[attr-defined]
        rows, columns = values.shape
        # A checkerboard of present cells: every column has a present and a missing cell.
        observed = (torch.arange(rows)[:, None] + torch.arange(columns)[None, :]) % 2 == 0
        return [(values, observed.to(model.device))]

    def site_notes(self, model: VAE) -> dict[str, str]:
        notes = column_notes(model)
        target = getattr(model.config, "target", None)
        if target is not None:
            notes["y"] = f"column {target}: given in the rows that have it"
        return notes
