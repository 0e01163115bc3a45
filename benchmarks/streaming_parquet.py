"""Train the tabular VAE on a Parquet table streamed in chunks, larger than what it keeps in memory.

Generates a table of ``--rows`` rows (10 million by default) chunk by chunk (never whole in memory):
the reference data's x1 ~ Gamma(2, 1), x2 ~ Normal(0, 1), x3 ~ Normal(x2, x1), and a positive
income, a count of visits, a binary smoker and a categorical region that depend on them, with a few
missing cells. Then, in this process, it streams it through ``vaekit``'s tabular run for one epoch
(schema from a sample, one checking pass, training, test metrics on a bounded sample) and reports:

* rows per second of training (Lightning's training time, validation excluded), and of a pass that
  only reads and encodes the training rows (what streaming itself costs);
* seconds of each phase;
* the peak resident memory of this process (``getrusage(RUSAGE_SELF).ru_maxrss``: generation runs
  in a child process and does not count), and the peak of each phase (resident memory sampled
  every 50 ms from /proc), beside the size of the Parquet file(s) and what the encoded table
  would take in memory.

    python benchmarks/streaming_parquet.py                      # 10,000,000 rows, one whole epoch
    python benchmarks/streaming_parquet.py --rows 200000        # a quick check
    python benchmarks/streaming_parquet.py --train-rows 1000000 # the 10M table, 1M rows trained

With ``--train-rows`` the epoch stops after that many training rows; the table is still read whole
by the checking pass and by the read-and-encode pass.

The table is kept at ``--path`` and reused while its row count matches (``--regenerate`` to redo).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

GENERATION_CHUNK = 1_000_000
REGIONS = np.array(["north", "south", "east", "west", "centre"])


def _chunk(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    x1 = rng.gamma(2.0, 1.0, rows)
    x2 = rng.normal(0.0, 1.0, rows)
    x3 = rng.normal(x2, x1)
    income = np.exp(rng.normal(10.0 + 0.3 * x2, 0.5))
    visits = rng.poisson(np.exp(0.2 + 0.3 * np.minimum(x1, 5.0))).astype(float)
    smoker = np.where(rng.random(rows) < 1 / (1 + np.exp(-x2)), "yes", "no").astype(object)
    region = REGIONS[np.minimum((rng.random(rows) * 5 + (x3 > 0)).astype(int), 4)].astype(object)
    # A few missing cells, as in real tables.
    income[rng.random(rows) < 0.02] = np.nan
    visits[rng.random(rows) < 0.01] = np.nan
    region[rng.random(rows) < 0.01] = None
    return {
        "x1": x1,
        "x2": x2,
        "x3": x3,
        "income": income,
        "visits": visits,
        "smoker": smoker,
        "region": region,
    }


def generate(path: Path, rows: int, row_group_rows: int, files: int, seed: int) -> None:
    """Write ``rows`` rows to ``path`` (one file, or ``files`` files in the folder ``path``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("x1", pa.float64()),
            ("x2", pa.float64()),
            ("x3", pa.float64()),
            ("income", pa.float64()),
            ("visits", pa.int64()),
            ("smoker", pa.string()),
            ("region", pa.string()),
        ]
    )
    rng = np.random.default_rng(seed)
    if files > 1:
        path.mkdir(parents=True, exist_ok=True)
        targets = [path / f"part-{k:04d}.parquet" for k in range(files)]
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        targets = [path]
    per_file = [rows // files + (k < rows % files) for k in range(files)]
    for target, file_rows in zip(targets, per_file, strict=True):
        partial = target.with_name(target.name + ".partial")
        with pq.ParquetWriter(partial, schema, compression="snappy") as writer:
            written = 0
            while written < file_rows:
                n = min(GENERATION_CHUNK, file_rows - written)
                columns = _chunk(n, rng)
                arrays = {
                    name: pa.array(values, from_pandas=True).cast(schema.field(name).type)
                    for name, values in columns.items()
                }
                writer.write_table(pa.table(arrays, schema=schema), row_group_size=row_group_rows)
                written += n
        os.replace(partial, target)


def _table_rows(path: Path) -> int | None:
    import pyarrow.parquet as pq

    if not path.exists():
        return None
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files) if files else None


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.parquet")) if path.is_dir() else path.stat().st_size


def _peak_mib() -> float:
    # Linux reports kilobytes, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


class _MemoryByPhase:
    """Peak resident memory of this process in each phase, sampled in a background thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(interval,), daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss_mib(self) -> float | None:
        try:
            with open("/proc/self/statm") as stream:
                return int(stream.read().split()[1]) * self._page / 2**20
        except OSError:
            return None

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            rss = self._rss_mib()
            if rss is not None:
                self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)

    def start(self) -> _MemoryByPhase:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the table (10,000,000)")
    parser.add_argument(
        "--path",
        type=Path,
        default=Path(tempfile.gettempdir()) / "vaekit-streaming-benchmark.parquet",
        help="the Parquet file (or folder, with --files > 1) to write and stream",
    )
    parser.add_argument("--files", type=int, default=1, help="split the table over this many files (1)")
    parser.add_argument("--row-group-rows", type=int, default=100_000, help="rows per row group (100,000)")
    parser.add_argument("--regenerate", action="store_true", help="write the table even if it exists")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--train-rows", type=int, help="stop each epoch after about this many training rows (all)"
    )
    parser.add_argument("--batch-size", type=int, default=128, help="rows per step (128, the CLI's default)")
    parser.add_argument("--hidden", default="512,512", help="hidden widths (512,512: the README's figures)")
    parser.add_argument("--z-dim", type=int, default=4)
    parser.add_argument("--buffer-rows", type=int, default=262_144)
    parser.add_argument("--chunk-rows", type=int, default=65_536)
    parser.add_argument("--eval-rows", type=int, default=2_000, help="test rows for the metrics (2,000)")
    parser.add_argument("--iw-samples", type=int, default=100, help="importance samples per test row (100)")
    parser.add_argument("--loader-workers", type=int, default=0)
    parser.add_argument("--run-dir", type=Path, help="run folder (default: a temporary one, removed)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.regenerate or _table_rows(args.path) != args.rows:
        if args.path.is_dir():
            shutil.rmtree(args.path)
        elif args.path.exists():
            args.path.unlink()
        # In a child process: its memory is not this process's peak.
        child = multiprocessing.get_context("fork").Process(
            target=generate, args=(args.path, args.rows, args.row_group_rows, args.files, 0)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            print("generation failed", file=sys.stderr)
            return 1
    generation_seconds = time.perf_counter() - started

    import torch

    import vaekit.runs.tabular as tabular_runs
    from vaekit.data.streaming import StreamingTable
    from vaekit.inference import TrainConfig
    from vaekit.runs.tabular import prepare_table, train_tabular

    baseline_mib = _peak_mib()
    memory = _MemoryByPhase().start()
    evaluate = tabular_runs.evaluate_tabular

    def evaluate_in_its_phase(*args_: object, **kwargs: object) -> object:
        memory.phase = "evaluation (IWAE on the test sample)"
        return evaluate(*args_, **kwargs)

    tabular_runs.evaluate_tabular = evaluate_in_its_phase
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="vaekit-streaming-run-"))
    data = {
        "dataset": "parquet",
        "parquet": str(args.path.resolve()),
        "split_seed": 0,
        "val_fraction": 0.1,
        "chunk_rows": args.chunk_rows,
        "buffer_rows": args.buffer_rows,
        "eval_rows": args.eval_rows,
        "workers": args.loader_workers,
        "max_train_batches": -(-args.train_rows // args.batch_size) if args.train_rows else None,
    }
    train_config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr_schedule="cosine", progress_bar=False
    )

    memory.phase = "schema and checking pass"
    started = time.perf_counter()
    prepared = prepare_table(data)
    prepare_seconds = time.perf_counter() - started
    print(f"schema, from {prepared.data_settings['schema_sample_rows']} sampled rows:", file=sys.stderr)
    print(prepared.schema.describe(), file=sys.stderr)

    # What streaming alone costs: read and encode every training row once, no model.
    reader = StreamingTable(
        prepared.reader,
        prepared.schema,
        prepared.source.split(),
        "train",
        args.batch_size,
        shuffle=True,
        chunk_rows=args.chunk_rows,
        buffer_rows=args.buffer_rows,
    )
    memory.phase = "read-and-encode pass"
    started = time.perf_counter()
    read_rows = sum(len(batch[0]) for batch in reader)
    read_seconds = time.perf_counter() - started

    memory.phase = "training and validation"
    started = time.perf_counter()
    run = train_tabular(
        prepared,
        train_config,
        run_dir,
        z_dim=args.z_dim,
        hidden=tuple(int(w) for w in args.hidden.split(",")),
        iw_samples=args.iw_samples,
        figures=False,
        progress=False,
    )
    run_seconds = time.perf_counter() - started
    memory.stop()
    metrics = run.metrics
    rows = prepared.data_settings["rows"]
    columns = len(prepared.schema.columns)
    results = {
        "table_rows": args.rows,
        "rows_per_part": rows,
        "parquet_bytes": _size(args.path),
        "encoded_table_bytes_if_in_memory": args.rows * columns * 5,
        "generation_seconds": round(generation_seconds, 1),
        "prepare_seconds": round(prepare_seconds, 1),
        "read_and_encode_rows_per_second": round(read_rows / read_seconds, 1),
        "train_rows_per_epoch": metrics["train_examples"],
        "train_seconds": metrics["train_seconds"],
        "train_rows_per_second": metrics["train_examples_per_second"],
        "run_seconds_with_validation_and_evaluation": round(run_seconds, 1),
        "test_log_likelihood": metrics["test_log_likelihood"],
        "evaluated_on": metrics["evaluated_on"],
        "peak_rss_mib": round(_peak_mib(), 1),
        "rss_mib_after_imports": round(baseline_mib, 1),
        "peak_rss_mib_by_phase": {phase: round(mib, 1) for phase, mib in memory.peaks.items()},
        "peak_buffered_rows_of_the_read_pass": reader.peak_buffered_rows,
        "settings": {
            "batch_size": args.batch_size,
            "hidden": args.hidden,
            "buffer_rows": args.buffer_rows,
            "chunk_rows": args.chunk_rows,
            "row_group_rows": args.row_group_rows,
            "files": args.files,
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
        },
    }
    if args.run_dir is None:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    print(
        f"\n{args.rows:,} rows, {results['parquet_bytes'] / 2**20:.0f} MiB of Parquet "
        f"({results['encoded_table_bytes_if_in_memory'] / 2**20:.0f} MiB encoded): trained "
        f"{metrics['train_examples']:,} rows at {metrics['train_examples_per_second']:,.0f} rows/s; "
        f"reading and encoding alone {results['read_and_encode_rows_per_second']:,.0f} rows/s; "
        f"peak memory {results['peak_rss_mib']:.0f} MiB ({baseline_mib:.0f} MiB after imports); by "
        "phase: " + ", ".join(f"{phase} {mib:.0f}" for phase, mib in results["peak_rss_mib_by_phase"].items())
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
