"""Crude rates with Byar's / exact Poisson confidence intervals."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd

from ._common import (
    By,
    Confidence,
    assemble,
    confidence_levels,
    lower_col,
    notes_column,
    poisson_limits,
    upper_col,
)
from .proportions import MISSING_NOTE, summed_inputs


def rate(
    df: pd.DataFrame,
    count: Hashable,
    denominator: Hashable,
    *,
    by: By = None,
    confidence: Confidence = (0.95, 0.998),
    multiplier: float = 100_000,
    method: Literal["byar", "exact"] = "byar",
) -> pd.DataFrame:
    """Crude rates with confidence intervals for a Poisson count.

    ``value = O / n * multiplier`` for a count O and a denominator (population or
    person-years) n. The limits are the count's limits divided by n, times ``multiplier``:

    * O >= 10 (Byar's approximation, Breslow & Day 1987):
      lower = O (1 - 1/(9O) - z/(3 sqrt(O)))^3,
      upper = (O + 1)(1 - 1/(9(O + 1)) + z/(3 sqrt(O + 1)))^3;
    * O < 10 (exact, chi-square based): lower = chi2_{alpha/2}(2O) / 2 (0 when O = 0),
      upper = chi2_{1 - alpha/2}(2O + 2) / 2;

    which is OHID's rule (``method="byar"``, the default). ``method="exact"`` uses the exact
    limits for every count (some older Fingertips outputs did this).

    Parameters
    ----------
    df : DataFrame
    count, denominator : column names
        Counts must be >= 0, denominators > 0. Missing values give a missing result with a
        ``value_note``.
    by : column name or list of names, optional
        Sum ``count`` and ``denominator`` within these groups first; without it each row is one
        observation and the output keeps all of ``df``'s columns.
    confidence : float or sequence of floats
        Levels in [0.9, 1): 0.95 -> ``lower_95``/``upper_95``, 0.998 -> ``lower_99_8``/``upper_99_8``.
    multiplier : float
        Rate per ``multiplier`` (default per 100,000).
    method : "byar" or "exact"

    Returns
    -------
    DataFrame
        Group keys (or ``df``'s columns), summed ``count`` and ``denominator``, ``value``, the
        interval columns and ``value_note``.

    References
    ----------
    Breslow NE, Day NE. Statistical methods in cancer research, volume II: the design and
    analysis of cohort studies. IARC, Lyon, 1987 (Byar's method). OHID, Fingertips Technical
    Guide: Confidence intervals; Eayres D. Commonly used public health statistics and their
    confidence intervals. APHO Technical Briefing 3, 2008.
    """
    levels = confidence_levels(confidence)
    if method not in ("byar", "exact"):
        raise ValueError(f"method must be 'byar' or 'exact', got {method!r}")
    base, o, n = summed_inputs(df, count, denominator, by)
    missing = np.isnan(o) | np.isnan(n)
    scale = multiplier / n
    columns: dict[Hashable, object] = {"value": o * scale}
    for level in levels:
        lower, upper = poisson_limits(o, level, method)
        columns[lower_col(level)] = lower * scale
        columns[upper_col(level)] = upper * scale
    columns["value_note"] = notes_column(len(o), (missing, MISSING_NOTE))
    return assemble(base, columns)
