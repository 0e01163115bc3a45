"""The tabular VAE from pandas: fit on a DataFrame, sample, score, impute, encode, save and load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vaekit import TabularModel
from vaekit.cli.main import main
from vaekit.errors import VaekitError


def _people(rows: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "height": rng.normal(170, 10, rows).round(1),
            "children": rng.poisson(1.5, rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
        },
        index=pd.RangeIndex(100, 100 + rows),  # an index not 0..n-1: results must keep it
    )
    table.loc[table.index[::7], "height"] = np.nan
    table.loc[table.index[::5], "city"] = None
    return table


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    return TabularModel.fit(_people(), epochs=3, z_dim=2, hidden=(16,), seed=0)


def test_fit_on_a_dataframe_then_sample_score_impute_and_encode(fitted):
    table = _people()
    assert fitted.columns == ["height", "children", "city"]
    assert np.isfinite(fitted.metrics["test_log_likelihood"])
    rows = fitted.sample(5, seed=1)
    assert list(rows.columns) == fitted.columns and len(rows) == 5
    assert fitted.sample(5, seed=1).equals(rows)
    assert set(fitted.sample(4, given=["city=Oslo"])["city"]) == {"Oslo"}
    scores = fitted.score(table.head(6))
    assert scores.index.equals(table.index[:6]) and np.isfinite(scores).all()
    filled = fitted.impute(table.head(20))
    assert filled.index.equals(table.index[:20]) and filled.notna().all().all()
    present = table.head(20)["height"].notna()
    assert filled.loc[present.index[present], "height"].tolist() == table.head(20)["height"][present].tolist()
    assert pd.api.types.is_float_dtype(filled["height"])
    assert set(filled["city"]) <= {"Oslo", "Lima", "Pune"}
    latent = fitted.encode(table.head(4))
    assert list(latent.columns) == ["z_mean_1", "z_mean_2", "z_scale_1", "z_scale_2"]
    assert latent.index.equals(table.index[:4]) and (latent.filter(like="z_scale") > 0).all().all()
    stacked = fitted.impute(table.head(3), draws=2)
    assert stacked["imputation"].tolist() == [1, 1, 1, 2, 2, 2]


def test_save_and_load_give_the_same_model_and_a_run_folder_the_cli_reads(fitted, tmp_path, capsys):
    table = _people()
    saved = fitted.save(tmp_path / "people")
    loaded = TabularModel.load(saved)
    assert np.allclose(loaded.encode(table.head(5)), fitted.encode(table.head(5)))
    assert loaded.impute(table.head(10)).equals(fitted.impute(table.head(10)))
    # The copy trains and evaluates from its own copy of the table.
    assert json.loads((saved / "config.json").read_text())["data"]["csv"] == str(
        (saved / "table.csv").resolve()
    )
    assert main(["evaluate", str(saved), "--iw-samples", "5", "--no-progress"]) == 0
    csv = tmp_path / "new.csv"
    table.head(8).to_csv(csv, index=False)
    assert main(["encode", str(saved), "--csv", str(csv), "--out", str(tmp_path / "z.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "z.csv")) == 8
    with pytest.raises(VaekitError, match="not an empty folder"):
        fitted.save(saved)


def test_a_run_dir_keeps_the_run_and_a_used_one_is_refused(tmp_path):
    table = _people(40)
    model = TabularModel.fit(table, epochs=1, z_dim=2, hidden=(8,), run_dir=tmp_path / "run")
    assert model.path == tmp_path / "run" and (tmp_path / "run" / "model.pt").is_file()
    with pytest.raises(VaekitError, match="not an empty folder"):
        TabularModel.fit(table, epochs=1, run_dir=tmp_path / "run")


def test_bad_dataframes_are_one_line_errors(fitted):
    table = _people()
    with pytest.raises(VaekitError, match="lacks these columns of the model: city"):
        fitted.impute(table.drop(columns="city"))
    with pytest.raises(VaekitError, match="expected a pandas DataFrame"):
        fitted.encode(table.to_numpy())
    with pytest.raises(VaekitError, match="column names must be strings"):
        TabularModel.fit(pd.DataFrame({0: [1.0, 2.0, 3.0]}))
    with pytest.raises(VaekitError, match="has no rows"):
        fitted.score(table.head(0))
