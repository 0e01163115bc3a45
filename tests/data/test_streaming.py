"""Parquet tables streamed in chunks: coverage, equality with the in-memory encoding, bounded memory,
folders, a schema fixed from a sample, disjoint shares for ranks and workers, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("pyarrow")

from vaekit.cli.main import main  # noqa: E402
from vaekit.data.streaming import (  # noqa: E402
    ParquetSource,
    StreamingTable,
    StreamSplit,
    infer_stream_schema,
    scan,
    streaming_loader,
)
from vaekit.data.streaming import dataset as streaming_dataset  # noqa: E402
from vaekit.data.streaming import encoding as streaming_encoding  # noqa: E402
from vaekit.data.tabular import encode_table  # noqa: E402
from vaekit.errors import DataError  # noqa: E402

ROWS = 3000


def _table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "x1": rng.gamma(2.0, 1.0, rows),
            "x2": rng.normal(0.0, 1.0, rows),
            "visits": rng.poisson(2.0, rows),
            "smoker": rng.choice(["yes", "no"], rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
        }
    )
    table.loc[::7, "x1"] = np.nan
    table.loc[::11, "city"] = None
    return table


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "table.parquet"
    table = _table(ROWS)
    table.to_parquet(path, index=False, row_group_size=250)
    source = ParquetSource.open(path)
    schema, _ = infer_stream_schema(source)
    return path, table, source, schema


def _dataset(source, schema, part="train", **settings):
    defaults = {"batch_size": 64, "shuffle": part == "train", "chunk_rows": 100, "buffer_rows": 400}
    return StreamingTable(source, schema, StreamSplit(0), part, row_numbers=True, **{**defaults, **settings})


def _rows(batches) -> torch.Tensor:
    return torch.cat([batch[2] for batch in batches])


def _part_rows(part: str, rows: int = ROWS) -> list[int]:
    return np.flatnonzero(StreamSplit(0).mask(part, np.arange(rows, dtype=np.uint64))).tolist()


def test_each_training_row_comes_once_per_epoch_in_a_fresh_seeded_order(parquet_file):
    _, _, source, schema = parquet_file
    dataset = _dataset(source, schema)
    orders = []
    for epoch in (0, 1, 0):
        dataset.set_epoch(epoch)
        batches = list(dataset)
        rows = _rows(batches)
        assert sorted(rows.tolist()) == _part_rows("train")
        assert len(batches) == len(dataset)
        assert all(len(batch[0]) == 64 for batch in batches[:-1])
        orders.append(rows)
    assert not torch.equal(orders[0], orders[1])
    assert torch.equal(orders[0], orders[2])
    # Shuffled, not in table order.
    assert not torch.equal(orders[0], orders[0].sort().values)


def test_the_parts_partition_the_table_at_about_their_fractions():
    split = StreamSplit(3, val_fraction=0.2, test_fraction=0.1)
    numbers = np.arange(200_000, dtype=np.uint64)
    masks = {part: split.mask(part, numbers) for part in ("train", "val", "test")}
    assert (sum(mask.astype(int) for mask in masks.values()) == 1).all()
    assert masks["test"].mean() == pytest.approx(0.1, abs=0.005)
    assert masks["val"].mean() == pytest.approx(0.18, abs=0.005)
    assert split.count("test", 0, 200_000, step=30_000) == masks["test"].sum()
    assert np.array_equal(StreamSplit(3, 0.2, 0.1).mask("val", numbers), masks["val"])


@pytest.mark.parametrize("part", ["train", "val", "test"])
def test_streamed_values_equal_the_in_memory_encoding(parquet_file, part):
    path, _, source, schema = parquet_file
    batches = list(_dataset(source, schema, part))
    rows = _rows(batches)
    in_memory = encode_table(schema, pd.read_parquet(path))
    assert torch.equal(torch.cat([b[0] for b in batches]), in_memory.values[rows])
    assert torch.equal(torch.cat([b[1] for b in batches]), in_memory.observed[rows])
    if part != "train":
        assert rows.tolist() == _part_rows(part)  # evaluation streams in table order


def test_memory_is_bounded_by_the_buffer_not_the_table(parquet_file, monkeypatch):
    _, _, source, schema = parquet_file
    largest = []
    encode = streaming_encoding.encode_table

    def counting(schema, table):
        largest.append(len(table))
        return encode(schema, table)

    monkeypatch.setattr(streaming_encoding, "encode_table", counting)
    dataset = _dataset(source, schema, chunk_rows=100, buffer_rows=400)
    assert len(_rows(list(dataset))) == len(_part_rows("train"))
    assert max(largest) <= 100
    assert 400 <= dataset.peak_buffered_rows <= 400 + 100
    assert dataset.peak_buffered_rows < ROWS / 5


def test_a_folder_is_one_table_in_file_name_order(tmp_path):
    tables = [_table(300, seed) for seed in range(3)]
    for name, table in zip(("b.parquet", "a.parquet", "c.pq"), tables, strict=True):
        table.to_parquet(tmp_path / name, index=False, row_group_size=70)
    (tmp_path / "notes.txt").write_text("not a table")
    source = ParquetSource.open(tmp_path)
    assert [f.name for f in source.files] == ["a.parquet", "b.parquet", "c.pq"]
    assert source.num_rows == 900 and source.locate(450) == ("b.parquet", 150)
    whole = pd.concat([tables[1], tables[0], tables[2]], ignore_index=True)
    schema, _ = infer_stream_schema(source)
    batches = list(_dataset(source, schema, "train"))
    rows = _rows(batches)
    assert sorted(rows.tolist()) == _part_rows("train", 900)
    assert torch.equal(torch.cat([b[0] for b in batches]), encode_table(schema, whole).values[rows])


def test_a_folder_without_parquet_files_or_with_different_columns_is_refused(tmp_path):
    with pytest.raises(DataError, match="holds no .parquet files"):
        ParquetSource.open(tmp_path)
    _table(20).to_parquet(tmp_path / "a.parquet", index=False)
    _table(20).drop(columns="city").to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DataError, match="b.parquet does not have the columns of a.parquet; it lacks city"):
        ParquetSource.open(tmp_path)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("city", "Bergen", "level 'Bergen' of column 'city' at row 181 of part-1.parquet was never seen"),
        ("x1", -2.5, "column 'x1' holds a zero or negative value .* at row 181 of part-1.parquet"),
        ("visits", 1.5, "column 'visits' holds a value that is not a whole number .* at row 181 of part-1"),
        ("x2", "abc", "text 'abc' in real column 'x2' at row 181 of part-1.parquet"),
    ],
)
def test_a_value_outside_the_sampled_schema_names_column_file_and_row(tmp_path, column, value, message):
    good, bad = _table(400, 0), _table(400, 1)
    if isinstance(value, str) and column != "city":
        bad[column] = bad[column].astype(str)
    elif column == "visits":
        bad[column] = bad[column].astype(float)
    bad.loc[180, column] = value
    good.to_parquet(tmp_path / "part-0.parquet", index=False)
    bad.to_parquet(tmp_path / "part-1.parquet", index=False)
    source = ParquetSource.open(tmp_path)
    # The sample (the first 100 rows of each row group) never reaches row 181 of part-1.
    schema, sample_size = infer_stream_schema(source, sample_rows=200)
    assert sample_size == 200
    with pytest.raises(DataError, match=message) as caught:
        scan(source, schema, StreamSplit(0), schema_sample_size=sample_size)
    assert "sample of 200 rows" in str(caught.value) and "--sample-rows" in str(caught.value)
    # Streaming without the scan stops on the same cell, whichever part it falls in.
    with pytest.raises(DataError, match=message):
        for part in ("train", "val", "test"):
            list(_dataset(source, schema, part))


def test_an_error_in_the_sample_names_the_file_row(tmp_path):
    table = _table(400)
    # Numbers as text, missing cells kept missing (pandas 2 writes NaN as the text 'nan', pandas 3 not).
    table["x1"] = table["x1"].map(lambda value: None if pd.isna(value) else str(value))
    table.loc[250, "x1"] = "oops"
    table.to_parquet(tmp_path / "t.parquet", index=False, row_group_size=200)
    with pytest.raises(DataError, match="text 'oops' in numeric column 'x1' at row 251 of t.parquet"):
        infer_stream_schema(ParquetSource.open(tmp_path / "t.parquet"), sample_rows=400)


def test_nested_columns_are_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [[1, 2], [3]], "b": [1.0, 2.0]}), tmp_path / "n.parquet")
    with pytest.raises(DataError, match="column 'a' holds list"):
        ParquetSource.open(tmp_path / "n.parquet")


@pytest.mark.parametrize(("world", "workers"), [(1, 3), (2, 1), (3, 2)])
def test_ranks_and_workers_read_disjoint_shares(parquet_file, monkeypatch, world, workers):
    _, _, source, schema = parquet_file
    train = _dataset(source, schema, "train")
    val = _dataset(source, schema, "val")
    train.workers = val.workers = workers
    per_rank: dict[str, list[list[int]]] = {"train": [], "val": []}
    steps = []
    for rank in range(world):
        monkeypatch.setattr(streaming_dataset, "rank_and_world_size", lambda rank=rank: (rank, world))
        for name, dataset in (("train", train), ("val", val)):
            rows, batches = [], 0
            for worker in range(workers):
                info = type("Info", (), {"id": worker, "num_workers": workers})
                monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda info=info: info)
                out = list(dataset)
                rows += _rows(out).tolist()
                batches += len(out)
            assert batches == len(dataset)
            per_rank[name].append(rows)
            if name == "train":
                steps.append(batches)
    # Training: the ranks' rows are disjoint and cover the part; every rank takes as many steps
    # (a short rank re-reads some of its own rows).
    train_sets = [set(rows) for rows in per_rank["train"]]
    assert sum(len(s) for s in train_sets) == len(set().union(*train_sets)) == len(_part_rows("train"))
    assert len(set(steps)) == 1
    # Validation: every row exactly once.
    val_rows = [row for rows in per_rank["val"] for row in rows]
    assert sorted(val_rows) == _part_rows("val")


def test_max_batches_caps_every_rank_alike(parquet_file, monkeypatch):
    _, _, source, schema = parquet_file
    dataset = _dataset(source, schema, "train", max_batches=5)
    dataset.workers = 2
    for rank in range(2):
        monkeypatch.setattr(streaming_dataset, "rank_and_world_size", lambda rank=rank: (rank, 2))
        out = []
        for worker in range(2):
            info = type("Info", (), {"id": worker, "num_workers": 2})
            monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda info=info: info)
            out += list(dataset)
        assert len(out) == len(dataset) == 5


def test_dataloader_worker_processes_split_the_rows(parquet_file):
    _, _, source, schema = parquet_file
    loader = streaming_loader(_dataset(source, schema, "train"), workers=2)
    first = _rows(list(loader))
    second = _rows(list(loader))  # the next pass is the next epoch
    assert sorted(first.tolist()) == sorted(second.tolist()) == _part_rows("train")
    assert not torch.equal(first, second)
    assert len(loader) == len(list(loader))


def test_lightnings_epoch_reaches_the_stream_so_a_resumed_run_shuffles_alike(parquet_file):
    from lightning.fabric.utilities.data import _set_sampler_epoch

    _, _, source, schema = parquet_file
    loader = streaming_loader(_dataset(source, schema, "train"))
    reference = _dataset(source, schema, "train")
    reference.set_epoch(3)
    _set_sampler_epoch(loader, 3)  # what Lightning's fit loop calls at the start of each epoch
    assert torch.equal(_rows(list(loader)), _rows(list(reference)))
    reference.set_epoch(4)
    assert torch.equal(_rows(list(loader)), _rows(list(reference)))  # no call: the next epoch


def test_scan_counts_the_parts_and_keeps_bounded_seeded_samples(parquet_file):
    path, table, source, schema = parquet_file
    found = scan(source, schema, StreamSplit(0), keep_rows=100, chunk_rows=128)
    assert found.rows == {part: len(_part_rows(part)) for part in ("train", "val", "test")}
    test = found.samples["test"]
    assert len(test) == 100 and len(found.samples["train"]) == 100
    # The sample is made of test rows, in table order, with their values as read.
    test_rows = _part_rows("test")
    chosen = pd.read_parquet(path).iloc[test_rows]
    merged = test.merge(chosen.reset_index(), on=["x2"], how="left")
    assert merged["index"].notna().all() and merged["index"].is_monotonic_increasing
    again = scan(source, schema, StreamSplit(0), keep_rows=100, chunk_rows=300, validate=False)
    pd.testing.assert_frame_equal(test, again.samples["test"])


def test_cli_trains_a_streamed_run_that_samples_scores_imputes_and_evaluates(tmp_path, capsys):
    folder = tmp_path / "table"
    folder.mkdir()
    for k in range(2):
        _table(400, k).to_parquet(folder / f"part-{k}.parquet", index=False, row_group_size=100)
    run = tmp_path / "run"
    common = ["--epochs", "1", "--batch-size", "64", "--hidden", "8", "--z-dim", "2", "--no-progress"]
    code = main(
        ["train", "tabular", "--parquet", str(folder), "--out", str(run), "--iw-samples", "5"]
        + ["--eval-rows", "40", "--sample-rows", "300", "--buffer-rows", "256", "--chunk-rows", "64"]
        + common
    )
    assert code == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["dataset"] == "parquet" and config["data"]["schema_sample_rows"] == 300
    assert sum(config["data"]["rows"].values()) == 800
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_rows"] == 40 and "sample of 40" in metrics["evaluated_on"]
    assert metrics["train_examples"] == config["data"]["rows"]["train"]
    assert np.isfinite(metrics["test_log_likelihood"])
    assert (run / "figures" / "marginals.png").is_file()

    csv = tmp_path / "some.csv"
    _table(30, 5).to_csv(csv, index=False)
    for command in (
        ["sample", str(run), "--n", "5", "--out", str(tmp_path / "s.csv")],
        ["score", str(run), "--csv", str(csv), "--out", str(tmp_path / "scores.csv"), "--iw-samples", "5"],
        ["impute", str(run), "--csv", str(csv), "--out", str(tmp_path / "filled.csv")],
        ["evaluate", str(run), "--iw-samples", "5", "--no-progress"],
    ):
        assert main(command) == 0, capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "s.csv")["city"]) <= {"Oslo", "Lima", "Pune"}
    assert json.loads((run / "metrics.json").read_text())["test_rows"] == 40

    _table(400, 9).to_parquet(folder / "part-1.parquet", index=False)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--iw-samples", "5"]) == 2
    assert "has changed since the run was trained" in capsys.readouterr().err
