"""Shared plumbing of the chart builders: picking rows, labels, formatting and scales.

Nothing here computes a statistic: rows are selected (indicator, sex, age, period, benchmark),
labelled (names, units) and formatted (text for table cells and tooltips).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import palette
from . import _spec

ENGLAND = "E92000001"
DASH = "\u2013"
NO_DATA = "No data"

#: Attribute names under which a profile object may hold each frame (duck typing: charts do
#: not import the profile module).
LATEST_ATTRS = ("latest", "latest_values", "headline", "values")
SERIES_ATTRS = ("series", "time_series", "trends", "history")
POPULATION_ATTRS = ("population",)
INEQUALITY_ATTRS = ("inequalities", "inequality")


# ================================================================================= inputs
def frame_from(obj: Any, attrs: Sequence[str], what: str) -> pd.DataFrame:
    """``obj`` itself when it is a DataFrame, else its first attribute (or key) in ``attrs`` that is one."""
    if isinstance(obj, pd.DataFrame):
        return obj
    for name in attrs:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if callable(value) and not isinstance(value, pd.DataFrame):
            value = value()
        if isinstance(value, pd.DataFrame):
            return value
    raise TypeError(f"expected a DataFrame of {what} (or a profile holding one as "
                    f"{' / '.join(repr(a) for a in attrs)}), got {type(obj).__name__}")


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]`` (profile objects and dicts alike), else ``default``."""
    if obj is None or isinstance(obj, pd.DataFrame):
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    value = getattr(obj, name, default)
    return default if callable(value) else value


def text(values: Any, n: int | None = None) -> pd.Series:
    """Strings with missing → "" (pandas StringDtype, object, categoricals alike)."""
    if values is None:
        return pd.Series([""] * (n or 0), dtype=object)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return pd.Series(text_array(series), index=series.index, dtype=object)


def text_array(values: Any) -> np.ndarray:
    """:func:`text` as an object array (no Series around it): stripped strings, missing → ""."""
    if isinstance(values, pd.Series | pd.Index) and isinstance(values.dtype, pd.StringDtype) \
            and values.dtype.storage == "pyarrow":  # the store's strings: trimmed in Arrow, ~5x faster
        arrow = pa.array(values.array)  # no copy
        return pc.fill_null(pc.utf8_trim_whitespace(arrow), "").to_numpy(zero_copy_only=False)
    obj = np.asarray(values, dtype=object)
    missing = pd.isna(obj)
    if missing.any():
        obj = np.where(missing, "", obj)
    if not len(obj):
        return obj
    return np.strings.strip(obj.astype(str)).astype(object)


def numbers(values: Any) -> pd.Series:
    """Floats with missing → NaN (nullable dtypes included)."""
    return pd.to_numeric(pd.Series(values), errors="coerce").astype(float)


def column(frame: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    """A column of ``frame`` or a constant one (same index)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object if isinstance(default, str) else float)


def require(frame: pd.DataFrame, columns: Iterable[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{chart}: the data lack column(s) {', '.join(missing)} "
                         f"(it has: {', '.join(map(str, frame.columns))})")


def one_benchmark(rows: pd.DataFrame, benchmark: str | None) -> pd.DataFrame:
    """:func:`one_benchmark_positions` as a frame: the rows compared with ``benchmark``, with a
    profile's ``vs_<benchmark>`` column as ``significance`` when the rows have no such column."""
    pos, sig = one_benchmark_positions(rows, np.arange(len(rows)), benchmark)
    out = rows if len(pos) == len(rows) else rows.iloc[pos]
    if sig is not None and sig != "significance":
        out = out.assign(significance=out[sig].to_numpy())
    return out


def indicator_rows(data: pd.DataFrame, indicator: Any, *, sex: str | None, age: str | None, chart: str,
                   whole: bool = True) -> pd.DataFrame:
    """:func:`indicator_positions` as a frame: one indicator's rows for one sex (Persons unless told)
    and age (the commonest unless told), whole-population rows only unless ``whole`` is False."""
    pos, _ = indicator_positions(data, indicator, sex=sex, age=age, chart=chart, whole=whole)
    return data.iloc[pos]


def breakdown_text(rows: pd.DataFrame) -> str:
    """:func:`breakdown_text_at` of every row."""
    return breakdown_text_at(rows, np.arange(len(rows)))


def latest(rows: pd.DataFrame, period: str | None = None) -> pd.DataFrame:
    """:func:`latest_positions` as a frame: the rows of ``period`` (display text), or of the latest
    ``period_sort`` when None."""
    pos = latest_positions(rows, np.arange(len(rows)), period)
    return rows if len(pos) == len(rows) else rows.iloc[pos]


def names_mapping(names: Any) -> dict[str, str]:
    """``names`` as {code: name}: a mapping, or a frame with ``area_code`` and ``area_name`` (e.g. the
    store's ``areas`` table or ``geography.children(...)``), or a profile (its area, region, comparator)."""
    if names is None:
        return {}
    if isinstance(names, pd.DataFrame):
        require(names, ["area_code", "area_name"], "names")
        return dict(zip(text(names["area_code"]).str.upper(), text(names["area_name"]), strict=True))
    if isinstance(names, Mapping):
        return {str(k).upper(): str(v) for k, v in names.items()}
    out = {}
    for role in ("area", "region", "parent", "comparator"):
        code, name = attr(names, f"{role}_code"), attr(names, f"{role}_name")
        if code and name:
            out[str(code).upper()] = str(name)
    return out


def area_codes(areas: Any) -> list[str] | None:
    """Area codes from a list or from a frame's ``area_code`` column (None stays None)."""
    if areas is None:
        return None
    if isinstance(areas, pd.DataFrame):
        require(areas, ["area_code"], "areas")
        areas = areas["area_code"]
    if isinstance(areas, str):
        areas = [areas]
    return [str(a).strip().upper() for a in areas]


def area_names(codes: pd.Series, data: pd.DataFrame | None = None, names: Any = None) -> pd.Series:
    """:func:`area_names_of` as a Series of strings (same index as ``codes``): the display name per
    area code."""
    codes = codes if isinstance(codes, pd.Series) else pd.Series(codes)
    return pd.Series(area_names_of(text_array(codes), data, names), index=codes.index).astype(str)


def indicator_meta(rows: pd.DataFrame, indicators: pd.DataFrame | None, indicator_id: Any) -> dict[str, str]:
    """:func:`indicator_meta_at` of every row."""
    return indicator_meta_at(rows, np.arange(len(rows)), indicators, indicator_id)


# ================================================================================= formatting
def fmt(values: Any, decimals: int | Sequence[int] | pd.Series = 1) -> pd.Series:
    """Numbers as display text with thousands separators ("–" when missing)."""
    digits = np.asarray(decimals, dtype=int)
    out = fmt_array(numbers(values).to_numpy(), digits)
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(out, index=index, dtype=object)


def fmt_array(values: np.ndarray, digits: np.ndarray | int) -> np.ndarray:
    """:func:`fmt` on a float array: ``digits`` one precision or one per value; "–" when missing."""
    out = np.full(len(values), DASH, dtype=object)
    ok = np.isfinite(values)
    places = np.broadcast_to(np.asarray(digits, dtype=int), values.shape)
    for d in np.unique(places[ok]):  # a handful of distinct precisions, each formatted in one pass
        sel = ok & (places == d)
        out[sel] = list(map(f"{{:,.{int(d)}f}}".format, values[sel].tolist()))
    return out


def decimals_for(values: pd.Series, default: int = 1) -> int:
    """:func:`decimals_of` of a column's numbers."""
    return decimals_of(numbers(values).to_numpy(), default)


# ================================================================================= scales
def significance_labels(labels: Iterable[str]) -> list[str]:
    """The labels present, in the legend order of :data:`jsna_lib.palette.SIGNIFICANCE_ORDER`
    (unknown labels after them, then "No data")."""
    present = list(dict.fromkeys(str(x) for x in labels))
    known = [label for label in palette.SIGNIFICANCE_ORDER if label in present]
    other = [label for label in present if label not in palette.COLOURS and label != NO_DATA]
    return known + other + ([NO_DATA] if NO_DATA in present else [])


def colour_of(label: str) -> str:
    if label == NO_DATA:
        return palette.NO_DATA
    return palette.COLOURS.get(label, palette.NOT_COMPARED_COLOUR)


def significance_scale_spec(labels: Iterable[str]) -> dict[str, Any]:
    """The colour scale of significance labels (legend order, palette colours), as Vega-Lite."""
    domain = significance_labels(labels)
    return {"domain": domain, "range": [colour_of(label) for label in domain]}


def significance_scale(labels: Iterable[str]) -> alt.Scale:
    """:func:`significance_scale_spec` as an Altair scale (for the map, still built with Altair)."""
    return alt.Scale(**significance_scale_spec(labels))


def shape_scale_spec(labels: Iterable[str]) -> dict[str, Any]:
    """The shape scale of significance labels (the non-colour cue), as Vega-Lite."""
    domain = significance_labels(labels)
    return {"domain": domain, "range": [palette.SIGNIFICANCE_SHAPES.get(label, "square") for label in domain]}


def symbols(labels: pd.Series) -> pd.Series:
    """▲ / ▼ / ● / ■ / Q1..Q5 per significance label (the non-colour cue)."""
    return text(labels).map(palette.SIGNIFICANCE_SYMBOLS).fillna("").astype(str)


def symbol_label_expr(labels: Iterable[str], skip: Iterable[str] = ()) -> str:
    """A legend ``labelExpr`` that puts each label's symbol before it ("▲ Better", "● Similar"...),
    except for the labels in ``skip`` (symbols the chart does not draw)."""
    expr = "datum.label"
    skipped = set(skip)
    for label in significance_labels(labels):
        symbol = palette.SIGNIFICANCE_SYMBOLS.get(label, "")
        if symbol and label not in skipped:
            expr = f"datum.label === {json.dumps(label)} ? {json.dumps(symbol + ' ' + label)} : ({expr})"
    return expr


def bold_labels(labels: Sequence[str]) -> dict[str, Any]:
    """Axis properties that print the given labels in bold (for a highlighted area)."""
    if not labels:
        return {}
    test = f"indexof({json.dumps(list(labels))}, datum.label) >= 0"
    return {"labelFontWeight": {"condition": {"test": test, "value": "bold"}, "value": "normal"}}


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


#: White text on these fills, black on the rest (WCAG contrast of the palette colours).
DARK_FILLS = frozenset(label for label, colour in palette.COLOURS.items() if _luminance(colour) < 0.18)


def legend_spec(title: str | None, **kwargs: Any) -> dict[str, Any]:
    """A legend under the chart, horizontal, never cutting labels, as Vega-Lite (``kwargs`` override)."""
    options: dict[str, Any] = {"orient": "bottom", "direction": "horizontal", "columns": 4, "symbolStrokeWidth": 0.8,
                               "titleOrient": "top", "symbolSize": 90, "titleLimit": 0, "labelLimit": 0}
    options.update(kwargs)
    return {"title": title, **options}


def legend(title: str | None, **kwargs: Any) -> alt.Legend:
    """:func:`legend_spec` as an Altair legend (for the map)."""
    return alt.Legend(**legend_spec(title, **kwargs))


def title(text_: str, subtitle: Sequence[str] | str | None = None) -> alt.TitleParams:
    """:func:`jsna_lib.charts._spec.title` as Altair title parameters (for the map)."""
    return alt.TitleParams(**_spec.title(text_, subtitle))


def caption(*parts: str | None, source: str | None = None, width: int = 92) -> list[str]:
    """Subtitle lines: the parts joined with " · " (a new line before a part that would pass
    ``width`` characters), then "Source: …"."""
    lines: list[str] = []
    for part in (p for p in parts if p):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] = f"{lines[-1]} \u00b7 {part}"
        else:
            lines.append(part)
    if source:
        lines.append(f"Source: {source}")
    return lines


def source_of(rows: pd.DataFrame, given: str | None, meta: Mapping[str, str] | None = None) -> str:
    """:func:`source_of_at` of every row."""
    return source_of_at(rows, np.arange(len(rows)), given, meta)


def period_range(periods: Any) -> str:
    """"first to last" of the distinct non-empty period texts (a Series or an array), in their order
    ("" when none; the period itself when one)."""
    values = [p for p in dict.fromkeys(text_array(periods).tolist()) if p]
    if not values:
        return ""
    return values[0] if len(values) == 1 else f"{values[0]} to {values[-1]}"


def clean_for_json(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain dtypes (object strings, float) so the spec serialises the same everywhere."""
    out = frame.copy()
    for name in out.columns:
        dtype = out[name].dtype
        if isinstance(dtype, pd.StringDtype) or isinstance(dtype, pd.CategoricalDtype):
            out[name] = text(out[name]).to_numpy(dtype=object)
        elif pd.api.types.is_bool_dtype(dtype):
            out[name] = out[name].fillna(False).astype(bool)
        elif pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
            out[name] = numbers(out[name]).to_numpy()
    return out.reset_index(drop=True)


def tooltip_spec(extra: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The standard tooltip (area, indicator, period, value, 95% CI, count, then ``extra``) as Vega-Lite."""
    return [
        {"field": "area_name", "type": "nominal", "title": "Area"},
        {"field": "indicator_name", "type": "nominal", "title": "Indicator"},
        {"field": "period", "type": "nominal", "title": "Period"},
        {"field": "value_text", "type": "nominal", "title": "Value"},
        {"field": "ci_text", "type": "nominal", "title": "95% confidence interval"},
        {"field": "count_text", "type": "nominal", "title": "Count"},
        *extra,
    ]


def add_display_columns(rows: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """A copy of ``rows`` with :func:`display_columns` (``value_text``, ``ci_text``, ``count_text``)
    and clean ``significance`` labels (:func:`significance_at`) when it has that column."""
    out = rows.copy()
    every = np.arange(len(out))
    display = display_columns(floats_at(out, "value", every), floats_at(out, "lower_95", every),
                              floats_at(out, "upper_95", every), floats_at(out, "count", every), decimals)
    for name, values in display.items():
        out[name] = values
    if "significance" in out.columns:
        out["significance"] = significance_at(out, "significance", every)
    return out


def has_significance(rows: pd.DataFrame) -> bool:
    """True when the rows carry significance labels other than "Not compared"."""
    return "significance" in rows.columns and compared(text_array(rows["significance"]))


def compared(labels: np.ndarray) -> bool:
    """True when some of the significance ``labels`` is neither empty nor "Not compared"."""
    return bool(((labels != "") & (labels != palette.NOT_COMPARED)).any())


_BENCH_KEYS = ("indicator_id", "sex", "age", "category_type", "category", "period")


# ================================================================================= row selection on arrays
# The selection rules of every chart, once: the builders pick their rows as positions into the
# input frame and read each column they need as a numpy array at those positions, without a small
# DataFrame per step. The frame helpers above (``indicator_rows``, ``latest``, ``one_benchmark``,
# ``area_names``, ``indicator_meta``, ``add_display_columns``...) are these on every row of a frame.
def text_at(series: pd.Series, pos: np.ndarray) -> np.ndarray:
    """:func:`text` of ``series`` at positions ``pos``, as an object array."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arrow = pa.array(series.array).take(pa.array(pos, type=pa.int64()))
        return pc.fill_null(pc.utf8_trim_whitespace(arrow), "").to_numpy(zero_copy_only=False)
    return text_array(np.asarray(series, dtype=object)[pos])


def floats(series: pd.Series) -> np.ndarray:
    """:func:`numbers` of a whole column, as a float array."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return numbers(series).to_numpy()


def floats_at(frame: pd.DataFrame, name: str, pos: np.ndarray) -> np.ndarray:
    """Column ``name`` as floats at ``pos`` (NaN when the frame has no such column)."""
    if name not in frame.columns:
        return np.full(len(pos), np.nan)
    return floats(frame[name])[pos]


def json_at(series: pd.Series, pos: np.ndarray) -> np.ndarray:
    """Column values at ``pos`` as :func:`._spec.records` writes them after :func:`clean_for_json`
    (an array whose ``tolist()``, or :func:`._spec.json_floats` for floats, gives the JSON values)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype | pd.CategoricalDtype):
        return text_at(series, pos)
    if pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=bool, na_value=False)[pos]
    if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)[pos]
    if dtype.kind in "iuf":
        return series.to_numpy()[pos]
    if dtype == np.dtype(object):
        raw = series.to_numpy()[pos]
        if set(map(type, raw.tolist())) == {str}:  # plain strings: written as they are
            return raw
    name = str(series.name)
    out = np.empty(len(pos), dtype=object)
    out[:] = [row[name] for row in _spec.records(series.iloc[pos].to_frame(name))]
    return out


def raw_codes(series: pd.Series, pos: np.ndarray) -> np.ndarray:
    """Integer codes of the values at ``pos``: equal values (missing ones alike) get equal codes."""
    return pd.factorize(series.array[pos])[0]


def first_rows(*codes: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the first row of each distinct combination of ``codes`` (``drop_duplicates``)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for part in codes:
        key = key * (int(part.max(initial=-1)) + 2) + part + 1
    return np.sort(np.unique(key, return_index=True)[1])


def ascending(keys: np.ndarray) -> np.ndarray:
    """Stable ascending order of a float array, missing values last (``sort_values(kind="stable")``)."""
    missing = np.isnan(keys)
    present = np.flatnonzero(~missing)
    return np.concatenate([present[np.argsort(keys[present], kind="stable")], np.flatnonzero(missing)])


def lookup(keys: np.ndarray, mapping: Mapping[Any, Any], default: Any = "", dtype: Any = object) -> np.ndarray:
    """``mapping[key]`` for each of ``keys`` (``default`` for the others) as an array of ``dtype``, in one
    hashed look-up."""
    where = pd.Index(list(mapping), dtype=object).get_indexer(keys)
    found = np.array([*mapping.values(), default], dtype=dtype)
    return found[np.where(where >= 0, where, len(mapping))]


def choose_at(data: pd.DataFrame, pos: np.ndarray, name: str, wanted: str | None,
            prefer: Sequence[str] = ()) -> np.ndarray:
    """The positions of ``pos`` whose ``name`` column (as text) equals ``wanted``; when ``wanted`` is
    None, the first of ``prefer`` present, else the most frequent value (ties: the first in sorted
    order), so a frame of one sex or age needs no argument. ``pos`` unchanged when the data have no
    such column or ``pos`` is empty; ValueError when no row has the value."""
    if name not in data.columns or not len(pos):
        return pos
    values = text_at(data[name], pos)
    if wanted is None:
        present = set(values)
        wanted = next((p for p in prefer if p in present), None)
        if wanted is None:  # the most frequent value; ties → alphabetical (deterministic)
            labels, counts = np.unique(values, return_counts=True)
            wanted = min(labels[counts == counts.max()])
    keep = values == wanted
    if not keep.any():
        raise ValueError(f"no rows with {name} = {wanted!r}; the data have {', '.join(sorted(set(values)))}")
    return pos[keep]


def indicator_positions(data: pd.DataFrame, indicator: Any, *, sex: str | None, age: str | None,
                        chart: str, whole: bool = True) -> tuple[np.ndarray, Any]:
    """Positions into ``data`` of one indicator's rows (by id; with ``indicator=None`` the data must
    hold one indicator) for one sex (Persons unless told) and age (the commonest unless told),
    whole-population rows only (empty ``category_type``) unless ``whole`` is False; and the
    indicator's id (a float). Raises ValueError when no row is left at a step."""
    require(data, ["indicator_id"], chart)
    ids = floats(data["indicator_id"])
    wanted = indicator
    if wanted is None:
        present = pd.unique(ids[~np.isnan(ids)])
        if len(present) != 1:
            raise ValueError(f"{chart}: the data hold {len(present)} indicators; say which with indicator=<id>")
        wanted = present[0]
    pos = np.flatnonzero(ids == float(wanted))
    if not len(pos):
        raise ValueError(f"{chart}: no rows for indicator {wanted} in the data")
    if whole and "category_type" in data.columns:
        pos = pos[text_at(data["category_type"], pos) == ""]
        if not len(pos):
            raise ValueError(f"{chart}: indicator {indicator} has only inequality-breakdown rows here")
    pos = choose_at(data, choose_at(data, pos, "sex", sex, prefer=("Persons",)), "age", age)
    return pos, ids[pos[0]]


def latest_positions(data: pd.DataFrame, pos: np.ndarray, period: str | None) -> np.ndarray:
    """The positions of ``pos`` whose ``period`` text is ``period``, or, when None, those of the
    latest ``period_sort`` (all of ``pos`` when there is none). ValueError when no row has ``period``."""
    if not len(pos):
        return pos
    if period is not None:
        periods = text_at(data["period"], pos)
        keep = periods == str(period)
        if not keep.any():
            raise ValueError(f"no rows for period {period!r}; the data have {', '.join(sorted(set(periods)))}")
        return pos[keep]
    if "period_sort" in data.columns:
        sort = floats(data["period_sort"])[pos]
        if (~np.isnan(sort)).any():
            return pos[sort == np.nanmax(sort)]
    return pos


def one_benchmark_positions(data: pd.DataFrame, pos: np.ndarray, benchmark: str | None
                            ) -> tuple[np.ndarray, str | None]:
    """The rows at ``pos`` compared with ``benchmark`` (:func:`one_benchmark_keep` of their
    ``benchmark`` labels; all of them when the data have no such column or ``benchmark`` is None),
    and the column that holds their significance (``significance``, else a profile's
    ``vs_<benchmark>``, else None)."""
    wide = f"vs_{benchmark or 'england'}"
    sig = "significance" if "significance" in data.columns else wide if wide in data.columns else None
    if "benchmark" not in data.columns or benchmark is None:
        return pos, sig
    keep = one_benchmark_keep(text_at(data["benchmark"], pos), benchmark)
    return (pos if keep is None else pos[keep]), sig


def one_benchmark_keep(labels: np.ndarray, benchmark: str) -> np.ndarray | None:
    """From a long comparisons frame's ``benchmark`` labels (one row per benchmark), which rows are
    compared with ``benchmark``: None (every row) when the labels are all the same, else a mask.
    Raises ValueError when no row has that label."""
    if len(set(labels.tolist())) <= 1:
        return None
    keep = labels == benchmark
    if not keep.any():
        raise ValueError(f"no rows compared with benchmark {benchmark!r}; the data have "
                         f"{', '.join(sorted(set(labels.tolist())))}")
    return keep


def latest_per_line_keep(sort: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Mask of the rows at the latest ``period_sort`` (``sort``; missing counts as the earliest) of
    their indicator line (``line``: one integer ≥ 0 per line, e.g. indicator, sex and age combined)."""
    if not len(sort):
        return np.zeros(0, dtype=bool)
    sort = np.where(np.isnan(sort), -np.inf, sort)
    newest = np.full(int(line.max()) + 1, -np.inf)
    np.maximum.at(newest, line, sort)
    return sort == newest[line]


def persons_else_all_keep(persons: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Mask keeping, per indicator (``ids``), its Persons rows (``persons``) when it has any, else
    all its rows (Male and Female...)."""
    return persons | ~np.isin(ids, ids[persons])


def stripped(values: np.ndarray) -> np.ndarray:
    """``str.strip`` of every string of an object array (as :func:`clean_for_json` writes a text
    column that pandas infers as strings)."""
    return np.strings.strip(values.astype(str)).astype(object) if len(values) else values


def indicator_meta_at(data: pd.DataFrame, pos: np.ndarray, indicators: pd.DataFrame | None,
                    indicator_id: Any) -> dict[str, str]:
    """Name, unit, polarity, domain, source and value type of one indicator: each the first non-empty
    text of the rows at ``pos`` (name: ``indicator_name``, else ``name``), else from ``indicators``
    (the first row of ``indicator_id``); the name defaults to "Indicator <id>"."""
    meta = {"name": "", "unit": "", "polarity": "", "domain": "", "source": "", "value_type": ""}
    for key, cols in (("name", ("indicator_name", "name")), ("unit", ("unit",)), ("polarity", ("polarity",)),
                      ("domain", ("domain",)), ("source", ("source",)), ("value_type", ("value_type",))):
        for col in cols:
            if col in data.columns:
                values = text_at(data[col], pos)
                values = values[values != ""]
                if len(values):
                    meta[key] = values[0]
                    break
    if indicators is not None and len(indicators):
        at = np.flatnonzero(floats(indicators["indicator_id"]) == float(indicator_id))
        if len(at):
            for key in ("name", "unit", "polarity", "domain", "source", "value_type"):
                if not meta[key] and key in indicators.columns:
                    value = indicators[key].iloc[at[0]]
                    if pd.notna(value):
                        meta[key] = str(value).strip()
    if not meta["name"]:
        meta["name"] = f"Indicator {indicator_id}"
    return meta


def first_text(data: pd.DataFrame, pos: np.ndarray, name: str) -> str:
    """The first non-empty text of column ``name`` at ``pos`` ("" when none)."""
    if name not in data.columns:
        return ""
    values = text_at(data[name], pos)
    values = values[values != ""]
    return str(values[0]) if len(values) else ""


def breakdown_text_at(data: pd.DataFrame, pos: np.ndarray) -> str:
    """"Persons, 18+ yrs"-style text for captions from the first row at ``pos``: its sex and age,
    leaving out Persons, All ages and Not applicable ("" when nothing is left)."""
    parts = []
    for name, plain in (("sex", "Persons"), ("age", "All ages")):
        if name in data.columns and len(pos):
            value = text_at(data[name], pos[:1])[0]
            if value and value not in (plain, "Not applicable"):
                parts.append(value)
    return ", ".join(parts)


def source_of_at(data: pd.DataFrame, pos: np.ndarray, given: str | None,
                 meta: Mapping[str, str] | None = None) -> str:
    """The data source for the caption: ``given``, else the first ``source`` of the rows at ``pos``,
    else the indicator's (``meta``), else a default."""
    return given or first_text(data, pos, "source") or (meta or {}).get("source") or \
        "OHID Fingertips methods; data as supplied"


def area_names_of(codes: np.ndarray, data: pd.DataFrame | None, names: Any) -> np.ndarray:
    """Display name per area code, as an object array: ``names`` (see :func:`names_mapping`), else the
    first non-empty ``area_name`` the data give the code, else the code ("England" for E92000001)."""
    codes = text_array(np.asarray(codes, dtype=object))
    mapping = names_mapping(names)
    mapped = None
    if mapping:  # each distinct code looked up once (the mapping may name every area in the country)
        distinct, inverse = np.unique(codes.astype(str), return_inverse=True)
        given = [mapping.get(code.upper(), "") for code in distinct.tolist()]
        mapped = np.array(given, dtype=object)[inverse] if len(codes) else np.zeros(0, dtype=object)
    if mapped is not None and (mapped != "").all():  # names given for every code: the data need not be searched
        return mapped
    out = np.full(len(codes), "", dtype=object)
    if isinstance(data, pd.DataFrame) and "area_name" in data.columns and "area_code" in data.columns:
        found, known = text_array(data["area_name"]), text_array(data["area_code"])
        found, known = found[found != ""], known[found != ""]
        first = ~pd.Index(known).duplicated()  # the first name given for each code
        where = pd.Index(known[first], dtype=object).get_indexer(codes)
        out = np.append(found[first], "").astype(object)[where]  # not found (-1): the "" appended
    if mapped is not None:
        out = np.where(mapped != "", mapped, out)
    fallback = np.where(codes != ENGLAND, codes, "England")
    return np.where(out != "", out, fallback).astype(str).astype(object)


class Benchmark:
    """A benchmark's rows (:func:`benchmark_at`): positions into the data, the benchmark's code per
    row and its values (``own``: its own rows, whose other columns are drawn)."""

    def __init__(self, pos: np.ndarray, codes: np.ndarray, values: np.ndarray, own: bool) -> None:
        self.pos, self.codes, self.values, self.own = pos, codes, values, own

    def take(self, keep: np.ndarray) -> Benchmark:
        """The rows selected by ``keep`` (a mask or positions)."""
        return Benchmark(self.pos[keep], self.codes[keep], self.values[keep], self.own)


def benchmark_at(data: pd.DataFrame, pos: np.ndarray, code: str, *, first_only: bool = False) -> Benchmark | None:
    """A benchmark's values per (indicator, sex, age, category, period) among the rows at ``pos``,
    taken from what is given:

    * its own rows (``area_code == code``; ``code`` "england" means E92000001), with their intervals
      and counts (``own``), else
    * a profile's ``<role>_value`` column (``england``, ``region``, ``comparator``, ``parent``) when
      ``code`` is that role or one of its ``<role>_code``, else
    * a comparisons frame's ``benchmark_value`` of the rows whose ``benchmark_code`` is ``code`` (or
      whose ``benchmark`` is "region"/"parent" for those labels; None when those rows name several
      regions), else
    * ``england_value`` when ``code`` is England.

    The first row of each key only (``drop_duplicates``), or only the first row when ``first_only``;
    None when none of these is there."""
    keys = [k for k in _BENCH_KEYS if k in data.columns]

    def dedup(at: np.ndarray, codes: np.ndarray, values: np.ndarray, own: bool = False) -> Benchmark | None:
        if not len(at):
            return None
        if first_only:
            first = np.zeros(1, dtype=np.intp)
        elif "period" in keys and len(first_rows(raw_codes(data["period"], at))) == len(at):
            first = np.arange(len(at))  # one row per period: no two rows share the key
        else:
            first = first_rows(*(raw_codes(data[k], at) for k in keys))
        return Benchmark(at[first], codes[first], values[first], own)

    label = str(code).strip()
    has_codes = "area_code" in data.columns
    codes = text_at(data["area_code"], pos) if has_codes else np.full(len(pos), "", dtype=object)
    if label.lower() == "england":
        label = ENGLAND
        own = pos[codes == ENGLAND]
    elif label.lower() in ("region", "parent"):
        own = pos[:0]
    else:
        own = pos[codes == label.upper()]
    if len(own):
        return dedup(own, text_at(data["area_code"], own), floats_at(data, "value", own), own=True)
    for role in ("england", "region", "comparator", "parent"):
        value_col, code_col = f"{role}_value", f"{role}_code"
        if value_col not in data.columns:
            continue
        if code_col in data.columns:
            role_codes = text_at(data[code_col], pos)
        else:
            role_codes = text_array(np.full(len(pos), ENGLAND if role == "england" else "", dtype=object))
        if label.lower() == role or (label and (role_codes == label.upper()).any()):
            return dedup(pos, role_codes, floats(data[value_col])[pos])
    if "benchmark_value" in data.columns:
        if label.lower() in ("region", "parent") and "benchmark" in data.columns:
            sel = pos[text_at(data["benchmark"], pos) == label.lower()]
        elif "benchmark_code" in data.columns:
            sel = pos[text_at(data["benchmark_code"], pos) == label]
        else:
            sel = pos[:0]
        sel_codes = text_at(data["benchmark_code"], sel) if "benchmark_code" in data.columns else \
            text_array(np.full(len(sel), label, dtype=object))
        if len(sel) and label.lower() in ("region", "parent") and "benchmark_code" in data.columns \
                and len(set(sel_codes)) > 1:
            return None  # areas of several regions
        if len(sel):
            return dedup(sel, sel_codes, floats(data["benchmark_value"])[sel])
    if label == ENGLAND and "england_value" in data.columns:
        return dedup(pos, np.full(len(pos), ENGLAND, dtype=object), floats(data["england_value"])[pos])
    return None


def display_columns(values: np.ndarray, lower: np.ndarray, upper: np.ndarray, count: np.ndarray,
                     digits: int) -> dict[str, np.ndarray]:
    """Display text: ``value_text`` (values with ``digits`` decimals), ``ci_text`` ("lower to upper",
    "–" when a limit is missing) and ``count_text`` (no decimals)."""
    ci = fmt_array(lower, digits) + " to " + fmt_array(upper, digits)
    return {"value_text": fmt_array(values, digits),
            "ci_text": np.where(~np.isnan(lower) & ~np.isnan(upper), ci, DASH).astype(object),
            "count_text": fmt_array(count, 0)}


def decimals_of(values: np.ndarray, default: int = 1) -> int:
    """Decimals that keep a column readable: 0 when the median of the absolute values (missing ones
    left out) is 1,000 or more, else ``default``."""
    v = np.abs(values[~np.isnan(values)])
    return 0 if len(v) and np.median(v) >= 1000 else default


def significance_at(data: pd.DataFrame, column: str | None, pos: np.ndarray) -> np.ndarray:
    """The clean significance labels at ``pos`` (missing or empty → "Not compared")."""
    if column is None:
        return np.full(len(pos), palette.NOT_COMPARED, dtype=object)
    labels = text_at(data[column], pos)
    return np.where(labels != "", labels, palette.NOT_COMPARED).astype(object)
