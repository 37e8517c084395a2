"""Trend: one indicator over time for an area, with its 95% confidence band, the benchmarks'
lines (England, the region...) and the area's points coloured and shaped by their (given)
significance in each period.

The chart is written directly as a Vega-Lite spec (plain dicts, see :mod:`._spec`): the same spec
Altair's object model produced, without its validation and copying costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import _spec

_DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4])
_SERIES_COLOURS = (palette.AREA_COLOUR, palette.ENGLAND_COLOUR, palette.REGION_COLOUR, "#D46A00", "#6A3D9A")


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
    pos, ind_id = c.indicator_positions(data, indicator, sex=sex, age=age, chart="trend")
    meta = c.indicator_meta_at(data, pos, metadata, ind_id)
    codes = c.text_at(data["area_code"], pos)
    if area is None:
        candidates = sorted(set(codes) - {c.ENGLAND} - {x for x in set(codes) if x.startswith("E12")})
        if len(candidates) != 1:
            raise ValueError(f"trend: say which area with area=<code> (the data have {', '.join(candidates)})")
        area = candidates[0]
    area = str(area).strip().upper()
    own, sig_column = c.one_benchmark_positions(data, pos[codes == area], significance_benchmark)
    if not len(own):
        raise ValueError(f"trend: no rows for area {area} and indicator {int(ind_id)}")
    own = own[c.first_rows(c.raw_codes(data["period"], own))]  # one row per period
    own_values = c.floats(data["value"])[own]
    digits = decimals if decimals is not None else c.decimals_of(own_values)

    # Series: the area, then each benchmark found in the data (names looked up together).
    items = list(benchmarks.items()) if isinstance(benchmarks, Mapping) else [(b, None) for b in benchmarks]
    found: list[tuple[Any, str | None, c.Benchmark]] = []  # (code, label, rows)
    for code, label in items:
        bench = c.benchmark_at(data, pos, code)
        if bench is None or str(code).upper() == area:
            continue
        found.append((code, label, bench))
    looked_up = iter(c.area_names_of(np.array([area, *(b[2].codes[0] for b in found if not b[1])], dtype=object),
                                 data, names))
    area_name = str(next(looked_up))
    series_names = [area_name]
    for code, label, bench in found:
        name = label or str(next(looked_up))
        if name == bench.codes[0] and str(code).lower() in ("region", "parent"):
            name = str(code).capitalize()
        series_names.append(name)
    parts = [own, *(b[2].pos for b in found)]
    at = np.concatenate(parts)  # the lines' rows: positions into the data
    series = np.repeat(np.array(series_names, dtype=object), [len(part) for part in parts])
    drawn = [True, *(b[2].own for b in found)]  # rows whose limits and count are drawn (not only a value)

    def stacked(arrays: list[np.ndarray]) -> np.ndarray:
        """The parts' values one after the other (missing values in an object column written as null)."""
        out = np.concatenate(arrays)
        return np.where(pd.isna(out), None, out) if out.dtype == object else out

    def drawn_only(name: str, read: Any) -> np.ndarray:
        """Column ``name`` of the lines read with ``read``: the data's at the rows whose limits and count
        are drawn (the area's and a benchmark's own rows), missing for a benchmark's value only."""
        return stacked([read(data[name], part) if whole else np.full(len(part), np.nan)
                        for part, whole in zip(parts, drawn, strict=True)])

    def numbers_of(name: str) -> np.ndarray:
        if name not in data.columns:
            return np.full(len(at), np.nan)
        return drawn_only(name, lambda column, part: c.floats(column)[part])

    values = np.concatenate([own_values, *(b[2].values for b in found)])
    columns: dict[str, Any] = {"series": series, "area_name": series, "indicator_name": meta["name"],
                               "period": c.json_at(data["period"], at)}
    columns["value"] = stacked([c.json_at(data["value"], own),
                                *(c.json_at(data["value"], b[2].pos) if b[2].own else b[2].values for b in found)])
    for name in ("lower_95", "upper_95"):
        if name in data.columns:
            columns[name] = drawn_only(name, c.json_at)
    columns.update(c.display_columns(values, numbers_of("lower_95"), numbers_of("upper_95"), numbers_of("count"),
                                    digits))
    if sig_column is not None:  # the benchmarks' rows are not compared
        columns["significance"] = np.concatenate([c.significance_at(data, sig_column, own),
                                                  np.full(len(at) - len(own), palette.NOT_COMPARED, dtype=object)])
    first = c.first_rows(c.raw_codes(data["period"], at))  # the periods in order of period_sort
    if "period_sort" in data.columns:
        first = first[c.ascending(c.floats(data["period_sort"])[at[first]])]
    periods = c.text_at(data["period"], at[first]).tolist()
    names_ = list(dict.fromkeys(series_names))
    mine = series == area_name  # the area's rows (and a benchmark's of the same name, as drawn before)
    n_area = int(mine.sum())
    area_rows = {name: column[mine] if isinstance(column, np.ndarray) else column for name, column in columns.items()}
    if "significance" not in area_rows:
        area_rows["significance"] = np.full(n_area, palette.NOT_COMPARED, dtype=object)
    others = {name: column[~mine] if isinstance(column, np.ndarray) else column for name, column in columns.items()}
    x = {"field": "period", "type": "ordinal", "sort": periods, "title": "Period",
         "axis": {"labelAngle": -40 if len(periods) > 6 or max(map(len, periods)) > 7 else 0}}
    y_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    y = {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False, "nice": True}}
    tooltip = c.tooltip_spec([{"field": "significance", "type": "nominal", "title": "Compared with England"}])
    builder = _spec.SpecBuilder()
    area_ref = builder.data(_spec.array_records(area_rows, n_area))
    band = {"data": area_ref, "mark": {"type": "area", "opacity": 0.18, "color": palette.AREA_COLOUR},
            "encoding": {"x": x, "y": {"field": "lower_95", "type": "quantitative", "title": y_title},
                         "y2": {"field": "upper_95"}}}
    lines_ref = builder.data(_spec.array_records(columns, len(at)))
    line = {"data": lines_ref, "mark": {"type": "line", "strokeWidth": 2}, "encoding": {
        "x": x, "y": y,
        "stroke": {"field": "series", "type": "nominal", "sort": names_, "title": None,
                   "legend": c.legend_spec(None, columns=4, symbolType="stroke"),
                   "scale": {"domain": names_, "range": list(_SERIES_COLOURS[:len(names_)])}},
        "strokeDash": {"field": "series", "type": "nominal", "sort": names_, "legend": None,
                       "scale": {"domain": names_, "range": [list(d) for d in _DASHES[:len(names_)]]}},
        "tooltip": tooltip}}
    bench_points = {"data": builder.data(_spec.array_records(others, len(at) - n_area)),
                    "mark": {"type": "point", "size": 25, "filled": True, "color": "#555555"},
                    "encoding": {"x": x, "y": y, "tooltip": tooltip}}
    labels = area_rows["significance"].tolist()
    compared = c.compared(area_rows["significance"])
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
    subtitle = c.caption(c.period_range(np.array(periods, dtype=object)), c.breakdown_text_at(data, pos),
                         "shaded band: 95% confidence interval of " + area_name,
                         None if compared else "no significance given for the points",
                         source=c.source_of_at(data, pos, source, meta))
    return builder.finish({"layer": [band, line, bench_points, points], "resolve": {"scale": {"color": "independent"}},
                           "width": width, "height": height,
                           "title": _spec.title(title or meta["name"], subtitle)})
