"""Plate diagrams of a model, drawn by Pyro from the model itself (``vaekit graph``).

:func:`pyro.render_model` runs the model's ``model()`` on example arguments, follows which sample
sites each site's distribution depends on, and draws the sites inside their plates. The example
arguments are a tiny batch made from the architecture alone (the structure of the story does not
depend on the values), so a run's diagram is drawn without its data at hand. Each model kind makes
its own (:meth:`vaekit.runs.registry.ModelKind.example_arguments`):

- the image VAE: a batch of blank images;
- the semi-supervised VAE: the batch twice, once with labels and once without, so that y is
  observed in one trace and latent in the other: partially observed;
- the tabular VAE: rows drawn from the model with some cells of every column missing, so that each
  column site is observed where present and masked where missing;
- the sequence VAE: sequences drawn from the model, one shorter than the other and with missing
  cells, so that padded steps and missing cells show as masked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.poutine.util import site_is_subsample

from vaekit.errors import VaekitError
from vaekit.models import VAE
from vaekit.plots.graph import DiagramSite, require_graphviz, save_graph, style_plate_diagram
from vaekit.runs.registry import find_kind
from vaekit.runs.store import Run

if TYPE_CHECKING:
    import graphviz


def example_arguments(model: VAE) -> list[tuple[Any, ...]]:
    """Positional arguments of ``model.model``, one tuple per case the diagram merges."""
    kind = find_kind(model)
    if kind is None:
        raise VaekitError(
            f"no plate diagram for a {type(model).__name__}: vaekit draws its registered models"
        )
    return kind.example_arguments(model)


def _family(fn: Any) -> str:
    """The distribution's name, unwrapped from Independent, Expanded and Masked, in Pyro's terms."""
    while isinstance(fn, (dist.Independent, dist.ExpandedDistribution, dist.MaskedDistribution)):
        fn = fn.base_dist
    # vaekit's own distributions (IntensityBernoulli) are named after the Pyro family they extend.
    for cls in type(fn).__mro__:
        if cls.__module__.startswith(("pyro.", "torch.")):
            return cls.__name__
    return type(fn).__name__


def _partly_masked(site: dict[str, Any]) -> bool:
    """Whether some entries of an observed site are masked out of the likelihood."""
    masks = [site.get("mask")]
    fn = site["fn"]
    while isinstance(fn, (dist.Independent, dist.ExpandedDistribution, dist.MaskedDistribution)):
        if isinstance(fn, dist.MaskedDistribution):
            masks.append(fn._mask)
        fn = fn.base_dist
    return any((isinstance(m, torch.Tensor) and not bool(m.all())) or m is False for m in masks)


def diagram_sites(model: VAE, cases: list[tuple[Any, ...]]) -> list[DiagramSite]:
    """Each sample site of ``model.model`` with its family and role over the example ``cases``."""
    seen: dict[str, dict[str, Any]] = {}
    for args in cases:
        with torch.random.fork_rng(devices=[]), torch.no_grad(), pyro.validation_enabled(False):
            trace = poutine.trace(model.model).get_trace(*args)
        for name, site in trace.nodes.items():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            entry = seen.setdefault(name, {"family": _family(site["fn"]), "observed": set(), "masked": False})
            entry["observed"].add(bool(site["is_observed"]))
            entry["masked"] |= bool(site["is_observed"]) and _partly_masked(site)
    kind = find_kind(model)
    note = kind.partial_note if kind is not None else ""
    columns = kind.site_notes(model) if kind is not None else {}
    sites = []
    for name, entry in seen.items():
        if entry["observed"] == {True, False} or entry["masked"]:
            role, text = "partially observed", note
        else:
            role, text = ("observed" if entry["observed"] == {True} else "latent"), ""
        if name in columns:
            text = "; ".join(part for part in (text, columns[name]) if part)
        sites.append(DiagramSite(name, entry["family"], role, text))
    return sites


def model_graph(model: VAE) -> graphviz.Digraph:
    """The plate diagram of ``model``: Pyro's :func:`~pyro.render_model`, restyled with a legend."""
    require_graphviz()
    cases = example_arguments(model)
    with torch.no_grad():
        graph = pyro.render_model(
            model.model,
            model_args=cases if len(cases) > 1 else cases[0],
            render_distributions=True,
            render_params=False,
        )
    return style_plate_diagram(graph, diagram_sites(model, cases))


def write_model_graph(source: Run | VAE, path: str | Path, *, format: str | None = None) -> Path:
    """Draw the plate diagram of a run's model (or of a model) to ``path``: PNG, SVG or PDF."""
    model = source.model if isinstance(source, Run) else source
    return save_graph(model_graph(model), path, format=format)
