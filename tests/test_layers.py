"""Imports point one way: the anatomy knows nothing of training, evaluation, files or the CLI.

From the bottom up: ``_distributed`` (which process this is) and ``importance`` (a guide's
importance weights) need only torch and Pyro; the anatomy (``nn``, ``heads``, ``distributions``,
``models``) builds on nothing of training; ``data`` reads and batches examples; ``inference``
trains a model on data's in-memory loaders; ``evaluation`` scores a model without training code;
``auto`` and ``runs`` sit on top (runs may build a story's VAE), and only the CLI parses arguments.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vaekit"

# For each layer, the vaekit modules it may import (its own package always allowed). A dotted name
# allows that one module of a layer and not the rest of it.
ALLOWED = {
    # Which process this is under distributed training: data, inference and runs all ask it.
    "_distributed": set(),
    # The importance weights of a guide, which training (the IWAE objective) and evaluation share.
    "importance": set(),
    "nn": set(),
    "heads": {"distributions"},
    "distributions": set(),
    "models": {"nn", "heads", "distributions", "schema"},
    "schema": {"errors"},
    "data": {"errors", "_io", "_distributed", "schema"},
    # Training reads in-memory tensors through data's batch loaders, and nothing else of data.
    "inference": {"models", "errors", "_io", "_distributed", "importance", "data.loaders"},
    "evaluation": {"models", "importance"},
    "plots": {"errors", "_io"},  # its own error type (a missing Graphviz), and atomic writes
    # The automatic guide builds on the anatomy, hands training an objective and scores the sites a
    # story sums out with the importance weights' per-example log-densities; only runs import it
    # (a story in a file is a run: `vaekit train model`).
    "auto": {"nn", "heads", "models", "inference", "importance", "errors"},
    "runs": {
        "_distributed",
        "_io",
        "_version",
        "auto",
        "data",
        "errors",
        "evaluation",
        "inference",
        "models",
        "plots",
        "schema",
    },
    # The scikit-learn imputer sits on top of runs, as the CLI does: it trains and uses run folders.
    "sklearn": {"errors", "runs"},
}

# Low-level modules every layer may lean on: beyond the standard library, only these packages, so
# that importing them never pulls in Lightning, pandas or the rest of vaekit.
LOW_LEVEL_PACKAGES = {
    "_distributed": {"torch"},
    "importance": {"torch", "pyro"},
}


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an absolute import in ``path``, dotted in full."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _vaekit_imports(path: Path) -> set[str]:
    """The vaekit modules ``path`` imports, without the leading ``vaekit.`` (``data.loaders``)."""
    return {
        name.removeprefix("vaekit.")
        for name in _imported_modules(path)
        if name.startswith("vaekit.") and name != "vaekit"
    }


def _allowed(layer: str, module: str) -> bool:
    if module.split(".")[0] == layer:
        return True
    return any(module == name or module.startswith(f"{name}.") for name in ALLOWED[layer])


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_lies_below_it(layer):
    target = PACKAGE / layer
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    assert files, f"no files for layer {layer}"
    for path in files:
        forbidden = {module for module in _vaekit_imports(path) if not _allowed(layer, module)}
        assert not forbidden, f"{path.relative_to(PACKAGE)} imports {sorted(forbidden)}"


def test_a_dotted_permission_allows_that_module_only():
    assert _allowed("inference", "data.loaders")
    assert not _allowed("inference", "data")
    assert not _allowed("inference", "data.images")
    assert not _allowed("evaluation", "inference.objectives")


#: Besides the CLI, the one module that speaks argparse: the flag types and groups the model kinds
#: declare their `vaekit train` flags with (each kind owns its flags; the CLI parses them).
FLAG_DECLARATIONS = PACKAGE / "runs" / "kinds" / "flags.py"


def test_only_the_cli_parses_arguments():
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts or path == FLAG_DECLARATIONS:
            continue
        assert "argparse" not in path.read_text(), f"{path.relative_to(PACKAGE)} uses argparse"


@pytest.mark.parametrize("module", sorted(LOW_LEVEL_PACKAGES))
def test_low_level_modules_need_only_the_standard_library_and_their_packages(module):
    imported = {name.split(".")[0] for name in _imported_modules(PACKAGE / f"{module}.py")}
    outside = imported - set(sys.stdlib_module_names) - LOW_LEVEL_PACKAGES[module]
    assert not outside, f"{module}.py imports {sorted(outside)}"
