"""Training-step time of the tabular VAE on synthetic tables of 10, 100 and 1,000 mixed columns.

Columns of one family share one sample site with batched parameters, so the cost of a step should
grow far slower than the number of columns. Prints the median step time per width and the ratios
to the 10-column table, at the same batch size.

    python benchmarks/tabular_width.py [--batch-size 256] [--steps 60] [--hidden 512,512] [--missing 0.2]

A step is what the training loop does: the loss, its gradients and vaekit's optimiser
(``vaekit.inference.build_optimizer``: fused Adam). With ``--missing F`` a share F of the cells is
removed at random, so the encoder's first layer also works on the missingness mask (a batch of
complete rows skips it).

Target (issue 4): 1,000 columns at most 3 times the step time of 10 columns.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import torch

from vaekit import TermwiseELBO
from vaekit.data.tabular import encode_table, fit_schema, infer_schema
from vaekit.inference import build_optimizer
from vaekit.models import TabularVAE, TabularVAEConfig


def mixed_table(columns: int, rows: int, seed: int = 0, missing: float = 0.0) -> pd.DataFrame:
    """A fifth each of real, positive, count, binary and categorical (5 levels) columns, with a
    share ``missing`` of the cells removed at random."""
    rng = np.random.default_rng(seed)
    data = {}
    for j in range(columns):
        kind = j % 5
        if kind == 0:
            data[f"real{j}"] = rng.normal(size=rows)
        elif kind == 1:
            data[f"positive{j}"] = rng.gamma(2.0, size=rows)
        elif kind == 2:
            data[f"count{j}"] = rng.poisson(3.0, size=rows)
        elif kind == 3:
            data[f"binary{j}"] = rng.integers(0, 2, size=rows)
        else:
            data[f"level{j}"] = rng.choice(list("abcde"), size=rows)
    table = pd.DataFrame(data)
    if missing > 0:
        table = table.mask(rng.random(table.shape) < missing)
    return table


def step_times(
    columns: int, batch_size: int, steps: int, hidden: tuple[int, ...], missing: float
) -> list[float]:
    table = mixed_table(columns, batch_size, missing=missing)
    schema = fit_schema(infer_schema(table), table)
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), hidden=hidden))
    elbo = TermwiseELBO()
    optimizer = build_optimizer(model.parameters(), lr=1e-3)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        loss = elbo(model.model, model.guide, encoded.values, encoded.observed).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return times[steps // 5 :]  # the first steps warm up allocators and Pyro's checks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument(
        "--hidden",
        type=lambda text: tuple(int(v) for v in text.split(",")),
        default=TabularVAEConfig.hidden,
        help="hidden layer widths (the model's default)",
    )
    parser.add_argument("--missing", type=float, default=0.0, help="share of cells removed (0)")
    args = parser.parse_args()
    hidden = ",".join(map(str, args.hidden))
    print(
        f"batch {args.batch_size}, {torch.get_num_threads()} threads, TabularVAE (z 4, hidden "
        f"{hidden}), {args.missing:.0%} of cells missing"
    )
    medians = {}
    for columns in (10, 100, 1000):
        times = step_times(columns, args.batch_size, args.steps, args.hidden, args.missing)
        medians[columns] = statistics.median(times)
        print(f"{columns:5d} columns: {medians[columns] * 1000:7.2f} ms per step")
    for columns in (100, 1000):
        print(f"ratio {columns} / 10 columns: {medians[columns] / medians[10]:.2f}")
    print(
        f"target: 1000 / 10 columns at most 3.00 -> {'met' if medians[1000] / medians[10] <= 3 else 'missed'}"
    )


if __name__ == "__main__":
    main()
