"""The command line on hostile files: a non-zero exit and one line on stderr; a traceback only with --debug.

Every input here fails before training would start (or, for the sweeps, almost always does; a sweep
example that happens to be valid data trains one tiny epoch and must then exit 0).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_property_inputs import CELLS, HOSTILE, SCHEMAS, csv_files, mutate, record, time_limit

from vaekit.cli.main import main
from vaekit.data.idx import write_idx
from vaekit.errors import VaekitError

IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
#: Flags that keep a training run tiny, should a sweep's input turn out to be valid data.
TINY = ["--epochs", "1", "--hidden", "8", "--z-dim", "2", "--iw-samples", "2", "--no-progress", "--force"]
#: The CLI sweeps start the whole command per example: fewer examples than the reader properties.
SWEEP = settings(
    HOSTILE,
    max_examples=max(10, HOSTILE.max_examples // 8),
    # capsys is read (and so emptied) by every example.
    suppress_health_check=[*HOSTILE.suppress_health_check, HealthCheck.function_scoped_fixture],
)


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Exit status and stderr lines of ``vaekit ARGV``."""
    with time_limit():
        status = main([str(arg) for arg in argv])
    return status, capsys.readouterr().err.splitlines()


def assert_refused(status: int, err: list[str], *fragments: str, only_line: bool = True) -> None:
    """Exit 2 and one ``vaekit: error:`` line (the only line, unless progress came before it)."""
    assert status == 2, err
    assert "Traceback" not in "\n".join(err)
    errors = [line for line in err if line.startswith("vaekit: error: ")]
    assert len(errors) == 1 and err[-1] == errors[0], err
    if only_line:
        assert len(err) == 1, err
    for fragment in fragments:
        assert fragment in errors[0]


def assert_debug_shows_the_exception(argv: list[str]) -> None:
    """With --debug the error propagates: Python prints its traceback (a subprocess test checks the text)."""
    with time_limit(), pytest.raises(VaekitError):
        main(["--debug", *[str(arg) for arg in argv]])


# --- IDX folders -----------------------------------------------------------------------------------------


def idx_folder(folder: Path, *, n_train: int = 12, n_test: int = 4, size: int = 4) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [
        rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    ]
    for stem, array in zip(IDX_STEMS, arrays, strict=True):
        write_idx(folder / f"{stem}.gz", array)
    return folder


def replace(folder: Path, stem: str, data: bytes | None) -> None:
    """Put ``data`` (None: an empty folder) in place of the folder's ``stem`` file."""
    (folder / f"{stem}.gz").unlink(missing_ok=True)
    if data is None:
        (folder / stem).mkdir()
    else:
        (folder / stem).write_bytes(data)


def _header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


def _truncated_gzip(folder: Path) -> bytes:
    return (folder / f"{IDX_STEMS[0]}.gz").read_bytes()[:-9]


def _gzip_bomb(folder: Path) -> bytes:
    """4 labels, then 256 MiB of zeros in about 256 KiB of gzip."""
    return gzip.compress(_header(0x08, (4,)) + bytes(4), mtime=0) + gzip.compress(bytes(2**20), mtime=0) * 256


#: case: (which of IDX_STEMS is replaced, its new content or a function of the folder giving it,
#: what the message says)
BAD_IDX: dict[str, tuple[int, Any, str]] = {
    "empty file": (0, b"", "too short"),
    "arbitrary bytes": (0, bytes(range(1, 65)), "bad magic"),
    "truncated gzip": (0, _truncated_gzip, "corrupt gzip"),
    "bad magic": (1, b"\x01\x02\x08\x01" + bytes(16), "bad magic"),
    "label count": (1, _header(0x08, (3,)) + bytes(3), "counts differ"),
    "2-D images": (2, _header(0x08, (4, 16)) + bytes(64), "3-D uint8"),
    "float images": (2, _header(0x0D, (4, 4, 4)) + bytes(256), "3-D uint8"),
    "no test images": (2, _header(0x08, (0, 4, 4)), "holds no images"),
    "huge zero-size shape": (0, _header(0x08, (0, 2**31, 2**31)), "holds no images"),
    "gzip bomb": (3, _gzip_bomb, "trailing bytes"),
    "a folder in place of a file": (0, None, IDX_STEMS[0]),
}


@pytest.mark.parametrize("case", sorted(BAD_IDX))
def test_a_bad_idx_folder_is_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = idx_folder(tmp_path / "idx")
    which, content, fragment = BAD_IDX[case]
    replace(folder, IDX_STEMS[which], content(folder) if callable(content) else content)
    argv = ["train", "vae", "--data", folder, *TINY, "--out", tmp_path / "run"]
    status, err = cli(argv, capsys)
    assert_refused(status, err, fragment)
    assert not (tmp_path / "run").exists()
    assert_debug_shows_the_exception(argv)


@SWEEP
@given(
    stem=st.sampled_from(IDX_STEMS),
    mutations=st.lists(
        # Flips in the first 8 bytes, the header of every IDX file: most such files are refused.
        st.tuples(st.just("flip"), st.integers(0, 7), st.integers(1, 255))
        | st.tuples(st.just("truncate"), st.integers(0, 20))
        | st.tuples(st.just("extend"), st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=3,
    ),
    compress=st.booleans(),
)
def test_cli_sweep_over_hostile_idx_files(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    stem: str,
    mutations: list,
    compress: bool,
) -> None:
    root = tmp_path_factory.mktemp("sweep")
    folder = idx_folder(root / "idx")
    clean = gzip.decompress((folder / f"{stem}.gz").read_bytes())
    data = mutate(clean, mutations)
    replace(folder, stem, gzip.compress(data, mtime=0) if compress else data)
    status, err = cli(
        ["train", "vae", "--data", folder, *TINY, "--iw-examples", "2", "--out", root / "run"], capsys
    )
    record(f"exit {status}")
    if status != 0:
        assert_refused(status, err, only_line=False)


# --- tables and schema files ------------------------------------------------------------------------------

BAD_CSV = {
    "empty": (b"", "is empty"),
    "header only": (b"a,b\n", "no rows"),
    "ragged": (b"a,b\n1,2,3\n4,5\n6,7\n", "line 2 has 3 cells"),
    "text in numbers": (b"x\n" + b"1\n" * 20 + b"oops\n", "'oops'"),
    "infinity": (b"x,y\n1,inf\n2,3\n4,5\n", "infinite"),
    "huge": (b"x,y\n1,1e300\n2,3\n4,5\n", "too large for 32-bit floats"),
    "latin-1": ("x,y\nr\u00e9el,1\nb,2\n".encode("latin-1"), "not UTF-8"),
    "utf-16": ("x,y\n1,2\n3,4\n".encode("utf-16-le"), "NUL byte"),
    "repeated names": (b"x,y,x\n1,2,3\n4,5,6\n", "repeats these column names: x"),
    "a BOM hides a repeat": ("\ufeffage,age\n1,2\n3,4\n".encode(), "repeats these column names: age"),
    "unclosed quote": (b'x,y\n"1,2\n3,4\n', "cannot parse"),
    "binary": (bytes(range(256)) * 4, "NUL byte"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_a_bad_csv_is_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, fragment = BAD_CSV[case]
    (tmp_path / "table.csv").write_bytes(content)
    argv = ["train", "tabular", "--csv", tmp_path / "table.csv", *TINY, "--out", tmp_path / "run"]
    status, err = cli(argv, capsys)
    assert_refused(status, err, fragment)
    assert_debug_shows_the_exception(argv)


BAD_SCHEMAS = {
    "schema.json": (b'{"x": ', "cannot parse"),
    "schema.yaml": (b"x: {kind: count, 1: odd, null: odder}\n", "unknown keys"),
    "schema.yml": (b'!!python/object/apply:os.system ["echo hostile"]\n', "cannot parse"),
    "schema.toml": (b"x = {kind = 1979-05-27T07:32:00Z}\n", "must be text"),
    "schema.txt": (b"x: count\n", "must end in"),
    "latin.yaml": ("x: r\u00e9el\n".encode("latin-1"), "not UTF-8"),
    "kinds.json": (b'{"x1": "colour"}', "unknown kind 'colour'"),
    "lacks.json": (b'{"nope": "count"}', "lacks: nope"),
}


@pytest.mark.parametrize("name", sorted(BAD_SCHEMAS))
def test_a_bad_schema_is_one_line(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, fragment = BAD_SCHEMAS[name]
    (tmp_path / name).write_bytes(content)
    argv = ["train", "tabular", "--dataset", "seed", "--rows", "20", "--schema", tmp_path / name]
    status, err = cli([*argv, *TINY, "--out", tmp_path / "run"], capsys)
    assert_refused(status, err, fragment)
    assert not (tmp_path / "run").exists()


@SWEEP
@given(structure=SCHEMAS, form=st.sampled_from(["json", "yaml"]), raw=st.none() | st.binary(max_size=64))
def test_cli_sweep_over_hostile_schema_files(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    structure: Any,
    form: str,
    raw: Any,
) -> None:
    import yaml

    root = tmp_path_factory.mktemp("schema")
    schema = root / f"schema.{form}"
    if raw is not None:
        schema.write_bytes(raw)
    else:
        schema.write_text(json.dumps(structure) if form == "json" else yaml.safe_dump(structure))
    # A table refused on reading: a valid schema still ends in a one-line error, never in training.
    (root / "table.csv").write_text("x1,x2\n")
    status, err = cli(
        ["train", "tabular", "--csv", root / "table.csv", "--schema", schema, *TINY, "--out", root / "run"],
        capsys,
    )
    assert_refused(status, err)
    record("schema refused" if "schema" in err[0] else "table refused")


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tabular")
    rng = np.random.default_rng(0)
    lines = ["x,n,c"] + [f"{rng.normal():.3f},{rng.integers(0, 5)},{'abc'[i % 3]}" for i in range(40)]
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    run = root / "run"
    assert main(["train", "tabular", "--csv", str(root / "train.csv"), *TINY, "--out", str(run)]) == 0
    return run


@st.composite
def tables_for_the_run(draw: st.DrawFn) -> bytes:
    """Well-formed CSV with the run's columns (now and then one missing, repeated or extra) and cells
    that mostly fit their column, so that some tables are scored, with a hostile cell now and then."""
    header = draw(st.permutations(["x", "n", "c"]))
    header = header[: draw(st.sampled_from([3, 3, 3, 2]))] + draw(
        st.lists(st.sampled_from(["x", "extra"]), max_size=1)
    )
    fitting = {
        "x": st.floats(-3, 3).map(lambda v: f"{v:.3f}"),
        "n": st.integers(0, 4).map(str),
        "c": st.sampled_from(["a", "b", "c", ""]),
        "extra": CELLS,
    }
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        hostile = draw(st.integers(0, 2 * len(header))) if draw(st.booleans()) else -1
        rows.append([draw(CELLS if j == hostile else fitting[name]) for j, name in enumerate(header)])
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    return text.getvalue().encode()


@SWEEP
@given(data=csv_files() | tables_for_the_run())
def test_cli_sweep_scores_hostile_tables(
    tabular_run: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    data: bytes,
) -> None:
    """Any table against a trained model: scored (exit 0) or refused in one line (exit 2)."""
    capsys.readouterr()
    root = tmp_path_factory.mktemp("score")
    (root / "table.csv").write_bytes(data)
    status, err = cli(
        [
            "score",
            tabular_run,
            "--csv",
            root / "table.csv",
            "--out",
            root / "scores.csv",
            "--iw-samples",
            "2",
            "--no-progress",
        ],
        capsys,
    )
    record(f"exit {status}")
    if status != 0:
        assert_refused(status, err)


def test_score_refuses_a_table_with_levels_it_never_saw(
    tabular_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "table.csv").write_text("x,n,c\n0.5,1,zzz\n")
    capsys.readouterr()
    status, err = cli(
        ["score", tabular_run, "--csv", tmp_path / "table.csv", "--out", tmp_path / "s.csv"], capsys
    )
    assert_refused(status, err, "'zzz'", "never seen in training")


# --- wrong arguments: one line, never "internal error" ----------------------------------------------------

WRONG_ARGUMENTS = {
    "missing csv": (["--csv", "{tmp}/nope.csv"], "--csv {tmp}/nope.csv: no such file"),
    "csv is a folder": (["--csv", "{tmp}"], "is a folder; name a file"),
    "missing schema": (["--csv", "{table}", "--schema", "{tmp}/nope.json"], "--schema"),
    "missing parquet": (["--parquet", "{tmp}/nope"], "no such file or folder"),
    "accelerator": (["--csv", "{table}", "--accelerator", "tpu9"], "cannot set up training"),
    "strategy": (["--csv", "{table}", "--strategy", "foo"], "cannot set up training"),
    "devices": (["--csv", "{table}", "--devices", "-3"], "cannot set up training"),
}


@pytest.mark.parametrize("case", sorted(WRONG_ARGUMENTS))
def test_wrong_training_arguments_are_one_line(case: str, tmp_path: Path, capsys) -> None:
    table = tmp_path / "table.csv"
    table.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    given, fragment = WRONG_ARGUMENTS[case]
    given = [arg.format(tmp=tmp_path, table=table) for arg in given]
    status, err = cli(["train", "tabular", *given, *TINY, "--out", tmp_path / "run"], capsys)
    assert_refused(status, err, fragment.format(tmp=tmp_path), only_line=False)
    assert not (tmp_path / "run").exists()  # a failed start leaves nothing
