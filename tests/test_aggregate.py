"""User-defined areas (``jsna_lib.aggregate``) against sums done by hand, and the regional overview
(``jsna_lib.region``: its summary is tested word for word on a fixed input).

The regional tests live here because both modules build areas out of other areas' numbers; they
need no browser and share the small synthetic frames' style.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from jsna_lib import aggregate, compare, demo, geography, region, stats
from jsna_lib.stats.life_expectancy import LE_BANDS, LE_START_AGES

Z95 = 1.959963984540054
Z998 = 3.090232306167813
ESP_BANDS = [str(b) for b in stats.ESP2013.index]


def _row(indicator_id, area, period, count, denominator, *, sex="Persons", age="All ages", value=np.nan):
    return {"indicator_id": indicator_id, "area_code": area, "area_type": "ltla", "sex": sex, "age": age,
            "category_type": "", "category": "", "period": period, "period_sort": int(period[:4]) * 10000,
            "value": value, "lower_95": np.nan, "upper_95": np.nan, "lower_99_8": np.nan, "upper_99_8": np.nan,
            "count": count, "denominator": denominator, "value_note": ""}


INDICATORS = pd.DataFrame({
    "indicator_id": [1, 2, 3, 4, 5, 6, 7],
    "name": ["Smokers", "Admissions", "Mortality (bands)", "Mortality (totals)", "Deprivation", "Life expectancy",
             "Deaths"],
    "value_type": ["Proportion", "Crude rate", "Directly standardised rate", "Directly standardised rate", "Score",
                   "Life expectancy", "Count"],
    "multiplier": [100.0, 100_000.0, 100_000.0, 100_000.0, 1.0, 1.0, 1.0],
})


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    rows = [
        # Proportion: both areas in 2022; B has no count in 2023.
        _row(1, "A", "2022", 30, 200), _row(1, "B", "2022", 45, 300),
        _row(1, "A", "2023", 33, 210), _row(1, "B", "2023", np.nan, np.nan, value=14.0),
        # Crude rate: 15 events (Byar) in 2022, 5 (exact Poisson) in 2023.
        _row(2, "A", "2022", 12, 10_000), _row(2, "B", "2022", 3, 5_000),
        _row(2, "A", "2023", 2, 1_000), _row(2, "B", "2023", 3, 2_000),
        # DSR with age-specific rows (0-4 .. 70-74) and its summary row; and a DSR with totals only.
        _row(3, "A", "2022", 500, 90_000, age="<75 yrs", value=600.0),
        _row(3, "B", "2022", 700, 120_000, age="<75 yrs", value=610.0),
        _row(4, "A", "2022", 500, 90_000, value=600.0), _row(4, "B", "2022", 700, 120_000, value=610.0),
        # A score (no counts) and a count.
        _row(5, "A", "2019", np.nan, np.nan, value=20.0), _row(5, "B", "2019", np.nan, np.nan, value=30.0),
        _row(7, "A", "2022", 4, np.nan, value=4.0), _row(7, "B", "2022", 3, np.nan, value=3.0),
        # Life expectancy: the summary rows (counts are totals).
        _row(6, "A", "2022", 900, 100_000, value=80.0), _row(6, "B", "2022", 1100, 110_000, value=81.0),
    ]
    rng = np.random.default_rng(1)
    for area, scale in (("A", 1.0), ("B", 1.3)):
        for i, band in enumerate(ESP_BANDS[:15]):  # 0-4 .. 70-74
            rows.append(_row(3, area, "2022", float(rng.integers(1, 40) + i * 3), 6_000.0 * scale, age=band))
        for band, start in zip(LE_BANDS, LE_START_AGES, strict=True):  # Gompertz-shaped death rates
            population = (5_000.0 if start else 1_000.0) * scale
            deaths = round(population * 0.0004 * math.exp(0.085 * start)) + 1
            rows.append(_row(6, area, "2022", deaths, population, age=band))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def custom(small) -> aggregate.CustomArea:
    return aggregate.aggregate_areas(small, INDICATORS, ["A", "B"], name="A and B", code="AB")


def _get(custom, indicator_id, period="2022", age=None) -> pd.Series:
    rows = custom.values[(custom.values["indicator_id"] == indicator_id) & (custom.values["period"] == period)]
    if age is not None:
        rows = rows[rows["age"] == age]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    root = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    return (2 * x + z * z - root) / (2 * (n + z * z)), (2 * x + z * z + root) / (2 * (n + z * z))


def _byar(o: float, z: float) -> tuple[float, float]:
    lower = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    return lower, upper


# ================================================================================= by hand
def test_proportion_is_wilson_on_summed_counts(custom) -> None:
    row = _get(custom, 1)
    x, n = 30 + 45, 200 + 300
    assert row["count"] == x and row["denominator"] == n and row["value"] == pytest.approx(x / n * 100)
    for z, lo, up in ((Z95, "lower_95", "upper_95"), (Z998, "lower_99_8", "upper_99_8")):
        low, high = _wilson(x, n, z)
        assert row[lo] == pytest.approx(low * 100, rel=1e-12) and row[up] == pytest.approx(high * 100, rel=1e-12)
    assert row["area_code"] == "AB" and row["area_type"] == "custom" and row["value_note"] == ""


def test_crude_rate_is_byar_or_exact_on_summed_counts(custom) -> None:
    row = _get(custom, 2)
    o, n = 12 + 3, 10_000 + 5_000
    assert row["value"] == pytest.approx(o / n * 100_000)
    low, high = _byar(o, Z95)
    assert row["lower_95"] == pytest.approx(low / n * 100_000, rel=1e-12)
    assert row["upper_95"] == pytest.approx(high / n * 100_000, rel=1e-12)
    small = _get(custom, 2, "2023")  # 5 events: exact Poisson (chi-square) limits
    o, n = 2 + 3, 1_000 + 2_000
    assert small["value"] == pytest.approx(o / n * 100_000)
    assert small["lower_95"] == pytest.approx(scipy_stats.chi2.ppf(0.025, 2 * o) / 2 / n * 100_000, rel=1e-10)
    assert small["upper_95"] == pytest.approx(scipy_stats.chi2.ppf(0.975, 2 * o + 2) / 2 / n * 100_000, rel=1e-10)


def test_count_is_summed(custom) -> None:
    row = _get(custom, 7)
    assert row["value"] == 7 and row["count"] == 7 and np.isnan(row["denominator"])
    assert row["lower_95"] == pytest.approx(scipy_stats.chi2.ppf(0.025, 14) / 2, rel=1e-10)


def test_dsr_from_summed_age_bands(custom, small) -> None:
    row = _get(custom, 3, age="<75 yrs")
    bands = small[(small["indicator_id"] == 3) & small["age"].isin(ESP_BANDS)]
    summed = bands.groupby("age", sort=False)[["count", "denominator"]].sum()
    weights = stats.ESP2013.loc[summed.index]
    by_hand = (weights * summed["count"] / summed["denominator"]).sum() / weights.sum() * 100_000
    assert row["value"] == pytest.approx(by_hand, rel=1e-12)
    assert row["count"] == summed["count"].sum()
    expected = stats.dsr(summed.reset_index().assign(g=1), "count", "denominator", by="g", age_band="age")
    assert row["lower_95"] == pytest.approx(expected["lower_95"].iloc[0], rel=1e-12)
    assert row["upper_99_8"] == pytest.approx(expected["upper_99_8"].iloc[0], rel=1e-12)
    # The band rows themselves are not output rows of the new area.
    assert set(custom.values.loc[custom.values["indicator_id"] == 3, "age"]) == {"<75 yrs"}


def test_life_expectancy_from_summed_life_table(custom, small) -> None:
    row = _get(custom, 6, age="All ages")
    bands = small[(small["indicator_id"] == 6) & small["age"].isin(LE_BANDS)]
    summed = bands.groupby("age", sort=False)[["count", "denominator"]].sum().reset_index().assign(g=1)
    expected = stats.life_expectancy(summed, "count", "denominator", by="g", age_band="age", at_ages=0)
    assert 40 < expected["value"].iloc[0] < 95  # a plausible life table
    assert row["value"] == pytest.approx(expected["value"].iloc[0], rel=1e-12)
    assert row["lower_95"] == pytest.approx(expected["lower_95"].iloc[0], rel=1e-12)
    assert row["count"] == summed["count"].sum() and row["value_note"] == ""


def test_what_cannot_be_aggregated_says_why(custom) -> None:
    totals = _get(custom, 4)
    assert np.isnan(totals["value"]) and np.isnan(totals["count"])
    assert totals["value_note"] == (
        "Cannot be aggregated: a directly standardised rate needs the age-specific counts and populations, "
        "and the store holds only its total count and population")
    assert _get(custom, 5, "2019")["value_note"] == (
        "Cannot be aggregated: a score is not built from counts and denominators")
    missing = _get(custom, 1, "2023")
    assert np.isnan(missing["value"])
    assert missing["value_note"] == "Cannot be aggregated: no count or denominator for B"


def test_status_table(custom) -> None:
    status = custom.status.set_index("indicator_id")
    assert status.loc[1, "aggregated"] == "some periods" and status.loc[1, "periods_aggregated"] == 1
    assert status.loc[1, "reason"] == "no count or denominator for B"
    assert status.loc[2, "aggregated"] == "all periods"
    assert status.loc[2, "method"] == "Byar's method (exact Poisson below 10) on the summed counts and denominators"
    assert status.loc[3, "method"] == "Dobson's method on the summed age-specific counts (ESP 2013)"
    assert status.loc[4, "aggregated"] == "no" and status.loc[4, "method"] == "cannot be aggregated"
    assert status.loc[5, "name"] == "Deprivation" and status.loc[5, "aggregated"] == "no"
    assert list(custom.status.columns) == ["indicator_id", "name", "sex", "age", "value_type", "aggregated", "method",
                                           "periods_aggregated", "periods", "reason"]


def test_a_member_without_a_row_is_named(small) -> None:
    thinner = small[~((small["area_code"] == "B") & (small["indicator_id"] == 2) & (small["period"] == "2023"))]
    result = aggregate.aggregate_areas(thinner, INDICATORS, ["A", "B"], name="A and B", code="AB")
    assert _get(result, 2, "2023")["value_note"] == "Cannot be aggregated: no data for B"


def test_bad_inputs(small) -> None:
    with pytest.raises(ValueError, match="no values for ZZ"):
        aggregate.aggregate_areas(small, INDICATORS, ["A", "ZZ"], name="x")
    with pytest.raises(ValueError, match="at least one area"):
        aggregate.aggregate_areas(small, INDICATORS, [], name="x")
    with pytest.raises(ValueError, match="is one of the members"):
        aggregate.aggregate_areas(small, INDICATORS, ["A", "B"], name="x", code="a")
    with pytest.raises(ValueError, match="give the new area a name"):
        aggregate.aggregate_areas(small, INDICATORS, ["A", "B"], name=" ")


def test_methods_table() -> None:
    table = aggregate.methods().set_index("value_type")
    assert table.loc["Proportion", "method"].startswith("Wilson")
    assert table.loc["Crude rate", "method"].startswith("Byar")
    assert table.loc["Score", "method"] == "cannot be aggregated"
    assert "age-specific" in table.loc["Directly standardised rate", "condition_or_reason"]


# ================================================================================= the demonstration data
@pytest.fixture(scope="module")
def demo_tables() -> dict[str, pd.DataFrame]:
    return demo.generate()


def test_districts_add_up_to_their_county(demo_tables) -> None:
    """The demo's counts add up LTLA → UTLA: Kent's 12 districts recombined are Kent, exactly."""
    values, indicators, areas = demo_tables["values"], demo_tables["indicators"], demo_tables["areas"]
    districts = list(geography.children("E10000016")["area_code"])
    kent = aggregate.aggregate_areas(values, indicators, districts, name="Kent again", code="KENT_AGAIN", areas=areas)
    published = values[values["area_code"] == "E10000016"]
    key = ["indicator_id", "sex", "age", "category_type", "category", "period"]
    both = kent.aggregated().merge(published, on=key, suffixes=("", "_kent"))
    types = indicators.set_index("indicator_id")["value_type"]
    both = both[both["indicator_id"].map(types).isin(["Proportion", "Crude rate"])]
    assert len(both) > 100
    for column in ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator"):
        np.testing.assert_allclose(both[column].to_numpy(float), both[f"{column}_kent"].to_numpy(float), rtol=1e-12)
    assert kent.region_code == "E12000008"
    cannot = kent.status[kent.status["aggregated"] == "no"]
    assert set(cannot["value_type"]) == {"Directly standardised rate", "Life expectancy", "Score"}
    with pytest.raises(ValueError, match=r"overlap \(E10000016 contains E07000105, "):
        aggregate.aggregate_areas(values, indicators, [*districts, "E10000016"], name="x", areas=areas)


def test_compare_custom_area(demo_tables) -> None:
    values, indicators, areas = demo_tables["values"], demo_tables["indicators"], demo_tables["areas"]
    parts = ["E08000011", "E08000012", "E08000013"]
    custom = aggregate.aggregate_areas(values, indicators, parts, name="Three", code="THREE", areas=areas)
    result = aggregate.compare_custom_area(custom, values, indicators, areas)
    vs = result["vs_england"]
    assert set(vs["area_code"]) == {"THREE"} and set(vs["benchmark"]) == {"england"}
    latest = vs[(vs["indicator_id"] == 900007) & (vs["period"] == "2023")].iloc[0]
    england = values[(values["area_code"] == compare.ENGLAND) & (values["indicator_id"] == 900007)
                     & (values["period"] == "2023")].iloc[0]
    assert latest["benchmark_value"] == england["value"]
    expected = compare.compare_to_benchmark(latest["value"], latest["lower_95"], latest["upper_95"],
                                            latest["lower_99_8"], latest["upper_99_8"], england["value"],
                                            comparator_method="ci_95", polarity="RAG - Low is good")
    assert latest["significance"] == expected["significance"].iloc[0]
    assert latest["trend"] != ""  # five aggregated points with counts: a trend is calculated
    p = result["parts"]
    assert set(p["area_code"]) == set(parts) and set(p["benchmark_code"]) == {"THREE"}
    one = p[(p["indicator_id"] == 900007) & (p["period"] == "2023")]
    assert (one["benchmark_value"] == latest["value"]).all()
    assert (p.loc[p["comparator_method"] == "quintiles", "significance"] == compare.NOT_COMPARED).all()
    table = aggregate.comparison_table(vs, indicators)
    assert len(table) == len(vs.drop_duplicates(["indicator_id", "sex", "age"]))
    assert {"compared with England", "recent trend", "England value"} <= set(table.columns)


# ================================================================================= regional overview
LATEST = pd.DataFrame({
    "area_code": ["E1", "E2", "E3"] * 4 + ["E1", "E2", "E3"],
    "area_name": ["Northtown", "Southby", "Westham"] * 5,
    "indicator_id": [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3 + [4] * 3,
    "name": ["Smoking"] * 3 + ["Obesity"] * 3 + ["Deprivation score"] * 3 + ["Life expectancy"] * 6,
    "sex": ["Persons"] * 9 + ["Female"] * 3 + ["Male"] * 3,
    "age": "All ages",
    "period": ["2023"] * 6 + ["2019"] * 3 + ["2021 - 23"] * 6,
    "period_sort": [20230000] * 6 + [20190000] * 3 + [20210000] * 6,
    "value": np.arange(15, dtype=float),
    "vs_england": ["Worse", "Worse", "Similar", "Worse", "Better", "Worse", "Not compared", "Not compared",
                   "Not compared", "Better (95%)", "Similar", "Worse (99.8%)", "Similar", "Lower", "Worse (95%)"],
    "trend": ["Increasing and getting worse", "No significant change", "", "Decreasing and getting better",
              "", "Increasing and getting worse", "", "", "", "", "", "", "", "", ""],
    "unit": "",
})


def test_region_summary_word_for_word() -> None:
    bullets = region.region_summary(LATEST, region_name="Middle Region", area_type="utla")
    assert bullets == [
        "Middle Region: 4 indicators (5 figures: males and females apart where there is no persons figure) for "
        "3 upper-tier authorities (latest data for each indicator, 2019 to 2023).",
        "Of 15 comparisons of an authority's value with England's, 6 (40%) are significantly worse, 3 (20%) similar "
        "and 2 (13%) significantly better; 1 significantly higher or lower where neither is better; 3 not compared "
        "(no polarity, quintile ranking or missing data).",
        "Most often significantly worse than England: Westham (3 of 5), Northtown (2 of 5) and Southby (1 of 5).",
        "Most often significantly better than England: Northtown (1 of 5) and Southby (1 of 5).",
        "Most of the region's authorities are significantly worse than England on 2 indicators: Obesity (2 of 3) and "
        "Smoking (2 of 3).",
        "Recent trends: 2 authority-indicator series are getting significantly worse and 1 significantly better; "
        "2 series are both significantly worse than England and getting worse.",
    ]


def test_region_summary_with_region_values_and_nothing_worse() -> None:
    calm = LATEST.assign(vs_england="Similar", trend="")
    region_values = pd.DataFrame({"indicator_id": [1, 2], "name": ["Smoking", "Obesity"], "sex": "Persons",
                                  "age": "All ages", "vs_england": ["Worse", "Better"]})
    bullets = region.region_summary(calm, region_name="Calm", area_type="ltla", region_values=region_values)
    assert bullets[2] == "No lower-tier authority is significantly worse than England on any indicator."
    assert bullets[3] == "No lower-tier authority is significantly better than England on any indicator."
    assert bullets[4] == "On no indicator are most of the region's authorities significantly worse than England."
    assert bullets[5] == ("Calm as a whole is significantly worse than England on 1 indicator and significantly "
                          "better on 1; worse: Smoking.")
    assert bullets[6] == ("Recent trends: 0 authority-indicator series are getting significantly worse and 0 "
                          "significantly better; 0 series are both significantly worse than England and getting "
                          "worse.")
    assert region.summary_html(["<b> & </b>"]) == '<ul class="jsna-region-summary"><li>&lt;b&gt; &amp; &lt;/b&gt;</li></ul>'


def test_region_tables_from_latest() -> None:
    table = region.significance_table(LATEST)
    first = table.iloc[0]
    # Westham: Similar, Worse, Not compared, Worse (99.8%), Worse (95%).
    assert first["area_name"] == "Westham" and first["worse"] == 3 and first["similar"] == 1
    assert first["not_compared"] == 1 and first["better"] == 0
    assert first["worse_indicators"] == "Obesity; Life expectancy (females); Life expectancy (males)"
    assert table.set_index("area_name").loc["Southby", "higher_or_lower"] == 1


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    store = demo.build(tmp_path_factory.mktemp("region") / "demo_store")
    compare.compare_all(store)
    return store


def test_region_overview_on_the_demo(demo_store) -> None:
    overview = region.region_overview(demo_store, "north west")
    assert overview.region_code == "E12000002" and overview.region_name == "North West"
    assert len(overview.areas) == len(geography.children("E12000002", "utla"))
    assert overview.names["E12000002"] == "North West" and overview.demonstration
    latest = overview.latest
    smoking = latest[latest["indicator_id"] == 900007]
    assert len(smoking) == len(overview.areas) and (smoking["period"] == "2023").all()
    assert sorted(smoking["rank_in_region"].astype(int)) == list(range(1, len(smoking) + 1))
    best = smoking.loc[smoking["rank_in_region"] == 1, "value"].iloc[0]
    assert best == smoking["value"].min()  # low is good
    assert (smoking["rank_count_in_region"] == len(smoking)).all()
    ranks = region.rank_table(overview)
    assert ranks.shape[1] == len(overview.areas) and ranks.iloc[0, 0].endswith(f"/{len(overview.areas)}")
    by_indicator = region.indicator_table(overview)
    row = by_indicator[by_indicator["indicator"] == "Smoking prevalence in adults (18+): current smokers"].iloc[0]
    assert row["worse"] == (smoking["vs_england"] == "Worse").sum()
    assert row["worse"] + row["similar"] + row["better"] <= row["authorities"]
    assert overview.summary()[0].startswith("North West: 35 indicators")
    assert region.region_overview(demo_store, "E12000002", area_type="ltla").areas.shape[0] > len(overview.areas)


def test_region_must_be_a_region(demo_store) -> None:
    with pytest.raises(ValueError, match=r"is a utla, not a region; its region is North West \(E12000002\)"):
        region.region_overview(demo_store, "E08000012")
    with pytest.raises(geography.UnknownAreaError):
        region.region_overview(demo_store, "Atlantis")
