"""Comparisons in Fingertips conventions (DESIGN.md §4): significance, quintiles, recent trend,
ranks and spine-chart numbers, for every area at once.

Significance against a benchmark
--------------------------------
The benchmark *value* (England, the area's region, its parent authority, any named area or a
group's aggregate) is compared with the area's confidence interval, bounds inclusive:

* the value inside ``[lower, upper]`` → ``Similar``; the interval wholly above it → higher;
  wholly below it → lower (``comparator_method`` ``ci_95`` or ``ci_99_8`` picks the interval);
* ``ci_both`` (Fingertips' "95.0 & 99.8" method) reports the 99.8% judgement where the 99.8%
  interval excludes the benchmark, else the 95% one: ``Better (99.8%)``, ``Better (95%)``,
  ``Similar``, ``Worse (95%)``, ``Worse (99.8%)``;
* polarity turns higher/lower into ``Better``/``Worse`` (``RAG - Low is good`` /
  ``RAG - High is good``), keeps ``Higher``/``Lower`` for ``BOB - Blue orange blue``, and gives
  ``Not compared`` for ``Not applicable``. ``Not compared`` also when the method is ``none``,
  the value, the interval or the benchmark value is missing, or the area *is* the benchmark;
  ``significance_note`` then says why.

This is Fingertips' ``SingleOverlappingCIsFor{One,Two}CILevel(s)Comparer`` (open-source code,
``ukhsa-collaboration/fingertips-open``), except that the direction is taken from the interval
(wholly above/below, DESIGN.md) rather than from the point value; the two differ only for a
value lying outside its own interval, which no row of the real exports we checked has.

Quintiles (``comparator_method = "quintiles"``): across the areas of one type with a value
(needs more than 3), the 20th/40th/60th/80th percentiles by linear interpolation (numpy's
default, the same formula as Fingertips' ``ValueCategoriesCalculator``); a value equal to a bound
falls in the lower quintile. For RAG polarity quintile 1 is the best (lowest for "low is good",
highest for "high is good"); otherwise quintile 1 is the lowest.

Recent trend
------------
Fingertips' trend marker (``TrendMarkerCalculator``; OHID technical guidance "Trend markers"):
the last 5 points of a series, all valid; a chi-square test for a linear trend, significant
when the statistic exceeds 9.5495 (the 99.8th percentile of chi-square with 1 degree of
freedom, p < 0.002) *and* no single point drives it (the slope keeps its sign when any one of
the 5 points is left out). Two statistics:

* ``method="ci"`` (default; what Fingertips published for every series we could check, including
  proportions): weighted least squares of the value on time ``t = 1..5`` with weights
  ``w = 1/se²``, ``se = (upper_95 - lower_95)/3.92``; slope ``b = (ΣwΣwtv − ΣwtΣwv)/(ΣwΣwt² −
  (Σwt)²)``, ``var(b) = Σw/(ΣwΣwt² − (Σwt)²)``, statistic ``b²/var(b)``;
* ``method="counts"`` (proportions only; "SPC for proportions"): the chi-square test for trend in
  proportions ``N(NΣrt − RΣnt)² / (R(N−R)(NΣnt² − (Σnt)²))`` on counts ``r`` and denominators
  ``n`` (``R = Σr``, ``N = Σn``), direction from the slope of ``logit(r/n)`` on ``t``.

Fingertips' eligibility rules are kept (``trend_note`` says which one failed): the value type is
a proportion, crude rate or directly standardised rate; single-year periods (not rolling
"2019 - 21" periods); each of the 5 points has a value, a 95% interval, a count and a
denominator, and the count is not equal to the denominator. Labels follow the polarity:
"Increasing and getting worse" (low is good), "Increasing and getting better" (high is good),
"Increasing" (BOB / not applicable); likewise "Decreasing ..."; "No significant change";
"Cannot be calculated".

Ranks, percentiles, spine
-------------------------
Within the areas of one type (per indicator, sex, age, category and period): ``rank`` 1 is the
best for RAG polarity and the lowest value otherwise (ties share the lowest rank); the spine
chart's ``spine_worst``, ``spine_p25``, ``spine_p75``, ``spine_best`` (the quartiles by numpy's
linear interpolation, oriented so that ``spine_p25`` is the quartile on the worst side: for
"low is good" it is the 75th percentile of the values), ``spine_centre`` (England's value, or
the median when England has none) and ``spine_half_width`` (the larger distance from the centre
to the lowest or highest value). For BOB and not-applicable polarity "worst" is the lowest value
and "best" the highest. :func:`spine_positions` turns values into 0..1 positions with the centre
at 0.5 and the best end on the right (``spine_reversed`` is true when low is good).

All of it for all areas
-----------------------
:func:`compare_values` does everything on canonical frames in one vectorised pass (one block per
benchmark); :func:`compare_all` reads a store, computes for every UTLA and LTLA and saves the
result as the store table ``comparisons`` (one row per area type, indicator, area, sex, age,
category, period and benchmark), so a report or widget only reads its slice
(:func:`read_comparisons`).

Group benchmarks (statistical neighbours, a user-defined comparator set): the benchmark value
is the group's aggregate ``Σcount/Σdenominator × multiplier`` when the value type is a
proportion or crude rate and every member has a count and a denominator (a count indicator sums
its counts); otherwise it is the arithmetic mean of the members' values (a directly
standardised rate cannot be rebuilt from its totals). ``benchmark_method`` records which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import palette, schema

__all__ = [
    "COLOURS",
    "COMPARISON_COLUMNS",
    "ENGLAND",
    "QUINTILE_COLOURS",
    "TREND_POINTS",
    "TREND_THRESHOLD",
    "TREND_VALUE_TYPES",
    "Benchmark",
    "colour",
    "compare_all",
    "compare_to_benchmark",
    "compare_values",
    "quintiles",
    "ranks",
    "read_comparisons",
    "recent_trend",
    "spine",
    "spine_positions",
    "trend_label",
    "trend_statistics",
    "trend_statistics_counts",
]

ENGLAND = "E92000001"
#: Version of the ``comparisons`` table layout, recorded in the manifest (older tables are stale).
COMPARISONS_FORMAT = 1
TREND_POINTS = 5
#: chi-square (1 df) at p = 0.002, as in Fingertips' TrendMarkerCalculator (9.5495 rounded).
TREND_THRESHOLD = 9.54953570608324
#: Value types Fingertips computes a recent trend for.
TREND_VALUE_TYPES = ("Proportion", "Crude rate", "Directly standardised rate")
#: 95% interval half-width in standard errors, as Fingertips uses it (2 × 1.96).
_CI_WIDTH_SE = 3.92

LOW_IS_GOOD, HIGH_IS_GOOD, BOB, NOT_APPLICABLE = schema.POLARITIES
NOT_COMPARED = palette.NOT_COMPARED
SIMILAR = palette.SIMILAR
CANNOT_BE_CALCULATED = "Cannot be calculated"
NO_CHANGE = "No significant change"

#: Fingertips colours (DESIGN.md §4) by label; the shared table of :mod:`jsna_lib.palette`.
COLOURS: dict[str, str] = palette.COLOURS
#: Quintile 1 (best, or lowest for BOB / not applicable) to quintile 5.
QUINTILE_COLOURS = palette.QUINTILE_COLOURS
_RAG_QUINTILES = palette.RAG_QUINTILE_LABELS
_BOB_QUINTILES = palette.BOB_QUINTILE_LABELS

SERIES_KEY = ["indicator_id", "area_code", "sex", "age", "category_type", "category"]
CELL_KEY = ["indicator_id", "sex", "age", "category_type", "category", "period"]
_TEXT_KEYS = ["area_code", "sex", "age", "category_type", "category", "period"]
_NUMERIC = ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator"]

#: Columns of the ``comparisons`` table, in order.
COMPARISON_COLUMNS = [
    "area_type", "indicator_id", "area_code", "sex", "age", "category_type", "category", "period",
    "period_sort", *_NUMERIC, "value_note",
    "polarity", "comparator_method", "value_type",
    "benchmark", "benchmark_code", "benchmark_value", "benchmark_method", "england_value",
    "significance", "significance_level", "significance_note", "quintile",
    "trend", "trend_statistic", "trend_note",
    "rank", "rank_count", "spine_centre", "spine_half_width", "spine_reversed",
    "spine_worst", "spine_p25", "spine_p75", "spine_best",
]


# ================================================================================= helpers
def _floats(x: Any, n: int | None = None) -> np.ndarray:
    """A float array (pandas NA → NaN); a scalar is broadcast to ``n``."""
    if isinstance(x, pd.Series | pd.Index):
        arr = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(x, dtype=float)
    if arr.ndim == 0 and n is not None:
        arr = np.full(n, float(arr))
    return arr


def _texts(x: Any, n: int) -> np.ndarray:
    """An object array of strings ("" for missing); a scalar is broadcast to ``n``."""
    if isinstance(x, str) or x is None:
        return np.full(n, x or "", dtype=object)
    if isinstance(x, np.ndarray) and x.dtype == object and len(x) == n:
        return x  # already text (internal callers pass clean object arrays)
    out = _clean_text(x, strip=False)
    if len(out) != n:
        raise ValueError(f"expected {n} values, got {len(out)}")
    return out


def _clean_text(x: Any, *, strip: bool = True) -> np.ndarray:
    """Object array of (stripped) strings with "" for missing, converting only the distinct values."""
    codes, uniques = pd.factorize(pd.Series(x, copy=False) if not isinstance(x, pd.Series) else x,
                                  use_na_sentinel=True)
    text = np.array([("" if u is None or u is pd.NA or (isinstance(u, float) and u != u) else
                      (str(u).strip() if strip else str(u))) for u in uniques] + [""], dtype=object)
    return text[codes]


def _isin(values: Any, candidates: Any) -> np.ndarray:
    """``numpy.isin`` by hashing (numpy sorts object arrays, which is slow for strings)."""
    return pd.Series(np.asarray(values, dtype=object), dtype=object, copy=False).isin(list(candidates)).to_numpy()


def _group_ids(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Integer id per distinct combination of ``columns`` (vectorised factorisation)."""
    codes = None
    for column in columns:
        col, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        codes = col.astype(np.int64) if codes is None else codes * (len(uniques) + 1) + col
        codes, _ = pd.factorize(codes)  # keep the numbers small
    return np.zeros(len(frame), np.int64) if codes is None else codes.astype(np.int64)


def _numpy_lerp(low: np.ndarray, high: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation exactly as ``numpy.percentile(method="linear")`` evaluates it."""
    diff = high - low
    out = low + diff * t
    upper = t >= 0.5
    out[upper] = (high - diff * (1 - t))[upper]
    return np.where(low == high, low, out)


def _group_percentiles(values: np.ndarray, groups: np.ndarray, qs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row percentiles (numpy linear) of the non-missing ``values`` in each row's group.

    Returns ``(table, n)``: ``table[i, j]`` is percentile ``qs[j]`` (0..1) of row ``i``'s group and
    ``n[i]`` the number of values in it (NaN percentiles where the group has none).
    """
    ok = np.isfinite(values)
    m = len(values)
    table = np.full((m, len(qs)), np.nan)
    n_out = np.zeros(m, np.int64)
    if not ok.any():
        return table, n_out
    g = groups[ok]
    v = values[ok]
    order = np.lexsort((v, g))
    g_sorted, v_sorted = g[order], v[order]
    uniq, start, count = np.unique(g_sorted, return_index=True, return_counts=True)
    pos = np.searchsorted(uniq, groups)
    pos = np.clip(pos, 0, len(uniq) - 1)
    present = uniq[pos] == groups
    n = np.where(present, count[pos], 0)
    first = start[pos]
    for j, q in enumerate(qs):
        h = (n - 1) * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        t = h - lo
        a = v_sorted[np.clip(first + lo, 0, len(v_sorted) - 1)]
        b = v_sorted[np.clip(first + hi, 0, len(v_sorted) - 1)]
        table[:, j] = np.where(n > 0, _numpy_lerp(a, b, t), np.nan)
    return table, n


def _is_rag(polarity: np.ndarray) -> np.ndarray:
    return (polarity == LOW_IS_GOOD) | (polarity == HIGH_IS_GOOD)


# ================================================================================= significance
def _ci_side(lower: np.ndarray, upper: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """+1 interval wholly above the benchmark, -1 wholly below, 0 benchmark inside (inclusive), NaN missing."""
    side = np.where(lower > benchmark, 1.0, np.where(upper < benchmark, -1.0, 0.0))
    missing = ~(np.isfinite(lower) & np.isfinite(upper) & np.isfinite(benchmark))
    return np.where(missing, np.nan, side)


def compare_to_benchmark(value: Any, lower_95: Any, upper_95: Any, lower_99_8: Any, upper_99_8: Any,
                         benchmark_value: Any, *, comparator_method: Any, polarity: Any,
                         same_area: Any = False) -> pd.DataFrame:
    """Significance of each area's value against a benchmark value (see the module docstring).

    Arguments are arrays of one length (or scalars): the area's value and 95%/99.8% limits, the
    benchmark value, the comparator method (``ci_95``, ``ci_99_8``, ``ci_both``, ``quintiles``,
    ``none``) and the polarity (Fingertips wording). ``same_area`` marks rows where the area is
    its own benchmark (never compared).

    Returns a frame with ``significance`` (``Better``/``Similar``/``Worse``, ``Higher``/``Lower``
    for BOB, ``Better (99.8%)``... for ``ci_both``, ``Not compared``), ``significance_level``
    (95.0 or 99.8, NaN when not compared) and ``significance_note`` (why not compared; ``""``
    otherwise). Quintile-method rows come back ``Not compared`` (see :func:`quintiles`).
    """
    v = _floats(value)
    n = len(np.atleast_1d(v))
    v = _floats(value, n)
    l95, u95, l998, u998, bench = (_floats(x, n) for x in (lower_95, upper_95, lower_99_8, upper_99_8,
                                                         benchmark_value))
    method = _texts(comparator_method, n)
    pol = _texts(polarity, n)
    same = np.broadcast_to(np.asarray(same_area, dtype=bool), (n,))

    d95 = _ci_side(l95, u95, bench)
    d998 = _ci_side(l998, u998, bench)
    both_ok = np.isfinite(d95) & np.isfinite(d998)
    both_dir = np.where(d998 != 0, 2 * d998, d95)
    direction = np.select([method == "ci_95", method == "ci_99_8", method == "ci_both"],
                          [d95, d998, np.where(both_ok, both_dir, np.nan)], np.nan)
    level = np.select([method == "ci_95", method == "ci_99_8", method == "ci_both"],
                      [95.0, 99.8, np.where(np.abs(both_dir) == 2, 99.8, 95.0)], np.nan)
    has_ci = np.select([method == "ci_95", method == "ci_99_8", method == "ci_both"],
                       [np.isfinite(l95) & np.isfinite(u95), np.isfinite(l998) & np.isfinite(u998),
                        np.isfinite(l95) & np.isfinite(u95) & np.isfinite(l998) & np.isfinite(u998)], False)
    known_method = _isin(method, ["ci_95", "ci_99_8", "ci_both"])
    rag = _is_rag(pol)
    note = np.select(
        [method == "none", method == "quintiles", ~known_method,
         ~(rag | (pol == BOB)), same, ~np.isfinite(v), ~np.isfinite(bench), ~has_ci],
        ["no comparison for this indicator", "compared by quintiles", "unknown comparator method",
         "polarity not applicable", "same area as the benchmark", "no value", "no benchmark value",
         "no confidence interval"], "")
    compared = (note == "") & np.isfinite(direction)
    note = np.where((note == "") & ~compared, "no confidence interval", note)
    # Direction → higher/lower → polarity label (constant strings, no per-row string building).
    good_when_high = pol == HIGH_IS_GOOD
    higher = direction > 0
    better = rag & (higher == good_when_high)
    worse = rag & ~better
    strong = (method == "ci_both") & (np.abs(direction) == 2)
    weak = (method == "ci_both") & (np.abs(direction) == 1)
    label = np.select(
        [~compared, direction == 0,
         better & strong, better & weak, better, worse & strong, worse & weak, worse,
         higher & strong, higher & weak, higher, strong, weak],
        [NOT_COMPARED, SIMILAR,
         "Better (99.8%)", "Better (95%)", "Better", "Worse (99.8%)", "Worse (95%)", "Worse",
         "Higher (99.8%)", "Higher (95%)", "Higher", "Lower (99.8%)", "Lower (95%)"], "Lower").astype(object)
    return pd.DataFrame({
        "significance": label.astype(object),
        "significance_level": np.where(compared, level, np.nan),
        "significance_note": note.astype(object),
    })


def quintiles(values: Any, polarity: Any = BOB, *, groups: Any = None) -> pd.DataFrame:
    """Quintile of each value among the values of its group (all values when ``groups`` is None).

    Percentiles 20/40/60/80 by linear interpolation (numpy's default); ``value <= bound`` falls in
    the lower quintile. Needs more than 3 values in the group, else ``quintile`` is missing.
    For RAG polarity quintile 1 is the best; for BOB / not applicable quintile 1 is the lowest.
    Returns ``quintile`` (Int64) and ``label`` ("Best quintile" ... "Worst quintile", or "Lowest
    quintile" ... "Highest quintile"; "Not compared" when missing).
    """
    v = _floats(values)
    n = len(v)
    g = np.zeros(n, np.int64) if groups is None else np.asarray(pd.factorize(pd.Series(groups))[0], np.int64)
    pol = _texts(polarity, n)
    bounds, count = _group_percentiles(v, g, (0.2, 0.4, 0.6, 0.8))
    q = 1 + (v[:, None] > bounds).sum(axis=1)
    ok = np.isfinite(v) & (count > 3)
    q = np.where(pol == HIGH_IS_GOOD, 6 - q, q)
    labels_rag = np.array(_RAG_QUINTILES, dtype=object)
    labels_bob = np.array(_BOB_QUINTILES, dtype=object)
    idx = np.clip(q - 1, 0, 4)
    label = np.where(_is_rag(pol), labels_rag[idx], labels_bob[idx])
    quintile = pd.array(np.where(ok, q, 0), dtype="Int64")
    quintile[~ok] = pd.NA
    return pd.DataFrame({"quintile": quintile, "label": np.where(ok, label, NOT_COMPARED).astype(object)})


def ranks(values: Any, polarity: Any = BOB, *, groups: Any = None) -> pd.DataFrame:
    """Rank of each value in its group: 1 = best for RAG polarity, 1 = lowest otherwise; ties share
    the lowest rank ("min"). Returns ``rank`` and ``rank_count`` (values in the group), Int64."""
    v = _floats(values)
    n = len(v)
    g = np.zeros(n, np.int64) if groups is None else np.asarray(pd.factorize(pd.Series(groups))[0], np.int64)
    pol = _texts(polarity, n)
    key = np.where(pol == HIGH_IS_GOOD, -v, v)
    frame = pd.DataFrame({"g": g, "k": key})
    rank = frame.groupby("g")["k"].rank(method="min").to_numpy()
    count = frame.groupby("g")["k"].transform("count").to_numpy()
    return pd.DataFrame({"rank": pd.array(rank, dtype="Float64").round().astype("Int64"),
                         "rank_count": pd.array(count, dtype="Int64")})


def spine(values: Any, polarity: Any = BOB, *, centre: Any = np.nan, groups: Any = None) -> pd.DataFrame:
    """Spine-chart numbers for each row's group (see the module docstring).

    ``centre`` is England's value per row (NaN → the group's median). Returns ``spine_centre``,
    ``spine_half_width``, ``spine_reversed`` (low is good), ``spine_worst``, ``spine_p25``,
    ``spine_p75``, ``spine_best``.
    """
    v = _floats(values)
    n = len(v)
    g = np.zeros(n, np.int64) if groups is None else np.asarray(pd.factorize(pd.Series(groups))[0], np.int64)
    pol = _texts(polarity, n)
    table, count = _group_percentiles(v, g, (0.0, 0.25, 0.5, 0.75, 1.0))
    lo, q1, med, q3, hi = table.T
    c = _floats(centre, n)
    c = np.where(np.isfinite(c), c, med)
    half = np.fmax(np.abs(c - lo), np.abs(hi - c))
    reversed_ = pol == LOW_IS_GOOD
    return pd.DataFrame({
        "spine_centre": c,
        "spine_half_width": np.where(count > 0, half, np.nan),
        "spine_reversed": reversed_,
        "spine_worst": np.where(reversed_, hi, lo),
        "spine_p25": np.where(reversed_, q3, q1),
        "spine_p75": np.where(reversed_, q1, q3),
        "spine_best": np.where(reversed_, lo, hi),
    })


def spine_positions(values: Any, centre: Any, half_width: Any, reversed_: Any) -> np.ndarray:
    """Positions 0..1 of ``values`` on a spine: ``0.5 ± (value − centre) / (2 × half_width)``, minus
    when ``reversed_`` (low is good), so the best end is always at 1 (right). A zero half-width
    puts everything at 0.5."""
    v = _floats(values)
    c, h = _floats(centre, len(v)), _floats(half_width, len(v))
    sign = np.where(np.broadcast_to(np.asarray(reversed_, dtype=bool), v.shape), -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = 0.5 + sign * (v - c) / (2 * h)
    return np.where(h == 0, np.where(np.isfinite(v), 0.5, np.nan), pos)


# ================================================================================= trend
def _wls_slope(v: np.ndarray, w: np.ndarray, t: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares slope and its variance per row, using the points where ``keep``."""
    w = np.where(keep, w, 0.0)
    s1 = w.sum(axis=1)
    s2 = (w * v * t).sum(axis=1)
    s3 = (w * t).sum(axis=1)
    s4 = (w * v).sum(axis=1)
    s5 = (w * t * t).sum(axis=1)
    den = s1 * s5 - s3 ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return (s1 * s2 - s3 * s4) / den, s1 / den


def _sign_consistent(slopes: list[np.ndarray]) -> np.ndarray:
    """True where the full slope and every leave-one-out slope have the same sign (Fingertips:
    a slope below zero counts -1, otherwise +1; all six must agree)."""
    signs = np.stack([np.where(s < 0, -1, 1) for s in slopes], axis=1)
    return np.abs(signs.sum(axis=1)) == len(slopes)


def trend_statistics(value: Any, lower_95: Any, upper_95: Any) -> pd.DataFrame:
    """Chi-square test for trend from values and 95% intervals (Fingertips' weighted regression).

    Inputs are 2-D arrays, one row per series and one column per time point (oldest first,
    ``t = 1..k``). Returns ``slope`` (per time point), ``statistic`` (``slope²/var(slope)``) and
    ``consistent`` (no single point reverses the slope). Rows with a missing or zero-width
    interval give NaN.
    """
    v, lo, up = (np.atleast_2d(_floats(x)) for x in (value, lower_95, upper_95))
    k = v.shape[1]
    t = np.broadcast_to(np.arange(1, k + 1, dtype=float), v.shape)
    se = (up - lo) / _CI_WIDTH_SE
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / se ** 2
    ok = np.all(np.isfinite(v) & np.isfinite(w) & (se > 0), axis=1)
    w = np.where(np.isfinite(w), w, 0.0)
    v0 = np.where(np.isfinite(v), v, 0.0)
    everything = np.ones(v.shape, bool)
    slope, var = _wls_slope(v0, w, t, everything)
    loo = [_wls_slope(v0, w, t, np.arange(k)[None, :] != j)[0] for j in range(k)]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = slope ** 2 / var
    return pd.DataFrame({"slope": np.where(ok, slope, np.nan), "statistic": np.where(ok, stat, np.nan),
                         "consistent": ok & _sign_consistent([slope, *loo])})


def trend_statistics_counts(count: Any, denominator: Any) -> pd.DataFrame:
    """Chi-square test for trend in proportions from counts and denominators ("SPC for proportions").

    ``N(NΣrt − RΣnt)² / (R(N−R)(NΣnt² − (Σnt)²))`` with ``t = 1..k``; direction and the
    leave-one-out check from the ordinary least-squares slope of ``logit(r/n)`` on ``t``. Needs
    ``0 < r < n`` at every point, else NaN. Same output as :func:`trend_statistics`.
    """
    r, n = (np.atleast_2d(_floats(x)) for x in (count, denominator))
    k = r.shape[1]
    t = np.broadcast_to(np.arange(1, k + 1, dtype=float), r.shape)
    ok = np.all(np.isfinite(r) & np.isfinite(n) & (r > 0) & (r < n), axis=1)
    r0, n0 = np.where(ok[:, None], r, 1.0), np.where(ok[:, None], n, 2.0)
    big_n, big_r = n0.sum(axis=1), r0.sum(axis=1)
    num = big_n * (big_n * (r0 * t).sum(axis=1) - big_r * (n0 * t).sum(axis=1)) ** 2
    den = big_r * (big_n - big_r) * (big_n * (n0 * t * t).sum(axis=1) - (n0 * t).sum(axis=1) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = num / den
        logit = np.log(r0 / (n0 - r0))
    ones = np.ones(r.shape)
    slope = _wls_slope(logit, ones, t, np.ones(r.shape, bool))[0]
    loo = [_wls_slope(logit, ones, t, np.arange(k)[None, :] != j)[0] for j in range(k)]
    return pd.DataFrame({"slope": np.where(ok, slope, np.nan), "statistic": np.where(ok, stat, np.nan),
                         "consistent": ok & _sign_consistent([slope, *loo])})


def trend_label(direction: Any, polarity: Any) -> np.ndarray:
    """Fingertips' label for a trend direction (+1 increasing, -1 decreasing, 0 no significant
    change, NaN cannot be calculated) under a polarity."""
    d = _floats(direction)
    pol = _texts(polarity, len(d))
    inc = np.select([pol == LOW_IS_GOOD, pol == HIGH_IS_GOOD],
                    ["Increasing and getting worse", "Increasing and getting better"], "Increasing")
    dec = np.select([pol == LOW_IS_GOOD, pol == HIGH_IS_GOOD],
                    ["Decreasing and getting better", "Decreasing and getting worse"], "Decreasing")
    out = np.where(d > 0, inc, np.where(d < 0, dec, NO_CHANGE))
    return np.where(np.isfinite(d), out, CANNOT_BE_CALCULATED).astype(object)


_MULTI_YEAR = [
    # "2019 - 21", "2019 - 2021"
    (re.compile(r"^(\d{4})\s*-\s*(\d{2}|\d{4})$"), lambda m: _span(int(m[1]), int(m[2]), 0)),
    # "2016/17 - 18/19" (Fingertips) and "2016/17 - 19" (end of the last financial year)
    (re.compile(r"^(\d{4})/(\d{2})\s*-\s*(\d{2})/(\d{2})$"), lambda m: _span(int(m[1]), int(m[3]), 0)),
    (re.compile(r"^(\d{4})/(\d{2})\s*-\s*(\d{2})$"), lambda m: _span(int(m[1]), int(m[3]), 1)),
]


def _span(start: int, end: int, offset: int) -> int:
    end_full = end if end >= 1000 else start - start % 100 + end
    if end_full < start:
        end_full += 100
    return end_full - offset - start + 1


def period_span(periods: Any) -> np.ndarray:
    """Years covered by each period text: ``"2019 - 21"`` → 3, ``"2016/17 - 18/19"`` → 3,
    ``"2021/22"``, ``"2021"``, ``"2021/22 Q1"`` → 1."""
    codes, uniques = pd.factorize(_texts(periods, len(periods)))
    spans = np.ones(len(uniques) + 1, np.int64)
    for i, text in enumerate(uniques):
        for pattern, rule in _MULTI_YEAR:
            match = pattern.match(str(text).strip())
            if match:
                spans[i] = rule(match)
                break
    return spans[codes]


def recent_trend(values: pd.DataFrame, indicators: pd.DataFrame | None = None, *, polarity: Any = None,
                 value_type: Any = None, method: str = "ci", require_counts: bool = True,
                 value_types: Iterable[str] | None = TREND_VALUE_TYPES,
                 points: int = TREND_POINTS, gaps: str = "break", as_arrays: bool = False) -> Any:
    """Recent trend of every row of ``values`` over its series' last ``points`` points up to it.

    A series is (indicator_id, area_code, sex, age, category_type, category) ordered by
    ``period_sort``. Polarity and value type come from ``indicators`` (by indicator_id) or are
    given per row / as scalars. ``method`` is ``"ci"`` (weighted regression on values and 95%
    intervals; Fingertips' published trends) or ``"counts"`` (chi-square for trend in
    proportions). ``require_counts`` keeps Fingertips' rule that every point has a count and a
    denominator; ``value_types`` the eligible value types (None: any). ``gaps="break"`` (default,
    DESIGN.md) needs the last ``points`` points all valid; ``gaps="skip"`` uses the last
    ``points`` *valid* points at or before each row, stepping over invalid ones (value, interval,
    count or denominator missing; the row itself may be one), as Fingertips' current trend
    markers do (see docs/compare_agreement.md), with ``t = 1..points`` whatever the gaps.
    ``values`` may also be a mapping of column name → array; ``as_arrays`` returns a dict of
    arrays instead of a frame (both for :func:`compare_values`, which avoids pandas string columns).

    Returns a frame aligned with ``values`` (same index): ``trend`` (label), ``trend_statistic``
    (chi-square, NaN when not calculated) and ``trend_note`` (why "Cannot be calculated"; for a
    non-significant or outlier-driven series "not significant" / "one point reverses the slope").
    """
    if method not in ("ci", "counts"):
        raise ValueError(f"recent_trend: method must be 'ci' or 'counts', not {method!r}")
    if gaps not in ("break", "skip"):
        raise ValueError(f"recent_trend: gaps must be 'break' or 'skip', not {gaps!r}")
    columns = set(values.columns) if isinstance(values, pd.DataFrame) else set(values)
    index = values.index if isinstance(values, pd.DataFrame) else None
    n = len(values) if isinstance(values, pd.DataFrame) else len(values["indicator_id"])
    if n == 0:
        empty = {"trend": np.array([], dtype=object), "trend_statistic": np.array([], dtype=float),
                 "trend_note": np.array([], dtype=object)}
        return empty if as_arrays else pd.DataFrame(empty, index=index)
    missing = [c for c in ("indicator_id", "period_sort", "value") if c not in columns]
    if missing:
        raise ValueError(f"recent_trend: values lack column(s) {', '.join(missing)}")
    # Plain numpy columns (a dict, not a DataFrame: no string-dtype conversions on the way).
    frame: dict[str, np.ndarray] = {}
    for column in SERIES_KEY:
        frame[column] = _clean_text(values[column]) if column in columns else np.full(n, "", dtype=object)
    frame["indicator_id"] = _floats(values["indicator_id"])
    frame["period_sort"] = _floats(values["period_sort"])
    for column in ("value", "lower_95", "upper_95", "count", "denominator"):
        frame[column] = _floats(values[column]) if column in columns else np.full(n, np.nan)
    frame["span"] = period_span(values["period"]) if "period" in columns else np.ones(n, np.int64)
    if indicators is not None:
        meta = indicators.drop_duplicates("indicator_id").set_index(_floats(
            indicators.drop_duplicates("indicator_id")["indicator_id"]))
        if polarity is None:
            polarity = pd.Series(frame["indicator_id"]).map(meta["polarity"]).to_numpy()
        if value_type is None:
            value_type = pd.Series(frame["indicator_id"]).map(meta["value_type"]).to_numpy()
    pol = _texts(polarity, n)
    vtype = _texts(value_type, n)

    series = _group_ids(frame, SERIES_KEY)
    order = np.lexsort((frame["period_sort"], series))
    s_series = series[order]
    s_sort = frame["period_sort"][order]
    position = np.arange(n) - np.searchsorted(s_series, s_series)  # index within its series
    dup = np.zeros(n, bool)
    same_as_prev = (s_series[1:] == s_series[:-1]) & (s_sort[1:] == s_sort[:-1])
    dup[1:] |= same_as_prev
    dup[:-1] |= same_as_prev
    dup_series = pd.Series(dup).groupby(s_series).transform("any").to_numpy()

    cols = np.arange(points)
    if gaps == "break":
        idx = np.arange(n)[:, None] - (points - 1) + cols[None, :]  # oldest..newest, sorted positions
        enough = position >= points - 1
        idx = np.clip(idx, 0, n - 1)
    else:
        def sorted_col(column: str) -> np.ndarray:
            return frame[column][order]

        point_ok = np.isfinite(sorted_col("value"))
        if method == "ci":
            point_ok &= np.isfinite(sorted_col("lower_95")) & np.isfinite(sorted_col("upper_95"))
        if require_counts or method == "counts":
            point_ok &= np.isfinite(sorted_col("count")) & np.isfinite(sorted_col("denominator"))
        # For every row, the last `points` valid points of its series at or before it (the row
        # itself may be invalid: Fingertips still marks the latest period from earlier points).
        valid_at = np.flatnonzero(point_ok)
        seen = np.cumsum(point_ok)  # valid points so far (all series)
        series_start = np.searchsorted(s_series, s_series)
        before_series = np.where(series_start > 0, seen[np.maximum(series_start - 1, 0)], 0)
        in_series = seen - before_series
        last = seen - 1  # index into valid_at of the last valid point at or before each row
        idx = np.clip(last[:, None] - (points - 1) + cols[None, :], 0, max(len(valid_at) - 1, 0))
        idx = valid_at[idx] if len(valid_at) else np.repeat(np.arange(n)[:, None], points, axis=1)
        enough = in_series >= points

    def window(column: str) -> np.ndarray:
        return frame[column][order][idx]

    v, lo, up, cnt, den = (window(c) for c in ("value", "lower_95", "upper_95", "count", "denominator"))
    span = frame["span"][order][idx]
    has_value = np.all(np.isfinite(v), axis=1)
    has_ci = np.all(np.isfinite(lo) & np.isfinite(up) & (up > lo), axis=1)
    has_counts = np.all(np.isfinite(cnt) & np.isfinite(den), axis=1)
    count_is_denominator = np.any(cnt == den, axis=1)
    eligible_type = np.ones(n, bool) if value_types is None else _isin(vtype[order], list(value_types))
    if method == "counts":
        stats = trend_statistics_counts(cnt, den)
        counts_ok = has_counts & np.all((cnt > 0) & (cnt < den), axis=1)
    else:
        stats = trend_statistics(v, lo, up)
        counts_ok = has_counts if require_counts else np.ones(n, bool)
    note = np.select(
        [~eligible_type, dup_series, ~enough, np.any(span != 1, axis=1), ~has_value,
         (method == "ci") & ~has_ci, ~counts_ok, require_counts & has_counts & count_is_denominator],
        ["value type not eligible", "duplicate periods in the series",
         f"fewer than {points} valid points" if gaps == "skip" else f"fewer than {points} points",
         "multi-year periods", f"a missing value in the last {points} points",
         f"a missing 95% interval in the last {points} points",
         f"a missing count or denominator in the last {points} points",
         "count equals denominator"], "")
    statistic = stats["statistic"].to_numpy()
    calculable = (note == "") & np.isfinite(statistic)
    note = np.where((note == "") & ~calculable, "cannot be calculated from these inputs", note)
    significant = calculable & (statistic > TREND_THRESHOLD)
    consistent = stats["consistent"].to_numpy()
    slope = stats["slope"].to_numpy()
    direction = np.where(significant & consistent, np.sign(slope), 0.0)
    direction = np.where(calculable, direction, np.nan)
    note = np.where(calculable & ~significant, "not significant", note)
    note = np.where(significant & ~consistent, "one point reverses the slope", note)
    labels = trend_label(direction, pol[order])

    inverse = np.empty(n, np.int64)
    inverse[order] = np.arange(n)
    arrays = {"trend": labels[inverse], "trend_statistic": np.where(calculable, statistic, np.nan)[inverse],
              "trend_note": note.astype(object)[inverse]}
    if as_arrays:
        return arrays
    return pd.DataFrame(arrays, index=index)


# ================================================================================= benchmarks
@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``kind`` is ``england``, ``region``, ``parent``, ``area`` (``code``) or
    ``group`` (``code`` = the group's name, ``members`` its area codes)."""

    kind: str
    code: str = ""
    members: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.kind if self.kind in ("england", "region", "parent") else self.code


def _as_benchmark(spec: Any) -> Benchmark:
    """Normalise a benchmark spec: "england" | "region" | "parent" | an area code | a group.

    A group is a :func:`jsna_lib.geography.group` frame (``group`` and ``area_code`` columns), a
    mapping ``{"name": ..., "codes": [...]}`` or ``{name: [codes]}``, or a (name, codes) pair.
    """
    if isinstance(spec, Benchmark):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        low = text.lower()
        if low in ("england", "region", "parent"):
            return Benchmark(low, ENGLAND if low == "england" else "")
        if not text:
            raise ValueError("benchmark: empty benchmark; use england, region, parent or an area code")
        return Benchmark("area", text.upper())
    if isinstance(spec, pd.DataFrame):
        if "area_code" not in spec.columns:
            raise ValueError("benchmark group frame needs an area_code column (see geography.group)")
        name = str(spec["group"].iloc[0]) if "group" in spec.columns and len(spec) else "group"
        return Benchmark("group", name, tuple(pd.unique(_clean_text(spec["area_code"]))))
    if isinstance(spec, Mapping):
        if "codes" in spec:
            return Benchmark("group", str(spec.get("name", "group")), tuple(str(c).strip().upper() for c in spec["codes"]))
        if len(spec) == 1:
            (name, codes), = spec.items()
            return Benchmark("group", str(name), tuple(str(c).strip().upper() for c in codes))
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        return Benchmark("group", spec[0], tuple(str(c).strip().upper() for c in spec[1]))
    raise ValueError(f"benchmark: cannot read {spec!r}; use 'england', 'region', 'parent', an area code, "
                     "or a group (geography.group(name, codes), or {'name': ..., 'codes': [...]})")


Columns = dict  # column name → numpy array (text as object arrays)

_TEXT_COLUMNS = ["area_type", "area_code", "sex", "age", "category_type", "category", "period", "value_note",
                 "polarity", "comparator_method", "value_type", "benchmark", "benchmark_code", "benchmark_method",
                 "significance", "significance_note", "trend", "trend_note"]
_INT_COLUMNS = ["indicator_id", "period_sort", "quintile", "rank", "rank_count"]


def _take(columns: Columns, rows: np.ndarray) -> Columns:
    return {name: array[rows] for name, array in columns.items()}


def _normalise_values(values: pd.DataFrame) -> Columns:
    """The values' columns as plain numpy arrays (text stripped, "" for missing; codes upper case)."""
    n = len(values)
    out: Columns = {"indicator_id": _floats(values["indicator_id"])}
    for column in _TEXT_KEYS:
        out[column] = _clean_text(values[column]) if column in values.columns else np.full(n, "", dtype=object)
    codes, uniques = pd.factorize(out["area_code"])
    out["area_code"] = np.array([str(u).upper() for u in uniques] + [""], dtype=object)[codes]
    out["period_sort"] = _floats(values["period_sort"]) if "period_sort" in values.columns else np.full(n, np.nan)
    for column in _NUMERIC:
        out[column] = _floats(values[column]) if column in values.columns else np.full(n, np.nan)
    out["value_note"] = (_clean_text(values["value_note"]) if "value_note" in values.columns
                         else np.full(n, "", dtype=object))
    return out


def _group_aggregate(vals: Columns, bench: Benchmark, meta: pd.DataFrame) -> Columns:
    """Benchmark rows for a group: one per cell, ``area_code`` = the group's name."""
    members = _take(vals, np.flatnonzero(_isin(vals["area_code"], list(bench.members))))
    n = len(members["area_code"])
    if n == 0:
        return {**{c: members[c] for c in (*CELL_KEY, "period_sort", "area_code", "value")},
                "benchmark_method": np.array([], dtype=object)}
    cell = _group_ids(members, CELL_KEY)
    has_counts = np.isfinite(members["count"]) & np.isfinite(members["denominator"])
    work = pd.DataFrame({"cell": cell, "count": members["count"], "denominator": members["denominator"],
                         "value": members["value"], "has_counts": has_counts,
                         "member": pd.factorize(members["area_code"])[0], "row": np.arange(n)})
    agg = work.groupby("cell", sort=True).agg(
        count=("count", "sum"), denominator=("denominator", "sum"), mean_value=("value", "mean"),
        n_members=("member", "nunique"), n_counts=("has_counts", "sum"), first_row=("row", "first"))
    first_row = agg["first_row"].to_numpy()  # a member row of each cell, for its key columns
    ids = members["indicator_id"][first_row].astype(np.int64)
    at = meta.index.get_indexer(ids)
    vtype = np.where(at >= 0, meta["value_type"].to_numpy(dtype=object)[at], "")
    multiplier = np.where(at >= 0, meta["multiplier"].to_numpy(dtype=float)[at], np.nan)
    multiplier = np.where(np.isfinite(multiplier), multiplier, np.where(vtype == "Proportion", 100.0, 1.0))
    complete = ((agg["n_members"].to_numpy() == len(bench.members))
                & (agg["n_counts"].to_numpy() == agg["n_members"].to_numpy()))
    pooled = complete & _isin(vtype, ["Proportion", "Crude rate", "Count"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = agg["count"].to_numpy() / agg["denominator"].to_numpy() * multiplier
    value = np.where(pooled, np.where(vtype == "Count", agg["count"].to_numpy(), ratio), agg["mean_value"].to_numpy())
    out = {c: members[c][first_row] for c in (*CELL_KEY, "period_sort")}
    out["area_code"] = np.full(len(first_row), bench.code, dtype=object)
    out["value"] = value
    out["benchmark_method"] = np.where(pooled, "aggregate of member counts",
                                       f"mean of member values ({len(bench.members)} areas)").astype(object)
    return out


def _meta(indicators: pd.DataFrame | None) -> pd.DataFrame:
    if indicators is None or indicators.empty:
        return pd.DataFrame({"polarity": pd.Series(dtype=object), "comparator_method": pd.Series(dtype=object),
                             "value_type": pd.Series(dtype=object), "multiplier": pd.Series(dtype=float)},
                            index=pd.Index([], dtype=np.int64))
    ind = indicators.drop_duplicates("indicator_id")
    n = len(ind)
    meta = pd.DataFrame({
        "polarity": _clean_text(ind["polarity"]) if "polarity" in ind else np.full(n, NOT_APPLICABLE, dtype=object),
        "comparator_method": (_clean_text(ind["comparator_method"]) if "comparator_method" in ind
                              else np.full(n, "ci_95", dtype=object)),
        "value_type": _clean_text(ind["value_type"]) if "value_type" in ind else np.full(n, "", dtype=object),
        "multiplier": _floats(ind["multiplier"]) if "multiplier" in ind else np.full(n, np.nan),
    }, index=_floats(ind["indicator_id"]).astype(np.int64))
    return meta


def _areas_of_type(areas: pd.DataFrame, area_type: str) -> Columns:
    rows = areas[_clean_text(areas["area_type"]) == area_type]

    def upper(column: str) -> np.ndarray:
        text = _clean_text(rows[column]) if column in rows else np.full(len(rows), "", dtype=object)
        return np.array([t.upper() for t in text], dtype=object)

    code = upper("area_code")
    keep = ~pd.Series(code).duplicated().to_numpy()
    return {"area_code": code[keep], "parent_code": upper("parent_code")[keep],
            "region_code": upper("region_code")[keep]}


def _meta_column(meta: pd.DataFrame, column: str, ids: np.ndarray, default: Any) -> np.ndarray:
    at = meta.index.get_indexer(ids.astype(np.int64))
    values = meta[column].to_numpy(dtype=object)
    return np.where(at >= 0, values[np.maximum(at, 0)] if len(values) else default, default).astype(object)


def compare_values(values: pd.DataFrame, indicators: pd.DataFrame | None, areas: pd.DataFrame, *,
                   area_type: str | Sequence[str] = ("utla", "ltla"),
                   benchmarks: Sequence[Any] = ("england", "region", "parent"),
                   trend_method: str = "ci", trend_gaps: str = "break",
                   focus: Iterable[str] | None = None) -> pd.DataFrame:
    """The comparisons table (:data:`COMPARISON_COLUMNS`) from canonical frames, vectorised.

    ``values`` and ``indicators`` are the canonical tables; ``areas`` gives each area's type,
    ``parent_code`` and ``region_code`` (one row per (area_code, area_type): a unitary is both a
    UTLA and an LTLA). Areas of each ``area_type`` are selected by their codes in ``areas`` (not
    by the values' own ``area_type``). Quintiles, ranks and the spine are computed among the
    areas of one type; trends along each area's series; significance once per benchmark.

    ``focus`` (area codes) limits the returned rows (and the trend and significance work) to
    those areas while quintiles, ranks and spine still use every area of the type.

    Internally every column is a plain numpy array (text as object arrays); the frame, with
    pandas string columns, is built once at the end.
    """
    types = [area_type] if isinstance(area_type, str) else list(area_type)
    specs = [_as_benchmark(b) for b in benchmarks]
    meta = _meta(indicators)
    vals = _normalise_values(values)
    has_code = vals["area_code"] != ""
    key_ids = _group_ids(vals, [*CELL_KEY, "area_code"])
    first_of_key = ~pd.Series(key_ids).duplicated().to_numpy()  # canonical data has no duplicate keys
    vals = _take(vals, np.flatnonzero(has_code & first_of_key))
    n = len(vals["area_code"])
    focus_set = None if focus is None else {str(c).strip().upper() for c in focus}

    # Benchmark lookup: an integer key (cell id, area id) per row of the values and group aggregates.
    lookup_columns = [*CELL_KEY, "period_sort", "area_code", "value"]
    parts = [{**{c: vals[c] for c in lookup_columns}, "benchmark_method": np.full(n, "area value", dtype=object)}]
    parts += [_group_aggregate(vals, b, meta) for b in specs if b.kind == "group"]
    lookup = {c: np.concatenate([p[c] for p in parts]) for c in [*lookup_columns, "benchmark_method"]}
    cell_ids = _group_ids(lookup, CELL_KEY)
    vals_cell = cell_ids[:n]
    code_index = pd.Index(pd.unique(lookup["area_code"]))
    n_codes = len(code_index) + 1
    lookup_key = pd.Index(cell_ids * n_codes + code_index.get_indexer(lookup["area_code"]))
    first = ~lookup_key.duplicated()
    lookup_key = lookup_key[first]
    lookup_value = lookup["value"][first]
    lookup_method = lookup["benchmark_method"][first]

    def find(cells: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Position in the lookup of (cell, area code) for each row; -1 where there is none."""
        code_id = code_index.get_indexer(codes)
        at = lookup_key.get_indexer(cells * n_codes + code_id)
        return np.where(code_id >= 0, at, -1)

    vals["polarity"] = _meta_column(meta, "polarity", vals["indicator_id"], NOT_APPLICABLE)
    vals["comparator_method"] = _meta_column(meta, "comparator_method", vals["indicator_id"], "ci_95")
    vals["value_type"] = _meta_column(meta, "value_type", vals["indicator_id"], "")
    england_at = find(vals_cell, np.full(n, ENGLAND, dtype=object))
    vals["england_value"] = np.where(england_at >= 0, lookup_value[england_at], np.nan)

    # Trends along each series, once for every area of any requested type (a unitary is both).
    peers_by_type = {atype: _areas_of_type(areas, atype) for atype in types}
    wanted = set().union(*(set(p["area_code"]) for p in peers_by_type.values())) if types else set()
    if focus_set is not None:
        wanted &= focus_set
    in_trend = np.flatnonzero(_isin(vals["area_code"], list(wanted)))
    trend = recent_trend(_take(vals, in_trend), polarity=vals["polarity"][in_trend],
                         value_type=vals["value_type"][in_trend], method=trend_method, gaps=trend_gaps,
                         as_arrays=True)
    for column, fill in (("trend", ""), ("trend_note", ""), ("trend_statistic", np.nan)):
        vals[column] = np.full(n, fill, dtype=object if fill == "" else float)
        vals[column][in_trend] = trend[column]

    blocks: list[Columns] = []
    for atype, peers in peers_by_type.items():
        take = np.flatnonzero(_isin(vals["area_code"], peers["area_code"]))
        if not len(take):
            continue
        rows = _take(vals, take)
        rows_cell = vals_cell[take]
        rows["area_type"] = np.full(len(take), atype, dtype=object)
        group = pd.factorize(rows_cell)[0]
        pol = rows["polarity"]
        q = quintiles(rows["value"], pol, groups=group)
        rk = ranks(rows["value"], pol, groups=group)
        sp = spine(rows["value"], pol, centre=rows["england_value"], groups=group)
        for column in sp.columns:
            rows[column] = sp[column].to_numpy()
        rows["rank"] = rk["rank"].to_numpy(dtype=float, na_value=np.nan)
        rows["rank_count"] = rk["rank_count"].to_numpy(dtype=float, na_value=np.nan)
        rows["quintile"] = q["quintile"].to_numpy(dtype=float, na_value=np.nan)
        quintile_label = q["label"].to_numpy(dtype=object)

        if focus_set is not None:
            keep = np.flatnonzero(_isin(rows["area_code"], list(focus_set)))
            rows, rows_cell, quintile_label = _take(rows, keep), rows_cell[keep], quintile_label[keep]
            if not len(keep):
                continue

        m = len(rows["area_code"])
        area_index = pd.Index(peers["area_code"])
        at_area = area_index.get_indexer(rows["area_code"])
        pol, method = rows["polarity"], rows["comparator_method"]
        is_quintile = method == "quintiles"
        quintile_note = np.where(np.isfinite(rows["value"]), "3 or fewer areas with a value", "no value")
        for position, bench in enumerate(specs):
            if bench.kind == "england":
                codes = np.full(m, ENGLAND, dtype=object)
            elif bench.kind in ("region", "parent"):
                codes = peers[f"{bench.kind}_code"][at_area]
            else:
                codes = np.full(m, bench.code, dtype=object)
            at = find(rows_cell, codes)
            found = at >= 0
            bvalue = np.where(found, lookup_value[at], np.nan)
            sig = compare_to_benchmark(rows["value"], rows["lower_95"], rows["upper_95"], rows["lower_99_8"],
                                       rows["upper_99_8"], bvalue, comparator_method=method, polarity=pol,
                                       same_area=codes == rows["area_code"])
            sig_label = sig["significance"].to_numpy(dtype=object)
            sig_note = sig["significance_note"].to_numpy(dtype=object)
            blocks.append({
                **rows, "benchmark": np.full(m, bench.label, dtype=object), "benchmark_code": codes,
                "benchmark_value": bvalue, "benchmark_method": np.where(found, lookup_method[at], "").astype(object),
                "significance": np.where(is_quintile, quintile_label, sig_label),
                "significance_level": np.where(is_quintile, np.nan, sig["significance_level"].to_numpy()),
                "significance_note": np.where(is_quintile, np.where(quintile_label == NOT_COMPARED, quintile_note, ""),
                                              sig_note).astype(object),
                "bench_order": np.full(m, position),
            })
    if not blocks:
        return _empty_comparisons()
    out = {c: np.concatenate([b[c] for b in blocks]) for c in [*COMPARISON_COLUMNS, "bench_order"]}
    # Sorted by area first, so a reader of one area's slice touches one contiguous run of rows.
    keys = [out["period_sort"]]
    for column in ("category", "category_type", "age", "sex"):
        keys.append(pd.factorize(out[column], sort=True)[0])
    keys += [out["indicator_id"], out["bench_order"], pd.factorize(out["area_type"], sort=True)[0],
             pd.factorize(out["area_code"], sort=True)[0]]
    order = np.lexsort(keys)
    return _finish({c: out[c][order] for c in COMPARISON_COLUMNS})


def _string_array(values: np.ndarray) -> Any:
    """A pandas string array (``pd.StringDtype()``, as :meth:`Store.read` returns text) from an
    object array of str; with pyarrow storage it is decoded from a dictionary in arrow (fast)."""
    dtype = pd.StringDtype()
    if dtype.storage != "pyarrow":
        return pd.array(values, dtype=dtype)
    codes, uniques = pd.factorize(values)
    dictionary = pa.array([str(u) for u in uniques], type=pa.string())
    decoded = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary).dictionary_decode()
    return pd.arrays.ArrowStringArray(decoded)


def _empty_comparisons() -> pd.DataFrame:
    return _finish({c: np.array([], dtype=object if c in _TEXT_COLUMNS else float) for c in COMPARISON_COLUMNS})


def _finish(columns: Columns) -> pd.DataFrame:
    """The comparisons frame with canonical dtypes (strings, floats, nullable ints) from arrays."""
    data: dict[str, Any] = {}
    for column in COMPARISON_COLUMNS:
        array = columns[column]
        if column in _TEXT_COLUMNS:
            data[column] = _string_array(np.asarray(array, dtype=object))
        elif column in _INT_COLUMNS:
            data[column] = pd.array(pd.to_numeric(pd.Series(array, dtype=float)), dtype="Float64").round().astype("Int64")
        elif column == "spine_reversed":
            data[column] = np.asarray(array, dtype=bool)
        else:
            data[column] = np.asarray(array, dtype=float)
    return pd.DataFrame(data)


# ================================================================================= store
def _areas_for(store: Any) -> pd.DataFrame:
    if store.has("areas"):
        areas = store.read("areas")
        if {"utla", "ltla"} & set(_clean_text(areas["area_type"])):
            return areas
    from . import geography

    return geography.areas()


def compare_all(store: Any, *, area_type: str | Sequence[str] = ("utla", "ltla"),
                benchmarks: Sequence[Any] = ("england", "region", "parent"), trend_method: str = "ci",
                trend_gaps: str = "break", save: bool = True) -> pd.DataFrame:
    """Compute the comparisons table for every area of ``area_type`` in ``store`` and save it.

    Reads the store's ``values``, ``indicators`` and ``areas`` tables (the reference geography
    when the store has no areas), runs :func:`compare_values` and, when ``save``, writes the
    result as the table ``comparisons`` (atomically, with the checksums of the values and
    indicators it was made from recorded in the manifest, so readers can tell when it is stale).
    ``trend_method`` and ``trend_gaps`` are passed to :func:`recent_trend`. Returns the table.
    """
    values = store.read("values")
    indicators = store.read("indicators") if store.has("indicators") else None
    areas = _areas_for(store)
    table = compare_values(values, indicators, areas, area_type=area_type, benchmarks=benchmarks,
                           trend_method=trend_method, trend_gaps=trend_gaps)
    if save:
        # Sorted by area with small row groups, so one area's slice reads in milliseconds.
        store.write_many({"comparisons": table}, source="jsna_lib.compare.compare_all", validate=False,
                         row_group_size=8192, inputs=_inputs_checksum(store), comparisons_format=COMPARISONS_FORMAT,
                         trend=f"{trend_method}, gaps={trend_gaps}",
                         benchmarks=[_as_benchmark(b).label for b in benchmarks],
                         area_types=[area_type] if isinstance(area_type, str) else list(area_type))
    return table


def _inputs_checksum(store: Any) -> dict[str, str]:
    tables = store.manifest.get("tables", {})
    return {name: tables[name]["sha256"] for name in ("values", "indicators", "areas") if name in tables}


def comparisons_current(store: Any) -> bool:
    """True when the store has a ``comparisons`` table made from its current values/indicators/areas."""
    if not store.has("comparisons"):
        return False
    entry = store.manifest["tables"]["comparisons"]
    return (entry.get("comparisons_format") == COMPARISONS_FORMAT
            and entry.get("inputs") == _inputs_checksum(store))


def read_comparisons(store: Any, *, area_code: str | None = None, area_type: str | None = None,
                     benchmark: str | None = None, indicator_id: int | None = None) -> pd.DataFrame:
    """Read a slice of the stored ``comparisons`` table (pyarrow filters: only that slice is read)."""
    filters = []
    if area_code is not None:
        filters.append(("area_code", "=", area_code.strip().upper()))
    if area_type is not None:
        filters.append(("area_type", "=", area_type))
    if benchmark is not None:
        filters.append(("benchmark", "=", benchmark))
    if indicator_id is not None:
        filters.append(("indicator_id", "=", int(indicator_id)))
    return store.read("comparisons", filters=filters or None)


def significance_counts(labels: Any) -> dict[str, int]:
    """How many significance labels are better, similar, worse, neutral or other.

    Two-level labels count by their first word ("Better (99.8%)" is better); ``neutral`` is
    Higher/Lower (BOB polarity, neither is better); ``other`` is everything else (Not compared,
    quintiles, missing).
    """
    values = pd.Series(labels, dtype=object).to_numpy()
    if not len(values):
        return {"better": 0, "similar": 0, "worse": 0, "neutral": 0, "other": 0}
    sig = np.strings.strip(np.where(pd.isna(values), "", values).astype(str))
    first = np.strings.partition(sig, " ")[0]
    counts = {"better": int((first == "Better").sum()), "similar": int((sig == SIMILAR).sum()),
              "worse": int((first == "Worse").sum()), "neutral": int(np.isin(first, ["Higher", "Lower"]).sum())}
    counts["other"] = len(sig) - sum(counts.values())
    return counts


def colour(labels: Any) -> np.ndarray:
    """The Fingertips colour of each significance label (grey for anything unknown)."""
    series = pd.Series(_texts(labels, len(labels)))
    return series.map(COLOURS).fillna(COLOURS[NOT_COMPARED]).to_numpy(dtype=object)
