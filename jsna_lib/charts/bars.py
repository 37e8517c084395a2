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
    rows_all = c.indicator_rows(data, indicator, sex=sex, age=age, chart="compare_areas")
    ind_id = c.numbers(rows_all["indicator_id"]).iloc[0]
    rows_all = c.latest(rows_all, period)
    meta = c.indicator_meta(rows_all, metadata, ind_id)
    # The benchmark line.
    bench_name: str | None
    if isinstance(benchmark, int | float) and not isinstance(benchmark, bool):
        bench_value, bench_name, bench_code = float(benchmark), "Benchmark", ""
    else:
        bench = c.benchmark_values(rows_all, str(benchmark))
        bench_value = float(c.numbers(bench["value"]).iloc[0]) if len(bench) else np.nan
        bench_code = c.text(bench["area_code"]).iloc[0] if len(bench) else str(benchmark)
        bench_name = None  # looked up below with the areas' names
    rows = c.one_benchmark(rows_all, significance_benchmark)
    codes = c.text(rows["area_code"])
    if areas is None:
        rows = rows[(codes != str(benchmark).upper()).to_numpy()]
        rows = rows[~c.text(rows["area_code"]).str.startswith(("E92", "E12")).to_numpy()] if len(rows) > 1 else rows
    else:
        wanted = c.area_codes(areas)
        rows = rows[codes.isin(wanted).to_numpy()]
        missing = sorted(set(wanted) - set(c.text(rows["area_code"])))
        if len(missing) == len(wanted):
            raise ValueError(f"compare_areas: none of the areas {', '.join(wanted)} has a value for indicator "
                             f"{int(ind_id)} in {c.text(rows_all['period']).iloc[0]}")
    rows = rows.drop_duplicates("area_code").copy()
    if rows.empty:
        return _spec.note("No areas to compare.", heading=title or meta["name"])
    digits = decimals if decimals is not None else c.decimals_for(rows["value"])
    rows = c.add_display_columns(rows, digits)
    if "significance" not in rows.columns:
        rows["significance"] = palette.NOT_COMPARED
    if bench_name is None:  # one look-up for the benchmark's and the areas' names
        codes_ = pd.concat([pd.Series([bench_code], dtype=object), rows["area_code"].astype(object)], ignore_index=True)
        looked_up = c.area_names(codes_, data, names)
        bench_name, rows["area_name"] = looked_up.iloc[0], looked_up.iloc[1:].to_numpy()
    else:
        rows["area_name"] = c.area_names(rows["area_code"], data, names).to_numpy()
    dup = rows["area_name"].duplicated(keep=False)
    rows["area_label"] = np.where(dup, rows["area_name"] + " (" + c.text(rows["area_code"]) + ")", rows["area_name"])
    rows["indicator_name"] = meta["name"]
    rows["symbol"] = c.symbols(rows["significance"]).to_numpy()
    rows["right_text"] = (rows["symbol"] + " " + rows["value_text"]).str.strip().to_numpy()
    marked = {str(h).upper() for h in ([highlight] if isinstance(highlight, str) else (highlight or []))}
    rows["highlight"] = c.text(rows["area_code"]).isin(marked).to_numpy()
    if sort == "value":
        rows = rows.sort_values("value", ascending=False, kind="stable", na_position="last")
    elif sort == "name":
        rows = rows.sort_values("area_label", kind="stable")
    elif areas is not None:
        rows = rows.assign(_o=rows["area_code"].map({a: i for i, a in enumerate(wanted)})).sort_values("_o")
    order = list(rows["area_label"])
    cols = ["area_code", "area_label", "area_name", "indicator_name", "period", "value", "lower_95", "upper_95",
            "value_text", "ci_text", "count_text", "significance", "symbol", "right_text", "highlight"]
    data_ = c.clean_for_json(rows[[k for k in cols if k in rows.columns]])
    labels = list(data_["significance"])
    highlighted = list(data_.loc[data_["highlight"].to_numpy(dtype=bool), "area_label"])
    y = {"field": "area_label", "type": "nominal", "sort": order, "title": None,
         "axis": {"labelLimit": 220, **c.bold_labels(highlighted)}}
    tooltip = c.tooltip_spec([{"field": "significance", "type": "nominal", "title": f"Compared with {bench_name}"}])
    unit = meta["unit"]
    x_title = f"{meta['name']}" if not unit else f"Value ({unit})"
    builder = _spec.SpecBuilder()
    rows_ref = builder.data(data_)
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
        label = f"{bench_name}: {c.fmt(pd.Series([bench_value]), digits).iloc[0]}"
        bench_ref = builder.data([{"value": bench_value, "label": label}])
        value_x = {"field": "value", "type": "quantitative"}
        layers.append({"data": bench_ref, "mark": {"type": "rule", "color": palette.BENCHMARK_LINE,
                                                   "strokeWidth": 1.5, "strokeDash": [6, 3]},
                       "encoding": {"x": value_x, "tooltip": {"field": "label", "type": "nominal",
                                                              "title": "Benchmark"}}})
        layers.append({"data": bench_ref, "mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 4,
                                                   "dy": -2, "fontSize": theme.SMALL, "fontWeight": "bold"},
                       "encoding": {"x": value_x, "y": {"value": 0}, "text": {"field": "label", "type": "nominal"}}})
    period_text = c.period_range(data_["period"])
    subtitle = c.caption(period_text, c.breakdown_text(rows_all), "bars: value; whiskers: 95% confidence interval",
                         f"dashed line: {bench_name}" if np.isfinite(bench_value) else None,
                         source=c.source_of(rows_all, source, meta))
    spec: dict[str, Any] = {"layer": layers, "width": width, "height": bar_height * len(order),
                            "title": _spec.title(title or meta["name"], subtitle)}
    return builder.finish(_shared_data(spec))


def _shared_data(spec: dict[str, Any]) -> dict[str, Any]:
    """A layer spec whose layers all draw the same dataset gets it once, on the parent (as Altair writes it)."""
    refs = [layer.get("data") for layer in spec["layer"]]
    if refs and refs[0] is not None and all(ref == refs[0] for ref in refs):
        spec = {"data": refs[0], **spec, "layer": [{k: v for k, v in layer.items() if k != "data"}
                                                   for layer in spec["layer"]]}
    return spec
