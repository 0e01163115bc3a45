"""The tabular VAE with a target column: model M2 of Kingma et al. (2014) for tables.

One categorical or binary column of the table, the target, is the class label y of the story: a
variable observed in the rows that have it and latent in the rows that lack it, as the image
model of :mod:`vaekit.models.ss_vae` treats its label. The other columns are the table of
:mod:`vaekit.models.tabular_vae`, with the same column features and heads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F

from vaekit.heads import CategoricalHead, NormalHead
from vaekit.models.base import VAE
from vaekit.models.columns import ColumnFeatures, ColumnHeads
from vaekit.nn import ConditionalMLP, IndicatorMLP
from vaekit.schema import Schema

#: A labelled row's q(y | x) in the guide puts all but exp(-LABEL_MARGIN) of its mass on the label:
#: the enumerated sum then weighs the other classes by about 1e-13, and their log q stays finite.
LABEL_MARGIN = 30.0


@dataclass(frozen=True)
class TargetedTabularVAEConfig:
    """Architecture of a :class:`TargetedTabularVAE`.

    Parameters
    ----------
    schema:
        A fitted :class:`~vaekit.schema.Schema` as ``Schema.to_dict()``, the target column among
        its columns.
    target:
        Name of the target column: a binary or categorical column (one with levels).
    class_prior:
        p(y), one probability per level of the target; empty for the uniform prior.
    z_dim, hidden:
        As for :class:`~vaekit.models.TabularVAEConfig`.
    """

    schema: dict[str, Any]
    target: str
    class_prior: tuple[float, ...] = field(default_factory=tuple)
    z_dim: int = 4
    hidden: tuple[int, ...] = (128, 128)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(v) for v in self.hidden))
        object.__setattr__(self, "class_prior", tuple(float(p) for p in self.class_prior))
        if not isinstance(self.z_dim, int) or self.z_dim < 1:
            raise ValueError(f"z_dim must be at least 1, got {self.z_dim}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must list positive layer widths, got {self.hidden}")
        schema = Schema.from_dict(self.schema)
        if self.target not in schema.names:
            raise ValueError(f"the target {self.target!r} is not a column of the schema")
        levels = schema[self.target].levels
        if len(levels) < 2:
            raise ValueError(
                f"the target {self.target!r} must be a binary or categorical column with at least two "
                f"levels; its kind is {schema[self.target].kind} with {len(levels)} levels"
            )
        if len(schema.columns) < 2:
            raise ValueError("a target column needs at least one other column to predict it from")
        if self.class_prior:
            if len(self.class_prior) != len(levels) or min(self.class_prior) <= 0:
                raise ValueError(
                    f"class_prior must hold one positive probability per level of {self.target!r} "
                    f"({len(levels)}), got {self.class_prior}"
                )
            if abs(sum(self.class_prior) - 1.0) > 1e-4:
                raise ValueError(f"class_prior must sum to 1, got {sum(self.class_prior)}")


def class_prior_from(codes: torch.Tensor, num_classes: int) -> tuple[float, ...]:
    """p(y) from the labelled rows' level codes, each count plus one (so no class has probability 0)."""
    counts = torch.bincount(codes.long(), minlength=num_classes).double() + 1.0
    return tuple(float(p) for p in counts / counts.sum())


class TargetedTabularVAE(VAE):
    """A tabular VAE whose target column is a partially observed class label (M2 for tables).

    Generative story, for each row in the data plate::

        z ~ Normal(0, I)
        y ~ Categorical(class_prior)                         # observed where the target is given
        x_FAMILY ~ FAMILY(P_d(f_d(z, y)))                    # the other columns, one site per family

    Amortized posterior::

        y ~ Categorical(P_y(f_y(x)))                         # the classifier q(y | x), enumerated
        z ~ Normal(P_z(f_z(x, y)))                           # q(z | x, y)

    ``model(values, observed)`` and ``guide(values, observed)`` take the encoded table, the target
    among its columns, as :class:`~vaekit.models.TabularVAE` does; rows may mix labelled and
    unlabelled targets. In the guide a labelled row's y follows a distribution that puts its mass
    on the row's label (all but ``exp(-LABEL_MARGIN)``), an unlabelled row's y the classifier; both
    are marked for parallel enumeration, so that ``TraceEnum_ELBO`` sums over the classes exactly:
    the labelled rows' sum is then their ELBO with y observed (the other classes weigh ~1e-13), the
    unlabelled rows' the ELBO with y summed out. The classification term that trains q(y | x) on
    the labels is the objective's (:class:`~vaekit.inference.TargetColumnObjective`).

    Other columns' missing cells are masked out of the likelihood, as in the tabular VAE.
    """

    def __init__(self, config: TargetedTabularVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.schema = Schema.from_dict(config.schema)
        self.target_index = self.schema.names.index(config.target)
        self.target_levels = self.schema[config.target].levels
        self.num_classes = len(self.target_levels)
        rest = [j for j in range(len(self.schema.columns)) if j != self.target_index]
        self.register_buffer("_rest_index", torch.tensor(rest, dtype=torch.long), persistent=False)
        self.rest_schema = Schema(tuple(self.schema.columns[j] for j in rest))
        prior = config.class_prior or (1.0 / self.num_classes,) * self.num_classes
        self.register_buffer("_class_log_prior", torch.tensor(prior).log(), persistent=False)
        self.column_features = ColumnFeatures(self.rest_schema)
        features, columns = self.column_features.value_features_count, len(rest)
        self.classifier_body = IndicatorMLP(features, columns, config.hidden)
        self.classifier_head = CategoricalHead(self.classifier_body.out_features, self.num_classes)
        self.encoder_body = IndicatorMLP(features, columns, config.hidden[:-1] or config.hidden)
        self.z_encoder_body = ConditionalMLP(
            self.encoder_body.out_features, self.num_classes, config.hidden[-1:]
        )
        self.encoder_head = NormalHead(self.z_encoder_body.out_features, (config.z_dim,))
        self.decoder_body = ConditionalMLP(config.z_dim, self.num_classes, config.hidden[::-1])
        self.decoder_heads = ColumnHeads(self.rest_schema, self.decoder_body.out_features)
        self.families = self.decoder_heads.families

    # --- the boxes ---------------------------------------------------------------------------------

    def split(self, values: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(rest values, rest observed, label codes, labelled)`` of an encoded table."""
        labelled = observed[..., self.target_index].bool()
        labels = torch.where(labelled, values[..., self.target_index], torch.zeros_like(values[..., 0]))
        return values[..., self._rest_index], observed[..., self._rest_index], labels.long(), labelled

    def _one_hot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.num_classes).to(self._class_log_prior.dtype)

    def _features(self, rest_values: torch.Tensor, rest_observed: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.column_features.value_features(rest_values, rest_observed), ~rest_observed.bool()

    def label_prior(self) -> dist.Categorical:
        """p(y)."""
        return dist.Categorical(logits=self._class_log_prior)

    def classify(self, values: torch.Tensor, observed: torch.Tensor) -> dist.Categorical:
        """q(y | x) from the other columns of the encoded table (the target's cell is not read)."""
        rest_values, rest_observed, _, _ = self.split(values, observed)
        return self.classifier_head(self.classifier_body(*self._features(rest_values, rest_observed)))

    def encode_given(self, values: torch.Tensor, observed: torch.Tensor, y: torch.Tensor) -> dist.Independent:
        """q(z | x, y); ``y`` holds level codes whose batch shape broadcasts with the rows'."""
        rest_values, rest_observed, _, _ = self.split(values, observed)
        hidden = self.encoder_body(*self._features(rest_values, rest_observed))
        return self.encoder_head(self.z_encoder_body(hidden, self._one_hot(y)))

    def encode(self, values: torch.Tensor, observed: torch.Tensor) -> dist.Independent:
        """q(z | x, y*) with y* the row's label where given, else the most probable class."""
        return self.encode_given(values, observed, self.labels_or_predicted(values, observed))

    def labels_or_predicted(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Each row's label where given, else the classifier's most probable class."""
        _, _, labels, labelled = self.split(values, observed)
        return torch.where(labelled, labels, self.classify(values, observed).logits.argmax(-1))

    def column_distributions(self, z: torch.Tensor, y: torch.Tensor) -> dict[str, dist.TorchDistribution]:
        """p(x | z, y) per family of the other columns."""
        return self.decoder_heads(self.decoder_body(z, self._one_hot(y)))

    def _guide_labels(self, values: torch.Tensor, observed: torch.Tensor) -> dist.Categorical:
        """q(y | x) of the guide: the classifier for an unlabelled row, (almost) its label otherwise."""
        _, _, labels, labelled = self.split(values, observed)
        logits = self.classify(values, observed).logits
        on_label = LABEL_MARGIN * (self._one_hot(labels) - 1.0)
        return dist.Categorical(logits=torch.where(labelled.unsqueeze(-1), on_label, logits))

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
        if values is not None:
            if observed is None:
                observed = torch.ones_like(values, dtype=torch.bool)
            rest_values, rest_observed, _, _ = self.split(values, observed)
        with pyro.plate("data", rows):
            z = pyro.sample("z", self.prior((rows,)))
            # Latent in the story for every row: a labelled row's guide puts its mass on the label.
            y = pyro.sample("y", self.label_prior().expand((rows,)))
            for family, column_distribution in self.column_distributions(z, y).items():
                site = self.decoder_heads.site_name(family)
                if values is None:
                    pyro.sample(site, column_distribution.to_event(1))
                    continue
                index = self.decoder_heads.index(family)
                cells = self.decoder_heads.observations(family, rest_values)
                column_distribution = column_distribution.mask(rest_observed[..., index])
                pyro.sample(site, column_distribution.to_event(1), obs=cells)

    def guide(
        self,
        values: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
        *,
        num_samples: int | None = None,
    ) -> None:
        """Amortized posterior: q(y | x) (enumerated), then q(z | x, y)."""
        if values is None:
            raise ValueError("the guide needs the encoded table")
        if observed is None:
            observed = torch.ones_like(values, dtype=torch.bool)
        with pyro.plate("data", values.shape[0]):
            y = pyro.sample("y", self._guide_labels(values, observed), infer={"enumerate": "parallel"})
            pyro.sample("z", self.encode_given(values, observed, y))

    # --- uses ----------------------------------------------------------------------------------------------

    def _with_target(self, rest: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The other columns' cells ``(..., columns - 1)`` and the target's codes ``(...)`` as one table."""
        table = torch.empty(
            (*rest.shape[:-1], len(self.schema.columns)), dtype=rest.dtype, device=rest.device
        )
        table[..., self._rest_index] = rest
        table[..., self.target_index] = y.to(rest.dtype)
        return table

    @torch.no_grad()
    def predict_proba(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """q(y | x) of every row: ``(rows, classes)`` probabilities (the target's own cell unread)."""
        return self.classify(values, observed).probs

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Encoded synthetic rows ``(N, columns)`` drawn from p(x, y, z)."""
        if generator is not None:
            torch.manual_seed(int(torch.randint(2**31 - 1, (), generator=generator)))
        z = torch.randn((num_samples, self.config.z_dim), device=self.device)
        y = self.label_prior().sample((num_samples,))
        draws = {family: d.sample() for family, d in self.column_distributions(z, y).items()}
        return self._with_target(self.decoder_heads.assemble(draws), y)

    def _posterior_draws(
        self, values: torch.Tensor, observed: torch.Tensor, num_draws: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_draws`` draws of (z, y) per row from q(y | x) q(z | x, y), y as given where given."""
        _, _, labels, labelled = self.split(values, observed)
        y = self.classify(values, observed).sample((num_draws,))
        y = torch.where(labelled, labels, y)
        return self.encode_given(values, observed, y).sample(), y

    @torch.no_grad()
    def posterior_predictive(
        self, values: torch.Tensor, observed: torch.Tensor, *, num_draws: int = 1, point: bool = True
    ) -> torch.Tensor:
        """Values of every cell under p(x | z, y), (z, y) ~ q(z, y | x_observed), ``(num_draws, rows,
        columns)``.

        As :meth:`TabularVAE.posterior_predictive <vaekit.models.TabularVAE.posterior_predictive>`;
        a missing target gets the class drawn from q(y | x) in each draw, whatever ``point``.
        """
        z, y = self._posterior_draws(values, observed, num_draws)
        distributions = self.column_distributions(z, y)
        if point:
            cells = self.decoder_heads.point_estimates(distributions)
        else:
            cells = {family: d.sample() for family, d in distributions.items()}
        return self._with_target(self.decoder_heads.assemble(cells), y)

    @torch.no_grad()
    def conditional_sample(
        self, values: torch.Tensor, observed: torch.Tensor, num_rows: int, *, num_proposals: int = 4096
    ) -> torch.Tensor:
        """Rows drawn from p(x | x_given) for one partial row, as
        :meth:`TabularVAE.conditional_sample <vaekit.models.TabularVAE.conditional_sample>` draws them:
        (z, y) by importance resampling, y proposed by the classifier where the target is not given."""
        from_prior = num_proposals // 2
        proposals_values = values.expand(num_proposals, -1)
        proposals_observed = observed.expand(num_proposals, -1)
        _, _, labels, labelled = self.split(proposals_values, proposals_observed)
        classifier = self.classify(proposals_values, proposals_observed)
        y = torch.where(labelled, labels, classifier.sample())
        log_weight = torch.where(labelled, torch.zeros_like(y, dtype=torch.float), -classifier.log_prob(y))
        log_weight = log_weight + self.label_prior().log_prob(y)
        posterior = self.encode_given(proposals_values, proposals_observed, y)
        prior = self.prior((num_proposals,))
        z = torch.cat([posterior.sample()[from_prior:], prior.sample()[:from_prior]])
        share = torch.tensor(from_prior / num_proposals)
        log_proposal = torch.logaddexp(
            posterior.log_prob(z) + torch.log1p(-share), prior.log_prob(z) + torch.log(share)
        )
        log_weight = log_weight + prior.log_prob(z) - log_proposal
        rest_values, rest_observed, _, _ = self.split(proposals_values, proposals_observed)
        for family, d in self.column_distributions(z, y).items():
            index = self.decoder_heads.index(family)
            cells = d.log_prob(self.decoder_heads.observations(family, rest_values))
            given = torch.where(rest_observed[..., index], cells, torch.zeros_like(cells))
            log_weight = log_weight + given.sum(-1)
        chosen = torch.multinomial(torch.softmax(log_weight, 0), num_rows, replacement=True)
        distributions = self.column_distributions(z[chosen], y[chosen])
        rows = self._with_target(
            self.decoder_heads.assemble({family: d.sample() for family, d in distributions.items()}),
            y[chosen],
        )
        return torch.where(observed, values.to(rows.dtype), rows)

    @torch.no_grad()
    def column_log_likelihood(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """E_q[log p(x_ij | z, y)] per cell with one draw of (z, y) per row: ``(rows, columns)``; 0
        where missing. The target's column holds log q(y | x), how well the other columns predict it."""
        z, y = self._posterior_draws(values, observed, 1)
        z, y = z[0], y[0]
        rest_values, rest_observed, labels, labelled = self.split(values, observed)
        table = torch.zeros_like(values)
        rest = torch.zeros_like(rest_values)
        for family, d in self.column_distributions(z, y).items():
            index = self.decoder_heads.index(family)
            rest[..., index] = (
                d.log_prob(self.decoder_heads.observations(family, rest_values)) * rest_observed[..., index]
            )
        table[..., self._rest_index] = rest
        table[..., self.target_index] = self.classify(values, observed).log_prob(labels) * labelled
        return table
