"""Choropleth maps of one indicator, coloured by significance, quintile or value, from a boundary
file the user points to (GeoJSON or TopoJSON, optionally gzipped).

The geometry is embedded in the chart as inline data (no URL), so the map renders offline and in
a self-contained report. Only the features of the areas in the data are kept (``context=True``
keeps every feature of the same country as grey "No data" shapes) and coordinates are rounded to
``precision`` decimal places (4 ≈ 10 m, finer than the "super generalised" ONS files), so a map of
England's upper-tier authorities adds about 1 MB to a spec. Without boundaries the function
returns a short note saying so instead of failing.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import _spec

ONS_NOTICE = ("Boundaries: Office for National Statistics, licensed under the Open Government Licence v3.0.",
              "Contains OS data \u00a9 Crown copyright and database right.")
#: Categories the map marks with no symbol (only significantly different areas get ▲/▼).
_NO_SYMBOL = (palette.SIMILAR, palette.NOT_COMPARED, c.NO_DATA)
_CODE = re.compile(r"^[EWSNK]\d{8}$")


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, mtime: float, precision: int) -> str:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    factor = precision

    def parse_float(text: str) -> float:
        return round(float(text), factor)

    # Round while parsing (the C parser calls back once per number): no walk over nested rings.
    return json.dumps(json.loads(raw.decode("utf-8-sig"), parse_float=parse_float), separators=(",", ":"))


def load_boundaries(boundaries: str | os.PathLike[str] | Mapping[str, Any], *, precision: int = 4) -> dict[str, Any]:
    """A GeoJSON FeatureCollection or TopoJSON Topology as a dict (gzip detected by its magic bytes;
    coordinates rounded to ``precision`` decimals). A dict is returned as it is."""
    if isinstance(boundaries, Mapping):
        return dict(boundaries)
    path = Path(boundaries).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"boundary file not found: {path} (give a GeoJSON or TopoJSON file, .gz allowed)")
    geo = json.loads(_read_cached(str(path.resolve()), path.stat().st_mtime, int(precision)))
    if geo.get("type") not in ("FeatureCollection", "Topology"):
        raise ValueError(f"{path} is neither a GeoJSON FeatureCollection nor a TopoJSON Topology "
                         f"(type {geo.get('type')!r})")
    return geo


def _tables(geo: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Feature properties as frames: {"": features} for GeoJSON, {object name: geometries} for TopoJSON."""
    if geo.get("type") == "Topology":
        return {name: pd.DataFrame([g.get("properties") or {} for g in obj.get("geometries", [])])
                for name, obj in geo.get("objects", {}).items()}
    return {"": pd.DataFrame([f.get("properties") or {} for f in geo.get("features", [])])}


def detect_code_property(geo: Mapping[str, Any], codes: Sequence[str] | None = None) -> tuple[str, str]:
    """``(object, property)`` holding area codes: the one matching most of ``codes`` (else the one
    that looks most like ONS codes). ``object`` is "" for GeoJSON, the TopoJSON object otherwise."""
    wanted = {str(x).upper() for x in (codes or [])}
    best, best_score = ("", ""), (-1, -1)
    for obj, table in _tables(geo).items():
        for prop in table.columns:
            values = c.text(table[prop]).str.upper()
            score = (int(values.isin(wanted).sum()) if wanted else 0, int(values.str.match(_CODE).sum()))
            if score > best_score:
                best, best_score = (obj, str(prop)), score
    if best_score[1] <= 0 and best_score[0] <= 0:
        raise ValueError("no property of the boundary file looks like area codes (e.g. E06000001); "
                         "say which with code_property=")
    return best


def _name_property(table: pd.DataFrame, code_property: str) -> str | None:
    for candidate in (re.sub(r"CD$", "NM", code_property), code_property.replace("cd", "nm"), "name", "NAME"):
        if candidate != code_property and candidate in table.columns:
            return candidate
    return None


def choropleth(data: pd.DataFrame, indicator: Any = None, boundaries: Any = None, *,
               colour_by: str = "significance", period: str | None = None, sex: str | None = None,
               age: str | None = None, code_property: str | None = None, feature: str | None = None,
               significance_benchmark: str | None = "england", highlight: str | Sequence[str] | None = None,
               context: bool = False, symbols: bool = True, names: Any = None,
               metadata: pd.DataFrame | None = None, title: str | None = None, source: str | None = None,
               attribution: str | Sequence[str] | None = None, precision: int = 4, symbol_spacing: float = 0.025, decimals: int | None = None,
               width: int = 420, height: int = 480) -> alt.LayerChart | alt.Chart:
    """A map of one indicator.

    Parameters
    ----------
    data : DataFrame
        Rows of the indicator for the areas (canonical values or a comparisons slice):
        ``area_code``, ``value``, ``period``, optional ``significance``, ``quintile``,
        ``lower_95``/``upper_95``, ``count``, ``area_name``.
    boundaries : path or dict, optional
        GeoJSON or TopoJSON (``.gz`` allowed), e.g. the ONS "BSC" files. None → a note.
    colour_by : "significance" (default), "quintile" (the ``quintile`` column, labelled by
        polarity) or "value" (a sequential scale).
    code_property, feature : str, optional
        The property holding area codes and, for TopoJSON, the object; detected when omitted.
    context : bool
        Also draw the other features of the same country (as "No data").
    symbols : bool
        ▲/▼ significance symbols at the areas' label points when the file has LONG/LAT
        properties (the ONS files do), so colour is not the only cue; an area whose label
        point is closer than ``symbol_spacing`` × the map's extent to another's gets none
        (dense cities would be a black blob), except a highlighted area. The tooltip always
        says the comparison.
    attribution : str, optional
        Boundary credit for the caption (default: the ONS/OGL notice for ONS-style files).
    """
    rows = c.latest(c.indicator_rows(data, indicator, sex=sex, age=age, chart="choropleth"), period)
    rows = c.one_benchmark(rows, significance_benchmark)
    ind_id = c.numbers(rows["indicator_id"]).iloc[0]
    meta = c.indicator_meta(rows, metadata, ind_id)
    heading = title or meta["name"]
    if boundaries is None:
        return _spec.note("No map: no boundary file was given.\nPass boundaries= a GeoJSON or TopoJSON file "
                          "(for example an ONS 'BSC' boundaries file)\nwhose features carry the area codes.",
                          heading=heading)
    geo = load_boundaries(boundaries, precision=precision)
    rows = rows.drop_duplicates("area_code").copy()
    rows["area_code"] = c.text(rows["area_code"]).str.upper().to_numpy()
    codes = list(rows["area_code"])
    if code_property is None:
        obj, code_property = detect_code_property(geo, codes)
        obj = feature or obj
    else:
        obj = feature or ("" if geo.get("type") == "FeatureCollection" else detect_code_property(geo, codes)[0])
    table = _tables(geo)[obj]
    if code_property not in table.columns:
        raise ValueError(f"the boundary file has no property {code_property!r}; it has {', '.join(table.columns)}")
    feature_codes = c.text(table[code_property]).str.upper()
    in_data = feature_codes.isin(codes)
    if not in_data.any():
        raise ValueError(f"none of the {len(codes)} area codes of the data is in the boundary file's "
                         f"{code_property!r} (e.g. {', '.join(feature_codes.head(3))}); check the geography "
                         "vintage and area type")
    keep = in_data.copy()
    if context:
        country = pd.Series(codes).str[0].mode().iloc[0]
        keep |= feature_codes.str.startswith(country)
    if "end" in table.columns:  # multi-vintage TopoJSON: one geometry per code, the current one first
        current = table["end"].isna()
        order = np.lexsort((~current.to_numpy(), feature_codes.to_numpy()))
        first = pd.Series(False, index=table.index)
        first.iloc[order[~feature_codes.iloc[order].duplicated().to_numpy()]] = True
        keep &= first
    index = np.flatnonzero(keep.to_numpy())
    name_prop = _name_property(table, code_property)

    # ---- the data joined to the shapes ---------------------------------------------------------
    digits = decimals if decimals is not None else c.decimals_for(rows["value"])
    rows = c.add_display_columns(rows, digits)
    names_from_geo = dict(zip(feature_codes[in_data], c.text(table.loc[in_data, name_prop]), strict=True)) \
        if name_prop else {}
    rows["area_name"] = c.area_names(rows["area_code"], data, {**names_from_geo, **c.names_mapping(names)}).to_numpy()
    rows["indicator_name"] = meta["name"]
    if colour_by == "quintile":
        if "quintile" not in rows.columns:
            raise ValueError("choropleth: colour_by='quintile' needs a quintile column (from the comparisons table)")
        rag = meta["polarity"].startswith("RAG")
        labels_ = palette.RAG_QUINTILE_LABELS if rag else palette.BOB_QUINTILE_LABELS
        q = c.numbers(rows["quintile"])
        rows["category"] = q.map({i + 1.0: label for i, label in enumerate(labels_)}).fillna(palette.NOT_COMPARED)
        legend_title = "Quintile among the areas shown in the data"
    elif colour_by == "significance":
        sig = c.text(c.column(rows, "significance", palette.NOT_COMPARED))
        rows["category"] = sig.where(sig != "", palette.NOT_COMPARED).to_numpy()
        legend_title = "Compared with England" if significance_benchmark == "england" else "Compared with benchmark"
    elif colour_by == "value":
        rows["category"] = ""
        legend_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    else:
        raise ValueError(f"choropleth: colour_by must be 'significance', 'quintile' or 'value', not {colour_by!r}")
    rows["symbol"] = c.symbols(rows["category"]).where(rows["category"] != "", "").to_numpy()
    fields = ["area_name", "indicator_name", "period", "value", "value_text", "ci_text", "count_text", "category",
              "symbol"]
    lookup = c.clean_for_json(rows[["area_code", *fields]])

    prop = f"properties.{code_property}"
    if geo.get("type") == "Topology":
        topo = dict(geo)
        objects = dict(topo["objects"])
        geometries = objects[obj]["geometries"]
        objects = {obj: {**objects[obj], "geometries": [geometries[i] for i in index]}}
        topo["objects"] = objects
        shapes = alt.InlineData(values=topo, format=alt.DataFormat(type="topojson", feature=obj))
        centres = None
    else:
        features = geo["features"]
        kept = [features[i] for i in index]
        shapes = alt.InlineData(values={"type": "FeatureCollection", "features": kept},
                                format=alt.DataFormat(property="features", type="json"))
        lon = next((k for k in ("LONG", "LON", "long", "lon", "longitude") if k in table.columns), None)
        lat = next((k for k in ("LAT", "lat", "latitude") if k in table.columns), None)
        centres = (table.loc[keep, [code_property, lon, lat]].set_axis(["area_code", "lon", "lat"], axis=1)
                   if lon and lat else None)
    base = alt.Chart(shapes).transform_lookup(
        lookup=prop, from_=alt.LookupData(data=lookup, key="area_code", fields=fields)
    ).transform_calculate(
        category=f"isValid(datum.category) && datum.category !== '' ? datum.category : '{c.NO_DATA}'",
        area_name="isValid(datum.area_name) ? datum.area_name : datum.properties."
                  + (name_prop or code_property),
        value_text=f"isValid(datum.value_text) ? datum.value_text : '{c.DASH}'",
    )
    tooltip = [alt.Tooltip("area_name:N", title="Area"), alt.Tooltip("period:N", title="Period"),
               alt.Tooltip("value_text:N", title="Value"), alt.Tooltip("ci_text:N", title="95% confidence interval"),
               alt.Tooltip("count_text:N", title="Count"), alt.Tooltip("category:N", title=legend_title)]
    if colour_by == "value":
        colour = alt.Color("value:Q", title=legend_title, scale=alt.Scale(scheme="blues"),
                           legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=260))
    else:
        labels = list(rows["category"]) + ([c.NO_DATA] if context else [])
        colour = alt.Color("category:N", scale=c.significance_scale(labels),
                           legend=c.legend(legend_title, columns=3,
                                           labelExpr=c.symbol_label_expr(labels, skip=_NO_SYMBOL) if symbols
                                           else alt.Undefined))
    fill = base.mark_geoshape(stroke="white", strokeWidth=0.4).encode(color=colour, tooltip=tooltip).project(type="mercator")
    layers: list[Any] = [fill]
    marked = [str(h).upper() for h in ([highlight] if isinstance(highlight, str) else (highlight or []))]
    if marked:
        test = f"indexof({json.dumps(marked)}, upper(datum.{prop})) >= 0"
        layers.append(base.transform_filter(test).mark_geoshape(fill=None, stroke="black", strokeWidth=1.8)
                      .project(type="mercator"))
    symbol_note = None
    if symbols and centres is not None and colour_by != "value":
        points = centres.merge(lookup[["area_code", "symbol", *fields[:-2]]], on="area_code", how="inner")
        points = points[points["symbol"].isin(["\u25b2", "\u25bc"])]
        points = points[_room_for_symbol(points, marked, spacing=symbol_spacing)]
        if len(points):
            layers.append(alt.Chart(c.clean_for_json(points)).mark_text(fontSize=7, color="black", opacity=0.85)
                          .encode(longitude="lon:Q", latitude="lat:Q", text="symbol:N", tooltip=tooltip[:4])
                          .project(type="mercator"))
            symbol_note = "\u25b2/\u25bc: significantly better/higher or worse/lower (where space allows)"
    if attribution is None:
        attribution = ONS_NOTICE if re.match(r"^[A-Z]{2,6}\d{2}CD$|^areacd$", code_property) else None
    where = f"{len(index)} areas" if not context else f"{int(in_data.sum())} of {len(index)} areas with data"
    subtitle = c.caption(c.period_range(rows["period"]), c.breakdown_text(rows), where, symbol_note,
                         source=c.source_of(rows, source, meta))
    if attribution:
        subtitle.extend([attribution] if isinstance(attribution, str) else list(attribution))
    chart = alt.layer(*layers) if len(layers) > 1 else layers[0]
    return chart.properties(width=width, height=height, title=c.title(heading, subtitle))



def _room_for_symbol(points: pd.DataFrame, marked: Sequence[str], *, spacing: float) -> np.ndarray:
    """True for label points with no other point nearer than ``spacing`` × the map's extent
    (pairwise distances on a local equirectangular approximation; a few hundred points)."""
    if len(points) < 2:
        return np.ones(len(points), dtype=bool)
    lat = c.numbers(points["lat"]).to_numpy()
    x = c.numbers(points["lon"]).to_numpy() * np.cos(np.radians(np.nanmean(lat)))
    xy = np.column_stack([x, lat])
    extent = float(np.nanmax(np.nanmax(xy, axis=0) - np.nanmin(xy, axis=0))) or 1.0
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(dist, np.inf)
    keep = dist.min(axis=1) > spacing * extent
    return keep | c.text(points["area_code"]).str.upper().isin(list(marked)).to_numpy()
