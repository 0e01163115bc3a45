"""The sequence VAE on real sequences, and its per-sequence scores as an anomaly detector.

    python benchmarks/sequence_anomalies.py [--out DIR] [--epochs 60] [--iw-samples 200]

The data are scikit-learn's bundled digits read as sequences: each 8x8 image is 8 steps (its rows,
top to bottom) of 8 values (ink counts 0..16), written as a long CSV (``digit,row,c0..c7``) and
trained with ``train_sequence`` exactly as ``vaekit train sequence --schema FILE`` does, the schema
declaring the columns counts (Poisson per step and column; ``--kind real`` keeps the command's
default, Normal, under which the near-constant border columns dominate the scores and only the
spikes stand out). A seeded tenth of the sequences is held out; every held-out sequence is then
copied with an anomaly planted in it:

- ``shuffled``: its rows in a random order (every value unchanged, only the order is wrong);
- ``reversed``: its rows in reverse order (the digit upside down);
- ``spike``: one row set to 16 everywhere (a saturated sensor);
- ``dropout``: two consecutive rows set to 0 (a lost signal);
- ``spliced``: its first 4 rows followed by the last 4 of another held-out digit.

Each sequence's importance-weighted log-likelihood (``vaekit score``) is its score: lower is more
anomalous. The script prints, for a few held-out sequences, the score of the normal sequence beside
those of its anomalous copies (with the share of normal held-out sequences scoring lower), then per
kind of anomaly the AUC of telling the copies from the normal sequences by score alone. It writes
the run folder (with ``figures/samples.png``: held-out sequences beside sampled ones, as lines) and
``digits_as_images.png``: sampled sequences and the planted anomalies drawn back as images.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

KINDS = ("shuffled", "reversed", "spike", "dropout", "spliced")
COLUMNS = [f"c{j}" for j in range(8)]


def digits_table() -> pd.DataFrame:
    """sklearn's 1,797 digits as a long table: one row per digit and image row."""
    from sklearn.datasets import load_digits

    images = load_digits().data.reshape(-1, 8, 8)
    digit = np.repeat(np.arange(len(images)), 8)
    table = pd.DataFrame(images.reshape(-1, 8).astype(int), columns=COLUMNS)
    table.insert(0, "row", np.tile(np.arange(8), len(images)))
    table.insert(0, "digit", [f"d{i}" for i in digit])
    return table


def plant(images: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``images`` (n, 8, 8) with one kind of anomaly planted in each."""
    planted = images.copy()
    n = len(images)
    if kind == "shuffled":
        for i in range(n):
            order = rng.permutation(8)
            while (order == np.arange(8)).all():
                order = rng.permutation(8)
            planted[i] = images[i, order]
    elif kind == "reversed":
        planted = images[:, ::-1].copy()
    elif kind == "spike":
        planted[np.arange(n), rng.integers(1, 7, n)] = 16
    elif kind == "dropout":
        start = rng.integers(1, 6, n)
        planted[np.arange(n), start] = 0
        planted[np.arange(n), start + 1] = 0
    elif kind == "spliced":
        partner = (np.arange(n) + 1 + rng.integers(0, n - 1, n)) % n
        planted[:, 4:] = images[partner, 4:]
    else:
        raise ValueError(kind)
    return planted


def long_table(images: np.ndarray, ids: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(images.reshape(-1, 8), columns=COLUMNS)
    table.insert(0, "row", np.tile(np.arange(8), len(images)))
    table.insert(0, "digit", np.repeat(ids, 8))
    return table


def auc(anomalous: np.ndarray, normal: np.ndarray) -> float:
    """Probability that an anomalous sequence scores below a normal one (ties count half)."""
    below = (anomalous[:, None] < normal[None, :]).mean()
    ties = (anomalous[:, None] == normal[None, :]).mean()
    return float(below + 0.5 * ties)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("sequence-anomalies"), help="output folder")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--z-dim", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument(
        "--kind",
        choices=("real", "count"),
        default="count",
        help="kind of the value columns, as a schema file would declare it: count (Poisson, the default "
        "here: ink counts are counts) or real (Normal, the default of train sequence)",
    )
    parser.add_argument("--iw-samples", type=int, default=200, help="importance samples per score")
    parser.add_argument("--shown", type=int, default=3, help="held-out sequences listed one by one")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small recurrent steps: 1)")
    args = parser.parse_args()

    import torch

    from vaekit import plots
    from vaekit.inference import TrainConfig
    from vaekit.runs.sequence import sample_sequences, score_sequences, sequence_data, train_sequence

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    if (args.out / "run" / "config.json").is_file():
        shutil.rmtree(args.out / "run")  # this script's own previous run
    csv = args.out / "digits_rows.csv"
    digits_table().to_csv(csv, index=False)
    started = time.perf_counter()
    run = train_sequence(
        {"csv": str(csv), "id": "digit", "time": "row", "value_columns": None, "split_seed": 0},
        TrainConfig(epochs=args.epochs, batch_size=64, lr_schedule="cosine", progress_bar=False),
        args.out / "run",
        z_dim=args.z_dim,
        hidden=args.hidden,
        overrides={name: {"kind": args.kind} for name in COLUMNS},
        iw_samples=1000,
        progress=False,
    )
    trained = time.perf_counter() - started
    metrics = run.metrics
    print(
        f"digits as sequences ({args.kind} columns): {metrics['train_examples']} training sequences of "
        "8 steps x 8 values, "
        f"{metrics['test_sequences']} held out; {metrics['epochs']} epochs in {trained:.0f} s "
        f"({metrics['seconds_per_epoch']} s/epoch, threads {args.threads})"
    )
    print(
        f"held-out log-likelihood (IWAE, K=1000): {metrics['test_log_likelihood']:.2f} nats per sequence "
        f"(ELBO {metrics['test_elbo']:.2f}); {metrics['test_log_likelihood_per_step']:.2f} per step"
    )

    _, test = sequence_data(run)
    ids = list(test.ids)
    images = test.values.numpy().astype(int)  # (n, 8, 8): digits have no missing cells or short sequences
    rng = np.random.default_rng(0)
    tables = [long_table(images, ids)]
    planted = {}
    for kind in KINDS:
        planted[kind] = plant(images, kind, rng)
        tables.append(long_table(planted[kind], [f"{i}-{kind}" for i in ids]))
    scores = score_sequences(run, pd.concat(tables, ignore_index=True), iw_samples=args.iw_samples)
    score = dict(zip(scores["digit"], scores["log_likelihood"], strict=True))
    normal = np.array([score[i] for i in ids])

    def percentile(value: float) -> str:
        return f"{(normal < value).mean():6.1%}"

    print(f"\nper-sequence scores (log-likelihood, nats; IWAE K={args.iw_samples}); lower is more anomalous;")
    print("'below' is the share of the normal held-out sequences that score lower")
    print(f"{'sequence':>12} {'anomaly':>9} {'log p(x)':>10} {'per step':>9} {'below':>7}")
    for i in ids[: args.shown]:
        for kind in ("normal", *KINDS):
            key = i if kind == "normal" else f"{i}-{kind}"
            print(f"{i:>12} {kind:>9} {score[key]:10.2f} {score[key] / 8:9.2f} {percentile(score[key]):>7}")
    print(f"\ntelling anomalous copies from the {len(ids)} normal held-out sequences by score alone")
    print(f"{'anomaly':>9} {'AUC':>6} {'median log p(x)':>16}")
    print(f"{'normal':>9} {'':>6} {np.median(normal):16.2f}")
    for kind in KINDS:
        values = np.array([score[f"{i}-{kind}"] for i in ids])
        print(f"{kind:>9} {auc(values, normal):6.3f} {np.median(values):16.2f}")

    sampled = sample_sequences(run, 16, seed=0)
    sampled_images = sampled[COLUMNS].to_numpy(float).reshape(16, 1, 8, 8)
    first = images[:8]
    rows = [first] + [planted[kind][:8] for kind in KINDS]
    grid = np.concatenate(
        [np.clip(sampled_images / 16, 0, 1)] + [np.asarray(r, float)[:, None] / 16 for r in rows]
    )
    figure = plots.image_grid(
        grid,
        ncols=8,
        row_labels=["sampled", "sampled", "held out", *KINDS],
        title="Sequences of rows drawn as images: samples, held-out digits and their planted anomalies",
    )
    image_path = plots.save_figure(figure, args.out / "digits_as_images.png")
    print(f"\nfigures: {run.figures / 'samples.png'}, {image_path}")


if __name__ == "__main__":
    main()
