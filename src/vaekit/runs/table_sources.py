"""Where a tabular run's rows come from: typed sources instead of a dict with a ``"dataset"`` name.

A :class:`TableSource` reads its table, splits it into training and test rows, prepares it for
training (the schema inferred and fitted, every cell checked) and says how ``config.json`` records
it, so that ``evaluate``, ``score`` and ``sample`` find the same rows again. The sources are
registered by the name ``config.json`` stores under ``data.dataset``:

- :class:`SeedTable` (``seed``): the reference data, drawn from a known density;
- :class:`CsvTable` (``csv``): a user's table read into memory (CSV, or Parquet with pyarrow), of
  which a seeded tenth is held out as the test set;
- :class:`ParquetTable` (``parquet``): a Parquet file or folder streamed in chunks.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from vaekit._distributed import is_global_zero
from vaekit.data import streaming
from vaekit.data.tabular import (
    EncodedTable,
    SeedDataParameters,
    encode_table,
    fit_schema,
    infer_schema,
    read_table,
    seed_log_density,
    seed_table,
)
from vaekit.errors import VaekitError
from vaekit.inference import TrainConfig
from vaekit.runs.store import split_train_val
from vaekit.runs.training_run import TEST_FRACTION, file_sha256, held_out_split
from vaekit.schema import Schema

#: Rows of the reference data (issue: 10,000 training and 10,000 test rows).
SEED_ROWS = 10_000


@dataclass(frozen=True)
class PreparedTable:
    """A table read, checked, with its fitted schema and encoded training rows: nothing can fail on
    the data after this, so a caller may clear an old run folder once it has one."""

    source: TableSource
    train: pd.DataFrame
    test: pd.DataFrame
    schema: Schema
    train_rows: EncodedTable

    @property
    def data_settings(self) -> dict[str, Any]:
        """What ``config.json`` records of the source."""
        return self.source.settings()

    def training_data(self, train_config: TrainConfig) -> tuple[Any, Any]:
        """The training and validation rows (values, observed), split with the training seed."""
        rows = self.train_rows
        train_index, val_index = split_train_val(len(rows), train_config.val_fraction, train_config.seed)
        return (rows.values[train_index], rows.observed[train_index]), (
            rows.values[val_index],
            rows.observed[val_index],
        )

    def steps_per_epoch(self, train_config: TrainConfig) -> int:
        """Optimiser steps in one epoch of training with ``train_config`` (the last batch may be short)."""
        train_index, _ = split_train_val(len(self.train_rows), train_config.val_fraction, train_config.seed)
        return max(1, math.ceil(len(train_index) / train_config.batch_size))


@dataclass(frozen=True)
class PreparedStream:
    """A Parquet table opened, its schema inferred on a sample and fixed, and every cell checked
    against it (on the global rank 0): nothing can fail on the data after this. ``train`` and
    ``test`` are bounded seeded samples of the training and test rows, for metrics and figures."""

    source: ParquetTable
    reader: streaming.ParquetSource
    schema: Schema
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def data_settings(self) -> dict[str, Any]:
        """What ``config.json`` records of the source."""
        return self.source.settings()

    def training_data(self, train_config: TrainConfig) -> tuple[Any, Any]:
        """The loaders that stream the training and validation rows in shuffled batches."""
        return self.source.loaders(self, train_config)

    def steps_per_epoch(self, train_config: TrainConfig) -> int:
        """Optimiser steps in one epoch of training with ``train_config``: the stream's batches."""
        train, _ = self.training_data(train_config)
        return max(1, len(train))


class TableSource(ABC):
    """Where a tabular run's rows come from.

    To add a source: subclass, set :attr:`dataset` (the name ``config.json`` stores) and
    :attr:`config_shape`, implement :meth:`settings`, :meth:`from_settings`, :meth:`tables` and
    :meth:`prepare`, and decorate the class with :func:`register_table_source`.
    """

    #: The name ``config.json`` stores under ``data.dataset``.
    dataset: ClassVar[str]
    #: What the commands read from ``config.json``'s ``data`` for this source: key -> type.
    config_shape: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    #: Extra figures of a run: file name -> (the two columns drawn against each other, title).
    pair_figures: ClassVar[Mapping[str, tuple[tuple[str, str], str]]] = {}

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """What ``config.json`` records under ``data``: enough to find the same rows again."""

    @classmethod
    @abstractmethod
    def from_settings(cls, data: Mapping[str, Any]) -> TableSource:
        """The source a run's ``config.json`` ``data`` describes."""

    @abstractmethod
    def tables(self, schema: Schema | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The training and test rows (``schema``: the run's, where reading them needs it)."""

    def prepare(self, overrides: dict[str, dict[str, str]] | None = None) -> PreparedTable | PreparedStream:
        """Read the table, infer and fit the schema (then ``overrides``) and encode the training rows."""
        train_table, test_table = self.tables()
        whole = self.whole_table(train_table, test_table)
        schema = fit_schema(infer_schema(whole, overrides), whole)
        train_rows = encode_table(schema, train_table)
        if len(train_rows) < 2:
            raise VaekitError("the table needs at least 2 training rows")
        return PreparedTable(self, train_table, test_table, schema, train_rows)

    def whole_table(self, train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
        """Training and test rows together, which the schema is inferred from."""
        return pd.concat([train, test], ignore_index=True)

    def input_files(self) -> list[str]:
        """The user's files the source reads."""
        return []

    def for_training(self, train_config: TrainConfig) -> TableSource:
        """The source as a run with ``train_config`` reads it."""
        return self

    def evaluated_on(self, rows: int, *, training_rows: bool = False) -> str:
        """What a run's test metrics were computed on (``training_rows``: a table too small for a
        test split, whose training rows are all there is)."""
        return "training rows (the table is too small for a test split)" if training_rows else "test rows"

    def true_log_density(self, table: pd.DataFrame) -> np.ndarray | None:
        """Each row's exact log-density where the source knows it (the reference data), else ``None``."""
        return None


_SOURCES: dict[str, type[TableSource]] = {}


def register_table_source(source_class: type[TableSource]) -> type[TableSource]:
    """Register a :class:`TableSource` class by its :attr:`~TableSource.dataset` name."""
    _SOURCES[source_class.dataset] = source_class
    return source_class


def table_source(data: Mapping[str, Any] | TableSource) -> TableSource:
    """The source a ``config.json`` ``data`` (or a ``train_tabular`` argument) describes."""
    if isinstance(data, TableSource):
        return data
    name = data.get("dataset")
    if name not in _SOURCES:
        raise VaekitError(f"unknown table source {name!r}; known: {', '.join(sorted(_SOURCES))}")
    return _SOURCES[name].from_settings(data)


def table_source_class(data: Mapping[str, Any]) -> type[TableSource] | None:
    """The registered class of a ``config.json`` ``data``, or ``None`` when it names none."""
    name = data.get("dataset")
    return _SOURCES.get(name) if isinstance(name, str) else None


@register_table_source
@dataclass(frozen=True)
class SeedTable(TableSource):
    """The reference data with a known density: ``rows`` training rows drawn with ``split_seed`` and
    as many test rows drawn with ``split_seed + 1``."""

    parameters: SeedDataParameters = field(default_factory=SeedDataParameters)
    rows: int = SEED_ROWS
    split_seed: int = 0

    dataset: ClassVar[str] = "seed"
    config_shape: ClassVar[dict[str, type | tuple[type, ...]]] = {
        "data.seed_parameters": dict,
        "data.split_seed": int,
    }
    pair_figures: ClassVar[Mapping[str, tuple[tuple[str, str], str]]] = {
        "x3_against_x2": (("x2", "x3"), "x3 against x2: is x3 ~ Normal(x2, x1) learnt?")
    }

    def settings(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "seed_parameters": asdict(self.parameters),
            "rows": self.rows,
            "split_seed": self.split_seed,
        }

    @classmethod
    def from_settings(cls, data: Mapping[str, Any]) -> SeedTable:
        return cls(
            SeedDataParameters(**data["seed_parameters"]), data.get("rows", SEED_ROWS), data["split_seed"]
        )

    def tables(self, schema: Schema | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            seed_table(self.rows, seed=self.split_seed, parameters=self.parameters),
            seed_table(self.rows, seed=self.split_seed + 1, parameters=self.parameters),
        )

    def true_log_density(self, table: pd.DataFrame) -> np.ndarray:
        return seed_log_density(table, self.parameters)


@register_table_source
@dataclass(frozen=True)
class CsvTable(TableSource):
    """A user's table read into memory (CSV, or Parquet with pyarrow); a seeded tenth of its rows
    (``split_seed``) is the test set. ``sha256`` is the file's hash once the run has started: a
    changed file is refused, since its test rows could no longer be told from its training rows."""

    csv: str
    split_seed: int = 0
    sha256: str | None = None

    dataset: ClassVar[str] = "csv"
    config_shape: ClassVar[dict[str, type | tuple[type, ...]]] = {"data.csv": str, "data.split_seed": int}

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"dataset": self.dataset, "csv": self.csv, "split_seed": self.split_seed}
        if self.sha256 is not None:
            settings["sha256"] = self.sha256
        return settings

    @classmethod
    def from_settings(cls, data: Mapping[str, Any]) -> CsvTable:
        return cls(data["csv"], data["split_seed"], data.get("sha256"))

    def tables(self, schema: Schema | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        table = read_table(self.csv)
        if self.sha256 is not None and file_sha256(self.csv) != self.sha256:
            raise VaekitError(
                f"{self.csv} has changed since the run was trained: its test rows can no longer be told "
                "apart from its training rows"
            )
        train_rows, test_rows = held_out_split(len(table), self.split_seed)
        test = table.iloc[test_rows].reset_index(drop=True)
        train = table.iloc[train_rows].reset_index(drop=True)
        return train, test

    def prepare(self, overrides: dict[str, dict[str, str]] | None = None) -> PreparedTable:
        hashed = CsvTable(self.csv, self.split_seed, file_sha256(self.csv))
        return super(CsvTable, hashed).prepare(overrides)  # type: ignore[return-value]

    def whole_table(self, train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
        # In the file's order, so that errors give its row numbers.
        whole = pd.concat([train, test], ignore_index=True)
        whole.index = np.concatenate(held_out_split(len(whole), self.split_seed))
        return whole.sort_index()

    def input_files(self) -> list[str]:
        return [self.csv]


#: Settings of a streamed table and their defaults (see :class:`ParquetTable`).
STREAM_DEFAULTS: dict[str, Any] = {
    "val_fraction": 0.1,
    "sample_rows": streaming.DEFAULT_SAMPLE_ROWS,
    "chunk_rows": streaming.DEFAULT_CHUNK_ROWS,
    "buffer_rows": streaming.DEFAULT_BUFFER_ROWS,
    "eval_rows": streaming.DEFAULT_EVAL_ROWS,
    "workers": 0,
    # At most this many training batches per epoch (benchmarks and smoke tests); None: all rows.
    "max_train_batches": None,
}


@register_table_source
@dataclass(frozen=True)
class ParquetTable(TableSource):
    """A Parquet file or folder streamed in chunks: tables larger than memory.

    ``options`` holds the keys of :data:`STREAM_DEFAULTS` (how to split, sample, read and shuffle),
    and, once :meth:`prepare` has made its checking pass, what it found: the rows of each part, the
    files' hashes and the size of the schema's sample.
    """

    parquet: str
    split_seed: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)

    dataset: ClassVar[str] = "parquet"
    config_shape: ClassVar[dict[str, type | tuple[type, ...]]] = {"data.parquet": str, "data.split_seed": int}

    def settings(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "parquet": self.parquet,
            "split_seed": self.split_seed,
            **STREAM_DEFAULTS,
            **self.options,
        }

    @classmethod
    def from_settings(cls, data: Mapping[str, Any]) -> ParquetTable:
        options = {
            key: value for key, value in data.items() if key not in ("dataset", "parquet", "split_seed")
        }
        return cls(data["parquet"], data["split_seed"], options)

    def setting(self, name: str) -> Any:
        return {**STREAM_DEFAULTS, **self.options}[name]

    def split(self) -> streaming.StreamSplit:
        """How each row falls into the training, validation or test part (a hash of its position)."""
        return streaming.StreamSplit(self.split_seed, self.setting("val_fraction"), TEST_FRACTION)

    def for_training(self, train_config: TrainConfig) -> ParquetTable:
        """The source holding out ``train_config.val_fraction`` of the rows for validation as it reads
        them, unless it names a share already."""
        if "val_fraction" in self.options:
            return self
        return ParquetTable(
            self.parquet, self.split_seed, {"val_fraction": train_config.val_fraction, **self.options}
        )

    def prepare(self, overrides: dict[str, dict[str, str]] | None = None) -> PreparedStream:
        """Open the files for streaming; infer the schema on ``sample_rows`` rows spread over the row
        groups, apply ``overrides`` and fix it.

        One pass over the table then checks every cell against the schema (a value outside it is an
        error naming the column, file and row), counts the rows of each part and keeps
        ``eval_rows`` seeded test (and training) rows for the metrics; the files' hashes are stored,
        so that ``evaluate`` refuses changed files. Under distributed training only the global rank
        0 makes that pass: the other ranks only infer the schema, which comes out the same.
        """
        options = {**STREAM_DEFAULTS, **self.options}
        for name in ("sample_rows", "chunk_rows", "buffer_rows", "eval_rows"):
            if int(options[name]) < 1:
                raise VaekitError(f"{name} must be at least 1, got {options[name]}")
        reader = streaming.ParquetSource.open(self.parquet)
        schema, sample_size = streaming.infer_stream_schema(
            reader, overrides, sample_rows=options["sample_rows"]
        )
        options["schema_sample_rows"] = sample_size
        source = ParquetTable(self.parquet, self.split_seed, options)
        empty = pd.DataFrame({name: pd.Series(dtype=float) for name in schema.names})
        if not is_global_zero():
            return PreparedStream(source, reader, schema, empty, empty)
        found = streaming.scan(
            reader,
            schema,
            source.split(),
            keep_rows=options["eval_rows"],
            chunk_rows=options["chunk_rows"],
            schema_sample_size=sample_size,
        )
        if found.rows["train"] < 2 or found.rows["val"] < 1:
            raise VaekitError(
                f"{reader.path} has {found.rows['train']} training and {found.rows['val']} validation rows "
                "after the split: too few to stream; read so small a table with --csv"
            )
        options["rows"] = found.rows
        options["files"] = reader.fingerprint()
        source = ParquetTable(self.parquet, self.split_seed, options)
        return PreparedStream(source, reader, schema, found.samples["train"], found.samples["test"])

    def tables(self, schema: Schema | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The seeded samples of training and test rows of a streamed run (one pass over the files)."""
        if schema is None:
            raise ValueError("a streamed table's rows are read with the run's schema")
        reader = streaming.ParquetSource.open(self.parquet)
        if "files" in self.options:
            now = [(f["name"], f["sha256"]) for f in reader.fingerprint()]
            if now != [(f["name"], f["sha256"]) for f in self.options["files"]]:
                raise VaekitError(
                    f"{self.parquet} has changed since the run was trained: its test rows can no longer be "
                    "told apart from its training rows"
                )
        found = streaming.scan(
            reader,
            schema,
            self.split(),
            keep_rows=self.setting("eval_rows"),
            chunk_rows=self.setting("chunk_rows"),
            validate=False,
        )
        return found.samples["train"], found.samples["test"]

    def loaders(self, prepared: PreparedStream, train_config: TrainConfig) -> tuple[Any, Any]:
        """The training and validation loaders that stream the table in shuffled batches."""
        if self.setting("val_fraction") != train_config.val_fraction:
            raise VaekitError(
                f"the table was split with val_fraction {self.setting('val_fraction')}, the training "
                f"settings say {train_config.val_fraction}"
            )
        common = {
            "source": prepared.reader,
            "schema": prepared.schema,
            "split": self.split(),
            "batch_size": train_config.batch_size,
            "seed": train_config.seed,
            "chunk_rows": self.setting("chunk_rows"),
            "buffer_rows": self.setting("buffer_rows"),
            "sample_size": self.options.get("schema_sample_rows"),
        }
        train = streaming.StreamingTable(
            part="train", shuffle=True, max_batches=self.options.get("max_train_batches"), **common
        )
        val = streaming.StreamingTable(part="val", shuffle=False, **common)
        workers = int(self.setting("workers"))
        return streaming.streaming_loader(train, workers=workers), streaming.streaming_loader(
            val, workers=workers
        )

    def input_files(self) -> list[str]:
        return [self.parquet]

    def evaluated_on(self, rows: int, *, training_rows: bool = False) -> str:
        if training_rows:
            return f"a seeded sample of {rows} training rows (the table has no test rows)"
        total = self.options.get("rows", {}).get("test", "?")
        return f"a seeded sample of {rows} of the {total} test rows"


def prepare_table(
    data: Mapping[str, Any] | TableSource, overrides: dict[str, dict[str, str]] | None = None
) -> PreparedTable | PreparedStream:
    """Read a table source (or a ``config.json``-style ``data`` dict naming one), infer and fit its
    schema (then ``overrides``) and encode its training rows: see :meth:`TableSource.prepare`."""
    return table_source(data).prepare(overrides)
