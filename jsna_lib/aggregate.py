"""User-defined areas: combine any set of areas into a named area and recompute its indicators.

``aggregate_areas(values, indicators, ["E08000011", "E08000012", ...], name="Merseyside", code="MERSEY")``
returns a :class:`CustomArea`: canonical ``values`` rows for the new area (``area_type`` ``custom``)
and a ``status`` table saying, per indicator, how each was recomputed or why it could not be.

Why a module of its own: DESIGN.md places user-defined areas under geography/profile, but
:mod:`jsna_lib.geography` may import only :mod:`jsna_lib.schema`, and recomputing an indicator for
a new area needs :mod:`jsna_lib.stats` (and comparing it, :mod:`jsna_lib.compare`). So the
aggregation lives here, beside compare, below profile in the flow; it does no I/O.

What can be recomputed, and how (OHID methods, :mod:`jsna_lib.stats`)
----------------------------------------------------------------------
Per cell (indicator, sex, age, category, period), from the members' rows, only when *every*
member has a row with a count and a denominator (otherwise the cell says which members lack them):

* **Proportion**: ``Σcount / Σdenominator × multiplier`` with Wilson score intervals
  (:func:`jsna_lib.stats.proportion`);
* **Crude rate**: ``Σcount / Σdenominator × multiplier`` with Byar's intervals, exact Poisson
  below 10 events (:func:`jsna_lib.stats.rate`);
* **Count**: ``Σcount`` with Byar's / exact Poisson intervals on the count;
* **Directly standardised rate**: Dobson's method on the age-specific counts and populations
  summed over the members (:func:`jsna_lib.stats.dsr`, 2013 European Standard Population), *only*
  where the store holds them: rows of the indicator whose ``age`` is a standard band (``0-4`` …
  ``90+``) for every member. A DSR row itself carries only the total events and population;
  summing those gives a crude rate, not a DSR, so without the bands the cell is marked
  "cannot be aggregated";
* **Life expectancy**: the Chiang II life table with Silcocks' variance
  (:func:`jsna_lib.stats.life_expectancy`) on deaths and populations by life-table band (``0``,
  ``1-4``, ``5-9`` … ``90+``) summed over the members, only where the store holds those bands;
  the age of the result is the leading number of the row's ``age`` (``65`` → at 65; otherwise at
  birth);
* everything else cannot be aggregated: a **score** or **mean** is not built from counts, and an
  **indirectly standardised ratio/rate** needs each member's expected count from age-specific
  reference rates, which the store does not hold.

Cells that cannot be aggregated are kept with an empty value and
``value_note = "Cannot be aggregated: <reason>"``, so the new area's rows line up with the others.

Members must not overlap (a county and one of its districts would count the district twice):
with an ``areas`` table, :func:`aggregate_areas` refuses a set where one member lies inside
another. :func:`compare_custom_area` compares the new area with England (significance, recent
trend: :func:`jsna_lib.compare.compare_values`) and each member with the new area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import compare, stats
from .stats.life_expectancy import LE_BANDS, LE_START_AGES

__all__ = ["CANNOT", "CustomArea", "aggregate_areas", "compare_custom_area", "comparison_table", "methods"]

CANNOT = "Cannot be aggregated"
_KEY = ["indicator_id", "sex", "age", "category_type", "category", "period"]
_VALUE_COLUMNS = ["indicator_id", "area_code", "area_type", "sex", "age", "category_type", "category", "period",
                  "period_sort", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count",
                  "denominator", "value_note"]
_ESP_BANDS = tuple(str(b) for b in stats.ESP2013.index)
_LE_BAND_SET = frozenset(LE_BANDS) | {"<1"}

#: How each value type is recomputed, as the status table says it.
METHODS = {
    "Proportion": "Wilson score interval on the summed counts and denominators",
    "Crude rate": "Byar's method (exact Poisson below 10) on the summed counts and denominators",
    "Count": "sum of the counts; Byar's method (exact Poisson below 10) for the interval",
    "Directly standardised rate": "Dobson's method on the summed age-specific counts (ESP 2013)",
    "Life expectancy": "Chiang II life table with Silcocks' variance on the summed deaths and populations by age",
}
_REASONS = {
    "Directly standardised rate": "a directly standardised rate needs the age-specific counts and populations, "
                                  "and the store holds only its total count and population",
    "Life expectancy": "life expectancy needs deaths and population by age band (the life table), and the "
                       "store holds only the totals",
    "Score": "a score is not built from counts and denominators",
    "Mean": "a mean needs the individual values, not only the area means",
    "Indirectly standardised ratio": "an indirectly standardised ratio needs each area's expected count from "
                                     "age-specific reference rates, which the store does not hold",
    "Indirectly standardised rate": "an indirectly standardised rate needs each area's expected count from "
                                    "age-specific reference rates, which the store does not hold",
    "Indirectly standardised proportion": "an indirectly standardised proportion needs each area's expected "
                                          "count, which the store does not hold",
}


def methods() -> pd.DataFrame:
    """The aggregation rules as a table: value type, method (or "cannot be aggregated") and why."""
    types = list(dict.fromkeys([*METHODS, *_REASONS]))
    return pd.DataFrame({
        "value_type": types,
        "method": [METHODS.get(t, CANNOT.lower()) for t in types],
        "condition_or_reason": [
            ("every member has a count and a denominator" if t in ("Proportion", "Crude rate", "Count")
             else f"only with age-specific rows; otherwise: {_REASONS[t]}" if t in METHODS else _REASONS[t])
            for t in types],
    })


@dataclass
class CustomArea:
    """A user-defined area: ``values`` (canonical rows, ``area_type`` ``custom``) and ``status``
    (per indicator × sex × age: ``value_type``, ``method``, ``aggregated`` ("all periods", "some
    periods", "no"), ``periods_aggregated``, ``periods``, ``reason``)."""

    code: str
    name: str
    members: list[str]
    values: pd.DataFrame
    status: pd.DataFrame
    region_code: str = ""
    area_type: str = "custom"

    def area_row(self) -> pd.DataFrame:
        """The new area as an ``areas`` row (its region when every member is in the same one)."""
        return pd.DataFrame({"area_code": [self.code], "area_name": [self.name], "area_type": [self.area_type],
                             "parent_code": [self.region_code or compare.ENGLAND],
                             "region_code": [self.region_code]})

    def aggregated(self) -> pd.DataFrame:
        """The rows that could be recomputed (a value or at least a note from the method)."""
        return self.values[~self.values["value_note"].str.startswith(CANNOT)].reset_index(drop=True)


# ================================================================================= helpers
def _text(values: Any) -> np.ndarray:
    series = pd.Series(values)
    return series.astype(object).where(series.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _clean_codes(codes: Iterable[str]) -> list[str]:
    if isinstance(codes, str):
        codes = [codes]
    return list(dict.fromkeys(str(c).strip().upper() for c in codes if str(c).strip()))


def _check_overlap(members: list[str], areas: pd.DataFrame) -> None:
    """Refuse members that lie inside another member (their counts would be counted twice)."""
    table = pd.DataFrame({"area_code": np.char.upper(_text(areas["area_code"]).astype(str)),
                          "parent_code": np.char.upper(_text(areas.get("parent_code", "")).astype(str)),
                          "region_code": np.char.upper(_text(areas.get("region_code", "")).astype(str))})
    table = table[table["parent_code"] != table["area_code"]]  # a unitary's LTLA row names itself
    parents = table.drop_duplicates("area_code").set_index("area_code")["parent_code"]
    regions = table.drop_duplicates("area_code").set_index("area_code")["region_code"]
    member_set = set(members)
    current = pd.Series(members, index=members, dtype=object)
    found = []  # (member, the member it lies inside), one vectorised step per level of the hierarchy
    for _ in range(6):  # England → region → UTLA → LTLA → MSOA → LSOA: at most 6 levels up
        current = current.map(parents).dropna()
        current = current[current != ""]
        if current.empty:
            break
        found.append(current[current.isin(member_set)])
    by_region = pd.Series(members, index=members, dtype=object).map(regions).dropna()
    found.append(by_region[by_region.isin(member_set) & (by_region != by_region.index)])
    inside = pd.concat(found) if found else pd.Series(dtype=object)
    inside = inside[~inside.index.duplicated()]
    if len(inside):
        children = pd.Series(inside.index, index=inside.to_numpy()).sort_values()
        by_parent = children.groupby(level=0).agg(", ".join)
        pairs = "; ".join(f"{parent} contains {kids}" for parent, kids in by_parent.items())
        raise ValueError(f"aggregate_areas: the members overlap ({pairs}); their counts would be counted twice. "
                         "Give areas of one level, or leave out the parts of areas you already include")


def _common_region(members: list[str], areas: pd.DataFrame | None) -> str:
    if areas is None or "region_code" not in areas.columns:
        return ""
    table = pd.DataFrame({"area_code": np.char.upper(_text(areas["area_code"]).astype(str)),
                          "region_code": np.char.upper(_text(areas["region_code"]).astype(str))})
    regions = set(table[table["area_code"].isin(members)]["region_code"]) - {""}
    return regions.pop() if len(regions) == 1 else ""


def _at_age(age: np.ndarray) -> np.ndarray:
    """Life-expectancy age from the row's age text: its leading number if a band start, else 0."""
    lead = pd.Series(age, dtype=object).astype(str).str.extract(r"^\s*(\d+)", expand=False)
    number = pd.to_numeric(lead, errors="coerce").to_numpy()
    return np.where(np.isin(number, LE_START_AGES), number, 0).astype(int)


# ================================================================================= aggregation
def aggregate_areas(values: pd.DataFrame, indicators: pd.DataFrame, codes: Sequence[str], *, name: str,
                    code: str = "CUSTOM", areas: pd.DataFrame | None = None,
                    area_type: str = "custom") -> CustomArea:
    """Combine the areas ``codes`` into one area called ``name`` (code ``code``) and recompute
    every indicator that can be recomputed from counts and denominators (see the module docstring).

    ``values`` is the canonical values table (any areas; the members' rows are used), ``indicators``
    the indicators table (``value_type``, ``multiplier``, ``name``). ``areas`` (optional, the
    store's areas table) lets the function refuse overlapping members and record the region.

    Raises ``ValueError`` when ``codes`` is empty, a code has no rows in ``values``, the members
    overlap, or ``code`` is one of the members.
    """
    members = _clean_codes(codes)
    code = str(code).strip().upper()
    if not name or not str(name).strip():
        raise ValueError("aggregate_areas: give the new area a name (name=...)")
    if not members:
        raise ValueError("aggregate_areas: give at least one area code to combine")
    if code in members:
        raise ValueError(f"aggregate_areas: the new area's code {code} is one of the members; choose another code")
    for column in ("indicator_id", "area_code", "period", "count", "denominator"):
        if column not in values.columns:
            raise ValueError(f"aggregate_areas: values lack column {column!r}")
    area_codes = np.char.upper(_text(values["area_code"]).astype(str))
    present = set(np.unique(area_codes))
    missing = [c for c in members if c not in present]
    if missing:
        raise ValueError(f"aggregate_areas: no values for {', '.join(missing)}; check the codes "
                         f"(the values hold {len(present)} areas)")
    if areas is not None:
        _check_overlap(members, areas)

    rows = values[np.isin(area_codes, members)]
    frame = pd.DataFrame({
        "indicator_id": pd.to_numeric(rows["indicator_id"]).astype("int64").to_numpy(),
        "area_code": np.char.upper(_text(rows["area_code"]).astype(str)).astype(object),
        **{c: (_text(rows[c]) if c in rows.columns else np.full(len(rows), "", dtype=object))
           for c in ("sex", "age", "category_type", "category", "period")},
        "period_sort": pd.to_numeric(rows["period_sort"], errors="coerce").to_numpy(dtype=float)
        if "period_sort" in rows.columns else np.nan,
        "count": pd.to_numeric(rows["count"], errors="coerce").to_numpy(dtype=float),
        "denominator": pd.to_numeric(rows["denominator"], errors="coerce").to_numpy(dtype=float),
    })
    meta = indicators.drop_duplicates("indicator_id").assign(
        indicator_id=lambda d: pd.to_numeric(d["indicator_id"]).astype("int64")).set_index("indicator_id")
    value_type = frame["indicator_id"].map(meta["value_type"] if "value_type" in meta else pd.Series(dtype=object))
    frame["value_type"] = _text(value_type)
    multiplier = frame["indicator_id"].map(meta["multiplier"]) if "multiplier" in meta else pd.Series(np.nan)
    multiplier = pd.to_numeric(multiplier, errors="coerce").to_numpy(dtype=float)
    default = np.where(frame["value_type"] == "Proportion", 100.0,
                       np.where(frame["value_type"] == "Crude rate", 100_000.0, 1.0))
    frame["multiplier"] = np.where(np.isfinite(multiplier), multiplier, default)

    # Age-specific rows (standard or life-table bands) feed DSR / LE; the other rows are the cells.
    is_dsr = frame["value_type"].to_numpy() == "Directly standardised rate"
    is_le = frame["value_type"].to_numpy() == "Life expectancy"
    band = (is_dsr & np.isin(frame["age"], _ESP_BANDS)) | (is_le & np.isin(frame["age"], list(_LE_BAND_SET)))
    bands = frame[band]
    cells_rows = frame[~band]

    # Per cell: how many members have a row, and how many have a count and a denominator.
    has_counts = np.isfinite(cells_rows["count"].to_numpy()) & (
        np.isfinite(cells_rows["denominator"].to_numpy()) | (cells_rows["value_type"].to_numpy() == "Count"))
    grouped = cells_rows.assign(has_counts=has_counts).groupby(_KEY, sort=True, dropna=False)
    cells = grouped.agg(period_sort=("period_sort", "max"), value_type=("value_type", "first"),
                        multiplier=("multiplier", "first"), n_rows=("area_code", "nunique"),
                        n_counts=("has_counts", "sum"), count=("count", "sum"),
                        denominator=("denominator", "sum")).reset_index()
    n = len(members)
    complete_rows = cells["n_rows"].to_numpy() == n
    complete_counts = complete_rows & (cells["n_counts"].to_numpy() == n)
    vtype = cells["value_type"].to_numpy(dtype=object)

    # Which members lack a row / a count in each incomplete cell (one vectorised pass).
    grid = cells[_KEY].merge(pd.DataFrame({"area_code": members}), how="cross")
    have = cells_rows.assign(has_counts=has_counts)[[*_KEY, "area_code", "has_counts"]]
    grid = grid.merge(have, on=[*_KEY, "area_code"], how="left")
    grid["problem"] = np.where(grid["has_counts"].isna(), "no data",
                               np.where(grid["has_counts"].eq(False), "no count or denominator", ""))
    lacking = grid[grid["problem"] != ""]
    who = lacking.groupby([*_KEY, "problem"], sort=False)["area_code"].agg(", ".join).reset_index()
    who["text"] = who["problem"] + " for " + who["area_code"]
    who = who.groupby(_KEY, sort=False)["text"].agg("; ".join).reset_index()
    cells = cells.merge(who, on=_KEY, how="left")

    out_value = np.full(len(cells), np.nan)
    limits = {c: np.full(len(cells), np.nan) for c in ("lower_95", "upper_95", "lower_99_8", "upper_99_8")}
    note = np.full(len(cells), "", dtype=object)
    reason = np.full(len(cells), "", dtype=object)
    method = pd.Series(vtype, dtype=object).map(METHODS).fillna("").to_numpy(dtype=object)

    def fill(mask: np.ndarray, result: pd.DataFrame) -> None:
        out_value[mask] = result["value"].to_numpy(dtype=float)
        for column in limits:
            limits[column][mask] = result[column].to_numpy(dtype=float)
        note[mask] = _text(result["value_note"])

    # Proportions, crude rates, counts: one vectorised call per (method, multiplier).
    simple = complete_counts & np.isin(vtype, ["Proportion", "Crude rate", "Count"])
    for kind in ("Proportion", "Crude rate", "Count"):
        for mult in np.unique(cells.loc[simple & (vtype == kind), "multiplier"]):
            mask = simple & (vtype == kind) & (cells["multiplier"].to_numpy() == mult)
            part = cells.loc[mask, ["count", "denominator"]]
            if kind == "Proportion":
                bad = part["count"] > part["denominator"]
                if bad.any():
                    raise ValueError("aggregate_areas: a summed count exceeds its summed denominator for a proportion "
                                     f"(indicator {int(cells.loc[bad[bad].index[0], 'indicator_id'])}); check the data")
                fill(mask, stats.proportion(part, "count", "denominator", multiplier=float(mult)))
            elif kind == "Crude rate":
                fill(mask, stats.rate(part, "count", "denominator", multiplier=float(mult)))
            else:
                counted = stats.rate(part.assign(denominator=1.0), "count", "denominator", multiplier=1.0)
                fill(mask, counted)
    # DSR and life expectancy from age bands, where every member has every band of the cell.
    for kind in ("Directly standardised rate", "Life expectancy"):
        if bands.empty:
            break
        for mult in np.unique(cells.loc[complete_rows & (vtype == kind), "multiplier"]):
            mask = complete_rows & (vtype == kind) & (cells["multiplier"].to_numpy() == mult)
            fill_mask, result = _from_bands(cells[mask], bands[bands["value_type"] == kind], members, kind,
                                            float(mult))
            where = np.flatnonzero(mask)[fill_mask]
            if len(where):
                sub = np.zeros(len(cells), bool)
                sub[where] = True
                fill(sub, result)
                cells.loc[sub, "count"] = result["count"].to_numpy()
                cells.loc[sub, "denominator"] = result["denominator"].to_numpy()

    done = np.isfinite(out_value) | (note != "")
    why_missing = cells["text"].fillna("").to_numpy(dtype=object)
    kinds = pd.Series(vtype, dtype=object)
    by_type = kinds.map(_REASONS).fillna("value type " + kinds.replace("", "unknown") + " is not built from counts")
    by_type = by_type.to_numpy(dtype=object)
    reason = np.where(done, "", np.where(np.isin(vtype, ["Proportion", "Crude rate", "Count"]),
                                         np.where(why_missing != "", why_missing, "missing counts"), by_type))
    note = np.where(done, note, CANNOT + ": " + reason.astype(str))
    count = np.where(done, cells["count"].to_numpy(dtype=float), np.nan)
    denominator = np.where(done, cells["denominator"].to_numpy(dtype=float), np.nan)
    if "Count" in set(vtype):
        denominator = np.where(vtype == "Count", np.nan, denominator)

    result = pd.DataFrame({
        "indicator_id": cells["indicator_id"].to_numpy(), "area_code": code, "area_type": area_type,
        **{c: cells[c].to_numpy() for c in ("sex", "age", "category_type", "category", "period")},
        "period_sort": cells["period_sort"].to_numpy(), "value": out_value, **limits, "count": count,
        "denominator": denominator, "value_note": note,
    })[_VALUE_COLUMNS]
    result["period_sort"] = pd.array(pd.Series(result["period_sort"]).round(), dtype="Int64")
    result["indicator_id"] = result["indicator_id"].astype("Int64")
    result = result.sort_values(["indicator_id", "sex", "age", "category_type", "category", "period_sort"],
                                kind="stable").reset_index(drop=True)
    status = _status(cells.assign(done=done, reason=reason, method=method), meta)
    return CustomArea(code=code, name=str(name).strip(), members=members, values=result, status=status,
                      region_code=_common_region(members, areas), area_type=area_type)


def _from_bands(cells: pd.DataFrame, bands: pd.DataFrame, members: list[str], kind: str,
                multiplier: float) -> tuple[np.ndarray, pd.DataFrame]:
    """DSR / life expectancy of each cell from the members' band rows (same indicator, sex,
    category and period); returns which cells could be computed and their results in order."""
    line = ["indicator_id", "sex", "category_type", "category", "period"]
    have = bands[np.isfinite(bands["count"]) & np.isfinite(bands["denominator"])]
    # Every member must have the same bands as the others in the cell (a complete grid).
    per = have.groupby([*line, "age"], sort=False)["area_code"].nunique().reset_index(name="n")
    per["full"] = per["n"] == len(members)
    ok_line = per.groupby(line, sort=False)["full"].all().reset_index()
    ok_line = ok_line[ok_line["full"]]
    target = cells.reset_index(drop=True).reset_index().merge(ok_line[line], on=line, how="inner")
    fill_mask = np.zeros(len(cells), bool)
    if target.empty:
        return fill_mask, pd.DataFrame(columns=["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8",
                                                "value_note", "count", "denominator"])
    used = have.merge(target[[*line, "index"]], on=line, how="inner")
    if kind == "Directly standardised rate":
        out = stats.dsr(used, "count", "denominator", by="index", age_band="age", multiplier=multiplier)
    else:
        used = used.assign(at_age=_at_age(used["index"].map(target.set_index("index")["age"]).to_numpy()))
        out = stats.life_expectancy(used, "count", "denominator", by="index", age_band="age",
                                    at_ages=sorted(set(used["at_age"])))
        wanted = target.set_index("index")["age"].reindex(out["index"]).to_numpy()
        out = out[out["age_from"].to_numpy() == _at_age(wanted)]
    out = out.set_index("index").reindex(target["index"]).reset_index()
    fill_mask[target["index"].to_numpy()] = True
    return fill_mask, out


def _status(cells: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    whole = cells[cells["category_type"] == ""]
    line = ["indicator_id", "sex", "age"]
    grouped = whole.groupby(line, sort=True)
    summary = grouped.agg(value_type=("value_type", "first"), method=("method", "first"),
                          periods=("period", "nunique"), periods_aggregated=("done", "sum")).reset_index()
    reasons = whole[~whole["done"]].groupby(line, sort=True)["reason"].agg(
        lambda r: "; ".join(dict.fromkeys(r))).rename("reason")
    summary = summary.merge(reasons, left_on=line, right_index=True, how="left")
    summary["reason"] = summary["reason"].fillna("")
    summary["aggregated"] = np.select(
        [summary["periods_aggregated"] == summary["periods"], summary["periods_aggregated"] > 0],
        ["all periods", "some periods"], "no")
    summary["method"] = np.where(summary["periods_aggregated"] > 0, summary["method"], CANNOT.lower())
    names = meta["name"] if "name" in meta.columns else pd.Series(dtype=object)
    summary.insert(1, "name", summary["indicator_id"].map(names).fillna(""))
    summary["periods_aggregated"] = summary["periods_aggregated"].astype(int)
    return summary[["indicator_id", "name", "sex", "age", "value_type", "aggregated", "method", "periods_aggregated",
                    "periods", "reason"]].reset_index(drop=True)


# ================================================================================= comparison
def compare_custom_area(custom: CustomArea, values: pd.DataFrame, indicators: pd.DataFrame,
                        areas: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The new area compared with England, and each member compared with the new area.

    Returns ``{"vs_england": ..., "parts": ...}``, both in the layout of the comparisons table
    (:data:`jsna_lib.compare.COMPARISON_COLUMNS`): ``vs_england`` has the new area's rows with
    significance against England and its recent trend (Fingertips conventions,
    :func:`jsna_lib.compare.compare_values`); ``parts`` has each member's rows with significance
    against the new area (``benchmark`` = the new area's code; quintile-method indicators are not
    compared there). Ranks in ``parts`` are among the members only.
    """
    codes = np.char.upper(_text(values["area_code"]).astype(str))
    england = values[codes == compare.ENGLAND]
    rows = pd.concat([england, custom.values], ignore_index=True)
    area_table = pd.DataFrame({"area_code": [compare.ENGLAND], "area_name": ["England"], "area_type": ["england"],
                               "parent_code": [""], "region_code": [""]})
    area_table = pd.concat([area_table, custom.area_row()], ignore_index=True)
    vs_england = compare.compare_values(rows, indicators, area_table, area_type=custom.area_type,
                                        benchmarks=("england",), focus=[custom.code])
    members = values[np.isin(codes, custom.members)]
    types = pd.Series(_text(members["area_type"]), index=np.char.upper(_text(members["area_code"]).astype(str)))
    types = types[~types.index.duplicated()]
    own = areas.assign(area_code=np.char.upper(_text(areas["area_code"]).astype(str)))
    own = own[own["area_code"].isin(custom.members)].drop_duplicates("area_code").copy()
    own["area_type"] = own["area_code"].map(types).fillna(own["area_type"]).to_numpy()
    own = pd.concat([own, custom.area_row()], ignore_index=True)
    parts = compare.compare_values(pd.concat([england, members, custom.values], ignore_index=True), indicators, own,
                                   area_type=sorted(set(types)), benchmarks=(custom.code,),
                                   focus=custom.members)
    # Quintiles among a handful of parts say nothing about the new area: not compared here.
    quintile = _text(parts["comparator_method"]) == "quintiles"
    if quintile.any():
        parts = parts.copy()
        parts["significance"] = parts["significance"].mask(quintile, compare.NOT_COMPARED)
        parts["significance_note"] = parts["significance_note"].mask(
            quintile, "ranked in quintiles among all areas, not compared with the new area")
        parts["quintile"] = parts["quintile"].mask(quintile)
    return {"vs_england": vs_england, "parts": parts}


def comparison_table(comparisons: pd.DataFrame, indicators: pd.DataFrame, *,
                     benchmark_name: str = "England") -> pd.DataFrame:
    """One row per indicator line (latest period) of one area's comparisons (e.g. ``vs_england``
    of :func:`compare_custom_area`): indicator, period, value, 95% CI, count, denominator, the
    benchmark's value, the significance, the recent trend and the value note."""
    rows = comparisons[_text(comparisons["category_type"]) == ""]
    rows = rows.assign(indicator_id=pd.to_numeric(rows["indicator_id"]).astype("int64"),
                       period_sort=pd.to_numeric(rows["period_sort"]).astype(float))
    line = ["area_code", "indicator_id", "sex", "age"]
    rows = rows[rows["period_sort"] == rows.groupby(line)["period_sort"].transform("max")]
    meta = indicators.drop_duplicates("indicator_id").assign(
        indicator_id=lambda d: pd.to_numeric(d["indicator_id"]).astype("int64")).set_index("indicator_id")
    out = pd.DataFrame({
        "indicator": rows["indicator_id"].map(meta["name"]).fillna("").to_numpy() if "name" in meta else "",
        "sex": _text(rows["sex"]), "age": _text(rows["age"]), "period": _text(rows["period"]),
        "value": rows["value"].to_numpy(), "lower_95": rows["lower_95"].to_numpy(),
        "upper_95": rows["upper_95"].to_numpy(), "count": rows["count"].to_numpy(),
        "denominator": rows["denominator"].to_numpy(), f"{benchmark_name} value": rows["benchmark_value"].to_numpy(),
        f"compared with {benchmark_name}": _text(rows["significance"]), "recent trend": _text(rows["trend"]),
        "note": _text(rows["value_note"]),
    })
    return out.reset_index(drop=True)


def slug_code(name: str) -> str:
    """A code for a new area from its name ("Merseyside (custom)" → "CUSTOM_MERSEYSIDE_CUSTOM")."""
    return "CUSTOM_" + (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()[:30] or "AREA")
