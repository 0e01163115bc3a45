"""The sequence VAE: padding contributes nothing, per-step parameters in their domains, it learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from pyro import poutine
from sklearn.datasets import load_digits

from vaekit import TermwiseELBO
from vaekit.data.sequences import encode_sequences, resolve_columns, sequence_schema
from vaekit.inference import TrainConfig, fit
from vaekit.models import SequenceVAE, SequenceVAEConfig

#: Every kind, with a second family for the kinds that have one.
KINDS = {
    "real": {"kind": "real"},
    "gamma": {"kind": "positive"},
    "lognormal": {"kind": "positive", "family": "lognormal"},
    "poisson": {"kind": "count"},
    "negbin": {"kind": "count", "family": "negative_binomial"},
    "flag": {"kind": "binary"},
    "colour": {"kind": "categorical"},
    "size": {"kind": "categorical"},
}


def _mixed_sequences(sequences: int = 12, seed: int = 0):
    """Sequences of 2 to 6 steps with a column of every family and a few missing cells."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(sequences):
        for t in range(int(rng.integers(2, 7))):
            rows.append(
                {
                    "id": f"s{s}",
                    "t": t,
                    "real": rng.normal(3, 2),
                    "gamma": rng.gamma(2, 1.5),
                    "lognormal": rng.lognormal(0, 1),
                    "poisson": rng.poisson(3),
                    "negbin": rng.poisson(8),
                    "flag": rng.choice(["yes", "no"]),
                    "colour": rng.choice(["red", "green", "blue"]),
                    "size": rng.choice(["s", "m", "l", "xl"]),
                }
            )
    table = pd.DataFrame(rows).astype(str)
    table.loc[::5, "real"] = ""
    columns = resolve_columns(table, "id", "t")
    schema = sequence_schema(table, columns, KINDS)
    return schema, encode_sequences(schema, table, columns)


def _model(schema, **kwargs) -> SequenceVAE:
    torch.manual_seed(0)
    return SequenceVAE(SequenceVAEConfig(schema.to_dict(), **{"z_dim": 3, "hidden": 16, **kwargs}))


def _per_sequence_log_likelihood(model, z, values, observed, lengths) -> torch.Tensor:
    """log p(x | z) of each sequence, from the model's own sites, for a fixed z."""
    conditioned = poutine.condition(model.model, data={"z": z})
    trace = poutine.trace(conditioned).get_trace(values, observed, lengths)
    total = torch.zeros(values.shape[0])
    for site in trace.nodes.values():
        if site["type"] == "sample" and site["is_observed"]:
            total = total + site["fn"].log_prob(site["value"])
    return total


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_sequence_scores_the_same_in_a_padded_batch_as_alone(cell):
    schema, data = _mixed_sequences()
    model = _model(schema, cell=cell)
    assert len(set(data.lengths.tolist())) > 2
    z = torch.randn(len(data), 3)
    batched = _per_sequence_log_likelihood(model, z, data.values, data.observed, data.lengths)
    posterior = model.encode(data.values, data.observed, data.lengths)
    for i, length in enumerate(data.lengths.tolist()):
        one = (data.values[i : i + 1, :length], data.observed[i : i + 1, :length], data.lengths[i : i + 1])
        alone = _per_sequence_log_likelihood(model, z[i : i + 1], *one)
        torch.testing.assert_close(batched[i : i + 1], alone)
        alone_posterior = model.encode(*one)
        torch.testing.assert_close(posterior.mean[i : i + 1], alone_posterior.mean)
        torch.testing.assert_close(posterior.stddev[i : i + 1], alone_posterior.stddev)


def test_what_the_padded_steps_hold_changes_nothing():
    schema, data = _mixed_sequences()
    model = _model(schema)
    padding = torch.arange(data.values.shape[1])[None, :] >= data.lengths[:, None]
    scrambled = data.values.clone()
    # Values of each family's support, but not those the data layer padded with.
    scrambled[padding] = torch.tensor([7.0, 3.0, 3.0, 9.0, 9.0, 1.0, 2.0, 3.0])
    elbo = TermwiseELBO()
    torch.manual_seed(1)
    reference = elbo(model.model, model.guide, data.values, data.observed, data.lengths)
    torch.manual_seed(1)
    changed = elbo(model.model, model.guide, scrambled, data.observed, data.lengths)
    torch.testing.assert_close(changed.loss, reference.loss)
    # Without the lengths and with the padding marked observed, the same values do count.
    torch.manual_seed(1)
    unmasked = elbo(model.model, model.guide, scrambled, torch.ones_like(data.observed), None)
    assert not torch.isclose(unmasked.loss, reference.loss)


def test_one_site_per_family_holding_all_steps_and_columns():
    schema, data = _mixed_sequences()
    model = _model(schema)
    guide = poutine.trace(model.guide).get_trace(data.values, data.observed, data.lengths)
    trace = poutine.trace(poutine.replay(model.model, trace=guide)).get_trace(
        data.values, data.observed, data.lengths
    )
    observed = {
        name: site for name, site in trace.nodes.items() if site["type"] == "sample" and site["is_observed"]
    }
    families = {"normal", "gamma", "lognormal", "poisson", "negative_binomial", "bernoulli", "categorical"}
    assert set(observed) == {f"x_{family}" for family in families}
    steps = data.values.shape[1]
    for name, site in observed.items():
        columns = 2 if name == "x_categorical" else 1
        assert site["fn"].batch_shape == (len(data),)
        assert site["fn"].event_shape == (steps, columns)


def test_the_decoders_per_step_parameters_land_in_their_domains():
    schema, data = _mixed_sequences()
    model = _model(schema)
    z = 4.0 * torch.randn(50, 3)  # far into the tails of the prior as well
    steps = 9
    distributions = model.step_distributions(z, steps)
    for family, d in distributions.items():
        count = 2 if family == "categorical" else 1
        assert d.batch_shape == (50, steps, count), family
        params = {name: getattr(d, name) for name in d.arg_constraints if name in d.__dict__}
        for name, value in params.items():
            assert torch.isfinite(value).all(), (family, name)
            assert d.arg_constraints[name].check(value).all(), (family, name)
    assert (distributions["normal"].scale > 0).all()
    assert (distributions["gamma"].concentration > 0).all() and (distributions["gamma"].rate > 0).all()
    assert (distributions["poisson"].rate > 0).all()
    assert (distributions["negative_binomial"].total_count > 0).all()
    probabilities = distributions["categorical"].probs
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(50, steps, 2))
    # colour has 3 levels, size 4: the padding level of colour gets no probability.
    assert probabilities[..., 0, 3].max() < 1e-30
    draws = model.sample(50, steps, generator=torch.Generator().manual_seed(0))
    assert draws.shape == (50, steps, len(schema.columns))
    names = schema.names
    assert (draws[..., names.index("gamma")] > 0).all() and (draws[..., names.index("lognormal")] > 0).all()
    for name in ("poisson", "negbin"):
        counts = draws[..., names.index(name)]
        assert (counts >= 0).all() and (counts == counts.round()).all()
    assert set(draws[..., names.index("flag")].unique().tolist()) <= {0.0, 1.0}
    assert set(draws[..., names.index("colour")].unique().tolist()) <= {0.0, 1.0, 2.0}


def test_generating_without_data_needs_a_length():
    schema, _ = _mixed_sequences()
    model = _model(schema)
    trace = poutine.trace(model.model).get_trace(num_samples=4, num_steps=5)
    assert trace.nodes["x_normal"]["value"].shape == (4, 5, 1)
    with pytest.raises(ValueError, match="num_samples and num_steps"):
        model.model(num_samples=4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"z_dim": 0}, "z_dim"),
        ({"hidden": 0}, "hidden"),
        ({"cell": "rnn"}, "cell must be one of gru, lstm"),
        ({"num_layers": 0}, "num_layers"),
    ],
)
def test_config_refuses_unbuildable_settings(kwargs, match):
    schema, _ = _mixed_sequences(3)
    with pytest.raises(ValueError, match=match):
        SequenceVAEConfig(schema.to_dict(), **kwargs)


def _digits_rows(count: int):
    """scikit-learn's digits as sequences: each image is 8 steps (rows) of 8 features (ink counts)."""
    images = load_digits().data[:count].reshape(-1, 8, 8)
    table = pd.DataFrame(
        [
            {"id": i, "row": t, **{f"c{j}": image[t, j] for j in range(8)}}
            for i, image in enumerate(images)
            for t in range(8)
        ]
    )
    columns = resolve_columns(table, "id", "row")
    schema = sequence_schema(table, columns)
    return schema, encode_sequences(schema, table, columns)


@pytest.fixture
def one_thread():
    """Small recurrent steps run fastest on one thread, and far slower on a shared, busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_elbo_improves_on_real_sequences(one_thread):
    schema, data = _digits_rows(1200)
    model = _model(schema, z_dim=8, hidden=32)
    train, val = data.subset(range(1000)), data.subset(range(1000, 1200))
    result = fit(
        model,
        (train.values, train.observed, train.lengths),
        (val.values, val.observed, val.lengths),
        TrainConfig(epochs=8, batch_size=32, lr=2e-3, progress_bar=False),
    )
    history = [row["val_elbo"] for row in result.history]
    assert np.isfinite(history).all()
    # Noise tolerant: the mean of the last epochs is well above the first.
    assert np.mean(history[-3:]) > history[0] + 15, history
