"""The columns of a schema as tensors: the encoder's input features and the decoder's heads.

Shared by the models whose observations are columns of mixed kinds (rows of a table, steps of a
sequence): given a fitted :class:`~vaekit.schema.Schema`, :class:`ColumnFeatures` turns encoded
values into standardised encoder inputs, and :class:`ColumnHeads` projects a hidden representation
onto one distribution per family, batched over that family's columns, in the columns' units.
"""

from __future__ import annotations

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

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
from vaekit.schema import Schema

#: Families in the order their sites appear in a model.
FAMILY_ORDER = ("normal", "lognormal", "gamma", "poisson", "negative_binomial", "bernoulli", "categorical")
# Logit of the padding levels of a categorical column with fewer levels than the widest one: far
# below any real logit, yet finite, so that no softmax or gradient meets an infinity.
_PADDING_LOGIT = -1e4
_HEADS: dict[str, type[DistributionHead]] = {
    "normal": NormalHead,
    "lognormal": LogNormalHead,
    "gamma": GammaHead,
    "poisson": PoissonHead,
    "negative_binomial": NegativeBinomialHead,
    "bernoulli": BernoulliHead,
}


def _floats(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _longs(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


class ColumnFeatures(nn.Module):
    """Encoder input of encoded columns: ``(values, observed)`` ``(..., columns)`` -> ``(..., out_features)``.

    Numeric columns are standardised (on the log scale for positive columns, ``log(1 + x)`` for
    counts), binary columns pass as 0/1, categorical columns become one-hot vectors; missing cells
    are 0 and the missingness mask is appended. No parameters: only the schema's constants.
    :meth:`value_features` gives the values' part alone (``value_features_count`` wide), for a
    body that takes the mask as a separate input.
    """

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        columns = schema.columns
        numeric = [j for j, c in enumerate(columns) if c.kind in ("real", "positive", "count")]
        binary = [j for j, c in enumerate(columns) if c.kind == "binary"]
        categorical = [j for j, c in enumerate(columns) if c.kind == "categorical"]
        self.max_levels = max([len(columns[j].levels) for j in categorical], default=0)
        # Constants derived from the schema, which the model config stores: not part of the state dict.
        buffers = {
            "_numeric": _longs(numeric),
            "_log_numeric": torch.tensor([columns[j].kind == "positive" for j in numeric], dtype=torch.bool),
            "_log1p_numeric": torch.tensor([columns[j].kind == "count" for j in numeric], dtype=torch.bool),
            "_numeric_center": _floats([columns[j].center for j in numeric]),
            "_numeric_spread": _floats([columns[j].spread for j in numeric]),
            "_binary": _longs(binary),
            "_categorical": _longs(categorical),
        }
        for name, value in buffers.items():
            self.register_buffer(name, value, persistent=False)
        self.value_features_count = len(numeric) + len(binary) + len(categorical) * self.max_levels
        self.out_features = self.value_features_count + len(columns)

    def forward(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Standardised values (0 where missing), one-hot levels and the missingness mask: ``(..., F)``."""
        missing = 1.0 - observed.to(values.dtype)
        return torch.cat([self.value_features(values, observed), missing], dim=-1)

    def value_features(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Standardised values (0 where missing) and one-hot levels, without the mask: ``(..., V)``."""
        parts = []
        present = observed.to(values.dtype)
        if len(self._numeric):
            numbers = values[..., self._numeric]
            transformed = torch.where(self._log_numeric, numbers.clamp_min(1e-30).log(), numbers)
            transformed = torch.where(self._log1p_numeric, numbers.clamp_min(0).log1p(), transformed)
            standardised = (transformed - self._numeric_center) / self._numeric_spread
            parts.append(standardised * present[..., self._numeric])
        if len(self._binary):
            parts.append(values[..., self._binary] * present[..., self._binary])
        if len(self._categorical):
            codes = values[..., self._categorical].long().clamp(0, self.max_levels - 1)
            one_hot = F.one_hot(codes, self.max_levels).to(values.dtype)
            parts.append((one_hot * present[..., self._categorical].unsqueeze(-1)).flatten(-2))
        return torch.cat(parts, dim=-1)


class ColumnHeads(nn.ModuleDict):
    """Projection of a hidden representation onto every column: ``(..., in_features)`` -> one
    distribution per family present, with batch shape ``(..., columns of the family)``.

    The heads are kept by family name (``heads["normal"]``); each is batched over its family's
    columns, so there is no Python loop over columns. The heads work in standardised units and
    the distributions are in the columns' own: a real column's loc is ``center + spread * loc``,
    a gamma rate is in units of the column's geometric mean, and so on. Padding levels of a
    categorical column with fewer levels than the widest get a logit far below any real one.

    Parameters
    ----------
    schema:
        A fitted schema (centres, spreads and levels known).
    in_features:
        Size of the hidden representation.
    """

    def __init__(self, schema: Schema, in_features: int) -> None:
        super().__init__()
        columns = schema.columns
        self.num_columns = len(columns)
        self.families = [f for f in FAMILY_ORDER if any(c.family == f for c in columns)]
        categorical = [j for j, c in enumerate(columns) if c.kind == "categorical"]
        self.max_levels = max([len(columns[j].levels) for j in categorical], default=0)
        for family in self.families:
            index = [j for j, c in enumerate(columns) if c.family == family]
            self.register_buffer(f"_index_{family}", _longs(index), persistent=False)
            self.register_buffer(f"_center_{family}", _floats([columns[j].center for j in index]), False)
            self.register_buffer(f"_spread_{family}", _floats([columns[j].spread for j in index]), False)
        # The head has at least 2 levels (a Categorical needs them); levels past a column's own are padding.
        level_mask = torch.zeros(len(categorical), max(self.max_levels, 2))
        for position, j in enumerate(categorical):
            level_mask[position, len(columns[j].levels) :] = _PADDING_LOGIT
        self.register_buffer("_level_padding", level_mask, persistent=False)
        for family in self.families:
            count = len(self.index(family))
            if family == "categorical":
                self[family] = CategoricalHead(in_features, max(self.max_levels, 2), (count,))
            else:
                self[family] = _HEADS[family](in_features, (count,))

    def index(self, family: str) -> torch.Tensor:
        """Positions of the family's columns among all columns."""
        return getattr(self, f"_index_{family}")

    def forward(self, hidden: torch.Tensor) -> dict[str, dist.TorchDistribution]:
        """p(x | hidden) per family: distributions with batch shape ``(..., columns of the family)``."""
        result = {}
        for family in self.families:
            params = self[family].project(hidden)
            center, spread = getattr(self, f"_center_{family}"), getattr(self, f"_spread_{family}")
            if family == "normal":
                result[family] = dist.Normal(center + spread * params["loc"], spread * params["scale"])
            elif family == "lognormal":
                result[family] = dist.LogNormal(center + spread * params["loc"], spread * params["scale"])
            elif family == "gamma":
                # The head works in units of the column's geometric mean exp(center).
                result[family] = dist.Gamma(params["concentration"], params["rate"] * torch.exp(-center))
            elif family == "poisson":
                result[family] = dist.Poisson(params["rate"] * torch.exp(center))
            elif family == "negative_binomial":
                result[family] = dist.NegativeBinomial(
                    params["total_count"], logits=params["logits"] + center
                )
            elif family == "bernoulli":
                result[family] = dist.Bernoulli(logits=params["logits"])
            else:
                result[family] = dist.Categorical(logits=params["logits"] + self._level_padding)
        return result

    def assemble(self, per_family: dict[str, torch.Tensor]) -> torch.Tensor:
        """Each family's cells ``(..., columns of the family)`` back in column order: ``(..., columns)``."""
        first = next(iter(per_family.values()))
        table = torch.zeros((*first.shape[:-1], self.num_columns), device=first.device)
        for family, cells in per_family.items():
            table[..., self.index(family)] = cells.to(table.dtype)
        return table

    def point_estimates(self, distributions: dict[str, dist.TorchDistribution]) -> dict[str, torch.Tensor]:
        """Each cell's expected value (numeric families) or most probable level (binary, categorical)."""
        cells = {}
        for family, d in distributions.items():
            if family == "categorical":
                cells[family] = d.logits.argmax(-1)
            elif family == "bernoulli":
                cells[family] = (d.logits > 0).float()
            else:
                cells[family] = d.mean
        return cells
