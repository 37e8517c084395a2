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


# ----------------------------------------------------------------------------- per-store cache
DECILES = ["Most deprived decile", "Second most deprived decile", "Third more deprived decile",
           "Fourth more deprived decile", "Fifth more deprived decile", "Fifth less deprived decile",
           "Fourth less deprived decile", "Third less deprived decile", "Second least deprived decile",
           "Least deprived decile"]


def _with_deciles(tables: dict[str, pd.DataFrame], step: float = 1.0) -> dict[str, pd.DataFrame]:
    """England's indicator 101 in all ten deprivation deciles (with populations, so an SII)."""
    values = tables["values"]
    values = values[~((values["area_code"] == ENGLAND) & (values["category_type"] != ""))]
    rows = [_row(101, ENGLAND, "2023", 20230000, 25.0 - step * k, 0.5, category_type="Deprivation deciles",
                 category=decile, denominator=1000.0 + 10 * k) for k, decile in enumerate(DECILES)]
    return {**tables, "values": pd.concat([values, pd.DataFrame(rows)], ignore_index=True)}


def _frames(p: profile.AreaProfile) -> dict[str, object]:
    return {name: getattr(p, name) for name in ("area_name", "region_name", "indicators", "time_series",
                                                 "population", "inequalities", "england_inequalities", "notes")}


def _assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    for name, value in a.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, b[name], check_exact=True, obj=name)
        else:
            assert value == b[name], name


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty per-store cache for the test (and the process's own left as it was)."""
    monkeypatch.setattr(profile, "_STORE_CACHE", {})
    monkeypatch.setattr(profile, "_SUMMARIES", {})


def test_cache_gives_the_results_made_without_it(tmp_path, fresh_cache):
    store = Store(tmp_path / "store", create=True)
    store.write_many(_with_deciles(small_tables()), source="hand-built test data")
    assert profile.warm(str(store.path)) > 0  # a store or its folder
    cached = [profile.area_profile(store, code) for code in (BIRMINGHAM, COVENTRY, BIRMINGHAM)]
    summaries = [profile.inequality_summary(p) for p in cached]
    profile._STORE_CACHE.clear()
    profile._SUMMARIES.clear()
    for p, summary in zip(cached, summaries, strict=True):
        plain = profile.area_profile(store, p.area_code)
        _assert_same(_frames(plain), _frames(p))
        pd.testing.assert_frame_equal(profile.inequality_summary(plain), summary, check_exact=True)
        pd.testing.assert_frame_equal(profile.sex_differences(plain), profile.sex_differences(p), check_exact=True)
        pd.testing.assert_frame_equal(profile.region_areas(store, plain), profile.region_areas(store, p))
    assert summaries[0]["sii"].notna().all() and summaries[0]["sii_lower_95"].notna().all()
    # Without checksums in the manifest nothing is cached, and the results are the same.
    for entry in store.manifest["tables"].values():
        entry.pop("sha256")
    profile._STORE_CACHE.clear()
    _assert_same(_frames(profile.area_profile(store, BIRMINGHAM)), _frames(cached[0]))
    assert not profile._STORE_CACHE


def test_cache_never_serves_a_changed_store(tmp_path, fresh_cache):
    store = Store(tmp_path / "store", create=True)
    tables = _with_deciles(small_tables())
    store.write_many(tables, source="hand-built test data")
    profile.warm(store)
    before = profile.area_profile(store, BIRMINGHAM)
    sii_before = profile.inequality_summary(before)["sii"].iloc[0]
    # Rewrite each table the cache uses: values (England's breakdowns), indicators (names), areas.
    store.write("values", _with_deciles(tables, step=2.0)["values"], source="revised")
    indicators = tables["indicators"].assign(name=["Smoking (revised)", "Life expectancy at birth"])
    store.write("indicators", indicators, source="revised")
    areas = tables["areas"].assign(area_name=tables["areas"]["area_name"].replace("Birmingham", "Brum"))
    store.write("areas", areas, source="revised")
    after = profile.area_profile(store, BIRMINGHAM)
    assert after.area_name == "Brum" and set(profile.region_areas(store, after)["area_name"]) >= {"Brum"}
    assert set(after.england_inequalities["name"]) == {"Smoking (revised)"}
    assert list(after.england_inequalities["value"].sort_values()) == [25.0 - 2.0 * k for k in range(9, -1, -1)]
    sii_after = profile.inequality_summary(after)["sii"].iloc[0]
    assert sii_after == pytest.approx(2 * sii_before)
    # ... and the same as a process that never cached anything.
    profile._STORE_CACHE.clear()
    profile._SUMMARIES.clear()
    _assert_same(_frames(profile.area_profile(store, BIRMINGHAM)), _frames(after))
    # Another Store object of the same folder and content shares the cache.
    assert Store(store.path).manifest["tables"]["values"]["sha256"] == store.manifest["tables"]["values"]["sha256"]
    _assert_same(_frames(profile.area_profile(Store(store.path), BIRMINGHAM)), _frames(after))


def test_callers_cannot_change_the_cache(tmp_path, fresh_cache):
    store = Store(tmp_path / "store", create=True)
    store.write_many(_with_deciles(small_tables()), source="hand-built test data")
    profile.warm(store)
    first = profile.area_profile(store, BIRMINGHAM)
    summary = profile.inequality_summary(first)
    expected = first.england_inequalities.copy()
    # A caller changing what it was given (in place) changes its own copy only ...
    first.england_inequalities["value"] = 0.0
    first.england_inequalities.loc[0, "name"] = "changed"
    summary.loc[0, "sii"] = 99.0
    given = profile.region_areas(store, first)
    given.loc[0, "area_name"] = "changed"
    second = profile.area_profile(store, BIRMINGHAM)
    pd.testing.assert_frame_equal(second.england_inequalities, expected)
    assert profile.inequality_summary(second)["sii"].iloc[0] != 99.0
    assert profile.region_areas(store, second).loc[0, "area_name"] == "Birmingham"
    # ... and a summary of changed breakdowns is made from them, not taken from the cache.
    changed = profile.inequality_summary(first)
    assert changed["sii"].iloc[0] == pytest.approx(0.0)


def test_wide_rows_side_by_side_equal_the_join(store):
    """The benchmarks' rows lined up (as stored) or not (shuffled, one missing): the same frame."""
    compare.compare_all(store)
    area = profile._resolve_area(store, profile._store_areas(store), BIRMINGHAM, None)
    specs = [compare.Benchmark("england", ENGLAND), compare.Benchmark("region"), compare.Benchmark("area", DUDLEY)]
    rows, precomputed = profile._comparisons_for(store, area, specs[:2])
    assert precomputed and profile._wide_columns(rows, specs[:2]) is not None
    lined_up = profile._wide(rows, specs[:2])
    shuffled = rows.sample(frac=1, random_state=1).reset_index(drop=True)
    assert profile._wide_columns(shuffled, specs[:2]) is None
    joined = profile._wide(shuffled, specs[:2])
    key = ["indicator_id", "sex", "age", "category_type", "category", "period"]
    pd.testing.assert_frame_equal(joined.sort_values(key, ignore_index=True), lined_up.sort_values(key, ignore_index=True))
    missing = rows.drop(index=rows.index[(rows["benchmark"] == "region") & rows["benchmark_value"].notna()][:1])
    assert profile._wide(missing, specs[:2])["region_value"].isna().sum() == lined_up["region_value"].isna().sum() + 1
    # Duplicated keys: the joins' every combination (two rows x two England's x two region's).
    doubled = pd.concat([rows, rows], ignore_index=True).sort_values("benchmark", kind="stable")
    assert profile._wide_columns(doubled, specs[:2]) is None
    assert len(profile._wide(doubled, specs[:2])) == 8 * len(lined_up)


def test_sort_order_and_unique_rows_match_pandas():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(0, 30))
        frame = pd.DataFrame({
            "a": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 4, n)), dtype="Int64"),
            "b": pd.array(rng.choice(["x", "y", "é", None], n), dtype="string"),
            "c": rng.choice([1.0, 2.0, np.nan], n)})
        order = profile._sort_order([frame[c].array for c in frame])
        np.testing.assert_array_equal(order, frame.sort_values(list(frame), kind="stable").index.to_numpy())
        assert profile._unique_rows([frame[c].array for c in frame]) == (not frame.duplicated().any())


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


def test_an_indicator_without_metadata_is_profiled_and_named_by_its_id(tmp_path):
    """Values whose indicator has no row in the indicators table (a user's own indicator imported
    without its metadata): the profile is made, and the notes name it "Indicator <id>"."""
    tables = small_tables()
    extra = tables["values"][tables["values"]["indicator_id"] == 101].assign(indicator_id=999)
    tables["values"] = pd.concat([tables["values"], extra], ignore_index=True)
    s = Store(tmp_path / "store", create=True)
    s.write_many(tables, source="hand-built test data", validate=False)
    area = profile.area_profile(s, BIRMINGHAM)
    assert 999 in set(area.indicators["indicator_id"].astype(int))
    assert any("Indicator 999" in note for note in area.notes), area.notes
