"""Training runs of the tabular VAE, and what a user does with one: sample, score, impute, evaluate."""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vaekit._distributed import is_global_zero
from vaekit._io import atomic_write, atomic_write_json
from vaekit.data.constraints import rows_meeting
from vaekit.data.tabular import EncodedTable, decode_table, encode_table, explain_divergence, safe_fill
from vaekit.errors import TrainingDivergedError, VaekitError, VaekitWarning
from vaekit.evaluation import estimate_log_likelihood
from vaekit.inference import FitResult, TrainConfig, fit
from vaekit.models import VAE, TabularVAE, TabularVAEConfig
from vaekit.runs.conditions import Condition, check_consistent, parse_condition
from vaekit.runs.defaults import TABULAR_DEFAULTS as TABULAR_DEFAULTS
from vaekit.runs.defaults import default_train_config as default_train_config
from vaekit.runs.defaults import tabular_default_epochs
from vaekit.runs.store import Run, load_run, progress_bar, unused_name
from vaekit.runs.table_sources import SEED_ROWS as SEED_ROWS
from vaekit.runs.table_sources import CsvTable as CsvTable
from vaekit.runs.table_sources import ParquetTable as ParquetTable
from vaekit.runs.table_sources import PreparedStream as PreparedStream
from vaekit.runs.table_sources import PreparedTable as PreparedTable
from vaekit.runs.table_sources import SeedTable as SeedTable
from vaekit.runs.table_sources import TableSource as TableSource
from vaekit.runs.table_sources import prepare_table as prepare_table
from vaekit.runs.table_sources import table_source
from vaekit.runs.training_run import TEST_FRACTION as TEST_FRACTION
from vaekit.runs.training_run import train_run
from vaekit.schema import Schema

#: Importance samples per row for test log-likelihoods and scores.
DEFAULT_TABULAR_IW_SAMPLES = 1000


def tabular_data(config: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and test tables a run was (or is to be) trained and evaluated on."""
    schema = config.get("model_config", {}).get("schema")
    return table_source(config["data"]).tables(Schema.from_dict(schema) if schema is not None else None)


def default_epochs(prepared: PreparedTable | PreparedStream, train_config: TrainConfig) -> int:
    """The epochs a run on ``prepared`` trains when none are given: about
    :data:`~vaekit.runs.defaults.TABULAR_STEP_BUDGET` steps of ``train_config``'s batches, at most
    :data:`~vaekit.runs.defaults.TABULAR_MAX_EPOCHS`
    (:func:`~vaekit.runs.defaults.tabular_default_epochs`)."""
    return tabular_default_epochs(prepared.steps_per_epoch(train_config))


def train_tabular(
    data_settings: dict[str, Any] | TableSource | PreparedTable | PreparedStream,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    z_dim: int = TABULAR_DEFAULTS["z_dim"],
    hidden: tuple[int, ...] = TABULAR_DEFAULTS["hidden"],
    overrides: dict[str, dict[str, str]] | None = None,
    iw_samples: int = DEFAULT_TABULAR_IW_SAMPLES,
    figures: bool = True,
    progress: bool = True,
    on_schema: Any = None,
    resume: bool = False,
    target: str | None = None,
    classifier_weight: float | None = None,
) -> Run | None:
    """Train a :class:`TabularVAE` and write a run folder.

    ``data_settings`` is a table source (:mod:`vaekit.runs.table_sources`): :class:`SeedTable` for
    the reference data, :class:`CsvTable` for a user's table (CSV, or Parquet with pyarrow), of
    which a seeded tenth is held out as the test set, or :class:`ParquetTable` for a Parquet file or
    folder streamed in chunks (its test metrics use a bounded sample of the test rows); the
    ``config.json`` form of one (``{"dataset": "csv", "csv": PATH, "split_seed": S}``, ...); or
    what :func:`prepare_table` returned. The schema is inferred from the whole table (a
    streamed one: from a sample), then ``overrides`` (a schema file's content) apply;
    ``on_schema`` is called with it before training, so a user can check it. ``resume`` continues
    the run from its last checkpoint. Returns ``None`` on the processes other than the global
    rank 0 of a distributed run: only rank 0 writes the run folder and evaluates.

    ``target`` names a binary or categorical column to treat as a partially observed class label
    (:class:`~vaekit.models.TargetedTabularVAE`, trained by
    :class:`~vaekit.inference.TargetColumnObjective` with ``classifier_weight`` per labelled row,
    :data:`~vaekit.runs.target.DEFAULT_TARGET_CLASSIFIER_WEIGHT` by default); its metrics then
    hold the classifier's test accuracy beside gradient boosting's.
    """
    if isinstance(data_settings, PreparedTable | PreparedStream):
        prepared = data_settings
    else:
        prepared = table_source(data_settings).for_training(train_config).prepare(overrides)
    schema, train_table, test_table = prepared.schema, prepared.train, prepared.test
    if on_schema is not None and is_global_zero() and not resume:
        on_schema(schema)
    model_class: type[VAE] = TabularVAE
    model_config: Any = TabularVAEConfig(schema=schema.to_dict(), z_dim=z_dim, hidden=hidden)
    objective = None
    extra_config: dict[str, Any] | None = None
    if target is not None:
        from vaekit.inference import TargetColumnObjective
        from vaekit.models import TargetedTabularVAE
        from vaekit.runs.target import DEFAULT_TARGET_CLASSIFIER_WEIGHT, targeted_config

        if train_config.objective != "elbo":
            raise VaekitError(
                "--target trains with the ELBO, the label summed out exactly where it is missing: "
                f"--objective {train_config.objective} is not available with it"
            )
        model_class = TargetedTabularVAE
        model_config = targeted_config(schema, target, train_table, z_dim=z_dim, hidden=hidden)
        weight = DEFAULT_TARGET_CLASSIFIER_WEIGHT if classifier_weight is None else classifier_weight
        objective = TargetColumnObjective(classifier_weight=weight, num_particles=train_config.num_particles)
        extra_config = {"classifier_weight": weight}
    elif classifier_weight is not None:
        raise VaekitError("--classifier-weight weighs the classifier of a --target column: name one")

    def fit_model(model: VAE, run_path: Path) -> FitResult:
        train_data, val_data = prepared.training_data(train_config)
        with warnings.catch_warnings():
            # A streamed table knows its number of batches per epoch exactly, whatever Lightning fears.
            warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__` defined.*")
            try:
                return fit(
                    model,
                    train_data,
                    val_data,
                    train_config,
                    run_dir=run_path,
                    resume=resume,
                    objective=objective,
                )
            except TrainingDivergedError as error:
                explained = explain_divergence(schema, train_table)
                if not explained:
                    raise
                raise TrainingDivergedError(f"{error}{explained}") from None

    run = train_run(
        model_class,
        model_config,
        train_config,
        run_dir,
        data=prepared.data_settings,
        fit_model=fit_model,
        resume=resume,
        extra_config=extra_config,
    )
    if run is None:  # another rank of a distributed run
        return None
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


#: Rows drawn from the model, at most, to find those that meet the conditions of a conditional sample.
MAX_CONDITIONAL_DRAWS = 1_000_000
#: ... or this many per row asked for, when that is more.
DRAWS_PER_ROW_ASKED = 20
#: Rows drawn at a time for a conditional sample.
CONDITIONAL_BATCH = 8192
#: Rows drawn from the joint, at most, to meet ``=`` conditions on levels exactly, before drawing the
#: rest given the cells (approximate).
MAX_EXACT_DRAWS = 200_000


def sample_rows(
    run: Run, num_rows: int, *, seed: int = 0, given: Sequence[str] = (), keep_missing: bool = False
) -> pd.DataFrame:
    """Synthetic rows with the original column names, kinds and levels.

    ``given`` holds conditions (:mod:`vaekit.runs.conditions`): ``COLUMN=VALUE`` gives a cell and
    the other cells are drawn from p(x | given cells) (z by importance resampling of the encoder's
    q(z | given cells), see :meth:`~vaekit.models.TabularVAE.conditional_sample`); ``COLUMN>VALUE``,
    ``<``, ``<=``, ``>=`` and ``!=`` keep the rows drawn that meet them. A condition that no row,
    or too few rows, of :data:`MAX_CONDITIONAL_DRAWS` drawn meet is refused as (nearly) impossible
    under the model.

    Every row meets the schema's constraints between columns (:mod:`vaekit.data.constraints`,
    declared in a schema file): rows are drawn and those that break one are turned away, with the
    same bounds and refusals as conditions.

    ``keep_missing`` gives the synthetic rows the missing cells of the training table: each row
    takes the pattern of missing cells of a training row drawn at random (seeded), so that the
    share of missing cells of each column, and which columns go missing together, are the
    table's. Columns named in ``given`` are never blanked.
    """
    if num_rows < 1:
        raise VaekitError(f"--n must be at least 1, got {num_rows}")
    schema = _schema(run)
    conditions = [parse_condition(text, schema) for text in given]
    check_consistent(conditions, len(schema.columns))
    values = _draw_rows(run, schema, num_rows, seed, conditions, given)
    if not keep_missing:
        return decode_table(schema, values)
    observed = _training_missingness(run, schema, num_rows, seed)
    for condition in conditions:
        observed[:, condition.position] = True
    return decode_table(schema, values, observed)


def _training_missingness(run: Run, schema: Schema, num_rows: int, seed: int) -> torch.Tensor:
    """Which cells of ``num_rows`` rows are present, each row's pattern that of a training row drawn
    at random: ``(num_rows, columns)`` booleans."""
    train, _ = tabular_data(run.config)
    patterns = encode_table(schema, train).observed
    if bool(patterns.all()):
        warnings.warn(
            "--keep-missing: the training table has no missing cell, so the synthetic rows have none",
            VaekitWarning,
            stacklevel=3,
        )
    chosen = np.random.default_rng(seed).integers(len(patterns), size=num_rows)
    return patterns[torch.from_numpy(chosen)].clone()


def _draw_rows(
    run: Run, schema: Schema, num_rows: int, seed: int, conditions: list[Condition], given: Sequence[str]
) -> torch.Tensor:
    """Encoded rows drawn from the model, meeting ``conditions``: ``(num_rows, columns)``.

    Rows are drawn from the model's joint and kept where they meet every condition, which gives
    exact draws of its conditional, as long as that keeps enough of them (at most
    :data:`MAX_EXACT_DRAWS` drawn). An ``=`` on a number (which no drawn row meets exactly), or on a
    level too rare for that, is met by giving the cell and drawing the others given it
    (:meth:`~vaekit.models.TabularVAE.conditional_sample`, approximate), still keeping the rows
    that meet the other conditions.
    """
    model: TabularVAE = run.model  # type: ignore[assignment]
    if not conditions and not schema.constraints:
        return model.sample(num_rows, generator=torch.Generator().manual_seed(seed))
    # Cells not given hold their family's safe fill: a value of its support, which the model may score.
    values = torch.tensor([safe_fill(spec) for spec in schema.columns], dtype=torch.float32)
    observed = torch.zeros(len(schema.columns), dtype=torch.bool)
    for condition in conditions:
        if condition.gives_the_cell:
            values[condition.position], observed[condition.position] = condition.encoded, True
    exact_possible = all(condition.on_levels or not condition.gives_the_cell for condition in conditions)
    # The modelled columns alone: constraints never name identifiers, whose fresh values cost time.
    modelled = dataclasses.replace(schema, identifiers=())

    def keep(rows: torch.Tensor) -> torch.Tensor:
        meets = torch.ones(len(rows), dtype=torch.bool)
        for condition in conditions:
            meets &= condition.holds(rows, modelled)
        if schema.constraints:  # on the rows as written: after rounding, ranges and levels' text
            meets &= torch.from_numpy(rows_meeting(schema, decode_table(modelled, rows)))
        return rows[meets]

    kept: list[torch.Tensor] = []
    found = drawn = 0
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        # Many rows asked for (a large sample under constraints most rows meet) may draw more.
        budget = max(MAX_CONDITIONAL_DRAWS, DRAWS_PER_ROW_ASKED * num_rows)
        exact_budget = MAX_EXACT_DRAWS if observed.any() else budget
        while exact_possible and found < num_rows and drawn < exact_budget:
            batch = min(CONDITIONAL_BATCH, exact_budget - drawn)
            rows = keep(model.sample(batch))
            kept.append(rows)
            found, drawn = found + len(rows), drawn + batch
        if found < num_rows and observed.any():
            shown = " ".join(repr(text) for text in given)
            if exact_possible:  # a level too rare to meet in the joint's draws: say the rest are approximate
                warnings.warn(
                    f"--given {shown}: {found:,} of {drawn:,} rows drawn from the model met the conditions; "
                    "the others are drawn given the cells (importance resampling: approximate, and closer to "
                    "one another than the model's own draws)",
                    VaekitWarning,
                    stacklevel=4,
                )
            drawn = 0
            while found < num_rows and drawn < budget:
                batch = min(CONDITIONAL_BATCH, budget - drawn)
                rows = keep(model.conditional_sample(values, observed, batch, num_proposals=4 * batch))
                kept.append(rows)
                found, drawn = found + len(rows), drawn + batch
    finally:
        torch.set_rng_state(generator_state)
    shown = _asked(given, schema)
    if found == 0:
        raise VaekitError(
            f"{shown}: none of {drawn:,} rows drawn from the model meets the conditions: they are "
            "impossible under the model (outside what it learnt of the table)"
        )
    if found < num_rows:
        raise VaekitError(
            f"{shown}: only {found:,} of {drawn:,} rows drawn from the model meet the conditions, "
            f"fewer than the {num_rows:,} asked for; ask for --n {found} or fewer, or loosen the conditions"
        )
    return torch.cat(kept)[:num_rows]


def _asked(given: Sequence[str], schema: Schema) -> str:
    """The conditions and constraints a sample is asked to meet, as messages name them."""
    parts = []
    if given:
        parts.append("--given " + " ".join(repr(text) for text in given))
    if schema.constraints:
        parts.append("the schema's constraints " + ", ".join(repr(c["text"]) for c in schema.constraints))
    return " and ".join(parts)


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


def encode_rows(run: Run, table: pd.DataFrame) -> pd.DataFrame:
    """Each row's approximate posterior q(z | the row's present cells): one row per row of ``table``.

    The columns are ``row`` (numbered from 1, as ``score`` numbers them), ``z_mean_1`` ... ``z_mean_K``
    and ``z_scale_1`` ... ``z_scale_K`` (the Normal's standard deviations), K the latent dimension. A
    row with every cell missing gets the encoder's answer to nothing, close to the prior. An output
    name that is a column of ``table`` gets a ``_`` appended (:func:`unused_name`), so that the
    result can be joined to the table without a clash.
    """
    encoded = encode_table(_schema(run), table)
    model: TabularVAE = run.model  # type: ignore[assignment]
    with torch.no_grad():
        posterior = model.encode(encoded.values, encoded.observed)
    row = unused_name("row", map(str, table.columns))
    return latent_table(posterior.mean, posterior.stddev, {row: np.arange(1, len(table) + 1)}, table.columns)


def latent_table(
    means: torch.Tensor, scales: torch.Tensor, leading: dict[str, Any], taken: Any = ()
) -> pd.DataFrame:
    """A table of latent means and scales, ``(examples, K)`` each, after the ``leading`` columns
    (named by the caller): ``z_mean_1..K`` then ``z_scale_1..K``, none of them a name in ``taken``
    or of ``leading``."""
    output: dict[str, Any] = dict(leading)
    names = {str(name) for name in taken} | set(output)
    for prefix, values in (("z_mean", means), ("z_scale", scales)):
        array = values.detach().double().cpu().numpy()
        for k in range(array.shape[1]):
            name = unused_name(f"{prefix}_{k + 1}", names)
            output[name] = array[:, k]
            names.add(name)
    return pd.DataFrame(output)


def _point_estimate(schema: Schema, predicted: torch.Tensor) -> torch.Tensor:
    """Each cell's point estimate over the draws, by its column's family: the mean for numbers, the
    most frequent level for levels (:meth:`~vaekit.models.families.ColumnFamily.point_over_draws`)."""
    from vaekit.models.families import families_in

    result = torch.empty_like(predicted[0])
    for family, index in families_in(schema):
        result[:, index] = family.point_over_draws(predicted)[:, index]
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
    source = table_source(run.config["data"])
    schema = _schema(run)
    train, test = tables or source.tables(schema)
    evaluated_on = source.evaluated_on(len(test))
    if len(test) == 0:
        # A table of fewer than 10 rows has no test split: its training rows are all there is.
        test, evaluated_on = train, source.evaluated_on(len(train), training_rows=True)
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
    truth = source.true_log_density(test)
    if truth is not None:
        metrics["true_test_log_likelihood"] = round(float(truth.mean()), 5)
        metrics["gap"] = round(float(truth.mean() - scores.mean()), 5)
        metrics["gap_standard_error"] = round(float((truth - scores).std(ddof=1) / np.sqrt(len(test))), 5)
    synthetic = model.sample(len(test), generator=torch.Generator().manual_seed(1))
    metrics.update(synthetic_distances(schema, encoded, synthetic))
    if getattr(model.config, "target", None) is not None:
        from vaekit.runs.target import target_metrics

        metrics.update(target_metrics(run, train, test))
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

    from vaekit.data.tabular import kind_named

    distances: dict[str, Any] = {}
    for j, spec in enumerate(schema.columns):
        a = real.values[real.observed[:, j], j].double().numpy()
        b = synthetic[:, j].double().numpy()
        b = b[np.isfinite(b)]
        if len(a) == 0 or len(b) == 0:
            distances[spec.name] = None
        elif kind_named(spec.kind).has_levels:
            levels = len(spec.levels)
            pa = np.bincount(a.astype(int), minlength=levels) / len(a)
            pb = np.bincount(b.astype(int), minlength=levels) / len(b)
            distances[spec.name] = {"total_variation": round(float(0.5 * np.abs(pa - pb).sum()), 4)}
        else:
            distances[spec.name] = {"kolmogorov_smirnov": round(float(ks_2samp(a, b).statistic), 4)}
    correlated = [j for j, spec in enumerate(schema.columns) if kind_named(spec.kind).correlates]
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
    from vaekit.data.tabular import kind_named
    from vaekit.evaluation.synthetic_quality import CATEGORY, NUMBER, column_distance

    train, test = tables or tabular_data(run.config)
    if len(test) == 0:
        test = train
    schema = _schema(run)
    try:
        synthetic = sample_rows(run, len(test), seed=2)
    except VaekitError as error:  # constraints the model meets too rarely: the run itself stands
        warnings.warn(f"no figures of synthetic rows: {error}", VaekitWarning, stacklevel=2)
        return {}
    written = {}
    encoded = encode_table(schema, test)
    real = decode_table(schema, encoded.values, encoded.observed)
    for spec in schema.columns:  # figures draw numbers: a datetime column's dates as days
        kind = kind_named(spec.kind)
        if not kind.has_levels:
            real[spec.name] = kind.as_numbers(spec, real[spec.name])
            synthetic[spec.name] = kind.as_numbers(spec, synthetic[spec.name])
    with_levels = {c.name for c in schema.columns if kind_named(c.kind).has_levels}
    distances = {  # so that the figure draws the worst-fitting columns first
        name: column_distance(real[name], synthetic[name], CATEGORY if name in with_levels else NUMBER)
        for name in schema.names
    }
    written["marginals"] = plots.save_figure(
        plots.column_marginals(
            real,
            synthetic,
            kinds={c.name: c.kind for c in schema.columns},
            with_levels=with_levels,
            distances=distances,
        ),
        run.figures / "marginals.png",
    )
    numeric = [c.name for c in schema.columns if not kind_named(c.kind).has_levels][:5]
    if len(numeric) >= 2:
        written["pairs"] = plots.save_figure(
            plots.pairwise_scatter(real, synthetic, numeric), run.figures / "pairs.png"
        )
    for name, (columns, title) in table_source(run.config["data"]).pair_figures.items():
        written[name] = plots.save_figure(
            plots.pairwise_scatter(real, synthetic, list(columns), title=title), run.figures / f"{name}.png"
        )
    log_path = run.path / "log.csv"
    if log_path.is_file():
        written["training_curves"] = plots.save_figure(
            plots.training_curves(pd.read_csv(log_path), title="ELBO and its terms per epoch"),
            run.figures / "training_curves.png",
        )
    return written
