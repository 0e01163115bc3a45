"""``vaekit report RUN --csv HELD_OUT``: one self-contained HTML page and its numbers as JSON, and its
refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from vaekit.cli.main import main
from vaekit.errors import VaekitWarning
from vaekit.evaluation.synthetic_quality import quality_report
from vaekit.plots import report as figures
from vaekit.runs.report import GENERATOR, render_html

TINY = ["--epochs", "2", "--hidden", "16", "--z-dim", "2", "--iw-samples", "2", "--no-progress"]
SECTIONS = ("shapes", "pairs", "adherence", "missing", "detection", "efficacy", "privacy")


def _people(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    height = rng.normal(170, 10, rows).round(1)
    table = pd.DataFrame(
        {
            "height": height,
            "weight": (0.9 * height - 80 + rng.normal(0, 5, rows)).round(1),
            "children": rng.poisson(1.5, rows),
            "smoker": rng.choice(["yes", "no"], rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
        }
    )
    table.loc[::9, "weight"] = np.nan
    return table


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("vaekit: error: ") and "internal error" not in "".join(err), err
    return err[-1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny tabular run, its held-out rows, and the report written by the command line."""
    folder = tmp_path_factory.mktemp("report")
    _people(200, 0).to_csv(folder / "train.csv", index=False)
    _people(80, 1).to_csv(folder / "held.csv", index=False)
    assert (
        main(["train", "tabular", "--csv", str(folder / "train.csv"), *TINY, "--out", str(folder / "run")])
        == 0
    )
    command = ["report", str(folder / "run"), "--csv", str(folder / "held.csv"), "--no-progress"]
    assert main([*command, "--out", str(folder / "report.html"), "--n", "120"]) == 0
    return folder


def test_the_page_holds_every_section_and_its_figures_inline(folder):
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert f'<meta name="generator" content="{GENERATOR}' in page
    assert 'class="summary"' in page
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    images = re.findall(r'<img alt="" src="data:image/png;base64,', page)
    assert len(images) >= 5  # shapes, marginals, pair heatmap, missing cells, distances
    # Nothing is fetched: no script, no external address.
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_the_numbers_beside_the_page_are_in_range(folder):
    numbers = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert numbers["generator"] == GENERATOR and numbers["synthetic_rows"] == 120
    summary = numbers["summary"]
    assert summary["rows"] == {"train": 180, "held_out": 80, "synthetic": 120}
    assert 0 <= summary["detection_auc"] <= 1
    assert 0 <= summary["column_shape_distance_mean"] <= 1 and 0 <= summary["pair_trend_distance_mean"] <= 1
    assert 0 <= summary["boundary_adherence"] <= 1 and summary["category_adherence"] == 1
    assert summary["efficacy_target"] == "city" and 0 <= summary["train_on_synthetic"] <= 1
    assert summary["dcr_synthetic_median"] >= 0 and 0 <= summary["copy_share"] <= 1
    # The training table has missing weights: the synthetic rows are drawn with its patterns.
    assert numbers["keep_missing"] is True
    weight = next(entry for entry in numbers["missing"]["columns"] if entry["column"] == "weight")
    assert weight["real"] > 0 and weight["synthetic"] > 0
    assert {entry["column"] for entry in numbers["column_shapes"]} == {
        "height",
        "weight",
        "children",
        "smoker",
        "city",
    }
    assert numbers["schema_kinds"]["smoker"] == "binary"


def test_a_target_column_and_a_numeric_one(folder, capsys):
    out = folder / "target.html"
    command = ["report", str(folder / "run"), "--csv", str(folder / "held.csv"), "--no-progress"]
    assert main([*command, "--out", str(out), "--target", "weight"]) == 0
    efficacy = json.loads(out.with_suffix(".json").read_text())["ml_efficacy"]
    assert efficacy["target"] == "weight" and efficacy["metric"] == "r2"
    assert main([*command, "--out", str(folder / "other.html"), "--target", "nope"]) == 2
    assert "--target 'nope' is not a column of the model" in _one_error(capsys)


def test_the_training_table_given_as_held_out_is_warned_about(folder):
    command = ["report", str(folder / "run"), "--csv", str(folder / "train.csv"), "--no-progress"]
    with pytest.warns(VaekitWarning, match="is the table the run was trained on"):
        assert main([*command, "--out", str(folder / "self.html"), "--n", "50"]) == 0


def test_a_held_out_table_of_other_columns_is_refused_naming_them(folder, tmp_path, capsys):
    held = pd.read_csv(folder / "held.csv").drop(columns="city").assign(income=1.0)
    held.to_csv(tmp_path / "other.csv", index=False)
    command = ["report", str(folder / "run"), "--csv", str(tmp_path / "other.csv")]
    assert main([*command, "--out", str(tmp_path / "r.html"), "--no-progress"]) == 2
    message = _one_error(capsys)
    assert "other columns than the run's training table" in message
    assert "lacks city" in message and "income" in message
    assert not (tmp_path / "r.html").exists()


def test_an_empty_held_out_table_is_refused(folder, tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("height,weight,children,smoker,city\n")
    command = ["report", str(folder / "run"), "--csv", str(tmp_path / "empty.csv")]
    assert main([*command, "--out", str(tmp_path / "r.html"), "--no-progress"]) == 2
    _one_error(capsys)
    assert not (tmp_path / "r.html").exists()


def test_an_existing_page_is_replaced_only_if_vaekit_wrote_it_and_with_force(folder, tmp_path, capsys):
    command = ["report", str(folder / "run"), "--csv", str(folder / "held.csv"), "--no-progress"]
    mine = tmp_path / "mine.html"
    mine.write_text("<html>my own page</html>")
    for force in ([], ["--force"]):
        assert main([*command, "--out", str(mine), *force]) == 2
        assert "was not written by vaekit report" in _one_error(capsys)
    assert mine.read_text() == "<html>my own page</html>"
    # A JSON of the user's beside the page blocks it too.
    (tmp_path / "data.json").write_text("{}")
    assert main([*command, "--out", str(tmp_path / "data.html"), "--force"]) == 2
    assert "data.json exists and was not written by vaekit report" in _one_error(capsys)
    earlier = tmp_path / "earlier.html"
    assert main([*command, "--out", str(earlier)]) == 0
    assert main([*command, "--out", str(earlier)]) == 2
    assert "--force replaces it" in _one_error(capsys)
    assert main([*command, "--out", str(earlier), "--force", "--seed", "3"]) == 0
    assert json.loads(earlier.with_suffix(".json").read_text())["seed"] == 3


def test_an_output_that_is_not_html_or_a_file_of_the_run_is_refused(folder, capsys):
    command = ["report", str(folder / "run"), "--csv", str(folder / "held.csv"), "--no-progress"]
    assert main([*command, "--out", str(folder / "report.csv")]) == 2
    assert "--out must name an .html file" in _one_error(capsys)
    # metrics.html would put its numbers in the run's metrics.json.
    assert main([*command, "--out", str(folder / "run" / "metrics.html")]) == 2
    assert "is a file of the run" in _one_error(capsys)


def test_a_run_that_is_not_tabular_is_refused(tmp_path, capsys):
    run = tmp_path / "image"
    image = ["train", "vae", "--data", "digits", "--iw-examples", "20", *TINY[:-1], "--no-progress"]
    assert main([*image, "--epochs", "1", "--out", str(run)]) == 0
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(tmp_path / "held.csv", index=False)
    assert (
        main(["report", str(run), "--csv", str(tmp_path / "held.csv"), "--out", str(tmp_path / "r.html")])
        == 2
    )
    assert "this command needs a tabular run" in _one_error(capsys)


def test_a_wide_table_draws_bounded_figures():
    """A report of 1,000 columns draws at most a screenful per figure (the worst columns)."""
    rng = np.random.default_rng(0)
    columns = {f"x{k}": rng.normal(size=30) for k in range(1000)}
    real, synthetic = pd.DataFrame(columns), pd.DataFrame(columns) + 0.1
    kinds = dict.fromkeys(columns, "number")
    marginals = figures.worst_marginals(real, synthetic, kinds, list(columns))
    assert len(marginals.axes) == figures.MAX_PANELS
    shapes = [{"column": name, "kind": "number", "distance": 0.1, "baseline": 0.05} for name in columns]
    width, height = figures.shape_distances(shapes).get_size_inches()
    assert height < 12
    heatmap = figures.pair_heatmap(list(columns), [[0.1] * 40 for _ in range(40)])
    assert heatmap.get_size_inches()[1] < 12


def test_column_names_and_levels_are_escaped_on_the_page():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"<b>x</b>": rng.normal(size=60), "y": rng.normal(size=60), "c": rng.choice(["<i>", "b"], 60)}
    )
    numbers = quality_report(table.iloc[:30], table.iloc[30:], table.iloc[30:])
    report = {
        "run": "run",
        "held_out": "<held>.csv",
        "synthetic_rows": 30,
        "seed": 0,
        "vaekit_version": "0",
        **numbers,
    }
    page = render_html(report, table.iloc[30:], table.iloc[30:])
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page and "&lt;held&gt;.csv" in page
