"""Every command with wrong arguments: each must end in a one-line message, never an internal error.

Runs ``vaekit`` in this process (one import of torch for all cases) on about 200 wrong command lines:
each ``train`` model (vae, ssvae, tabular, sequence), ``sample``, ``score``, ``impute``,
``evaluate``, ``graph`` and ``demo`` with missing files, folders given as files and files as
folders, bad numbers (negative, zero, huge, text, nan), unknown choices and flags, run folders that
are not runs (empty, a broken or wrong-shaped ``config.json``, a truncated model, a run of another
kind), and outputs that cannot be written. It first trains three tiny runs (tabular, sequence, image;
one epoch) to point the commands at. Every case's command line, exit status, stdout and stderr go to
``OUTPUT`` (default ``wrong_arguments.log``); the script prints the cases tried, how many ended in
a refusal (exit 2), how many completed (exit 0), and the count of lines with "internal error" or
"Traceback" (the target is 0), then exits non-zero if any.

    python benchmarks/wrong_arguments.py [OUTPUT]
    grep -c "internal error" wrong_arguments.log      # 0

The process's address space is capped (12 GiB) so that a huge number that allocates fails here
rather than on the machine; such a failure is an internal error and counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

TINY = ["--epochs", "1", "--hidden", "8", "--z-dim", "2", "--no-progress"]
NUMBERS = ["0", "-1", "-3", "1e999", "nan", "inf", "abc", "", "99999999999999999999"]


def run(argv: list[str], log: io.TextIOBase) -> tuple[int, str]:
    from vaekit.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("default")
            status = main(argv)
    except SystemExit as stop:  # argparse's refusals
        status = stop.code if isinstance(stop.code, int) else 2
    except BaseException:  # noqa: BLE001 - an escape from main() is the finding
        status = -1
        err.write(traceback.format_exc())
    text = err.getvalue()
    log.write(f"$ vaekit {' '.join(repr(a) if (not a or ' ' in a) else a for a in argv)}\n")
    log.write(f"exit {status}\n{out.getvalue()[-2000:]}{text[-4000:]}\n")
    log.flush()
    return status, text


def main() -> int:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "wrong_arguments.log").resolve()
    limit = 12 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(tempfile.mkdtemp(prefix="vaekit-wrong-"))
    os.chdir(work)
    statuses: list[int] = []
    with output.open("w") as log:

        def case(*argv: object) -> None:
            # A fresh --out per case (o_...), so that a case that trains does not refuse the next.
            texts = [f"{a}_{len(statuses)}" if str(a).startswith("o_") else str(a) for a in argv]
            status, _ = run(texts, log)
            statuses.append(status)

        # Inputs and three tiny runs to point the commands at.
        Path("t.csv").write_text("c,x\n" + "".join(f"{'ab'[k % 2]},{k / 7:.3f}\n" for k in range(60)))
        Path("s.csv").write_text(
            "id,t,x\n" + "".join(f"s{i},{k},{i + k / 2}\n" for i in range(8) for k in range(3))
        )
        Path("empty.csv").write_text("")
        Path("garbage.csv").write_bytes(bytes(range(256)) * 4)
        Path("folder").mkdir()
        Path("notarun").mkdir()
        Path("file.txt").write_text("x\n")
        Path("schema_bad.json").write_text("{not json")
        Path("schema_shape.json").write_text("[1, 2]")
        Path("schema_kind.json").write_text(json.dumps({"x": "quaternion"}))
        Path("holes.csv").write_text("c,x\n,0.5\na,\n")
        Path("wrongcols.csv").write_text("p,q\n1,2\n")
        for model, argv in (
            ("tabular", ["--csv", "t.csv"]),
            ("sequence", ["--csv", "s.csv", "--id", "id", "--time", "t"]),
            ("vae", []),
        ):
            status, text = run(
                ["train", model, *argv, *TINY, "--iw-samples", "2", "--out", f"run_{model}"], log
            )
            if status != 0:
                print(f"could not train the {model} run:\n{text}")
                return 1
        broken = {
            "run_badjson": "{not json",
            "run_shape": "[1, 2, 3]",
            "run_keys": json.dumps({"model": 3, "model_config": "x"}),
        }
        for name, text in broken.items():
            shutil.copytree("run_tabular", name)
            (Path(name) / "config.json").write_text(text)
        shutil.copytree("run_tabular", "run_truncated")
        for path in Path("run_truncated").iterdir():
            if path.suffix in (".pt", ".ckpt", ".pth") and path.is_file():
                path.write_bytes(path.read_bytes()[:100])
        runs_wrong = ["missing_run", "file.txt", "notarun", *broken, "run_truncated"]

        # train: the flags every model shares.
        sources = {
            "vae": [],
            "ssvae": ["--labels", "50"],
            "tabular": ["--csv", "t.csv"],
            "sequence": ["--csv", "s.csv", "--id", "id", "--time", "t"],
        }
        for model, source in sources.items():
            base = ["train", model, *source, *TINY]
            for flag in ("--epochs", "--batch-size", "--lr", "--val-fraction", "--z-dim", "--hidden"):
                # A huge number of epochs is no wrong argument: it would train for ever.
                for value in NUMBERS[:-1] if flag == "--epochs" else NUMBERS:
                    case(*base, flag, value, "--out", f"o_{model}")
            for flag, values in {
                "--seed": ["-1", "2**70", "4294967296", "x"],
                "--weight-decay": ["-1", "nan", "x"],
                "--num-particles": ["0", "-2", "x"],
                "--early-stopping": ["0", "-1"],
                "--accelerator": ["tpu9", "", "gpu"],
                "--devices": ["-3", "0", "abc"],  # not 99: Lightning would start 99 processes
                "--strategy": ["foo", "ddp_spawn_x"],
                "--num-nodes": ["0", "-1"],
                "--objective": ["foo"],
                "--keep": ["worst"],
                "--lr-schedule": ["zigzag"],
            }.items():
                for value in values:
                    case(*base, flag, value, "--out", f"o_{model}")
            case(*base)  # no --out
            case(*base, "--out", "file.txt")
            case(*base, "--out", "/proc/vaekit-cannot")
            case(*base, "--out", f"run_{model if model != 'ssvae' else 'vae'}")  # exists, no --force
            case(*base, "--out", "file.txt", "--force")
            case(*base, "--unknown-flag", "--out", f"o_{model}")
            for resume in ("missing_run", "file.txt", "notarun", "run_badjson", "run_shape", "run_keys"):
                case("train", model, "--resume", resume)
            case("train", model, "--resume", f"run_{model if model != 'ssvae' else 'vae'}", "--out", "x")
            case("train", model, "--resume", "run_tabular" if model != "tabular" else "run_sequence")
        for model in ("vae", "ssvae"):
            base = ["train", model, *sources[model], *TINY]
            for data in ("missing_folder", "file.txt", "folder", "mnist", "fashion-mnist", "cifar"):
                case(*base, "--data", data, "--out", "o_img")
            case(*base, "--data", "mnist", "--data-dir", "file.txt", "--out", "o_img")
            case(*base, "--encoder", "transformer", "--out", "o_img")
            case(*base, "--rnn-cell", "rnn", "--out", "o_img")
        for value in ("0", "-5", "1000000000", "x", "5"):
            case("train", "ssvae", *TINY, "--labels", value, "--out", "o_ss")
        for flag in ("--classifier-weight", "--alpha"):
            for value in ("-1", "0", "nan", "x"):
                case("train", "ssvae", *TINY, "--labels", "50", flag, value, "--out", "o_ss")
        tab = ["train", "tabular", *TINY]
        for csv in ("missing.csv", "folder", "empty.csv", "garbage.csv", "file.txt", "/dev/null"):
            case(*tab, "--csv", csv, "--out", "o_tab")
        for schema in ("missing.json", "folder", "schema_bad.json", "schema_shape.json", "schema_kind.json"):
            case(*tab, "--csv", "t.csv", "--schema", schema, "--out", "o_tab")
        for parquet in ("missing_pq", "t.csv", "folder"):
            case(*tab, "--parquet", parquet, "--out", "o_tab")
        case(*tab, "--csv", "t.csv", "--parquet", "folder", "--out", "o_tab")
        case(*tab, "--out", "o_tab")  # no source
        case(*tab, "--dataset", "moon", "--out", "o_tab")
        for flag in ("--k0", "--theta0", "--sigma0", "--rows"):
            for value in ("0", "-1", "x"):
                case(*tab, "--dataset", "seed", flag, value, "--out", "o_tab")
        for flag in ("--sample-rows", "--buffer-rows", "--chunk-rows", "--eval-rows", "--loader-workers"):
            for value in ("0", "-1", "x"):
                case(*tab, "--csv", "t.csv", flag, value, "--out", "o_tab")
        seq = ["train", "sequence", *TINY]
        for argv in (
            ["--csv", "missing.csv", "--id", "id", "--time", "t"],
            ["--csv", "folder", "--id", "id", "--time", "t"],
            ["--csv", "s.csv", "--id", "nope", "--time", "t"],
            ["--csv", "s.csv", "--id", "id", "--time", "nope"],
            ["--csv", "s.csv", "--time", "t"],
            ["--csv", "s.csv", "--id", "id"],
            ["--csv", "s.csv", "--id", "id", "--time", "id"],
            ["--csv", "s.csv", "--id", "x", "--time", "t"],
            ["--csv", "t.csv", "--id", "c", "--time", "x"],
            ["--csv", "empty.csv", "--id", "id", "--time", "t"],
            ["--csv", "s.csv", "--id", "id", "--time", "t", "--rnn-cell", "rnn"],
            ["--csv", "s.csv", "--id", "id", "--time", "t", "--rnn-layers", "0"],
        ):
            case(*seq, *argv, "--out", "o_seq")

        # sample, score, impute, evaluate, graph.
        runs = ["run_tabular", "run_sequence", "run_vae"]
        for run_dir in runs_wrong:
            case("sample", run_dir, "--out", "x.csv")
            case("score", run_dir, "--csv", "t.csv", "--out", "x.csv")
            case("impute", run_dir, "--csv", "holes.csv", "--out", "x.csv")
            case("evaluate", run_dir)
            case("graph", run_dir, "--out", "x.svg")
        for run_dir in runs:
            for value in ("0", "-1", "x", "100000000000", "nan"):
                case("sample", run_dir, "--n", value, "--out", f"x_{run_dir}.csv")
            case("sample", run_dir, "--seed", "-1", "--out", "x.csv")
            for out in (
                "folder",
                "missing_dir/x.csv",
                "/proc/x.csv",
                "x.txt",
                f"{run_dir}/config.json",
                "x.png",
            ):
                case("sample", run_dir, "--out", out)
            for csv in ("missing.csv", "folder", "empty.csv", "garbage.csv", "wrongcols.csv"):
                case("score", run_dir, "--csv", csv, "--out", "x.csv")
                case("impute", run_dir, "--csv", csv, "--out", "x.csv")
            for out in ("folder", "/proc/x.csv", "x.txt", "t.csv", f"{run_dir}/metrics.json"):
                case("score", run_dir, "--csv", "t.csv", "--out", out)
                case("impute", run_dir, "--csv", "holes.csv", "--out", out)
            for value in ("0", "-1", "x"):
                case("score", run_dir, "--csv", "t.csv", "--out", "x.csv", "--iw-samples", value)
                case("impute", run_dir, "--csv", "holes.csv", "--out", "x.csv", "--draws", value)
                case("evaluate", run_dir, "--iw-samples", value)
                case("evaluate", run_dir, "--iw-examples", value)
            case("impute", run_dir, "--csv", "holes.csv", "--out", "x.csv", "--draws", "1000000000")
            case("impute", run_dir, "--csv", "holes.csv", "--out", "x.csv", "--seed", "x")
            for out in ("x.txt", "folder", "/proc/x.svg", "missing_dir/x.png", f"{run_dir}/config.json"):
                case("graph", run_dir, "--out", out)
        case("sample", "--out", "x.csv")
        case("score", "run_tabular", "--out", "x.csv")
        case("impute", "run_tabular", "--csv", "holes.csv")

        # demo (only wrong arguments: a right one trains the flagship models).
        for argv in (
            ["--out", "file.txt"],
            ["--out", "run_tabular"],
            ["--out", "/proc/demo"],
            ["--epochs", "0"],
            ["--epochs", "-1"],
            ["--epochs", "x"],
            ["--bogus"],
        ):
            case("demo", *argv, "--no-progress")

        # The command line itself.
        for argv in (
            [],
            ["train"],
            ["train", "gan"],
            ["fit"],
            ["--nonsense"],
            ["sample"],
            ["graph", "run_vae"],
        ):
            case(*argv)

    text = output.read_text()
    internal = sum("internal error" in line for line in text.splitlines())
    tracebacks = sum("Traceback" in line for line in text.splitlines())
    print(
        f"{len(statuses)} cases: {statuses.count(2)} refused (exit 2), {statuses.count(0)} completed (exit 0)"
    )
    print(f"and {len(statuses) - statuses.count(2) - statuses.count(0)} other exits; outputs in {output}")
    print(f'lines with "internal error": {internal}; with "Traceback": {tracebacks}')
    shutil.rmtree(work, ignore_errors=True)
    return 1 if internal or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
