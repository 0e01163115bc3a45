"""Reading a generative story: trace it once on an example batch and describe its sites.

What the automatic guide needs to know about a Pyro model, and nothing more: the data plate, the
latent sites inside it (their support and shape), the observed sites and which argument of the
model holds each one's data, and the discrete sites that are observed for some rows only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from pyro import poutine
from pyro.poutine.util import site_is_subsample
from torch.distributions import biject_to, constraints

from vaekit.errors import VaekitError

#: Where a model argument sits: its position, or its keyword.
ArgumentRef = int | str
LatentKind = Literal["continuous", "bernoulli", "categorical", "one_hot"]

# Pyro's obs_mask splits a site "y" into these two sample sites and a deterministic "y".
_OBSERVED_SUFFIX = "_observed"
_UNOBSERVED_SUFFIX = "_unobserved"


@dataclass(frozen=True)
class DataPlate:
    """The plate over examples: its name, dimension and size on the example batch."""

    name: str
    dim: int
    size: int


@dataclass(frozen=True)
class ObservedSite:
    """An observed site of the story and the model argument that holds its data."""

    name: str
    argument: ArgumentRef


@dataclass(frozen=True)
class LatentSite:
    """A latent site inside the data plate.

    Attributes
    ----------
    name:
        The sample site's name (``<name>_unobserved`` for the missing rows of a partially observed site).
    kind:
        ``"continuous"`` (guided by a Normal pushed through ``biject_to(support)``) or the discrete
        family whose classifier head guides it (``"bernoulli"``, ``"categorical"``, ``"one_hot"``).
    support:
        The site's support in the model.
    event_shape:
        Shape of one draw.
    num_categories:
        Number of values a discrete site takes (0 for a continuous one).
    partial_argument:
        For a partially observed site, the model argument holding its observed values (the other
        rows hold a value outside the support: -1 or NaN); ``None`` otherwise.
    """

    name: str
    kind: LatentKind
    support: constraints.Constraint
    event_shape: tuple[int, ...]
    num_categories: int = 0
    partial_argument: ArgumentRef | None = None

    @property
    def is_discrete(self) -> bool:
        """Whether the guide enumerates the site instead of sampling it."""
        return self.kind != "continuous"


@dataclass(frozen=True)
class Story:
    """What :func:`read_story` found in a model.

    ``latents`` are in the order the guide samples them: discrete sites first, then continuous
    ones, each in the story's order, so that each latent's encoder can see those before it.
    ``summed`` are the discrete sites the story marks ``infer={"enumerate": "parallel"}`` itself:
    the model sums them out exactly and the guide has no site for them (a Gaussian mixture prior
    on z, say, whose cluster is then inferred from z rather than guessed before it).
    """

    plate: DataPlate
    observed: tuple[ObservedSite, ...]
    latents: tuple[LatentSite, ...]
    max_plate_nesting: int
    summed: tuple[LatentSite, ...] = ()


def _arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[ArgumentRef, torch.Tensor]:
    found: dict[ArgumentRef, torch.Tensor] = {i: a for i, a in enumerate(args) if isinstance(a, torch.Tensor)}
    found.update({k: v for k, v in kwargs.items() if isinstance(v, torch.Tensor)})
    return found


def argument_value(ref: ArgumentRef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    """The tensor a model argument reference points to in a call's arguments."""
    return args[ref] if isinstance(ref, int) else kwargs[ref]


def describe_argument(ref: ArgumentRef) -> str:
    """``argument 0`` or ``keyword argument 'labels'``, for messages."""
    return f"argument {ref}" if isinstance(ref, int) else f"keyword argument {ref!r}"


def _holds(argument: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None) -> bool:
    """Whether ``argument`` holds the observed ``value`` (on the rows of ``mask`` where given)."""
    if argument is value:
        return True
    if argument.numel() != value.numel() or argument.shape[:1] != value.shape[:1]:
        return False
    reshaped = value.reshape(argument.shape).to(argument.dtype)
    if mask is None:
        return bool(torch.equal(reshaped, argument))
    rows = mask.reshape(mask.shape[:1] + (-1,)).all(-1) if mask.dim() > 1 else mask
    if not bool(rows.any()):
        return False  # no row gives a value: any argument of that shape would seem to hold it
    return bool(torch.equal(reshaped[rows], argument[rows]))


def _find_argument(
    site: dict[str, Any], arguments: dict[ArgumentRef, torch.Tensor], mask: torch.Tensor | None
) -> ArgumentRef:
    for ref, argument in arguments.items():
        if _holds(argument, site["value"], mask):
            return ref
    if mask is not None and not bool(mask.any()):
        raise VaekitError(
            f"observed site {site['name']!r}: no row of the example batch gives it, so the automatic guide "
            f"cannot tell which argument holds its values; include a row that gives it in the example"
        )
    raise VaekitError(
        f"observed site {site['name']!r}: no argument of the model holds its data; the automatic guide "
        f"reads the data from the model's arguments, so pass a data tensor as an argument and observe it "
        f"as it is (obs=x, or obs=x.reshape(...))"
    )


def _classify_latent(name: str, fn: Any) -> tuple[LatentKind, int]:
    """The head family for a latent site's support, or a VaekitError naming the site."""
    support = fn.support
    event_shape = tuple(fn.event_shape)
    if not support.is_discrete:
        try:
            biject_to(support)
        except NotImplementedError:
            raise VaekitError(
                f"latent site {name!r}: its support {support} has no bijection from real numbers, so the "
                f"automatic guide cannot build a head for it"
            ) from None
        return "continuous", 0
    if isinstance(support, constraints._Boolean) and not event_shape:
        return "bernoulli", 2
    if isinstance(support, constraints._IntegerInterval) and not event_shape and support.lower_bound == 0:
        return "categorical", int(support.upper_bound) + 1
    if isinstance(support, constraints._OneHot) and len(event_shape) == 1:
        return "one_hot", event_shape[0]
    raise VaekitError(
        f"latent site {name!r}: its distribution {type(fn).__name__} has the discrete support {support} "
        f"with event shape {event_shape}; the automatic guide enumerates only discrete latents with a "
        f"finite support, one value per example (Bernoulli, Categorical, OneHotCategorical); an "
        f"unbounded count such as Poisson is not supported"
    )


def _vectorized_frames(site: dict[str, Any]) -> list[Any]:
    return [frame for frame in site["cond_indep_stack"] if frame.vectorized]


def _find_data_plate(observed_sites: list[dict[str, Any]], batch_size: int | None) -> DataPlate:
    names = [site["name"] for site in observed_sites]
    common = None
    for site in observed_sites:
        frames = {frame.name: frame for frame in _vectorized_frames(site)}
        common = frames if common is None else {n: f for n, f in common.items() if n in frames}
    if not common:
        raise VaekitError(
            f"no data plate: the observed sites {names} are not inside a common pyro.plate; write the "
            f"story for a batch of examples, e.g. `with pyro.plate('data', x.shape[0]): ...`"
        )
    candidates = list(common.values())
    if len(candidates) > 1 and batch_size is not None:
        candidates = [frame for frame in candidates if frame.size == batch_size] or candidates
    if len(candidates) > 1:
        raise VaekitError(
            f"several plates enclose every observed site ({sorted(common)}); the automatic guide cannot "
            f"tell which one runs over the examples"
        )
    frame = candidates[0]
    return DataPlate(frame.name, frame.dim, frame.size)


def trace_story(model: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``model`` once under a Pyro trace, turning any failure into a VaekitError."""
    try:
        trace = poutine.trace(model).get_trace(*args, **kwargs)
        # Scoring every site once catches what running alone does not: an observation whose shape
        # does not fit its distribution, a value outside the support.
        trace.compute_log_prob()
        return trace
    except VaekitError:
        raise
    except Exception as error:
        raise VaekitError(
            f"the model did not run on the example batch: {type(error).__name__}: {error}; "
            f"pass arguments the model accepts (a batch of data tensors)"
        ) from error


def read_story(
    model: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, owns_parameters: bool
) -> Story:
    """Trace ``model(*args, **kwargs)`` and describe what the automatic guide must cover.

    ``owns_parameters`` says whether the model is an ``nn.Module`` (whose weights the VAE then
    owns); a plain function whose sites depend on trainable tensors is refused, because those
    weights would be outside the VAE and never trained or saved with it.
    """
    trace = trace_story(model, args, kwargs)
    sample_sites = [
        site for site in trace.nodes.values() if site["type"] == "sample" and not site_is_subsample(site)
    ]
    param_sites = [site["name"] for site in trace.nodes.values() if site["type"] == "param"]
    if param_sites:
        raise VaekitError(
            f"the model calls pyro.param or pyro.module ({param_sites[:3]}); vaekit keeps weights in the "
            f"module, never in Pyro's parameter store: write the story as an nn.Module whose networks are "
            f"plain torch submodules"
        )
    if not owns_parameters:
        for site in sample_sites:
            try:
                depends_on_weights = site["fn"].log_prob(site["value"]).requires_grad
            except (ValueError, RuntimeError, IndexError):
                continue  # a value outside the support: Pyro's own checks report it in training
            if depends_on_weights:
                raise VaekitError(
                    f"site {site['name']!r} depends on trainable weights, but the model is a plain function: "
                    f"write it as an nn.Module (the networks its submodules) so that the VAE owns, trains "
                    f"and saves them"
                )

    deterministic = {site["name"] for site in sample_sites if site["infer"].get("_deterministic")}
    observed_sites = [s for s in sample_sites if s["is_observed"] and s["name"] not in deterministic]
    latent_sites = [s for s in sample_sites if not s["is_observed"]]
    if not observed_sites:
        raise VaekitError("the model has no observed site: observe the data with pyro.sample(..., obs=x)")

    arguments = _arguments(args, kwargs)
    first = next(iter(arguments.values()), None)
    plate = _find_data_plate(observed_sites, first.shape[0] if first is not None and first.dim() else None)
    if plate.dim != -1:
        raise VaekitError(
            f"the data plate {plate.name!r} has dim={plate.dim}; the automatic guide supports only a "
            f"data plate at dim=-1 (the outermost plate) so far"
        )

    # The split halves of a partially observed site: "<base>_observed" (observed) and "<base>_unobserved"
    # (latent), both beside a deterministic "<base>".
    partial_bases = {
        s["name"][: -len(_UNOBSERVED_SUFFIX)]
        for s in latent_sites
        if s["name"].endswith(_UNOBSERVED_SUFFIX) and s["name"][: -len(_UNOBSERVED_SUFFIX)] in deterministic
    }
    observed: list[ObservedSite] = []
    partial_arguments: dict[str, ArgumentRef] = {}
    for site in observed_sites:
        base = site["name"][: -len(_OBSERVED_SUFFIX)] if site["name"].endswith(_OBSERVED_SUFFIX) else None
        if base in partial_bases:
            mask = site["mask"] if isinstance(site["mask"], torch.Tensor) else None
            partial_arguments[base] = _find_argument(site, arguments, mask)
        else:
            observed.append(ObservedSite(site["name"], _find_argument(site, arguments, None)))

    continuous: list[LatentSite] = []
    discrete: list[LatentSite] = []
    summed: list[LatentSite] = []
    for site in latent_sites:
        name, fn = site["name"], site["fn"]
        frames = [frame.name for frame in _vectorized_frames(site)]
        if plate.name not in frames:
            raise VaekitError(
                f"latent site {name!r} is global (outside the data plate {plate.name!r}); the automatic "
                f"guide does not support global latents yet: make it a module parameter or move it into "
                f"the data plate"
            )
        if len(frames) > 1:
            raise VaekitError(
                f"latent site {name!r} is inside plates {frames}; the automatic guide supports latents in "
                f"the data plate only so far (put the inner dimensions in the event with .to_event)"
            )
        kind, categories = _classify_latent(name, fn)
        partial = (
            partial_arguments.get(name[: -len(_UNOBSERVED_SUFFIX)])
            if name.endswith(_UNOBSERVED_SUFFIX)
            else None
        )
        if partial is not None:
            if kind not in ("bernoulli", "categorical"):
                raise VaekitError(
                    f"site {name!r}: partially observed sites are supported for Bernoulli and Categorical "
                    f"distributions only so far"
                )
            _check_missing_rows(name, site, fn.support, argument_value(partial, args, kwargs))
        elif name.endswith(_UNOBSERVED_SUFFIX) and name[: -len(_UNOBSERVED_SUFFIX)] in partial_bases:
            raise VaekitError(f"site {name!r}: cannot find which argument holds its observed rows")
        latent = LatentSite(name, kind, fn.support, tuple(fn.event_shape), categories, partial)
        if site["infer"].get("enumerate") == "parallel":
            if partial is not None or not latent.is_discrete:
                raise VaekitError(
                    f"site {name!r} is marked enumerate='parallel' in the story: the model can sum out "
                    f"only a discrete latent that no row observes; drop the mark and the guide infers it"
                )
            summed.append(latent)
            continue
        (discrete if latent.is_discrete else continuous).append(latent)

    nesting = max((-frame.dim for s in sample_sites for frame in _vectorized_frames(s)), default=1)
    return Story(plate, tuple(observed), tuple(discrete + continuous), nesting, tuple(summed))


def observed_rows(support: constraints.Constraint, values: torch.Tensor) -> torch.Tensor:
    """Which rows of a partially observed site's data hold a value: those inside the support
    (a missing row holds -1, NaN or another value outside it)."""
    return support.check(values) & ~torch.isnan(values.to(torch.float32))


def _check_missing_rows(name: str, site: dict[str, Any], support: Any, values: torch.Tensor) -> None:
    # The guide cannot see the model's obs_mask, only the data: the rows it treats as observed must
    # be the ones the model observes, or the two would disagree about which rows are summed out.
    mask = site["mask"]
    if not isinstance(mask, torch.Tensor) or not torch.equal(observed_rows(support, values), ~mask.bool()):
        raise VaekitError(
            f"site {name!r}: the model's obs_mask must mark as observed exactly the rows whose data lie in "
            f"the support {support} (write missing values as -1 or NaN and obs_mask=<data> >= 0)"
        )
