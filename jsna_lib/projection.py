"""Simple projections for the JSNA: "describe the future health and wellbeing of the population".

Two trend extrapolations, both vectorised over every series at once, both stating their
uncertainty. They are *trend continuations*, not forecasts: they say where the area would be
if the recent past simply continued. The official population figures are the ONS
sub-national population projections; use these only to show direction and scale.

Population by broad age group (:func:`project_population`)
-----------------------------------------------------------
For each area and broad age group (:data:`AGE_GROUPS`: 0-14, 15-64, 65-74, 75-84, 85+, and
all ages fitted on its own), the yearly totals ``P_t`` of the store's ``population`` table
(males plus females, else persons) are fitted with a **log-linear trend** by ordinary least
squares on the log scale::

    y_t = ln P_t = a + b t          (t = calendar year; n years, n >= 4)
    b = Σ (t - t̄)(y_t - ȳ) / Sxx,   Sxx = Σ (t - t̄)²,   a = ȳ - b t̄
    s² = Σ (y_t - a - b t)² / (n - 2)

so ``exp(b) - 1`` is the average yearly growth. The projection for year ``t0`` is ``exp(a +
b t0)`` with the **prediction interval** (a new year's total, not just the trend line)::

    exp( a + b t0  ±  t_{n-2, (1+level)/2} · s · sqrt(1 + 1/n + (t0 - t̄)² / Sxx) )

which widens with the distance from the fitted years. The interval reflects how closely the
past years follow the trend; it cannot reflect a change of trend (new housing, migration).
The all-ages line is its own fit, so it can differ slightly from the sum of the groups.

Indicators (:func:`project_indicators`)
---------------------------------------
For each indicator series (area, indicator, sex, age) the last ``points`` values (default 5,
the same window as the Fingertips recent-trend marker; at least 4) are fitted with a straight
line against the first year of each period (``2021/22`` → 2021, ``2019 - 21`` → 2019), by
**weighted least squares with weights** ``w = 1/SE²``, ``SE = (upper_95 - lower_95)/3.92``
(unweighted when a point has no interval)::

    t̄ = Σ w t / Σ w,   Sxx = Σ w (t - t̄)²,   b = Σ w (t - t̄)(v - v̄) / Sxx,   a = v̄ - b t̄
    φ = Σ w (v - a - b t)² / (n - 2)        (dispersion of the points about the line)

The projected value at ``t0`` is ``a + b t0`` with the **confidence interval of the extended
trend line** ``± t_{n-2, (1+level)/2} · sqrt(φ' (1/Σw + (t0 - t̄)²/Sxx))``, where ``φ' =
max(φ, 1)`` when the weights are inverse variances (the points' own sampling error is the
floor; extra scatter widens the interval) and ``φ' = φ`` for unweighted fits. A published
value for that period would also carry its own sampling error, so it can fall outside. Values
and limits are kept in range: proportions within 0 to the multiplier (100 for a percentage),
rates, ratios and counts at 0 or above.

Projected periods are labelled like the data: ``2023/24`` five years on is ``2028/29``,
``2021 - 23`` is ``2026 - 28``.

Charts (:func:`population_chart`, :func:`indicator_chart`, :func:`indicator_charts`) draw the
results as fan charts: observed values solid, the projection dashed with its interval shaded.
They are built in :mod:`jsna_lib.charts.outlook`; the functions here call it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats  # imported here so that `jsna batch` preloads it

from . import palette

if TYPE_CHECKING:
    from .charts._spec import Chart

__all__ = [
    "AGE_GROUPS",
    "ALL_AGES",
    "HORIZON",
    "POINTS",
    "age_group_of",
    "age_structure",
    "indicator_chart",
    "indicator_charts",
    "indicator_summary",
    "period_year",
    "population_chart",
    "population_summary",
    "project_indicators",
    "project_population",
    "shift_period",
]

#: Broad age groups (label, first age, last age or None for open-ended), on 5-year band edges.
AGE_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("0-14", 0, 14), ("15-64", 15, 64), ("65-74", 65, 74), ("75-84", 75, 84), ("85+", 85, None))
ALL_AGES = palette.ALL_AGES
#: Years (population) or periods (indicators) projected beyond the latest data.
HORIZON = 5
#: Latest points of an indicator series used for its trend line.
POINTS = 5
#: Fewest years (population) or values (indicators) fitted: 2 degrees of freedom for the interval.
MIN_POINTS = 4
_CI_WIDTH_SE = 3.92  # (upper_95 - lower_95) / SE for a 95% interval
_BOUNDED = {"Proportion"}
_NON_NEGATIVE = {"Proportion", "Crude rate", "Directly standardised rate", "Indirectly standardised ratio",
                 "Indirectly standardised rate", "Count"}


# ============================================================================= helpers
def _t_quantile(level: float, dof: np.ndarray) -> np.ndarray:
    """Two-sided Student t quantile for ``level`` with ``dof`` degrees of freedom (NaN where dof < 1)."""
    dof = np.asarray(dof, dtype=float)
    out = np.full(dof.shape, np.nan)
    ok = dof >= 1
    out[ok] = scipy_stats.t.ppf((1 + level) / 2, dof[ok])
    return out


def _check_level(level: float) -> None:
    if not 0.5 < float(level) < 1:
        raise ValueError(f"level must be between 0.5 and 1 (e.g. 0.95), got {level!r}")


def _check_horizon(horizon: int) -> None:
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a whole number of years of at least 1, got {horizon!r}")


def age_group_of(age_band: Any, groups: Sequence[tuple[str, int, int | None]] = AGE_GROUPS) -> pd.Series:
    """The broad age group of each age band, by the band's first age ("0-4" → 0, "85-89" → 85,
    "90+" → 90, "<1" → 0). Bands whose first age is in no group give an empty string."""
    bands = pd.Series(age_band, dtype="string").fillna("").str.strip()
    start = pd.to_numeric(bands.str.extract(r"(\d+)", expand=False), errors="coerce")
    start = start.where(~bands.str.startswith(("<", "Under", "under")), 0).to_numpy(dtype=float)
    label = np.full(len(bands), "", dtype=object)
    for name, first, last in groups:
        inside = (start >= first) & ((start <= last) if last is not None else np.isfinite(start))
        label[inside] = name
    return pd.Series(label, index=bands.index, dtype=object)


def period_year(period: Any) -> pd.Series:
    """The first year of each period label as a number: ``2021/22`` → 2021, ``2019 - 21`` → 2019,
    ``2023`` → 2023, ``Q1 2022/23`` → 2022 (NaN when the label holds no 4-digit year)."""
    text = pd.Series(period, dtype="string").fillna("")
    return pd.to_numeric(text.str.extract(r"((?:19|20)\d\d)", expand=False), errors="coerce").astype(float)


_YEAR_NUMBER = re.compile(r"(?<!\d)(\d{4}|\d{2})(?!\d)")


def _shift_label(label: str, years: int) -> str:
    """One label moved on by ``years`` (see :func:`shift_period`)."""
    seen_year = False

    def move(match: re.Match[str]) -> str:
        nonlocal seen_year
        digits = match.group(0)
        if len(digits) == 4:
            seen_year = True
            return f"{int(digits) + years:04d}"
        return f"{(int(digits) + years) % 100:02d}" if seen_year else digits

    return _YEAR_NUMBER.sub(move, label)


def shift_period(period: Any, years: Any) -> pd.Series:
    """Period labels moved on by ``years`` (per label or one number), in the labels' own style:
    ``2023`` → ``2028``, ``2023/24`` → ``2028/29``, ``2021 - 23`` → ``2026 - 28``,
    ``2019/20 - 21/22`` → ``2024/25 - 26/27``, ``Q1 2022/23`` → ``Q1 2027/28``. Each 4-digit
    year moves by ``years`` and each 2-digit year after it moves with it (modulo 100); labels
    without a year are returned unchanged. Each distinct (label, shift) pair is worked out once."""
    text = pd.Series(period, dtype="string").fillna("").astype(object).reset_index(drop=True)
    shift = pd.Series(np.broadcast_to(np.asarray(years, dtype=int), (len(text),)))
    pairs = pd.DataFrame({"label": text, "shift": shift})
    unique = pairs.drop_duplicates().reset_index(drop=True)
    unique["shifted"] = [_shift_label(str(label), int(k)) for label, k in zip(unique["label"], unique["shift"],
                                                                              strict=True)]
    return pairs.merge(unique, on=["label", "shift"], how="left")["shifted"].astype(object)


def _group_sums(codes: np.ndarray, n_groups: int, *arrays: np.ndarray) -> list[np.ndarray]:
    return [np.bincount(codes, weights=a, minlength=n_groups) for a in arrays]


# ============================================================================= population
def _population_by_group(population: pd.DataFrame, groups: Sequence[tuple[str, int, int | None]]) -> pd.DataFrame:
    needed = {"area_code", "year", "sex", "age_band", "population"}
    missing = sorted(needed - set(population.columns))
    if missing:
        raise ValueError(f"project_population: the population table lacks column(s) {', '.join(missing)}")
    pop = population[list(needed)].copy()
    pop["sex"] = pop["sex"].astype("string").fillna("")
    pop["area_code"] = pop["area_code"].astype("string").str.strip().str.upper()
    pop["year"] = pd.to_numeric(pop["year"], errors="coerce")
    pop["population"] = pd.to_numeric(pop["population"], errors="coerce")
    if (pop["population"] < 0).any():
        raise ValueError("project_population: negative population in rows "
                         f"{', '.join(map(str, np.flatnonzero((pop['population'] < 0).to_numpy())[:5]))}")
    # Males plus females where an area-year has them, else its persons rows.
    by_sex = pop["sex"].isin(["Male", "Female"])
    has_sexes = by_sex.groupby([pop["area_code"], pop["year"]]).transform("any")
    pop = pop[(by_sex & has_sexes) | ((pop["sex"] == "Persons") & ~has_sexes)]
    pop = pop.assign(age_group=age_group_of(pop["age_band"], groups).to_numpy())
    keep = pop.dropna(subset=["year"])
    grouped = keep[keep["age_group"] != ""].groupby(["area_code", "age_group", "year"], as_index=False,
                                                    sort=False)["population"].sum(min_count=1)
    total = keep.groupby(["area_code", "year"], as_index=False, sort=False)["population"].sum(min_count=1)
    return pd.concat([grouped, total.assign(age_group=ALL_AGES)], ignore_index=True)


def project_population(population: pd.DataFrame, *, area_code: str | None = None, horizon: int = HORIZON,
                       level: float = 0.95, groups: Sequence[tuple[str, int, int | None]] = AGE_GROUPS,
                       first_year: int | None = None) -> pd.DataFrame:
    """Population by broad age group, observed and projected ``horizon`` years on (log-linear
    trend per area and group, with a prediction interval; see the module docstring).

    Parameters
    ----------
    population : DataFrame
        The store's ``population`` table (``area_code``, ``year``, ``sex``, ``age_band``,
        ``population``), one or many areas.
    area_code : str, optional
        Project only this area (default: every area in the table).
    horizon : int
        Years projected beyond each area's latest year.
    level : float
        Prediction-interval level (default 0.95).
    groups : sequence of (label, first age, last age or None)
        The broad age groups (default :data:`AGE_GROUPS`); "All ages" is always added.
    first_year : int, optional
        Fit only years from this one on (default: every year in the table).

    Returns
    -------
    DataFrame
        One row per area, age group and year: ``kind`` (``observed`` / ``projected``),
        ``population`` (observed total, or the projection), ``lower``, ``upper`` (the prediction
        interval; equal to the value for observed years), ``growth`` (average yearly growth of
        the fit, e.g. 0.005 = 0.5%), ``n_years``, ``first_year``, ``last_year`` and ``note``
        (why a group was not projected). Groups appear in :data:`AGE_GROUPS` order, then all ages.
    """
    _check_level(level)
    _check_horizon(horizon)
    if area_code is not None and len(population):
        population = population[population["area_code"].astype(str).str.upper() == str(area_code).upper()]
    totals = _population_by_group(population, groups) if len(population) else population.iloc[:0]
    if first_year is not None:
        totals = totals[totals["year"] >= first_year]
    order = {name: i for i, (name, _, _) in enumerate(groups)} | {ALL_AGES: len(groups)}
    columns = ["area_code", "age_group", "year", "kind", "population", "lower", "upper", "growth", "n_years",
               "first_year", "last_year", "note"]
    if totals.empty:
        return pd.DataFrame(columns=columns)
    totals = totals.assign(_order=totals["age_group"].map(order)).sort_values(
        ["area_code", "_order", "year"], kind="stable").reset_index(drop=True)
    series = totals[["area_code", "age_group"]].drop_duplicates().reset_index(drop=True)
    codes = totals.groupby(["area_code", "age_group"], sort=False).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1
    pop = totals["population"].to_numpy(dtype=float)
    usable = np.isfinite(pop) & (pop > 0)
    x = totals["year"].to_numpy(dtype=float)
    y = np.where(usable, np.log(np.where(usable, pop, 1.0)), 0.0)
    u = usable.astype(float)
    n, sx, sy = _group_sums(codes, n_groups, u, x * u, y * u)
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar, ybar = sx / n, sy / n
        dx = (x - xbar[codes]) * u
        sxx, sxy = _group_sums(codes, n_groups, dx * dx, dx * (y - ybar[codes]))
        slope = sxy / sxx
        intercept = ybar - slope * xbar
        resid = (y - intercept[codes] - slope[codes] * x) * u
        (sse,) = _group_sums(codes, n_groups, resid * resid)
        s = np.sqrt(sse / (n - 2))
    has_zero = np.bincount(codes, weights=(~usable & np.isfinite(pop)).astype(float), minlength=n_groups) > 0
    ok = (n >= MIN_POINTS) & (sxx > 0) & ~has_zero
    note = np.where(has_zero, "a year with no population (cannot take logs)",
                    np.where(n < MIN_POINTS, f"fewer than {MIN_POINTS} years of population", ""))
    last = np.full(n_groups, np.nan)
    np.fmax.at(last, codes, np.where(usable, x, np.nan))
    first = np.full(n_groups, np.nan)
    np.fmin.at(first, codes, np.where(usable, x, np.nan))

    observed = totals.assign(kind="observed", lower=totals["population"], upper=totals["population"])
    steps = np.arange(1, horizon + 1, dtype=float)
    idx = np.repeat(np.flatnonzero(ok), horizon)
    t0 = last[idx] + np.tile(steps, int(ok.sum()))
    centre = intercept[idx] + slope[idx] * t0
    q = _t_quantile(level, n[idx] - 2)
    half = q * s[idx] * np.sqrt(1 + 1 / n[idx] + (t0 - xbar[idx]) ** 2 / sxx[idx])
    projected = pd.DataFrame({
        "area_code": series["area_code"].to_numpy()[idx], "age_group": series["age_group"].to_numpy()[idx],
        "year": t0, "kind": "projected", "population": np.exp(centre), "lower": np.exp(centre - half),
        "upper": np.exp(centre + half)})
    out = pd.concat([observed.drop(columns="_order"), projected], ignore_index=True)
    pos = pd.MultiIndex.from_frame(series).get_indexer(pd.MultiIndex.from_frame(out[["area_code", "age_group"]]))
    out["growth"] = np.where(ok[pos], np.expm1(slope[pos]), np.nan)
    out["n_years"] = n[pos].astype(int)
    out["first_year"] = first[pos]
    out["last_year"] = last[pos]
    out["note"] = note[pos]
    out["year"] = out["year"].astype(int)
    out["_order"] = out["age_group"].map(order)
    out = out.sort_values(["area_code", "_order", "year"], kind="stable").drop(columns="_order")
    return out[columns].reset_index(drop=True)


def age_structure(population: pd.DataFrame, *, groups: Sequence[tuple[str, int, int | None]] = AGE_GROUPS,
                  year: int | None = None) -> pd.DataFrame:
    """Each area's population by broad age group in its latest year (or ``year``), with the share
    of the area's total (%): ``area_code``, ``year``, ``age_group``, ``population``, ``share``.
    Males plus females where given, else persons; "All ages" last (share 100)."""
    columns = ["area_code", "year", "age_group", "population", "share"]
    if population.empty:
        return pd.DataFrame(columns=columns)
    totals = _population_by_group(population, groups)
    chosen = totals["year"] == (year if year is not None else totals.groupby("area_code")["year"].transform("max"))
    rows = totals[chosen].copy()
    whole = rows[rows["age_group"] == ALL_AGES].set_index("area_code")["population"]
    rows["share"] = 100 * rows["population"] / rows["area_code"].map(whole)
    order = {name: i for i, (name, _, _) in enumerate(groups)} | {ALL_AGES: len(groups)}
    rows = rows.assign(_order=rows["age_group"].map(order)).sort_values(["area_code", "_order"], kind="stable")
    rows["year"] = rows["year"].astype(int)
    return rows[columns].reset_index(drop=True)


def population_summary(projection: pd.DataFrame, area_code: str | None = None) -> pd.DataFrame:
    """One row per age group of one area: the latest observed year and population, the last
    projected year, its projection and interval, the change (number and %) and the yearly growth.

    Columns: ``age_group``, ``first_year`` and ``n_years`` (of the fit), ``latest_year``,
    ``latest``, ``projected_year``, ``projected``, ``lower``, ``upper``, ``change``,
    ``change_pct``, ``growth_pct``, ``note``.
    """
    rows = projection if area_code is None else projection[projection["area_code"] == str(area_code).upper()]
    columns = ["age_group", "first_year", "n_years", "latest_year", "latest", "projected_year", "projected", "lower",
               "upper", "change", "change_pct", "growth_pct", "note"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    obs = rows[rows["kind"] == "observed"]
    latest = obs.loc[obs.groupby("age_group", sort=False)["year"].idxmax()].set_index("age_group")
    proj = rows[rows["kind"] == "projected"]
    final = proj.loc[proj.groupby("age_group", sort=False)["year"].idxmax()].set_index("age_group") if len(
        proj) else proj.set_index("age_group")
    groups = list(dict.fromkeys(rows["age_group"]))
    out = pd.DataFrame({"age_group": groups})
    out["latest_year"] = latest["year"].reindex(groups).to_numpy()
    out["latest"] = latest["population"].reindex(groups).to_numpy()
    out["projected_year"] = final["year"].reindex(groups).to_numpy() if len(final) else np.nan
    for column, source in (("projected", "population"), ("lower", "lower"), ("upper", "upper")):
        out[column] = final[source].reindex(groups).to_numpy() if len(final) else np.nan
    out["change"] = out["projected"] - out["latest"]
    out["change_pct"] = 100 * out["change"] / out["latest"]
    out["growth_pct"] = 100 * latest["growth"].reindex(groups).to_numpy()
    out["first_year"] = latest["first_year"].reindex(groups).to_numpy()
    out["n_years"] = latest["n_years"].reindex(groups).to_numpy()
    out["note"] = latest["note"].reindex(groups).fillna("").to_numpy()
    return out[columns]


# ============================================================================= indicators
def project_indicators(series: pd.DataFrame, *, keys: pd.DataFrame | None = None, horizon: int = HORIZON,
                       points: int = POINTS, level: float = 0.95, metadata: pd.DataFrame | None = None
                       ) -> pd.DataFrame:
    """Indicator values extrapolated ``horizon`` periods on from their recent trend (weighted
    straight line through the last ``points`` values, with the confidence interval of the
    extended line; see the module docstring).

    Parameters
    ----------
    series : DataFrame
        Indicator time series: ``indicator_id``, ``sex``, ``age``, ``period``, ``value``,
        ``lower_95``, ``upper_95`` and optionally ``area_code``, ``period_sort``,
        ``category_type`` (only whole-population rows are used), ``value_type``,
        ``multiplier``, ``name``, ``unit`` (e.g. a profile's ``time_series``).
    keys : DataFrame, optional
        The series to project: rows with ``indicator_id``, ``sex``, ``age`` (e.g. chosen key
        indicators); default every series.
    horizon, points : int
        Periods projected, and latest points fitted (at least :data:`MIN_POINTS`).
    metadata : DataFrame, optional
        The ``indicators`` table, for ``value_type``/``multiplier``/``name``/``unit`` the series lacks.

    Returns
    -------
    DataFrame
        One row per series and period: ``area_code``, ``indicator_id``, ``sex``, ``age``,
        ``name``, ``unit``, ``period``, ``year`` (first year of the period), ``kind``
        (``observed`` for the fitted points, ``projected``), ``value``, ``lower_95``,
        ``upper_95`` (published values and intervals, or the projection and its interval),
        ``trend``, ``trend_lower_95``, ``trend_upper_95`` (the fitted line and its confidence
        band at every row), ``slope`` (change per year), ``n_points``, ``weighted`` (bool) and
        ``note`` (why a series was not projected).
    """
    _check_level(level)
    _check_horizon(horizon)
    if not isinstance(points, int | np.integer) or points < MIN_POINTS:
        raise ValueError(f"points must be a whole number of at least {MIN_POINTS}, got {points!r}")
    needed = {"indicator_id", "sex", "age", "period", "value", "lower_95", "upper_95"}
    missing = sorted(needed - set(series.columns))
    if missing:
        raise ValueError(f"project_indicators: the series lack column(s) {', '.join(missing)}")
    columns = ["area_code", "indicator_id", "sex", "age", "name", "unit", "period", "year", "kind", "value",
               "lower_95", "upper_95", "trend", "trend_lower_95", "trend_upper_95", "slope", "n_points", "weighted",
               "note"]
    rows = series.copy()
    if "category_type" in rows.columns:
        rows = rows[rows["category_type"].fillna("").astype(str) == ""]
    if "area_code" not in rows.columns:
        rows["area_code"] = ""
    rows["indicator_id"] = pd.to_numeric(rows["indicator_id"]).astype("int64")
    for column in ("area_code", "sex", "age", "period"):
        rows[column] = rows[column].astype("string").fillna("").astype(object)
    if keys is not None:
        wanted = keys[["indicator_id", "sex", "age"]].astype({"indicator_id": "int64"}).astype(
            {"sex": object, "age": object}).drop_duplicates()
        rows = rows.merge(wanted, on=["indicator_id", "sex", "age"], how="inner")
    meta_cols = ["value_type", "multiplier", "name", "unit"]
    if metadata is not None and len(metadata):
        meta = metadata.drop_duplicates("indicator_id").assign(
            indicator_id=lambda m: pd.to_numeric(m["indicator_id"]).astype("int64"))
        lacking = [c for c in meta_cols if c not in rows.columns and c in meta.columns]
        rows = rows.merge(meta[["indicator_id", *lacking]], on="indicator_id", how="left")
    for column in meta_cols:
        if column not in rows.columns:
            rows[column] = np.nan if column == "multiplier" else ""
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["year"] = period_year(rows["period"]).to_numpy()
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce").astype(float)
    rows = rows[np.isfinite(rows["value"].to_numpy()) & np.isfinite(rows["year"].to_numpy())]
    sort_by = ["area_code", "indicator_id", "sex", "age", "period_sort" if "period_sort" in rows else "year"]
    rows = rows.sort_values(sort_by, kind="stable")
    series_key = ["area_code", "indicator_id", "sex", "age"]
    rows = rows.groupby(series_key, sort=False).tail(points).reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=columns)

    codes = rows.groupby(series_key, sort=False).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1
    t = rows["year"].to_numpy(dtype=float)
    v = rows["value"].to_numpy(dtype=float)
    se = (pd.to_numeric(rows["upper_95"], errors="coerce").to_numpy(dtype=float)
          - pd.to_numeric(rows["lower_95"], errors="coerce").to_numpy(dtype=float)) / _CI_WIDTH_SE
    has_se = np.isfinite(se) & (se > 0)
    weighted = np.bincount(codes, weights=(~has_se).astype(float), minlength=n_groups) == 0
    w = np.where(weighted[codes], 1.0 / np.where(has_se, se, 1.0) ** 2, 1.0)
    n, sw, swt, swv = _group_sums(codes, n_groups, np.ones_like(t), w, w * t, w * v)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar, vbar = swt / sw, swv / sw
        dt = t - tbar[codes]
        sxx, sxy = _group_sums(codes, n_groups, w * dt * dt, w * dt * (v - vbar[codes]))
        slope = sxy / sxx
        intercept = vbar - slope * tbar
        resid = v - intercept[codes] - slope[codes] * t
        (wsse,) = _group_sums(codes, n_groups, w * resid * resid)
        phi = wsse / (n - 2)
    phi = np.where(weighted, np.fmax(phi, 1.0), phi)  # NaN stays NaN (fewer than 3 points)
    ok = (n >= MIN_POINTS) & (sxx > 0) & np.isfinite(phi)
    note = np.where(n < MIN_POINTS, f"fewer than {MIN_POINTS} values", np.where(~ok, "cannot fit a trend", ""))
    last_row = rows.groupby(codes, sort=False).tail(1)
    last_period = last_row["period"].to_numpy()
    last_year = last_row["year"].to_numpy(dtype=float)
    gaps = np.diff(t)
    same = codes[1:] == codes[:-1]
    step = np.ones(n_groups)
    if same.any():
        step_med = pd.Series(gaps[same]).groupby(codes[1:][same]).median()
        step[step_med.index.to_numpy()] = np.fmax(np.rint(step_med.to_numpy()), 1)

    first_rows = rows.groupby(codes, sort=False).head(1)
    info = first_rows[[*series_key, "name", "unit", "value_type", "multiplier"]].reset_index(drop=True)
    observed = rows[[*series_key, "period", "year", "value", "lower_95", "upper_95"]].assign(kind="observed")
    idx = np.repeat(np.flatnonzero(ok), horizon)
    h = np.tile(np.arange(1, horizon + 1), int(ok.sum()))
    shift = (h * step[idx]).astype(int)
    t0 = last_year[idx] + shift
    centre = intercept[idx] + slope[idx] * t0
    q = _t_quantile(level, n[idx] - 2)
    half = q * np.sqrt(phi[idx] * (1 / sw[idx] + (t0 - tbar[idx]) ** 2 / sxx[idx]))
    projected = info.iloc[idx][series_key].reset_index(drop=True).assign(
        period=shift_period(last_period[idx], shift).to_numpy(), year=t0, value=centre, lower_95=centre - half,
        upper_95=centre + half, kind="projected")
    out = pd.concat([observed, projected], ignore_index=True)
    pos = pd.MultiIndex.from_frame(info[series_key]).get_indexer(pd.MultiIndex.from_frame(out[series_key]))
    out = out.assign(name=info["name"].to_numpy()[pos], unit=info["unit"].to_numpy()[pos],
                     slope=np.where(ok, slope, np.nan)[pos], n_points=n[pos].astype(int),
                     weighted=weighted[pos], note=note[pos])
    # The trend line and its confidence band at every row (fitted years and projected ones).
    year = out["year"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        fitted = np.where(ok[pos], intercept[pos] + slope[pos] * year, np.nan)
        band = _t_quantile(level, n[pos] - 2) * np.sqrt(phi[pos] * (1 / sw[pos] + (year - tbar[pos]) ** 2
                                                                    / sxx[pos]))
    out["trend"], out["trend_lower_95"], out["trend_upper_95"] = fitted, fitted - band, fitted + band
    # Keep values in range: proportions 0..multiplier, rates and ratios >= 0.
    value_type = info["value_type"].fillna("").astype(str).to_numpy()[pos]
    multiplier = pd.to_numeric(info["multiplier"], errors="coerce").to_numpy(dtype=float)[pos]
    lower_bound = np.where(np.isin(value_type, list(_NON_NEGATIVE)), 0.0, -np.inf)
    upper_bound = np.where(np.isin(value_type, list(_BOUNDED)) & np.isfinite(multiplier), multiplier, np.inf)
    projected_rows = (out["kind"] == "projected").to_numpy()
    for column in ("value", "lower_95", "upper_95"):
        data = pd.to_numeric(out[column], errors="coerce").to_numpy(dtype=float)
        out[column] = np.where(projected_rows, np.clip(data, lower_bound, upper_bound), data)
    for column in ("trend", "trend_lower_95", "trend_upper_95"):
        out[column] = np.clip(out[column].to_numpy(dtype=float), lower_bound, upper_bound)
    out["year"] = out["year"].astype(int)
    out = out.sort_values([*series_key, "year", "kind"], kind="stable")
    return out[columns].reset_index(drop=True)


def indicator_summary(projection: pd.DataFrame) -> pd.DataFrame:
    """One row per projected series: its latest observed period and value and its last projected
    period, value and interval, the slope per year and the note.

    Columns: ``indicator_id``, ``sex``, ``age``, ``name``, ``unit``, ``latest_period``,
    ``latest``, ``projected_period``, ``projected``, ``lower_95``, ``upper_95``, ``slope``,
    ``n_points``, ``note``.
    """
    key = ["area_code", "indicator_id", "sex", "age"]
    columns = ["indicator_id", "sex", "age", "name", "unit", "latest_period", "latest", "projected_period",
               "projected", "lower_95", "upper_95", "slope", "n_points", "note"]
    if projection.empty:
        return pd.DataFrame(columns=columns)
    obs = projection[projection["kind"] == "observed"].groupby(key, sort=False).tail(1).set_index(key)
    proj = projection[projection["kind"] == "projected"].groupby(key, sort=False).tail(1).set_index(key)
    out = obs[["name", "unit", "period", "value", "slope", "n_points", "note"]].rename(
        columns={"period": "latest_period", "value": "latest"})
    out = out.join(proj[["period", "value", "lower_95", "upper_95"]].rename(
        columns={"period": "projected_period", "value": "projected"}), how="left")
    return out.reset_index()[columns]


# ============================================================================= charts
# The fan charts are built in jsna_lib.charts.outlook; these wrappers keep them next to the numbers
# they draw. Imported late: jsna_lib.charts loads Altair, which computing a projection does not need.
def population_chart(projection: pd.DataFrame, area_code: str | None = None, *, area_name: str = "",
                     level: float = 0.95, source: str | None = None, columns: int = 3, width: int = 170,
                     height: int = 120) -> Chart | None:
    """Small multiples, one per broad age group and all ages: observed totals (solid line and
    points), the projection (dashed) and its prediction interval (shaded); each panel has its
    own scale. None when nothing was projected. See :func:`jsna_lib.charts.outlook.population_chart`."""
    from .charts import outlook

    return outlook.population_chart(projection, area_code, area_name=area_name, level=level, source=source,
                                    columns=columns, width=width, height=height)


def indicator_chart(projection: pd.DataFrame, indicator_id: int, sex: str | None = None, age: str | None = None,
                    *, level: float = 0.95, source: str | None = None, decimals: int = 1, width: int = 280,
                    height: int = 160) -> Chart:
    """One series of :func:`project_indicators`: the published values (points, 95% confidence
    intervals as whiskers), the fitted trend line continued (dashed) and its confidence band
    from the last published period on. See :func:`jsna_lib.charts.outlook.indicator_chart`."""
    from .charts import outlook

    return outlook.indicator_chart(projection, indicator_id, sex, age, level=level, source=source,
                                   decimals=decimals, width=width, height=height)


def indicator_charts(projection: pd.DataFrame, keys: pd.DataFrame, *, limit: int = 4, columns: int = 2,
                     level: float = 0.95, area_name: str = "", source: str | None = None, width: int = 280,
                     height: int = 160) -> Chart | None:
    """:func:`indicator_chart` for the first ``limit`` series of ``keys`` (``indicator_id``,
    ``sex``, ``age``) that were projected, ``columns`` to a row, as one chart (one render);
    None when no series was projected. See :func:`jsna_lib.charts.outlook.indicator_charts`."""
    from .charts import outlook

    return outlook.indicator_charts(projection, keys, limit=limit, columns=columns, level=level,
                                    area_name=area_name, source=source, width=width, height=height)
