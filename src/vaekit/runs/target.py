"""A tabular run's target column (``vaekit train tabular --target COL``): checks, the model's
config, its accuracy beside gradient boosting, and ``vaekit predict``."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch

from vaekit.data.tabular import encode_table, kind_named
from vaekit.errors import VaekitError
from vaekit.models import TargetedTabularVAEConfig
from vaekit.models.targeted_tabular_vae import class_prior_from
from vaekit.runs.store import Run, unused_name
from vaekit.schema import Schema

#: Weight of the classification term per labelled row, log q(y | x) counted that many times beside
#: the row's ELBO: Pyro's weight for the image model (46). Not yet chosen on tables: the sweep of
#: benchmarks/tabular_target.py gave one validation accuracy for 5, 46 and 300 (README).
DEFAULT_TARGET_CLASSIFIER_WEIGHT = 46.0


def check_target(schema: Schema, target: str, table: pd.DataFrame) -> None:
    """Refuse a target column that cannot be a class label: absent, numeric, one level, no label."""
    if target not in schema.names:
        raise VaekitError(
            f"--target {target!r}: the table has no such column; its columns: {', '.join(schema.names)}"
        )
    spec = schema[target]
    if not kind_named(spec.kind).has_levels:
        raise VaekitError(
            f"--target {target!r}: a class label must be a binary or categorical column, and this one is "
            f"inferred as {spec.kind}; declare it categorical in a --schema file to predict its values "
            "as classes"
        )
    if len(spec.levels) < 2:
        raise VaekitError(
            f"--target {target!r}: the column has one level ({spec.levels[0]!r}): nothing to predict"
        )
    if len(schema.columns) < 2:
        raise VaekitError(f"--target {target!r}: the table has no other column to predict it from")
    labelled = int(table[target].notna().sum())
    if labelled == 0:
        raise VaekitError(
            f"--target {target!r}: no training row has a value in this column: nothing to learn from"
        )


def targeted_config(
    schema: Schema, target: str, table: pd.DataFrame, *, z_dim: int, hidden: tuple[int, ...]
) -> TargetedTabularVAEConfig:
    """The model config of a run with a target: p(y) from the labelled training rows' classes."""
    check_target(schema, target, table)
    encoded = encode_table(schema, table)
    position = schema.names.index(target)
    labels = encoded.values[encoded.observed[:, position], position]
    return TargetedTabularVAEConfig(
        schema=schema.to_dict(),
        target=target,
        class_prior=class_prior_from(labels, len(schema[target].levels)),
        z_dim=z_dim,
        hidden=hidden,
    )


def predict_rows(run: Run, table: pd.DataFrame) -> pd.DataFrame:
    """Each row's class probabilities under q(y | x) (the row's own target cell, if any, is not read).

    Columns: ``row`` (from 1), ``predicted`` (the most probable level), then ``p_LEVEL`` for each
    level of the target; a name that is a column of ``table`` gets a ``_`` appended. The table
    needs the model's columns other than the target (their cells may be missing).
    """
    probabilities = class_probabilities(run, table)
    target = run.model.config.target  # type: ignore[union-attr]
    schema = Schema.from_dict(run.config["model_config"]["schema"])
    taken = {str(name) for name in table.columns}
    spec = schema[target]
    # The levels as the table writes them ('Yes' for the level 'yes'), as sampled rows have them.
    written = np.asarray(spec.written_levels, dtype=object)
    output: dict[str, Any] = {}
    for name, values in (
        ("row", np.arange(1, len(table) + 1)),
        ("predicted", written[probabilities.argmax(1)]),
    ):
        output[unused_name(name, taken | set(output))] = values
    for k, level in enumerate(written):
        output[unused_name(f"p_{level}", taken | set(output))] = probabilities[:, k]
    return pd.DataFrame(output)


def class_probabilities(run: Run, table: pd.DataFrame) -> np.ndarray:
    """q(y | x) of each row of ``table``: ``(rows, levels)``."""
    model = run.model
    target = getattr(model.config, "target", None)
    if target is None:
        raise VaekitError(f"{run.path} was trained without --target: it has no class to predict")
    schema = Schema.from_dict(run.config["model_config"]["schema"])
    if target not in table.columns:
        table = table.assign(**{target: pd.Series([None] * len(table), index=table.index, dtype=object)})
    encoded = encode_table(schema, table)
    with torch.no_grad():
        return model.predict_proba(encoded.values, encoded.observed).double().numpy()  # type: ignore[operator]


def target_metrics(run: Run, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, Any]:
    """The classifier's accuracy on the labelled test rows, beside a gradient-boosting classifier
    (scikit-learn's ``HistGradientBoostingClassifier``, its defaults) fitted on the labelled
    training rows, the same rows the VAE had its labels from."""
    target = run.model.config.target  # type: ignore[union-attr]
    schema = Schema.from_dict(run.config["model_config"]["schema"])
    labelled_test = test[test[target].notna()]
    labelled_train = train[train[target].notna()]
    metrics: dict[str, Any] = {
        "target": target,
        "labelled_training_rows": len(labelled_train),
        "labelled_test_rows": len(labelled_test),
    }
    if len(labelled_test) == 0:
        return metrics
    truth = label_codes(schema, target, labelled_test)
    predicted = class_probabilities(run, labelled_test).argmax(1)
    metrics["target_accuracy"] = round(float((predicted == truth).mean()), 4)
    baseline = gradient_boosting_accuracy(schema, target, labelled_train, labelled_test)
    if baseline is not None:
        metrics["gradient_boosting_accuracy"] = round(baseline, 4)
    return metrics


def label_codes(schema: Schema, target: str, table: pd.DataFrame) -> np.ndarray:
    """The level codes of the target's cells (all present) as the model encodes them."""
    encoded = encode_table(Schema((schema[target],)), table)
    return encoded.values[:, 0].long().numpy()


def gradient_boosting_accuracy(
    schema: Schema, target: str, train: pd.DataFrame, test: pd.DataFrame
) -> float | None:
    """Test accuracy of gradient boosting on the other columns (levels as categories), trained on
    ``train``'s rows; ``None`` when they hold a single class. Every target cell must be present."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    labels = label_codes(schema, target, train)
    if len(np.unique(labels)) < 2:
        return None

    def features(frame: pd.DataFrame) -> pd.DataFrame:
        columns = {}
        for spec in schema.columns:
            if spec.name == target:
                continue
            if kind_named(spec.kind).has_levels:
                codes = encode_table(Schema((spec,)), frame)
                present = codes.observed[:, 0].numpy()
                levels = np.where(present, codes.values[:, 0].long().numpy(), -1)
                columns[spec.name] = pd.Categorical.from_codes(levels, categories=range(len(spec.levels)))
            else:
                columns[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce")
        return pd.DataFrame(columns, index=frame.index)

    classifier = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier.fit(features(train), labels)
    return float((classifier.predict(features(test)) == label_codes(schema, target, test)).mean())
