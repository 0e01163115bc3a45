"""Hostile input at scale: the reader properties of ``tests/hostile`` with many more examples.

Runs ``tests/hostile/test_property_inputs.py`` (IDX reader, CSV and Parquet loaders, schema reader on
arbitrary bytes, mutated files and malformed tables) with ``--examples`` examples per property
instead of the test suite's 200, then prints, per property, how many examples ran and how many the
readers loaded or refused. Any example that escaped (an exception other than a VaekitError, a
message of several lines, a hang or an example over the deadline) fails its test, and the script
exits non-zero.

    python benchmarks/hostile_inputs.py --examples 5000

Target (issue 5): no example escapes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = "tests/hostile/test_property_inputs.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per property (5000)")
    parser.add_argument("-k", default=None, help="only the properties whose name matches (pytest -k)")
    args = parser.parse_args()

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
        passing = sum(int(n) for n in re.findall(r"(\d+) passing examples", block))
        failing = sum(int(n) for n in re.findall(r"(\d+) failing examples", block))
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
        print("\nsome examples escaped; pytest's report:\n", result.stdout[-6000:], result.stderr[-2000:])
    else:
        print("none escaped: every example loaded valid data or was refused with a one-line VaekitError")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
