"""Quantile assignment and the slope index of inequality (SII)."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

from ._common import (
    By,
    Confidence,
    as_list,
    assemble,
    check_columns,
    check_frame,
    check_positive,
    confidence_levels,
    lower_col,
    make_groups,
    notes_column,
    numeric,
    rows_text,
    upper_col,
    z_value,
)

#: Elements of random normals drawn at once by :func:`sii` (about 32 MB of float64).
SII_BLOCK = 1 << 22

MISSING_NOTE = "Missing value, population or confidence limits"
INCOMPLETE_NOTE = "Missing quantile(s)"
NO_CI_NOTE = "No confidence limits given: interval not simulated"


def quantiles(
    df: pd.DataFrame,
    value: Hashable,
    *,
    by: By = None,
    n: int = 5,
    invert: bool = False,
) -> pd.DataFrame:
    """Assign each row to one of ``n`` quantiles of ``value`` (within ``by`` groups).

    OHID's method (PHEindicatormethods ``phe_quantile``): with N non-missing values in the
    group and r the rank of a value (ties share the lowest rank),

        quantile = floor((n + 1) - ceiling(((N + 1) - r) / (N / n))),  0 -> 1,

    so quantile 1 holds the lowest values (the highest with ``invert=True``; note that
    PHEindicatormethods defaults to ``invert = TRUE``). Missing values, and every row of a
    group with fewer than ``n`` values, get a missing quantile.

    Returns
    -------
    DataFrame
        A copy of ``df`` with an integer (nullable ``Int64``) column ``quantile``.

    References
    ----------
    OHID Fingertips Technical Guide (quantiles and deprivation categories);
    PHEindicatormethods ``phe_quantile``.
    """
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, value=value, by=keys)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}")
    v = numeric(df, value, "value")
    groups = make_groups(df, keys)
    if groups.n == 1:
        values, missing = _quantiles_one_group(-v if invert else v, n)
    else:
        rank, count = _rank_min(-v if invert else v, groups.codes, groups.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.floor((n + 1) - np.ceil(((count + 1) - rank) / (count / n)))
        missing = np.isnan(rank) | (count < n)
        values = np.where(missing, 0, np.maximum(q, 1)).astype(np.int64)
    out = df.copy()
    out["quantile"] = pd.arrays.IntegerArray(values, missing)
    return out


def _quantiles_one_group(v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """OHID's quantile formula for a single group without sorting (O(N)).

    The quantile is a non-decreasing function of the rank r = 1 + #(values < v), so quantile
    k starts at some rank r_k, and a value is in quantile >= k exactly when it exceeds the
    (r_k - 1)-th smallest value. Those few order statistics come from one np.partition.
    Returns the quantiles (int64, 0 where missing) and the mask of missing ones.
    """
    valid = ~np.isnan(v)
    complete = bool(valid.all())
    vals = v if complete else v[valid]
    total = vals.size
    if total < n or total == 0:
        return np.zeros(v.shape, dtype=np.int64), np.ones(v.shape, dtype=bool)

    def q_of_rank(r: int) -> float:  # the formula exactly as applied to every row
        value = np.floor((n + 1) - np.ceil(((total + 1) - r) / (total / n)))
        return 1.0 if value == 0 else float(value)

    below = np.zeros(n - 1, dtype=np.int64)  # values strictly below needed to reach quantile k
    for k in range(2, n + 1):  # loop over quantile levels, not rows
        r = int(min(max(np.ceil(total + 1 - (n + 1 - k) * total / n), 1), total + 1))
        while r > 1 and q_of_rank(r - 1) >= k:
            r -= 1
        while r <= total and q_of_rank(r) < k:
            r += 1
        below[k - 2] = r - 1
    cutoffs = np.full(n - 1, -np.inf)
    need = (below > 0) & (below <= total)
    cutoffs[below > total] = np.inf
    if need.any():
        part = np.partition(vals, below[need] - 1)
        cutoffs[need] = part[below[need] - 1]
    counts = np.ones(total, dtype=np.int64)
    levels, repeats = np.unique(cutoffs, return_counts=True)
    for cutoff, times in zip(levels, repeats, strict=True):  # at most n - 1 passes over the column
        above = vals > cutoff
        if times == 1:
            np.add(counts, above, out=counts, casting="unsafe")
        else:
            counts += above * np.int64(times)
    if complete:
        return counts, ~valid
    out = np.zeros(v.shape, dtype=np.int64)
    out[valid] = counts
    return out, ~valid


def _rank_min(v: np.ndarray, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each value within its group (ties share the lowest rank; NaN -> NaN) and the
    number of non-missing values in the row's group.

    One sort of the values and one stable (radix, for up to 65,536 groups) sort of the group
    codes; ranks then come from where each run of equal (group, value) pairs starts.
    """
    rank = np.full(v.shape, np.nan)
    valid = ~np.isnan(v)
    complete = bool(valid.all())
    idx = None if complete else np.flatnonzero(valid)
    vv = v if complete else v[idx]
    cc = codes if complete else codes[idx]
    counts = np.bincount(cc, minlength=n_groups)
    if vv.size:
        order = np.argsort(vv)
        position = np.arange(vv.size)
        if n_groups > 1:
            code_type = np.uint16 if n_groups <= 1 << 16 else np.uint32 if n_groups <= 1 << 32 else np.int64
            cs = cc.astype(code_type)[order]
            by_group = np.argsort(cs, kind="stable")  # radix sort for 16-bit codes
            order = order[by_group]
            gs = cs[by_group]
            new_group = np.empty(vv.size, dtype=bool)
            new_group[0] = True
            np.not_equal(gs[1:], gs[:-1], out=new_group[1:])
            group_start = np.maximum.accumulate(np.where(new_group, position, 0))
        else:
            new_group = np.zeros(vv.size, dtype=bool)
            group_start = 0
        vs = vv[order]
        new_run = np.empty(vv.size, dtype=bool)
        new_run[0] = True
        np.not_equal(vs[1:], vs[:-1], out=new_run[1:])
        new_run |= new_group
        run_start = np.maximum.accumulate(np.where(new_run, position, 0))
        ranks = (run_start - group_start + 1).astype(float)
        if complete:
            rank[order] = ranks
        else:
            rank[idx[order]] = ranks
    return rank, counts[codes].astype(float)


def sii(
    df: pd.DataFrame,
    value: Hashable,
    population: Hashable,
    *,
    by: By,
    quantile: Hashable,
    lower: Hashable | None = None,
    upper: Hashable | None = None,
    repetitions: int = 100_000,
    confidence: Confidence = (0.95, 0.998),
    seed: int | np.random.Generator | None = None,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Slope index of inequality across deprivation quantiles, with simulated intervals.

    Within each group the Q quantiles are ordered by the ``quantile`` column (ascending; put
    the most deprived first, as OHID does, so the SII is the modelled gap from the most to the
    least deprived end). With a_j = P_j / sum(P) the population share of quantile j and
    b_j = a_1 + ... + a_{j-1} + a_j / 2 the midpoint of its cumulative population share, the
    SII is the slope of the population-weighted regression of the value y_j on b_j (weights
    a_j; equivalently the regression of sqrt(a_j) y_j on sqrt(a_j) and b_j sqrt(a_j) with no
    intercept, as in Low & Low and PHEindicatormethods ``phe_sii``):

        SII = sum_j a_j (b_j - 1/2) y_j / sum_j a_j (b_j - 1/2)^2   (since sum_j a_j b_j = 1/2).

    Confidence intervals are simulated: the standard error of each y_j comes from its
    confidence limits, SE_j = (upper_j - lower_j) / (2 z), z for ``ci_level`` (default 95%);
    ``repetitions`` sets of y_j ~ Normal(y_j, SE_j) are drawn, the SII of each is computed, and
    the limits are the (1 -/+ level)/2 quantiles of the simulated SIIs. Simulation is
    vectorised over groups and repetitions together, in blocks of about 4 million draws, and
    is reproducible with ``seed`` (the same seed and input give the same result).

    Parameters
    ----------
    df : DataFrame
        One row per group and quantile.
    value, population : column names
        Indicator value and population of each quantile (populations > 0).
    by : column name, list of names, or None (one group)
    quantile : column name
        Quantile identifiers (e.g. deprivation decile 1..10). Between 5 and 100 distinct
        quantiles, as PHEindicatormethods requires; every group must have each of them once.
    lower, upper : column names, optional
        Confidence limits of ``value`` (at ``ci_level``). Without them the SII is returned
        with missing limits.
    repetitions : int
        Number of simulations (at least 1,000; default 100,000).
    confidence : float or sequence of floats in [0.9, 1)
    seed : int or numpy Generator, optional
    ci_level : float
        Level of the supplied ``lower``/``upper`` (default 0.95).

    Returns
    -------
    DataFrame
        Group keys, total ``population``, ``value`` (the SII in the units of ``value``),
        interval columns and ``value_note``.

    References
    ----------
    Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
    J Public Health 2004;26:388-395. Mackenbach JP, Kunst AE. Measuring the magnitude of
    socio-economic inequalities in health. Soc Sci Med 1997;44:757-771. OHID Fingertips
    Technical Guide: Slope index of inequality; PHEindicatormethods ``phe_sii``.
    """
    levels = confidence_levels(confidence)
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, value=value, population=population, by=keys, quantile=quantile)
    if (lower is None) != (upper is None):
        raise ValueError("give both lower and upper confidence limit columns, or neither")
    if lower is not None:
        check_columns(df, lower=lower, upper=upper)
    if not isinstance(repetitions, (int, np.integer)) or repetitions < 1000:
        raise ValueError(f"repetitions must be an integer of at least 1,000, got {repetitions!r}")
    ci_z = z_value(confidence_levels(ci_level)[0])
    v = numeric(df, value, "value")
    pop = numeric(df, population, "population")
    check_positive(df, pop, population, "population")
    if df[quantile].isna().any():
        raise ValueError(
            f"quantile column {quantile!r} has missing values in {rows_text(df, df[quantile].isna().to_numpy())}"
        )
    qcodes, quniques = pd.factorize(df[quantile], sort=True)
    n_q = len(quniques)
    if len(df) and not 5 <= n_q <= 100:
        raise ValueError(
            f"quantile column {quantile!r} must hold between 5 and 100 distinct quantiles, got {n_q}"
        )
    groups = make_groups(df, keys)
    cell = groups.codes * n_q + qcodes
    rows = np.bincount(cell, minlength=groups.n * n_q)
    if (rows > 1).any():
        dup = rows[cell] > 1
        raise ValueError(
            f"quantile column {quantile!r} repeats a quantile within a group in {rows_text(df, dup)}"
        )
    rows = rows.reshape(groups.n, n_q)

    def matrix(arr: np.ndarray) -> np.ndarray:
        out = np.full(groups.n * n_q, np.nan)
        out[cell] = arr
        return out.reshape(groups.n, n_q)

    y = matrix(v)
    p = matrix(pop)
    incomplete = (rows == 0).any(axis=1)
    missing = np.isnan(y).any(axis=1) | np.isnan(p).any(axis=1)
    if lower is not None:
        lo = matrix(numeric(df, lower, "lower"))
        up = matrix(numeric(df, upper, "upper"))
        se = (up - lo) / (2.0 * ci_z)
        missing |= np.isnan(se).any(axis=1)
        bad = (se < 0).any(axis=1) & ~incomplete
        if bad.any():
            raise ValueError("lower limit exceeds upper limit for some quantiles (groups "
                             f"{groups.keys.loc[bad].head(5).to_dict('records')})")
    else:
        se = np.full_like(y, np.nan)
    usable = ~(incomplete | missing)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = p / p.sum(axis=1, keepdims=True)
        b = np.cumsum(a, axis=1) - a / 2.0
        centred = a * (b - 0.5)
        weights = centred / (centred * (b - 0.5)).sum(axis=1, keepdims=True)
        value_sii = np.where(usable, (weights * y).sum(axis=1), np.nan)
    base = groups.keys
    base[population] = p.sum(axis=1)
    columns: dict[Hashable, object] = {"value": value_sii}
    limits = {level: (np.full(groups.n, np.nan), np.full(groups.n, np.nan)) for level in levels}
    if lower is not None and usable.any():
        _simulate(value_sii, weights * se, usable, repetitions, levels, seed, limits)
    for level in levels:
        columns[lower_col(level)] = limits[level][0]
        columns[upper_col(level)] = limits[level][1]
    columns["value_note"] = notes_column(
        groups.n,
        (incomplete, INCOMPLETE_NOTE),
        (missing, MISSING_NOTE),
        (np.full(groups.n, lower is None), NO_CI_NOTE),
    )
    return assemble(base, columns)


def _simulate(
    centre: np.ndarray,
    scale: np.ndarray,
    usable: np.ndarray,
    repetitions: int,
    levels: list[float],
    seed: int | np.random.Generator | None,
    limits: dict[float, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Simulated SII limits, written into ``limits``.

    Each simulated SII is sum_j w_j (y_j + SE_j e_j) = SII + sum_j (w_j SE_j) e_j with
    e_j ~ N(0, 1), so a block of draws of shape (groups, repetitions, quantiles) is reduced
    with one matrix product. Blocks cover several groups at once and, when one group's draws
    would exceed the block, a slice of its repetitions.
    """
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(usable)
    n_q = scale.shape[1]
    per_group = repetitions * n_q
    group_block = max(1, SII_BLOCK // per_group)
    rep_block = max(1, min(repetitions, SII_BLOCK // (group_block * n_q)))
    probs = [(1 - level) / 2 for level in levels] + [(1 + level) / 2 for level in levels]
    for start in range(0, idx.size, group_block):
        chunk = idx[start:start + group_block]
        sims = np.empty((chunk.size, repetitions))
        s = scale[chunk]
        for r0 in range(0, repetitions, rep_block):
            r1 = min(repetitions, r0 + rep_block)
            draws = rng.standard_normal((chunk.size, r1 - r0, n_q))
            np.einsum("grq,gq->gr", draws, s, out=sims[:, r0:r1])  # straight into place
            del draws
        sims += centre[chunk, None]
        qs = np.quantile(sims, probs, axis=1)
        for i, level in enumerate(levels):
            limits[level][0][chunk] = qs[i]
            limits[level][1][chunk] = qs[len(levels) + i]
