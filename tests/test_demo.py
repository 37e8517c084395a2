"""The demonstration store: complete, internally consistent, plausible and deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from jsna_lib import demo, geography, schema
from jsna_lib.store import Store


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return demo.generate(seed=2024)


@pytest.fixture(scope="module")
def values(tables) -> pd.DataFrame:
    return tables["values"]


def _whole(values: pd.DataFrame, indicator_id: int, sex: str = "Persons") -> pd.DataFrame:
    v = values[(values["indicator_id"] == indicator_id) & (values["category_type"] == "") & (values["sex"] == sex)]
    return v


def test_tables_are_valid_canonical_tables(tables) -> None:
    for name in ("values", "indicators", "areas", "population"):
        schema.validate(tables[name], name)
    types = set(tables["indicators"]["value_type"])
    assert {"Proportion", "Crude rate", "Directly standardised rate", "Life expectancy", "Score"} <= types
    assert len(tables["indicators"]) >= 30
    domains = set(tables["indicators"]["domain"])
    assert len(domains) == 8


def test_every_area_every_indicator_six_periods(values) -> None:
    codes = set(geography.areas()["area_code"])
    # 21 counties hold the 164 districts; the 132 unitaries are both UTLA and LTLA (counted once here)
    assert len(codes) == 1 + 9 + 153 + 164
    whole = values[values["category_type"] == ""]
    for indicator_id, seen in whole.groupby("indicator_id")["area_code"]:
        assert set(seen) == codes, indicator_id
    periods = whole.groupby("indicator_id")["period"].nunique()
    assert (periods.drop(900005) == 6).all()  # the deprivation score has one period, like IMD
    assert values["period"].str.match(r"^\d{4}(/\d{2})?( - \d{2})?$").all()


def test_counts_add_up_ltla_to_utla_to_region_to_england(values) -> None:
    areas = geography.areas()
    utla = areas[areas["area_type"] == "utla"]
    ltla = areas[areas["area_type"] == "ltla"]
    for indicator_id in (900001, 900013, 900019):  # a proportion, a female-only rate, a DSR
        sex = "Female" if indicator_id == 900013 else "Persons"
        v = _whole(values, indicator_id, sex).set_index(["area_code", "period"])[["count", "denominator"]]
        period = v.index.get_level_values("period")[0]
        at = v.xs(period, level="period")
        ltla_sum = at.loc[ltla["area_code"]].groupby(ltla["parent_code"].to_numpy()).sum()
        pd.testing.assert_frame_equal(ltla_sum.sort_index(), at.loc[ltla_sum.index].sort_index(), check_names=False, check_index_type=False)
        utla_sum = at.loc[utla["area_code"]].groupby(utla["parent_code"].to_numpy()).sum()
        pd.testing.assert_frame_equal(utla_sum.sort_index(), at.loc[utla_sum.index].sort_index(), check_names=False, check_index_type=False)
        assert at.loc[utla_sum.index].sum().tolist() == at.loc["E92000001"].tolist()


def test_sexes_add_to_persons_and_deciles_add_to_england(values) -> None:
    v = values[(values["indicator_id"] == 900019) & (values["category_type"] == "")]
    by = v.pivot_table(index=["area_code", "period"], columns="sex", values="count", aggfunc="sum")
    assert np.array_equal(by["Male"] + by["Female"], by["Persons"])
    deciles = values[(values["indicator_id"] == 900001) & (values["category_type"] != "")]
    assert deciles["category"].nunique() == 10 and set(deciles["area_code"]) == {"E92000001"}
    total = _whole(values, 900001).query("area_code == 'E92000001'").set_index("period")["count"]
    assert deciles.groupby("period")["count"].sum().equals(total)


def test_proportion_values_and_intervals_follow_from_counts_by_wilson(values) -> None:
    """Wilson score interval written out from Wilson (1927) / OHID Technical Guide."""
    v = _whole(values, 900007).head(200)
    x, n = v["count"].to_numpy(), v["denominator"].to_numpy()
    for level, lo_col, hi_col in ((0.95, "lower_95", "upper_95"), (0.998, "lower_99_8", "upper_99_8")):
        z = sps.norm.ppf(1 - (1 - level) / 2)
        p = x / n
        centre = 2 * x + z**2
        spread = z * np.sqrt(z**2 + 4 * x * (1 - p))
        lower = (centre - spread) / (2 * (n + z**2)) * 100
        upper = (centre + spread) / (2 * (n + z**2)) * 100
        np.testing.assert_allclose(v[lo_col], lower, rtol=1e-9)
        np.testing.assert_allclose(v[hi_col], upper, rtol=1e-9)
    np.testing.assert_allclose(v["value"], x / n * 100, rtol=1e-12)


def test_crude_rate_values_follow_from_counts(values) -> None:
    v = _whole(values, 900004)
    np.testing.assert_allclose(v["value"], v["count"] / v["denominator"] * 1000, rtol=1e-12)
    assert (v["lower_95"] <= v["value"]).all() and (v["value"] <= v["upper_95"]).all()


def test_numbers_look_like_real_data(values) -> None:
    le = _whole(values, 900017, "Male").query("area_code == 'E92000001'")["value"]
    assert le.between(77.5, 81.5).all(), le.tolist()
    le_f = _whole(values, 900017, "Female").query("area_code == 'E92000001'")["value"]
    assert (le_f > le.to_numpy() + 2.5).all()
    le65 = _whole(values, 900018, "Female").query("area_code == 'E92000001'")["value"]
    assert le65.between(19, 23).all(), le65.tolist()
    # deprivation gradient: LTLA score against under-75 mortality
    score = _whole(values, 900005).set_index("area_code")["value"]
    u75 = _whole(values, 900019).query("period == '2023'").set_index("area_code")["value"]
    common = score.index.intersection(u75.index)
    assert np.corrcoef(score[common], u75[common])[0, 1] > 0.5
    # a downward national trend in smoking
    smoking = _whole(values, 900007).query("area_code == 'E92000001'").sort_values("period_sort")["value"]
    assert smoking.iloc[-1] < smoking.iloc[0]


def test_population_sexes_add_up(tables) -> None:
    pop = tables["population"]
    eng = pop[(pop["area_code"] == "E92000001") & (pop["year"] == 2020)]
    persons = eng[eng["sex"] == "Persons"]["population"].sum()
    assert persons == eng[eng["sex"] != "Persons"]["population"].sum()
    assert 50e6 < persons < 62e6
    assert eng["age_band"].nunique() == 19


def test_build_is_deterministic_and_labelled(tmp_path, tables) -> None:
    store = demo.build(tmp_path / "demo", seed=2024)
    again = Store(tmp_path / "demo")
    assert {e["source"] for e in again.manifest["tables"].values()} == {demo.SOURCE}
    assert set(again.tables) == {"values", "indicators", "areas", "population"}
    stored = again.read("values")
    assert pd.util.hash_pandas_object(stored[["area_code", "value"]].astype(str), index=False).equals(
        pd.util.hash_pandas_object(tables["values"][["area_code", "value"]].astype(str), index=False))
    other = demo.build(tmp_path / "demo2", seed=7)
    assert other.checksum() != store.checksum()
