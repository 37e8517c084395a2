"""Unit tests of jsna_lib.compare. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jsna_lib import compare
from jsna_lib.store import Store

LOW, HIGH, BOB, NA = "RAG - Low is good", "RAG - High is good", "BOB - Blue orange blue", "Not applicable"


def sig(value, l95, u95, bench, *, method="ci_95", polarity=LOW, l998=np.nan, u998=np.nan, same=False):
    out = compare.compare_to_benchmark([value], [l95], [u95], [l998], [u998], [bench],
                                       comparator_method=[method], polarity=[polarity], same_area=[same])
    return out.iloc[0]


# --------------------------------------------------------------------------- significance
@pytest.mark.parametrize(("bench", "polarity", "expected"), [
    # Interval 8..12 around 10.
    (13.0, LOW, "Better"),     # interval wholly below England, low is good
    (7.0, LOW, "Worse"),       # wholly above
    (13.0, HIGH, "Worse"),     # wholly below, high is good
    (7.0, HIGH, "Better"),
    (13.0, BOB, "Lower"),
    (7.0, BOB, "Higher"),
    (10.0, LOW, "Similar"),
    (12.0, LOW, "Similar"),    # tie at the upper bound: inclusive
    (8.0, HIGH, "Similar"),    # tie at the lower bound: inclusive
    (12.000001, LOW, "Better"),
])
def test_ci_95_each_polarity(bench, polarity, expected):
    row = sig(10.0, 8.0, 12.0, bench, polarity=polarity)
    assert row["significance"] == expected
    assert row["significance_level"] == 95.0
    assert row["significance_note"] == ""


@pytest.mark.parametrize(("kwargs", "note"), [
    ({"polarity": NA}, "polarity not applicable"),
    ({"method": "none"}, "no comparison for this indicator"),
    ({"same": True}, "same area as the benchmark"),
])
def test_not_compared_reasons(kwargs, note):
    row = sig(10.0, 8.0, 12.0, 20.0, **kwargs)
    assert row["significance"] == "Not compared"
    assert math.isnan(row["significance_level"])
    assert row["significance_note"] == note


def test_missing_inputs_are_not_compared():
    assert sig(10.0, np.nan, 12.0, 20.0)["significance_note"] == "no confidence interval"
    assert sig(10.0, np.nan, np.nan, 20.0)["significance"] == "Not compared"
    assert sig(np.nan, 8.0, 12.0, 20.0)["significance_note"] == "no value"
    assert sig(10.0, 8.0, 12.0, np.nan)["significance_note"] == "no benchmark value"
    # ci_99_8 needs the 99.8% limits even when the 95% ones exist.
    assert sig(10.0, 8.0, 12.0, 20.0, method="ci_99_8")["significance_note"] == "no confidence interval"
    # ci_both needs both.
    assert sig(10.0, 8.0, 12.0, 20.0, method="ci_both")["significance"] == "Not compared"


@pytest.mark.parametrize(("bench", "method", "expected", "level"), [
    # 95% interval 9..11, 99.8% interval 8..12, value 10, low is good.
    (11.5, "ci_95", "Better", 95.0),          # 11.5 above the 95% interval
    (11.5, "ci_99_8", "Similar", 99.8),       # but inside the 99.8% one
    (11.5, "ci_both", "Better (95%)", 95.0),
    (12.5, "ci_both", "Better (99.8%)", 99.8),
    (12.0, "ci_both", "Better (95%)", 95.0),  # on the 99.8% bound: not significant at 99.8%
    (11.0, "ci_both", "Similar", 95.0),       # on the 95% bound: similar
    (7.5, "ci_both", "Worse (99.8%)", 99.8),
    (8.5, "ci_both", "Worse (95%)", 95.0),
])
def test_two_levels(bench, method, expected, level):
    row = sig(10.0, 9.0, 11.0, bench, method=method, l998=8.0, u998=12.0)
    assert row["significance"] == expected
    assert row["significance_level"] == level


def test_two_levels_bob_keeps_higher_lower():
    assert sig(10.0, 9.0, 11.0, 12.5, method="ci_both", polarity=BOB, l998=8.0, u998=12.0)["significance"] == \
        "Lower (99.8%)"
    assert sig(10.0, 9.0, 11.0, 8.5, method="ci_both", polarity=BOB, l998=8.0, u998=12.0)["significance"] == \
        "Higher (95%)"


def test_vectorised_and_scalars_broadcast():
    out = compare.compare_to_benchmark([1.0, 5.0, 9.0], [0.5, 4.0, 8.0], [1.5, 6.0, 10.0], np.nan, np.nan, 5.0,
                                       comparator_method="ci_95", polarity=HIGH)
    assert list(out["significance"]) == ["Worse", "Similar", "Better"]


def test_colours():
    assert list(compare.colour(["Better", "Worse (99.8%)", "Similar", "Lower", "Not compared", "nonsense"])) == [
        "#92D050", "#821733", "#FFC000", "#5555E6", "#C9C9C9", "#C9C9C9"]


# --------------------------------------------------------------------------- quintiles
def test_quintiles_ten_values():
    # n = 10: P20 at h = 9*0.2 = 1.8 → 2 + 0.8*(3-2) = 2.8; P40 = 4.6; P60 = 6.4; P80 = 8.2.
    values = np.arange(1.0, 11.0)
    assert list(compare.quintiles(values, BOB)["quintile"]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert list(compare.quintiles(values, LOW)["quintile"]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # High is good: quintile 1 is the highest values.
    assert list(compare.quintiles(values, HIGH)["quintile"]) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert compare.quintiles(values, HIGH)["label"].iloc[-1] == "Best quintile"
    assert compare.quintiles(values, BOB)["label"].iloc[-1] == "Highest quintile"
    assert np.allclose(np.percentile(values, [20, 40, 60, 80]), [2.8, 4.6, 6.4, 8.2])


def test_quintile_bounds_are_inclusive():
    # n = 6: P20 at h = 1 → exactly 20; P40 = 30; P60 = 40; P80 = 50. A value equal to a bound
    # falls in the lower quintile.
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert list(compare.quintiles(values, BOB)["quintile"]) == [1, 1, 2, 3, 4, 5]


def test_quintiles_need_more_than_three_values():
    three = compare.quintiles([1.0, 2.0, 3.0], LOW)
    assert three["quintile"].isna().all()
    assert set(three["label"]) == {"Not compared"}
    # A missing value does not count: still three.
    assert compare.quintiles([1.0, 2.0, 3.0, np.nan], LOW)["quintile"].isna().all()
    # Four: P20 = 1.6, P40 = 2.2, P60 = 2.8, P80 = 3.4 → 1, 2, 4, 5.
    assert list(compare.quintiles([1.0, 2.0, 3.0, 4.0], BOB)["quintile"]) == [1, 2, 4, 5]


def test_quintiles_by_group():
    out = compare.quintiles([1.0, 2.0, 3.0, 4.0, 100.0, 1.0, 2.0], BOB, groups=["a"] * 4 + ["b"] * 3)
    assert list(out["quintile"][:4]) == [1, 2, 4, 5]
    assert out["quintile"][4:].isna().all()


# --------------------------------------------------------------------------- ranks and spine
def test_ranks():
    assert list(compare.ranks([3.0, 1.0, 2.0, 2.0], LOW)["rank"]) == [4, 1, 2, 2]
    assert list(compare.ranks([3.0, 1.0, 2.0, 2.0], HIGH)["rank"]) == [1, 4, 2, 2]
    ranked = compare.ranks([3.0, np.nan, 1.0], BOB)
    assert list(ranked["rank"].astype(object)) == [2, pd.NA, 1]
    assert list(ranked["rank_count"]) == [2, 2, 2]


def test_spine_low_is_good():
    # Values 10..50, England 25. Quartiles (numpy linear): P25 = 20, P75 = 40. Low is good, so the
    # worst end is 50, the quartile on the worst side is P75 = 40, the best end is 10.
    # Half-width = max(|25 - 10|, |50 - 25|) = 25.
    out = compare.spine([10.0, 20.0, 30.0, 40.0, 50.0], LOW, centre=25.0).iloc[0]
    assert (out["spine_worst"], out["spine_p25"], out["spine_p75"], out["spine_best"]) == (50, 40, 20, 10)
    assert out["spine_centre"] == 25 and out["spine_half_width"] == 25 and out["spine_reversed"]
    # Positions: 0.5 - (v - 25)/50 → 50 at 0, 25 at 0.5, 10 at 0.8 (best side on the right).
    pos = compare.spine_positions([50.0, 25.0, 10.0], 25.0, 25.0, True)
    assert np.allclose(pos, [0.0, 0.5, 0.8])


def test_spine_high_is_good_and_no_england():
    out = compare.spine([10.0, 20.0, 30.0, 40.0, 50.0], HIGH).iloc[0]
    # No England value: centred on the median 30; half-width 20.
    assert out["spine_centre"] == 30 and out["spine_half_width"] == 20 and not out["spine_reversed"]
    assert (out["spine_worst"], out["spine_p25"], out["spine_p75"], out["spine_best"]) == (10, 20, 40, 50)
    assert np.allclose(compare.spine_positions([10.0, 50.0], 30.0, 20.0, False), [0.0, 1.0])


# --------------------------------------------------------------------------- trend statistics
def test_trend_statistic_straight_line():
    # se = 3.92/3.92 = 1 so every weight is 1: slope of 10..14 on t = 1..5 is 1;
    # var = Σw / (ΣwΣwt² − (Σwt)²) = 5 / (5·55 − 15²) = 0.1, so the statistic is 1/0.1 = 10.
    v = np.array([[10.0, 11.0, 12.0, 13.0, 14.0]])
    out = compare.trend_statistics(v, v - 1.96, v + 1.96).iloc[0]
    assert out["slope"] == pytest.approx(1.0)
    assert out["statistic"] == pytest.approx(10.0)
    assert out["consistent"]


def test_trend_statistic_weighted():
    # Values 0,0,0,0,1 with se 1,1,1,1,0.5 → w = 1,1,1,1,4. Σw = 8, Σwt = 30, Σwt² = 130, Σwvt = 20,
    # Σwv = 4. Denominator 8·130 − 30² = 140; slope (8·20 − 30·4)/140 = 2/7; var 8/140 = 2/35;
    # statistic (2/7)²/(2/35) = 10/7.
    v = np.array([[0.0, 0.0, 0.0, 0.0, 1.0]])
    half = np.array([[1.96, 1.96, 1.96, 1.96, 0.98]])
    out = compare.trend_statistics(v, v - half, v + half).iloc[0]
    assert out["slope"] == pytest.approx(2 / 7)
    assert out["statistic"] == pytest.approx(10 / 7)


def test_trend_statistic_counts():
    # r = 10..50 of n = 100 each: N = 500, R = 150, Σrt = 550, Σnt = 1500, Σnt² = 5500.
    # N(NΣrt − RΣnt)² = 500·(275000 − 225000)² = 1.25e12;
    # R(N−R)(NΣnt² − (Σnt)²) = 150·350·(2.75e6 − 2.25e6) = 2.625e10; statistic = 1000/21.
    out = compare.trend_statistics_counts([[10, 20, 30, 40, 50]], [[100] * 5]).iloc[0]
    assert out["statistic"] == pytest.approx(1000 / 21)
    assert out["slope"] > 0 and out["consistent"]
    assert np.isnan(compare.trend_statistics_counts([[0, 20, 30, 40, 50]], [[100] * 5])["statistic"][0])


def test_trend_outlier_check():
    # 10.2, 10.1, 10, 9.9, 20 (se 1): slope 1.94, statistic 1.94²/0.1 = 37.6, but without the last
    # point the slope is −0.1: one point reverses it.
    v = np.array([[10.2, 10.1, 10.0, 9.9, 20.0]])
    out = compare.trend_statistics(v, v - 1.96, v + 1.96).iloc[0]
    assert out["statistic"] == pytest.approx(1.94 ** 2 / 0.1)
    assert not out["consistent"]
    # 10, 10, 10, 10, 20: without the last point the slope is exactly 0, which Fingertips counts
    # with the positive slopes, so the trend stands.
    v = np.array([[10.0, 10.0, 10.0, 10.0, 20.0]])
    assert compare.trend_statistics(v, v - 1.96, v + 1.96)["consistent"][0]


# --------------------------------------------------------------------------- recent_trend on frames
def series_frame(values, *, counts=True, periods=None, value_type="Proportion", polarity=LOW, half=1.96):
    n = len(values)
    v = np.asarray(values, dtype=float)
    frame = pd.DataFrame({
        "indicator_id": 1, "area_code": "E06000001", "sex": "Persons", "age": "All ages",
        "category_type": "", "category": "",
        "period": periods or [str(2015 + i) for i in range(n)], "period_sort": [(2015 + i) * 10000 for i in range(n)],
        "value": v, "lower_95": v - half, "upper_95": v + half,
        "count": v * 10 if counts else np.nan, "denominator": 1000.0,
    })
    return compare.recent_trend(frame, polarity=polarity, value_type=value_type)


def test_recent_trend_labels_by_polarity():
    rising = [10.0, 11.0, 12.0, 13.0, 14.0]  # statistic 10 (see above): significant
    assert series_frame(rising, polarity=LOW)["trend"].iloc[-1] == "Increasing and getting worse"
    assert series_frame(rising, polarity=HIGH)["trend"].iloc[-1] == "Increasing and getting better"
    assert series_frame(rising, polarity=BOB)["trend"].iloc[-1] == "Increasing"
    assert series_frame(rising, polarity=NA)["trend"].iloc[-1] == "Increasing"
    falling = rising[::-1]
    assert series_frame(falling, polarity=LOW)["trend"].iloc[-1] == "Decreasing and getting better"
    assert series_frame(falling, polarity=HIGH)["trend"].iloc[-1] == "Decreasing and getting worse"
    assert series_frame(falling, polarity=BOB)["trend"].iloc[-1] == "Decreasing"
    # Slope 0.9: statistic 0.81/0.1 = 8.1 < 9.5495.
    flat = series_frame([10.0, 10.9, 11.8, 12.7, 13.6])
    assert flat["trend"].iloc[-1] == "No significant change"
    assert flat["trend_statistic"].iloc[-1] == pytest.approx(8.1)


def test_recent_trend_fewer_than_five_points():
    out = series_frame([10.0, 11.0, 12.0, 13.0])
    assert set(out["trend"]) == {"Cannot be calculated"}
    assert set(out["trend_note"]) == {"fewer than 5 points"}
    # Six points: rows 5 and 6 each use their own last five.
    six = series_frame([10.0, 11.0, 12.0, 13.0, 14.0, 14.0])
    assert list(six["trend"])[:4] == ["Cannot be calculated"] * 4
    assert six["trend"].iloc[4] == "Increasing and getting worse"
    # 11, 12, 13, 14, 14: slope 0.8 → statistic 6.4.
    assert six["trend_statistic"].iloc[5] == pytest.approx(6.4)


def test_recent_trend_fingertips_eligibility():
    rising = [10.0, 11.0, 12.0, 13.0, 14.0]
    assert series_frame(rising, value_type="Life expectancy")["trend_note"].iloc[-1] == "value type not eligible"
    assert series_frame(rising, counts=False)["trend"].iloc[-1] == "Cannot be calculated"
    rolling = [f"{y} - {(y + 2) % 100:02d}" for y in range(2013, 2018)]
    assert series_frame(rising, periods=rolling)["trend_note"].iloc[-1] == "multi-year periods"
    gap = series_frame([10.0, np.nan, 12.0, 13.0, 14.0])
    assert gap["trend_note"].iloc[-1] == "a missing value in the last 5 points"
    # Relaxing the rules (non-Fingertips use): no counts needed, any value type.
    frame = pd.DataFrame({"indicator_id": 1, "area_code": "X", "period": [str(y) for y in range(5)],
                          "period_sort": range(5), "value": rising, "lower_95": np.subtract(rising, 1.96),
                          "upper_95": np.add(rising, 1.96)})
    out = compare.recent_trend(frame, polarity=HIGH, value_type="Life expectancy", require_counts=False,
                               value_types=None)
    assert out["trend"].iloc[-1] == "Increasing and getting better"


def test_recent_trend_gaps():
    frame = pd.DataFrame({"indicator_id": 1, "area_code": "A", "period": [str(y) for y in range(2015, 2022)],
                          "period_sort": range(7), "value": [10.0, np.nan, 11.0, 12.0, 13.0, 14.0, np.nan]})
    frame["lower_95"], frame["upper_95"] = frame["value"] - 1.96, frame["value"] + 1.96
    frame["count"], frame["denominator"] = 1.0, 10.0
    brk = compare.recent_trend(frame, polarity=LOW, value_type="Crude rate")
    skip = compare.recent_trend(frame, polarity=LOW, value_type="Crude rate", gaps="skip")
    # break: 2020 needs 2016..2020 and 2016 is missing → cannot be calculated; so is 2021 (missing).
    assert list(brk["trend"])[-2:] == ["Cannot be calculated"] * 2
    assert brk["trend_note"].iloc[5] == "a missing value in the last 5 points"
    # skip: 2020 uses 2015, 2017..2020 (10..14 at t = 1..5: statistic 10, see above); 2021 is
    # missing but, as in Fingertips, still marked from the last five valid points.
    assert list(skip["trend"])[-2:] == ["Increasing and getting worse"] * 2
    assert skip["trend_statistic"].iloc[5] == pytest.approx(10.0)
    assert skip["trend_note"].iloc[4] == "fewer than 5 valid points"
    with pytest.raises(ValueError, match="gaps"):
        compare.recent_trend(frame, gaps="ignore")


def test_period_span():
    assert list(compare.period_span(["2021", "2021/22", "2019 - 21", "2016/17 - 18/19", "2016/17 - 19",
                                     "2021/22 Q1", "1999 - 2001", "2018 - 20"])) == [1, 1, 3, 3, 3, 1, 3, 3]


def test_recent_trend_keeps_input_order_and_index():
    frame = pd.DataFrame({"indicator_id": [1] * 5 + [2] * 5, "area_code": "A",
                          "period": [str(y) for y in range(2015, 2020)] * 2,
                          "period_sort": list(range(5)) * 2, "value": [10.0, 11, 12, 13, 14] * 2})
    frame["lower_95"], frame["upper_95"] = frame["value"] - 1.96, frame["value"] + 1.96
    frame["count"], frame["denominator"] = 1.0, 10.0
    shuffled = frame.sample(frac=1.0, random_state=3)
    out = compare.recent_trend(shuffled, polarity=LOW, value_type="Crude rate")
    assert out.index.equals(shuffled.index)
    latest = shuffled["period_sort"] == 4
    assert set(out.loc[latest, "trend"]) == {"Increasing and getting worse"}
    assert set(out.loc[~latest, "trend"]) == {"Cannot be calculated"}


# --------------------------------------------------------------------------- compare_values
AREAS = pd.DataFrame({
    "area_code": ["E92000001", "R1", "U1", "U2", "U3", "U4", "U1", "L1", "L2"],
    "area_type": ["england", "region", "utla", "utla", "utla", "utla", "ltla", "ltla", "ltla"],
    "parent_code": ["", "E92000001", "R1", "R1", "R1", "R1", "U1", "U2", "U2"],
    "region_code": ["", "R1", "R1", "R1", "R1", "R1", "R1", "R1", "R1"],
})


def mini_values():
    """Indicator 1 (proportion, low is good): England 20% (2000/10000), region 25% (500/2000),
    U1 10% (10/100), U2 30% (30/100), U3, U4 and LTLAs with values but only U1..U2 counts."""
    rows = [
        ("E92000001", 20.0, 19.0, 21.0, 2000, 10000),
        ("R1", 25.0, 23.0, 27.0, 500, 2000),
        ("U1", 10.0, 5.0, 15.0, 10, 100),
        ("U2", 30.0, 22.0, 38.0, 30, 100),
        ("U3", 20.5, 19.5, 21.5, np.nan, np.nan),
        ("U4", 40.0, np.nan, np.nan, np.nan, np.nan),
        ("L1", 28.0, 24.0, 32.0, 14, 50),
        ("L2", 32.0, 28.0, 36.0, 16, 50),
    ]
    frame = pd.DataFrame(rows, columns=["area_code", "value", "lower_95", "upper_95", "count", "denominator"])
    frame["indicator_id"] = 1
    frame["sex"], frame["age"], frame["category_type"], frame["category"] = "Persons", "All ages", "", ""
    frame["period"], frame["period_sort"] = "2023", 20230000
    return frame


INDICATORS = pd.DataFrame({"indicator_id": [1], "name": ["Test proportion"], "value_type": ["Proportion"],
                           "polarity": [LOW], "comparator_method": ["ci_95"], "multiplier": [100.0]})


def test_compare_values_benchmarks_and_groups():
    out = compare.compare_values(mini_values(), INDICATORS, AREAS, area_type=["utla", "ltla"],
                                 benchmarks=["england", "region", "parent", "U3",
                                             {"name": "Pair", "codes": ["U1", "U2"]},
                                             {"name": "Trio", "codes": ["U1", "U2", "U3"]}])
    got = out.set_index(["area_type", "area_code", "benchmark"])
    # U1 10% (5..15) vs England 20 → wholly below, low is good → Better.
    assert got.loc[("utla", "U1", "england"), "significance"] == "Better"
    assert got.loc[("utla", "U1", "region"), "benchmark_code"] == "R1"
    assert got.loc[("utla", "U2", "region"), "significance"] == "Similar"  # 25 inside 22..38
    # A UTLA's parent is its region; an LTLA's parent is its UTLA; a unitary's LTLA row is its own
    # parent, so never compared with itself.
    assert got.loc[("utla", "U2", "parent"), "benchmark_value"] == 25.0
    assert got.loc[("ltla", "L1", "parent"), "benchmark_value"] == 30.0
    assert got.loc[("ltla", "U1", "parent"), "significance_note"] == "same area as the benchmark"
    # A named area; U3 compared with itself is not compared.
    assert got.loc[("utla", "U1", "U3"), "benchmark_value"] == 20.5
    assert got.loc[("utla", "U3", "U3"), "significance"] == "Not compared"
    # Group with counts for every member: (10 + 30)/(100 + 100) × 100 = 20%.
    assert got.loc[("utla", "U4", "Pair"), "benchmark_value"] == pytest.approx(20.0)
    assert got.loc[("utla", "U4", "Pair"), "benchmark_method"] == "aggregate of member counts"
    # U3 has no counts: the mean of the members' values (10 + 30 + 20.5)/3.
    assert got.loc[("utla", "U4", "Trio"), "benchmark_value"] == pytest.approx(60.5 / 3)
    assert got.loc[("utla", "U4", "Trio"), "benchmark_method"].startswith("mean of member values")
    # U4 has no interval.
    assert got.loc[("utla", "U4", "england"), "significance_note"] == "no confidence interval"
    # Ranks among the 4 UTLAs (low is good): U1 10 → 1, U3 20.5 → 2, U2 30 → 3, U4 40 → 4.
    assert [got.loc[("utla", c, "england"), "rank"] for c in ("U1", "U3", "U2", "U4")] == [1, 2, 3, 4]
    assert got.loc[("utla", "U1", "england"), "rank_count"] == 4
    # LTLAs are U1 (unitary), L1, L2: ranked among 3.
    assert got.loc[("ltla", "L2", "england"), "rank"] == 3
    assert got.loc[("utla", "U1", "england"), "england_value"] == 20.0
    assert list(out.columns) == compare.COMPARISON_COLUMNS


def test_compare_values_quintile_method_and_focus():
    ind = INDICATORS.assign(comparator_method="quintiles", polarity=HIGH)
    out = compare.compare_values(mini_values(), ind, AREAS, area_type="utla", benchmarks=["england"])
    got = out.set_index("area_code")
    # UTLA values 10, 30, 20.5, 40: P20 = 16.3, P40 = 22.4, P60 = 28.1, P80 = 34 → quintiles
    # 1, 4, 2, 5 lowest-first; high is good reverses them: 5, 2, 4, 1.
    assert [got.loc[c, "quintile"] for c in ("U1", "U2", "U3", "U4")] == [5, 2, 4, 1]
    assert got.loc["U4", "significance"] == "Best quintile"
    assert math.isnan(got.loc["U4", "significance_level"])
    ltla = compare.compare_values(mini_values(), ind, AREAS, area_type="ltla", benchmarks=["england"])
    assert set(ltla["significance"]) == {"Not compared"}  # 3 LTLAs only
    assert set(ltla["significance_note"]) == {"3 or fewer areas with a value"}
    focus = compare.compare_values(mini_values(), ind, AREAS, area_type="utla", benchmarks=["england"],
                                   focus=["U2"])
    assert list(focus["area_code"]) == ["U2"] and focus["quintile"].iloc[0] == 2


def test_benchmark_specs():
    assert compare._as_benchmark("England").kind == "england"
    assert compare._as_benchmark("e08000025") == compare.Benchmark("area", "E08000025")
    frame = pd.DataFrame({"area_code": ["E08000025", "E08000026"], "group": "West Mids pair"})
    assert compare._as_benchmark(frame) == compare.Benchmark("group", "West Mids pair", ("E08000025", "E08000026"))
    assert compare._as_benchmark({"Pair": ["a", "b"]}).members == ("A", "B")
    with pytest.raises(ValueError, match="benchmark"):
        compare._as_benchmark(42)


# --------------------------------------------------------------------------- store round trip
def test_compare_all_saves_and_detects_staleness(tmp_path):
    store = Store(tmp_path / "store", create=True)
    areas = AREAS.assign(area_name=AREAS["area_code"])
    store.write_many({"values": mini_values().assign(area_type="utla"), "indicators": INDICATORS, "areas": areas},
                     source="test")
    table = compare.compare_all(store, area_type=["utla"], benchmarks=["england", "region"])
    assert len(table) == 8  # 4 UTLAs × 2 benchmarks
    assert compare.comparisons_current(store)
    entry = store.manifest["tables"]["comparisons"]
    assert entry["benchmarks"] == ["england", "region"] and entry["area_types"] == ["utla"]
    one = compare.read_comparisons(store, area_code="u2", benchmark="region")
    assert len(one) == 1 and one["significance"].iloc[0] == "Similar"
    # New values make the stored comparisons stale.
    store.write_many({"values": mini_values().assign(area_type="utla", value=21.0)}, source="test")
    assert not compare.comparisons_current(Store(tmp_path / "store"))


def test_significance_counts_by_first_word() -> None:
    labels = ["Better (99.8%)", "Better (95%)", "Similar", "Worse", "Higher", "Lower (95%)",
              "Not compared", None, "Best quintile"]
    assert compare.significance_counts(labels) == {"better": 2, "similar": 1, "worse": 1, "neutral": 2,
                                                    "other": 3}


def test_batch_refreshes_stale_comparisons_once_before_the_kernels(tmp_path, capsys):
    """`jsna batch` (and batch.run_batch) computes the comparison table when it is missing or stale, and
    only then: otherwise every area's kernel compares its rows again."""
    from jsna_lib import batch

    store = Store(tmp_path / "store", create=True)
    store.write_many({"values": mini_values().assign(area_type="utla"), "indicators": INDICATORS,
                      "areas": AREAS.assign(area_name=AREAS["area_code"])}, source="test")
    assert batch.refresh_comparisons(store.path) is True
    assert "comparison table" in capsys.readouterr().err
    assert compare.comparisons_current(Store(store.path))
    assert batch.refresh_comparisons(store.path) is False  # current: nothing to do
    store.write_many({"values": mini_values().assign(area_type="utla", value=21.0)}, source="test")
    assert batch.refresh_comparisons(store.path) is True
    empty = Store(tmp_path / "no_values", create=True)
    empty.write("indicators", INDICATORS, source="test")
    assert batch.refresh_comparisons(empty.path) is False  # nothing to compare
