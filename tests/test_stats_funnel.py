"""funnel_limits(): closed forms, PHE's published ratio funnel table, and consistency with the
confidence intervals of proportion() / rate()."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from jsna_lib import stats

Z95 = 1.959963984540054
Z998 = 3.090232306167813


@pytest.fixture
def areas() -> pd.DataFrame:
    return pd.DataFrame({"x": [30, 45, 12, 80, 5], "n": [200, 400, 90, 500, 60]})


def test_proportion_limits_closed_form(areas: pd.DataFrame) -> None:
    out = stats.funnel_limits(areas, "x", "n", statistic="proportion", at=[10, 100, 1000])
    p0 = areas["x"].sum() / areas["n"].sum()
    assert out["target"].tolist() == pytest.approx([p0 * 100] * 3)
    assert out["denominator"].tolist() == [10, 100, 1000]
    for row in out.itertuples():
        half95 = Z95 * math.sqrt(p0 * (1 - p0) / row.denominator)
        half998 = Z998 * math.sqrt(p0 * (1 - p0) / row.denominator)
        assert row.lower_95 == pytest.approx(max(0, p0 - half95) * 100)
        assert row.upper_95 == pytest.approx(min(1, p0 + half95) * 100)
        assert row.lower_99_8 == pytest.approx(max(0, p0 - half998) * 100)
    assert out["lower_99_8"].iloc[0] == 0.0  # clipped at 0, as PHEindicatormethods does


def test_proportion_limit_is_where_wilson_interval_touches_target(areas: pd.DataFrame) -> None:
    # An observation of size 250 exactly on the upper limit has a Wilson lower limit equal to
    # the target: the funnel and the confidence intervals give the same verdicts.
    out = stats.funnel_limits(areas, "x", "n", statistic="proportion", at=[250], multiplier=1)
    p = out.loc[0, "upper_95"]
    ci = stats.proportion(pd.DataFrame({"x": [p * 250], "n": [250]}), "x", "n", multiplier=1, confidence=0.95)
    assert ci.loc[0, "lower_95"] == pytest.approx(out.loc[0, "target"], rel=1e-10)


def test_ratio_limits_match_phe_published_table() -> None:
    # PHEindicatormethods tests/testthat/testdata_funnel_ratio_outputs.csv (ratio_type "isr"):
    # for O observed events, the expected counts at which O is just significant, and the ratios.
    # PHE finds them by bisection to about 1e-7 in a transformed scale, hence rel=2e-6.
    table = [  # O, expected at lower 95% limit, its ratio, expected at upper 95% limit, its ratio
        (1, 5.571644585, 17.94802207, 0.025317898, 3949.774946),
        (2, 7.224687515, 27.6828582, 0.242209467, 825.7315569),
        (3, 8.767273828, 34.21816244, 0.618671905, 484.9096876),
    ]
    df = pd.DataFrame({"obs": [10], "exp": [10.0]})
    for _o, exp_low, ratio_low, exp_high, ratio_high in table:
        out = stats.funnel_limits(df, "obs", "exp", statistic="ratio", at=[exp_low, exp_high], confidence=0.95)
        assert out.loc[0, "lower_95"] == pytest.approx(ratio_low, rel=2e-6)
        assert out.loc[1, "upper_95"] == pytest.approx(ratio_high, rel=2e-6)
    # 99.8% (the "3s" columns): O = 1 at expected 9.233410143 -> 10.83023482; 0.001000547 -> 99945.32721
    out = stats.funnel_limits(df, "obs", "exp", statistic="ratio", at=[9.233410143, 0.001000547],
                              confidence=0.998)
    assert out.loc[0, "lower_99_8"] == pytest.approx(10.83023482, rel=2e-6)
    assert out.loc[1, "upper_99_8"] == pytest.approx(99945.32721, rel=2e-5)
    assert (out["target"] == 100).all()


def test_ratio_limits_at_whole_counts_are_exact_poisson() -> None:
    df = pd.DataFrame({"obs": [10], "exp": [10.0]})
    for o in (4, 25, 300):
        e_up = sps.chi2.ppf(0.025, 2 * o) / 2  # O is just significantly high at this expected
        e_low = sps.chi2.ppf(0.975, 2 * o + 2) / 2  # ... just significantly low
        out = stats.funnel_limits(df, "obs", "exp", statistic="ratio", at=[e_up, e_low], multiplier=1,
                                  confidence=0.95)
        assert out.loc[0, "upper_95"] == pytest.approx(o / e_up, rel=1e-9)
        assert out.loc[1, "lower_95"] == pytest.approx(o / e_low, rel=1e-9)


def test_rate_limits_and_no_lower_limit_for_tiny_expected() -> None:
    df = pd.DataFrame({"deaths": [3, 40, 120], "pop": [20_000, 100_000, 250_000]})
    r0 = 163 / 370_000
    out = stats.funnel_limits(df, "deaths", "pop", statistic="rate", at=[1000, 200_000], confidence=0.95)
    assert out["target"].tolist() == pytest.approx([r0 * 1e5] * 2)
    # at 1,000 people 0.44 deaths are expected: even 0 deaths is not significantly low
    assert out.loc[0, "lower_95"] == 0.0
    # at 200,000: the upper limit is the count whose exact lower limit is the expected count
    o_star = out.loc[1, "upper_95"] / 1e5 * 200_000
    assert sps.chi2.ppf(0.025, 2 * o_star) / 2 == pytest.approx(r0 * 200_000, rel=1e-9)


def test_default_grid_and_groups(areas: pd.DataFrame) -> None:
    two = pd.concat([areas.assign(g="a"), areas.assign(g="b", n=areas["n"] * 10)])
    out = stats.funnel_limits(two, "x", "n", statistic="proportion", by="g", points=50)
    assert len(out) == 100
    a = out[out["g"] == "a"]["denominator"]
    assert a.iloc[0] == pytest.approx(60 * 0.9) and a.iloc[-1] == pytest.approx(500 * 1.1)
    assert np.all(np.diff(a.to_numpy()) > 0)
    widths = out["upper_95"] - out["lower_95"]
    assert (widths.groupby(out["g"]).apply(lambda w: np.all(np.diff(w.to_numpy()) <= 1e-12))).all()


def test_funnel_validation(areas: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="statistic"):
        stats.funnel_limits(areas, "x", "n", statistic="odds")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exceeds"):
        stats.funnel_limits(areas.assign(x=[300, 1, 1, 1, 1]), "x", "n", statistic="proportion")
    with pytest.raises(ValueError, match="at must"):
        stats.funnel_limits(areas, "x", "n", statistic="rate", at=[0, 10])
    out = stats.funnel_limits(areas.assign(x=[1.0, np.nan, 1, 1, 1]), "x", "n", statistic="rate", points=5)
    assert out["lower_95"].isna().all()
    assert (out["value_note"] == "Missing count or denominator").all()
