"""The tabular VAE with a target column (M2 for tables): its story, its guide, its classifier."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyro
import pytest
import torch
from pyro.infer import TraceEnum_ELBO

from vaekit.data.tabular import encode_table, fit_schema, infer_schema
from vaekit.inference import TargetColumnObjective, TrainConfig, fit
from vaekit.models import TargetedTabularVAE, TargetedTabularVAEConfig
from vaekit.models.targeted_tabular_vae import class_prior_from


def _table(rows: int = 900, seed: int = 0) -> pd.DataFrame:
    """Three classes that shift two numbers and mostly set a level: learnable from the other columns."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    return pd.DataFrame(
        {
            "x1": rng.normal(2.0 * y, 0.7),
            "x2": rng.normal(-1.5 * y, 0.7),
            "c": np.where(rng.random(rows) < 0.7, np.array(["a", "b", "c"])[y], "d"),
            "y": np.array(["lo", "mid", "hi"])[y],
        }
    )


def _model(table: pd.DataFrame, **changes) -> tuple[TargetedTabularVAE, object]:
    schema = fit_schema(infer_schema(table), table)
    torch.manual_seed(0)
    config = TargetedTabularVAEConfig(schema=schema.to_dict(), target="y", **changes)
    return TargetedTabularVAE(config), encode_table(schema, table)


def test_a_labelled_rows_enumerated_elbo_is_its_elbo_with_the_label_observed():
    model, encoded = _model(_table(5))
    values, observed = encoded.values[:1], encoded.observed[:1]
    draws = 4000
    pyro.set_rng_seed(0)
    enumerated = -TraceEnum_ELBO(max_plate_nesting=1, num_particles=draws, vectorize_particles=True).loss(
        model.model, model.guide, values, observed
    )
    # By hand: E_q(z | x, y)[log p(x | z, y) + log p(y) + log p(z) - log q(z | x, y)], y the row's label.
    with torch.no_grad():
        _, _, label, _ = model.split(values, observed)
        q = model.encode_given(values, observed, label)
        z = q.sample((draws,))
        rest, rest_observed, _, _ = model.split(values, observed)
        log_likelihood = sum(
            (
                d.log_prob(model.decoder_heads.observations(family, rest))
                * rest_observed[..., model.decoder_heads.index(family)]
            ).sum(-1)
            for family, d in model.column_distributions(z, label.expand(draws, 1)).items()
        )
        by_hand = (
            log_likelihood
            + model.label_prior().log_prob(label)
            + model.prior((1,)).log_prob(z)
            - q.log_prob(z)
        ).mean()
    assert enumerated == pytest.approx(float(by_hand), abs=0.05)


def test_an_unlabelled_rows_elbo_sums_the_classes_under_the_classifier():
    table = _table(5)
    model, encoded = _model(table)
    values, observed = encoded.values[:1], encoded.observed[:1].clone()
    observed[0, model.target_index] = False
    draws = 3000
    pyro.set_rng_seed(0)
    enumerated = -TraceEnum_ELBO(max_plate_nesting=1, num_particles=draws, vectorize_particles=True).loss(
        model.model, model.guide, values, observed
    )
    with torch.no_grad():
        q_y = model.classify(values, observed).probs[0]
        per_class = []
        for k in range(3):
            labelled = observed.clone()
            labelled[0, model.target_index] = True
            given = values.clone()
            given[0, model.target_index] = k
            per_class.append(
                -TraceEnum_ELBO(max_plate_nesting=1, num_particles=draws, vectorize_particles=True).loss(
                    model.model, model.guide, given, labelled
                )
            )
        by_hand = sum(float(q_y[k]) * (per_class[k] - math.log(float(q_y[k]))) for k in range(3))
    assert enumerated == pytest.approx(by_hand, abs=0.08)


def test_the_classifier_never_reads_the_target_cell():
    model, encoded = _model(_table(50))
    values = encoded.values.clone()
    changed = values.clone()
    changed[:, model.target_index] = (changed[:, model.target_index] + 1) % 3
    assert torch.equal(
        model.predict_proba(values, encoded.observed), model.predict_proba(changed, encoded.observed)
    )


def test_samples_and_conditional_samples_hold_valid_labels_and_keep_a_given_one():
    model, encoded = _model(_table(50))
    rows = model.sample(500)
    labels = rows[:, model.target_index]
    assert set(labels.unique().tolist()) <= {0.0, 1.0, 2.0}
    given = encoded.values[0].clone()
    present = torch.zeros_like(encoded.observed[0])
    given[model.target_index], present[model.target_index] = 2.0, True
    drawn = model.conditional_sample(given, present, 200)
    assert (drawn[:, model.target_index] == 2.0).all()
    predictive = model.posterior_predictive(encoded.values[:7], encoded.observed[:7], num_draws=3)
    assert predictive.shape == (3, 7, 4)
    assert torch.equal(
        predictive[:, :, model.target_index], encoded.values[:7, model.target_index].expand(3, 7)
    )


def test_ten_percent_of_labels_train_a_classifier_far_above_chance():
    table = _table(1500, seed=1)
    rng = np.random.default_rng(1)
    partly = table.copy()
    partly.loc[rng.random(len(table)) < 0.9, "y"] = np.nan
    schema = fit_schema(infer_schema(partly), partly)
    encoded = encode_table(schema, partly)
    target = schema.names.index("y")
    config = TargetedTabularVAEConfig(
        schema=schema.to_dict(),
        target="y",
        class_prior=class_prior_from(encoded.values[encoded.observed[:, target], target], 3),
    )
    torch.manual_seed(0)
    model = TargetedTabularVAE(config)
    train = (encoded.values[:1200], encoded.observed[:1200])
    validation = (encoded.values[1200:], encoded.observed[1200:])
    result = fit(
        model,
        train,
        validation,
        TrainConfig(epochs=15, batch_size=128, progress_bar=False),
        objective=TargetColumnObjective(classifier_weight=46.0),
    )
    assert "val_accuracy" in result.history[-1]
    full = encode_table(schema, table)
    predicted = model.predict_proba(full.values[1200:], full.observed[1200:]).argmax(-1)
    accuracy = (predicted == full.values[1200:, target].long()).float().mean()
    assert accuracy > 0.8  # chance is 1/3; the columns determine the class to about 0.95


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": "x1"}, "binary or categorical"),
        ({"target": "nope"}, "not a column"),
        ({"target": "y", "class_prior": (0.5, 0.5)}, "one positive probability per level"),
        ({"target": "y", "class_prior": (0.5, 0.5, 0.5)}, "sum to 1"),
    ],
)
def test_a_bad_config_is_refused(changes, message):
    table = _table(20)
    schema = fit_schema(infer_schema(table), table)
    with pytest.raises(ValueError, match=message):
        TargetedTabularVAEConfig(schema=schema.to_dict(), **changes)
