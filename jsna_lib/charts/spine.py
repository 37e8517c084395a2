"""The spine chart: the Health Profiles summary of one area across many indicators.

One row per indicator, grouped by domain. Left, a table: indicator, period, the area's count and
value (with a ▲/▼/●/■ symbol for its comparison with England), the region's and England's values
and England's worst and best. Right, the spine: England's range among the areas of the same type
drawn worst → 25th percentile (light grey), 25th → 75th (dark grey), 75th → best (light grey),
England's value as the centre line, the region as a diamond and the area as a circle in its
significance colour; best is always on the right (the axis is reversed for "low is good").

The geometry comes from the comparisons table's ``spine_*`` columns (DESIGN.md §4):
``position = 0.5 ± (value − spine_centre) / (2 × spine_half_width)``, minus when
``spine_reversed``, i.e. :func:`jsna_lib.compare.spine_positions`; a zero half-width puts the
value at the centre. That is geometry on given numbers, not statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import theme

SPINE_COLUMNS = ["spine_centre", "spine_half_width", "spine_reversed", "spine_worst", "spine_p25", "spine_p75",
                 "spine_best"]
_CHAR = 6.3  # px per character of a 10 px label (digits, DejaVu Sans; Arial is narrower)
_KEY = ["indicator_id", "area_code", "sex", "age", "category_type", "category", "period"]


def spine_positions(value: Any, centre: Any, half_width: Any, reversed_: Any) -> np.ndarray:
    """Positions 0..1 of values on the spine (England at 0.5, best at 1); see the module docstring."""
    v = c.numbers(value).to_numpy()
    centre_ = np.broadcast_to(c.numbers(centre).to_numpy(), v.shape)
    half = np.broadcast_to(c.numbers(half_width).to_numpy(), v.shape)
    sign = np.where(np.broadcast_to(np.asarray(reversed_, dtype=bool), v.shape), -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = 0.5 + sign * (v - centre_) / (2 * half)
    return np.where(half == 0, np.where(np.isfinite(v), 0.5, np.nan), pos)


def spine_rows(profile: Any, *, metadata: pd.DataFrame | None = None, domains: Sequence[str] | None = None,
               sexes: str | Sequence[str] | None = None, benchmark: str = "england") -> pd.DataFrame:
    """The table the spine chart draws: one row per indicator line, with positions.

    ``profile`` is a profile object (its latest-values frame is read from ``latest`` /
    ``latest_values``) or that frame: one row per indicator (and sex/age) with ``indicator_id``,
    ``value``, ``lower_95``/``upper_95``, ``count``, ``period``, ``significance``,
    ``england_value``, optionally ``region_value``, and the ``spine_*`` columns. A slice of the
    long comparisons table (one row per benchmark) is accepted too: the ``benchmark`` rows give
    the significance and the ``region`` rows the region's value. Several periods → the latest.
    ``sexes``: None keeps Persons where an indicator has it (else its Male and Female rows);
    ``"all"`` keeps every row; a list keeps those.
    """
    frame = c.frame_from(profile, c.LATEST_ATTRS, "latest values")
    c.require(frame, ["indicator_id", "value", *SPINE_COLUMNS], "spine_chart")
    rows = c.whole_population(frame)
    for key in _KEY:
        if key not in rows.columns:
            rows = rows.assign(**{key: ""})
    if "benchmark" in rows.columns and len(set(c.text(rows["benchmark"]))) > 1:
        labels = c.text(rows["benchmark"])
        base = rows[(labels == benchmark).to_numpy()]
        if "region_value" not in base.columns and (labels == "region").any():
            region = rows[(labels == "region").to_numpy()][_KEY + ["benchmark_value", "benchmark_code"]]
            base = base.merge(region.rename(columns={"benchmark_value": "region_value",
                                                     "benchmark_code": "region_code"}), on=_KEY, how="left")
        rows = base
    if "significance" not in rows.columns and "vs_england" in rows.columns:  # a profile's wide frame
        rows = rows.assign(significance=rows["vs_england"])
    if "england_value" not in rows.columns:
        rows = rows.assign(england_value=c.numbers(c.column(rows, "spine_centre", np.nan)).to_numpy())
    if "region_value" not in rows.columns:
        rows = rows.assign(region_value=np.nan)
    # Latest period of each indicator line.
    if "period_sort" in rows.columns:
        sort = c.numbers(rows["period_sort"]).fillna(-np.inf)
        line = [c.text(rows[k]) for k in ("indicator_id", "area_code", "sex", "age")]
        newest = sort.groupby(line).transform("max")
        rows = rows[(sort == newest).to_numpy()]
    # Sexes.
    sex = c.text(rows["sex"])
    if sexes is None:
        has_persons = (sex == "Persons").groupby(c.text(rows["indicator_id"])).transform("any")
        rows = rows[((sex == "Persons") | ~has_persons).to_numpy()]
    elif sexes != "all":
        rows = rows[sex.isin([sexes] if isinstance(sexes, str) else list(sexes)).to_numpy()]
    if metadata is None:
        ind = c.attr(profile, "indicators")
        metadata = ind if isinstance(ind, pd.DataFrame) else None
    rows = c.with_indicator_meta(rows, metadata)
    rows = rows.reset_index(drop=True)

    # Domain order: as asked, else as first met in the data.
    domain = c.text(rows["domain"]).replace("", "Other indicators")
    rows["domain"] = domain.to_numpy()
    order = list(domains) if domains is not None else list(dict.fromkeys(domain))
    if domains is not None:
        unknown = [d for d in order if d not in set(domain)]
        if unknown:
            raise ValueError(f"spine_chart: no indicators in domain(s) {', '.join(map(repr, unknown))}; "
                             f"the data have {', '.join(map(repr, dict.fromkeys(domain)))}")
        rows = rows[rows["domain"].isin(order).to_numpy()]
    rank = pd.Series(range(len(order)), index=order)
    rows = rows.assign(domain_rank=rows["domain"].map(rank).to_numpy(), input_order=np.arange(len(rows)))
    rows = rows.sort_values(["domain_rank", "input_order"], kind="stable").reset_index(drop=True)

    # Geometry (positions 0..1, best on the right).
    reversed_ = rows["spine_reversed"].fillna(False).astype(bool).to_numpy()
    centre = c.numbers(rows["spine_centre"])
    half = c.numbers(rows["spine_half_width"])
    for name, source in (("pos_value", "value"), ("pos_region", "region_value"), ("pos_worst", "spine_worst"),
                         ("pos_p25", "spine_p25"), ("pos_p75", "spine_p75"), ("pos_best", "spine_best")):
        rows[name] = np.clip(spine_positions(rows[source], centre, half, reversed_), 0.0, 1.0)
    rows["pos_centre"] = np.where(half.notna().to_numpy(), 0.5, np.nan)
    return rows


def _label_lines(names: pd.Series, width_chars: int, lines: int) -> pd.Series:
    """Wrap names onto at most ``lines`` lines of ``width_chars`` (the last line cut with "…")."""
    wrapped = c.text(names).str.wrap(width_chars, break_long_words=True)
    parts = wrapped.str.split("\n")
    kept = parts.str[:lines].str.join("\n")
    cut = parts.str.len() > lines
    return kept.where(~cut, kept.str.slice(0, -1).str.rstrip() + "\u2026")


def spine_chart(profile: Any, domains: Sequence[str] | None = None, *, metadata: pd.DataFrame | None = None,
                sexes: str | Sequence[str] | None = None, names: Any = None, area_name: str | None = None,
                region_name: str | None = None, title: str | None = None, source: str | None = None,
                width: int = 780, name_width: int = 240, row_height: int = 26, name_lines: int = 2,
                decimals: int = 1) -> alt.VConcatChart:
    """The spine chart of one area (see the module docstring).

    Parameters
    ----------
    profile : profile object or DataFrame
        ``area_profile(...)`` (its latest values) or the latest-values frame itself; see
        :func:`spine_rows` for the columns read.
    domains : list of str, optional
        Domains to show, in this order (default: all, in the order of the data).
    metadata : DataFrame, optional
        The ``indicators`` table, for names, domains and units the frame lacks (default: the
        profile's ``indicators`` when it has them).
    sexes : None, "all" or list
        See :func:`spine_rows`.
    names : {code: name} or a frame with ``area_code``/``area_name`` (e.g. the areas table), optional
        For the area's and the region's names when a frame (not a profile) is given.
    area_name, region_name, title, source : str, optional
        Labels (defaults from the profile, ``names`` or the data).
    width : int
        Total width in pixels (about 780: an A4 page at 96 dpi is 794).
    name_width, row_height, name_lines : int
        The indicator column's width, the row height and the lines an indicator name may wrap to.
    """
    rows = spine_rows(profile, metadata=metadata, domains=domains, sexes=sexes)
    if rows.empty:
        return c.note_chart("No indicators to show in the spine chart.", heading=title or "Spine chart")
    area_code = c.text(rows["area_code"]).iloc[0] if "area_code" in rows.columns else ""
    mapping = {**c.names_mapping(None if isinstance(profile, pd.DataFrame) else profile), **c.names_mapping(names)}
    region_code = c.text(c.column(rows, "region_code")).iloc[0] if len(rows) else ""
    area_name = area_name or c.attr(profile, "area_name") or (
        c.area_names(rows["area_code"].iloc[:1], rows, mapping).iloc[0] if area_code else "Area")
    region_name = region_name or c.attr(profile, "region_name") or mapping.get(region_code.upper())
    source = source or c.attr(profile, "source") or None
    region_name = region_name or c.attr(profile, "region_name") or "Region"

    # ---- display text (per row) -------------------------------------------------------------
    rows["label"] = c.row_labels(rows).to_numpy()
    chars = max(int(name_width / 5.9), 12)
    rows["label_text"] = _label_lines(rows["label"], chars, name_lines).to_numpy()
    numeric = ["value", "region_value", "england_value", "spine_worst", "spine_best"]
    # Per-indicator precision: 0 decimals for large values (counts, big rates), else ``decimals``.
    big = c.numbers(rows["england_value"]).abs().fillna(c.numbers(rows["value"]).abs()) >= 1000
    digits = pd.Series(np.where(big.to_numpy(), 0, decimals))
    for name in numeric:
        rows[f"{name}_text"] = c.fmt(rows[name], digits).to_numpy()
    rows["count_text"] = c.fmt(c.column(rows, "count", np.nan), 0).to_numpy()
    rows["ci_text"] = c.ci_text(c.column(rows, "lower_95", np.nan), c.column(rows, "upper_95", np.nan), digits).to_numpy()
    sig = c.text(c.column(rows, "significance", palette.NOT_COMPARED))
    rows["significance"] = sig.where(sig != "", palette.NOT_COMPARED).to_numpy()
    rows["symbol"] = c.symbols(rows["significance"]).to_numpy()
    rows["period"] = c.text(c.column(rows, "period")).to_numpy()
    rows["trend"] = c.text(c.column(rows, "trend")).to_numpy()

    # ---- rows of the layout: header, domain headings, indicators ------------------------------
    rows["row_key"] = "i" + pd.Series(np.arange(len(rows))).astype(str).to_numpy()
    first_of_domain = ~rows["domain"].duplicated()
    headings = pd.DataFrame({"row_key": "d" + rows.loc[first_of_domain, "domain_rank"].astype(str).to_numpy(),
                             "heading": rows.loc[first_of_domain, "domain"].to_numpy(),
                             "domain_rank": rows.loc[first_of_domain, "domain_rank"].to_numpy()})
    order_frame = pd.concat([
        headings.assign(sub=0), rows[["row_key", "domain_rank"]].assign(sub=1 + np.arange(len(rows)))],
        ignore_index=True).sort_values(["domain_rank", "sub"], kind="stable")
    row_order = ["header", *order_frame["row_key"]]
    height = row_height * len(row_order)
    y = alt.Y("row_key:N", sort=row_order, axis=None,
              scale=alt.Scale(domain=row_order, paddingInner=0, paddingOuter=0))

    # ---- column layout (pixels), sized to the text --------------------------------------------
    def col_width(values: pd.Series, header: str) -> int:
        longest = max(int(c.text(values).str.len().max() or 0), max(len(h) for h in header.split("\n")))
        return int(longest * _CHAR) + 7

    columns = [  # (field, header, align)
        ("period", "Period", "center"),
        ("count_text", "Local\ncount", "right"),
        ("value_text", "Local\nvalue", "right"),
        ("symbol", "", "center"),
        ("region_value_text", "Region\nvalue", "right"),
        ("england_value_text", "England\nvalue", "right"),
        ("spine_worst_text", "England\nworst", "right"),
        ("spine_best_text", "England\nbest", "right"),
    ]
    x = name_width + 6
    placed = []
    for field, header, align in columns:
        w = 16 if field == "symbol" else col_width(rows[field], header)
        anchor = {"left": x + 2, "center": x + w / 2, "right": x + w - 4}[align]
        placed.append((field, header, align, anchor))
        x += w
    table_width = x + 4
    spine_width = max(width - table_width - 12, 150)

    tooltip = [
        alt.Tooltip("label:N", title="Indicator"),
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("value_text:N", title=f"{area_name} value"),
        alt.Tooltip("ci_text:N", title="95% confidence interval"),
        alt.Tooltip("count_text:N", title="Count"),
        alt.Tooltip("significance:N", title="Compared with England"),
        alt.Tooltip("region_value_text:N", title=f"{region_name} value"),
        alt.Tooltip("england_value_text:N", title="England value"),
        alt.Tooltip("spine_worst_text:N", title="England worst"),
        alt.Tooltip("spine_best_text:N", title="England best"),
        alt.Tooltip("trend:N", title="Recent trend"),
    ]
    rows["stripe"] = (rows.groupby("domain_rank").cumcount() % 2 == 1).to_numpy()
    keep = ["row_key", "stripe", "label", "label_text", "domain", "significance", "symbol", "trend",
            *[f for f, _, _, _ in placed], "ci_text", "pos_value", "pos_region", "pos_worst", "pos_p25",
            "pos_p75", "pos_best", "pos_centre", "indicator_id"]
    data = c.clean_for_json(rows[list(dict.fromkeys(keep))])
    header = pd.DataFrame({"row_key": ["header"]})
    heads = c.clean_for_json(headings[["row_key", "heading"]])

    # ---- table panel --------------------------------------------------------------------------
    base = alt.Chart(data).encode(y=y)
    bands = alt.Chart(heads).mark_rect(color="#E9EEF3").encode(
        y=y, x=alt.value(0), x2=alt.value(table_width))
    heading_text = alt.Chart(heads).mark_text(align="left", baseline="middle", fontWeight="bold",
                                              fontSize=theme.FONT_SIZE, x=4).encode(y=y, text="heading:N")
    # No mark ``limit``: the names are already wrapped and shortened to fit in Python
    # (_label_lines), and asking the renderer to measure every label costs ~1.5 s per chart.
    name_text = base.mark_text(align="left", baseline="middle", fontSize=theme.SMALL, lineHeight=11, lineBreak="\n",
                               x=6).encode(text="label_text:N", tooltip=tooltip)
    cells = [base.mark_text(align=align, baseline="middle", fontSize=theme.SMALL, x=anchor).encode(
        text=f"{field}:N", tooltip=tooltip) for field, _, align, anchor in placed]
    head_frame = pd.DataFrame({"row_key": "header", "text": ["Indicator"] + [h for _, h, _, _ in placed],
                               "x": [6] + [a for _, _, _, a in placed],
                               "align": ["left"] + [al for _, _, al, _ in placed]})
    head_layers = [alt.Chart(head_frame[head_frame["align"] == al]).mark_text(
        align=al, baseline="middle", fontWeight="bold", fontSize=theme.SMALL, lineBreak="\n", lineHeight=11,
        color=theme.TEXT).encode(y=y, x=alt.X("x:Q", scale=None), text="text:N")
        for al in ("left", "center", "right")]
    rule = alt.Chart(header).mark_rule(color="#8C8C8C", strokeWidth=1).encode(
        y=alt.Y("row_key:N", sort=row_order, axis=None, bandPosition=1,
                scale=alt.Scale(domain=row_order, paddingInner=0, paddingOuter=0)),
        x=alt.value(0), x2=alt.value(table_width))
    stripes = alt.Chart(data[data["stripe"]]).mark_rect(color="#F5F5F5").encode(
        y=y, x=alt.value(0), x2=alt.value(table_width))
    table = alt.layer(bands, stripes, heading_text, name_text, *cells, *head_layers, rule).properties(
        width=table_width, height=height)

    # ---- spine panel --------------------------------------------------------------------------
    xs = alt.Scale(domain=[0, 1], nice=False, zero=False)
    ranges = pd.concat([
        data[["row_key", "pos_worst", "pos_p25"]].set_axis(["row_key", "x0", "x1"], axis=1).assign(part="outer"),
        data[["row_key", "pos_p25", "pos_p75"]].set_axis(["row_key", "x0", "x1"], axis=1).assign(part="inner"),
        data[["row_key", "pos_p75", "pos_best"]].set_axis(["row_key", "x0", "x1"], axis=1).assign(part="outer"),
    ], ignore_index=True).dropna(subset=["x0", "x1"])
    ranges["fill"] = np.where(ranges["part"] == "inner", palette.SPINE_INNER, palette.SPINE_OUTER)
    # Identity colour (scale=None): the greys must not share a scale with the significance colours.
    bars = alt.Chart(ranges).mark_bar(height={"band": 0.5}).encode(
        y=y, x=alt.X("x0:Q", scale=xs, axis=None), x2="x1:Q", color=alt.Color("fill:N", scale=None))
    centre = base.mark_tick(color=palette.ENGLAND_LINE, thickness=1.5, size=row_height * 0.8).encode(
        x=alt.X("pos_centre:Q", scale=xs, axis=None))
    region = base.mark_point(shape="diamond", filled=False, color="black", strokeWidth=1.3,
                             size=row_height * 3.2).encode(x=alt.X("pos_region:Q", scale=xs, axis=None),
                                                           tooltip=tooltip)
    labels = list(data["significance"])
    area = base.mark_point(shape="circle", filled=True, size=row_height * 3.6, stroke="black", strokeWidth=0.7,
                           opacity=1).encode(
        x=alt.X("pos_value:Q", scale=xs, axis=None),
        color=alt.Color("significance:N", scale=c.significance_scale(labels),
                        legend=c.legend(f"{area_name} compared with England (circle colour and table symbol)",
                                        columns=4, labelExpr=c.symbol_label_expr(labels))),
        tooltip=tooltip)
    spine_head = pd.DataFrame({"row_key": "header", "x": [0.0, 0.5, 1.0], "align": ["left", "center", "right"],
                               "text": ["Worst", "England", "Best"]})
    spine_heads = [alt.Chart(spine_head[spine_head["align"] == al]).mark_text(
        align=al, baseline="middle", fontWeight="bold", fontSize=theme.SMALL).encode(
        y=y, x=alt.X("x:Q", scale=xs, axis=None), text="text:N") for al in ("left", "center", "right")]
    spine_bands = alt.Chart(heads).mark_rect(color="#E9EEF3").encode(y=y, x=alt.value(0), x2=alt.value(spine_width))
    spine_rule = rule.encode(x=alt.value(0), x2=alt.value(spine_width))
    spine_stripes = stripes.encode(x=alt.value(0), x2=alt.value(spine_width))
    spine = alt.layer(spine_bands, spine_stripes, bars, centre, area, region, *spine_heads, spine_rule).properties(
        width=spine_width, height=height)

    key = _key_chart(region_name, area_name, width=table_width + spine_width)
    n_areas = "areas of the same type"
    if "rank_count" in rows.columns and c.numbers(rows["rank_count"]).notna().any():
        n_areas = f"the {int(c.numbers(rows['rank_count']).max())} areas of the same type in the data"
    n_ind = c.text(rows["indicator_id"]).nunique()
    lines = f"{n_ind} indicators" + (f" ({len(rows)} rows)" if len(rows) != n_ind else "")
    subtitle = c.caption(f"{lines}, latest period of each", "compared with England",
                         f"England range: {n_areas}",
                         source=c.source_of(rows, source))
    body = alt.hconcat(table, spine, spacing=12).resolve_scale(y="shared")
    return alt.vconcat(body, key, spacing=8).properties(
        title=c.title(title or f"{area_name}: health summary", subtitle))


def _key_chart(region_name: str, area_name: str, *, width: int) -> alt.LayerChart:
    """The spine's key: grey ranges, England line, region diamond, area circle, left to right,
    wrapping onto a second line when they do not fit ``width``."""
    labels = ["England range (dark grey: 25th to 75th percentile)", "England value",
              f"{region_name} value", f"{area_name} value"]
    mark_w, gap, line_h = 24.0, 22.0, 18.0
    places, x, y = [], 0.0, 9.0  # (mark start, text start, y) per item
    for i, text_ in enumerate(labels):
        first = 80.0 if i == 0 else mark_w
        extent = first + 6 + len(text_) * 5.9
        if x > 0 and x + extent > width:
            x, y = 0.0, y + line_h
        places.append((x, x + first + 4, y))
        x += extent + gap
    height = int(y + 9)
    bar_parts = pd.DataFrame({"x0": [0.0, 22.0, 58.0], "x1": [22.0, 58.0, 80.0], "y": places[0][2],
                              "fill": [palette.SPINE_OUTER, palette.SPINE_INNER, palette.SPINE_OUTER]})
    bars = alt.Chart(bar_parts).mark_rect(height=9).encode(
        x=alt.X("x0:Q", scale=None), x2="x1:Q", y=alt.Y("y:Q", scale=None), color=alt.Color("fill:N", scale=None))
    texts = pd.DataFrame({"x": [t for _, t, _ in places], "y": [yy for _, _, yy in places], "text": labels})
    label_layer = alt.Chart(texts).mark_text(align="left", baseline="middle", fontSize=theme.SMALL).encode(
        x=alt.X("x:Q", scale=None), y=alt.Y("y:Q", scale=None), text="text:N")
    marks = pd.DataFrame({"x": [m + mark_w / 2 for m, _, _ in places[1:]], "y": [yy for _, _, yy in places[1:]]})
    pos = {"x": alt.X("x:Q", scale=None), "y": alt.Y("y:Q", scale=None)}
    tick = alt.Chart(marks.iloc[[0]]).mark_tick(orient="vertical", thickness=1.5, size=14, color="black").encode(**pos)
    diamond = alt.Chart(marks.iloc[[1]]).mark_point(
        shape="diamond", filled=False, color="black", strokeWidth=1.3, size=75).encode(**pos)
    circle = alt.Chart(marks.iloc[[2]]).mark_point(
        shape="circle", filled=True, color="#FFFFFF", stroke="black", strokeWidth=0.7, size=85).encode(**pos)
    return alt.layer(bars, label_layer, tick, diamond, circle).properties(width=width, height=height)
