"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian ``uint32`` per dimension, then the array's items in C order, big-endian. The
published files are usually gzip-compressed; :func:`read_idx` detects that from the content,
so a renamed file still reads.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import secrets
import zlib
from pathlib import Path

import numpy as np

from vaekit.errors import DataError

__all__ = ["read_idx", "write_idx"]

# IDX type code -> big-endian dtype, as defined by the format's original description.
_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIMS = 4
_CHUNK = 1 << 20


#: Most bytes inflated from a gzipped IDX file (MNIST's largest file holds 47 MB).
MAX_INFLATED_BYTES = 4 * 2**30


def _announced_size(head: bytes) -> int:
    """Bytes a valid IDX file starting with ``head`` holds; 0 if ``head`` starts no valid header."""
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _TYPE_CODES or not 1 <= head[3] <= _MAX_DIMS:
        return 0
    header_len = 4 + 4 * head[3]
    if len(head) < header_len:
        return 0
    shape = np.frombuffer(head, dtype=">u4", count=head[3], offset=4)
    return header_len + math.prod(int(d) for d in shape) * _TYPE_CODES[head[2]].itemsize


def _decompress(raw: bytes, path: Path) -> bytes:
    """Inflate gzip data, stopping once it holds more than its IDX header announces.

    A gzip bomb (a small file that inflates to gigabytes) is cut short after at most one chunk
    beyond what its header announces; :func:`read_idx` then refuses its trailing bytes.
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            chunks = [stream.read(_CHUNK)]  # holds the whole header unless the data end sooner
            size, limit = len(chunks[0]), _announced_size(chunks[0])
            if limit > MAX_INFLATED_BYTES:
                # The header is the file's own word: without a bound, a few bytes of header in front
                # of a gzip bomb could ask for gigabytes.
                raise DataError(
                    f"IDX file {path}: its header announces {limit:,} bytes of data, more than the "
                    f"{MAX_INFLATED_BYTES:,} bytes vaekit inflates from a gzip file; decompress it first"
                )
            while size <= limit and (chunk := stream.read(_CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
    # A damaged gzip surfaces as any of these depending on where the damage is.
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"IDX file {path}: corrupt gzip data ({exc})") from exc
    return b"".join(chunks)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a numpy array.

    Parameters
    ----------
    path
        The file to read. Gzip compression is detected from the file's first bytes, not its name.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order with the file's shape; ``uint8`` for the usual
        MNIST-style files (type code ``0x08``).

    Raises
    ------
    DataError
        If the file cannot be read, is not valid gzip, has a bad magic number or type code, has
        a number of dimensions outside 1..4, or holds fewer or more data bytes than its header
        announces. The message names the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"IDX file {path} does not exist") from exc
    except OSError as exc:
        raise DataError(f"IDX file {path} could not be read: {exc}") from exc

    compressed = raw[:2] == _GZIP_MAGIC
    data = _decompress(raw, path) if compressed else raw

    if len(data) < 4:
        raise DataError(f"IDX file {path}: only {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"IDX file {path}: bad magic number 0x{data[:4].hex()} (expected two zero bytes, "
            "a type code and a dimension count); this is not an IDX file"
        )
    type_code, ndim = data[2], data[3]
    if type_code not in _TYPE_CODES:
        known = ", ".join(f"0x{code:02X}" for code in _TYPE_CODES)
        raise DataError(f"IDX file {path}: unknown type code 0x{type_code:02X} (known: {known})")
    if not 1 <= ndim <= _MAX_DIMS:
        raise DataError(
            f"IDX file {path}: {ndim} dimensions in the header; only 1 to {_MAX_DIMS} are supported"
        )

    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"IDX file {path}: truncated header ({len(data)} of {header_len} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPE_CODES[type_code]
    if math.prod(d for d in shape if d) * dtype.itemsize > np.iinfo(np.intp).max:
        # Possible only with a zero dimension (no data at all); numpy refuses such a shape.
        raise DataError(f"IDX file {path}: shape {shape} of {dtype.name} is too large for an array")
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        problem = "truncated" if actual < expected else "trailing bytes after the data"
        # Inflating stops early past the announced size, so a compressed file may hold more.
        at_least = "at least " if compressed and actual > expected else ""
        raise DataError(
            f"IDX file {path}: {problem}: shape {shape} of {dtype.name} needs {expected} data "
            f"bytes but the file holds {at_least}{actual}"
        )

    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header_len)
    # astype copies, which gives a writable array that no longer pins the file's bytes, and
    # converts to native byte order so downstream code (torch.from_numpy) accepts it.
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _type_code_for(dtype: np.dtype) -> int | None:
    for code, idx_dtype in _TYPE_CODES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    return None


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None) -> None:
    """Write an array as an IDX file, atomically.

    The data goes to a temporary file in the target's folder which then replaces the target, so
    a reader never sees a half-written file and a failed write leaves no debris behind.

    Parameters
    ----------
    path
        Where to write.
    array
        A 1- to 4-dimensional array of ``uint8``, ``int8``, ``int16``, ``int32``, ``float32``
        or ``float64`` (any byte order).
    compress
        Gzip the file. ``None`` (the default) compresses when ``path`` ends with ``.gz``.

    Raises
    ------
    DataError
        If the array's dtype or number of dimensions cannot be stored as IDX, or the file
        cannot be written. The message names the file.
    """
    path = Path(path)
    array = np.asarray(array)
    type_code = _type_code_for(array.dtype)
    if type_code is None:
        raise DataError(f"cannot write IDX file {path}: dtype {array.dtype} has no IDX type code")
    if not 1 <= array.ndim <= _MAX_DIMS:
        raise DataError(
            f"cannot write IDX file {path}: array has {array.ndim} dimensions; IDX supports 1 to {_MAX_DIMS}"
        )
    if any(d >= 2**32 for d in array.shape):
        raise DataError(f"cannot write IDX file {path}: shape {array.shape} does not fit uint32 sizes")
    if compress is None:
        compress = path.name.endswith(".gz")

    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=_TYPE_CODES[type_code]).tobytes()

    # os.open with 0o666 lets the umask decide the final permissions, as for a plain open();
    # tempfile.mkstemp would leave the finished file readable by its owner only.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            if compress:
                # An empty filename and mtime 0 keep the temp name and the clock out of the
                # gzip header, so equal arrays give byte-identical files.
                with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as gz:
                    gz.write(header)
                    gz.write(body)
            else:
                handle.write(header)
                handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        # Cleanup must not mask the original error.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DataError(f"could not write IDX file {path}: {exc}") from exc
        raise
