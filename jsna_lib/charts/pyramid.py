"""Population pyramid: males left, females right, 5-year age bands, each bar the band's share of
the area's whole population (males and females together); a comparator (England by default)
drawn as an outline on the same scale.

The Vega-Lite spec is written directly as a dict (see :mod:`jsna_lib.charts._spec`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from . import _common as c
from . import _spec, theme

MALE_COLOUR = "#2F6EA5"
FEMALE_COLOUR = "#C8506E"


_FIRST_NUMBER = re.compile(r"[0-9]+")


def band_order(bands: pd.Series) -> list[str]:
    """Age bands youngest first, by their first number ("0-4", "5-9", ..., "90+"; "<1" first)."""
    labels = pd.unique(c.text(bands).to_numpy(dtype=object))
    start = np.array([-1.0 if label.startswith(("<", "under", "Under"))
                      else float(found.group(0)) if (found := _FIRST_NUMBER.search(label)) else 1e9
                      for label in labels.tolist()], dtype=float)
    return list(labels[np.lexsort((labels, start))])


def _distinct_text(column: pd.Series, upper: bool = False) -> np.ndarray:
    """``c.text(column)`` (upper-cased if ``upper``) as an object array, worked out once per distinct value."""
    codes, distinct = pd.factorize(column)
    text = np.append(c.text_array(distinct), "").astype(object)  # missing ("") last: code -1
    if upper:
        text = np.array([value.upper() for value in text.tolist()], dtype=object)
    return text[codes]


def _sums(area: np.ndarray, sex: np.ndarray, band: np.ndarray, population: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Population summed by area, sex and age band, sorted by them (``groupby(...).sum()``), and
    each row's area total: (area, sex, band, population, total)."""
    parts = [pd.factorize(values, sort=True) for values in (area, sex, band)]
    key = (parts[0][0] * len(parts[1][1]) + parts[1][0]) * len(parts[2][1]) + parts[2][0]
    unique, inverse = np.unique(key, return_inverse=True)
    values = population[~np.isnan(population)]
    if not (np.array_equal(values, np.trunc(values)) and np.abs(values).sum() < 2 ** 53):
        # Fractions: pandas' own (compensated) sums, whose result can depend on the order of adding.
        rows = pd.DataFrame({"area_code": area, "sex": sex, "age_band": band, "population": population})
        rows = rows.groupby(["area_code", "sex", "age_band"], as_index=False)["population"].sum()
        total = rows.groupby("area_code")["population"].transform("sum")
        return (rows["area_code"].to_numpy(dtype=object), rows["sex"].to_numpy(dtype=object),
                rows["age_band"].to_numpy(dtype=object), rows["population"].to_numpy(dtype=float),
                total.to_numpy(dtype=float))
    # Whole numbers: every partial sum is exact, so bincount gives the same sums.
    sums = np.bincount(inverse, weights=np.where(np.isnan(population), 0.0, population), minlength=len(unique))
    n_sex, n_band = len(parts[1][1]), len(parts[2][1])
    area_of = unique // (n_sex * n_band)
    total = np.bincount(area_of, weights=sums)[area_of]
    areas, sexes, bands = (np.asarray(distinct, dtype=object) for _, distinct in parts)
    return areas[area_of], sexes[unique // n_band % n_sex], bands[unique % n_band], sums, total


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
    # Codes and sexes as text, each distinct value converted once.
    codes = _distinct_text(frame["area_code"], upper=True)
    sex = _distinct_text(frame["sex"])
    by_sex = (sex == "Male") | (sex == "Female")
    area = str(area).strip().upper()
    mine = (codes == area) & by_sex
    if not mine.any():
        raise ValueError(f"population_pyramid: no Male/Female population rows for area {area}")
    keep = by_sex
    if "year" in frame.columns:
        all_years = c.floats(frame["year"])
        years = all_years[mine]
        year = int(pd.Series(years).max()) if year is None else int(year)
        if not (years == year).any():
            raise ValueError(f"population_pyramid: no {year} population for {area}; it has "
                             f"{', '.join(str(int(y)) for y in sorted(pd.Series(years).dropna().unique()))}")
        keep = keep & (all_years == year)
    wanted = [area] + ([str(comparator).strip().upper()] if comparator else [])
    at = np.flatnonzero(keep & np.isin(codes, np.array(wanted, dtype=object)))
    row_area, row_sex, row_band, row_population, total = _sums(
        codes[at], sex[at], _distinct_text(frame["age_band"])[at],
        c.floats(frame["population"])[at])
    percent = row_population / total * 100
    shown = list(dict.fromkeys([area, *wanted[1:]]))
    display = dict(zip(shown, c.area_names(pd.Series(shown), frame, names).tolist(), strict=True))
    area_name = display[area]
    is_area = row_area == area
    comp_rows, area_rows = np.flatnonzero(~is_area), np.flatnonzero(is_area)
    missing_comparator = None
    if comparator and not len(comp_rows):
        missing_comparator = f"no population for the comparator {comparator} in the data"
        comparator = None
    order = band_order(pd.Series(row_band, dtype=object))[::-1]  # oldest at the top
    limit = float(np.ceil(np.nanmax(percent) + 0.5)) if len(percent) else 1.0
    x_scale = {"domain": [-limit, limit], "nice": False}
    x = _spec.field("signed", "quantitative", title="% of the total population", scale=x_scale,
                    axis={"labelExpr": "abs(datum.value) + '%'", "tickCount": 8, "grid": True})
    y = _spec.field("age_band", "nominal", sort=order, title="Age band", axis={"labelFontSize": theme.SMALL},
                    scale={"paddingInner": 0.12})
    tooltip = _spec.tooltip(("area_name", "Area"), ("sex_label", "Sex"), ("age_band", "Age band"),
                            ("population_text", "Population"), ("percent_text", "% of the area's population"),
                            ("year", "Year"))
    # The drawn rows as JSON (text stripped, as charts._common.clean_for_json leaves it).
    stripped = dict(zip(display, c.text_array(pd.Series(list(display.values()))).tolist(), strict=True))
    columns = {"area_name": np.where(is_area, stripped[area], stripped[wanted[-1]]).astype(object),
               "sex_label": np.where(row_sex == "Male", "Males", "Females").astype(object), "age_band": row_band,
               "signed": np.where(row_sex == "Male", -percent, percent),
               "population_text": c.fmt_array(row_population, 0),
               "percent_text": c.fmt_array(percent, 1) + "%"}
    builder = _spec.SpecBuilder()
    area_data = _spec.array_records({name: v[area_rows] for name, v in columns.items()} | {"year": str(year)},
                                    len(area_rows))
    bars = {"data": builder.data(area_data), "mark": {"type": "bar"},
            "encoding": {"x": x, "y": y, "tooltip": tooltip,
                         "color": _spec.field("sex_label", "nominal", title=area_name,
                                              scale={"domain": ["Males", "Females"],
                                                     "range": [MALE_COLOUR, FEMALE_COLOUR]},
                                              legend=c.legend_spec(area_name, columns=3))}}
    layers: list[dict[str, Any]] = [bars]
    if comparator:
        comp_name = display[str(comparator).strip().upper()]
        comp_data = _spec.array_records({name: v[comp_rows] for name, v in columns.items()}
                                        | {"year": str(year), "outline": stripped[str(comparator).strip().upper()]},
                                        len(comp_rows))
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
                         f"outline: {display[str(comparator).strip().upper()]}"
                         if comparator else missing_comparator, source=source or "population table of the data store")
    return builder.finish({"layer": layers, "resolve": {"scale": {"color": "independent", "stroke": "independent"}},
                           "width": width, "height": bar_height * len(order),
                           "title": _spec.title(title or f"{area_name}: population by age and sex", subtitle)})
