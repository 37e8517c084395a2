"""Trend: one indicator over time for an area, with its 95% confidence band, the benchmarks'
lines (England, the region...) and the area's points coloured and shaped by their (given)
significance in each period.

The chart is written directly as a Vega-Lite spec (plain dicts, see :mod:`._spec`): the same spec
Altair's object model produced, without its validation and copying costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import palette
from . import _common as c
from . import _spec

_DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4])
_SERIES_COLOURS = (palette.AREA_COLOUR, palette.ENGLAND_COLOUR, palette.REGION_COLOUR, "#D46A00", "#6A3D9A")


#: The columns of the area's own rows that the chart uses.
_LINE_COLUMNS = frozenset({"indicator_id", "area_code", "sex", "age", "category_type", "category", "period",
                           "period_sort", "value", "lower_95", "upper_95", "count", "significance"})


def trend(data: Any, indicator: Any = None, area: str | None = None, *,
          benchmarks: Sequence[str] | Mapping[str, str] = ("england", "region"), sex: str | None = None,
          age: str | None = None, significance_benchmark: str | None = "england",
          names: Any = None, metadata: pd.DataFrame | None = None,
          title: str | None = None, source: str | None = None, decimals: int | None = None,
          width: int = 520, height: int = 260) -> _spec.Chart:
    """An area's values over time with the benchmarks' lines: the area's line, its 95% confidence
    interval as a shaded band and its points filled and shaped by their significance against England
    in each period; each benchmark as a dashed grey-pointed line.

    Parameters
    ----------
    data : DataFrame or profile
        A profile (its ``time_series``: the area's values with ``england_value``,
        ``region_value`` and ``vs_england`` per period) or the indicator's rows over time: the area's (``value``, ``lower_95``, ``upper_95``,
        ``count``, ``period``, ``period_sort``, optional ``significance``) and the benchmarks'
        own rows, or a comparisons slice of the area (its ``benchmark_value`` per benchmark and
        ``england_value`` give the benchmark lines; the ``significance_benchmark`` rows colour
        the points).
    indicator : int
        Indicator id (may be omitted when the data hold one indicator).
    area : str
        The area's code (may be omitted when the data hold one area besides the benchmarks).
    benchmarks : list of area codes or labels ("england", "region", "parent"), or {code: name}
        Lines to draw beside the area's; a benchmark with no values in the data is skipped.
    """
    names = {**c.names_mapping(data if not isinstance(data, pd.DataFrame) else None), **c.names_mapping(names)}
    if area is None and not isinstance(data, pd.DataFrame):
        area = c.attr(data, "area_code")
    source = source or c.attr(data, "source") or None
    data = c.frame_from(data, c.SERIES_ATTRS, "time series")
    rows = c.indicator_rows(data, indicator, sex=sex, age=age, chart="trend")
    ind_id = c.numbers(rows["indicator_id"]).iloc[0]
    meta = c.indicator_meta(rows, metadata, ind_id)
    codes = c.text(rows["area_code"])
    if area is None:
        candidates = sorted(set(codes) - {c.ENGLAND} - {x for x in set(codes) if x.startswith("E12")})
        if len(candidates) != 1:
            raise ValueError(f"trend: say which area with area=<code> (the data have {', '.join(candidates)})")
        area = candidates[0]
    area = str(area).strip().upper()
    own = c.one_benchmark(rows[(codes == area).to_numpy()], significance_benchmark)
    if own.empty:
        raise ValueError(f"trend: no rows for area {area} and indicator {int(ind_id)}")
    own = own.drop_duplicates("period")
    own = own[[k for k in own.columns if k in _LINE_COLUMNS]]  # the rest (a profile's ~60 columns) is not drawn
    digits = decimals if decimals is not None else c.decimals_for(own["value"])

    # Series: the area, then each benchmark found in the data (names looked up together).
    items = list(benchmarks.items()) if isinstance(benchmarks, Mapping) else [(b, None) for b in benchmarks]
    found: list[tuple[Any, str | None, pd.DataFrame, str]] = []  # (code, label, rows, area code)
    for code, label in items:
        bench = c.benchmark_values(rows, code)
        if bench.empty or str(code).upper() == area:
            continue
        found.append((code, label, bench, c.text(bench["area_code"]).iloc[0]))
    looked_up = iter(c.area_names(pd.Series([area, *(b[3] for b in found if not b[1])]), data, names))
    area_name = next(looked_up)
    series = [own.assign(series=area_name, area_code=area)]
    for code, label, bench, bench_code in found:
        name = label or next(looked_up)
        if name == bench_code and str(code).lower() in ("region", "parent"):
            name = str(code).capitalize()
        series.append(bench.assign(series=name))
    lines = pd.concat(series, ignore_index=True)
    lines["indicator_name"] = meta["name"]
    lines = c.add_display_columns(lines, digits)
    lines["area_name"] = lines["series"]
    order_frame = lines.drop_duplicates("period")
    if "period_sort" in order_frame.columns:
        order_frame = order_frame.assign(_s=c.numbers(order_frame["period_sort"])).sort_values("_s", kind="stable")
    periods = list(c.text(order_frame["period"]))
    names_ = list(dict.fromkeys(lines["series"]))
    cols = ["series", "area_name", "indicator_name", "period", "value", "lower_95", "upper_95", "value_text",
            "ci_text", "count_text", "significance"]
    frame = c.clean_for_json(lines[[k for k in cols if k in lines.columns]])
    area_rows = frame[frame["series"] == area_name].copy()
    if "significance" not in area_rows.columns:
        area_rows["significance"] = palette.NOT_COMPARED

    x = {"field": "period", "type": "ordinal", "sort": periods, "title": "Period",
         "axis": {"labelAngle": -40 if len(periods) > 6 or max(map(len, periods)) > 7 else 0}}
    y_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    y = {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False, "nice": True}}
    tooltip = c.tooltip_spec([{"field": "significance", "type": "nominal", "title": "Compared with England"}])
    builder = _spec.SpecBuilder()
    area_ref = builder.data(area_rows)
    band = {"data": area_ref, "mark": {"type": "area", "opacity": 0.18, "color": palette.AREA_COLOUR},
            "encoding": {"x": x, "y": {"field": "lower_95", "type": "quantitative", "title": y_title},
                         "y2": {"field": "upper_95"}}}
    line = {"data": builder.data(frame), "mark": {"type": "line", "strokeWidth": 2}, "encoding": {
        "x": x, "y": y,
        "stroke": {"field": "series", "type": "nominal", "sort": names_, "title": None,
                   "legend": c.legend_spec(None, columns=4, symbolType="stroke"),
                   "scale": {"domain": names_, "range": list(_SERIES_COLOURS[:len(names_)])}},
        "strokeDash": {"field": "series", "type": "nominal", "sort": names_, "legend": None,
                       "scale": {"domain": names_, "range": [list(d) for d in _DASHES[:len(names_)]]}},
        "tooltip": tooltip}}
    bench_points = {"data": builder.data(frame[(frame["series"] != area_name).to_numpy()]),
                    "mark": {"type": "point", "size": 25, "filled": True, "color": "#555555"},
                    "encoding": {"x": x, "y": y, "tooltip": tooltip}}
    labels = list(area_rows["significance"])
    compared = c.has_significance(area_rows)
    if compared:
        legend = c.legend_spec(f"{area_name} compared with England", columns=4)
        points = {"data": area_ref, "mark": {"type": "point", "size": 90, "filled": True, "stroke": "black",
                                             "strokeWidth": 0.6, "opacity": 1},
                  "encoding": {"x": x, "y": y,
                               "fill": {"field": "significance", "type": "nominal",
                                        "scale": c.significance_scale_spec(labels), "legend": legend},
                               "shape": {"field": "significance", "type": "nominal",
                                         "scale": c.shape_scale_spec(labels), "legend": dict(legend)},
                               "tooltip": tooltip}}
    else:
        points = {"data": area_ref, "mark": {"type": "point", "size": 45, "filled": True,
                                             "color": palette.AREA_COLOUR, "opacity": 1},
                  "encoding": {"x": x, "y": y, "tooltip": tooltip}}
    subtitle = c.caption(c.period_range(pd.Series(periods)), c.breakdown_text(rows),
                         "shaded band: 95% confidence interval of " + area_name,
                         None if compared else "no significance given for the points",
                         source=c.source_of(rows, source, meta))
    return builder.finish({"layer": [band, line, bench_points, points], "resolve": {"scale": {"color": "independent"}},
                           "width": width, "height": height,
                           "title": _spec.title(title or meta["name"], subtitle)})
