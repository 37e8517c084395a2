"""Deterministic synthetic demonstration data over the real English area list.

``build(data_dir, seed=2024)`` writes a complete store (values, indicators, areas, population) so
a newcomer sees real-looking output at once, without any download. Everything it writes carries
``source = "demonstration (synthetic)"``: the numbers describe no real place.

How it is made (all vectorised; one pass per indicator over every area):

1. Each lower-tier authority (LTLA) gets a synthetic deprivation index ``dep_z`` (a regional and
   area-type effect plus noise) and a population by sex and 5-year age band for each year
   2016–2023 (England-like age structure, younger where more deprived, growth ~0.5% a year).
2. For each of the 35 indicators, LTLA-level counts are drawn from the model of its value type:
   binomial counts for proportions, Poisson counts for crude rates, Poisson age-specific counts
   (Gompertz age curve) for directly standardised rates and life expectancy. Area effects follow
   deprivation (``dep_slope``), a national trend (``trend`` per year) and area-specific trends.
3. Counts and denominators (age-specific where needed) are summed LTLA → UTLA → region → England
   and to England by LTLA deprivation decile (the inequality breakdown), so every level adds up.
4. Values and confidence intervals are then computed from those counts with the proper OHID
   method from :mod:`jsna_lib.stats` (Wilson, Byar, Dobson with ESP2013, Chiang II/Silcocks).

Indicator ids are in a demonstration range (900001–900035), not Fingertips ids, so they can
never be mistaken for published figures. Unitary authorities appear once in ``values`` with
``area_type = "utla"`` (their LTLA row would be identical); consumers select LTLAs through the
geography (districts plus unitaries), never through the values' area_type alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import geography, stats
from .store import Store

SOURCE = "demonstration (synthetic)"
YEARS = np.arange(2016, 2024)  # counts per year; pooled indicators use rolling 3-year sums
FIRST_REPORTED_YEAR = 2018  # 6 reported periods: 2018..2023 (pooled: 2016-18 .. 2021-23)
BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
BAND_LOW = np.arange(0, 95, 5)
BAND_MID = BAND_LOW + 2.5
LE_BANDS = ["0", "1-4", *BANDS[1:]]
DECILE_TYPE = "LTLA deprivation deciles in England (demonstration index)"
DECILE_NAMES = ["Most deprived decile", "Second most deprived decile", "Third more deprived decile",
                "Fourth more deprived decile", "Fifth more deprived decile", "Fifth less deprived decile",
                "Fourth less deprived decile", "Third less deprived decile", "Second least deprived decile",
                "Least deprived decile"]

# England-like share of the population by 5-year band (mid-2020 shape, rounded).
_AGE_SHARE = np.array([5.6, 6.1, 6.1, 5.6, 6.1, 6.7, 6.9, 6.7, 6.3, 6.3, 6.8, 6.8, 6.1, 5.4, 5.3, 3.9, 2.8,
                       1.7, 0.9])
_MALE_SHARE = np.array([0.512, 0.512, 0.513, 0.515, 0.51, 0.50, 0.50, 0.50, 0.495, 0.495, 0.493, 0.49,
                        0.488, 0.48, 0.475, 0.46, 0.44, 0.40, 0.32])
_REGION_DEPRIVATION = {"E12000001": 0.6, "E12000002": 0.5, "E12000003": 0.4, "E12000004": 0.0,
                       "E12000005": 0.3, "E12000006": -0.4, "E12000007": 0.2, "E12000008": -0.6,
                       "E12000009": -0.3}
_TYPE_DEPRIVATION = {"E06": 0.2, "E07": -0.35, "E08": 0.55, "E09": 0.15}
_TYPE_POPULATION = {"E06": 190_000, "E07": 110_000, "E08": 300_000, "E09": 270_000}


@dataclass(frozen=True)
class Spec:
    """How one demonstration indicator is described and generated."""

    indicator_id: int
    name: str
    domain: str
    value_type: str
    unit: str
    multiplier: float
    polarity: str
    comparator_method: str
    kind: str  # proportion | rate | dsr | le | score
    level: float  # England-level value (in the indicator's unit) in the first year
    age: str = "All ages"
    bands: tuple[int, int] = (0, 18)  # first and last 5-year band index of the denominator
    sexes: str = "P"  # P, PMF (persons and split by sex), MF (sexes only, e.g. life expectancy)
    dep_slope: float = 0.2  # log-scale effect of one SD of deprivation
    trend: float = 0.0  # log-scale change per year
    fraction: float = 1.0  # denominator = population in bands x fraction (cohorts, births, registers)
    sample: int = 0  # survey: denominator is a sample of about this size, not the population
    female_only: bool = False
    pooled: int = 1  # years pooled per period
    period_style: str = "calendar"  # calendar | financial | academic
    age_slope: float = 0.0  # Gompertz slope of the age-specific rate (dsr)
    male_ratio: float = 1.0
    definition: str = ""


WIDER, LIFESTYLE, CHILDREN, MORTALITY, LTC, PROTECTION, OLDER, MENTAL = ("Wider determinants of health", "Lifestyle and behaviour", "Children and young people",
                           "Life expectancy and mortality", "Long-term conditions", "Health protection",
                           "Older people", "Mental health")
LOW, HIGH, BOB, NA = "RAG - Low is good", "RAG - High is good", "BOB - Blue orange blue", "Not applicable"
P, R, DSR, LE = "Proportion", "Crude rate", "Directly standardised rate", "Life expectancy"

SPECS: tuple[Spec, ...] = (
    Spec(900001, "Children in absolute low income families (under 16s)", WIDER, P, "%", 100, LOW, "ci_95",
         "proportion", 16.0, "<16 yrs", (0, 2), dep_slope=0.45, trend=0.02, period_style="financial"),
    Spec(900002, "Unemployment (model-based), aged 16-64", WIDER, P, "%", 100, LOW, "ci_95", "proportion", 4.6,
         "16-64 yrs", (3, 12), dep_slope=0.3, trend=-0.03, fraction=0.78),
    Spec(900003, "Statutory homelessness: households in temporary accommodation", WIDER, R, "per 1,000", 1000, LOW,
         "ci_95", "rate", 4.0, "Not applicable", (4, 18), dep_slope=0.35, trend=0.05, fraction=0.43,
         period_style="financial"),
    Spec(900004, "Violent crime: violence offences per 1,000 population", WIDER, R, "per 1,000", 1000, LOW, "ci_99_8",
         "rate", 30.0, "All ages", dep_slope=0.3, trend=0.04, period_style="financial"),
    Spec(900005, "Deprivation score (demonstration index of multiple deprivation)", WIDER, "Score", "score", 1, BOB,
         "quintiles", "score", 21.7),
    Spec(900006, "School readiness: good level of development at the end of Reception", CHILDREN, P, "%", 100, HIGH,
         "ci_95", "proportion", 71.5, "5 yrs", (1, 1), dep_slope=-0.12, trend=0.01, fraction=0.2,
         period_style="academic"),
    Spec(900007, "Smoking prevalence in adults (18+): current smokers", LIFESTYLE, P, "%", 100, LOW, "ci_95",
         "proportion", 14.4, "18+ yrs", (4, 18), dep_slope=0.25, trend=-0.04, sample=900),
    Spec(900008, "Percentage of physically active adults", LIFESTYLE, P, "%", 100, HIGH, "ci_95", "proportion", 66.0,
         "19+ yrs", (4, 18), dep_slope=-0.08, trend=0.004, sample=500, period_style="financial"),
    Spec(900009, "Percentage of adults (18+) classified as overweight or obese", LIFESTYLE, P, "%", 100, LOW, "ci_95",
         "proportion", 62.8, "18+ yrs", (4, 18), dep_slope=0.06, trend=0.005, sample=500,
         period_style="financial"),
    Spec(900010, "Admission episodes for alcohol-specific conditions", LIFESTYLE, DSR, "per 100,000", 100_000, LOW,
         "ci_95", "dsr", 587.0, "All ages", (2, 18), sexes="PMF", dep_slope=0.3, trend=0.0, age_slope=0.01,
         male_ratio=1.9, period_style="financial"),
    Spec(900011, "Year 6 prevalence of obesity (including severe obesity)", CHILDREN, P, "%", 100, LOW, "ci_95",
         "proportion", 21.0, "10-11 yrs", (2, 2), dep_slope=0.22, trend=0.015, fraction=0.19,
         period_style="academic"),
    Spec(900012, "Reception prevalence of obesity (including severe obesity)", CHILDREN, P, "%", 100, LOW, "ci_95",
         "proportion", 9.7, "4-5 yrs", (1, 1), dep_slope=0.25, trend=0.008, fraction=0.19,
         period_style="academic"),
    Spec(900013, "Under 18s conception rate per 1,000 females aged 15 to 17", CHILDREN, R, "per 1,000", 1000, LOW,
         "ci_95", "rate", 16.7, "<18 yrs", (3, 3), dep_slope=0.35, trend=-0.06, fraction=0.6, female_only=True),
    Spec(900014, "Smoking status at time of delivery", CHILDREN, P, "%", 100, LOW, "ci_95", "proportion", 10.6,
         "All ages", (3, 8), dep_slope=0.4, trend=-0.04, fraction=0.06, female_only=True,
         period_style="financial"),
    Spec(900015, "Hospital admissions caused by injuries in children (0-14 years)", CHILDREN, R, "per 10,000", 10_000,
         LOW, "ci_99_8", "rate", 91.2, "0-14 yrs", (0, 2), dep_slope=0.2, trend=-0.03,
         period_style="financial"),
    Spec(900016, "Population vaccination coverage: MMR for two doses (5 years old)", PROTECTION, P, "%", 100, HIGH,
         "ci_95", "proportion", 86.8, "5 yrs", (1, 1), dep_slope=-0.05, trend=-0.004, fraction=0.2,
         period_style="financial"),
    Spec(900017, "Life expectancy at birth", MORTALITY, LE, "years", 1, HIGH, "ci_95", "le", 0.0, "All ages",
         sexes="MF", dep_slope=0.13, trend=-0.004, pooled=3),
    Spec(900018, "Life expectancy at 65", MORTALITY, LE, "years", 1, HIGH, "ci_95", "le", 0.0, "65", sexes="MF",
         dep_slope=0.13, trend=-0.004, pooled=3),
    Spec(900019, "Under 75 mortality rate from all causes", MORTALITY, DSR, "per 100,000", 100_000, LOW, "ci_both", "dsr",
         340.0, "<75 yrs", (0, 14), sexes="PMF", dep_slope=0.2, trend=-0.01, age_slope=0.085,
         male_ratio=1.5),
    Spec(900020, "Under 75 mortality rate from cardiovascular diseases", MORTALITY, DSR, "per 100,000", 100_000, LOW,
         "ci_95", "dsr", 72.0, "<75 yrs", (0, 14), sexes="PMF", dep_slope=0.25, trend=-0.02, age_slope=0.09,
         male_ratio=2.0),
    Spec(900021, "Under 75 mortality rate from cancer", MORTALITY, DSR, "per 100,000", 100_000, LOW, "ci_95", "dsr",
         129.0, "<75 yrs", (0, 14), sexes="PMF", dep_slope=0.12, trend=-0.015, age_slope=0.08,
         male_ratio=1.2),
    Spec(900022, "Suicide rate", MENTAL, DSR, "per 100,000", 100_000, LOW, "ci_95", "dsr", 10.4, "10+ yrs", (2, 18),
         sexes="PMF", dep_slope=0.12, trend=0.01, age_slope=0.0, male_ratio=3.0, pooled=3),
    Spec(900023, "Infant mortality rate", CHILDREN, R, "per 1,000", 1000, LOW, "ci_95", "rate", 3.9, "<1 yr", (0, 0),
         dep_slope=0.25, trend=-0.01, fraction=0.2, pooled=3),
    Spec(900024, "Diabetes: QOF prevalence (17+)", LTC, P, "%", 100, NA, "ci_both", "proportion", 7.1, "17+ yrs",
         (3, 18), dep_slope=0.12, trend=0.02, fraction=1.02, period_style="financial"),
    Spec(900025, "Emergency hospital admissions for COPD (35+)", LTC, DSR, "per 100,000", 100_000, LOW, "ci_95",
         "dsr", 415.0, "35+ yrs", (7, 18), dep_slope=0.4, trend=-0.02, age_slope=0.06, period_style="financial"),
    Spec(900026, "Cancer screening coverage: breast cancer (women aged 53 to 70)", LTC, P, "%", 100, HIGH, "ci_95",
         "proportion", 74.5, "53-70 yrs", (10, 13), dep_slope=-0.1, trend=-0.01, fraction=0.9,
         female_only=True),
    Spec(900027, "Chlamydia detection rate per 100,000 aged 15 to 24", PROTECTION, R, "per 100,000", 100_000, HIGH,
         "ci_95", "rate", 1590.0, "15-24 yrs", (3, 4), dep_slope=0.2, trend=-0.04),
    Spec(900028, "TB incidence (three year average)", PROTECTION, R, "per 100,000", 100_000, LOW, "ci_95", "rate", 8.4,
         "All ages", dep_slope=0.5, trend=-0.02, pooled=3),
    Spec(900029, "Population vaccination coverage: flu (aged 65+)", PROTECTION, P, "%", 100, HIGH, "ci_95", "proportion",
         72.0, "65+ yrs", (13, 18), dep_slope=-0.06, trend=0.012, fraction=0.98, period_style="financial"),
    Spec(900030, "Emergency hospital admissions due to falls in people aged 65 and over", OLDER, DSR, "per 100,000",
         100_000, LOW, "ci_95", "dsr", 2100.0, "65+ yrs", (13, 18), sexes="PMF", dep_slope=0.1, trend=-0.005,
         age_slope=0.09, male_ratio=0.75, period_style="financial"),
    Spec(900031, "Hip fractures in people aged 65 and over", OLDER, DSR, "per 100,000", 100_000, LOW, "ci_95", "dsr",
         550.0, "65+ yrs", (13, 18), sexes="PMF", dep_slope=0.05, trend=-0.01, age_slope=0.12, male_ratio=0.6,
         period_style="financial"),
    Spec(900032, "Estimated dementia diagnosis rate (aged 65 and over)", OLDER, P, "%", 100, HIGH, "ci_95",
         "proportion", 63.0, "65+ yrs", (13, 18), dep_slope=0.03, trend=0.003, fraction=0.07),
    Spec(900033, "Depression: QOF prevalence (18+)", MENTAL, P, "%", 100, BOB, "ci_95", "proportion", 12.3,
         "18+ yrs", (4, 18), dep_slope=0.12, trend=0.05, fraction=1.02, period_style="financial"),
    Spec(900034, "Self-reported wellbeing: people with a low happiness score", MENTAL, P, "%", 100, LOW, "ci_95",
         "proportion", 8.7, "16+ yrs", (3, 18), dep_slope=0.15, trend=0.01, sample=600,
         period_style="financial"),
    Spec(900035, "Emergency hospital admissions for intentional self-harm", MENTAL, DSR, "per 100,000", 100_000, LOW,
         "ci_95", "dsr", 163.0, "All ages", (2, 18), sexes="PMF", dep_slope=0.3, trend=-0.02, age_slope=-0.03,
         male_ratio=0.6, period_style="financial"),
)

_CI_METHOD = {"proportion": "Wilson score", "rate": "Byar's method", "dsr": "Dobson's method",
              "le": "Chiang II with Silcocks variance", "score": "No confidence intervals"}


def _period_labels(spec: Spec, year: np.ndarray) -> np.ndarray:
    """Fingertips-style period text for the (last) year of each period."""
    y = np.asarray(year)
    start = y - (spec.pooled - 1)
    if spec.period_style == "calendar":
        if spec.pooled == 1:
            return y.astype(str)
        return np.char.add(np.char.add(start.astype(str), " - "), np.char.zfill((y % 100).astype(str), 2))
    one = np.char.add(np.char.add(y.astype(str), "/"), np.char.zfill(((y + 1) % 100).astype(str), 2))
    if spec.pooled == 1:
        return one
    first = np.char.add(np.char.add(start.astype(str), "/"), np.char.zfill(((start + 1) % 100).astype(str), 2))
    return np.char.add(np.char.add(first, " - "), np.char.zfill(((y + 1) % 100).astype(str), 2))


def _ltlas(rng: np.random.Generator) -> pd.DataFrame:
    ltla = geography.areas("ltla")[["area_code", "parent_code", "region_code"]].rename(
        columns={"area_code": "ltla_code", "parent_code": "utla_code"}).sort_values("ltla_code")
    ltla = ltla.reset_index(drop=True)
    prefix = ltla["ltla_code"].str[:3]
    dep = (ltla["region_code"].map(_REGION_DEPRIVATION).astype(float)
           + prefix.map(_TYPE_DEPRIVATION).astype(float) + rng.normal(0, 0.75, len(ltla)))
    ltla["dep_z"] = ((dep - dep.mean()) / dep.std()).to_numpy()
    ltla["score"] = np.clip(21.7 + 8.5 * ltla["dep_z"] + rng.normal(0, 1.0, len(ltla)), 4.0, 50.0).round(3)
    rank = ltla["score"].rank(ascending=False, method="first").to_numpy()
    ltla["decile"] = np.ceil(rank / len(ltla) * 10).astype(int)
    ltla["size"] = (prefix.map(_TYPE_POPULATION).astype(float) * np.exp(rng.normal(0, 0.35, len(ltla)))).round()
    ltla["area_noise"] = rng.normal(0, 1, len(ltla))
    ltla["trend_noise"] = rng.normal(0, 1, len(ltla))
    return ltla


def _population(ltla: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Population by LTLA, year, sex and 5-year band (integers)."""
    n, nb = len(ltla), len(BANDS)
    youth = (45 - BAND_MID) / 45  # +1 at birth, -1 at 90
    shares = _AGE_SHARE[None, :] * np.exp(0.12 * ltla["dep_z"].to_numpy()[:, None] * youth[None, :]
                                          + rng.normal(0, 0.05, (n, nb)))
    shares /= shares.sum(axis=1, keepdims=True)
    growth = np.exp((0.005 + rng.normal(0, 0.003, n))[:, None] * (YEARS - YEARS[0])[None, :])  # n x ny
    total = ltla["size"].to_numpy()[:, None] * growth
    persons = total[:, :, None] * shares[:, None, :]  # n x ny x nb
    male = np.rint(persons * _MALE_SHARE[None, None, :])
    female = np.rint(persons * (1 - _MALE_SHARE[None, None, :]))
    idx = pd.MultiIndex.from_product([ltla["ltla_code"], YEARS, ["Male", "Female"], BANDS],
                                     names=["ltla_code", "year", "sex", "age_band"])
    data = np.stack([male, female], axis=2).reshape(-1)  # n, ny, sex, nb
    return pd.DataFrame({"population": data}, index=idx).reset_index()


def _area_factor(spec: Spec, ltla: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Log-scale area effect per LTLA and year (n x len(YEARS))."""
    dep = ltla["dep_z"].to_numpy()
    noise = 0.08 * ltla["area_noise"].to_numpy() + rng.normal(0, 0.06, len(ltla))
    own_trend = spec.trend + (abs(spec.trend) * 0.6 + 0.004) * ltla["trend_noise"].to_numpy()
    t = (YEARS - YEARS[0])[None, :]
    return (spec.dep_slope * dep + noise)[:, None] + own_trend[:, None] * t


def _effect_at(factor: np.ndarray, ltla: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """The area-and-year effect (from :func:`_area_factor`) for each row of ``frame``."""
    row = pd.Index(ltla["ltla_code"]).get_indexer(frame["ltla_code"])
    return factor[row, frame["year"].to_numpy() - YEARS[0]]


def _sex_frame(spec: Spec, pop: pd.DataFrame) -> pd.DataFrame:
    """Population restricted to the indicator's bands and sexes, by LTLA, year, sex, band."""
    lo, hi = spec.bands
    keep = pop["age_band"].isin(BANDS[lo:hi + 1])
    if spec.female_only:
        keep &= pop["sex"] == "Female"
    return pop.loc[keep].reset_index(drop=True)


def _simulate_counts(spec: Spec, ltla: pd.DataFrame, pop: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """LTLA-level counts and denominators (age-specific for DSRs) for one indicator."""
    base = _sex_frame(spec, pop)
    factor = _area_factor(spec, ltla, rng)
    if spec.kind in ("proportion", "rate"):
        grouped = base.groupby(["ltla_code", "year", "sex"], sort=True, as_index=False)["population"].sum()
        effect = _effect_at(factor, ltla, grouped)
        if spec.sample:
            size = spec.sample / 2 * np.exp(rng.normal(0, 0.3, len(grouped)))
            denominator = np.maximum(np.rint(size), 30)
        else:
            denominator = np.rint(grouped["population"].to_numpy() * spec.fraction)
        level = spec.level / spec.multiplier
        if spec.kind == "proportion":
            logit = np.log(level / (1 - level)) + effect
            p = 1 / (1 + np.exp(-logit))
            count = rng.binomial(denominator.astype(np.int64), p)
        else:
            count = rng.poisson(denominator * level * np.exp(effect))
        grouped["count"] = count.astype(float)
        grouped["denominator"] = denominator.astype(float)
        return grouped.drop(columns="population")
    if spec.kind == "dsr":
        mids = BAND_MID[spec.bands[0]:spec.bands[1] + 1]
        weights = stats.ESP2013.to_numpy()[spec.bands[0]:spec.bands[1] + 1]
        shape = np.exp(spec.age_slope * (mids - 60))
        scale = spec.level / spec.multiplier / (np.sum(weights * shape) / np.sum(weights))
        band_pos = pd.Index(BANDS).get_indexer(base["age_band"]) - spec.bands[0]
        effect = _effect_at(factor, ltla, base)
        male = (base["sex"] == "Male").to_numpy()
        sex_effect = np.where(male, np.log(spec.male_ratio) / 2, -np.log(spec.male_ratio) / 2)
        rate = scale * shape[band_pos] * np.exp(effect + sex_effect)
        out = base.rename(columns={"population": "denominator"})
        out["count"] = rng.poisson(out["denominator"].to_numpy() * rate).astype(float)
        return out
    raise ValueError(f"unknown kind {spec.kind!r}")


def _le_counts(spec: Spec, ltla: pd.DataFrame, pop: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Deaths and population by LTLA, year, sex and life-table band (0, 1-4, 5-9 ... 90+)."""
    first = pop[pop["age_band"] == "0-4"]
    infants = first.assign(age_band="0", population=np.rint(first["population"] * 0.2))
    toddlers = first.assign(age_band="1-4", population=first["population"] - infants["population"].to_numpy())
    base = pd.concat([infants, toddlers, pop[pop["age_band"] != "0-4"]], ignore_index=True)
    factor = _area_factor(spec, ltla, rng)
    effect = _effect_at(factor, ltla, base)
    low = np.array([0, 1, *range(5, 95, 5)])
    band_low = low[pd.Index(LE_BANDS).get_indexer(base["age_band"])]
    male = (base["sex"] == "Male").to_numpy()
    # Gompertz-Makeham mortality with an infant term, calibrated to England-like life expectancy.
    mort = 0.00012 + np.where(male, 0.0000235, 0.0000165) * np.exp(0.0975 * (band_low + 2.5))
    mort = np.where(band_low == 0, np.where(male, 0.0042, 0.0035), mort)
    mort = np.where(band_low == 1, 0.00012, mort)
    out = base.assign(count=rng.poisson(base["population"].to_numpy() * mort * np.exp(effect)).astype(float))
    return out.rename(columns={"population": "denominator"})


def _membership(ltla: pd.DataFrame, utla_codes: set[str]) -> pd.DataFrame:
    """Which reported areas each LTLA's counts add into (itself, its UTLA, region, England, decile)."""
    code = ltla["ltla_code"]
    parts = [
        pd.DataFrame({"ltla_code": code, "area_code": code,
                      "area_type": np.where(code.isin(utla_codes), "utla", "ltla")}),
        pd.DataFrame({"ltla_code": code, "area_code": ltla["utla_code"], "area_type": "utla"}),
        pd.DataFrame({"ltla_code": code, "area_code": ltla["region_code"], "area_type": "region"}),
        pd.DataFrame({"ltla_code": code, "area_code": "E92000001", "area_type": "england"}),
    ]
    member = pd.concat(parts, ignore_index=True).drop_duplicates(["ltla_code", "area_code"])
    member["category_type"] = ""
    member["category"] = ""
    deciles = pd.DataFrame({"ltla_code": code, "area_code": "E92000001", "area_type": "england",
                            "category_type": DECILE_TYPE,
                            "category": np.array(DECILE_NAMES)[ltla["decile"].to_numpy() - 1]})
    return pd.concat([member, deciles], ignore_index=True)


def _aggregate(counts: pd.DataFrame, member: pd.DataFrame, spec: Spec, extra_keys: list[str]) -> pd.DataFrame:
    """Sum LTLA counts into every reported area and sex (Persons = Male + Female), pooling years."""
    if spec.pooled > 1:
        # Every LTLA x sex (x band) has all YEARS, so after sorting the counts form a matrix with one
        # row per series and one column per year; a rolling sum is a sum of shifted columns.
        counts = counts.sort_values(["ltla_code", "sex", *extra_keys, "year"]).reset_index(drop=True)
        ny = len(YEARS)
        pooled = {}
        for column in ("count", "denominator"):
            matrix = counts[column].to_numpy().reshape(-1, ny)
            csum = np.cumsum(matrix, axis=1)
            rolled = csum.copy()
            rolled[:, spec.pooled:] = csum[:, spec.pooled:] - csum[:, :-spec.pooled]
            rolled[:, :spec.pooled - 1] = np.nan
            pooled[column] = rolled.reshape(-1)
        counts = counts.assign(**pooled).dropna(subset=["count"])
    counts = counts[counts["year"] >= FIRST_REPORTED_YEAR]
    merged = counts.merge(member, on="ltla_code")
    keys = ["area_code", "area_type", "category_type", "category", "year", *extra_keys]
    by_sex = merged.groupby([*keys, "sex"], as_index=False, sort=False)[["count", "denominator"]].sum()
    frames = []
    if spec.sexes == "MF":
        frames.append(by_sex)  # sexes only (life expectancy), with the deprivation breakdown
    elif spec.sexes == "PMF":
        frames.append(by_sex[by_sex["category_type"] == ""])
    if spec.sexes in ("P", "PMF"):
        persons = by_sex.groupby(keys, as_index=False, sort=False)[["count", "denominator"]].sum()
        frames.append(persons.assign(sex="Persons"))
    if spec.female_only:
        frames = [by_sex.assign(sex="Female")]
    return pd.concat(frames, ignore_index=True)


KEYS = ["area_code", "area_type", "category_type", "category", "year", "sex"]


def _values_for(spec: Spec, ltla: pd.DataFrame, pop: pd.DataFrame, member: pd.DataFrame,
                rng: np.random.Generator) -> pd.DataFrame:
    """Canonical values rows (every area, sex and period) for one indicator."""
    if spec.kind == "score":
        weight = pop[pop["year"] == 2019].groupby("ltla_code")["population"].sum()
        frame = ltla.assign(count=ltla["score"] * ltla["ltla_code"].map(weight).to_numpy(),
                            denominator=ltla["ltla_code"].map(weight).to_numpy(), sex="Persons", year=2019)
        merged = frame[["ltla_code", "count", "denominator", "sex", "year"]].merge(member, on="ltla_code")
        merged = merged[merged["category_type"] == ""]
        out = merged.groupby(KEYS, as_index=False)[["count", "denominator"]].sum()
        out["value"] = (out["count"] / out["denominator"]).round(3)
        out["count"] = np.nan
        out["denominator"] = np.nan
        out["period"] = "2019"
        out["period_sort"] = 20190000
        return out
    if spec.kind == "le":
        counts = _le_counts(spec, ltla, pop, rng)
        agg = _aggregate(counts, member, spec, ["age_band"])
        at_age = 65 if spec.age == "65" else 0
        result = stats.life_expectancy(agg, "count", "denominator", by=KEYS, age_band="age_band",
                                       at_ages=(at_age,))
        result = result.drop(columns=[c for c in ("age_from", "at_age") if c in result.columns])
    elif spec.kind == "dsr":
        counts = _simulate_counts(spec, ltla, pop, rng)
        agg = _aggregate(counts, member, spec, ["age_band"])
        standard = stats.ESP2013.iloc[spec.bands[0]:spec.bands[1] + 1]
        result = stats.dsr(agg, "count", "denominator", by=KEYS, age_band="age_band", standard=standard,
                           multiplier=spec.multiplier)
    else:
        counts = _simulate_counts(spec, ltla, pop, rng)
        agg = _aggregate(counts, member, spec, [])
        method = stats.proportion if spec.kind == "proportion" else stats.rate
        result = method(agg, "count", "denominator", by=KEYS, multiplier=spec.multiplier)
    year = result["year"].to_numpy()
    result["period"] = _period_labels(spec, year)
    result["period_sort"] = (year - (spec.pooled - 1)) * 10000
    return result


def indicators_table() -> pd.DataFrame:
    """The demonstration indicators' metadata (canonical ``indicators`` table)."""
    return pd.DataFrame({
        "indicator_id": [s.indicator_id for s in SPECS],
        "name": [s.name for s in SPECS],
        "domain": [s.domain for s in SPECS],
        "value_type": [s.value_type for s in SPECS],
        "unit": [s.unit for s in SPECS],
        "multiplier": [float(s.multiplier) for s in SPECS],
        "polarity": [s.polarity for s in SPECS],
        "comparator_method": [s.comparator_method for s in SPECS],
        "ci_method": [_CI_METHOD[s.kind] for s in SPECS],
        "definition": [s.definition or f"Demonstration indicator modelled on '{s.name}' ({s.age}); synthetic values."
                       for s in SPECS],
        "source": SOURCE,
    })


def generate(seed: int = 2024) -> dict[str, pd.DataFrame]:
    """Generate the demonstration tables (values, indicators, areas, population) in memory."""
    rng = np.random.default_rng(seed)
    ltla = _ltlas(rng)
    pop = _population(ltla, rng)
    utla_codes = set(geography.areas("utla")["area_code"])
    member = _membership(ltla, utla_codes)
    frames = []
    for spec in SPECS:  # one vectorised pass per indicator
        values = _values_for(spec, ltla, pop, member, rng)
        frames.append(values.assign(indicator_id=spec.indicator_id, age=spec.age))
    values = pd.concat(frames, ignore_index=True)
    columns = ["indicator_id", "area_code", "area_type", "sex", "age", "category_type", "category", "period",
               "period_sort", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator",
               "value_note"]
    for column in columns:
        if column not in values.columns:
            values[column] = np.nan if column != "value_note" else ""
    values = values[columns].sort_values(["indicator_id", "area_code", "sex", "category_type", "category",
                                          "period_sort"], kind="stable").reset_index(drop=True)

    population = _population_table(pop, member)
    areas = geography.areas()
    return {"values": values, "indicators": indicators_table(), "areas": areas, "population": population}


def _population_table(pop: pd.DataFrame, member: pd.DataFrame) -> pd.DataFrame:
    whole = member[member["category_type"] == ""][["ltla_code", "area_code"]]
    merged = pop.merge(whole, on="ltla_code")
    by_sex = merged.groupby(["area_code", "year", "sex", "age_band"], as_index=False, sort=False)["population"].sum()
    persons = by_sex.groupby(["area_code", "year", "age_band"], as_index=False, sort=False)["population"].sum()
    out = pd.concat([by_sex, persons.assign(sex="Persons")], ignore_index=True)
    out["age_band"] = pd.Categorical(out["age_band"], categories=BANDS, ordered=True)
    out = out.sort_values(["area_code", "year", "sex", "age_band"]).reset_index(drop=True)
    out["age_band"] = out["age_band"].astype(str)
    return out


def build(data_dir: str | os.PathLike[str], seed: int = 2024) -> Store:
    """Build the demonstration store in ``data_dir`` (atomic per table) and return it."""
    tables = generate(seed)
    store = Store(data_dir, create=True)
    store.write_many(tables, source=SOURCE, seed=seed)
    return store
