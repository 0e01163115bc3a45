"""Hostile input for the readers: arbitrary bytes, mutated IDX files, malformed tables, odd schema files.

The property, for every reader: the call either returns valid data or raises a :class:`VaekitError`
whose message is one non-empty line naming the file; any other exception fails the test, and so does
a call that runs past its time limit (a hang) or past the hypothesis deadline (a pathological slowdown).

``VAEKIT_HOSTILE_EXAMPLES`` sets the examples per test (default 200); ``benchmarks/hostile_inputs.py``
runs this module with many more and prints how many each test tried.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import gzip
import importlib.util
import io
import json
import math
import os
import re
import signal
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from vaekit.data.idx import read_idx, write_idx
from vaekit.data.tabular import encode_table, fit_schema, infer_schema, read_schema_file, read_table
from vaekit.errors import VaekitError
from vaekit.schema import FAMILIES, KINDS, ColumnSpec

EXAMPLES = int(os.environ.get("VAEKIT_HOSTILE_EXAMPLES", "200"))
#: A hard limit per example: a reader that hangs is interrupted and the test fails.
TIME_LIMIT_S = 20.0
HOSTILE = settings(
    max_examples=EXAMPLES,
    # Generous for a loaded 2-core machine, yet a reader gone quadratic on a few hundred bytes fails.
    deadline=datetime.timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hang(Exception):  # noqa: N818 - not a VaekitError on purpose: a hang fails the property
    """A reader ran past :data:`TIME_LIMIT_S`."""


@contextlib.contextmanager
def time_limit(seconds: float = TIME_LIMIT_S) -> Iterator[None]:
    def interrupt(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def attempt(call: Callable[..., Any], *args: Any, names: Path | None = None) -> Any:
    """``call(*args)``, or None when it refused the input with a proper VaekitError.

    Any other exception propagates and fails the test. ``names``: the file the message must name.
    """
    with time_limit(), warnings.catch_warnings():
        # pandas warns when it drops cells; a reader must refuse such a table instead.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        # numpy warns when a cast overflows, e.g. a huge number squeezed into 32 bits.
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = call(*args)
        except VaekitError as error:
            message = str(error)
            assert message.strip(), f"{type(error).__name__} without a message"
            assert len(message.splitlines()) == 1, f"a message of several lines: {message!r}"
            if names is not None:
                assert names.name in message, f"the message does not name {names.name}: {message!r}"
            # The kind of refusal: the message without paths, quoted values and numbers.
            record(
                f"{call.__name__}: refused: " + re.sub(r"/\S+|'[^']*'|0x[0-9a-fA-F]+|\d+", "", message)[:50]
            )
            return None
    record(f"{call.__name__}: returned")
    return result


def record(what: str) -> None:
    """A hypothesis event (``--hypothesis-show-statistics`` counts them), outside a test a no-op."""
    if currently_in_test_context():
        event(what)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- IDX ---------------------------------------------------------------------------------------------

NATIVE_IDX_DTYPES = {np.dtype(t) for t in ("u1", "i1", "i2", "i4", "f4", "f8")}
IDX_DTYPES = ("u1", "i1", ">i2", "<i2", ">i4", ">f4", "<f4", ">f8")


def check_idx_array(array: Any) -> None:
    assert isinstance(array, np.ndarray)
    assert 1 <= array.ndim <= 4
    assert array.dtype in NATIVE_IDX_DTYPES and array.dtype.isnative
    assert array.flags.writeable and array.flags.c_contiguous
    torch.from_numpy(array)  # what the image loader does next


@st.composite
def idx_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(IDX_DTYPES)))
    shape = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    size = math.prod(shape) * dtype.itemsize
    raw = draw(st.binary(min_size=size, max_size=size))
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def idx_bytes(array: np.ndarray, folder: Path) -> bytes:
    path = folder / "written.idx"
    write_idx(path, array, compress=False)
    return path.read_bytes()


MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**16), st.integers(1, 255)),
    st.tuples(st.just("set"), st.integers(0, 2**16), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**16)),
    st.tuples(st.just("extend"), st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("insert"), st.integers(0, 2**16), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 2**16), st.integers(1, 8)),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buffer = bytearray(data)
    for mutation in mutations:
        kind, n = mutation[0], len(buffer)
        if kind == "flip" and n:
            buffer[mutation[1] % n] ^= mutation[2]
        elif kind == "set" and n:
            buffer[mutation[1] % n] = mutation[2]
        elif kind == "truncate":
            del buffer[mutation[1] % (n + 1) :]
        elif kind == "extend":
            buffer += mutation[1]
        elif kind == "insert":
            at = mutation[1] % (n + 1)
            buffer[at:at] = mutation[2]
        elif kind == "delete" and n:
            at = mutation[1] % n
            del buffer[at : at + mutation[2]]
    return bytes(buffer)


@HOSTILE
@given(data=st.binary(max_size=512), gzip_magic=st.booleans())
@example(data=b"", gzip_magic=False)
@example(data=b"", gzip_magic=True)
@example(data=b"\x00\x00\x08\x01", gzip_magic=False)
def test_idx_reader_on_arbitrary_bytes(workdir: Path, data: bytes, gzip_magic: bool) -> None:
    path = write(workdir, "arbitrary-idx3-ubyte", (b"\x1f\x8b" if gzip_magic else b"") + data)
    array = attempt(read_idx, path, names=path)
    if array is not None:
        check_idx_array(array)


@HOSTILE
@given(
    type_code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]),
    dims=st.lists(
        st.one_of(st.integers(0, 6), st.sampled_from([2**31 - 1, 2**31, 2**32 - 1])), min_size=0, max_size=6
    ),
    ndim_delta=st.sampled_from([0, 0, 0, -1, 1]),
    body=st.binary(max_size=64),
    compress=st.booleans(),
)
@example(type_code=0x08, dims=[2**32 - 1] * 4, ndim_delta=0, body=b"", compress=False)
@example(type_code=0x0E, dims=[2**32 - 1] * 4, ndim_delta=0, body=b"\x00" * 8, compress=True)
@example(type_code=0x08, dims=[0, 28, 28], ndim_delta=0, body=b"", compress=True)
def test_idx_reader_on_hostile_headers(
    workdir: Path, type_code: int, dims: list[int], ndim_delta: int, body: bytes, compress: bool
) -> None:
    ndim = max(0, min(255, len(dims) + ndim_delta))
    data = bytes([0, 0, type_code, ndim]) + np.asarray(dims, dtype=">u4").tobytes() + body
    path = write(workdir, "header-idx1-ubyte", gzip.compress(data) if compress else data)
    array = attempt(read_idx, path, names=path)
    if array is not None:
        check_idx_array(array)
        if ndim == len(dims):  # otherwise the body's first bytes are read as dimensions
            assert list(array.shape) == dims


@HOSTILE
@given(
    array=idx_arrays(),
    mutations=st.lists(MUTATIONS, max_size=3),
    layer=st.sampled_from(["raw", "inside gzip", "gzip stream"]),
)
def test_idx_reader_on_mutated_files(workdir: Path, array: np.ndarray, mutations: list, layer: str) -> None:
    clean = idx_bytes(array, workdir)
    if layer == "raw":
        data = mutate(clean, mutations)
    elif layer == "inside gzip":
        data = gzip.compress(mutate(clean, mutations), mtime=0)
    else:
        data = mutate(gzip.compress(clean, mtime=0), mutations)
    path = write(workdir, "mutated-idx3-ubyte.gz", data)
    loaded = attempt(read_idx, path, names=path)
    if loaded is not None:
        check_idx_array(loaded)
    if not mutations:  # an untouched file reads back exactly
        assert loaded is not None
        assert loaded.shape == array.shape
        assert loaded.tobytes() == array.astype(array.dtype.newbyteorder("=")).tobytes()
    record(f"mutations: {len(mutations)}")


def test_idx_gzip_bomb_is_refused_without_inflating_it(workdir: Path) -> None:
    """A tiny file whose gzip stream inflates to 1 GiB behind a header that announces 1 byte."""
    megabyte = gzip.compress(bytes(2**20), compresslevel=9, mtime=0)  # about 1 KiB
    header = gzip.compress(bytes([0, 0, 0x08, 1]) + np.asarray([1], dtype=">u4").tobytes() + b"\x07", mtime=0)
    path = write(workdir, "bomb-idx1-ubyte.gz", header + megabyte * 1024)  # about 1 MiB on disk
    assert path.stat().st_size < 2 * 2**20
    import tracemalloc

    tracemalloc.start()
    try:
        with time_limit(10), pytest.raises(VaekitError, match="trailing bytes") as refused:
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.name in str(refused.value)
    assert peak < 64 * 2**20, f"inflated {peak / 2**20:.0f} MiB to refuse a file that announces 1 byte"


# --- CSV tables ----------------------------------------------------------------------------------------

#: Text without NUL, which the loader refuses outright (that case has its own examples).
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8)
HEADER_NAMES = st.one_of(
    st.sampled_from(["a", "b", "c", "a ", " a", "", "A", "a.1", "Unnamed: 0", "x\ny", "é", "\ufeffa", "nan"]),
    TEXT,
)
CELLS = st.one_of(
    st.sampled_from(
        [
            *("", " ", "0", "1", "-1", "2", "3", "0.5", "-0", "1.0", "007", "1e3", "1_000", "0x1F"),
            *("1e38", "3.5e38", "-3.5e38", "1e308", "1e309", "-1e400", "1e-50", "1e-320", "9" * 400),
            *("inf", "-inf", "Infinity", "nan", "NaN", "NA", "null", "None", "#N/A"),
            *("true", "False", "TRUE", "yes", "No", "y", "t", "F"),
            *("１２", "٣", "é", "🙂", "a,b", "line\nbreak", '"', '""', "'", "\\", "\x00", "\ufeff", "\r"),
        ]
    ),
    st.integers(-(10**40), 10**40).map(str),
    st.floats().map(repr),
    TEXT,
)
ENCODINGS = ("utf-8",) * 8 + ("utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252")
#: Characters that make CSV-like bytes more often than arbitrary bytes do.
CSV_ALPHABET = ",,,\n\n\r\"' 0123456789.-+eE_xinfaNtrueyso\t;\u00e9\x00\xff"


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(HEADER_NAMES, min_size=1, max_size=4))
    width = len(header)
    ragged = draw(st.booleans())
    row_lengths = st.integers(0, width + 2) if ragged else st.just(width)
    rows = draw(
        st.lists(
            row_lengths.flatmap(lambda n: st.lists(CELLS, min_size=n, max_size=n)), min_size=1, max_size=8
        )
    )
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):  # quoted as a CSV writer would
        text = io.StringIO()
        writer = csv.writer(text, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
        content = text.getvalue()
    else:  # joined naively: stray quotes, commas and newlines in cells break the rows
        content = "".join(",".join(row) + newline for row in [header, *rows])
    if draw(st.booleans()):
        content = content.rstrip("\r\n")
    return content.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


OVERRIDES = st.none() | st.dictionaries(
    st.sampled_from(["a", "b", "c", "A", "a.1"]),
    st.fixed_dictionaries(
        {"kind": st.sampled_from([*KINDS, "junk"])},
        optional={"family": st.sampled_from([*{f for fs in FAMILIES.values() for f in fs}, "junk"])},
    ),
    max_size=3,
)


def check_encoded(table: pd.DataFrame, schema: Any, encoded: Any) -> None:
    values, observed = encoded.values, encoded.observed
    assert values.shape == observed.shape == (len(table), len(schema.columns))
    assert values.dtype == torch.float32 and observed.dtype == torch.bool
    assert torch.isfinite(values).all(), "encoded values must be finite"
    for j, spec in enumerate(schema.columns):
        cells = values[observed[:, j], j]
        if spec.kind in ("binary", "categorical"):
            assert ((cells >= 0) & (cells < len(spec.levels)) & (cells == cells.round())).all()
        elif spec.kind == "positive":
            assert (cells > 0).all(), f"column {spec.name!r}: a positive value encoded as 0 or less"
        elif spec.kind == "count":
            assert ((cells >= 0) & (cells == cells.round())).all()
    assert math.isfinite(sum(spec.center + spec.spread for spec in schema.columns))


def load_and_encode(path: Path, overrides: Any = None) -> None:
    """The training pipeline on one table: read, infer, fit, encode; each step may refuse."""
    table = attempt(read_table, path, names=path)
    if table is None:
        return
    assert isinstance(table, pd.DataFrame) and table.shape[0] > 0
    schema = attempt(infer_schema, table, overrides)
    if schema is None:
        return
    schema = attempt(fit_schema, schema, table)
    if schema is None:
        return
    encoded = attempt(encode_table, schema, table)
    if encoded is not None:
        check_encoded(table, schema, encoded)


@HOSTILE
@given(data=st.binary(max_size=400) | st.text(CSV_ALPHABET, max_size=200).map(str.encode))
@example(data=b"")
@example(data=b"a,b\n")
@example(data=b"\n\n\n")
@example(data=b"a,b\n1,2,3\n4,5\n")
@example(data=b"a\x00,b\n1,2\n")
@example(data="a,b\n1,2\n".encode("utf-16-le"))
@example(data=b"a,b\n1e300,2\n1,3\n")
@example(data=b"a,b\n1e-320,2\n1e-300,3\n")
@example(data=b",\n1,2\n")
def test_csv_loader_on_arbitrary_bytes(workdir: Path, data: bytes) -> None:
    load_and_encode(write(workdir, "arbitrary.csv", data))


@HOSTILE
@given(data=csv_files(), overrides=OVERRIDES)
def test_csv_loader_on_malformed_tables(workdir: Path, data: bytes, overrides: Any) -> None:
    load_and_encode(write(workdir, "malformed.csv", data), overrides)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,b\n1,2,3\n4,5\n", "line 2 has 3 cells but the header names 2 columns"),
        (b"a,b\n1,2\n4,5,,6\n", "line 3, saw 4"),
        (b"a\x00,b\n1,2\n", "NUL byte at offset 1"),
        ("a,b\n1,2\n".encode("utf-16-le"), "NUL byte"),
        (b"a,b\n1,\xe92\n", "not UTF-8"),
        (b",\n1,2\n", "repeats these column names: ''"),
        (
            b"a,b\n1e300,2\n1,3\n",
            "column 'a' holds a value too large for 32-bit floats (beyond 3.4e38) at row 1",
        ),
        (b"a,b\n1e-320,2\n1e-300,3\n", "a value too close to 0 for 32-bit floats (below 1e-45) at row 1"),
    ],
)
def test_bad_tables_found_by_the_properties_are_refused_by_name(workdir: Path, content: bytes, message: str):
    path = write(workdir, "found.csv", content)
    with pytest.raises(VaekitError) as refused:
        table = read_table(path)
        encode_table(fit_schema(infer_schema(table), table), table)
    assert message in str(refused.value)


def test_empty_extra_cells_are_still_accepted(workdir: Path) -> None:
    path = write(workdir, "trailing.csv", b"a,b\n1,2,,\n3,4\n")
    assert read_table(path).to_dict("list") == {"a": ["1", "3"], "b": ["2", "4"]}


# --- Parquet tables ------------------------------------------------------------------------------------

PARQUET_COLUMNS = st.sampled_from(
    ["float", "int", "uint64", "bool", "text", "bytes", "list", "struct", "date", "decimal", "null"]
)


@st.composite
def parquet_tables(draw: st.DrawFn) -> Any:
    import decimal

    import pyarrow as pa

    rows = draw(st.integers(0, 6))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "", "x y"]), min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 4)) == 0:  # a repeated name, which pyarrow can write but not read
        names.append(names[0])

    def cells(strategy: st.SearchStrategy) -> list:
        return draw(st.lists(st.none() | strategy, min_size=rows, max_size=rows))

    columns = []
    for _ in names:
        kind = draw(PARQUET_COLUMNS)
        if kind == "float":
            array = pa.array(cells(st.floats() | st.sampled_from([1e300, -1e300, 1e-320, 0.0])), pa.float64())
        elif kind == "int":
            array = pa.array(cells(st.integers(-(2**63), 2**63 - 1)), pa.int64())
        elif kind == "uint64":
            array = pa.array(cells(st.integers(0, 2**64 - 1)), pa.uint64())
        elif kind == "bool":
            array = pa.array(cells(st.booleans()), pa.bool_())
        elif kind == "text":
            array = pa.array(cells(CELLS), pa.string())
        elif kind == "bytes":
            array = pa.array(cells(st.binary(max_size=4)), pa.binary())
        elif kind == "list":
            array = pa.array(cells(st.lists(st.integers(0, 9), max_size=2)), pa.list_(pa.int64()))
        elif kind == "struct":
            array = pa.array(cells(st.fixed_dictionaries({"x": st.integers(0, 9)})))
        elif kind == "date":
            array = pa.array(cells(st.dates()), pa.date32())
        elif kind == "decimal":
            digits = st.decimals(min_value=-(10**30), max_value=10**30, places=2, allow_nan=False)
            array = pa.array(cells(digits.map(decimal.Decimal)), pa.decimal128(38, 2))
        else:
            array = pa.nulls(rows)
        columns.append(array)
    return pa.Table.from_arrays(columns, names=names)


needs_pyarrow = pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="needs pyarrow")


@needs_pyarrow
@HOSTILE
@given(data=st.binary(max_size=400), magic=st.booleans())
def test_parquet_loader_on_arbitrary_bytes(workdir: Path, data: bytes, magic: bool) -> None:
    pytest.importorskip("pyarrow")
    if magic:
        data = b"PAR1" + data + b"PAR1"
    load_and_encode(write(workdir, "arbitrary.parquet", data))


@needs_pyarrow
@HOSTILE
@given(table=parquet_tables(), overrides=OVERRIDES)
def test_parquet_loader_on_malformed_tables(workdir: Path, table: Any, overrides: Any) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = workdir / "malformed.parquet"
    pq.write_table(table, path)
    load_and_encode(path, overrides)


# --- schema files --------------------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)
NEAR_VALID_ENTRIES = st.one_of(
    st.sampled_from([*KINDS, "junk", ""]),
    st.fixed_dictionaries(
        {"kind": st.sampled_from([*KINDS, "junk"]) | SCALARS},
        optional={
            "family": st.sampled_from(["normal", "gamma", "poisson", "junk"]) | SCALARS,
            "levels": STRUCTURES,
        },
    ),
    STRUCTURES,
)
SCHEMAS = st.one_of(
    STRUCTURES,
    st.dictionaries(st.text(max_size=6), NEAR_VALID_ENTRIES, max_size=4),
    st.dictionaries(st.text(max_size=6), NEAR_VALID_ENTRIES, max_size=4).map(lambda c: {"columns": c}),
)
#: Characters that make JSON-, YAML- and TOML-like bytes more often than arbitrary bytes do.
SCHEMA_ALPHABET = "{}[]:,=\"'\n\n  -#&*!|>?.0123456789abcdfikmnorstuxy\\\t\u00e9\x00"
YAML_KEYS = st.one_of(
    st.text(max_size=6), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False)
)


def toml_value(value: Any) -> str:
    """``value`` as a TOML inline value (None, which TOML lacks, becomes an empty array)."""
    if value is None:
        return "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return (
        "{"
        + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
        + "}"
    )


def toml_document(value: Any) -> str:
    if not isinstance(value, dict):
        value = {"value": value}
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in value.items())


def check_overrides(overrides: Any) -> None:
    assert isinstance(overrides, dict) and overrides
    for name, entry in overrides.items():
        assert isinstance(name, str) and isinstance(entry, dict)
        assert "kind" in entry and set(entry) <= {"kind", "family", "min", "max", "decimals", "levels"}
        assert isinstance(entry["kind"], str) and isinstance(entry.get("family", ""), str)
        # Declared ranges are finite numbers, decimals whole, levels text (issue 16).
        assert all(
            isinstance(entry[key], float) and math.isfinite(entry[key]) for key in {"min", "max"} & set(entry)
        )
        assert isinstance(entry.get("decimals", 0), int)
        assert all(isinstance(level, str) for level in entry.get("levels", []))
        # What infer_schema makes of an entry: a column spec or a clear refusal.
        attempt(ColumnSpec, name, entry["kind"], entry.get("family", ""))


@HOSTILE
@given(
    data=st.binary(max_size=300) | st.text(SCHEMA_ALPHABET, max_size=120).map(str.encode),
    suffix=st.sampled_from([".json", ".yaml", ".yml", ".toml", ".txt", ""]),
)
@example(data=b"\xff\xfe", suffix=".yaml")
@example(data=b"\xef\xbb\xbf{}", suffix=".json")
@example(data=b"\xe9", suffix=".json")
@example(data=b"a: {kind: count, 1: x, null: y}\n", suffix=".yaml")
@example(data=b'!!python/object/apply:os.system ["echo hostile"]\n', suffix=".yaml")
@example(data=b"[" * 100_000, suffix=".json")
@example(data=b"[" * 100_000, suffix=".yaml")
@example(data=b"a = {kind = 1979-05-27T07:32:00Z}\n", suffix=".toml")
def test_schema_reader_on_arbitrary_bytes(workdir: Path, data: bytes, suffix: str) -> None:
    path = write(workdir, "schema" + suffix, data)
    overrides = attempt(read_schema_file, path, names=path)
    if overrides is not None:
        check_overrides(overrides)


@HOSTILE
@given(
    structure=SCHEMAS,
    form=st.sampled_from(["json", "yaml", "toml"]),
    yaml_keys=st.dictionaries(YAML_KEYS, NEAR_VALID_ENTRIES, max_size=3),
)
def test_schema_reader_on_arbitrary_structures(
    workdir: Path, structure: Any, form: str, yaml_keys: dict
) -> None:
    if form == "json":
        path = write(workdir, "structure.json", json.dumps(structure).encode())
    elif form == "yaml":
        if isinstance(structure, dict):  # YAML keys need not be text
            structure = {**structure, **yaml_keys}
        path = write(workdir, "structure.yaml", yaml.safe_dump(structure, allow_unicode=True).encode())
    else:
        path = write(workdir, "structure.toml", toml_document(structure).encode())
    overrides = attempt(read_schema_file, path, names=path)
    if overrides is not None:
        check_overrides(overrides)


def test_schema_reader_refuses_a_yaml_alias_bomb_at_once(workdir: Path) -> None:
    """Nine levels of YAML aliases: 9**9 strings if anything expanded or printed the value."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    lines.append("columns: {x: {kind: *l9}}")
    path = write(workdir, "bomb.yaml", "\n".join(lines).encode())
    with time_limit(10), pytest.raises(VaekitError, match="x") as refused:
        read_schema_file(path)
    assert len(str(refused.value)) < 500


def test_idx_reader_on_a_raw_zlib_stream(workdir: Path) -> None:
    """A raw zlib stream (not gzip) is not mistaken for IDX data."""
    path = write(workdir, "zlib-idx1-ubyte", zlib.compress(bytes([0, 0, 8, 1, 0, 0, 0, 1, 7])))
    assert attempt(read_idx, path, names=path) is None
