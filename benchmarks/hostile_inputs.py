"""Hostile input at scale: the reader properties of ``tests/hostile`` with many more examples.

Runs ``tests/hostile/test_property_inputs.py`` (IDX reader, CSV and Parquet loaders, schema reader on
arbitrary bytes, mutated files and malformed tables) with ``--examples`` examples per property
instead of the test suite's 200, then prints, per property, how many examples ran and how many the
readers loaded or refused. Any example that escaped (an exception other than a VaekitError, a
message of several lines, a hang or an example over the deadline) fails its test, and the script
exits non-zero.

    python benchmarks/hostile_inputs.py --examples 5000

Then (issue 14) it runs the command line itself, in this process, on families of hostile values and
folders: huge text cells, categorical levels that look like numbers (00501, 1.50, 1e3 must come back
as written from sample and impute), huge values (spreads of 1e16 to 1e30), sequence time stamps with
offsets across a change of daylight saving time and naive/aware mixes, output columns that collide
with the user's (an id column named log_likelihood or steps, an ``imputation`` column under
``impute --draws``), and folders holding the command's inputs under ``--force``. An example escapes
when the command ends in a traceback or an "internal error", when an input file is lost or changed,
or when a value is written back other than as written. Each family prints its examples and escapes.

    python benchmarks/hostile_inputs.py --examples 100          # both parts
    python benchmarks/hostile_inputs.py --families-only         # the command-line families alone

Target (issues 5 and 14): no example escapes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODULE = "tests/hostile/test_property_inputs.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per property (5000)")
    parser.add_argument("-k", default=None, help="only the properties whose name matches (pytest -k)")
    parser.add_argument("--families-only", action="store_true", help="only the command-line families")
    parser.add_argument("--properties-only", action="store_true", help="only the reader properties")
    args = parser.parse_args()
    status = 0
    if not args.families_only:
        status |= properties(args)
    if not args.properties_only:
        status |= families()
    return status


def properties(args: argparse.Namespace) -> int:

    command = [sys.executable, "-m", "pytest", MODULE, "-q", "-p", "no:cacheprovider"]
    command += ["--hypothesis-show-statistics", "--hypothesis-seed=0"]
    if args.k:
        command += ["-k", args.k]
    env = {**os.environ, "VAEKIT_HOSTILE_EXAMPLES": str(args.examples)}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started

    # The statistics: a block per test, a line of counts per phase, then its events.
    rows = []
    for block in re.split(r"\n(?=\S+::test_)", result.stdout):
        name = re.match(r"\S+::(test_\w+)", block)
        if not name:
            continue
        # "N passing examples" (older hypothesis) or "N passing, M failing, and K invalid test cases".
        passing = sum(int(n) for n in re.findall(r"(\d+) passing\b", block))
        failing = sum(int(n) for n in re.findall(r"(\d+) failing\b", block))
        share = {}  # event -> % of examples, summed over the kinds of refusal
        for percent, call, outcome in re.findall(r"\* ([\d.]+)%, (\w+): (returned|refused)", block):
            share[call, outcome] = share.get((call, outcome), 0.0) + float(percent)
        reader = next((call for call, _ in share if call.startswith("read_")), None)
        loaded = share.get((reader, "returned"), 0.0)
        encoded = share.get(("encode_table", "returned"))
        rows.append((name.group(1), passing, failing, loaded, encoded))

    print(f"{'property':<44} {'examples':>9} {'escaped':>8} {'read':>7} {'encoded':>8}")
    for name, passing, failing, loaded, encoded in rows:
        encoded_text = f"{encoded:7.1f}%" if encoded is not None else f"{'-':>8}"
        print(f"{name:<44} {passing:>9} {failing:>8} {loaded:6.1f}% {encoded_text}")
    print("(read: share of examples the reader loaded, the rest it refused with a VaekitError;")
    print(" encoded: share that went on through infer_schema, fit_schema and encode_table)")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"\n{sum(r[1] for r in rows)} examples in {seconds:.0f} s; pytest: {summary}")
    if result.returncode != 0:
        failures = result.stdout.split("= FAILURES =", 1)[-1].split("hypothesis statistics", 1)[0]
        print("\nsome examples escaped; pytest's report:\n", failures[-6000:], result.stderr[-2000:])
    else:
        print("none escaped: every example loaded valid data or was refused with a one-line VaekitError")
    return result.returncode


# --- Issue 14: the command line on families of hostile values and folders ---------------------------

#: Flags that keep every training tiny.
TINY = ["--epochs", "1", "--hidden", "8", "--z-dim", "2", "--iw-samples", "2", "--no-progress"]


class Escape(Exception):
    """An example that escaped: a traceback, an internal error, a lost input or a wrong value."""


def vaekit(*argv: object) -> tuple[int, str]:
    """Exit status and stderr of ``vaekit ARGV``, run in this process; a traceback is an escape."""
    from vaekit.cli.main import main as cli

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = cli([str(arg) for arg in argv])
    except SystemExit as stop:  # argparse's refusals
        status = stop.code if isinstance(stop.code, int) else 2
    except BaseException:  # noqa: BLE001 - what escaped main() is the finding
        raise Escape("traceback: " + traceback.format_exc().strip().splitlines()[-1]) from None
    text = err.getvalue()
    if "internal error" in text or "Traceback" in text:
        raise Escape(text.strip().splitlines()[-1])
    return status, text


def refused_or_done(status: int, err: str) -> None:
    """Exit 0, or exit 2 with a one-line ``vaekit: error:`` of at most 400 characters."""
    if status == 0:
        return
    errors = [line for line in err.splitlines() if line.startswith("vaekit: error: ")]
    if status != 2 or len(errors) != 1 or len(errors[0]) > 400:
        raise Escape(f"exit {status}: {err.strip()[-300:]}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_rows(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def read_text_table(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


def huge_cells(work: Path) -> list[Callable[[], None]]:
    """Text cells of 1,001 characters to 20 MB, in a categorical column, as the only column, or last."""

    def example(length: int, where: str) -> Callable[[], None]:
        def run() -> None:
            folder = work / f"cell{length}{where}"
            folder.mkdir()
            rows = [f"{'ab'[k % 2]},{k / 7:.3f}" for k in range(30)]
            cell = "z" * length
            if where == "first":
                rows[0] = f"{cell},0.5"
            elif where == "quoted":
                rows[5] = f'"{cell[: length // 2]},{cell[: length // 2]}",0.5'
            else:
                rows.append(f"{cell},1.5")
            table = write_rows(folder / "t.csv", "note,x", rows)
            status, err = vaekit("train", "tabular", "--csv", table, *TINY, "--out", folder / "run")
            refused_or_done(status, err)
            if length > 1000 and status == 0:
                raise Escape(f"a cell of {length:,} characters was taken as a level")

        return run

    return [example(n, w) for n in (1_001, 100_000, 20_000_000) for w in ("first", "last", "quoted")]


LEVEL_SETS = (
    ("00501", "02139", "10001"),
    ("1.50", "1e3", "0.10", "-0"),
    ("007", "1E+03", "+5", "12.0"),
)


def numeric_looking_levels(work: Path) -> list[Callable[[], None]]:
    """sample, impute (point and --draws) and score on runs whose categorical levels look like numbers."""
    import numpy as np

    examples: list[Callable[[], None]] = []
    for number, levels in enumerate(LEVEL_SETS):
        folder = work / f"levels{number}"
        run_dir = folder / "run"

        def train(folder: Path = folder, levels: tuple[str, ...] = levels, number: int = number) -> None:
            folder.mkdir()
            rng = np.random.default_rng(number)
            rows = [f"{rng.choice(levels)},{rng.normal():.3f}" for _ in range(60)]
            write_rows(folder / "t.csv", "code,x", rows)
            (folder / "schema.json").write_text(json.dumps({"code": "categorical"}))
            argv = ["--csv", folder / "t.csv", "--schema", folder / "schema.json", *TINY]
            status, err = vaekit("train", "tabular", *argv, "--out", folder / "run")
            if status != 0:
                raise Escape(f"training on levels {levels} failed: {err.strip()[-300:]}")

        def sample(folder: Path = folder, levels: tuple[str, ...] = levels, run_dir: Path = run_dir) -> None:
            status, err = vaekit("sample", run_dir, "--n", "200", "--out", folder / "s.csv")
            if status != 0:
                raise Escape(f"sample: {err.strip()[-300:]}")
            wrong = set(read_text_table(folder / "s.csv")["code"]) - set(levels)
            if wrong:
                raise Escape(f"sample wrote levels {sorted(wrong)} for {levels}")

        def impute(
            folder: Path = folder, levels: tuple[str, ...] = levels, run_dir: Path = run_dir, draws: int = 1
        ) -> None:
            holes = write_rows(
                folder / "holes.csv", "code,x", [",0.5", f"{levels[0]},", ",-1", f"{levels[-1]},"]
            )
            out = folder / f"i{draws}.csv"
            status, err = vaekit("impute", run_dir, "--csv", holes, "--out", out, "--draws", draws)
            if status != 0:
                raise Escape(f"impute: {err.strip()[-300:]}")
            imputed = read_text_table(out)
            wrong = set(imputed["code"]) - set(levels)
            kept = list(imputed["code"][1::4]) + list(imputed["code"][3::4])
            if wrong or kept != [levels[0]] * draws + [levels[-1]] * draws:
                raise Escape(f"impute wrote {list(imputed['code'])} for levels {levels}")
            status, err = vaekit(
                "score", run_dir, "--csv", out, "--out", folder / f"sc{draws}.csv", "--iw-samples", 2
            )
            if status != 0 and draws == 1:
                raise Escape(f"score refused the imputed file: {err.strip()[-300:]}")

        examples += [train, sample, impute, lambda f=folder, lv=levels, r=run_dir: impute(f, lv, r, draws=3)]
    return examples


def huge_values(work: Path) -> list[Callable[[], None]]:
    """Real columns of spread 1e16 to 1e30, whole numbers near 1e30, one extreme value in a normal column."""
    import numpy as np

    rng = np.random.default_rng(0)
    columns = {
        "spread1e20": rng.normal(size=40) * 1e20,
        "spread1e16": rng.normal(size=40) * 1e16,
        "negative1e30": -np.abs(rng.normal(size=40)) * 1e30,
        "whole1e30": rng.choice([1.0, 2.0, 3.0], 40) * 1e30,
        "whole1e18": rng.integers(1, 4, 40) * 10**18,
        "one1e300": np.r_[rng.normal(size=39), 1e300],
    }

    def example(name: str, values: Any) -> Callable[[], None]:
        def run() -> None:
            import pandas as pd

            folder = work / f"huge_{name}"
            folder.mkdir()
            pd.DataFrame({name: values, "x": rng.normal(size=40)}).to_csv(folder / "t.csv", index=False)
            status, err = vaekit(
                "train", "tabular", "--csv", folder / "t.csv", *TINY, "--out", folder / "run"
            )
            refused_or_done(status, err)
            if status == 2 and name not in err:
                raise Escape(f"the refusal does not name the column: {err.strip()}")
            if status == 0:
                status, err = vaekit("evaluate", folder / "run", "--iw-samples", 2, "--no-progress")
                refused_or_done(status, err)

        return run

    return [example(name, values) for name, values in columns.items()]


def timezone_stamps(work: Path) -> list[Callable[[], None]]:
    """Sequence CSVs whose time stamps cross a change of daylight saving time, or mix naive and aware."""
    spring = ["2023-03-26T01:00:00+01:00", "2023-03-26T03:00:00+02:00", "2023-03-26T04:00:00+02:00"]
    autumn = ["2023-10-29T02:30:00+02:00", "2023-10-29T02:10:00+01:00", "2023-10-29T02:20:00+01:00"]
    mixed = ["2023-03-26T01:00:00", "2023-03-26T03:00:00+02:00", "2023-03-26T04:00:00Z"]
    zulu_and_offsets = ["2023-10-29T00:30:00Z", "2023-10-29T02:10:00+01:00", "2023-10-29T03:20:00+01:00"]
    spaces = ["2023-03-26 01:00:00+01:00", "2023-03-26 03:00:00+0200", "2023-03-26 04:00:00 +02:00"]
    per_sequence = None  # one sequence naive, the next aware

    def example(name: str, stamps: list[str] | None) -> Callable[[], None]:
        def run() -> None:
            folder = work / f"tz_{name}"
            folder.mkdir()
            rows = []
            for i in range(8):
                these = stamps or (spring if i % 2 else [s[:19] for s in spring])
                # The rows of a sequence in reverse order: the steps are ordered by their instants.
                rows += [f"s{i},{t},{i + k * 0.5}" for k, t in reversed(list(enumerate(these)))]
            table = write_rows(folder / "tz.csv", "id,t,x", rows)
            argv = ["train", "sequence", "--csv", table, "--id", "id", "--time", "t", *TINY]
            status, err = vaekit(*argv, "--out", folder / "run")
            refused_or_done(status, err)
            if status == 0:
                status, err = vaekit("score", folder / "run", "--csv", table, "--out", folder / "sc.csv")
                if status != 0:
                    raise Escape(f"score refused the table the run was trained on: {err.strip()[-300:]}")
                steps = set(read_text_table(folder / "sc.csv")["steps"])
                if steps != {"3"}:
                    raise Escape(f"score counted steps {steps}, not 3")

        return run

    stamps = {
        "spring": spring,
        "autumn": autumn,
        "mixed": mixed,
        "zulu": zulu_and_offsets,
        "spaces": spaces,
        "naive_then_aware": per_sequence,
    }
    return [example(name, values) for name, values in stamps.items()]


def colliding_names(work: Path) -> list[Callable[[], None]]:
    """An id column named like a score column; an ``imputation`` column under ``impute --draws``."""
    import numpy as np

    def sequence(id_name: str) -> Callable[[], None]:
        def run() -> None:
            folder = work / f"collide_{id_name}"
            folder.mkdir()
            rows = [f"q{i},{k},{i + k * 0.5}" for i in range(8) for k in range(3)]
            table = write_rows(folder / "s.csv", f"{id_name},t,x", rows)
            argv = ["train", "sequence", "--csv", table, "--id", id_name, "--time", "t", *TINY]
            status, err = vaekit(*argv, "--out", folder / "run")
            refused_or_done(status, err)
            if status != 0:
                return
            status, err = vaekit("score", folder / "run", "--csv", table, "--out", folder / "sc.csv")
            refused_or_done(status, err)
            if status == 0:
                scores = read_text_table(folder / "sc.csv")
                if list(scores[id_name]) != [f"q{i}" for i in range(8)]:
                    raise Escape(f"score replaced the id column {id_name!r}: {list(scores[id_name])[:3]}")

        return run

    def tabular() -> None:
        folder = work / "collide_imputation"
        folder.mkdir()
        rng = np.random.default_rng(0)
        rows = [f"{rng.choice(['a', 'b'])},{rng.normal():.3f}" for _ in range(60)]
        write_rows(folder / "t.csv", "imputation,x", rows)
        status, err = vaekit("train", "tabular", "--csv", folder / "t.csv", *TINY, "--out", folder / "run")
        if status != 0:
            raise Escape(f"training: {err.strip()[-300:]}")
        holes = write_rows(folder / "holes.csv", "imputation,x", ["a,", "b,", ",0.5"])
        status, err = vaekit(
            "impute", folder / "run", "--csv", holes, "--out", folder / "i.csv", "--draws", 3
        )
        refused_or_done(status, err)
        if status == 0:
            imputed = read_text_table(folder / "i.csv")
            if (
                list(imputed["imputation"][0::3]) != ["a"] * 3
                or list(imputed["imputation"][1::3]) != ["b"] * 3
            ):
                raise Escape(
                    f"impute --draws replaced the user's imputation column: {list(imputed['imputation'])}"
                )

    return [sequence(name) for name in ("log_likelihood", "steps", "log_likelihood_per_step", "row")] + [
        tabular
    ]


def force_folders(work: Path) -> list[Callable[[], None]]:
    """``--force`` on folders that hold the command's inputs, or files vaekit did not write."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = [f"{rng.choice(['a', 'b'])},{rng.normal():.3f}" for _ in range(60)]
    base = work / "force"

    def train_base() -> None:
        base.mkdir()
        write_rows(base / "t.csv", "c,x", rows)
        status, err = vaekit("train", "tabular", "--csv", base / "t.csv", *TINY, "--out", base / "run")
        if status != 0:
            raise Escape(f"training: {err.strip()[-300:]}")

    def input_inside(where: str, flag: str = "--csv") -> Callable[[], None]:
        def run() -> None:
            target = base / "run" / where
            target.parent.mkdir(parents=True, exist_ok=True)
            write_rows(target, "c,x", rows)
            before = digest(target)
            argv = ["train", "tabular", flag, target, *TINY, "--out", base / "run", "--force"]
            status, err = vaekit(*argv)
            if not target.exists() or digest(target) != before:
                raise Escape(f"--force lost or changed the input {where}")
            if status != 2:
                raise Escape(
                    f"--force on a run folder holding the input {where} was not refused (exit {status})"
                )
            refused_or_done(status, err)
            if not (base / "run" / "config.json").exists():
                raise Escape("the refused --force lost the previous run")

        return run

    def schema_inside() -> None:
        schema = base / "run" / "schema.json"
        schema.write_text(json.dumps({"c": "categorical"}))
        before = digest(schema)
        argv = ["--csv", base / "t.csv", "--schema", schema, *TINY, "--out", base / "run", "--force"]
        status, err = vaekit("train", "tabular", *argv)
        if not schema.exists() or digest(schema) != before or status != 2:
            raise Escape(
                f"--force with a schema inside the run folder: exit {status}, kept {schema.exists()}"
            )
        refused_or_done(status, err)

    def parquet_inside() -> None:
        import pandas as pd

        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return
        folder = base / "run" / "pq"
        folder.mkdir()
        frame = read_text_table(base / "t.csv").assign(x=lambda t: t["x"].astype(float))
        frame.to_parquet(folder / "part-0.parquet")
        before = digest(folder / "part-0.parquet")
        status, err = vaekit("train", "tabular", "--parquet", folder, *TINY, "--out", base / "run", "--force")
        if not (folder / "part-0.parquet").exists() or digest(folder / "part-0.parquet") != before:
            raise Escape("--force lost the Parquet folder inside the run folder")
        if status != 2:
            raise Escape(f"--force on a run folder holding the Parquet input was not refused (exit {status})")
        refused_or_done(status, err)
        del pd

    def not_a_run() -> None:
        folder = work / "thesis"
        (folder / "src").mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        (folder / "report.md").write_text("# mine\n")
        (folder / "src" / "thesis.tex").write_text("x\n")
        status, err = vaekit("train", "tabular", "--csv", base / "t.csv", *TINY, "--out", folder, "--force")
        refused_or_done(status, err)
        if not (folder / "src" / "thesis.tex").exists():
            raise Escape("--force removed a file vaekit did not write")

    def score_over_input() -> None:
        table = base / "t.csv"
        before = digest(table)
        for command in ("score", "impute"):
            status, err = vaekit(command, base / "run", "--csv", table, "--out", table)
            if digest(table) != before or status != 2:
                raise Escape(
                    f"{command} --out equal to --csv: exit {status}, input kept {digest(table) == before}"
                )

    def resume_with_input_inside() -> None:
        status, err = vaekit("train", "tabular", "--resume", base / "run", "--epochs", "2", "--no-progress")
        refused_or_done(status, err)
        if not (base / "run" / "nested" / "deep" / "t.csv").exists():
            raise Escape("--resume lost a file in the run folder")

    return [
        train_base,
        input_inside("t.csv"),
        input_inside("nested/deep/t.csv"),
        input_inside("checkpoints/t.csv"),
        schema_inside,
        parquet_inside,
        not_a_run,
        score_over_input,
        resume_with_input_inside,
    ]


FAMILIES = {
    "huge text cells": huge_cells,
    "numeric-looking levels": numeric_looking_levels,
    "huge values": huge_values,
    "time zones in sequences": timezone_stamps,
    "colliding column names": colliding_names,
    "--force on folders holding inputs": force_folders,
}


def families() -> int:
    """Run every family's examples; print examples and escapes per family; non-zero if any escaped."""
    import warnings

    warnings.simplefilter("ignore")  # the commands' own warnings are part of their output, not findings
    started = time.perf_counter()
    print(f"\n{'family':<36} {'examples':>9} {'escaped':>8}")
    escapes: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, make in FAMILIES.items():
            work = Path(scratch) / name.replace(" ", "_").replace("-", "")
            work.mkdir()
            examples = make(work)
            escaped = 0
            for example in examples:
                try:
                    example()
                except Escape as escape:
                    escaped += 1
                    escapes.append(f"{name}: {escape}")
            print(f"{name:<36} {len(examples):>9} {escaped:>8}", flush=True)
    print(f"{sum(1 for _ in escapes)} escaped in {time.perf_counter() - started:.0f} s")
    for line in escapes:
        print("  escaped:", line[:500])
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
