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

import itertools
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import palette
from . import _common as c
from . import _spec, theme

SPINE_COLUMNS = ["spine_centre", "spine_half_width", "spine_reversed", "spine_worst", "spine_p25", "spine_p75",
                 "spine_best"]
_CHAR = 6.3  # px per character of a 10 px label (digits, DejaVu Sans; Arial is narrower)
_KEY = ["indicator_id", "area_code", "sex", "age", "category_type", "category", "period"]
_META = (("indicator_name", "name"), ("domain", "domain"), ("unit", "unit"), ("polarity", "polarity"),
         ("source", "source"))


def spine_positions(value: Any, centre: Any, half_width: Any, reversed_: Any) -> np.ndarray:
    """Positions 0..1 of values on the spine (England at 0.5, best at 1); see the module docstring."""
    v = c.numbers(value).to_numpy()
    return _positions(v, c.numbers(centre).to_numpy(), c.numbers(half_width).to_numpy(), np.asarray(reversed_, bool))


def _positions(v: np.ndarray, centre: np.ndarray, half_width: np.ndarray, reversed_: np.ndarray) -> np.ndarray:
    """:func:`spine_positions` on float arrays (``centre``, ``half_width`` and ``reversed_`` broadcast to ``v``)."""
    centre_ = np.broadcast_to(centre, v.shape)
    half = np.broadcast_to(half_width, v.shape)
    sign = np.where(np.broadcast_to(reversed_, v.shape), -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = 0.5 + sign * (v - centre_) / (2 * half)
    return np.where(half == 0, np.where(np.isfinite(v), 0.5, np.nan), pos)


# ================================================================================= rows as arrays
# The selection below works on numpy arrays (and pandas extension arrays) rather than on a
# DataFrame per step: the same steps through pandas cost ~20 ms even for one row (pandas'
# per-call overhead), which the explorer pays on every selection.
def _numbers(values: Any) -> np.ndarray:
    """:func:`_common.numbers` on an array: floats, missing → NaN."""
    dtype = getattr(values, "dtype", None)
    if isinstance(values, np.ndarray) and dtype is not None and dtype.kind in "biuf":
        return values.astype(float)
    if dtype is not None and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return np.asarray(values.to_numpy(dtype="float64", na_value=np.nan))
    return c.numbers(values).to_numpy()


def _values(series: pd.Series) -> Any:
    """A column's values: its numpy array, or its pandas extension array (nullable, Arrow text)."""
    array = series.array
    return array.to_numpy() if isinstance(array, pd.arrays.NumpyExtensionArray) else array


def _codes(*columns: np.ndarray) -> tuple[np.ndarray, int]:
    """Group codes (0..n-1, in order of first appearance) of the rows' combined ``columns`` (values
    compared as given; missing equals missing), and the number of groups."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    size = 1
    for column in columns:
        own, uniques = pd.factorize(column, use_na_sentinel=False)
        if size * max(len(uniques), 1) >= 2**62:  # keep the mixed-radix code within int64
            codes, found = pd.factorize(codes)
            size = len(found)
        codes = codes * len(uniques) + own
        size *= max(len(uniques), 1)
    codes, found = pd.factorize(codes)
    return codes, len(found)


class _Rows:
    """The spine's rows while they are picked: positions into the source frame plus the columns
    computed on the way (in the order they were first set, which is the order
    :func:`spine_rows` appends them in). A source column is read from the frame, and turned into
    text or numbers, once; each step then only indexes numpy arrays."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.pos = np.arange(len(frame))
        self.extra: dict[str, Any] = {}
        self.constant: dict[str, Any] = {}  # columns set to one value (written as a scalar in spine_rows)
        self._names = set(frame.columns)
        self._full: dict[tuple[str, str], Any] = {}  # (kind, column) → the whole source column

    def __len__(self) -> int:
        return len(self.pos)

    def has(self, name: str) -> bool:
        return name in self.extra or name in self._names

    def _source(self, kind: str, name: str) -> Any:
        """A whole source column: its values ("raw"), as a numpy array ("object"), as text or as numbers."""
        key = (kind, name)
        if key not in self._full:
            if kind == "raw":
                self._full[key] = _values(self.frame[name])
            elif kind == "object":  # numpy (extension arrays as Python objects, which hash and compare cheaply)
                raw = self._source("raw", name)
                self._full[key] = raw if isinstance(raw, np.ndarray) else np.asarray(raw, dtype=object)
            elif kind == "text":
                self._full[key] = c.text_array(self._source("object", name))
            elif kind == "numbers":
                self._full[key] = _numbers(self._source("raw", name))
        return self._full[key]

    def raw(self, name: str) -> Any:
        """A column's values (numpy or pandas extension array) for the current rows."""
        return self.extra[name] if name in self.extra else self._source("raw", name)[self.pos]

    def text(self, name: str, default: str = "") -> np.ndarray:
        if name in self.extra:
            return c.text_array(self.extra[name])
        if name in self._names:
            return self._source("text", name)[self.pos]
        return np.full(len(self), default, dtype=object)

    def numbers(self, name: str) -> np.ndarray:
        if name in self.extra:
            return _numbers(self.extra[name])
        if name in self._names:
            return self._source("numbers", name)[self.pos]
        return np.full(len(self), np.nan)

    def values(self, name: str) -> np.ndarray:
        """A column's values as a numpy array (Python objects for extension arrays)."""
        if name in self.extra:
            values = self.extra[name]
            return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
        return self._source("object", name)[self.pos]

    def set(self, name: str, values: Any, *, constant: Any = None) -> None:
        self.extra[name] = values
        if constant is None:
            self.constant.pop(name, None)
        else:
            self.constant[name] = constant

    def take(self, index: np.ndarray) -> None:
        """Keep (or repeat) the rows at ``index`` (positions among the current rows)."""
        self.pos = self.pos[index]
        self.extra = {k: v[index] for k, v in self.extra.items()}

    def keep(self, mask: np.ndarray) -> None:
        self.take(np.flatnonzero(mask))

    def rename(self, old: str, new: str) -> None:
        self.frame = self.frame.rename(columns={old: new})
        self._names = set(self.frame.columns)
        self._full = {k: v for k, v in self._full.items() if k[1] != old}

    def to_frame(self) -> pd.DataFrame:
        """The rows as :func:`spine_rows` returns them: the source's columns, then the added ones."""
        out = self.frame.iloc[self.pos].reset_index(drop=True)
        for name, values in self.extra.items():
            out[name] = self.constant[name] if name in self.constant else values
        return out


def _merge_region(rows: _Rows, base: np.ndarray, region: np.ndarray) -> None:
    """Keep the ``base`` rows, adding the ``region`` rows' ``benchmark_value``/``benchmark_code`` as
    ``region_value``/``region_code`` where the keys match: a left merge on :data:`_KEY` as pandas
    does it (keys compared as given, missing matches missing, left order, one row per match)."""
    both = np.concatenate([base, region])
    codes, _ = _codes(*[rows.values(k)[both] for k in _KEY])
    left, right = codes[:len(base)], codes[len(base):]
    order = np.argsort(right, kind="stable")
    start = np.searchsorted(right[order], left, side="left")
    count = np.searchsorted(right[order], left, side="right") - start
    n_out = np.maximum(count, 1)  # an unmatched row is kept once, without region values
    offset = np.arange(n_out.sum()) - np.repeat(np.cumsum(n_out) - n_out, n_out)
    hit = np.repeat(count > 0, n_out)
    source_at = np.full(len(hit), -1)  # row of the source frame holding the region's values
    source_at[hit] = rows.pos[region[order[(np.repeat(start, n_out) + offset)[hit]]]]
    value = pd.api.extensions.take(_values(rows.frame["benchmark_value"]), source_at, allow_fill=True)
    code = pd.api.extensions.take(_values(rows.frame["benchmark_code"]), source_at, allow_fill=True)
    rows.take(np.repeat(base, n_out))
    code_name = "region_code"
    if rows.has("region_code"):  # on both sides: pandas' suffixes
        rows.rename("region_code", "region_code_x")
        code_name = "region_code_y"
    rows.set("region_value", value)
    rows.set(code_name, code)


def _with_meta(rows: _Rows, metadata: pd.DataFrame | None) -> None:
    """Each row's indicator name, domain, unit, polarity (and source), as text: the row's own, else
    from ``metadata`` (its first row of the indicator); "Indicator <id>" for a missing name."""
    if metadata is not None and len(metadata):
        meta_ids = _values(metadata["indicator_id"])
        _, first = np.unique(pd.factorize(meta_ids, use_na_sentinel=False)[0], return_index=True)
        first = np.sort(first)  # drop_duplicates("indicator_id")
        found = pd.Index(_numbers(meta_ids)[first]).get_indexer(rows.numbers("indicator_id"))
        at = np.where(found >= 0, first[found], -1)  # the metadata row of each row (-1: none)
        for target, source in _META:
            if source not in metadata.columns:
                continue
            own = target if rows.has(target) else ("name" if target == "indicator_name" else target)
            current = rows.text(own)
            empty = current == ""
            if empty.any():  # (only then is the lookup needed)
                values = _values(metadata[source])
                looked = c.text_array(pd.api.extensions.take(values, at, allow_fill=True) if isinstance(values, np.ndarray)
                               else np.where(at >= 0, np.asarray(values, dtype=object)[at], None))
                current = np.where(empty, looked, current)
            rows.set(target, current)
    if not rows.has("indicator_name"):
        if rows.has("name"):
            rows.set("indicator_name", rows.text("name"))
        else:
            rows.set("indicator_name", np.full(len(rows), "", dtype=object), constant="")
    for col in ("domain", "unit", "polarity"):
        rows.set(col, rows.text(col))
    name = rows.text("indicator_name")
    rows.set("indicator_name", np.where(name == "", "Indicator " + rows.text("indicator_id"), name))


def _select(profile: Any, metadata: pd.DataFrame | None, domains: Sequence[str] | None,
            sexes: str | Sequence[str] | None, benchmark: str) -> _Rows:
    """The rows of :func:`spine_rows` (see there), as arrays."""
    frame = c.frame_from(profile, c.LATEST_ATTRS, "latest values")
    c.require(frame, ["indicator_id", "value", *SPINE_COLUMNS], "spine_chart")
    rows = _Rows(frame)
    if "category_type" in frame.columns:  # whole population only
        rows.keep(rows.text("category_type") == "")
    for key in _KEY:
        if not rows.has(key):
            rows.set(key, np.full(len(rows), "", dtype=object), constant="")
    if rows.has("benchmark"):
        labels = rows.text("benchmark")
        if len(set(labels.tolist())) > 1:
            base = np.flatnonzero(labels == benchmark)
            region = np.flatnonzero(labels == "region")
            if not rows.has("region_value") and len(region):
                _merge_region(rows, base, region)
            else:
                rows.take(base)
    if not rows.has("significance") and rows.has("vs_england"):  # a profile's wide frame
        rows.set("significance", rows.raw("vs_england"))
    if not rows.has("england_value"):
        rows.set("england_value", rows.numbers("spine_centre"))
    if not rows.has("region_value"):
        rows.set("region_value", np.full(len(rows), np.nan), constant=np.nan)
    # Latest period of each indicator line.
    if rows.has("period_sort"):
        sort = rows.numbers("period_sort")
        sort = np.where(np.isnan(sort), -np.inf, sort)
        line, size = _codes(*[rows.text(k) for k in ("indicator_id", "area_code", "sex", "age")])
        newest = np.full(size, -np.inf)
        np.maximum.at(newest, line, sort)
        rows.keep(sort == newest[line])
    # Sexes.
    sex = rows.text("sex")
    if sexes is None:
        indicator, size = _codes(rows.text("indicator_id"))
        has_persons = np.zeros(size, dtype=bool)
        has_persons[indicator[sex == "Persons"]] = True
        rows.keep((sex == "Persons") | ~has_persons[indicator])
    elif sexes != "all":
        rows.keep(np.isin(sex, [sexes] if isinstance(sexes, str) else list(sexes)))
    if metadata is None:
        ind = c.attr(profile, "indicators")
        metadata = ind if isinstance(ind, pd.DataFrame) else None
    _with_meta(rows, metadata)

    # Domain order: as asked, else as first met in the data.
    domain = rows.text("domain")
    domain = np.where(domain == "", "Other indicators", domain)
    rows.set("domain", domain)
    met = list(dict.fromkeys(domain.tolist()))
    order = list(domains) if domains is not None else met
    if domains is not None:
        unknown = [d for d in order if d not in set(met)]
        if unknown:
            raise ValueError(f"spine_chart: no indicators in domain(s) {', '.join(map(repr, unknown))}; "
                             f"the data have {', '.join(map(repr, met))}")
        rows.keep(np.isin(domain, order))
    rank = pd.Index(order).get_indexer(rows.raw("domain"))
    rows.set("domain_rank", rank.astype(np.int64 if len(rank) else float))  # (pandas' map: float when empty)
    rows.set("input_order", np.arange(len(rows)))
    rows.take(np.argsort(rank, kind="stable"))

    # Geometry (positions 0..1, best on the right).
    flag = np.asarray(rows.values("spine_reversed"), dtype=object)
    reversed_ = np.where(pd.isna(flag), False, flag).astype(bool)
    centre = rows.numbers("spine_centre")
    half = rows.numbers("spine_half_width")
    for name, source in (("pos_value", "value"), ("pos_region", "region_value"), ("pos_worst", "spine_worst"),
                         ("pos_p25", "spine_p25"), ("pos_p75", "spine_p75"), ("pos_best", "spine_best")):
        rows.set(name, np.clip(_positions(rows.numbers(source), centre, half, reversed_), 0.0, 1.0))
    rows.set("pos_centre", np.where(~np.isnan(half), 0.5, np.nan))
    return rows


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
    return _select(profile, metadata, domains, sexes, benchmark).to_frame()


def _label_lines(names: np.ndarray, width_chars: int, lines: int) -> np.ndarray:
    """Wrap names onto at most ``lines`` lines of ``width_chars`` (the last line cut with "…")."""
    wrapper = textwrap.TextWrapper(width=width_chars, break_long_words=True)  # as pandas' str.wrap

    def wrap(name: str) -> str:
        parts = "\n".join(wrapper.wrap(name)).split("\n")
        kept = "\n".join(parts[:lines])
        return kept if len(parts) <= lines else kept[:-1].rstrip() + "\u2026"

    return np.array(list(map(wrap, names.tolist())), dtype=object)  # textwrap is per string


def _row_labels(rows: _Rows) -> np.ndarray:
    """Indicator display labels: name, ", males"/", females" when the indicator has rows for more
    than one sex, and "(unit)" (not for "score" or "years")."""
    sex, unit = rows.text("sex"), rows.text("unit")
    indicator, size = _codes(rows.text("indicator_id"))
    _, first = np.unique(_codes(indicator, sex)[0], return_index=True)  # first row of each (indicator, sex)
    sexes_of = np.bincount(indicator[first], minlength=size)
    split = (sexes_of[indicator] > 1) & np.isin(sex, ["Male", "Female"])
    lower = np.strings.lower(sex.astype(str)).astype(object) if len(sex) else sex
    suffix = np.where(split, ", " + lower + "s", "")
    return rows.text("indicator_name") + suffix + np.where(~np.isin(unit, ["", "score", "years"]),
                                                            " (" + unit + ")", "")


def _json_values(values: Any) -> list[Any]:
    """A source column as the chart's data holds it (what ``clean_for_json`` then ``records`` give)."""
    dtype = values.dtype
    if isinstance(values, np.ndarray) and dtype.kind in "iu":
        return values.tolist()
    if isinstance(values, np.ndarray) and dtype.kind == "f":
        return _spec.json_floats(values)
    if not isinstance(values, np.ndarray) and pd.api.types.is_numeric_dtype(dtype) \
            and not pd.api.types.is_bool_dtype(dtype):
        return _spec.json_floats(_numbers(values))
    frame = c.clean_for_json(pd.DataFrame({"v": pd.Series(values, copy=False)}))
    return [row["v"] for row in _spec.records(frame)]


def spine_chart(profile: Any, domains: Sequence[str] | None = None, *, metadata: pd.DataFrame | None = None,
                sexes: str | Sequence[str] | None = None, names: Any = None, area_name: str | None = None,
                region_name: str | None = None, title: str | None = None, source: str | None = None,
                width: int = 780, name_width: int = 240, row_height: int = 26, name_lines: int = 2,
                decimals: int = 1) -> _spec.Chart:
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

    Returns
    -------
    _spec.Chart
        The table and the spine side by side (one shared row scale), the key under them; a note
        instead when there is no indicator to show.
    """
    rows = _select(profile, metadata, domains, sexes, "england")
    n = len(rows)
    if not n:
        return _spec.note("No indicators to show in the spine chart.", heading=title or "Spine chart")
    area_codes = rows.text("area_code")
    area_code = area_codes[0]
    mapping = {**c.names_mapping(None if isinstance(profile, pd.DataFrame) else profile), **c.names_mapping(names)}
    region_code = rows.text("region_code")[0]
    area_name = area_name or c.attr(profile, "area_name") or (
        _area_name(rows, mapping) if area_code else "Area")
    region_name = region_name or c.attr(profile, "region_name") or mapping.get(region_code.upper())
    source = source or c.attr(profile, "source") or None
    region_name = region_name or c.attr(profile, "region_name") or "Region"

    # ---- display text (per row) -------------------------------------------------------------
    label = c.text_array(_row_labels(rows))
    chars = max(int(name_width / 5.9), 12)
    england = rows.numbers("england_value")
    # Per-indicator precision: 0 decimals for large values (counts, big rates), else ``decimals``.
    digits = np.where(np.abs(np.where(np.isnan(england), rows.numbers("value"), england)) >= 1000, 0, decimals)
    sig = rows.text("significance", palette.NOT_COMPARED)
    sig = np.where(sig != "", sig, palette.NOT_COMPARED)
    labels_present, inverse = np.unique(sig.astype(str), return_inverse=True)
    symbols = np.array([palette.SIGNIFICANCE_SYMBOLS.get(s, "") for s in labels_present.tolist()],
                       dtype=object)[inverse.reshape(-1)]  # a lookup per distinct label
    lower, upper = rows.numbers("lower_95"), rows.numbers("upper_95")
    ci = np.where(~np.isnan(lower) & ~np.isnan(upper),
                  c.fmt_array(lower, digits) + " to " + c.fmt_array(upper, digits), c.DASH)
    text: dict[str, np.ndarray] = {
        "period": rows.text("period"),
        "count_text": c.fmt_array(rows.numbers("count"), 0),
        "value_text": c.fmt_array(rows.numbers("value"), digits),
        "symbol": symbols,
        "region_value_text": c.fmt_array(rows.numbers("region_value"), digits),
        "england_value_text": c.fmt_array(england, digits),
        "spine_worst_text": c.fmt_array(rows.numbers("spine_worst"), digits),
        "spine_best_text": c.fmt_array(rows.numbers("spine_best"), digits),
    }

    # ---- rows of the layout: header, domain headings, indicators ------------------------------
    # Rows come sorted by domain (spine_rows): each domain's heading, then its indicators.
    row_key = np.char.add("i", np.arange(n).astype(str)).astype(object)
    domain = rows.raw("domain")
    starts = np.flatnonzero(np.r_[True, domain[1:] != domain[:-1]])
    sizes = np.diff(np.r_[starts, n])
    heading_keys = ["d" + str(r) for r in rows.raw("domain_rank")[starts].tolist()]
    heads = [{"row_key": k, "heading": h} for k, h in zip(heading_keys, domain[starts].tolist(), strict=True)]
    keys = row_key.tolist()
    row_order = ["header"]
    for key, start, size in zip(heading_keys, starts.tolist(), sizes.tolist(), strict=True):  # per domain
        row_order += [key, *keys[start:start + size]]
    height = row_height * len(row_order)
    stripe = (np.arange(n) - np.repeat(starts, sizes)) % 2 == 1  # every other row of a domain

    def y(**extra: Any) -> dict[str, Any]:
        """The shared row scale (a fresh dict per layer, as Altair writes it)."""
        return {"field": "row_key", "type": "nominal", "sort": list(row_order), "axis": None, **extra,
                "scale": {"domain": list(row_order), "paddingInner": 0, "paddingOuter": 0}}

    # ---- column layout (pixels), sized to the text --------------------------------------------
    def col_width(values: np.ndarray, header: str) -> int:
        longest = max(int(np.strings.str_len(values.astype(str)).max()), max(len(h) for h in header.split("\n")))
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
        w = 16 if field == "symbol" else col_width(text[field], header)
        anchor = {"left": x + 2, "center": x + w / 2, "right": x + w - 4}[align]
        placed.append((field, header, align, anchor))
        x += w
    table_width = x + 4
    spine_width = max(width - table_width - 12, 150)

    tips = [("label", "Indicator"), ("period", "Period"), ("value_text", f"{area_name} value"),
            ("ci_text", "95% confidence interval"), ("count_text", "Count"),
            ("significance", "Compared with England"), ("region_value_text", f"{region_name} value"),
            ("england_value_text", "England value"), ("spine_worst_text", "England worst"),
            ("spine_best_text", "England best"), ("trend", "Recent trend")]

    def tooltip() -> list[dict[str, Any]]:
        return _spec.tooltip(*tips)

    # ---- the data: one record per indicator row ------------------------------------------------
    pos = {name: rows.raw(name) for name in ("pos_value", "pos_region", "pos_worst", "pos_p25", "pos_p75",
                                               "pos_best", "pos_centre")}
    data_columns: dict[str, list[Any]] = {
        "row_key": keys, "stripe": stripe.tolist(), "label": label.tolist(),
        "label_text": _label_lines(c.text_array(label), chars, name_lines).tolist(), "domain": domain.tolist(),
        "significance": sig.tolist(), "symbol": symbols.tolist(), "trend": rows.text("trend").tolist(),
        **{field: text[field].tolist() for field, _, _, _ in placed}, "ci_text": ci.tolist(),
        **{name: _spec.json_floats(values) for name, values in pos.items()},
        "indicator_id": _json_values(rows.raw("indicator_id")),
    }
    records = [dict(zip(data_columns, row, strict=True)) for row in zip(*data_columns.values(), strict=True)]

    b = _spec.SpecBuilder()
    data_ref = b.data(records)
    heads_ref = b.data(heads)
    header_ref = b.data([{"row_key": "header"}])
    stripes_ref = b.data(list(itertools.compress(records, stripe.tolist())))

    def rect(ref: dict[str, str], colour: str, right: int) -> dict[str, Any]:
        """A band across the panel (domain heading or stripe), from 0 to ``right`` pixels."""
        return {"data": dict(ref), "mark": {"type": "rect", "color": colour},
                "encoding": {"y": y(), "x": {"value": 0}, "x2": {"value": right}}}

    def rule(right: int) -> dict[str, Any]:
        """The line under the header row."""
        return {"data": dict(header_ref), "mark": {"type": "rule", "color": "#8C8C8C", "strokeWidth": 1},
                "encoding": {"y": y(bandPosition=1), "x": {"value": 0}, "x2": {"value": right}}}

    # ---- table panel --------------------------------------------------------------------------
    heading_text = {"data": dict(heads_ref),
                    "mark": {"type": "text", "align": "left", "baseline": "middle", "fontWeight": "bold",
                             "fontSize": theme.FONT_SIZE, "x": 4},
                    "encoding": {"y": y(), "text": {"field": "heading", "type": "nominal"}}}
    # No mark ``limit``: the names are already wrapped and shortened to fit in Python
    # (_label_lines), and asking the renderer to measure every label costs ~1.5 s per chart.
    name_text = {"data": dict(data_ref),
                 "mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": theme.SMALL,
                          "lineHeight": 11, "lineBreak": "\n", "x": 6},
                 "encoding": {"y": y(), "text": {"field": "label_text", "type": "nominal"}, "tooltip": tooltip()}}
    cells = [{"data": dict(data_ref),
              "mark": {"type": "text", "align": align, "baseline": "middle", "fontSize": theme.SMALL, "x": anchor},
              "encoding": {"y": y(), "text": {"field": field, "type": "nominal"}, "tooltip": tooltip()}}
             for field, _, align, anchor in placed]
    head_rows = [("Indicator", 6.0, "left")] + [(h, float(a), al) for _, h, al, a in placed]
    head_layers = [{"data": b.data([{"row_key": "header", "text": t, "x": xx, "align": al}
                                    for t, xx, al in head_rows if al == align]),
                    "mark": {"type": "text", "align": align, "baseline": "middle", "fontWeight": "bold",
                             "fontSize": theme.SMALL, "lineBreak": "\n", "lineHeight": 11, "color": theme.TEXT},
                    "encoding": {"y": y(), "x": {"field": "x", "type": "quantitative", "scale": None},
                                 "text": {"field": "text", "type": "nominal"}}}
                   for align in ("left", "center", "right")]
    table = {"layer": [rect(heads_ref, "#E9EEF3", table_width), rect(stripes_ref, "#F5F5F5", table_width),
                       heading_text, name_text, *cells, *head_layers, rule(table_width)],
             "width": table_width, "height": height}

    # ---- spine panel --------------------------------------------------------------------------
    def xq(name: str) -> dict[str, Any]:
        """A position on the spine (0 worst … 1 best), no axis."""
        return {"field": name, "type": "quantitative",
                "scale": {"domain": [0, 1], "nice": False, "zero": False}, "axis": None}

    bars = {"data": b.data(_range_rows(keys, pos)), "mark": {"type": "bar", "height": {"band": 0.5}},
            # Identity colour (scale None): the greys must not share a scale with the significance colours.
            "encoding": {"y": y(), "x": xq("x0"), "x2": {"field": "x1"},
                         "color": {"field": "fill", "type": "nominal", "scale": None}}}
    centre = {"data": dict(data_ref),
              "mark": {"type": "tick", "color": palette.ENGLAND_LINE, "thickness": 1.5, "size": row_height * 0.8},
              "encoding": {"y": y(), "x": xq("pos_centre")}}
    region = {"data": dict(data_ref),
              "mark": {"type": "point", "shape": "diamond", "filled": False, "color": "black", "strokeWidth": 1.3,
                       "size": row_height * 3.2},
              "encoding": {"y": y(), "x": xq("pos_region"), "tooltip": tooltip()}}
    labels = sig.tolist()
    area = {"data": dict(data_ref),
            "mark": {"type": "point", "shape": "circle", "filled": True, "size": row_height * 3.6,
                     "stroke": "black", "strokeWidth": 0.7, "opacity": 1},
            "encoding": {"y": y(), "x": xq("pos_value"),
                         "color": {"field": "significance", "type": "nominal",
                                   "scale": c.significance_scale_spec(labels),
                                   "legend": c.legend_spec(
                                       f"{area_name} compared with England (circle colour and table symbol)",
                                       columns=4, labelExpr=c.symbol_label_expr(labels))},
                         "tooltip": tooltip()}}
    spine_heads = [{"data": b.data([{"row_key": "header", "x": xx, "align": align, "text": text_}]),
                    "mark": {"type": "text", "align": align, "baseline": "middle", "fontWeight": "bold",
                             "fontSize": theme.SMALL},
                    "encoding": {"y": y(), "x": xq("x"), "text": {"field": "text", "type": "nominal"}}}
                   for xx, align, text_ in ((0.0, "left", "Worst"), (0.5, "center", "England"),
                                            (1.0, "right", "Best"))]
    spine = {"layer": [rect(heads_ref, "#E9EEF3", spine_width), rect(stripes_ref, "#F5F5F5", spine_width),
                       bars, centre, area, region, *spine_heads, rule(spine_width)],
             "width": spine_width, "height": height}

    key = _key_chart(b, region_name, area_name, width=table_width + spine_width)
    n_areas = "areas of the same type"
    ranks = rows.numbers("rank_count")
    if not np.isnan(ranks).all():
        n_areas = f"the {int(np.nanmax(ranks))} areas of the same type in the data"
    n_ind = len(set(rows.text("indicator_id").tolist()))
    lines = f"{n_ind} indicators" + (f" ({n} rows)" if n != n_ind else "")
    subtitle = c.caption(f"{lines}, latest period of each", "compared with England",
                         f"England range: {n_areas}",
                         source=source or c.source_of(pd.DataFrame({"source": rows.text("source")}), None))
    body = {"hconcat": [table, spine], "spacing": 12, "resolve": {"scale": {"y": "shared"}}}
    return b.finish({"vconcat": [body, key], "spacing": 8,
                     "title": _spec.title(title or f"{area_name}: health summary", subtitle)})


def _area_name(rows: _Rows, mapping: dict[str, str]) -> str:
    """The first row's area name: ``mapping``, else the rows' ``area_name``, else its code."""
    codes = rows.text("area_code")
    own = pd.DataFrame({"area_code": codes, "area_name": rows.text("area_name")}) if rows.has("area_name") else None
    return str(c.area_names(pd.Series(codes[:1]), own, mapping).iloc[0])


def _range_rows(row_key: list[str], pos: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The grey range bars: worst → 25th percentile, 25th → 75th, 75th → best of every row
    (all rows' first parts, then their middles, then their last parts), skipping missing ends."""
    edges = [pos[name] for name in ("pos_worst", "pos_p25", "pos_p75", "pos_best")]
    x0, x1 = np.concatenate(edges[:3]), np.concatenate(edges[1:])
    part = np.repeat(np.array(["outer", "inner", "outer"], dtype=object), len(row_key))
    fill = np.where(part == "inner", palette.SPINE_INNER, palette.SPINE_OUTER).astype(object)
    ok = ~(np.isnan(x0) | np.isnan(x1))
    columns = (np.tile(np.array(row_key, dtype=object), 3)[ok].tolist(), x0[ok].tolist(), x1[ok].tolist(),
               part[ok].tolist(), fill[ok].tolist())
    return [{"row_key": k, "x0": a, "x1": z, "part": p, "fill": f} for k, a, z, p, f in zip(*columns, strict=True)]


def _key_chart(builder: _spec.SpecBuilder, region_name: str, area_name: str, *, width: int) -> dict[str, Any]:
    """The spine's key: grey ranges, England line, region diamond, area circle, left to right,
    wrapping onto a second line when they do not fit ``width`` (a layer spec; its datasets go to
    ``builder``)."""
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
    bar_y = places[0][2]
    bar_parts = [{"x0": x0, "x1": x1, "y": bar_y, "fill": fill}
                 for x0, x1, fill in ((0.0, 22.0, palette.SPINE_OUTER), (22.0, 58.0, palette.SPINE_INNER),
                                      (58.0, 80.0, palette.SPINE_OUTER))]
    xy = {"x": {"field": "x", "type": "quantitative", "scale": None},
          "y": {"field": "y", "type": "quantitative", "scale": None}}

    def pos() -> dict[str, Any]:
        return {k: dict(v) for k, v in xy.items()}

    bars = {"data": builder.data(bar_parts), "mark": {"type": "rect", "height": 9},
            "encoding": {"x": {"field": "x0", "type": "quantitative", "scale": None}, "x2": {"field": "x1"},
                         "y": {"field": "y", "type": "quantitative", "scale": None},
                         "color": {"field": "fill", "type": "nominal", "scale": None}}}
    label_layer = {"data": builder.data([{"x": t, "y": yy, "text": text_}
                                         for (_, t, yy), text_ in zip(places, labels, strict=True)]),
                   "mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": theme.SMALL},
                   "encoding": {**pos(), "text": {"field": "text", "type": "nominal"}}}
    marks = [{"x": m + mark_w / 2, "y": yy} for m, _, yy in places[1:]]
    tick = {"data": builder.data(marks[:1]),
            "mark": {"type": "tick", "orient": "vertical", "thickness": 1.5, "size": 14, "color": "black"},
            "encoding": pos()}
    diamond = {"data": builder.data(marks[1:2]),
               "mark": {"type": "point", "shape": "diamond", "filled": False, "color": "black", "strokeWidth": 1.3,
                        "size": 75},
               "encoding": pos()}
    circle = {"data": builder.data(marks[2:3]),
              "mark": {"type": "point", "shape": "circle", "filled": True, "color": "#FFFFFF", "stroke": "black",
                       "strokeWidth": 0.7, "size": 85},
              "encoding": pos()}
    return {"layer": [bars, label_layer, tick, diamond, circle], "width": width, "height": height}
