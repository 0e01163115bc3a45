"""One short seeded run per model kind, through the command line: the figures a refactoring must keep.

Runs ``vaekit train`` for the image VAE, the semi-supervised VAE, the tabular VAE and the sequence VAE
on bundled or generated data with ``--seed 0``, and prints each run's test metrics as JSON lines. Run
it against two checkouts (``PYTHONPATH=OTHER/src python benchmarks/seeded_runs.py``) and compare:
the same seed must give the same numbers.

    OMP_NUM_THREADS=1 python benchmarks/seeded_runs.py --out /tmp/seeded
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: Metrics compared between checkouts, per kind.
KEYS = ("test_elbo", "test_log_likelihood", "test_accuracy", "true_test_log_likelihood", "best_val_elbo")


def write_sequences(path: Path) -> None:
    """60 seeded sequences of 5 to 12 steps: a noisy sine per sequence, and a binary flag."""
    rng = np.random.default_rng(0)
    rows = []
    for sequence in range(60):
        phase, steps = rng.uniform(0, 6.3), int(rng.integers(5, 13))
        for step in range(steps):
            value = float(np.sin(phase + step / 2) + rng.normal(0, 0.1))
            rows.append({"id": sequence, "t": step, "value": value, "flag": int(value > 0)})
    pd.DataFrame(rows).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the runs (a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="vaekit-seeded-"))
    out.mkdir(parents=True, exist_ok=True)
    sequences = out / "sequences.csv"
    write_sequences(sequences)
    common = ["--seed", "0", "--no-progress", "--force"]
    commands = {
        "vae": ["train", "vae", "--data", "digits", "--epochs", "2", "--iw-samples", "20"],
        "ssvae": [
            "train", "ssvae", "--data", "digits", "--labels", "100", "--epochs", "2", "--iw-samples", "20",
        ],
        "tabular": [
            "train", "tabular", "--dataset", "seed", "--rows", "500", "--epochs", "5", "--iw-samples", "50",
        ],
        "sequence": [
            "train", "sequence", "--csv", str(sequences), "--id", "id", "--time", "t", "--epochs", "5",
            "--iw-samples", "20",
        ],
    }  # fmt: skip
    for kind, command in commands.items():
        run_dir = out / kind
        subprocess.run(
            [sys.executable, "-m", "vaekit.cli", *command, *common, "--out", str(run_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        metrics = json.loads((run_dir / "metrics.json").read_text())
        print(json.dumps({"kind": kind, **{key: metrics[key] for key in KEYS if key in metrics}}))


if __name__ == "__main__":
    main()
