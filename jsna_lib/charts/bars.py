"""Compare areas: one indicator, one period, areas ranked as bars with 95% confidence intervals,
coloured by their (given) significance against a benchmark, with the benchmark as a line.

The chart is written directly as a Vega-Lite spec (plain dicts, see :mod:`._spec`): the same spec
Altair's object model produced, without its validation and copying costs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

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
    pos, ind_id = c.indicator_positions(data, indicator, sex=sex, age=age, chart="compare_areas")
    pos_all = c.latest_positions(data, pos, period)  # the rows of the period (every benchmark)
    meta = c.indicator_meta_at(data, pos_all, metadata, ind_id)
    # The benchmark line.
    bench_name: str | None
    if isinstance(benchmark, int | float) and not isinstance(benchmark, bool):
        bench_value, bench_name, bench_code = float(benchmark), "Benchmark", ""
    else:
        bench = c.benchmark_at(data, pos_all, str(benchmark), first_only=True)
        bench_value = float(bench.values[0]) if bench is not None else np.nan
        bench_code = str(bench.codes[0]) if bench is not None else str(benchmark)
        bench_name = None  # looked up below with the areas' names
    pos, sig_column = c.one_benchmark_positions(data, pos_all, significance_benchmark)
    codes = c.text_at(data["area_code"], pos)
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
                             f"{int(ind_id)} in {c.text_at(data['period'], pos_all[:1])[0]}")
    first = c.first_rows(c.raw_codes(data["area_code"], pos))  # one row per area
    pos, codes = pos[first], codes[first]
    if not len(pos):
        return _spec.note("No areas to compare.", heading=title or meta["name"])
    values = c.floats(data["value"])[pos]
    digits = decimals if decimals is not None else c.decimals_of(values)
    display = c.display_columns(values, c.floats_at(data, "lower_95", pos), c.floats_at(data, "upper_95", pos),
                               c.floats_at(data, "count", pos), digits)
    significance = c.significance_at(data, sig_column, pos)
    if bench_name is None:  # one look-up for the benchmark's and the areas' names
        looked_up = c.area_names_of(np.array([bench_code, *codes], dtype=object), data, names)
        bench_name, area_name = str(looked_up[0]), looked_up[1:]
    else:
        area_name = c.area_names_of(codes, data, names)
    _, which, counts = np.unique(area_name, return_inverse=True, return_counts=True)
    area_label = np.where(counts[which] > 1, area_name + " (" + codes + ")", area_name).astype(object)
    symbol = c.lookup(significance, palette.SIGNIFICANCE_SYMBOLS)
    right_text = c.stripped(symbol + " " + display["value_text"])
    marked = {str(h).upper() for h in ([highlight] if isinstance(highlight, str) else (highlight or []))}
    highlighted_ = np.isin(codes, list(marked))
    if sort == "value":
        order = _descending_values(data["value"], values, pos)
    elif sort == "name":
        order = np.argsort(area_label, kind="stable")
    elif wanted is not None:
        place = {a: float(i) for i, a in enumerate(wanted)}  # a code listed twice: its last place
        order = c.ascending(c.lookup(np.asarray(data["area_code"].array[pos], dtype=object), place, np.nan,
                                     float))
    else:
        order = np.arange(len(pos))
    pos = pos[order]
    columns: dict[str, Any] = {"area_code": c.json_at(data["area_code"], pos), "area_label": area_label[order],
                               "area_name": area_name[order], "indicator_name": meta["name"]}
    for name in ("period", "value", "lower_95", "upper_95"):
        if name in data.columns:
            columns[name] = c.json_at(data[name], pos)
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
    period_text = c.period_range(columns["period"])
    subtitle = c.caption(period_text, c.breakdown_text_at(data, pos_all), "bars: value; whiskers: 95% confidence interval",
                         f"dashed line: {bench_name}" if np.isfinite(bench_value) else None,
                         source=c.source_of_at(data, pos_all, source, meta))
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


def _descending_values(series: pd.Series, values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The order of ``sort_values(ascending=False, kind="stable", na_position="last")`` on the column
    ``series`` at ``pos`` (``values``: its numbers)."""
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raw = series.iloc[pos].reset_index(drop=True)
        return raw.sort_values(ascending=False, kind="stable", na_position="last").index.to_numpy()
    missing = np.isnan(values)
    present = np.flatnonzero(~missing)
    return np.concatenate([present[np.argsort(-values[present], kind="stable")], np.flatnonzero(missing)])
