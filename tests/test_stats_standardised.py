"""dsr(), isr(), isratio() and ESP2013: published worked examples and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from jsna_lib import stats

Z95 = 1.959963984540054
BANDS = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
         "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"]

# Worked example published with PHEindicatormethods (tests/testthat/testdata_DSR_ISR.xlsx,
# sheets testdata_multiarea_isr, testresults_DSR and testresults_ISR; expected values from
# PHE's spreadsheet tools). Areas "big" and "small" share populations and reference data.
PHE_POP = [636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153, 123, 207]
PHE_BIG = [127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91]
PHE_SMALL = [12, 4, 3, 2, 3, 4, 8, 2, 2, 3, 4, 5, 6, 8, 5, 6, 5, 5, 4]
PHE_REF_COUNT = [10303, 2824, 0, 3615, 3641, 3490, 3789, 3213, 3031, 2771, 3089, 3490, 3595, 4745,
                 5514, 7125, 5694, 6210, 5757]
PHE_REF_POP = [50520, 57173, 60213, 54659, 44345, 50128, 62163, 67423, 62899, 55463, 60479, 49974,
               44140, 40888, 37239, 30819, 18136, 15325, 13918]


@pytest.fixture
def phe_example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area": ["big"] * 19 + ["small"] * 19,
            "band": BANDS * 2,
            "deaths": PHE_BIG + PHE_SMALL,
            "pop": PHE_POP * 2,
            "ref_count": PHE_REF_COUNT * 2,
            "ref_pop": PHE_REF_POP * 2,
        }
    )


def test_esp2013_matches_eurostat() -> None:
    # Eurostat (2013) Revision of the European Standard Population, ESP 2013 with a 90+ band.
    published = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500,
                 5000, 4000, 2500, 1500, 1000]
    assert list(stats.ESP2013.index) == BANDS
    assert stats.ESP2013.tolist() == published
    assert stats.ESP2013.sum() == 100_000


def test_dsr_phe_published_example(phe_example: pd.DataFrame) -> None:
    out = stats.dsr(phe_example, "deaths", "pop", by="area", age_band="band").set_index("area")
    # testresults_DSR rows "testdata_big"/"testdata_small", dsr per 100000
    assert out.loc["big", ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"]].tolist() == pytest.approx(
        [10430.247991, 9717.709068, 11178.940915, 9323.287880, 11620.596000], abs=1e-5
    )
    assert out.loc["small", ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"]].tolist() == pytest.approx(
        [1103.212025, 877.455768, 1367.088223, 763.642036, 1530.032895], abs=1e-5
    )
    assert out.loc["big", "deaths"] == 895
    assert out.loc["big", "pop"] == 8970


def test_dsr_hand_calculation_three_bands() -> None:
    # Dobson et al. (1991) written out for a three-band custom standard.
    std = {"young": 600.0, "mid": 300.0, "old": 100.0}
    o = np.array([40.0, 30.0, 50.0])
    n = np.array([10_000.0, 4_000.0, 1_000.0])
    w = np.array(list(std.values()))
    dsr_value = (w * o / n).sum() / w.sum()
    var = (w**2 * o / n**2).sum() / w.sum() ** 2
    total = o.sum()  # 120 >= 10: Byar's limits for the total count
    lo_o = total * (1 - 1 / (9 * total) - Z95 / (3 * math.sqrt(total))) ** 3
    up_o = (total + 1) * (1 - 1 / (9 * (total + 1)) + Z95 / (3 * math.sqrt(total + 1))) ** 3
    lower = dsr_value + math.sqrt(var / total) * (lo_o - total)
    upper = dsr_value + math.sqrt(var / total) * (up_o - total)
    df = pd.DataFrame({"band": list(std), "o": o, "n": n})
    for standard in (std, pd.Series(std), pd.DataFrame({"b": list(std), "p": list(std.values())})):
        out = stats.dsr(df, "o", "n", by=None, age_band="band", standard=standard, confidence=0.95,
                        multiplier=1000)
        assert out.loc[0, "value"] == pytest.approx(dsr_value * 1000, rel=1e-12)
        assert out.loc[0, "lower_95"] == pytest.approx(lower * 1000, rel=1e-12)
        assert out.loc[0, "upper_95"] == pytest.approx(upper * 1000, rel=1e-12)


def test_dsr_suppressed_below_ten_events() -> None:
    df = pd.DataFrame({"band": BANDS, "o": [0] * 18 + [9], "n": [1000] * 19})
    out = stats.dsr(df, "o", "n", by=None, age_band="band")
    assert np.isnan(out.loc[0, ["value", "lower_95", "upper_99_8"]].astype(float)).all()
    assert out.loc[0, "value_note"] == "Total count below 10: DSR not calculated"
    out10 = stats.dsr(df.assign(o=[0] * 18 + [10]), "o", "n", by=None, age_band="band")
    assert out10.loc[0, "value"] == pytest.approx(10 / 1000 * 1000 / 100_000 * 100_000)


def test_unknown_band_raises_with_rows(phe_example: pd.DataFrame) -> None:
    bad = phe_example.copy()
    bad.loc[[11, 30], "band"] = ["55-69", "90 +"]
    with pytest.raises(ValueError, match=r"age_band column 'band' has age bands not in the standard "
                                         r"\(\['55-69', '90 \+'\]\) in rows \[11, 30\]"):
        stats.dsr(bad, "deaths", "pop", by="area", age_band="band")


def test_group_missing_a_band_gets_note_not_a_different_standard(phe_example: pd.DataFrame) -> None:
    df = phe_example.drop(index=25)  # small area: no 25-29 row
    out = stats.dsr(df, "deaths", "pop", by="area", age_band="band").set_index("area")
    assert out.loc["small", "value_note"] == "Missing age band(s)"
    assert np.isnan(out.loc["small", "value"])
    assert out.loc["big", "value"] == pytest.approx(10430.247991, abs=1e-5)


def test_age_restricted_indicator_uses_that_part_of_the_standard(phe_example: pd.DataFrame) -> None:
    older = phe_example[phe_example["band"].isin(BANDS[13:])]  # 65+
    out = stats.dsr(older, "deaths", "pop", by="area", age_band="band").set_index("area")
    w = stats.ESP2013.iloc[13:].to_numpy()
    o = np.array(PHE_BIG[13:], dtype=float)
    n = np.array(PHE_POP[13:], dtype=float)
    assert out.loc["big", "value"] == pytest.approx((w * o / n).sum() / w.sum() * 100_000)


def test_rows_for_the_same_band_are_summed(phe_example: pd.DataFrame) -> None:
    # Split every band of "big" into two halves (e.g. males and females): same DSR.
    big = phe_example[phe_example["area"] == "big"]
    half = big.assign(deaths=big["deaths"] / 2, pop=big["pop"] / 2)
    out = stats.dsr(pd.concat([half, half]), "deaths", "pop", by="area", age_band="band")
    assert out.loc[0, "value"] == pytest.approx(10430.247991, abs=1e-5)


def test_dsr_missing_count_gives_note(phe_example: pd.DataFrame) -> None:
    df = phe_example.copy()
    df.loc[2, "deaths"] = np.nan
    out = stats.dsr(df, "deaths", "pop", by="area", age_band="band").set_index("area")
    assert out.loc["big", "value_note"] == "Missing count or population"
    assert not np.isnan(out.loc["small", "value"])


def test_dsr_zero_population_raises(phe_example: pd.DataFrame) -> None:
    df = phe_example.copy()
    df.loc[4, "pop"] = 0
    with pytest.raises(ValueError, match=r"population column 'pop' has zero or negative values in rows \[4\]"):
        stats.dsr(df, "deaths", "pop", by="area", age_band="band")


def test_bad_custom_standard_raises(phe_example: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="standard"):
        stats.dsr(phe_example, "deaths", "pop", by="area", age_band="band",
                  standard=pd.Series([-1.0] * 19, index=BANDS))


def test_isratio_phe_published_example(phe_example: pd.DataFrame) -> None:
    out = stats.isratio(phe_example, "deaths", "pop", by="area", reference_count="ref_count",
                        reference_population="ref_pop").set_index("area")
    # testresults_ISR: "indirectly standardised ratio x 100"
    assert out.loc["big", "expected"] == pytest.approx(835.883561, abs=1e-6)
    assert out.loc["big", ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"]].tolist() == pytest.approx(
        [107.072329, 100.171477, 114.323329, 96.351556, 118.600704], abs=1e-6
    )
    assert out.loc["small", ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"]].tolist() == pytest.approx(
        [10.886684, 8.765040, 13.366576, 7.695426, 14.897921], abs=1e-6
    )
    # multiplier=1 is PHEindicatormethods' default (refvalue = 1): "ratio x 1"
    ratio = stats.isratio(phe_example, "deaths", "pop", by="area", reference_count="ref_count",
                          reference_population="ref_pop", multiplier=1)
    assert ratio.loc[0, "value"] == pytest.approx(1.070723, abs=1e-6)


def test_isr_phe_published_example(phe_example: pd.DataFrame) -> None:
    out = stats.isr(phe_example, "deaths", "pop", by="area", reference_count="ref_count",
                    reference_population="ref_pop").set_index("area")
    # testresults_ISR: "indirectly standardised rate per 100000"
    assert out.loc["big", "reference_rate"] == pytest.approx(9349.883092, abs=1e-6)
    assert out.loc["big", ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"]].tolist() == pytest.approx(
        [10011.137622, 9365.916003, 10689.097583, 9008.757862, 11089.027185], abs=1e-5
    )


def test_isratio_small_count_exact_hand_calculation() -> None:
    # 4 observed against 2.5 expected: exact (chi-square) limits because 4 < 10.
    df = pd.DataFrame({"band": ["a", "b"], "o": [1, 3], "n": [1000, 500], "R": [2, 3], "N": [2000, 1000]})
    out = stats.isratio(df, "o", "n", by=None, reference_count="R", reference_population="N",
                        confidence=0.95)
    expected = 1000 * 2 / 2000 + 500 * 3 / 1000
    assert out.loc[0, "expected"] == pytest.approx(expected)
    assert out.loc[0, "value"] == pytest.approx(4 / expected * 100)
    assert out.loc[0, "lower_95"] == pytest.approx(sps.chi2.ppf(0.025, 8) / 2 / expected * 100)
    assert out.loc[0, "upper_95"] == pytest.approx(sps.chi2.ppf(0.975, 10) / 2 / expected * 100)


def test_reference_as_band_mapping(phe_example: pd.DataFrame) -> None:
    ref_count = pd.Series(PHE_REF_COUNT, index=BANDS)
    ref_pop = dict(zip(BANDS, PHE_REF_POP, strict=True))
    out = stats.isratio(phe_example.drop(columns=["ref_count", "ref_pop"]), "deaths", "pop", by="area",
                        age_band="band", reference_count=ref_count, reference_population=ref_pop)
    assert out.loc[0, "value"] == pytest.approx(107.072329, abs=1e-6)
    with pytest.raises(ValueError, match="age_band is required"):
        stats.isratio(phe_example, "deaths", "pop", by="area", reference_count=ref_count,
                      reference_population=ref_pop)
    with pytest.raises(ValueError, match="not in reference_count"):
        stats.isratio(phe_example.assign(band="nonsense"), "deaths", "pop", by="area", age_band="band",
                      reference_count=ref_count, reference_population=ref_pop)


def test_isr_zero_reference_population_raises(phe_example: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="reference_population"):
        stats.isr(phe_example.assign(ref_pop=0), "deaths", "pop", by="area", reference_count="ref_count",
                  reference_population="ref_pop")


def test_isratio_zero_expected_gives_note() -> None:
    df = pd.DataFrame({"o": [2], "n": [100], "R": [0], "N": [1000]})
    out = stats.isratio(df, "o", "n", by=None, reference_count="R", reference_population="N")
    assert out.loc[0, "value_note"] == "Expected count is zero"
    assert np.isnan(out.loc[0, "value"])
