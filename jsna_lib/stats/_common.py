"""Shared machinery of :mod:`jsna_lib.stats`: validation, grouping, confidence levels and the
interval formulas (Wilson, Byar, exact Poisson) that several methods use.

Everything here works on whole numpy arrays. Grouping is done once with :func:`pandas.factorize`
and summed with :func:`numpy.bincount`; there is no Python loop over rows or groups.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from scipy import special

#: How many offending row labels an error message shows.
SHOW_ROWS = 5

Confidence = float | Sequence[float]
By = Hashable | Sequence[Hashable] | None


# --------------------------------------------------------------------------------------------
# Confidence levels
# --------------------------------------------------------------------------------------------


def confidence_levels(confidence: Confidence) -> list[float]:
    """Validate ``confidence`` (one level or a sequence) and return it as a list of floats.

    Levels must lie in [0.9, 1): 0.9 is accepted (its columns are ``lower_90``/``upper_90``),
    1 and above are not (the interval would be infinite). Percentages such as 95 are refused
    rather than guessed at.
    """
    if isinstance(confidence, (int, float, np.floating, np.integer)) and not isinstance(confidence, bool):
        levels = [float(confidence)]
    else:
        try:
            levels = [float(c) for c in confidence]  # type: ignore[union-attr]
        except TypeError as exc:
            raise ValueError(f"confidence must be a number or a sequence of numbers, got {confidence!r}") from exc
    if not levels:
        raise ValueError("confidence must contain at least one level")
    bad = [c for c in levels if not (0.9 <= c < 1) or not np.isfinite(c)]
    if bad:
        raise ValueError(
            f"confidence levels must lie between 0.9 and 1 (e.g. 0.95, 0.998); got {bad}"
        )
    if len(set(levels)) != len(levels):
        raise ValueError(f"confidence levels repeat: {levels}")
    return levels


def level_suffix(level: float) -> str:
    """Column suffix for a confidence level: 0.95 -> '95', 0.998 -> '99_8', 0.975 -> '97_5'."""
    text = f"{round(level * 100, 6):.6f}".rstrip("0").rstrip(".")
    return text.replace(".", "_")


def lower_col(level: float) -> str:
    return f"lower_{level_suffix(level)}"


def upper_col(level: float) -> str:
    return f"upper_{level_suffix(level)}"


def z_value(level: float) -> float:
    """Two-sided standard normal quantile: z such that P(|Z| < z) = level."""
    return float(special.ndtri(0.5 + level / 2))


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def as_list(by: By) -> list[Hashable]:
    """``by`` as a list of column names (``None`` -> [])."""
    if by is None:
        return []
    if isinstance(by, (str, bytes)) or not isinstance(by, Iterable):
        return [by]
    return list(by)


def check_frame(df: object) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    return df


def check_columns(df: pd.DataFrame, **columns: Hashable | Sequence[Hashable] | None) -> None:
    """Raise ``ValueError`` naming the argument for every column that is not in ``df``."""
    missing = []
    for arg, cols in columns.items():
        for col in as_list(cols):
            if col not in df.columns:
                missing.append(f"{arg}={col!r}")
    if missing:
        raise ValueError(
            f"column(s) not found in df: {', '.join(missing)}; df has columns {list(df.columns)}"
        )


def rows_text(df: pd.DataFrame, mask: np.ndarray) -> str:
    """The first offending row labels of ``df`` where ``mask`` is true, for error messages."""
    idx = np.flatnonzero(mask)
    labels = df.index[idx[:SHOW_ROWS]].tolist()
    more = f" (and {idx.size - SHOW_ROWS} more)" if idx.size > SHOW_ROWS else ""
    return f"rows {labels}{more}"


def numeric(df: pd.DataFrame, col: Hashable, arg: str) -> np.ndarray:
    """Column ``col`` as a float64 array (missing -> NaN); ``ValueError`` if it is not numeric
    or holds infinite values."""
    s = df[col]
    if is_bool_dtype(s.dtype) or not is_numeric_dtype(s.dtype):
        converted = pd.to_numeric(s, errors="coerce")
        bad = converted.isna().to_numpy() & s.notna().to_numpy()
        if is_bool_dtype(s.dtype) or bad.any():
            raise ValueError(
                f"{arg} column {col!r} must be numeric (dtype {s.dtype}); "
                f"non-numeric values in {rows_text(df, bad if bad.any() else np.ones(len(s), bool))}"
            )
        s = converted
    arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    inf = np.isinf(arr)
    if inf.any():
        raise ValueError(f"{arg} column {col!r} has infinite values in {rows_text(df, inf)}")
    return arr


def check_nonnegative(df: pd.DataFrame, arr: np.ndarray, col: Hashable, arg: str) -> None:
    bad = arr < 0  # NaN compares False
    if bad.any():
        raise ValueError(f"{arg} column {col!r} has negative values in {rows_text(df, bad)}")


def check_positive(df: pd.DataFrame, arr: np.ndarray, col: Hashable, arg: str) -> None:
    bad = arr <= 0
    if bad.any():
        raise ValueError(f"{arg} column {col!r} has zero or negative values in {rows_text(df, bad)}")


# --------------------------------------------------------------------------------------------
# Grouping
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Groups:
    """Integer group codes per row (0..n-1, in sorted key order) and one row of keys per group."""

    codes: np.ndarray
    keys: pd.DataFrame
    n: int

    def sum(self, arr: np.ndarray) -> np.ndarray:
        """Sum ``arr`` within groups; a NaN anywhere in a group makes that group's sum NaN."""
        if self.n == 1:
            return np.array([arr.sum()], dtype=np.float64)
        return np.bincount(self.codes, weights=arr, minlength=self.n)

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        if mask is None:
            return np.bincount(self.codes, minlength=self.n)
        return np.bincount(self.codes[mask], minlength=self.n)


def make_groups(df: pd.DataFrame, by: list[Hashable]) -> Groups:
    """Group rows of ``df`` by the columns ``by`` (missing keys form their own group).

    Groups are numbered in sorted key order, as ``DataFrame.groupby(by, sort=True)`` would.
    With ``by == []`` every row is in one group (no group at all when ``df`` is empty).
    """
    n_rows = len(df)
    if not by:
        n = 1 if n_rows else 0
        return Groups(np.zeros(n_rows, dtype=np.intp), pd.DataFrame(index=range(n)), n)
    codes_list = []
    uniques_list = []
    for col in by:
        codes, uniques = pd.factorize(df[col], sort=True, use_na_sentinel=False)
        codes_list.append(codes.astype(np.int64))
        uniques_list.append(uniques)
    if len(by) == 1:
        codes = codes_list[0]
        n = len(uniques_list[0])
        keys = pd.DataFrame({by[0]: _take(uniques_list[0], np.arange(n), df[by[0]])})
        return Groups(codes.astype(np.intp), keys, n)
    sizes = [max(len(u), 1) for u in uniques_list]
    if float(np.prod(np.asarray(sizes, dtype=float))) < 2.0**62:
        combined = np.zeros(n_rows, dtype=np.int64)
        for codes, size in zip(codes_list, sizes, strict=True):
            combined = combined * size + codes
        ucomb, inverse = np.unique(combined, return_inverse=True)
        parts = []
        rem = ucomb
        for size in reversed(sizes):
            parts.append(rem % size)
            rem = rem // size
        parts.reverse()
    else:  # pragma: no cover - astronomically many key combinations
        stacked = np.column_stack(codes_list)
        ucomb, inverse = np.unique(stacked, axis=0, return_inverse=True)
        parts = [ucomb[:, i] for i in range(len(by))]
    keys = pd.DataFrame(
        {col: _take(u, p, df[col]) for col, u, p in zip(by, uniques_list, parts, strict=True)}
    )
    return Groups(np.asarray(inverse, dtype=np.intp).ravel(), keys, len(ucomb))


def _take(uniques: object, positions: np.ndarray, original: pd.Series) -> pd.Series:
    """Key values at ``positions`` of the factorize uniques, in the original column's dtype."""
    if isinstance(uniques, pd.Categorical):
        values = pd.Categorical.from_codes(
            np.asarray(uniques.codes)[positions], dtype=original.dtype
        )
        return pd.Series(values, name=original.name)
    taken = pd.Index(uniques).take(positions)
    try:
        return pd.Series(taken, name=original.name).astype(original.dtype)
    except (TypeError, ValueError):
        return pd.Series(taken, name=original.name)


# --------------------------------------------------------------------------------------------
# Notes and output
# --------------------------------------------------------------------------------------------


def notes_column(n: int, *rules: tuple[np.ndarray, str]) -> pd.api.extensions.ExtensionArray:
    """A ``value_note`` column of ``n`` rows: the first rule whose mask is true gives the note;
    rows without a note hold "" (the canonical empty value, see ``jsna_lib.schema``)."""
    notes = np.full(n, "", dtype=object)
    done = np.zeros(n, dtype=bool)
    for mask, text in rules:
        hit = mask & ~done
        notes[hit] = text
        done |= hit
    return pd.array(notes, dtype="string")


def assemble(base: pd.DataFrame, columns: dict[Hashable, object]) -> pd.DataFrame:
    """A copy of ``base`` with ``columns`` (arrays, positionally aligned) added at the end;
    a column of ``base`` with the same name is replaced (and moved to the end)."""
    keep = [c for c in base.columns if c not in columns]
    out = base[keep].copy()
    for name, values in columns.items():
        out[name] = values
    return out


# --------------------------------------------------------------------------------------------
# Interval formulas on arrays
# --------------------------------------------------------------------------------------------


def wilson_limits(x: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion x/n (Wilson 1927; Newcombe & Altman 2000).

    (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)).
    """
    z = z_value(level)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        root = z * np.sqrt(np.maximum(z2 + 4.0 * x * (1.0 - x / n), 0.0))
        denom = 2.0 * (n + z2)
        lower = (2.0 * x + z2 - root) / denom
        upper = (2.0 * x + z2 + root) / denom
    # x = 0 and x = n give exactly 0 and 1 in exact arithmetic; remove rounding noise.
    lower = np.where(x == 0, 0.0, lower)
    upper = np.where(x == n, 1.0, upper)
    return lower, upper


def byar_lower(o: np.ndarray, level: float) -> np.ndarray:
    """Byar's approximation to the exact Poisson lower limit of a count o (Breslow & Day 1987):
    o (1 - 1/(9o) - z/(3 sqrt(o)))^3."""
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        return o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3


def byar_upper(o: np.ndarray, level: float) -> np.ndarray:
    """Byar's upper limit: (o + 1)(1 - 1/(9(o + 1)) + z/(3 sqrt(o + 1)))^3."""
    z = z_value(level)
    o1 = o + 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3


def exact_lower(o: np.ndarray, level: float) -> np.ndarray:
    """Exact (chi-square based) Poisson lower limit: chi2_{alpha/2}(2o)/2, and 0 for o = 0."""
    alpha = 1.0 - level
    out = np.full(o.shape, np.nan)
    pos = o > 0
    out[o == 0] = 0.0
    if pos.any():
        out[pos] = _gammaincinv_cached(o[pos], alpha / 2)
    return out


def exact_upper(o: np.ndarray, level: float) -> np.ndarray:
    """Exact (chi-square based) Poisson upper limit: chi2_{1-alpha/2}(2o + 2)/2."""
    alpha = 1.0 - level
    out = np.full(o.shape, np.nan)
    ok = o >= 0
    if ok.any():
        out[ok] = _gammaincinv_cached(o[ok] + 1.0, 1.0 - alpha / 2)
    return out


def _gammaincinv_cached(a: np.ndarray, p: float) -> np.ndarray:
    """gammaincinv(a, p) (the p-quantile of a Gamma(a, 1), i.e. chi2_p(2a)/2), computed once per
    distinct a: counts are usually small integers, so this is a handful of evaluations."""
    uniq, inverse = np.unique(a, return_inverse=True)
    return special.gammaincinv(uniq, p)[inverse]


def poisson_limits(o: np.ndarray, level: float, method: str = "byar") -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for a Poisson count ``o``.

    ``method="byar"`` is OHID's rule: the exact (chi-square) interval where o < 10 and Byar's
    approximation where o >= 10. ``"exact"`` uses the exact interval for every count.
    NaN counts give NaN limits.
    """
    if method not in ("byar", "exact"):
        raise ValueError(f"method must be 'byar' or 'exact', got {method!r}")
    if method == "exact":
        return exact_lower(o, level), exact_upper(o, level)
    small = o < 10
    lower = byar_lower(o, level)
    upper = byar_upper(o, level)
    if small.any():
        lower[small] = exact_lower(o[small], level)
        upper[small] = exact_upper(o[small], level)
    return lower, upper


def t_quantile(level: float, dof: np.ndarray) -> np.ndarray:
    """Two-sided Student t quantile for ``level`` with ``dof`` degrees of freedom (NaN if dof < 1)."""
    with np.errstate(invalid="ignore"):
        return np.where(dof >= 1, special.stdtrit(np.maximum(dof, 1), 0.5 + level / 2), np.nan)
