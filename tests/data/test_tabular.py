"""Tables: schema inference, fitting, encoding, and a clear error for every kind of bad cell."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vaekit.data.tabular import (
    SeedDataParameters,
    decode_table,
    encode_table,
    fit_schema,
    infer_schema,
    read_schema_file,
    read_table,
    seed_log_density,
    seed_table,
)
from vaekit.errors import DataError
from vaekit.schema import ColumnSpec, Schema


def _table(**columns: list) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(values, dtype="string") for name, values in columns.items()})


def test_kinds_are_inferred_from_values():
    table = _table(
        real=["1.5", "-2", "0", None],
        positive=["0.5", "2", "3.25", "1"],
        count=["3", "0", "7", "2"],
        binary=["0", "1", "1", None],
        flag=["true", "false", "TRUE", "false"],
        colour=["red", "blue", "red", "green"],
    )
    kinds = {c.name: (c.kind, c.family) for c in infer_schema(table).columns}
    assert kinds == {
        "real": ("real", "normal"),
        "positive": ("positive", "gamma"),
        "count": ("count", "poisson"),
        "binary": ("binary", "bernoulli"),
        "flag": ("binary", "bernoulli"),
        "colour": ("categorical", "categorical"),
    }


def test_overrides_set_kind_and_family():
    table = _table(a=["1", "2", "3"], b=["0.5", "2", "3"])
    schema = infer_schema(
        table, {"a": {"kind": "categorical"}, "b": {"kind": "positive", "family": "lognormal"}}
    )
    assert (schema["a"].kind, schema["b"].family) == ("categorical", "lognormal")


@pytest.mark.parametrize(
    ("columns", "overrides", "message"),
    [
        ({"age": ["31", "45", "x7", *["20"] * 17]}, None, r"text 'x7' in numeric column 'age' at row 3"),
        ({"empty": [None, None, None], "a": ["1", "2", "3"]}, None, "column 'empty' is entirely empty"),
        ({"a": ["1", "inf", "3"]}, None, "column 'a' holds an infinite value at row 2"),
        ({"a": ["1", "2", "3"]}, {"b": {"kind": "real"}}, "names columns the table lacks: b"),
        ({"a": ["1", "2", "3"]}, {"a": {"kind": "positive", "family": "poisson"}}, "does not fit kind"),
        ({"a": ["1", "2", "3"]}, {"a": {"kind": "interval"}}, "unknown kind"),
    ],
)
def test_bad_tables_name_the_column(columns, overrides, message):
    with pytest.raises(DataError, match=message):
        schema = infer_schema(_table(**columns), overrides)
        fit_schema(schema, _table(**columns))


@pytest.mark.parametrize(
    ("spec", "values", "message"),
    [
        (ColumnSpec("p", "positive"), ["1", "0", "2"], r"zero or negative value .* at row 2"),
        (ColumnSpec("p", "positive"), ["1", "-3", "2"], r"zero or negative value .* at row 2"),
        (ColumnSpec("c", "count"), ["1", "2.5", "2"], r"not a whole number .* at row 2"),
        (ColumnSpec("c", "count"), ["1", "-1", "2"], r"negative value .* at row 2"),
        (ColumnSpec("r", "real"), ["1", "abc", "2"], r"text 'abc' in real column 'r' at row 2"),
        (ColumnSpec("r", "real"), ["1", "-inf", "2"], r"infinite value at row 2"),
    ],
)
def test_cells_that_break_their_kind_are_refused(spec, values, message):
    with pytest.raises(DataError, match=message):
        fit_schema(Schema((spec,)), _table(**{spec.name: values}))


def test_levels_never_seen_in_training_are_refused():
    train = _table(colour=["red", "blue", "red"])
    schema = fit_schema(infer_schema(train), train)
    with pytest.raises(DataError, match=r"level 'green' of column 'colour' at row 2 was never seen"):
        encode_table(schema, _table(colour=["red", "green"]))


def test_encoding_round_trips_and_marks_missing_cells():
    table = _table(
        real=["1.5", "-2", None], count=["3", None, "7"], colour=["b", "a", None], flag=["yes", "no", "yes"]
    )
    schema = fit_schema(infer_schema(table), table)
    encoded = encode_table(schema, table)
    assert encoded.observed.tolist() == [[True] * 4, [True, False, True, True], [False, True, False, True]]
    decoded = decode_table(schema, encoded.values, encoded.observed)
    assert decoded["real"].tolist()[:2] == [1.5, -2.0] and math.isnan(decoded["real"][2])
    assert decoded["colour"].tolist()[:2] == ["b", "a"]
    assert decoded["flag"].tolist() == ["yes", "no", "yes"]
    assert schema["colour"].levels == ("a", "b")


def test_fitting_records_scales_on_the_right_scale():
    table = _table(real=["-1", "5"], positive=["0.5", "200"], count=["0", "8"])
    schema = fit_schema(infer_schema(table), table)
    assert schema["real"].center == pytest.approx(2.0)
    assert schema["positive"].center == pytest.approx(math.log(10))
    assert schema["count"].center == pytest.approx(math.log(9) / 2)


def test_read_table_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "header.csv")


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".toml"])
def test_schema_files_in_every_format(tmp_path, suffix):
    text = {
        ".json": '{"age": "count", "income": {"kind": "positive", "family": "lognormal"}}',
        ".yaml": "age: count\nincome:\n  kind: positive\n  family: lognormal\n",
        ".toml": 'age = "count"\n[income]\nkind = "positive"\nfamily = "lognormal"\n',
    }[suffix]
    path = tmp_path / f"schema{suffix}"
    path.write_text(text)
    assert read_schema_file(path) == {
        "age": {"kind": "count"},
        "income": {"kind": "positive", "family": "lognormal"},
    }


def test_bad_schema_files(tmp_path):
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot parse"):
        read_schema_file(tmp_path / "s.json")
    (tmp_path / "s.txt").write_text("a: real")
    with pytest.raises(DataError, match=".json, .yaml"):
        read_schema_file(tmp_path / "s.txt")
    (tmp_path / "k.json").write_text('{"a": {"family": "normal"}}')
    with pytest.raises(DataError, match="needs a kind"):
        read_schema_file(tmp_path / "k.json")


def test_seed_log_density_matches_scipy():
    parameters = SeedDataParameters(k0=2.5, theta0=0.7, mu0=0.3, sigma0=1.4)
    table = seed_table(50, seed=3, parameters=parameters)
    expected = (
        stats.gamma(a=2.5, scale=0.7).logpdf(table.x1)
        + stats.norm(0.3, 1.4).logpdf(table.x2)
        + stats.norm(table.x2, table.x1).logpdf(table.x3)
    )
    assert np.allclose(seed_log_density(table, parameters), expected)


def test_seed_table_is_seeded_and_follows_its_parameters():
    a, b = seed_table(20_000, seed=1), seed_table(20_000, seed=1)
    assert a.equals(b)
    assert a.x1.mean() == pytest.approx(2.0, abs=0.05)  # k0 * theta0
    assert a.x2.std() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(DataError, match="k0 must be positive"):
        SeedDataParameters(k0=0)


def test_levels_keep_every_digit_and_leading_zeros():
    table = _table(zip=["02139", "10001", "02139"], big=["1234567", "1234568", "1234567"])
    schema = fit_schema(
        infer_schema(table, {"zip": {"kind": "categorical"}, "big": {"kind": "categorical"}}), table
    )
    assert schema["zip"].levels == ("02139", "10001")
    assert schema["big"].levels == ("1234567", "1234568")


def test_yes_no_columns_are_binary_and_decode_to_their_words():
    table = _table(smoker=["yes", "No", "yes", None])
    schema = fit_schema(infer_schema(table), table)
    assert schema["smoker"].kind == "binary" and schema["smoker"].levels == ("no", "yes")
    encoded = encode_table(schema, table)
    # Each level as the column spells it: 'No' is the only spelling of the level 'no'.
    assert decode_table(schema, encoded.values, encoded.observed)["smoker"].tolist()[:3] == [
        "yes",
        "No",
        "yes",
    ]


def test_csv_quirks(tmp_path):
    (tmp_path / "trailing.csv").write_text("a,b\n1,2,\n3,4\n")
    assert read_table(tmp_path / "trailing.csv").to_dict("list") == {"a": ["1", "3"], "b": ["2", "4"]}
    (tmp_path / "twice.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataError, match="repeats these column names: a"):
        read_table(tmp_path / "twice.csv")
    (tmp_path / "bom.csv").write_bytes("\ufeffage,age\n1,2\n".encode())  # the BOM is no part of a name
    with pytest.raises(DataError, match="repeats these column names: age"):
        read_table(tmp_path / "bom.csv")
    (tmp_path / "na.csv").write_text("x\n1.5\nNA\n2.5\n")
    assert read_table(tmp_path / "na.csv")["x"].isna().tolist() == [False, True, False]


def test_a_binary_column_written_as_1_and_1_point_0_has_two_levels():
    table = pd.DataFrame({"flag": ["0", "1", "1.0", "0.0", ""], "x": ["1.5", "2", "3", "4", "5"]})
    schema = fit_schema(infer_schema(table), table)
    assert schema.columns[0].kind == "binary" and schema.columns[0].levels == ("0", "1")
    encoded = encode_table(schema, table)
    assert encoded.values[:4, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert encoded.observed[:, 0].tolist() == [True, True, True, True, False]


def test_levels_that_look_like_numbers_decode_as_written():
    """'00501' comes back as '00501', not 501 (issue 14 item 7); plain numbers stay numbers."""
    table = _table(
        zip=["00501", "10001", "00501", None], grade=["1.50", "2", "1.50", "2"], size=["1", "2", "3", "2"]
    )
    overrides = {name: {"kind": "categorical"} for name in ("zip", "grade", "size")}
    schema = fit_schema(infer_schema(table, overrides), table)
    encoded = encode_table(schema, table)
    decoded = decode_table(schema, encoded.values, encoded.observed)
    assert decoded["zip"].tolist()[:3] == ["00501", "10001", "00501"]
    assert decoded["grade"].tolist() == ["1.50", "2", "1.50", "2"]
    assert decoded["size"].tolist() == [1, 2, 3, 2]
    again = encode_table(schema, decoded.astype("string"))
    assert again.values.tolist() == encoded.values.tolist()


def test_levels_longer_than_the_bound_are_refused_in_a_short_message():
    """Issue 14 item 6: a 100 MB cell was kept as a level (stored twice, then drawn for 12 minutes)."""
    from vaekit.data.tabular import MAX_LEVEL_CHARS

    table = _table(note=["short", "x" * (MAX_LEVEL_CHARS + 1), "short"], y=["1.5", "2.5", "3.5"])
    with pytest.raises(DataError, match=r"'note' holds a cell of 1,001 characters at row 2") as caught:
        fit_schema(infer_schema(table), table)
    assert len(str(caught.value)) < 300
    fit = _table(note=["a", "x" * MAX_LEVEL_CHARS], y=["1.5", "2.5"])
    schema = fit_schema(infer_schema(fit), fit)
    with pytest.raises(DataError, match=r"never seen in training") as caught:
        encode_table(schema, _table(note=["y" * 10**6], y=["1"]))
    assert len(str(caught.value)) < 300 and "1,000,000 characters" in str(caught.value)


def test_huge_values_are_no_counts_and_a_real_column_beyond_1e15_is_refused():
    """Issue 14 item 8: whole numbers near 1e30 were counts ("Too many bins"); a real column with a
    spread of 1e20 diverged at step 1 with a message blaming the learning rate."""
    from vaekit.data.tabular import explain_divergence

    huge = _table(c=["1e30", "3e30", "2e30"], x=["-1e20", "2e20", "0.5"])
    schema = infer_schema(huge)
    assert schema["c"].kind == "positive" and schema["x"].kind == "real"
    with pytest.raises(
        DataError, match=r"column 'x' holds a value beyond 1e15 in magnitude at row 1: .*power"
    ):
        fit_schema(schema, huge)
    declared = infer_schema(huge, {"c": {"kind": "count"}, "x": {"kind": "positive"}})
    with pytest.raises(DataError, match=r"column 'c' holds a count beyond 1e15 at row 1: '1e30'; whole"):
        fit_schema(declared, huge)
    table = _table(x=[str(v) for v in [0.1, -0.3, 0.2, 0.4, 5e13]], y=["1", "2", "3", "4", "5"])
    assert "column 'x' (a value of 5e+13 against a median of 0.2)" in explain_divergence(
        fit_schema(infer_schema(table), table), table
    )
    assert explain_divergence(fit_schema(infer_schema(table), table), table.iloc[:4]) == ""


def test_identifiers_and_time_stamps_are_left_out_with_a_warning():
    """Issue 14 item 9: 10-digit ids and nanosecond times were counts (log-likelihood -1.6e9)."""
    from vaekit.errors import VaekitWarning

    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "id": rng.integers(10**9, 10**10, 40).astype(str),
            "ns": (1_700_000_000_000_000_000 + np.arange(40) * 10**9).astype(str),
            "visits": rng.integers(0, 5, 40).astype(str),
        },
        dtype="string",
    )
    with pytest.warns(VaekitWarning, match=r"left out of the model.*'id', 'ns'"):
        schema = infer_schema(table)
    assert schema.names == ["visits"]
    declared = {"id": {"kind": "positive"}, "ns": {"kind": "real"}}
    assert infer_schema(table, declared).names == ["id", "ns", "visits"]
    with pytest.raises(DataError, match="every column looks like identifiers"):
        infer_schema(table[["id"]])
    small = table.iloc[:10]  # too few values to tell
    assert infer_schema(small).names == ["id", "ns", "visits"]


def test_a_file_separated_by_semicolons_or_tabs_is_refused_with_the_hint(tmp_path):
    """Issue 14 item 16: such a file was read as one column."""
    for separator, word in ((";", "semicolons"), ("\t", "tabs")):
        (tmp_path / "t.csv").write_text(f"a{separator}b\n1{separator}2\n")
        with pytest.raises(DataError, match=f"single column named .*separated by {word}.*sep=None"):
            read_table(tmp_path / "t.csv")
    (tmp_path / "t.csv").write_text("a\n1;2\n")  # a semicolon in a cell of a one-column file is data
    assert read_table(tmp_path / "t.csv")["a"].tolist() == ["1;2"]


def test_a_categorical_column_of_dates_is_warned_about():
    """Issue 14 item 16: ISO dates were read as a categorical of hundreds of levels, silently. Issue 16:
    ISO dates are a datetime column; dates with a few cells of another shape are still warned of."""
    from vaekit.errors import VaekitWarning

    days = pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d").tolist()
    assert infer_schema(_table(day=days))["day"].kind == "datetime"
    odd = [*days, "31/01/2024"]
    with pytest.warns(
        VaekitWarning,
        match="column 'day' holds dates, but not only ISO dates \\(first '31/01/2024' at row 31\\), "
        "so it is read as a categorical of 31 levels",
    ):
        assert infer_schema(_table(day=odd))["day"].kind == "categorical"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        infer_schema(_table(day=days[:5] * 6))  # a few dates are fine levels
        infer_schema(_table(day=[f"A{i}-{i}" for i in range(25)] * 2))  # codes are not dates


def test_a_column_of_dates_in_two_formats_is_warned_about():
    """Issue 16, bad input: a third of the dates written 01/02/2024 was a categorical, silently."""
    from vaekit.errors import VaekitWarning

    days = pd.date_range("2024-01-01", periods=60)
    mixed = [day.strftime("%d/%m/%Y" if i % 3 == 0 else "%Y-%m-%d") for i, day in enumerate(days)]
    with pytest.warns(
        VaekitWarning, match="column 'day' holds dates, but not only ISO dates \\(first '01/01/2024'"
    ):
        assert infer_schema(_table(day=mixed))["day"].kind == "categorical"


def test_text_ids_and_row_numbers_are_left_out_and_synthetic_rows_get_fresh_ones_of_their_form():
    """Issue 16: a customer id was a categorical of thousands of levels, each seen once."""
    from vaekit.errors import VaekitWarning

    rows = 40
    table = pd.DataFrame(
        {
            "row": np.arange(1, rows + 1),
            "customer": [f"C-{i:05d}" for i in range(rows)],
            "spend": np.linspace(1.0, 9.0, rows).round(2),
        }
    )
    table.loc[5, "customer"] = "C-00001"  # a repeat: accepted, and said
    with pytest.warns(
        VaekitWarning, match=r"'row', 'customer'.*fresh identifiers.*'customer' \(1 repeated\)"
    ):
        schema = fit_schema(infer_schema(table), table)
    assert schema.names == ["spend"]
    assert "customer  identifier   (not modelled)     fresh ids like C-00000" in schema.describe()
    stored = Schema.from_dict(schema.to_dict())  # a saved run keeps the identifiers' form
    decoded = decode_table(stored, encode_table(stored, table).values[:3])
    assert list(decoded.columns) == ["row", "customer", "spend"]
    assert decoded["row"].tolist() == [41, 42, 43] and decoded["row"].dtype.kind == "i"
    assert decoded["customer"].tolist() == ["C-00040", "C-00041", "C-00042"]
    assert not set(decoded["customer"]) & set(table["customer"])
    # Ids with no number in them: fresh ones of their length, from their own characters.
    hexes = pd.DataFrame(
        {"key": [f"{i * 7919:06x}"[::-1] + "ab" for i in range(rows)], "spend": table["spend"]}
    )
    with pytest.warns(VaekitWarning, match="'key'"):
        hex_schema = fit_schema(infer_schema(hexes), hexes)
    fresh = decode_table(hex_schema, encode_table(hex_schema, hexes).values)["key"]
    assert fresh.str.fullmatch("[0-9a-f]{8}").all()
    # Declared in a schema file: an identifier; declared another kind: modelled.
    with pytest.warns(VaekitWarning, match="'customer', 'spend'"):
        declared = infer_schema(table, {"spend": {"kind": "identifier"}, "row": {"kind": "real"}})
    assert declared.names == ["row"]


def test_dates_and_free_text_are_no_identifiers():
    rows = 30
    table = pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=rows).strftime("%Y-%m-%d"),
            "note": [f"called on day {i}" for i in range(rows)],
            "x": np.linspace(0, 1, rows),
        }
    )
    assert [c.kind for c in infer_schema(table).columns] == ["datetime", "categorical", "real"]


def test_a_schema_file_declares_ranges_decimals_and_ordered_levels(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(
        "grade: {kind: ordinal, levels: [low, mid, high]}\n"
        "score: {kind: real, min: 0, max: 100, decimals: 1}\n"
    )
    overrides = read_schema_file(path)
    assert overrides == {
        "grade": {"kind": "ordinal", "levels": ["low", "mid", "high"]},
        "score": {"kind": "real", "min": 0.0, "max": 100.0, "decimals": 1},
    }
    table = _table(grade=["mid", "low", "high"], score=["12.5", "99", "3"])
    schema = fit_schema(infer_schema(table, overrides), table)
    assert schema["grade"].levels == ("low", "mid", "high")
    assert (schema["score"].lower, schema["score"].upper, schema["score"].decimals) == (0.0, 100.0, 1)
    for text, message in (
        ("a: {kind: real, min: x}\n", "the min and max of column 'a' must be finite numbers"),
        ("a: {kind: real, decimals: 1.5}\n", "the decimals of column 'a' must be a whole number"),
        ("a: {kind: ordinal, levels: [x, x]}\n", "column 'a' declares a level twice"),
        ("a: {kind: real, step: -1}\n", "the step of column 'a' must be a number >= 0"),
        ("a: {kind: spiked, spikes: 12}\n", "the spikes of column 'a' must be a list of 1 to 100"),
        ("a: {kind: spiked, spikes: [12, x]}\n", "the spikes of column 'a' must be finite numbers"),
        ("a: {kind: spiked, spikes: [12, 12]}\n", "column 'a' declares a spike twice"),
    ):
        path.write_text(text)
        with pytest.raises(DataError, match=message):
            read_schema_file(path)
    with pytest.raises(DataError, match="the declared min 5 is above the max 1"):
        infer_schema(_table(a=["1"]), {"a": {"kind": "real", "min": 5.0, "max": 1.0}})
    with pytest.raises(DataError, match="levels are declared, but a real column has none"):
        infer_schema(_table(a=["1"]), {"a": {"kind": "real", "levels": ["1"]}})
    with pytest.raises(
        DataError, match="a step is declared, but a categorical column has no grid of numbers"
    ):
        infer_schema(_table(a=["x"]), {"a": {"kind": "categorical", "step": 5.0}})
    path.write_text("a: {kind: spiked, spikes: [16, 12], step: 2}\n")
    assert read_schema_file(path) == {"a": {"kind": "spiked", "spikes": [12.0, 16.0], "step": 2.0}}


def test_levels_come_back_as_the_table_spells_them():
    # Yes/No words are compared in lower case ('Yes' and 'yes' are one level) but written back as the
    # column writes them most often, so that synthetic and imputed rows match the data's own text.
    table = pd.DataFrame(
        {
            "default": ["No", "Yes", "No", "No"] * 5,
            "answer": ["Yes", "No", "Maybe", "No"] * 5,
            "lower": ["yes", "no", "yes", "YES"] * 5,
        }
    )
    schema = fit_schema(infer_schema(table), table)
    assert [c.levels for c in schema.columns][:2] == [("no", "yes"), ("Maybe", "no", "yes")]
    decoded = decode_table(schema, encode_table(schema, table).values)
    assert decoded["default"].tolist() == table["default"].tolist()
    assert decoded["answer"].tolist() == table["answer"].tolist()
    assert set(decoded["lower"]) == {"yes", "no"}  # 'yes' is its most common spelling
    # The spellings are part of the stored schema: a reloaded run writes them too.
    assert Schema.from_dict(schema.to_dict()) == schema


def test_numbers_written_as_text_come_back_as_numbers_not_as_their_spelling():
    # A float column of 0/1 with a hole is written '0.0'/'1.0' in a CSV: still numbers, not spellings.
    table = pd.DataFrame(
        {"flag": ["1.0", "0.0", None, "1.0"] * 5, "term": ["6.0", "12.0", "6.0", "12.0"] * 5}
    )
    schema = fit_schema(infer_schema(table), table)
    assert [c.format for c in schema.columns] == ["", ""]
    decoded = decode_table(schema, encode_table(schema, table).values)
    assert decoded["flag"].dtype.kind == "i" and decoded["term"].tolist()[:2] == [6, 12]
