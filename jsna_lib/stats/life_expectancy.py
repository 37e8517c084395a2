"""Life expectancy: Chiang II abridged life table with Silcocks' variance."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ._common import (
    By,
    Confidence,
    as_list,
    assemble,
    check_columns,
    check_frame,
    check_nonnegative,
    check_positive,
    confidence_levels,
    lower_col,
    make_groups,
    notes_column,
    numeric,
    upper_col,
    z_value,
)
from .standardised import band_codes, grid

#: The 20 bands of the abridged life table: under 1, 1-4, then five-year bands to 85-89, 90+.
LE_BANDS: tuple[str, ...] = (
    "0", "1-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
    "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
)
#: Start age of each band.
LE_START_AGES: tuple[int, ...] = (0, 1, *range(5, 95, 5))
#: Other accepted spellings: "<1" for the first band, and each band's start age (0, 1, 5, ... 90).
LE_ALIASES: dict[str, int] = {"<1": 0, **{str(a): i for i, a in enumerate(LE_START_AGES)}}

#: OHID suppresses life expectancy for populations of 5,000 or fewer (PHEindicatormethods
#: ``phe_life_expectancy`` tests ``total_pop <= 5000``).
MIN_POPULATION = 5000

MISSING_NOTE = "Missing deaths or population"
INCOMPLETE_NOTE = "Missing age band(s)"
SMALL_POP_NOTE = "Total population 5,000 or fewer: life expectancy not calculated"
DEATHS_OVER_NOTE = "Deaths exceed population in an age band: life expectancy not calculated"
NO_OLD_DEATHS_NOTE = "No deaths in the 90+ band: life expectancy not calculated"
WIDE_CI_NOTE = "95% confidence interval wider than 20 years: life expectancy suppressed"


def life_table(deaths: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chiang II abridged life table on (groups x 20) matrices of deaths and populations.

    Returns the life expectancy e_x and its standard error at the start of every band.
    Columns (bands) are processed as whole vectors; there is no loop over groups.
    """
    d = deaths
    p = population
    k = d.shape[1]
    width = np.diff(np.asarray(LE_START_AGES, dtype=float))  # n_x for the first 19 bands
    a = np.full(k - 1, 0.5)
    a[0] = 0.1  # fraction of the first year lived by infants who die (OHID convention)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = d / p
        mn = m[:, :-1] * width
        q = np.where(d[:, :-1] <= p[:, :-1] / width / a, mn / (1.0 + mn * (1.0 - a)), 1.0)
        q = np.column_stack([q, np.ones(len(d))])  # everyone alive at 90 dies in the open band
        survive = 1.0 - q
        lx = 100_000.0 * np.cumprod(np.column_stack([np.ones(len(d)), survive[:, :-1]]), axis=1)
        lx_next = np.column_stack([lx[:, 1:], np.zeros(len(d))])
        dl = lx - lx_next
        big_l = np.empty_like(lx)
        big_l[:, :-1] = width * (lx_next[:, :-1] + a * dl[:, :-1])
        big_l[:, -1] = lx[:, -1] / m[:, -1]
        t = np.cumsum(big_l[:, ::-1], axis=1)[:, ::-1]
        e = np.where(lx == 0, 0.0, t / lx)
        # Silcocks' variance of e_x (Chiang's formula with the open band's variance of 1/M).
        var_q = np.where(dl == 0, 0.0, q**2 * (1.0 - q) / d)
        var_q[:, -1] = 4.0 / (d[:, -1] * m[:, -1] ** 2)
        e_next = e[:, 1:]
        w = np.empty_like(lx)
        w[:, :-1] = var_q[:, :-1] * lx[:, :-1] ** 2 * ((1.0 - a) * width + e_next) ** 2
        w[:, -1] = (lx[:, -1] / 2.0) ** 2 * var_q[:, -1]
        st = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
        se = np.sqrt(st / lx**2)
    return e, se


def life_expectancy(
    df: pd.DataFrame,
    deaths: Hashable,
    population: Hashable,
    *,
    by: By,
    age_band: Hashable,
    at_ages: int | Sequence[int] = (0, 65),
    confidence: Confidence = (0.95, 0.998),
) -> pd.DataFrame:
    """Period life expectancy from an abridged (Chiang II) life table, Silcocks' variance.

    Bands x = 0, 1-4, 5-9, ..., 85-89, 90+ (20 bands; labels as in :data:`LE_BANDS`, or "<1",
    or the start ages 0, 1, 5, ..., 90), width n_x, deaths D_x, population P_x, M_x = D_x/P_x,
    a_x = 0.1 for the first band and 0.5 otherwise:

        q_x = n_x M_x / (1 + n_x M_x (1 - a_x))  (q_x = 1 if D_x > P_x / (n_x a_x); q_90+ = 1)
        l_0 = 100,000,  l_{x+1} = l_x (1 - q_x),  d_x = l_x - l_{x+1}
        L_x = n_x (l_{x+1} + a_x d_x),  L_90+ = l_90+ / M_90+
        T_x = sum of L from x up,  e_x = T_x / l_x
        var(q_x) = q_x^2 (1 - q_x) / D_x,  var for 90+ = 4 / (D_90+ M_90+^2)
        var(e_x) = sum_{y >= x} l_y^2 [((1 - a_y) n_y + e_{y+1})^2 var(q_y)] / l_x^2,
                   with the 90+ term (l_90+ / 2)^2 * 4 / (D_90+ M_90+^2)
        limits = e_x -/+ z * sqrt(var(e_x)).

    As OHID does, a result is suppressed (NaN with a ``value_note``) where the group's total
    population is 5,000 or fewer, where its 95% interval is wider than 20 years, where deaths
    exceed the population in a band, where the 90+ band has no deaths, and where a band is
    missing or a value is missing. Rows with the same group and band are summed first.

    Parameters
    ----------
    df : DataFrame
        One row per group and age band.
    deaths, population : column names
        Deaths >= 0; populations > 0 (zero raises ``ValueError``).
    by : column name, list of names, or None (one group)
    age_band : column name
    at_ages : int or sequence of ints
        Ages (band starts) at which to report life expectancy; default 0 and 65.
    confidence : float or sequence of floats in [0.9, 1)

    Returns
    -------
    DataFrame
        One row per group and age: keys, ``age_from``, ``deaths`` and ``population`` summed from
        that age up (as PHEindicatormethods reports them), ``value``, intervals, ``value_note``.

    References
    ----------
    Chiang CL. The life table and its applications. Malabar (FL): Krieger, 1984.
    Silcocks PBS, Jenner DA, Reza R. Life expectancy as a summary of mortality in a population:
    statistical considerations and suitability for use by health authorities. J Epidemiol
    Community Health 2001;55:38-43. Eayres D, Williams ES. Evaluation of methodologies for
    small area life expectancy estimation. J Epidemiol Community Health 2004;58:243-249.
    OHID Fingertips Technical Guide; PHEindicatormethods ``phe_life_expectancy``.
    """
    levels = confidence_levels(confidence)
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, deaths=deaths, population=population, by=keys, age_band=age_band)
    ages = [at_ages] if isinstance(at_ages, (int, np.integer)) else list(at_ages)
    bad_ages = [a for a in ages if a not in LE_START_AGES]
    if not ages or bad_ages:
        raise ValueError(f"at_ages must be band start ages {list(LE_START_AGES)}; got {ages}")
    age_idx = np.array([LE_START_AGES.index(int(a)) for a in ages], dtype=np.intp)
    d = numeric(df, deaths, "deaths")
    p = numeric(df, population, "population")
    check_nonnegative(df, d, deaths, "deaths")
    check_positive(df, p, population, "population")
    bands = band_codes(df, age_band, list(LE_BANDS), against="the life-table bands",
                       aliases=LE_ALIASES)
    groups = make_groups(df, keys)
    k = len(LE_BANDS)
    rows, (dg, pg) = grid(groups.codes, bands, groups.n, k, (d, p))
    incomplete = (rows == 0).any(axis=1)
    missing = np.isnan(dg).any(axis=1) | np.isnan(pg).any(axis=1)
    small_pop = pg.sum(axis=1) <= MIN_POPULATION
    over = (dg > pg).any(axis=1)
    no_old = dg[:, -1] == 0
    group_bad = incomplete | missing | small_pop | over | no_old
    safe_d = np.where(group_bad[:, None], 1.0, dg)
    safe_p = np.where(group_bad[:, None], 2.0, np.where(rows == 0, 1.0, pg))
    e, se = life_table(safe_d, safe_p)
    e = e[:, age_idx]
    se = se[:, age_idx]
    wide = ~group_bad[:, None] & ~(z_value(0.95) * se <= 10.0)  # NaN SE counts as too wide
    suppress = group_bad[:, None] | wide
    n_out = groups.n * len(ages)
    cum_d = np.cumsum(dg[:, ::-1], axis=1)[:, ::-1][:, age_idx]
    cum_p = np.cumsum(pg[:, ::-1], axis=1)[:, ::-1][:, age_idx]
    base = groups.keys.iloc[np.repeat(np.arange(groups.n), len(ages))].reset_index(drop=True)
    base["age_from"] = np.tile(np.asarray(ages, dtype=np.int64), groups.n)
    base[deaths] = cum_d.ravel()
    base[population] = cum_p.ravel()
    value = np.where(suppress, np.nan, e)
    columns: dict[Hashable, object] = {"value": value.ravel()}
    for level in levels:
        z = z_value(level)
        columns[lower_col(level)] = (value - z * se).ravel()
        columns[upper_col(level)] = (value + z * se).ravel()

    def per_row(mask: np.ndarray) -> np.ndarray:
        column = mask.reshape(-1, 1) if mask.ndim == 1 else mask
        return np.broadcast_to(column, (groups.n, len(ages))).ravel()

    columns["value_note"] = notes_column(
        n_out,
        (per_row(incomplete), INCOMPLETE_NOTE),
        (per_row(missing), MISSING_NOTE),
        (per_row(small_pop), SMALL_POP_NOTE),
        (per_row(over), DEATHS_OVER_NOTE),
        (per_row(no_old), NO_OLD_DEATHS_NOTE),
        (wide.ravel(), WIDE_CI_NOTE),
    )
    return assemble(base, columns)
