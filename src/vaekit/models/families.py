"""Likelihood families of table and sequence columns, as registered objects.

A :class:`ColumnFamily` is everything the models need to know about one likelihood of a column
kind: the head that projects a hidden representation onto its parameters, how those parameters,
which the head produces in standardised units, become a distribution in the columns' own units,
how its columns enter the encoder, the value of its support that fills missing cells, and its
point estimates. :class:`~vaekit.models.columns.ColumnFeatures` and
:class:`~vaekit.models.columns.ColumnHeads` loop over the registered families and never name one.

The built-in families are registered at the end of this module, in the order of the sample
sites of a model (which is also the order in which their heads are initialised, so it must not
change: a seeded run would draw other numbers); a registered family comes after them.

To add a family for an existing kind (a Student-t likelihood for real columns, say)::

    class StudentTFamily(ScalarFamily):
        name = "student_t"
        kind = "real"
        safe_fill = 0.0

        def make_head(self, in_features, columns):
            return StudentTHead(in_features, (len(columns),))   # a DistributionHead

        def distribution(self, params, constants):
            center, spread = constants["center"], constants["spread"]
            return dist.StudentT(params["df"], center + spread * params["loc"], spread * params["scale"])

    register_family(StudentTFamily())

after which a schema may name ``"student_t"`` for a real column. A new kind needs, besides its
families (one with ``default_for_kind = True``), the data layer's part:
:class:`vaekit.data.tabular.ColumnKind`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from vaekit.distributions import PADDING_LOGIT, SpikedNormal, ZeroInflatedLogNormal
from vaekit.heads import (
    BernoulliHead,
    CategoricalHead,
    DistributionHead,
    GammaHead,
    LogNormalHead,
    LogNormalMixtureHead,
    NegativeBinomialHead,
    NormalHead,
    NormalMixtureHead,
    PoissonHead,
    SpikedNormalHead,
    ZeroInflatedLogNormalHead,
    ZeroInflatedNegativeBinomialHead,
)
from vaekit.schema import ColumnSpec, FamilyDeclaration, Schema, declare_family, withdraw_family

#: Encoder blocks: the encoder sees every column of the first block (numbers), then of the
#: second (binary indicators), then of the third (one-hot levels), then of the fourth (learned
#: embeddings of many levels), each block in column order. Model files fix this layout of the
#: encoder's first layer, so a family picks one of these.
NUMBER_INPUTS, INDICATOR_INPUTS, LEVEL_INPUTS, EMBEDDED_INPUTS = 0, 1, 2, 3

Constants = dict[str, torch.Tensor]


def _floats(values: Sequence[float]) -> torch.Tensor:
    return torch.tensor(list(values), dtype=torch.float32)


class ColumnFamily(ABC):
    """A likelihood family of a column kind, batched over all the columns that use it.

    To add a family, subclass this class (or :class:`ScalarFamily`, which holds the defaults of a
    family of numbers), and define

    * ``name``: the family's name in schemas and model files; a Python identifier, since it names
      the head in the model's state dict (``decoder_heads.<name>.projection.weight``) and its
      sample site (``x_<name>``);
    * ``kind``: the kind of column it models (``"real"``); ``default_for_kind = True`` when a
      column of that kind with no family named should get it (one family per kind);
    * ``safe_fill``: a value inside its support, put in missing cells so that their masked
      log-density and its gradient stay finite;
    * ``encoder_block``: how its columns enter the encoder (:data:`NUMBER_INPUTS`,
      :data:`INDICATOR_INPUTS` or :data:`LEVEL_INPUTS`);
    * :meth:`make_head` and :meth:`distribution`: the head over its columns, and the distribution
      in the columns' own units from the head's parameters, which are in standardised units;
    * :meth:`encoder_inputs`, :meth:`point_estimate` and :meth:`point_over_draws` when the
      defaults of :class:`ScalarFamily` do not fit;

    then call :func:`register_family` with an instance.
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    safe_fill: ClassVar[float]
    default_for_kind: ClassVar[bool] = False
    encoder_block: ClassVar[int] = NUMBER_INPUTS

    @property
    def site_name(self) -> str:
        """The name of the family's sample site in a model."""
        return f"x_{self.name}"

    def column_constants(self, columns: Sequence[ColumnSpec]) -> Constants:
        """Constants of the family's columns that its rescaling and encoder inputs need, each with
        the columns along its first dimension: by default each column's centre and spread."""
        return {
            "center": _floats([c.center for c in columns]),
            "spread": _floats([c.spread for c in columns]),
        }

    @abstractmethod
    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        """The head projecting a hidden vector of ``in_features`` onto the parameters of every one
        of ``columns`` at once (event shape ``(len(columns),)``)."""

    @abstractmethod
    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        """The distribution over the family's columns (batch shape ``(..., columns)``) in their own
        units, from the head's parameters in standardised units and :meth:`column_constants`."""

    def observations(self, cells: torch.Tensor) -> torch.Tensor:
        """Encoded cells as the distribution scores them (float by default; level codes as long)."""
        return cells

    def encoder_width(self, column: ColumnSpec) -> int:
        """How many encoder inputs a column needs (one; a one-hot column one per level)."""
        return 1

    def make_encoder_module(self, columns: Sequence[ColumnSpec], width: int) -> nn.Module | None:
        """Learned parameters of the family's encoder inputs (an embedding of levels), which the
        encoder owns; ``None`` (the default) when the inputs are a fixed function of the cells."""
        return None

    @abstractmethod
    def encoder_inputs(
        self,
        values: torch.Tensor,
        present: torch.Tensor,
        constants: Constants,
        width: int,
        module: nn.Module | None = None,
    ) -> torch.Tensor:
        """Encoder inputs of the family's cells ``(..., columns)``: ``(..., columns, width)``, 0 where
        a cell is missing (``present`` is 1.0 or 0.0); ``width`` is the widest
        :meth:`encoder_width` of the columns of the family's encoder block, ``module`` what
        :meth:`make_encoder_module` made."""

    @abstractmethod
    def point_estimate(self, distribution: dist.TorchDistribution) -> torch.Tensor:
        """Each cell's point estimate under ``distribution``, shaped as its batch."""

    @abstractmethod
    def point_over_draws(self, draws: torch.Tensor) -> torch.Tensor:
        """A point estimate of each cell from draws ``(draws, ..., columns)``: ``(..., columns)``.

        Called with the draws of all of a table's columns, of which the caller keeps the family's:
        a reduction over a slice of a tensor can differ in the last bit from the same reduction
        over the whole, and a column's imputation must not depend on its neighbours' families.
        """


class ScalarFamily(ColumnFamily):
    """A family of numbers: standardised encoder inputs, the mean as point estimate.

    :meth:`standard_scale` is the scale the kind's centre and spread were fitted on (the data
    layer's ``ColumnKind.model_scale``), which the encoder standardises: the identity for real
    columns, the logarithm for positive ones, ``log(1 + x)`` for counts.
    """

    def standard_scale(self, values: torch.Tensor) -> torch.Tensor:
        """Values on the scale of the columns' centre and spread (the identity by default)."""
        return values

    def encoder_inputs(
        self,
        values: torch.Tensor,
        present: torch.Tensor,
        constants: Constants,
        width: int,
        module: nn.Module | None = None,
    ) -> torch.Tensor:
        standardised = (self.standard_scale(values) - constants["center"]) / constants["spread"]
        return (standardised * present).unsqueeze(-1)

    def point_estimate(self, distribution: dist.TorchDistribution) -> torch.Tensor:
        return distribution.mean

    def point_over_draws(self, draws: torch.Tensor) -> torch.Tensor:
        return draws.mean(0)


class _LogScale:
    """Positive columns: centre and spread are those of the logarithm."""

    def standard_scale(self, values: torch.Tensor) -> torch.Tensor:
        # A missing cell holds the safe fill, but the clamp keeps any stray 0 from becoming -inf.
        return values.clamp_min(1e-30).log()


class _Log1pScale:
    """Counts: centre and spread are those of ``log(1 + x)``."""

    def standard_scale(self, values: torch.Tensor) -> torch.Tensor:
        return values.clamp_min(0).log1p()


class NormalFamily(ScalarFamily):
    """Real columns: Normal(center + spread * loc, spread * scale)."""

    name, kind, safe_fill, default_for_kind = "normal", "real", 0.0, True

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return NormalHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        center, spread = constants["center"], constants["spread"]
        return dist.Normal(center + spread * params["loc"], spread * params["scale"])


class LogNormalFamily(_LogScale, ScalarFamily):
    """Positive columns: LogNormal(center + spread * loc, spread * scale) on the log scale."""

    name, kind, safe_fill = "lognormal", "positive", 1.0

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return LogNormalHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        center, spread = constants["center"], constants["spread"]
        return dist.LogNormal(center + spread * params["loc"], spread * params["scale"])


class GammaFamily(_LogScale, ScalarFamily):
    """Positive columns: Gamma(concentration, rate), the head's rate in units of the column's
    geometric mean ``exp(center)``."""

    name, kind, safe_fill, default_for_kind = "gamma", "positive", 1.0, True

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return GammaHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        return dist.Gamma(params["concentration"], params["rate"] * torch.exp(-constants["center"]))


class PoissonFamily(_Log1pScale, ScalarFamily):
    """Count columns: Poisson(rate), the head's rate in units of ``exp(center)``."""

    name, kind, safe_fill, default_for_kind = "poisson", "count", 0.0, True

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return PoissonHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        return dist.Poisson(params["rate"] * torch.exp(constants["center"]))


class NegativeBinomialFamily(_Log1pScale, ScalarFamily):
    """Over-dispersed count columns: NegativeBinomial(total_count, logits + center)."""

    name, kind, safe_fill = "negative_binomial", "count", 0.0

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return NegativeBinomialHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        return dist.NegativeBinomial(params["total_count"], logits=params["logits"] + constants["center"])


class ZeroInflatedNegativeBinomialFamily(_Log1pScale, ScalarFamily):
    """Counts with more zeros than a negative binomial gives (visits of people who never go, debts
    of people who never borrow): a structural zero with probability sigmoid(gate_logits), otherwise
    NegativeBinomial(total_count, logits + center)."""

    name, kind, safe_fill = "zero_inflated_negative_binomial", "count", 0.0

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return ZeroInflatedNegativeBinomialHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        return dist.ZeroInflatedNegativeBinomial(
            params["total_count"],
            logits=params["logits"] + constants["center"],
            gate_logits=params["gate_logits"],
        )


def _most_frequent(draws: torch.Tensor) -> torch.Tensor:
    return torch.mode(draws, dim=0).values


class BernoulliFamily(ColumnFamily):
    """Binary columns (codes 0 and 1): Bernoulli(logits); the encoder sees the codes as they are."""

    name, kind, safe_fill, default_for_kind = "bernoulli", "binary", 0.0, True
    encoder_block = INDICATOR_INPUTS

    def column_constants(self, columns: Sequence[ColumnSpec]) -> Constants:
        return {}

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return BernoulliHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        return dist.Bernoulli(logits=params["logits"])

    def encoder_inputs(
        self,
        values: torch.Tensor,
        present: torch.Tensor,
        constants: Constants,
        width: int,
        module: nn.Module | None = None,
    ) -> torch.Tensor:
        return (values * present).unsqueeze(-1)

    def point_estimate(self, distribution: dist.TorchDistribution) -> torch.Tensor:
        return (distribution.logits > 0).float()

    def point_over_draws(self, draws: torch.Tensor) -> torch.Tensor:
        return _most_frequent(draws)


class CategoricalFamily(ColumnFamily):
    """Categorical columns (level codes): Categorical(logits) over the widest column's levels, the
    padding levels of narrower columns far below any real logit; one-hot encoder inputs."""

    name, kind, safe_fill, default_for_kind = "categorical", "categorical", 0.0, True
    encoder_block = LEVEL_INPUTS

    @staticmethod
    def _head_levels(columns: Sequence[ColumnSpec]) -> int:
        # A Categorical needs at least 2 levels; levels past a column's own are padding.
        return max(max((len(c.levels) for c in columns), default=0), 2)

    def column_constants(self, columns: Sequence[ColumnSpec]) -> Constants:
        padding = torch.zeros(len(columns), self._head_levels(columns))
        for position, column in enumerate(columns):
            padding[position, len(column.levels) :] = PADDING_LOGIT
        return {"level_padding": padding}

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return CategoricalHead(in_features, self._head_levels(columns), (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        return dist.Categorical(logits=params["logits"] + constants["level_padding"])

    def observations(self, cells: torch.Tensor) -> torch.Tensor:
        return cells.long()

    def encoder_width(self, column: ColumnSpec) -> int:
        return len(column.levels)

    def encoder_inputs(
        self,
        values: torch.Tensor,
        present: torch.Tensor,
        constants: Constants,
        width: int,
        module: nn.Module | None = None,
    ) -> torch.Tensor:
        codes = values.long().clamp(0, width - 1)
        return F.one_hot(codes, width).to(values.dtype) * present.unsqueeze(-1)

    def point_estimate(self, distribution: dist.TorchDistribution) -> torch.Tensor:
        return distribution.logits.argmax(-1)

    def point_over_draws(self, draws: torch.Tensor) -> torch.Tensor:
        return _most_frequent(draws)


class OrdinalFamily(CategoricalFamily):
    """Ordinal columns (codes of levels in their order): Categorical(logits) over the levels, so that
    only levels seen in training (or declared) are ever drawn; one-hot encoder inputs."""

    name, kind, safe_fill, default_for_kind = "ordinal", "ordinal", 0.0, True


#: Most inputs of a level's learned embedding: enough to tell thousands of levels apart in the
#: directions the encoder uses, while the encoder's first layer stays the same size however many
#: levels a column has (a one-hot column of 4,000 levels is 4,000 inputs).
MAX_EMBEDDING_WIDTH = 32


#: Spread of a level's embedding at initialisation. torch's default, 1, makes the untrained vectors
#: of thousands of levels large random inputs that the encoder must first unlearn: on a synthetic
#: check (150 cities, each in one of 3 regions; 2,700 rows, 12 epochs; the region of 600 new rows
#: imputed from the city) the region was right for 0.50 of the rows with spread 1, 0.92 with 0.1,
#: 0.93 with 0.01, and 0.96 with one-hot inputs (tests/models/test_many_levels.py).
EMBEDDING_INIT_STD = 0.01


def embedding_width(levels: int) -> int:
    """Inputs of the learned embedding of a column of ``levels`` levels: 1.6 levels^0.56 (the rule of
    thumb of fast.ai's tabular models, read from their measurements), at most
    :data:`MAX_EMBEDDING_WIDTH`."""
    return max(2, min(MAX_EMBEDDING_WIDTH, math.ceil(1.6 * max(levels, 2) ** 0.56)))


class ManyLevelsFamily(CategoricalFamily):
    """Categorical columns of many levels (an occupation among hundreds, a city, a product code):
    Categorical(logits) over the column's levels, as :class:`CategoricalFamily`, but the encoder sees a
    learned embedding of each level (:func:`embedding_width` inputs) instead of a one-hot vector, and
    the head's levels are padded only to the widest column of this family, so a column of 4,000
    levels makes neither the encoder's first layer nor the other categorical columns' heads that wide.
    """

    name, kind, safe_fill, default_for_kind = "many_levels", "categorical", 0.0, False
    encoder_block = EMBEDDED_INPUTS

    @staticmethod
    def _level_counts(columns: Sequence[ColumnSpec]) -> list[int]:
        # Rows of the embedding table per column (one at least, so that every column has its own).
        return [max(len(c.levels), 1) for c in columns]

    def column_constants(self, columns: Sequence[ColumnSpec]) -> Constants:
        sizes = self._level_counts(columns)
        offsets = torch.tensor([0, *sizes[:-1]], dtype=torch.long).cumsum(0)
        counts = torch.tensor(sizes, dtype=torch.long)
        return {**super().column_constants(columns), "level_offset": offsets, "level_count": counts}

    def encoder_width(self, column: ColumnSpec) -> int:
        return embedding_width(len(column.levels))

    def make_encoder_module(self, columns: Sequence[ColumnSpec], width: int) -> nn.Module:
        # One table for all the family's columns, each column's levels at its offset: one lookup.
        embedding = nn.Embedding(sum(self._level_counts(columns)), width)
        nn.init.normal_(embedding.weight, std=EMBEDDING_INIT_STD)
        return embedding

    def encoder_inputs(
        self,
        values: torch.Tensor,
        present: torch.Tensor,
        constants: Constants,
        width: int,
        module: nn.Module | None = None,
    ) -> torch.Tensor:
        if module is None:
            raise ValueError(f"the {self.name} family's encoder inputs need its embedding module")
        # A code past a column's levels (none should be) stays inside that column's rows of the table.
        codes = torch.minimum(values.long().clamp_min(0), constants["level_count"] - 1)
        codes = codes + constants["level_offset"]
        return module(codes) * present.unsqueeze(-1)


class DateTimeFamily(NormalFamily):
    """Datetime columns (days since the column's earliest value): Normal(center + spread * loc,
    spread * scale), as a real column."""

    name, kind, safe_fill, default_for_kind = "datetime_normal", "datetime", 0.0, True


#: The encoder input of a zero cell of a zero-inflated column, in standard units of the logarithm of
#: the positive values: below almost any positive value, so the encoder tells zeros apart.
ZERO_CELL_INPUT = -4.0


class ZeroLogNormalFamily(ScalarFamily):
    """Nonnegative columns with a spike at 0: P(0) = sigmoid(gate_logits), otherwise
    LogNormal(center + spread * loc, spread * scale), centre and spread those of the logarithm of
    the positive values (:class:`~vaekit.distributions.ZeroInflatedLogNormal`). The encoder sees the
    standardised logarithm of a positive cell and :data:`ZERO_CELL_INPUT` for a zero."""

    name, kind, safe_fill, default_for_kind = "zero_lognormal", "nonnegative", 0.0, True

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return ZeroInflatedLogNormalHead(in_features, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        center, spread = constants["center"], constants["spread"]
        return ZeroInflatedLogNormal(
            params["gate_logits"], center + spread * params["loc"], spread * params["scale"]
        )

    def standard_scale(self, values: torch.Tensor) -> torch.Tensor:
        return values.clamp_min(1e-30).log()

    def encoder_inputs(
        self,
        values: torch.Tensor,
        present: torch.Tensor,
        constants: Constants,
        width: int,
        module: nn.Module | None = None,
    ) -> torch.Tensor:
        standardised = (self.standard_scale(values) - constants["center"]) / constants["spread"]
        standardised = torch.where(values > 0, standardised, torch.full_like(standardised, ZERO_CELL_INPUT))
        return (standardised * present).unsqueeze(-1)


class SpikedNormalFamily(ScalarFamily):
    """Spiked columns (:class:`~vaekit.data.column_kinds.SpikedKind`): each column's spikes drawn
    exactly with probabilities from the head's logits, the other values from
    Normal(center + spread * loc, spread * scale), centre and spread those of the values off the
    spikes (:class:`~vaekit.distributions.SpikedNormal`). The head's logits cover the most spikes of
    any of the family's columns; a column with fewer has padding spikes that no value meets."""

    name, kind, safe_fill, default_for_kind = "spiked_normal", "spiked", 0.0, True

    def column_constants(self, columns: Sequence[ColumnSpec]) -> Constants:
        width = max(1, max((len(c.spikes) for c in columns), default=0))
        spikes = torch.zeros(len(columns), width)
        real = torch.zeros(len(columns), width, dtype=torch.bool)
        for position, column in enumerate(columns):
            spikes[position, : len(column.spikes)] = _floats(column.spikes)
            real[position, : len(column.spikes)] = True
        return {**super().column_constants(columns), "spikes": spikes, "real_spikes": real}

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        constants = self.column_constants(columns)
        standardised = (constants["spikes"] - constants["center"][:, None]) / constants["spread"][:, None]
        return SpikedNormalHead(in_features, standardised, (len(columns),), constants["real_spikes"])

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        center, spread = constants["center"], constants["spread"]
        return SpikedNormal(
            params["logits"],
            constants["spikes"],
            center + spread * params["loc"],
            spread * params["scale"],
            constants["real_spikes"],
        )


#: Components of a mixture family's distribution of each cell.
MIXTURE_COMPONENTS = 3


class _MixtureFamily(ScalarFamily):
    """Each cell a mixture of :data:`MIXTURE_COMPONENTS` distributions of ``component``, component k
    ``component(center + spread * loc_k, spread * scale_k)`` with weight softmax(logits)_k; the head
    (``head_type``) gives every component's parameters."""

    head_type: ClassVar[type[DistributionHead]]
    component: ClassVar[type[dist.TorchDistribution]]

    def make_head(self, in_features: int, columns: Sequence[ColumnSpec]) -> DistributionHead:
        return self.head_type(in_features, MIXTURE_COMPONENTS, (len(columns),))

    def distribution(self, params: dict[str, torch.Tensor], constants: Constants) -> dist.TorchDistribution:
        center, spread = constants["center"].unsqueeze(-1), constants["spread"].unsqueeze(-1)
        components = self.component(center + spread * params["loc"], spread * params["scale"])
        return dist.MixtureSameFamily(dist.Categorical(logits=params["logits"]), components)


class NormalMixtureFamily(_MixtureFamily):
    """Real columns with several modes given the latent code: a mixture of Normals."""

    name, kind, safe_fill = "normal_mixture", "real", 0.0
    head_type, component = NormalMixtureHead, dist.Normal


class LogNormalMixtureFamily(_LogScale, _MixtureFamily):
    """Positive columns with several modes given the latent code: a mixture of LogNormals on the log
    scale (centre and spread those of the logarithm)."""

    name, kind, safe_fill = "lognormal_mixture", "positive", 1.0
    head_type, component = LogNormalMixtureHead, dist.LogNormal


# --- the registry ------------------------------------------------------------------------------------

# In registration order, the order of the sample sites and of the heads' initialisation.
_REGISTERED: dict[str, ColumnFamily] = {}


def register_family(family: ColumnFamily) -> ColumnFamily:
    """Make ``family`` available to schemas and models; returns it.

    Also declares its name, kind, safe fill and whether it is its kind's default to the schema
    layer (:func:`vaekit.schema.declare_family`). Registering a family under a name already taken
    is a ``ValueError``; :func:`unregister_family` undoes a registration.
    """
    if not family.name.isidentifier():
        raise ValueError(f"a family's name must be a Python identifier, got {family.name!r}")
    if family.name in _REGISTERED:
        raise ValueError(f"a family named {family.name!r} is already registered")
    declare_family(
        FamilyDeclaration(family.name, family.kind, float(family.safe_fill), family.default_for_kind)
    )
    _REGISTERED[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Remove a registered family (and its name from schemas); models built with it keep working."""
    _REGISTERED.pop(name, None)
    withdraw_family(name)


def family_named(name: str) -> ColumnFamily:
    """The registered family of that name."""
    try:
        return _REGISTERED[name]
    except KeyError:
        raise KeyError(f"no family named {name!r} is registered (known: {', '.join(_REGISTERED)})") from None


def registered_families() -> tuple[ColumnFamily, ...]:
    """Every registered family, in the order of the sample sites."""
    return tuple(_REGISTERED.values())


def families_in(schema: Schema) -> list[tuple[ColumnFamily, list[int]]]:
    """The families a schema uses, in site order, each with the positions of its columns."""
    for name in dict.fromkeys(column.family for column in schema.columns):
        family_named(name)  # a family unregistered since the schema was built is an error, not a gap
    result = []
    for family in registered_families():
        index = [j for j, column in enumerate(schema.columns) if column.family == family.name]
        if index:
            result.append((family, index))
    return result


for _family in (
    NormalFamily(),
    LogNormalFamily(),
    GammaFamily(),
    PoissonFamily(),
    NegativeBinomialFamily(),
    BernoulliFamily(),
    CategoricalFamily(),
    OrdinalFamily(),
    ZeroLogNormalFamily(),
    DateTimeFamily(),
    ZeroInflatedNegativeBinomialFamily(),  # the families before keep their sites' order
    ManyLevelsFamily(),
    SpikedNormalFamily(),
    NormalMixtureFamily(),
    LogNormalMixtureFamily(),
):
    register_family(_family)
