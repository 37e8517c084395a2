"""Canonical tables of the workbench (DESIGN.md §2) and their validation.

Every source (Fingertips API, Fingertips CSV exports, tidy CSV/Excel files, the demonstration
generator) produces these tables; everything downstream (store, compare, profile, charts) reads
only these. Columns are snake_case, one row per observation.

``validate(df, table)`` coerces a frame to the canonical dtypes and raises ``ValueError`` that
names the table, the column and the first offending rows when the data breaks a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STRING = "string"
INT = "Int64"
FLOAT = "float64"

#: Value types as Fingertips names them (DESIGN.md §2).
VALUE_TYPES = (
    "Proportion",
    "Crude rate",
    "Directly standardised rate",
    "Indirectly standardised ratio",
    "Indirectly standardised rate",
    "Indirectly standardised proportion",
    "Life expectancy",
    "Mean",
    "Score",
    "Count",
)
#: Polarity wording exactly as Fingertips writes it.
POLARITIES = ("RAG - Low is good", "RAG - High is good", "BOB - Blue orange blue", "Not applicable")
COMPARATOR_METHODS = ("ci_95", "ci_99_8", "ci_both", "quintiles", "none")
SEXES = ("Persons", "Male", "Female")
AREA_TYPES = ("england", "region", "utla", "ltla", "msoa", "lsoa", "custom", "other")

#: How many offending rows an error message shows.
SHOW_ROWS = 5


@dataclass(frozen=True)
class Table:
    """Definition of one canonical table: columns with dtypes, which are required, its key."""

    name: str
    columns: dict[str, str]
    required: tuple[str, ...]
    key: tuple[str, ...] = ()
    #: columns whose missing values are filled with "" (text parts of the key)
    fill_empty: tuple[str, ...] = ()
    #: allowed values per column (None/NA always allowed unless the column is required)
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)


VALUES = Table(
    name="values",
    columns={
        "indicator_id": INT,
        "area_code": STRING,
        "area_type": STRING,
        "sex": STRING,
        "age": STRING,
        "category_type": STRING,
        "category": STRING,
        "period": STRING,
        "period_sort": INT,
        "value": FLOAT,
        "lower_95": FLOAT,
        "upper_95": FLOAT,
        "lower_99_8": FLOAT,
        "upper_99_8": FLOAT,
        "count": FLOAT,
        "denominator": FLOAT,
        "value_note": STRING,
        # Optional: the judgements a source published (kept to check ours against them).
        "published_trend": STRING,
        "published_vs_england": STRING,
        "published_vs_parent": STRING,
    },
    required=("indicator_id", "area_code", "area_type", "sex", "age", "period", "period_sort"),
    key=("indicator_id", "area_code", "sex", "age", "category_type", "category", "period"),
    fill_empty=("category_type", "category", "value_note"),
    allowed={"sex": SEXES},
)

INDICATORS = Table(
    name="indicators",
    columns={
        "indicator_id": INT,
        "name": STRING,
        "domain": STRING,
        "value_type": STRING,
        "unit": STRING,
        "multiplier": FLOAT,
        "polarity": STRING,
        "comparator_method": STRING,
        "ci_method": STRING,
        "definition": STRING,
        "source": STRING,
    },
    required=("indicator_id", "name", "value_type", "polarity", "comparator_method"),
    key=("indicator_id",),
    fill_empty=("domain", "unit", "ci_method", "definition", "source"),
    allowed={
        "value_type": VALUE_TYPES,
        "polarity": POLARITIES,
        "comparator_method": COMPARATOR_METHODS,
    },
)

AREAS = Table(
    name="areas",
    columns={
        "area_code": STRING,
        "area_name": STRING,
        "area_type": STRING,
        "parent_code": STRING,
        "region_code": STRING,
        "valid_from": STRING,
        "valid_to": STRING,
    },
    required=("area_code", "area_name", "area_type"),
    # A unitary authority is both an upper-tier and a lower-tier area: one row per (code, type).
    key=("area_code", "area_type"),
    fill_empty=("parent_code", "region_code", "valid_from", "valid_to"),
)

CODE_CHANGES = Table(
    name="code_changes",
    columns={"old_code": STRING, "old_name": STRING, "new_code": STRING, "new_name": STRING,
             "change": STRING, "date": STRING},
    required=("old_code", "new_code", "date"),
    key=("old_code", "new_code"),
    fill_empty=("old_name", "new_name", "change"),
)

POPULATION = Table(
    name="population",
    columns={"area_code": STRING, "year": INT, "sex": STRING, "age_band": STRING, "population": FLOAT},
    required=("area_code", "year", "sex", "age_band", "population"),
    key=("area_code", "year", "sex", "age_band"),
    allowed={"sex": SEXES},
)

TABLES: dict[str, Table] = {t.name: t for t in (VALUES, INDICATORS, AREAS, CODE_CHANGES, POPULATION)}

#: Columns that must never be negative, per table.
_NON_NEGATIVE = {"values": ("count", "denominator"), "population": ("population",)}


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    spec = _table(table)
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in spec.columns.items()})


def _table(table: str | Table) -> Table:
    if isinstance(table, Table):
        return table
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; the canonical tables are {', '.join(TABLES)}") from None


def _rows(df: pd.DataFrame, mask: np.ndarray | pd.Series, columns: list[str]) -> str:
    """Format the first offending rows of ``df`` (by position) for an error message."""
    mask = np.asarray(mask, dtype=bool)
    n = int(mask.sum())
    cols = list(dict.fromkeys(c for c in columns if c in df.columns))
    shown = df.loc[mask, cols].head(SHOW_ROWS)
    lines = [f"  row {i}: " + ", ".join(f"{c}={v!r}" for c, v in row.items()) for i, row in
             zip(np.flatnonzero(mask)[:SHOW_ROWS], shown.to_dict("records"), strict=False)]
    more = f"\n  ... and {n - SHOW_ROWS} more" if n > SHOW_ROWS else ""
    return f"{n} row(s):\n" + "\n".join(lines) + more


def _coerce(df: pd.DataFrame, spec: Table, name: str, column: str, dtype: str) -> pd.Series:
    s = df[column]
    if dtype == STRING:
        out = s.astype("string")
        return out.str.strip() if len(out) else out
    numeric = pd.to_numeric(s, errors="coerce")
    text = s.astype("string").str.strip()
    # Blank strings are missing values, not bad numbers.
    bad = (numeric.isna() & s.notna() & text.notna() & (text != "")).to_numpy(dtype=bool)
    if bad.any():
        raise ValueError(
            f"{name}: column {column!r} must be numeric ({dtype}) but has text in "
            + _rows(df, bad, [*spec.key, column])
            + "\n  Fix the source file, or map the column to the right one."
        )
    if dtype == INT:
        frac = numeric.notna().to_numpy() & (np.mod(numeric.fillna(0).to_numpy(dtype=float), 1) != 0)
        if frac.any():
            raise ValueError(f"{name}: column {column!r} must hold whole numbers but has fractions in "
                             + _rows(df, frac, [*spec.key, column]))
        return numeric.astype(INT)
    return numeric.astype(FLOAT)


def validate(df: pd.DataFrame, table: str | Table, *, value_types: pd.Series | None = None) -> pd.DataFrame:
    """Check ``df`` against the canonical ``table`` and return a copy with canonical dtypes.

    Rules (each broken rule raises ``ValueError`` naming the table, the column and the first rows):
    required columns present; numeric columns numeric; required columns not missing; allowed
    values (sex, value type, polarity, comparator method); counts, denominators and populations
    not negative; ``lower_95 <= upper_95`` and ``lower_99_8 <= upper_99_8``; for ``values`` rows
    whose indicator is a proportion (``value_types`` maps indicator_id → value type),
    ``count <= denominator``; duplicate keys allowed only when the rows are identical (they are
    then dropped).

    Columns outside the table definition are kept as they are.
    """
    spec = _table(table)
    name = f"table {spec.name!r}"
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name}: missing required column(s) {', '.join(map(repr, missing))}; "
            f"found {', '.join(map(repr, df.columns)) or 'no columns'}."
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    src = df.reset_index(drop=True)
    for column, dtype in spec.columns.items():
        if column in src.columns:
            out[column] = _coerce(src, spec, name, column, dtype)
        else:
            out[column] = pd.Series(pd.NA if dtype != FLOAT else np.nan, index=out.index, dtype=dtype)
    for column in src.columns:
        if column not in out.columns:
            out[column] = src[column].to_numpy()
    for column in spec.fill_empty:
        out[column] = out[column].fillna("")

    for column in spec.required:
        bad = out[column].isna().to_numpy()
        if spec.columns[column] == STRING:
            bad = bad | (out[column].fillna("") == "").to_numpy()
        if bad.any():
            raise ValueError(f"{name}: column {column!r} is empty in " + _rows(out, bad, list(spec.key) or [column]))

    for column, allowed in spec.allowed.items():
        bad = (out[column].notna() & ~out[column].isin(allowed)).to_numpy()
        if bad.any():
            raise ValueError(
                f"{name}: column {column!r} has values outside {list(allowed)} in "
                + _rows(out, bad, [*spec.key, column])
            )

    for column in _NON_NEGATIVE.get(spec.name, ()):
        bad = (out[column] < 0).fillna(False).to_numpy()
        if bad.any():
            raise ValueError(f"{name}: column {column!r} is negative in " + _rows(out, bad, [*spec.key, column]))

    if spec.name == "values":
        for lo, hi in (("lower_95", "upper_95"), ("lower_99_8", "upper_99_8")):
            bad = (out[lo] > out[hi]).fillna(False).to_numpy()
            if bad.any():
                raise ValueError(
                    f"{name}: column {lo!r} is above {hi!r} in " + _rows(out, bad, [*spec.key, lo, hi])
                )
        if value_types is not None:
            vt = out["indicator_id"].map(value_types)
            bad = ((vt == "Proportion") & (out["count"] > out["denominator"])).fillna(False).to_numpy()
            if bad.any():
                raise ValueError(
                    f"{name}: column 'count' is above 'denominator' for a proportion in "
                    + _rows(out, bad, [*spec.key, "count", "denominator"])
                )

    if spec.key:
        out = _drop_identical_duplicates(out, spec, name)
    return out


def _drop_identical_duplicates(out: pd.DataFrame, spec: Table, name: str) -> pd.DataFrame:
    key = list(spec.key)
    dup_key = out.duplicated(key, keep=False).to_numpy()
    if not dup_key.any():
        return out
    compare = list(spec.columns)
    identical = out.duplicated(compare, keep="first").to_numpy()
    remaining = out.loc[~identical]
    conflict = remaining.duplicated(key, keep=False).to_numpy()
    if conflict.any():
        bad_rows = remaining.loc[conflict].sort_values(key)
        raise ValueError(
            f"{name}: duplicate key {tuple(key)} with different values in "
            + _rows(bad_rows.reset_index(drop=True), np.ones(len(bad_rows), bool),
                    [*key, *[c for c in ("value", "population", "name", "area_name") if c in bad_rows]])
            + "\n  Keep one version of each row (e.g. filter the source to one release)."
        )
    return remaining.reset_index(drop=True)
