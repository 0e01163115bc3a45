"""A VAE for sequences of feature vectors: one latent z per sequence, recurrent bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyro
import pyro.distributions as dist
import torch

from vaekit.heads import NormalHead
from vaekit.models.base import VAE
from vaekit.models.columns import ColumnFeatures, ColumnHeads
from vaekit.nn import RNNDecoder, RNNEncoder
from vaekit.nn.recurrent import CELLS
from vaekit.schema import Schema


@dataclass(frozen=True)
class SequenceVAEConfig:
    """Architecture of a :class:`SequenceVAE`.

    Parameters
    ----------
    schema:
        The value columns as a fitted :class:`~vaekit.schema.Schema` (``Schema.to_dict()``): each
        column's kind, family, levels and scale.
    z_dim:
        Dimension of the latent z of a sequence.
    hidden:
        Size of the recurrent state of the encoder and of the decoder.
    cell:
        ``"gru"`` or ``"lstm"``.
    num_layers:
        Stacked recurrent layers in each body.
    """

    schema: dict[str, Any]
    z_dim: int = 8
    hidden: int = 64
    cell: str = "gru"
    num_layers: int = 1

    def __post_init__(self) -> None:
        for name in ("z_dim", "hidden", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        Schema.from_dict(self.schema)


class SequenceVAE(VAE):
    """A VAE for whole sequences: one latent code per sequence, one likelihood per step and column.

    Generative story, for each sequence in the data plate, with its length T::

        z ~ Normal(0, I)
        h_1..h_T = f_d(z)                                   # recurrent decoder, z at every step
        x_t,normal ~ Normal(loc(h_t), scale(h_t))           # real columns of step t
        ...                                                  # one site per family, all steps at once

    Amortized posterior::

        z ~ Normal(P_e(f_e(x_1..x_T)))                      # recurrent encoder over the real steps

    f_e is an :class:`~vaekit.nn.RNNEncoder` over the columns' standardised features (packed,
    so padding never reaches it), f_d an :class:`~vaekit.nn.RNNDecoder`, and the heads are the
    tabular VAE's per-family :class:`~vaekit.models.columns.ColumnHeads`, applied at every step.
    The steps of a batch are padded to the longest: steps past a sequence's length, and missing
    cells, are masked out of the likelihood (``Distribution.mask``), so they contribute nothing.

    ``model(values, observed, lengths)`` and ``guide(...)`` take padded sequences:
    ``values`` ``(sequences, steps, columns)`` in original units (level codes for binary and
    categorical columns), ``observed`` the mask of present cells, ``lengths`` the real steps of
    each sequence (all steps when ``None``).
    """

    def __init__(self, config: SequenceVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.schema = Schema.from_dict(config.schema)
        layers = {"cell": config.cell, "num_layers": config.num_layers}
        self.column_features = ColumnFeatures(self.schema)
        self.encoder_body = RNNEncoder(self.column_features.out_features, config.hidden, **layers)
        self.encoder_head = NormalHead(self.encoder_body.out_features, (config.z_dim,))
        self.decoder_body = RNNDecoder(config.z_dim, config.hidden, **layers)
        self.decoder_heads = ColumnHeads(self.schema, self.decoder_body.out_features)

    # --- the boxes ---------------------------------------------------------------------------------

    def encode(
        self, values: torch.Tensor, observed: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> dist.Independent:
        """q(z | x): padded sequences -> Normal over z with batch shape ``sequences``."""
        features = self.column_features(values, observed)
        return self.encoder_head(self.encoder_body(features, lengths))

    def step_distributions(self, z: torch.Tensor, num_steps: int) -> dict[str, dist.TorchDistribution]:
        """p(x_t | z) for ``t < num_steps`` per family: batch shape ``(..., num_steps, family's columns)``."""
        return self.decoder_heads(self.decoder_body(z, num_steps))

    # --- the story -----------------------------------------------------------------------------------

    def model(
        self,
        values: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
        lengths: torch.Tensor | None = None,
        *,
        num_samples: int | None = None,
        num_steps: int | None = None,
    ) -> None:
        """Generative story; pass padded sequences to score them, or ``num_samples`` and
        ``num_steps`` to generate sequences of that many steps."""
        if values is not None:
            sequences, num_steps = values.shape[0], values.shape[1]
        else:
            sequences = num_samples
            if sequences is None or num_steps is None:
                raise ValueError("model() needs sequences, or num_samples and num_steps")
        with pyro.plate("data", sequences):
            z = pyro.sample("z", self.prior((sequences,)))
            distributions = self.step_distributions(z, num_steps)
            steps = None if lengths is None else self.step_mask(lengths, num_steps)
            for family, step_distribution in distributions.items():
                site = self.decoder_heads.site_name(family)
                if values is None:
                    pyro.sample(site, step_distribution.to_event(2))
                    continue
                cells = self.decoder_heads.observations(family, values)
                mask = observed[..., self.decoder_heads.index(family)] if observed is not None else None
                if steps is not None:
                    mask = steps.unsqueeze(-1) if mask is None else mask & steps.unsqueeze(-1)
                if mask is not None:
                    step_distribution = step_distribution.mask(mask)
                pyro.sample(site, step_distribution.to_event(2), obs=cells)

    def guide(
        self,
        values: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
        lengths: torch.Tensor | None = None,
        *,
        num_samples: int | None = None,
        num_steps: int | None = None,
    ) -> None:
        """Amortized posterior q(z | x) from the observed cells of the real steps."""
        if values is None:
            raise ValueError("the guide needs sequences")
        if observed is None:
            observed = torch.ones_like(values, dtype=torch.bool)
        with pyro.plate("data", values.shape[0]):
            pyro.sample("z", self.encode(values, observed, lengths))

    @staticmethod
    def step_mask(lengths: torch.Tensor, num_steps: int) -> torch.Tensor:
        """``(sequences, num_steps)`` bool: True at each sequence's real steps."""
        return torch.arange(num_steps, device=lengths.device) < lengths.unsqueeze(-1)

    # --- uses --------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self, num_samples: int, num_steps: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encoded synthetic sequences ``(N, num_steps, columns)`` drawn from p(x, z)."""
        if generator is not None:
            torch.manual_seed(int(torch.randint(2**31 - 1, (), generator=generator)))
        z = torch.randn((num_samples, self.config.z_dim), device=self.device)
        draws = {family: d.sample() for family, d in self.step_distributions(z, num_steps).items()}
        return self.decoder_heads.assemble(draws)

    @torch.no_grad()
    def reconstruct(
        self, values: torch.Tensor, observed: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Each cell's expected value (or most probable level) under p(x | z = E_q[z | x]): ``(N, T, C)``."""
        z = self.encode(values, observed, lengths).mean
        distributions = self.step_distributions(z, values.shape[1])
        return self.decoder_heads.assemble(self.decoder_heads.point_estimates(distributions))
