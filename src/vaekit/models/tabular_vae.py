"""The tabular VAE: several observed variables, each with its own likelihood, tied together by z."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyro
import pyro.distributions as dist
import torch

from vaekit.heads import NormalHead
from vaekit.models.base import VAE
from vaekit.models.columns import ColumnFeatures, ColumnHeads
from vaekit.nn import MLP, IndicatorMLP
from vaekit.schema import Schema


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
    hidden: tuple[int, ...] = (128, 128)

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
    columns, so a training step has no Python loop over columns, only over the families
    (:mod:`vaekit.models.families`; ten are built in). Parameters are in the columns' original
    units: the heads work in standardised units and each family maps them back (a real column's
    loc is ``center + spread * loc``).

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
        self.column_features = ColumnFeatures(self.schema)
        # The missingness mask enters the first layer on its own, so complete rows skip its work.
        self.encoder_body = IndicatorMLP(
            self.column_features.value_features_count, len(self.schema.columns), config.hidden
        )
        self.encoder_head = NormalHead(self.encoder_body.out_features, (config.z_dim,))
        self.decoder_body = MLP(config.z_dim, config.hidden[::-1])
        self.decoder_heads = ColumnHeads(self.schema, self.decoder_body.out_features)
        self.families = self.decoder_heads.families

    # --- the boxes ---------------------------------------------------------------------------------

    def features(self, values: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's inputs: standardised values (0 where missing) ``(..., V)`` and the
        missingness mask ``(..., columns)``."""
        return self.column_features.value_features(values, observed), ~observed.bool()

    def encode(self, values: torch.Tensor, observed: torch.Tensor) -> dist.Independent:
        """q(z | x): the encoded table -> Normal over z with batch shape ``rows``."""
        return self.encoder_head(self.encoder_body(*self.features(values, observed)))

    def column_distributions(self, z: torch.Tensor) -> dict[str, dist.TorchDistribution]:
        """p(x | z) per family: distributions with batch shape ``(..., columns of the family)``."""
        return self.decoder_heads(self.decoder_body(z))

    # --- the story -------------------------------------------------------------------------------------

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
                site = self.decoder_heads.site_name(family)
                if values is None:
                    pyro.sample(site, column_distribution.to_event(1))
                    continue
                cells = self.decoder_heads.observations(family, values)
                if observed is not None:
                    column_distribution = column_distribution.mask(
                        observed[..., self.decoder_heads.index(family)]
                    )
                pyro.sample(site, column_distribution.to_event(1), obs=cells)

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

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Encoded synthetic rows ``(N, columns)`` drawn from p(x, z)."""
        if generator is not None:
            torch.manual_seed(int(torch.randint(2**31 - 1, (), generator=generator)))
        z = torch.randn((num_samples, self.config.z_dim), device=self.device)
        draws = {family: d.sample() for family, d in self.column_distributions(z).items()}
        return self.decoder_heads.assemble(draws)

    @torch.no_grad()
    def posterior_predictive(
        self, values: torch.Tensor, observed: torch.Tensor, *, num_draws: int = 1, point: bool = True
    ) -> torch.Tensor:
        """Values of every cell under p(x | z), z ~ q(z | x_observed): ``(num_draws, rows, columns)``.

        ``point=True`` gives each draw's expected value (numeric) or most probable level
        (binary, categorical); ``point=False`` draws the cells themselves.
        """
        z = self.encode(values, observed).sample((num_draws,))
        distributions = self.column_distributions(z)
        if point:
            cells = self.decoder_heads.point_estimates(distributions)
        else:
            cells = {family: d.sample() for family, d in distributions.items()}
        return self.decoder_heads.assemble(cells)

    @torch.no_grad()
    def conditional_sample(
        self, values: torch.Tensor, observed: torch.Tensor, num_rows: int, *, num_proposals: int = 4096
    ) -> torch.Tensor:
        """Rows drawn from p(x | x_given) for one partial row: the cells of ``values`` ``(columns,)``
        where ``observed`` is true are given, the others are drawn; returns ``(num_rows, columns)``
        with the given cells as given. Cells not given must still hold values of their family's
        support (as an encoded table's missing cells do), since every cell is scored before masking.

        z is drawn by sampling importance resampling from ``num_proposals`` proposals, half drawn
        from the amortized posterior q(z | x_given) and half from the prior p(z) (a defensive
        mixture r: the encoder of partial rows may be too narrow, and the prior alone is too wide
        for a precise given number), weighted by p(z) p(x_given | z) / r(z) and resampled; each
        row's other cells are then drawn from p(x | z). The rows are approximate draws: the fewer
        proposals carry the weight, the closer they are to one another.
        """
        from_prior = num_proposals // 2
        proposals_values = values.expand(num_proposals, -1)
        proposals_observed = observed.expand(num_proposals, -1)
        posterior = self.encode(proposals_values, proposals_observed)
        prior = self.prior((num_proposals,))
        z = torch.cat([posterior.sample()[from_prior:], prior.sample()[:from_prior]])
        share = torch.tensor(from_prior / num_proposals)
        log_proposal = torch.logaddexp(
            posterior.log_prob(z) + torch.log1p(-share), prior.log_prob(z) + torch.log(share)
        )
        log_weight = prior.log_prob(z) - log_proposal
        for family, d in self.column_distributions(z).items():
            index = self.decoder_heads.index(family)
            cells = d.log_prob(self.decoder_heads.observations(family, proposals_values))
            # where() and not a product: a drawn cell's log-density may be infinite, and inf * 0 is NaN.
            given = torch.where(proposals_observed[..., index], cells, torch.zeros_like(cells))
            log_weight = log_weight + given.sum(-1)
        chosen = torch.multinomial(torch.softmax(log_weight, 0), num_rows, replacement=True)
        draws = {family: d.sample() for family, d in self.column_distributions(z[chosen]).items()}
        rows = self.decoder_heads.assemble(draws)
        return torch.where(observed, values.to(rows.dtype), rows)

    @torch.no_grad()
    def column_log_likelihood(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """E_q[log p(x_ij | z)] per cell with one draw of z per row: ``(rows, columns)``; 0 where missing."""
        z = self.encode(values, observed).sample()
        table = torch.zeros_like(values)
        for family, d in self.column_distributions(z).items():
            index = self.decoder_heads.index(family)
            table[..., index] = (
                d.log_prob(self.decoder_heads.observations(family, values)) * observed[..., index]
            )
        return table
