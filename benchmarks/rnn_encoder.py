"""The image VAE with the MLP encoder and with the recurrent one that reads the image row by row.

    python benchmarks/rnn_encoder.py --data fashion-mnist --data-dir ../shared/data/fashion-mnist \\
        --epochs 10 [--out DIR] [-- EXTRA vaekit train vae FLAGS]

Runs ``vaekit train vae --encoder mlp`` and ``--encoder rnn`` (a GRU over the 28 rows of 28 pixels;
the decoder is the same MLP in both) with the same data, epochs, seed and every other setting, then
prints the test ELBO, the IWAE test log-likelihood (both in nats per image; higher is better), the
seconds per epoch and the encoder's parameter count of each. Only the encoder box changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--data-dir", default="../shared/data/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("rnn-encoder-runs"))
    parser.add_argument("--encoders", default="mlp,rnn", help="encoders to compare (mlp,rnn)")
    parser.add_argument("extra", nargs="*", help="more flags for vaekit train vae, after --")
    args = parser.parse_args()

    from vaekit.cli.main import main as vaekit
    from vaekit.runs import load_model

    rows = []
    for encoder in args.encoders.split(","):
        out = args.out / encoder
        argv = ["train", "vae", "--data", args.data, "--data-dir", args.data_dir, "--encoder", encoder]
        argv += ["--epochs", str(args.epochs), "--no-progress", "--force", "--out", str(out), *args.extra]
        print("vaekit " + " ".join(argv), file=sys.stderr, flush=True)
        if vaekit(argv) != 0:
            raise SystemExit(f"vaekit train vae --encoder {encoder} failed")
        metrics = json.loads((out / "metrics.json").read_text())
        model = load_model(out / "model.pt")
        parameters = sum(p.numel() for p in model.encoder_body.parameters())
        rows.append((encoder, metrics, parameters))

    print(f"\n{args.data}, {args.epochs} epochs, the same decoder, seed and batch size")
    print(f"{'encoder':8}{'test ELBO':>11}{'test IWAE':>11}{'K':>6}{'s/epoch':>9}{'encoder params':>16}")
    for encoder, metrics, parameters in rows:
        print(
            f"{encoder:8}{metrics['test_elbo']:11.2f}{metrics['test_log_likelihood']:11.2f}"
            f"{metrics['iw_samples']:6d}{metrics['seconds_per_epoch']:9.2f}{parameters:16,d}"
        )


if __name__ == "__main__":
    main()
