"""Mixture families: a mixture of Normals (real columns) and of LogNormals (positive ones) for each
cell, trained on a column with two modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyro.distributions as dist
import pytest
import torch

from vaekit.data.tabular import decode_table, encode_table, fit_schema, infer_schema
from vaekit.heads import LogNormalMixtureHead, NormalMixtureHead
from vaekit.inference import TrainConfig, fit
from vaekit.models import TabularVAE, TabularVAEConfig
from vaekit.models.families import MIXTURE_COMPONENTS, family_named


@pytest.mark.parametrize("head_type", [NormalMixtureHead, LogNormalMixtureHead])
def test_a_mixture_head_gives_each_element_its_components(head_type):
    head = head_type(4, 3, (2,))
    params = head.project(torch.randn(5, 4))
    assert all(value.shape == (5, 2, 3) for value in params.values())
    d = head(torch.randn(5, 4))
    assert d.batch_shape == (5,) and d.event_shape == (2,)
    with pytest.raises(ValueError, match="at least 2 components"):
        head_type(4, 1)


def test_the_family_scales_every_component_to_the_columns_units():
    family = family_named("normal_mixture")
    params = {
        "logits": torch.zeros(1, 1, MIXTURE_COMPONENTS),
        "loc": torch.tensor([[[-1.0, 0.0, 1.0]]]),
        "scale": torch.full((1, 1, MIXTURE_COMPONENTS), 0.1),
    }
    d = family.distribution(params, {"center": torch.tensor([10.0]), "spread": torch.tensor([2.0])})
    components = dist.Normal(torch.tensor([8.0, 10.0, 12.0]), 0.2)
    expected = torch.logsumexp(components.log_prob(torch.tensor(12.0)) - np.log(3.0), 0)
    assert d.log_prob(torch.tensor([[12.0]])).item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_short_fit_of_a_two_mode_column_draws_both_modes_and_not_the_gap_between():
    rng = np.random.default_rng(0)
    rows = 1000
    upper = rng.random(rows) < 0.5
    table = pd.DataFrame(
        {"x": np.where(upper, rng.normal(3.0, 0.5, rows), rng.normal(-3.0, 0.5, rows)).round(3)}
    )
    schema = fit_schema(infer_schema(table, {"x": {"kind": "real", "family": "normal_mixture"}}), table)
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(32,)))
    fit(
        model,
        (encoded.values[:900], encoded.observed[:900]),
        (encoded.values[900:], encoded.observed[900:]),
        TrainConfig(epochs=15, batch_size=64, progress_bar=False),
    )
    drawn = decode_table(schema, model.sample(4000, generator=torch.Generator().manual_seed(0)))["x"]
    assert abs((drawn > 0).mean() - 0.5) < 0.08
    assert drawn.between(-1.0, 1.0).mean() < 0.03  # the data have no value there
