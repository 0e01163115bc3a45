"""Per-row cost of vaekit's tabular training step against a plain PyTorch loop of the same network.

Both train the same ``TabularVAE`` modules (column features, encoder, heads) on the same batch of
``benchmarks/tabular_width.py``'s mixed table (a fifth each of real, positive, count, binary and
five-level columns, a tenth of the cells missing), with the default objective, the
importance-weighted bound with 8 draws of z:

* vaekit: :class:`vaekit.inference.objectives.ImportanceWeightedObjective` (Pyro traces the model
  and the guide) and vaekit's optimiser (``build_optimizer``: fused Adam), as a run's step does;
* plain: the bound written by hand (z = loc + scale * noise, the columns' masked log-densities from
  the model's own heads, log p(z) - log q(z), logsumexp over the draws) and ``torch.optim.Adam``.

The two losses are checked equal on one draw of the noise before timing, so that the loops do the
same arithmetic. Prints the median time of a step and the time per row, for 10, 100 and 1,000
columns at batch 128 (the default) and 1,024.

    python benchmarks/tabular_vs_plain.py [--steps 40] [--widths 10 100 1000] [--batches 128 1024]

Run it alone on the machine. Results of the last run: ``benchmarks/results/tabular_vs_plain.txt``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tabular_width import mixed_table  # noqa: E402

from vaekit.data.tabular import encode_table, fit_schema, infer_schema  # noqa: E402
from vaekit.inference import build_optimizer  # noqa: E402
from vaekit.inference.objectives import ImportanceWeightedObjective  # noqa: E402
from vaekit.models import TabularVAE, TabularVAEConfig  # noqa: E402

DRAWS = 8


def plain_bound(model: TabularVAE, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound per row, by hand: ``(rows,)``."""
    posterior = model.encode(values, observed)
    z = posterior.rsample((DRAWS,))
    log_weight = model.prior(()).log_prob(z) - posterior.log_prob(z)
    for family, column_distribution in model.column_distributions(z).items():
        cells = model.decoder_heads.observations(family, values)
        present = observed[..., model.decoder_heads.index(family)]
        log_weight = log_weight + (column_distribution.log_prob(cells) * present).sum(-1)
    return torch.logsumexp(log_weight, 0) - math.log(DRAWS)


def median_step(step, steps: int) -> float:
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times[steps // 5 :])  # the first steps warm up allocators and checks


def compare(columns: int, batch_size: int, steps: int) -> tuple[float, float]:
    table = mixed_table(columns, batch_size, missing=0.1)
    schema = fit_schema(infer_schema(table), table)
    encoded = encode_table(schema, table)
    values, observed = encoded.values, encoded.observed
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict()))
    objective = ImportanceWeightedObjective(DRAWS)

    # The same arithmetic: equal bounds on one draw of the noise.
    torch.manual_seed(1)
    by_vaekit = -objective.training(model, (values, observed)).loss
    torch.manual_seed(1)
    by_hand = plain_bound(model, values, observed).mean()
    if not torch.allclose(by_vaekit, by_hand, rtol=1e-4, atol=1e-3):
        raise SystemExit(f"the bounds differ: vaekit {float(by_vaekit):.4f}, plain {float(by_hand):.4f}")

    optimizer = build_optimizer(model.parameters(), lr=1e-3)

    def vaekit_step() -> None:
        loss = objective.training(model, (values, observed)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    plain_optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def plain_step() -> None:
        loss = -plain_bound(model, values, observed).mean()
        plain_optimizer.zero_grad()
        loss.backward()
        plain_optimizer.step()

    # Alternate blocks so that any drift of the machine falls on both alike.
    vaekit_times, plain_times = [], []
    for _ in range(3):
        vaekit_times.append(median_step(vaekit_step, steps))
        plain_times.append(median_step(plain_step, steps))
    return statistics.median(vaekit_times), statistics.median(plain_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--widths", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    args = parser.parse_args()
    hidden = TabularVAEConfig.hidden
    print(f"{torch.get_num_threads()} threads; TabularVAE defaults (hidden {hidden}); bound of {DRAWS} draws")
    for batch_size in args.batches:
        for columns in args.widths:
            vaekit_seconds, plain_seconds = compare(columns, batch_size, args.steps)
            print(
                f"batch {batch_size:5d}, {columns:5d} columns: vaekit {vaekit_seconds * 1e3:7.2f} ms a step "
                f"({vaekit_seconds / batch_size * 1e6:6.1f} us a row), plain {plain_seconds * 1e3:7.2f} ms "
                f"({plain_seconds / batch_size * 1e6:6.1f} us a row); "
                f"ratio {vaekit_seconds / plain_seconds:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
