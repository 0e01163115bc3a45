"""Column kinds as registered objects: each one's inference, fitting, encoding and decoding, and a
kind added from the test suite alone (proportions, with a Beta likelihood), trained end to end."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyro.distributions as dist
import pytest
import torch
from pyro.distributions import constraints

from vaekit.data.column_kinds import find_spikes, grid_step
from vaekit.data.tabular import (
    NumberKind,
    ValueCheck,
    decode_table,
    encode_table,
    fit_schema,
    infer_schema,
    kind_named,
    register_kind,
    registered_kinds,
    unregister_kind,
)
from vaekit.errors import DataError, VaekitWarning
from vaekit.heads import DistributionHead
from vaekit.inference import TrainConfig, fit
from vaekit.models import TabularVAE, TabularVAEConfig
from vaekit.models.families import ScalarFamily, register_family, unregister_family
from vaekit.schema import FAMILIES, KINDS, family_declaration

# One column a kind is inferred for, with a missing cell; every registered kind needs a row here.
EXAMPLES = {
    "real": [-1.5, 2.25, None, 0.0, 3.5],
    "positive": [0.5, 2.25, None, 7.0, 1.5],
    "count": [0, 3, None, 2, 1],  # variance about the mean: a Poisson's
    "binary": ["yes", "no", None, "no", "yes"],
    "categorical": ["red", "green", None, "blue", "red"],
    # Few values, each seen 5 times or more: levels.
    "ordinal": [6, 12, None] + [6, 12, 24] * 10,
    # Numbers >= 0, at least 20% of them exactly 0, and the positive ones more than a few values.
    "nonnegative": [0.0, 0.0, None] + [0.0] * 20 + [0.25 * k for k in range(1, 21)],
    "datetime": ["2024-01-05", "2024-03-10", None, "2023-12-31", "2024-02-29"],
    # More than 15 distinct values, one of them far more common than its neighbours: a spike.
    "spiked": [40.0, 40.0, None] + [40.0] * 10 + [1.5 * k for k in range(1, 21)],
}


def test_every_registered_kind_has_an_example_and_families():
    assert {kind.name for kind in registered_kinds()} == set(EXAMPLES)
    assert set(KINDS) == set(EXAMPLES)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_inference_fitting_encoding_and_decoding_round_trip(name):
    table = pd.DataFrame({"c": pd.Series(EXAMPLES[name], dtype=object)})
    schema = fit_schema(infer_schema(table), table)
    spec = schema.columns[0]
    assert spec.kind == name and spec.family == FAMILIES[name][0]
    encoded = encode_table(schema, table)
    assert encoded.observed[:, 0].tolist() == [cell is not None for cell in EXAMPLES[name]]
    # The missing cell holds the family's safe fill.
    assert encoded.values[2, 0].item() == family_declaration(spec.family).safe_fill
    decoded = decode_table(schema, encoded.values, encoded.observed)["c"]
    expected = pd.Series(EXAMPLES[name], dtype=object)
    present = expected.notna()
    assert decoded[~present].isna().all()
    assert [str(v) for v in decoded[present]] == [str(v) for v in expected[present]]
    assert kind_named(name).has_levels == bool(spec.levels)


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        ([0, 1, 1, 0], "binary"),  # also whole numbers >= 0: binary is tried before count
        ([0, 2, 5, 1], "count"),  # also > 0 but for one: count before positive
        ([1, 2, 5, 3], "count"),  # all > 0 too
        ([1.5, 2, 5, 3], "positive"),
        (["true", "false", "true", "TRUE"], "binary"),
        (["a", "b", "c", "a"], "categorical"),
    ],
)
def test_the_first_kind_in_inference_order_that_claims_a_column_wins(cells, kind):
    assert infer_schema(pd.DataFrame({"c": cells})).columns[0].kind == kind


def test_a_numeric_column_with_a_stray_word_is_claimed_by_no_kind_and_named():
    with pytest.raises(DataError, match="text 'oops' in numeric column 'c' at row 10"):
        infer_schema(pd.DataFrame({"c": [str(v) for v in range(9)] + ["oops"] + [str(v) for v in range(10)]}))


# --- a kind from the test suite alone -------------------------------------------------------------------


def _logit(values):
    return np.log(values) - np.log1p(-values)


class ProportionKind(NumberKind):
    """Numbers strictly between 0 and 1, standardised on the logit scale; only taken when a schema
    file names it (no inference rank), so inference of other columns stays as it is."""

    name = "proportion"

    def value_checks(self, values: np.ndarray, single: np.ndarray) -> list[ValueCheck]:
        return [((values <= 0) | (values >= 1), "a value outside (0, 1) (the column holds proportions)")]

    def model_scale(self, values: np.ndarray) -> np.ndarray:
        return _logit(values[(values > 0) & (values < 1)])


class BetaHead(DistributionHead):
    param_constraints = {
        "concentration1": constraints.softplus_positive,
        "concentration0": constraints.softplus_positive,
    }

    def make_distribution(self, concentration1, concentration0):
        return dist.Beta(concentration1, concentration0)


class BetaFamily(ScalarFamily):
    name, kind, safe_fill, default_for_kind = "beta", "proportion", 0.5, True

    def make_head(self, in_features, columns):
        return BetaHead(in_features, (len(columns),))

    def distribution(self, params, constants):
        return dist.Beta(params["concentration1"], params["concentration0"])

    def standard_scale(self, values):
        return torch.logit(values.clamp(1e-6, 1 - 1e-6))


@pytest.fixture
def proportions():
    kind, family = register_kind(ProportionKind()), register_family(BetaFamily())
    yield kind, family
    unregister_family(family.name)
    unregister_kind(kind.name)


def test_without_the_fixture_the_kind_is_unknown():
    assert "proportion" not in KINDS
    with pytest.raises(DataError, match="unknown kind 'proportion'"):
        infer_schema(pd.DataFrame({"c": [0.5]}), {"c": {"kind": "proportion"}})


def test_a_kind_added_by_the_tests_is_checked_encoded_and_trained(proportions):
    rng = np.random.default_rng(0)
    share = rng.beta(2, 5, size=120)
    table = pd.DataFrame({"share": share, "size": share * 10 + rng.normal(size=120)})
    schema = fit_schema(infer_schema(table, {"share": {"kind": "proportion"}}), table)
    assert [(c.kind, c.family) for c in schema.columns] == [("proportion", "beta"), ("real", "normal")]
    assert schema.columns[0].center == pytest.approx(_logit(share).mean())
    with pytest.raises(DataError, match="a value outside \\(0, 1\\) .* at row 2"):
        encode_table(schema, pd.DataFrame({"share": [0.5, 1.5], "size": [1.0, 2.0]}))

    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(16,)))
    result = fit(
        model,
        (encoded.values[:100], encoded.observed[:100]),
        (encoded.values[100:], encoded.observed[100:]),
        TrainConfig(epochs=2, batch_size=25, progress_bar=False),
    )
    assert np.isfinite([row["val_elbo"] for row in result.history]).all()
    sampled = decode_table(schema, model.sample(200, generator=torch.Generator().manual_seed(0)))
    assert ((sampled["share"] > 0) & (sampled["share"] < 1)).all()


# --- real tables: levels, ranges and decimals, spikes at zero --------------------------------------------


def _loan_terms(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "term": rng.choice([6, 12, 24, 36, 48, 60], rows),
            "amount": rng.gamma(4.0, 250.0, rows).round(2),
            "debt": np.where(rng.random(rows) < 0.6, 0.0, rng.lognormal(7.0, 1.0, rows).round(2)),
        }
    )


def test_few_valued_numbers_are_ordinal_and_decode_only_to_their_own_values():
    table = _loan_terms()
    schema = fit_schema(infer_schema(table), table)
    spec = schema["term"]
    assert (spec.kind, spec.family) == ("ordinal", "ordinal")
    assert spec.levels == ("6", "12", "24", "36", "48", "60")  # in numeric order, not text order
    # Whatever code a model draws, the value is one of the seen ones, as an integer.
    decoded = decode_table(schema.__class__((spec,)), np.arange(-2, 9, dtype=float)[:, None])["term"]
    assert decoded.dtype.kind == "i" and set(decoded) <= {6, 12, 24, 36, 48, 60}


def test_over_dispersed_counts_get_a_negative_binomial_that_a_schema_can_override():
    """Issue 16: visits to a doctor (mostly 0-3, a few of 30 and more) were all Poisson, whose
    variance is its mean."""
    rng = np.random.default_rng(0)
    visits = rng.negative_binomial(1, 0.2, size=500)  # mean 4, variance 20
    calm = rng.poisson(4, size=500)
    table = pd.DataFrame({"visits": visits, "calm": calm})
    schema = infer_schema(table)
    assert schema["visits"].family == "negative_binomial" and schema["calm"].family == "poisson"
    assert "negative_binomial" in schema.describe()
    declared = infer_schema(table, {"visits": {"kind": "count", "family": "poisson"}})
    assert declared["visits"].family == "poisson"


def test_few_values_without_enough_repeats_stay_a_count_and_ordinal_can_be_overridden():
    few_rows = pd.DataFrame({"c": [0, 2, 5, 1, 2, 0, 3, 1]})  # 5 values, each under 5 times
    assert infer_schema(few_rows).columns[0].kind == "count"
    # A count whose largest values are rare is a count, even with few distinct values.
    tail = pd.DataFrame({"c": [0] * 40 + [1] * 30 + [2] * 20 + [3] * 8 + [4] * 2})
    assert infer_schema(tail).columns[0].kind == "count"
    table = _loan_terms()
    assert infer_schema(table, {"term": {"kind": "count"}})["term"].kind == "count"


def test_declared_ordinal_levels_keep_their_order_and_name_a_cell_outside_them():
    table = pd.DataFrame({"size": ["low", "high", "mid", None, "low"]})
    declared = {"size": {"kind": "ordinal", "levels": ["low", "mid", "high"]}}
    schema = fit_schema(infer_schema(table, declared), table)
    assert schema["size"].levels == ("low", "mid", "high")
    assert encode_table(schema, table).values[:3, 0].tolist() == [0.0, 2.0, 1.0]
    with pytest.raises(DataError, match="level 'huge' of column 'size' at row 2 was never seen"):
        fit_schema(infer_schema(table, declared), pd.DataFrame({"size": ["low", "huge"]}))


def test_fitting_records_range_and_decimals_and_decoding_keeps_to_them():
    table = _loan_terms()
    schema = fit_schema(infer_schema(table), table)
    amount = schema["amount"]
    assert (amount.lower, amount.upper) == (table["amount"].min(), table["amount"].max())
    assert amount.decimals == 2
    drawn = np.array([[-50.0], [523.456789], [1e9]])
    decoded = decode_table(schema.__class__((amount,)), drawn)["amount"].to_numpy()
    assert decoded.tolist() == [amount.lower, 523.46, amount.upper]
    assert "range" in schema.describe() and "2 decimals" in schema.describe()


def test_whole_numbers_stay_whole_and_a_declared_range_wins():
    table = pd.DataFrame({"delta": [-3, 4, -1, 7, 2, 0, 5, -6, 1, 9, 11, -2, 3, 8, 4, 13]})
    schema = fit_schema(infer_schema(table, {"delta": {"kind": "real", "min": -5, "max": 10}}), table)
    spec = schema["delta"]
    assert (spec.lower, spec.upper, spec.decimals) == (-5.0, 10.0, 0)
    decoded = decode_table(schema, np.array([[-7.2], [2.6], [30.0]]))["delta"]
    assert decoded.dtype.kind == "i" and decoded.tolist() == [-5, 3, 10]


def test_a_spec_saved_without_range_or_decimals_decodes_as_before():
    old = fit_schema(infer_schema(_loan_terms()), _loan_terms()).to_dict()
    for column in old["columns"]:
        for key in ("lower", "upper", "decimals", "format"):
            column.pop(key)
    from vaekit.schema import Schema

    amount = Schema.from_dict(old)["amount"]
    assert (amount.lower, amount.upper, amount.decimals) == (None, None, None)
    drawn = np.array([[-50.0], [123.456789]])
    assert decode_table(Schema((amount,)), drawn)["amount"].tolist() == [-50.0, 123.456789]


def test_a_column_mostly_exactly_zero_is_nonnegative_with_a_spike_and_slab():
    table = _loan_terms()
    schema = fit_schema(infer_schema(table), table)
    debt = schema["debt"]
    assert (debt.kind, debt.family) == ("nonnegative", "zero_lognormal")
    # Centre and spread of the logarithm of the positive values, which the slab models.
    positive = table["debt"][table["debt"] > 0]
    assert debt.center == pytest.approx(np.log(positive).mean())
    assert infer_schema(table, {"debt": {"kind": "real"}})["debt"].kind == "real"
    with pytest.raises(DataError, match="negative value .* at row 2"):
        encode_table(schema, table.assign(debt=[0.0, -1.0] + [0.0] * (len(table) - 2)))


def test_a_short_fit_reproduces_the_share_of_zeros_and_keeps_samples_in_range():
    table = _loan_terms(600)
    schema = fit_schema(infer_schema(table), table)
    encoded = encode_table(schema, table)
    torch.manual_seed(0)
    model = TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(32,)))
    fit(
        model,
        (encoded.values[:500], encoded.observed[:500]),
        (encoded.values[500:], encoded.observed[500:]),
        TrainConfig(epochs=15, batch_size=64, progress_bar=False),
    )
    sampled = decode_table(schema, model.sample(2000, generator=torch.Generator().manual_seed(0)))
    share = (table["debt"] == 0).mean()
    assert abs((sampled["debt"] == 0).mean() - share) < 0.1
    for name in ("amount", "debt"):
        assert sampled[name].between(table[name].min(), table[name].max()).all()
        assert (sampled[name] == sampled[name].round(2)).all()
    assert set(sampled["term"]) <= set(table["term"])


def test_a_number_an_ordinal_column_never_saw_is_read_as_the_nearest_level_with_a_warning():
    table = _loan_terms()
    schema = fit_schema(infer_schema(table), table)
    rows = table.head(3).assign(term=[7, 1000, 24])
    with pytest.warns(
        VaekitWarning, match="column 'term' holds 2 value\\(s\\) training never saw, first '7' at row 1"
    ):
        encoded = encode_table(schema, rows)
    assert [schema["term"].levels[int(code)] for code in encoded.values[:, 0]] == ["6", "60", "24"]


def test_dates_and_times_round_trip_in_their_own_format_and_stay_in_range():
    table = pd.DataFrame(
        {
            "day": ["2024-01-05", "2024-03-10", "2023-12-31", "2024-02-29"],
            "stamp": [
                "2024-01-05T10:11:12",
                "2024-01-05T23:59:59",
                "2024-01-10T00:00:00",
                "2024-02-01T01:02:03",
            ],
        }
    )
    schema = fit_schema(infer_schema(table), table)
    assert [(c.kind, c.family, c.format) for c in schema.columns] == [
        ("datetime", "datetime_normal", "%Y-%m-%d"),
        ("datetime", "datetime_normal", "%Y-%m-%dT%H:%M:%S"),
    ]
    encoded = encode_table(schema, table)
    pd.testing.assert_frame_equal(decode_table(schema, encoded.values), table)
    # Any drawn number is a date of the column's range, written as a date alone (or to the second).
    drawn = decode_table(schema, np.array([[-500.0, 0.123456], [3.4, 1e6]]))
    assert drawn["day"].tolist() == ["2023-12-31", "2024-01-03"]
    assert drawn["stamp"].tolist() == ["2024-01-05T13:08:59", "2024-02-01T01:02:03"]
    assert "range 2023-12-31..2024-03-10, format %Y-%m-%d" in schema.describe()


def test_mixed_date_formats_are_read_with_a_warning_naming_the_column():
    table = pd.DataFrame({"when": ["2024-01-05", "2024-01-06 10:00", "2024-01-07", "2024-01-08"]})
    with pytest.warns(
        VaekitWarning, match="datetime column 'when' mixes 2 formats .* written back as %Y-%m-%d;"
    ):
        schema = fit_schema(infer_schema(table), table)
    assert decode_table(schema, encode_table(schema, table).values)["when"].tolist()[:2] == [
        "2024-01-05",
        "2024-01-06",
    ]


def test_a_cell_that_is_no_iso_date_in_a_datetime_column_is_named():
    schema = fit_schema(
        infer_schema(pd.DataFrame({"d": ["2024-01-05", "2024-01-06"]})),
        pd.DataFrame({"d": ["2024-01-05", "2024-01-06"]}),
    )
    with pytest.raises(
        DataError, match="column 'd' holds '05/01/2024' at row 2, which is not an ISO 8601 date"
    ):
        encode_table(schema, pd.DataFrame({"d": ["2024-01-07", "05/01/2024"]}))


# --- spikes at round numbers, numbers on a grid ----------------------------------------------------------


def _education(rows: int = 2000) -> pd.DataFrame:
    """Years of schooling as surveys record them: a spike at 12 and at 16 beside a spread of 0..20."""
    rng = np.random.default_rng(0)
    smooth = np.clip(np.round(rng.normal(12.0, 3.5, rows)), 0, 20)
    years = np.where(rng.random(rows) < 0.35, 12.0, np.where(rng.random(rows) < 0.15, 16.0, smooth))
    return pd.DataFrame({"education": years.astype(int)})


def test_round_numbers_far_above_their_neighbours_are_spikes_and_a_smooth_mode_is_not():
    education = _education()["education"].to_numpy(dtype=float)
    assert find_spikes(education) == (12.0, 16.0)
    rng = np.random.default_rng(1)
    # A smooth count's most common value is barely above its neighbours; a grid's values are even.
    assert find_spikes(rng.poisson(20.0, 5000).astype(float)) == ()
    assert find_spikes(rng.choice(np.arange(0.0, 370.0, 10.0), 5000)) == ()
    # Values under 5% of the cells are no spike, however far above their neighbours.
    rare = np.concatenate([rng.normal(0.0, 1.0, 1000), [7.0] * 40])
    assert find_spikes(rare) == ()


def test_a_column_with_spikes_is_spiked_its_centre_that_of_the_rest_and_a_schema_can_override():
    table = _education()
    schema = fit_schema(infer_schema(table), table)
    spec = schema["education"]
    assert (spec.kind, spec.family, spec.spikes) == ("spiked", "spiked_normal", (12.0, 16.0))
    rest = table["education"][~table["education"].isin([12, 16])]
    assert spec.center == pytest.approx(rest.mean()) and spec.spread == pytest.approx(rest.std(ddof=0))
    assert "spikes at 12, 16" in schema.describe()
    assert infer_schema(table, {"education": {"kind": "count"}})["education"].kind == "count"
    declared = fit_schema(infer_schema(table, {"education": {"kind": "spiked", "spikes": [12.0]}}), table)
    assert declared["education"].spikes == (12.0,)
    with pytest.raises(DataError, match="spikes are declared, but only a spiked column"):
        infer_schema(table, {"education": {"kind": "count", "spikes": [12.0]}})


def test_values_on_a_grid_record_its_step_and_decode_onto_it():
    assert grid_step(np.arange(0.0, 370.0, 10.0), 0) == 10.0
    assert grid_step(np.arange(30) * 1.15078, 5) == pytest.approx(1.15078)
    assert grid_step(np.arange(30.0), 0) is None  # the step of the decimals themselves
    assert grid_step(np.arange(0.0, 90.0, 10.0), 0) is None  # 9 values: too few to tell
    assert grid_step(np.arange(0.0, 370.0, 10.0), None) is None
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"wind_dir": rng.choice(np.arange(0, 370, 10), 500)})
    schema = fit_schema(infer_schema(table), table)
    assert schema["wind_dir"].step == 10.0 and "steps of 10" in schema.describe()
    drawn = decode_table(schema, torch.tensor([[13.7], [16.0], [355.0], [-4.0]]))["wind_dir"]
    assert drawn.tolist() == [10, 20, 360, 0]
    # A declared step of 0 turns the grid off.
    off = fit_schema(infer_schema(table, {"wind_dir": {"kind": "count", "step": 0}}), table)
    assert off["wind_dir"].step is None
    assert decode_table(off, torch.tensor([[13.7]]))["wind_dir"].tolist() == [14]


def test_rounding_never_adds_to_a_spike_and_a_drawn_spike_is_written_as_itself():
    table = _education()
    spec = fit_schema(infer_schema(table), table)["education"]
    kind = kind_named("spiked")
    # 12 drawn as a spike stays 12; 11.6 and 12.4 drawn from the Normal would round to 12: they go to
    # the whole number on their own side, as the values off the spikes never hold 12.
    drawn = np.array([12.0, 11.6, 12.4, 13.2, 15.7, 16.3])
    assert kind.written_values(spec, drawn).tolist() == [12.0, 11.0, 13.0, 13.0, 15.0, 17.0]
    # Above the end of the range, clipping would bring the value back onto the spike: the inner side.
    top = replace(spec, spikes=(spec.upper,))
    assert kind.written_values(top, np.array([spec.upper + 0.3, spec.upper])).tolist() == [
        spec.upper - 1,
        spec.upper,
    ]
    # A spike that 32-bit floats cannot hold exactly comes back as the column's own number.
    odd = replace(spec, spikes=(0.1234567,), decimals=None)
    assert kind.written_values(odd, np.array([np.float32(0.1234567)], dtype=float)).tolist() == [0.1234567]
    smooth = pd.DataFrame({"x": np.arange(40.0)})
    with pytest.warns(VaekitWarning, match="'x' is declared spiked, but no value of it is a spike"):
        assert fit_schema(infer_schema(smooth, {"x": {"kind": "spiked"}}), smooth)["x"].spikes == ()


def test_a_grid_keeps_to_a_declared_range_and_its_own_decimals():
    table = pd.DataFrame({"a": np.random.default_rng(0).choice(np.arange(0, 370, 10), 500)})
    schema = fit_schema(infer_schema(table, {"a": {"kind": "real", "min": 5.0, "step": 10.0}}), table)
    # The declared min 5 is off the grid: values stay on it, from 10.
    assert decode_table(schema, torch.tensor([[1.0], [4.0], [360.0]]))["a"].tolist() == [10, 10, 360]
    fine = fit_schema(infer_schema(table, {"a": {"kind": "real", "step": 0.1}}), table)
    assert fine["a"].decimals == 1  # the whole numbers of the data, the step's one decimal
    assert decode_table(fine, torch.tensor([[0.3], [2.26]]))["a"].tolist() == [0.3, 2.3]
    with pytest.raises(DataError, match="step 2.5 is no multiple of the declared 0 decimal"):
        infer_schema(table, {"a": {"kind": "real", "step": 2.5, "decimals": 0}})
    dates = pd.DataFrame({"d": ["2024-01-01", "2024-01-08"]})
    with pytest.raises(DataError, match="a datetime column has no grid of numbers"):
        infer_schema(dates, {"d": {"kind": "datetime", "step": 7.0}})


def test_a_positive_column_of_narrow_spread_gets_a_lognormal_and_a_wide_one_the_gamma():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"pressure": rng.normal(1013.0, 7.5, 400).round(1), "wage": rng.lognormal(2.0, 0.7, 400)}
    )
    schema = infer_schema(table)
    assert (schema["pressure"].kind, schema["pressure"].family) == ("positive", "lognormal")
    assert (schema["wage"].kind, schema["wage"].family) == ("positive", "gamma")
    declared = infer_schema(table, {"pressure": {"kind": "positive", "family": "gamma"}})
    assert declared["pressure"].family == "gamma"
