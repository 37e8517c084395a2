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
    frame = _breakdown_frame(data, area, indicator)
    names = {**c.names_mapping(data if not isinstance(data, pd.DataFrame) else None), **c.names_mapping(names)}
    source = source or c.attr(data, "source") or None
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
    y = _spec.field("category", "nominal", sort=order, title=None, axis={"labelLimit": 260})
    x_title = f"Value ({meta['unit']})" if meta["unit"] else "Value"
    extra = [_spec.field("significance", "nominal", title="Compared with the overall value")] if coloured else []
    tooltip = c.tooltip_spec(extra)
    builder = _spec.SpecBuilder()
    data = builder.data(frame_)
    bars: dict[str, Any] = {"mark": {"type": "bar", "size": bar_height - 5},
                            "encoding": {"y": y, "x": _spec.field("value", "quantitative", title=x_title),
                                         "tooltip": tooltip}}
    if coloured:
        labels = list(frame_["significance"])
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
    if overall is not None or len(overall_rows):
        value = float(overall) if overall is not None else float(c.numbers(overall_rows["value"]).iloc[0])
        label = f"Overall ({area_name}): {c.fmt(pd.Series([value]), digits).iloc[0]}"
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
    subtitle = c.caption(f"{area_name}, {period_text}", c.breakdown_text(rows), f"by {ctype}",
                         "whiskers: 95% confidence interval", overall_note,
                         source=c.source_of(rows, source, meta))
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
