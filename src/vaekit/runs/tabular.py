"""Training runs of the tabular VAE, and what a user does with one: sample, score, impute, evaluate."""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vaekit._distributed import is_global_zero
from vaekit._io import atomic_write, atomic_write_json
from vaekit._version import __version__
from vaekit.data import streaming
from vaekit.data.tabular import (
    EncodedTable,
    SeedDataParameters,
    decode_table,
    encode_table,
    explain_divergence,
    fit_schema,
    infer_schema,
    read_table,
    seed_log_density,
    seed_table,
)
from vaekit.errors import TrainingDivergedError, VaekitError
from vaekit.evaluation import estimate_log_likelihood
from vaekit.inference import TrainConfig, fit
from vaekit.models import TabularVAE, TabularVAEConfig
from vaekit.runs.defaults import TABULAR_DEFAULTS as TABULAR_DEFAULTS
from vaekit.runs.defaults import default_train_config as default_train_config
from vaekit.runs.store import (
    Run,
    build_model,
    load_run,
    progress_bar,
    save_model,
    split_train_val,
    training_metrics,
    unused_name,
    write_run_config,
)
from vaekit.schema import Schema

#: Share of a user's table held out (seeded) as the test set; the reference data come with their own.
TEST_FRACTION = 0.1
#: Rows of the reference data (issue: 10,000 training and 10,000 test rows).
SEED_ROWS = 10_000
#: Importance samples per row for test log-likelihoods and scores.
DEFAULT_TABULAR_IW_SAMPLES = 1000


def tabular_data(config: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and test tables a run was (or is to be) trained and evaluated on."""
    data = config["data"]
    if data["dataset"] == "seed":
        parameters = SeedDataParameters(**data["seed_parameters"])
        rows = data.get("rows", SEED_ROWS)
        seed = data["split_seed"]
        return seed_table(rows, seed=seed, parameters=parameters), seed_table(
            rows, seed=seed + 1, parameters=parameters
        )
    if data["dataset"] == "parquet":
        return _streamed_samples(config)
    table = read_table(data["csv"])
    if "sha256" in data and _file_hash(data["csv"]) != data["sha256"]:
        raise VaekitError(
            f"{data['csv']} has changed since the run was trained: its test rows can no longer be told "
            "apart from its training rows"
        )
    train_rows, test_rows = _split_rows(len(table), data["split_seed"])
    test = table.iloc[test_rows].reset_index(drop=True)
    train = table.iloc[train_rows].reset_index(drop=True)
    return train, test


def _split_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a table's training rows and of its test rows (a seeded tenth), each in order."""
    order = np.random.default_rng(seed).permutation(rows)
    test_rows = int(round(rows * TEST_FRACTION)) if rows >= 10 else 0
    return np.sort(order[test_rows:]), np.sort(order[:test_rows])


@dataclass(frozen=True)
class PreparedTable:
    """A table read, checked, with its fitted schema and encoded training rows: nothing can fail on
    the data after this, so a caller may clear an old run folder once it has one."""

    data_settings: dict[str, Any]
    train: pd.DataFrame
    test: pd.DataFrame
    schema: Schema
    train_rows: EncodedTable


def prepare_table(
    data_settings: dict[str, Any], overrides: dict[str, dict[str, str]] | None = None
) -> PreparedTable | PreparedStream:
    """Read the table, infer and fit the schema (then ``overrides``) and encode the training rows;
    for a streamed Parquet table (``"dataset": "parquet"``), see :func:`prepare_stream`."""
    if data_settings["dataset"] == "parquet":
        return prepare_stream(data_settings, overrides)
    config_data = dict(data_settings)
    if config_data["dataset"] == "csv":
        config_data["sha256"] = _file_hash(config_data["csv"])
    train_table, test_table = tabular_data({"data": config_data})
    whole = pd.concat([train_table, test_table], ignore_index=True)
    if config_data["dataset"] == "csv":  # in the file's order, so that errors give its row numbers
        whole.index = np.concatenate(_split_rows(len(whole), config_data["split_seed"]))
        whole = whole.sort_index()
    schema = fit_schema(infer_schema(whole, overrides), whole)
    train_rows = encode_table(schema, train_table)
    if len(train_rows) < 2:
        raise VaekitError("the table needs at least 2 training rows")
    return PreparedTable(config_data, train_table, test_table, schema, train_rows)


def _file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- tables streamed from Parquet -------------------------------------------------------------------

#: Settings of a streamed table and their defaults (see :func:`prepare_stream`).
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


@dataclass(frozen=True)
class PreparedStream:
    """A Parquet table opened, its schema inferred on a sample and fixed, and every cell checked
    against it (on the global rank 0): nothing can fail on the data after this. ``train`` and
    ``test`` are bounded seeded samples of the training and test rows, for metrics and figures."""

    data_settings: dict[str, Any]
    source: streaming.ParquetSource
    schema: Schema
    train: pd.DataFrame
    test: pd.DataFrame


def _stream_split(data: dict[str, Any]) -> streaming.StreamSplit:
    return streaming.StreamSplit(data["split_seed"], data["val_fraction"], TEST_FRACTION)


def prepare_stream(
    data_settings: dict[str, Any], overrides: dict[str, dict[str, str]] | None = None
) -> PreparedStream:
    """Open a Parquet file or folder for streaming (``{"dataset": "parquet", "parquet": PATH,
    "split_seed": S}``, and optionally the keys of :data:`STREAM_DEFAULTS`).

    The schema is inferred and fitted on ``sample_rows`` rows spread over the row groups, then
    ``overrides`` apply, and it is fixed. One pass over the table then checks every cell against
    it (a value outside it is an error naming the column, file and row), counts the rows of each
    part and keeps ``eval_rows`` seeded test (and training) rows for the metrics; the files' hashes
    are stored, so that ``evaluate`` refuses changed files. Under distributed training only the
    global rank 0 makes that pass: the other ranks only infer the schema, which comes out the same.
    """
    data = {**STREAM_DEFAULTS, **data_settings}
    for name in ("sample_rows", "chunk_rows", "buffer_rows", "eval_rows"):
        if int(data[name]) < 1:
            raise VaekitError(f"{name} must be at least 1, got {data[name]}")
    source = streaming.ParquetSource.open(data["parquet"])
    schema, sample_size = streaming.infer_stream_schema(source, overrides, sample_rows=data["sample_rows"])
    data["schema_sample_rows"] = sample_size
    split = _stream_split(data)
    empty = pd.DataFrame({name: pd.Series(dtype=float) for name in schema.names})
    if not is_global_zero():
        return PreparedStream(data, source, schema, empty, empty)
    found = streaming.scan(
        source,
        schema,
        split,
        keep_rows=data["eval_rows"],
        chunk_rows=data["chunk_rows"],
        schema_sample_size=sample_size,
    )
    if found.rows["train"] < 2 or found.rows["val"] < 1:
        raise VaekitError(
            f"{source.path} has {found.rows['train']} training and {found.rows['val']} validation rows "
            "after the split: too few to stream; read so small a table with --csv"
        )
    data["rows"] = found.rows
    data["files"] = source.fingerprint()
    return PreparedStream(data, source, schema, found.samples["train"], found.samples["test"])


def _stream_loaders(prepared: PreparedStream, train_config: TrainConfig) -> tuple[Any, Any]:
    data = prepared.data_settings
    if data["val_fraction"] != train_config.val_fraction:
        raise VaekitError(
            f"the table was split with val_fraction {data['val_fraction']}, the training settings say "
            f"{train_config.val_fraction}"
        )
    common = {
        "source": prepared.source,
        "schema": prepared.schema,
        "split": _stream_split(data),
        "batch_size": train_config.batch_size,
        "seed": train_config.seed,
        "chunk_rows": data["chunk_rows"],
        "buffer_rows": data["buffer_rows"],
        "sample_size": data.get("schema_sample_rows"),
    }
    train = streaming.StreamingTable(
        part="train", shuffle=True, max_batches=data.get("max_train_batches"), **common
    )
    val = streaming.StreamingTable(part="val", shuffle=False, **common)
    workers = int(data["workers"])
    return streaming.streaming_loader(train, workers=workers), streaming.streaming_loader(
        val, workers=workers
    )


def _streamed_samples(config: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seeded samples of training and test rows of a streamed run (one pass over the files)."""
    data = config["data"]
    source = streaming.ParquetSource.open(data["parquet"])
    if "files" in data:
        now = [(f["name"], f["sha256"]) for f in source.fingerprint()]
        if now != [(f["name"], f["sha256"]) for f in data["files"]]:
            raise VaekitError(
                f"{data['parquet']} has changed since the run was trained: its test rows can no longer be "
                "told apart from its training rows"
            )
    schema = Schema.from_dict(config["model_config"]["schema"])
    found = streaming.scan(
        source,
        schema,
        _stream_split(data),
        keep_rows=data["eval_rows"],
        chunk_rows=data["chunk_rows"],
        validate=False,
    )
    return found.samples["train"], found.samples["test"]


def train_tabular(
    data_settings: dict[str, Any] | PreparedTable | PreparedStream,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    z_dim: int = 4,
    hidden: tuple[int, ...] = TABULAR_DEFAULTS["hidden"],
    overrides: dict[str, dict[str, str]] | None = None,
    iw_samples: int = DEFAULT_TABULAR_IW_SAMPLES,
    figures: bool = True,
    progress: bool = True,
    on_schema: Any = None,
    resume: bool = False,
) -> Run | None:
    """Train a :class:`TabularVAE` and write a run folder.

    ``data_settings`` is ``{"dataset": "seed", "seed_parameters": {...}, "split_seed": S}`` for the
    reference data, or ``{"dataset": "csv", "csv": PATH, "split_seed": S}`` for a user's table
    (CSV, or Parquet with pyarrow), of which a seeded tenth is held out as the test set;
    ``{"dataset": "parquet", "parquet": PATH, "split_seed": S, ...}`` for a Parquet file or folder
    streamed in chunks (:func:`prepare_stream`; its test metrics use a bounded sample of the test
    rows); or what :func:`prepare_table` returned. The schema is inferred from the whole table (a
    streamed one: from a sample), then ``overrides`` (a schema file's content) apply;
    ``on_schema`` is called with it before training, so a user can check it. ``resume`` continues
    the run from its last checkpoint. Returns ``None`` on the processes other than the global
    rank 0 of a distributed run: only rank 0 writes the run folder and evaluates.
    """
    import lightning as L

    if isinstance(data_settings, PreparedTable | PreparedStream):
        prepared = data_settings
    else:
        if data_settings["dataset"] == "parquet":
            data_settings = {"val_fraction": train_config.val_fraction, **data_settings}
        prepared = prepare_table(data_settings, overrides)
    config_data, schema = prepared.data_settings, prepared.schema
    train_table, test_table = prepared.train, prepared.test
    if on_schema is not None and is_global_zero() and not resume:
        on_schema(schema)
    model_config = TabularVAEConfig(schema=schema.to_dict(), z_dim=z_dim, hidden=hidden)

    run_path = Path(run_dir)
    run_path.mkdir(parents=True, exist_ok=True)
    config = {
        "vaekit_version": __version__,
        "model": "TabularVAE",
        "model_config": asdict(model_config),
        "train_config": asdict(train_config),
        "data": config_data,
    }
    write_run_config(run_path, config, resume=resume)

    L.seed_everything(train_config.seed, verbose=False)
    model = build_model(TabularVAE, model_config)
    if isinstance(prepared, PreparedStream):
        train_data, val_data = _stream_loaders(prepared, train_config)
    else:
        train_rows = prepared.train_rows
        train_index, val_index = split_train_val(
            len(train_rows), train_config.val_fraction, train_config.seed
        )
        train_data = (train_rows.values[train_index], train_rows.observed[train_index])
        val_data = (train_rows.values[val_index], train_rows.observed[val_index])
    with warnings.catch_warnings():
        # A streamed table knows its number of batches per epoch exactly, whatever Lightning fears.
        warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__` defined.*")
        try:
            result = fit(model, train_data, val_data, train_config, run_dir=run_path, resume=resume)
        except TrainingDivergedError as error:
            explained = explain_divergence(schema, train_table)
            if not explained:
                raise
            raise TrainingDivergedError(f"{error}{explained}") from None
    if not result.is_global_zero:
        return None
    model = model.cpu().eval()
    save_model(model, run_path / "model.pt")
    run = Run(path=run_path, model=model, config=config)
    run.metrics = training_metrics(result, train_config)
    atomic_write_json(run_path / "metrics.json", run.metrics)
    evaluate_tabular(run, iw_samples=iw_samples, progress=progress, tables=(train_table, test_table))
    if figures:
        write_tabular_figures(run, tables=(train_table, test_table))
    return run


def _schema(run: Run) -> Schema:
    return Schema.from_dict(run.config["model_config"]["schema"])


def score_rows(
    run: Run, table: pd.DataFrame, *, iw_samples: int = DEFAULT_TABULAR_IW_SAMPLES, progress: bool = False
) -> np.ndarray:
    """Importance-weighted log-likelihood of each row's observed cells, in nats (an anomaly score)."""
    if iw_samples < 1:
        raise VaekitError(f"--iw-samples must be at least 1, got {iw_samples}")
    encoded = encode_table(_schema(run), table)
    generator_state = torch.get_rng_state()
    torch.manual_seed(run.config["train_config"]["seed"])
    try:
        with progress_bar(len(encoded), f"IWAE, K={iw_samples}", progress) as bar:
            estimate = estimate_log_likelihood(
                run.model, (encoded.values, encoded.observed), num_samples=iw_samples, progress=bar
            )
    finally:
        torch.set_rng_state(generator_state)
    return estimate.log_likelihood.numpy()


def sample_rows(run: Run, num_rows: int, *, seed: int = 0) -> pd.DataFrame:
    """Synthetic rows with the original column names, kinds and levels."""
    if num_rows < 1:
        raise VaekitError(f"--n must be at least 1, got {num_rows}")
    model: TabularVAE = run.model  # type: ignore[assignment]
    return decode_table(_schema(run), model.sample(num_rows, generator=torch.Generator().manual_seed(seed)))


def impute_rows(run: Run, table: pd.DataFrame, *, draws: int = 1, seed: int = 0) -> pd.DataFrame:
    """Fill the missing cells of ``table`` from the posterior predictive; observed cells stay as they are.

    With ``draws == 1`` each missing cell gets its expected value under p(x | z) averaged over
    z ~ q(z | observed cells) (numeric columns), or the most probable level (binary and
    categorical). With ``draws > 1`` the result stacks ``draws`` multiple imputations, each
    drawing z and the cells, with an ``imputation`` column numbering them from 1 (``imputation_``
    if the table has an ``imputation`` column: see :func:`unused_name`).
    """
    if draws < 1:
        raise VaekitError(f"--draws must be at least 1, got {draws}")
    schema = _schema(run)
    encoded = encode_table(schema, table)
    model: TabularVAE = run.model  # type: ignore[assignment]
    torch.manual_seed(seed)
    if draws == 1:
        predicted = model.posterior_predictive(encoded.values, encoded.observed, num_draws=100)
        filled = _point_estimate(schema, predicted)
        completed = [_fill(table, schema, encoded, filled)]
    else:
        predicted = model.posterior_predictive(encoded.values, encoded.observed, num_draws=draws, point=False)
        completed = []
        number = unused_name("imputation", table.columns)
        for k in range(draws):
            frame = _fill(table, schema, encoded, predicted[k])
            frame.insert(0, number, k + 1)
            completed.append(frame)
    return pd.concat(completed, ignore_index=True)


def _point_estimate(schema: Schema, predicted: torch.Tensor) -> torch.Tensor:
    """Mean over draws for numeric columns, most frequent level for the others."""
    result = predicted.mean(0)
    for j, spec in enumerate(schema.columns):
        if spec.kind in ("binary", "categorical"):
            result[:, j] = torch.mode(predicted[:, :, j], dim=0).values
    return result


def _fill(table: pd.DataFrame, schema: Schema, encoded: Any, filled: torch.Tensor) -> pd.DataFrame:
    decoded = decode_table(schema, filled)
    result = table.copy()
    for j, spec in enumerate(schema.columns):
        missing = ~encoded.observed[:, j].numpy()
        if missing.any():
            column = result[spec.name].astype(object)
            column[missing] = decoded[spec.name].to_numpy()[missing]
            result[spec.name] = column
    return result


def evaluate_tabular(
    run: Run | str | Path,
    *,
    iw_samples: int = DEFAULT_TABULAR_IW_SAMPLES,
    progress: bool = True,
    tables: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Test log-likelihood (and, for the reference data, the truth and the gap), per-column shares
    of the log-likelihood, and how close synthetic rows are to held-out rows; rewrites metrics.json."""
    if not isinstance(run, Run):
        run = load_run(run)
    train, test = tables or tabular_data(run.config)
    evaluated_on = "test rows"
    streamed = run.config["data"]["dataset"] == "parquet"
    if streamed:
        total = run.config["data"].get("rows", {}).get("test", "?")
        evaluated_on = f"a seeded sample of {len(test)} of the {total} test rows"
    if len(test) == 0:
        # A table of fewer than 10 rows has no test split: its training rows are all there is.
        test, evaluated_on = train, "training rows (the table is too small for a test split)"
        if streamed:
            evaluated_on = f"a seeded sample of {len(test)} training rows (the table has no test rows)"
    schema = _schema(run)
    started = time.perf_counter()
    scores = score_rows(run, test, iw_samples=iw_samples, progress=progress)
    encoded = encode_table(schema, test)
    model: TabularVAE = run.model  # type: ignore[assignment]
    torch.manual_seed(0)
    cells = model.column_log_likelihood(encoded.values, encoded.observed)
    counts = encoded.observed.sum(0).clamp_min(1)
    # Per present cell, so that a column with many missing cells does not look better or worse.
    per_cell = (cells.sum(0) / counts).numpy()
    total = per_cell.sum()
    metrics: dict[str, Any] = {
        "test_log_likelihood": round(float(scores.mean()), 5),
        "test_rows": len(test),
        "evaluated_on": evaluated_on,
        "iw_samples": iw_samples,
        "units": "nats per row",
        "column_expected_log_likelihood": {
            spec.name: round(float(per_cell[j]), 5) for j, spec in enumerate(schema.columns)
        },
    }
    # Shares of a sum only mean something when its terms share a sign (densities can exceed 1).
    if (per_cell <= 0).all() or (per_cell >= 0).all():
        metrics["column_share_of_log_likelihood"] = {
            spec.name: round(float(per_cell[j] / total), 4) for j, spec in enumerate(schema.columns)
        }
    data = run.config["data"]
    if data["dataset"] == "seed":
        truth = seed_log_density(test, SeedDataParameters(**data["seed_parameters"]))
        metrics["true_test_log_likelihood"] = round(float(truth.mean()), 5)
        metrics["gap"] = round(float(truth.mean() - scores.mean()), 5)
        metrics["gap_standard_error"] = round(float((truth - scores).std(ddof=1) / np.sqrt(len(test))), 5)
    synthetic = model.sample(len(test), generator=torch.Generator().manual_seed(1))
    metrics.update(synthetic_distances(schema, encoded, synthetic))
    metrics["evaluation_seconds"] = round(time.perf_counter() - started, 2)
    run.metrics.update(metrics)
    atomic_write_json(run.path / "metrics.json", run.metrics)
    return run.metrics


def synthetic_distances(schema: Schema, real: EncodedTable, synthetic: torch.Tensor) -> dict[str, Any]:
    """Per column: Kolmogorov-Smirnov distance (numeric) or total-variation distance (levels) between
    held-out cells and synthetic rows (encoded, as the model draws them); and the largest absolute
    difference between the correlation matrices of the numeric and binary columns. ``None`` where a
    column has no held-out value."""
    from scipy.stats import ks_2samp

    distances: dict[str, Any] = {}
    for j, spec in enumerate(schema.columns):
        a = real.values[real.observed[:, j], j].double().numpy()
        b = synthetic[:, j].double().numpy()
        b = b[np.isfinite(b)]
        if len(a) == 0 or len(b) == 0:
            distances[spec.name] = None
        elif spec.kind in ("binary", "categorical"):
            levels = len(spec.levels)
            pa = np.bincount(a.astype(int), minlength=levels) / len(a)
            pb = np.bincount(b.astype(int), minlength=levels) / len(b)
            distances[spec.name] = {"total_variation": round(float(0.5 * np.abs(pa - pb).sum()), 4)}
        else:
            distances[spec.name] = {"kolmogorov_smirnov": round(float(ks_2samp(a, b).statistic), 4)}
    correlated = [j for j, spec in enumerate(schema.columns) if spec.kind != "categorical"]
    result: dict[str, Any] = {"synthetic_vs_test": distances}
    if len(correlated) >= 2:
        real_corr = (
            pd.DataFrame(real.values[:, correlated].double().numpy())
            .where(real.observed[:, correlated].numpy())
            .corr()
        )
        synthetic_corr = pd.DataFrame(synthetic[:, correlated].double().numpy()).corr()
        difference = np.abs(real_corr - synthetic_corr).to_numpy()
        finite = difference[np.isfinite(difference)]
        result["max_correlation_difference"] = round(float(finite.max()), 4) if finite.size else None
    return result


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV file atomically."""
    return atomic_write(path, lambda stream: stream.write(table.to_csv(index=False).encode("utf-8")))


def write_tabular_figures(
    run: Run, *, tables: tuple[pd.DataFrame, pd.DataFrame] | None = None
) -> dict[str, Path]:
    """Per-column marginals and a pairwise scatter, data beside model; x3 against x2 for the seed data."""
    from vaekit import plots

    train, test = tables or tabular_data(run.config)
    if len(test) == 0:
        test = train
    schema = _schema(run)
    synthetic = sample_rows(run, len(test), seed=2)
    written = {}
    encoded = encode_table(schema, test)
    real = decode_table(schema, encoded.values, encoded.observed)
    written["marginals"] = plots.save_figure(
        plots.column_marginals(real, synthetic, kinds={c.name: c.kind for c in schema.columns}),
        run.figures / "marginals.png",
    )
    numeric = [c.name for c in schema.columns if c.kind in ("real", "positive", "count")][:5]
    if len(numeric) >= 2:
        written["pairs"] = plots.save_figure(
            plots.pairwise_scatter(real, synthetic, numeric), run.figures / "pairs.png"
        )
    if run.config["data"]["dataset"] == "seed":
        written["x3_against_x2"] = plots.save_figure(
            plots.pairwise_scatter(
                real, synthetic, ["x2", "x3"], title="x3 against x2: is x3 ~ Normal(x2, x1) learnt?"
            ),
            run.figures / "x3_against_x2.png",
        )
    log_path = run.path / "log.csv"
    if log_path.is_file():
        written["training_curves"] = plots.save_figure(
            plots.training_curves(pd.read_csv(log_path), title="ELBO and its terms per epoch"),
            run.figures / "training_curves.png",
        )
    return written
