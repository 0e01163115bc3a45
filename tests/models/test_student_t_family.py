"""A likelihood family added from the test suite alone: Student-t for real columns.

Nothing in vaekit knows this family. The fixture registers it with one call and removes it
afterwards; a schema then names it for one column, and a tabular VAE trains, scores, samples,
imputes and is saved and reloaded with it, through the same code as the built-in families.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine
from pyro.distributions import constraints

from vaekit.data.tabular import encode_table, fit_schema, infer_schema
from vaekit.heads import DistributionHead
from vaekit.inference import TrainConfig, fit
from vaekit.models import TabularVAE, TabularVAEConfig
from vaekit.models.families import ScalarFamily, register_family, registered_families, unregister_family
from vaekit.runs import load_run
from vaekit.runs.tabular import impute_rows, sample_rows, train_tabular
from vaekit.schema import FAMILIES, ColumnSpec


class StudentTHead(DistributionHead):
    """StudentT(df, loc, scale): df and scale in R+, loc in R."""

    param_constraints = {
        "df": constraints.softplus_positive,
        "loc": constraints.real,
        "scale": constraints.softplus_positive,
    }

    def make_distribution(self, df: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> dist.StudentT:
        return dist.StudentT(df, loc, scale)


class StudentTFamily(ScalarFamily):
    """Heavy-tailed real columns: StudentT(2 + df, center + spread * loc, spread * scale)."""

    name, kind, safe_fill = "student_t", "real", 0.0

    def make_head(self, in_features, columns):
        return StudentTHead(in_features, (len(columns),))

    def distribution(self, params, constants):
        center, spread = constants["center"], constants["spread"]
        # Above 2 degrees of freedom the mean (the point estimate) and the variance are finite.
        return dist.StudentT(2.0 + params["df"], center + spread * params["loc"], spread * params["scale"])


@pytest.fixture
def student_t():
    family = register_family(StudentTFamily())
    yield family
    unregister_family(family.name)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _heavy_tailed_table(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    loc = rng.normal(size=rows)
    return pd.DataFrame(
        {
            "returns": loc + rng.standard_t(3, size=rows),
            "level": loc * 2 + rng.normal(size=rows),
            "visits": rng.poisson(3, size=rows),
            "colour": rng.choice(["red", "green", "blue"], size=rows),
        }
    )


# visits, a few-valued count, would be inferred ordinal: declared a count, for a Poisson site beside.
_OVERRIDES = {"returns": {"kind": "real", "family": "student_t"}, "visits": {"kind": "count"}}


def test_the_fixture_registers_the_family_for_real_columns_and_removes_it(student_t):
    assert FAMILIES["real"] == ("normal", "normal_mixture", "student_t")
    assert registered_families()[-1] is student_t
    assert ColumnSpec("r", "real", "student_t").family == "student_t"


def test_without_the_fixture_a_schema_cannot_name_the_family():
    assert "student_t" not in FAMILIES["real"]
    with pytest.raises(Exception, match="family 'student_t' does not fit kind 'real'"):
        ColumnSpec("r", "real", "student_t")


def test_a_tabular_vae_trains_with_the_family_and_samples_finite_values(student_t):
    table = _heavy_tailed_table()
    schema = fit_schema(infer_schema(table, _OVERRIDES), table)
    assert [c.family for c in schema.columns] == ["student_t", "normal", "poisson", "categorical"]
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(16,)))
    assert "decoder_heads.student_t.projection.weight" in model.state_dict()

    guide = poutine.trace(model.guide).get_trace(encoded.values[:8], encoded.observed[:8])
    trace = poutine.trace(poutine.replay(model.model, trace=guide)).get_trace(
        encoded.values[:8], encoded.observed[:8]
    )
    student = trace.nodes["x_student_t"]
    assert student["is_observed"]
    assert student["fn"].batch_shape == (8,) and student["fn"].event_shape == (1,)
    likelihood = student["fn"]
    while hasattr(likelihood, "base_dist"):  # under the event and mask wrappers
        likelihood = likelihood.base_dist
    assert isinstance(likelihood, dist.StudentT)

    train, val = slice(0, 160), slice(160, 200)
    result = fit(
        model,
        (encoded.values[train], encoded.observed[train]),
        (encoded.values[val], encoded.observed[val]),
        TrainConfig(epochs=3, batch_size=32, lr=3e-3, progress_bar=False),
    )
    elbos = [row["val_elbo"] for row in result.history]
    assert len(elbos) == 3 and np.isfinite(elbos).all()

    samples = model.sample(300, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (300, 4) and torch.isfinite(samples).all()
    # Draws of a Student-t column are real numbers, not a copy of another family's cells.
    assert samples[:, 0].unique().numel() == 300
    cells = model.column_log_likelihood(encoded.values[val], encoded.observed[val])
    assert torch.isfinite(cells).all() and (cells[:, 0] != 0).all()
    predicted = model.posterior_predictive(encoded.values[val], encoded.observed[val], num_draws=3)
    assert predicted.shape == (3, 40, 4) and torch.isfinite(predicted).all()


def test_a_run_trains_evaluates_imputes_and_reloads_with_the_family(student_t, tmp_path):
    path = tmp_path / "table.csv"
    _heavy_tailed_table().to_csv(path, index=False)
    run = train_tabular(
        {"dataset": "csv", "csv": str(path), "split_seed": 0},
        TrainConfig(epochs=2, batch_size=64, progress_bar=False),
        tmp_path / "run",
        z_dim=2,
        hidden=(16,),
        overrides=_OVERRIDES,
        iw_samples=10,
        progress=False,
    )
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert np.isfinite(metrics["test_log_likelihood"])
    assert set(metrics["synthetic_vs_test"]["returns"]) == {"kolmogorov_smirnov"}

    reloaded = load_run(run.path)
    assert reloaded.model.decoder_heads.families == ["normal", "poisson", "categorical", "student_t"]
    synthetic = sample_rows(reloaded, 50, seed=1)
    assert np.isfinite(synthetic["returns"].to_numpy(dtype=float)).all()
    holes = _heavy_tailed_table(10)
    holes.loc[[2, 5], "returns"] = np.nan
    filled = impute_rows(reloaded, holes)
    assert filled["returns"].notna().all()
    assert filled.loc[[0, 1], "returns"].tolist() == holes.loc[[0, 1], "returns"].tolist()
