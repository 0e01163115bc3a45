"""Wall time of the default ``vaekit train tabular`` command on long and wide tables.

Issue 16 asks that a table of 20,000 rows and 100 columns train within minutes on 2 cores, and that
a 1,000-column table train and draw its figures within minutes. Each table here is
``benchmarks/tabular_width.py``'s mixed table (a fifth each of real, positive, count, binary and
five-level columns, a tenth of the cells missing), written as a CSV and trained by the command a
user types, every setting at its default. Prints the epochs the command chose, the wall time of the
whole command (reading, schema, training, test metrics, figures), the training time alone, and the
process's peak resident memory.

    python benchmarks/tabular_default_time.py [--shapes 20000x100 5000x1000]

Run it alone on the machine. Results of the last run: ``benchmarks/results/tabular_default_time.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tabular_width import mixed_table  # noqa: E402

from vaekit.cli.main import main as vaekit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["20000x100", "5000x1000"])
    args = parser.parse_args()
    for shape in args.shapes:
        rows, columns = (int(part) for part in shape.split("x"))
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "table.csv"
            mixed_table(columns, rows, missing=0.1).to_csv(path, index=False)
            printed = io.StringIO()
            started = time.perf_counter()
            with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(io.StringIO()):
                code = vaekit(
                    ["train", "tabular", "--csv", str(path), "--no-progress", "--out", f"{scratch}/run"]
                )
            wall = time.perf_counter() - started
            if code != 0:
                raise SystemExit(printed.getvalue()[-2000:])
            metrics = json.loads((Path(scratch) / "run" / "metrics.json").read_text())
            chosen = next(line for line in printed.getvalue().splitlines() if line.startswith("epochs:"))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{rows} rows x {columns} columns: {chosen}", flush=True)
            print(
                f"  whole command {wall:.0f} s ({wall / 60:.1f} min), "
                f"training {metrics['train_seconds']:.0f} s "
                f"({metrics['seconds_per_epoch']:.2f} s an epoch), peak memory of the process so far "
                f"{peak:.0f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
