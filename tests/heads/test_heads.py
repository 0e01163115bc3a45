"""Contract tables for the projection heads: shapes, parameter domains, extremes, per-pixel heads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyro.distributions as dist
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyro.distributions import constraints
from pyro.distributions.torch_distribution import TorchDistributionMixin

from vaekit.distributions import IntensityBernoulli
from vaekit.heads import (
    BernoulliHead,
    CategoricalHead,
    DistributionHead,
    GammaHead,
    LogNormalHead,
    NegativeBinomialHead,
    NormalHead,
    PoissonHead,
)
from vaekit.heads.base import POSITIVE_FLOOR

IN_FEATURES = 5
NUM_CATEGORIES = 4
EVENT_SHAPES = [(), (3,), (2, 3)]
BATCH_SHAPES = [(), (4,), (2, 5)]


@dataclass(frozen=True)
class Family:
    """One row of the contract table: how to build the head and a value in its support."""

    name: str
    build: Callable[..., DistributionHead]
    base_type: type
    fill: float
    dtype: torch.dtype = torch.float32
    per_pixel: bool = True

    def value(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.full(shape, self.fill, dtype=self.dtype)


FAMILIES = [
    Family("normal", NormalHead, dist.Normal, 0.3),
    Family("lognormal", LogNormalHead, dist.LogNormal, 1.5),
    Family("bernoulli", BernoulliHead, dist.Bernoulli, 1.0),
    Family(
        "bernoulli-intensity",
        lambda i, e: BernoulliHead(i, e, intensity_targets=True),
        IntensityBernoulli,
        0.25,
    ),
    Family(
        "categorical",
        lambda i, e: CategoricalHead(i, NUM_CATEGORIES, e),
        dist.Categorical,
        2,
        dtype=torch.long,
        per_pixel=False,
    ),
    Family("gamma", GammaHead, dist.Gamma, 0.7),
    Family("poisson", PoissonHead, dist.Poisson, 3.0),
    Family("negative-binomial", NegativeBinomialHead, dist.NegativeBinomial, 3.0),
]
FAMILY_PARAMS = [pytest.param(f, id=f.name) for f in FAMILIES]
PIXEL_FAMILY_PARAMS = [pytest.param(f, id=f.name) for f in FAMILIES if f.per_pixel]
POSITIVE = (constraints.positive, constraints.softplus_positive)


def _seeded(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _check_params(head: DistributionHead, params: dict[str, torch.Tensor], batch_shape: tuple[int, ...]):
    assert set(params) == set(head.param_constraints)
    for name, value in params.items():
        assert value.shape == (*batch_shape, *head.param_shape(name)), name
        assert torch.isfinite(value).all(), name
        assert head.param_constraints[name].check(value).all(), name
        if head.param_constraints[name] in POSITIVE:
            assert (value >= POSITIVE_FLOOR).all(), name


# ------------------------------------------------------------------------------------ vector heads


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("event_shape", EVENT_SHAPES, ids=str)
@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_distribution_shapes(family, event_shape, batch_shape):
    head = family.build(IN_FEATURES, event_shape)
    d = head(_seeded(*batch_shape, IN_FEATURES))
    assert isinstance(d, TorchDistributionMixin)  # usable as a Pyro sample site
    assert d.batch_shape == batch_shape
    assert d.event_shape == event_shape
    x = d.sample()
    assert x.shape == (*batch_shape, *event_shape)
    assert d.sample((7,)).shape == (7, *batch_shape, *event_shape)
    assert d.log_prob(x).shape == batch_shape
    log_prob = d.log_prob(family.value((*batch_shape, *event_shape)))
    assert log_prob.shape == batch_shape
    assert torch.isfinite(log_prob).all()


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("event_shape", EVENT_SHAPES, ids=str)
@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_params_are_in_their_domains(family, event_shape, batch_shape):
    head = family.build(IN_FEATURES, event_shape)
    params = head.project(_seeded(*batch_shape, IN_FEATURES))
    _check_params(head, params, batch_shape)
    for name, value in params.items():
        if head.param_constraints[name] in POSITIVE:
            # The floor guards against underflow only; ordinary inputs must map strictly above it.
            assert (value > POSITIVE_FLOOR).all(), name


@pytest.mark.parametrize("event_shape", EVENT_SHAPES, ids=str)
@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_log_prob_sums_the_family_over_the_event(family, event_shape):
    """The head's distribution is the family with every event dimension declared, nothing else."""
    head = family.build(IN_FEATURES, event_shape)
    hidden = _seeded(4, IN_FEATURES)
    params = head.project(hidden)
    base = head.make_distribution(**params)
    assert type(base) is family.base_type
    value = family.value((4, *event_shape))
    expected = base.log_prob(value)
    if event_shape:
        expected = expected.sum(dim=tuple(range(1, 1 + len(event_shape))))
    torch.testing.assert_close(head(hidden).log_prob(value), expected)


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("event_shape", EVENT_SHAPES, ids=str)
def test_categorical_logits_carry_the_levels(event_shape, batch_shape):
    head = CategoricalHead(IN_FEATURES, NUM_CATEGORIES, event_shape)
    assert head.param_shape("logits") == (*event_shape, NUM_CATEGORIES)
    logits = head.project(_seeded(*batch_shape, IN_FEATURES))["logits"]
    assert logits.shape == (*batch_shape, *event_shape, NUM_CATEGORIES)
    d = head(_seeded(*batch_shape, IN_FEATURES))
    assert d.batch_shape == batch_shape and d.event_shape == event_shape
    x = d.sample((50,))
    assert x.min() >= 0 and x.max() < NUM_CATEGORIES


@pytest.mark.parametrize("num_categories", [1, 0, -3])
def test_categorical_needs_two_categories(num_categories):
    with pytest.raises(ValueError, match="at least 2 categories"):
        CategoricalHead(IN_FEATURES, num_categories, (3,))


def test_head_without_constraints_is_rejected():
    class Empty(DistributionHead):
        def make_distribution(self, **params):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(TypeError, match="param_constraints"):
        Empty(IN_FEATURES, (3,))


# ---------------------------------------------------------------------------------------- extremes

EXTREME = 1e4
_hidden_rows = st.lists(
    st.floats(-EXTREME, EXTREME, allow_nan=False, allow_infinity=False, width=32),
    min_size=2 * IN_FEATURES,
    max_size=2 * IN_FEATURES,
)


@pytest.mark.parametrize("family", FAMILY_PARAMS)
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=_hidden_rows)
@example(values=[EXTREME] * (2 * IN_FEATURES))
@example(values=[-EXTREME] * (2 * IN_FEATURES))
@example(values=[EXTREME, -EXTREME] * IN_FEATURES)
def test_extreme_hidden_values_keep_params_valid(family, values):
    torch.manual_seed(0)
    head = family.build(IN_FEATURES, (3,))
    hidden = torch.tensor(values, dtype=torch.float32).reshape(2, IN_FEATURES)
    params = head.project(hidden)
    _check_params(head, params, (2,))
    for name, value in params.items():
        if head.param_constraints[name] in POSITIVE:
            assert (value > 0).all(), name
    log_prob = head(hidden).log_prob(family.value((2, 3)))
    assert log_prob.shape == (2,)
    assert torch.isfinite(log_prob).all()


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_positive_params_are_floored_when_softplus_underflows(family):
    head = family.build(IN_FEATURES, (3,))
    with torch.no_grad():
        head.projection.weight.zero_()
        head.projection.bias.fill_(-1e4)
    params = head.project(_seeded(2, IN_FEATURES))
    _check_params(head, params, (2,))
    for name, value in params.items():
        if head.param_constraints[name] in POSITIVE:
            torch.testing.assert_close(value, torch.full_like(value, POSITIVE_FLOOR))
    assert torch.isfinite(head(_seeded(2, IN_FEATURES)).log_prob(family.value((2, 3)))).all()


# -------------------------------------------------------------------------------- per-pixel heads

PIXEL_IN = (6, 4, 5)
PIXEL_EVENT = (2, 4, 5)


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("family", PIXEL_FAMILY_PARAMS)
def test_per_pixel_head_shapes(family, batch_shape):
    head = family.build(PIXEL_IN, PIXEL_EVENT)
    hidden = _seeded(*batch_shape, *PIXEL_IN)
    _check_params(head, head.project(hidden), batch_shape)
    d = head(hidden)
    assert d.batch_shape == batch_shape
    assert d.event_shape == PIXEL_EVENT
    x = d.sample()
    assert x.shape == (*batch_shape, *PIXEL_EVENT)
    assert d.log_prob(x).shape == batch_shape
    assert torch.isfinite(d.log_prob(family.value((*batch_shape, *PIXEL_EVENT)))).all()


@pytest.mark.parametrize("family", PIXEL_FAMILY_PARAMS)
def test_per_pixel_head_only_looks_at_its_own_pixel(family):
    head = family.build(PIXEL_IN, PIXEL_EVENT)
    hidden = _seeded(3, *PIXEL_IN)
    changed = hidden.clone()
    changed[:, :, 1, 2] += 5.0
    before, after = head.project(hidden), head.project(changed)
    mask = torch.zeros(PIXEL_EVENT, dtype=torch.bool)
    mask[:, 1, 2] = True
    for name in before:
        assert not torch.equal(before[name][:, mask], after[name][:, mask]), name
        torch.testing.assert_close(before[name][:, ~mask], after[name][:, ~mask], rtol=0, atol=0)


@pytest.mark.parametrize("family", PIXEL_FAMILY_PARAMS)
def test_per_pixel_head_leading_dims_are_independent(family):
    head = family.build(PIXEL_IN, PIXEL_EVENT)
    hidden = _seeded(2, 3, *PIXEL_IN)
    batched = head.project(hidden)
    single = head.project(hidden[1, 2])
    for name in batched:
        torch.testing.assert_close(batched[name][1, 2], single[name])


@pytest.mark.parametrize(
    ("in_shape", "event_shape"),
    [
        pytest.param((6, 4, 5), (2, 4, 6), id="width-mismatch"),
        pytest.param((6, 4, 5), (2, 3, 5), id="height-mismatch"),
        pytest.param((6, 4, 5), (4, 5), id="event-2d"),
        pytest.param((6, 4, 5), (40,), id="event-flat"),
        pytest.param((6, 4, 5), (), id="event-scalar"),
        pytest.param((4, 5), (2, 4, 5), id="in-2d"),
        pytest.param((6, 4, 5, 1), (2, 4, 5), id="in-4d"),
    ],
)
@pytest.mark.parametrize("family", PIXEL_FAMILY_PARAMS)
def test_per_pixel_head_rejects_mismatched_shapes(family, in_shape, event_shape):
    with pytest.raises(ValueError, match="per-pixel head"):
        family.build(in_shape, event_shape)


def test_categorical_cannot_be_projected_per_pixel():
    with pytest.raises(ValueError, match="per pixel"):
        CategoricalHead(PIXEL_IN, NUM_CATEGORIES, PIXEL_EVENT)


# ------------------------------------------------------------------------------- Bernoulli targets

_LOGITS = torch.tensor([[-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0]]).expand(3, 7)
_INTENSITIES = torch.tensor([[0.0], [0.3], [1.0]]).expand(3, 7)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(_INTENSITIES, id="rows"),
        pytest.param(torch.linspace(0, 1, 21).reshape(3, 7), id="grid"),
        pytest.param(torch.rand((3, 7), generator=torch.Generator().manual_seed(3)), id="random"),
    ],
)
def test_intensity_bernoulli_is_the_binary_cross_entropy(values):
    d = IntensityBernoulli(logits=_LOGITS)
    expected = -F.binary_cross_entropy_with_logits(_LOGITS, values, reduction="none")
    torch.testing.assert_close(d.log_prob(values), expected)


def test_intensity_bernoulli_equals_bernoulli_on_binary_data():
    binary = (torch.arange(21).reshape(3, 7) % 2).float()
    torch.testing.assert_close(
        IntensityBernoulli(logits=_LOGITS).log_prob(binary), dist.Bernoulli(logits=_LOGITS).log_prob(binary)
    )


@pytest.mark.parametrize("bad", [1.5, -0.1])
def test_intensity_bernoulli_rejects_values_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="support"):
        IntensityBernoulli(logits=_LOGITS).log_prob(torch.full((3, 7), bad))


def test_intensity_bernoulli_survives_expand():
    """Pyro expands distributions under plates; the expanded one must still score intensities."""
    expanded = IntensityBernoulli(logits=torch.zeros(7)).expand((3, 7))
    assert type(expanded) is IntensityBernoulli
    torch.testing.assert_close(expanded.log_prob(torch.full((3, 7), 0.5)), torch.full((3, 7), -0.6931472))


@pytest.mark.parametrize("event_shape", EVENT_SHAPES, ids=str)
def test_bernoulli_head_targets(event_shape):
    hidden = _seeded(4, IN_FEATURES)
    intensities = torch.full((4, *event_shape), 0.5)
    binary = torch.ones((4, *event_shape))

    torch.manual_seed(0)
    plain = BernoulliHead(IN_FEATURES, event_shape)
    torch.manual_seed(0)
    scoring = BernoulliHead(IN_FEATURES, event_shape, intensity_targets=True)

    with pytest.raises(ValueError, match="support"):
        plain(hidden).log_prob(intensities)
    torch.testing.assert_close(plain(hidden).log_prob(binary), scoring(hidden).log_prob(binary))

    logits = scoring.project(hidden)["logits"]
    expected = -F.binary_cross_entropy_with_logits(logits, intensities, reduction="none")
    if event_shape:
        expected = expected.sum(dim=tuple(range(1, 1 + len(event_shape))))
    torch.testing.assert_close(scoring(hidden).log_prob(intensities), expected)
