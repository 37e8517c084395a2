"""Behaviour shared by every jsna_lib.stats function: confidence levels and column names,
validation messages, grouping, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsna_lib import stats
from jsna_lib.stats._common import level_suffix


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {"area": ["b", "a", "b", "c"], "x": [3.0, 10.0, 4.0, 0.0], "n": [50.0, 100.0, 60.0, 20.0]},
        index=["r1", "r2", "r3", "r4"],
    )


@pytest.mark.parametrize(
    ("level", "suffix"),
    [(0.95, "95"), (0.998, "99_8"), (0.9, "90"), (0.975, "97_5"), (0.99, "99"), (0.999, "99_9")],
)
def test_level_suffix(level: float, suffix: str) -> None:
    assert level_suffix(level) == suffix


def test_default_returns_95_and_99_8(small: pd.DataFrame) -> None:
    out = stats.proportion(small, "x", "n")
    assert [c for c in out.columns if c.startswith(("lower", "upper"))] == [
        "lower_95", "upper_95", "lower_99_8", "upper_99_8"
    ]


@pytest.mark.parametrize(
    ("confidence", "columns"),
    [
        (0.95, ["lower_95", "upper_95"]),
        (0.998, ["lower_99_8", "upper_99_8"]),
        ([0.9, 0.975], ["lower_90", "upper_90", "lower_97_5", "upper_97_5"]),
    ],
)
def test_only_requested_levels(small: pd.DataFrame, confidence: object, columns: list[str]) -> None:
    out = stats.rate(small, "x", "n", confidence=confidence)
    assert [c for c in out.columns if c.startswith(("lower", "upper"))] == columns


@pytest.mark.parametrize("bad", [0.89, 1.0, 95, 0, -0.95, [0.95, 1.2], [], [0.95, 0.95]])
def test_confidence_outside_range_raises(small: pd.DataFrame, bad: object) -> None:
    with pytest.raises(ValueError, match="confidence"):
        stats.proportion(small, "x", "n", confidence=bad)


def test_wider_level_gives_wider_interval(small: pd.DataFrame) -> None:
    out = stats.proportion(small, "x", "n")
    assert (out["lower_99_8"] <= out["lower_95"]).all()
    assert (out["upper_99_8"] >= out["upper_95"]).all()


def test_missing_column_names_argument_and_column(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"denominator='pop'"):
        stats.proportion(small, "x", "pop")
    with pytest.raises(ValueError, match=r"by='region'"):
        stats.rate(small, "x", "n", by="region")


def test_negative_count_names_column_and_first_rows(small: pd.DataFrame) -> None:
    bad = small.assign(x=[3.0, -1.0, 4.0, -2.0])
    with pytest.raises(ValueError, match=r"count column 'x' has negative values in rows \['r2', 'r4'\]"):
        stats.rate(bad, "x", "n")


def test_error_lists_only_first_rows_and_how_many_more() -> None:
    df = pd.DataFrame({"x": -np.arange(1.0, 9.0), "n": 10.0})
    with pytest.raises(ValueError, match=r"rows \[0, 1, 2, 3, 4\] \(and 3 more\)"):
        stats.proportion(df, "x", "n")


def test_zero_denominator_raises(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"denominator column 'n' has zero or negative values in rows \['r3'\]"):
        stats.rate(small.assign(n=[1.0, 2.0, 0.0, 3.0]), "x", "n")


def test_non_numeric_column_raises(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"count column 'x' must be numeric.*rows \['r2'\]"):
        stats.rate(small.assign(x=["1", "many", "2", "3"]), "x", "n")


def test_numeric_text_is_accepted(small: pd.DataFrame) -> None:
    out = stats.rate(small.assign(x=["3", "10", "4", "0"]), "x", "n")
    np.testing.assert_allclose(out["value"], small["x"] / small["n"] * 100_000)


def test_infinite_value_raises(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="infinite"):
        stats.rate(small.assign(n=[1.0, np.inf, 2.0, 3.0]), "x", "n")


def test_not_a_dataframe_raises() -> None:
    with pytest.raises(ValueError, match="DataFrame"):
        stats.rate({"x": [1]}, "x", "n")  # type: ignore[arg-type]


def test_missing_inputs_give_nan_and_note_without_stopping_the_batch(small: pd.DataFrame) -> None:
    df = small.assign(x=[3.0, np.nan, 4.0, 0.0], n=[50.0, 100.0, np.nan, 20.0])
    out = stats.proportion(df, "x", "n")
    assert out["value"].isna().tolist() == [False, True, True, False]
    assert out["lower_95"].isna().tolist() == [False, True, True, False]
    assert out["value_note"].tolist() == ["", "Missing count or denominator", "Missing count or denominator", ""]


def test_nullable_integer_columns(small: pd.DataFrame) -> None:
    df = small.astype({"x": "Int64"})
    df.loc["r2", "x"] = pd.NA
    out = stats.rate(df, "x", "n")
    assert np.isnan(out.loc["r2", "value"])
    assert out.loc["r1", "value"] == pytest.approx(3 / 50 * 100_000)


def test_ungrouped_keeps_rows_index_and_other_columns(small: pd.DataFrame) -> None:
    out = stats.rate(small, "x", "n")
    assert list(out.index) == list(small.index)
    assert out["area"].tolist() == small["area"].tolist()
    assert "value" not in small.columns  # input untouched


def test_grouped_sums_inputs_and_sorts_keys(small: pd.DataFrame) -> None:
    out = stats.proportion(small, "x", "n", by="area")
    assert out["area"].tolist() == ["a", "b", "c"]
    assert out["x"].tolist() == [10.0, 7.0, 0.0]
    assert out["n"].tolist() == [100.0, 110.0, 20.0]
    assert out["value"].tolist() == pytest.approx([10.0, 700 / 110, 0.0])


def test_group_with_a_missing_part_is_missing(small: pd.DataFrame) -> None:
    out = stats.rate(small.assign(x=[3.0, 10.0, np.nan, 0.0]), "x", "n", by="area")
    assert out.set_index("area")["value_note"].to_dict() == {
        "a": "", "b": "Missing count or denominator", "c": ""
    }


def test_multiple_keys_missing_keys_and_categoricals() -> None:
    df = pd.DataFrame(
        {
            "sex": pd.Categorical(["F", "M", "F", "M", "F"], categories=["M", "F", "Unused"]),
            "year": [2020, 2020, 2021, 2021, 2021],
            "area": ["x", "x", None, "x", None],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
            "n": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    out = stats.rate(df, "x", "n", by=["sex", "year", "area"])
    expected = df.groupby(["sex", "year", "area"], sort=True, dropna=False, observed=True)[["x", "n"]].sum()
    expected = expected.reset_index()
    assert len(out) == len(expected) == 4
    pd.testing.assert_frame_equal(
        out[["sex", "year", "area", "x", "n"]].reset_index(drop=True),
        expected.astype({"x": float, "n": float}),
        check_dtype=False,
    )
    assert isinstance(out["sex"].dtype, pd.CategoricalDtype)
    assert out["year"].dtype == np.int64


def test_value_note_is_string_dtype(small: pd.DataFrame) -> None:
    out = stats.rate(small, "x", "n", by="area")
    assert pd.api.types.is_string_dtype(out["value_note"])
