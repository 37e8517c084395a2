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
    fast = _from_profile(data, indicator, area, by, period, sex, age, order, names, metadata, decimals, source)
    if fast is not None:
        records, order, meta, area_name, digits, overall_value, caption_parts = fast
        return _finish(records, order, meta, area_name, digits,
                       float(overall) if overall is not None else overall_value, caption_parts, source, None, title,
                       width, bar_height)
    frame = _breakdown_frame(data, area, indicator)
    names = {**c.names_mapping(data if not isinstance(data, pd.DataFrame) else None), **c.names_mapping(names)}
    rows = c.indicator_rows(frame, indicator, sex=sex, age=age, chart="inequality", whole=False)
    ind_id = c.numbers(rows["indicator_id"]).iloc[0]
    meta = c.indicator_meta(rows, metadata, ind_id)
    if area is None:
        with_breakdown = c.text(rows.loc[c.text(c.column(rows, "category_type")).to_numpy() != "", "area_code"])
        present = list(dict.fromkeys(with_breakdown))
        area = c.ENGLAND if c.ENGLAND in present or not present else present[0]
    area = str(area).strip().upper()
    rows = rows[(c.text(rows["area_code"]).str.upper() == area).to_numpy()]
    if rows.empty:
        raise ValueError(f"inequality: no rows for area {area} and indicator {int(ind_id)}")
    rows = rows.assign(category_type=c.text(c.column(rows, "category_type")).str.strip('"').to_numpy())
    ctype = _category_type(rows, by)
    cats = c.latest(rows[(rows["category_type"] == ctype).to_numpy()], period)
    period_text = c.text(cats["period"]).iloc[0]
    overall_rows = rows[((rows["category_type"] == "") & (c.text(rows["period"]) == period_text)).to_numpy()]
    digits = decimals if decimals is not None else c.decimals_for(cats["value"])
    cats = c.add_display_columns(cats.drop_duplicates("category"), digits)
    cats["category"] = c.text(cats["category"]).to_numpy()
    order = list(order) if order is not None else category_order(cats["category"])
    area_name = c.area_names(pd.Series([area]), frame, names).iloc[0]
    cats["area_name"] = area_name + ": " + cats["category"]
    cats["indicator_name"] = meta["name"]
    coloured = c.has_significance(cats)
    if coloured:
        cats["right_text"] = (c.symbols(cats["significance"]) + " " + cats["value_text"]).to_numpy()
    else:
        cats["right_text"] = cats["value_text"]
    cols = ["category", "area_name", "indicator_name", "period", "value", "lower_95", "upper_95", "value_text",
            "ci_text", "count_text", "right_text", *(["significance"] if coloured else [])]
    frame_ = c.clean_for_json(cats[[k for k in cols if k in cats.columns]])
    labels = list(frame_["significance"]) if coloured else None
    overall_value = float(c.numbers(overall_rows["value"]).iloc[0]) if len(overall_rows) else None
    caption_parts = (period_text, c.breakdown_text(rows), ctype, rows)
    return _finish(frame_, order, meta, area_name, digits, float(overall) if overall is not None else overall_value,
                   caption_parts, source, labels, title, width, bar_height)


def _finish(frame_: pd.DataFrame | list[dict[str, Any]], order: list[str], meta: dict[str, str], area_name: str,
            digits: int, overall_value: float | None, caption_parts: tuple[Any, ...], source: str | None,
            labels: list[str] | None, title: str | None, width: int, bar_height: int) -> _spec.Chart:
    """The chart from its dataset (a frame or JSON-ready rows), category order and labels.
    ``caption_parts`` is (period, breakdown text, category type, rows or the rows' source);
    ``labels`` the significance labels when they colour the bars, else None."""
    coloured = labels is not None
    period_text, breakdown, ctype, source_rows = caption_parts
    y = _spec.field("category", "nominal", sort=order, title=None, axis={"labelLimit": 260})
    x_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    extra = [_spec.field("significance", "nominal", title="Compared with the overall value")] if coloured else []
    tooltip = c.tooltip_spec(extra)
    builder = _spec.SpecBuilder()
    data = builder.data(frame_)
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
    found = source_rows if isinstance(source_rows, str) else c.source_of(source_rows, source, meta)
    subtitle = c.caption(f"{area_name}, {period_text}", breakdown, f"by {ctype}",
                         "whiskers: 95% confidence interval", overall_note, source=found)
    spec: dict[str, Any] = {"layer": layers, "width": width, "height": bar_height * len(order),
                            "title": _spec.title(title or meta["name"], subtitle)}
    if "data" not in layers[0]:  # one dataset for every layer: on the top level (as Altair puts it)
        spec = {"data": data, **spec}
    return builder.finish(spec)

def _breakdown_frame(data: Any, area: str | None, indicator: Any) -> pd.DataFrame:
    """The rows to draw from a frame, or from a profile (its area's or England's breakdowns plus
    whole-population rows made from its latest values, for the overall line)."""
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
        rows = england.assign(area_code=c.ENGLAND)
    else:
        if not has_own:
            raise ValueError(f"inequality: the profile has no breakdown rows for {own_code}"
                             + ("" if indicator is None else f" and indicator {indicator}"))
        rows = own.assign(area_code=own_code)
    latest = c.attr(data, "indicators")
    if isinstance(latest, pd.DataFrame) and len(latest):  # whole-population rows for the overall line
        value_col = "england_value" if use_england else "value"
        whole = latest.assign(area_code=c.ENGLAND if use_england else own_code, category_type="", category="",
                              value=c.numbers(latest[value_col]).to_numpy())
        keep = [k for k in ("indicator_id", "area_code", "sex", "age", "category_type", "category", "period",
                            "period_sort", "value") if k in whole.columns]
        rows = pd.concat([rows, whole[keep]], ignore_index=True)
    return rows


# ----------------------------------------------------------------------------- from a profile, on arrays
def _ids(frame: pd.DataFrame) -> np.ndarray:
    """``c.numbers(frame["indicator_id"])`` as a float array."""
    return _floats(frame["indicator_id"])


def _floats(values: pd.Series) -> np.ndarray:
    """``c.numbers(values)`` as a float array (numeric columns read directly)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return c.numbers(values).to_numpy()


def _is_text(frame: pd.DataFrame, name: str) -> bool:
    return name not in frame.columns or isinstance(frame[name].dtype, pd.StringDtype) or frame[name].dtype == object


def _most_frequent(values: np.ndarray, prefer: Sequence[str]) -> str:
    """:func:`jsna_lib.charts._common.choose`'s default: the first of ``prefer`` present, else the
    most frequent value (ties: the first in sorted order)."""
    present = set(values.tolist())
    wanted = next((p for p in prefer if p in present), None)
    if wanted is None:
        counts: dict[str, int] = {}
        for value in values.tolist():
            counts[value] = counts.get(value, 0) + 1
        most = max(counts.values())
        wanted = sorted(k for k, n in counts.items() if n == most)[0]
    return wanted


_TEXT = ("area_code", "sex", "age", "category_type", "category", "period", "indicator_name", "name", "unit",
         "polarity", "domain", "source", "value_type")
_META = (("name", ("indicator_name", "name")), ("unit", ("unit",)), ("polarity", ("polarity",)),
         ("domain", ("domain",)), ("source", ("source",)), ("value_type", ("value_type",)))


def _from_profile(data: Any, indicator: Any, area: str | None, by: str, period: str | None, sex: str | None,
                  age: str | None, order: Sequence[str] | None, names: Any, metadata: pd.DataFrame | None,
                  decimals: int | None, source: str | None) -> tuple[Any, ...] | None:
    """What :func:`inequality` draws from a profile, worked out on numpy arrays of the indicator's
    rows (the frames of :func:`_breakdown_frame` are never built): (dataset rows, category order,
    indicator metadata, area name, decimals, overall value, caption parts).

    Covers the usual case: an indicator given, no ``metadata`` and the profile's usual column
    types. Returns None for anything else, and wherever the chart cannot be drawn (the frame-based
    code then draws it or raises its error)."""
    if isinstance(data, pd.DataFrame) or metadata is not None or indicator is None or isinstance(indicator, bool) \
            or not isinstance(indicator, int | float | np.integer | np.floating):
        return None
    own_code = str(c.attr(data, "area_code") or "").upper()
    own, england = c.attr(data, "inequalities"), c.attr(data, "england_inequalities")
    latest = c.attr(data, "indicators")
    want = None if area is None else str(area).strip().upper()
    has_own = isinstance(own, pd.DataFrame) and len(own) and bool((_ids(own) == float(indicator)).any())
    use_england = want == c.ENGLAND or (want is None and not has_own)
    if not use_england and not has_own:
        return None
    part, code = (england, c.ENGLAND) if use_england else (own, own_code)
    if not isinstance(part, pd.DataFrame) or part.empty or not isinstance(latest, pd.DataFrame) or latest.empty:
        return None
    columns = set(part.columns)
    value_col = "england_value" if use_england else "value"
    if {"area_name", "significance", "indicator_id"} & columns != {"indicator_id"} or "indicator_id" not in \
            latest.columns or value_col not in latest.columns or "period" not in columns \
            or not all(_is_text(f, k) for f in (part, latest) for k in _TEXT) \
            or not isinstance(part["period"].dtype, pd.StringDtype) \
            or ("period" in latest.columns and latest["period"].dtype != part["period"].dtype) \
            or any(k in columns and part[k].dtype != np.float64 for k in ("value", "lower_95", "upper_95")) \
            or "value" not in columns:
        return None
    # the whole-population rows (from ``latest``) carry these columns, the breakdown rows all theirs
    whole = {"area_code", "category_type", "category", "value"} | {
        k for k in ("indicator_id", "sex", "age", "period", "period_sort") if k in latest.columns}
    columns |= whole
    b = np.flatnonzero(_ids(part) == float(indicator))
    w = np.flatnonzero(_ids(latest) == float(indicator))

    made: dict[tuple[str, str], np.ndarray] = {}

    def text(name: str) -> np.ndarray:  # the column's text over the rows (breakdown rows, then whole)
        if ("text", name) not in made:
            made["text", name] = _text(name)
        return made["text", name]

    def number(name: str) -> np.ndarray:  # the column's numbers over the rows
        if ("number", name) not in made:
            made["number", name] = _number(name)
        return made["number", name]

    def _text(name: str) -> np.ndarray:
        if name == "area_code":
            return np.full(len(b) + len(w), code.strip(), dtype=object)
        top = c.text_array(part[name])[b] if name in part.columns else np.full(len(b), "", dtype=object)
        if name in ("category_type", "category"):
            low = np.full(len(w), "", dtype=object)
        else:
            low = c.text_array(latest[name])[w] if name in whole else np.full(len(w), "", dtype=object)
        return np.concatenate([top, low])

    def _number(name: str) -> np.ndarray:
        top = _floats(part[name])[b] if name in part.columns else np.full(len(b), np.nan)
        low = _floats(latest[value_col if name == "value" else name])[w] if name in whole else np.full(len(w), np.nan)
        return np.concatenate([top, low])

    rows = np.arange(len(b) + len(w))
    if not len(rows):
        return None
    for name, wanted, prefer in (("sex", sex, ("Persons",)), ("age", age, ())):
        if name in columns:
            values = text(name)[rows]
            keep = values == (wanted if wanted is not None else _most_frequent(values, prefer))
            if not keep.any():
                return None
            rows = rows[keep]
    ind_id = number("indicator_id")[rows][0]
    meta = {key: "" for key, _ in _META}
    for key, names_ in _META:
        for name in names_:
            if name in columns:
                found = text(name)[rows]
                found = found[found != ""]
                if len(found):
                    meta[key] = found[0]
                    break
    if not meta["name"]:
        meta["name"] = f"Indicator {ind_id}"
    types = text("category_type")[rows]
    if area is None:
        area = c.ENGLAND if not (types != "").any() or code.strip() == c.ENGLAND else code.strip()
    area = str(area).strip().upper()
    if code.strip().upper() != area:
        return None
    types = np.array([value.strip('"') for value in types.tolist()], dtype=object)
    try:
        ctype = _category_type(pd.DataFrame({"category_type": types}), by)
    except ValueError:
        return None
    cats = rows[types == ctype]
    periods = text("period")
    if period is not None:
        cats = cats[periods[cats] == str(period)]
    elif "period_sort" in columns:
        sort = number("period_sort")
        if (~np.isnan(sort[cats])).any():
            cats = cats[sort[cats] == np.nanmax(sort[cats])]
    if not len(cats):
        return None
    period_text = periods[cats[0]]
    overall_at = rows[(types == "") & (periods[rows] == period_text)]
    value = number("value")
    if decimals is not None:
        digits = decimals
    else:
        size = np.abs(value[cats])
        digits = 0 if (~np.isnan(size)).any() and np.nanmedian(size) >= 1000 else 1
    raw = part["category"].to_numpy(dtype=object)[b] if "category" in part.columns else np.full(len(b), None)
    raw = np.concatenate([np.where(pd.isna(raw), None, raw), np.full(len(w), "", dtype=object)])
    firsts: dict[Any, int] = {}
    for i, key in zip(cats.tolist(), raw[cats].tolist(), strict=True):
        firsts.setdefault(key, i)
    cats = np.array(list(firsts.values()), dtype=np.intp)
    category = text("category")[cats]
    order = list(order) if order is not None else category_order(pd.Series(category, dtype=object))
    mapping = {**c.names_mapping(data), **c.names_mapping(names)}
    area_name = mapping.get(area, "") or ("England" if area == c.ENGLAND else area)
    lower = number("lower_95")[cats] if "lower_95" in columns else np.full(len(cats), np.nan)
    upper = number("upper_95")[cats] if "upper_95" in columns else np.full(len(cats), np.nan)
    count = number("count")[cats] if "count" in columns else np.full(len(cats), np.nan)
    value_text = c.fmt_array(value[cats], digits)
    ci = np.where(~np.isnan(lower) & ~np.isnan(upper),
                  c.fmt_array(lower, digits) + " to " + c.fmt_array(upper, digits), c.DASH)
    labels = np.strings.strip((area_name + ": " + category).astype(str)).astype(object) if len(category) \
        else category  # as the frame's text columns are written (stripped)
    dataset: dict[str, Any] = {"category": category, "area_name": labels,
                               "indicator_name": meta["name"], "period": periods[cats], "value": value[cats]}
    if "lower_95" in columns:
        dataset["lower_95"] = lower
    if "upper_95" in columns:
        dataset["upper_95"] = upper
    dataset.update(value_text=value_text, ci_text=ci.astype(object), count_text=c.fmt_array(count, 0),
                   right_text=value_text)
    breakdown = []
    for name, plain in (("sex", "Persons"), ("age", "All ages")):
        if name in columns:
            first = text(name)[rows[0]]
            if first and first not in (plain, "Not applicable"):
                breakdown.append(first)
    if source:
        found = source
    else:
        given = text("source")[rows] if "source" in columns else np.array([], dtype=object)
        given = given[given != ""]
        found = given[0] if len(given) else (meta["source"] or "OHID Fingertips methods; data as supplied")
    overall_value = float(value[overall_at[0]]) if len(overall_at) else None
    return (_spec.array_records(dataset, len(cats)), order, meta, area_name, digits, overall_value,
            (period_text, ", ".join(breakdown), ctype, found))

