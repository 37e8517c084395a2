"""Generic reader for tidy CSV/Excel files, driven by a column mapping.

A *mapping* (a dict, a JSON file, or the name of one in ``jsna_lib/sources/mappings/``) says how
the columns of a file become the canonical ``values`` columns. Keys:

``columns`` (required)
    canonical column → *spec*. Canonical columns: ``indicator_id``, ``indicator_name``,
    ``area_code``, ``sex``, ``age``, ``category_type``, ``category``, ``period``, ``period_sort``,
    ``value``, ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``, ``count``,
    ``denominator``, ``value_note``, ``published_trend``, ``published_vs_england``,
    ``published_vs_parent``. A spec is

    * ``"SourceColumn"``;
    * ``{"column": "SexID", "values": {"1": "Male", "2": "Female", "4": "Persons"}}``: a value map
      (keys matched as text, case-insensitively); ``"unmapped"`` says what happens to other
      values: ``"error"`` (default), ``"keep"`` or ``"empty"``; ``"strip": "\\""`` strips those
      characters from both ends; ``"default"`` fills empty cells;
    * ``{"constant": "Persons"}``;
    * a list of specs, joined with "; " (empty parts skipped), e.g. a status and a notes column
      into ``value_note``.

    ``area_code``, ``period``, ``value`` and one of ``indicator_id``/``indicator_name`` are
    required. Without ``sex`` every row is "Persons", without ``age`` "All ages" (reported).
    ``period`` takes ``"parse"``:

    * ``"iso8601"``: ``2021-01-01/P3Y`` → "2021 - 23", ``2021-04-01/P1Y`` → "2021/22",
      ``2021-03-01/P1M`` → "Mar 2021"; a bare date is a point in time, labelled by its date or,
      with ``"instant": "year"``, its year (see :func:`._common.parse_iso_periods`);
    * ``"year"``: a calendar year, 2021 → "2021";
    * ``"start_year"``: the first year of a period whose kind depends on the indicator, from
      ``period_types``: ``{"default": "calendar", "by_indicator": {"41101": "financial",
      "92904": {"type": "financial", "years": 3}}}`` (types: calendar; financial, academic and
      yearly, which all give "2021/22"); 2018 financial 3 years → "2018/19 - 20/21";
    * ``"text"`` (default): the label as written ("2021/22", "2019 - 21"), sorted by
      :func:`._common.period_sort_from_text` unless ``period_sort`` is mapped.
    ``period_sort`` is always year × 10000 (+ quarter or month × 100), as Fingertips'.

``indicator_ids`` / ``unlisted_indicators``
    For files whose indicators are text (``indicator_name`` only): an explicit table name → id,
    and what to do with names not in it: ``"hash"`` (default) gives a stable id in the *local
    range* 9,100,000–9,999,999 (9,100,000 + SHA-1 of the case-folded, space-collapsed name
    mod 900,000; a collision is an error), ``"error"`` refuses them. Explicit local ids belong
    in 9,000,000–9,099,999. Fingertips ids stay below 1,000,000.

``indicators``
    Metadata per indicator, keyed by id (as text) or by the name in the file: ``name``,
    ``domain``, ``value_type``, ``unit``, ``multiplier``, ``polarity``, ``comparator_method``,
    ``ci_method``, ``definition``, ``source``. ``indicator_columns`` maps the same fields to
    columns of the file (one value per indicator, first non-empty wins). ``metadata_files``:
    CSV paths relative to the data file's folder, read when present (see
    :func:`._common.normalise_metadata`). Precedence per field: ``indicators`` table, the
    file's own columns, ``metadata=`` given to the call, ``metadata_files`` in order, inference
    from count/denominator, then defaults (value type "Score", polarity "Not applicable",
    comparator "ci_95"), reported.

``exclude``
    ``[{"column": "IndicatorId", "values": ["91040"], "reason": "..."}]``: rows left out on
    purpose, counted in the report under ``reason``.

``duplicates``
    ``{"conflict": "error" | "drop" | "first" | "last", "reconcile": ["complete", "precision"]}``:
    exact duplicates are always dropped; rows sharing the key with different numbers are
    reconciled when one is merely more complete or more precise than the other, and otherwise
    follow ``conflict`` (default ``"error"``). See :func:`._common.deduplicate`.

``population``
    ``{"indicator_id": 92708, "age_suffix": " yrs", "exclude_ages": ["All ages"]}``: also return
    that indicator's whole-population rows as ``population`` (year = period_sort // 10000,
    age_band = age without the suffix, population = value).

``report_notes``
    Lines added to every import report (caveats of the source).

File options: ``format`` (``"csv"``/``"excel"``; a .xlsx/.xlsm file is always read as Excel), ``sheet`` and
``header_row`` (Excel), ``encoding``, ``separator``, ``comment`` (leading lines starting with it
are skipped), ``na_values`` (cells meaning "no value", e.g. ``["x", ".."]``), ``source``
(the indicators' source text), ``name``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ._common import (
    NUMERIC,
    ImportReport,
    ImportResult,
    RawTable,
    SourceError,
    build_indicators,
    count_conflicts,
    decimals,
    deduplicate,
    display_name,
    drop_exact_duplicates,
    finish,
    label_years,
    map_comparator,
    map_polarity,
    map_value_type,
    metadata_sources,
    normalise_metadata,
    parse_iso_periods,
    parse_numbers,
    parse_sex,
    period_sort_from_text,
    read_csv_table,
    read_excel_table,
    require_columns,
    rows_text,
)

MAPPINGS_DIR = Path(__file__).parent / "mappings"
LOCAL_ID_HASHED = 9_100_000
LOCAL_ID_SPAN = 900_000
TEXT_COLUMNS = ("indicator_name", "area_code", "sex", "age", "category_type", "category", "period",
                "value_note", "published_trend", "published_vs_england", "published_vs_parent")
CANONICAL = ("indicator_id", "period_sort", *TEXT_COLUMNS, *NUMERIC)
SPLIT_YEAR_TYPES = {"financial": True, "academic": True, "yearly": True, "calendar": False}
_META_FIELDS = ("name", "domain", "value_type", "unit", "multiplier", "polarity", "comparator_method", "ci_method",
                "definition", "source")


def load_mapping(mapping: Any) -> dict[str, Any]:
    """A mapping as a dict: given as a dict, a JSON file path, or a bundled name
    (``"ons_local_indicators"``, ``"fingertipsnext"``, ``"local_template"``)."""
    if isinstance(mapping, Mapping):
        out = dict(mapping)
        out.setdefault("_path", None)
    else:
        text = os.fspath(mapping)
        path = Path(text)
        if not path.exists():
            bundled = MAPPINGS_DIR / (text if text.endswith(".json") else f"{text}.json")
            if bundled.exists():
                path = bundled
            else:
                names = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.json")))
                raise SourceError(f"mapping {text!r} not found: give a JSON file or one of the bundled mappings "
                                  f"({names})")
        try:
            out = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise SourceError(f"mapping {path} is not valid JSON: {exc}") from exc
        out["_path"] = str(path)
    if not isinstance(out.get("columns"), Mapping):
        raise SourceError(f"mapping {out.get('_path') or out.get('name', '')!r} has no \"columns\" object")
    unknown = [c for c in out["columns"] if c not in CANONICAL]
    if unknown:
        raise SourceError(f"mapping {out.get('name', '')!r}: unknown canonical column(s) {', '.join(map(repr, unknown))}; "
                          f"use {', '.join(CANONICAL)}")
    return out


def _source_columns(spec: Any) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, list):
        return [c for s in spec for c in _source_columns(s)]
    if isinstance(spec, Mapping) and "column" in spec:
        return [spec["column"]]
    return []


def _apply_spec(raw: RawTable, spec: Any, target: str) -> pd.Series:
    """One mapping spec → a text Series aligned with the file's rows."""
    frame = raw.frame
    if isinstance(spec, str):
        return frame[spec].astype("string")
    if isinstance(spec, list):
        parts = [_apply_spec(raw, s, target) for s in spec]
        stacked = pd.concat(parts, axis=1).fillna("")
        joined = stacked.iloc[:, 0]
        for i in range(1, stacked.shape[1]):  # a few columns, vectorised over rows
            nxt = stacked.iloc[:, i]
            joined = joined.where(nxt == "", joined.where(joined == "", joined + "; ") + nxt)
        return joined.astype("string")
    if not isinstance(spec, Mapping):
        raise SourceError(f"mapping: the spec for {target!r} must be a column name, an object or a list, got {spec!r}")
    if "constant" in spec:
        return pd.Series(str(spec["constant"]), index=frame.index, dtype="string")
    text = frame[spec["column"]].astype("string")
    if "strip" in spec:
        text = text.str.strip(spec["strip"]).str.strip()
    if "values" in spec:
        table = {str(k).strip().lower(): str(v) for k, v in spec["values"].items()}
        mapped = text.str.lower().map(table).astype("string")
        unmapped = mapped.isna() & (text != "")
        how = spec.get("unmapped", "error")
        if unmapped.any():
            if how == "error":
                bad = unmapped.to_numpy()
                shown = ", ".join(map(repr, pd.unique(text[bad])[:5]))
                raise SourceError(
                    f"{raw.name}: column {spec['column']!r} (→ {target}) has value(s) {shown} that the mapping does "
                    f"not list ({rows_text(raw.rows[bad], int(bad.sum()))}); the mapping knows "
                    f"{', '.join(map(repr, spec['values']))}."
                )
            mapped = mapped.where(~unmapped, text if how == "keep" else "")
        text = mapped.fillna("")
    if "default" in spec:
        text = text.where(text != "", str(spec["default"]))
    return text


def hashed_id(name: str) -> int:
    """The stable local id of an indicator name: 9,100,000 + SHA-1(normalised name) mod 900,000."""
    normal = re.sub(r"\s+", " ", name.strip().casefold())
    return LOCAL_ID_HASHED + int(hashlib.sha1(normal.encode("utf-8")).hexdigest(), 16) % LOCAL_ID_SPAN


def _assign_ids(raw: RawTable, values: pd.DataFrame, mapping: Mapping[str, Any], report: ImportReport) -> pd.Series:
    cols = mapping["columns"]
    ids = pd.Series(np.nan, index=values.index, dtype="float64")
    if "indicator_id" in cols:
        ids = parse_numbers(raw, _apply_spec(raw, cols["indicator_id"], "indicator_id"), "indicator_id")
        frac = (ids.notna() & (ids % 1 != 0)).to_numpy()
        if frac.any():
            raise SourceError(f"{raw.name}: indicator ids must be whole numbers ({rows_text(raw.rows[frac], int(frac.sum()))})")
    names = values["indicator_name"]
    need = ids.isna() & (names != "")
    if need.any():
        table = {re.sub(r"\s+", " ", str(k).strip().casefold()): int(v)
                 for k, v in (mapping.get("indicator_ids") or {}).items()}
        normal = names.str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
        listed = normal.map(table)
        ids = ids.where(~(need & listed.notna()), listed.astype("float64"))
        unlisted = (need & listed.isna()).to_numpy()
        if unlisted.any():
            if mapping.get("unlisted_indicators", "hash") == "error":
                shown = ", ".join(map(repr, pd.unique(names[unlisted])[:5]))
                raise SourceError(f"{raw.name}: indicator(s) {shown} are not in the mapping's indicator_ids "
                                  f"({rows_text(raw.rows[unlisted], int(unlisted.sum()))}); add them to the mapping.")
            uniq = pd.Series(pd.unique(names[unlisted]), dtype="string")
            hashed = pd.Series([hashed_id(n) for n in uniq], index=uniq)  # one per distinct name
            ids = ids.where(~unlisted, names.map(hashed).astype("float64"))
            report.notes.append(f"{len(uniq)} indicator name(s) not in the mapping got hashed local ids: "
                                + "; ".join(f"{n!r} → {hashed[n]}" for n in uniq[:10]))
    missing = ids.isna().to_numpy()
    if missing.any():
        raise SourceError(f"{raw.name}: no indicator id or name on {rows_text(raw.rows[missing], int(missing.sum()))}.")
    ids = ids.astype("int64")
    # Two different names must never share an id (hash collision or a table typo).
    pairs = pd.DataFrame({"id": ids, "name": names.str.strip().str.casefold()})
    pairs = pairs[pairs["name"] != ""].drop_duplicates()
    clash = pairs[pairs.duplicated("id", keep=False)]
    if len(clash):
        raise SourceError(f"{raw.name}: different indicator names share an id: "
                          + "; ".join(f"{i}: {', '.join(sorted(g['name']))}" for i, g in list(clash.groupby("id"))[:5])
                          + ". Give them distinct ids in the mapping's indicator_ids.")
    return ids


def _periods(raw: RawTable, values: pd.DataFrame, mapping: Mapping[str, Any]) -> tuple[pd.Series, pd.Series]:
    spec = mapping["columns"]["period"]
    parse = spec.get("parse", "text") if isinstance(spec, Mapping) else "text"
    text = values["period"]
    column = _source_columns(spec)[0] if _source_columns(spec) else "period"
    if parse == "iso8601":
        period, sort, bad = parse_iso_periods(text, instant=spec.get("instant", "date"))
        if bad.any():
            shown = ", ".join(map(repr, pd.unique(text[bad])[:5]))
            raise SourceError(f"{raw.name}: column {column!r} must hold ISO-8601 periods such as '2021-01-01/P1Y' "
                              f"or '2021-04-01/P3Y'; {rows_text(raw.rows[bad], int(bad.sum()))} hold {shown}.")
        return period, sort
    if parse in ("year", "start_year"):
        years = pd.to_numeric(text.str.strip(), errors="coerce")
        bad = (years.isna() | (years % 1 != 0) | ~years.between(1900, 2100)).to_numpy()
        if bad.any():
            shown = ", ".join(map(repr, pd.unique(text[bad])[:5]))
            raise SourceError(f"{raw.name}: column {column!r} must hold a four-digit year; "
                              f"{rows_text(raw.rows[bad], int(bad.sum()))} hold {shown}.")
        years = years.astype("int64")
        kinds = pd.Series("calendar", index=values.index, dtype="string")
        spans = pd.Series(1, index=values.index, dtype="int64")
        if parse == "start_year":
            types = mapping.get("period_types", {})
            by = types.get("by_indicator", {})
            default = types.get("default", "calendar")
            kind_of = {int(k): (v if isinstance(v, str) else v.get("type", "calendar")).lower() for k, v in by.items()}
            span_of = {int(k): (1 if isinstance(v, str) else int(v.get("years", 1))) for k, v in by.items()}
            kinds = values["indicator_id"].map(kind_of).fillna(default.lower()).astype("string")
            spans = values["indicator_id"].map(span_of).fillna(1).astype("int64")
            unknown = ~kinds.isin(list(SPLIT_YEAR_TYPES))
            if unknown.any():
                raise SourceError(f"mapping period_types: unknown type(s) {sorted(set(kinds[unknown]))}; use "
                                  f"{', '.join(SPLIT_YEAR_TYPES)}")
        split = kinds.map(SPLIT_YEAR_TYPES).astype(bool)
        return label_years(years, spans, split), (years * 10000).astype("Int64")
    if parse != "text":
        raise SourceError(f"mapping: unknown period parse {parse!r}; use iso8601, year, start_year or text")
    if "period_sort" in mapping["columns"]:
        sort = parse_numbers(raw, values["period_sort"], "period_sort").round().astype("Int64")
    else:
        sort = period_sort_from_text(text)
    bad = sort.isna().to_numpy()
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(text[bad])[:5]))
        raise SourceError(f"{raw.name}: cannot tell the year of period(s) {shown} "
                          f"({rows_text(raw.rows[bad], int(bad.sum()))}); write periods such as 2022, 2022/23 or "
                          "2020 - 22, or add a period_sort column (e.g. 20220000).")
    return text, sort


def _read_raw(path: Any, mapping: Mapping[str, Any]) -> RawTable:
    name = display_name(path)
    excel = re.search(r"\.xls[xm]$", name, re.IGNORECASE) is not None
    kind = "excel" if excel else (mapping.get("format") or "csv")
    na = mapping.get("na_values", ())
    if kind == "excel":
        return read_excel_table(path, sheet=mapping.get("sheet"), header_row=int(mapping.get("header_row", 1)),
                                na_values=na)
    if kind != "csv":
        raise SourceError(f"mapping: unknown format {kind!r}; use csv or excel")
    return read_csv_table(path, encoding=mapping.get("encoding"), sep=mapping.get("separator", ","),
                          comment=mapping.get("comment"), na_values=na)


def _row_metadata(raw: RawTable, values: pd.DataFrame, mapping: Mapping[str, Any]) -> pd.DataFrame:
    """Indicator metadata held in the file's own columns (one value per indicator)."""
    spec = mapping.get("indicator_columns") or {}
    frame = pd.DataFrame({"indicator_id": values["indicator_id"].to_numpy()})
    if "indicator_name" in mapping["columns"]:
        frame["name"] = values["indicator_name"].to_numpy()
    for field, column in spec.items():
        if field not in _META_FIELDS:
            raise SourceError(f"mapping indicator_columns: unknown field {field!r}; use {', '.join(_META_FIELDS)}")
        text = raw.frame[column].astype("string")
        if field in ("value_type", "polarity", "comparator_method"):
            mapped = {"value_type": map_value_type, "polarity": map_polarity, "comparator_method": map_comparator}[field](text)
            bad = (mapped.isna() & (text != "")).to_numpy()
            if bad.any():
                allowed = {"value_type": schema.VALUE_TYPES, "polarity": schema.POLARITIES,
                           "comparator_method": schema.COMPARATOR_METHODS}[field]
                shown = ", ".join(map(repr, pd.unique(text[bad])[:5]))
                raise SourceError(f"{raw.name}: column {column!r} has {shown} ({rows_text(raw.rows[bad], int(bad.sum()))}); "
                                  f"use one of {', '.join(map(repr, allowed))}.")
            text = mapped
        if field == "multiplier":
            frame[field] = parse_numbers(raw, text, column).to_numpy()
        else:
            frame[field] = text.replace("", pd.NA).to_numpy()
    frame = frame.replace("", pd.NA)
    first = frame.groupby("indicator_id").first()
    return first


def _mapping_metadata(mapping: Mapping[str, Any], values: pd.DataFrame) -> pd.DataFrame:
    """The mapping's ``indicators`` table, keyed by id or by the indicator name in the file."""
    table = mapping.get("indicators") or {}
    if not table:
        return pd.DataFrame()
    records = pd.DataFrame.from_dict(table, orient="index")
    records.index = records.index.astype(str)
    ids = pd.to_numeric(pd.Series(records.index, index=records.index), errors="coerce")
    if "indicator_name" in values.columns:
        names = values[["indicator_id", "indicator_name"]].drop_duplicates("indicator_name")
        by_name = pd.Series(names["indicator_id"].to_numpy(), index=names["indicator_name"].str.strip().str.casefold())
        by_name = by_name[~by_name.index.duplicated()]
        ids = ids.fillna(pd.Series(records.index.str.strip().str.casefold(), index=records.index).map(by_name))
    records = records[ids.notna().to_numpy()]
    records.index = ids.dropna().astype("int64").to_numpy()
    records = records[~records.index.duplicated()]
    frame = records.rename_axis("indicator_id").reset_index()
    return normalise_metadata(frame)


def read_tidy(path: Any, mapping: Any, *, metadata: Any = None, keep_unknown_areas: bool = False) -> ImportResult:
    """Read a tidy CSV or Excel file into canonical tables, as ``mapping`` describes.

    Parameters
    ----------
    path : path or file object
        The file (.csv, .csv.gz, .xlsx).
    mapping : dict, path or name
        The column mapping (see this module's docstring), e.g. ``"ons_local_indicators"``,
        ``"fingertipsnext"``, ``"local_template"`` or a JSON file of your own.
    metadata : DataFrame, path or list, optional
        Indicator metadata, after the mapping's own ``indicators`` table and the file's columns.
    keep_unknown_areas : bool
        Keep rows for areas outside the English geography (default: count and leave out).

    Returns
    -------
    ImportResult
        ``values``, ``indicators``, ``population`` (when the mapping names a population
        indicator) and the ``report``.

    Raises
    ------
    SourceError
        Naming the file, column and rows (row 1 is the header): missing columns, text in a
        number column, unmapped values, unparseable periods, conflicting duplicates (unless the
        mapping says otherwise), no known area at all, empty or unreadable files.
    """
    mapping = load_mapping(mapping)
    raw = _read_raw(path, mapping)
    cols = mapping["columns"]
    needed = [c for spec in cols.values() for c in _source_columns(spec)]
    needed += list((mapping.get("indicator_columns") or {}).values())
    needed += [e["column"] for e in mapping.get("exclude", [])]
    require_columns(raw, needed, what=f"(needed by mapping {mapping.get('name') or mapping.get('_path') or ''})")
    missing = [c for c in ("area_code", "period", "value") if c not in cols]
    if "indicator_id" not in cols and "indicator_name" not in cols:
        missing.insert(0, "indicator_id or indicator_name")
    if missing:
        raise SourceError(f"mapping {mapping.get('name', '')!r} does not map {', '.join(missing)}")
    report = ImportReport(source=raw.name, format=f"tidy ({mapping.get('name') or Path(str(mapping.get('_path'))).stem})",
                          rows_read=len(raw.frame))

    # Rows left out on purpose: marked now, removed after the duplicate counts (which describe the
    # whole file); the first matching rule gives the reason.
    reason_of = pd.Series(pd.NA, index=raw.frame.index, dtype="string")
    for rule in mapping.get("exclude", []):  # a few rules, each vectorised
        hit = raw.frame[rule["column"]].isin([str(v) for v in rule["values"]]) & reason_of.isna()
        reason_of = reason_of.mask(hit, rule.get("reason", f"{rule['column']} in {rule['values']}"))

    values = pd.DataFrame(index=raw.frame.index)
    values["_row"] = raw.rows
    values["_uid"] = np.arange(len(raw.frame))
    for c in TEXT_COLUMNS:
        if c in cols:
            values[c] = _apply_spec(raw, cols[c], c).fillna("").str.strip()
        else:
            values[c] = ""
    if "sex" not in cols:
        values["sex"] = "Persons"
        report.notes.append("the mapping has no sex column: every row taken as Persons")
    if "age" not in cols:
        values["age"] = "All ages"
        report.notes.append("the mapping has no age column: every row taken as All ages")
    sex_column = ", ".join(_source_columns(cols["sex"])) if "sex" in cols else "sex"
    values["sex"] = parse_sex(raw, values["sex"], report, sex_column)
    values["age"] = values["age"].where(values["age"] != "", "All ages")
    values["area_code"] = values["area_code"].str.upper()
    empty = (values["area_code"] == "").to_numpy()
    if empty.any():
        raise SourceError(f"{raw.name}: the area code is empty on {rows_text(raw.rows[empty], int(empty.sum()))}.")
    if "period_sort" in cols:
        values["period_sort"] = _apply_spec(raw, cols["period_sort"], "period_sort")
    values["indicator_id"] = _assign_ids(raw, values, mapping, report)
    empty = (values["period"] == "").to_numpy()
    if empty.any():
        raise SourceError(f"{raw.name}: the period is empty on {rows_text(raw.rows[empty], int(empty.sum()))}.")
    values["period"], values["period_sort"] = _periods(raw, values, mapping)
    for c in NUMERIC:
        if c in cols:
            text = _apply_spec(raw, cols[c], c)
            column = ", ".join(_source_columns(cols[c])) or c
            values[c] = parse_numbers(raw, text, column)
            values[f"_dec_{c}"] = decimals(text)
        else:
            values[c] = np.nan

    dup = mapping.get("duplicates", {})
    values = drop_exact_duplicates(values, report)
    count_conflicts(values, report)
    excluded = reason_of.reindex(values["_uid"].to_numpy()).to_numpy()
    excluded = pd.Series(excluded, dtype="string")
    if excluded.notna().any():
        for reason, n in excluded.value_counts().items():
            report.excluded[str(reason)] = report.excluded.get(str(reason), 0) + int(n)
        values = values.loc[excluded.isna().to_numpy()].reset_index(drop=True)
    values = deduplicate(values, raw, report, conflict=dup.get("conflict", "error"),
                         reconcile=tuple(dup.get("reconcile", ("complete", "precision"))), counted=True)

    sources = []
    own = _mapping_metadata(mapping, values)
    if len(own):
        sources.append(("mapping", own))
    row_meta = _row_metadata(raw, values, mapping) if "indicator_columns" in mapping or "indicator_name" in cols else None
    if row_meta is not None and len(row_meta.columns):
        sources.append(("file", row_meta))
    sources.extend(metadata_sources(metadata))
    base = Path(os.fspath(path)).parent if isinstance(path, (str, os.PathLike)) else None
    for rel in mapping.get("metadata_files", []):
        candidate = (base / rel) if base is not None else None
        if candidate is not None and candidate.exists():
            sources.append((candidate.name, normalise_metadata(candidate)))
        else:
            report.notes.append(f"metadata file {rel} (named by the mapping) not found next to the data: skipped")
    label = mapping.get("source") or mapping.get("name") or raw.name
    indicators, defaulted = build_indicators(values["indicator_id"], names=None, sources=sources, values=values,
                                             report=report, source_label=label)
    result = finish(values, indicators, raw, report, keep_unknown_areas=keep_unknown_areas, defaulted=defaulted)
    report.notes.extend(str(n) for n in mapping.get("report_notes", []))
    if "population" in mapping:
        result.population = _population(result.values, mapping["population"])
        if result.population is not None:
            try:
                result.population = schema.validate(result.population, "population")
            except ValueError as exc:
                raise SourceError(f"{raw.name}: population indicator {mapping['population']['indicator_id']}: {exc}") from exc
            report.population_rows = len(result.population)
    return result


def _population(values: pd.DataFrame, spec: Mapping[str, Any]) -> pd.DataFrame | None:
    """A population indicator's whole-population rows as the ``population`` table."""
    rows = values[(values["indicator_id"] == int(spec["indicator_id"])) & (values["category_type"] == "")
                  & (values["category"] == "") & values["value"].notna()]
    exclude = list(spec.get("exclude_ages", ["All ages"]))
    rows = rows[~rows["age"].isin(exclude)]
    if rows.empty:
        return None
    suffix = spec.get("age_suffix", "")
    band = rows["age"].str.removesuffix(suffix) if suffix else rows["age"]
    return pd.DataFrame({
        "area_code": rows["area_code"].to_numpy(),
        "year": (rows["period_sort"] // 10000).to_numpy(),
        "sex": rows["sex"].to_numpy(),
        "age_band": band.str.strip().to_numpy(),
        "population": rows["value"].to_numpy(),
    }).reset_index(drop=True)
