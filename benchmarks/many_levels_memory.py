"""Peak memory and time of a table with a 4,000-level column: the embedded ``many_levels`` family
(inferred for a column of more than 100 levels) against one-hot inputs (``categorical``, declared).

The table: 20,000 rows; ``product``, one of 4,000 levels (Zipf-like frequencies, as product codes
or towns have); 20 categorical columns of 5 levels, each tied to the product; 10 real columns. Each
configuration is trained by the command a user types (``vaekit train tabular --csv ... --epochs
E``, with ``--schema`` naming the family), in a process of its own so that its peak resident memory
is its own. Prints the parameters of the model, the first layer's inputs, the seconds an epoch, the
peak memory, and the test log-likelihood.

    python benchmarks/many_levels_memory.py [--epochs 3] [--levels 4000]

Run it alone on the machine. Results of the last run: ``benchmarks/results/many_levels_memory.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def table(rows: int, levels: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, levels + 1)
    product = rng.choice(levels, rows, p=weights / weights.sum())
    columns: dict[str, object] = {"product": [f"P{p:05d}" for p in product]}
    for j in range(20):
        # Each level column depends on the product (a category, a supplier...), with some noise.
        tied = (product * (j + 3)) % 5
        noisy = np.where(rng.random(rows) < 0.2, rng.integers(0, 5, rows), tied)
        columns[f"c{j}"] = [f"l{v}" for v in noisy]
    for j in range(10):
        columns[f"x{j}"] = np.round(rng.normal((product % 7) * (j % 3), 1.0), 3)
    return pd.DataFrame(columns)


def child(csv: str, family: str, epochs: int, out: str) -> None:
    """Train in this process and print one JSON line of its figures."""
    from vaekit.cli.main import main as vaekit
    from vaekit.runs.store import load_run

    schema = Path(out).with_suffix(".schema.json")
    schema.write_text(json.dumps({"product": {"kind": "categorical", "family": family}}))
    command = ["train", "tabular", "--csv", csv, "--out", out, "--epochs", str(epochs)]
    command += ["--schema", str(schema), "--no-progress"]
    with contextlib.redirect_stderr(io.StringIO()) as said, contextlib.redirect_stdout(io.StringIO()):
        if vaekit(command) != 0:
            raise SystemExit(said.getvalue()[-2000:])
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    model = load_run(out).model
    figures = {
        "family": family,
        "parameters": sum(p.numel() for p in model.parameters()),
        "encoder inputs": model.column_features.out_features,
        "seconds an epoch": metrics["seconds_per_epoch"],
        "test log-likelihood": metrics["test_log_likelihood"],
        "peak MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--levels", type=int, default=4_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        csv, family, epochs, out = args.child
        child(csv, family, int(epochs), out)
        return
    with tempfile.TemporaryDirectory() as scratch:
        csv = Path(scratch) / "table.csv"
        data = table(args.rows, args.levels)
        data.to_csv(csv, index=False)
        print(
            f"{args.rows} rows; product: {data['product'].nunique()} levels seen; 20 level columns of 5 "
            f"levels; 10 real columns; {args.epochs} epochs",
            flush=True,
        )
        for family in ("many_levels", "categorical"):
            out = str(Path(scratch) / family)
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(csv), family, str(args.epochs), out],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(done.stderr[-3000:] + done.stdout[-2000:])
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            shown = (f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
            print("  " + ", ".join(shown), flush=True)


if __name__ == "__main__":
    main()
