"""Everything the area report and the explorer need for one area, computed once.

``area_profile(store, "E08000025")`` returns an :class:`AreaProfile`: the latest value of every
indicator with England's, the region's and a chosen comparator's values, the significance
against each (Fingertips conventions, :mod:`jsna_lib.compare`), the recent trend, the rank and
quintile among areas of the same type and the spine-chart numbers and positions; the time
series; the population by age and sex; the inequality breakdowns; and plain-English data notes.

It reads the precomputed ``comparisons`` table when the store has one made from its current
values (:func:`jsna_lib.compare.compare_all`, the fast path: only this area's rows are read) and
otherwise computes for this one area (quintiles, ranks and spines still need every area of the
type, which :func:`jsna_lib.compare.compare_values` handles with ``focus``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import compare

__all__ = ["AreaProfile", "area_profile"]

_INDICATOR_META = ["name", "domain", "value_type", "unit", "multiplier", "polarity", "comparator_method",
                   "definition", "source"]
_VALUE_COLUMNS = ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator"]
_KEY = ["indicator_id", "sex", "age", "category_type", "category", "period"]


@dataclass
class AreaProfile:
    """One area's profile. Frames are plain pandas; see :func:`area_profile` for their columns."""

    area_code: str
    area_name: str
    area_type: str
    region_code: str
    region_name: str
    parent_code: str
    parent_name: str
    comparator: str
    comparator_code: str
    comparator_name: str
    period: str
    indicators: pd.DataFrame
    time_series: pd.DataFrame
    population: pd.DataFrame
    population_year: int | None
    inequalities: pd.DataFrame
    england_inequalities: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    source: str = ""
    demonstration: bool = False
    from_precomputed: bool = False

    def headline(self) -> pd.DataFrame:
        """The rows a summary counts: each indicator's ``Persons`` rows, or every sex where the
        indicator has no persons figure (e.g. life expectancy by sex)."""
        ind = self.indicators
        if ind.empty:
            return ind
        persons = ind["sex"] == "Persons"
        has_persons = ind["indicator_id"].isin(ind.loc[persons, "indicator_id"])
        return ind[persons | ~has_persons].reset_index(drop=True)


# ----------------------------------------------------------------------------- area resolution
def _store_areas(store: Any) -> pd.DataFrame:
    if store.has("areas"):
        areas = store.read("areas")
    else:
        from . import geography

        areas = geography.areas()
    areas = areas.copy()
    for column in ("area_code", "area_name", "area_type", "parent_code", "region_code"):
        if column not in areas.columns:
            areas[column] = ""
        areas[column] = compare._clean_text(areas[column])
    areas["area_code"] = areas["area_code"].str.upper()
    return areas


def _resolve_area(store: Any, areas: pd.DataFrame, code_or_name: str, area_type: str | None) -> pd.Series:
    """The area's row in the store's areas table; raises an error suggesting close matches."""
    if not isinstance(code_or_name, str) or not code_or_name.strip():
        raise ValueError("area_profile: give an area code, e.g. 'E08000025'")
    query = code_or_name.strip()
    rows = areas[areas["area_code"] == query.upper()]
    if rows.empty:
        named = areas[areas["area_name"].str.lower() == query.lower()]
        rows = named if not named.empty else rows
    if rows.empty:
        _raise_unknown(store, areas, query)
    if area_type is not None:
        typed = rows[rows["area_type"] == area_type]
        if typed.empty:
            raise ValueError(f"area_profile: {query} is a {' and '.join(rows['area_type'])}, not a {area_type}")
        rows = typed
    # A unitary is both a UTLA and an LTLA: like the geography module, take its UTLA row.
    order = {"utla": 0, "ltla": 1}
    rows = rows.assign(_o=rows["area_type"].map(order).fillna(2)).sort_values("_o", kind="stable")
    return rows.iloc[0].drop("_o")


def _raise_unknown(store: Any, areas: pd.DataFrame, query: str) -> None:
    from . import geography

    try:
        found = geography.area(query)
    except geography.UnknownAreaError as exc:
        # Add close matches among the store's own areas (custom areas are not in the geography).
        local = difflib.get_close_matches(query.upper(), list(areas["area_code"]), n=3, cutoff=0.75)
        local += difflib.get_close_matches(query, list(areas["area_name"]), n=3, cutoff=0.75)
        extra = [s for s in local if s not in exc.suggestions]
        if extra:
            raise geography.UnknownAreaError(f"{exc}; in this store also: {', '.join(extra)}", query=query,
                                             suggestions=[*exc.suggestions, *extra]) from None
        raise
    raise geography.UnknownAreaError(
        f"{found['area_code']} ({found['area_name']}) has no data in the store at {store.path}; "
        f"import or fetch data for it first", query=query, suggestions=[str(found["area_code"])])


def _name_of(areas: pd.DataFrame, code: str) -> str:
    hit = areas.loc[areas["area_code"] == code, "area_name"]
    return str(hit.iloc[0]) if len(hit) else code


# ----------------------------------------------------------------------------- comparisons
def _comparator_spec(comparator: Any) -> compare.Benchmark:
    """A list or set of area codes is an unnamed comparator group; anything else is a benchmark
    spec for :func:`jsna_lib.compare._as_benchmark` (a code, "england", a named group ...)."""
    if isinstance(comparator, list | set):
        codes = sorted({str(c).strip().upper() for c in comparator}) if isinstance(comparator, set) else [
            str(c).strip().upper() for c in comparator]
        if not codes:
            raise ValueError("area_profile: the comparator group is empty; give at least one area code")
        return compare.Benchmark("group", f"Comparator group ({len(codes)} areas)", tuple(codes))
    return compare._as_benchmark(comparator)


def _comparisons_for(store: Any, area: pd.Series, specs: list[compare.Benchmark]) -> tuple[pd.DataFrame, bool]:
    """The area's comparison rows for ``specs`` (fast path when precomputed), and whether precomputed."""
    labels = [b.label for b in specs]
    if compare.comparisons_current(store):
        rows = compare.read_comparisons(store, area_code=str(area["area_code"]), area_type=str(area["area_type"]))
        if not rows.empty and set(labels) <= set(rows["benchmark"].dropna()):
            return rows[rows["benchmark"].isin(labels)].reset_index(drop=True), True
    values = store.read("values")
    indicators = store.read("indicators") if store.has("indicators") else None
    rows = compare.compare_values(values, indicators, compare._areas_for(store), area_type=str(area["area_type"]),
                                  benchmarks=specs, focus=[str(area["area_code"])])
    return rows, False


def _wide(rows: pd.DataFrame, specs: list[compare.Benchmark]) -> pd.DataFrame:
    """One row per (indicator, sex, age, category, period): the England block plus each
    benchmark's value, significance and level as ``<name>_value``, ``vs_<name>``, ``vs_<name>_level``."""
    names = {b.label: name for b, name in zip(specs, ("england", "region", "comparator"), strict=False)}
    base_label = specs[0].label
    base = rows[rows["benchmark"] == base_label].drop(
        columns=["benchmark", "benchmark_code", "benchmark_value", "benchmark_method", "significance",
                 "significance_level", "significance_note"]).reset_index(drop=True)
    key = ["indicator_id", "sex", "age", "category_type", "category", "period"]
    for label, name in names.items():
        block = rows[rows["benchmark"] == label][[*key, "benchmark_code", "benchmark_value", "significance",
                                                  "significance_level", "significance_note"]]
        block = block.rename(columns={"benchmark_code": f"{name}_code", "benchmark_value": f"{name}_value",
                                      "significance": f"vs_{name}", "significance_level": f"vs_{name}_level",
                                      "significance_note": f"vs_{name}_note"})
        if name == "england":
            block = block.drop(columns=["england_value"])
        base = base.merge(block, on=key, how="left")
    return base


# ----------------------------------------------------------------------------- the profile
def area_profile(store: Any, area_code: str, comparator: Any = "england", period: str = "latest", *,
                 area_type: str | None = None) -> AreaProfile:
    """Build the profile of one area from a :class:`jsna_lib.store.Store`.

    ``comparator`` is ``"england"`` (default), ``"region"``, ``"parent"``, an area code, a list of
    area codes (a comparator group: aggregate of counts where possible, see
    :mod:`jsna_lib.compare`) or a :func:`jsna_lib.geography.group` frame. England and the region
    are always included as well. ``period`` is ``"latest"`` (each indicator's latest period for
    the area) or a period as the data writes it (e.g. ``"2021/22"``). A unitary authority is
    profiled as a UTLA unless ``area_type="ltla"``.

    ``indicators`` has one row per indicator × sex × age: metadata (``name``, ``domain``,
    ``value_type``, ``unit``, ``polarity``, ``comparator_method`` ...), ``period``, the values and
    limits, ``england_value``, ``region_value``, ``comparator_value``, ``vs_england``,
    ``vs_region``, ``vs_comparator`` (significance labels) with ``..._level`` (95 / 99.8) and
    ``..._note`` (why not compared) and ``..._colour``, ``trend``, ``rank``/``rank_count``,
    ``quintile``, the spine numbers (``spine_*``) and 0..1 positions (``pos_area``,
    ``pos_region``, ``pos_worst``, ``pos_p25``, ``pos_p75``, ``pos_best``). ``time_series`` has
    every period of every headline series with the same comparison columns. ``population`` is
    the latest year's population by ``sex`` and ``age_band``. ``inequalities`` are the area's
    rows with a ``category_type`` (latest period); ``england_inequalities`` England's.

    Raises :class:`jsna_lib.geography.UnknownAreaError` (a ``ValueError``) for an unknown area,
    suggesting close matches.
    """
    areas = _store_areas(store)
    area = _resolve_area(store, areas, area_code, area_type)
    code = str(area["area_code"])
    region_code = str(area.get("region_code", "") or "")
    parent_code = str(area.get("parent_code", "") or "")
    comp = _comparator_spec(comparator)
    specs = [compare.Benchmark("england", compare.ENGLAND), compare.Benchmark("region")]
    if comp.label not in {s.label for s in specs}:
        specs.append(comp)
    rows, precomputed = _comparisons_for(store, area, specs)
    if rows.empty:
        raise ValueError(f"area_profile: the store at {store.path} has no values for {code} "
                         f"({area['area_name']}) as a {area['area_type']}")
    wide = _wide(rows, specs)
    if comp.kind == "england":
        for suffix in ("code", "value"):
            wide[f"comparator_{suffix}"] = wide[f"england_{suffix}"]
        for suffix in ("", "_level", "_note"):
            wide[f"vs_comparator{suffix}"] = wide[f"vs_england{suffix}"]
    elif comp.kind == "region":
        for suffix in ("code", "value"):
            wide[f"comparator_{suffix}"] = wide[f"region_{suffix}"]
        for suffix in ("", "_level", "_note"):
            wide[f"vs_comparator{suffix}"] = wide[f"vs_region{suffix}"]

    indicators = store.read("indicators") if store.has("indicators") else pd.DataFrame(columns=["indicator_id"])
    meta = indicators.drop_duplicates("indicator_id").copy()
    meta["indicator_id"] = pd.to_numeric(meta["indicator_id"]).astype("Int64")
    meta = meta[["indicator_id", *[c for c in _INDICATOR_META if c in meta.columns]]]
    wide = wide.drop(columns=[c for c in ("polarity", "comparator_method", "value_type") if c in wide.columns])
    wide = wide.merge(meta, on="indicator_id", how="left")
    for column in _INDICATOR_META:
        if column not in wide.columns:
            wide[column] = np.nan if column == "multiplier" else ""
    for column in ("vs_england", "vs_region", "vs_comparator"):
        wide[f"{column}_colour"] = compare.colour(wide[column].fillna(compare.NOT_COMPARED))
    wide["period_sort"] = pd.to_numeric(wide["period_sort"]).astype("Int64")

    headline_rows = wide[wide["category_type"].fillna("") == ""]
    # 0..1 spine positions of the area, its region, England and the spine's ends.
    wide_pos = _with_positions(headline_rows)
    series_key = ["indicator_id", "sex", "age"]
    ordered = wide_pos.sort_values([*series_key, "period_sort"], kind="stable")
    if period == "latest":
        latest = ordered.groupby(series_key, sort=False).tail(1)
    else:
        latest = ordered[ordered["period"] == str(period)]
        if latest.empty:
            available = ", ".join(sorted(pd.unique(ordered["period"].astype(str)))[:12])
            raise ValueError(f"area_profile: no data for period {period!r} for {code}; periods in the store "
                             f"include {available}")
    latest = latest.sort_values(["domain", "indicator_id", "sex", "age"], kind="stable", na_position="last")
    latest = latest.reset_index(drop=True)
    time_series = ordered.reset_index(drop=True)

    inequalities = _latest_breakdowns(wide[wide["category_type"].fillna("") != ""])
    england_ineq = _england_breakdowns(store, meta)
    population, pop_year = _population(store, code)
    entry = store.manifest.get("tables", {}).get("values", {})
    sources = [str(s) for s in entry.get("sources", [entry.get("source", "")]) if s]  # every source that wrote
    source = "; ".join(sources)
    demonstration = any("synthetic" in s.lower() or "demonstration" in s.lower() for s in sources)

    comparator_code = {"region": region_code, "parent": parent_code}.get(comp.kind, comp.code)
    profile = AreaProfile(
        area_code=code, area_name=str(area["area_name"]), area_type=str(area["area_type"]),
        region_code=region_code, region_name=_name_of(areas, region_code) if region_code else "",
        parent_code=parent_code, parent_name=_name_of(areas, parent_code) if parent_code else "",
        comparator=comp.label, comparator_code=comparator_code,
        comparator_name=comp.code if comp.kind == "group" else _name_of(areas, comparator_code),
        period=str(period), indicators=latest, time_series=time_series, population=population,
        population_year=pop_year, inequalities=inequalities, england_inequalities=england_ineq,
        source=source, demonstration=demonstration, from_precomputed=precomputed,
    )
    profile.notes = _notes(profile, meta, store)
    return profile


def _with_positions(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    args = (out["spine_centre"], out["spine_half_width"], out["spine_reversed"].fillna(False).astype(bool))
    for name, column in (("area", "value"), ("region", "region_value"), ("england", "england_value"),
                         ("worst", "spine_worst"), ("p25", "spine_p25"), ("p75", "spine_p75"),
                         ("best", "spine_best")):
        out[f"pos_{name}"] = compare.spine_positions(out[column], *args)
    return out


def _latest_breakdowns(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.reset_index(drop=True)
    key = ["indicator_id", "sex", "age", "category_type"]
    last = frame.groupby(key)["period_sort"].transform("max")
    out = frame[frame["period_sort"] == last]
    return out.sort_values([*key, "category"], kind="stable").reset_index(drop=True)


def _england_breakdowns(store: Any, meta: pd.DataFrame) -> pd.DataFrame:
    rows = store.read("values", filters=[("area_code", "=", compare.ENGLAND)])
    rows = rows[rows["category_type"].fillna("") != ""]
    if rows.empty:
        return rows.reset_index(drop=True)
    rows = rows.assign(indicator_id=pd.to_numeric(rows["indicator_id"]).astype("Int64"))
    rows = rows.merge(meta[["indicator_id", *[c for c in ("name", "unit", "polarity") if c in meta]]],
                      on="indicator_id", how="left")
    return _latest_breakdowns(rows)


def _population(store: Any, code: str) -> tuple[pd.DataFrame, int | None]:
    if not store.has("population"):
        return pd.DataFrame(columns=["sex", "age_band", "population"]), None
    pop = store.read("population", filters=[("area_code", "=", code)])
    if pop.empty:
        return pop[["sex", "age_band", "population"]].reset_index(drop=True), None
    year = int(pd.to_numeric(pop["year"]).max())
    latest = pop[pd.to_numeric(pop["year"]) == year]
    return latest[["sex", "age_band", "population"]].reset_index(drop=True), year


def _join_names(names: Sequence[str], limit: int = 6) -> str:
    names = list(names)
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def _notes(profile: AreaProfile, meta: pd.DataFrame, store: Any) -> list[str]:
    """Plain-English data notes for the report (deterministic order)."""
    notes: list[str] = []
    if profile.demonstration:
        notes.append("Demonstration data: these numbers are synthetic and describe no real place.")
    written = str(store.manifest.get("tables", {}).get("values", {}).get("written_at", ""))
    if profile.source:
        notes.append(f"Source: {profile.source}" + (f", loaded {written[:10]}." if written else "."))
    ind = profile.indicators
    if not ind.empty and "value_note" in ind.columns:
        with_notes = ind[ind["value_note"].fillna("") != ""]
        for name, note in sorted({(str(n), str(v)) for n, v in zip(with_notes["name"], with_notes["value_note"],
                                                                   strict=True)}):
            notes.append(f"{name}: {note}.")
    if not ind.empty:
        not_compared = ind[ind["vs_england"].fillna(compare.NOT_COMPARED) == compare.NOT_COMPARED]
        reasons: dict[str, list[str]] = {}
        for name, reason in zip(not_compared["name"].astype(str), not_compared["vs_england_note"].fillna(""),
                                strict=True):
            if reason and reason != "compared by quintiles":
                reasons.setdefault(str(reason), [])
                if name not in reasons[str(reason)]:
                    reasons[str(reason)].append(name)
        for reason in sorted(reasons):
            notes.append(f"Not compared with England ({reason}): {_join_names(reasons[reason])}.")
        quint = ind[ind["comparator_method"] == "quintiles"]
        if not quint.empty:
            notes.append("Ranked in quintiles among areas of the same type rather than compared with England: "
                         f"{_join_names(list(dict.fromkeys(quint['name'].astype(str))))}.")
    if not meta.empty:
        have = set(pd.to_numeric(ind["indicator_id"]).dropna().astype(int)) if not ind.empty else set()
        missing = meta[~meta["indicator_id"].astype(int).isin(have)]
        if not missing.empty:
            names = [str(n) for n in missing["name"]] if "name" in missing else [str(i) for i in missing["indicator_id"]]
            notes.append(f"No data for this area: {_join_names(names)}.")
    if not profile.from_precomputed:
        notes.append("Comparisons were computed for this area (no current precomputed comparisons table).")
    return notes
