"""Directly standardised rates (Dobson) and indirectly standardised ratios and rates (Byar)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from importlib import resources

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
    poisson_limits,
    rows_text,
    upper_col,
)

MISSING_NOTE = "Missing count or population"
INCOMPLETE_NOTE = "Missing age band(s)"
SMALL_COUNT_NOTE = "Total count below 10: DSR not calculated"
NO_EXPECTED_NOTE = "Expected count is zero"

Standard = pd.Series | pd.DataFrame | Mapping[str, float]


def _load_esp2013() -> pd.Series:
    """The packaged 2013 European Standard Population (see esp2013.csv for the source)."""
    text = resources.files(__package__).joinpath("esp2013.csv").read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
    header, body = rows[0], rows[1:]
    if header != ["age_band", "population"]:  # pragma: no cover - packaging error
        raise RuntimeError("esp2013.csv is malformed")
    series = pd.Series(
        [float(r[1]) for r in body],
        index=pd.Index([r[0] for r in body], name="age_band", dtype=object),
        name="population",
    )
    return series


#: The 2013 European Standard Population: 19 bands "0-4", "5-9", ..., "85-89", "90+"; total 100,000.
#: Source: Eurostat (2013), Revision of the European Standard Population (ISBN 978-92-79-31094-2).
ESP2013: pd.Series = _load_esp2013()


def standard_series(standard: Standard, arg: str = "standard") -> pd.Series:
    """A standard population (or any band -> number mapping) as a float Series indexed by band.

    Accepts a Series (index = band), a mapping, or a two-column DataFrame (band, number).
    """
    if isinstance(standard, pd.DataFrame):
        if standard.shape[1] != 2:
            raise ValueError(
                f"{arg} as a DataFrame must have two columns (age band, population); "
                f"got {list(standard.columns)}"
            )
        series = pd.Series(standard.iloc[:, 1].to_numpy(), index=standard.iloc[:, 0].to_numpy())
    elif isinstance(standard, pd.Series):
        series = standard
    elif isinstance(standard, Mapping):
        series = pd.Series(list(standard.values()), index=list(standard.keys()), dtype=float)
    else:
        raise ValueError(
            f"{arg} must be a Series, a mapping or a DataFrame of age band -> population; "
            f"got {type(standard).__name__}"
        )
    labels = pd.Index([str(b) for b in series.index], dtype=object)
    if labels.has_duplicates:
        raise ValueError(f"{arg} repeats age bands: {sorted(set(labels[labels.duplicated()]))}")
    values = pd.to_numeric(pd.Series(series.to_numpy()), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"{arg} must hold finite non-negative numbers; bad bands: {list(labels[bad][:5])}"
        )
    return pd.Series(values, index=labels, name=series.name)


def band_codes(df: pd.DataFrame, col: Hashable, labels: Sequence[str], arg: str = "age_band",
               against: str = "the standard", aliases: Mapping[str, int] | None = None) -> np.ndarray:
    """Position in ``labels`` of each row's age band; ``ValueError`` naming the rows whose band
    is missing or not one of ``labels`` (or of ``aliases``, extra spellings -> position).

    Only the distinct band values are looked up (a Python loop over at most a few dozen labels,
    never over rows)."""
    codes, uniques = pd.factorize(df[col], use_na_sentinel=True)
    lookup = {label: i for i, label in enumerate(labels)}
    if aliases:
        lookup.update(aliases)
    mapped = np.array([lookup.get(_band_text(u), -1) for u in uniques], dtype=np.intp)
    out = np.where(codes >= 0, mapped[np.maximum(codes, 0)], -1)
    bad = out < 0
    if bad.any():
        shown = sorted({str(v) for v in df[col].to_numpy()[bad][:50]})[:10]
        raise ValueError(
            f"{arg} column {col!r} has age bands not in {against} ({shown}) in "
            f"{rows_text(df, bad)}; expected one of {list(labels)}"
        )
    return out


def _band_text(value: object) -> str:
    """A band value as text; whole numbers (e.g. start ages 0, 1, 5.0) without decimals."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if np.isfinite(value) and float(value).is_integer():
            return str(int(value))
    return str(value)


def grid(codes: np.ndarray, bands: np.ndarray, n_groups: int, n_bands: int,
          arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sum each array into a (groups x bands) matrix; also return how many rows fed each cell."""
    cell = codes * n_bands + bands
    size = n_groups * n_bands
    rows = np.bincount(cell, minlength=size).reshape(n_groups, n_bands)
    sums = [np.bincount(cell, weights=a, minlength=size).reshape(n_groups, n_bands) for a in arrays]
    return rows, sums


def dsr(
    df: pd.DataFrame,
    count: Hashable,
    population: Hashable,
    *,
    by: By,
    age_band: Hashable,
    standard: Standard = ESP2013,
    confidence: Confidence = (0.95, 0.998),
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Directly standardised rates with Dobson's confidence intervals.

    With O_i deaths (events), n_i population and w_i standard population in age band i:

        DSR = sum(w_i O_i / n_i) / sum(w_i) * multiplier,
        var(DSR) = sum(w_i^2 O_i / n_i^2) / sum(w_i)^2,
        limits = DSR + sqrt(var(DSR) / O) * (O_lower - O) * multiplier, O = sum(O_i),

    where O_lower/O_upper are the Poisson limits of the total count O (Byar's method; exact
    below 10, though DSRs on fewer than 10 events are not calculated: value and limits are
    NaN with a ``value_note``, as OHID does).

    Rows with the same group and age band are summed first (e.g. males + females). The
    standard is restricted to the age bands that occur in ``df`` (so an indicator for ages 65+
    is standardised on the 65+ part of the standard); a group that lacks one of those bands
    gets NaN and a ``value_note`` rather than a silently different standard.

    Parameters
    ----------
    df : DataFrame
        One row per group and age band.
    count, population : column names
        Counts >= 0 and populations > 0 (zero populations raise ``ValueError``).
    by : column name, list of names, or None (all rows are one group)
    age_band : column name
        Band labels matching the standard's index exactly, e.g. "0-4", ..., "85-89", "90+".
    standard : Series, mapping or two-column DataFrame
        Band -> standard population; default :data:`ESP2013`.
    confidence : float or sequence of floats in [0.9, 1)
    multiplier : float, default 100,000

    Returns
    -------
    DataFrame
        Group keys, total ``count`` and ``population``, ``value``, interval columns, ``value_note``.

    References
    ----------
    Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Confidence intervals for weighted sums of
    Poisson parameters. Stat Med 1991;10:457-462. Breslow NE, Day NE (1987), Byar's method.
    Eayres D. APHO Technical Briefing 3: Commonly used public health statistics and their
    confidence intervals, 2008. OHID, Fingertips Technical Guide: Confidence intervals.
    Eurostat (2013) Revision of the European Standard Population.
    """
    levels = confidence_levels(confidence)
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, count=count, population=population, by=keys, age_band=age_band)
    std = standard_series(standard)
    x = numeric(df, count, "count")
    n = numeric(df, population, "population")
    check_nonnegative(df, x, count, "count")
    check_positive(df, n, population, "population")
    bands = band_codes(df, age_band, list(std.index))
    groups = make_groups(df, keys)
    rows, (xg, ng) = grid(groups.codes, bands, groups.n, len(std), (x, n))
    present = rows > 0
    used = present.any(axis=0)
    weights = std.to_numpy() * used  # standard restricted to the bands present in df
    total_w = weights.sum()
    if total_w <= 0 and groups.n:
        raise ValueError(f"standard gives zero total weight to the age bands in df ({list(std.index[used])})")
    incomplete = (present[:, used] == 0).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        band_rate = np.where(present, xg / np.where(present, ng, 1.0), 0.0)
        value = (band_rate * weights).sum(axis=1) / total_w
        var = (band_rate / np.where(present, ng, 1.0) * weights**2).sum(axis=1) / total_w**2
    o = xg.sum(axis=1)
    pop = ng.sum(axis=1)
    missing = np.isnan(value)
    small = o < 10
    suppress = missing | incomplete | small
    value = np.where(suppress, np.nan, value)
    base = groups.keys
    base[count] = o
    base[population] = pop
    columns: dict[Hashable, object] = {"value": value * multiplier}
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(var / o)
        for level in levels:
            o_low, o_up = poisson_limits(o, level)
            columns[lower_col(level)] = np.where(suppress, np.nan, value + spread * (o_low - o)) * multiplier
            columns[upper_col(level)] = np.where(suppress, np.nan, value + spread * (o_up - o)) * multiplier
    columns["value_note"] = notes_column(
        groups.n, (missing, MISSING_NOTE), (incomplete, INCOMPLETE_NOTE), (small, SMALL_COUNT_NOTE)
    )
    return assemble(base, columns)


def _reference(df: pd.DataFrame, ref: Hashable | Standard, arg: str, age_band: Hashable | None,
               bands_cache: dict[str, np.ndarray]) -> np.ndarray:
    """Per-row reference values from a column of ``df`` or a band -> value mapping."""
    if isinstance(ref, (pd.Series, pd.DataFrame, Mapping)):
        if age_band is None:
            raise ValueError(f"age_band is required when {arg} is given as a band -> value mapping")
        check_columns(df, age_band=age_band)
        series = standard_series(ref, arg)
        key = "|".join(series.index)
        if key not in bands_cache:
            bands_cache[key] = band_codes(df, age_band, list(series.index), against=arg)
        return series.to_numpy()[bands_cache[key]]
    check_columns(df, **{arg: ref})
    return numeric(df, ref, arg)


def _indirect(
    df: pd.DataFrame,
    count: Hashable,
    population: Hashable,
    by: By,
    age_band: Hashable | None,
    reference_count: Hashable | Standard,
    reference_population: Hashable | Standard,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    df = check_frame(df)
    keys = as_list(by)
    check_columns(df, count=count, population=population, by=keys)
    if age_band is not None:
        check_columns(df, age_band=age_band)
    x = numeric(df, count, "count")
    n = numeric(df, population, "population")
    check_nonnegative(df, x, count, "count")
    check_positive(df, n, population, "population")
    cache: dict[str, np.ndarray] = {}
    rx = _reference(df, reference_count, "reference_count", age_band, cache)
    rn = _reference(df, reference_population, "reference_population", age_band, cache)
    check_nonnegative(df, rx, reference_count if isinstance(reference_count, str) else "mapping",
                      "reference_count")
    bad = rn <= 0
    if bad.any():
        raise ValueError(f"reference_population has zero or negative values in {rows_text(df, bad)}")
    groups = make_groups(df, keys)
    observed = groups.sum(x)
    expected = groups.sum(n * rx / rn)
    ref_rate = groups.sum(rx) / groups.sum(rn)
    base = groups.keys
    base[count] = observed
    base[population] = groups.sum(n)
    base["expected"] = expected
    return base, observed, expected, ref_rate, np.isnan(observed) | np.isnan(expected)


def isratio(
    df: pd.DataFrame,
    count: Hashable,
    population: Hashable,
    *,
    by: By,
    age_band: Hashable | None = None,
    reference_count: Hashable | Standard,
    reference_population: Hashable | Standard,
    confidence: Confidence = (0.95, 0.998),
    multiplier: float = 100,
) -> pd.DataFrame:
    """Indirectly standardised ratios (observed / expected, e.g. SMRs) with Byar's intervals.

    Expected E = sum_i n_i * R_i / N_i over the group's rows (n_i the population, R_i and
    N_i the reference count and population for that age band). Observed O = sum of ``count``.

        value = O / E * multiplier,  limits = O_lower / E * multiplier, O_upper / E * multiplier,

    with O_lower/O_upper the Poisson limits of O: Byar's method for O >= 10, exact
    (chi-square) below 10.

    ``multiplier`` defaults to 100 because that is how Fingertips publishes ratios
    ("Indirectly standardised ratio ... per 100", e.g. indicator 91344, where 100 means "as
    expected"). PHEindicatormethods' ``calculate_ISRatio`` defaults to ``refvalue = 1``: pass
    ``multiplier=1`` for its convention.

    Parameters
    ----------
    df : DataFrame
        One row per group and age band.
    count, population : column names
    by : column name, list of names, or None (one group)
    age_band : column name, optional
        Needed when a reference is given as a band -> value mapping (validated against it).
    reference_count, reference_population : column name or band -> value mapping
        The reference (e.g. England) events and population by age band.
    confidence : float or sequence of floats in [0.9, 1)
    multiplier : float, default 100

    Returns
    -------
    DataFrame
        Group keys, observed ``count``, ``population``, ``expected``, ``value``, intervals and
        ``value_note``.

    References
    ----------
    Breslow NE, Day NE. Statistical methods in cancer research, volume II. IARC, 1987.
    Eayres D. APHO Technical Briefing 3, 2008. OHID Fingertips Technical Guide: Confidence
    intervals; Indirect standardisation.
    """
    levels = confidence_levels(confidence)
    base, o, e, _, missing = _indirect(
        df, count, population, by, age_band, reference_count, reference_population
    )
    no_expected = ~missing & (e <= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(no_expected, np.nan, multiplier / e)
    columns: dict[Hashable, object] = {"value": o * scale}
    for level in levels:
        lower, upper = poisson_limits(o, level)
        columns[lower_col(level)] = lower * scale
        columns[upper_col(level)] = upper * scale
    columns["value_note"] = notes_column(
        len(o), (missing, MISSING_NOTE), (no_expected, NO_EXPECTED_NOTE)
    )
    return assemble(base, columns)


def isr(
    df: pd.DataFrame,
    count: Hashable,
    population: Hashable,
    *,
    by: By,
    age_band: Hashable | None = None,
    reference_count: Hashable | Standard,
    reference_population: Hashable | Standard,
    confidence: Confidence = (0.95, 0.998),
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Indirectly standardised rates with Byar's intervals.

    The ratio O/E of :func:`isratio` times the reference crude rate
    r = sum(R_i) / sum(N_i) over the group's rows:

        value = O / E * r * multiplier,  limits = O_lower / E * r * multiplier, ...

    with O_lower/O_upper the Poisson limits of O (Byar's method, exact below 10), as in
    PHEindicatormethods' ``calculate_ISRate``.

    Parameters and output as for :func:`isratio` (plus a ``reference_rate`` column, per
    ``multiplier``); ``multiplier`` defaults to 100,000.

    References
    ----------
    Breslow NE, Day NE (1987); Eayres D. APHO Technical Briefing 3, 2008; OHID Fingertips
    Technical Guide: Confidence intervals.
    """
    levels = confidence_levels(confidence)
    base, o, e, ref_rate, missing = _indirect(
        df, count, population, by, age_band, reference_count, reference_population
    )
    missing = missing | np.isnan(ref_rate)
    no_expected = ~missing & (e <= 0)
    base["reference_rate"] = ref_rate * multiplier
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(no_expected, np.nan, ref_rate * multiplier / e)
    columns: dict[Hashable, object] = {"value": o * scale}
    for level in levels:
        lower, upper = poisson_limits(o, level)
        columns[lower_col(level)] = lower * scale
        columns[upper_col(level)] = upper * scale
    columns["value_note"] = notes_column(
        len(o), (missing, MISSING_NOTE), (no_expected, NO_EXPECTED_NOTE)
    )
    return assemble(base, columns)
