"""Imputation on the reference data with 20% of the cells removed at random: RMSE per column for
vaekit's tabular VAE beside column-mean imputation and scikit-learn's IterativeImputer.

    python benchmarks/tabular_imputation.py [--rows 10000] [--missing 0.2] [-- extra train flags]

The VAE is trained by the command a user would type, ``vaekit train tabular --csv holes.csv`` with
its default settings (flags after ``--`` are added), on the table with its holes (missing cells
are masked out of the likelihood); ``vaekit impute`` then fills them with the posterior predictive
mean. All three methods are scored on the removed cells.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--missing", type=float, default=0.2)
    parser.add_argument("train_flags", nargs="*", help="added to vaekit train tabular (after --)")
    args = parser.parse_args()

    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, SimpleImputer

    from vaekit.cli.main import main as vaekit
    from vaekit.data.tabular import seed_table

    full = seed_table(args.rows, seed=0)
    rng = np.random.default_rng(1)
    removed = rng.random(full.shape) < args.missing
    removed[removed.all(axis=1), 0] = False  # keep at least one cell per row
    holes = full.mask(removed)

    with tempfile.TemporaryDirectory() as folder:
        table, run, completed = (Path(folder) / name for name in ("holes.csv", "run", "completed.csv"))
        holes.to_csv(table, index=False)
        train = ["train", "tabular", "--csv", str(table), "--out", str(run), "--no-progress"]
        if vaekit([*train, "--iw-samples", "10", *args.train_flags]) != 0:
            raise SystemExit("training failed")
        if vaekit(["impute", str(run), "--csv", str(table), "--out", str(completed)]) != 0:
            raise SystemExit("imputation failed")
        vae = pd.read_csv(completed).astype(float)
    mean = pd.DataFrame(SimpleImputer(strategy="mean").fit_transform(holes), columns=full.columns)
    iterative = pd.DataFrame(
        IterativeImputer(random_state=0, max_iter=20).fit_transform(holes), columns=full.columns
    )

    print(f"{args.rows} rows, {removed.mean():.1%} of cells removed; RMSE on the removed cells")
    print(f"{'column':8}{'vaekit':>10}{'mean':>10}{'iterative':>12}")
    for j, name in enumerate(full.columns):
        cells = removed[:, j]
        truth = full[name].to_numpy()[cells]
        scores = [
            np.sqrt(np.mean((method[name].to_numpy()[cells] - truth) ** 2))
            for method in (vae, mean, iterative)
        ]
        print(f"{name:8}{scores[0]:10.4f}{scores[1]:10.4f}{scores[2]:12.4f}")


if __name__ == "__main__":
    main()
