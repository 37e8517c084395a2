"""Means with Student's t confidence intervals."""

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
    confidence_levels,
    lower_col,
    make_groups,
    notes_column,
    numeric,
    t_quantile,
    upper_col,
)

MISSING_NOTE = "Missing value in group"
TOO_FEW_NOTE = "Fewer than 2 values: no confidence interval"


def mean(
    df: pd.DataFrame,
    value: Hashable,
    *,
    by: By = None,
    confidence: Confidence = (0.95, 0.998),
) -> pd.DataFrame:
    """Means of ``value`` with confidence intervals from Student's t distribution.

    For the k values of a group with mean m and sample standard deviation s (divisor k - 1):

        limits = m -/+ t_{(1 + level)/2, k - 1} * s / sqrt(k).

    A group containing a missing value gets NaN and a ``value_note`` (no silent dropping); a
    group of one value gets its mean and NaN limits.

    Parameters
    ----------
    df : DataFrame
    value : column name
    by : column name or list of names, optional (without it, all rows are one group)
    confidence : float or sequence of floats in [0.9, 1)

    Returns
    -------
    DataFrame
        Group keys, ``value_count`` (k), ``value_sd`` (s), ``value`` (m), interval columns and
        ``value_note``.

    References
    ----------
    Student (Gosset WS). The probable error of a mean. Biometrika 1908;6:1-25. Eayres D. APHO
    Technical Briefing 3, 2008 (means). OHID Fingertips Technical Guide: Confidence intervals.
    """
    levels = confidence_levels(confidence)
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, value=value, by=keys)
    v = numeric(df, value, "value")
    groups = make_groups(df, keys)
    k = groups.count().astype(float)
    total = groups.sum(v)  # NaN anywhere in the group -> NaN
    with np.errstate(invalid="ignore", divide="ignore"):
        m = total / k
        dev = v - m[groups.codes]
        ss = groups.sum(dev * dev)
        sd = np.sqrt(ss / (k - 1))
    missing = np.isnan(m)
    sd = np.where(k > 1, sd, np.nan)
    base = groups.keys
    base["value_count"] = k.astype(np.int64)
    base["value_sd"] = sd
    columns: dict[Hashable, object] = {"value": m}
    with np.errstate(invalid="ignore"):
        for level in levels:
            half = t_quantile(level, k - 1) * sd / np.sqrt(k)
            columns[lower_col(level)] = m - half
            columns[upper_col(level)] = m + half
    columns["value_note"] = notes_column(groups.n, (missing, MISSING_NOTE), (k < 2, TOO_FEW_NOTE))
    return assemble(base, columns)
