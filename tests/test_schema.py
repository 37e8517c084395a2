"""The canonical tables' validation: every broken rule names the table, the column and the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsna_lib import schema


def _values(**overrides) -> pd.DataFrame:
    base = {
        "indicator_id": [1, 1, 2],
        "area_code": ["E92000001", "E06000001", "E06000001"],
        "area_type": ["england", "utla", "utla"],
        "sex": ["Persons", "Persons", "Female"],
        "age": ["All ages", "All ages", "18+ yrs"],
        "period": ["2021", "2021", "2021/22"],
        "period_sort": [20210000, 20210000, 20210000],
        "value": [10.0, 12.0, 55.5],
        "lower_95": [9.0, 10.0, 50.0],
        "upper_95": [11.0, 14.0, 60.0],
        "count": [100.0, 12.0, 555.0],
        "denominator": [1000.0, 100.0, 1000.0],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_valid_values_are_coerced_to_canonical_dtypes() -> None:
    out = schema.validate(_values(), "values")
    assert out["indicator_id"].dtype == "Int64"
    assert out["period_sort"].dtype == "Int64"
    assert out["value"].dtype == "float64"
    assert str(out["area_code"].dtype) == "string"
    # optional columns appear, text key parts are "" not missing
    assert out["category_type"].tolist() == ["", "", ""]
    assert out["lower_99_8"].isna().all()
    assert list(out.columns[: len(schema.VALUES.columns)]) == list(schema.VALUES.columns)


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"table 'values': missing required column\(s\) 'period_sort'"):
        schema.validate(_values().drop(columns="period_sort"), "values")


def test_text_in_number_column_names_column_and_row() -> None:
    df = _values(value=[10.0, "twelve", 55.5])
    with pytest.raises(ValueError, match=r"column 'value' must be numeric") as err:
        schema.validate(df, "values")
    assert "row 1" in str(err.value) and "'twelve'" in str(err.value)


def test_blank_strings_in_number_columns_are_missing_not_errors() -> None:
    out = schema.validate(_values(count=["", " ", "555"]), "values")
    assert np.isnan(out["count"].iloc[0]) and np.isnan(out["count"].iloc[1])
    assert out["count"].iloc[2] == 555


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"column 'count' is negative in 1 row\(s\):\n  row 2"):
        schema.validate(_values(count=[100.0, 12.0, -1.0]), "values")


def test_lower_ci_above_upper_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"(?s)'lower_95' is above 'upper_95'.*row 0"):
        schema.validate(_values(lower_95=[12.0, 10.0, 50.0]), "values")


def test_count_above_denominator_only_for_proportions() -> None:
    df = _values(count=[100.0, 120.0, 555.0])  # indicator 1 row 1: 120 > 100
    types = pd.Series({1: "Crude rate", 2: "Proportion"})
    schema.validate(df, "values", value_types=types)  # a rate may exceed its denominator
    with pytest.raises(ValueError, match=r"(?s)'count' is above 'denominator' for a proportion.*row 1"):
        schema.validate(df, "values", value_types=pd.Series({1: "Proportion", 2: "Proportion"}))


def test_identical_duplicates_are_dropped_conflicting_ones_rejected() -> None:
    df = _values()
    doubled = pd.concat([df, df.iloc[[1]]], ignore_index=True)
    assert len(schema.validate(doubled, "values")) == 3
    conflicting = doubled.copy()
    conflicting.loc[3, "value"] = 99.0
    with pytest.raises(ValueError, match=r"duplicate key .* with different values in 2 row\(s\)") as err:
        schema.validate(conflicting, "values")
    assert "E06000001" in str(err.value) and "99.0" in str(err.value)


def test_unknown_sex_and_polarity_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"column 'sex' has values outside"):
        schema.validate(_values(sex=["Persons", "persons", "Female"]), "values")
    indicators = pd.DataFrame({"indicator_id": [1], "name": ["x"], "value_type": ["Proportion"],
                               "polarity": ["Low is good"], "comparator_method": ["ci_95"]})
    with pytest.raises(ValueError, match=r"table 'indicators': column 'polarity' has values outside"):
        schema.validate(indicators, "indicators")


def test_empty_required_value_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"column 'area_code' is empty"):
        schema.validate(_values(area_code=["E92000001", None, "E06000001"]), "values")


def test_error_lists_at_most_five_rows_and_counts_the_rest() -> None:
    n = 8
    df = pd.DataFrame({"area_code": ["E06000001"] * n, "year": range(2000, 2000 + n), "sex": "Male",
                       "age_band": "0-4", "population": [-1.0] * n})
    with pytest.raises(ValueError, match=r"8 row\(s\)") as err:
        schema.validate(df, "population")
    assert "... and 3 more" in str(err.value)
    assert str(err.value).count("  row ") == 5


def test_unknown_table_is_named() -> None:
    with pytest.raises(ValueError, match="unknown table 'vals'"):
        schema.validate(_values(), "vals")
