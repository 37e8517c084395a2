"""The overview ("tartan rug"): indicators × areas, each cell coloured by the area's (given)
significance with its value printed in it (and a ▲/▼/●/■ symbol, so colour is never the only
cue); England's and the region's columns first, uncoloured.

The Vega-Lite spec is written directly as a dict (see :mod:`jsna_lib.charts._spec`).

The rows are picked and labelled on numpy arrays: each input column is converted once (factorised,
then only its distinct values turned into text) and read at row positions, and the chart's frame
is built once at the end. The selection rules are those of :mod:`jsna_lib.charts._common`
(``persons_else_all_keep``, ``one_benchmark_keep``, ``latest_per_line_keep``, ``benchmark_at``,
``first_rows``, ``fmt_array``...), applied to the cached columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import _spec, theme

BENCHMARK_FILL = "#FFFFFF"

_LINE_KEYS = ("indicator_id", "sex", "age")
_SUFFIX = {"Male": ", males", "Female": ", females"}  # an indicator's rows of one sex, when it has several


class _Columns:
    """The input frame's columns, each converted once and then read at row positions: integer
    codes of the raw values (equal values, missing ones included, share a code, as in
    ``drop_duplicates``/``merge``), text (as :func:`_common.text`) and numbers (as
    :func:`_common.numbers`). Over the whole frame, or over the rows of :meth:`subset`."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.base: np.ndarray | None = None  # the rows (positions in ``frame``) when a subset
        self.n = len(frame)
        self._raw: dict[str, tuple[np.ndarray, Any]] = {}
        self._text: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._numbers: dict[str, np.ndarray] = {}
        self._combined: dict[tuple[str, ...], np.ndarray] = {}

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def subset(self, at: np.ndarray) -> _Columns:
        """These columns at the rows ``at`` only (positions are then counted among those rows)."""
        out = _Columns(self.frame)
        out.base = at if self.base is None else self.base[at]
        out.n = len(at)
        out._raw = {name: (codes[at], uniques) for name, (codes, uniques) in self._raw.items()}
        out._text = {name: (codes[at], texts) for name, (codes, texts) in self._text.items()}
        out._numbers = {name: values[at] for name, values in self._numbers.items()}
        out._combined = {names: values[at] for names, values in self._combined.items()}
        return out

    def column(self, name: str, at: np.ndarray | None = None) -> pd.Series:
        """The column as given (at the rows ``at``, else at every row of this subset)."""
        series = self.frame[name]
        rows = self.base if at is None else at if self.base is None else self.base[at]
        return series if rows is None else series.take(rows)

    def raw_codes(self, name: str) -> np.ndarray:
        return self._factorized(name)[0]

    def _factorized(self, name: str) -> tuple[np.ndarray, Any]:
        if name not in self._raw:
            codes, uniques = pd.factorize(self.column(name), use_na_sentinel=False)
            self._raw[name] = (codes.astype(np.int64), uniques)
        return self._raw[name]

    def text_codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes and distinct texts of a column: its text is ``texts[codes]``."""
        if name not in self._text:
            series = self.column(name)
            if series.dtype == object or series.dtype.kind in "fc":  # text value by value
                codes, texts = pd.factorize(c.text_array(series))
            else:  # the distinct raw values' text (the same value always gives the same text)
                raw, uniques = self._factorized(name)
                codes, texts = pd.factorize(c.text_array(pd.Series(uniques)))
                codes = codes[raw] if len(raw) else codes[:0]
            self._text[name] = (codes.astype(np.int64), np.asarray(texts, dtype=object))
        return self._text[name]

    def text(self, name: str, at: np.ndarray) -> np.ndarray:
        codes, texts = self.text_codes(name)
        return texts[codes[at]]

    def text_is(self, name: str, at: np.ndarray, values: Any) -> np.ndarray:
        """Whether the column's text at ``at`` is among ``values`` (a str or a collection)."""
        codes, texts = self.text_codes(name)
        hit = pd.Index(texts, dtype=object).isin([values] if isinstance(values, str) else list(values))
        return hit[codes[at]]

    def numbers(self, name: str) -> np.ndarray:
        if name not in self._numbers:
            series = self.column(name)
            if series.dtype == np.float64:
                self._numbers[name] = series.to_numpy()
            elif pd.api.types.is_integer_dtype(series.dtype):  # int64 and Int64: exact as floats
                self._numbers[name] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                self._numbers[name] = c.numbers(series).to_numpy()
        return self._numbers[name]

    def numbers_at(self, name: str, at: np.ndarray) -> np.ndarray:
        return self.numbers(name)[at] if self.has(name) else np.full(len(at), np.nan)

    def combined(self, names: Sequence[str], at: np.ndarray | None = None, text: bool = False) -> np.ndarray:
        """One integer per combination of the columns' raw values (or texts); absent columns
        count as one constant value. Over the whole frame, or at ``at``."""
        if at is None and not text and tuple(names) in self._combined:
            return self._combined[tuple(names)]
        out = np.zeros(self.n if at is None else len(at), dtype=np.int64)
        for name in names:
            if not self.has(name):
                continue
            codes = self.text_codes(name)[0] if text else self.raw_codes(name)
            codes = codes if at is None else codes[at]
            out = pd.factorize(out * (int(codes.max(initial=0)) + 1) + codes)[0].astype(np.int64)
        if at is None and not text:
            self._combined[tuple(names)] = out
        return out


def _one_benchmark(cols: _Columns, at: np.ndarray, benchmark: str | None) -> np.ndarray:
    """The rows ``at`` compared with ``benchmark`` (:func:`_common.one_benchmark_keep` of their
    ``benchmark`` labels; all of them when there is no such column or ``benchmark`` is None)."""
    if not cols.has("benchmark") or benchmark is None:
        return at
    keep = c.one_benchmark_keep(cols.text("benchmark", at), benchmark)
    return at if keep is None else at[keep]


def _latest_per_line(cols: _Columns, at: np.ndarray) -> np.ndarray:
    """The rows ``at`` of the latest ``period_sort`` of their indicator line (indicator, sex and age
    by text), as :func:`_common.latest_per_line_keep` picks them."""
    if not cols.has("period_sort") or not len(at):
        return at
    return at[c.latest_per_line_keep(cols.numbers("period_sort")[at], cols.combined(_LINE_KEYS, at, text=True))]


def _shown_periods(cols: _Columns, rows: np.ndarray, in_areas: np.ndarray,
                   significance_benchmark: str | None) -> np.ndarray:
    """Only the rows at the periods the rug shows (each indicator line's latest among the areas'
    cells): a comparisons slice holds every period, and the rest of the work is per row."""
    keys = [k for k in ("indicator_id", "sex", "age", "period_sort") if cols.has(k)]
    if len(keys) < 2:
        return rows
    cells = _latest_per_line(cols, _one_benchmark(cols, rows[in_areas[rows]], significance_benchmark))
    if not len(cells):
        return rows
    combo = cols.combined(keys)
    return rows[np.isin(combo[rows], combo[cells])]


class _Meta:
    """Indicator metadata for the rows it is asked about: each row's indicator name, domain, unit
    and source, from the row's own columns, else ``metadata`` (its first row of the indicator), as
    text; "Indicator <id>" for a missing name."""

    def __init__(self, cols: _Columns, metadata: pd.DataFrame | None, rows: np.ndarray) -> None:
        self.looked: dict[str, np.ndarray] = {}
        self.index: pd.Index | None = None
        if metadata is not None and len(metadata):
            ind = metadata.drop_duplicates("indicator_id")
            self.index = pd.Index(c.numbers(ind["indicator_id"]).to_numpy())
            self.index.get_indexer(cols.numbers("indicator_id")[rows[:1]])  # raises, as a look-up by id would, when ids repeat
            for target, source in (("indicator_name", "name"), ("domain", "domain"), ("unit", "unit"),
                                   ("source", "source")):
                if source in ind.columns:
                    self.looked[target] = np.append(c.text_array(ind[source]), "")  # [-1]: not found

    def values(self, cols: _Columns, target: str, at: np.ndarray) -> np.ndarray:
        """The text of ``target`` (indicator_name, domain, unit or source) at rows ``at``."""
        own = target
        if target == "indicator_name" and not cols.has(target):
            own = "name"
        current = cols.text(own, at) if cols.has(own) else np.full(len(at), "", dtype=object)
        if target in self.looked and self.index is not None:
            where = self.index.get_indexer(cols.numbers("indicator_id")[at])
            current = np.where(current != "", current, self.looked[target][where])
        if target == "indicator_name":
            fallback = "Indicator " + cols.text("indicator_id", at)
            current = np.where(current == "", fallback, current)
        return current.astype(object)

    def has(self, cols: _Columns, target: str) -> bool:
        return target in self.looked or cols.has(target)


def _benchmark_values(cols: _Columns, shown: np.ndarray, code: str) -> c.Benchmark | None:
    """:func:`_common.benchmark_at` of the rows ``shown`` (positions among the rows of ``cols``, a
    subset of the frame), with its positions counted among those rows too."""
    base = np.arange(cols.n) if cols.base is None else cols.base
    bench = c.benchmark_at(cols.frame, base[shown], code)
    if bench is None:
        return None
    return c.Benchmark(np.searchsorted(base, bench.pos), bench.codes, bench.values, bench.own)


def _group_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of each group's non-missing values (NaN for a group without any), as pandas'
    ``groupby(...).median()``: the middle value, or the mean of the two middle values."""
    ok = ~np.isnan(values)
    g, v = groups[ok], values[ok]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(n_groups, np.nan)
    has = counts > 0
    low, high = (starts + (counts - 1) // 2)[has], (starts + counts // 2)[has]
    out[has] = (v[low] + v[high]) / 2
    return out


def _source(cols: _Columns, meta: _Meta, rows: np.ndarray, given: str | None) -> str:
    """:func:`_common.source_of` of the rows (their own ``source``, else their indicator's)."""
    if given or not meta.has(cols, "source"):
        return c.source_of(pd.DataFrame(), given)
    values = meta.values(cols, "source", rows)
    found = np.flatnonzero(values != "")
    return str(values[found[0]]) if len(found) else c.source_of(pd.DataFrame(), None)


def _rug_records(cols: _Columns, found: list[tuple[c.Benchmark, Any]], cells: np.ndarray, at: np.ndarray,
                 value: np.ndarray, out: dict[str, Any], titles: list[Any]) -> list[dict[str, Any]] | pd.DataFrame:
    """The chart's rows (``out``, plus ``period`` and ``value`` taken from the frame at ``at``), as
    :func:`_common.clean_for_json` then :func:`_spec.records` give them: text columns (pandas infers
    the ``str`` dtype for them) stripped, missing values null. Built from the arrays for the usual
    dtypes (float values; string periods; text column titles), else through those functions."""
    text_out = all(isinstance(t, str) for t in titles)  # the areas' titles are names
    period: np.ndarray | None = None
    if not cols.has("period"):
        period = np.full(len(at), "", dtype=object)
    elif isinstance(cols.frame["period"].dtype, pd.StringDtype):
        period = cols.text("period", at)
    elif cols.frame["period"].dtype == object:
        raw = cols.column("period", at).to_numpy()
        period = raw if pd.api.types.infer_dtype(raw, skipna=False) == "string" else None
    if text_out and period is not None and cols.frame["value"].dtype == np.float64:
        columns = {**out, "period": period, "value": value}
        for name in ("row", "column", "indicator_name", "area_name"):  # the others have no outer spaces
            columns[name] = c.stripped(columns[name])
        return _spec.array_records(columns, len(at))
    if all(b.own for b, _ in found):
        value_column = cols.column("value", at).reset_index(drop=True)
    else:
        value_column = pd.concat([cols.column("value", b.pos) if b.own else pd.Series(b.values)
                                  for b, _ in found] + [cols.column("value", cells)], ignore_index=True)
    period_column = cols.column("period", at).reset_index(drop=True) if cols.has("period") else \
        pd.Series(np.full(len(at), "", dtype=object))
    return c.clean_for_json(pd.DataFrame({**out, "period": period_column, "value": value_column}))


def overview(data: pd.DataFrame, areas: Any = None, indicators: Sequence[Any] | None = None, *,
             benchmarks: Sequence[str] | Mapping[str, str] = ("england", "region"), period: str | None = None,
             significance_benchmark: str | None = "england", names: Any = None,
             metadata: pd.DataFrame | None = None, symbols: bool = True, by_domain: bool = True,
             title: str | None = None, source: str | None = None, decimals: int = 1,
             row_height: int = 20, label_width: int = 300) -> _spec.Chart:
    """The tartan rug of several areas across indicators.

    Parameters
    ----------
    data : DataFrame
        Rows of the indicators for the areas (and, if available, the benchmarks' own rows):
        ``indicator_id``, ``area_code``, ``period``/``period_sort``, ``value``, ``significance``,
        optional ``area_name``; or a slice of the comparisons table (one row per benchmark; the
        ``significance_benchmark`` rows colour the cells, ``england_value`` and the
        ``benchmark_value`` of ``region`` rows fill the benchmark columns).
    areas : list of area codes (or a frame with ``area_code``), optional
        Columns after the benchmarks, in this order (default: every area in the data).
    indicators : list of indicator ids, optional
        Rows, in this order (default: all, grouped by domain).
    benchmarks : codes or labels ("england", "region") or {code: column title}
        Uncoloured columns shown first. "region" needs a comparisons frame of areas in one region.
    period : str, optional
        One period for every indicator (default: each indicator's latest).
    """
    frame = c.frame_from(data, c.LATEST_ATTRS, "values")
    cols = _Columns(frame)
    # ``rows``: positions in ``frame`` of the rows still in play (whole population, indicators asked for...)
    rows = np.arange(cols.n)
    if cols.has("category_type"):
        rows = rows[cols.text_is("category_type", rows, "")]
    c.require(frame, ["indicator_id", "area_code", "value"], "overview")
    ids = cols.numbers("indicator_id")
    if indicators is not None:
        wanted = [float(i) for i in indicators]
        rows = rows[pd.Series(ids[rows]).isin(wanted).to_numpy()]
        rank = {v: k for k, v in enumerate(wanted)}
    else:
        present = pd.unique(ids[rows])
        rank = {v: k for k, v in enumerate(dict.fromkeys(ids[rows].tolist() if np.isnan(present).any()
                                                         else present.tolist()))}
    if not len(rows):
        raise ValueError("overview: no rows for the indicators asked for")
    if cols.has("sex"):  # an indicator's Persons rows, else all its rows
        persons = cols.text_is("sex", rows, "Persons")
        rows = rows[c.persons_else_all_keep(persons, ids[rows])]
    bench_items = list(benchmarks.items()) if isinstance(benchmarks, Mapping) else [(b, None) for b in benchmarks]
    bench_codes = {str(b).upper() for b, _ in bench_items} | {c.ENGLAND}
    if areas is None:
        areas = [a for a in pd.unique(cols.text("area_code", rows))
                 if a not in bench_codes and not a.startswith("E12")]
    areas = c.area_codes(areas)
    all_rows = np.arange(cols.n)
    in_areas = cols.text_is("area_code", all_rows, areas)
    if period is None and cols.has("period_sort"):
        rows = _shown_periods(cols, rows, in_areas, significance_benchmark)
    meta = _Meta(cols, metadata, rows)
    if period is not None:  # latest(rows, period)
        if not cols.has("period"):
            raise KeyError("period")
        at_period = cols.text_is("period", rows, str(period))
        if not at_period.any():
            raise ValueError(f"no rows for period {period!r}; the data have "
                             f"{', '.join(sorted(set(cols.text('period', rows))))}")
        rows = rows[at_period]
    cols, in_areas = cols.subset(rows), in_areas[rows]  # from here on, only these rows are read
    rows, ids = np.arange(len(rows)), cols.numbers("indicator_id")
    cells = _one_benchmark(cols, rows[in_areas[rows]], significance_benchmark)
    if period is None:
        cells = _latest_per_line(cols, cells)
    if not len(cells):
        raise ValueError(f"overview: no values for the areas {', '.join(areas)}")
    line = cols.combined([*_LINE_KEYS, "period"])  # the cells' lines and periods: the benchmarks' too
    chosen = np.unique(line[cells])

    # Benchmark columns, at the areas' periods, from the benchmarks' own rows or the shown areas' rows.
    shown = rows[in_areas[rows] | cols.text_is("area_code", rows, bench_codes)]
    found: list[tuple[c.Benchmark, Any]] = []
    skipped = []
    for code, label in bench_items:
        bench = _benchmark_values(cols, shown, code)
        if bench is not None:
            bench = bench.take(np.isin(line[bench.pos], chosen))
        if bench is None or not len(bench.pos):
            skipped.append(str(code))
            continue
        found.append((bench, label))
    # Column titles: the area's name (with its code when two areas share a name) and the
    # benchmarks' labels, else names; each code looked up once.
    cell_codes = cols.text("area_code", cells)
    lookup = pd.unique(np.concatenate([np.array([b.codes[0] for b, label in found if not label], dtype=object),
                                       cell_codes]))
    name_of = dict(zip(lookup, c.area_names(pd.Series(lookup, dtype=object), data, names).tolist(), strict=True))
    titles = []
    for bench, label in found:
        title_ = label or name_of[bench.codes[0]]
        titles.append(title_ if isinstance(title_, str) else pd.Series([title_]).iloc[0])
    raw_codes = cols.raw_codes("area_code")[cells]
    firsts = c.first_rows(raw_codes)  # each area code's first cell
    area_titles = np.array([name_of[code] for code in cell_codes[firsts]], dtype=object)
    if len(set(area_titles.tolist())) < len(area_titles):  # two areas of one name: add the codes
        area_titles = area_titles + " (" + cell_codes[firsts] + ")"
    slot = np.zeros(int(raw_codes.max()) + 1, dtype=np.int64)
    slot[raw_codes[firsts]] = np.arange(len(firsts))
    cell_column = area_titles[slot[raw_codes]]
    # each area's column title, by the area code as given (an area's first row is the one kept)
    area_column = dict(zip(cols.column("area_code", cells[firsts]).tolist(), area_titles.tolist(), strict=True))

    # The long frame: the benchmarks' rows, then the cells; ``at``: their positions in ``rows``.
    at = np.concatenate([*(b.pos for b, _ in found), cells])
    n_bench = len(at) - len(cells)
    is_area = np.arange(len(at)) >= n_bench
    column = np.concatenate([*(np.full(len(b.pos), t, dtype=object) for (b, _), t in zip(found, titles, strict=True)),
                             cell_column])
    own = np.concatenate([*(np.full(len(b.pos), b.own) for b, _ in found), np.ones(len(cells), dtype=bool)])
    value = np.concatenate([*(b.values for b, _ in found), cols.numbers("value")[cells]])
    lower, upper, count = (np.where(own, cols.numbers_at(name, at), np.nan) for name in ("lower_95", "upper_95", "count"))
    # Per indicator (its first row's name, domain and unit, its rank); per row the indicator's group.
    id_codes = cols.text_codes("indicator_id")[0]
    groups, group_codes = pd.factorize(id_codes[at])
    n_groups = len(group_codes)
    first_rows = rows[c.first_rows(id_codes[rows])]
    first_by_code = np.zeros(int(id_codes[first_rows].max()) + 1, dtype=np.int64)
    first_by_code[id_codes[first_rows]] = first_rows
    meta_rows = first_by_code[group_codes]
    indicator_name = meta.values(cols, "indicator_name", meta_rows)
    domain = meta.values(cols, "domain", meta_rows)
    domain = np.where(domain == "", "Other indicators", domain).astype(object)
    unit = meta.values(cols, "unit", meta_rows)
    unit_text = np.where(np.isin(unit, ["", "score", "years"]), "", " (" + unit + ")").astype(object)
    nan_ranks = [k for v, k in rank.items() if v != v]  # missing ids (Series.map of the dict)
    if len(nan_ranks) > 1:
        raise pd.errors.InvalidIndexError("Reindexing only valid with uniquely valued Index objects")
    group_rank = np.array([rank.get(i, np.nan) if i == i else (nan_ranks or [np.nan])[0]
                           for i in ids[meta_rows].tolist()], dtype=float)
    # ", males"/", females" for an indicator with rows of more than one sex
    sex = cols.text("sex", at) if cols.has("sex") else np.full(len(at), "", dtype=object)
    sex_codes = pd.factorize(sex)[0]
    pairs = np.unique(groups * (int(sex_codes.max(initial=0)) + 1) + sex_codes)
    split = np.bincount(pairs // (int(sex_codes.max(initial=0)) + 1), minlength=n_groups) > 1
    suffix = np.where(split[groups] & (sex == "Male"), _SUFFIX["Male"],
                      np.where(split[groups] & (sex == "Female"), _SUFFIX["Female"], "")).astype(object)
    row = indicator_name[groups] + suffix + unit_text[groups]

    # Per indicator: no decimals for values in the thousands (rates per 100,000...), else ``decimals``.
    typical = _group_median(groups, np.abs(value), n_groups)[groups]
    digits = np.asarray(np.where(typical >= 1000, 0, decimals), dtype=int)
    value_text = c.fmt_array(value, digits)
    ci_text = np.where(~np.isnan(lower) & ~np.isnan(upper),
                       c.fmt_array(lower, digits) + " to " + c.fmt_array(upper, digits), c.DASH).astype(object)
    count_text = c.fmt_array(count, np.zeros(len(at), dtype=int))
    sig_column = "significance" if cols.has("significance") else f"vs_{significance_benchmark or 'england'}"
    if cols.has(sig_column):
        sig = np.concatenate([np.full(n_bench, "", dtype=object), cols.text(sig_column, cells)])
    else:  # values without comparisons: every area's cell is "Not compared"
        sig = np.full(len(at), "", dtype=object)
    significance = np.where(is_area, np.where(sig == "", palette.NOT_COMPARED, sig), "").astype(object)
    labels_, label_index = np.unique(significance, return_inverse=True)
    cue = c.lookup(labels_, palette.SIGNIFICANCE_SYMBOLS) + " "
    shown_text = c.stripped((cue[label_index] if symbols else "") + value_text)
    cell_text = np.where(is_area & (value_text != c.DASH), shown_text, value_text).astype(object)
    dark = np.array([s in c.DARK_FILLS for s in labels_.tolist()], dtype=bool)
    text_colour = np.where(dark[label_index], "white", "black").astype(object)

    col_order = list(dict.fromkeys([*titles, *(area_column[a] for a in areas if a in area_column)]))
    by_rank = np.argsort(group_rank[groups], kind="stable")
    domain_order = pd.unique(domain[groups][by_rank]).tolist()
    domain_rank = np.array([domain_order.index(d) for d in domain.tolist()], dtype=np.int64)[groups]
    row_sorted = np.unique(row, return_inverse=True)[1]
    order = np.lexsort((row_sorted, group_rank[groups], domain_rank))
    row_order = pd.unique(row[order]).tolist()
    cell_w = max(48, int(np.strings.str_len(cell_text.astype(str)).max() * 6.3) + 12)
    out = {"row": row, "column": column, "domain": domain[groups], "indicator_name": indicator_name[groups],
           "area_name": column, "period": None, "value": None, "value_text": value_text, "ci_text": ci_text,
           "count_text": count_text, "significance": significance, "cell_text": cell_text,
           "text_colour": text_colour, "kind": np.where(is_area, "area", "benchmark").astype(object)}
    builder = _spec.SpecBuilder()
    data_ref = builder.data(_rug_records(cols, found, cells, at, value, out, titles))
    labels = pd.unique(significance[significance != ""]).tolist()  # the legend's, in order of appearance
    benchmark_test = "datum.kind === 'benchmark'"
    fill = {"condition": {"test": benchmark_test, "value": BENCHMARK_FILL},
            "field": "significance", "type": "nominal", "scale": c.significance_scale_spec(labels),
            "legend": c.legend_spec("Compared with England" if significance_benchmark == "england"
                                    else f"Compared with {significance_benchmark}",
                                    labelExpr=c.symbol_label_expr(labels))}
    tooltip = c.tooltip_spec([_spec.field("significance", "nominal", title="Compared with England")])
    x = _spec.field("column", "nominal", sort=col_order, title=None,
                    axis={"orient": "top", "labelAngle": -40, "labelAlign": "left", "labelLimit": 170,
                          "domain": False, "ticks": False, **c.bold_labels(titles)})
    headed = by_domain and len(domain_order) > 1
    if headed:  # a heading row (the domain's name, in bold) before each domain's indicators
        firsts_sorted = order[c.first_rows(row_sorted[order])]  # each row label's first row, in order
        heading_rank = np.concatenate([np.arange(len(domain_order)), domain_rank[firsts_sorted]])
        sub = np.concatenate([np.zeros(len(domain_order), dtype=np.int64), np.ones(len(firsts_sorted), dtype=np.int64)])
        entries = np.array([*domain_order, *row[firsts_sorted]], dtype=object)
        row_order = entries[np.lexsort((sub, heading_rank))].tolist()
    bold = {"labelFontWeight": {"condition": {"test": f"indexof({json.dumps(domain_order)}, datum.label) >= 0",
                                              "value": "bold"}, "value": "normal"}} if headed else {}
    y = _spec.field("row", "nominal", sort=row_order, title=None, scale={"domain": row_order},
                    axis={"labelLimit": label_width, "domain": False, "ticks": False, "labelAlign": "left",
                          "labelPadding": label_width + 4, **bold})
    rect = {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 1.5},
            "encoding": {"x": x, "y": y, "color": fill, "tooltip": tooltip}}
    outline = {"mark": {"type": "rect", "stroke": "#BBBBBB", "strokeWidth": 0.8, "fill": None},
               "encoding": {"x": x, "y": y}, "transform": [{"filter": benchmark_test}]}
    label = {"mark": {"type": "text", "fontSize": theme.SMALL, "baseline": "middle"},
             "encoding": {"x": x, "y": y, "text": _spec.field("cell_text", "nominal"),
                          "color": _spec.field("text_colour", "nominal", scale=None), "tooltip": tooltip}}
    subtitle = c.caption("latest period of each indicator" if period is None else period,
                         ("England and region columns: values only; others: compared with England"
                          + (" (colour and symbol)" if symbols else "")) if cols.has(sig_column)
                         else "values only: the data hold no comparisons",
                         f"no {' or '.join(skipped)} column (not in the data, or the areas are in several regions)"
                         if skipped else None,
                         source=_source(cols, meta, rows, source))
    return builder.finish({"data": data_ref, "layer": [rect, outline, label],
                           "width": {"step": cell_w}, "height": {"step": row_height},
                           "title": _spec.title(title or "Overview of indicators", subtitle)})
