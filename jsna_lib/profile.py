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

For the area report it also finds the store (:func:`open_store`, relative paths from the
repository or ``notebooks/``), and derives from a profile: the deprivation score and its rank
(:func:`deprivation_score`), the wider-determinants domains (:func:`wider_domains`), the slope
index of inequality of every deprivation breakdown (:func:`inequality_summary`), male/female
differences (:func:`sex_differences`), the population history (:func:`population_history`) and
the region's areas and their comparison rows (:func:`region_areas`, :func:`region_comparisons`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import compare, palette

__all__ = ["AreaProfile", "area_names", "area_profile", "deprivation_rank", "deprivation_score", "in_county",
           "inequality_summary", "one_age_per_indicator", "open_store", "population_history", "region_areas",
           "region_comparisons", "sex_differences", "wider_domains"]

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
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key: Any, make: Any) -> Any:
        """``make()``, computed once per profile (while ``indicators`` is the same frame); a frame
        result is handed out as a copy (copy-on-write: cheap, and the caller may change it)."""
        held = self._memo.get(key)
        if held is None or held[0] is not self.indicators:  # (the frame is kept, so its id cannot be reused)
            held = self._memo[key] = (self.indicators, make())
        found = held[1]
        return found.copy(deep=False) if isinstance(found, pd.DataFrame) else found

    def headline(self) -> pd.DataFrame:
        """The rows a summary counts: each indicator's ``Persons`` rows, or every sex where the
        indicator has no persons figure (e.g. life expectancy by sex)."""
        return self.memo("headline", self._headline)

    def _headline(self) -> pd.DataFrame:
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
    source = "; ".join(_source_label(s) for s in sources)
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


def _source_label(source: str) -> str:
    """A source as a reader should see it: an imported file by its name, not the analyst's path."""
    from pathlib import PurePath

    text = source.strip()
    if ("/" in text or "\\" in text) and "://" not in text and " " not in PurePath(text).name:
        return PurePath(text.replace("\\", "/")).name or text
    return text


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


# ============================================================================= for the area report
_DEPRIVATION_SCORE = r"deprivation score|index of multiple deprivation|\bimd\b.*\bscore|\bscore\b.*\bimd\b"
#: Domains shown under "deprivation and wider determinants" (matched case-insensitively).
WIDER_DOMAINS = (r"wider determinants|deprivation|social context|employment|unemployment|housing|homeless|crime"
                 r"|income|poverty|education")
SII_REPETITIONS = 10_000
SII_SEED = 20240601


def open_store(data_dir: str | Any) -> Any:
    """The :class:`jsna_lib.store.Store` at ``data_dir``.

    A relative path is looked for in the working directory, then its parent (a notebook run from
    ``notebooks/``), then the repository root (the folder holding ``jsna_lib``), so the notebooks'
    default ``data/demo_store`` works from the repository root, from ``notebooks/`` and under
    ``jsna batch``. Raises :class:`jsna_lib.store.StoreError` naming every place looked at.
    """
    from pathlib import Path

    from .store import Store, StoreError

    given = Path(str(data_dir)).expanduser()
    candidates = [given] if given.is_absolute() else list(dict.fromkeys(
        [Path.cwd() / given, Path.cwd().parent / given, Path(__file__).resolve().parent.parent / given]))
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return Store(candidate.resolve())
    looked = ", ".join(str(c) for c in candidates)
    raise StoreError(f"no data store at {data_dir} (looked in {looked}): build the demonstration store with "
                     f"`jsna demo --data-dir {data_dir}`, or import your own data with "
                     f"`jsna import FILE --data-dir {data_dir}`")


def population_history(store: Any, area_code: str, *, comparator: str | None = compare.ENGLAND) -> pd.DataFrame:
    """Every year of the store's ``population`` rows for ``area_code`` (and ``comparator``, for the
    pyramid's outline); an empty frame with the table's columns when the store has none."""
    columns = ["area_code", "year", "sex", "age_band", "population"]
    if not store.has("population"):
        return pd.DataFrame(columns=columns)
    codes = [str(area_code).upper(), *([str(comparator).upper()] if comparator else [])]
    return store.read("population", filters=[("area_code", "in", codes)]).reset_index(drop=True)


def in_county(profile: AreaProfile) -> bool:
    """True for a district (lower-tier authority under a county council, parent code E10...)."""
    return profile.area_type == "ltla" and str(profile.parent_code).upper().startswith("E10")


def region_areas(store: Any, profile: AreaProfile) -> pd.DataFrame:
    """The areas the profile is compared with side by side (``area_code``, ``area_name``; the
    area first, then the others by name): the areas of its type in its region, or for a district
    the other districts of its county; from the store's areas table (else the reference
    geography); just the area when it has no region."""
    areas = _store_areas(store)
    if in_county(profile):  # a district: the other districts of its county
        rows = areas[(areas["area_type"] == "ltla") & (areas["parent_code"] == profile.parent_code)]
    elif profile.region_code:
        rows = areas[(areas["area_type"] == profile.area_type) & (areas["region_code"] == profile.region_code)]
    else:
        rows = areas.iloc[:0]
    if profile.area_code not in set(rows["area_code"]):
        rows = pd.concat([rows, areas[areas["area_code"] == profile.area_code].head(1)], ignore_index=True)
    rows = rows.drop_duplicates("area_code")[["area_code", "area_name"]]
    # The area first, then the others by name (the overview's columns and the charts' order).
    rows = rows.assign(_own=rows["area_code"] != profile.area_code).sort_values(["_own", "area_name"], kind="stable")
    return rows.drop(columns="_own").reset_index(drop=True)


def area_names(profile: AreaProfile, areas: pd.DataFrame | None = None) -> dict[str, str]:
    """{code: name} for the charts: ``areas`` (``area_code``/``area_name``), the profile's area,
    its region and England."""
    names = dict(zip(areas["area_code"].astype(str), areas["area_name"].astype(str), strict=True)) if (
        areas is not None and len(areas)) else {}
    names[compare.ENGLAND] = "England"
    if profile.region_code:
        names[profile.region_code] = profile.region_name or profile.region_code
    names[profile.area_code] = profile.area_name
    return names


def region_comparisons(store: Any, profile: AreaProfile, *, areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """Comparison rows (:data:`jsna_lib.compare.COMPARISON_COLUMNS`, benchmarks England and the
    region) for every area of the profile's type in its region, for the compare-areas bars and
    the overview. Read from the precomputed ``comparisons`` table when it is current (only those
    areas' rows are read), else computed for those areas (quintiles and ranks still use every
    area of the type)."""
    areas = region_areas(store, profile) if areas is None else areas
    codes = [str(c) for c in areas["area_code"]]
    labels = ["england", "region"]
    if compare.comparisons_current(store):
        rows = store.read("comparisons", filters=[("area_code", "in", codes), ("area_type", "=", profile.area_type),
                                                  ("benchmark", "in", labels)])
        if not rows.empty:
            return rows.reset_index(drop=True)
    values = store.read("values")
    indicators = store.read("indicators") if store.has("indicators") else None
    return compare.compare_values(values, indicators, compare._areas_for(store), area_type=profile.area_type,
                                  benchmarks=labels, focus=codes)


def one_age_per_indicator(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of one age per indicator (for charts that label rows by indicator and sex only,
    such as the overview): the age with the newest period, "All ages" first among equals."""
    if frame.empty or "age" not in frame.columns:
        return frame
    whole = frame[frame["category_type"].fillna("").astype(str) == ""] if "category_type" in frame.columns else frame
    ages = whole.groupby(["indicator_id", "age"], as_index=False)["period_sort"].max()
    ages = ages.assign(_all=ages["age"] != "All ages").sort_values(
        ["indicator_id", "period_sort", "_all"], ascending=[True, False, True], kind="stable")
    keep = ages.drop_duplicates("indicator_id")[["indicator_id", "age"]]
    return frame.merge(keep, on=["indicator_id", "age"], how="inner")


def wider_domains(profile: AreaProfile, pattern: str = WIDER_DOMAINS) -> list[str]:
    """The profile's domains about deprivation and the wider determinants of health, in data order."""
    domains = pd.Series(pd.unique(profile.indicators["domain"].fillna("").astype(str))) if len(
        profile.indicators) else pd.Series([], dtype=object)
    domains = domains[domains != ""]
    return [str(d) for d in domains[domains.str.contains(pattern, case=False, regex=True)]]


def deprivation_score(profile: AreaProfile) -> pd.DataFrame:
    """The area's deprivation score rows (an index-of-multiple-deprivation score indicator, by
    name; persons, latest period), with ``quintile`` and ``rank``/``rank_count`` among areas of
    the same type and ``most_deprived_rank`` (1 = the most deprived). Empty when the store has
    no such indicator."""
    ind = profile.indicators
    if ind.empty:
        return ind
    names = ind["name"].fillna("").astype(str)
    rows = ind[names.str.contains(_DEPRIVATION_SCORE, case=False, regex=True)]
    rows = rows[rows["sex"].fillna("Persons") == "Persons"]
    if rows.empty:
        return rows.reset_index(drop=True)
    rows = rows.sort_values("period_sort", kind="stable").groupby("indicator_id", sort=False).tail(1)
    rank = pd.to_numeric(rows["rank"], errors="coerce")
    count = pd.to_numeric(rows["rank_count"], errors="coerce")
    # A deprivation score is "BOB": rank 1 is the lowest score, i.e. the least deprived.
    return rows.assign(most_deprived_rank=(count - rank + 1).astype("Int64")).reset_index(drop=True)


def deprivation_rank(categories: Any) -> pd.Series:
    """Rank of each deprivation category, most deprived first (1 = "Most deprived decile"); NaN
    for a category that is not a deprivation decile or quintile."""
    labels = pd.Series(categories, dtype="string").fillna("")
    key = labels.str.replace(palette.CATEGORY_SUFFIX, "", regex=True).str.strip().str.lower()
    return key.map(palette.DEPRIVATION_RANK).astype(float)


def inequality_summary(profile: AreaProfile, *, repetitions: int = SII_REPETITIONS,
                       seed: int = SII_SEED) -> pd.DataFrame:
    """The slope index of inequality (SII) of every deprivation breakdown of the area (or, when
    the store has none for the area, of England), via :func:`jsna_lib.stats.sii`.

    Quantiles are ordered most deprived first, so the SII is the modelled difference between
    the least and the most deprived ends of the population (negative: higher in the most
    deprived). Each quantile is weighted by its ``denominator`` (the population the indicator
    counts); the 95% interval is simulated (``repetitions`` draws, fixed ``seed``). One row per
    indicator, sex, age, breakdown and period: ``area_code``, ``name``, ``unit``,
    ``category_type``, ``period``, ``quantiles``, ``most_deprived``/``least_deprived`` (values),
    ``sii``, ``sii_lower_95``, ``sii_upper_95``, ``higher_in`` ("most deprived" / "least
    deprived") and ``note`` (why the SII is missing: too few quantiles, no populations ...).
    """
    from . import stats

    own = profile.inequalities
    use_own = isinstance(own, pd.DataFrame) and len(own) and deprivation_rank(own["category"]).notna().any()
    rows = (own.assign(area_code=profile.area_code) if use_own
            else profile.england_inequalities.assign(area_code=compare.ENGLAND))
    columns = ["area_code", "indicator_id", "name", "unit", "sex", "age", "category_type", "period", "quantiles",
               "most_deprived", "least_deprived", "sii", "sii_lower_95", "sii_upper_95", "higher_in", "note"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(quantile_rank=deprivation_rank(rows["category"]).to_numpy())
    rows = rows[rows["quantile_rank"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    for column in ("name", "unit"):
        if column not in rows.columns:
            rows[column] = ""
    key = ["area_code", "indicator_id", "sex", "age", "category_type", "period"]
    for column in ("value", "lower_95", "upper_95", "denominator"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    rows["has_population"] = (rows["denominator"] > 0).astype(int)
    summary = rows.groupby(key, sort=False, dropna=False).agg(
        name=("name", "first"), unit=("unit", "first"), quantiles=("quantile_rank", "nunique"),
        values=("value", "count"), populations=("has_population", "sum"), limits=("lower_95", "count"),
        size=("value", "size")).reset_index()
    top = rows.groupby(key, sort=False, dropna=False)["quantile_rank"].transform("max")
    most = rows[rows["quantile_rank"] == 1].groupby(key, dropna=False)["value"].mean().rename("most_deprived")
    least = rows[rows["quantile_rank"] == top].groupby(key, dropna=False)["value"].mean().rename("least_deprived")
    summary = summary.merge(most.reset_index(), on=key, how="left").merge(least.reset_index(), on=key, how="left")
    summary["expected"] = np.where(summary["category_type"].astype(str).str.contains("quintile", case=False), 5, 10)
    complete = summary["quantiles"] == summary["expected"]
    note = np.where(~complete, "only " + summary["quantiles"].astype(str) + " of " + summary["expected"].astype(str)
                    + " deprivation groups are in the data", "")
    note = np.where((note == "") & (summary["values"] < summary["quantiles"]), "a deprivation group has no value",
                    note)
    note = np.where((note == "") & (summary["populations"] < summary["quantiles"]),
                    "no population (denominator) for the deprivation groups", note)
    summary["note"] = note
    usable = summary[summary["note"] == ""]
    result = pd.DataFrame(columns=[*key, "value", "lower_95", "upper_95"])
    if len(usable):
        fit = rows.merge(usable.assign(with_ci=usable["limits"] == usable["size"])[[*key, "with_ci"]], on=key,
                         how="inner")
        parts = []
        for has_ci, part in fit.groupby("with_ci", sort=True):
            parts.append(stats.sii(part, "value", "denominator", by=key, quantile="quantile_rank",
                                   lower="lower_95" if has_ci else None, upper="upper_95" if has_ci else None,
                                   repetitions=repetitions, confidence=0.95, seed=seed))
        result = pd.concat(parts, ignore_index=True)
    summary = summary.merge(result[[*key, "value", "lower_95", "upper_95"]].rename(columns={
        "value": "sii", "lower_95": "sii_lower_95", "upper_95": "sii_upper_95"}), on=key, how="left")
    summary["higher_in"] = np.where(summary["sii"] < 0, "most deprived",
                                    np.where(summary["sii"] > 0, "least deprived", ""))
    summary = summary.sort_values(["indicator_id", "sex", "age", "category_type"], kind="stable")
    return summary[columns].reset_index(drop=True)


def sex_differences(profile: AreaProfile) -> pd.DataFrame:
    """Indicators with both a male and a female value for the same period: the two values with
    their 95% intervals, the difference (males minus females) and whether it is significant.

    The test: ``z = (m - f) / sqrt(SE_m² + SE_f²)`` with ``SE = (upper_95 - lower_95) / 3.92``;
    ``|z| > 1.96`` is a significant difference at 95% (``significance``: "Males higher",
    "Females higher", "No significant difference", or "Not tested" without intervals).
    """
    ind = profile.indicators
    columns = ["indicator_id", "name", "domain", "unit", "age", "period", "male", "male_lower_95", "male_upper_95",
               "female", "female_lower_95", "female_upper_95", "difference", "z", "significance"]
    if ind.empty:
        return pd.DataFrame(columns=columns)
    key = ["indicator_id", "age", "period"]
    keep = ["name", "domain", "unit", "value", "lower_95", "upper_95"]
    male = ind[ind["sex"] == "Male"][[*key, *keep]]
    female = ind[ind["sex"] == "Female"][[*key, "value", "lower_95", "upper_95"]]
    both = male.merge(female, on=key, how="inner", suffixes=("_m", "_f"))
    if both.empty:
        return pd.DataFrame(columns=columns)
    num = {c: pd.to_numeric(both[c], errors="coerce").astype(float) for c in
           ("value_m", "lower_95_m", "upper_95_m", "value_f", "lower_95_f", "upper_95_f")}
    se_m = (num["upper_95_m"] - num["lower_95_m"]) / 3.92
    se_f = (num["upper_95_f"] - num["lower_95_f"]) / 3.92
    difference = num["value_m"] - num["value_f"]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = difference / np.sqrt(se_m ** 2 + se_f ** 2)
    significance = np.where(~np.isfinite(z), "Not tested",
                            np.where(z > 1.96, "Males higher",
                                     np.where(z < -1.96, "Females higher", "No significant difference")))
    out = pd.DataFrame({
        "indicator_id": both["indicator_id"], "name": both["name"], "domain": both["domain"], "unit": both["unit"],
        "age": both["age"], "period": both["period"], "male": num["value_m"], "male_lower_95": num["lower_95_m"],
        "male_upper_95": num["upper_95_m"], "female": num["value_f"], "female_lower_95": num["lower_95_f"],
        "female_upper_95": num["upper_95_f"], "difference": difference, "z": z, "significance": significance})
    return out.sort_values(["domain", "name"], kind="stable").reset_index(drop=True)[columns]
