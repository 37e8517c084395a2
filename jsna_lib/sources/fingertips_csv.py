"""Reader for the Fingertips "Download data" CSV (the export and the API's ``all_data/csv``).

The file has 26 columns (older downloads) or 27 (with ``Time period range``), picked by name,
never by position: ``Indicator ID, Indicator Name, Parent Code, Parent Name, Area Code, Area Name,
Area Type, Sex, Age, Category Type, Category, Time period, Value, Lower CI 95.0 limit, Upper CI
95.0 limit, Lower CI 99.8 limit, Upper CI 99.8 limit, Count, Denominator, Value note, Recent
Trend, Compared to England value or percentiles, Compared to <parent> value or percentiles, Time
period Sortable, New data, Compared to goal``.

What the reader does with them (see :func:`read_fingertips_csv`):

* ``Compared to England …`` → ``published_vs_england``; the other ``Compared to …`` column, whose
  name depends on the parent type ("Region", "Regions (statistical)", "percentiles"), is matched
  by prefix → ``published_vs_parent``; ``Recent Trend`` → ``published_trend``;
* ``Time period Sortable`` (e.g. 20150000) → ``period_sort``;
* rows with a ``Category Type`` are inequality breakdowns: they stay in ``values`` with
  ``category_type``/``category`` set (part of the key) and are counted in the report;
* area types come from the area **code** (:mod:`jsna_lib.geography`), never from the
  ``Area Type`` display names, which change with every reorganisation; old codes are handled as
  :func:`jsna_lib.sources._common.resolve_areas` describes;
* the export carries only indicator id and name: value type, polarity, unit and comparator come
  from ``metadata`` when given, else are inferred conservatively or defaulted (and reported).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    NUMERIC,
    ImportReport,
    ImportResult,
    RawTable,
    SourceError,
    build_indicators,
    decimals,
    deduplicate,
    display_name,
    finish,
    metadata_sources,
    parse_numbers,
    parse_sex,
    period_sort_from_text,
    read_csv_table,
    require_columns,
    rows_text,
)

#: canonical column → the Fingertips header (exact, after stripping).
COLUMNS = {
    "indicator_id": "Indicator ID",
    "area_code": "Area Code",
    "sex": "Sex",
    "age": "Age",
    "category_type": "Category Type",
    "category": "Category",
    "period": "Time period",
    "period_sort": "Time period Sortable",
    "value": "Value",
    "lower_95": "Lower CI 95.0 limit",
    "upper_95": "Upper CI 95.0 limit",
    "lower_99_8": "Lower CI 99.8 limit",
    "upper_99_8": "Upper CI 99.8 limit",
    "count": "Count",
    "denominator": "Denominator",
    "value_note": "Value note",
    "published_trend": "Recent Trend",
}
REQUIRED = ("Indicator ID", "Area Code", "Sex", "Age", "Time period", "Value")
ENGLAND_COMPARISON = "Compared to England value or percentiles"
SOURCE = "OHID Fingertips (Download data CSV)"


def _find_columns(raw: RawTable) -> dict[str, str]:
    """canonical → actual header, tolerating "Lower CI 95 limit" style variants and case."""
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text.strip().lower()).replace("95.0", "95")

    actual = {norm(c): c for c in raw.frame.columns}
    found = {k: actual[norm(v)] for k, v in COLUMNS.items() if norm(v) in actual}
    comparisons = [c for c in raw.frame.columns if c.lower().startswith("compared to ")]
    england = [c for c in comparisons if c.lower().startswith("compared to england")]
    parent = [c for c in comparisons if c not in england and not c.lower().startswith("compared to goal")]
    if england:
        found["published_vs_england"] = england[0]
    if parent:
        found["published_vs_parent"] = parent[0]
    return found


def read_fingertips_csv(path_or_buffer: Any, *, metadata: Any = None, keep_unknown_areas: bool = False,
                        encoding: str | None = None, name: str | None = None) -> ImportResult:
    """Read a Fingertips "Download data" CSV into canonical ``values`` and ``indicators``.

    Parameters
    ----------
    path_or_buffer : path or file object
        The CSV (26 or 27 columns; may be gzipped). Quoted fields may hold line breaks.
    metadata : DataFrame, path, or a list of them, optional
        Indicator metadata to fill value type, polarity, unit, multiplier and comparator method
        (e.g. ``pholio_seed_indicator_metadata.csv``, FingertipsNext's ``indicators.csv``, the
        Fingertips metadata CSV, or an ``indicators`` frame). The first source that has a field
        wins. Without it, value type is inferred only where value = count / denominator × 100
        (Proportion) or × 10^k (Crude rate) on every row; anything unknown becomes value type
        "Score", polarity "Not applicable", comparator "ci_95", and the report says so.
    keep_unknown_areas : bool
        Keep rows for areas outside the English geography (their ``area_type`` then comes from
        :func:`jsna_lib.geography.area_type_of`). By default they are counted and left out.
    encoding : str, optional
        Force a text encoding (default: UTF-8, falling back to Windows-1252 with a warning).

    Returns
    -------
    ImportResult
        ``values``, ``indicators`` and the ``report``.

    Raises
    ------
    SourceError
        For a missing column, text in a number column, an unknown sex, two rows with one key and
        different numbers, a file with no known area, or an empty file; the message names the
        file, the column and the rows as a spreadsheet shows them (row 1 is the header).
    """
    label = name or display_name(path_or_buffer)
    raw = read_csv_table(path_or_buffer, name=label, encoding=encoding)
    require_columns(raw, REQUIRED, what="(is this a Fingertips 'Download data' CSV?)")
    cols = _find_columns(raw)
    frame = raw.frame
    report = ImportReport(source=label, format="fingertips", rows_read=len(frame))

    values = pd.DataFrame(index=frame.index)
    values["_row"] = raw.rows
    values["_uid"] = np.arange(len(frame))
    ids = parse_numbers(raw, frame[cols["indicator_id"]], cols["indicator_id"])
    bad = (ids.isna() | (ids % 1 != 0)).to_numpy()
    if bad.any():
        raise SourceError(f"{raw.name}: column 'Indicator ID' must hold a whole number on every row; "
                          f"it does not on {rows_text(raw.rows[bad], int(bad.sum()))}.")
    values["indicator_id"] = ids.astype("int64")
    values["area_code"] = frame[cols["area_code"]].str.upper()
    empty_code = (values["area_code"] == "").to_numpy()
    if empty_code.any():
        raise SourceError(f"{raw.name}: column 'Area Code' is empty on {rows_text(raw.rows[empty_code], int(empty_code.sum()))}.")
    values["sex"] = parse_sex(raw, frame[cols["sex"]], report, cols["sex"])
    values["age"] = frame[cols["age"]]
    for c in ("category_type", "category", "value_note", "published_trend", "published_vs_england",
              "published_vs_parent"):
        values[c] = frame[cols[c]] if c in cols else ""
    values["period"] = frame[cols["period"]]
    empty_period = (values["period"] == "").to_numpy()
    if empty_period.any():
        raise SourceError(f"{raw.name}: column 'Time period' is empty on "
                          f"{rows_text(raw.rows[empty_period], int(empty_period.sum()))}.")
    if "period_sort" in cols:
        sort = parse_numbers(raw, frame[cols["period_sort"]], cols["period_sort"])
        values["period_sort"] = sort.round().astype("Int64")
    else:
        values["period_sort"] = period_sort_from_text(values["period"])
    missing_sort = values["period_sort"].isna()
    if missing_sort.any():
        values.loc[missing_sort, "period_sort"] = period_sort_from_text(values.loc[missing_sort, "period"])
    for c in NUMERIC:
        if c in cols:
            values[c] = parse_numbers(raw, frame[cols[c]], cols[c])
            values[f"_dec_{c}"] = decimals(frame[cols[c]])
        else:
            values[c] = np.nan

    values = deduplicate(values, raw, report, conflict="error")
    names = (pd.Series(frame["Indicator Name"].str.strip().to_numpy(), index=ids.astype("int64").to_numpy())
             if "Indicator Name" in frame.columns else None)
    if names is not None:
        names = names[names != ""]
        names = names[~names.index.duplicated()]
    indicators, defaulted = build_indicators(values["indicator_id"], names=names,
                                             sources=metadata_sources(metadata), values=values, report=report,
                                             source_label=SOURCE)
    return finish(values, indicators, raw, report, keep_unknown_areas=keep_unknown_areas, defaulted=defaulted)
