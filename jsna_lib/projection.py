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
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats as scipy_stats  # imported here so that `jsna batch` preloads it

from . import palette
from .compare import _group_ids

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
#: Student t quantiles already worked out, by (level, degrees of freedom): scipy's ppf costs far
#: more than the fits, and the same few values recur for every area.
_T_QUANTILES: dict[tuple[float, float], float] = {}


def _t_quantile(level: float, dof: np.ndarray) -> np.ndarray:
    """Two-sided Student t quantile for ``level`` with ``dof`` degrees of freedom (NaN where dof < 1),
    ``scipy.stats.t.ppf((1 + level) / 2, dof)``; each (level, dof) is computed once per process."""
    dof = np.asarray(dof, dtype=float)
    out = np.full(dof.shape, np.nan)
    ok = dof >= 1
    if ok.any():
        distinct = np.unique(dof[ok])
        new = [d for d in distinct.tolist() if (float(level), d) not in _T_QUANTILES]
        if new:
            values = scipy_stats.t.ppf((1 + level) / 2, np.asarray(new, dtype=float))
            _T_QUANTILES.update(zip([(float(level), d) for d in new], values.tolist(), strict=True))
        table = np.array([_T_QUANTILES[(float(level), d)] for d in distinct.tolist()])
        out[ok] = table[np.searchsorted(distinct, dof[ok])]
    return out


_t_quantile(0.95, np.arange(1, 61))  # the usual ones, at import (batch kernels are forked after it)


def _check_level(level: float) -> None:
    if not 0.5 < float(level) < 1:
        raise ValueError(f"level must be between 0.5 and 1 (e.g. 0.95), got {level!r}")


def _check_horizon(horizon: int) -> None:
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a whole number of years of at least 1, got {horizon!r}")


def age_group_of(age_band: Any, groups: Sequence[tuple[str, int, int | None]] = AGE_GROUPS) -> pd.Series:
    """The broad age group of each age band, by the band's first age ("0-4" → 0, "85-89" → 85,
    "90+" → 90, "<1" → 0). Bands whose first age is in no group give an empty string."""
    bands = pd.Series(age_band, dtype="string")
    return pd.Series(_group_labels(_band_starts(bands), groups), index=bands.index, dtype=object)


def _band_starts(bands: pd.Series) -> np.ndarray:
    """The first age of each band label (NaN when it has none; "<1", "Under 1" → 0)."""
    bands = bands.astype("string").fillna("").str.strip()
    start = pd.to_numeric(bands.str.extract(r"(\d+)", expand=False), errors="coerce")
    return start.where(~bands.str.startswith(("<", "Under", "under")), 0).to_numpy(dtype=float)


def _group_labels(start: np.ndarray, groups: Sequence[tuple[str, int, int | None]]) -> np.ndarray:
    """The label of the group holding each first age ("" for none; a later group wins)."""
    label = np.full(len(start), "", dtype=object)
    for name, first, last in groups:
        inside = (start >= first) & ((start <= last) if last is not None else np.isfinite(start))
        label[inside] = name
    return label


def period_year(period: Any) -> pd.Series:
    """The first year of each period label as a number: ``2021/22`` → 2021, ``2019 - 21`` → 2019,
    ``2023`` → 2023, ``Q1 2022/23`` → 2022 (NaN when the label holds no 4-digit year)."""
    text = pd.Series(period, dtype="string").fillna("")
    return pd.Series(_period_years(text.to_numpy(dtype=object)), index=text.index, dtype=float)


_FIRST_YEAR = re.compile(r"(?:19|20)[0-9][0-9]")


def _period_years(labels: np.ndarray) -> np.ndarray:
    """:func:`period_year` of an object array of text labels, each distinct label read once."""
    codes, distinct = pd.factorize(labels)
    years = np.array([float(found.group(0)) if (found := _FIRST_YEAR.search(label)) else np.nan
                      for label in distinct.tolist()], dtype=float)
    return years[codes]


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
    text = pd.Series(period, dtype="string").fillna("").to_numpy(dtype=object)
    return pd.Series(_shift_labels(text, np.broadcast_to(np.asarray(years, dtype=int), (len(text),))), dtype=object,
                     name="shifted")


def _shift_labels(labels: np.ndarray, years: np.ndarray) -> np.ndarray:
    """:func:`shift_period` of an object array of text labels: each distinct (label, shift) pair
    is worked out once (a few per call) and spread back to the rows with one take."""
    label_codes, distinct_labels = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)
    year_codes, distinct_years = pd.factorize(np.asarray(years, dtype=np.int64))
    pairs, inverse = np.unique(label_codes.astype(np.int64) * len(distinct_years) + year_codes, return_inverse=True)
    label_of, year_of = np.divmod(pairs, max(len(distinct_years), 1))
    shifted = np.empty(len(pairs), dtype=object)
    shifted[:] = [_shift_label(str(distinct_labels[i]), int(distinct_years[k]))
                  for i, k in zip(label_of.tolist(), year_of.tolist(), strict=True)]
    return shifted[inverse.reshape(-1)]


# pandas >= 3 computes a share over a string column of area codes as an Arrow float column
# (age_structure's ``share``); the column keeps that type so that its readers sum it the same way.
_ARROW_SHARE = isinstance(pd.Series(["a"], dtype="string").map(
    pd.Series([1.0], index=pd.Index(["a"], dtype="string"))).dtype, pd.ArrowDtype)


def _group_sums(codes: np.ndarray, n_groups: int, *arrays: np.ndarray) -> list[np.ndarray]:
    return [np.bincount(codes, weights=a, minlength=n_groups) for a in arrays]


# ============================================================================= population
def _distinct(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """A column's row codes (-1 where missing) and its distinct values (as objects)."""
    codes, distinct = pd.factorize(column)
    return codes, pd.Series(np.asarray(distinct, dtype=object), dtype=object)


def _convert(distinct: tuple[np.ndarray, pd.Series], convert: Any, missing: Any) -> np.ndarray:
    """An element-wise conversion of a column (``convert``, a function of a Series), worked out once
    per distinct value (see :func:`_distinct`). Returns the converted distinct values followed by
    ``missing``, so that ``converted[codes]`` is the converted column (code -1, a missing value,
    picks the last entry)."""
    _, values = distinct
    out = np.empty(len(values) + 1, dtype=object)
    out[:] = [*convert(values), missing]
    return out


def _numbers(values: Any) -> np.ndarray:
    """A column as floats (missing or unreadable → NaN)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _group_order(groups: Sequence[tuple[str, int, int | None]]) -> dict[str, int]:
    """Position of each broad age group's label, "All ages" last (the sort order of the outputs)."""
    return {name: i for i, (name, _, _) in enumerate(groups)} | {ALL_AGES: len(groups)}


class _Totals(NamedTuple):
    """Yearly population totals, one per area, broad age group and year, sorted by area code,
    group and year. ``group`` is the position in :func:`_group_order`; ``population`` is NaN
    where the rows held no number."""

    codes: list[str]  # the distinct area codes, sorted
    labels: dict[int, str]  # group position → label
    area: np.ndarray  # index into codes
    group: np.ndarray
    year: np.ndarray
    population: np.ndarray

    def take(self, keep: np.ndarray) -> _Totals:
        return self._replace(area=self.area[keep], group=self.group[keep], year=self.year[keep],
                             population=self.population[keep])


def _population_by_group(population: pd.DataFrame, groups: Sequence[tuple[str, int, int | None]],
                         area_code: str | None = None) -> _Totals:
    """Males plus females where an area-year has them, else its persons rows, summed by area,
    broad age group and year, and over all ages (bands in no group count in all ages only).
    ``area_code`` keeps one area (matched on the upper-cased code, as given). Each text column
    is converted once per distinct value, and the sums are taken over row codes (bincount)."""
    needed = {"area_code", "year", "sex", "age_band", "population"}
    missing = sorted(needed - set(population.columns))
    if missing:
        raise ValueError(f"project_population: the population table lacks column(s) {', '.join(missing)}")
    areas = _distinct(population["area_code"])
    selected = None
    if area_code is not None:
        wanted = str(area_code).upper()
        chosen = _convert(areas, lambda codes: codes.astype(str).str.upper() == wanted, False)
        selected = chosen.astype(bool)[areas[0]]
    values = _numbers(population["population"])
    negative = values < 0
    if selected is not None:
        negative = negative[selected]
    if negative.any():
        raise ValueError("project_population: negative population in rows "
                         f"{', '.join(map(str, np.flatnonzero(negative)[:5]))}")
    # Area codes normalised (stripped, upper case) and ranked in sorted order; missing → -1.
    normal = _convert(areas, lambda codes: codes.astype("string").str.strip().str.upper(), None).tolist()
    codes = sorted({code for code in normal if isinstance(code, str)})
    rank = {code: i for i, code in enumerate(codes)}
    area = np.array([rank.get(code, -1) if isinstance(code, str) else -1 for code in normal],
                    dtype=np.int64)[areas[0]]
    year = _numbers(population["year"])
    sexes = _distinct(population["sex"])
    sex = _convert(sexes, lambda text: text.astype("string").fillna(""), "")
    by_sex = ((sex == "Male") | (sex == "Female"))[sexes[0]]
    persons = (sex == "Persons")[sexes[0]]
    bands = _distinct(population["age_band"])
    start = _convert(bands, _band_starts, np.nan).astype(float)
    order = _group_order(groups)
    group = np.array([order.get(label, -1) for label in _group_labels(start, groups)], dtype=np.int64)[bands[0]]

    usable = (area >= 0) & ~np.isnan(year)
    if selected is not None:
        usable &= selected
    labels = {i: name for name, i in order.items()}
    if not usable.any():
        empty = np.zeros(0, dtype=np.int64)
        return _Totals(codes, labels, empty, empty, np.zeros(0), np.zeros(0))
    years, year_code = np.unique(year[usable], return_inverse=True)
    area, group, value, by_sex, persons = (a[usable] for a in (area, group, values, by_sex, persons))
    # Males plus females where an area-year has them, else its persons rows.
    area_year = area * len(years) + year_code
    has_sexes = np.bincount(area_year, weights=by_sex, minlength=len(codes) * len(years))[area_year] > 0
    keep = (by_sex & has_sexes) | (persons & ~has_sexes)
    in_group = keep & (group >= 0)
    n_slots = len(groups) + 1
    # Rows of the groups, then every kept row again under all ages; key = (area, group, year).
    key = np.concatenate([(area[in_group] * n_slots + group[in_group]) * len(years) + year_code[in_group],
                          (area[keep] * n_slots + len(groups)) * len(years) + year_code[keep]])
    value = np.concatenate([value[in_group], value[keep]])
    unique, inverse = np.unique(key, return_inverse=True)
    found = ~np.isnan(value)
    counts = np.bincount(inverse, weights=found, minlength=len(unique))
    whole = value[found]
    if np.array_equal(whole, np.trunc(whole)) and np.abs(whole).sum() < 2 ** 53:
        # Whole numbers: every partial sum is exact, so the order of summing cannot matter.
        sums = np.bincount(inverse, weights=np.where(found, value, 0.0), minlength=len(unique))
    else:  # fractions: pandas' own (compensated) group sum, as the method has always used
        sums = np.array(pd.Series(value).groupby(inverse).sum(), dtype=float)
    sums[counts == 0] = np.nan  # no number in the group (sum with min_count=1)
    return _Totals(codes, labels, unique // (n_slots * len(years)), unique // len(years) % n_slots,
                   years[unique % len(years)], sums)


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
    columns = ["area_code", "age_group", "year", "kind", "population", "lower", "upper", "growth", "n_years",
               "first_year", "last_year", "note"]
    if not len(population):
        return pd.DataFrame(columns=columns)
    totals = _population_by_group(population, groups, area_code)
    if first_year is not None:
        totals = totals.take(totals.year >= first_year)
    if not len(totals.year):
        return pd.DataFrame(columns=columns)
    # The rows are sorted by area, group and year, so each series' rows are consecutive.
    series_key = totals.area * (len(groups) + 1) + totals.group
    starts = np.flatnonzero(np.r_[True, series_key[1:] != series_key[:-1]])
    codes = np.cumsum(np.r_[False, series_key[1:] != series_key[:-1]])
    n_groups = len(starts)
    pop = totals.population
    usable = np.isfinite(pop) & (pop > 0)
    x = totals.year
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
                    np.where(n < MIN_POINTS, f"fewer than {MIN_POINTS} years of population", "")).astype(object)
    last = np.full(n_groups, np.nan)
    np.fmax.at(last, codes, np.where(usable, x, np.nan))
    first = np.full(n_groups, np.nan)
    np.fmin.at(first, codes, np.where(usable, x, np.nan))

    steps = np.arange(1, horizon + 1, dtype=float)
    idx = np.repeat(np.flatnonzero(ok), horizon)
    t0 = last[idx] + np.tile(steps, int(ok.sum()))
    centre = intercept[idx] + slope[idx] * t0
    q = _t_quantile(level, n[idx] - 2)
    half = q * s[idx] * np.sqrt(1 + 1 / n[idx] + (t0 - xbar[idx]) ** 2 / sxx[idx])
    # Observed rows, then the projected ones, put in order of area, group and year (observed first).
    pos = np.concatenate([codes, idx])
    year = np.concatenate([x, t0])
    projected = np.r_[np.zeros(len(x), dtype=bool), np.ones(len(idx), dtype=bool)]
    sort = np.lexsort((projected, year, pos))
    pos, year, projected = pos[sort], year[sort], projected[sort]
    area = totals.area[starts][pos]
    group = totals.group[starts][pos]
    value = np.concatenate([pop, np.exp(centre)])[sort]
    lower = np.concatenate([pop, np.exp(centre - half)])[sort]
    upper = np.concatenate([pop, np.exp(centre + half)])[sort]
    labels = np.array([totals.labels.get(g, "") for g in range(len(groups) + 1)], dtype=object)
    area_code, age_group = np.array(totals.codes, dtype=object)[area], labels[group]
    # Text columns: pandas strings, or plain objects when nothing was projected (as the concatenation
    # with an empty projection has always given them).
    text = "string" if len(idx) else object
    return pd.DataFrame({
        "area_code": pd.Series(area_code, dtype=text),
        "age_group": age_group if len(idx) else pd.Series(age_group, dtype=object), "year": year.astype(int),
        "kind": np.where(projected, "projected", "observed").astype(object), "population": value,
        "lower": lower, "upper": upper, "growth": np.where(ok, np.expm1(slope), np.nan)[pos],
        "n_years": n[pos].astype(int), "first_year": first[pos], "last_year": last[pos], "note": note[pos]},
        columns=columns)


def age_structure(population: pd.DataFrame, *, groups: Sequence[tuple[str, int, int | None]] = AGE_GROUPS,
                  year: int | None = None) -> pd.DataFrame:
    """Each area's population by broad age group in its latest year (or ``year``), with the share
    of the area's total (%): ``area_code``, ``year``, ``age_group``, ``population``, ``share``.
    Males plus females where given, else persons; "All ages" last (share 100)."""
    columns = ["area_code", "year", "age_group", "population", "share"]
    if population.empty:
        return pd.DataFrame(columns=columns)
    totals = _population_by_group(population, groups)
    if year is not None:
        chosen = totals.year == year
    else:  # each area's latest year
        latest = np.full(len(totals.codes), -np.inf)
        np.maximum.at(latest, totals.area, totals.year)
        chosen = totals.year == latest[totals.area]
    rows = totals.take(chosen)
    whole = np.full(len(totals.codes), np.nan)
    everyone = rows.group == len(groups)
    whole[rows.area[everyone]] = rows.population[everyone]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100 * rows.population / whole[rows.area]
    if _ARROW_SHARE:  # what pandas >= 3 gives for shares computed over the codes' string column
        share = pd.arrays.ArrowExtensionArray(pa.array(share, mask=np.isnan(share)))
    labels = np.array([rows.labels.get(g, "") for g in range(len(groups) + 1)], dtype=object)
    return pd.DataFrame({"area_code": pd.array(np.array(rows.codes, dtype=object)[rows.area], dtype="string"),
                         "year": rows.year.astype(int), "age_group": labels[rows.group],
                         "population": rows.population, "share": share}, columns=columns)


def _latest_rows(codes: np.ndarray, n_groups: int, year: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each group, the position of its first row with the greatest ``year`` among ``rows``
    (a boolean mask; missing years skipped), or -1 when it has none (``groupby(...).idxmax()``)."""
    at = np.flatnonzero(rows & ~np.isnan(year))
    at = at[np.lexsort((at, -year[at], codes[at]))]
    first = np.r_[True, codes[at][1:] != codes[at][:-1]] if len(at) else np.zeros(0, dtype=bool)
    out = np.full(n_groups, -1)
    out[codes[at][first]] = at[first]
    return out


def _pick(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values[at]`` with NaN where ``at`` is -1 (numbers then become floats, as a reindex makes them)."""
    if (at >= 0).all():
        return values[at]
    out = values[np.where(at >= 0, at, 0)]
    out = out.astype(float) if out.dtype.kind in "iub" else out.astype(object) if out.dtype.kind != "f" else out
    out[at < 0] = np.nan
    return out


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
    codes, groups = pd.factorize(rows["age_group"].to_numpy(dtype=object))
    kind = rows["kind"].to_numpy(dtype=object)
    year = rows["year"].to_numpy(dtype=float)
    latest = _latest_rows(codes, len(groups), year, kind == "observed")
    final = _latest_rows(codes, len(groups), year, kind == "projected")
    value = {name: rows[name].to_numpy() for name in ("year", "population", "lower", "upper", "growth", "first_year",
                                                      "n_years", "note")}
    out = {"age_group": list(groups), "latest_year": _pick(value["year"], latest),
           "latest": _pick(value["population"], latest)}
    any_projected = bool((final >= 0).any())
    out["projected_year"] = _pick(value["year"], final) if any_projected else np.full(len(groups), np.nan)
    for column, source in (("projected", "population"), ("lower", "lower"), ("upper", "upper")):
        out[column] = _pick(value[source], final) if any_projected else np.full(len(groups), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["change"] = out["projected"] - out["latest"]
        out["change_pct"] = 100 * out["change"] / out["latest"]
        out["growth_pct"] = 100 * _pick(value["growth"], latest)
    out["first_year"] = _pick(value["first_year"], latest)
    out["n_years"] = _pick(value["n_years"], latest)
    note = _pick(value["note"].astype(object), latest)
    out["note"] = np.where(pd.isna(note), "", note).astype(object)
    return pd.DataFrame(out, columns=columns)


# ============================================================================= indicators
def _text(column: pd.Series) -> np.ndarray:
    """A column as text in an object array, missing → "" (``astype("string").fillna("")``)."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.to_numpy(dtype=object, na_value="")
    return column.astype("string").fillna("").to_numpy(dtype=object)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank among the distinct values in sorted order, missing last (sort keys)."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(uniques), codes)


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
    # The rows used, picked before any column is converted: whole-population rows of the wanted series.
    keep = np.ones(len(series), dtype=bool)
    if "category_type" in series.columns:
        keep = _text(series["category_type"]) == ""
    ids = series["indicator_id"]
    ids = (ids if pd.api.types.is_numeric_dtype(ids.dtype) else pd.to_numeric(ids)).astype("int64").to_numpy()
    sex, age = _text(series["sex"]), _text(series["age"])
    if keys is not None:
        wanted_keys = {key for key in zip(keys["indicator_id"].astype("int64").tolist(), keys["sex"].tolist(),
                                          keys["age"].tolist(), strict=True)
                       if isinstance(key[1], str) and isinstance(key[2], str)}  # missing text matches nothing
        maybe = np.flatnonzero(keep & np.isin(ids, [key[0] for key in wanted_keys]))
        keep = np.zeros(len(series), dtype=bool)
        keep[maybe] = [key in wanted_keys for key in zip(ids[maybe].tolist(), sex[maybe], age[maybe], strict=True)]
    at = np.flatnonzero(keep)
    meta_cols = ["value_type", "multiplier", "name", "unit"]
    meta_values: dict[str, np.ndarray] = {c: series[c].to_numpy()[at] for c in meta_cols if c in series.columns}
    if metadata is not None and len(metadata):
        meta = metadata.drop_duplicates("indicator_id")
        found = pd.Index(pd.to_numeric(meta["indicator_id"]).astype("int64")).get_indexer(ids[at])
        for column in meta_cols:
            if column not in meta_values and column in meta.columns:
                values = meta[column].to_numpy()
                meta_values[column] = np.where(found >= 0, values[np.where(found >= 0, found, 0)].astype(object),
                                               np.nan) if (found < 0).any() else values[found]
    for column in meta_cols:
        if column not in meta_values:
            meta_values[column] = np.full(len(at), np.nan if column == "multiplier" else "", dtype=object)
    if not len(at):
        return pd.DataFrame(columns=columns)
    area = _text(series["area_code"])[at] if "area_code" in series.columns else np.full(len(at), "", dtype=object)
    ids, sex, age = ids[at], sex[at], age[at]
    period = _text(series["period"])[at]
    t = _period_years(period)
    v = _numbers(series["value"])[at]
    order_by = _numbers(series["period_sort"])[at] if "period_sort" in series.columns else t
    lower_95, upper_95 = _numbers(series["lower_95"])[at], _numbers(series["upper_95"])[at]
    # Rows with a value and a year, by series (area, indicator, sex, age) and period; the last `points` of each.
    usable = np.flatnonzero(np.isfinite(v) & np.isfinite(t))
    key = np.zeros(len(usable), dtype=np.int64)
    for part in (area, ids, sex, age):
        ranks = _ranks(part[usable])
        key = _ranks(key * (int(ranks.max(initial=0)) + 1) + ranks)  # sorted like the tuples of the parts
    order = np.lexsort((order_by[usable], key))
    rows, key = usable[order], key[order]
    new_series = np.r_[True, key[1:] != key[:-1]]
    ends = np.r_[np.flatnonzero(new_series)[1:], len(key)]
    from_end = np.repeat(ends, np.diff(np.r_[np.flatnonzero(new_series), len(key)])) - np.arange(len(key))
    rows, key = rows[from_end <= points], key[from_end <= points]
    if not len(rows):
        return pd.DataFrame(columns=columns)

    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    codes = np.cumsum(np.r_[False, key[1:] != key[:-1]])
    n_groups = len(starts)
    t, v = t[rows], v[rows]
    se = (upper_95[rows] - lower_95[rows]) / _CI_WIDTH_SE
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
    note = np.where(n < MIN_POINTS, f"fewer than {MIN_POINTS} values",
                    np.where(~ok, "cannot fit a trend", "")).astype(object)
    last = np.r_[starts[1:], len(rows)] - 1
    last_period, last_year = period[rows][last], t[last]
    # The step between periods: the median gap between a series' fitted years, rounded (at least 1).
    step = np.ones(n_groups)
    same = codes[1:] == codes[:-1]
    if same.any():
        gap_group, gaps = codes[1:][same], np.diff(t)[same]
        by_size = np.lexsort((gaps, gap_group))
        gap_group, gaps = gap_group[by_size], gaps[by_size]
        count = np.bincount(gap_group, minlength=n_groups)
        first = np.r_[0, np.cumsum(count)[:-1]]
        has = np.flatnonzero(count)
        upper_mid = first[has] + count[has] // 2
        lower_mid = first[has] + (count[has] - 1) // 2
        median = np.where(count[has] % 2 == 1, gaps[upper_mid], (gaps[upper_mid] + gaps[lower_mid]) / 2)
        step[has] = np.fmax(np.rint(median), 1)

    # Observed rows, then the projected ones; put in order of series, year and kind below.
    idx = np.repeat(np.flatnonzero(ok), horizon)
    h = np.tile(np.arange(1, horizon + 1), int(ok.sum()))
    shift = (h * step[idx]).astype(int)
    t0 = last_year[idx] + shift
    centre = intercept[idx] + slope[idx] * t0
    q = _t_quantile(level, n - 2)
    half = q[idx] * np.sqrt(phi[idx] * (1 / sw[idx] + (t0 - tbar[idx]) ** 2 / sxx[idx]))
    pos = np.concatenate([codes, idx])
    year = np.concatenate([t, t0])
    projected = np.r_[np.zeros(len(rows), dtype=bool), np.ones(len(idx), dtype=bool)]
    sort = np.lexsort((projected, year, pos))
    pos, year, projected = pos[sort], year[sort], projected[sort]
    value = np.concatenate([v, centre])[sort]
    lower = np.concatenate([lower_95[rows], centre - half])[sort]
    upper = np.concatenate([upper_95[rows], centre + half])[sort]
    labels = np.concatenate([period[rows], _shift_labels(last_period[idx], shift)])[sort]
    head = rows[starts]  # each series' first row, for its name, unit and range
    # The trend line and its confidence band at every row (fitted years and projected ones).
    with np.errstate(invalid="ignore", divide="ignore"):
        fitted = np.where(ok[pos], intercept[pos] + slope[pos] * year, np.nan)
        band = q[pos] * np.sqrt(phi[pos] * (1 / sw[pos] + (year - tbar[pos]) ** 2 / sxx[pos]))
    # Keep values in range: proportions 0..multiplier, rates and ratios >= 0.
    value_type = np.array(["" if pd.isna(kind) else str(kind) for kind in meta_values["value_type"][head].tolist()],
                          dtype=object)
    multiplier = meta_values["multiplier"][head]
    if multiplier.dtype.kind != "f":
        multiplier = pd.to_numeric(pd.Series(multiplier, dtype=object), errors="coerce").to_numpy(dtype=float)
    lower_bound = np.where(np.isin(value_type, list(_NON_NEGATIVE)), 0.0, -np.inf)[pos]
    upper_bound = np.where(np.isin(value_type, list(_BOUNDED)) & np.isfinite(multiplier), multiplier, np.inf)[pos]
    def text(values: np.ndarray) -> pd.Series:  # text columns stay plain Python objects, as before
        return pd.Series(values, dtype=object)

    out = {"area_code": text(area[head][pos]), "indicator_id": ids[head][pos], "sex": text(sex[head][pos]),
           "age": text(age[head][pos]), "name": meta_values["name"][head][pos],
           "unit": meta_values["unit"][head][pos], "period": text(labels),
           "year": year.astype(int), "kind": np.where(projected, "projected", "observed").astype(object)}
    for column, data in (("value", value), ("lower_95", lower), ("upper_95", upper)):
        out[column] = np.where(projected, np.clip(data, lower_bound, upper_bound), data)
    for column, data in (("trend", fitted), ("trend_lower_95", fitted - band), ("trend_upper_95", fitted + band)):
        out[column] = np.clip(data, lower_bound, upper_bound)
    out |= {"slope": np.where(ok, slope, np.nan)[pos], "n_points": n[pos].astype(int), "weighted": weighted[pos],
            "note": note[pos]}
    return pd.DataFrame(out, columns=columns)


def _last_rows(codes: np.ndarray, rows: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the position of its last row among ``rows`` (a boolean mask), or -1."""
    last = np.full(n_groups, -1)
    np.maximum.at(last, codes[rows], np.flatnonzero(rows))
    return last


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
    codes = _group_ids(projection, key)
    n_groups = int(codes.max()) + 1
    kind = projection["kind"].to_numpy(dtype=object)
    latest = _last_rows(codes, kind == "observed", n_groups)
    latest = np.sort(latest[latest >= 0])  # series in the order of their last observed rows
    final = _last_rows(codes, kind == "projected", n_groups)[codes[latest]]
    value = {name: projection[name].to_numpy() for name in ("indicator_id", "sex", "age", "name", "unit", "period",
                                                            "value", "lower_95", "upper_95", "slope", "n_points",
                                                            "note")}
    out = {name: value[name][latest] for name in ("indicator_id", "sex", "age", "name", "unit")}
    out["latest_period"] = pd.Series(value["period"][latest], dtype=object)
    out["latest"] = value["value"][latest]
    out["projected_period"] = pd.Series(_pick(value["period"].astype(object), final), dtype=object)
    out["projected"] = _pick(value["value"], final)
    out["lower_95"] = _pick(value["lower_95"], final)
    out["upper_95"] = _pick(value["upper_95"], final)
    for name in ("slope", "n_points", "note"):
        out[name] = value[name][latest]
    return pd.DataFrame(out, columns=columns)


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
