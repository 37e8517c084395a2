"""The interactive explorer: ipywidgets pickers wired to linked Fingertips-style views.

``explore(store, area_code="E08000025")`` (or :class:`Explorer`) shows, in JupyterLab:

* pickers: the area (type part of a name or code; a Combobox whose list filters as you type), the
  area type (upper or lower tier), the comparator (England, the region, neighbours, a custom set),
  the domain and indicator, the sex and age where the indicator has more than one, the period;
* four linked views that update together: the *compare areas* chart (the comparator's areas
  ranked, coloured by significance against the comparator, with its value as a dashed line), the
  area's *trend* (with England and the region), the *spine row* (where the area sits among all
  areas of its type in England) and a small *table* of the numbers (value, 95% CI, count,
  denominator, significance);
* a "Save this view" button that writes the view as CSV (the numbers of both charts, tidy) and
  PNG (the three charts stacked) into an ``exports/`` folder next to the notebook and offers both
  as downloads (see "Downloads" below).

Nothing that :func:`jsna_lib.compare.compare_all` stores is recomputed: :class:`ExplorerData`
reads the stored ``comparisons`` table once per area type (about a second), splits it by
indicator, and every selection is sliced from memory. The one comparison the store cannot hold
is against a *group* (neighbours, a custom set): its aggregate and the significance of the few
areas shown are computed on that slice only, with :func:`jsna_lib.compare.compare_values` (about
20 ms). Chart specs come from :mod:`jsna_lib.charts`, which writes Vega-Lite dicts directly (no Altair
objects: a few milliseconds a chart); ``tests/test_widgets.py`` checks the explorer's specs equal
the builders' and pass the Vega-Lite schema. Each view part is memoised on the selections it depends on (the trend
does not change with the comparator or period, the spine row not with the comparator), so
switching back and forth is instant. ``benchmarks/bench_widgets.py`` measures the latency.

Comparators
-----------
``england``: every area of the type, coloured against England (stored). ``region``: the areas of
the selected area's region, against the region's value (stored). ``neighbours``: the area and its
statistical neighbours when the store has a ``neighbours`` table (columns ``area_code``,
``neighbour_code``, optional ``rank``), otherwise its geographic siblings (the other areas of the
same type in its region), compared with the neighbours' aggregate. ``custom``: the area and a set
of areas you pick, compared with the set's aggregate. A group's aggregate is
``Σcount / Σdenominator × multiplier`` for proportions and crude rates when every member has
counts, else the mean of the members' values (:mod:`jsna_lib.compare`, "Group benchmarks");
the status line says which. The trend and the spine row are always against England.

Downloads
---------
ipywidgets cannot start a browser download from Python. "Save this view" writes
``<area>_<indicator>_<sex>_<age>_<period>_<comparator>.csv`` and ``.png`` into ``export_dir``
(default ``exports`` under the kernel's working folder: the notebook's folder in JupyterLab) and
shows a "Download CSV" and a "Download PNG" link. The links carry the files as ``data:`` URIs
with the ``download`` attribute, so a click downloads them in any front end (JupyterLab, Notebook 7,
VS Code) without knowing the server's root or base URL; a relative link would not work from an
ipywidgets ``HTML`` widget (JupyterLab does not rewrite its links to ``/files/``). The files on
disk stay as the record of what was exported. The links are cleared when the view changes.

Module rules (DESIGN.md §1): this module is wiring. It reads the store's ``comparisons``,
``values`` (England and regions only), ``areas`` and ``indicators`` tables and passes slices to
:mod:`jsna_lib.charts`; it imports :mod:`jsna_lib.compare` (upstream of it in the flow) rather
than :mod:`jsna_lib.profile`, because the explorer works on the all-areas table, not on one
area's profile.
"""

from __future__ import annotations

import base64
import difflib
import html
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import charts, compare

__all__ = ["COMPARATORS", "Explorer", "ExplorerData", "Selection", "View", "explore"]

#: Comparator keys and their labels in the picker.
COMPARATORS: dict[str, str] = {"england": "England", "region": "Region", "neighbours": "Neighbours",
                               "custom": "Custom set"}
AREA_TYPES: dict[str, str] = {"utla": "Upper tier (counties and unitaries)",
                              "ltla": "Lower tier (districts and unitaries)"}
ENGLAND = compare.ENGLAND
LATEST = "latest"
_ALL_DOMAINS = "All domains"
_DASH = "\u2013"

_COLUMNS = ["area_code", "indicator_id", "sex", "age", "category_type", "category", "period", "period_sort",
            "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator", "value_note",
            "polarity", "comparator_method", "value_type", "benchmark", "benchmark_code", "benchmark_value",
            "benchmark_method", "england_value", "significance", "significance_level", "significance_note",
            "trend", "rank", "rank_count", "spine_centre", "spine_half_width", "spine_reversed", "spine_worst",
            "spine_p25", "spine_p75", "spine_best"]
_TEXT = ["area_code", "sex", "age", "category_type", "category", "period", "value_note", "polarity",
         "comparator_method", "value_type", "benchmark", "benchmark_code", "benchmark_method", "significance",
         "significance_note", "trend"]


# ================================================================================= selections and views
@dataclass(frozen=True)
class Selection:
    """What the pickers say. ``period`` is a period as the data writes it, or ``"latest"``;
    ``custom`` holds the area codes of a custom comparator set."""

    area_code: str
    indicator_id: int
    sex: str = "Persons"
    age: str = ""
    period: str = LATEST
    comparator: str = "region"
    custom: tuple[str, ...] = ()
    area_type: str = "utla"


@dataclass
class View:
    """Everything one selection shows: three Vega-Lite specs (dicts), the table and the numbers.

    ``compare_rows`` are the areas of the compare chart (one row each, with the value, limits,
    count, denominator and significance against the comparator); ``trend_rows`` the area's series;
    ``table`` the small table (the area, England, the region and the comparator group);
    ``timings`` milliseconds per part (``total`` from the selection to everything ready).
    """

    selection: Selection
    period: str
    title: str
    compare_spec: dict[str, Any]
    trend_spec: dict[str, Any]
    spine_spec: dict[str, Any]
    table: pd.DataFrame
    compare_rows: pd.DataFrame
    trend_rows: pd.DataFrame
    comparator_name: str
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def table_html(self) -> str:
        """The table as escaped HTML, significance cells coloured (with the label as text too)."""
        return _table_html(self.table)

    def to_csv(self) -> pd.DataFrame:
        """The view's numbers as one tidy frame (the compare chart's areas, then the area's trend)."""
        return pd.concat([self.compare_rows.assign(part="compare areas"),
                          self.trend_rows.assign(part="trend")], ignore_index=True)[_CSV_COLUMNS]

    def combined_spec(self) -> dict[str, Any]:
        """The three charts stacked in one Vega-Lite spec (for the PNG download)."""
        return _stack([self.compare_spec, self.trend_spec, self.spine_spec])


_CSV_COLUMNS = ["part", "area_code", "area_name", "indicator_id", "indicator_name", "sex", "age", "period",
                "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator", "value_note",
                "compared_with", "benchmark_value", "significance", "trend", "source"]


# ================================================================================= the data
class _Memo:
    """A small least-recently-used cache of view parts."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def _as_store(store: Any) -> Any:
    if isinstance(store, str | os.PathLike):
        from .store import Store

        return Store(store)
    return store


def _text(values: Any) -> np.ndarray:
    series = pd.Series(values)
    return series.astype(object).where(series.notna(), "").astype(str).to_numpy(dtype=object)


class ExplorerData:
    """The explorer's data for one store and area type, read once; :meth:`view` slices a selection.

    Reads the stored ``comparisons`` table (whole-population rows of ``area_type``), the England
    and region rows of ``values`` (for the table's intervals and counts), ``areas``,
    ``indicators`` and, if present, ``neighbours``. When the store has no current comparisons
    table it is computed and saved once with :func:`jsna_lib.compare.compare_all` when
    ``compute_missing`` (the default), else a ``ValueError`` says how to make it.
    """

    def __init__(self, store: Any, area_type: str = "utla", *, compute_missing: bool = True,
                 memo_size: int = 64) -> None:
        if area_type not in AREA_TYPES:
            raise ValueError(f"explorer: area_type must be one of {', '.join(AREA_TYPES)}, not {area_type!r}")
        self.store = store = _as_store(store)
        self.area_type = area_type
        started = time.perf_counter()
        if not compare.comparisons_current(store):
            if not compute_missing:
                raise ValueError(f"the store at {store.path} has no current comparisons table: run "
                                 f"`jsna compare --data-dir {store.path} --save --out comparisons.csv` first")
            compare.compare_all(store)
        entry = store.manifest["tables"]["comparisons"]
        if area_type not in entry.get("area_types", [area_type]):
            raise ValueError(f"the comparisons table of {store.path} has no {area_type} rows; "
                             f"recompute it with compare.compare_all(store)")
        columns = [c for c in _COLUMNS if c in compare.COMPARISON_COLUMNS]
        table = store.read("comparisons", columns=columns,
                           filters=[("area_type", "=", area_type), ("category_type", "=", "")])
        for column in _TEXT:
            if column in table.columns:
                table[column] = _text(table[column])
        table["indicator_id"] = pd.to_numeric(table["indicator_id"]).astype("int64")
        table["period_sort"] = pd.to_numeric(table["period_sort"]).astype(float)
        for column in ("rank", "rank_count"):
            if column in table.columns:
                table[column] = pd.to_numeric(table[column]).astype(float)
        self.source = "; ".join(str(s) for s in store.manifest["tables"].get("values", {}).get(
            "sources", [store.manifest["tables"].get("values", {}).get("source", "")]) if s)
        self.demonstration = any(w in self.source.lower() for w in ("synthetic", "demonstration"))

        # Indicators (metadata) and areas (names, regions).
        indicators = store.read("indicators") if store.has("indicators") else pd.DataFrame(
            {"indicator_id": pd.unique(table["indicator_id"])})
        indicators = indicators.assign(indicator_id=pd.to_numeric(indicators["indicator_id"]).astype("int64"))
        for column in ("name", "domain", "unit", "value_type", "polarity"):
            if column not in indicators.columns:
                indicators[column] = ""
        indicators["name"] = np.where(_text(indicators["name"]) == "",
                                      "Indicator " + indicators["indicator_id"].astype(str), _text(indicators["name"]))
        indicators["domain"] = np.where(_text(indicators["domain"]) == "", "Other indicators",
                                        _text(indicators["domain"]))
        present = set(pd.unique(table["indicator_id"]))
        self.indicators = indicators[indicators["indicator_id"].isin(present)].drop_duplicates(
            "indicator_id").reset_index(drop=True)
        self._meta = {int(i): self.indicators.iloc[[k]] for k, i in enumerate(self.indicators["indicator_id"])}
        areas = store.read("areas") if store.has("areas") else pd.DataFrame(
            {"area_code": pd.unique(table["area_code"]), "area_name": pd.unique(table["area_code"]),
             "area_type": area_type})
        for column in ("area_code", "area_name", "area_type", "parent_code", "region_code"):
            areas[column] = _text(areas[column]) if column in areas.columns else ""
        areas["area_code"] = areas["area_code"].str.upper()
        self.names: dict[str, str] = dict(zip(areas["area_code"], areas["area_name"], strict=False))
        self.names.setdefault(ENGLAND, "England")
        in_data = set(pd.unique(table["area_code"]))
        typed = areas[(areas["area_type"] == area_type) & areas["area_code"].isin(in_data)]
        typed = typed.drop_duplicates("area_code").sort_values("area_name", kind="stable")
        self.areas = typed[["area_code", "area_name", "area_type", "parent_code", "region_code"]].reset_index(drop=True)
        self._region_of = dict(zip(self.areas["area_code"], self.areas["region_code"], strict=True))
        self._labels = (self.areas["area_name"] + " (" + self.areas["area_code"] + ")").tolist()
        self._neighbours = self._read_neighbours(store)

        # One frame per indicator (the slices every selection starts from) and their key arrays.
        order = np.argsort(table["indicator_id"].to_numpy(), kind="stable")
        table = table.iloc[order].reset_index(drop=True)
        ids = table["indicator_id"].to_numpy()
        bounds = np.flatnonzero(np.diff(ids)) + 1
        self._frames: dict[int, pd.DataFrame] = {}
        self._keys: dict[int, dict[str, np.ndarray]] = {}
        for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(ids)], strict=True):
            if stop <= start:
                continue
            part = table.iloc[start:stop].reset_index(drop=True)
            key = int(ids[start])
            self._frames[key] = part
            self._keys[key] = {c: part[c].to_numpy() for c in ("area_code", "sex", "age", "period", "benchmark",
                                                                "period_sort")}
        self._benchmark_values = self._read_benchmark_values(store)
        self._memo = {"compare": _Memo(memo_size), "trend": _Memo(memo_size), "spine": _Memo(memo_size)}
        self.load_seconds = time.perf_counter() - started

    # ------------------------------------------------------------------ reading
    def _read_neighbours(self, store: Any) -> dict[str, list[str]]:
        if not store.has("neighbours"):
            return {}
        table = store.read("neighbours")
        if not {"area_code", "neighbour_code"} <= set(table.columns):
            raise ValueError(f"the store's neighbours table needs area_code and neighbour_code columns; it has "
                             f"{', '.join(map(str, table.columns))}")
        table = table.assign(area_code=_text(table["area_code"]), neighbour_code=_text(table["neighbour_code"]))
        table["area_code"] = table["area_code"].str.upper()
        table["neighbour_code"] = table["neighbour_code"].str.upper()
        if "rank" in table.columns:
            table = table.sort_values(["area_code", "rank"], kind="stable")
        return table.groupby("area_code", sort=False)["neighbour_code"].agg(list).to_dict()

    def _read_benchmark_values(self, store: Any) -> pd.DataFrame:
        codes = [ENGLAND, *sorted({c for c in self.areas["region_code"] if c})]
        rows = store.read("values", columns=["indicator_id", "area_code", "sex", "age", "category_type", "period",
                                             "value", "lower_95", "upper_95", "count", "denominator"],
                          filters=[("area_code", "in", codes)])
        rows = rows[_text(rows["category_type"]) == ""]
        rows = rows.assign(indicator_id=pd.to_numeric(rows["indicator_id"]).astype("int64"),
                           **{c: _text(rows[c]) for c in ("area_code", "sex", "age", "period")})
        return rows.set_index(["indicator_id", "area_code", "sex", "age", "period"]).sort_index()

    # ------------------------------------------------------------------ options
    def area_label(self, code: str) -> str:
        return f"{self.names.get(code, code)} ({code})"

    def area_labels(self) -> list[str]:
        """Picker labels, "Name (CODE)", sorted by name."""
        return self._labels

    def find_area(self, text: str) -> str | None:
        """The area code a picker entry stands for: a "Name (CODE)" label, a code or a name
        (case-insensitive); None when nothing matches exactly."""
        query = (text or "").strip()
        if not query:
            return None
        found = re.search(r"\(([A-Za-z0-9]+)\)\s*$", query)
        candidates = [found.group(1).upper()] if found else []
        candidates.append(query.upper())
        for code in candidates:
            if code in self._region_of:
                return code
        by_name = self.areas[self.areas["area_name"].str.lower() == query.lower()]
        return str(by_name["area_code"].iloc[0]) if len(by_name) else None

    def check_area(self, text: str) -> str:
        """:meth:`find_area`, raising a ``ValueError`` with close matches when nothing matches."""
        code = self.find_area(text)
        if code is None:
            close = difflib.get_close_matches(str(text), self.area_labels(), n=3, cutoff=0.5)
            close += difflib.get_close_matches(str(text).upper(), list(self.areas["area_code"]), n=3, cutoff=0.7)
            hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
            raise ValueError(f"explorer: no {self.area_type} {text!r} in the store at {self.store.path}{hint}")
        return code

    def domains(self) -> list[str]:
        return list(dict.fromkeys(self.indicators["domain"]))

    def indicator_options(self, domain: str | None = None) -> list[tuple[str, int]]:
        rows = self.indicators if not domain or domain == _ALL_DOMAINS else \
            self.indicators[self.indicators["domain"] == domain]
        return [(str(n), int(i)) for n, i in zip(rows["name"], rows["indicator_id"], strict=True)]

    def breakdowns(self, indicator_id: int) -> tuple[list[str], list[str]]:
        """The sexes (Persons first) and ages the indicator has."""
        keys = self._keys[int(indicator_id)]
        sexes = sorted(set(keys["sex"]), key=lambda s: (s != "Persons", s))
        ages = sorted(set(keys["age"]))
        return sexes, ages

    def periods(self, indicator_id: int, sex: str, age: str) -> list[str]:
        """The indicator's periods for that sex and age, oldest first."""
        keys = self._keys[int(indicator_id)]
        sel = (keys["sex"] == sex) & (keys["age"] == age)
        frame = pd.DataFrame({"period": keys["period"][sel], "sort": keys["period_sort"][sel]})
        frame = frame.drop_duplicates("period").sort_values("sort", kind="stable")
        return list(frame["period"])

    def neighbours_of(self, code: str) -> tuple[list[str], str]:
        """The area's neighbours and what they are: "Statistical neighbours" from the store's
        ``neighbours`` table, else "Geographic neighbours" (the other areas of its region)."""
        listed = [c for c in self._neighbours.get(code, []) if c in self._region_of and c != code]
        if listed:
            return listed, "Statistical neighbours"
        region = self._region_of.get(code, "")
        same = self.areas[(self.areas["region_code"] == region) & (self.areas["area_code"] != code)]
        return list(same["area_code"]), "Geographic neighbours"

    def default_selection(self, area_code: str | None = None, *, indicator_id: int | None = None,
                          comparator: str = "region", sex: str | None = None, age: str | None = None,
                          period: str = LATEST, custom: Sequence[str] = ()) -> Selection:
        """A complete selection from partial choices (the first indicator, Persons, its commonest age)."""
        code = self.check_area(area_code) if area_code else str(self.areas["area_code"].iloc[0])
        ind = int(indicator_id) if indicator_id is not None else int(self.indicators["indicator_id"].iloc[0])
        if ind not in self._frames:
            raise ValueError(f"explorer: indicator {ind} has no comparisons in the store; it has "
                             f"{', '.join(map(str, sorted(self._frames)))}")
        sexes, ages = self.breakdowns(ind)
        sex = sex if sex in sexes else sexes[0]
        if age not in ages:
            keys = self._keys[ind]
            counts = pd.Series(keys["age"][keys["sex"] == sex]).value_counts()
            age = str(sorted(counts.index[counts == counts.max()])[0])
        if comparator not in COMPARATORS:
            raise ValueError(f"explorer: comparator must be one of {', '.join(COMPARATORS)}, not {comparator!r}")
        return Selection(code, ind, sex, age, period, comparator, tuple(self.check_area(c) for c in custom),
                         self.area_type)

    # ------------------------------------------------------------------ views
    def _cell(self, sel: Selection) -> tuple[pd.DataFrame, dict[str, np.ndarray], np.ndarray]:
        frame = self._frames[sel.indicator_id]
        keys = self._keys[sel.indicator_id]
        return frame, keys, (keys["sex"] == sel.sex) & (keys["age"] == sel.age)

    def resolve_period(self, sel: Selection) -> str:
        periods = self.periods(sel.indicator_id, sel.sex, sel.age)
        if not periods:
            raise ValueError(f"explorer: indicator {sel.indicator_id} has no {sel.sex}, {sel.age} rows")
        if sel.period in ("", LATEST, None):
            return periods[-1]
        if sel.period not in periods:
            raise ValueError(f"explorer: no period {sel.period!r} for indicator {sel.indicator_id}; "
                             f"it has {', '.join(periods)}")
        return sel.period

    def view(self, sel: Selection) -> View:
        """The view of a selection (see :class:`View`); parts are memoised on what they depend on:
        the compare chart on everything, the trend not on the period or comparator, the spine row
        not on the comparator."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        if sel.area_code not in self._region_of:
            sel = replace(sel, area_code=self.check_area(sel.area_code))
        if sel.indicator_id not in self._frames:
            raise ValueError(f"explorer: indicator {sel.indicator_id} has no comparisons in the store")
        period = self.resolve_period(sel)
        group_key = tuple(self._group(sel)[0]) if sel.comparator in ("neighbours", "custom") else ()
        keys = {"compare": (sel.indicator_id, sel.sex, sel.age, period, sel.comparator, group_key, sel.area_code),
                "trend": (sel.indicator_id, sel.sex, sel.age, sel.area_code),
                "spine": (sel.indicator_id, sel.sex, sel.age, period, sel.area_code)}
        makers = {"compare": lambda: self._compare_part(sel, period), "trend": lambda: self._trend_part(sel),
                  "spine": lambda: self._spine_part(sel, period)}
        parts = {}
        for part in ("compare", "trend", "spine"):
            t0 = time.perf_counter()
            parts[part] = self._memo[part].get(keys[part], makers[part])
            timings[part] = (time.perf_counter() - t0) * 1000
        spec, compare_rows, comparator_name, group = parts["compare"]
        trend_spec, trend_rows = parts["trend"]
        t0 = time.perf_counter()
        table = self._table(sel, period, compare_rows, comparator_name, group)
        timings["table"] = (time.perf_counter() - t0) * 1000
        name = str(self._meta[sel.indicator_id]["name"].iloc[0])
        breakdown = ", ".join(x for x in (sel.sex, sel.age) if x)
        title = (f"{self.area_label(sel.area_code)} \u00b7 {name} \u00b7 {breakdown} \u00b7 {period} \u00b7 "
                 f"compared with {comparator_name}")
        notes = []
        if self.demonstration:
            notes.append("Demonstration data: synthetic numbers that describe no real place.")
        if group is not None:
            what = (f"the other {self.area_type.upper()}s of {self.names.get(self._region_of.get(sel.area_code), '')}"
                    " (the store has no statistical neighbours for this area)"
                    if comparator_name == "Geographic neighbours" else f"{len(group['members'])} areas")
            notes.append(f"{comparator_name}: {what}; their average is the {group['method']}.")
        timings["total"] = (time.perf_counter() - started) * 1000
        return View(sel, period, title, spec, trend_spec, parts["spine"], table, compare_rows, trend_rows,
                    comparator_name, notes, timings)

    # ------------------------------------------------------------------ parts
    def _group(self, sel: Selection) -> tuple[list[str], str]:
        if sel.comparator == "neighbours":
            return self.neighbours_of(sel.area_code)
        members = [c for c in dict.fromkeys(sel.custom) if c in self._region_of]
        return members, "Custom set"

    def _shown(self, sel: Selection) -> tuple[list[str], str]:
        """The areas of the compare chart and the comparator's name."""
        if sel.comparator == "england":
            return list(self.areas["area_code"]), "England"
        if sel.comparator == "region":
            region = self._region_of.get(sel.area_code, "")
            same = self.areas[self.areas["region_code"] == region]
            return list(same["area_code"]), self.names.get(region, region or "the region")
        members, label = self._group(sel)
        if not members:
            raise ValueError("explorer: the custom comparator set is empty; pick at least one area")
        return list(dict.fromkeys([sel.area_code, *members])), label

    def _compare_part(self, sel: Selection, period: str) -> tuple[dict, pd.DataFrame, str, dict | None]:
        frame, keys, cell = self._cell(sel)
        shown, comparator_name = self._shown(sel)
        at = cell & (keys["period"] == period) & pd.Series(keys["area_code"]).isin(shown).to_numpy()
        group = None
        if sel.comparator in ("england", "region"):
            rows = frame[at & (keys["benchmark"] == sel.comparator)]
            benchmark, significance_benchmark = (ENGLAND if sel.comparator == "england" else "region"), sel.comparator
            names = self.names
            bench_value = float(rows["benchmark_value"].iloc[0]) if len(rows) else np.nan
            bench_code = str(rows["benchmark_code"].iloc[0]) if len(rows) else ""
        else:
            members, _ = self._group(sel)
            base = frame[at & (keys["benchmark"] == "england")]
            compared = self._compare_with_group(base, members, sel)
            bench_code = "COMPARATOR GROUP"
            bench_value = float(compared["benchmark_value"].iloc[0]) if len(compared) else np.nan
            method = str(compared["benchmark_method"].iloc[0]) if len(compared) else ""
            group = {"code": bench_code, "value": bench_value, "members": members, "method": method}
            rows = base.drop(columns=["benchmark", "significance", "benchmark_value", "benchmark_code"]).merge(
                compared[["area_code", "significance", "benchmark_value"]], on="area_code", how="left")
            rows["significance"] = rows["significance"].fillna(compare.NOT_COMPARED)
            group_row = rows.iloc[:1].assign(area_code=bench_code, value=bench_value, lower_95=np.nan,
                                             upper_95=np.nan, count=np.nan, denominator=np.nan)
            rows = pd.concat([rows, group_row], ignore_index=True)
            benchmark, significance_benchmark = bench_code, None
            names = {**self.names, bench_code: f"{comparator_name} average"}
        meta = self._meta[sel.indicator_id]
        height = 16 if len(shown) <= 40 else 11
        chart = charts.compare_areas(rows, sel.indicator_id, shown, benchmark=benchmark, period=period,
                                     sex=sel.sex, age=sel.age, significance_benchmark=significance_benchmark,
                                     names=names, metadata=meta, highlight=sel.area_code,
                                     source=self.source or None, bar_height=height, width=340)
        spec = chart.to_dict(validate=False)
        numbers = rows[rows["area_code"] != "COMPARATOR GROUP"]
        numbers = self._numbers(numbers, sel, f"{comparator_name}", bench_value)
        if bench_code and np.isfinite(bench_value):
            numbers = pd.concat([numbers, self._numbers(
                pd.DataFrame({"area_code": [bench_code], "period": [period], "value": [bench_value]}),
                sel, "", np.nan).assign(area_name=comparator_name if group is None else f"{comparator_name} average",
                                        significance="")], ignore_index=True)
        return spec, numbers, comparator_name, group

    def _compare_with_group(self, rows: pd.DataFrame, members: list[str], sel: Selection) -> pd.DataFrame:
        """Significance of ``rows`` (one per area) against the members' aggregate (compare's group benchmark)."""
        areas = self.areas[self.areas["area_code"].isin(set(rows["area_code"]))]
        bench = compare.Benchmark("group", "COMPARATOR GROUP", tuple(members))
        return compare.compare_values(rows, self._meta[sel.indicator_id], areas, area_type=self.area_type,
                                      benchmarks=[bench], focus=list(rows["area_code"]))

    def _trend_part(self, sel: Selection) -> tuple[dict, pd.DataFrame]:
        frame, keys, cell = self._cell(sel)
        rows = frame[cell & (keys["area_code"] == sel.area_code)]
        chart = charts.trend(rows, sel.indicator_id, sel.area_code, benchmarks=("england", "region"),
                             sex=sel.sex, age=sel.age, names=self.names, metadata=self._meta[sel.indicator_id],
                             source=self.source or None, width=350, height=240)
        spec = chart.to_dict(validate=False)
        own = rows[rows["benchmark"] == "england"].sort_values("period_sort", kind="stable")
        return spec, self._numbers(own, sel, "England", own["benchmark_value"].to_numpy())

    def _spine_part(self, sel: Selection, period: str) -> dict:
        frame, keys, cell = self._cell(sel)
        rows = frame[cell & (keys["area_code"] == sel.area_code) & (keys["period"] == period)]
        region = self._region_of.get(sel.area_code, "")
        chart = charts.spine_chart(rows, metadata=self._meta[sel.indicator_id], sexes="all", names=self.names,
                                   area_name=self.names.get(sel.area_code, sel.area_code),
                                   region_name=self.names.get(region, "Region"), source=self.source or None,
                                   title=f"{self.names.get(sel.area_code, sel.area_code)} among the "
                                         f"{self.area_type.upper()}s of England", width=780)
        return chart.to_dict(validate=False)

    def _numbers(self, rows: pd.DataFrame, sel: Selection, compared_with: str, bench: Any) -> pd.DataFrame:
        """Rows in the CSV / table layout."""
        meta = self._meta[sel.indicator_id]
        n = len(rows)

        def col(name: str, default: Any = np.nan) -> np.ndarray:
            return rows[name].to_numpy() if name in rows.columns else np.full(n, default, dtype=object)

        codes = _text(rows["area_code"]) if n else np.array([], dtype=object)
        return pd.DataFrame({
            "area_code": codes, "area_name": pd.Series(codes, dtype=object).map(self.names).fillna(
                pd.Series(codes, dtype=object)).to_numpy(),
            "indicator_id": sel.indicator_id, "indicator_name": str(meta["name"].iloc[0]), "sex": sel.sex,
            "age": sel.age, "period": col("period", ""), "value": col("value"), "lower_95": col("lower_95"),
            "upper_95": col("upper_95"), "lower_99_8": col("lower_99_8"), "upper_99_8": col("upper_99_8"),
            "count": col("count"), "denominator": col("denominator"), "value_note": col("value_note", ""),
            "compared_with": compared_with, "benchmark_value": np.broadcast_to(np.asarray(bench, dtype=float), (n,)),
            "significance": col("significance", ""), "trend": col("trend", ""), "source": self.source,
        })

    def _benchmark_row(self, sel: Selection, code: str, period: str) -> dict[str, Any]:
        key = (sel.indicator_id, code, sel.sex, sel.age, period)
        try:
            row = self._benchmark_values.loc[key]
        except KeyError:
            return {"value": np.nan, "lower_95": np.nan, "upper_95": np.nan, "count": np.nan, "denominator": np.nan}
        row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
        return {c: float(row[c]) if pd.notna(row[c]) else np.nan
                for c in ("value", "lower_95", "upper_95", "count", "denominator")}

    def _table(self, sel: Selection, period: str, compare_rows: pd.DataFrame, comparator_name: str,
               group: dict | None) -> pd.DataFrame:
        frame, keys, cell = self._cell(sel)
        own = frame[cell & (keys["area_code"] == sel.area_code) & (keys["period"] == period)]
        by_bench = {b: r for b, r in zip(own["benchmark"], own.itertuples(index=False), strict=True)}
        first = by_bench.get("england")
        region = self._region_of.get(sel.area_code, "")
        mine = compare_rows[compare_rows["area_code"] == sel.area_code]
        vs_comparator = str(mine["significance"].iloc[0]) if len(mine) else _DASH
        rows = []
        if first is not None:
            rank = (f"{int(first.rank)} of {int(first.rank_count)}"
                    if pd.notna(getattr(first, "rank", np.nan)) and pd.notna(getattr(first, "rank_count", np.nan))
                    else _DASH)
            rows.append({"area": self.area_label(sel.area_code), "value": first.value, "lower_95": first.lower_95,
                         "upper_95": first.upper_95, "count": first.count, "denominator": first.denominator,
                         "vs_england": first.significance or compare.NOT_COMPARED,
                         "vs_comparator": vs_comparator if sel.comparator != "england" else
                         (first.significance or compare.NOT_COMPARED),
                         "trend": first.trend or _DASH, "rank_in_england": rank})
        else:
            rows.append({"area": self.area_label(sel.area_code), "value": np.nan, "vs_england": "No data",
                         "vs_comparator": "No data", "trend": _DASH, "rank_in_england": _DASH})
        for code, label in ((ENGLAND, "England"), (region, self.names.get(region, region))):
            if code:
                rows.append({"area": label, **self._benchmark_row(sel, code, period), "vs_england": _DASH,
                             "vs_comparator": _DASH, "trend": _DASH, "rank_in_england": _DASH})
        if group is not None:
            rows.append({"area": f"{comparator_name} average ({len(group['members'])} areas)", "value": group["value"],
                         "lower_95": np.nan, "upper_95": np.nan, "count": np.nan, "denominator": np.nan,
                         "vs_england": _DASH, "vs_comparator": _DASH, "trend": _DASH, "rank_in_england": _DASH})
        table = pd.DataFrame(rows, columns=["area", "value", "lower_95", "upper_95", "count", "denominator",
                                            "vs_england", "vs_comparator", "trend", "rank_in_england"])
        unit = str(self._meta[sel.indicator_id]["unit"].iloc[0] or "")
        table.attrs.update({"unit": unit, "comparator": comparator_name, "period": period})
        return table


# ================================================================================= table and stacking
def _fmt(value: Any, digits: int) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _DASH
    return _DASH if not np.isfinite(number) else f"{number:,.{digits}f}"


def _table_html(table: pd.DataFrame) -> str:
    unit = table.attrs.get("unit", "")
    comparator = table.attrs.get("comparator", "comparator")
    values = pd.to_numeric(table["value"], errors="coerce")
    digits = 0 if values.abs().median() >= 1000 else 1
    head = ["Area", f"Value{f' ({html.escape(unit)})' if unit else ''}", "95% CI", "Count", "Denominator",
            "Compared with England", f"Compared with {html.escape(comparator)}", "Recent trend", "Rank in England"]
    cell = "padding:2px 8px;vertical-align:top"
    lines = ['<table class="jsna-explorer-numbers" style="border-collapse:collapse;font-size:12px;'
             'line-height:1.35;margin:4px 0 8px 0">',
             "<thead><tr>" + "".join(f'<th style="text-align:left;{cell};border-bottom:1px solid #999">'
                                     f"{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in table.itertuples(index=False):
        ci = (f"{_fmt(row.lower_95, digits)} to {_fmt(row.upper_95, digits)}"
              if pd.notna(row.lower_95) and pd.notna(row.upper_95) else _DASH)
        cells = [html.escape(str(row.area)), _fmt(row.value, digits), ci, _fmt(row.count, 0),
                 _fmt(row.denominator, 0)]
        out = [f'<td style="{cell};white-space:nowrap">{c}</td>' for c in cells]
        for label in (row.vs_england, row.vs_comparator):
            label = str(label)
            if label in compare.COLOURS:
                colour = compare.COLOURS[label]
                dark = label.startswith(("Worse", "Lower")) or label in ("Better (99.8%)",)
                out.append(f'<td style="{cell};background:{colour};color:{"white" if dark else "black"}">'
                           f"{html.escape(label)}</td>")
            else:
                out.append(f'<td style="{cell}">{html.escape(label)}</td>')
        out += [f'<td style="{cell};max-width:180px">{html.escape(str(row.trend))}</td>',
                f'<td style="{cell};white-space:nowrap">{html.escape(str(row.rank_in_england))}</td>']
        lines.append("<tr>" + "".join(out) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _stack(specs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several top-level Vega-Lite specs as one vertical concatenation (datasets merged; the
    shared theme config once; every scale and legend independent)."""
    datasets: dict[str, Any] = {}
    parts = []
    for spec in specs:
        datasets.update(spec.get("datasets", {}))
        parts.append({k: v for k, v in spec.items() if k not in ("$schema", "config", "datasets")})
    channels = ["x", "y", "color", "fill", "stroke", "shape", "size", "opacity", "strokeDash"]
    return {"$schema": specs[0].get("$schema"), "config": specs[0].get("config", {}), "datasets": datasets,
            "vconcat": parts, "spacing": 28,
            "resolve": {"scale": dict.fromkeys(channels, "independent"),
                        "legend": dict.fromkeys(channels[2:], "independent")}}


# ================================================================================= the widget
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "x"


class Explorer:
    """The ipywidgets explorer (see the module docstring). Display it as the last expression of a
    cell (or with ``display(explorer)``).

    Parameters: ``store`` (a :class:`jsna_lib.store.Store` or its folder), ``area_code`` (a code
    or name; unknown areas raise a ``ValueError`` with close matches), ``area_type`` (``utla`` or
    ``ltla``), ``indicator_id``, ``comparator`` (``england``, ``region``, ``neighbours``,
    ``custom``), ``custom`` (area codes of the custom set), ``sex``, ``age``, ``period``
    (``"latest"`` or a period), ``export_dir`` (where "Save this view" writes), ``data`` (an
    :class:`ExplorerData` already read, to share it between explorers).

    Attributes: the pickers (``area_picker``, ``area_type_picker``, ``comparator_picker``,
    ``custom_picker``, ``domain_picker``, ``indicator_picker``, ``sex_picker``, ``age_picker``,
    ``period_picker``), the outputs (``compare_output``, ``trend_output``, ``spine_output``,
    ``table_html``, ``status``, ``links``), ``selection``, ``view`` (the current :class:`View`),
    ``widget`` (the whole box). Setting a picker's value updates every view at once;
    :meth:`select` changes several selections with one update; :meth:`export` writes the CSV
    and PNG.
    """

    def __init__(self, store: Any, area_code: str | None = None, *, area_type: str = "utla",
                 indicator_id: int | None = None, comparator: str = "region", custom: Sequence[str] = (),
                 sex: str | None = None, age: str | None = None, period: str = LATEST,
                 export_dir: str | os.PathLike[str] = "exports", data: ExplorerData | None = None) -> None:
        import ipywidgets as w

        self.store = _as_store(store)
        self.export_dir = Path(export_dir)
        self._data: dict[str, ExplorerData] = {data.area_type: data} if data is not None else {}
        data = self.data_for(area_type)
        self.selection = self._normalise(data.default_selection(
            area_code, indicator_id=indicator_id, comparator=comparator, sex=sex, age=age, period=period,
            custom=custom))
        self._domain = self._domain_of(self.selection.indicator_id)
        self.view: View | None = None
        self.error: str | None = None
        self._syncing = False

        style = {"description_width": "105px"}
        box = w.Layout(width="400px")
        self.area_picker = w.Combobox(placeholder="Type part of an area name or code", ensure_option=False,
                                      continuous_update=False, description="Area", style=style, layout=box)
        self.area_type_picker = w.ToggleButtons(options=[(v.split(" (")[0], k) for k, v in AREA_TYPES.items()],
                                                description="Area type", style=style,
                                                tooltips=list(AREA_TYPES.values()))
        self.comparator_picker = w.Dropdown(options=[(v, k) for k, v in COMPARATORS.items()],
                                            description="Compare with", style=style, layout=box)
        self.custom_picker = w.TagsInput(allow_duplicates=False, placeholder="add areas to the custom set",
                                         layout=w.Layout(width="640px"))
        self.domain_picker = w.Dropdown(description="Domain", style=style, layout=box)
        self.indicator_picker = w.Dropdown(description="Indicator", style=style, layout=w.Layout(width="640px"))
        self.sex_picker = w.Dropdown(description="Sex", style=style, layout=w.Layout(width="220px"))
        self.age_picker = w.Dropdown(description="Age", style=style, layout=w.Layout(width="220px"))
        self.period_picker = w.Dropdown(description="Period", style=style, layout=w.Layout(width="280px"))
        self.status = w.HTML()
        self.table_html = w.HTML()
        self.compare_output = w.Output(layout=w.Layout(margin="0 12px 0 0", flex="0 0 auto", width="auto"))
        self.trend_output = w.Output(layout=w.Layout(flex="0 0 auto", width="auto"))
        self.spine_output = w.Output()
        self.save_button = w.Button(description="Save this view (CSV + PNG)", icon="download",
                                    layout=w.Layout(width="260px"),
                                    tooltip=f"writes the numbers (CSV) and the charts (PNG) into {self.export_dir}/")
        self.links = w.HTML()
        for name, item in (("area", self.area_picker), ("compare", self.compare_output),
                           ("trend", self.trend_output), ("spine", self.spine_output), ("table", self.table_html),
                           ("status", self.status), ("save", self.save_button), ("links", self.links)):
            item.add_class(f"jsna-explorer-{name}")
        self.widget = w.VBox([
            w.HBox([self.area_picker, self.area_type_picker]),
            w.HBox([self.comparator_picker, self.custom_picker]),
            w.HBox([self.domain_picker, self.indicator_picker]),
            w.HBox([self.sex_picker, self.age_picker, self.period_picker]),
            self.status,
            self.table_html,
            w.HBox([self.compare_output, self.trend_output],
                   layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
            self.spine_output,
            w.HBox([self.save_button, self.links]),
        ], layout=w.Layout(width="100%"))
        self.widget.add_class("jsna-explorer")
        self._sync_pickers()
        handlers = ((self.area_picker, self._on_area), (self.area_type_picker, self._on_area_type),
                    (self.comparator_picker, self._on_comparator), (self.custom_picker, self._on_custom),
                    (self.domain_picker, self._on_domain), (self.indicator_picker, self._on_indicator),
                    (self.sex_picker, self._on_breakdown), (self.age_picker, self._on_breakdown),
                    (self.period_picker, self._on_period))
        for picker, handler in handlers:
            picker.observe(self._guarded(handler), names="value")
        self.save_button.on_click(lambda _: self._export_clicked())
        self.update()

    # ------------------------------------------------------------------ data
    def data_for(self, area_type: str) -> ExplorerData:
        """The (cached) :class:`ExplorerData` of an area type (read on first use)."""
        if area_type not in self._data:
            self._data[area_type] = ExplorerData(self.store, area_type)
        return self._data[area_type]

    @property
    def data(self) -> ExplorerData:
        return self.data_for(self.selection.area_type)

    def _domain_of(self, indicator_id: int) -> str:
        ind = self.data.indicators
        return str(ind.loc[ind["indicator_id"] == indicator_id, "domain"].iloc[0])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ selection <-> pickers
    def _normalise(self, sel: Selection) -> Selection:
        """Keep a selection consistent: sex, age and period valid for the indicator; custom set
        and area valid for the area type."""
        data = self.data_for(sel.area_type)
        sexes, ages = data.breakdowns(sel.indicator_id)
        sex = sel.sex if sel.sex in sexes else sexes[0]
        age = sel.age if sel.age in ages else data.default_selection(sel.area_code, indicator_id=sel.indicator_id,
                                                                     sex=sex).age
        period = sel.period if sel.period in data.periods(sel.indicator_id, sex, age) else LATEST
        custom = tuple(c for c in sel.custom if c in data._region_of)
        if sel.comparator == "custom" and not custom:  # start from the neighbours, for the user to edit
            custom = tuple(data.neighbours_of(sel.area_code)[0][:5])
        return replace(sel, sex=sex, age=age, period=period, custom=custom)

    @staticmethod
    def _set(widget: Any, **traits: Any) -> None:
        """Set traits that differ (options before value), so unchanged ones send nothing."""
        for name, value in traits.items():
            if getattr(widget, name) != value:
                setattr(widget, name, value)

    def _sync_pickers(self) -> None:
        """Show the selection in the pickers (their observers are muted meanwhile)."""
        sel, data = self.selection, self.data
        previous, self._syncing = self._syncing, True
        try:
            labels = tuple(data.area_labels())
            self._set(self.area_type_picker, value=sel.area_type)
            self._set(self.area_picker, options=labels, value=data.area_label(sel.area_code))
            self._set(self.comparator_picker, value=sel.comparator)
            self._set(self.custom_picker, allowed_tags=list(labels),
                      value=[data.area_label(c) for c in sel.custom])
            self.custom_picker.layout.display = "" if sel.comparator == "custom" else "none"
            domains = (_ALL_DOMAINS, *data.domains())
            self._set(self.domain_picker, options=domains, value=self._domain)
            options = tuple(data.indicator_options(self._domain))
            self._set(self.indicator_picker, options=options, value=sel.indicator_id)
            sexes, ages = data.breakdowns(sel.indicator_id)
            periods = data.periods(sel.indicator_id, sel.sex, sel.age)
            self._set(self.sex_picker, options=tuple(sexes), value=sel.sex, disabled=len(sexes) == 1)
            self._set(self.age_picker, options=tuple(ages), value=sel.age, disabled=len(ages) == 1)
            self._set(self.period_picker, options=(
                (f"Latest ({periods[-1]})" if periods else "Latest", LATEST), *[(p, p) for p in reversed(periods)]),
                value=sel.period)
        finally:
            self._syncing = previous

    def _guarded(self, handler: Callable[[Any], Selection | None]) -> Callable[[dict[str, Any]], None]:
        def observer(change: dict[str, Any]) -> None:
            if self._syncing:
                return
            new = handler(change["new"])
            if new is not None:
                self._apply(new)
        return observer

    def _apply(self, sel: Selection) -> View | None:
        self.selection = self._normalise(sel)
        if self.selection.indicator_id not in [i for _, i in self.data.indicator_options(self._domain)]:
            self._domain = self._domain_of(self.selection.indicator_id)
        self._sync_pickers()
        return self.update()

    def select(self, **changes: Any) -> View | None:
        """Change several selections at once (``area_code`` (code or name), ``area_type``,
        ``indicator_id``, ``comparator``, ``custom`` (codes), ``sex``, ``age``, ``period``) and
        update once; returns the new view (None when it failed: see ``error``)."""
        unknown = set(changes) - set(Selection.__dataclass_fields__)
        if unknown:
            raise TypeError(f"select: unknown selection(s) {', '.join(sorted(unknown))}")
        area_type = changes.get("area_type", self.selection.area_type)
        data = self.data_for(area_type)
        if "area_code" in changes:
            changes["area_code"] = data.check_area(changes["area_code"])
        elif area_type != self.selection.area_type and self.selection.area_code not in data._region_of:
            changes["area_code"] = str(data.areas["area_code"].iloc[0])
        if "custom" in changes:
            changes["custom"] = tuple(data.check_area(c) for c in changes["custom"])
        if "indicator_id" in changes:
            changes["indicator_id"] = int(changes["indicator_id"])
        if changes.get("comparator", "england") not in COMPARATORS:
            raise ValueError(f"select: comparator must be one of {', '.join(COMPARATORS)}")
        return self._apply(replace(self.selection, **changes))

    # ------------------------------------------------------------------ picker handlers
    def _on_area(self, text: str) -> Selection | None:
        code = self.data.find_area(str(text))
        if code is None:
            labels = pd.Series(self.data.area_labels(), dtype=object)
            matches = labels[labels.str.lower().str.contains(str(text).strip().lower(), regex=False)].tolist()
            hint = (f" Matches: {', '.join(matches[:5])}{' …' if len(matches) > 5 else ''}." if matches
                    else " Type part of a name or code and pick from the list.")
            self.status.value = (f'<span style="color:#C00000">No {self.selection.area_type.upper()} matches '
                                 f"{html.escape(str(text))!s} exactly.{html.escape(hint)}</span>")
            return None
        return replace(self.selection, area_code=code)

    def _on_area_type(self, area_type: str) -> Selection:
        data = self.data_for(area_type)
        code = self.selection.area_code if self.selection.area_code in data._region_of else \
            str(data.areas["area_code"].iloc[0])
        return replace(self.selection, area_type=area_type, area_code=code)

    def _on_comparator(self, comparator: str) -> Selection:
        return replace(self.selection, comparator=comparator)

    def _on_custom(self, labels: Sequence[str]) -> Selection:
        return replace(self.selection, custom=tuple(c for c in map(self.data.find_area, labels) if c))

    def _on_domain(self, domain: str) -> Selection | None:
        self._domain = domain
        ids = [i for _, i in self.data.indicator_options(domain)]
        if self.selection.indicator_id in ids:
            self._sync_pickers()
            return None
        return replace(self.selection, indicator_id=ids[0])

    def _on_indicator(self, indicator_id: int | None) -> Selection | None:
        return None if indicator_id is None else replace(self.selection, indicator_id=int(indicator_id))

    def _on_breakdown(self, _: Any) -> Selection:
        return replace(self.selection, sex=self.sex_picker.value, age=self.age_picker.value)

    def _on_period(self, period: str | None) -> Selection | None:
        return None if period is None else replace(self.selection, period=period)

    # ------------------------------------------------------------------ the views
    def update(self) -> View | None:
        """Recompute the view of the current selection and show it (errors go to the status line)."""
        started = time.perf_counter()
        try:
            view = self.data.view(self.selection)
        except ValueError as exc:
            self.error = str(exc)
            self.status.value = f'<span style="color:#C00000">{html.escape(str(exc))}</span>'
            return None
        self.error = None
        self.view = view
        self._show(view)
        view.timings["shown"] = (time.perf_counter() - started) * 1000
        return view

    def _show(self, view: View) -> None:
        import altair as alt

        render = alt.renderers.get()
        for output, spec in ((self.compare_output, view.compare_spec), (self.trend_output, view.trend_spec),
                             (self.spine_output, view.spine_spec)):
            bundle = render(spec)
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)
        self.table_html.value = view.table_html()
        notes = " ".join(html.escape(n) for n in view.notes)
        self.status.value = (f"<b>{html.escape(view.title)}</b>"
                             + (f'<br><span style="color:#595959">{notes}</span>' if notes else ""))
        self.links.value = ""

    # ------------------------------------------------------------------ downloads
    def _export_clicked(self) -> None:
        try:
            self.export()
        except (OSError, ValueError) as exc:
            self.links.value = f'<span style="color:#C00000">Could not save: {html.escape(str(exc))}</span>'

    def export(self, folder: str | os.PathLike[str] | None = None, *, png_scale: float = 1.5) -> dict[str, Path]:
        """Write the current view as CSV and PNG into ``folder`` (default ``export_dir``) and show
        download links; returns ``{"csv": path, "png": path}``."""
        if self.view is None:
            raise ValueError("explorer: nothing to save (the last selection failed: see the status line)")
        view, sel = self.view, self.view.selection
        target = Path(folder) if folder is not None else self.export_dir
        target.mkdir(parents=True, exist_ok=True)
        stem = "_".join(_slug(str(p)) for p in (sel.area_code, sel.indicator_id, sel.sex, sel.age, view.period,
                                                  sel.comparator))
        paths = {"csv": target / f"{stem}.csv", "png": target / f"{stem}.png"}
        contents = {"csv": view.to_csv().to_csv(index=False).encode("utf-8"),
                    "png": charts.to_png(view.combined_spec(), scale=png_scale)}
        for kind, path in paths.items():
            _atomic_write(path, contents[kind])
        self.links.value = (" ".join(_link(paths[k], contents[k], k) for k in paths)
                            + f'<span style="color:#595959">saved in {html.escape(str(target))}/ as '
                            f"{html.escape(stem)}.csv and .png</span>")
        return paths


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _link(path: Path, data: bytes, kind: str) -> str:
    """A download link carrying the file itself (a data URI), labelled with where it was saved."""
    mime = {"csv": "text/csv", "png": "image/png"}[kind]
    payload = base64.b64encode(data).decode("ascii")
    return (f'<a href="data:{mime};base64,{payload}" download="{html.escape(path.name, quote=True)}" '
            f'class="jsna-download" style="margin-right:1.5em">Download {kind.upper()}</a>')


def explore(store: Any, area_code: str | None = None, **options: Any) -> Explorer:
    """An :class:`Explorer` on ``store`` (a Store or its folder); see :class:`Explorer` for options."""
    return Explorer(store, area_code, **options)

