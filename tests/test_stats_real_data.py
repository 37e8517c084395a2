"""Recompute published Fingertips confidence intervals from their Count and Denominator.

Two real sources (see ../shared/data/README.md):

* the Fingertips export for campylobacter incidence (crude rate per 100,000);
* every proportion and crude-rate indicator of FingertipsNext's North West extract.

A published number "matches" when ours agrees with it to 4 significant figures: within half a
unit of its 4th significant figure. Every row that does not match must fall under one of the
explicit rules below, and each rule is itself checked by recomputation (e.g. "published with
exact Poisson limits" means the exact limits do match at 4 significant figures), so a rule
can only absorb rows it actually explains. The measured counts are asserted, and summarised
in docs/stats_agreement.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jsna_lib import stats

pytestmark = pytest.mark.shared_data

Z95 = 1.959963984540054


def sig4(ours: object, published: object) -> np.ndarray:
    """True where ours agrees with the published number to 4 significant figures."""
    a = np.asarray(ours, dtype=float)
    b = np.asarray(published, dtype=float)
    exponent = np.floor(np.log10(np.where(b == 0, 1.0, np.abs(b))))
    tol = np.where(b == 0, 1e-9, 0.5 * 10.0 ** (exponent - 3))
    return np.abs(a - b) <= tol * (1 + 1e-9)


def decimals(published: object) -> np.ndarray:
    """How many decimal places a published number was rounded to (99 if more than 6)."""
    b = np.asarray(published, dtype=float)
    out = np.full(b.shape, 99)
    for k in range(6, -1, -1):
        out = np.where(np.abs(np.round(b, k) - b) <= 1e-9 * np.maximum(1.0, np.abs(b)), k, out)
    return out


def at_published_precision(ours: object, published: object) -> np.ndarray:
    """True where the published number has fewer than 4 significant figures (it was rounded to
    d decimal places) and ours rounds to it."""
    a = np.asarray(ours, dtype=float)
    b = np.asarray(published, dtype=float)
    k = decimals(b)
    figures = np.where(b == 0, 0, np.floor(np.log10(np.where(b == 0, 1.0, np.abs(b)))) + 1 + k)
    return (k < 99) & (figures < 4) & (np.abs(a - b) <= 0.5 * 10.0 ** (-k.astype(float)) + 1e-9)


def byar_limits(count: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Byar's formula (Breslow & Day 1987) for every count, written out here."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = count * (1 - 1 / (9 * count) - z / (3 * np.sqrt(count))) ** 3
        upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * np.sqrt(count + 1))) ** 3
    return np.where(count == 0, 0.0, lower), upper


def classify(rules: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """The first rule that holds for each row, or 'UNEXPLAINED'."""
    out = np.full(n, "UNEXPLAINED", dtype=object)
    done = np.zeros(n, dtype=bool)
    for name, mask in rules:
        hit = np.asarray(mask, dtype=bool) & ~done
        out[hit] = name
        done |= hit
    return out


# --------------------------------------------------------------------------------------------
# Campylobacter (Fingertips "Download data" export, indicator 93356)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def campylobacter(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "fingertips" / "exports" / "indicators-CountyUA.data__campylobacter_2015.csv"
    return pd.read_csv(path)


def test_campylobacter_rows_without_published_intervals(campylobacter: pd.DataFrame) -> None:
    # 97 of 852 rows have no published 95% interval: 87 "Aggregated from all known lower
    # geography values" (England, regions, deprivation deciles) and 10 with no count
    # (City of London and Isles of Scilly, combined with Hackney and Cornwall). Not comparable.
    no_ci = campylobacter[campylobacter["Lower CI 95.0 limit"].isna()]
    assert len(campylobacter) == 852
    assert no_ci["Value note"].value_counts().to_dict() == {
        "Aggregated from all known lower geography values": 87,
        "Value for Cornwall & Isles of Scilly combined": 5,
        "Value for Hackney and City of London combined": 5,
    }
    assert campylobacter["Lower CI 99.8 limit"].isna().all()  # only 95% limits are published


def test_campylobacter_crude_rates(campylobacter: pd.DataFrame) -> None:
    rows = campylobacter.dropna(subset=["Count", "Denominator", "Lower CI 95.0 limit"]).reset_index(drop=True)
    ours = stats.rate(rows, "Count", "Denominator", confidence=0.95)
    lower, upper = rows["Lower CI 95.0 limit"], rows["Upper CI 95.0 limit"]
    match = sig4(ours["value"], rows["Value"]) & sig4(ours["lower_95"], lower) & sig4(ours["upper_95"], upper)

    exact = stats.rate(rows, "Count", "Denominator", confidence=0.95, method="exact")
    exact_ok = sig4(exact["lower_95"], lower) & sig4(exact["upper_95"], upper)
    count = rows["Count"].to_numpy()
    b_lo, b_up = byar_limits(count, 1.96)  # z rounded to 1.96, as the spreadsheet tools did
    byar_ok = sig4(b_lo / rows["Denominator"] * 1e5, lower) & sig4(b_up / rows["Denominator"] * 1e5, upper)
    cls = classify(
        [
            ("match", match),
            ("published exact Poisson for a count >= 10", exact_ok & (count >= 10)),
            ("published Byar's (z = 1.96) for a count < 10", byar_ok & (count < 10)),
        ],
        len(rows),
    )
    counts = pd.Series(cls).value_counts().to_dict()
    print("\ncampylobacter:", counts, f"match rate {match.mean():.2%}")
    assert counts == {
        "match": 732,
        "published Byar's (z = 1.96) for a count < 10": 20,
        "published exact Poisson for a count >= 10": 3,
    }
    # The two alternatives are what this export used throughout: exact Poisson limits for the
    # "All ages" rows, Byar's method (z = 1.96) for the "0-9 yrs" rows, at every count.
    all_ages = (rows["Age"] == "All ages").to_numpy()
    assert exact_ok[all_ages].all()
    assert byar_ok[~all_ages].all()
    assert set(rows.loc[cls == "published exact Poisson for a count >= 10", "Age"]) == {"All ages"}
    assert set(rows.loc[cls == "published Byar's (z = 1.96) for a count < 10", "Age"]) == {"0-9 yrs"}


# --------------------------------------------------------------------------------------------
# FingertipsNext North West extract: all proportion and crude-rate indicators
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fingertipsnext(shared_data: Path) -> pd.DataFrame:
    folder = shared_data / "fingertips"
    data = pd.read_csv(folder / "fingertipsnext_healthdata_nw.csv.gz", low_memory=False)
    types = pd.read_csv(folder / "metadata" / "fingertipsnext_datacreator_indicators.csv")
    methods = pd.read_csv(folder / "metadata" / "fingertipsnext_indicator_metadata.csv").set_index("indicatorID")
    data = data.drop_duplicates()  # 2,493 exact duplicate rows (areas reached through two parents)
    data["value_type"] = data["IndicatorId"].map(types.set_index("IndicatorID")["ValueType"])
    data["ci_method"] = data["IndicatorId"].map(methods["ciMethod"])
    data["ci_details"] = data["IndicatorId"].map(methods["ciMethodDetails"]).fillna("")
    data["rounding"] = data["IndicatorId"].map(methods["rounding"]).fillna("")
    return data


def test_fingertipsnext_scope(fingertipsnext: pd.DataFrame) -> None:
    # 92026 has no value type in the DataCreator metadata (and no counts): not in scope.
    assert fingertipsnext.loc[fingertipsnext["IndicatorId"] == 92026, "value_type"].isna().all()
    scoped = fingertipsnext[fingertipsnext["value_type"].isin(["Proportion", "Crude rate"])]
    assert sorted(scoped["IndicatorId"].unique()) == [
        241, 247, 352, 383, 20401, 30302, 41203, 90453, 91040, 91894, 92033, 92266, 92904, 93015,
        93085, 93088, 93124, 93474, 93701, 93861, 94063, 94103,
    ]
    comparable = scoped.dropna(subset=["Count", "Denominator", "LowerCI", "UpperCI", "Value"])
    # 352, 383, 90453 (no CI published), 92033, 93088, 93861 (no count) drop out entirely.
    assert len(scoped) == 12_642
    assert len(comparable) == 7_060


def test_fingertipsnext_proportions_and_crude_rates(fingertipsnext: pd.DataFrame) -> None:
    rows = (
        fingertipsnext[fingertipsnext["value_type"].isin(["Proportion", "Crude rate"])]
        .dropna(subset=["Count", "Denominator", "LowerCI", "UpperCI", "Value"])
        .reset_index(drop=True)
    )
    # Multiplier per indicator: the power of ten nearest to median(Value / (Count / Denominator)).
    ratio = (rows["Value"] / (rows["Count"] / rows["Denominator"])).groupby(rows["IndicatorId"]).median()
    multiplier = 10.0 ** np.round(np.log10(ratio))
    rows["multiplier"] = rows["IndicatorId"].map(multiplier)
    is_prop = (rows["value_type"] == "Proportion").to_numpy()
    # percentages, except 93015 (10,000: its Count is not the numerator of a modelled
    # prevalence; excluded below by its CI method)
    assert multiplier[rows.loc[is_prop, "IndicatorId"].unique()].drop(93015).eq(100.0).all()
    assert set(multiplier[rows.loc[~is_prop, "IndicatorId"].unique()]) == {1000.0, 100_000.0}

    ours = pd.DataFrame(index=rows.index, columns=["value", "lower_95", "upper_95"], dtype=float)
    for (value_type, mult), part in rows.groupby(["value_type", "multiplier"]):
        fn = stats.proportion if value_type == "Proportion" else stats.rate
        ours.loc[part.index] = fn(part, "Count", "Denominator", confidence=0.95, multiplier=mult)[ours.columns]
    pub = {"value": rows["Value"], "lower_95": rows["LowerCI"], "upper_95": rows["UpperCI"]}
    ok = {c: sig4(ours[c], pub[c]) for c in pub}
    match = ok["value"] & ok["lower_95"] & ok["upper_95"]

    x = rows["Count"].to_numpy()
    n = rows["Denominator"].to_numpy()
    m = rows["multiplier"].to_numpy()

    # Rule 1: the metadata gives a different CI method ("Other method": modelled prevalence
    # 93015, 94103; 93701's Wilson with an adjustment for children in the same family).
    method_differs = (
        ~rows["ci_method"].isin(["Wilson Score method", "Byar's method"])
        | rows["ci_details"].str.contains("adjustment", case=False)
    ).to_numpy()

    # Rule 2: published rounded to fewer than 4 significant figures; ours agrees at that precision.
    rounded = np.all([ok[c] | at_published_precision(ours[c], pub[c]) for c in pub], axis=0)

    # Rule 3: counts rounded to the nearest 5 before publication (metadata "rounding"); the
    # published value and limits lie within ours for the count -/+ 2.5.
    def rate_limits(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = stats.rate(pd.DataFrame({"o": count, "n": n}), "o", "n", confidence=0.95)
        return r["lower_95"].to_numpy() / 1e5 * m, r["upper_95"].to_numpy() / 1e5 * m

    lo_minus, up_minus = rate_limits(np.maximum(x - 2.5, 0))
    lo_plus, up_plus = rate_limits(x + 2.5)

    def between(published: pd.Series, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        p = published.to_numpy()
        return (p >= np.minimum(a, b) * (1 - 5e-4)) & (p <= np.maximum(a, b) * (1 + 5e-4))

    rounded_to_5 = (
        ~is_prop
        & rows["rounding"].str.contains("rounded to the nearest 5").to_numpy()
        & (x % 5 == 0)
        & between(rows["LowerCI"], lo_minus, lo_plus)
        & between(rows["UpperCI"], up_minus, up_plus)
        & between(rows["Value"], np.maximum(x - 2.5, 0) / n * m, (x + 2.5) / n * m)
    )

    # Rule 4: crude rate published with exact Poisson limits although the count is >= 10.
    exact = stats.rate(rows, "Count", "Denominator", confidence=0.95, method="exact")
    exact_limits = (
        ~is_prop & ok["value"]
        & sig4(exact["lower_95"].to_numpy() * m / 1e5, rows["LowerCI"])
        & sig4(exact["upper_95"].to_numpy() * m / 1e5, rows["UpperCI"])
    )

    # Rule 5: the published "limits" are the Poisson limits of the count itself, not of the
    # rate (not divided by the denominator): a source data error.
    of_count = stats.rate(rows.assign(one=1.0), "Count", "one", confidence=0.95, multiplier=1)
    count_limits = ~is_prop & sig4(of_count["lower_95"], rows["LowerCI"]) & sig4(of_count["upper_95"], rows["UpperCI"])

    # Rule 6: the published interval is Wilson's interval for a count and denominator within 2%
    # of the published ones (found by inverting the published interval): the interval was
    # computed from different numbers than those published.
    c = ((rows["LowerCI"] + rows["UpperCI"]) / 2 / m).to_numpy()
    h = ((rows["UpperCI"] - rows["LowerCI"]) / 2 / m).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        big_n = Z95**2 * c * (1 - c) / h**2
        for _ in range(60):  # fixed point of the Wilson half-width equation for N = n' + z^2
            x_alt = c * big_n - Z95**2 / 2
            n_alt = big_n - Z95**2
            big_n = Z95 * np.sqrt(x_alt * (n_alt - x_alt) / n_alt + Z95**2 / 4) / h
        x_alt = c * big_n - Z95**2 / 2
        n_alt = big_n - Z95**2
        usable = is_prop & np.isfinite(x_alt) & np.isfinite(n_alt) & (n_alt > 0)
        n_try = np.where(usable, n_alt, 1.0)
        x_try = np.where(usable, np.clip(x_alt, 0, n_try), 0.0)
        alt = stats.proportion(pd.DataFrame({"x": x_try, "n": n_try}), "x", "n", confidence=0.95, multiplier=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        near = (np.abs(n_alt / n - 1) <= 0.02) & (np.abs(x_alt / x - 1) <= 0.02)
    other_numbers = (
        usable & ok["value"] & near
        & sig4(alt["lower_95"].to_numpy() * m, rows["LowerCI"])
        & sig4(alt["upper_95"].to_numpy() * m, rows["UpperCI"])
    )

    # Rule 7: the limits match ours but the published value is not Count / Denominator.
    value_only = ok["lower_95"] & ok["upper_95"] & ~ok["value"]

    cls = classify(
        [
            ("match", match),
            ("CI method differs (metadata)", method_differs),
            ("published rounding", rounded),
            ("counts rounded to nearest 5", rounded_to_5),
            ("published exact Poisson for a count >= 10", exact_limits),
            ("published limits are the count's, not the rate's", count_limits),
            ("Wilson interval of numbers <2% from those published", other_numbers),
            ("published value is not Count/Denominator", value_only),
        ],
        len(rows),
    )
    rows["class"] = cls
    table = pd.crosstab(rows["IndicatorId"], rows["class"], margins=True)
    print("\n", table.to_string())
    implemented = cls != "CI method differs (metadata)"
    print(f"match {match.sum()}/{len(rows)} = {match.mean():.2%}; rows whose method we implement: "
          f"{match.sum()}/{implemented.sum()} = {match.sum() / implemented.sum():.2%}; "
          f"within published precision: {(match | (cls == 'published rounding')).sum()}/{implemented.sum()}")

    assert (cls == "UNEXPLAINED").sum() == 0, rows.loc[cls == "UNEXPLAINED"].head(10).to_string()
    assert pd.Series(cls).value_counts().to_dict() == {
        "match": 5803,
        "published rounding": 322,
        "CI method differs (metadata)": 312,
        "counts rounded to nearest 5": 310,
        "Wilson interval of numbers <2% from those published": 270,
        "published limits are the count's, not the rate's": 38,
        "published value is not Count/Denominator": 4,
        "published exact Poisson for a count >= 10": 1,
    }

    def ids(name: str) -> set[int]:
        return set(rows.loc[cls == name, "IndicatorId"])

    # Each explanation is confined to where the metadata or the source says it applies.
    assert ids("CI method differs (metadata)") == {93015, 93701, 94103}
    assert ids("counts rounded to nearest 5") == {92904}
    assert ids("Wilson interval of numbers <2% from those published") == {241, 247}
    assert set(rows.loc[cls == "Wilson interval of numbers <2% from those published", "AreaCode"].str[:3]) <= {
        "E06", "E07", "E08", "E10"  # local authorities only: built from GP practice data
    }
    assert ids("published limits are the count's, not the rate's") == {93124}
    # 100% of the rows whose method we implement and whose published numbers are not affected
    # by one of the listed issues match to 4 significant figures (by construction of the
    # classes above, checked here explicitly).
    clean = implemented & ~np.isin(cls, [
        "published rounding", "counts rounded to nearest 5", "published exact Poisson for a count >= 10",
        "published limits are the count's, not the rate's", "Wilson interval of numbers <2% from those published",
        "published value is not Count/Denominator",
    ])
    assert match[clean].all() and clean.sum() == 5803
