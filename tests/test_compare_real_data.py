"""Agreement with Fingertips' own published judgements on real data (docs/compare_agreement.md).

The exports are read with pandas and mapped to canonical columns here, not through
``jsna_lib.sources`` (which moves 2015 area codes onto current ones and rebuilds merged areas):
the published flags were made on the areas and numbers exactly as the export has them.

Indicator metadata: neither export's indicators are in the metadata files of the shared data,
so polarity and comparator method come from the exports' own flags, by explicit rules checked
below (``test_metadata_rules_hold``):

* 93356 campylobacter: flags are Better/Similar/Worse (RAG), and every "Better" area has a value
  below England's, so "RAG - Low is good"; only 95% limits exist, so ``ci_95``.
* cosmmh (8 indicators): flags are Higher/Similar/Lower (BOB), ``ci_95`` (the 99.8% limits of
  10101 and 11202 would give different flags). 11202 and 92863 are "Not compared" on every row,
  even where a row has a value, 95% limits and a benchmark: no comparison in that profile
  (method ``none``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jsna_lib import compare

pytestmark = pytest.mark.shared_data

EXPORTS = "fingertips/exports"
CAMPYLOBACTER = "indicators-CountyUA.data__campylobacter_2015.csv"
COSMMH = "indicators-CountyUApre419.data__cosmmh_east_midlands.csv"
NW = "fingertips/fingertipsnext_healthdata_nw.csv.gz"

EXPORT_COLUMNS = {
    "Indicator ID": "indicator_id", "Area Code": "area_code", "Sex": "sex", "Age": "age",
    "Category Type": "category_type", "Category": "category", "Time period": "period",
    "Time period Sortable": "period_sort", "Value": "value", "Lower CI 95.0 limit": "lower_95",
    "Upper CI 95.0 limit": "upper_95", "Lower CI 99.8 limit": "lower_99_8", "Upper CI 99.8 limit": "upper_99_8",
    "Count": "count", "Denominator": "denominator", "Value note": "value_note",
    "Recent Trend": "published_trend", "Compared to England value or percentiles": "published_vs_england",
    "Compared to Region value or percentiles": "published_vs_parent",
}
AREA_TYPES = {"England": "england", "Country": "england", "Region": "region", "County & UA": "utla",
              "County & UA (pre 4/19)": "utla"}
KEY = ["indicator_id", "area_code", "sex", "age", "category_type", "category", "period"]

LOW, BOB = "RAG - Low is good", "BOB - Blue orange blue"
COSMMH_IDS = [91872, 1730, 10101, 90402, 11501, 11202, 92863, 91126]
INDICATORS = {
    CAMPYLOBACTER: pd.DataFrame({"indicator_id": [93356], "value_type": ["Crude rate"], "polarity": [LOW],
                                 "comparator_method": ["ci_95"], "multiplier": [100_000.0]}),
    COSMMH: pd.DataFrame({"indicator_id": COSMMH_IDS, "value_type": "Proportion", "polarity": BOB,
                          "comparator_method": ["none" if i in (11202, 92863) else "ci_95" for i in COSMMH_IDS],
                          "multiplier": 100.0}),
}


def read_export(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical values (plus the published_* columns) and an areas frame from a Fingertips export."""
    raw = pd.read_csv(path, dtype={"Category Type": str, "Category": str, "Value note": str})
    values = raw.rename(columns=EXPORT_COLUMNS)[list(EXPORT_COLUMNS.values())].copy()
    values["area_type"] = raw["Area Type"].map(AREA_TYPES)
    assert values["area_type"].notna().all(), "an area type this test does not know"
    for column in ("category_type", "category", "value_note"):
        values[column] = values[column].fillna("")
    values["period"] = values["period"].astype(str)
    is_la = values["area_type"] == "utla"
    areas = pd.DataFrame({"area_code": raw["Area Code"], "area_type": values["area_type"],
                          "parent_code": raw["Parent Code"].fillna(""),
                          "region_code": np.where(is_la, raw["Parent Code"].fillna(""), "")}).drop_duplicates()
    return values, areas


def published_vs_ours(values: pd.DataFrame, indicators: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Every export row with our England and region judgements beside the published ones."""
    ours = compare.compare_values(values, indicators, areas, area_type=["england", "region", "utla"],
                                  benchmarks=["england", "region"])
    ours["indicator_id"] = ours["indicator_id"].astype("int64")
    wide = values[[*KEY, "published_vs_england", "published_vs_parent", "published_trend", "value", "lower_95",
                   "upper_95"]]
    for bench in ("england", "region"):
        block = ours[ours["benchmark"] == bench][[*KEY, "significance", "significance_note"]]
        block = block.rename(columns={"significance": f"ours_{bench}", "significance_note": f"note_{bench}"})
        wide = wide.merge(block.astype({c: object for c in KEY if c != "indicator_id"}), on=KEY, how="left")
    trend = ours[ours["benchmark"] == "england"][[*KEY, "trend", "trend_note"]]
    return wide.merge(trend.astype({c: object for c in KEY if c != "indicator_id"}), on=KEY, how="left")


@pytest.fixture(scope="module", params=[CAMPYLOBACTER, COSMMH])
def export(request, shared_data):
    values, areas = read_export(shared_data / EXPORTS / request.param)
    return request.param, values, published_vs_ours(values, INDICATORS[request.param], areas)


def test_every_export_row_is_judged(export):
    name, values, table = export
    assert len(table) == len(values) == {CAMPYLOBACTER: 852, COSMMH: 87}[name]
    assert table["ours_england"].notna().all() and table["ours_region"].notna().all()


def test_compared_to_england_agrees_on_every_row(export):
    _, _, table = export
    disagree = table[table["published_vs_england"] != table["ours_england"]]
    assert disagree.empty, disagree[[*KEY, "published_vs_england", "ours_england", "note_england"]].to_string()


def test_compared_to_region_agrees_on_every_row(export):
    _, _, table = export
    disagree = table[table["published_vs_parent"] != table["ours_region"]]
    assert disagree.empty, disagree[[*KEY, "published_vs_parent", "ours_region", "note_region"]].to_string()


def test_the_comparisons_are_not_trivial(export):
    name, _, table = export
    england = table["published_vs_england"].value_counts().to_dict()
    region = table["published_vs_parent"].value_counts().to_dict()
    if name == CAMPYLOBACTER:
        assert england == {"Better": 283, "Worse": 247, "Similar": 220, "Not compared": 102}
        assert region == {"Not compared": 402, "Similar": 174, "Better": 142, "Worse": 134}
    else:
        assert england == {"Not compared": 42, "Lower": 24, "Higher": 11, "Similar": 10}
        assert region == {"Not compared": 47, "Lower": 18, "Higher": 12, "Similar": 10}


def test_recent_trend_agrees_where_the_export_holds_the_inputs(export):
    """Fingertips shows a trend on the latest period only. Where it published "Cannot be
    calculated" we must agree. Where it published a direction or "No significant change" but
    the export holds fewer than 5 points of the series, the trend came from earlier periods the
    export leaves out: excluded (rule E1), and counted."""
    name, _, table = export
    published = table[table["published_trend"].notna()]
    excluded = (published["published_trend"] != "Cannot be calculated") & (
        published["trend_note"] == "fewer than 5 points")
    kept = published[~excluded]
    assert (kept["published_trend"] == kept["trend"]).all()
    assert (len(kept), int(excluded.sum())) == {CAMPYLOBACTER: (182, 0), COSMMH: (54, 33)}[name]


def test_metadata_rules_hold(shared_data):
    camp, _ = read_export(shared_data / EXPORTS / CAMPYLOBACTER)
    england = camp[camp["area_code"] == "E92000001"].set_index(["period", "age", "category_type", "category"])["value"]
    la = camp[camp["published_vs_england"].isin(["Better", "Worse"])]
    eng = england.reindex(pd.MultiIndex.from_frame(la[["period", "age", "category_type", "category"]])).to_numpy()
    assert ((la["published_vs_england"] == "Better") == (la["value"].to_numpy() < eng)).all()
    assert camp["lower_99_8"].isna().all()
    cos, _ = read_export(shared_data / EXPORTS / COSMMH)
    flags = set(cos["published_vs_england"]) | set(cos["published_vs_parent"])
    assert flags == {"Higher", "Lower", "Similar", "Not compared"}
    never = cos[cos["indicator_id"].isin([11202, 92863])]
    assert set(never["published_vs_england"]) | set(never["published_vs_parent"]) == {"Not compared"}
    assert never["lower_95"].notna().sum() >= 11  # they had intervals, so "none" is a method, not missing data


# ------------------------------------------------------------------------------ FingertipsNext NW extract
POLARITY = {"Low is good": "RAG - Low is good", "High is good": "RAG - High is good", "No judgement": "Not applicable"}


def read_nw(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(shared_data / NW, dtype={"Category": str, "CategoryType": str}).drop_duplicates()
    values = pd.DataFrame({
        "indicator_id": raw["IndicatorId"], "area_code": raw["AreaCode"], "sex": raw["Sex"], "age": raw["Age"],
        "category_type": raw["CategoryType"].fillna("").str.strip('"'),
        "category": raw["Category"].fillna("").str.strip('"'),
        "period": raw["Year"].astype(str), "period_sort": raw["Year"] * 10000, "value": raw["Value"],
        "lower_95": raw["LowerCI"], "upper_95": raw["UpperCI"], "count": raw["Count"],
        "denominator": raw["Denominator"], "published_trend": raw["Trend"],
    }).reset_index(drop=True)
    meta = pd.read_csv(shared_data / "fingertips/metadata/fingertipsnext_datacreator_indicators.csv",
                       encoding="utf-8-sig")
    indicators = pd.DataFrame({"indicator_id": meta["IndicatorID"], "value_type": meta["ValueType"],
                               "polarity": meta["Polarity"].map(POLARITY).fillna("Not applicable")})
    # 92026 is not in that file; it is a proportion (README). The Pholio file is authoritative for
    # polarity where it has the indicator.
    indicators = pd.concat([indicators, pd.DataFrame({"indicator_id": [92026], "value_type": ["Proportion"],
                                                      "polarity": ["RAG - Low is good"]})], ignore_index=True)
    pholio = pd.read_csv(shared_data / "fingertips/metadata/pholio_seed_indicator_metadata.csv")
    authoritative = dict(zip(pholio["fingertips_indicator_id"], pholio["polarity"], strict=True))
    indicators["polarity"] = [authoritative.get(i, p) for i, p in zip(indicators["indicator_id"],
                                                                      indicators["polarity"], strict=True)]
    return values, indicators


def nw_agreement(shared_data: Path) -> pd.DataFrame:
    """Rows with a published trend, our trend in both gap modes, and the exclusion rule (if any).

    E1: Fingertips published a calculated trend but the extract holds fewer than 5 valid points
    of the series: Fingertips used periods before 2018 (the extract starts then) or fields the
    extract dropped (352, 383 and 90453 have no intervals at all), so it cannot be recomputed.
    E2: the extract has two different rows for one series and year (91040's quarters collapse
    to one year; two roundings of some sub-ICB rows), so the series' order is unknown.
    """
    values, indicators = read_nw(shared_data)
    skip = compare.recent_trend(values, indicators, gaps="skip")
    brk = compare.recent_trend(values, indicators)
    values = values.assign(trend=skip["trend"], trend_note=skip["trend_note"], trend_break=brk["trend"],
                           trend_break_note=brk["trend_note"])
    series = ["indicator_id", "area_code", "sex", "age", "category_type", "category"]
    clash = values.duplicated([*series, "period_sort"], keep=False)
    values["clash"] = clash.groupby([values[c] for c in series]).transform("any")
    published = values[values["published_trend"].notna()].copy()
    computed = published["published_trend"] != "Cannot be calculated"
    published["exclusion"] = np.select(
        [published["clash"], computed & published["trend_note"].str.startswith("fewer than")],
        ["E2 two different rows for one series and year", "E1 fewer than 5 valid points in the extract"], "")
    return published


KNOWN_NW_DISAGREEMENTS = {
    # (indicator, area, sex, age, category, period): (published, ours) — see docs/compare_agreement.md
    (93085, "E38000200", "Female", "All ages", "", "2023"): ("No significant change", "Decreasing and getting better"),
    (93085, "E38000228", "Female", "All ages", "", "2023"): ("Decreasing and getting better", "No significant change"),
    (30302, "E08000006", "Persons", "2 yrs", "", "2023"): ("Cannot be calculated", "Increasing and getting better"),
}
#: Series whose last five years have a gap: Fingertips steps over it (gaps="skip"); the default
#: (gaps="break", DESIGN.md: the last 5 points all valid) says "Cannot be calculated".
GAP_ROWS = {(41203, "E08000004"), (41203, "E08000013"), (93763, "E07000119"), (93763, "E07000122")}


def _key(r) -> tuple:
    return (r.indicator_id, r.area_code, r.sex, r.age, r.category, r.period)


def test_nw_recent_trend_agreement(shared_data):
    published = nw_agreement(shared_data)
    assert len(published) == 9032  # rows carrying a published trend (the latest of each series)
    assert published["exclusion"].value_counts().to_dict() == {
        "": 8535, "E1 fewer than 5 valid points in the extract": 348,
        "E2 two different rows for one series and year": 149}
    kept = published[published["exclusion"] == ""]
    disagree = kept[kept["published_trend"] != kept["trend"]]
    assert {_key(r): (r.published_trend, r.trend) for r in disagree.itertuples()} == KNOWN_NW_DISAGREEMENTS
    agreed = kept[kept["published_trend"] == kept["trend"]]
    assert len(agreed) == 8532
    # Not only "Cannot be calculated": every kind of label Fingertips published here is reproduced.
    assert agreed["published_trend"].value_counts().to_dict() == {
        "Cannot be calculated": 7417, "No significant change": 824, "Decreasing and getting better": 142,
        "Increasing": 60, "Decreasing": 52, "Increasing and getting worse": 36, "Increasing and getting better": 1}
    # The default (gaps="break") differs from Fingertips exactly on the series with a gap.
    differ = kept[kept["published_trend"] != kept["trend_break"]]
    extra = {_key(r) for r in differ.itertuples()} - set(KNOWN_NW_DISAGREEMENTS)
    assert {(k[0], k[1]) for k in extra} == GAP_ROWS and len(extra) == len(GAP_ROWS)
    assert set(differ["trend_break_note"]) - {"", "not significant"} == {"a missing value in the last 5 points"}


def test_nw_counts_method_reproduces_fingertips_less_well(shared_data):
    """The chi-square test on counts (proportions) is available, but Fingertips' published trends
    for proportions follow the interval method: on the same rows the counts method disagrees more."""
    values, indicators = read_nw(shared_data)
    proportions = values[values["indicator_id"].map(indicators.set_index("indicator_id")["value_type"]) == "Proportion"]
    ci = compare.recent_trend(proportions, indicators)
    counts = compare.recent_trend(proportions, indicators, method="counts")
    latest = proportions["published_trend"].notna() & (ci["trend_note"].isin(["", "not significant",
                                                                               "one point reverses the slope"]))
    agree_ci = (ci["trend"][latest] == proportions["published_trend"][latest]).mean()
    agree_counts = (counts["trend"][latest] == proportions["published_trend"][latest]).mean()
    assert agree_ci > 0.995 > agree_counts
