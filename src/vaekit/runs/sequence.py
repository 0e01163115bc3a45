"""Training runs of the sequence VAE, and what a user does with one: sample, score, evaluate."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vaekit._distributed import is_global_zero
from vaekit._io import atomic_write_json
from vaekit.data.sequences import (
    EncodedSequences,
    SequenceColumns,
    decode_sequences,
    encode_sequences,
    resolve_columns,
    sequence_layout,
    sequence_schema,
)
from vaekit.data.tabular import read_table
from vaekit.errors import TrainingDivergedError, VaekitError
from vaekit.evaluation import LikelihoodEstimate, estimate_log_likelihood
from vaekit.inference import FitResult, TrainConfig, fit
from vaekit.models import VAE, SequenceVAE, SequenceVAEConfig
from vaekit.runs.defaults import SEQUENCE_DEFAULTS
from vaekit.runs.store import Run, load_run, progress_bar, split_train_val, unused_name
from vaekit.runs.training_run import TEST_FRACTION as TEST_FRACTION
from vaekit.runs.training_run import file_sha256, held_out_split, train_run
from vaekit.schema import Schema

#: Importance samples per sequence for test log-likelihoods and scores.
DEFAULT_SEQUENCE_IW_SAMPLES = 1000
#: Sequences drawn for the samples figure, and real ones shown beside them.
FIGURE_SEQUENCES = 5
# Decoder outputs (particles x sequences x steps x state) held at once while scoring; bounds memory.
_SCORING_BUDGET = 20_000_000


@dataclass(frozen=True)
class PreparedSequences:
    """A long table read, checked and encoded, with its fitted schema and its split into training and
    test sequences: nothing can fail on the data after this, so a caller may clear an old run folder."""

    data_settings: dict[str, Any]
    columns: SequenceColumns
    schema: Schema
    train: EncodedSequences
    test: EncodedSequences


@dataclass(frozen=True)
class SequenceTable:
    """A long table of sequences (one row per sequence and time step): the file, the columns naming
    each row's sequence and ordering its steps, the value columns (``None``: every other column),
    and the seed of the held-out tenth of the sequences."""

    csv: str
    id: str
    time: str
    value_columns: tuple[str, ...] | None = None
    split_seed: int = 0

    @classmethod
    def from_settings(cls, data: dict[str, Any]) -> SequenceTable:
        """The table a ``config.json`` ``data`` (or its 0.2 dict form) describes."""
        columns = data.get("value_columns")
        return cls(
            data["csv"], data["id"], data["time"], tuple(columns) if columns else None, data["split_seed"]
        )

    def settings(self) -> dict[str, Any]:
        """What ``config.json`` records under ``data`` before the table is read."""
        return {
            "csv": self.csv,
            "id": self.id,
            "time": self.time,
            "value_columns": list(self.value_columns) if self.value_columns else None,
            "split_seed": self.split_seed,
        }


def _split(encoded: EncodedSequences, seed: int) -> tuple[EncodedSequences, EncodedSequences]:
    """A seeded tenth of the sequences as the test set (none when there are fewer than 10)."""
    train, test = held_out_split(len(encoded), seed)
    return encoded.subset(train), encoded.subset(test)


def prepare_sequences(
    data_settings: SequenceTable | dict[str, Any], overrides: dict[str, dict[str, str]] | None = None
) -> PreparedSequences:
    """Read and check the long table, fit the schema of its value columns and split its sequences.

    ``data_settings`` is a :class:`SequenceTable`, or its ``config.json`` form ``{"csv": PATH,
    "id": COLUMN, "time": COLUMN, "value_columns": [...] or None, "split_seed": S}``;
    ``overrides`` (a schema file's content) give value columns a kind other than real.
    """
    source = (
        data_settings
        if isinstance(data_settings, SequenceTable)
        else SequenceTable.from_settings(data_settings)
    )
    settings = source.settings()
    table = read_table(source.csv)
    columns = resolve_columns(table, source.id, source.time, source.value_columns)
    sequence_layout(table, columns)
    schema = sequence_schema(table, columns, overrides)
    encoded = encode_sequences(schema, table, columns)
    train, test = _split(encoded, source.split_seed)
    if len(train) < 2:
        raise VaekitError(f"the table needs at least 2 training sequences, it has {len(encoded)} sequences")
    settings.update(
        value_columns=list(columns.values),
        sha256=file_sha256(settings["csv"]),
        train_lengths={str(k): v for k, v in sorted(Counter(train.lengths.tolist()).items())},
    )
    return PreparedSequences(settings, columns, schema, train, test)


def sequence_data(run: Run) -> tuple[EncodedSequences, EncodedSequences]:
    """The training and test sequences of a run, re-read from its CSV (refused if it changed)."""
    data = run.config["data"]
    if file_sha256(data["csv"]) != data["sha256"]:
        raise VaekitError(
            f"{data['csv']} has changed since the run was trained: its test sequences can no longer be "
            "told apart from its training sequences"
        )
    encoded = encode_sequences(_schema(run), read_table(data["csv"]), _columns(run))
    return _split(encoded, data["split_seed"])


def _schema(run: Run) -> Schema:
    return Schema.from_dict(run.config["model_config"]["schema"])


def _columns(run: Run) -> SequenceColumns:
    data = run.config["data"]
    return SequenceColumns(data["id"], data["time"], tuple(data["value_columns"]))


def _tensors(encoded: EncodedSequences) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return encoded.values, encoded.observed, encoded.lengths


def train_sequence(
    data_settings: SequenceTable | dict[str, Any] | PreparedSequences,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    z_dim: int = SEQUENCE_DEFAULTS["z_dim"],
    hidden: int = SEQUENCE_DEFAULTS["hidden"],
    cell: str = SEQUENCE_DEFAULTS["cell"],
    num_layers: int = SEQUENCE_DEFAULTS["num_layers"],
    overrides: dict[str, dict[str, str]] | None = None,
    iw_samples: int = DEFAULT_SEQUENCE_IW_SAMPLES,
    figures: bool = True,
    progress: bool = True,
    on_schema: Any = None,
    resume: bool = False,
) -> Run | None:
    """Train a :class:`SequenceVAE` on a long table and write a run folder.

    ``data_settings`` is as for :func:`prepare_sequences` (a :class:`SequenceTable`), or a
    :class:`PreparedSequences`. A
    seeded tenth of the sequences is held out as the test set; the validation set is held out of
    the rest. ``on_schema`` is called with the value columns' schema before training.
    ``resume`` continues the run from its last checkpoint. Returns ``None`` on the processes
    other than the global rank 0 of a distributed run: only rank 0 writes the run folder.
    """
    prepared = (
        data_settings
        if isinstance(data_settings, PreparedSequences)
        else prepare_sequences(data_settings, overrides)
    )
    if on_schema is not None and is_global_zero() and not resume:
        on_schema(prepared.schema)
    try:
        model_config = SequenceVAEConfig(
            schema=prepared.schema.to_dict(), z_dim=z_dim, hidden=hidden, cell=cell, num_layers=num_layers
        )
    except ValueError as error:
        raise VaekitError(str(error)) from None
    train = prepared.train

    def fit_model(model: VAE, run_path: Path) -> FitResult:
        train_index, val_index = split_train_val(len(train), train_config.val_fraction, train_config.seed)
        return fit(
            model,
            _tensors(train.subset(train_index)),
            _tensors(train.subset(val_index)),
            train_config,
            run_dir=run_path,
            resume=resume,
        )

    run = train_run(
        SequenceVAE,
        model_config,
        train_config,
        run_dir,
        data=prepared.data_settings,
        fit_model=fit_model,
        resume=resume,
    )
    if run is None:  # another rank of a distributed run
        return None
    data = (prepared.train, prepared.test)
    try:
        evaluate_sequences(run, iw_samples=iw_samples, progress=progress, data=data)
    except ValueError as error:
        # Weights thrown far by a huge learning rate can keep the training loss finite and still
        # give the distributions invalid parameters on the test sequences: a diverged run.
        if "found invalid values" not in str(error):
            raise
        raise TrainingDivergedError(
            "training diverged: the kept weights give invalid (non-finite) distributions on the test "
            f"sequences; try a lower --lr than {train_config.lr:g}"
        ) from None
    if figures:
        write_sequence_figures(run, data=data)
    return run


def _log_likelihoods(
    run: Run, encoded: EncodedSequences, *, iw_samples: int, progress: bool, description: str
) -> LikelihoodEstimate:
    """ELBO and IWAE log-likelihood of each sequence (seeded by the run's seed)."""
    if iw_samples < 1:
        raise VaekitError(f"--iw-samples must be at least 1, got {iw_samples}")
    model: SequenceVAE = run.model  # type: ignore[assignment]
    chunk = min(100, iw_samples)
    width = max(model.config.hidden, encoded.values.shape[-1])
    batch = int(max(1, min(100, _SCORING_BUDGET // (chunk * encoded.values.shape[1] * width))))
    generator_state = torch.get_rng_state()
    torch.manual_seed(run.config["train_config"]["seed"])
    try:
        with progress_bar(len(encoded), description, progress) as bar:
            return estimate_log_likelihood(
                model,
                _tensors(encoded),
                num_samples=iw_samples,
                batch_size=batch,
                chunk_size=chunk,
                progress=bar,
            )
    finally:
        torch.set_rng_state(generator_state)


def score_sequences(
    run: Run, table: pd.DataFrame, *, iw_samples: int = DEFAULT_SEQUENCE_IW_SAMPLES, progress: bool = False
) -> pd.DataFrame:
    """Each sequence's importance-weighted log-likelihood, in nats: an anomaly score for whole sequences.

    ``table`` is in long format with the run's id, time and value columns. The result has one row
    per sequence, in order of first appearance: its id, its steps, ``log_likelihood`` (log p(x)
    given its length) and ``log_likelihood_per_step``, which compares sequences of different lengths;
    an output column whose name the id column has gets a ``_`` appended (:func:`unused_name`).
    """
    columns = _columns(run)
    encoded = encode_sequences(_schema(run), table, columns)
    estimate = _log_likelihoods(
        run, encoded, iw_samples=iw_samples, progress=progress, description=f"IWAE, K={iw_samples}"
    )
    scores = estimate.log_likelihood.double().numpy()
    lengths = encoded.lengths.numpy()
    output = {columns.id: list(encoded.ids)}
    added = {"steps": lengths, "log_likelihood": scores, "log_likelihood_per_step": scores / lengths}
    for name, values in added.items():
        output[unused_name(name, output)] = values
    return pd.DataFrame(output)


def encode_sequences_latent(run: Run, table: pd.DataFrame) -> pd.DataFrame:
    """Each sequence's approximate posterior q(z | its present cells): one row per sequence, in
    order of first appearance, with its id, ``z_mean_1..K`` and ``z_scale_1..K`` (a name the id
    column has gets a ``_`` appended)."""
    from vaekit.runs.tabular import latent_table

    columns = _columns(run)
    encoded = encode_sequences(_schema(run), table, columns)
    model: SequenceVAE = run.model  # type: ignore[assignment]
    with torch.no_grad():
        posterior = model.encode(encoded.values, encoded.observed, encoded.lengths)
    return latent_table(posterior.mean, posterior.stddev, {columns.id: list(encoded.ids)})


def _train_lengths(run: Run) -> tuple[np.ndarray, np.ndarray]:
    counts = run.config["data"]["train_lengths"]
    lengths = np.array([int(k) for k in counts])
    weights = np.array([counts[k] for k in counts], dtype=float)
    return lengths, weights / weights.sum()


def sample_sequences(run: Run, num_sequences: int, *, seed: int = 0) -> pd.DataFrame:
    """Synthetic sequences in long format, with the run's id, time and value columns.

    Lengths are drawn from those of the training sequences; ids are 1, 2, ...; the time column
    holds each step's position (0, 1, ...).
    """
    values, lengths = _sample_encoded(run, num_sequences, seed)
    return decode_sequences(_schema(run), values, lengths, _columns(run))


def _sample_encoded(run: Run, num_sequences: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Encoded synthetic sequences, padded, and their lengths drawn from the training lengths."""
    if num_sequences < 1:
        raise VaekitError(f"--n must be at least 1, got {num_sequences}")
    model: SequenceVAE = run.model  # type: ignore[assignment]
    lengths, weights = _train_lengths(run)
    drawn = np.random.default_rng(seed).choice(lengths, size=num_sequences, p=weights)
    values = model.sample(num_sequences, int(drawn.max()), generator=torch.Generator().manual_seed(seed))
    return values, drawn


def evaluate_sequences(
    run: Run | str | Path,
    *,
    iw_samples: int = DEFAULT_SEQUENCE_IW_SAMPLES,
    progress: bool = True,
    data: tuple[EncodedSequences, EncodedSequences] | None = None,
) -> dict[str, Any]:
    """Test ELBO and IWAE log-likelihood per sequence (and per step), rewriting ``metrics.json``."""
    if not isinstance(run, Run):
        run = load_run(run)
    train, test = data or sequence_data(run)
    evaluated_on = "test sequences"
    if len(test) == 0:
        test, evaluated_on = train, "training sequences (fewer than 10 sequences: no test split)"
    started = time.perf_counter()
    estimate = _log_likelihoods(
        run, test, iw_samples=iw_samples, progress=progress, description=f"IWAE, K={iw_samples}"
    )
    steps = float(test.lengths.double().mean())
    log_likelihood = float(estimate.log_likelihood.double().mean())
    run.metrics.update(
        {
            "test_elbo": round(float(estimate.elbo.double().mean()), 4),
            "test_log_likelihood": round(log_likelihood, 4),
            "test_log_likelihood_per_step": round(float((estimate.log_likelihood / test.lengths).mean()), 4),
            "test_sequences": len(test),
            "mean_steps": round(steps, 2),
            "evaluated_on": evaluated_on,
            "iw_samples": iw_samples,
            "units": "nats per sequence (per step: each sequence's divided by its steps)",
            "evaluation_seconds": round(time.perf_counter() - started, 2),
        }
    )
    atomic_write_json(run.path / "metrics.json", run.metrics)
    return run.metrics


def _rows(encoded: EncodedSequences, index: int) -> np.ndarray:
    """One sequence's real steps ``(steps, columns)``, NaN where a cell is missing."""
    length = int(encoded.lengths[index])
    values = encoded.values[index, :length].double().numpy()
    return np.where(encoded.observed[index, :length].numpy(), values, np.nan)


def write_sequence_figures(
    run: Run, *, data: tuple[EncodedSequences, EncodedSequences] | None = None
) -> dict[str, Path]:
    """``samples.png`` (real sequences beside sampled ones) and ``training_curves.png``.

    Binary and categorical columns are drawn as their level codes.
    """
    from vaekit import plots

    train, test = data or sequence_data(run)
    shown = test if len(test) else train
    real = [_rows(shown, i) for i in range(min(FIGURE_SEQUENCES, len(shown)))]
    values, lengths = _sample_encoded(run, FIGURE_SEQUENCES, seed=2)
    model_sequences = [values[i, :n].double().numpy() for i, n in enumerate(lengths)]
    columns = _columns(run)
    written = {
        "samples": plots.save_figure(
            plots.sequence_samples(
                real,
                model_sequences,
                list(columns.values),
                title="Held-out sequences (left) and sequences drawn from the model (right)",
            ),
            run.figures / "samples.png",
        )
    }
    log_path = run.path / "log.csv"
    if log_path.is_file():
        written["training_curves"] = plots.save_figure(
            plots.training_curves(pd.read_csv(log_path), title="ELBO and its terms per epoch"),
            run.figures / "training_curves.png",
        )
    return written
