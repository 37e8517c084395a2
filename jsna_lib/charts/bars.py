"""Compare areas: one indicator, one period, areas ranked as bars with 95% confidence intervals,
coloured by their (given) significance against a benchmark, with the benchmark as a line.

The chart is written directly as a Vega-Lite spec (plain dicts, see :mod:`._spec`): the same spec
Altair's object model produced, without its validation and copying costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import palette
from . import _common as c
from . import _spec, theme


def compare_areas(data: pd.DataFrame, indicator: Any = None, areas: Any = None, *,
                  benchmark: str | float = c.ENGLAND, period: str | None = None, sex: str | None = None,
                  age: str | None = None, significance_benchmark: str | None = "england",
                  names: Any = None, metadata: pd.DataFrame | None = None,
                  highlight: str | Sequence[str] | None = None, sort: str | None = "value",
                  title: str | None = None, source: str | None = None, decimals: int | None = None,
                  width: int = 440, bar_height: int = 16) -> _spec.Chart:
    """Ranked bars of one indicator for several areas: each area's value as a bar coloured by its
    significance against the benchmark (▲/▼/● and the value printed at the right), its 95% confidence
    interval as whiskers, and the benchmark's value as a dashed line.

    Parameters
    ----------
    data : DataFrame
        Canonical ``values`` rows or a slice of the comparisons table: ``indicator_id``,
        ``area_code``, ``period`` (``period_sort``), ``value``, ``lower_95``, ``upper_95``,
        ``count``, optional ``area_name`` and ``significance``. A comparisons slice has one row
        per benchmark: the rows of ``significance_benchmark`` are used.
    indicator : int
        Indicator id (may be omitted when the data hold one indicator).
    areas : list of area codes or a frame with ``area_code``, optional
        The areas to show (default: every area in the data except England and the regions).
    benchmark : area code or number
        The line drawn: the value of that area (its own rows, else the comparisons'
        ``benchmark_value`` / ``england_value``), or a number.
    period, sex, age : str, optional
        Default: the latest period, Persons, the commonest age.
    names : {code: name}, or a frame with ``area_code`` and ``area_name`` (e.g. the areas table)
    highlight : area code(s), optional
        Outlined in black and named in bold.
    sort : "value" (highest first), "name" or None (the order of ``areas``).
    """
    pos, ind_id = _indicator_positions(data, indicator, sex=sex, age=age, chart="compare_areas")
    pos_all = _latest_positions(data, pos, period)  # the rows of the period (every benchmark)
    meta = _indicator_meta(data, pos_all, metadata, ind_id)
    # The benchmark line.
    bench_name: str | None
    if isinstance(benchmark, int | float) and not isinstance(benchmark, bool):
        bench_value, bench_name, bench_code = float(benchmark), "Benchmark", ""
    else:
        bench = _benchmark(data, pos_all, str(benchmark), first_only=True)
        bench_value = float(bench.values[0]) if bench is not None else np.nan
        bench_code = str(bench.codes[0]) if bench is not None else str(benchmark)
        bench_name = None  # looked up below with the areas' names
    pos, sig_column = _one_benchmark_positions(data, pos_all, significance_benchmark)
    codes = _text_at(data["area_code"], pos)
    wanted = c.area_codes(areas)
    if wanted is None:
        keep = codes != str(benchmark).upper()
        pos, codes = pos[keep], codes[keep]
        if len(pos) > 1:
            text = codes.astype(str)
            keep = ~(np.strings.startswith(text, "E92") | np.strings.startswith(text, "E12"))
            pos, codes = pos[keep], codes[keep]
    else:
        keep = np.isin(codes, wanted)
        pos, codes = pos[keep], codes[keep]
        missing = sorted(set(wanted) - set(codes))
        if len(missing) == len(wanted):
            raise ValueError(f"compare_areas: none of the areas {', '.join(wanted)} has a value for indicator "
                             f"{int(ind_id)} in {_text_at(data['period'], pos_all[:1])[0]}")
    first = _first_rows(_raw_codes(data["area_code"], pos))  # one row per area
    pos, codes = pos[first], codes[first]
    if not len(pos):
        return _spec.note("No areas to compare.", heading=title or meta["name"])
    values = _floats(data["value"])[pos]
    digits = decimals if decimals is not None else _decimals_for(values)
    display = _display_columns(values, _floats_at(data, "lower_95", pos), _floats_at(data, "upper_95", pos),
                               _floats_at(data, "count", pos), digits)
    significance = _significance_at(data, sig_column, pos)
    if bench_name is None:  # one look-up for the benchmark's and the areas' names
        looked_up = _area_names(np.array([bench_code, *codes], dtype=object), data, names)
        bench_name, area_name = str(looked_up[0]), looked_up[1:]
    else:
        area_name = _area_names(codes, data, names)
    _, which, counts = np.unique(area_name, return_inverse=True, return_counts=True)
    area_label = np.where(counts[which] > 1, area_name + " (" + codes + ")", area_name).astype(object)
    symbol = _lookup(significance, palette.SIGNIFICANCE_SYMBOLS)
    right_text = np.strings.strip((symbol + " " + display["value_text"]).astype(str)).astype(object)
    marked = {str(h).upper() for h in ([highlight] if isinstance(highlight, str) else (highlight or []))}
    highlighted_ = np.isin(codes, list(marked))
    if sort == "value":
        order = _descending_values(data["value"], values, pos)
    elif sort == "name":
        order = np.argsort(area_label, kind="stable")
    elif wanted is not None:
        place = {a: float(i) for i, a in enumerate(wanted)}  # a code listed twice: its last place
        order = _ascending(_lookup(np.asarray(data["area_code"].array[pos], dtype=object), place, np.nan,
                                     float))
    else:
        order = np.arange(len(pos))
    pos = pos[order]
    columns: dict[str, Any] = {"area_code": _json_at(data["area_code"], pos), "area_label": area_label[order],
                               "area_name": area_name[order], "indicator_name": meta["name"]}
    for name in ("period", "value", "lower_95", "upper_95"):
        if name in data.columns:
            columns[name] = _json_at(data[name], pos)
    columns.update({key: text[order] for key, text in display.items()})
    columns.update(significance=significance[order], symbol=symbol[order], right_text=right_text[order],
                   highlight=highlighted_[order])
    order_labels = columns["area_label"].tolist()
    labels = columns["significance"].tolist()
    highlighted = columns["area_label"][columns["highlight"]].tolist()
    y = {"field": "area_label", "type": "nominal", "sort": order_labels, "title": None,
         "axis": {"labelLimit": 220, **c.bold_labels(highlighted)}}
    tooltip = c.tooltip_spec([{"field": "significance", "type": "nominal", "title": f"Compared with {bench_name}"}])
    unit = meta["unit"]
    x_title = f"{meta['name']}" if not unit else f"Value ({unit})"
    builder = _spec.SpecBuilder()
    rows_ref = builder.data(_spec.array_records(columns, len(pos)))
    bars = {"mark": {"type": "bar", "size": max(bar_height - 4, 4)}, "encoding": {
        "y": y,
        "x": {"field": "value", "type": "quantitative", "title": x_title, "scale": {"zero": True, "nice": True}},
        "color": {"field": "significance", "type": "nominal", "scale": c.significance_scale_spec(labels),
                  "legend": c.legend_spec(f"Compared with {bench_name}", labelExpr=c.symbol_label_expr(labels))},
        "stroke": {"condition": {"test": "datum.highlight", "value": "black"}, "value": None},
        "strokeWidth": {"condition": {"test": "datum.highlight", "value": 2}, "value": 0},
        "tooltip": tooltip}}
    whiskers = {"mark": {"type": "rule", "color": "#333333", "strokeWidth": 1}, "encoding": {
        "y": y, "x": {"field": "lower_95", "type": "quantitative"}, "x2": {"field": "upper_95"}, "tooltip": tooltip}}
    caps = [{"mark": {"type": "tick", "color": "#333333", "thickness": 1, "size": max(bar_height * 0.45, 5)},
             "encoding": {"y": y, "x": {"field": bound, "type": "quantitative"}, "tooltip": tooltip}}
            for bound in ("lower_95", "upper_95")]
    right = {"mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": theme.SMALL, "x": width + 8},
             "encoding": {"y": y, "text": {"field": "right_text", "type": "nominal"}, "tooltip": tooltip}}
    layers: list[dict[str, Any]] = [bars, whiskers, *caps, right]
    for layer in layers:
        layer["data"] = rows_ref
    if np.isfinite(bench_value):
        label = f"{bench_name}: {c.fmt_array(np.array([bench_value]), digits)[0]}"
        bench_ref = builder.data([{"value": bench_value, "label": label}])
        value_x = {"field": "value", "type": "quantitative"}
        layers.append({"data": bench_ref, "mark": {"type": "rule", "color": palette.BENCHMARK_LINE,
                                                   "strokeWidth": 1.5, "strokeDash": [6, 3]},
                       "encoding": {"x": value_x, "tooltip": {"field": "label", "type": "nominal",
                                                              "title": "Benchmark"}}})
        layers.append({"data": bench_ref, "mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 4,
                                                   "dy": -2, "fontSize": theme.SMALL, "fontWeight": "bold"},
                       "encoding": {"x": value_x, "y": {"value": 0}, "text": {"field": "label", "type": "nominal"}}})
    period_text = _period_range(columns["period"])
    subtitle = c.caption(period_text, _breakdown_text(data, pos_all), "bars: value; whiskers: 95% confidence interval",
                         f"dashed line: {bench_name}" if np.isfinite(bench_value) else None,
                         source=_source_of(data, pos_all, source, meta))
    spec: dict[str, Any] = {"layer": layers, "width": width, "height": bar_height * len(order_labels),
                            "title": _spec.title(title or meta["name"], subtitle)}
    return builder.finish(_shared_data(spec))


def _shared_data(spec: dict[str, Any]) -> dict[str, Any]:
    """A layer spec whose layers all draw the same dataset gets it once, on the parent (as Altair writes it)."""
    refs = [layer.get("data") for layer in spec["layer"]]
    if refs and refs[0] is not None and all(ref == refs[0] for ref in refs):
        spec = {"data": refs[0], **spec, "layer": [{k: v for k, v in layer.items() if k != "data"}
                                                   for layer in spec["layer"]]}
    return spec


# ================================================================================= row selection on arrays
# The builders pick their rows as positions into the input frame and read each column they need
# once, as a numpy array at those positions: the steps of :mod:`._common` (``indicator_rows``,
# ``latest``, ``one_benchmark``, ``benchmark_values``, ``area_names``, ``add_display_columns``,
# ``clean_for_json``) with the same results, without a small DataFrame per step.
def _text_at(series: pd.Series, pos: np.ndarray) -> np.ndarray:
    """:func:`._common.text` of ``series`` at positions ``pos``, as an object array."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arrow = pa.array(series.array).take(pa.array(pos, type=pa.int64()))
        return pc.fill_null(pc.utf8_trim_whitespace(arrow), "").to_numpy(zero_copy_only=False)
    return c.text_array(np.asarray(series, dtype=object)[pos])


def _floats(series: pd.Series) -> np.ndarray:
    """:func:`._common.numbers` of a whole column, as a float array."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return c.numbers(series).to_numpy()


def _floats_at(frame: pd.DataFrame, name: str, pos: np.ndarray) -> np.ndarray:
    """Column ``name`` as floats at ``pos`` (NaN when the frame has no such column)."""
    if name not in frame.columns:
        return np.full(len(pos), np.nan)
    return _floats(frame[name])[pos]


def _json_at(series: pd.Series, pos: np.ndarray) -> np.ndarray:
    """Column values at ``pos`` as :func:`._spec.records` writes them after :func:`._common.clean_for_json`
    (an array whose ``tolist()``, or :func:`._spec.json_floats` for floats, gives the JSON values)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype | pd.CategoricalDtype):
        return _text_at(series, pos)
    if pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=bool, na_value=False)[pos]
    if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)[pos]
    if dtype.kind in "iuf":
        return series.to_numpy()[pos]
    name = str(series.name)
    out = np.empty(len(pos), dtype=object)
    out[:] = [row[name] for row in _spec.records(series.iloc[pos].to_frame(name))]
    return out


def _raw_codes(series: pd.Series, pos: np.ndarray) -> np.ndarray:
    """Integer codes of the values at ``pos``: equal values (missing ones alike) get equal codes."""
    return pd.factorize(series.array[pos])[0]


def _first_rows(*codes: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the first row of each distinct combination of ``codes`` (``drop_duplicates``)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for part in codes:
        key = key * (int(part.max(initial=-1)) + 2) + part + 1
    return np.sort(np.unique(key, return_index=True)[1])


def _ascending(keys: np.ndarray) -> np.ndarray:
    """Stable ascending order of a float array, missing values last (``sort_values(kind="stable")``)."""
    missing = np.isnan(keys)
    present = np.flatnonzero(~missing)
    return np.concatenate([present[np.argsort(keys[present], kind="stable")], np.flatnonzero(missing)])


def _lookup(keys: np.ndarray, mapping: Mapping[Any, Any], default: Any = "", dtype: Any = object) -> np.ndarray:
    """``mapping[key]`` for each of ``keys`` (``default`` for the others) as an array of ``dtype``, in one
    hashed look-up."""
    where = pd.Index(list(mapping), dtype=object).get_indexer(keys)
    found = np.array([*mapping.values(), default], dtype=dtype)
    return found[np.where(where >= 0, where, len(mapping))]


def _choose(data: pd.DataFrame, pos: np.ndarray, name: str, wanted: str | None,
            prefer: Sequence[str] = ()) -> np.ndarray:
    """:func:`._common.choose` on positions."""
    if name not in data.columns or not len(pos):
        return pos
    values = _text_at(data[name], pos)
    if wanted is None:
        present = set(values)
        wanted = next((p for p in prefer if p in present), None)
        if wanted is None:  # the most frequent value; ties → alphabetical (deterministic)
            labels, counts = np.unique(values, return_counts=True)
            wanted = min(labels[counts == counts.max()])
    keep = values == wanted
    if not keep.any():
        raise ValueError(f"no rows with {name} = {wanted!r}; the data have {', '.join(sorted(set(values)))}")
    return pos[keep]


def _indicator_positions(data: pd.DataFrame, indicator: Any, *, sex: str | None, age: str | None,
                         chart: str) -> tuple[np.ndarray, Any]:
    """:func:`._common.indicator_rows` as positions into ``data``, and the indicator's id (a float)."""
    c.require(data, ["indicator_id"], chart)
    ids = _floats(data["indicator_id"])
    wanted = indicator
    if wanted is None:
        present = pd.unique(ids[~np.isnan(ids)])
        if len(present) != 1:
            raise ValueError(f"{chart}: the data hold {len(present)} indicators; say which with indicator=<id>")
        wanted = present[0]
    pos = np.flatnonzero(ids == float(wanted))
    if not len(pos):
        raise ValueError(f"{chart}: no rows for indicator {wanted} in the data")
    if "category_type" in data.columns:
        pos = pos[_text_at(data["category_type"], pos) == ""]
        if not len(pos):
            raise ValueError(f"{chart}: indicator {indicator} has only inequality-breakdown rows here")
    pos = _choose(data, _choose(data, pos, "sex", sex, prefer=("Persons",)), "age", age)
    return pos, ids[pos[0]]


def _latest_positions(data: pd.DataFrame, pos: np.ndarray, period: str | None) -> np.ndarray:
    """:func:`._common.latest` on positions."""
    if not len(pos):
        return pos
    if period is not None:
        periods = _text_at(data["period"], pos)
        keep = periods == str(period)
        if not keep.any():
            raise ValueError(f"no rows for period {period!r}; the data have {', '.join(sorted(set(periods)))}")
        return pos[keep]
    if "period_sort" in data.columns:
        sort = _floats(data["period_sort"])[pos]
        if (~np.isnan(sort)).any():
            return pos[sort == np.nanmax(sort)]
    return pos


def _one_benchmark_positions(data: pd.DataFrame, pos: np.ndarray, benchmark: str | None
                             ) -> tuple[np.ndarray, str | None]:
    """:func:`._common.one_benchmark` on positions: the rows kept, and the column that holds their
    significance (``significance``, a profile's ``vs_<benchmark>``, or None)."""
    wide = f"vs_{benchmark or 'england'}"
    sig = "significance" if "significance" in data.columns else wide if wide in data.columns else None
    if "benchmark" not in data.columns or benchmark is None:
        return pos, sig
    labels = _text_at(data["benchmark"], pos)
    if len(set(labels)) <= 1:
        return pos, sig
    keep = labels == benchmark
    if not keep.any():
        raise ValueError(f"no rows compared with benchmark {benchmark!r}; the data have "
                         f"{', '.join(sorted(set(labels)))}")
    return pos[keep], sig


def _indicator_meta(data: pd.DataFrame, pos: np.ndarray, indicators: pd.DataFrame | None,
                    indicator_id: Any) -> dict[str, str]:
    """:func:`._common.indicator_meta` of the rows at ``pos``."""
    meta = {"name": "", "unit": "", "polarity": "", "domain": "", "source": "", "value_type": ""}
    for key, cols in (("name", ("indicator_name", "name")), ("unit", ("unit",)), ("polarity", ("polarity",)),
                      ("domain", ("domain",)), ("source", ("source",)), ("value_type", ("value_type",))):
        for col in cols:
            if col in data.columns:
                values = _text_at(data[col], pos)
                values = values[values != ""]
                if len(values):
                    meta[key] = values[0]
                    break
    if indicators is not None and len(indicators):
        at = np.flatnonzero(_floats(indicators["indicator_id"]) == float(indicator_id))
        if len(at):
            for key in ("name", "unit", "polarity", "domain", "source", "value_type"):
                if not meta[key] and key in indicators.columns:
                    value = indicators[key].iloc[at[0]]
                    if pd.notna(value):
                        meta[key] = str(value).strip()
    if not meta["name"]:
        meta["name"] = f"Indicator {indicator_id}"
    return meta


def _first_text(data: pd.DataFrame, pos: np.ndarray, name: str) -> str:
    """The first non-empty text of column ``name`` at ``pos`` ("" when none)."""
    if name not in data.columns:
        return ""
    values = _text_at(data[name], pos)
    values = values[values != ""]
    return str(values[0]) if len(values) else ""


def _breakdown_text(data: pd.DataFrame, pos: np.ndarray) -> str:
    """:func:`._common.breakdown_text` of the rows at ``pos``."""
    parts = []
    for name, plain in (("sex", "Persons"), ("age", "All ages")):
        if name in data.columns and len(pos):
            value = _text_at(data[name], pos[:1])[0]
            if value and value not in (plain, "Not applicable"):
                parts.append(value)
    return ", ".join(parts)


def _source_of(data: pd.DataFrame, pos: np.ndarray, given: str | None, meta: dict[str, str]) -> str:
    """:func:`._common.source_of` of the rows at ``pos``."""
    return given or _first_text(data, pos, "source") or meta.get("source") or \
        "OHID Fingertips methods; data as supplied"


def _period_range(periods: np.ndarray) -> str:
    """:func:`._common.period_range` of an array."""
    values = [p for p in dict.fromkeys(c.text_array(np.asarray(periods, dtype=object))) if p]
    if not values:
        return ""
    return values[0] if len(values) == 1 else f"{values[0]} to {values[-1]}"


def _area_names(codes: np.ndarray, data: pd.DataFrame | None, names: Any) -> np.ndarray:
    """:func:`._common.area_names` of an array of codes, as an object array."""
    codes = c.text_array(np.asarray(codes, dtype=object))
    upper = np.array([code.upper() for code in codes], dtype=object)
    mapping = c.names_mapping(names)
    mapped = _lookup(upper, mapping) if mapping else None
    if mapped is not None and (mapped != "").all():  # names given for every code: the data need not be searched
        return mapped
    out = np.full(len(codes), "", dtype=object)
    if isinstance(data, pd.DataFrame) and "area_name" in data.columns and "area_code" in data.columns:
        every = np.arange(len(data))
        found, known = _text_at(data["area_name"], every), _text_at(data["area_code"], every)
        found, known = found[found != ""], known[found != ""]
        first = ~pd.Index(known).duplicated()  # the first name given for each code
        where = pd.Index(known[first], dtype=object).get_indexer(codes)
        out = np.append(found[first], "").astype(object)[where]  # not found (-1): the "" appended
    if mapped is not None:
        out = np.where(mapped != "", mapped, out)
    fallback = np.where(codes != c.ENGLAND, codes, "England")
    return np.where(out != "", out, fallback).astype(str).astype(object)


class _Benchmark:
    """A benchmark's rows (:func:`._common.benchmark_values`): positions into the data, the
    benchmark's code per row and its values (``own``: its own rows, whose other columns are drawn)."""

    def __init__(self, pos: np.ndarray, codes: np.ndarray, values: np.ndarray, own: bool) -> None:
        self.pos, self.codes, self.values, self.own = pos, codes, values, own


def _benchmark(data: pd.DataFrame, pos: np.ndarray, code: str, *, first_only: bool = False) -> _Benchmark | None:
    """:func:`._common.benchmark_values` of the rows at ``pos`` (None when empty); only its first row
    when ``first_only``."""
    keys = [k for k in c._BENCH_KEYS if k in data.columns]

    def dedup(at: np.ndarray, codes: np.ndarray, values: np.ndarray, own: bool = False) -> _Benchmark | None:
        if not len(at):
            return None
        if first_only:
            first = np.zeros(1, dtype=np.intp)
        elif "period" in keys and len(_first_rows(_raw_codes(data["period"], at))) == len(at):
            first = np.arange(len(at))  # one row per period: no two rows share the key
        else:
            first = _first_rows(*(_raw_codes(data[k], at) for k in keys))
        return _Benchmark(at[first], codes[first], values[first], own)

    label = str(code).strip()
    has_codes = "area_code" in data.columns
    codes = _text_at(data["area_code"], pos) if has_codes else np.full(len(pos), "", dtype=object)
    if label.lower() == "england":
        label = c.ENGLAND
        own = pos[codes == c.ENGLAND]
    elif label.lower() in ("region", "parent"):
        own = pos[:0]
    else:
        own = pos[codes == label.upper()]
    if len(own):
        return dedup(own, _text_at(data["area_code"], own), _floats_at(data, "value", own), own=True)
    for role in ("england", "region", "comparator", "parent"):
        value_col, code_col = f"{role}_value", f"{role}_code"
        if value_col not in data.columns:
            continue
        if code_col in data.columns:
            role_codes = _text_at(data[code_col], pos)
        else:
            role_codes = c.text_array(np.full(len(pos), c.ENGLAND if role == "england" else "", dtype=object))
        if label.lower() == role or (label and (role_codes == label.upper()).any()):
            return dedup(pos, role_codes, _floats(data[value_col])[pos])
    if "benchmark_value" in data.columns:
        if label.lower() in ("region", "parent") and "benchmark" in data.columns:
            sel = pos[_text_at(data["benchmark"], pos) == label.lower()]
        elif "benchmark_code" in data.columns:
            sel = pos[_text_at(data["benchmark_code"], pos) == label]
        else:
            sel = pos[:0]
        sel_codes = _text_at(data["benchmark_code"], sel) if "benchmark_code" in data.columns else \
            c.text_array(np.full(len(sel), label, dtype=object))
        if len(sel) and label.lower() in ("region", "parent") and "benchmark_code" in data.columns \
                and len(set(sel_codes)) > 1:
            return None  # areas of several regions
        if len(sel):
            return dedup(sel, sel_codes, _floats(data["benchmark_value"])[sel])
    if label == c.ENGLAND and "england_value" in data.columns:
        return dedup(pos, np.full(len(pos), c.ENGLAND, dtype=object), _floats(data["england_value"])[pos])
    return None


def _display_columns(values: np.ndarray, lower: np.ndarray, upper: np.ndarray, count: np.ndarray,
                     digits: int) -> dict[str, np.ndarray]:
    """:func:`._common.add_display_columns`' ``value_text``, ``ci_text`` and ``count_text``."""
    ci = c.fmt_array(lower, digits) + " to " + c.fmt_array(upper, digits)
    return {"value_text": c.fmt_array(values, digits),
            "ci_text": np.where(~np.isnan(lower) & ~np.isnan(upper), ci, c.DASH).astype(object),
            "count_text": c.fmt_array(count, 0)}


def _decimals_for(values: np.ndarray, default: int = 1) -> int:
    """:func:`._common.decimals_for` of a float array."""
    v = np.abs(values[~np.isnan(values)])
    return 0 if len(v) and np.median(v) >= 1000 else default


def _significance_at(data: pd.DataFrame, column: str | None, pos: np.ndarray) -> np.ndarray:
    """The clean significance labels at ``pos`` (missing or empty → "Not compared")."""
    if column is None:
        return np.full(len(pos), palette.NOT_COMPARED, dtype=object)
    labels = _text_at(data[column], pos)
    return np.where(labels != "", labels, palette.NOT_COMPARED).astype(object)


def _descending_values(series: pd.Series, values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The order of ``sort_values(ascending=False, kind="stable", na_position="last")`` on the column
    ``series`` at ``pos`` (``values``: its numbers)."""
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raw = series.iloc[pos].reset_index(drop=True)
        return raw.sort_values(ascending=False, kind="stable", na_position="last").index.to_numpy()
    missing = np.isnan(values)
    present = np.flatnonzero(~missing)
    return np.concatenate([present[np.argsort(-values[present], kind="stable")], np.flatnonzero(missing)])
