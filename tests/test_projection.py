"""jsna_lib.projection against hand calculations (worked in the comments), and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jsna_lib import projection

T_2DF = 4.302652729911275  # t quantile, 97.5%, 2 degrees of freedom
T_3DF = 3.182446305284263  # t quantile, 97.5%, 3 degrees of freedom


def population_rows(area: str, totals: dict[int, float], band: str = "0-4") -> pd.DataFrame:
    """A population table whose only band holds ``totals`` (split evenly between the sexes)."""
    years = sorted(totals)
    return pd.DataFrame({"area_code": area, "year": np.repeat(years, 2), "sex": ["Male", "Female"] * len(years),
                         "age_band": band, "population": np.repeat([totals[y] / 2 for y in years], 2)})


# ----------------------------------------------------------------------------------------- population
def test_population_log_linear_fit_and_prediction_interval_by_hand():
    # ln P = ln 1000 + (1, 2, 2, 3) in 2020..2023.  On t = year - 2020: t̄ = 1.5, Sxx = 5,
    # ȳ - ln 1000 = 2, Sxy = (-1.5)(-1) + (-0.5)(0) + (0.5)(0) + (1.5)(1) = 3, so b = 0.6 and
    # a = 2 - 0.6 * 1.5 = 1.1 (+ ln 1000).  Fitted 1.1, 1.7, 2.3, 2.9; residuals -0.1, 0.3,
    # -0.3, 0.1; SSE = 0.2; s² = 0.2 / 2 = 0.1.
    # 2024 (t0 = 4): centre 1.1 + 2.4 = 3.5; se = sqrt(0.1 (1 + 1/4 + 2.5²/5)) = sqrt(0.25) = 0.5.
    # 2025 (t0 = 5): centre 4.1;             se = sqrt(0.1 (1 + 1/4 + 3.5²/5)) = sqrt(0.37).
    pop = population_rows("E06000001", {2020 + i: 1000 * math.exp(y) for i, y in enumerate([1, 2, 2, 3])})
    out = projection.project_population(pop, horizon=2)
    young = out[out["age_group"] == "0-14"].set_index("year")
    assert list(young["kind"]) == ["observed"] * 4 + ["projected"] * 2
    assert young.loc[2023, "population"] == pytest.approx(1000 * math.exp(3))
    assert young.loc[2024, "population"] == pytest.approx(1000 * math.exp(3.5))
    assert young.loc[2024, "lower"] == pytest.approx(1000 * math.exp(3.5 - T_2DF * 0.5))
    assert young.loc[2024, "upper"] == pytest.approx(1000 * math.exp(3.5 + T_2DF * 0.5))
    assert young.loc[2025, "population"] == pytest.approx(1000 * math.exp(4.1))
    assert young.loc[2025, "upper"] == pytest.approx(1000 * math.exp(4.1 + T_2DF * math.sqrt(0.37)))
    assert young["growth"].iloc[0] == pytest.approx(math.exp(0.6) - 1)
    assert (young["n_years"] == 4).all() and (young["first_year"] == 2020).all() and (young["last_year"] == 2023).all()
    # The band is the only one, so all ages is the same fit; groups without bands do not appear.
    whole = out[out["age_group"] == projection.ALL_AGES].set_index("year")
    assert whole.loc[2025, "population"] == pytest.approx(young.loc[2025, "population"])
    assert set(out["age_group"]) == {"0-14", projection.ALL_AGES}


def test_exact_growth_has_a_zero_width_interval_and_summary_reads_it():
    pop = population_rows("E06000001", {2019 + i: 10_000 * 1.02 ** i for i in range(5)})
    out = projection.project_population(pop, horizon=5)
    last = out[(out["age_group"] == "0-14") & (out["year"] == 2028)].iloc[0]
    assert last["population"] == pytest.approx(10_000 * 1.02 ** 9)
    assert last["lower"] == pytest.approx(last["population"]) and last["upper"] == pytest.approx(last["population"])
    summary = projection.population_summary(out, "E06000001").set_index("age_group")
    row = summary.loc["0-14"]
    assert (row["latest_year"], row["projected_year"], row["first_year"], row["n_years"]) == (2023, 2028, 2019, 5)
    assert row["change_pct"] == pytest.approx(100 * (1.02 ** 5 - 1))
    assert row["growth_pct"] == pytest.approx(2.0)


def test_broad_groups_sum_their_bands_and_persons_rows_are_used_without_sexes():
    bands = ["0-4", "10-14", "15-19", "60-64", "65-69", "80-84", "85-89", "90+"]
    rows = []
    for year in (2020, 2021, 2022, 2023):
        for k, band in enumerate(bands):
            rows.append({"area_code": "e06000002", "year": year, "sex": "Persons", "age_band": band,
                         "population": 100.0 * (k + 1) * (1 + 0.01 * (year - 2020))})
    out = projection.project_population(pd.DataFrame(rows))
    first = out[(out["year"] == 2020)].set_index("age_group")["population"]
    assert first["0-14"] == 100 + 200 and first["15-64"] == 300 + 400 and first["65-74"] == 500
    assert first["75-84"] == 600 and first["85+"] == 700 + 800 and first[projection.ALL_AGES] == 3600
    assert set(out["area_code"]) == {"E06000002"}  # codes normalised
    structure = projection.age_structure(pd.DataFrame(rows)).set_index("age_group")
    assert structure.loc["85+", "share"] == pytest.approx(100 * 1500 / 3600)
    assert structure.loc[projection.ALL_AGES, "share"] == pytest.approx(100)


def test_untidy_labels_fractions_and_rows_without_a_code_or_year():
    # 2020, aged 0-14: males 0-4 10.25 + females 0-4 20.5 + "Under 1" (first age 0) 1.5 = 32.25;
    # "\t85-89" (a tab: read the general way) is 85+ (4.125); "Unknown" is in no group, only in all
    # ages: 32.25 + 4.125 + 7 = 43.375.  Rows without an area code or a year are left out (100 and
    # 1000 would show in the totals otherwise).
    rows = [(" e06000001 ", 2020, "Male", "0-4", 10.25), ("E06000001", 2020, "Female", "0-4", 20.5),
            ("E06000001", 2020, "Male", "Under 1", 1.5), ("E06000001", 2020, "Female", "\t85-89", 4.125),
            ("E06000001", 2020, "Male", "Unknown", 7.0), (None, 2020, "Male", "0-4", 100.0),
            ("E06000001", None, "Female", "0-4", 1000.0)]
    pop = pd.DataFrame(rows, columns=["area_code", "year", "sex", "age_band", "population"])
    for frame in (pop, pop.astype({"area_code": "string", "sex": "string", "age_band": "string", "year": "Int64"})):
        structure = projection.age_structure(frame).set_index("age_group")
        assert structure["population"].to_dict() == {"0-14": 32.25, "85+": 4.125, projection.ALL_AGES: 43.375}
        assert structure.loc["85+", "share"] == pytest.approx(100 * 4.125 / 43.375)
        assert set(structure["area_code"]) == {"E06000001"} and set(structure["year"]) == {2020}
        out = projection.project_population(frame)
        assert out.loc[out["age_group"] == projection.ALL_AGES, "population"].tolist() == [43.375]


def test_many_areas_at_once_equal_one_at_a_time_and_short_series_are_noted():
    rng = np.random.default_rng(7)
    frames = [population_rows(f"E0600000{i}", {2016 + k: 5000 * (1.01 + 0.01 * i) ** k * rng.uniform(0.98, 1.02)
                                               for k in range(8)}) for i in range(1, 4)]
    frames.append(population_rows("E06000009", {2022: 100.0, 2023: 110.0, 2021: 90.0}))
    together = projection.project_population(pd.concat(frames, ignore_index=True))
    for frame in frames[:3]:
        code = frame["area_code"].iloc[0]
        alone = projection.project_population(frame)
        pd.testing.assert_frame_equal(together[together["area_code"] == code].reset_index(drop=True), alone)
    short = together[together["area_code"] == "E06000009"]
    assert (short["kind"] == "observed").all() and short["note"].str.contains("fewer than 4 years").all()
    assert projection.population_summary(together, "E06000009")["projected"].isna().all()
    assert projection.population_chart(together, "E06000009") is None


def test_population_input_errors():
    with pytest.raises(ValueError, match="lacks column"):
        projection.project_population(pd.DataFrame({"area_code": ["x"], "year": [2020]}))
    with pytest.raises(ValueError, match="horizon"):
        projection.project_population(population_rows("E06000001", {2020: 1.0}), horizon=0)
    with pytest.raises(ValueError, match="level"):
        projection.project_population(population_rows("E06000001", {2020: 1.0}), level=95)
    assert projection.project_population(population_rows("E06000001", {2020: 1.0}).iloc[:0]).empty


# ----------------------------------------------------------------------------------------- indicators
def series(values, se=1.0, *, periods=None, value_type="Crude rate", multiplier=1000.0, indicator_id=1,
           sex="Persons", age="All ages"):
    periods = periods or [str(2019 + i) for i in range(len(values))]
    se = np.broadcast_to(np.asarray(se, dtype=float), (len(values),))
    return pd.DataFrame({"indicator_id": indicator_id, "area_code": "E06000001", "sex": sex, "age": age,
                         "category_type": "", "period": periods, "value": values,
                         "lower_95": np.asarray(values) - 1.96 * se, "upper_95": np.asarray(values) + 1.96 * se,
                         "name": f"Indicator {indicator_id}", "unit": "per 1,000", "value_type": value_type,
                         "multiplier": multiplier})


def test_indicator_trend_continued_by_hand():
    # v = 10, 12, 11, 14, 15 in 2019..2023, SE 1 each (weights 1): t̄ = 2021, Sxx = 10,
    # Sxy = (-2)(-2.4) + (-1)(-0.4) + 0 + (1)(1.6) + (2)(2.6) = 12, b = 1.2, v̄ = 12.4.
    # Fitted 10.0, 11.2, 12.4, 13.6, 14.8; residuals 0, 0.8, -1.4, 0.4, 0.2; Σw r² = 2.8;
    # φ = 2.8 / 3 < 1, so φ' = 1 (the points' own error is the floor).
    # 2024: 12.4 + 1.2 * 3 = 16.0, var = 1/5 + 3²/10 = 1.1, half-width t(3) * sqrt(1.1).
    out = projection.project_indicators(series([10, 12, 11, 14, 15]), horizon=2)
    projected = out[out["kind"] == "projected"].set_index("period")
    assert list(projected.index) == ["2024", "2025"]
    assert projected.loc["2024", "value"] == pytest.approx(16.0)
    assert projected.loc["2024", "upper_95"] - 16.0 == pytest.approx(T_3DF * math.sqrt(1.1))
    # 2025: 17.2, var = 1/5 + 4²/10 = 1.8
    assert projected.loc["2025", "value"] == pytest.approx(17.2)
    assert 17.2 - projected.loc["2025", "lower_95"] == pytest.approx(T_3DF * math.sqrt(1.8))
    np.testing.assert_allclose(out["slope"], 1.2)
    assert out["weighted"].all() and (out["n_points"] == 5).all()
    fitted = out[out["kind"] == "observed"]["trend"].to_numpy()
    np.testing.assert_allclose(fitted, [10.0, 11.2, 12.4, 13.6, 14.8])
    # the observed rows keep the published values and intervals
    np.testing.assert_allclose(out[out["kind"] == "observed"]["value"], [10, 12, 11, 14, 15])


def test_overdispersed_points_widen_the_interval_by_hand():
    # v = 10, 13, 11, 14, 16: v̄ = 12.8, Sxy = 5.6 - 0.2 + 0 + 1.2 + 6.4 = 13, b = 1.3; fitted
    # 10.2, 11.5, 12.8, 14.1, 15.4; residuals -0.2, 1.5, -1.8, -0.1, 0.6; Σ r² = 5.9;
    # φ = 5.9 / 3 = 1.96667 > 1. 2024: 12.8 + 3.9 = 16.7, var = φ * 1.1.
    out = projection.project_indicators(series([10, 13, 11, 14, 16]), horizon=1)
    row = out[out["kind"] == "projected"].iloc[0]
    assert row["value"] == pytest.approx(16.7)
    assert row["upper_95"] - row["value"] == pytest.approx(T_3DF * math.sqrt(5.9 / 3 * 1.1))


def test_weighted_fit_matches_numpy_and_missing_intervals_fall_back_to_unweighted():
    values, se = [20.0, 21.5, 21.0, 23.0, 24.5], [0.5, 1.0, 2.0, 1.0, 0.5]
    out = projection.project_indicators(series(values, se), horizon=1)
    slope, intercept = np.polyfit(np.arange(2019, 2024), values, 1, w=1 / np.asarray(se))
    assert out["slope"].iloc[0] == pytest.approx(slope)
    assert out[out["kind"] == "projected"]["value"].iloc[0] == pytest.approx(intercept + slope * 2024)

    frame = series([10, 13, 11, 14, 16])
    frame.loc[2, ["lower_95", "upper_95"]] = np.nan
    unweighted = projection.project_indicators(frame, horizon=1)
    row = unweighted[unweighted["kind"] == "projected"].iloc[0]
    assert not row["weighted"] and row["value"] == pytest.approx(16.7)
    # φ = SSE / (n - 2) = 5.9 / 3, not floored at 1 (it is the only variance estimate)
    assert row["upper_95"] - row["value"] == pytest.approx(T_3DF * math.sqrt(5.9 / 3 * 1.1))


def test_last_points_only_period_labels_and_range_limits():
    # 7 financial years: only the last 5 are fitted; labels move on in the data's style.
    frame = series([50, 40, 30, 20, 10, 5, 2], se=0.5, periods=[f"{y}/{(y + 1) % 100:02d}" for y in range(2017, 2024)],
                   value_type="Proportion", multiplier=100.0)
    out = projection.project_indicators(frame, horizon=3)
    observed = out[out["kind"] == "observed"]
    assert list(observed["period"]) == ["2019/20", "2020/21", "2021/22", "2022/23", "2023/24"]
    projected = out[out["kind"] == "projected"]
    assert list(projected["period"]) == ["2024/25", "2025/26", "2026/27"]
    assert (projected["value"] >= 0).all() and (projected["lower_95"] >= 0).all()  # a proportion cannot go below 0
    assert projected["value"].iloc[-1] == 0.0
    rolling = projection.project_indicators(series([80.1, 80.0, 79.8, 79.9, 79.7], value_type="Life expectancy",
                                                   periods=[f"{y} - {(y + 2) % 100:02d}" for y in range(2015, 2020)]),
                                            horizon=1)
    assert rolling[rolling["kind"] == "projected"]["period"].tolist() == ["2020 - 22"]


def test_keys_select_series_and_short_series_are_noted():
    frame = pd.concat([series([1, 2, 3, 4, 5], indicator_id=1), series([5, 4, 3], indicator_id=2),
                       series([7, 7, 8, 8, 9], indicator_id=3, sex="Female")], ignore_index=True)
    keys = pd.DataFrame({"indicator_id": [2, 3], "sex": ["Persons", "Female"], "age": ["All ages", "All ages"]})
    out = projection.project_indicators(frame, keys=keys)
    assert set(out["indicator_id"]) == {2, 3}
    short = out[out["indicator_id"] == 2]
    assert (short["kind"] == "observed").all() and (short["note"] == "fewer than 4 values").all()
    summary = projection.indicator_summary(out).set_index("indicator_id")
    assert pd.isna(summary.loc[2, "projected"]) and summary.loc[3, "projected_period"] == "2028"
    assert summary.loc[3, "latest"] == 9 and summary.loc[3, "latest_period"] == "2023"
    with pytest.raises(ValueError, match="points"):
        projection.project_indicators(frame, points=2)
    with pytest.raises(ValueError, match="lack column"):
        projection.project_indicators(frame.drop(columns="lower_95"))


def test_many_series_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    frames = [series(list(rng.normal(50, 3, 6)), se=list(rng.uniform(0.5, 2, 6)), indicator_id=i) for i in range(1, 6)]
    together = projection.project_indicators(pd.concat(frames, ignore_index=True))
    for frame in frames:
        alone = projection.project_indicators(frame)
        got = together[together["indicator_id"] == frame["indicator_id"].iloc[0]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, alone)


@pytest.mark.parametrize(("label", "years", "expected"), [
    ("2023", 5, "2028"), ("2023/24", 5, "2028/29"), ("2021 - 23", 1, "2022 - 24"), ("2099/00", 1, "2100/01"),
    ("2019/20 - 21/22", 5, "2024/25 - 26/27"), ("Q1 2022/23", 2, "Q1 2024/25"), ("no year", 3, "no year"),
    ("12 months to 2023", 1, "12 months to 2024"),
])
def test_shift_period(label, years, expected):
    assert projection.shift_period([label], years).tolist() == [expected]


def test_period_year():
    years = projection.period_year(["2021/22", "2019 - 21", "2023", "Q1 2022/23", "no year"])
    assert years.iloc[:4].tolist() == [2021, 2019, 2023, 2022] and math.isnan(years.iloc[4])


def test_charts_build():
    pop = population_rows("E06000001", {2016 + k: 5000 * 1.01 ** k for k in range(8)})
    chart = projection.population_chart(projection.project_population(pop), "E06000001", area_name="Hartlepool")
    spec = chart.to_dict()
    assert spec["title"]["text"] == "Population by broad age group: Hartlepool"
    out = projection.project_indicators(series([10, 12, 11, 14, 15]))
    keys = pd.DataFrame({"indicator_id": [1], "sex": ["Persons"], "age": ["All ages"]})
    assert projection.indicator_charts(out, keys).to_dict()["vconcat"]
    assert projection.indicator_charts(out.iloc[:0], keys) is None
