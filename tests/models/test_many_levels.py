"""The many_levels family: categorical columns of many levels, embedded for the encoder
(models/families.py, models/columns.py), and its inference (data/column_kinds.py)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from vaekit.data.column_kinds import MANY_LEVELS
from vaekit.data.tabular import encode_table, fit_schema, infer_schema
from vaekit.inference import TrainConfig, fit
from vaekit.models import TabularVAE, TabularVAEConfig
from vaekit.models.columns import ColumnFeatures, ColumnHeads
from vaekit.models.families import MAX_EMBEDDING_WIDTH, embedding_width
from vaekit.schema import Schema

REGIONS = ("north", "south", "east")


def _cities(rows: int, levels: int, seed: int) -> pd.DataFrame:
    """A city among ``levels`` (each in one region, fixed by its number) and the region it lies in."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, levels, rows)
    return pd.DataFrame(
        {
            "city": [f"city-{c:04d}" for c in city],
            "region": [REGIONS[c % 3] for c in city],
            "income": np.round(rng.normal(30 + 10 * (city % 3), 3), 1),
        }
    )


def _schema(table: pd.DataFrame, overrides: dict | None = None) -> Schema:
    return fit_schema(infer_schema(table, overrides), table)


def test_a_column_of_more_than_the_threshold_levels_is_inferred_many_levels():
    wide = _schema(_cities(2_000, MANY_LEVELS + 20, 0))
    assert [c.family for c in wide.columns][:2] == ["many_levels", "categorical"]
    assert "many_levels" in wide.describe()  # printed with the schema
    narrow = _schema(_cities(2_000, 60, 0))  # 60 levels, each seen: one-hot as before
    assert narrow.columns[0].family == "categorical"
    # A schema file may name either family for a categorical column, whatever its levels.
    declared = _schema(_cities(2_000, 60, 0), {"city": {"kind": "categorical", "family": "many_levels"}})
    assert declared.columns[0].family == "many_levels"


def test_the_embedding_width_grows_with_the_levels_and_is_bounded():
    widths = [embedding_width(levels) for levels in (2, 10, 101, 1_000, 4_000, 100_000)]
    assert widths == sorted(widths) and widths[0] >= 2
    assert widths[-1] == widths[-2] == MAX_EMBEDDING_WIDTH


def test_neither_the_encoder_inputs_nor_the_other_heads_grow_with_a_columns_levels():
    table = _cities(20_000, 4_000, 0)
    embedded, one_hot = (
        _schema(table),
        _schema(table, {"city": {"kind": "categorical", "family": "categorical"}}),
    )
    assert len(embedded.columns[0].levels) > 3_900
    features = ColumnFeatures(embedded)
    # 32 inputs for the city (its embedding), 3 for the region's one-hot levels, 1 for income.
    assert features.value_features_count == MAX_EMBEDDING_WIDTH + 3 + 1
    # One-hot, every level column of the block is as wide as the widest: city and region 4,000 each.
    assert ColumnFeatures(one_hot).value_features_count == 2 * len(one_hot.columns[0].levels) + 1
    # The region's head keeps its 3 levels instead of being padded to the city's.
    heads = ColumnHeads(embedded, 8)
    distributions = heads(torch.zeros(2, 8))
    assert distributions["categorical"].logits.shape == (2, 1, 3)
    assert distributions["many_levels"].logits.shape == (2, 1, len(embedded.columns[0].levels))


def test_encoder_inputs_are_a_learned_vector_per_level_and_zero_where_missing():
    schema = _schema(_cities(2_000, 300, 0))
    features = ColumnFeatures(schema)
    encoded = encode_table(schema, _cities(6, 300, 1))
    values, observed = encoded.values, encoded.observed.clone()
    values[1, 0] = values[0, 0]  # rows 0 and 1 share a city
    values[2, 0] = (values[0, 0] + 1) % 300
    observed[3, 0] = False
    width = embedding_width(300)
    city = features.value_features(values, observed)[:, -width:]  # embeddings come last
    assert torch.equal(city[0], city[1]) and not torch.equal(city[0], city[2])
    assert (city[3] == 0).all() and (city[0] != 0).any()
    # The vectors are parameters: a loss on row 0 moves its level's vector and no other level's.
    city[0].sum().backward()
    gradient = features.encoder_modules["many_levels"].weight.grad
    assert set(torch.nonzero(gradient.abs().sum(-1)).flatten().tolist()) == {int(values[0, 0])}


def _trained(table: pd.DataFrame, overrides: dict | None = None) -> tuple[TabularVAE, Schema]:
    schema = _schema(table, overrides)
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=4, hidden=(32,)))
    split = len(table) * 9 // 10
    fit(
        model,
        (encoded.values[:split], encoded.observed[:split]),
        (encoded.values[split:], encoded.observed[split:]),
        TrainConfig(epochs=12, batch_size=128, lr=1e-2, progress_bar=False),
    )
    return model, schema


def test_the_encoder_learns_from_the_levels_what_they_tell_of_the_other_columns():
    levels = 150
    model, schema = _trained(_cities(3_000, levels, 0))
    assert schema.columns[0].family == "many_levels"
    # The region of held-out rows is missing: only the embedded city tells the encoder which it is.
    held_out = encode_table(schema, _cities(600, levels, 1))
    observed = held_out.observed.clone()
    observed[:, 1] = False
    torch.manual_seed(0)
    draws = model.posterior_predictive(held_out.values, observed, num_draws=32)[:, :, 1]
    accuracy = float((draws.mode(0).values == held_out.values[:, 1]).float().mean())
    assert accuracy > 0.8  # chance: a third; measured 0.93 (one-hot inputs 0.96)


def test_a_model_with_embedded_levels_reloads_from_its_weights_alone_and_draws_known_levels(tmp_path):
    model, schema = _trained(_cities(1_000, 120, 0))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    assert any(key.startswith("column_features.encoder_modules.many_levels") for key in model.state_dict())
    reloaded = TabularVAE(model.config)
    reloaded.load_state_dict(torch.load(buffer, weights_only=True))
    encoded = encode_table(schema, _cities(50, 120, 2))
    assert torch.equal(
        model.encode(encoded.values, encoded.observed).mean,
        reloaded.encode(encoded.values, encoded.observed).mean,
    )
    draws = model.sample(500, generator=torch.Generator().manual_seed(0))
    assert ((draws[:, 0] >= 0) & (draws[:, 0] < len(schema.columns[0].levels))).all()


@pytest.mark.parametrize("cell", ["", None])
def test_a_missing_cell_of_a_many_level_column_is_partially_observed(cell):
    table = _cities(400, 120, 0).astype({"city": object})
    table.loc[5, "city"] = cell
    schema = _schema(table)
    encoded = encode_table(schema, table)
    assert not bool(encoded.observed[5, 0]) and bool(encoded.observed[6, 0])
