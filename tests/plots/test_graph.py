"""Plate diagrams: each flagship's sites, roles and plate in the DOT source, the pictures, and the
errors that say how to install Graphviz when it is missing.

The source-level tests need only the Python package graphviz; drawing pictures also needs the
Graphviz program dot. Each group skips where its part is missing; the error paths run everywhere.
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import vaekit.plots.graph as graph_module
from vaekit.data.tabular import fit_schema, infer_schema
from vaekit.errors import GraphvizError, VaekitError
from vaekit.models import (
    ImageVAE,
    ImageVAEConfig,
    SemiSupervisedVAE,
    SemiSupervisedVAEConfig,
    SequenceVAE,
    SequenceVAEConfig,
    TabularVAE,
    TabularVAEConfig,
)
from vaekit.plots.graph import (
    DiagramSite,
    graph_format,
    require_dot,
    require_graphviz,
    save_graph,
    style_plate_diagram,
)
from vaekit.runs.graph import diagram_sites, example_arguments, model_graph, write_model_graph


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


HAS_GRAPHVIZ = _importable("graphviz")
needs_graphviz = pytest.mark.skipif(
    not HAS_GRAPHVIZ, reason='needs the graphviz package: pip install "vaekit[graph]"'
)
needs_dot = pytest.mark.skipif(
    not HAS_GRAPHVIZ or shutil.which("dot") is None,
    reason="needs the graphviz package and Graphviz's dot program (apt-get install graphviz)",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INSTALL_HINTS = ('pip install "vaekit[graph]"', "apt-get install graphviz", "brew install graphviz")


def _image_vae() -> ImageVAE:
    return ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=2, hidden=(8,)))


def _ss_vae() -> SemiSupervisedVAE:
    return SemiSupervisedVAE(SemiSupervisedVAEConfig((1, 8, 8), num_classes=3, z_dim=2, hidden=(8,)))


def _tabular_vae() -> TabularVAE:
    rows = 12
    table = pd.DataFrame(
        {
            "height": [float(i) - 5.5 for i in range(rows)],
            "weight": [1.0 + i for i in range(rows)],
            "income": [2.5 + i for i in range(rows)],
            "visits": [i % 4 for i in range(rows)],
            "smoker": [i % 2 for i in range(rows)],
            "colour": ["red", "green", "blue"] * (rows // 3),
        }
    )
    schema = fit_schema(infer_schema(table), table)
    return TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(8,)))


def _sequence_vae() -> SequenceVAE:
    schema = _tabular_vae().schema
    return SequenceVAE(SequenceVAEConfig(schema.to_dict(), z_dim=2, hidden=8))


def _nodes(source: str) -> dict[str, tuple[str, str]]:
    """Node name -> (its attributes, the cluster it stands in or "" at the top level)."""
    nodes, cluster = {}, ""
    for line in source.splitlines():
        opened = re.match(r"\s*subgraph (cluster_\w+) \{", line)
        if opened:
            cluster = opened.group(1)
        elif line.strip() == "}":
            cluster = ""
        else:
            node = re.match(r'\s*"?([\w-]+)"? \[(.*)\]$', line)
            if node:
                nodes[node.group(1)] = (node.group(2), cluster)
    return nodes


def _edges(source: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^\s*(\w+) -> (\w+)$", source, flags=re.MULTILINE))


def _role_of(attributes: str) -> str:
    if 'fillcolor="gray:white"' in attributes and "style=wedged" in attributes:
        return "partially observed"
    if "fillcolor=gray " in attributes or attributes.startswith("fillcolor=gray"):
        return "observed"
    assert "fillcolor=white" in attributes, attributes
    return "latent"


# --- the three flagships ------------------------------------------------------------------------------


@needs_graphviz
def test_image_vae_diagram_shows_latent_z_generating_observed_x_in_the_data_plate() -> None:
    source = model_graph(_image_vae()).source
    nodes = _nodes(source)
    assert {name: _role_of(nodes[name][0]) for name in ("z", "x")} == {"z": "latent", "x": "observed"}
    assert nodes["z"][1] == nodes["x"][1] == "cluster_data"
    assert "label=data" in source
    assert _edges(source) == {("z", "x")}
    assert r"z ~ Normal: latent\lx ~ Bernoulli: observed\l" in source


@needs_graphviz
def test_ss_vae_diagram_shows_y_partially_observed() -> None:
    source = model_graph(_ss_vae()).source
    nodes = _nodes(source)
    roles = {name: _role_of(nodes[name][0]) for name in ("z", "y", "x")}
    assert roles == {"z": "latent", "y": "partially observed", "x": "observed"}
    assert {nodes[name][1] for name in ("z", "y", "x")} == {"cluster_data"}
    assert _edges(source) == {("z", "x"), ("y", "x")}
    assert "y ~ Categorical: partially observed" in source
    assert "given where labelled, summed out where not" in source
    assert "half grey: partially observed" in source


@needs_graphviz
def test_tabular_diagram_has_one_masked_site_per_family_with_its_columns() -> None:
    model = _tabular_vae()
    source = model_graph(model).source
    nodes = _nodes(source)
    families = {column.family for column in model.schema.columns}
    assert families == {"normal", "gamma", "poisson", "bernoulli", "categorical"}
    sites = {f"x_{family}" for family in families}
    assert sites | {"z"} <= set(nodes)
    assert _role_of(nodes["z"][0]) == "latent"
    for site in sites:
        assert _role_of(nodes[site][0]) == "partially observed", site
        assert nodes[site][1] == "cluster_data"
    assert _edges(source) == {("z", site) for site in sites}
    assert "x_normal ~ Normal: partially observed" in source
    assert r"missing cells masked; column height\l" in source
    assert "x_poisson ~ Poisson" in source and "columns weight, visits" in source
    assert "x_bernoulli ~ Bernoulli" in source and "column smoker" in source
    assert "x_categorical ~ Categorical" in source and "column colour" in source


@needs_graphviz
def test_sequence_diagram_masks_padded_steps_and_missing_cells() -> None:
    model = _sequence_vae()
    source = model_graph(model).source
    nodes = _nodes(source)
    sites = {f"x_{column.family}" for column in model.schema.columns}
    assert _role_of(nodes["z"][0]) == "latent"
    assert all(_role_of(nodes[site][0]) == "partially observed" for site in sites)
    assert _edges(source) == {("z", site) for site in sites}
    assert "padded steps and missing cells masked" in source
    ((values, observed, lengths),) = example_arguments(model)
    assert values.shape[:2] == (2, 3) and lengths.tolist() == [3, 2] and not observed.all()


def test_example_arguments_hold_each_case_the_diagram_merges() -> None:
    (image_case,) = example_arguments(_image_vae())
    assert image_case[0].shape[1:] == (1, 8, 8)
    labelled, unlabelled = example_arguments(_ss_vae())
    assert labelled[1] is not None and labelled[1].dtype == torch.long and unlabelled[1] is None
    ((values, observed),) = example_arguments(_tabular_vae())
    assert values.shape == observed.shape
    # Every column has a present and a missing cell, so every column site shows its mask.
    assert observed.any(0).all() and (~observed).any(0).all()


def test_diagram_sites_name_each_family_and_role_without_graphviz() -> None:
    model = _ss_vae()
    sites = {site.name: site for site in diagram_sites(model, example_arguments(model))}
    assert [(s.family, s.role) for s in sites.values()] == [
        ("Normal", "latent"),
        ("Categorical", "partially observed"),
        ("Bernoulli", "observed"),
    ]
    image = _image_vae()
    assert [s.role for s in diagram_sites(image, example_arguments(image))] == ["latent", "observed"]


def test_a_model_that_is_not_a_flagship_is_refused() -> None:
    class Other(ImageVAE):
        pass

    class Unknown(torch.nn.Module):
        device = torch.device("cpu")

    with pytest.raises(VaekitError, match="no plate diagram for a Unknown"):
        example_arguments(Unknown())  # type: ignore[arg-type]
    assert example_arguments(Other(ImageVAEConfig((1, 4, 4), z_dim=2, hidden=(4,))))


# --- styling ------------------------------------------------------------------------------------------------


@needs_graphviz
def test_style_rewrites_nodes_in_place_and_adds_a_legend() -> None:
    import graphviz

    graph = graphviz.Digraph()
    with graph.subgraph(name="cluster_rows") as plate:
        plate.attr(label="rows")
        plate.node("x-1", label="x-1", fillcolor="white", style="filled")
    graph.node("w")
    graph.edge("w", "x-1")
    styled = style_plate_diagram(
        graph,
        [DiagramSite("w", "Normal", "latent"), DiagramSite("x-1", "Poisson", "observed", note="a \\ b")],
    )
    assert styled is not graph and "fillcolor=white" in graph.source
    nodes = _nodes(styled.source)
    assert nodes["x-1"][1] == "cluster_rows" and _role_of(nodes["x-1"][0]) == "observed"
    assert _role_of(nodes["w"][0]) == "latent"
    assert r"x-1 ~ Poisson: observed\l    a \\ b\l" in styled.source
    assert styled.source.count("distribution_description_node") == 1


def test_a_site_role_outside_the_three_is_refused() -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        DiagramSite("z", "Normal", "hidden")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "format", "expected"),
    [("m.png", None, "png"), ("m.SVG", None, "svg"), ("m.pdf", "pdf", "pdf"), ("m", "svg", "svg")],
)
def test_the_format_comes_from_the_suffix_or_the_option(path: str, format: str | None, expected: str) -> None:
    assert graph_format(path, format) == expected


@pytest.mark.parametrize(
    ("path", "format", "message"),
    [
        ("m.txt", None, "cannot tell the format"),
        ("m", None, "cannot tell the format"),
        ("m.png", "svg", "ends in .png but the format asked for is svg"),
        ("m.gif", "gif", "the format must be one of png, svg, pdf"),
    ],
)
def test_bad_formats_are_refused(path: str, format: str | None, message: str) -> None:
    with pytest.raises(VaekitError, match=message):
        graph_format(path, format)


# --- pictures ---------------------------------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize("make", [_image_vae, _ss_vae, _tabular_vae])
def test_each_flagship_draws_to_a_png_written_atomically(make, tmp_path: Path) -> None:
    out = write_model_graph(make(), tmp_path / "model.png")
    assert out == tmp_path / "model.png"
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.png"]
    # Ordinary permissions, as for any file the user creates (not a temporary file's 0600).
    (tmp_path / "plain").write_bytes(b"")
    assert out.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


@needs_dot
def test_svg_and_pdf_pictures(tmp_path: Path) -> None:
    graph = model_graph(_ss_vae())
    svg = save_graph(graph, tmp_path / "model.svg").read_text()
    assert "<svg" in svg and "partially observed" in svg
    assert save_graph(graph, tmp_path / "model", format="pdf").read_bytes().startswith(b"%PDF")


# --- Graphviz missing -----------------------------------------------------------------------------------


def _assert_install_hints(message: str) -> None:
    assert "\n" not in message
    for hint in INSTALL_HINTS:
        assert hint in message


def test_a_missing_graphviz_package_says_how_to_install_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now raises ImportError
    with pytest.raises(GraphvizError, match="Python package graphviz is not installed") as error:
        require_graphviz()
    _assert_install_hints(str(error.value))
    with pytest.raises(GraphvizError):
        model_graph(_image_vae())
    with pytest.raises(GraphvizError):
        write_model_graph(_image_vae(), tmp_path / "model.png")
    assert not list(tmp_path.iterdir())


def test_a_missing_dot_program_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizError, match="its program dot is not on the PATH") as error:
        require_dot()
    _assert_install_hints(str(error.value))


@needs_graphviz
def test_dot_missing_when_drawing_writes_nothing(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizError, match="dot is not on the PATH"):
        write_model_graph(_image_vae(), tmp_path / "model.png")
    # dot found by the check but not runnable (an empty PATH): still the same clear error.
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: "dot")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizError, match="dot could not be run") as error:
        write_model_graph(_image_vae(), tmp_path / "model.png")
    _assert_install_hints(str(error.value))
    assert not list(tmp_path.iterdir())


def test_the_drawing_module_imports_neither_torch_nor_pyro_nor_graphviz_eagerly() -> None:
    tree = ast.parse(Path(graph_module.__file__).read_text(encoding="utf-8"))
    imported = [
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    ]
    assert not {"torch", "pyro"} & set(imported)
    eager = [alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names] + [
        node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
    ]
    assert "graphviz" not in eager
