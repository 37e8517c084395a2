"""Fan charts of the trend continuations of :mod:`jsna_lib.projection`, as Vega-Lite dicts.

Observed values are drawn solid, the projection dashed with its interval shaded:

* :func:`population_chart`: small multiples of :func:`jsna_lib.projection.project_population`,
  one per broad age group and all ages, each with its own scale;
* :func:`indicator_chart`: one series of :func:`jsna_lib.projection.project_indicators`
  (published values with their 95% confidence intervals, the weighted trend line continued
  and its confidence band);
* :func:`indicator_charts`: several of those, a few to a row, as one chart.

Like the other builders they draw what they are given and compute no statistics. This module
does not import :mod:`jsna_lib.projection` (which loads scipy); ``projection.population_chart``
and ``projection.indicator_charts`` call these functions.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from .. import palette
from . import _spec

__all__ = ["indicator_chart", "indicator_charts", "population_chart"]

_OBSERVED, _PROJECTED = "Observed", "Trend continued"
_KIND_IS_PROJECTED = {"filter": "(datum.kind === 'projected')"}
_KIND_IS_OBSERVED = {"filter": "(datum.kind === 'observed')"}


def _age_label(group: str) -> str:
    """``"0-14"`` → ``"Aged 0 to 14"``, ``"85+"`` → ``"Aged 85 and over"``, all ages as is."""
    if group == palette.ALL_AGES:
        return "All ages"
    return f"Aged {group[:-1]} and over" if group.endswith("+") else f"Aged {group.replace('-', ' to ')}"


def _texts(values: np.ndarray, fmt: Any) -> np.ndarray:
    """Each number of a float array formatted with ``fmt`` (e.g. ``"{:,.0f}".format``), as an object array."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(map(fmt, values.tolist()))
    return out


def population_chart(projection: pd.DataFrame, area_code: str | None = None, *, area_name: str = "",
                     level: float = 0.95, source: str | None = None, columns: int = 3, width: int = 170,
                     height: int = 120) -> _spec.Chart | None:
    """Small multiples, one per broad age group and all ages: observed totals (solid line and
    points), the projection (dashed) and its prediction interval (shaded); each panel has its
    own scale. None when nothing was projected.

    ``projection`` is the output of :func:`jsna_lib.projection.project_population`; ``area_code``
    picks one area from it (all rows when None).
    """
    kind = projection["kind"].to_numpy(dtype=object)
    if area_code is None:
        rows = np.arange(len(projection))
    else:
        rows = np.flatnonzero(projection["area_code"].to_numpy(dtype=object, na_value=None) == str(area_code).upper())
    kind = kind[rows]
    is_projected = kind == "projected"
    if not is_projected.any():
        return None
    codes, order = pd.factorize(projection["age_group"].to_numpy(dtype=object)[rows], use_na_sentinel=False)
    order = order.tolist()
    year = projection["year"].to_numpy()[rows]
    observed = np.flatnonzero(kind == "observed")
    last = np.full(len(order), np.nan)
    np.fmax.at(last, codes[observed], year[observed].astype(float))
    bridge = observed[year[observed] == last[codes[observed]]]  # joins the dashed line to the last observed year
    take = np.concatenate([observed, bridge, np.flatnonzero(is_projected)])
    projected = np.r_[np.zeros(len(observed), dtype=bool), np.ones(len(take) - len(observed), dtype=bool)]
    labels = {g: _age_label(g) for g in order}
    population, lower, upper = (projection[name].to_numpy(dtype=float)[rows][take]
                                for name in ("population", "lower", "upper"))
    fmt = "{:,.0f}".format
    interval = np.full(len(take), "–", dtype=object)
    interval[projected] = _texts(lower[projected], fmt) + " to " + _texts(upper[projected], fmt)
    frame = {"panel": np.array([labels[g] for g in order], dtype=object)[codes[take]], "year": year[take],
             "kind": np.where(projected, "projected", "observed").astype(object), "population": population,
             "lower": lower, "upper": upper, "value_text": _texts(population, fmt), "interval_text": interval,
             "series": np.where(projected, _PROJECTED, _OBSERVED).astype(object)}

    tooltip = _spec.tooltip(("panel", "Age group"), ("year", "ordinal", "Year"), ("series", " "),
                            ("value_text", "Population"), ("interval_text", f"{level:.0%} prediction interval"))
    x = _spec.field("year", "quantitative", title=None,
                    axis={"format": "d", "tickMinStep": 1, "labelAngle": 0, "tickCount": 4})
    y = _spec.field("population", "quantitative", title=None, scale={"zero": False},
                    axis={"format": "~s", "tickCount": 4})
    band = {"mark": {"type": "area", "opacity": 0.25, "color": palette.AREA_COLOUR},
            "encoding": {"x": x, "y": _spec.field("lower", "quantitative"), "y2": {"field": "upper"},
                         "tooltip": tooltip},
            "transform": [_KIND_IS_PROJECTED]}
    dash = {"field": "series", "type": "nominal",
            "scale": {"domain": [_OBSERVED, _PROJECTED], "range": [[1, 0], [5, 3]]},
            "legend": {"orient": "top", "title": None, "symbolType": "stroke", "symbolStrokeWidth": 2}}
    lines = {"mark": {"type": "line", "strokeWidth": 2, "color": palette.AREA_COLOUR},
             "encoding": {"x": x, "y": y, "detail": _spec.field("kind", "nominal"), "strokeDash": dash,
                          "tooltip": tooltip}}
    points = {"mark": {"type": "point", "filled": True, "size": 20, "color": palette.AREA_COLOUR},
              "encoding": {"x": x, "y": y, "tooltip": tooltip},
              "transform": [_KIND_IS_OBSERVED]}

    subtitle = [f"Observed totals (solid) and the log-linear trend continued (dashed) with its {level:.0%} prediction "
                "interval (shaded); each panel has its own scale",
                "The interval shows how closely past years follow the trend; it does not allow for a change of trend"]
    if source:
        subtitle.append(f"Source: {source}")
    title = f"Population by broad age group{': ' + area_name if area_name else ''}"
    builder = _spec.SpecBuilder()
    return builder.finish({  # the data once, on the faceted layer
        "data": builder.data(_spec.array_records(frame, len(take))),
        "facet": {"field": "panel", "type": "nominal", "sort": [labels[g] for g in order], "title": None,
                  "header": {"labelFontWeight": "bold", "labelFontSize": 11, "labelAnchor": "start"}},
        "spec": {"layer": [band, lines, points], "width": width, "height": height},
        "columns": columns,
        "resolve": {"scale": {"y": "independent"}},
        "title": {"text": title, "subtitle": subtitle, "anchor": "start"},
    })


def _series_positions(columns: dict[str, np.ndarray], indicator_id: int, sex: str | None,
                      age: str | None) -> np.ndarray:
    """Row positions of one series: the first area, sex and age among the rows matching the
    arguments. ``columns`` holds the projection's ``indicator_id`` (as numbers), ``sex``, ``age``
    and ``area_code`` as arrays."""
    keep = columns["indicator_id"] == int(indicator_id)
    if sex is not None:
        keep = keep & (columns["sex"] == sex)
    if age is not None:
        keep = keep & (columns["age"] == age)
    hits = np.flatnonzero(keep)
    if not hits.size:
        raise ValueError(f"indicator_chart: no projection rows for indicator {indicator_id}"
                         + (f" ({sex}, {age})" if sex or age else ""))
    same = np.ones(hits.size, dtype=bool)
    for name in ("area_code", "sex", "age"):
        values = columns[name][hits]
        same &= values == values[0]
    return hits[same]


def _panels(builder: _spec.SpecBuilder, projection: pd.DataFrame, series: list[tuple[int, Any, Any]], *,
            source: str | None, decimals: int, width: int, height: int) -> list[dict[str, Any]]:
    """The layered spec of :func:`indicator_chart` for each ``(indicator_id, sex, age)`` of
    ``series`` (their datasets registered in ``builder``). The rows of all the series are
    taken and formatted together, as arrays, and turned into JSON rows once."""
    columns = {name: projection[name].to_numpy(dtype=object) for name in ("area_code", "sex", "age")}
    columns["indicator_id"] = pd.to_numeric(projection["indicator_id"]).to_numpy()
    positions = [_series_positions(columns, *key) for key in series]
    sizes = [len(part) for part in positions]
    rows = np.concatenate(positions)
    panel = np.repeat(np.arange(len(positions)), sizes)
    kind = projection["kind"].to_numpy(dtype=object)[rows]
    year = projection["year"].to_numpy()[rows]
    observed = kind == "observed"
    last_observed = np.full(len(positions), np.nan)
    np.fmax.at(last_observed, panel[observed], year[observed].astype(float))
    number = {name: projection[name].to_numpy(dtype=float)[rows]
              for name in ("value", "lower_95", "upper_95", "trend", "trend_lower_95", "trend_upper_95")}
    fmt = f"{{:,.{decimals}f}}".format
    frame = {"period": projection["period"].to_numpy(dtype=object)[rows], "year": year, "kind": kind, **number,
             "series": np.where(kind == "projected", _PROJECTED, _OBSERVED).astype(object),
             "value_text": _texts(number["value"], fmt),
             "interval_text": _texts(number["lower_95"], fmt) + " to " + _texts(number["upper_95"], fmt),
             "trend_text": _texts(number["trend"], fmt), "band": year >= last_observed[panel]}
    values = _spec.array_records(frame, len(rows))
    info = {name: projection[name].to_numpy(dtype=object)[rows] for name in ("name", "unit", "sex", "age")}
    stops = np.cumsum(sizes).tolist()
    panels = []
    for key, size, stop in zip(series, sizes, stops, strict=True):
        first = {name: column[stop - size] for name, column in info.items()}
        part = slice(stop - size, stop)
        periods = list(dict.fromkeys(frame["period"][part][np.argsort(year[part], kind="stable")].tolist()))
        panels.append(_panel_spec(builder, key[0], first, periods, values[part], source=source, width=width,
                                  height=height))
    return panels


def _panel_spec(builder: _spec.SpecBuilder, indicator_id: int, first: dict[str, Any], periods: list[Any],
                values: list[dict[str, Any]], *, source: str | None, width: int, height: int) -> dict[str, Any]:
    """One series' layers: ``first`` holds its first projection row's ``name``, ``unit``, ``sex``
    and ``age``, ``periods`` its periods in order of year and ``values`` its JSON rows."""
    name = str(first["name"] or f"Indicator {indicator_id}")
    unit = str(first["unit"] or "")
    tooltip = _spec.tooltip(("period", "Period"), ("series", " "),
                            ("value_text", f"Value{' (' + unit + ')' if unit else ''}"),
                            ("interval_text", "95% interval"), ("trend_text", "Trend line"))
    x = _spec.field("period", "nominal", sort=periods, title=None, axis={"labelAngle": -40})
    data = builder.data(values)
    band = {"data": data, "mark": {"type": "area", "opacity": 0.22, "color": palette.AREA_COLOUR},
            "encoding": {"x": x, "y": _spec.field("trend_lower_95", "quantitative", title=unit or "Value",
                                                  scale={"zero": False}),
                         "y2": {"field": "trend_upper_95"}, "tooltip": tooltip},
            "transform": [{"filter": "datum.band"}]}
    line = {"data": data,
            "mark": {"type": "line", "color": palette.AREA_COLOUR, "strokeWidth": 1.5, "strokeDash": [5, 3]},
            "encoding": {"x": x, "y": _spec.field("trend", "quantitative"), "tooltip": tooltip}}
    whiskers = {"data": data, "mark": {"type": "rule", "color": "#333333"},
                "encoding": {"x": x, "y": _spec.field("lower_95", "quantitative"), "y2": {"field": "upper_95"},
                             "tooltip": tooltip},
                "transform": [_KIND_IS_OBSERVED]}
    points = {"data": data,
              "mark": {"type": "point", "filled": True, "size": 36, "color": palette.AREA_COLOUR, "opacity": 1},
              "encoding": {"x": x, "y": _spec.field("value", "quantitative"), "tooltip": tooltip},
              "transform": [_KIND_IS_OBSERVED]}
    label = {"data": builder.data(values[-1:]),  # the last projected value, written at the end of the line
             "mark": {"type": "text", "align": "left", "dx": 6, "fontSize": 10, "color": "#222222"},
             "encoding": {"x": x, "y": _spec.field("trend", "quantitative"),
                          "text": _spec.field("trend_text", "nominal")}}

    sex_text = {"Male": " (males)", "Female": " (females)"}.get(str(first["sex"]), "")
    age_text = str(first["age"])
    lines = textwrap.wrap(name + sex_text, width=max(20, width // 6)) or [name]
    subtitle = [age_text] if age_text not in ("", "All ages", "Not applicable") else []
    if source:
        subtitle.append(f"Source: {source}")
    # Names wrapped here (not truncated by Vega, whose text measuring is slow in vl-convert).
    title: dict[str, Any] = {"text": lines[:3], "anchor": "start", "fontSize": 12, "limit": 0}
    if subtitle:
        title["subtitle"] = subtitle
    return {"layer": [band, line, whiskers, points, label], "width": width, "height": height, "title": title}


def indicator_chart(projection: pd.DataFrame, indicator_id: int, sex: str | None = None, age: str | None = None,
                    *, level: float = 0.95, source: str | None = None, decimals: int = 1, width: int = 280,
                    height: int = 160) -> _spec.Chart:
    """One series of :func:`jsna_lib.projection.project_indicators`: the published values
    (points, 95% confidence intervals as whiskers), the fitted trend line continued (dashed) and
    its confidence band from the last published period on.

    ``level`` is accepted for symmetry with the other builders (the band's level is the
    projection's). Raises ValueError when ``projection`` has no rows for the series.
    """
    builder = _spec.SpecBuilder()
    (panel,) = _panels(builder, projection, [(indicator_id, sex, age)], source=source, decimals=decimals,
                       width=width, height=height)
    return builder.finish(panel)


def indicator_charts(projection: pd.DataFrame, keys: pd.DataFrame, *, limit: int = 4, columns: int = 2,
                     level: float = 0.95, area_name: str = "", source: str | None = None, width: int = 280,
                     height: int = 160) -> _spec.Chart | None:
    """:func:`indicator_chart` for the first ``limit`` series of ``keys`` (``indicator_id``,
    ``sex``, ``age``) that were projected, ``columns`` to a row, as one chart (one render);
    None when no series was projected."""
    if projection.empty or keys.empty:
        return None
    # The keys' series that were projected, in the keys' order (an inner join on indicator, sex and age).
    is_projected = projection["kind"].to_numpy(dtype=object) == "projected"
    projected = set(zip(pd.to_numeric(projection["indicator_id"]).to_numpy()[is_projected].astype("int64").tolist(),
                        projection["sex"].to_numpy(dtype=object)[is_projected].tolist(),
                        projection["age"].to_numpy(dtype=object)[is_projected].tolist(), strict=True))
    wanted = zip(keys["indicator_id"].astype("int64").tolist(), keys["sex"].tolist(), keys["age"].tolist(),
                 strict=True)
    series = [key for key in wanted if isinstance(key[1], str) and isinstance(key[2], str) and key in projected]
    series = series[:limit]
    if not series:
        return None
    builder = _spec.SpecBuilder()
    panels = _panels(builder, projection, series, source=None, decimals=1, width=width, height=height)
    rows = [{"hconcat": panels[i:i + columns], "spacing": 28} for i in range(0, len(panels), columns)]
    subtitle = [f"{area_name + ': ' if area_name else ''}published values (points, whiskers: 95% confidence "
                f"interval), the weighted trend line (dashed) and its {level:.0%} confidence band (shaded) "
                "continued for 5 periods"]
    if source:
        subtitle.append(f"Source: {source}")
    return builder.finish({"vconcat": rows, "spacing": 20, "title": {
        "text": "Key indicators: recent trend continued", "subtitle": subtitle, "anchor": "start"}})
