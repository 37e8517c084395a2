"""Inequality: one indicator broken down by a category (deprivation deciles or quintiles, ethnic
group...), bars with 95% confidence intervals and the overall (whole-population) value as a line.

The Vega-Lite spec is written directly as a dict (see :mod:`jsna_lib.charts._spec`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import _spec, theme

#: Deprivation category order, most deprived first (the shared table in :mod:`jsna_lib.palette`).
DEPRIVATION_ORDER = palette.DEPRIVATION_RANK
_SUFFIX = re.compile(palette.CATEGORY_SUFFIX)


def category_order(categories: pd.Series) -> list[str]:
    """Categories in display order: deprivation most → least deprived, then others as first met."""
    labels = list(pd.unique(c.text(categories)))
    # the rank of each distinct label (its suffix in brackets dropped), NaN for other labels
    rank = np.array([DEPRIVATION_ORDER.get(_SUFFIX.sub("", label).strip().lower(), np.nan) for label in labels],
                    dtype=float)
    if np.isnan(rank).all():
        return labels
    position = np.where(np.isnan(rank), 100 + np.arange(len(labels)), rank)
    return [labels[i] for i in np.argsort(position, kind="stable")]


def _category_type(rows: pd.DataFrame, by: str) -> str:
    """The category type meant by ``by``: an exact match, else the one containing ``by`` with most rows."""
    types = c.text(rows["category_type"]).str.strip('"')
    present = [t for t in types.value_counts().index if t]
    if not present:
        raise ValueError("inequality: the data have no breakdown rows (category_type is empty everywhere)")
    if by in present:
        return by
    words = by.lower().rstrip("s")
    matches = [t for t in present if words in t.lower()]
    if not matches:
        raise ValueError(f"inequality: no category type matching {by!r}; the data have "
                         f"{'; '.join(sorted(present))}")
    return matches[0]


def inequality(data: Any, indicator: Any = None, area: str | None = None, by: str = "deprivation decile",
               *, period: str | None = None, sex: str | None = None, age: str | None = None,
               order: Sequence[str] | None = None, overall: float | None = None, names: Any = None,
               metadata: pd.DataFrame | None = None, title: str | None = None, source: str | None = None,
               decimals: int | None = None, width: int = 440, bar_height: int = 20) -> _spec.Chart:
    """Bars of an indicator by category for one area, with the overall value.

    Parameters
    ----------
    data : DataFrame or profile
        Canonical ``values`` rows of the indicator for the area: the breakdown rows
        (``category_type``/``category`` set) and the whole-population row (empty
        ``category_type``) of the same period for the overall line. Or a profile: its
        ``inequalities`` (the area's) or ``england_inequalities`` (England's), with the overall
        value taken from its ``indicators`` (``value`` / ``england_value`` of that period).
        Rows may carry ``significance`` (e.g. against the overall value), which then colours
        the bars.
    area : area code
        Default: England when the data have its breakdown, else the area that has one.
    by : str
        The category type: exactly, or a phrase it contains ("deprivation decile", "ethnic").
    order : list of categories, optional
        Default: deprivation most → least deprived, else the data's order.
    overall : float, optional
        The overall value for the line, when the data lack the whole-population row.
    """
    source = source or c.attr(data, "source") or None
    names = {**c.names_mapping(data if not isinstance(data, pd.DataFrame) else None), **c.names_mapping(names)}
    frame = _breakdown_frame(data, area, indicator)
    rows, ind_id = c.indicator_positions(frame, indicator, sex=sex, age=age, chart="inequality", whole=False)
    meta = c.indicator_meta_at(frame, rows, metadata, ind_id)
    types = c.text_at(frame["category_type"], rows) if "category_type" in frame.columns else \
        np.full(len(rows), "", dtype=object)
    if area is None:
        present = list(dict.fromkeys(c.text_at(frame["area_code"], rows[types != ""]).tolist()))
        area = c.ENGLAND if c.ENGLAND in present or not present else present[0]
    area = str(area).strip().upper()
    keep = np.strings.upper(c.text_at(frame["area_code"], rows).astype(str)) == area
    rows, types = rows[keep], types[keep]
    if not len(rows):
        raise ValueError(f"inequality: no rows for area {area} and indicator {int(ind_id)}")
    types = np.strings.strip(types.astype(str), '"').astype(object) if len(types) else types
    ctype = _category_type(pd.DataFrame({"category_type": types}), by)
    cats = c.latest_positions(frame, rows[types == ctype], period)
    periods = c.text_at(frame["period"], rows)
    period_text = c.text_at(frame["period"], cats[:1])[0]
    overall_at = rows[(types == "") & (periods == period_text)]
    values = c.floats(frame["value"]) if decimals is None or len(overall_at) else None
    digits = decimals if decimals is not None else c.decimals_of(values[cats])
    cats = cats[c.first_rows(c.raw_codes(frame["category"], cats))]  # one row per category
    display = c.display_columns(c.floats_at(frame, "value", cats), c.floats_at(frame, "lower_95", cats),
                                c.floats_at(frame, "upper_95", cats), c.floats_at(frame, "count", cats), digits)
    category = c.text_at(frame["category"], cats)
    order = list(order) if order is not None else category_order(pd.Series(category, dtype=object))
    area_name = str(c.area_names_of(np.array([area], dtype=object), frame, names)[0])
    significance = c.significance_at(frame, "significance", cats) if "significance" in frame.columns else None
    coloured = significance is not None and c.compared(significance)
    right_text = display["value_text"]
    if coloured:
        right_text = c.lookup(significance, palette.SIGNIFICANCE_SYMBOLS) + " " + right_text
    # the chart's rows as :func:`._common.clean_for_json` writes them: new text columns stripped
    dataset: dict[str, Any] = {"category": category, "area_name": c.stripped(area_name + ": " + category),
                               "indicator_name": meta["name"], "period": c.json_at(frame["period"], cats)}
    for name in ("value", "lower_95", "upper_95"):
        if name in frame.columns:
            dataset[name] = c.json_at(frame[name], cats)
    dataset.update(display, right_text=c.stripped(right_text))
    if coloured:
        dataset["significance"] = significance
    overall_value = float(overall) if overall is not None else \
        float(values[overall_at[0]]) if len(overall_at) else None
    found = c.source_of_at(frame, rows, source, meta)
    return _finish(_spec.array_records(dataset, len(cats)), order, meta, area_name, digits, overall_value,
                   (period_text, c.breakdown_text_at(frame, rows), ctype, found),
                   significance.tolist() if coloured else None, title, width, bar_height)


def _finish(records: list[dict[str, Any]], order: list[str], meta: dict[str, str], area_name: str, digits: int,
            overall_value: float | None, caption_parts: tuple[str, str, str, str], labels: list[str] | None,
            title: str | None, width: int, bar_height: int) -> _spec.Chart:
    """The chart from its JSON-ready rows, category order and labels. ``caption_parts`` is (period,
    breakdown text, category type, source); ``labels`` the significance labels when they colour the
    bars, else None."""
    coloured = labels is not None
    period_text, breakdown, ctype, found = caption_parts
    y = _spec.field("category", "nominal", sort=order, title=None, axis={"labelLimit": 260})
    x_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    extra = [_spec.field("significance", "nominal", title="Compared with the overall value")] if coloured else []
    tooltip = c.tooltip_spec(extra)
    builder = _spec.SpecBuilder()
    data = builder.data(records)
    bars: dict[str, Any] = {"mark": {"type": "bar", "size": bar_height - 5},
                            "encoding": {"y": y, "x": _spec.field("value", "quantitative", title=x_title),
                                         "tooltip": tooltip}}
    if labels is not None:
        bars["encoding"]["color"] = _spec.field(
            "significance", "nominal", scale=c.significance_scale_spec(labels),
            legend=c.legend_spec("Compared with the overall value", labelExpr=c.symbol_label_expr(labels)))
    else:
        bars["mark"]["color"] = palette.NEUTRAL_BAR
    whiskers = {"mark": {"type": "rule", "color": "#333333"},
                "encoding": {"y": y, "x": _spec.field("lower_95", "quantitative"), "x2": {"field": "upper_95"},
                             "tooltip": tooltip}}
    caps = [{"mark": {"type": "tick", "color": "#333333", "thickness": 1, "size": bar_height * 0.4},
             "encoding": {"y": y, "x": _spec.field(b, "quantitative")}} for b in ("lower_95", "upper_95")]
    right = {"mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": theme.SMALL, "x": width + 8},
             "encoding": {"y": y, "text": _spec.field("right_text", "nominal"), "tooltip": tooltip}}
    layers: list[dict[str, Any]] = [bars, whiskers, *caps, right]
    overall_note = None
    if overall_value is not None:
        value = overall_value
        label = f"Overall ({area_name}): {c.fmt_array(np.array([value], dtype=float), digits)[0]}"
        for layer in layers:  # the layers no longer share one dataset, so each names its own
            layer["data"] = data
        line = builder.data([{"value": value, "label": label}])
        layers.append({"data": line,
                       "mark": {"type": "rule", "color": palette.BENCHMARK_LINE, "strokeDash": [6, 3],
                                "strokeWidth": 1.5},
                       "encoding": {"x": _spec.field("value", "quantitative"),
                                    "tooltip": _spec.field("label", "nominal", title="Overall")}})
        layers.append({"data": line,
                       "mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 4, "dy": -2,
                                "fontWeight": "bold", "fontSize": theme.SMALL},
                       "encoding": {"x": _spec.field("value", "quantitative"), "y": {"value": 0},
                                    "text": _spec.field("label", "nominal")}})
        overall_note = "dashed line: overall value"
    subtitle = c.caption(f"{area_name}, {period_text}", breakdown, f"by {ctype}",
                         "whiskers: 95% confidence interval", overall_note, source=found)
    spec: dict[str, Any] = {"layer": layers, "width": width, "height": bar_height * len(order),
                            "title": _spec.title(title or meta["name"], subtitle)}
    if "data" not in layers[0]:  # one dataset for every layer: on the top level (as Altair puts it)
        spec = {"data": data, **spec}
    return builder.finish(spec)


def _breakdown_frame(data: Any, area: str | None, indicator: Any) -> pd.DataFrame:
    """The rows to draw: ``data`` itself when a frame, else a profile's area's or England's breakdown
    rows followed by whole-population rows made from its latest values (for the overall line).

    For a profile whose columns have the usual types, and an indicator given, only that indicator's
    rows and the columns :func:`inequality` reads are built (:func:`_stacked`), with the text and
    numbers the full frame would give; otherwise the full frame is built."""
    if isinstance(data, pd.DataFrame):
        return data
    own_code = str(c.attr(data, "area_code") or "").upper()
    own = c.attr(data, "inequalities")
    england = c.attr(data, "england_inequalities")
    want = None if area is None else str(area).strip().upper()
    has_own = isinstance(own, pd.DataFrame) and len(own) and (
        indicator is None or (c.numbers(own["indicator_id"]) == float(indicator)).any())
    use_england = want == c.ENGLAND or (want is None and not has_own)
    if use_england:
        if not isinstance(england, pd.DataFrame) or england.empty:
            raise ValueError("inequality: the profile has no England breakdown rows")
        part, code = england, c.ENGLAND
    else:
        if not has_own:
            raise ValueError(f"inequality: the profile has no breakdown rows for {own_code}"
                             + ("" if indicator is None else f" and indicator {indicator}"))
        part, code = own, own_code
    latest = c.attr(data, "indicators")
    latest = latest if isinstance(latest, pd.DataFrame) and len(latest) else None
    value_col = "england_value" if use_england else "value"
    if indicator is not None and _usual_types(part, latest, value_col):
        return _stacked(part, latest, code, value_col, float(indicator))
    rows = part.assign(area_code=code)
    if latest is not None:  # whole-population rows for the overall line
        whole = latest.assign(area_code=code, category_type="", category="",
                              value=c.numbers(latest[value_col]).to_numpy())
        keep = [k for k in _WHOLE if k in whole.columns]
        rows = pd.concat([rows, whole[keep]], ignore_index=True)
    return rows


#: The columns of the whole-population rows, and the columns :func:`inequality` reads.
_WHOLE = ("indicator_id", "area_code", "sex", "age", "category_type", "category", "period", "period_sort", "value")
_TEXT = ("area_code", "sex", "age", "category_type", "category", "period", "significance", "area_name",
         "indicator_name", "name", "unit", "polarity", "domain", "source", "value_type")
_NUMBERS = ("indicator_id", "period_sort", "value", "lower_95", "upper_95", "count")


def _usual_types(part: pd.DataFrame, latest: pd.DataFrame | None, value_col: str) -> bool:
    """Whether the breakdown rows ``part`` and the latest values have the column types with which
    :func:`_stacked` gives what the concatenated frame would: text columns as text, numbers as
    (non-boolean) numbers, ``period`` as strings of one dtype, values and limits as float64."""
    def is_text(dtype: Any) -> bool:
        return dtype is None or isinstance(dtype, pd.StringDtype) or dtype == np.dtype(object)

    def is_number(dtype: Any) -> bool:
        return dtype is None or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))

    types = [dict(zip(f.columns, f.dtypes, strict=True)) for f in ([part] if latest is None else [part, latest])]
    own = types[0]
    if "indicator_id" not in own or not isinstance(own.get("period"), pd.StringDtype) \
            or any(own.get(k, np.float64) != np.float64 for k in ("value", "lower_95", "upper_95")) \
            or not all(is_text(t.get(k)) for t in types for k in _TEXT) \
            or not all(is_number(t.get(k)) for t in types for k in _NUMBERS):
        return False
    return latest is None or (value_col in types[1] and is_number(types[1][value_col]) and (
        "period" not in types[1] or types[1]["period"] == own["period"]))


def _stacked(part: pd.DataFrame, latest: pd.DataFrame | None, code: str, value_col: str,
             indicator: float) -> pd.DataFrame:
    """The rows of one indicator that :func:`_breakdown_frame` would concatenate (the breakdown rows
    of ``part`` with ``area_code`` = ``code``, then the whole-population rows of ``latest`` with its
    ``value_col`` as ``value``), with only the columns :func:`inequality` reads: their text (stripped,
    missing → "", as object columns) and numbers (float, missing → NaN). ``area_name`` is the first
    one given in ``part`` (the name the area's code looks up in the full frame)."""
    b = np.flatnonzero(c.floats(part["indicator_id"]) == indicator)
    whole: set[str] = set()
    w = np.zeros(0, dtype=np.intp)
    if latest is not None:
        whole = {"area_code", "category_type", "category", "value"} | {k for k in _WHOLE if k in latest.columns}
        if "indicator_id" in latest.columns:
            w = np.flatnonzero(c.floats(latest["indicator_id"]) == indicator)
    present = set(part.columns) | whole | {"area_code"}
    columns: dict[str, pd.Series] = {}
    for name in _TEXT:
        if name not in present:
            continue
        if name == "area_code":
            top = np.full(len(b), code.strip(), dtype=object)
        elif name == "area_name":
            given = c.text_array(part["area_name"])
            given = given[given != ""]
            top = np.full(len(b), given[0] if len(given) else "", dtype=object)
        else:
            top = c.text_at(part[name], b) if name in part.columns else np.full(len(b), "", dtype=object)
        if name == "area_code":
            low = np.full(len(w), code.strip(), dtype=object)
        elif name in whole and name not in ("category_type", "category"):
            low = c.text_at(latest[name], w)
        else:
            low = np.full(len(w), "", dtype=object)
        columns[name] = pd.Series(np.concatenate([top, low]), dtype=object, copy=False)
    for name in _NUMBERS:
        if name not in present:
            continue
        top = c.floats(part[name])[b] if name in part.columns else np.full(len(b), np.nan)
        low = c.floats(latest[value_col if name == "value" else name])[w] if name in whole else np.full(len(w), np.nan)
        columns[name] = pd.Series(np.concatenate([top, low]), copy=False)
    return pd.DataFrame(columns)
