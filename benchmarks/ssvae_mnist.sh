#!/usr/bin/env bash
# The seed's claim: the semi-supervised VAE (M2) reaches 0.96 test accuracy on MNIST with under 10% of
# the labels. This runs the default command (nothing but the data, --labels and the encoder) wherever
# MNIST can be downloaded (or is already in --data-dir, $VAEKIT_DATA or the cache folder):
#
#     bash benchmarks/ssvae_mnist.sh [RUN_DIR]
#
# Two runs, seed 0, every other setting at its default (classification weight 46 per labelled image,
# cosine learning rate, 5 CNN epochs / 20 MLP epochs, the last epoch's weights):
#   1. 3,000 labels (5% of the 60,000 training images), CNN encoder. Expected: test accuracy at least
#      0.96 (Kingma et al. 2014: 0.961 for M2; Pyro's tutorial: 0.958). The script fails below 0.96.
#   2. 100 labels (10 per digit), MLP encoder. Expected: about 0.85 (M2 in the paper: 0.880, Pyro's
#      tutorial: 0.932 at best); printed, not enforced: M2 alone is weak with so few labels.
# It has NOT been run on the development machines, which cannot download MNIST; the same default
# commands on Fashion-MNIST are measured in the README ("Why these defaults"). No choice here was
# tuned on a test set.
set -euo pipefail
out=${1:-runs/ssvae-mnist}
vaekit train ssvae --data mnist --download --labels 3000 --encoder cnn --out "$out-3000" --force
vaekit train ssvae --data mnist --download --labels 100 --out "$out-100" --force
python - "$out-3000/metrics.json" "$out-100/metrics.json" <<'PY'
import json
import sys

many, few = (json.load(open(path)) for path in sys.argv[1:3])
print(f"test accuracy with {few['labels']} labels: {few['test_accuracy']:.4f} (expected about 0.85)")
print(f"test accuracy with {many['labels']} labels: {many['test_accuracy']:.4f} (expected at least 0.96)")
sys.exit(0 if many["test_accuracy"] >= 0.96 else 1)
PY
