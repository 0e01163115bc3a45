"""The tabular VAE from pandas: fit on a DataFrame, then sample, score, impute and encode DataFrames.

:class:`TabularModel` wraps a tabular run folder, the same one ``vaekit train tabular`` writes: the
DataFrame it is fitted on is written into the folder (``table.csv``) and trained on as a CSV file,
so that the command line's ``evaluate``, ``sample``, ``score``, ``impute`` and ``encode`` work on
the folder too, and :meth:`TabularModel.load` reads back a folder either of them wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vaekit._io import atomic_write_json
from vaekit.errors import VaekitError
from vaekit.models import TabularVAE
from vaekit.runs.defaults import TABULAR_DEFAULTS, default_train_config
from vaekit.runs.folder import LOCK, PREVIOUS, TABLE_FILE
from vaekit.runs.store import Run, load_run
from vaekit.runs.table_sources import CsvTable
from vaekit.runs.tabular import (
    default_epochs,
    encode_rows,
    impute_rows,
    sample_rows,
    score_rows,
    train_tabular,
)

#: Importance samples per row for the test metrics of a fit and for :meth:`TabularModel.score`: fewer
#: than the command line's 1,000, since a DataFrame fit is often one of many (cross-validation).
FRAME_IW_SAMPLES = 100


class TabularModel:
    """A tabular VAE fitted on a DataFrame, used on DataFrames.

    Build one with :meth:`fit` or :meth:`load`. Its run folder is :attr:`path` (a temporary folder,
    removed with the object, when :meth:`fit` was given no ``run_dir``; :meth:`save` copies it).
    """

    def __init__(self, run: Run, *, temporary: tempfile.TemporaryDirectory[str] | None = None) -> None:
        if not isinstance(run.model, TabularVAE):
            raise VaekitError(f"{run.path} holds a {type(run.model).__name__}, not a TabularVAE")
        self.run = run
        # Holds the temporary run folder for as long as the model lives.
        self._temporary = temporary

    @property
    def path(self) -> Path:
        """The run folder."""
        return self.run.path

    @property
    def columns(self) -> list[str]:
        """The columns the model holds, in order (a column of identifiers is left out of the model)."""
        return [column["name"] for column in self.run.config["model_config"]["schema"]["columns"]]

    @property
    def metrics(self) -> dict[str, Any]:
        """The run's metrics: training figures, and the test log-likelihood on a seeded tenth of the rows."""
        return dict(self.run.metrics)

    @classmethod
    def fit(
        cls,
        table: pd.DataFrame,
        *,
        epochs: int | None = None,
        z_dim: int = TABULAR_DEFAULTS["z_dim"],
        hidden: Sequence[int] = TABULAR_DEFAULTS["hidden"],
        batch_size: int = TABULAR_DEFAULTS["batch_size"],
        seed: int = 0,
        run_dir: str | Path | None = None,
        schema: Mapping[str, Any] | None = None,
        progress: bool = False,
    ) -> TabularModel:
        """Train a tabular VAE on ``table`` (missing cells: NaN or None) and return it.

        As ``vaekit train tabular --csv`` does: column kinds are inferred (``schema`` overrides
        them, as a schema file's content: ``{"age": "count"}``), a seeded tenth of the rows is held
        out for the test metrics and the rest trains the model, with the command's defaults but for
        the arguments given (``epochs=None``: as many as give about
        :data:`~vaekit.runs.defaults.TABULAR_STEP_BUDGET` steps, at most 600). ``run_dir``
        names a new or empty folder to write the run to (a temporary
        one when ``None``).
        """
        _check_frame(table)
        temporary = None
        if run_dir is None:
            temporary = tempfile.TemporaryDirectory(prefix="vaekit-")
            folder = Path(temporary.name) / "run"
        else:
            folder = Path(run_dir)
            if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
                raise VaekitError(f"run_dir {folder} is not an empty folder; name a new one")
        folder.mkdir(parents=True, exist_ok=True)
        data_file = folder / TABLE_FILE
        table.to_csv(data_file, index=False)
        with contextlib.ExitStack() as stack:
            if not progress:
                stack.enter_context(_quiet_lightning())
            overrides = dict(schema) if schema is not None else None
            prepared = CsvTable(str(data_file.resolve()), seed).prepare(overrides)
            train_config = default_train_config(batch_size=batch_size, seed=seed, progress_bar=progress)
            if epochs is None:
                epochs = default_epochs(prepared, train_config)
            run = train_tabular(
                prepared,
                dataclasses.replace(train_config, epochs=epochs),
                folder,
                z_dim=z_dim,
                hidden=tuple(hidden),
                overrides=overrides,
                iw_samples=FRAME_IW_SAMPLES,
                figures=False,
                progress=progress,
            )
        if run is None:  # another process of a distributed run: only the first one writes
            raise VaekitError("TabularModel.fit trains in one process; use vaekit train for distributed runs")
        return cls(run, temporary=temporary)

    @classmethod
    def load(cls, path: str | Path) -> TabularModel:
        """The model of a tabular run folder (written by :meth:`save`, :meth:`fit` or ``vaekit train``)."""
        return cls(load_run(path))

    def save(self, path: str | Path) -> Path:
        """Copy the run folder, with the table it was fitted on, to ``path`` (a new or empty folder)."""
        target = Path(path)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise VaekitError(f"{target} is not an empty folder; name a new one to save to")
        if target.resolve() == self.path.resolve():
            raise VaekitError(f"{target} is the model's own run folder")
        if target.exists():
            target.rmdir()
        # The marker travels with the copy (a later --force may replace it); a lock or an old run does not.
        shutil.copytree(self.path, target, ignore=shutil.ignore_patterns(LOCK, PREVIOUS))
        data = self.run.config.get("data", {})
        if data.get("dataset") == "csv" and Path(data["csv"]).resolve() == (self.path / TABLE_FILE).resolve():
            # The copy trains, evaluates and resumes from its own copy of the table (same bytes, same hash).
            config = json.loads((target / "config.json").read_text())
            config["data"]["csv"] = str((target / TABLE_FILE).resolve())
            atomic_write_json(target / "config.json", config)
        return target

    def sample(self, n: int, *, seed: int = 0, given: Sequence[str] = ()) -> pd.DataFrame:
        """``n`` synthetic rows; ``given`` holds conditions such as ``"city=Oslo"`` or ``"age>=65"``
        (see :func:`vaekit.runs.tabular.sample_rows`)."""
        return sample_rows(self.run, n, seed=seed, given=given)

    def score(self, table: pd.DataFrame, *, iw_samples: int = FRAME_IW_SAMPLES) -> pd.Series:
        """Each row's importance-weighted log-likelihood of its present cells, in nats, indexed as
        ``table``."""
        self._check_columns(table)
        scores = score_rows(self.run, table, iw_samples=iw_samples)
        return pd.Series(scores.astype(float), index=table.index, name="log_likelihood")

    def impute(self, table: pd.DataFrame, *, draws: int = 1, seed: int = 0) -> pd.DataFrame:
        """``table`` with its missing cells filled; present cells stay as they are.

        ``draws=1`` fills each cell with its point estimate (the mean for numbers, the most probable
        level) and keeps ``table``'s index; ``draws=K`` stacks K multiple imputations numbered in an
        ``imputation`` column (see :func:`vaekit.runs.tabular.impute_rows`).
        """
        self._check_columns(table)
        filled = impute_rows(self.run, table, draws=draws, seed=seed)
        # Filling goes through object columns: give numbers back their numeric types.
        filled = filled.infer_objects()
        if draws == 1:
            filled.index = table.index
        return filled

    def encode(self, table: pd.DataFrame) -> pd.DataFrame:
        """Each row's q(z | its present cells): ``z_mean_1..K`` and ``z_scale_1..K``, indexed as ``table``."""
        self._check_columns(table)
        latent = encode_rows(self.run, table)
        latent = latent.drop(columns=latent.columns[0])  # the row number: the index says it
        latent.index = table.index
        return latent

    def _check_columns(self, table: pd.DataFrame) -> None:
        _check_frame(table)
        missing = [name for name in self.columns if name not in table.columns]
        if missing:
            raise VaekitError(f"the DataFrame lacks these columns of the model: {', '.join(missing)}")

    def __repr__(self) -> str:
        return f"TabularModel({len(self.columns)} columns, run folder {self.path})"


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning logs its hardware and tips at INFO on every fit: silence them for a quiet fit (a
    cross-validation fits many times), as the command line does."""
    import lightning  # noqa: F401 - its package sets its loggers' levels when imported

    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*litlogger.*")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _check_frame(table: Any) -> None:
    if not isinstance(table, pd.DataFrame):
        raise VaekitError(f"expected a pandas DataFrame, got a {type(table).__name__}")
    names = list(table.columns)
    if not all(isinstance(name, str) for name in names):
        raise VaekitError("the DataFrame's column names must be strings")
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise VaekitError(f"the DataFrame repeats column names: {', '.join(repeated)}")
    if len(table) == 0:
        raise VaekitError("the DataFrame has no rows")


__all__ = ["TabularModel", "FRAME_IW_SAMPLES"]
