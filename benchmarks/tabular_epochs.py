"""How much training a table needs: validation log-likelihood against the number of steps.

``vaekit train tabular`` once trained 600 epochs whatever the table's length (chosen on the 9,000
training rows of the reference data: 42,600 steps of 128 rows), so a table of 30,000 rows took
three times as long as the reference data and one of 300,000 thirty times. This benchmark trains
each table below for several step budgets (the epochs that give about that many steps of the
default batch, each with the full cosine decay of the learning rate) and prints the
importance-weighted log-likelihood of validation rows (a seeded fifth of the table that training
never sees; no test set is looked at) in nats per row, with the wall time of the
run (training, figures and its test metrics).

    python benchmarks/tabular_epochs.py [--budgets 3000 8000 20000] [--tables Default CPS1988 ...]

Results of the last run: ``benchmarks/results/tabular_epochs.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from count_families import load as load_rdataset  # noqa: E402
from count_families import split  # noqa: E402

from vaekit import load_run
from vaekit.cli.main import main
from vaekit.data.seed_data import seed_table
from vaekit.runs.defaults import TABULAR_DEFAULTS
from vaekit.runs.tabular import TEST_FRACTION, score_rows

#: (package, item) of real tables of 4,000 to 30,000 rows; "seed" is the reference data.
TABLES = (
    ("ISLR", "Default"),
    ("AER", "CPS1988"),
    ("nycflights13", "weather"),
    ("AER", "STAR"),
    ("Ecdat", "Males"),
    ("vaekit", "seed"),
)

#: The share of a CSV run's training rows it keeps for validation (TrainConfig's default).
RUN_VALIDATION_SHARE = 0.1


def load(package: str, item: str) -> pd.DataFrame:
    return seed_table(12_500, seed=0) if item == "seed" else load_rdataset(package, item)


def steps_per_epoch(rows: int) -> int:
    """Steps of one epoch of a CSV run on ``rows`` rows: it holds out a test tenth and a validation tenth."""
    fitted = int(rows * (1 - TEST_FRACTION) * (1 - RUN_VALIDATION_SHARE))
    return math.ceil(fitted / TABULAR_DEFAULTS["batch_size"])


def train_and_score(
    train: pd.DataFrame, validation: pd.DataFrame, epochs: int, folder: Path
) -> tuple[float, float]:
    folder.mkdir(parents=True)
    train.to_csv(folder / "train.csv", index=False)
    command = ["train", "tabular", "--csv", str(folder / "train.csv"), "--epochs", str(epochs)]
    command += ["--iw-samples", "10", "--no-progress", "--out", str(folder / "run")]
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        if main(command) != 0:
            raise SystemExit(f"training failed: {' '.join(command)}")
    seconds = time.perf_counter() - started
    return float(np.mean(score_rows(load_run(folder / "run"), validation, iw_samples=100))), seconds


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[3000, 8000, 20000])
    parser.add_argument("--tables", nargs="+", default=[item for _, item in TABLES])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for package, item in TABLES:
            if item not in args.tables:
                continue
            table = load(package, item)
            train, validation = split(table, args.seed)
            per_epoch = steps_per_epoch(len(train))
            print(
                f"\n{package}/{item}: {len(train)} training rows ({per_epoch} steps an epoch), "
                f"{len(validation)} validation rows, {table.shape[1]} columns",
                flush=True,
            )
            for budget in args.budgets:
                epochs = max(1, round(budget / per_epoch))
                folder = Path(scratch) / f"{item}-{budget}"
                value, seconds = train_and_score(train, validation, epochs, folder)
                print(
                    f"  budget {budget:>6} steps: {epochs:>4} epochs ({epochs * per_epoch:>6} steps), "
                    f"{value:.4f} nats per validation row, trained in {seconds:.0f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main_benchmark()
