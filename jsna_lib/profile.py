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

What is the same for every area of a store (the cleaned areas table, the indicator metadata,
England's breakdowns and their slope index of inequality) is computed once per process and store
content (:func:`_per_store`, keyed by the store's folder and its tables' sha256) and handed out as
copies; :func:`warm` fills it, e.g. in ``jsna batch``'s kernel template before it forks kernels.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from . import compare, palette

__all__ = ["AreaProfile", "area_names", "area_profile", "deprivation_rank", "deprivation_score", "in_county",
           "inequality_summary", "one_age_per_indicator", "open_store", "population_history", "region_areas",
           "region_comparisons", "sex_differences", "warm", "wider_domains"]

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


# ----------------------------------------------------------------------------- per-store cache
_T = TypeVar("_T")
#: What is the same for every area of a store (the cleaned areas table, the indicator metadata,
#: England's breakdowns ...), computed once per process by :func:`_per_store`. Keyed by what it
#: is, the store's folder and the sha256 of every table it is made from (from the manifest, as
#: the in-memory tables of :func:`jsna_lib.store.preload` are), so a rewritten table is a new key
#: and never meets a result made from its old contents.
_STORE_CACHE: dict[tuple[Any, ...], Any] = {}
#: At most this many results are held (the oldest goes first): a few stores' worth.
_STORE_CACHE_SIZE = 64
_MISSING = object()


def _store_key(store: Any, tables: Sequence[str]) -> tuple[Any, ...] | None:
    """(store folder, (table, sha256) ...) for ``tables``; an absent table is keyed as absent.
    None (do not cache) when a present table has no checksum in the manifest."""
    entries = store.manifest.get("tables", {})
    parts: list[Any] = [str(Path(store.path).resolve())]
    for name in tables:
        entry = entries.get(name)
        sha = None if entry is None else entry.get("sha256")
        if entry is not None and not sha:
            return None
        parts.append((name, sha))
    return tuple(parts)


def _handout(value: _T) -> _T:
    """A cached frame or series as a shallow copy: copy-on-write (pandas >= 3) means a caller who
    changes it changes its own copy, never the cache. Other cached values are immutable."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=False)  # type: ignore[return-value]
    return value


def _per_store(store: Any, what: Any, tables: Sequence[str], make: Callable[[], _T]) -> _T:
    """``make()`` for ``store``, computed once per store content and process.

    ``what`` names the result and ``tables`` are the store tables it is made from: the key is
    ``what``, the store's folder and those tables' sha256 (:func:`_store_key`), so a store whose
    tables changed (rewritten, re-imported) gets a fresh result. ``make`` must depend on nothing
    else. Frames are handed out as shallow copies (:func:`_handout`); other results must be
    immutable (tuples, read-only mappings). Without checksums nothing is cached.
    """
    key = _store_key(store, tables)
    if key is None:
        return make()
    key = (what, *key)
    found = _STORE_CACHE.get(key, _MISSING)
    if found is _MISSING:
        found = make()
        while len(_STORE_CACHE) >= _STORE_CACHE_SIZE:
            _STORE_CACHE.pop(next(iter(_STORE_CACHE)))
        _STORE_CACHE[key] = found
    return _handout(found)  # type: ignore[arg-type]


def warm(store: Any) -> int:
    """Fill this process's cache of what every area's profile of ``store`` (a
    :class:`jsna_lib.store.Store`, or its folder as for :func:`open_store`) shares, so that the
    profiles made after (in this process or in processes forked from it, as ``jsna batch``'s
    kernels are) skip that work: the cleaned areas table and its look-ups, the indicator
    metadata, England's inequality breakdowns and their slope index of inequality
    (:func:`inequality_summary` with the default repetitions and seed). Results are keyed by the
    store's folder and tables' sha256, so a changed store is never served stale results; best
    after :func:`jsna_lib.store.preload` (the tables are then read from memory).
    Returns the number of cached results."""
    if not hasattr(store, "manifest"):
        store = open_store(store)
    _store_areas(store)
    _area_lookup(store)
    _indicator_meta(store)
    if store.has("values"):
        england = _england_breakdowns(store)
        if len(england):
            _summary_of(england, compare.ENGLAND, SII_REPETITIONS, SII_SEED)
    return len(_STORE_CACHE) + sum(len(held) for held in _SUMMARIES.values())


def warm_from_environment() -> int:
    """:func:`warm` the store named by ``$JSNA_PRELOAD_STORE`` (the store ``jsna batch``'s kernel
    template holds in memory, see :func:`jsna_lib.store.preload_from_environment`), if set and
    present; 0 otherwise. The template calls it before forking, so every kernel starts warm."""
    from .store import environment_store

    path = environment_store()
    return 0 if path is None else warm(path)


# ----------------------------------------------------------------------------- area resolution


def _store_areas(store: Any) -> pd.DataFrame:
    """The store's areas table (else the reference geography's) with text columns cleaned
    (``area_code`` upper case); computed once per store (:func:`_per_store`), a copy each call."""
    return _per_store(store, "areas", ("areas",), lambda: _clean_areas(store))


def _clean_areas(store: Any) -> pd.DataFrame:
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


@dataclass(frozen=True)
class _AreaLookup:
    """Row positions of each area code in :func:`_store_areas`, the name of its first row, and
    the text columns as (read-only) object arrays."""

    positions: Any  # read-only {code: row positions}
    names: Any  # read-only {code: name}
    columns: Any  # read-only {column: read-only object array}


def _area_lookup(store: Any) -> _AreaLookup:
    """The :class:`_AreaLookup` of the store's areas, once per store."""
    from types import MappingProxyType

    def make() -> _AreaLookup:
        areas = _store_areas(store)
        codes = areas["area_code"].to_numpy(dtype=object)
        positions = pd.Series(np.arange(len(codes))).groupby(codes, sort=False).indices if len(codes) else {}
        first = dict(zip(codes[::-1], areas["area_name"].to_numpy(dtype=object)[::-1], strict=True))
        columns = {}
        for column in ("area_code", "area_name", "area_type", "parent_code", "region_code"):
            columns[column] = areas[column].to_numpy(dtype=object, copy=True)
            columns[column].flags.writeable = False
        for found in positions.values():
            found.flags.writeable = False
        return _AreaLookup(MappingProxyType(dict(positions)), MappingProxyType(first), MappingProxyType(columns))

    return _per_store(store, "area_lookup", ("areas",), make)


def _resolve_area(store: Any, areas: pd.DataFrame, code_or_name: str, area_type: str | None) -> pd.Series:
    """The area's row in the store's areas table (``areas``, :func:`_store_areas`); raises an
    error suggesting close matches."""
    if not isinstance(code_or_name, str) or not code_or_name.strip():
        raise ValueError("area_profile: give an area code, e.g. 'E08000025'")
    query = code_or_name.strip()
    found = _area_lookup(store).positions.get(query.upper())
    rows = areas.take(found) if found is not None else areas.iloc[:0]
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
    # A unitary is both a UTLA and an LTLA: like the geography module, take its UTLA row (the
    # first of the best ranked).
    types = rows["area_type"].to_numpy(dtype=object, na_value="")
    rank = np.where(types == "utla", 0, np.where(types == "ltla", 1, 2))
    return rows.iloc[int(np.argmin(rank))]


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


def _name_of(store: Any, code: str) -> str:
    """The name of ``code`` in the store's areas table (its first row), else the code."""
    name = _area_lookup(store).names.get(code)
    return code if name is None else str(name)


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
    """The area's comparison rows for ``specs`` (fast path when precomputed: the stored rows of
    the area, which may hold other benchmarks too), and whether precomputed."""
    labels = [b.label for b in specs]
    if compare.comparisons_current(store):
        rows = compare.read_comparisons(store, area_code=str(area["area_code"]), area_type=str(area["area_type"]))
        if not rows.empty and set(labels) <= set(pd.unique(rows["benchmark"].dropna().to_numpy(dtype=object))):
            return rows, True
    values = store.read("values")
    indicators = store.read("indicators") if store.has("indicators") else None
    rows = compare.compare_values(values, indicators, compare._areas_for(store), area_type=str(area["area_type"]),
                                  benchmarks=specs, focus=[str(area["area_code"])])
    return rows, False


_BASE_DROP = ["benchmark", "benchmark_code", "benchmark_value", "benchmark_method", "significance",
              "significance_level", "significance_note"]


def _block_names(name: str) -> dict[str, str]:
    """A benchmark's block columns as the wide frame names them (England's value is the rows' own)."""
    names = {"benchmark_code": f"{name}_code", "benchmark_value": f"{name}_value", "significance": f"vs_{name}",
             "significance_level": f"vs_{name}_level", "significance_note": f"vs_{name}_note"}
    if name == "england":
        del names["benchmark_value"]
    return names


def _wide(rows: pd.DataFrame, specs: list[compare.Benchmark]) -> pd.DataFrame:
    """One row per (indicator, sex, age, category, period): the England block plus each
    benchmark's value, significance and level as ``<name>_value``, ``vs_<name>``, ``vs_<name>_level``:
    a left join of each benchmark's rows on the key (see :func:`_wide_columns` for when the rows
    line up and no join is needed)."""
    columns = _wide_columns(rows, specs)
    if columns is not None:
        return pd.DataFrame(columns)
    names = {b.label: name for b, name in zip(specs, ("england", "region", "comparator"), strict=False)}
    labels = rows["benchmark"].to_numpy(dtype=object, na_value=None)
    base = rows[labels == specs[0].label].drop(columns=_BASE_DROP).reset_index(drop=True)
    for label, name in names.items():
        rename = _block_names(name)
        block = rows[labels == label][[*_KEY, *rename]].rename(columns=rename)
        base = base.merge(block, on=_KEY, how="left")
    return base


def _as_column(values: Any) -> Any:
    """Taken values as a column of a new frame, keeping their dtype: an object array as an object
    series (a frame made from a bare object array of strings would read it as text)."""
    if pd.api.types.is_object_dtype(values.dtype):
        return pd.Series(np.asarray(values, dtype=object), dtype=object, copy=False)
    return values


def _plain(values: Any) -> Any:
    """A column's values for ``pd.factorize``: a numpy-backed pandas array as its numpy array."""
    return values.to_numpy() if isinstance(values, pd.arrays.NumpyExtensionArray) else values


def _unique_rows(columns: Sequence[Any]) -> bool:
    """Whether no two rows of ``columns`` (equal-length arrays) are equal, missing values equal to
    each other (as ``DataFrame.duplicated``): one code per row from each column's codes."""
    n = len(columns[0]) if columns else 0
    code = np.zeros(n, dtype=np.int64)
    size = 1
    for values in map(_plain, columns):
        found, distinct = pd.factorize(values, use_na_sentinel=False)
        size *= len(distinct) + 1
        if size >= 1 << 62:  # too many combinations for one int64 code
            return not pd.DataFrame(dict(enumerate(columns))).duplicated().any()
        code = code * (len(distinct) + 1) + found
    return len(np.unique(code)) == n


def _wide_columns(rows: pd.DataFrame, specs: list[compare.Benchmark]) -> dict[str, Any] | None:
    """:func:`_wide` as {column: values} when every benchmark's rows hold the same keys in the same
    order as England's (as the comparisons table stores them) and England's keys are unique: the
    join is then the blocks side by side. None otherwise (the join is needed)."""
    names = {b.label: name for b, name in zip(specs, ("england", "region", "comparator"), strict=False)}
    if not rows.columns.is_unique or not set(_BASE_DROP) <= set(rows.columns):
        return None
    labels = rows["benchmark"].to_numpy(dtype=object, na_value=None)
    picks = {label: np.flatnonzero(labels == label) for label in names}
    base_pos = picks[specs[0].label]
    renames = {label: _block_names(name) for label, name in names.items()}
    added = [new for rename in renames.values() for new in rename.values()]
    base_columns = [c for c in rows.columns if c not in _BASE_DROP]
    if set(added) & set(base_columns) or len(set(added)) != len(added):
        return None
    if any(len(pos) != len(base_pos) for pos in picks.values()):
        return None
    keys = [rows[c].array for c in _KEY]
    base_keys = [k.take(base_pos) for k in keys]
    if not all(pos is base_pos or all(k.take(pos).equals(b) for k, b in zip(keys, base_keys, strict=True))
               for pos in picks.values()):
        return None
    if not _unique_rows(base_keys):
        return None
    columns: dict[str, Any] = {c: _as_column(rows[c].array.take(base_pos)) for c in base_columns}
    for label, rename in renames.items():
        columns.update({new: _as_column(rows[old].array.take(picks[label])) for old, new in rename.items()})
    return columns


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
    meta = _indicator_meta(store)
    columns = _wide_columns(rows, specs)
    with_pos = (_finish_wide(columns, comp, meta) if columns is not None
                else _finish_wide_frame(_wide(rows, specs), comp, meta))

    # The headline rows (no breakdown) with the 0..1 spine positions of the area, its region,
    # England and the spine's ends, ordered by series and period; the latest (or the chosen)
    # period of each series, ordered by domain and series. The orders come from the key columns
    # (:func:`_sort_order`, as ``sort_values``), then each frame is taken once.
    category = with_pos["category_type"].fillna("").to_numpy(dtype=object) == ""
    headline = np.flatnonzero(category)
    series_key = ["indicator_id", "sex", "age"]
    key = {c: with_pos[c].array.take(headline) for c in (*series_key, "period_sort")}
    ordered = _sort_order([key[c] for c in (*series_key, "period_sort")])
    if period == "latest":  # each series' last row (as groupby(series_key).tail(1): no missing keys)
        codes = np.stack([pd.factorize(_plain(key[c]))[0][ordered] for c in series_key]) if len(ordered) else None
        last = np.ones(len(ordered), dtype=bool)
        if len(ordered) > 1:
            last[:-1] = (codes[:, 1:] != codes[:, :-1]).any(axis=0)
        latest = ordered[last & (codes >= 0).all(axis=0)] if len(ordered) else ordered
    else:
        periods = with_pos["period"].take(headline[ordered])
        latest = ordered[_mask(periods == str(period))]
        if not len(latest):
            available = ", ".join(sorted(pd.unique(periods.astype(str)))[:12])
            raise ValueError(f"area_profile: no data for period {period!r} for {code}; periods in the store "
                             f"include {available}")
    latest = latest[_sort_order([with_pos[c].array.take(headline[latest]) for c in ("domain", *series_key)])]
    time_series = with_pos.take(headline[ordered]).reset_index(drop=True)
    latest = with_pos.take(headline[latest]).reset_index(drop=True)

    breakdowns = with_pos.iloc[:0] if category.all() else with_pos.take(np.flatnonzero(~category))
    added = [f"pos_{name}" for name, _ in _POSITIONS if f"pos_{name}" not in rows.columns]
    inequalities = _latest_breakdowns(breakdowns.drop(columns=added))
    england_ineq = _england_breakdowns(store)
    population, pop_year = _population(store, code)
    entry = store.manifest.get("tables", {}).get("values", {})
    sources = [str(s) for s in entry.get("sources", [entry.get("source", "")]) if s]  # every source that wrote
    source = "; ".join(_source_label(s) for s in sources)
    demonstration = any("synthetic" in s.lower() or "demonstration" in s.lower() for s in sources)

    comparator_code = {"region": region_code, "parent": parent_code}.get(comp.kind, comp.code)
    profile = AreaProfile(
        area_code=code, area_name=str(area["area_name"]), area_type=str(area["area_type"]),
        region_code=region_code, region_name=_name_of(store, region_code) if region_code else "",
        parent_code=parent_code, parent_name=_name_of(store, parent_code) if parent_code else "",
        comparator=comp.label, comparator_code=comparator_code,
        comparator_name=comp.code if comp.kind == "group" else _name_of(store, comparator_code),
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


def _sort_order(columns: Sequence[Any]) -> np.ndarray:
    """Row order by ``columns`` (the first first), ascending and stable with missing values last:
    what ``DataFrame.sort_values`` gives for several columns (each column's codes among its sorted
    distinct values, missing after them, then one ``np.lexsort``)."""
    codes = []
    for values in map(_plain, columns):
        found, distinct = pd.factorize(values, sort=True)
        codes.append(np.where(found < 0, len(distinct), found))
    return np.lexsort(codes[::-1]) if codes and len(codes[0]) else np.arange(len(codes[0]) if codes else 0)


def _finish_wide(wide: dict[str, Any], comp: compare.Benchmark, meta: pd.DataFrame) -> pd.DataFrame:
    """:func:`_finish_wide_frame` of the wide frame given as {column: values} (:func:`_wide_columns`):
    the comparator columns (England's or the region's when that is the comparator), the indicator
    metadata (a left join on ``indicator_id``, replacing the rows' own ``polarity``,
    ``comparator_method`` and ``value_type``), the ``vs_..._colour`` columns, an ``Int64``
    ``period_sort`` and the spine positions (:func:`_positions`). The join is a look-up of each
    row's indicator in ``meta`` (when its ids are unique and of the rows' dtype, else a merge);
    the frame is built once, from its columns."""
    columns = dict(wide)
    same = {"england": "england", "region": "region"}.get(comp.kind)
    if same:
        for suffix in ("code", "value"):
            columns[f"comparator_{suffix}"] = columns[f"{same}_{suffix}"]
        for suffix in ("", "_level", "_note"):
            columns[f"vs_comparator{suffix}"] = columns[f"vs_{same}{suffix}"]
    for column in ("polarity", "comparator_method", "value_type"):
        columns.pop(column, None)
    extra = [c for c in meta.columns if c != "indicator_id"]
    index = pd.Index(meta["indicator_id"])
    if (set(extra) & set(columns) or not index.is_unique or "indicator_id" not in columns
            or columns["indicator_id"].dtype != index.dtype or any(c not in extra for c in _INDICATOR_META)):
        return _finish_wide_frame(pd.DataFrame(wide), comp, meta)
    found = index.get_indexer(columns["indicator_id"])
    for column in extra:
        columns[column] = _as_column(pd.api.extensions.take(meta[column].array, found, allow_fill=True))
    # The colour of each distinct label (of every column at once), then per row; the comparator's
    # labels are England's or the region's when that is the comparator.
    coloured = ["vs_england", "vs_region", *([] if same else ["vs_comparator"])]
    distinct = {c: pd.factorize(pd.Series(columns[c]).fillna(compare.NOT_COMPARED)) for c in coloured}
    colours = compare.colour(np.concatenate([np.asarray(labels, dtype=object) for _, labels in distinct.values()]))
    start = 0
    for column in ("vs_england", "vs_region", "vs_comparator"):
        if column not in distinct:
            columns[f"{column}_colour"] = columns[f"vs_{same}_colour"]
            continue
        codes, labels = distinct[column]
        columns[f"{column}_colour"] = colours[start:start + len(labels)][codes]
        start += len(labels)
    columns["period_sort"] = pd.to_numeric(pd.Series(columns["period_sort"])).astype("Int64").array
    columns.update(_positions({c: pd.Series(columns[c]) for c in _POSITION_INPUTS}))  # (replacing any such)
    return pd.DataFrame(columns)


def _finish_wide_frame(wide: pd.DataFrame, comp: compare.Benchmark, meta: pd.DataFrame) -> pd.DataFrame:
    """:func:`_finish_wide` step by step on the wide frame: the general case (the benchmarks' rows
    did not line up, the metadata's ids are not unique or not of the rows' dtype, a column is
    missing or would be duplicated), with the spine positions (:func:`_positions`)."""
    wide = wide.copy(deep=False)
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
    wide = wide.drop(columns=[c for c in ("polarity", "comparator_method", "value_type") if c in wide.columns])
    wide = wide.merge(meta, on="indicator_id", how="left")
    for column in _INDICATOR_META:
        if column not in wide.columns:
            wide[column] = np.nan if column == "multiplier" else ""
    for column in ("vs_england", "vs_region", "vs_comparator"):
        wide[f"{column}_colour"] = compare.colour(wide[column].fillna(compare.NOT_COMPARED))
    wide["period_sort"] = pd.to_numeric(wide["period_sort"]).astype("Int64")
    for column, values in _positions(wide).items():
        wide[column] = values
    return wide


#: The spine positions :func:`_positions` adds: (name, column placed).
_POSITIONS = (("area", "value"), ("region", "region_value"), ("england", "england_value"), ("worst", "spine_worst"),
              ("p25", "spine_p25"), ("p75", "spine_p75"), ("best", "spine_best"))


_POSITION_INPUTS = ("spine_centre", "spine_half_width", "spine_reversed", *(column for _, column in _POSITIONS))


def _positions(frame: Any) -> dict[str, np.ndarray]:
    """``pos_area``, ``pos_region``, ``pos_england``, ``pos_worst``, ``pos_p25``, ``pos_p75`` and
    ``pos_best``: 0..1 positions on each row's spine (:func:`jsna_lib.compare.spine_positions`),
    from ``frame``'s columns (a frame, or {column: Series} of :data:`_POSITION_INPUTS`)."""
    args = (compare._floats(frame["spine_centre"]), compare._floats(frame["spine_half_width"]),
            frame["spine_reversed"].fillna(False).astype(bool))
    return {f"pos_{name}": compare.spine_positions(compare._floats(frame[column]), *args)
            for name, column in _POSITIONS}


def _latest_breakdowns(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.reset_index(drop=True)
    key = ["indicator_id", "sex", "age", "category_type"]
    last = frame.groupby(key)["period_sort"].transform("max")
    out = frame[frame["period_sort"] == last]
    return out.sort_values([*key, "category"], kind="stable").reset_index(drop=True)


def _indicator_meta(store: Any) -> pd.DataFrame:
    """The store's indicator metadata for joins: one row per ``indicator_id`` (``Int64``) with the
    :data:`_INDICATOR_META` columns it has; once per store (:func:`_per_store`)."""
    def make() -> pd.DataFrame:
        indicators = (store.read("indicators") if store.has("indicators")
                      else pd.DataFrame(columns=["indicator_id"]))
        meta = indicators.drop_duplicates("indicator_id").copy()
        meta["indicator_id"] = pd.to_numeric(meta["indicator_id"]).astype("Int64")
        return meta[["indicator_id", *[c for c in _INDICATOR_META if c in meta.columns]]]

    return _per_store(store, "indicator_meta", ("indicators",), make)


def _england_breakdowns(store: Any) -> pd.DataFrame:
    """England's rows with a ``category_type`` (latest period of each breakdown) with the
    indicators' ``name``, ``unit`` and ``polarity``; the same for every area, so once per store."""
    return _per_store(store, "england_breakdowns", ("values", "indicators"), lambda: _read_england_breakdowns(store))


def _read_england_breakdowns(store: Any) -> pd.DataFrame:
    meta = _indicator_meta(store)
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
    years = pd.to_numeric(pop["year"])
    year = int(years.max())
    return pop.loc[_mask(years == year), ["sex", "age_band", "population"]].reset_index(drop=True), year


def _join_names(names: Sequence[str], limit: int = 6) -> str:
    names = list(names)
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def _mask(condition: pd.Series) -> np.ndarray:
    """A boolean mask as numpy (missing → False, as when a frame is indexed by it)."""
    return condition.to_numpy(dtype=bool, na_value=False)


def _indicator_names(ind: pd.DataFrame, mask: np.ndarray) -> list[str]:
    """The names of the rows of ``mask``; an indicator without metadata (no name) is "Indicator <id>"."""
    return [name if isinstance(name, str) and name else f"Indicator {i}"
            for name, i in zip(ind["name"][mask].tolist(), ind["indicator_id"][mask].tolist(), strict=True)]


def _notes(profile: AreaProfile, meta: pd.DataFrame, store: Any) -> list[str]:
    """Plain-English data notes for the report (deterministic order)."""
    notes: list[str] = []
    if profile.demonstration:
        notes.append("Demonstration data: these numbers are synthetic and describe no real place.")
    written = str(store.manifest.get("tables", {}).get("values", {}).get("written_at", ""))
    if profile.source:
        notes.append(f"Source: {profile.source}" + (f", loaded {written[:10]}." if written else "."))
    ind = profile.indicators
    # (column by column: masks over single columns, not over the whole wide frame)
    if not ind.empty and "value_note" in ind.columns:
        value_note = ind["value_note"]
        noted = _mask(value_note.fillna("") != "")
        for name, note in sorted({(str(n), str(v)) for n, v in zip(ind["name"][noted], value_note[noted],
                                                                   strict=True)}):
            notes.append(f"{name}: {note}.")
    if not ind.empty:
        not_compared = _mask(ind["vs_england"].fillna(compare.NOT_COMPARED) == compare.NOT_COMPARED)
        reasons: dict[str, list[str]] = {}
        for name, reason in zip(_indicator_names(ind, not_compared),
                                ind["vs_england_note"][not_compared].fillna(""), strict=True):
            if reason and reason != "compared by quintiles":
                reasons.setdefault(str(reason), [])
                if name not in reasons[str(reason)]:
                    reasons[str(reason)].append(name)
        for reason in sorted(reasons):
            notes.append(f"Not compared with England ({reason}): {_join_names(reasons[reason])}.")
        quint = _mask(ind["comparator_method"] == "quintiles")
        if quint.any():
            notes.append("Ranked in quintiles among areas of the same type rather than compared with England: "
                         f"{_join_names(list(dict.fromkeys(_indicator_names(ind, quint))))}.")
    if not meta.empty:
        have = (pd.to_numeric(ind["indicator_id"]).dropna().astype(int).to_numpy() if not ind.empty
                else np.empty(0, dtype=int))
        missing = ~np.isin(meta["indicator_id"].astype(int).to_numpy(), have)
        if missing.any():
            names = ([str(n) for n in meta["name"][missing]] if "name" in meta
                     else [str(i) for i in meta["indicator_id"][missing]])
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
    column = _area_lookup(store).columns
    codes = column["area_code"]
    if in_county(profile):  # a district: the other districts of its county
        chosen = np.flatnonzero((column["area_type"] == "ltla") & (column["parent_code"] == profile.parent_code))
    elif profile.region_code:
        chosen = np.flatnonzero((column["area_type"] == profile.area_type)
                                & (column["region_code"] == profile.region_code))
    else:
        chosen = np.empty(0, dtype=np.intp)
    if profile.area_code not in set(codes[chosen]):
        chosen = np.concatenate([chosen, np.flatnonzero(codes == profile.area_code)[:1]])
    _, first = np.unique(codes[chosen], return_index=True)  # each code's first row
    chosen = chosen[np.sort(first)]
    # The area first, then the others by name (the overview's columns and the charts' order).
    chosen = chosen[np.lexsort((column["area_name"][chosen], codes[chosen] != profile.area_code))]
    return areas[["area_code", "area_name"]].take(chosen).reset_index(drop=True)


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

    A summary is made once per process for the same breakdown rows, repetitions and seed
    (:func:`_summary_of`): England's, shown for every area of a store without its own, is made
    once (or by :func:`warm`).
    """
    own = profile.inequalities
    use_own = isinstance(own, pd.DataFrame) and len(own) and deprivation_rank(own["category"]).notna().any()
    if use_own:
        return _summary_of(own, profile.area_code, repetitions, seed)
    return _summary_of(profile.england_inequalities, compare.ENGLAND, repetitions, seed)


#: Inequality summaries made, by (area code, repetitions, seed): [(breakdown rows, summary) ...],
#: the newest last. England's is the same for every area of a store (see :func:`_summary_of`).
_SUMMARIES: dict[tuple[str, int, int], list[tuple[pd.DataFrame, pd.DataFrame]]] = {}
#: Summaries held per (area code, repetitions, seed) (and at most :data:`_STORE_CACHE_SIZE` of those).
_SUMMARIES_SIZE = 4


def _summary_of(breakdowns: pd.DataFrame, area_code: str, repetitions: int, seed: Any) -> pd.DataFrame:
    """:func:`_summarise` of ``breakdowns`` for ``area_code``, held for later calls with equal rows.

    The summary depends on nothing else (the simulation is seeded), so it is looked up by content:
    a summary is reused only for breakdown rows equal to those it was made from
    (``DataFrame.equals``: same columns, dtypes and values), e.g. England's for every area of a
    store without its own breakdowns. Not held for a seed that is not an int (a generator or None:
    the draws differ each time). Returned as a copy (copy-on-write)."""
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        return _summarise(breakdowns.assign(area_code=area_code), repetitions, seed)
    slot = (area_code, int(repetitions), int(seed))
    if slot not in _SUMMARIES:
        while len(_SUMMARIES) >= _STORE_CACHE_SIZE:  # the oldest area's go first
            _SUMMARIES.pop(next(iter(_SUMMARIES)))
    held = _SUMMARIES.setdefault(slot, [])
    for rows, summary in held:
        if rows.equals(breakdowns):
            return summary.copy(deep=False)
    summary = _summarise(breakdowns.assign(area_code=area_code), repetitions, seed)
    held.append((breakdowns.copy(deep=False), summary))
    del held[:-_SUMMARIES_SIZE]
    return summary.copy(deep=False)


def _summarise(rows: pd.DataFrame, repetitions: int, seed: Any) -> pd.DataFrame:
    """:func:`inequality_summary` of breakdown ``rows`` (with ``area_code``)."""
    from . import stats

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
    # Per breakdown (the groups in order of appearance): the first name and unit, the most and
    # least deprived groups' values (means over the rows of the first and of the last quantile,
    # the others masked out) and counts of quantiles, values, populations, limits and rows.
    group = rows.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    n_groups = int(group.max()) + 1
    rank = rows["quantile_rank"].to_numpy(dtype=float)
    top = np.full(n_groups, -np.inf)
    np.maximum.at(top, group, rank)
    ends = rows.assign(_most=rows["value"].where(rank == 1), _least=rows["value"].where(rank == top[group]))
    summary = ends.groupby(key, sort=False, dropna=False).agg(
        name=("name", "first"), unit=("unit", "first"), most_deprived=("_most", "mean"),
        least_deprived=("_least", "mean")).reset_index()
    order = np.lexsort((rank, group))
    distinct = np.ones(len(order), dtype=bool)  # a new (breakdown, quantile) pair in that order
    distinct[1:] = (group[order][1:] != group[order][:-1]) | (rank[order][1:] != rank[order][:-1])
    summary["quantiles"] = np.bincount(group[order][distinct], minlength=n_groups)
    summary["values"] = np.bincount(group[rows["value"].notna().to_numpy()], minlength=n_groups)
    summary["populations"] = np.bincount(group[(rows["denominator"] > 0).to_numpy()], minlength=n_groups)
    summary["limits"] = np.bincount(group[rows["lower_95"].notna().to_numpy()], minlength=n_groups)
    summary["size"] = np.bincount(group, minlength=n_groups)
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
        # the rows of the usable breakdowns (summary row i is breakdown i), and whether with limits
        keep = (summary["note"] == "").to_numpy()[group]
        with_ci = (summary["limits"] == summary["size"]).to_numpy()[group]
        fit = rows[keep].assign(with_ci=with_ci[keep]).reset_index(drop=True)
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


def _male_female_pairs(ind: pd.DataFrame, key: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Row positions of each male row of ``ind`` and of the female row with the same ``key``
    (missing values match each other, as in a merge), in the male rows' order; male rows without
    one are left out. None when a key has several female rows (or too many distinct keys)."""
    sex = ind["sex"]
    male = np.flatnonzero(_mask(sex == "Male"))
    female = np.flatnonzero(_mask(sex == "Female"))
    code = np.zeros(len(ind), dtype=np.int64)
    size = 1
    for column in key:  # one code per distinct key (a mixed radix of each column's codes)
        codes, uniques = pd.factorize(ind[column], use_na_sentinel=False)
        size *= len(uniques) + 1
        if size >= 1 << 62:
            return None
        code = code * (len(uniques) + 1) + codes
    female_code = code[female]
    if len(np.unique(female_code)) < len(female_code):
        return None
    order = np.argsort(female_code, kind="stable")
    found = np.searchsorted(female_code[order], code[male])
    found = np.minimum(found, max(len(female) - 1, 0))
    hit = (female_code[order][found] == code[male]) if len(female) else np.zeros(len(male), dtype=bool)
    return male[hit], female[order[found[hit]]]


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
    pairs = _male_female_pairs(ind, key)
    if pairs is None:  # a key with several female rows: every male-female pair, as an inner join gives
        male_rows = np.flatnonzero(_mask(ind["sex"] == "Male"))
        female_rows = np.flatnonzero(_mask(ind["sex"] == "Female"))
        male = ind[key].take(male_rows).reset_index(drop=True).assign(_m=np.arange(len(male_rows)))
        female = ind[key].take(female_rows).reset_index(drop=True).assign(_f=np.arange(len(female_rows)))
        both = male.merge(female, on=key, how="inner")
        m_rows = male_rows[both["_m"].to_numpy(dtype=int)]
        f_rows = female_rows[both["_f"].to_numpy(dtype=int)]
    else:
        m_rows, f_rows = pairs
    if not len(m_rows):
        return pd.DataFrame(columns=columns)
    # in the order of the result: by domain, then name (as sort_values, stable)
    order = _sort_order([ind[c].array.take(m_rows) for c in ("domain", "name")])
    m_rows, f_rows = m_rows[order], f_rows[order]
    num = {name: pd.to_numeric(ind[name], errors="coerce").astype(float).to_numpy()
           for name in ("value", "lower_95", "upper_95")}
    value_m, lower_m, upper_m = (num[c][m_rows] for c in ("value", "lower_95", "upper_95"))
    value_f, lower_f, upper_f = (num[c][f_rows] for c in ("value", "lower_95", "upper_95"))
    se_m = (upper_m - lower_m) / 3.92
    se_f = (upper_f - lower_f) / 3.92
    difference = value_m - value_f
    with np.errstate(invalid="ignore", divide="ignore"):
        z = difference / np.sqrt(se_m ** 2 + se_f ** 2)
    significance = np.where(~np.isfinite(z), "Not tested",
                            np.where(z > 1.96, "Males higher",
                                     np.where(z < -1.96, "Females higher", "No significant difference")))
    out = pd.DataFrame({
        **{c: _as_column(ind[c].array.take(m_rows)) for c in ("indicator_id", "name", "domain", "unit", "age", "period")},
        "male": value_m, "male_lower_95": lower_m, "male_upper_95": upper_m, "female": value_f,
        "female_lower_95": lower_f, "female_upper_95": upper_f, "difference": difference, "z": z,
        "significance": significance})
    return out  # (its columns are `columns`, in order)
