"""Three stories no flagship covers, each written as a model only and trained from the command line
with the guide vaekit builds (``vaekit train model --model FILE.py:NAME``):

* a Gaussian-mixture VAE (``examples/stories/gaussian_mixture_vae.py``): a discrete cluster c, then
  z given c. Its clustering accuracy on the held-out digits (each cluster read as the digit most of
  its training rows show, and with the best one-to-one matching), beside k-means on the pixels;
* a two-layer hierarchical VAE (``examples/stories/hierarchical_vae.py``, z2 -> z1 -> x) and the
  one-layer VAE with the same decoder: their held-out log-likelihoods (IWAE, K = 100);
* a topic model with a simplex latent (``examples/stories/topic_model.py``): its held-out
  log-likelihood beside the one-topic model (every document's words from one distribution, the
  training frequencies), and its topics drawn as pictures.

The data are the 1,797 8x8 digits scikit-learn ships, as a table of 64 counts (ink 0..16): the run
holds out a seeded tenth as its test rows; the labels are never given to a story and are read only
to score the clusters. Settings were fixed before any run (200 epochs, the other flags at their
defaults) and are the same for every story; ``--seeds`` runs each story that many times.

    python benchmarks/stories.py [--epochs 200] [--seeds 3] [--out benchmarks/results]

Printed and written to ``OUT/stories.txt``; the figures to ``OUT/stories/``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.special import gammaln, xlogy
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from vaekit import plots
from vaekit.runs import load_run
from vaekit.runs.training_run import held_out_split

STORIES = Path(__file__).resolve().parents[1] / "examples" / "stories"


def vaekit(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "vaekit.cli", *arguments], check=True, stdout=subprocess.DEVNULL)


def train(story: str, table: Path, out: Path, epochs: int, seed: int) -> tuple[dict, float]:
    start = time.perf_counter()
    vaekit(
        "train", "model", "--model", f"{STORIES / story}", "--csv", str(table), "--epochs", str(epochs),
        "--seed", str(seed), "--no-progress", "--out", str(out),
    )  # fmt: skip
    return json.loads((out / "metrics.json").read_text()), time.perf_counter() - start


def matched_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy under the best one-to-one matching of clusters to labels (Hungarian)."""
    counts = np.zeros((clusters.max() + 1, labels.max() + 1))
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(labels))


def majority_accuracy(
    train_c: np.ndarray, train_y: np.ndarray, test_c: np.ndarray, test_y: np.ndarray
) -> float:
    """Each cluster read as the label most of its training rows have, scored on the test rows."""
    vote = {c: np.bincount(train_y[train_c == c]).argmax() for c in np.unique(train_c)}
    guess = np.array([vote.get(c, -1) for c in test_c])
    return float((guess == test_y).mean())


def multinomial_log_likelihood(counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """log Multinomial(counts | n = row sum, probs) per row."""
    n = counts.sum(1)
    return gammaln(n + 1) - gammaln(counts + 1).sum(1) + xlogy(counts, probs).sum(1)


def digits_pictures(rows: np.ndarray) -> np.ndarray:
    return (rows / 16.0).reshape(-1, 1, 8, 8)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    figures = args.out / "stories"
    figures.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    pixels, labels = digits.data.astype(int), digits.target
    lines = [f"data: scikit-learn's 8x8 digits, {len(pixels)} rows of 64 counts; {args.epochs} epochs"]

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        table = work_dir / "digits.csv"
        pd.DataFrame(pixels, columns=[f"p{i + 1}" for i in range(64)]).to_csv(table, index=False)

        # 1. Gaussian-mixture VAE: clusters against the digits' labels.
        say("\n1. Gaussian-mixture VAE (10 clusters, z of 10): clustering of the held-out digits")
        for seed in range(args.seeds):
            run_dir = work_dir / f"gmvae{seed}"
            metrics, seconds = train(
                "gaussian_mixture_vae.py:GaussianMixtureVAE", table, run_dir, args.epochs, seed
            )
            train_index, test_index = held_out_split(len(pixels), seed)
            vaekit("encode", str(run_dir), "--csv", str(table), "--out", str(work_dir / "codes.csv"))
            clusters = pd.read_csv(work_dir / "codes.csv")["c"].to_numpy()
            kmeans = KMeans(10, n_init=10, random_state=seed).fit(pixels[train_index])
            k_train, k_test = kmeans.labels_, kmeans.predict(pixels[test_index])
            y_train, y_test = labels[train_index], labels[test_index]
            vae_vote = majority_accuracy(clusters[train_index], y_train, clusters[test_index], y_test)
            vae_matched = matched_accuracy(clusters[test_index], y_test)
            kmeans_vote = majority_accuracy(k_train, y_train, k_test, y_test)
            say(
                f"   seed {seed}: test log-likelihood {metrics['test_log_likelihood']:.2f} nats; "
                f"{len(np.unique(clusters))} clusters used; test accuracy majority-vote {vae_vote:.3f}, "
                f"matched {vae_matched:.3f} | k-means on the pixels: majority-vote {kmeans_vote:.3f}, "
                f"matched {matched_accuracy(k_test, y_test):.3f} | {seconds:.0f} s"
            )
            if seed == 0:
                test_clusters = clusters[test_index]
                rows, names = [], []
                for c in np.unique(test_clusters):
                    members = pixels[test_index][test_clusters == c][:12]
                    padded = np.zeros((12, 64))
                    padded[: len(members)] = members
                    rows.append(padded)
                    names.append(f"cluster {c}")
                figure = plots.image_grid(
                    digits_pictures(np.concatenate(rows)), ncols=12, row_labels=names,
                    title="Gaussian-mixture VAE: held-out digits by the cluster q(c | x) gives them",
                )  # fmt: skip
                plots.save_figure(figure, figures / "gaussian_mixture_clusters.png")

        # 2. Two layers of latents against one.
        say("\n2. Hierarchical VAE (z2 of 4 -> z1 of 16 -> x) against one layer (z of 16), same decoder")
        for seed in range(args.seeds):
            two, two_seconds = train(
                "hierarchical_vae.py:HierarchicalVAE", table, work_dir / f"two{seed}", args.epochs, seed
            )
            one, one_seconds = train(
                "hierarchical_vae.py:OneLayerVAE", table, work_dir / f"one{seed}", args.epochs, seed
            )
            two_ll, one_ll = two["test_log_likelihood"], one["test_log_likelihood"]
            say(
                f"   seed {seed}: test log-likelihood two layers {two_ll:.2f} (ELBO {two['test_elbo']:.2f}, "
                f"{two_seconds:.0f} s), one layer {one_ll:.2f} (ELBO {one['test_elbo']:.2f}, "
                f"{one_seconds:.0f} s): difference {two_ll - one_ll:+.2f} nats per digit"
            )
        pictures = []
        for name in ("two0", "one0"):
            vaekit("sample", str(work_dir / name), "--n", "24", "--out", str(work_dir / f"{name}.csv"))
            pictures.append(pd.read_csv(work_dir / f"{name}.csv").to_numpy())
        figure = plots.image_grid(
            digits_pictures(np.concatenate(pictures)), ncols=12,
            row_labels=["two layers", "", "one layer", ""], title="Draws from the two stories (seed 0)",
        )  # fmt: skip
        plots.save_figure(figure, figures / "hierarchical_samples.png")

        # 3. Topics on the simplex.
        say("\n3. Topic model (10 topics, theta ~ Dirichlet(0.5) on the simplex, Multinomial counts)")
        for seed in range(args.seeds):
            run_dir = work_dir / f"topics{seed}"
            metrics, seconds = train("topic_model.py:TopicModel", table, run_dir, args.epochs, seed)
            train_index, test_index = held_out_split(len(pixels), seed)
            frequencies = pixels[train_index].sum(0) / pixels[train_index].sum()
            # torch's Multinomial density counts each document's own length (the story's n only
            # bounds it), so the one-topic model is scored with the same formula.
            unigram = multinomial_log_likelihood(pixels[test_index], frequencies).mean()
            say(
                f"   seed {seed}: test log-likelihood {metrics['test_log_likelihood']:.2f} nats per document "
                f"(ELBO {metrics['test_elbo']:.2f}); one-topic model {unigram:.2f}; {seconds:.0f} s"
            )
            if seed == 0:
                topics = load_run(run_dir).model.story_module.topics().detach().numpy()
                figure = plots.image_grid(
                    (topics / topics.max(1, keepdims=True)).reshape(-1, 1, 8, 8), ncols=10,
                    title="Topic model: the 10 topics (each a distribution over the 64 pixels)",
                )  # fmt: skip
                plots.save_figure(figure, figures / "topics.png")
    (args.out / "stories.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
