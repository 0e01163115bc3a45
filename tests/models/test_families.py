"""The contract of every registered likelihood family, and of the registry itself.

The table-driven tests run over whatever is registered when the suite is collected, so a family
added to vaekit is checked here without a line of this file changing.
"""

from __future__ import annotations

import pytest
import torch

from vaekit.data.tabular import kind_named
from vaekit.models.columns import ColumnFeatures, ColumnHeads
from vaekit.models.families import (
    EMBEDDED_INPUTS,
    INDICATOR_INPUTS,
    LEVEL_INPUTS,
    NUMBER_INPUTS,
    NormalFamily,
    family_named,
    register_family,
    registered_families,
    unregister_family,
)
from vaekit.schema import FAMILIES, KINDS, ColumnSpec, Schema, family_declaration

FAMILY_PARAMS = [pytest.param(family, id=family.name) for family in registered_families()]
# Column widths that exercise padding: a level column with 2 levels beside one with 3.
_LEVELS = (("a", "b"), ("a", "b", "c"))
_ROWS, _HIDDEN = 4, 5


def _columns(family) -> list[ColumnSpec]:
    """Two columns of the family's kind, with levels where the kind has them and distinct scales."""
    has_levels = kind_named(family.kind).has_levels
    return [
        ColumnSpec(
            f"c{j}",
            family.kind,
            family.name,
            levels=_LEVELS[j] if has_levels else (),
            center=0.0 if has_levels else 0.5 * j,
            spread=1.0 if has_levels else 1.0 + j,
            # Two spikes in one column, none in the other: the head pads the second.
            spikes=(0.0, 1.5)[: 2 - 2 * j] if kind_named(family.kind).has_spikes else (),
        )
        for j in range(2)
    ]


def _distribution(family, columns):
    torch.manual_seed(0)
    head = family.make_head(_HIDDEN, columns)
    constants = family.column_constants(columns)
    return family.distribution(head.project(torch.randn(_ROWS, _HIDDEN)), constants)


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_the_family_is_declared_to_the_schema_layer_with_its_kind_and_fill(family):
    declared = family_declaration(family.name)
    assert (declared.kind, declared.safe_fill) == (family.kind, family.safe_fill)
    assert family.name in FAMILIES[family.kind]
    assert family.name.isidentifier() and family.site_name == f"x_{family.name}"
    assert family.encoder_block in (NUMBER_INPUTS, INDICATOR_INPUTS, LEVEL_INPUTS, EMBEDDED_INPUTS)
    # The data layer knows the kind: a schema naming it can be fitted, encoded and decoded.
    assert kind_named(family.kind).name == family.kind


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_the_head_gives_one_distribution_over_the_columns_with_a_finite_safe_fill(family):
    columns = _columns(family)
    d = _distribution(family, columns)
    assert d.batch_shape == (_ROWS, len(columns)) and d.event_shape == ()
    # A missing cell holds the safe fill: inside the support, with a finite log-density and gradient.
    fill = family.observations(torch.full((_ROWS, len(columns)), family.safe_fill))
    assert bool(d.support.check(fill).all())
    assert torch.isfinite(d.log_prob(fill)).all()
    draws = family.observations(d.sample((3,)))
    assert draws.shape == (3, _ROWS, len(columns))
    assert bool(d.support.check(draws).all()) and torch.isfinite(d.log_prob(draws)).all()


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_point_estimates_have_the_cells_shape_and_stay_finite(family):
    columns = _columns(family)
    d = _distribution(family, columns)
    point = family.point_estimate(d)
    assert point.shape == (_ROWS, len(columns)) and torch.isfinite(point.float()).all()
    draws = d.sample((7,)).float()
    over_draws = family.point_over_draws(draws)
    assert over_draws.shape == (_ROWS, len(columns))
    # Between the smallest and the largest draw of each cell, whatever the estimate.
    assert (over_draws >= draws.min(0).values).all() and (over_draws <= draws.max(0).values).all()


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_encoder_inputs_are_zero_for_missing_cells_and_standardise_numbers_on_the_kinds_scale(family):
    columns = _columns(family)
    values = family.observations(_distribution(family, columns).sample()).float()
    present = torch.tensor([[1.0, 0.0]] * _ROWS)
    width = max(family.encoder_width(column) for column in columns)
    module = family.make_encoder_module(columns, width)
    given = {} if module is None else {"module": module}
    inputs = family.encoder_inputs(values, present, family.column_constants(columns), width, **given)
    assert inputs.shape == (_ROWS, len(columns), width)
    assert (inputs[:, 1] == 0).all()
    if not kind_named(family.kind).has_levels:
        # The encoder must see numbers on the scale the data layer fitted the centre and spread on,
        # for every cell that scale holds (a zero-inflated column's zeros have no logarithm).
        compared = 0
        for row in range(_ROWS):
            scaled = kind_named(family.kind).model_scale(values[row : row + 1, 0].double().numpy())
            if len(scaled):
                expected = (scaled[0] - columns[0].center) / columns[0].spread
                assert inputs[row, 0, 0].item() == pytest.approx(expected, rel=1e-5, abs=1e-6)
                compared += 1
        assert compared > 0


def test_column_heads_and_features_follow_registration_order_and_column_order():
    spec = {
        "real": ("normal", ()),
        "positive": ("gamma", ()),
        "binary": ("bernoulli", ("0", "1")),
        "categorical": ("categorical", ("x", "y")),
    }
    # Columns in an order unlike the families': the heads follow the families' registration order,
    # the encoder sees numbers (of two families, put back in column order), then flags, then levels.
    kinds = ["categorical", "positive", "binary", "real"]
    schema = Schema(
        tuple(ColumnSpec(f"c{j}", kind, spec[kind][0], levels=spec[kind][1]) for j, kind in enumerate(kinds))
    )
    heads = ColumnHeads(schema, _HIDDEN)
    assert heads.families == ["normal", "gamma", "bernoulli", "categorical"]
    assert heads.index("normal").tolist() == [3] and heads.index("gamma").tolist() == [1]
    features = ColumnFeatures(schema)
    # Code 1 of c0, exp(0) in c1 (log 0 on the standardised scale), a set flag and -3.
    values = torch.tensor([[1.0, 1.0, 1.0, -3.0]])
    inputs = features.value_features(values, torch.ones_like(values, dtype=torch.bool))
    assert inputs.tolist() == [[0.0, -3.0, 1.0, 0.0, 1.0]]
    assert features.out_features == 5 + len(kinds)


def test_kinds_and_families_list_the_built_ins_in_order_with_each_kinds_default_first():
    assert list(KINDS)[:5] == ["real", "positive", "count", "binary", "categorical"]
    assert FAMILIES["real"] == ("normal", "normal_mixture")
    assert FAMILIES["positive"] == ("gamma", "lognormal", "lognormal_mixture")
    assert FAMILIES["spiked"] == ("spiked_normal",)
    assert FAMILIES["count"] == ("poisson", "negative_binomial", "zero_inflated_negative_binomial")
    assert ColumnSpec("x", "positive").family == "gamma"


def test_a_second_family_of_a_registered_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_family(NormalFamily())


def test_a_family_whose_name_is_no_identifier_is_refused():
    class Dotted(NormalFamily):
        name, default_for_kind = "student.t", False

    with pytest.raises(ValueError, match="identifier"):
        register_family(Dotted())


def test_a_second_default_for_a_kind_is_refused_and_leaves_nothing_registered():
    class AnotherNormal(NormalFamily):
        name = "another_normal"

    with pytest.raises(ValueError, match="already has a default"):
        register_family(AnotherNormal())
    with pytest.raises(KeyError):
        family_named("another_normal")
    assert "another_normal" not in FAMILIES["real"]


def test_unregistering_withdraws_the_name_from_schemas():
    class Shifted(NormalFamily):
        name, default_for_kind = "shifted_normal", False

    register_family(Shifted())
    try:
        assert ColumnSpec("x", "real", "shifted_normal").family == "shifted_normal"
    finally:
        unregister_family("shifted_normal")
    with pytest.raises(Exception, match="does not fit kind 'real'"):
        ColumnSpec("x", "real", "shifted_normal")
