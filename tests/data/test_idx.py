"""Tests for vaekit.data.idx: IDX round trips and rejection of damaged files."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from vaekit.data.idx import read_idx, write_idx
from vaekit.errors import DataError


def _header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def _assert_names_file(excinfo: pytest.ExceptionInfo[DataError], path: Path) -> None:
    assert str(path) in str(excinfo.value)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3),
        np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8),
        np.array([-128, -1, 0, 127], dtype=np.int8),
        np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
        np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
        np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 2, 2),
        np.array([np.pi, -np.e, 1e300], dtype=np.float64),
        np.arange(12, dtype=">i4").reshape(4, 3),
    ],
    ids=["uint8-3d", "uint8-1d", "int8", "int16-2d", "int32", "float32-4d", "float64", "big-endian-int32"],
)
def test_round_trip(tmp_path: Path, array: np.ndarray, gz: bool) -> None:
    path = tmp_path / ("data.idx.gz" if gz else "data.idx")
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") is gz

    back = read_idx(path)

    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_raw_layout_matches_the_format(tmp_path: Path) -> None:
    array = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16)
    path = tmp_path / "a.idx"
    write_idx(path, array)
    assert path.read_bytes() == _header(0x0B, (2, 3)) + array.astype(">i2").tobytes()


def test_compress_flag_overrides_the_suffix(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.uint8)
    gz_no_suffix = tmp_path / "plain-name"
    raw_with_suffix = tmp_path / "named.gz"
    write_idx(gz_no_suffix, array, compress=True)
    write_idx(raw_with_suffix, array, compress=False)

    assert gz_no_suffix.read_bytes()[:2] == b"\x1f\x8b"
    assert raw_with_suffix.read_bytes()[:2] == b"\x00\x00"
    # Gzip is detected from the content, not the name.
    np.testing.assert_array_equal(read_idx(gz_no_suffix), array)
    np.testing.assert_array_equal(read_idx(raw_with_suffix), array)


def test_gzip_output_is_deterministic(tmp_path: Path) -> None:
    array = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_write_replaces_an_existing_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros(3, dtype=np.uint8))
    write_idx(path, np.ones(5, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), np.ones(5, dtype=np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["x.idx"]


def test_failed_write_removes_the_temp_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros(3, dtype=np.uint8))
    before = path.read_bytes()

    def failing_replace(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(DataError, match="disk on fire") as excinfo:
        write_idx(path, np.ones(5, dtype=np.uint8))

    _assert_names_file(excinfo, path)
    assert sorted(os.listdir(tmp_path)) == ["x.idx"]
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "array",
    [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.uint16), np.zeros(3, dtype=bool)],
    ids=["int64", "uint16", "bool"],
)
def test_write_rejects_dtypes_without_a_type_code(tmp_path: Path, array: np.ndarray) -> None:
    path = tmp_path / "x.idx"
    with pytest.raises(DataError, match="type code") as excinfo:
        write_idx(path, array)
    _assert_names_file(excinfo, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("shape", [(), (1, 1, 1, 1, 1)], ids=["0-d", "5-d"])
def test_write_rejects_bad_dimension_counts(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "x.idx"
    with pytest.raises(DataError, match="dimensions") as excinfo:
        write_idx(path, np.zeros(shape, dtype=np.uint8))
    _assert_names_file(excinfo, path)
    assert list(tmp_path.iterdir()) == []


# --- damaged files --------------------------------------------------------------------------

GOOD = _header(0x08, (2, 3)) + bytes(range(6))


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x01\x00" + GOOD[2:], "magic"),
        (b"\x00\x01" + GOOD[2:], "magic"),
        (_header(0x0A, (2, 3)) + bytes(6), "type code"),
        (bytes([0, 0, 0x08, 0]), "0 dimensions"),
        (bytes([0, 0, 0x08, 5]) + struct.pack(">5I", 1, 1, 1, 1, 1) + b"\x00", "5 dimensions"),
        (GOOD[:-1], "truncated"),
        (_header(0x08, (2, 3)), "truncated"),
        (_header(0x0C, (2,)) + bytes(7), "truncated"),
        (GOOD + b"\x00", "trailing"),
        (GOOD[:9], "truncated header"),
        (b"\x00\x00", "too short"),
        (b"", "too short"),
    ],
    ids=[
        "magic-byte-0",
        "magic-byte-1",
        "unknown-type",
        "zero-dims",
        "five-dims",
        "data-short-by-one",
        "no-data",
        "int32-partial-item",
        "trailing-byte",
        "header-cut",
        "two-bytes",
        "empty",
    ],
)
def test_damaged_files_are_rejected(tmp_path: Path, content: bytes, message: str, gz: bool) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(DataError, match=message) as excinfo:
        read_idx(path)
    _assert_names_file(excinfo, path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:10] + bytes(len(data) - 10),  # deflate stream zeroed
        lambda data: data[:-8] + bytes(8),  # CRC and size wrong
        lambda data: data + b"garbage!",  # not a second gzip member
    ],
    ids=["truncated", "zeroed-stream", "bad-crc", "trailing-garbage"],
)
def test_corrupt_gzip_is_rejected(tmp_path: Path, damage) -> None:
    data = gzip.compress(_header(0x08, (50,)) + bytes(range(50)))
    path = tmp_path / "bad.gz"
    path.write_bytes(damage(data))
    with pytest.raises(DataError, match="gzip") as excinfo:
        read_idx(path)
    _assert_names_file(excinfo, path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.idx"
    with pytest.raises(DataError, match="does not exist") as excinfo:
        read_idx(path)
    _assert_names_file(excinfo, path)


def test_a_folder_is_not_readable_as_idx(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        read_idx(tmp_path)
    _assert_names_file(excinfo, tmp_path)


def test_zero_length_dimension_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.idx"
    write_idx(path, np.zeros((0, 28, 28), dtype=np.uint8))
    assert read_idx(path).shape == (0, 28, 28)


def test_a_gzip_header_announcing_more_than_the_inflation_bound_is_refused(tmp_path, monkeypatch):
    import gzip as gzip_module

    from vaekit.data import idx as idx_module

    # The header announces 2**31 x 4 bytes; the file holds almost nothing. Lower the bound so the
    # test does not depend on the real one, which is far larger than what a test should write.
    header = b"\0\0\x08\x02" + (2**31).to_bytes(4, "big") + (4).to_bytes(4, "big")
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip_module.compress(header + b"\0" * 64))
    with pytest.raises(DataError, match="announces 8,589,934,604 bytes of data, more than"):
        idx_module.read_idx(path)
    monkeypatch.setattr(idx_module, "MAX_INFLATED_BYTES", 10**12)
    with pytest.raises(DataError, match=str(path.name)):  # then refused for its missing data instead
        idx_module.read_idx(path)
