"""Imputation on the reference data with 20% of the cells removed at random: RMSE per column for
vaekit's tabular VAE beside column-mean imputation and scikit-learn's IterativeImputer.

    python benchmarks/tabular_imputation.py [--epochs 200] [--rows 10000]

The VAE trains on the table with its holes (missing cells are masked out of the likelihood), then
fills them with its posterior predictive mean; all three methods are scored on the removed cells.
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
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--missing", type=float, default=0.2)
    args = parser.parse_args()

    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, SimpleImputer

    from vaekit.data.tabular import seed_table
    from vaekit.inference import TrainConfig
    from vaekit.runs.tabular import impute_rows, train_tabular

    full = seed_table(args.rows, seed=0)
    rng = np.random.default_rng(1)
    removed = rng.random(full.shape) < args.missing
    removed[removed.all(axis=1), 0] = False  # keep at least one cell per row
    holes = full.mask(removed)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "holes.csv"
        holes.to_csv(path, index=False)
        run = train_tabular(
            {"dataset": "csv", "csv": str(path), "split_seed": 0},
            TrainConfig(epochs=args.epochs, batch_size=128, lr_schedule="cosine", progress_bar=False),
            Path(folder) / "run",
            iw_samples=10,
            figures=False,
            progress=False,
        )
        vae = impute_rows(run, holes).astype(float)
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
