"""Tests of jsna_lib.profile on a small hand-built store (and one run on the demonstration store)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from jsna_lib import compare, compare_cli, geography, narrative, profile
from jsna_lib.store import Store

ENGLAND, WM = "E92000001", "E12000005"
BIRMINGHAM, COVENTRY, DUDLEY, SANDWELL = "E08000025", "E08000026", "E08000027", "E08000028"
UTLAS = [BIRMINGHAM, COVENTRY, DUDLEY, SANDWELL]
YEARS = list(range(2018, 2024))


def _row(indicator, code, period, sort, value, half, *, sex="Persons", count=np.nan, denominator=np.nan,
         category_type="", category="", note=""):
    return {"indicator_id": indicator, "area_code": code, "sex": sex, "age": "All ages",
            "category_type": category_type, "category": category, "period": period, "period_sort": sort,
            "value": value, "lower_95": value - half, "upper_95": value + half, "count": count,
            "denominator": denominator, "value_note": note,
            "area_type": "england" if code == ENGLAND else "region" if code == WM else "utla"}


def small_tables() -> dict[str, pd.DataFrame]:
    """Indicator 101 (proportion, low is good): England 20 → 15 over 2018-23, West Midlands 2 points
    above, Birmingham rising 20 → 25 (half-width 1: a significant upward trend, worse than
    England), the other three flat. Indicator 102 (life expectancy, high is good) by sex for
    2019 - 21. England rows by deprivation decile and Birmingham rows by ethnic group."""
    rows = []
    for i, year in enumerate(YEARS):
        sort = year * 10000
        rows.append(_row(101, ENGLAND, str(year), sort, 20.0 - i, 0.1, count=1.0, denominator=10.0))
        rows.append(_row(101, WM, str(year), sort, 22.0 - i, 0.3, count=1.0, denominator=10.0))
        rows.append(_row(101, BIRMINGHAM, str(year), sort, 20.0 + i, 1.0, count=1.0, denominator=10.0,
                         note="Provisional" if year == 2023 else ""))
        for code, level in ((COVENTRY, 18.0), (DUDLEY, 16.0), (SANDWELL, 21.0)):
            rows.append(_row(101, code, str(year), sort, level, 1.0, count=1.0, denominator=10.0))
    for sex, england, brum in (("Male", 79.0, 77.0), ("Female", 83.0, 82.5)):
        rows.append(_row(102, ENGLAND, "2019 - 21", 20190000, england, 0.1, sex=sex))
        rows.append(_row(102, WM, "2019 - 21", 20190000, england - 0.5, 0.2, sex=sex))
        rows.append(_row(102, BIRMINGHAM, "2019 - 21", 20190000, brum, 0.3, sex=sex))
        for code in (COVENTRY, DUDLEY, SANDWELL):
            rows.append(_row(102, code, "2019 - 21", 20190000, england, 0.3, sex=sex))
    for k, decile in enumerate(["Most deprived decile", "Least deprived decile"]):
        rows.append(_row(101, ENGLAND, "2023", 20230000, 25.0 - 10 * k, 0.2, category_type="Deprivation deciles",
                         category=decile))
    for group, value in (("White", 23.0), ("Asian", 27.0)):
        rows.append(_row(101, BIRMINGHAM, "2023", 20230000, value, 2.0, category_type="Ethnic groups",
                         category=group))
    values = pd.DataFrame(rows)
    indicators = pd.DataFrame({
        "indicator_id": [101, 102], "name": ["Test smoking prevalence", "Life expectancy at birth"],
        "domain": ["Lifestyle", "Life expectancy"], "value_type": ["Proportion", "Life expectancy"],
        "unit": ["%", "years"], "multiplier": [100.0, 1.0], "polarity": ["RAG - Low is good", "RAG - High is good"],
        "comparator_method": ["ci_95", "ci_95"], "ci_method": "", "definition": "", "source": "test"})
    areas = geography.areas()
    areas = areas[areas["area_code"].isin([ENGLAND, WM, *UTLAS])].reset_index(drop=True)
    population = pd.DataFrame({"area_code": BIRMINGHAM, "year": [2020] * 4 + [2021] * 4,
                               "sex": ["Male", "Male", "Female", "Female"] * 2, "age_band": ["0-4", "5-9"] * 4,
                               "population": [100.0, 90.0, 95.0, 85.0, 101.0, 91.0, 96.0, 86.0]})
    return {"values": values, "indicators": indicators, "areas": areas, "population": population}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store", create=True)
    s.write_many(small_tables(), source="hand-built test data")
    return s


def test_profile_contents(store):
    p = profile.area_profile(store, BIRMINGHAM)
    assert (p.area_name, p.area_type, p.region_code, p.region_name) == ("Birmingham", "utla", WM, "West Midlands")
    assert not p.from_precomputed
    ind = p.indicators.set_index(["indicator_id", "sex"])
    smoking = ind.loc[(101, "Persons")]
    # Latest period 2023: Birmingham 25 (24..26), England 15, West Midlands 17 → worse than both.
    assert smoking["period"] == "2023" and smoking["value"] == 25.0
    assert (smoking["england_value"], smoking["region_value"]) == (15.0, 17.0)
    assert (smoking["vs_england"], smoking["vs_region"], smoking["vs_england_level"]) == ("Worse", "Worse", 95.0)
    assert smoking["vs_england_colour"] == "#C00000"
    # 20, 21, 22, 23, 24 → 21..25 for 2019-23 with se = 2/3.92: a steep significant rise.
    assert smoking["trend"] == "Increasing and getting worse"
    # Ranked last of 4 (low is good); spine: England 15 at the centre, worst 25 at 0 on the left.
    assert (smoking["rank"], smoking["rank_count"]) == (4, 4)
    assert smoking["spine_worst"] == 25.0 and smoking["spine_best"] == 16.0 and smoking["spine_reversed"]
    assert smoking["pos_area"] == pytest.approx(0.0) and smoking["pos_england"] == pytest.approx(0.5)
    assert smoking["value_note"] == "Provisional"
    le = ind.loc[(102, "Male")]
    # 77 (76.7..77.3) vs England 79: significantly lower, high is good → worse.
    assert le["vs_england"] == "Worse" and le["trend"] == "Cannot be calculated"
    assert list(p.headline()["sex"]) == ["Female", "Male", "Persons"]  # LE by sex, smoking persons
    # Time series: every period of each headline series.
    smoking_ts = p.time_series[(p.time_series["indicator_id"] == 101) & (p.time_series["sex"] == "Persons")]
    assert list(smoking_ts["period"]) == [str(y) for y in YEARS]
    assert list(smoking_ts["england_value"]) == [20.0, 19.0, 18.0, 17.0, 16.0, 15.0]
    # Population: the latest year, by sex and band.
    assert p.population_year == 2021 and p.population["population"].sum() == 374.0
    assert set(p.inequalities["category"]) == {"White", "Asian"}
    assert list(p.england_inequalities["category"]) == ["Least deprived decile", "Most deprived decile"]
    assert "Test smoking prevalence: Provisional." in p.notes
    assert p.notes[-1].startswith("Comparisons were computed for this area")


def test_fast_path_matches_computed(store):
    slow = profile.area_profile(store, BIRMINGHAM)
    compare.compare_all(store)
    fast = profile.area_profile(store, BIRMINGHAM)
    assert fast.from_precomputed and not slow.from_precomputed
    columns = ["indicator_id", "sex", "period", "value", "england_value", "region_value", "vs_england", "vs_region",
               "trend", "rank", "quintile", "spine_worst", "pos_area", "pos_region"]
    pd.testing.assert_frame_equal(slow.indicators[columns], fast.indicators[columns])
    pd.testing.assert_frame_equal(slow.time_series[columns], fast.time_series[columns])


def test_comparators(store):
    by_region = profile.area_profile(store, BIRMINGHAM, comparator="region")
    row = by_region.indicators.set_index(["indicator_id", "sex"]).loc[(101, "Persons")]
    assert (row["comparator_value"], row["vs_comparator"]) == (17.0, "Worse")
    assert by_region.comparator_name == "West Midlands"
    # A UTLA's parent is its region.
    by_parent = profile.area_profile(store, BIRMINGHAM, comparator="parent")
    assert (by_parent.comparator_code, by_parent.comparator_name) == (WM, "West Midlands")
    by_area = profile.area_profile(store, BIRMINGHAM, comparator=DUDLEY)
    row = by_area.indicators.set_index(["indicator_id", "sex"]).loc[(101, "Persons")]
    assert (row["comparator_value"], by_area.comparator_name) == (16.0, "Dudley")
    # A group of two with counts 1/10 each: aggregate 2/20 × 100 = 10%.
    by_group = profile.area_profile(store, BIRMINGHAM, comparator=[COVENTRY, DUDLEY])
    row = by_group.indicators.set_index(["indicator_id", "sex"]).loc[(101, "Persons")]
    assert row["comparator_value"] == pytest.approx(10.0)
    # Life expectancy has no counts: the mean of the members' values.
    row = by_group.indicators.set_index(["indicator_id", "sex"]).loc[(102, "Male")]
    assert row["comparator_value"] == pytest.approx(79.0)


def test_period_and_name(store):
    p = profile.area_profile(store, "birmingham", period="2020")
    assert list(p.indicators["period"]) == ["2020"]
    assert p.indicators["value"].iloc[0] == 22.0
    with pytest.raises(ValueError, match="no data for period '1990'"):
        profile.area_profile(store, BIRMINGHAM, period="1990")


def test_unknown_areas_suggest_close_matches(store):
    with pytest.raises(geography.UnknownAreaError, match=r"did you mean E08000025 \(Birmingham\)"):
        profile.area_profile(store, "E0800025")
    with pytest.raises(geography.UnknownAreaError, match="has no data in the store"):
        profile.area_profile(store, "E08000029")  # Solihull: a real area, not in this store
    with pytest.raises(ValueError, match="give an area code"):
        profile.area_profile(store, "  ")


# ----------------------------------------------------------------------------- demonstration store
@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from jsna_lib import demo

    return demo.build(tmp_path_factory.mktemp("demo") / "store", seed=2024)


def test_demo_store_end_to_end(demo_store, tmp_path):
    # A district (LTLA only) first computed for itself, then from the precomputed table.
    slow = profile.area_profile(demo_store, "E07000117")
    compare.compare_all(demo_store)
    fast = profile.area_profile(demo_store, "E07000117")
    assert fast.area_type == "ltla" and fast.parent_code == "E10000017" and fast.from_precomputed
    columns = ["indicator_id", "sex", "value", "vs_england", "vs_region", "trend", "rank", "pos_area"]
    pd.testing.assert_frame_equal(slow.indicators[columns], fast.indicators[columns])
    assert fast.demonstration and fast.notes[0].startswith("Demonstration data")
    assert narrative.headlines(fast)[0].text.startswith("Compared with England")
    # jsna compare writes the analysts' CSV from the stored table.
    parser = argparse.ArgumentParser()
    compare_cli.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "compare.csv"
    args = parser.parse_args(["compare", "--data-dir", str(demo_store.path), "--area-type", "utla",
                              "--benchmark", "region", "--out", str(out)])
    assert args.func(args) == 0
    csv = pd.read_csv(out, keep_default_na=False)
    required = ["indicator_id", "area_code", "sex", "age", "category_type", "category", "period", "value",
                "lower_95", "upper_95", "benchmark_code", "benchmark_value", "significance", "trend"]
    assert set(required) <= set(csv.columns)
    assert csv["area_code"].nunique() == 153 and set(csv["benchmark"]) == {"region"}
    assert not csv.duplicated(["indicator_id", "area_code", "sex", "age", "category_type", "category",
                               "period"]).any()
