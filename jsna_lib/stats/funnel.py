"""Funnel plot control limits for proportions, crude rates and indirectly standardised ratios."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

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
    rows_text,
    upper_col,
    z_value,
)

Statistic = Literal["proportion", "rate", "ratio"]
DEFAULT_MULTIPLIER = {"proportion": 100.0, "rate": 100_000.0, "ratio": 100.0}
MISSING_NOTE = "Missing count or denominator"

_BISECTIONS = 200


def funnel_limits(
    df: pd.DataFrame,
    count: Hashable,
    denominator: Hashable,
    *,
    statistic: Statistic,
    by: By = None,
    confidence: Confidence = (0.95, 0.998),
    multiplier: float | None = None,
    target: float | None = None,
    points: int = 100,
    at: Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Funnel plot control limits over a range of denominators (or expected counts).

    The limits at size x are the values at which an observation of size x would just be
    significantly different from the target by the workbench's own confidence intervals, so a
    point lies outside the funnel exactly when its interval excludes the target:

    * ``"proportion"`` (``count`` = numerator, ``denominator`` = denominator; x = denominator):
      target p0 = sum(count) / sum(denominator) unless given. An observed proportion p has a
      Wilson interval that just touches p0 when (p - p0)^2 = z^2 p0 (1 - p0) / x, so the limits
      are p0 -/+ z sqrt(p0 (1 - p0) / x), clipped to [0, 1] (as PHEindicatormethods'
      ``sigma_adjustment``), times ``multiplier`` (default 100).
    * ``"rate"`` (crude rate; x = denominator): target r0 = sum(count) / sum(denominator).
      With T = r0 x the expected count at size x, the upper limit is O*/x where the exact
      Poisson lower limit of O* equals T (chi2_{alpha/2}(2 O*)/2 = T) and the lower limit is
      O*/x where the exact upper limit equals T (chi2_{1-alpha/2}(2 O* + 2)/2 = T; 0 when even
      O* = 0 is not significantly low). Times ``multiplier`` (default 100,000).
    * ``"ratio"`` (indirectly standardised ratio; ``count`` = observed, ``denominator`` =
      expected; x = expected count): as for rates with T = t x, t the target ratio (1, i.e.
      ``multiplier``, by default). Limits are ratios times ``multiplier`` (default 100, the
      Fingertips convention; see :func:`isratio`).

    O* is treated as continuous, so the curves are smooth and pass through the exact limits
    at whole counts (the same points as PHEindicatormethods' ``poisson_funnel``). Byar's
    approximation, which :func:`rate` uses for counts of 10 and over, agrees closely with
    these exact limits.

    Parameters
    ----------
    df : DataFrame
        The observations the funnel is for (they set the target and the range of x).
    count, denominator : column names
    statistic : "proportion", "rate" or "ratio"
    by : column name or list of names, optional
        One funnel per group.
    confidence : float or sequence of floats in [0.9, 1); default 95% and 99.8%
    multiplier : float, optional
    target : float, optional
        The centre line, on the output scale (e.g. a percentage when multiplier is 100).
    points : int
        Number of x values, spaced geometrically from 0.9 x the smallest to 1.1 x the
        largest size in the group (default 100).
    at : sequence of floats, optional
        Explicit x values (the same for every group) instead of ``points``.

    Returns
    -------
    DataFrame
        One row per group and x: group keys, ``denominator`` (or ``expected`` for ratios),
        ``target``, interval columns (``lower_95``, ``upper_95``, ...) and ``value_note``.

    References
    ----------
    Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
    2005;24:1185-1202. Wilson EB (1927). Breslow NE, Day NE (1987). OHID Fingertips Technical
    Guide; PHEindicatormethods ``calculate_funnel_limits``.
    """
    if statistic not in DEFAULT_MULTIPLIER:
        raise ValueError(f"statistic must be 'proportion', 'rate' or 'ratio', got {statistic!r}")
    levels = confidence_levels(confidence)
    mult = DEFAULT_MULTIPLIER[statistic] if multiplier is None else float(multiplier)
    if not mult > 0:
        raise ValueError(f"multiplier must be positive, got {multiplier!r}")
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, count=count, denominator=denominator, by=keys)
    x = numeric(df, count, "count")
    n = numeric(df, denominator, "denominator")
    check_nonnegative(df, x, count, "count")
    check_positive(df, n, denominator, "denominator")
    if statistic == "proportion":
        over = x > n
        if over.any():
            raise ValueError(
                f"count column {count!r} exceeds denominator column {denominator!r} in {rows_text(df, over)}"
            )
    groups = make_groups(df, keys)
    total_x = groups.sum(x)
    total_n = groups.sum(n)
    missing = np.isnan(total_x) | np.isnan(total_n)
    if target is not None:
        centre = np.full(groups.n, float(target) / mult)
        if statistic == "proportion" and not 0 <= centre[0] <= 1:
            raise ValueError(f"target must lie between 0 and {mult:g} for a proportion, got {target}")
        if not centre[0] >= 0:
            raise ValueError(f"target must not be negative, got {target}")
    elif statistic == "ratio":
        centre = np.ones(groups.n)
    else:
        centre = total_x / total_n
    if at is not None:
        xs = np.asarray(at, dtype=float).ravel()
        if xs.size == 0 or not np.all(np.isfinite(xs)) or (xs <= 0).any():
            raise ValueError("at must be a non-empty sequence of positive finite numbers")
        grid = np.broadcast_to(xs, (groups.n, xs.size))
    else:
        if not isinstance(points, (int, np.integer)) or points < 2:
            raise ValueError(f"points must be an integer of at least 2, got {points!r}")
        if groups.n == 1:
            lo = np.array([np.fmin.reduce(n)]) if len(n) else np.array([np.inf])
            hi = np.array([np.fmax.reduce(n)]) if len(n) else np.array([0.0])
        else:
            valid = ~np.isnan(n)
            lo = np.full(groups.n, np.inf)
            hi = np.zeros(groups.n)
            np.minimum.at(lo, groups.codes[valid], n[valid])
            np.maximum.at(hi, groups.codes[valid], n[valid])
        lo = np.where(np.isfinite(lo) & (lo > 0), lo * 0.9, 1.0)
        hi = np.where(np.isfinite(hi) & (hi > 0), hi * 1.1, 2.0)
        steps = np.linspace(0.0, 1.0, points)
        grid = lo[:, None] * (hi / lo)[:, None] ** steps
    n_x = grid.shape[1]
    c = np.where(missing, np.nan, centre)[:, None]
    columns: dict[Hashable, object] = {}
    for level in levels:
        if statistic == "proportion":
            half = z_value(level) * np.sqrt(c * (1.0 - c) / grid)
            low, up = np.clip(c - half, 0.0, 1.0), np.clip(c + half, 0.0, 1.0)
        else:
            expected = c * grid
            low = _count_at_upper_limit(expected, level) / grid
            up = _count_at_lower_limit(expected, level) / grid
        columns[lower_col(level)] = (low * mult).ravel()
        columns[upper_col(level)] = (up * mult).ravel()
    base = groups.keys.iloc[np.repeat(np.arange(groups.n), n_x)].reset_index(drop=True)
    base["expected" if statistic == "ratio" else "denominator"] = grid.ravel()
    base["target"] = np.repeat(c.ravel() * mult, n_x)
    columns["value_note"] = notes_column(groups.n * n_x, (np.repeat(missing, n_x), MISSING_NOTE))
    return assemble(base, columns)


def _count_at_lower_limit(expected: np.ndarray, level: float) -> np.ndarray:
    """The (continuous) count whose exact Poisson lower limit equals ``expected``."""
    p = (1.0 - level) / 2
    lo = np.zeros_like(expected)
    hi = expected + 10.0 * np.sqrt(expected + 1.0) * z_value(level) + 10.0
    return _bisect(lambda o: special.gammaincinv(np.maximum(o, 1e-300), p), expected, lo, hi)


def _count_at_upper_limit(expected: np.ndarray, level: float) -> np.ndarray:
    """The count whose exact Poisson upper limit equals ``expected`` (0 if even a count of 0
    has an upper limit above it)."""
    p = 1.0 - (1.0 - level) / 2
    lo = np.zeros_like(expected)
    hi = np.maximum(expected, 1.0)
    found = _bisect(lambda o: special.gammaincinv(o + 1.0, p), expected, lo, hi)
    return np.where(special.gammaincinv(1.0, p) >= expected, 0.0, found)


def _bisect(
    f: Callable[[np.ndarray], np.ndarray], target: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Vectorised bisection for the root of the increasing function f(o) = target."""
    lo = lo.copy()
    hi = hi.copy()
    nan = np.isnan(target)
    t = np.where(nan, 0.0, target)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = f(mid) > t
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
        if np.all(hi - lo <= 1e-12 * np.maximum(hi, 1.0)):
            break
    return np.where(nan, np.nan, 0.5 * (lo + hi))
