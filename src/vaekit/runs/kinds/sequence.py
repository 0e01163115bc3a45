"""The sequence VAE as a model kind (``vaekit train sequence``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from vaekit.errors import VaekitError
from vaekit.models import VAE, SequenceVAE, SequenceVAEConfig
from vaekit.runs.defaults import SEQUENCE_DEFAULTS
from vaekit.runs.kinds.flags import (
    add_training_flags,
    check_input_file,
    column_names,
    positive_int,
)
from vaekit.runs.kinds.tabular import EXAMPLE_ROWS, column_notes
from vaekit.runs.registry import ModelKind, SampleRequest, TrainRequest
from vaekit.runs.store import Run

#: Steps of the example sequences a plate diagram is traced on.
EXAMPLE_STEPS = 3


class SequenceKind(ModelKind):
    """The sequence VAE: one z per sequence, recurrent encoder and decoder, a likelihood per step."""

    command = "sequence"
    model_class = SequenceVAE
    config_class = SequenceVAEConfig
    help = "sequence VAE: one z per sequence, recurrent encoder and decoder, a likelihood per step"
    noun = "a sequence run"
    commands = frozenset({"evaluate", "sample", "score", "encode", "graph"})
    summary_keys = (
        "test_elbo",
        "test_log_likelihood",
        "test_log_likelihood_per_step",
        "epochs",
        "seconds_per_epoch",
    )
    partial_note = "padded steps and missing cells masked"

    def add_arguments(self, parser: Any) -> None:
        # Required, but checked by train: a resumed run takes its source from the run folder.
        source = parser.add_argument_group("data (long format: one row per sequence and time step)")
        source.add_argument("--csv", metavar="FILE", help="sequences to model (CSV, or Parquet with pyarrow)")
        source.add_argument("--id", metavar="COL", help="column naming the sequence of each row")
        source.add_argument("--time", metavar="COL", help="column ordering the steps (numbers or dates)")
        source.add_argument(
            "--value",
            type=column_names,
            metavar="COLS",
            help="value columns, e.g. temperature,pressure (default: every other column)",
        )
        source.add_argument(
            "--schema", metavar="FILE", help="value column kinds other than real (JSON/YAML/TOML)"
        )
        arch = parser.add_argument_group("model")
        arch.add_argument(
            "--z-dim", type=positive_int, default=SEQUENCE_DEFAULTS["z_dim"], help="latent dimension"
        )
        arch.add_argument(
            "--hidden",
            type=positive_int,
            default=SEQUENCE_DEFAULTS["hidden"],
            help=f"size of the recurrent state of encoder and decoder ({SEQUENCE_DEFAULTS['hidden']})",
        )
        arch.add_argument(
            "--rnn-cell",
            choices=("gru", "lstm"),
            default=SEQUENCE_DEFAULTS["cell"],
            help=f"recurrent cell ({SEQUENCE_DEFAULTS['cell']})",
        )
        arch.add_argument(
            "--rnn-layers",
            type=positive_int,
            default=SEQUENCE_DEFAULTS["num_layers"],
            help=f"stacked recurrent layers ({SEQUENCE_DEFAULTS['num_layers']})",
        )
        add_training_flags(parser)
        parser.add_argument(
            "--iw-samples",
            type=positive_int,
            default=1000,
            metavar="K",
            help="importance samples per sequence (1000)",
        )
        parser.set_defaults(epochs=SEQUENCE_DEFAULTS["epochs"], batch_size=SEQUENCE_DEFAULTS["batch_size"])

    def train(self, request: TrainRequest) -> Run | None:
        from vaekit.data.tabular import read_schema_file
        from vaekit.runs.sequence import SequenceTable, prepare_sequences, train_sequence

        args = request.args
        required = (("--csv", args.csv), ("--id", args.id), ("--time", args.time))
        missing = [flag for flag, value in required if not value]
        if missing:
            raise VaekitError(f"train sequence needs {', '.join(missing)}")
        check_input_file(args.csv, "--csv")
        check_input_file(args.schema, "--schema")
        train_config = self.train_config(args)
        overrides = read_schema_file(args.schema) if args.schema else None
        source = SequenceTable(
            str(Path(args.csv).resolve()), args.id, args.time, args.value or None, args.seed
        )
        prepared = prepare_sequences(source, overrides)
        print(
            f"data: {len(prepared.train)} training and {len(prepared.test)} test sequences, "
            f"{int(prepared.train.lengths.min())} to {int(prepared.train.lengths.max())} steps",
            file=sys.stderr,
        )
        request.begin()
        return train_sequence(
            prepared,
            train_config,
            request.run_dir,
            z_dim=args.z_dim,
            hidden=args.hidden,
            cell=args.rnn_cell,
            num_layers=args.rnn_layers,
            iw_samples=args.iw_samples,
            progress=request.progress,
            on_schema=lambda schema: print(
                f"value columns (override with --schema FILE):\n{schema.describe()}", file=sys.stderr
            ),
            resume=request.resume,
        )

    def config_shape(self, config: Mapping[str, Any]) -> dict[str, type | tuple[type, ...]]:
        return {
            "model_config.schema": dict,
            "data.csv": str,
            "data.split_seed": int,
            "data.id": str,
            "data.time": str,
            "data.value_columns": list,
            "data.train_lengths": dict,
        }

    def evaluate(
        self, run: Run, *, iw_samples: int, iw_examples: int | None, progress: bool, data: Any = None
    ) -> dict[str, Any]:
        from vaekit.runs.sequence import evaluate_sequences

        return evaluate_sequences(run, iw_samples=iw_samples, progress=progress, data=data)

    def write_figures(self, run: Run, *, data: Any = None) -> dict[str, Path]:
        from vaekit.runs.sequence import write_sequence_figures

        return write_sequence_figures(run, data=data)

    def write_samples(self, run: Run, out: Path, request: SampleRequest) -> Path:
        from vaekit.runs.sequence import sample_sequences
        from vaekit.runs.tabular import write_table

        return write_table(sample_sequences(run, request.num_samples, seed=request.seed), out)

    def score(self, run: Run, table: pd.DataFrame, *, iw_samples: int, progress: bool) -> pd.DataFrame:
        from vaekit.runs.sequence import score_sequences

        return score_sequences(run, table, iw_samples=iw_samples, progress=progress)

    def encode(self, run: Run, table: pd.DataFrame) -> pd.DataFrame:
        from vaekit.runs.sequence import encode_sequences_latent

        return encode_sequences_latent(run, table)

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            values = model.sample(EXAMPLE_ROWS, EXAMPLE_STEPS)  # type: ignore[attr-defined]
        observed = torch.ones(values.shape, dtype=torch.bool)
        observed[0, 0] = False
        lengths = torch.tensor([EXAMPLE_STEPS, EXAMPLE_STEPS - 1])
        return [(values, observed.to(model.device), lengths.to(model.device))]

    def site_notes(self, model: VAE) -> dict[str, str]:
        return column_notes(model)
