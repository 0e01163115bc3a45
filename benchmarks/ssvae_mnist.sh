#!/usr/bin/env bash
# The seed's claim: the semi-supervised VAE (M2) reaches 0.96 test accuracy on MNIST with under 10% of
# the labels. This reproduces it wherever MNIST can be downloaded (or is already in --data-dir,
# $VAEKIT_DATA or the cache folder):
#
#     bash benchmarks/ssvae_mnist.sh [RUN_DIR]
#
# Setting: 3,000 labels (5% of the 60,000 training images, balanced over the digits), the CNN
# encoder, 30 epochs, seed 0, and the classification weight of Pyro's tutorial of this model
# (aux_loss_multiplier 46 per labelled image, i.e. --alpha 46 * 3000).
# Expected result: test_accuracy >= 0.96 in RUN_DIR/metrics.json (Kingma et al. 2014 report 3.60% error
# for M2 with 3,000 labels). It has NOT been run on the development machines, which cannot download
# MNIST; the same command on Fashion-MNIST is measured in the notes of issue 3.
# The script exits non-zero when the accuracy falls short. No choice here was tuned on a test set.
set -euo pipefail
out=${1:-runs/ssvae-mnist}
vaekit train ssvae --data mnist --download --labels 3000 --encoder cnn --epochs 30 --alpha 138000 \
    --seed 0 --out "$out" --force
python - "$out/metrics.json" <<'PY'
import json
import sys

metrics = json.load(open(sys.argv[1]))
accuracy = metrics["test_accuracy"]
print(f"test accuracy with {metrics['labels']} labels: {accuracy:.4f} (expected at least 0.96)")
sys.exit(0 if accuracy >= 0.96 else 1)
PY
