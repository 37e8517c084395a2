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


def for_indicator(data: pd.DataFrame, indicator: Any, chart: str) -> pd.DataFrame:
    """Rows of one indicator (by id; a frame of one indicator may pass ``indicator=None``)."""
    require(data, ["indicator_id"], chart)
    ids = numbers(data["indicator_id"])
    if indicator is None:
        present = ids.dropna().unique()
        if len(present) != 1:
            raise ValueError(f"{chart}: the data hold {len(present)} indicators; say which with indicator=<id>")
        indicator = present[0]
    rows = data[(ids == float(indicator)).to_numpy()]
    if rows.empty:
        raise ValueError(f"{chart}: no rows for indicator {indicator} in the data")
    return rows


def one_benchmark(rows: pd.DataFrame, benchmark: str | None) -> pd.DataFrame:
    """From a long comparisons frame (one row per benchmark), the rows compared with ``benchmark``;
    from a profile's wide frame, its ``vs_<benchmark>`` column as ``significance``."""
    wide = f"vs_{benchmark or 'england'}"
    if "significance" not in rows.columns and wide in rows.columns:
        rows = rows.assign(significance=rows[wide].to_numpy())
    if "benchmark" not in rows.columns or benchmark is None:
        return rows
    labels = text(rows["benchmark"]).to_numpy()
    if len(set(labels)) <= 1:
        return rows
    keep = labels == benchmark
    if not keep.any():
        raise ValueError(f"no rows compared with benchmark {benchmark!r}; the data have "
                         f"{', '.join(sorted(set(labels)))}")
    return rows[keep]


def whole_population(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows without an inequality breakdown (empty category type)."""
    if "category_type" not in rows.columns:
        return rows
    return rows[(text(rows["category_type"]) == "").to_numpy()]


def choose(rows: pd.DataFrame, name: str, wanted: str | None, prefer: Sequence[str] = ()) -> pd.DataFrame:
    """Rows whose ``name`` column equals ``wanted``; if None, the first of ``prefer`` present,
    else the most frequent value (so a frame of one sex or age needs no argument)."""
    if name not in rows.columns or rows.empty:
        return rows
    values = text(rows[name])
    if wanted is None:
        present = set(values)
        wanted = next((p for p in prefer if p in present), None)
        if wanted is None:  # the most frequent value; ties → alphabetical (deterministic)
            counts = values.value_counts()
            wanted = sorted(counts.index[counts == counts.max()])[0]
    keep = (values == wanted).to_numpy()
    if not keep.any():
        raise ValueError(f"no rows with {name} = {wanted!r}; the data have {', '.join(sorted(set(values)))}")
    return rows[keep]


def indicator_rows(data: pd.DataFrame, indicator: Any, *, sex: str | None, age: str | None, chart: str,
                   whole: bool = True) -> pd.DataFrame:
    """One indicator's rows for one sex (Persons unless told) and age (the commonest unless told),
    whole-population rows only unless ``whole`` is False."""
    rows = for_indicator(data, indicator, chart)
    if whole:
        rows = whole_population(rows)
        if rows.empty:
            raise ValueError(f"{chart}: indicator {indicator} has only inequality-breakdown rows here")
    rows = choose(rows, "sex", sex, prefer=("Persons",))
    return choose(rows, "age", age)


def breakdown_text(rows: pd.DataFrame) -> str:
    """"Persons, 18+ yrs"-style text for captions (empty for Persons / All ages)."""
    parts = []
    for name, plain in (("sex", "Persons"), ("age", "All ages")):
        if name in rows.columns and len(rows):
            value = text(rows[name]).iloc[0]
            if value and value not in (plain, "Not applicable"):
                parts.append(value)
    return ", ".join(parts)


def latest(rows: pd.DataFrame, period: str | None = None) -> pd.DataFrame:
    """Rows of ``period`` (display text), or of the latest ``period_sort`` when None."""
    if rows.empty:
        return rows
    if period is not None:
        keep = (text(rows["period"]) == str(period)).to_numpy()
        if not keep.any():
            raise ValueError(f"no rows for period {period!r}; the data have "
                             f"{', '.join(sorted(set(text(rows['period']))))}")
        return rows[keep]
    if "period_sort" in rows.columns and numbers(rows["period_sort"]).notna().any():
        sort = numbers(rows["period_sort"])
        return rows[(sort == sort.max()).to_numpy()]
    return rows


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
    """Display name per area code: ``names`` (see :func:`names_mapping`), else the data's
    ``area_name``, else the code ("England" for E92000001)."""
    codes = text(codes)
    mapping = names_mapping(names)
    if mapping:  # names given for every code: the data need not be searched
        given = [mapping.get(code.upper(), "") for code in dict.fromkeys(codes)]
        if all(given):
            return codes.str.upper().map(mapping).astype(str)
    out = pd.Series([""] * len(codes), index=codes.index, dtype=object)
    if isinstance(data, pd.DataFrame) and "area_name" in data.columns and "area_code" in data.columns:
        lookup = pd.Series(text(data["area_name"]).to_numpy(), index=text(data["area_code"]).to_numpy())
        lookup = lookup[lookup != ""]
        lookup = lookup[~lookup.index.duplicated()]
        out = codes.map(lookup).fillna("")
    if mapping:
        mapped = codes.str.upper().map(mapping).fillna("")
        out = mapped.where(mapped != "", out)
    out = out.where(out != "", codes.where(codes != ENGLAND, "England"))
    return out.astype(str)


def indicator_meta(rows: pd.DataFrame, indicators: pd.DataFrame | None, indicator_id: Any) -> dict[str, str]:
    """Name, unit, polarity, domain and source of one indicator, from the rows or ``indicators``."""
    meta = {"name": "", "unit": "", "polarity": "", "domain": "", "source": "", "value_type": ""}
    for key, cols in (("name", ("indicator_name", "name")), ("unit", ("unit",)), ("polarity", ("polarity",)),
                      ("domain", ("domain",)), ("source", ("source",)), ("value_type", ("value_type",))):
        for col in cols:
            if col in rows.columns:
                values = text(rows[col])
                values = values[values != ""]
                if len(values):
                    meta[key] = values.iloc[0]
                    break
    if indicators is not None and len(indicators):
        ind = indicators[numbers(indicators["indicator_id"]).to_numpy() == float(indicator_id)]
        if len(ind):
            first = ind.iloc[0]
            for key, col in (("name", "name"), ("unit", "unit"), ("polarity", "polarity"), ("domain", "domain"),
                             ("source", "source"), ("value_type", "value_type")):
                if not meta[key] and col in ind.columns and pd.notna(first[col]):
                    meta[key] = str(first[col]).strip()
    if not meta["name"]:
        meta["name"] = f"Indicator {indicator_id}"
    return meta


def with_indicator_meta(rows: pd.DataFrame, indicators: pd.DataFrame | None) -> pd.DataFrame:
    """``rows`` with ``indicator_name``, ``domain``, ``unit`` and ``polarity`` filled from ``indicators``."""
    out = rows.copy()
    if indicators is not None and len(indicators):
        ind = indicators.drop_duplicates("indicator_id")
        # each row's position in ``ind`` (-1: not there), looked up once for every column
        where = pd.Index(numbers(ind["indicator_id"]).to_numpy()).get_indexer(numbers(out["indicator_id"]).to_numpy())
        found = where >= 0
        for target, source in (("indicator_name", "name"), ("domain", "domain"), ("unit", "unit"),
                               ("polarity", "polarity"), ("source", "source")):
            if source not in ind.columns:
                continue
            looked = np.where(found, text_array(ind[source])[np.where(found, where, 0)], "")
            own = target if target in out.columns else ("name" if target == "indicator_name" else target)
            current = text_array(column(out, own))
            out[target] = np.where(current != "", current, looked)
    if "indicator_name" not in out.columns:
        out["indicator_name"] = text(out["name"]) if "name" in out.columns else ""
    for col in ("domain", "unit", "polarity"):
        out[col] = text(column(out, col)).to_numpy()
    out["indicator_name"] = text(out["indicator_name"]).to_numpy()
    fallback = "Indicator " + text(out["indicator_id"])
    out["indicator_name"] = np.where(out["indicator_name"] == "", fallback, out["indicator_name"])
    return out


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


def ci_text(lower: Any, upper: Any, decimals: int | Sequence[int] = 1) -> pd.Series:
    """``"12.3 to 14.5"`` (or "–" when a limit is missing)."""
    lo, up = numbers(lower), numbers(upper)
    text_ = fmt(lo, decimals).to_numpy() + " to " + fmt(up, decimals).to_numpy()
    ok = (lo.notna() & up.notna()).to_numpy()
    index = lower.index if isinstance(lower, pd.Series) else None
    return pd.Series(np.where(ok, text_, DASH), index=index)


def decimals_for(values: pd.Series, default: int = 1) -> int:
    """Decimals that keep a column readable: 0 for values of 1,000 and over, else ``default``."""
    v = numbers(values).abs()
    return 0 if v.notna().any() and v.median() >= 1000 else default


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


def text_colour(labels: pd.Series) -> pd.Series:
    return pd.Series(np.where(text(labels).isin(DARK_FILLS), "white", "black"), index=labels.index)


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
    """The data source for the caption: ``given``, the rows' ``source``, the indicator's, or a default."""
    if given:
        return given
    if "source" in rows.columns:
        values = text(rows["source"])
        values = values[values != ""]
        if len(values):
            return values.iloc[0]
    if meta and meta.get("source"):
        return meta["source"]
    return "OHID Fingertips methods; data as supplied"


def period_range(periods: pd.Series) -> str:
    values = [p for p in dict.fromkeys(text(periods)) if p]
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
    """``value_text``, ``ci_text``, ``count_text`` and ``significance`` (clean labels) columns."""
    out = rows.copy()
    out["value_text"] = fmt(column(out, "value", np.nan), decimals).to_numpy()
    out["ci_text"] = ci_text(column(out, "lower_95", np.nan), column(out, "upper_95", np.nan), decimals).to_numpy()
    out["count_text"] = fmt(column(out, "count", np.nan), 0).to_numpy()
    if "significance" in out.columns:
        sig = text(out["significance"])
        out["significance"] = sig.where(sig != "", palette.NOT_COMPARED).to_numpy()
    return out


def has_significance(rows: pd.DataFrame) -> bool:
    """True when the rows carry significance labels other than "Not compared"."""
    if "significance" not in rows.columns:
        return False
    sig = text(rows["significance"])
    return bool(((sig != "") & (sig != palette.NOT_COMPARED)).any())


_BENCH_KEYS = ("indicator_id", "sex", "age", "category_type", "category", "period")


def benchmark_values(rows: pd.DataFrame, code: str) -> pd.DataFrame:
    """A benchmark's values per (indicator, sex, age, category, period), taken from what is given:

    * its own rows (``area_code == code``), with their intervals and counts, else
    * a comparisons frame's ``benchmark_code``/``benchmark_value`` (``code`` may also be the
      benchmark label ``"england"``, ``"region"`` or ``"parent"``), else
    * ``england_value`` when ``code`` is England.

    Returns the key columns, ``period_sort``, ``area_code`` and ``value`` (plus ``lower_95``,
    ``upper_95``, ``count`` from own rows); empty when none of these is there.
    """
    keys = [k for k in _BENCH_KEYS if k in rows.columns]
    extra = [k for k in ("period_sort",) if k in rows.columns]
    codes = text(column(rows, "area_code"))
    label = str(code).strip()
    own = rows[(codes == label.upper()).to_numpy()] if label.lower() not in ("england", "region", "parent") else \
        rows.iloc[:0]
    if label.lower() == "england":
        label = ENGLAND
        own = rows[(codes == ENGLAND).to_numpy()]
    if len(own):
        cols = [k for k in ("value", "lower_95", "upper_95", "count", "denominator") if k in own.columns]
        out = own[keys + extra + ["area_code", *cols]]
        return out.drop_duplicates(keys).reset_index(drop=True)
    # A profile's wide columns: england_value, region_value (+ region_code), comparator_value...
    for role in ("england", "region", "comparator", "parent"):
        value_col, code_col = f"{role}_value", f"{role}_code"
        if value_col not in rows.columns:
            continue
        role_codes = text(column(rows, code_col, ENGLAND if role == "england" else ""))
        if label.lower() == role or (label and (role_codes == label.upper()).any()):
            out = rows[keys + extra].assign(area_code=role_codes.to_numpy(),
                                            value=numbers(rows[value_col]).to_numpy())
            return out.drop_duplicates(keys).reset_index(drop=True)
    if "benchmark_value" in rows.columns:
        if label.lower() in ("region", "parent") and "benchmark" in rows.columns:
            sel = rows[(text(rows["benchmark"]) == label.lower()).to_numpy()]
        elif "benchmark_code" in rows.columns:
            sel = rows[(text(rows["benchmark_code"]) == label).to_numpy()]
        else:
            sel = rows.iloc[:0]
        if len(sel) and label.lower() in ("region", "parent") and "benchmark_code" in sel.columns \
                and text(sel["benchmark_code"]).nunique() > 1:
            return pd.DataFrame(columns=[*keys, *extra, "area_code", "value"])  # areas of several regions
        if len(sel):
            out = sel[keys + extra].assign(
                area_code=text(column(sel, "benchmark_code", label)).to_numpy(),
                value=numbers(sel["benchmark_value"]).to_numpy())
            return out.drop_duplicates(keys).reset_index(drop=True)
    if label == ENGLAND and "england_value" in rows.columns:
        out = rows[keys + extra].assign(area_code=ENGLAND, value=numbers(rows["england_value"]).to_numpy())
        return out.drop_duplicates(keys).reset_index(drop=True)
    return pd.DataFrame(columns=[*keys, *extra, "area_code", "value"])


def persons_else_all(rows: pd.DataFrame) -> pd.DataFrame:
    """Per indicator, the Persons rows when it has any, else all its rows (Male and Female...)."""
    if "sex" not in rows.columns or rows.empty:
        return rows
    persons = text_array(rows["sex"]) == "Persons"
    ids = numbers(rows["indicator_id"]).to_numpy()
    return rows[persons | ~np.isin(ids, ids[persons])]


def latest_per_line(rows: pd.DataFrame, by: Sequence[str] = ("indicator_id", "sex", "age")) -> pd.DataFrame:
    """Rows of the latest ``period_sort`` of each indicator line."""
    if "period_sort" not in rows.columns or rows.empty:
        return rows
    sort = numbers(rows["period_sort"]).fillna(-np.inf)
    keys = [text(rows[k]).to_numpy() for k in by if k in rows.columns]
    newest = sort.groupby(keys).transform("max")
    return rows[(sort == newest).to_numpy()]


def row_labels(rows: pd.DataFrame) -> pd.Series:
    """Indicator display labels: name, ", males"/", females" when the indicator has rows for
    more than one sex, and "(unit)"."""
    name = text(rows["indicator_name"])
    sex = text(column(rows, "sex"))
    unit = text(column(rows, "unit"))
    split = sex.groupby(text(rows["indicator_id"]).to_numpy()).transform("nunique") > 1
    suffix = pd.Series(np.where(split & sex.isin(["Male", "Female"]), ", " + sex.str.lower() + "s", ""),
                       index=rows.index)
    show_unit = ~unit.isin(["", "score", "years"])
    return name + suffix + pd.Series(np.where(show_unit, " (" + unit + ")", ""), index=rows.index)
