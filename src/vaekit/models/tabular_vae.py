"""The tabular VAE: several observed variables, each with its own likelihood, tied together by z."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F

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
from vaekit.models.base import VAE
from vaekit.nn import MLP
from vaekit.schema import Schema

#: Families in the order their sites appear in the model.
FAMILY_ORDER = ("normal", "lognormal", "gamma", "poisson", "negative_binomial", "bernoulli", "categorical")
# Logit of the padding levels of a categorical column with fewer levels than the widest one: far
# below any real logit, yet finite, so that no softmax or gradient meets an infinity.
_PADDING_LOGIT = -1e4


@dataclass(frozen=True)
class TabularVAEConfig:
    """Architecture of a :class:`TabularVAE`.

    Parameters
    ----------
    schema:
        A fitted :class:`~vaekit.schema.Schema` as ``Schema.to_dict()``: the columns, their families,
        levels and scales.
    z_dim:
        Dimension of the latent z shared by all columns.
    hidden:
        Widths of the MLP bodies' hidden layers (encoder in this order, decoder reversed).
    """

    schema: dict[str, Any]
    z_dim: int = 4
    hidden: tuple[int, ...] = (512, 512)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(v) for v in self.hidden))
        if not isinstance(self.z_dim, int) or self.z_dim < 1:
            raise ValueError(f"z_dim must be at least 1, got {self.z_dim}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must list positive layer widths, got {self.hidden}")
        Schema.from_dict(self.schema)


class TabularVAE(VAE):
    """A VAE for tables whose columns follow different families.

    Generative story, for each row in the data plate::

        z ~ Normal(0, I)
        x_normal    ~ Normal(loc(z), scale(z))              # all real columns: one site
        x_gamma     ~ Gamma(concentration(z), rate(z))      # all positive columns: one site
        ...                                                  # one site per family present
        x_categorical ~ Categorical(logits(z))              # all categorical columns: one site

    Columns of one family share a site whose parameters come from one head, batched over the
    columns, so a training step has no Python loop over columns, only over the (at most seven)
    families. Parameters are in the columns' original units: the heads work in standardised
    units and the model maps them back (a real column's loc is ``center + spread * loc``).

    Missing cells are masked out of the likelihood (``Distribution.mask``): given z the cells of
    a row are independent, so leaving a missing cell out is the same as summing over its value.
    The encoder sees the standardised values with missing ones set to 0, and the missingness
    mask beside them.

    ``model(values, observed)`` and ``guide(values, observed)`` take the encoded table:
    ``values`` ``(rows, columns)`` in original units (level codes for binary and categorical
    columns), ``observed`` the boolean mask of present cells.
    """

    def __init__(self, config: TabularVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.schema = Schema.from_dict(config.schema)
        columns = self.schema.columns
        self.families = [f for f in FAMILY_ORDER if any(c.family == f for c in columns)]
        for family in self.families:
            index = [j for j, c in enumerate(columns) if c.family == family]
            self.register_buffer(f"_index_{family}", torch.tensor(index, dtype=torch.long), persistent=False)
            center = torch.tensor([columns[j].center for j in index], dtype=torch.float32)
            spread = torch.tensor([columns[j].spread for j in index], dtype=torch.float32)
            self.register_buffer(f"_center_{family}", center, persistent=False)
            self.register_buffer(f"_spread_{family}", spread, persistent=False)

        numeric = [j for j, c in enumerate(columns) if c.kind in ("real", "positive", "count")]
        self.register_buffer("_numeric", torch.tensor(numeric, dtype=torch.long), persistent=False)
        self.register_buffer(
            "_log_numeric", torch.tensor([columns[j].kind == "positive" for j in numeric]), persistent=False
        )
        self.register_buffer(
            "_log1p_numeric", torch.tensor([columns[j].kind == "count" for j in numeric]), persistent=False
        )
        self.register_buffer(
            "_numeric_center", torch.tensor([columns[j].center for j in numeric], dtype=torch.float32), False
        )
        self.register_buffer(
            "_numeric_spread", torch.tensor([columns[j].spread for j in numeric], dtype=torch.float32), False
        )
        binary = [j for j, c in enumerate(columns) if c.kind == "binary"]
        self.register_buffer("_binary", torch.tensor(binary, dtype=torch.long), persistent=False)
        categorical = [j for j, c in enumerate(columns) if c.kind == "categorical"]
        self.register_buffer("_categorical", torch.tensor(categorical, dtype=torch.long), persistent=False)
        self.max_levels = max([len(columns[j].levels) for j in categorical], default=0)
        # The head has at least 2 levels (a Categorical needs them); levels past a column's own are padding.
        level_mask = torch.zeros(len(categorical), max(self.max_levels, 2))
        for position, j in enumerate(categorical):
            level_mask[position, len(columns[j].levels) :] = _PADDING_LOGIT
        self.register_buffer("_level_padding", level_mask, persistent=False)

        in_features = len(numeric) + len(binary) + len(categorical) * self.max_levels + len(columns)
        self.encoder_body = MLP(in_features, config.hidden)
        self.encoder_head = NormalHead(self.encoder_body.out_features, (config.z_dim,))
        self.decoder_body = MLP(config.z_dim, config.hidden[::-1])
        width = self.decoder_body.out_features
        self.decoder_heads = torch.nn.ModuleDict(
            {
                family: self._head(family, width, len(self._buffer("index", family)))
                for family in self.families
            }
        )

    def _head(self, family: str, width: int, count: int) -> DistributionHead:
        if family == "categorical":
            return CategoricalHead(width, max(self.max_levels, 2), (count,))
        heads: dict[str, type[DistributionHead]] = {
            "normal": NormalHead,
            "lognormal": LogNormalHead,
            "gamma": GammaHead,
            "poisson": PoissonHead,
            "negative_binomial": NegativeBinomialHead,
            "bernoulli": BernoulliHead,
        }
        return heads[family](width, (count,))

    def _buffer(self, kind: str, family: str) -> torch.Tensor:
        return getattr(self, f"_{kind}_{family}")

    # --- the boxes ---------------------------------------------------------------------------------

    def features(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """The encoder's input ``(..., F)``: standardised values (0 where missing) and the missing mask."""
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
        parts.append(1.0 - present)
        return torch.cat(parts, dim=-1)

    def encode(self, values: torch.Tensor, observed: torch.Tensor) -> dist.Independent:
        """q(z | x): the encoded table -> Normal over z with batch shape ``rows``."""
        return self.encoder_head(self.encoder_body(self.features(values, observed)))

    def column_distributions(self, z: torch.Tensor) -> dict[str, dist.TorchDistribution]:
        """p(x | z) per family: distributions with batch shape ``(..., columns of the family)``."""
        hidden = self.decoder_body(z)
        result = {}
        for family in self.families:
            params = self.decoder_heads[family].project(hidden)
            center, spread = self._buffer("center", family), self._buffer("spread", family)
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

    # --- the story -------------------------------------------------------------------------------------

    def prior(self, batch_shape: torch.Size | tuple[int, ...]) -> dist.Independent:
        """p(z) = Normal(0, I) with the given batch shape."""
        loc = torch.zeros((*batch_shape, self.config.z_dim), device=self.device)
        return dist.Normal(loc, torch.ones_like(loc)).to_event(1)

    def model(
        self,
        values: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
        *,
        num_samples: int | None = None,
    ) -> None:
        """Generative story; pass the encoded table to score it, or ``num_samples`` to generate rows."""
        rows = values.shape[0] if values is not None else num_samples
        if rows is None:
            raise ValueError("model() needs a table or num_samples")
        with pyro.plate("data", rows):
            z = pyro.sample("z", self.prior((rows,)))
            for family, column_distribution in self.column_distributions(z).items():
                if values is None:
                    pyro.sample(f"x_{family}", column_distribution.to_event(1))
                    continue
                index = self._buffer("index", family)
                cells = values[..., index]
                if family == "categorical":
                    cells = cells.long()
                mask = observed[..., index] if observed is not None else None
                if mask is not None:
                    column_distribution = column_distribution.mask(mask)
                pyro.sample(f"x_{family}", column_distribution.to_event(1), obs=cells)

    def guide(
        self,
        values: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
        *,
        num_samples: int | None = None,
    ) -> None:
        """Amortized posterior q(z | x) from the observed cells."""
        if values is None:
            raise ValueError("the guide needs the encoded table")
        if observed is None:
            observed = torch.ones_like(values, dtype=torch.bool)
        with pyro.plate("data", values.shape[0]):
            pyro.sample("z", self.encode(values, observed))

    # --- uses ----------------------------------------------------------------------------------------------

    def _assemble(self, per_family: dict[str, torch.Tensor], rows_shape: torch.Size) -> torch.Tensor:
        table = torch.zeros((*rows_shape, len(self.schema.columns)), device=self.device)
        for family, cells in per_family.items():
            table[..., self._buffer("index", family)] = cells.to(table.dtype)
        return table

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Encoded synthetic rows ``(N, columns)`` drawn from p(x, z)."""
        if generator is not None:
            torch.manual_seed(int(torch.randint(2**31 - 1, (), generator=generator)))
        z = torch.randn((num_samples, self.config.z_dim), device=self.device)
        draws = {family: d.sample() for family, d in self.column_distributions(z).items()}
        return self._assemble(draws, torch.Size((num_samples,)))

    @torch.no_grad()
    def posterior_predictive(
        self, values: torch.Tensor, observed: torch.Tensor, *, num_draws: int = 1, point: bool = True
    ) -> torch.Tensor:
        """Values of every cell under p(x | z), z ~ q(z | x_observed): ``(num_draws, rows, columns)``.

        ``point=True`` gives each draw's expected value (numeric) or most probable level
        (binary, categorical); ``point=False`` draws the cells themselves.
        """
        z = self.encode(values, observed).sample((num_draws,))
        cells = {}
        for family, d in self.column_distributions(z).items():
            if not point:
                cells[family] = d.sample()
            elif family == "categorical":
                cells[family] = d.logits.argmax(-1)
            elif family == "bernoulli":
                cells[family] = (d.logits > 0).to(values.dtype)
            else:
                cells[family] = d.mean
        return self._assemble(cells, torch.Size((num_draws, values.shape[0])))

    @torch.no_grad()
    def column_log_likelihood(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """E_q[log p(x_ij | z)] per cell with one draw of z per row: ``(rows, columns)``; 0 where missing."""
        z = self.encode(values, observed).sample()
        table = torch.zeros_like(values)
        for family, d in self.column_distributions(z).items():
            index = self._buffer("index", family)
            cells = values[..., index]
            if family == "categorical":
                cells = cells.long()
            table[..., index] = d.log_prob(cells) * observed[..., index]
        return table
