"""The overview ("tartan rug"): indicators × areas, each cell coloured by the area's (given)
significance with its value printed in it (and a ▲/▼/●/■ symbol, so colour is never the only
cue); England's and the region's columns first, uncoloured.

The Vega-Lite spec is written directly as a dict (see :mod:`jsna_lib.charts._spec`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import _spec, theme

BENCHMARK_FILL = "#FFFFFF"


def _shown_periods(rows: pd.DataFrame, areas: list[str], significance_benchmark: str | None) -> pd.DataFrame:
    """Only the rows at the periods the rug shows (each indicator line's latest among the areas'
    cells): a comparisons slice holds every period, and the rest of the work is per row."""
    keys = [k for k in ("indicator_id", "sex", "age", "period_sort") if k in rows.columns]
    if len(keys) < 2:
        return rows
    # one integer per (indicator, sex, age, period) combination of ``rows``
    combo = np.zeros(len(rows), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(rows[key], use_na_sentinel=False)
        combo = combo * (len(uniques) + 1) + codes
    located = rows.assign(_row=np.arange(len(rows)))
    cells = c.latest_per_line(c.one_benchmark(located[c.text(rows["area_code"]).isin(areas).to_numpy()],
                                              significance_benchmark))
    if cells.empty:
        return rows
    return rows[np.isin(combo, combo[cells["_row"].to_numpy()])]


def overview(data: pd.DataFrame, areas: Any = None, indicators: Sequence[Any] | None = None, *,
             benchmarks: Sequence[str] | Mapping[str, str] = ("england", "region"), period: str | None = None,
             significance_benchmark: str | None = "england", names: Any = None,
             metadata: pd.DataFrame | None = None, symbols: bool = True, by_domain: bool = True,
             title: str | None = None, source: str | None = None, decimals: int = 1,
             row_height: int = 20, label_width: int = 300) -> _spec.Chart:
    """The tartan rug of several areas across indicators.

    Parameters
    ----------
    data : DataFrame
        Rows of the indicators for the areas (and, if available, the benchmarks' own rows):
        ``indicator_id``, ``area_code``, ``period``/``period_sort``, ``value``, ``significance``,
        optional ``area_name``; or a slice of the comparisons table (one row per benchmark; the
        ``significance_benchmark`` rows colour the cells, ``england_value`` and the
        ``benchmark_value`` of ``region`` rows fill the benchmark columns).
    areas : list of area codes (or a frame with ``area_code``), optional
        Columns after the benchmarks, in this order (default: every area in the data).
    indicators : list of indicator ids, optional
        Rows, in this order (default: all, grouped by domain).
    benchmarks : codes or labels ("england", "region") or {code: column title}
        Uncoloured columns shown first. "region" needs a comparisons frame of areas in one region.
    period : str, optional
        One period for every indicator (default: each indicator's latest).
    """
    rows = c.whole_population(c.frame_from(data, c.LATEST_ATTRS, "values"))
    c.require(rows, ["indicator_id", "area_code", "value"], "overview")
    ids = c.numbers(rows["indicator_id"])
    if indicators is not None:
        wanted = [float(i) for i in indicators]
        rows = rows[ids.isin(wanted).to_numpy()]
        rank = {v: k for k, v in enumerate(wanted)}
    else:
        rank = {v: k for k, v in enumerate(dict.fromkeys(ids))}
    if rows.empty:
        raise ValueError("overview: no rows for the indicators asked for")
    rows = c.persons_else_all(rows)
    bench_items = list(benchmarks.items()) if isinstance(benchmarks, Mapping) else [(b, None) for b in benchmarks]
    bench_codes = {str(b).upper() for b, _ in bench_items} | {c.ENGLAND}
    if areas is None:
        areas = [a for a in dict.fromkeys(c.text(rows["area_code"])) if a not in bench_codes and not a.startswith("E12")]
    areas = c.area_codes(areas)
    if period is None and "period_sort" in rows.columns:
        rows = _shown_periods(rows, areas, significance_benchmark)
    rows = c.with_indicator_meta(rows, metadata)
    rows = c.latest(rows, period) if period is not None else rows
    codes = c.text(rows["area_code"])
    cells = c.one_benchmark(rows[codes.isin(areas).to_numpy()], significance_benchmark)
    if period is None:
        cells = c.latest_per_line(cells)
    if cells.empty:
        raise ValueError(f"overview: no values for the areas {', '.join(areas)}")
    line_keys = ["indicator_id", "sex", "age"]
    for key in line_keys + ["period"]:
        if key not in cells.columns:
            cells[key] = ""
            rows[key] = ""
    chosen = cells[line_keys + ["period"]].drop_duplicates()

    # Benchmark columns, at the areas' periods, from the benchmarks' own rows or the shown areas' rows.
    shown = rows[(codes.isin(areas) | codes.isin(bench_codes)).to_numpy()]
    columns = []
    skipped = []
    for code, label in bench_items:
        bench = c.benchmark_values(shown, code)
        if bench.empty:
            skipped.append(str(code))
            continue
        for key in line_keys + ["period"]:
            if key not in bench.columns:
                bench[key] = ""
        bench = bench.merge(chosen, on=line_keys + ["period"], how="inner")
        if bench.empty:
            skipped.append(str(code))
            continue
        bench_code = c.text(bench["area_code"]).iloc[0]
        title_ = label or c.area_names(pd.Series([bench_code]), data, names).iloc[0]
        columns.append(bench.assign(column=title_, significance="", kind="benchmark"))
    area_cells = cells.assign(column=c.area_names(cells["area_code"], data, names).to_numpy(), kind="area")
    dup = area_cells.drop_duplicates("area_code")["column"].duplicated(keep=False)
    if dup.any():
        area_cells["column"] = area_cells["column"] + " (" + c.text(area_cells["area_code"]) + ")"
    long = pd.concat([*columns, area_cells], ignore_index=True)
    meta_cols = ["indicator_name", "domain", "unit"]
    meta = rows.drop_duplicates("indicator_id").set_index(c.text(rows.drop_duplicates("indicator_id")["indicator_id"]))
    for col in meta_cols:
        long[col] = c.text(long["indicator_id"]).map(meta[col]).fillna("").to_numpy()
    long["row"] = c.row_labels(long).to_numpy()
    long["domain"] = c.text(long["domain"]).replace("", "Other indicators").to_numpy()
    long["rank"] = c.numbers(long["indicator_id"]).map(rank).to_numpy()
    long = c.add_display_columns(long, 0)
    # Per indicator: no decimals for values in the thousands (rates per 100,000...), else ``decimals``.
    typical = c.numbers(long["value"]).abs().groupby(c.text(long["indicator_id"]).to_numpy()).transform("median")
    digits = pd.Series(np.where(typical.to_numpy() >= 1000, 0, decimals))
    long["value_text"] = c.fmt(long["value"], digits).to_numpy()
    long["ci_text"] = c.ci_text(c.column(long, "lower_95", np.nan), c.column(long, "upper_95", np.nan), digits).to_numpy()
    sig = c.text(long["significance"])
    is_area = (long["kind"] == "area").to_numpy()
    long["significance"] = np.where(is_area, np.where(sig == "", palette.NOT_COMPARED, sig), "")
    prefix = c.symbols(long["significance"]) + " " if symbols else ""
    long["cell_text"] = np.where(is_area & (long["value_text"] != c.DASH), (prefix + long["value_text"]).str.strip(),
                                 long["value_text"])
    long["text_colour"] = c.text_colour(long["significance"]).to_numpy()
    long["area_name"] = long["column"]

    # each area's column title (zipped backwards so that an area's first row is the one kept)
    area_column = dict(zip(area_cells["area_code"].tolist()[::-1], area_cells["column"].tolist()[::-1], strict=True))
    col_order = list(dict.fromkeys([*(b["column"].iloc[0] for b in columns),
                                    *(area_column[a] for a in areas if a in area_column)]))
    domain_order = list(dict.fromkeys(long.sort_values("rank", kind="stable")["domain"]))
    long["domain_rank"] = long["domain"].map({d: i for i, d in enumerate(domain_order)})
    row_order = list(dict.fromkeys(long.sort_values(["domain_rank", "rank", "row"], kind="stable")["row"]))
    cell_w = max(48, int(long["cell_text"].str.len().max() * 6.3) + 12)
    keep = ["row", "column", "domain", "indicator_name", "area_name", "period", "value", "value_text", "ci_text",
            "count_text", "significance", "cell_text", "text_colour", "kind"]
    frame = c.clean_for_json(long[keep])
    labels = [s for s in frame["significance"] if s]
    benchmark_test = "datum.kind === 'benchmark'"
    fill = {"condition": {"test": benchmark_test, "value": BENCHMARK_FILL},
            "field": "significance", "type": "nominal", "scale": c.significance_scale_spec(labels),
            "legend": c.legend_spec("Compared with England" if significance_benchmark == "england"
                                    else f"Compared with {significance_benchmark}",
                                    labelExpr=c.symbol_label_expr(labels))}
    tooltip = c.tooltip_spec([_spec.field("significance", "nominal", title="Compared with England")])
    x = _spec.field("column", "nominal", sort=col_order, title=None,
                    axis={"orient": "top", "labelAngle": -40, "labelAlign": "left", "labelLimit": 170,
                          "domain": False, "ticks": False, **c.bold_labels([b["column"].iloc[0] for b in columns])})
    headed = by_domain and len(domain_order) > 1
    if headed:  # a heading row (the domain's name, in bold) before each domain's indicators
        first_rows = long.sort_values(["domain_rank", "rank", "row"], kind="stable").drop_duplicates("row")
        order_frame = pd.concat([pd.DataFrame({"row": domain_order, "domain_rank": range(len(domain_order)), "sub": 0}),
                                 first_rows[["row", "domain_rank"]].assign(sub=1)], ignore_index=True)
        row_order = list(order_frame.sort_values(["domain_rank", "sub"], kind="stable")["row"])
    bold = {"labelFontWeight": {"condition": {"test": f"indexof({json.dumps(domain_order)}, datum.label) >= 0",
                                              "value": "bold"}, "value": "normal"}} if headed else {}
    y = _spec.field("row", "nominal", sort=row_order, title=None, scale={"domain": row_order},
                    axis={"labelLimit": label_width, "domain": False, "ticks": False, "labelAlign": "left",
                          "labelPadding": label_width + 4, **bold})
    rect = {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 1.5},
            "encoding": {"x": x, "y": y, "color": fill, "tooltip": tooltip}}
    outline = {"mark": {"type": "rect", "stroke": "#BBBBBB", "strokeWidth": 0.8, "fill": None},
               "encoding": {"x": x, "y": y}, "transform": [{"filter": benchmark_test}]}
    label = {"mark": {"type": "text", "fontSize": theme.SMALL, "baseline": "middle"},
             "encoding": {"x": x, "y": y, "text": _spec.field("cell_text", "nominal"),
                          "color": _spec.field("text_colour", "nominal", scale=None), "tooltip": tooltip}}
    subtitle = c.caption("latest period of each indicator" if period is None else period,
                         "England and region columns: values only; others: compared with England"
                         + (" (colour and symbol)" if symbols else ""),
                         f"no {' or '.join(skipped)} column (not in the data, or the areas are in several regions)"
                         if skipped else None,
                         source=c.source_of(rows, source))
    builder = _spec.SpecBuilder()
    return builder.finish({"data": builder.data(frame), "layer": [rect, outline, label],
                           "width": {"step": cell_w}, "height": {"step": row_height},
                           "title": _spec.title(title or "Overview of indicators", subtitle)})
