"""Spikes at round numbers: the SpikedNormal distribution, its head, and the spiked_normal family
trained on a column with spikes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from vaekit.data.tabular import decode_table, encode_table, fit_schema, infer_schema
from vaekit.distributions import SpikedNormal
from vaekit.heads import SpikedNormalHead
from vaekit.inference import TrainConfig, fit
from vaekit.models import TabularVAE, TabularVAEConfig


def _spiked(logits=(0.0, 1.0, 2.0)):
    """Spikes at 12 and 16 (the first logits), a Normal(10, 2) for the rest (the last)."""
    return SpikedNormal(
        torch.tensor(logits), torch.tensor([12.0, 16.0]), torch.tensor(10.0), torch.tensor(2.0)
    )


def test_a_spike_scores_its_probability_and_any_other_value_the_rest_times_the_normal_density():
    d = _spiked()
    weights = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), -1)
    assert d.log_prob(torch.tensor(12.0)).item() == pytest.approx(math.log(weights[0]))
    assert d.log_prob(torch.tensor(16.0)).item() == pytest.approx(math.log(weights[1]))
    normal = torch.distributions.Normal(10.0, 2.0).log_prob(torch.tensor(11.0)).item()
    assert d.log_prob(torch.tensor(11.0)).item() == pytest.approx(math.log(weights[2]) + normal)
    # Only the spike itself meets it: a value a hair off is scored by the Normal.
    near = torch.distributions.Normal(10.0, 2.0).log_prob(torch.tensor(12.001)).item()
    assert d.log_prob(torch.tensor(12.001)).item() == pytest.approx(math.log(weights[2]) + near)
    assert d.mean.item() == pytest.approx((weights[0] * 12 + weights[1] * 16 + weights[2] * 10).item())


def test_draws_hit_each_spike_as_often_as_its_probability():
    torch.manual_seed(0)
    draws = _spiked().sample((20_000,))
    weights = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), -1)
    assert (draws == 12.0).float().mean().item() == pytest.approx(weights[0].item(), abs=0.01)
    assert (draws == 16.0).float().mean().item() == pytest.approx(weights[1].item(), abs=0.01)
    rest = draws[(draws != 12.0) & (draws != 16.0)]
    assert rest.mean().item() == pytest.approx(10.0, abs=0.1) and rest.std().item() == pytest.approx(
        2.0, abs=0.1
    )


def test_a_padding_spike_is_never_drawn_and_no_value_meets_it():
    d = SpikedNormal(
        torch.zeros(2, 3),
        torch.tensor([[1.0, 2.0], [5.0, 0.0]]),
        torch.zeros(2),
        torch.ones(2),
        torch.tensor([[True, True], [True, False]]),
    )
    # The padding spike at 0 of the second column: 0 is scored by the Normal, with half the mass.
    expected = math.log(0.5) + torch.distributions.Normal(0.0, 1.0).log_prob(torch.tensor(0.0)).item()
    assert d.log_prob(torch.tensor([2.0, 0.0]))[1].item() == pytest.approx(expected, abs=1e-4)
    torch.manual_seed(0)
    draws = d.sample((5000,))
    assert (draws[:, 1] == 5.0).float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert not (draws[:, 1] == 0.0).any()


def test_the_head_projects_one_logit_per_spike_and_one_for_the_rest():
    head = SpikedNormalHead(
        4, torch.tensor([[0.0, 1.0], [2.0, 2.0]]), (2,), torch.tensor([[True, True], [True, False]])
    )
    params = head.project(torch.randn(3, 4))
    assert params["logits"].shape == (3, 2, 3) and params["loc"].shape == (3, 2)
    d = head(torch.randn(3, 4))
    assert d.batch_shape == (3,) and d.event_shape == (2,)
    assert "spikes" not in head.state_dict()  # rebuilt from the schema, never stored
    with pytest.raises(ValueError, match="at least one spike"):
        SpikedNormalHead(4, torch.zeros(2, 0), (2,))


def test_a_short_fit_draws_the_spikes_as_often_as_the_data_hold_them():
    rng = np.random.default_rng(0)
    rows = 900
    hours = np.where(rng.random(rows) < 0.45, 40.0, np.clip(np.round(rng.normal(35.0, 10.0, rows)), 1, 80))
    table = pd.DataFrame({"hours": hours, "wage": np.exp(rng.normal(2.5, 0.4, rows)).round(2)})
    schema = fit_schema(infer_schema(table), table)
    assert (schema["hours"].kind, schema["hours"].spikes) == ("spiked", (40.0,))
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(32,)))
    fit(
        model,
        (encoded.values[:800], encoded.observed[:800]),
        (encoded.values[800:], encoded.observed[800:]),
        TrainConfig(epochs=15, batch_size=64, progress_bar=False),
    )
    sampled = decode_table(schema, model.sample(4000, generator=torch.Generator().manual_seed(0)))["hours"]
    share = (table["hours"] == 40).mean()
    assert abs((sampled == 40).mean() - share) < 0.05
    # The rest stays a spread of whole numbers in range, not a second spike.
    assert sampled.between(table["hours"].min(), table["hours"].max()).all()
    assert (sampled != 40).mean() > 0.4 and sampled[sampled != 40].nunique() > 20
