"""Funnel plot: areas' values against their size (denominator, or expected count for a ratio),
with the target and the 95% and 99.8% control limits *given* as a frame (compute them with
:func:`jsna_lib.stats.funnel_limits`; charts compute no statistics).

The chart is written directly as a Vega-Lite spec (plain dicts, see :mod:`._spec`): the same spec
Altair's object model produced, without its validation and copying costs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import palette
from . import _common as c
from . import _spec, theme

_LIMITS = {  # limits column → (legend label, dash)
    "target": ("Target", [1, 0]),
    "upper_95": ("95% limits", [6, 3]),
    "lower_95": ("95% limits", [6, 3]),
    "upper_99_8": ("99.8% limits", [2, 2]),
    "lower_99_8": ("99.8% limits", [2, 2]),
}


def funnel(data: pd.DataFrame, indicator: Any = None, limits: pd.DataFrame | None = None, *,
           x: str = "denominator", period: str | None = None, sex: str | None = None, age: str | None = None,
           areas: Any = None, highlight: str | Sequence[str] | None = None,
           significance_benchmark: str | None = "england", names: Any = None,
           metadata: pd.DataFrame | None = None, log_x: bool = False, title: str | None = None,
           source: str | None = None, decimals: int | None = None, width: int = 520,
           height: int = 340) -> _spec.Chart:
    """A funnel plot of one indicator in one period: each area's value (y) against its size (x),
    filled and shaped by its given significance, over the target line and the 95% and 99.8%
    control limits; highlighted areas are ringed and named.

    Parameters
    ----------
    data : DataFrame
        Rows of the indicator for the areas: ``area_code``, ``value``, the size column ``x``
        (``denominator`` by default), ``period``; optional ``significance`` (then points are
        coloured and shaped by it), ``area_name``, ``count``.
    limits : DataFrame
        Output of ``stats.funnel_limits``: the size column (``x``, or ``expected`` /
        ``denominator``), ``target`` and any of ``lower_95``, ``upper_95``, ``lower_99_8``,
        ``upper_99_8``. Without it the points are drawn alone (the caption says so).
    areas : list of codes, optional
        Points to draw (default: every area of the data except England and regions).
    highlight : code(s), optional
        Labelled by name and ringed.
    log_x : bool
        A log scale for the size axis (useful when sizes span several orders of magnitude).
    """
    rows = c.latest(c.indicator_rows(data, indicator, sex=sex, age=age, chart="funnel"), period)
    rows = c.one_benchmark(rows, significance_benchmark)
    ind_id = c.numbers(rows["indicator_id"]).iloc[0]
    meta = c.indicator_meta(rows, metadata, ind_id)
    c.require(rows, [x, "value"], "funnel")
    codes = c.text(rows["area_code"]).str.upper()
    if areas is not None:
        rows = rows[codes.isin(c.area_codes(areas)).to_numpy()]
    else:
        rows = rows[~codes.str.startswith(("E92", "E12")).to_numpy()]
    rows = rows.drop_duplicates("area_code")
    rows = rows[(c.numbers(rows[x]) > 0).to_numpy() & c.numbers(rows["value"]).notna().to_numpy()]
    if rows.empty:
        raise ValueError(f"funnel: no areas with a value and a positive {x} for indicator {int(ind_id)}")
    digits = decimals if decimals is not None else c.decimals_for(rows["value"])
    rows = c.add_display_columns(rows, digits)
    rows["size"] = c.numbers(rows[x]).to_numpy()
    rows["size_text"] = c.fmt(rows["size"], 0 if x != "expected" else 1).to_numpy()
    rows["area_name"] = c.area_names(rows["area_code"], data, names).to_numpy()
    rows["indicator_name"] = meta["name"]
    marked = {str(h).upper() for h in ([highlight] if isinstance(highlight, str) else (highlight or []))}
    rows["highlight"] = c.text(rows["area_code"]).str.upper().isin(marked).to_numpy()
    coloured = c.has_significance(rows)
    cols = ["area_name", "indicator_name", "period", "value", "size", "value_text", "ci_text", "count_text",
            "size_text", "highlight", *(["significance"] if coloured else [])]
    points_data = c.clean_for_json(rows[[k for k in cols if k in rows.columns]])
    size_title = {"denominator": "Denominator (population at risk)", "expected": "Expected count"}.get(x, x)
    x_scale = {"type": "log"} if log_x else {"zero": True, "nice": True}
    x_enc = {"field": "size", "type": "quantitative", "title": size_title, "scale": x_scale}
    y_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    y_enc = {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False, "nice": True}}
    tooltip = c.tooltip_spec([{"field": "size_text", "type": "nominal", "title": size_title},
                              *([{"field": "significance", "type": "nominal", "title": "Compared with England"}]
                                if coloured else [])])
    builder = _spec.SpecBuilder()
    layers: list[dict[str, Any]] = []
    limit_note = "no control limits given"
    if limits is not None and len(limits):
        size_col = x if x in limits.columns else next((k for k in ("expected", "denominator") if k in limits.columns),
                                                       None)
        if size_col is None:
            raise ValueError(f"funnel: the limits frame has no {x!r} (or expected/denominator) column")
        present = [k for k in _LIMITS if k in limits.columns]
        long = limits[[size_col, *present]].melt(id_vars=size_col, var_name="line", value_name="value")
        long = long.rename(columns={size_col: "size"}).dropna(subset=["size", "value"])
        long["size"] = c.numbers(long["size"]).to_numpy()
        long["value"] = c.numbers(long["value"]).to_numpy()
        long = long[(long["size"] > 0).to_numpy()] if log_x else long
        long["limit"] = long["line"].map({k: v[0] for k, v in _LIMITS.items()}).to_numpy()
        kinds = list(dict.fromkeys(long["limit"]))
        dashes = {v[0]: v[1] for v in _LIMITS.values()}
        layers.append({"data": builder.data(c.clean_for_json(long)),
                       "mark": {"type": "line", "color": "#333333", "strokeWidth": 1.3},
                       "encoding": {"x": x_enc, "y": y_enc, "detail": {"field": "line", "type": "nominal"},
                                    "strokeDash": {"field": "limit", "type": "nominal",
                                                   "scale": {"domain": kinds, "range": [dashes[k] for k in kinds]},
                                                   "legend": c.legend_spec("Lines", columns=3,
                                                                           symbolType="stroke")}}})
        limit_note = "lines: target and 95% / 99.8% control limits"
    points_ref = builder.data(points_data)
    if coloured:
        labels = list(points_data["significance"])
        legend_title = "Compared with England"
        points = {"mark": {"type": "point", "filled": True, "size": 60, "stroke": "black", "strokeWidth": 0.5,
                           "opacity": 0.95},
                  "encoding": {"x": x_enc, "y": y_enc, "tooltip": tooltip,
                               "fill": {"field": "significance", "type": "nominal",
                                        "scale": c.significance_scale_spec(labels),
                                        "legend": c.legend_spec(legend_title)},
                               "shape": {"field": "significance", "type": "nominal",
                                         "scale": c.shape_scale_spec(labels),
                                         "legend": c.legend_spec(legend_title)}}}
    else:
        points = {"mark": {"type": "point", "filled": True, "size": 50, "color": palette.AREA_COLOUR,
                           "opacity": 0.8},
                  "encoding": {"x": x_enc, "y": y_enc, "tooltip": tooltip}}
    marks = [points]
    if marked:
        ring = {"transform": [{"filter": "datum.highlight"}],
                "mark": {"type": "point", "size": 260, "shape": "circle", "filled": False, "color": "black",
                         "strokeWidth": 1.6},
                "encoding": {"x": x_enc, "y": y_enc}}
        labels_ = [{"transform": [{"filter": "datum.highlight"}],
                    "mark": {"type": "text", "align": "left", "dx": 11, "dy": -9, "fontWeight": "bold",
                             "fontSize": theme.SMALL, **halo},
                    "encoding": {"x": x_enc, "y": y_enc, "text": {"field": "area_name", "type": "nominal"}}}
                   for halo in ({"stroke": "white", "strokeWidth": 4, "strokeJoin": "round"}, {})]  # halo, then text
        marks += [ring, *labels_]
    subtitle = c.caption(c.period_range(points_data["period"]), c.breakdown_text(rows),
                         f"{len(points_data)} areas", limit_note, source=c.source_of(rows, source, meta))
    spec: dict[str, Any] = {"resolve": {"scale": {"strokeDash": "independent"}}, "width": width, "height": height,
                            "title": _spec.title(title or meta["name"], subtitle)}
    if layers:
        spec["layer"] = [*layers, *({"data": points_ref, **mark} for mark in marks)]
    else:  # every layer draws the points: the data go on the parent (as Altair writes it)
        spec = {"data": points_ref, "layer": marks, **spec}
    return builder.finish(spec)
