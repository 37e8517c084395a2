"""Population pyramid: males left, females right, 5-year age bands, each bar the band's share of
the area's whole population (males and females together); a comparator (England by default)
drawn as an outline on the same scale.

The Vega-Lite spec is written directly as a dict (see :mod:`jsna_lib.charts._spec`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _common as c
from . import _spec, theme

MALE_COLOUR = "#2F6EA5"
FEMALE_COLOUR = "#C8506E"


def band_order(bands: pd.Series) -> list[str]:
    """Age bands youngest first, by their first number ("0-4", "5-9", ..., "90+"; "<1" first)."""
    labels = pd.Series(pd.unique(c.text(bands)))
    start = pd.to_numeric(labels.str.extract(r"(\d+)", expand=False), errors="coerce")
    start = start.where(~labels.str.startswith(("<", "under", "Under")), -1)
    return list(labels.iloc[np.lexsort((labels.to_numpy(), start.fillna(1e9).to_numpy()))])


def population_pyramid(population: Any, area: str | None = None, *, comparator: str | None = c.ENGLAND,
                       year: int | None = None, names: Any = None, title: str | None = None,
                       source: str | None = None, width: int = 520, bar_height: int = 15) -> _spec.Chart:
    """A population pyramid of ``area`` with ``comparator`` as an outline.

    Parameters
    ----------
    population : DataFrame or profile
        The store's ``population`` table (``area_code``, ``year``, ``sex``, ``age_band``,
        ``population``; Male and Female rows are used), with the comparator's rows for the
        outline; or a profile (its ``population``: the area's latest year, no comparator).
    area, comparator : area codes
        ``area`` defaults to the profile's area (or the one area of the data); the comparator may
        be None (no outline). A comparator missing from the data is said in the caption.
    year : int, optional
        Default: the area's latest year.
    """
    names = {**c.names_mapping(population if not isinstance(population, pd.DataFrame) else None),
             **c.names_mapping(names)}
    frame = c.frame_from(population, c.POPULATION_ATTRS, "population")
    if not isinstance(population, pd.DataFrame):  # a profile: its own area's latest year only
        area = area or c.attr(population, "area_code")
        if "area_code" not in frame.columns:
            frame = frame.assign(area_code=str(area or ""))
        if "year" not in frame.columns and c.attr(population, "population_year") is not None:
            frame = frame.assign(year=int(c.attr(population, "population_year")))
    if area is None:
        present = sorted(set(c.text(c.column(frame, "area_code"))) - {c.ENGLAND})
        if len(present) != 1:
            raise ValueError(f"population_pyramid: say which area with area=<code> (the data have "
                             f"{', '.join(present[:8])})")
        area = present[0]
    c.require(frame, ["area_code", "sex", "age_band", "population"], "population_pyramid")
    codes = c.text(frame["area_code"]).str.upper()
    sex = c.text(frame["sex"])
    area = str(area).strip().upper()
    mine = frame[((codes == area) & sex.isin(["Male", "Female"])).to_numpy()]
    if mine.empty:
        raise ValueError(f"population_pyramid: no Male/Female population rows for area {area}")
    if "year" in frame.columns:
        years = c.numbers(mine["year"])
        year = int(years.max()) if year is None else int(year)
        if not (years == year).any():
            raise ValueError(f"population_pyramid: no {year} population for {area}; it has "
                             f"{', '.join(str(int(y)) for y in sorted(years.dropna().unique()))}")
    keep_year = (c.numbers(frame["year"]) == year).to_numpy() if "year" in frame.columns else True
    wanted = [area] + ([str(comparator).strip().upper()] if comparator else [])
    rows = frame[(codes.isin(wanted) & sex.isin(["Male", "Female"])).to_numpy() & keep_year].copy()
    rows["area_code"] = c.text(rows["area_code"]).str.upper().to_numpy()
    rows["sex"] = c.text(rows["sex"]).to_numpy()
    rows["age_band"] = c.text(rows["age_band"]).to_numpy()
    rows["population"] = c.numbers(rows["population"]).to_numpy()
    rows = rows.groupby(["area_code", "sex", "age_band"], as_index=False)["population"].sum()
    total = rows.groupby("area_code")["population"].transform("sum")
    rows["percent"] = rows["population"] / total * 100
    rows["signed"] = np.where(rows["sex"] == "Male", -rows["percent"], rows["percent"])
    rows["area_name"] = c.area_names(rows["area_code"], frame, names).to_numpy()
    rows["sex_label"] = np.where(rows["sex"] == "Male", "Males", "Females")
    rows["percent_text"] = c.fmt(rows["percent"], 1).to_numpy() + "%"
    rows["population_text"] = c.fmt(rows["population"], 0).to_numpy()
    comp_rows = rows[rows["area_code"] != area]
    area_rows = rows[rows["area_code"] == area]
    missing_comparator = None
    if comparator and comp_rows.empty:
        missing_comparator = f"no population for the comparator {comparator} in the data"
        comparator = None
    order = band_order(rows["age_band"])[::-1]  # oldest at the top
    limit = float(np.ceil(rows["percent"].max() + 0.5)) if len(rows) else 1.0
    x_scale = {"domain": [-limit, limit], "nice": False}
    x = _spec.field("signed", "quantitative", title="% of the total population", scale=x_scale,
                    axis={"labelExpr": "abs(datum.value) + '%'", "tickCount": 8, "grid": True})
    y = _spec.field("age_band", "nominal", sort=order, title="Age band", axis={"labelFontSize": theme.SMALL},
                    scale={"paddingInner": 0.12})
    area_name = c.area_names(pd.Series([area]), frame, names).iloc[0]
    tooltip = _spec.tooltip(("area_name", "Area"), ("sex_label", "Sex"), ("age_band", "Age band"),
                            ("population_text", "Population"), ("percent_text", "% of the area's population"),
                            ("year", "Year"))
    cols = ["area_name", "sex_label", "age_band", "signed", "population_text", "percent_text"]
    builder = _spec.SpecBuilder()
    area_data = c.clean_for_json(area_rows[cols].assign(year=str(year)))
    bars = {"data": builder.data(area_data), "mark": {"type": "bar"},
            "encoding": {"x": x, "y": y, "tooltip": tooltip,
                         "color": _spec.field("sex_label", "nominal", title=area_name,
                                              scale={"domain": ["Males", "Females"],
                                                     "range": [MALE_COLOUR, FEMALE_COLOUR]},
                                              legend=c.legend_spec(area_name, columns=3))}}
    layers: list[dict[str, Any]] = [bars]
    if comparator:
        comp_name = c.area_names(pd.Series([str(comparator).upper()]), frame, names).iloc[0]
        comp_data = c.clean_for_json(comp_rows[cols].assign(year=str(year), outline=comp_name))
        layers.append({"data": builder.data(comp_data), "mark": {"type": "bar", "fill": None, "strokeWidth": 1.4},
                       "encoding": {"x": x, "y": y, "tooltip": tooltip,
                                    "stroke": _spec.field("outline", "nominal",
                                                          scale={"domain": [comp_name], "range": ["#000000"]},
                                                          legend=c.legend_spec("Comparator (outline)", columns=1,
                                                                               symbolType="square",
                                                                               symbolFillColor="white"))}})
    for align, signed, label in (("left", -limit * 0.97, "Males"), ("right", limit * 0.97, "Females")):
        layers.append({"data": builder.data([{"signed": signed, "text": label, "align": align}]),
                       "mark": {"type": "text", "align": align, "baseline": "top", "fontWeight": "bold",
                                "fontSize": theme.FONT_SIZE, "dy": 2},
                       "encoding": {"x": _spec.field("signed", "quantitative", scale=x_scale), "y": {"value": 0},
                                    "text": _spec.field("text", "nominal")}})
    subtitle = c.caption(f"Mid-year {year}" if year else None,
                         "bars: % of the area's population (males and females together)",
                         f"outline: {c.area_names(pd.Series([str(comparator).upper()]), frame, names).iloc[0]}"
                         if comparator else missing_comparator, source=source or "population table of the data store")
    return builder.finish({"layer": layers, "resolve": {"scale": {"color": "independent", "stroke": "independent"}},
                           "width": width, "height": bar_height * len(order),
                           "title": _spec.title(title or f"{area_name}: population by age and sex", subtitle)})
