"""The tabular VAE: one site per family, masked cells ignored exactly, parameters in their domains."""

from __future__ import annotations

import pandas as pd
import pyro
import pytest
import torch
from pyro import poutine

from vaekit import TermwiseELBO
from vaekit.data.tabular import encode_table, fit_schema, infer_schema
from vaekit.models import TabularVAE, TabularVAEConfig


def _mixed_table(rows: int = 40) -> pd.DataFrame:
    generator = torch.Generator().manual_seed(0)
    u = torch.rand(rows, 6, generator=generator)
    return pd.DataFrame(
        {
            "real": (u[:, 0] * 10 - 5).tolist(),
            "positive": (u[:, 1] * 3 + 0.1).tolist(),
            "count": (u[:, 2] * 9).round().tolist(),
            "flag": (u[:, 3] > 0.5).long().tolist(),
            "colour": ["red", "green", "blue"] * (rows // 3) + ["red"] * (rows % 3),
            "size": ["s", "m", "l", "xl"] * (rows // 4) + ["s"] * (rows % 4),
        }
    )


def _model_and_data(overrides=None, missing: float = 0.0):
    table = _mixed_table()
    schema = fit_schema(infer_schema(table, overrides), table)
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=3, hidden=(16,)))
    observed = encoded.observed & (
        torch.rand(encoded.observed.shape, generator=torch.Generator().manual_seed(1)) >= missing
    )
    return model, encoded.values, observed, schema


@pytest.mark.parametrize(
    ("overrides", "families"),
    [
        (None, {"normal", "gamma", "poisson", "bernoulli", "categorical"}),
        (
            {
                "positive": {"kind": "positive", "family": "lognormal"},
                "count": {"kind": "count", "family": "negative_binomial"},
            },
            {"normal", "lognormal", "negative_binomial", "bernoulli", "categorical"},
        ),
    ],
)
def test_one_sample_site_per_family_with_batched_columns(overrides, families):
    model, values, observed, schema = _model_and_data(overrides)
    guide_trace = poutine.trace(model.guide).get_trace(values, observed)
    trace = poutine.trace(poutine.replay(model.model, trace=guide_trace)).get_trace(values, observed)
    sites = {name for name, site in trace.nodes.items() if site["type"] == "sample" and site["is_observed"]}
    assert sites == {f"x_{family}" for family in families}
    categorical = trace.nodes["x_categorical"]["fn"]
    assert categorical.event_shape == (2,) and categorical.batch_shape == (40,)
    pyro.util.check_model_guide_match(trace, guide_trace)


def test_many_columns_of_one_family_are_still_one_site():
    table = pd.DataFrame({f"c{j}": torch.randn(30).tolist() for j in range(50)})
    schema = fit_schema(infer_schema(table), table)
    encoded = encode_table(schema, table)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(8,)))
    trace = poutine.trace(model.model).get_trace(encoded.values, encoded.observed)
    observed_sites = [n for n, s in trace.nodes.items() if s["type"] == "sample" and s["is_observed"]]
    assert observed_sites == ["x_normal"]
    assert trace.nodes["x_normal"]["fn"].event_shape == (50,)


def test_masked_cells_do_not_change_the_loss():
    model, values, observed, _ = _model_and_data(missing=0.3)
    assert (~observed).any()
    changed = values.clone()
    # Another value of each column's support (the next row's) in the missing cells: the loss must not notice.
    shifted = values.roll(1, dims=0)
    changed[~observed] = shifted[~observed]
    assert not torch.equal(changed, values)
    pyro.set_rng_seed(0)
    first = TermwiseELBO()(model.model, model.guide, values, observed).loss
    pyro.set_rng_seed(0)
    second = TermwiseELBO()(model.model, model.guide, changed, observed).loss
    assert torch.equal(first, second)
    pyro.set_rng_seed(0)
    unmasked = TermwiseELBO()(model.model, model.guide, changed, torch.ones_like(observed))
    assert not torch.equal(first, unmasked.loss)


def test_column_parameters_land_in_their_domains():
    model, values, observed, _ = _model_and_data()
    z = torch.randn(7, 40, 3) * 5
    for family, d in model.column_distributions(z).items():
        for name, constraint in d.arg_constraints.items():
            if name in ("probs", "logits") and family in ("bernoulli", "categorical") and name == "probs":
                continue
            value = getattr(d, name)
            assert constraint.check(value).all(), (family, name)


def test_imputation_keeps_observed_cells_and_fills_the_others():
    model, values, observed, _ = _model_and_data(missing=0.3)
    predicted = model.posterior_predictive(values, observed, num_draws=3)
    assert predicted.shape == (3, 40, 6)
    drawn = model.posterior_predictive(values, observed, num_draws=2, point=False)
    assert torch.isfinite(drawn).all()


def test_samples_cover_every_column_in_its_support():
    model, _, _, schema = _model_and_data()
    rows = model.sample(200, generator=torch.Generator().manual_seed(0))
    assert rows.shape == (200, len(schema.columns))
    names = schema.names
    assert (rows[:, names.index("positive")] > 0).all()
    counts = rows[:, names.index("count")]
    assert (counts >= 0).all() and torch.equal(counts, counts.round())
    assert set(rows[:, names.index("colour")].tolist()) <= {0.0, 1.0, 2.0}  # never a padding level
    assert set(rows[:, names.index("flag")].tolist()) <= {0.0, 1.0}


def test_log_likelihoods_are_in_the_columns_original_units():
    # Rescaling a real and a positive column by 10 changes each of their cells' density by exactly
    # -log(10): the network works in standardised units and the model maps back to the original ones.
    generator = torch.Generator().manual_seed(0)
    table = pd.DataFrame(
        {
            "real": (torch.randn(50, generator=generator) * 3 - 1).tolist(),
            "positive": (torch.rand(50, generator=generator) * 4 + 0.2).tolist(),
        }
    )
    scaled = table * 10
    per_cell = []
    for data in (table, scaled):
        schema = fit_schema(infer_schema(data), data)
        encoded = encode_table(schema, data)
        torch.manual_seed(0)
        model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(8,)))
        torch.manual_seed(1)
        per_cell.append(model.column_log_likelihood(encoded.values, encoded.observed))
    assert torch.allclose(per_cell[1], per_cell[0] - torch.log(torch.tensor(10.0)), atol=1e-4)
