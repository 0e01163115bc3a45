"""Imports point one way: the anatomy knows nothing of training, evaluation, files or the CLI."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vaekit"

# For each layer, the vaekit modules it may import (its own package always allowed).
ALLOWED = {
    # Which process this is under distributed training: data, inference and runs all ask it.
    "_distributed": set(),
    "nn": set(),
    "heads": {"distributions"},
    "distributions": set(),
    "models": {"nn", "heads", "distributions", "schema"},
    "schema": {"errors"},
    "inference": {"models", "errors", "_io", "_distributed", "importance"},
    # The importance weights of a guide, which training (the IWAE objective) and evaluation share.
    "importance": set(),
    "evaluation": {"models", "importance"},
    "data": {"errors", "_io", "schema"},
    "plots": {"errors", "_io"},  # its own error type (a missing Graphviz), and atomic writes
    # The automatic guide builds on the anatomy and hands training an objective; nothing imports it.
    "auto": {"nn", "heads", "models", "inference", "errors"},
    "runs": {
        "_distributed",
        "_io",
        "_version",
        "data",
        "errors",
        "evaluation",
        "inference",
        "models",
        "plots",
        "schema",
    },
}

# Low-level modules every layer may lean on: beyond the standard library, only these packages, so
# that importing them never pulls in Lightning, pandas or the rest of vaekit.
LOW_LEVEL_PACKAGES = {
    "_distributed": {"torch"},
    "importance": {"torch", "pyro"},
}


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _vaekit_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "vaekit" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_lies_below_it(layer):
    target = PACKAGE / layer
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    assert files, f"no files for layer {layer}"
    for path in files:
        forbidden = _vaekit_imports(path) - ALLOWED[layer] - {layer}
        assert not forbidden, f"{path.relative_to(PACKAGE)} imports {sorted(forbidden)}"


def test_only_the_cli_parses_arguments():
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        assert "argparse" not in path.read_text(), f"{path.relative_to(PACKAGE)} uses argparse"


@pytest.mark.parametrize("module", sorted(LOW_LEVEL_PACKAGES))
def test_low_level_modules_need_only_the_standard_library_and_their_packages(module):
    imported = _top_level_imports(PACKAGE / f"{module}.py")
    outside = imported - set(sys.stdlib_module_names) - LOW_LEVEL_PACKAGES[module]
    assert not outside, f"{module}.py imports {sorted(outside)}"
