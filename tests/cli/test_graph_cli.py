"""`vaekit graph` and the demo's plate diagrams: pictures where Graphviz is installed, one-line errors
(exit 2) that say how to install it where it is not.

The run folders here hold an untrained model of each flagship (the diagram shows the model's
structure, not its weights), so no test trains anything.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

import vaekit.plots.graph as graph_module
from vaekit.cli.main import main
from vaekit.data.tabular import fit_schema, infer_schema
from vaekit.demo import DIAGRAM, DIAGRAM_CAPTIONS, _draw_diagrams
from vaekit.models import (
    ImageVAE,
    ImageVAEConfig,
    SemiSupervisedVAE,
    SemiSupervisedVAEConfig,
    TabularVAE,
    TabularVAEConfig,
)
from vaekit.runs import Run, load_run, save_model


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


needs_dot = pytest.mark.skipif(
    not _importable("graphviz") or shutil.which("dot") is None,
    reason="needs the graphviz package and Graphviz's dot program (apt-get install graphviz)",
)
INSTALL_HINTS = ('pip install "vaekit[graph]"', "apt-get install graphviz", "brew install graphviz")


def _models() -> dict[str, object]:
    table = pd.DataFrame(
        {"x1": [0.5, 1.5, 2.0, 3.5], "x2": [-1.0, 0.0, 1.0, 2.5], "x3": [0.1, -0.2, 1.1, 2.0]}
    )
    schema = fit_schema(infer_schema(table), table)
    return {
        "image-vae": ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=2, hidden=(8,))),
        "ss-vae": SemiSupervisedVAE(SemiSupervisedVAEConfig((1, 8, 8), num_classes=3, z_dim=2, hidden=(8,))),
        "tabular-vae": TabularVAE(TabularVAEConfig(schema.to_dict(), z_dim=2, hidden=(8,))),
    }


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("graph-runs")
    dirs = {}
    for name, model in _models().items():
        save_model(model, root / name / "model.pt")
        (root / name / "config.json").write_text(json.dumps({"model": type(model).__name__}))
        dirs[name] = root / name
    return dirs


@needs_dot
@pytest.mark.parametrize("name", ["image-vae", "ss-vae", "tabular-vae"])
def test_graph_draws_a_png_of_each_flagship(name, run_dirs, tmp_path, capsys) -> None:
    out = tmp_path / "model.png"
    assert main(["graph", str(run_dirs[name]), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert capsys.readouterr().out.strip() == str(out)


@needs_dot
def test_graph_format_from_the_suffix_or_the_flag(run_dirs, tmp_path) -> None:
    assert main(["graph", str(run_dirs["ss-vae"]), "--out", str(tmp_path / "m.svg")]) == 0
    assert "partially observed" in (tmp_path / "m.svg").read_text()
    assert main(["graph", str(run_dirs["ss-vae"]), "--out", str(tmp_path / "m"), "--format", "pdf"]) == 0
    assert (tmp_path / "m").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{run}", "--out", "{tmp}/m.txt"], "cannot tell the format of"),
        (
            ["{run}", "--out", "{tmp}/m.png", "--format", "svg"],
            "ends in .png but the format asked for is svg",
        ),
        (["{tmp}/nowhere", "--out", "{tmp}/m.png"], "is not a vaekit run folder"),
        (["{run}", "--out", "{tmp}/folder.png"], "is a folder"),
    ],
)
def test_graph_user_errors_are_one_line_and_exit_2(argv, message, run_dirs, tmp_path, capsys) -> None:
    argv = [a.format(run=run_dirs["image-vae"], tmp=tmp_path) for a in argv]
    (tmp_path / "folder.png").mkdir()
    assert main(["graph", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaekit: error: ") and message in err and err.count("\n") == 1


def test_graph_without_the_graphviz_package_says_how_to_install_it(run_dirs, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now raises ImportError
    assert main(["graph", str(run_dirs["image-vae"]), "--out", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "the Python package graphviz is not installed" in err and err.count("\n") == 1
    assert all(hint in err for hint in INSTALL_HINTS)
    assert not (tmp_path / "m.png").exists()


@pytest.mark.skipif(
    not _importable("graphviz"), reason='needs the graphviz package: pip install "vaekit[graph]"'
)
def test_graph_without_dot_says_how_to_install_it(run_dirs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    assert main(["graph", str(run_dirs["tabular-vae"]), "--out", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "its program dot is not on the PATH" in err and err.count("\n") == 1
    assert all(hint in err for hint in INSTALL_HINTS)


# --- the demo's diagrams ---------------------------------------------------------------------------------


def _demo_runs(run_dirs: dict[str, Path]) -> dict[str, Run]:
    return {name: load_run(path) for name, path in run_dirs.items()}


@needs_dot
def test_the_demo_draws_each_flagship_diagram(run_dirs, capsys) -> None:
    runs = _demo_runs(run_dirs)
    _draw_diagrams(runs)
    assert set(DIAGRAM_CAPTIONS) == set(runs)
    for run in runs.values():
        assert (run.figures / f"{DIAGRAM}.png").read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().err == ""


def test_the_demo_goes_on_without_graphviz_and_says_why_in_one_line(run_dirs, monkeypatch, capsys) -> None:
    runs = _demo_runs(run_dirs)
    for run in runs.values():  # a diagram left by an earlier demo must not be shown as this one's
        run.figures.mkdir(parents=True, exist_ok=True)
        (run.figures / f"{DIAGRAM}.png").write_bytes(b"old")
    monkeypatch.setitem(sys.modules, "graphviz", None)
    _draw_diagrams(runs)
    err = capsys.readouterr().err
    assert err.startswith("vaekit: the report has no plate diagrams: ") and err.count("\n") == 1
    assert 'pip install "vaekit[graph]"' in err
    assert not any((run.figures / f"{DIAGRAM}.png").exists() for run in runs.values())


@needs_dot
def test_graph_refuses_an_output_it_cannot_write(run_dirs, capsys) -> None:
    assert main(["graph", str(run_dirs["tabular-vae"]), "--out", "/proc/vaekit-model.svg"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("vaekit: error: --out /proc/vaekit-model.svg cannot be written")
        and err.count("\n") == 1
    )
