"""The ELBO, reported term by term so that a user sees what the loss is made of."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyro
import torch
from pyro import poutine
from pyro.distributions.util import scale_and_mask
from pyro.infer.util import is_validation_enabled
from pyro.poutine.util import site_is_subsample
from pyro.util import check_model_guide_match, check_site_shape
from torch.distributions import kl_divergence

from vaekit.errors import VaekitError


@dataclass(frozen=True)
class ELBOEstimate:
    """One minibatch estimate of the ELBO, per example (nats).

    Attributes
    ----------
    loss:
        ``-ELBO`` per example, differentiable: minimise it.
    log_likelihood:
        Expected log-likelihood E_q[log p(x | z)] of each observed site, per example (detached).
    kl:
        KL(q || p) of each latent site, per example (detached); analytic where PyTorch knows the
        closed form, a Monte Carlo estimate otherwise.
    """

    loss: torch.Tensor
    log_likelihood: dict[str, torch.Tensor]
    kl: dict[str, torch.Tensor]

    @property
    def elbo(self) -> torch.Tensor:
        """The ELBO per example (detached)."""
        return -self.loss.detach()

    def terms(self) -> dict[str, torch.Tensor]:
        """Flat mapping ``elbo``, ``log_likelihood_<site>``, ``kl_<site>`` for logging."""
        flat = {"elbo": self.elbo}
        flat.update({f"log_likelihood_{name}": value for name, value in self.log_likelihood.items()})
        flat.update({f"kl_{name}": value for name, value in self.kl.items()})
        return flat


def _log_prob_sum(site: dict[str, Any]) -> torch.Tensor:
    log_prob = site["fn"].log_prob(site["value"])
    return scale_and_mask(log_prob, site["scale"], site["mask"]).sum()


def _analytic_kl(q: Any, p: Any) -> torch.Tensor | None:
    """KL(q || p) in closed form, or None where PyTorch has no formula for the pair."""
    try:
        return kl_divergence(q, p)
    except NotImplementedError:
        return None


class TermwiseELBO:
    """The Trace ELBO of a model with reparameterizable latents, with its terms.

    The guide is traced and the model replayed against it with Pyro's effect handlers, as
    ``Trace_ELBO`` does (plates, scales and masks included), and the ELBO is summed site by
    site, so that each observed variable's reconstruction term and each latent's KL are reported.
    Pyro's model/guide checks run on the first batch.

    Parameters
    ----------
    max_plate_nesting:
        Nested plates in the model (the model's ``max_plate_nesting``).
    num_particles:
        Samples of z per example, drawn in parallel in a plate left of the model's plates.

    Terms are per example of the batch passed in (``args[0]``'s first dimension): plates are
    assumed not to subsample.
    analytic_kl:
        Use the closed-form KL where PyTorch has one (Normal vs Normal), as in the paper; it has
        lower variance than the Monte Carlo estimate, which is used otherwise, and wherever the
        closed form would not be exact: a site with a model-side mask, or one whose model
        distribution reads a latent the guide draws after it (it may depend on this site).
    """

    def __init__(self, *, max_plate_nesting: int = 1, num_particles: int = 1, analytic_kl: bool = True):
        if num_particles < 1:
            raise ValueError(f"num_particles must be at least 1, got {num_particles}")
        self.max_plate_nesting = max_plate_nesting
        self.num_particles = num_particles
        self.analytic_kl = analytic_kl
        self._checked = False

    def _vectorize(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if self.num_particles == 1:
            return fn

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with pyro.plate("particles", self.num_particles, dim=-(self.max_plate_nesting + 1)):
                return fn(*args, **kwargs)

        return wrapped

    def __call__(
        self, model: Callable[..., Any], guide: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> ELBOEstimate:
        """Estimate the ELBO of ``model``/``guide`` on a batch (``args[0]``'s first dim)."""
        # Pyro's checks (model/guide site match, site shapes, distribution arguments and supports)
        # run on the first batch only: they cost as much as a fifth of a small model's step, and
        # the structure they check does not change from one batch to the next.
        check = is_validation_enabled() and not self._checked
        with pyro.validation_enabled(check):
            guide_trace = poutine.trace(self._vectorize(guide)).get_trace(*args, **kwargs)
            model_trace = poutine.trace(poutine.replay(self._vectorize(model), trace=guide_trace)).get_trace(
                *args, **kwargs
            )
            if check:
                nesting = self.max_plate_nesting + (self.num_particles > 1)
                check_model_guide_match(model_trace, guide_trace, nesting)
                for trace in (model_trace, guide_trace):
                    trace.compute_log_prob()
                    for site in trace.nodes.values():
                        if site["type"] == "sample" and not site_is_subsample(site):
                            check_site_shape(site, nesting)
                self._checked = True
            return self._estimate(model_trace, guide_trace, args)

    def _estimate(self, model_trace: Any, guide_trace: Any, args: tuple[Any, ...]) -> ELBOEstimate:
        batch_size = args[0].shape[0] if args and torch.is_tensor(args[0]) else 1
        normaliser = batch_size * self.num_particles
        log_likelihood: dict[str, torch.Tensor] = {}
        kl: dict[str, torch.Tensor] = {}
        elbo: torch.Tensor | float = 0.0
        guide_order = {
            name: index
            for index, name in enumerate(
                name for name, site in guide_trace.nodes.items() if site["type"] == "sample"
            )
        }
        earlier_latents: list[str] = []
        for name, site in model_trace.nodes.items():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            if site["is_observed"]:
                term = _log_prob_sum(site)
                log_likelihood[name] = term.detach() / normaliser
                elbo = elbo + term
                continue
            guide_site = guide_trace.nodes.get(name)
            if guide_site is None:
                raise VaekitError(f"latent site {name!r} of the model has no matching site in the guide")
            if not guide_site["fn"].has_rsample:
                raise VaekitError(
                    f"latent site {name!r} is not reparameterizable; "
                    "use an enumerating ELBO for discrete latents"
                )
            # The closed form covers the guide's scale and mask; a model-side mask needs the Monte Carlo form.
            # It is also exact only if the model's distribution here is fixed once the guide has drawn
            # this site: every latent it may depend on (those before it in the story) must be drawn
            # before it by the guide too. Otherwise (an auxiliary a, whose p(a | z) reads a z the guide
            # draws from a) the closed form would integrate a out while holding z fixed.
            parents_drawn_first = all(
                guide_order.get(parent, -1) < guide_order[name] for parent in earlier_latents
            )
            earlier_latents.append(name)
            use_closed_form = self.analytic_kl and site["mask"] is None and parents_drawn_first
            divergence = _analytic_kl(guide_site["fn"], site["fn"]) if use_closed_form else None
            if divergence is not None:
                term = scale_and_mask(divergence, guide_site["scale"], guide_site["mask"]).sum()
            else:
                term = _log_prob_sum(guide_site) - _log_prob_sum(site)
            kl[name] = term.detach() / normaliser
            elbo = elbo - term
        loss = -elbo / normaliser
        return ELBOEstimate(loss=loss, log_likelihood=log_likelihood, kl=kl)


__all__ = ["ELBOEstimate", "TermwiseELBO"]
