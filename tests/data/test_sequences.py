"""Long-format sequences: grouping, ordering by time, padding, decoding, and clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from vaekit.data.sequences import (
    SequenceColumns,
    decode_sequences,
    encode_sequences,
    resolve_columns,
    sequence_layout,
    sequence_schema,
)
from vaekit.errors import DataError


def _table(**changes) -> pd.DataFrame:
    """Two sequences, rows shuffled in time, as read_table gives them (text cells)."""
    table = pd.DataFrame(
        {
            "id": ["a", "a", "b", "b", "b", "a"],
            "t": ["2", "0", "5", "1", "3", "1"],
            "x": ["1.5", "2", "3", "", "4", "5"],
            "n": ["1", "2", "3", "4", "5", "6"],
        }
    )
    for name, values in changes.items():
        table[name] = values
    return table


def _encode(table: pd.DataFrame, overrides=None, values=None):
    columns = resolve_columns(table, "id", "t", values)
    schema = sequence_schema(table, columns, overrides)
    return schema, columns, encode_sequences(schema, table, columns)


def test_rows_are_grouped_by_id_in_order_of_appearance_sorted_by_time_and_padded():
    schema, columns, encoded = _encode(_table())
    assert columns == SequenceColumns("id", "t", ("x", "n"))
    assert encoded.ids == ("a", "b") and encoded.lengths.tolist() == [3, 3]
    torch.testing.assert_close(encoded.values[0, :, 0], torch.tensor([2.0, 5.0, 1.5]))
    torch.testing.assert_close(encoded.values[1, :, 1], torch.tensor([4.0, 5.0, 3.0]))
    # The empty cell (sequence b at time 1) is missing, not zero.
    assert encoded.observed[1, 0].tolist() == [False, True]
    assert encoded.observed[0].all()


def test_every_value_column_is_real_unless_the_schema_says_otherwise():
    schema, _, _ = _encode(_table())
    assert [(c.kind, c.family) for c in schema.columns] == [("real", "normal"), ("real", "normal")]
    schema, _, _ = _encode(_table(), {"n": {"kind": "count", "family": "negative_binomial"}})
    assert schema["n"].family == "negative_binomial" and schema["x"].family == "normal"


def test_sequences_of_different_lengths_are_padded_with_masked_steps():
    table = pd.DataFrame(
        {
            "id": ["p"] * 4 + ["q"] * 2,
            "t": ["0", "1", "2", "3", "0", "1"],
            "x": ["1", "2", "3", "4", "5", "6"],
        }
    )
    _, _, encoded = _encode(table)
    assert encoded.lengths.tolist() == [4, 2]
    assert encoded.values.shape == (2, 4, 1)
    assert encoded.observed[1, :, 0].tolist() == [True, True, False, False]
    subset = encoded.subset([1])
    assert subset.ids == ("q",) and subset.lengths.tolist() == [2]


def test_dates_order_the_steps():
    table = pd.DataFrame(
        {
            "id": ["s", "s", "s"],
            "day": ["2024-03-01", "2024-01-15", "2024-02-10"],
            "x": ["3", "1", "2"],
        }
    )
    columns = resolve_columns(table, "id", "day")
    _, _, encoded = _encode(table.rename(columns={"day": "t"}))
    assert columns.values == ("x",)
    assert encoded.values[0, :, 0].tolist() == [1.0, 2.0, 3.0]


def test_categorical_values_round_trip_through_decoding():
    table = _table(n=["low", "high", "low", "mid", "high", "mid"])
    schema, columns, encoded = _encode(table, {"n": {"kind": "categorical"}})
    decoded = decode_sequences(schema, encoded.values, encoded.lengths, columns, encoded.ids)
    assert list(decoded.columns) == ["id", "t", "x", "n"]
    assert decoded["t"].tolist() == [0, 1, 2, 0, 1, 2]
    assert decoded["n"].tolist() == ["high", "mid", "low", "mid", "high", "low"]
    assert decoded["id"].tolist() == ["a"] * 3 + ["b"] * 3


def test_value_columns_can_be_chosen():
    _, columns, encoded = _encode(_table(), values=["n"])
    assert columns.values == ("n",) and encoded.values.shape == (2, 3, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"id": ["a", "a", "b", "b", "b", "c"]},
            "sequence 'c' has a single step; a sequence needs at least 2 steps",
            id="one-step",
        ),
        pytest.param(
            {"t": ["0", "0", "5", "1", "3", "1"]},
            "sequence 'a' has more than one row at time '0' (rows 1, 2)",
            id="duplicate-time",
        ),
        pytest.param(
            {"x": ["1", "2", "abc", "4", "5", "6"]},
            "value column 'x' holds the text 'abc' at row 3 (sequence 'b')",
            id="text-value",
        ),
        pytest.param(
            {"t": ["0", "1", "soon", "3", "4", "5"]},
            "time column 't' holds 'soon' at row 3 (sequence 'b'), which is neither a number nor a date",
            id="text-time",
        ),
        pytest.param(
            {"t": ["0", "1", "", "3", "4", "5"]}, "time column 't' is empty at row 3", id="empty-time"
        ),
        pytest.param(
            {"id": ["a", "", "b", "b", "b", "a"]}, "id column 'id' is empty at row 2", id="empty-id"
        ),
    ],
)
def test_bad_sequences_are_refused_with_a_message_naming_them(changes, message):
    table = _table(**changes)
    columns = resolve_columns(table, "id", "t")
    with pytest.raises(DataError) as error:
        sequence_layout(table, columns)
        encode_sequences(sequence_schema(table, columns), table, columns)
    assert message in str(error.value)


def test_text_is_refused_when_scoring_with_a_fitted_schema_too():
    schema, columns, _ = _encode(_table())
    with pytest.raises(DataError, match="value column 'n' holds the text 'many' at row 4"):
        encode_sequences(schema, _table(n=["1", "2", "3", "many", "5", "6"]), columns)


def test_a_categorical_declaration_accepts_text_values():
    schema, _, encoded = _encode(_table(x=["u", "v", "u", "", "v", "u"]), {"x": {"kind": "categorical"}})
    assert schema["x"].levels == ("u", "v")
    assert encoded.observed[:, :, 0].sum() == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ident", "t", None), "--id column 'ident' is not in the table; its columns are id, t, x, n"),
        (("id", "time", None), "--time column 'time' is not in the table"),
        (("id", "id", None), "--id and --time name the same column"),
        (("id", "t", ["x", "y"]), "--value names columns the table lacks: y"),
        (("id", "t", ["x", "t"]), "--value names the id or time column: t"),
    ],
)
def test_missing_or_clashing_columns_are_named(args, message):
    with pytest.raises(DataError) as error:
        resolve_columns(_table(), *args)
    assert message in str(error.value)


def test_a_table_with_only_id_and_time_has_no_values():
    with pytest.raises(DataError, match="no value columns"):
        resolve_columns(_table()[["id", "t"]], "id", "t")


def test_a_schema_naming_a_column_that_is_not_a_value_column_is_refused():
    table = _table()
    with pytest.raises(DataError, match="not value columns: t"):
        sequence_schema(table, resolve_columns(table, "id", "t"), {"t": {"kind": "count"}})


def test_time_stamps_with_utc_offsets_are_instants_across_daylight_saving():
    """Issue 14 item 10: offsets across a change of daylight saving time, or naive stamps among
    aware ones, were an internal error ("Mixed timezones detected")."""
    from vaekit.errors import VaekitWarning

    # 01:30+01:00 (00:30 UTC) comes before 03:15+02:00 (01:15 UTC) and 02:00+01:00 (01:00 UTC).
    stamps = ["2023-03-26T03:15:00+02:00", "2023-03-26T01:30:00+01:00", "2023-03-26T02:00:00+01:00"]
    table = pd.DataFrame({"id": ["a", "a", "a", "b", "b"], "t": [*stamps, "0", "1"], "x": ["1"] * 5})
    table.loc[3:, "t"] = ["2023-03-26T00:00:00Z", "2023-03-26T00:00:00-05:00"]
    layout = sequence_layout(table, resolve_columns(table, "id", "t"))
    assert layout.step.tolist() == [2, 0, 1, 0, 1]
    same = table.copy()
    same.loc[4, "t"] = "2023-03-26T01:00:00+01:00"  # the instant of row 4 written with another offset
    with pytest.raises(DataError, match="sequence 'b' has more than one row at time"):
        sequence_layout(same, resolve_columns(same, "id", "t"))
    mixed = table.copy()
    mixed.loc[4, "t"] = "2023-03-26 06:00:00"
    with pytest.warns(VaekitWarning, match=r"mixes time stamps with and without a UTC offset \(row 5"):
        layout = sequence_layout(mixed, resolve_columns(mixed, "id", "t"))
    assert layout.step.tolist()[3:] == [0, 1]
