"""Proportions with Wilson score confidence intervals."""

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
    check_nonnegative,
    check_positive,
    confidence_levels,
    lower_col,
    make_groups,
    notes_column,
    numeric,
    rows_text,
    upper_col,
    wilson_limits,
)

MISSING_NOTE = "Missing count or denominator"


def summed_inputs(
    df: pd.DataFrame,
    count: Hashable,
    denominator: Hashable,
    by: By,
    *,
    count_arg: str = "count",
    denominator_arg: str = "denominator",
    proportion: bool = False,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Validate a count and a denominator column and sum them within ``by`` groups.

    Returns the base frame of the output (``df`` itself when ``by`` is None, else one row of
    keys per group with the summed columns), the counts and the denominators.
    """
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, **{count_arg: count, denominator_arg: denominator, "by": keys})
    x = numeric(df, count, count_arg)
    n = numeric(df, denominator, denominator_arg)
    check_nonnegative(df, x, count, count_arg)
    check_positive(df, n, denominator, denominator_arg)
    if proportion:
        over = x > n
        if over.any():
            raise ValueError(
                f"{count_arg} column {count!r} exceeds {denominator_arg} column {denominator!r} "
                f"(a proportion must lie between 0 and 1) in {rows_text(df, over)}"
            )
    if not keys:
        return df, x, n
    groups = make_groups(df, keys)
    xs = groups.sum(x)
    ns = groups.sum(n)
    base = groups.keys
    base[count] = xs
    base[denominator] = ns
    return base, xs, ns


def proportion(
    df: pd.DataFrame,
    count: Hashable,
    denominator: Hashable,
    *,
    by: By = None,
    confidence: Confidence = (0.95, 0.998),
    multiplier: float = 100,
) -> pd.DataFrame:
    """Proportions with Wilson score confidence intervals.

    ``value = count / denominator * multiplier``. The interval for the proportion p = x/n is
    Wilson's score interval,

        (2x + z^2 -/+ z * sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)),

    with z the two-sided standard normal quantile for the confidence level, then multiplied by
    ``multiplier``. It is exact at the boundaries: a count of 0 gives a lower limit of 0, and a
    count equal to the denominator an upper limit of 1 (times the multiplier).

    Parameters
    ----------
    df : DataFrame
        One row per observation (or per part of one, with ``by``).
    count, denominator : column names
        Numerator and denominator. Counts must be >= 0 and not exceed the denominator;
        denominators must be > 0. Missing values give a missing result with a ``value_note``.
    by : column name or list of names, optional
        Sum ``count`` and ``denominator`` within these groups first. Without it each row is
        one observation and the output keeps all of ``df``'s columns.
    confidence : float or sequence of floats
        Levels in [0.9, 1); 0.95 gives ``lower_95``/``upper_95``, 0.998 gives
        ``lower_99_8``/``upper_99_8``.
    multiplier : float
        100 for a percentage (default), 1 for a proportion.

    Returns
    -------
    DataFrame
        The group keys (or ``df``'s columns), the summed ``count`` and ``denominator``,
        ``value``, the interval columns and ``value_note``.

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical inference.
    J Am Stat Assoc 1927;22:209-212. Newcombe RG, Altman DG. Proportions and their differences.
    In: Altman DG et al. (eds) Statistics with confidence, 2nd edn. BMJ Books, 2000, 46-48.
    Eayres D. Commonly used public health statistics and their confidence intervals. APHO
    Technical Briefing 3, 2008. OHID, Fingertips Technical Guide: Confidence intervals (Wilson
    score method for proportions).
    """
    levels = confidence_levels(confidence)
    base, x, n = summed_inputs(df, count, denominator, by, proportion=True)
    missing = np.isnan(x) | np.isnan(n)
    columns: dict[Hashable, object] = {"value": x / n * multiplier}
    for level in levels:
        lower, upper = wilson_limits(x, n, level)
        columns[lower_col(level)] = lower * multiplier
        columns[upper_col(level)] = upper * multiplier
    columns["value_note"] = notes_column(len(x), (missing, MISSING_NOTE))
    return assemble(base, columns)
