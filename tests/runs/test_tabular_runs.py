"""Tabular runs end to end: train, sample, score, impute, evaluate; and their errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vaekit.cli.main import main
from vaekit.errors import DataError
from vaekit.inference import TrainConfig
from vaekit.models import TabularVAEConfig
from vaekit.runs import load_run
from vaekit.runs.tabular import encode_rows, impute_rows, sample_rows, score_rows, train_tabular, write_table


def _csv(tmp_path, rows: int = 120):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "height": rng.normal(170, 10, rows).round(1),
            "weight": rng.gamma(20, 3.5, rows).round(2),
            "children": rng.poisson(1.5, rows),
            "smoker": rng.choice(["yes", "no"], rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
        }
    )
    table.loc[::7, "weight"] = np.nan
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    return path, table


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tabular")
    path, table = _csv(folder)
    run = train_tabular(
        {"dataset": "csv", "csv": str(path), "split_seed": 0},
        TrainConfig(epochs=3, batch_size=256, progress_bar=False),
        folder / "run",
        z_dim=2,
        hidden=(16,),
        iw_samples=20,
        progress=False,
    )
    return run, path, table


def test_a_table_smaller_than_the_batch_trains_and_writes_a_run(csv_run):
    run, _, _ = csv_run
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and np.isfinite(metrics["test_log_likelihood"])
    assert set(metrics["column_share_of_log_likelihood"]) == {
        "height",
        "weight",
        "children",
        "smoker",
        "city",
    }
    assert set(metrics["synthetic_vs_test"]["city"]) == {"total_variation"}
    for figure in ("marginals", "pairs", "training_curves"):
        assert (run.path / "figures" / f"{figure}.png").is_file()


def test_sampling_returns_the_schema_columns_kinds_and_levels(csv_run):
    run, _, table = csv_run
    synthetic = sample_rows(load_run(run.path), 50)
    assert list(synthetic.columns) == list(table.columns)
    assert set(synthetic["city"]) <= {"Oslo", "Lima", "Pune"}
    assert set(synthetic["smoker"]) <= {"yes", "no"}
    assert (synthetic["weight"] > 0).all()
    assert synthetic["children"].dtype.kind == "i" and (synthetic["children"] >= 0).all()


def test_imputation_fills_missing_cells_and_leaves_observed_ones(csv_run):
    run, path, table = csv_run
    original = pd.read_csv(path)
    completed = impute_rows(run, original)
    assert completed["weight"].notna().all()
    observed = original["weight"].notna()
    assert np.allclose(completed.loc[observed, "weight"].astype(float), original.loc[observed, "weight"])
    assert completed.drop(columns="weight").equals(original.drop(columns="weight"))
    multiple = impute_rows(run, original, draws=3)
    assert len(multiple) == 3 * len(original) and multiple["imputation"].unique().tolist() == [1, 2, 3]


def test_scores_are_per_row_and_flag_an_outlier(csv_run):
    run, path, _ = csv_run
    table = pd.read_csv(path).head(20)
    odd = table.copy()
    # Far out: a barely trained Gamma head (height is a positive column) has heavy tails.
    odd.loc[0, "height"] = 4000.0
    scores, odd_scores = score_rows(run, table, iw_samples=20), score_rows(run, odd, iw_samples=20)
    assert scores.shape == (20,)
    assert odd_scores[0] < scores[0] - 1  # a barely trained model; the point is the direction
    assert np.allclose(odd_scores[1:], scores[1:], atol=1e-4)


def test_multiple_imputations_never_replace_a_column_named_imputation(csv_run):
    run, path, _ = csv_run
    table = pd.read_csv(path).head(4)
    table.loc[0, "height"] = np.nan
    table.insert(0, "imputation", ["a", "b", "c", "d"])  # not a column of the model: kept as it is
    completed = impute_rows(run, table, draws=2)
    assert completed["imputation_"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    assert completed["imputation"].tolist() == ["a", "b", "c", "d"] * 2


def test_unseen_level_at_score_time_is_a_clear_error(csv_run):
    run, path, _ = csv_run
    table = pd.read_csv(path).head(5)
    table.loc[3, "city"] = "Quito"
    with pytest.raises(DataError, match="level 'Quito' of column 'city' at row 4 was never seen"):
        score_rows(run, table)


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    table = pd.DataFrame({"a": [1, 2]})

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError):
        write_table(table, tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_cli_commands_end_to_end(csv_run, tmp_path, capsys):
    run, path, _ = csv_run
    assert main(["sample", str(run.path), "--n", "10", "--out", str(tmp_path / "synthetic.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "synthetic.csv")) == 10
    assert (
        main(
            [
                "score",
                str(run.path),
                "--csv",
                str(path),
                "--iw-samples",
                "5",
                "--no-progress",
                "--out",
                str(tmp_path / "scores.csv"),
            ]
        )
        == 0
    )
    assert list(pd.read_csv(tmp_path / "scores.csv").columns) == ["row", "log_likelihood"]
    assert main(["impute", str(run.path), "--csv", str(path), "--out", str(tmp_path / "filled.csv")]) == 0
    assert pd.read_csv(tmp_path / "filled.csv")["weight"].notna().all()
    assert main(["evaluate", str(run.path), "--iw-samples", "5", "--no-progress"]) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("a,b\n1,x\n2,\n", None),
        ("a,b\n1,\n2,\n3,\n", "column 'b' is entirely empty"),
        ("a\n1\ninf\n3\n", "infinite value"),
    ],
)
def test_cli_bad_tables_are_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "t.csv"
    path.write_text(content)
    status = main(
        [
            "train",
            "tabular",
            "--csv",
            str(path),
            "--epochs",
            "1",
            "--iw-samples",
            "2",
            "--no-progress",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    if message is None:
        assert status == 0  # two rows and a mostly empty column still train
        return
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("vaekit: error:") and message in err


def test_schema_file_naming_missing_columns(tmp_path, capsys):
    path, _ = _csv(tmp_path)
    schema = tmp_path / "schema.json"
    schema.write_text('{"age": "count"}')
    argv = ["train", "tabular", "--csv", str(path), "--schema", str(schema), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "names columns the table lacks: age" in capsys.readouterr().err


def test_score_and_impute_refuse_image_runs(tmp_path, capsys):
    image_run = tmp_path / "image"
    argv = ["train", "vae", "--epochs", "1", "--hidden", "8", "--z-dim", "2", "--iw-samples", "2"]
    assert main([*argv, "--no-progress", "--out", str(image_run)]) == 0
    path, _ = _csv(tmp_path)
    assert main(["score", str(image_run), "--csv", str(path), "--out", str(tmp_path / "s.csv")]) == 2
    assert "needs a tabular run" in capsys.readouterr().err
    assert main(["encode", str(image_run), "--csv", str(path), "--out", str(tmp_path / "z.csv")]) == 2
    assert "needs a tabular run or a sequence run" in capsys.readouterr().err


def test_encode_gives_each_rows_latent_mean_and_scale(csv_run, tmp_path, capsys):
    run, path, table = csv_run
    latent = encode_rows(run, table.head(10))
    assert list(latent.columns) == ["row", "z_mean_1", "z_mean_2", "z_scale_1", "z_scale_2"]
    assert latent["row"].tolist() == list(range(1, 11))
    assert (latent[["z_scale_1", "z_scale_2"]] > 0).all().all()
    # A row's code depends on its own present cells only, not on the rows beside it.
    alone = encode_rows(run, table.iloc[[3]])
    assert alone["z_mean_1"].item() == pytest.approx(latent["z_mean_1"][3], rel=1e-5)
    # Output names never clash with the table's columns (extra columns, which the model ignores).
    clashing = table.head(3).assign(row=0, z_mean_1=0)
    assert list(encode_rows(run, clashing))[:3] == ["row_", "z_mean_1_", "z_mean_2"]
    with pytest.raises(DataError, match="lacks these columns of the model's schema: city"):
        encode_rows(run, table.drop(columns="city"))
    out = tmp_path / "latent.csv"
    assert main(["encode", str(run.path), "--csv", str(path), "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert len(written) == len(table) and np.isfinite(written.drop(columns="row").to_numpy()).all()
    capsys.readouterr()
    assert main(["encode", str(run.path), "--csv", str(path), "--out", str(path)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert main(["encode", str(run.path), "--csv", str(path), "--out", str(tmp_path / "z.txt")]) == 2
    assert "must name a .csv file" in capsys.readouterr().err


def test_force_with_a_bad_table_keeps_the_old_run(csv_run, tmp_path, capsys):
    run, _, _ = csv_run
    before = sorted(p.name for p in run.path.iterdir())
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n2,\n")
    schema = tmp_path / "schema.json"
    schema.write_text('{"b": "positive"}')
    argv = ["train", "tabular", "--csv", str(bad), "--schema", str(schema), "--force", "--out", str(run.path)]
    assert main(argv) == 2
    assert "column 'b'" in capsys.readouterr().err
    assert sorted(p.name for p in run.path.iterdir()) == before


def test_imputing_levels_keeps_observed_cells(csv_run):
    run, path, _ = csv_run
    table = pd.read_csv(path).head(30)
    table.loc[::3, "city"] = np.nan
    table.loc[1::4, "smoker"] = np.nan
    completed = impute_rows(run, table)
    for column in ("city", "smoker"):
        assert completed[column].notna().all()
        present = table[column].notna()
        assert completed.loc[present, column].tolist() == table.loc[present, column].tolist()
    assert set(completed["city"]) <= {"Oslo", "Lima", "Pune"}


def test_the_default_training_settings_are_the_commands():
    from vaekit.cli.main import build_parser
    from vaekit.runs.registry import model_kind
    from vaekit.runs.tabular import default_train_config

    args = build_parser().parse_args(["train", "tabular", "--dataset", "seed", "--out", "x"])
    assert args.epochs is None  # from the table's length (tests/runs/test_defaults.py); at most 600
    config = default_train_config()
    command = model_kind("tabular").train_config(args)
    for key in ("epochs", "batch_size", "lr_schedule", "objective", "keep", "num_particles"):
        assert getattr(config, key) == getattr(command, key)
    assert tuple(args.hidden) == TabularVAEConfig.hidden
    assert default_train_config(epochs=3).epochs == 3


def _decimals_at_most(values, decimals):
    values = np.asarray(values, dtype=float)
    return bool((np.abs(np.round(values, decimals) - values) < 1e-9).all())


def test_sampled_and_imputed_numbers_keep_the_training_range_and_decimals(csv_run):
    """Issue 16: values beyond any seen, and more decimals than the column has."""
    run, path, table = csv_run
    loaded = load_run(run.path)
    synthetic = sample_rows(loaded, 500)
    completed = impute_rows(loaded, pd.read_csv(path))
    for frame in (synthetic, completed):
        for name, decimals in (("height", 1), ("weight", 2)):
            values = frame[name].dropna()
            assert values.between(table[name].min(), table[name].max()).all()
            assert _decimals_at_most(values, decimals)
        assert frame["children"].between(table["children"].min(), table["children"].max()).all()


def test_a_run_saved_before_ranges_and_decimals_loads_and_samples_as_it_did(csv_run, tmp_path):
    """A config.json written before issue 16 has no lower, upper, decimals, format, step or spikes: it
    loads, and its numbers are drawn unrounded and unbounded, as then."""
    import shutil

    run, _, _ = csv_run
    old = tmp_path / "old-run"
    shutil.copytree(run.path, old)
    config = json.loads((old / "config.json").read_text())
    for column in config["model_config"]["schema"]["columns"]:
        for key in ("lower", "upper", "decimals", "format", "step", "spikes"):
            column.pop(key)
    (old / "config.json").write_text(json.dumps(config))
    synthetic = sample_rows(load_run(old), 500)
    assert not _decimals_at_most(synthetic["weight"], 2)
    assert synthetic["children"].dtype.kind == "i"


def test_a_run_with_dates_ids_levels_and_zeros_trains_samples_imputes_and_draws_its_figures(tmp_path):
    """Issue 16 end to end: each new kind through train, sample, impute and the run's figures."""
    rng = np.random.default_rng(1)
    rows = 150
    table = pd.DataFrame(
        {
            "customer": [f"C-{i:05d}" for i in range(rows)],
            "opened": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
            "term": rng.choice([12, 24, 36], rows),
            "debt": np.where(rng.random(rows) < 0.5, 0.0, rng.lognormal(6, 1, rows).round(2)),
            "rate": rng.normal(5, 1, rows).round(1),
        }
    )
    table["opened"] = table["opened"].dt.strftime("%Y-%m-%d")
    table.loc[::9, "debt"] = np.nan
    path = tmp_path / "loans.csv"
    table.to_csv(path, index=False)
    from vaekit.errors import VaekitWarning

    with pytest.warns(VaekitWarning, match="left out of the model.*'customer'"):
        run = train_tabular(
            {"dataset": "csv", "csv": str(path), "split_seed": 0},
            TrainConfig(epochs=2, batch_size=64, progress_bar=False),
            tmp_path / "run",
            z_dim=2,
            hidden=(16,),
            iw_samples=5,
            progress=False,
        )
    assert (run.path / "figures" / "marginals.png").is_file()
    loaded = load_run(run.path)
    kinds = {c.name: c.kind for c in loaded.model.schema.columns}
    assert kinds == {"opened": "datetime", "term": "ordinal", "debt": "nonnegative", "rate": "positive"}
    synthetic = sample_rows(loaded, 200)
    assert list(synthetic.columns) == list(table.columns)
    assert synthetic["customer"].str.fullmatch(r"C-\d{5}").all()
    assert not set(synthetic["customer"]) & set(table["customer"])
    assert synthetic["opened"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert synthetic["opened"].between(table["opened"].min(), table["opened"].max()).all()
    assert set(synthetic["term"]) <= {12, 24, 36}
    assert (synthetic["debt"] >= 0).all() and (synthetic["debt"] == 0).any()
    completed = impute_rows(loaded, pd.read_csv(path))
    assert completed["debt"].notna().all() and completed["customer"].equals(table["customer"])
