"""The files of a streamed table: a Parquet file, or the Parquet files of a folder, read as one table.

A :class:`ParquetSource` reads only the footers when opened; its rows are numbered from 0 across the
files in name order, and :meth:`ParquetSource.chunks` reads a few row groups (or slices of them)
one chunk at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaekit.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
#: Rows read from a file at a time.
DEFAULT_CHUNK_ROWS = 65_536
#: Bytes read at a time from a column chunk, so that a large row group is never read whole.
_READ_BUFFER_BYTES = 1 << 20


def _parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError('streaming Parquet files needs pyarrow: pip install "vaekit[parquet]"') from None
    return pq


@dataclass(frozen=True)
class RowGroup:
    """One row group of one file, or a slice ``[start, stop)`` of its rows."""

    file: int
    index: int
    start: int
    stop: int
    #: Row of the file, and of the whole table, where the row group begins.
    file_row: int
    table_row: int

    @property
    def num_rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file, or the Parquet files of a folder in name order, read as one table."""

    path: Path
    files: tuple[Path, ...]
    columns: tuple[str, ...]
    row_groups: tuple[RowGroup, ...]
    file_rows: tuple[int, ...] = field(default=())

    @classmethod
    def open(cls, path: str | Path) -> ParquetSource:
        """Read the footers of ``path`` (a file, or a folder whose ``*.parquet`` files are the table)."""
        pq = _parquet()
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES)
            if not files:
                raise DataError(f"{path} holds no .parquet files (subfolders are not read)")
        elif path.is_file():
            files = [path]
        else:
            raise DataError(f"table not found: {path}")
        columns: list[str] | None = None
        groups: list[RowGroup] = []
        file_rows: list[int] = []
        table_row = 0
        for i, file in enumerate(files):
            try:
                parquet = pq.ParquetFile(file)
            except Exception as error:  # pyarrow raises many types for a bad file
                raise DataError(f"cannot read Parquet file {file}: {error}") from None
            with parquet:
                _check_types(file, parquet.schema_arrow)
                names = list(parquet.schema_arrow.names)
                repeated = sorted({name for name in names if names.count(name) > 1})
                if repeated:
                    raise DataError(f"{file} repeats these column names: {', '.join(repeated)}")
                if columns is None:
                    columns = names
                elif set(names) != set(columns):
                    lacking = [name for name in columns if name not in names]
                    extra = [name for name in names if name not in columns]
                    raise DataError(
                        f"{file} does not have the columns of {files[0].name}"
                        + (f"; it lacks {', '.join(lacking)}" if lacking else "")
                        + (f"; it adds {', '.join(extra)}" if extra else "")
                    )
                metadata = parquet.metadata
                file_row = 0
                for index in range(metadata.num_row_groups):
                    rows = metadata.row_group(index).num_rows
                    if rows:
                        groups.append(RowGroup(i, index, 0, rows, file_row, table_row))
                    file_row += rows
                    table_row += rows
                file_rows.append(file_row)
        if not groups:
            raise DataError(f"{path} has no rows")
        return cls(path, tuple(files), tuple(columns or ()), tuple(groups), tuple(file_rows))

    @property
    def num_rows(self) -> int:
        return sum(self.file_rows)

    def fingerprint(self) -> list[dict[str, Any]]:
        """Name, size, rows and SHA-256 of each file: a run refuses to evaluate on changed files."""
        result = []
        for file, rows in zip(self.files, self.file_rows, strict=True):
            digest = hashlib.sha256()
            with open(file, "rb") as stream:
                for block in iter(lambda stream=stream: stream.read(1 << 20), b""):
                    digest.update(block)
            result.append(
                {"name": file.name, "bytes": file.stat().st_size, "rows": rows, "sha256": digest.hexdigest()}
            )
        return result

    def locate(self, table_row: int) -> tuple[str, int]:
        """The file name and the row within that file (from 0) of a row of the table."""
        offset = 0
        for file, rows in zip(self.files, self.file_rows, strict=True):
            if table_row < offset + rows:
                return file.name, table_row - offset
            offset += rows
        raise IndexError(table_row)

    def check_columns(self, names: Sequence[str]) -> None:
        lacking = [name for name in names if name not in self.columns]
        if lacking:
            raise DataError(f"{self.path} lacks these columns of the schema: {', '.join(lacking)}")

    def chunks(
        self, groups: Sequence[RowGroup], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[tuple[RowGroup, int, Any]]:
        """``(row group, table row of the chunk's first row, record batch)`` for each chunk of ``groups``.

        A slice of a row group is read from the row group's start (Parquet cannot seek inside one),
        its rows before the slice decoded and dropped.
        """
        pq = _parquet()
        opened: dict[int, Any] = {}
        try:
            for group in groups:
                if group.file not in opened:
                    for old in opened.values():
                        old.close()
                    opened = {
                        group.file: pq.ParquetFile(self.files[group.file], buffer_size=_READ_BUFFER_BYTES)
                    }
                parquet = opened[group.file]
                position = 0
                batches = parquet.iter_batches(
                    batch_size=chunk_rows, row_groups=[group.index], columns=list(columns), use_threads=False
                )
                for batch in batches:
                    low, high = position, position + batch.num_rows
                    position = high
                    if high <= group.start:
                        continue
                    if low >= group.stop:
                        break
                    first, last = max(low, group.start), min(high, group.stop)
                    yield group, group.table_row + first, batch.slice(first - low, last - first)
        finally:
            for old in opened.values():
                old.close()


def _check_types(file: Path, schema: Any) -> None:
    """Refuse columns of bytes, lists or records: a cell is a number, text or true/false."""
    import pyarrow as pa

    for column in schema:
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if (
            pa.types.is_nested(kind)
            or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
        ):
            raise DataError(
                f"{file}: column {column.name!r} holds {kind} values; vaekit reads numbers, text and "
                "true/false cells"
            )
