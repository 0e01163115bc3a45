"""AutoVAE: a VAE whose guide is built from the generative story a user writes."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pyro
import pyro.distributions as dist
import torch
from pyro.poutine.uncondition_messenger import UnconditionMessenger
from pyro.poutine.util import site_is_subsample
from torch import nn

from vaekit.auto.heads import DiscreteHead, SupportHead
from vaekit.auto.story import (
    ArgumentRef,
    Story,
    argument_value,
    describe_argument,
    observed_rows,
    read_story,
)
from vaekit.errors import VaekitError
from vaekit.models.base import VAE
from vaekit.nn import MLP, ConditionalMLP, ConvEncoder


@dataclass(frozen=True)
class AutoVAEConfig:
    """Sizes of the automatic guide's networks.

    Parameters
    ----------
    data_hidden:
        Hidden widths of the MLP body that reads each vector argument; the last one is also the
        width of the convolutional body's output for an image argument.
    conv_channels:
        Channels of the convolutional body used for image arguments ``(C, H, W)`` whose height
        and width are divisible by ``2 ** len(conv_channels)``; other images are read by the MLP.
    image_encoder:
        The body for image arguments: ``"cnn"`` (the convolutional body, where the image's shape
        allows it) or ``"mlp"`` (the MLP on the flattened pixels, as the image VAE's default encoder).
    shared_data_body:
        Whether every latent's encoder reads one shared body of the data (``True``), or each latent
        has data bodies of its own (``False``), as the semi-supervised flagship's classifier and
        z encoder each read the image themselves.
    latent_hidden:
        Hidden widths of each latent's own body, which maps the data features (and the latents
        guided before it) onto its head. Empty: no such body, each head reads the data features
        (and the earlier latents) directly, as a flagship's encoder head reads its body's output.
    """

    data_hidden: tuple[int, ...] = (400,)
    conv_channels: tuple[int, ...] = (32, 64)
    latent_hidden: tuple[int, ...] = (200,)
    image_encoder: Literal["cnn", "mlp"] = "cnn"
    shared_data_body: bool = True

    def __post_init__(self) -> None:
        if self.image_encoder not in ("cnn", "mlp"):
            raise ValueError(f"image_encoder must be 'cnn' or 'mlp', got {self.image_encoder!r}")
        for name in ("data_hidden", "conv_channels", "latent_hidden"):
            values = tuple(int(v) for v in getattr(self, name))
            if (not values and name != "latent_hidden") or (values and min(values) < 1):
                raise ValueError(f"{name} must list positive sizes, got {values}")
            object.__setattr__(self, name, values)


def _data_body(example: torch.Tensor, config: AutoVAEConfig) -> nn.Module:
    """The body for one data argument, by its shape per example: CNN for images, MLP otherwise."""
    shape = tuple(example.shape[1:])
    factor = 2 ** len(config.conv_channels)
    fits_the_cnn = len(shape) == 3 and shape[1] % factor == 0 and shape[2] % factor == 0
    if config.image_encoder == "cnn" and fits_the_cnn:
        return ConvEncoder(shape, config.conv_channels, out_features=config.data_hidden[-1])
    return MLP(max(math.prod(shape), 1), config.data_hidden, flatten_dims=max(len(shape), 1))


def _concat_features(parts: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate along the last dim after broadcasting the batch dims (enumerated values carry
    an extra dimension on the left that the data features lack)."""
    batch_shape = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return torch.cat([p.expand(batch_shape + p.shape[-1:]) for p in parts], dim=-1)


class _Concatenation(nn.Module):
    """The body of a latent when there is none (``latent_hidden=()``): the data features, and the
    earlier latents' values beside them."""

    def __init__(self, out_features: int) -> None:
        super().__init__()
        self.out_features = out_features

    def forward(self, features: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        return features if conditions is None else _concat_features([features, conditions])


class AutoVAE(VAE):
    """A VAE whose model is the user's story and whose amortized guide is built from it.

    Made by :func:`vaekit.auto.auto`, which reads the story. The guide samples every latent site
    of the data plate: discrete ones first (enumerated in parallel: train with
    :meth:`training_objective`), then continuous ones in the story's order. Each latent's
    encoder sees the features of the data arguments and the values of the latents guided before
    it, so q(y | x) then q(z | x, y) comes out of an M2-like story.

    ``model`` and ``guide`` take the arguments of the story. If the story is an ``nn.Module``, it
    is a submodule (``story``): its weights are trained and saved with the guide's.
    """

    def __init__(
        self,
        story_fn: Callable[..., Any],
        story: Story,
        example_args: tuple[Any, ...],
        example_kwargs: dict[str, Any],
        config: AutoVAEConfig,
    ) -> None:
        super().__init__()
        self.config = config
        self.story = story
        if isinstance(story_fn, nn.Module):
            self.story_module: nn.Module | None = story_fn
        else:
            self.story_module = None
            self._story_fn = story_fn
        # Instance value: the story decides how many plates nest, not the class.
        self.max_plate_nesting = story.max_plate_nesting  # type: ignore[misc]

        # A partially observed site's argument is no input of the guide: its classifier would read
        # the label it is to predict (given rows), and learn nothing it could use where it is missing.
        partial = {latent.partial_argument for latent in story.latents if latent.partial_argument is not None}
        self.data_arguments: tuple[ArgumentRef, ...] = tuple(
            dict.fromkeys(s.argument for s in story.observed if s.argument not in partial)
        )

        def data_bodies() -> nn.ModuleList:
            return nn.ModuleList(
                _data_body(argument_value(ref, example_args, example_kwargs), config)
                for ref in self.data_arguments
            )

        # One set of bodies for all latents, or a set per latent (``latent_data_bodies``).
        self.data_bodies = data_bodies() if config.shared_data_body else nn.ModuleList()
        self.latent_data_bodies = nn.ModuleDict(
            {} if config.shared_data_body else {latent.name: data_bodies() for latent in story.latents}
        )
        first_bodies = self.data_bodies or next(iter(self.latent_data_bodies.values()), nn.ModuleList())
        data_features = sum(self._body_width(body) for body in first_bodies)

        self.latent_bodies = nn.ModuleDict()
        self.latent_heads = nn.ModuleDict()
        condition_features = 0
        for latent in story.latents:
            if not config.latent_hidden:
                body: nn.Module = _Concatenation(data_features + condition_features)
            elif condition_features:
                body = ConditionalMLP(data_features, condition_features, config.latent_hidden)
            else:
                body = MLP(data_features, config.latent_hidden)
            self.latent_bodies[latent.name] = body
            if latent.is_discrete:
                head: nn.Module = DiscreteHead(body.out_features, latent)
                condition_features += 1 if latent.kind == "bernoulli" else latent.num_categories
            else:
                head = SupportHead(body.out_features, latent.support, latent.event_shape)
                condition_features += max(math.prod(latent.event_shape), 1)
            self.latent_heads[latent.name] = head

    @staticmethod
    def _body_width(body: nn.Module) -> int:
        return int(body.out_features)

    @property
    def story_fn(self) -> Callable[..., Any]:
        """The user's model."""
        return self.story_module if self.story_module is not None else self._story_fn

    @property
    def has_discrete_latents(self) -> bool:
        """Whether the guide enumerates some site, or the story sums one out itself (train with
        ``TraceEnum_ELBO`` then)."""
        return bool(self.story.summed) or any(latent.is_discrete for latent in self.story.latents)

    def model(self, *args: Any, **kwargs: Any) -> Any:
        """The user's generative story, unchanged."""
        return self.story_fn(*args, **kwargs)

    def data_features(self, *args: Any, latent: str | None = None, **kwargs: Any) -> torch.Tensor:
        """Features of the data arguments, concatenated: ``(N, F)``; with data bodies per latent
        (``shared_data_body=False``), those of ``latent``."""
        bodies = (
            self.data_bodies
            if latent is None or not self.latent_data_bodies
            else self.latent_data_bodies[latent]
        )
        parts = []
        for ref, body in zip(self.data_arguments, bodies, strict=True):
            value = argument_value(ref, args, kwargs)
            if value.dim() == 1:
                value = value.unsqueeze(-1)
            parts.append(body(value.to(torch.get_default_dtype())))
        return torch.cat(parts, dim=-1)

    def guide(self, *args: Any, **kwargs: Any) -> None:
        """The amortized posterior over every latent site of the story's data plate."""
        try:
            if self.latent_data_bodies:
                features_of = {
                    name: self.data_features(*args, latent=name, **kwargs) for name in self.latent_data_bodies
                }
                features = next(iter(features_of.values()))
            else:
                features = self.data_features(*args, **kwargs)
                features_of = {}
        except (IndexError, KeyError) as error:
            refs = ", ".join(describe_argument(ref) for ref in self.data_arguments)
            raise VaekitError(f"the guide reads the data from {refs}; it was not given: {error}") from None
        conditions: list[torch.Tensor] = []
        plate = self.story.plate
        with pyro.plate(plate.name, features.shape[0], dim=plate.dim):
            for latent in self.story.latents:
                features = features_of.get(latent.name, features)
                body = self.latent_bodies[latent.name]
                hidden = body(features, _concat_features(conditions)) if conditions else body(features)
                head = self.latent_heads[latent.name]
                if not latent.is_discrete:
                    value = pyro.sample(latent.name, head(hidden))
                    conditions.append(
                        value.flatten(-len(latent.event_shape)) if latent.event_shape else value[..., None]
                    )
                    continue
                observed = given = None
                if latent.partial_argument is not None:
                    data = argument_value(latent.partial_argument, args, kwargs)
                    observed = observed_rows(latent.support, data)
                    given = torch.where(observed, data, torch.zeros_like(data))
                value = pyro.sample(
                    latent.name, head(hidden, observed, given), infer={"enumerate": "parallel"}
                )
                if observed is not None:
                    # Later encoders see the label where it is given, the enumerated value elsewhere.
                    value = torch.where(observed, given.to(value.dtype), value)
                conditions.append(head.features(value))

    @property
    def partial_sites(self) -> tuple[Any, ...]:
        """The discrete latents observed for some rows (an M2 label): those with a classifier to train."""
        return tuple(latent for latent in self.story.latents if latent.partial_argument is not None)

    def classifiers(self, *args: Any, **kwargs: Any) -> dict[str, tuple[Any, torch.Tensor, torch.Tensor]]:
        """Per partially observed site: the guide's q(site | x) as if no row gave it, the given values
        and which rows give them. One pass of the guide with those arguments all missing (-1)."""
        from pyro import poutine

        sites = self.partial_sites
        hidden_args, hidden_kwargs = list(args), dict(kwargs)
        given = {}
        for latent in sites:
            ref = latent.partial_argument
            data = argument_value(ref, args, kwargs)
            given[latent.name] = (data, observed_rows(latent.support, data))
            missing = torch.full_like(data, -1)
            if isinstance(ref, int):
                hidden_args[ref] = missing
            else:
                hidden_kwargs[ref] = missing
        trace = poutine.trace(self.guide).get_trace(*hidden_args, **hidden_kwargs)
        return {latent.name: (trace.nodes[latent.name]["fn"], *given[latent.name]) for latent in sites}

    def draw(
        self,
        num_samples: int,
        example_args: tuple[torch.Tensor, ...],
        *,
        partial_values: dict[str, int] | None = None,
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
        """Draw ``num_samples`` examples from the story: its latents from their priors, its data
        sites from the model given them.

        The story runs on placeholder data of ``num_samples`` rows (the first row of each argument of
        ``example_args``, repeated), with its observed data sites released so that Pyro draws them;
        a story that reads its data other than through ``obs=`` (a total count, say) reads the
        placeholder. A partially observed site (an M2 label) is drawn from its prior too, or fixed
        to ``partial_values[name]`` for every example (``name`` as in the story, without
        ``_unobserved``).

        Returns
        -------
        dict
            Per observed data site: the drawn values ``(num_samples, ...)`` and the mean of the
            distribution they were drawn from (``None`` where the distribution has none); per
            partially observed site (by its name in the story): the values drawn or fixed, and ``None``.
        """
        from pyro import poutine

        fixed = dict(partial_values or {})
        partial = {latent.partial_argument: latent for latent in self.partial_sites}
        placeholders = []
        for ref, argument in enumerate(example_args):
            if ref in partial:
                base = partial[ref].name.removesuffix("_unobserved")
                # Missing, so drawn from the prior: NaN in a float argument, -1 in an integer one.
                value = fixed.pop(base, float("nan") if argument.is_floating_point() else -1)
                shape = (num_samples, *argument.shape[1:])
                placeholders.append(torch.full(shape, value, dtype=argument.dtype))
            else:
                placeholders.append(argument[:1].expand(num_samples, *argument.shape[1:]).clone())
        if fixed:
            raise VaekitError(f"the story has no partially observed site {sorted(fixed)[0]!r} to fix")
        device = self.device
        placeholders = [p.to(device) for p in placeholders]
        names = {site.name for site in self.story.observed}
        with torch.no_grad():
            trace = poutine.trace(_ReleaseData(names)(self.model)).get_trace(*placeholders)
        draws: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        for latent in self.partial_sites:  # the label each example was drawn with
            base = latent.name.removesuffix("_unobserved")
            draws[base] = (trace.nodes[base]["value"], None)
        for site in self.story.observed:
            node = trace.nodes[site.name]
            try:
                mean: torch.Tensor | None = node["fn"].mean
            except NotImplementedError:
                mean = None
            values = node["value"]
            draws[site.name] = (values, None if mean is None else mean.expand(values.shape))
        return draws

    def posterior(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """q of every latent site given the data: each discrete site's classifier given the most
        probable values of the discrete sites before it, each continuous site's distribution given
        the most probable values of all of them. Keys are the guide's site names.

        A site the story sums out itself (:attr:`Story.summed`) gets its exact posterior given the
        data and the guide's central values of the other latents (the Normal's centre mapped into
        each support), as a Categorical or Bernoulli."""
        from pyro import poutine

        chosen: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for latent in self.story.latents:
                if not latent.is_discrete:
                    break  # discrete latents come first in the guide's order
                trace = poutine.trace(poutine.condition(self.guide, data=chosen)).get_trace(*args, **kwargs)
                head = self.latent_heads[latent.name]
                chosen[latent.name] = head.most_probable(trace.nodes[latent.name]["fn"])
            trace = poutine.trace(poutine.condition(self.guide, data=chosen)).get_trace(*args, **kwargs)
            found = {latent.name: trace.nodes[latent.name]["fn"] for latent in self.story.latents}
            if self.story.summed:
                centres = dict(chosen)
                for latent in self.story.latents:
                    if not latent.is_discrete:
                        centres[latent.name] = SupportHead.centre(found[latent.name])
                found.update(self._summed_posteriors(centres, args, kwargs))
        return found

    def _summed_posteriors(
        self, values: dict[str, torch.Tensor], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """p(site | data, the other latents at ``values``) of each site the story sums out."""
        from pyro import poutine

        from vaekit.importance import per_example_log_prob

        first_enum_dim = -(self.max_plate_nesting + 1)
        model = poutine.enum(poutine.condition(self.model, data=values), first_available_dim=first_enum_dim)
        trace = poutine.trace(model).get_trace(*args, **kwargs)
        # Per example (the data plate at dim -1), one dimension per summed site left of it.
        total = torch.zeros((), device=self.device)
        for site in trace.nodes.values():
            if site["type"] == "sample" and not site_is_subsample(site):
                total = total + per_example_log_prob(site, self.max_plate_nesting)
        posteriors = {}
        for latent in self.story.summed:
            # The site's enumerated dimension counts from the right of its value, where the plates
            # stand: after the inner plates are summed away only the data plate is left of total.
            value = trace.nodes[latent.name]["value"]
            dims_from_right = value.dim() - len(latent.event_shape) - (self.max_plate_nesting - 1)
            position = total.dim() - dims_from_right
            others = [d for d in range(total.dim() - 1) if d != position]
            log_joint = torch.logsumexp(total, dim=others, keepdim=True) if others else total
            log_joint = log_joint.reshape(latent.num_categories, -1)  # (values, examples)
            logits = (log_joint - torch.logsumexp(log_joint, 0)).T
            posteriors[latent.name] = (
                dist.Bernoulli(logits=logits[:, 1] - logits[:, 0])
                if latent.kind == "bernoulli"
                else dist.Categorical(logits=logits)
            )
        return posteriors

    def split_by_label(self, *tensors: torch.Tensor) -> dict[str, tuple[torch.Tensor, ...]] | None:
        """The rows of the story's arguments that give every partially observed site
        (``"labelled"``) and the others (``"unlabelled"``), for :func:`vaekit.fit` to draw one batch
        of each per step (weigh them with :meth:`training_objective`'s ``shares``); ``None`` when
        the story has no such site or one part would be empty."""
        if not self.partial_sites:
            return None
        given = torch.ones(tensors[0].shape[0], dtype=torch.bool)
        for latent in self.partial_sites:
            data = argument_value(latent.partial_argument, tensors, {})
            given &= observed_rows(latent.support, data).reshape(len(given), -1).all(-1).cpu()
        if bool(given.all()) or not bool(given.any()):
            return None
        return {
            "labelled": tuple(t[given] for t in tensors),
            "unlabelled": tuple(t[~given] for t in tensors),
        }

    def training_objective(
        self,
        num_particles: int = 1,
        classifier_weight: float = 0.0,
        shares: dict[str, float] | None = None,
    ) -> Any:
        """The objective for :func:`vaekit.fit`: the ELBO with discrete sites summed out exactly
        (``TraceEnum_ELBO``) when the guide enumerates some, vaekit's term-by-term ELBO otherwise.
        ``classifier_weight`` adds M2's classification term, log q(value | x) per row that gives a
        partially observed site, that many times (:class:`EnumeratedELBOObjective`). ``shares``
        (each part's share of the rows) weighs batches of the parts of :meth:`split_by_label`."""
        from vaekit.auto.objective import EnumeratedELBOObjective
        from vaekit.inference import ELBOObjective, TermwiseELBO

        if self.has_discrete_latents:
            return EnumeratedELBOObjective(
                max_plate_nesting=self.max_plate_nesting,
                num_particles=num_particles,
                classifier_weight=classifier_weight,
                shares=shares,
            )
        return ELBOObjective(
            TermwiseELBO(max_plate_nesting=self.max_plate_nesting, num_particles=num_particles)
        )


class _ReleaseData(UnconditionMessenger):
    """Pyro's ``uncondition`` for the named sites only: they are drawn instead of observed."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def _pyro_sample(self, msg: dict[str, Any]) -> None:
        if msg["name"] in self.names:
            super()._pyro_sample(msg)


def auto(
    model_fn: Callable[..., Any],
    *example_args: Any,
    config: AutoVAEConfig | None = None,
    **example_kwargs: Any,
) -> AutoVAE:
    """Build a trainable VAE from a generative story alone.

    Parameters
    ----------
    model_fn:
        The story: a function or ``nn.Module`` whose arguments are data tensors (rows are
        examples), with a ``pyro.plate`` over the examples and ``obs=`` on observed sites. A story
        with networks (a decoder) must be an ``nn.Module`` so that the VAE owns their weights.
    example_args, example_kwargs:
        An example batch, passed to ``model_fn`` once to read the story.
    config:
        Sizes of the guide's networks.

    Returns
    -------
    AutoVAE
        ``model`` is the story; ``guide`` is built from it.

    Raises
    ------
    VaekitError
        The story does not run on the example, has no data plate, or has a latent the automatic
        guide cannot handle (a global latent, an unbounded count); the message names the site.
    """
    config = config or AutoVAEConfig()
    story = read_story(
        model_fn, example_args, example_kwargs, owns_parameters=isinstance(model_fn, nn.Module)
    )
    return AutoVAE(model_fn, story, example_args, example_kwargs, config)
