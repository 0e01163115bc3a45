"""What the package shows: every module says what idea it holds, and the public ``__init__``
surfaces name every kind of data and model vaekit handles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vaekit"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_has_a_docstring(path):
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(PACKAGE)} has no docstring"


@pytest.mark.parametrize("package", ["vaekit", "vaekit.data", "vaekit.data.streaming", "vaekit.inference"])
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it lacks: {missing}"


def test_the_top_level_offers_tables_and_sequences_as_well_as_images():
    import vaekit

    for name in (
        "TabularVAE",
        "train_tabular",
        "sample_rows",
        "score_rows",
        "impute_rows",
        "SequenceVAE",
        "train_sequence",
        "sample_sequences",
        "score_sequences",
        "ImageVAE",
        "train_image_vae",
    ):
        assert name in vaekit.__all__, name


def test_the_data_package_offers_images_tables_sequences_and_streaming():
    import vaekit.data

    for name in ("load_image_dataset", "encode_table", "encode_sequences", "StreamingTable", "batch_loader"):
        assert name in vaekit.data.__all__, name
