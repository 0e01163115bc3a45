"""The image VAE's story with the guide vaekit builds, beside the hand-written flagship.

Both are trained from the command line on Fashion-MNIST with the same settings (10 epochs, batch
128, z of 50, one hidden layer of 400 in encoder and decoder):

    vaekit train vae   --data fashion-mnist --data-dir DIR --epochs 10 --out A
    vaekit train model --model examples/stories/image_vae.py:ImageVAE --data fashion-mnist \\
        --data-dir DIR --image-encoder mlp --latent-hidden none --epochs 10 --out B

then both runs' models are scored here on the same test images with the same function and seed
(ELBO and IWAE log-likelihood, K = 100, nats per image), and their seconds per epoch are read from
their ``metrics.json``. Targets of issue 13: test ELBO within 1 nat; seconds per epoch within 1.1x.
Run it alone: it times training.

    python benchmarks/auto_vs_flagship.py --data-dir ../shared/data/fashion-mnist [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from vaekit.evaluation import estimate_log_likelihood
from vaekit.runs import load_run
from vaekit.runs.images import ImageSource

STORY = Path(__file__).resolve().parents[1] / "examples" / "stories" / "image_vae.py"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--test-images", type=int, default=10_000)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "auto_vs_flagship.txt"
    )
    args = parser.parse_args()
    common = [
        "--data",
        "fashion-mnist",
        "--data-dir",
        args.data_dir,
        "--epochs",
        str(args.epochs),
        "--no-progress",
    ]
    lines = [
        f"Fashion-MNIST, {args.epochs} epochs, batch 128, z 50, hidden 400; "
        f"torch threads {torch.get_num_threads()}"
    ]
    with tempfile.TemporaryDirectory() as work:
        runs = {
            "flagship (vaekit train vae)": (["train", "vae"], Path(work) / "flagship"),
            "story + automatic guide (vaekit train model)": (
                ["train", "model", "--model", f"{STORY}:ImageVAE"]
                + ["--image-encoder", "mlp", "--latent-hidden", "none"],
                Path(work) / "story",
            ),
        }
        dataset = ImageSource.given("fashion-mnist", args.data_dir).load()
        test = dataset.test_images[: args.test_images]
        results = {}
        for name, (command, out) in runs.items():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "vaekit.cli",
                    *command,
                    *common,
                    "--iw-samples",
                    "10",
                    "--out",
                    str(out),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            metrics = json.loads((out / "metrics.json").read_text())
            model = load_run(out).model
            parameters = sum(p.numel() for p in model.parameters())
            torch.manual_seed(0)
            with torch.no_grad():
                estimate = estimate_log_likelihood(model, test, num_samples=100)
            results[name] = (float(estimate.elbo.mean()), float(estimate.log_likelihood.mean()), metrics)
            line = (
                f"{name}: {parameters:,} parameters; test ELBO {results[name][0]:.2f}, IWAE (K=100) "
                f"{results[name][1]:.2f} nats per image; {metrics['seconds_per_epoch']:.1f} s per epoch"
            )
            print(line, flush=True)
            lines.append(line)
    (flagship, story) = results.values()
    lines.append(
        f"story - flagship: ELBO {story[0] - flagship[0]:+.2f} nats (target within 1), IWAE "
        f"{story[1] - flagship[1]:+.2f}; seconds per epoch ratio story / flagship "
        f"{story[2]['seconds_per_epoch'] / flagship[2]['seconds_per_epoch']:.2f} (target at most 1.1)"
    )
    print(lines[-1])
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
