"""Plate diagrams: Graphviz graphs of a model's sample sites and plates, styled and saved.

The graph itself comes from Pyro (:func:`pyro.render_model`, see :mod:`vaekit.runs.graph`); this
module only checks that Graphviz is there, restyles the sites (observed grey, latent white,
partially observed half grey, each with its family in the legend) and writes the picture.

Graphviz is optional: the Python package ``graphviz`` (``pip install "vaekit[graph]"``) builds the
graph's DOT source, and the Graphviz program ``dot`` (``apt-get install graphviz``, ``brew install
graphviz``) draws it. Each missing piece is a :class:`~vaekit.errors.GraphvizError` that says how to
install it. Nothing here imports torch or pyro.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from vaekit._io import atomic_write
from vaekit.errors import GraphvizError, VaekitError

if TYPE_CHECKING:
    import graphviz

#: Formats a diagram can be written in, named by the output file's suffix.
GRAPH_FORMATS = ("png", "svg", "pdf")
#: Resolution of PNG diagrams (Graphviz's own default, 96, gives small pictures).
DEFAULT_GRAPH_DPI = 150
#: How to install each part of Graphviz; every error about a missing part ends with this.
GRAPHVIZ_INSTALL = (
    'install the Python package with pip install "vaekit[graph]" and the Graphviz programs with '
    "apt-get install graphviz (Debian, Ubuntu) or brew install graphviz (macOS)"
)
#: Name of the legend node that :func:`pyro.render_model` adds with ``render_distributions=True``.
LEGEND_NODE = "distribution_description_node"

Role = Literal["observed", "latent", "partially observed"]
#: Fill of a site's node for each role: Pyro's convention, with the partially observed half filled.
ROLE_STYLE: dict[str, dict[str, str]] = {
    "observed": {"style": "filled", "fillcolor": "gray"},
    "latent": {"style": "filled", "fillcolor": "white"},
    "partially observed": {"style": "wedged", "fillcolor": "gray:white"},
}
ROLE_KEY = {"observed": "grey", "latent": "white", "partially observed": "half grey"}


@dataclass(frozen=True)
class DiagramSite:
    """One sample site as the diagram shows it.

    ``family`` is the distribution's name (``Normal``, ``Bernoulli``...), ``role`` whether the data
    give its value, and ``note`` a few words the legend adds (e.g. the columns of a table site).
    """

    name: str
    family: str
    role: Role
    note: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLE_STYLE:
            raise ValueError(f"role must be one of {sorted(ROLE_STYLE)}, got {self.role!r}")


def require_graphviz() -> ModuleType:
    """The ``graphviz`` Python package, or a :class:`GraphvizError` that says how to install it."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizError(
            "plate diagrams need Graphviz, and the Python package graphviz is not installed: "
            + GRAPHVIZ_INSTALL
        ) from None
    return graphviz


def require_dot() -> str:
    """Path of Graphviz's ``dot`` program, or a :class:`GraphvizError` that says how to install it."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizError(
            f"plate diagrams need Graphviz, and its program dot is not on the PATH: {GRAPHVIZ_INSTALL}"
        )
    return dot


def graph_format(path: str | Path, format: str | None = None) -> str:
    """The format to write ``path`` in: ``format`` if given, else the file's suffix (png, svg, pdf)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if format is not None:
        format = format.lower()
        if format not in GRAPH_FORMATS:
            raise VaekitError(f"the format must be one of {', '.join(GRAPH_FORMATS)}, got {format!r}")
        if suffix and suffix != format:
            raise VaekitError(f"{path} ends in .{suffix} but the format asked for is {format}")
        return format
    if suffix not in GRAPH_FORMATS:
        raise VaekitError(
            f"cannot tell the format of {path}: name a .png, .svg or .pdf file (or give the format)"
        )
    return suffix


def _dot_text(text: str) -> str:
    # The graphviz package quotes strings but leaves backslashes to DOT, which reads them as escapes.
    return text.replace("\\", "\\\\")


def _node_statement(graphviz: ModuleType, name: str, **attributes: str) -> str:
    scratch = graphviz.Digraph()
    scratch.node(name, **attributes)
    return scratch.body[0].strip()


def _node_id(graphviz: ModuleType, name: str) -> str:
    return _node_statement(graphviz, name)


def style_plate_diagram(graph: graphviz.Digraph, sites: Sequence[DiagramSite]) -> graphviz.Digraph:
    """A copy of ``graph`` with each site's node filled by its role and a legend of the sites.

    ``graph`` is a plate diagram as :func:`pyro.render_model` draws it: one node per sample site,
    named after the site, inside the clusters of its plates. Each site's node statement is rewritten
    where it stands, so the plates and edges are untouched; the legend (Pyro's distribution node,
    added if missing) lists ``site ~ Family: role``, each site's note below it, and the key of
    the fills.
    """
    graphviz = require_graphviz()
    styled = graph.copy()
    by_id = {_node_id(graphviz, site.name): site for site in sites}
    legend_id = _node_id(graphviz, LEGEND_NODE)
    lines = []
    for site in sites:
        lines.append(f"{site.name} ~ {site.family}: {site.role}")
        if site.note:
            lines.append(f"    {site.note}")
    roles = [role for role in ROLE_STYLE if any(site.role == role for site in sites)]
    lines += ["", ", ".join(f"{ROLE_KEY[role]}: {role}" for role in roles)]
    legend = _node_statement(
        graphviz,
        LEGEND_NODE,
        label="".join(_dot_text(line) + r"\l" for line in lines),
        shape="plaintext",
    )
    found_legend = False
    for index, line in enumerate(styled.body):
        stripped = line.lstrip("\t")
        indent = line[: len(line) - len(stripped)]
        node_id = stripped.split(" [", 1)[0].rstrip("\n")
        if node_id in by_id:
            site = by_id[node_id]
            statement = _node_statement(
                graphviz, site.name, label=_dot_text(site.name), shape="ellipse", **ROLE_STYLE[site.role]
            )
            styled.body[index] = f"{indent}{statement}\n"
        elif node_id == legend_id:
            styled.body[index] = f"{indent}{legend}\n"
            found_legend = True
    if not found_legend:
        styled.body.append(f"\t{legend}\n")
    return styled


def graph_bytes(graph: graphviz.Digraph, format: str, *, dpi: int = DEFAULT_GRAPH_DPI) -> bytes:
    """The picture of ``graph`` drawn by Graphviz's ``dot`` in ``format`` (png, svg or pdf)."""
    graphviz = require_graphviz()
    require_dot()
    if format not in GRAPH_FORMATS:
        raise VaekitError(f"the format must be one of {', '.join(GRAPH_FORMATS)}, got {format!r}")
    drawn = graph.copy()
    if format == "png":
        drawn.graph_attr["dpi"] = str(dpi)
    try:
        return drawn.pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise GraphvizError(
            f"plate diagrams need Graphviz, and its program dot could not be run: {GRAPHVIZ_INSTALL}"
        ) from None
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise GraphvizError(
            f"Graphviz's dot failed to draw the diagram: {message[0] if message else error}"
        ) from None


def save_graph(
    graph: Any, path: str | Path, *, format: str | None = None, dpi: int = DEFAULT_GRAPH_DPI
) -> Path:
    """Draw ``graph`` and write it to ``path`` atomically; the format comes from the suffix.

    As :func:`~vaekit.plots.save_figure` does: a hidden temporary file beside ``path``, renamed onto
    it, created with the umask's ordinary permissions; nothing is written if drawing fails.
    """
    path = Path(path)
    data = graph_bytes(graph, graph_format(path, format), dpi=dpi)
    return atomic_write(path, lambda stream: stream.write(data))
