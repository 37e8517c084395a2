"""life_expectancy(): a published worked example, a scalar textbook implementation written
out here, and OHID's suppression rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jsna_lib import stats
from jsna_lib.stats.life_expectancy import LE_BANDS, LE_START_AGES

Z95 = 1.959963984540054

# Worked example from PHEindicatormethods (tests/testthat/testLifeExpectancy.R, df1 and
# answer1; the expected values come from PHE's life expectancy spreadsheet, which uses z = 1.96).
PHE_POPS = [7060, 35059, 46974, 48489, 43219, 38561, 46009, 57208, 61435, 55601, 50209, 56416,
            46411, 39820, 37978, 37039, 33288, 23306, 11936, 11936]
PHE_DEATHS = [17, 9, 4, 8, 20, 15, 24, 33, 50, 71, 100, 163, 263, 304, 536, 872, 1390, 1605, 1936, 1937]
PHE_ANSWER = {  # age: (value, lower 95%, upper 95%)
    0: (80.16960813, 79.88268548, 80.45653078),
    1: (79.36245674, 79.0898816, 79.63503188),
    5: (75.44193645, 75.17407307, 75.70979983),
    65: (18.76856852, 18.57570352, 18.96143352),
    90: (6.16210635, 5.887683386, 6.436529314),
}


def chiang_silcocks(deaths: list[float], pops: list[float]) -> list[tuple[float, float]]:
    """Scalar abridged life table (Chiang 1984, method II) with Silcocks et al. (2001) variance,
    one band at a time, from the textbook. Returns (e_x, se_x) for each band."""
    k = len(deaths)
    ages = [0, 1] + list(range(5, 95, 5))
    q, n_x, a_x = [], [], []
    for i in range(k):
        m = deaths[i] / pops[i]
        if i == k - 1:
            q.append(1.0)
            n_x.append(float("nan"))
            a_x.append(0.5)
            continue
        n = ages[i + 1] - ages[i]
        a = 0.1 if i == 0 else 0.5
        q.append(n * m / (1 + n * m * (1 - a)) if deaths[i] <= pops[i] / n / a else 1.0)
        n_x.append(n)
        a_x.append(a)
    l_x = [100_000.0]
    for i in range(k - 1):
        l_x.append(l_x[i] * (1 - q[i]))
    big_l = []
    for i in range(k):
        if i == k - 1:
            big_l.append(l_x[i] / (deaths[i] / pops[i]))
        else:
            d = l_x[i] - l_x[i + 1]
            big_l.append(n_x[i] * (l_x[i + 1] + a_x[i] * d))
    e = [sum(big_l[i:]) / l_x[i] for i in range(k)]
    terms = []
    for i in range(k):
        if i == k - 1:
            m = deaths[i] / pops[i]
            terms.append((l_x[i] / 2) ** 2 * 4 / (deaths[i] * m * m))
        else:
            var_q = 0.0 if deaths[i] == 0 else q[i] ** 2 * (1 - q[i]) / deaths[i]
            terms.append(l_x[i] ** 2 * ((1 - a_x[i]) * n_x[i] + e[i + 1]) ** 2 * var_q)
    return [(e[i], math.sqrt(sum(terms[i:])) / l_x[i]) for i in range(k)]


def frame(deaths: list[float], pops: list[float], **extra: object) -> pd.DataFrame:
    return pd.DataFrame({"band": LE_BANDS, "d": deaths, "p": pops, **extra})


def test_phe_published_example() -> None:
    out = stats.life_expectancy(frame(PHE_DEATHS, PHE_POPS), "d", "p", by=None, age_band="band",
                                at_ages=list(PHE_ANSWER), confidence=0.95).set_index("age_from")
    for age, (value, lower, upper) in PHE_ANSWER.items():
        assert out.loc[age, "value"] == pytest.approx(value, abs=5e-7)
        # the published limits use z = 1.96 rather than 1.959964: agreement to 4 decimal places
        assert out.loc[age, "lower_95"] == pytest.approx(lower, abs=5e-5)
        assert out.loc[age, "upper_95"] == pytest.approx(upper, abs=5e-5)
    # deaths and population used from each age up (PHE's dths_used / pops_used)
    assert out.loc[5, "d"] == 9331
    assert out.loc[5, "p"] == 745835
    assert out.loc[90, "p"] == 11936


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_scalar_textbook_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pops = rng.integers(2_000, 60_000, 20).astype(float)
    rates = np.geomspace(0.0002, 0.25, 20) * rng.uniform(0.6, 1.4, 20)
    deaths = np.maximum(np.round(pops * rates), 1)
    deaths[1:4] = [0, 2, 0]  # zero-death bands
    ref = chiang_silcocks(list(deaths), list(pops))
    out = stats.life_expectancy(frame(list(deaths), list(pops)), "d", "p", by=None, age_band="band",
                                at_ages=list(LE_START_AGES), confidence=[0.95, 0.998])
    for row, (e, se) in zip(out.itertuples(), ref, strict=True):
        if se * Z95 > 10:
            assert math.isnan(row.value)
            continue
        assert row.value == pytest.approx(e, rel=1e-12)
        assert row.lower_95 == pytest.approx(e - Z95 * se, rel=1e-12)
        assert row.upper_99_8 == pytest.approx(e + 3.090232306167813 * se, rel=1e-12)


def test_groups_are_independent_and_ordered() -> None:
    a = frame(PHE_DEATHS, PHE_POPS, area="A")
    b = frame([d * 2 for d in PHE_DEATHS], PHE_POPS, area="B")
    both = pd.concat([b, a.iloc[::-1]])  # shuffled order, groups interleaved
    out = stats.life_expectancy(both, "d", "p", by="area", age_band="band", confidence=0.95)
    assert out[["area", "age_from"]].values.tolist() == [["A", 0], ["A", 65], ["B", 0], ["B", 65]]
    alone = stats.life_expectancy(b, "d", "p", by="area", age_band="band", confidence=0.95)
    assert out.iloc[2:]["value"].tolist() == pytest.approx(alone["value"].tolist(), rel=1e-14)
    assert out.iloc[0]["value"] == pytest.approx(80.16960813, abs=5e-7)


def test_band_spellings() -> None:
    ages = frame(PHE_DEATHS, PHE_POPS).assign(band=list(LE_START_AGES))
    lt1 = frame(PHE_DEATHS, PHE_POPS).assign(band=["<1", *LE_BANDS[1:]])
    for df in (ages, lt1):
        out = stats.life_expectancy(df, "d", "p", by=None, age_band="band", at_ages=0)
        assert out.loc[0, "value"] == pytest.approx(80.16960813, abs=5e-7)
    with pytest.raises(ValueError, match="age bands not in the life-table bands"):
        stats.life_expectancy(frame(PHE_DEATHS, PHE_POPS).assign(band=["0-4", *LE_BANDS[1:]]), "d", "p",
                              by=None, age_band="band")


def test_population_of_5000_or_fewer_is_suppressed() -> None:
    # 20 bands x 250 = 5,000 people: suppressed, as PHEindicatormethods (total_pop <= 5000).
    out = stats.life_expectancy(frame([1] * 20, [250] * 20), "d", "p", by=None, age_band="band")
    assert out["value"].isna().all()
    assert (out["value_note"] == "Total population 5,000 or fewer: life expectancy not calculated").all()


def test_interval_wider_than_20_years_is_suppressed() -> None:
    # PHEindicatormethods' df_widecis_plus area: LE at birth 19.229 (CI 16.44-22.02) is kept;
    # from age 40 on the 95% interval is wider than 20 years and the value is suppressed.
    pops = [270, 235, 246, 248, 243, 238, 246, 257, 261, 355, 350, 356, 346, 339, 337, 337, 333, 323, 311, 311]
    deaths = [17, 9, 4, 8, 20, 15, 24, 33, 50, 51, 10, 16, 26, 30, 36, 22, 13, 5, 6, 1]
    out = stats.life_expectancy(frame(deaths, pops), "d", "p", by=None, age_band="band",
                                at_ages=[0, 35, 40], confidence=0.95).set_index("age_from")
    assert out.loc[0, "value"] == pytest.approx(19.22914685, abs=5e-7)
    assert out.loc[0, "lower_95"] == pytest.approx(16.43900644, abs=5e-4)
    assert out.loc[35, "value"] == pytest.approx(11.95846561, abs=5e-7)  # CI 2.38 to 21.54
    assert np.isnan(out.loc[40, "value"]) and np.isnan(out.loc[40, "lower_95"])
    assert out.loc[40, "value_note"] == "95% confidence interval wider than 20 years: life expectancy suppressed"


def test_other_suppressions() -> None:
    missing_band = frame(PHE_DEATHS, PHE_POPS, area="a").iloc[:-1]
    over = frame([*PHE_DEATHS[:-2], 20_000, 1937], PHE_POPS, area="b")
    no_old = frame([*PHE_DEATHS[:-1], 0], PHE_POPS, area="c")
    nan_row = frame([*PHE_DEATHS[:3], np.nan, *PHE_DEATHS[4:]], PHE_POPS, area="d")
    good = frame(PHE_DEATHS, PHE_POPS, area="e")
    out = stats.life_expectancy(pd.concat([missing_band, over, no_old, nan_row, good]), "d", "p",
                                by="area", age_band="band", at_ages=0)
    assert out.set_index("area")["value_note"].to_dict() == {
        "a": "Missing age band(s)",
        "b": "Deaths exceed population in an age band: life expectancy not calculated",
        "c": "No deaths in the 90+ band: life expectancy not calculated",
        "d": "Missing deaths or population",
        "e": "",
    }
    assert out["value"].isna().tolist() == [True, True, True, True, False]


def test_invalid_inputs_raise() -> None:
    df = frame(PHE_DEATHS, PHE_POPS)
    with pytest.raises(ValueError, match="at_ages"):
        stats.life_expectancy(df, "d", "p", by=None, age_band="band", at_ages=[0, 64])
    with pytest.raises(ValueError, match=r"deaths column 'd' has negative values in rows \[3\]"):
        stats.life_expectancy(df.assign(d=[*PHE_DEATHS[:3], -1, *PHE_DEATHS[4:]]), "d", "p", by=None,
                              age_band="band")
    with pytest.raises(ValueError, match=r"population column 'p' has zero or negative values in rows \[5\]"):
        stats.life_expectancy(df.assign(p=[*PHE_POPS[:5], 0, *PHE_POPS[6:]]), "d", "p", by=None,
                              age_band="band")
