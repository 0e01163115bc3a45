"""Training throughput of the three flagship models on an accelerator, through the `vaekit` command.

Each model is trained with ``--accelerator gpu`` (and, for comparison, once on the CPU of the same
machine) on Fashion-MNIST and the tabular reference data; the script reads the run folders'
metrics and prints examples per second and seconds per epoch. The in-memory data go to the device
once (``vaekit.inference.fit`` moves them with ``vaekit.data.loaders.move_to_device_once`` when they
fit), so the numbers measure the model.

    python benchmarks/gpu_throughput.py --data-dir ../shared/data/fashion-mnist --out /tmp/gpu-bench

Run it on a machine with a GPU; without one it stops with a message. Timings include neither
start-up nor evaluation (``seconds_per_epoch`` counts training steps only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from vaekit.cli.main import main as vaekit


def _run(name: str, arguments: list[str], out: Path) -> dict:
    run_dir = out / name
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    status = vaekit([*arguments, "--out", str(run_dir), "--no-progress"])
    if status != 0:
        raise SystemExit(f"{name}: vaekit exited with {status}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--out", default="/tmp/vaekit-gpu-bench", help="where the run folders go")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", default="128,1024", help="image batch sizes to time")
    parser.add_argument("--skip-cpu", action="store_true", help="do not time the CPU baseline")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark needs a GPU")
    out = Path(args.out)
    image = [
        "--data",
        "fashion-mnist",
        "--data-dir",
        args.data_dir,
        "--iw-samples",
        "100",
        "--iw-examples",
        "1000",
    ]
    epochs = ["--epochs", str(args.epochs)]
    runs: list[tuple[str, list[str]]] = []
    for batch in args.batch_sizes.split(","):
        runs.append((f"vae-mlp-b{batch}", ["train", "vae", *image, *epochs, "--batch-size", batch]))
        runs.append(
            (
                f"vae-cnn-b{batch}",
                ["train", "vae", *image, *epochs, "--batch-size", batch, "--encoder", "cnn"],
            )
        )
    runs.append(("ssvae-mlp-b200", ["train", "ssvae", *image, *epochs, "--labels", "3000"]))
    runs.append(
        ("ssvae-cnn-b200", ["train", "ssvae", *image, *epochs, "--labels", "3000", "--encoder", "cnn"])
    )
    runs.append(
        ("tabular-seed-b128", ["train", "tabular", "--dataset", "seed", "--epochs", str(5 * args.epochs)])
    )
    runs.append(
        (
            "tabular-seed-b4096",
            [
                "train",
                "tabular",
                "--dataset",
                "seed",
                "--epochs",
                str(5 * args.epochs),
                "--batch-size",
                "4096",
            ],
        )
    )

    rows = []
    for name, arguments in runs:
        devices = [("gpu", "gpu")] if args.skip_cpu else [("gpu", "gpu"), ("cpu", "cpu")]
        for label, accelerator in devices:
            if label == "cpu" and not name.endswith(("-b128", "-b200")):
                continue  # the CPU baseline at the default batch size is enough
            metrics = _run(f"{name}-{label}", [*arguments, "--accelerator", accelerator], out)
            rows.append(
                {
                    "run": name,
                    "device": metrics.get("device", label),
                    "examples_per_second": metrics["train_examples_per_second"],
                    "seconds_per_epoch": metrics["seconds_per_epoch"],
                    "test_elbo": metrics.get("test_elbo", metrics.get("test_log_likelihood")),
                    "test_accuracy": metrics.get("test_accuracy"),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    (out / "throughput.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{'run':<22} {'device':<8} {'examples/s':>12} {'s/epoch':>9} {'test':>10} {'acc':>6}")
    for row in rows:
        accuracy = "" if row["test_accuracy"] is None else f"{row['test_accuracy']:.3f}"
        print(
            f"{row['run']:<22} {row['device']:<8} {row['examples_per_second']:>12.0f} "
            f"{row['seconds_per_epoch']:>9.2f} {row['test_elbo']:>10.2f} {accuracy:>6}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
