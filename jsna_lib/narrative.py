"""Headline bullets a commissioner reads first, written from an :class:`~jsna_lib.profile.AreaProfile`.

:func:`headlines` returns a list of :class:`Bullet` (a ``kind`` and a plain-English ``text``):

1. ``summary``: how many indicators are significantly better, similar and significantly worse
   than England, then the same against the region (counts over :meth:`AreaProfile.headline`:
   the persons figure of each indicator, or each sex where there is no persons figure);
2. ``meaning``: what "significantly" means here, once;
3. ``concern``: the areas of concern, significantly worse than England *and* getting worse
   (the Fingertips "red-red" list), then ``worse``: the rest of those significantly worse
   than England (life expectancy apart, which has its own bullets);
4. ``improving``: indicators whose recent trend is significant in the better direction;
5. ``life_expectancy``: life expectancy against England and the gap between women and men.

Every sentence carries its numbers, period and unit. The output depends only on the profile
(ordered by significance level, then domain, name and sex), so it is tested word for word.
:func:`to_html` escapes every string (indicator and area names come from data) and
:func:`to_text` gives plain lines.

The area report (``notebooks/area_profile.ipynb``) also takes from here its one-line
:func:`headline_sentence` for the batch index, :func:`areas_of_concern` and
:func:`key_indicators`, and the sentences and tables of each section (``*_html``: title,
population and its projection, deprivation, inequalities, males and females, the region, data
notes and definitions), each saying in a sentence what is missing when the store lacks it.
Every data-derived string in them is HTML-escaped (:func:`table_html`, :func:`paragraphs`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import compare, palette
from .profile import AreaProfile

__all__ = ["Bullet", "areas_of_concern", "compare_rows", "definitions_html", "deprivation_html", "format_value",
           "headline_sentence", "headlines", "indicator_projection_html", "indicators_html", "inequality_chart_rows",
           "inequality_html", "key_indicators", "notes_html", "other_worse_than_england", "paragraphs",
           "population_html", "population_projection_html", "region_html", "series_labels", "sex_html",
           "spine_domains", "table_html", "title_html", "to_html", "to_text", "trend_selection"]


@dataclass(frozen=True)
class Bullet:
    """One headline: ``kind`` (summary, meaning, concern, worse, improving, life_expectancy, note)
    and the sentence ``text`` (plain text, not HTML)."""

    kind: str
    text: str


# ----------------------------------------------------------------------------- formatting
def format_value(value: float | None, unit: str = "", decimals: int = 1) -> str:
    """A value with its unit: ``24.0%``, ``587.3 per 100,000``, ``81.2 years``, ``26.3``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "no value"
    number = f"{float(value):,.{decimals}f}"
    unit = (unit or "").strip()
    if unit == "%":
        return f"{number}%"
    if unit.lower() in ("", "score", "no unit", "ratio"):
        return number
    return f"{number} {unit}"


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _label(row: Mapping[str, Any]) -> str:
    sex = str(row.get("sex", "") or "")
    name = str(row.get("name", "") or f"Indicator {row.get('indicator_id')}")
    if sex in ("Male", "Female"):
        return f"{name} ({'males' if sex == 'Male' else 'females'})"
    return name


def _level(level: float) -> str:
    return "99.8%" if abs(float(level) - 99.8) < 1e-9 else "95%"


def _against(row: Mapping[str, Any], prefix: str, place: str) -> str:
    """'significantly worse than England (21.4%; 95% confidence)' / 'similar to England (21.4%)'."""
    label = str(row.get(f"vs_{prefix}", compare.NOT_COMPARED) or compare.NOT_COMPARED)
    bench = format_value(row.get(f"{prefix}_value"), str(row.get("unit", "") or ""))
    level = row.get(f"vs_{prefix}_level")
    word = label.split(" ")[0].lower()
    if word in ("better", "worse", "higher", "lower") and pd.notna(level):
        return f"significantly {word} than {place} ({bench}; {_level(level)} confidence)"
    if label == compare.SIMILAR:
        return f"similar to {place} ({bench})"
    return f"not compared with {place} ({place} {bench})"


def series_labels(frame: pd.DataFrame) -> pd.Series:
    """Display labels of indicator rows: the name, "(males)"/"(females)" for a sex, and the age
    ("(0-9 yrs)") where the same indicator appears in ``frame`` for more than one age."""
    if frame.empty:
        return pd.Series([], dtype=object, index=frame.index)
    n = len(frame)
    sex = frame["sex"].to_numpy(dtype=object) if "sex" in frame.columns else np.full(n, None, dtype=object)
    ids = frame["indicator_id"].to_numpy(dtype=object) if "indicator_id" in frame.columns else \
        np.full(n, None, dtype=object)
    names = frame["name"].to_numpy(dtype=object) if "name" in frame.columns else np.full(n, "", dtype=object)
    # as _label: the name (or "Indicator <id>" when it is empty), "(males)"/"(females)" for a sex
    labels = np.array([str(name or f"Indicator {i}") for name, i in zip(names.tolist(), ids.tolist(), strict=True)],
                      dtype=object)
    sex_text = np.array([str(s or "") for s in sex.tolist()], dtype=object)
    labels = np.where(sex_text == "Male", labels + " (males)",
                      np.where(sex_text == "Female", labels + " (females)", labels))
    if "age" in frame.columns:
        age = frame["age"].fillna("").astype(str).to_numpy(dtype=object)
        id_code = pd.factorize(frame["indicator_id"].to_numpy(), use_na_sentinel=True)[0]
        age_code = pd.factorize(age)[0]
        ok = id_code >= 0
        pairs = np.unique(id_code[ok] * (int(age_code.max()) + 1) + age_code[ok])
        ages_per_id = np.bincount(pairs // (int(age_code.max()) + 1), minlength=int(id_code.max()) + 1)
        several = np.zeros(n, dtype=bool)
        several[ok] = ages_per_id[id_code[ok]] > 1
        labels = np.where(several & (age != ""), labels + " (" + age + ")", labels)
    return pd.Series(labels, index=frame.index, dtype=object).astype(str)


def _value_in(row: Mapping[str, Any], unit: str | None = None) -> str:
    unit = str(row.get("unit", "") or "") if unit is None else unit
    return f"{format_value(row.get('value'), unit)} in {row.get('period')}"


def _text(rows: pd.DataFrame, name: str) -> np.ndarray:
    """``rows[name].fillna("").astype(str)`` as an object array."""
    return rows[name].fillna("").astype(str).to_numpy(dtype=object)


def _first_words(values: np.ndarray) -> np.ndarray:
    """The text before the first space of each string ("Worse (99.8%)" → "Worse")."""
    if not len(values):
        return values
    return np.strings.partition(values.astype(str), " ")[0].astype(object)


def _missing_as_none(values: np.ndarray) -> list[Any]:
    """An object array as a list, every missing value (None, NaN, NA) as None."""
    return np.where(pd.isna(values), None, values).tolist()


def _line_keys(rows: pd.DataFrame) -> list[tuple[Any, ...]]:
    """(indicator_id, sex, age) of each row, every missing value as None (missing keys match, as
    in a merge)."""
    return list(zip(*(_missing_as_none(rows[name].to_numpy(dtype=object)) for name in ("indicator_id", "sex", "age")),
                    strict=True))


class _Headline:
    """What the narrative reads of :meth:`AreaProfile.headline`, worked out once per profile (see
    :func:`_view`): positions of the rows of each kind, ordering keys, row records. Each part is
    made when first asked for, so a missing column fails only where it is used."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.rows = rows
        self.n = len(rows)
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def first_words(self) -> np.ndarray:  # of the comparison with England ("Worse (99.8%)" → "Worse")
        return self._get("first_words", lambda: _first_words(_text(self.rows, "vs_england")))

    @property
    def worse(self) -> np.ndarray:  # significantly worse than England
        return self.first_words == "Worse"

    def ends(self, words: str) -> np.ndarray:
        """Rows whose trend ends with ``words`` ("getting worse", "getting better")."""
        return self._get(f"ends {words}", lambda: self.rows["trend"].fillna("").astype(str).str.endswith(words)
                         .to_numpy(dtype=bool))

    @property
    def life_expectancy(self) -> np.ndarray:
        return self._get("le", lambda: (self.rows["value_type"].fillna("") == "Life expectancy").to_numpy(dtype=bool))

    def order(self, mask: np.ndarray, level: bool) -> np.ndarray:
        """Positions of the ``mask`` rows, most significant first (``vs_england_level``, if ``level``),
        then by domain, indicator name and sex (stable: ties keep their order)."""
        pos = np.flatnonzero(mask)
        if len(pos) < 2:
            return pos
        ranks = self._get("ranks", lambda: [
            pd.factorize(_text(self.rows, name), sort=True)[0] for name in ("sex", "name", "domain")])
        lev = self._get("level", lambda: pd.to_numeric(self.rows["vs_england_level"], errors="coerce").fillna(0)
                        .to_numpy(dtype=float)) if level else np.zeros(self.n)
        return pos[np.lexsort((ranks[0][pos], ranks[1][pos], ranks[2][pos], -lev[pos]))]

    @property
    def concern(self) -> np.ndarray:  # the areas of concern, ordered
        return self._get("concern", lambda: self.order(self.worse & self.ends("getting worse"), True))

    @property
    def other_worse(self) -> np.ndarray:
        return self._get("other_worse", lambda: self.order(self.worse & ~self.ends("getting worse") & (
            self.rows["value_type"].fillna("") != "Life expectancy").to_numpy(dtype=bool), True))

    def records(self) -> list[dict[str, Any]]:
        """Each row as ``to_dict("records")`` gives it, with the columns the sentences read."""
        return self._get("records", lambda: self.rows[[c for c in _RECORD_COLUMNS if c in self.rows.columns]]
                         .to_dict("records"))

    def counts(self, column: str) -> dict[str, int]:
        return self._get(f"counts {column}", lambda: compare.significance_counts(self.rows[column]))

    @property
    def line_keys(self) -> list[tuple[Any, ...]]:
        return self._get("line_keys", lambda: _line_keys(self.rows))


#: The columns of a headline row that the sentences read (:func:`_label`, :func:`_value_in`, :func:`_against`).
_RECORD_COLUMNS = ("indicator_id", "name", "sex", "age", "unit", "value", "period", "england_value", "vs_england",
                   "vs_england_level", "trend")


def _view(profile: AreaProfile) -> _Headline:
    """The :class:`_Headline` of ``profile``, made once per profile (while its ``indicators`` is the
    same frame, as :meth:`AreaProfile.headline` is)."""
    return profile.memo("narrative_headline", lambda: _Headline(profile.headline()))


def _region_place(profile: AreaProfile) -> str:
    name = profile.region_name or profile.region_code
    if not name:
        return "the region"
    return name if name.lower().endswith("region") else f"the {name} region"


# ----------------------------------------------------------------------------- the bullets
def _summary(counts: Mapping[str, int], n: int, place: str, context: str = "") -> str:
    better, worse, similar = counts["better"], counts["worse"], counts["similar"]
    neutral, other = counts["neutral"], counts["other"]
    text = (f"Compared with {place}{context}: of {_plural(n, 'indicator')}, {better} {_are(better)} significantly "
            f"better, {similar} {_are(similar)} similar and {worse} {_are(worse)} significantly worse")
    extras = []
    if neutral:
        extras.append(f"{neutral} {_are(neutral)} significantly higher or lower where neither is better")
    if other:
        extras.append(f"{other} {_are(other)} not compared")
    if extras:
        text += "; " + " and ".join(extras)
    return text + "."


def _period_range(rows: pd.DataFrame) -> str:
    sort = pd.to_numeric(rows["period_sort"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    known = np.flatnonzero(~np.isnan(sort))
    if not len(known):
        return ""
    ordered = known[np.argsort(sort[known], kind="stable")]
    periods = rows["period"]
    first, last = str(periods.iloc[ordered[0]]), str(periods.iloc[ordered[-1]])
    return f" (latest data for each indicator, {first} to {last})" if first != last else f" (data for {first})"


def _trend_phrase(row: Mapping[str, Any]) -> str:
    trend = str(row.get("trend", "") or "")
    return trend[0].lower() + trend[1:] if trend else ""


def _trend_starts(profile: AreaProfile, view: _Headline, pos: np.ndarray) -> list[dict[str, Any] | None]:
    """For each headline row at ``pos``, the oldest of its trend's points (``period``, ``value``):
    its series' ``TREND_POINTS``-th latest point up to the row's period (None when the series has
    fewer points)."""
    ts = profile.time_series
    if ts.empty or not len(pos):
        return [None] * len(pos)
    keys = view.line_keys
    wanted = [keys[p] for p in pos]
    code = {key: i for i, key in enumerate(dict.fromkeys(wanted))}
    ts_code = np.array([code.get(key, -1) for key in _line_keys(ts)], dtype=np.int64)
    row_code = np.array([code[key] for key in wanted], dtype=np.int64)
    # every (series point, row) pair of the same line, point-major (as a merge gives them)
    point, row = np.nonzero(ts_code[:, None] == row_code[None, :])
    ts_sort = pd.to_numeric(ts["period_sort"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    upto = pd.to_numeric(view.rows["period_sort"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[pos]
    keep = ts_sort[point] <= upto[row]
    point, row = point[keep], row[keep]
    order = np.lexsort((ts_sort[point], row))  # by row, then period (stable)
    point, row = point[order], row[order]
    end = np.searchsorted(row, np.arange(len(pos)), side="right")
    size = end - np.searchsorted(row, np.arange(len(pos)), side="left")
    has = size >= compare.TREND_POINTS
    first = point[end[has] - compare.TREND_POINTS]
    found = iter(ts[["period", "value"]].iloc[first].to_dict("records"))
    return [next(found) if h else None for h in has]


def _worse_than_england(profile: AreaProfile) -> pd.DataFrame:
    return profile.memo("worse_than_england", lambda: _worse_rows(profile))


def _worse_rows(profile: AreaProfile) -> pd.DataFrame:
    view = _view(profile)
    if not view.n:
        return view.rows
    return view.rows[view.worse]


def areas_of_concern(profile: AreaProfile) -> pd.DataFrame:
    """The "red-red" rows: significantly worse than England *and* getting worse (recent trend),
    over :meth:`AreaProfile.headline`, most significant first (then domain, name, sex)."""
    return profile.memo("areas_of_concern", lambda: _areas_of_concern(profile))


def _areas_of_concern(profile: AreaProfile) -> pd.DataFrame:
    view = _view(profile)
    if not view.n or not view.worse.any():
        return _worse_than_england(profile)
    return view.rows.iloc[view.concern]


def other_worse_than_england(profile: AreaProfile) -> pd.DataFrame:
    """Rows significantly worse than England but not getting worse, life expectancy apart (it has
    its own bullets), most significant first."""
    view = _view(profile)
    if not view.n or not view.worse.any():
        return _worse_than_england(profile)
    return view.rows.iloc[view.other_worse]


def headlines(profile: AreaProfile) -> list[Bullet]:
    """The headline bullets for ``profile`` (see the module docstring)."""
    view = _view(profile)
    rows = view.rows
    out: list[Bullet] = []
    if rows.empty:
        return [Bullet("summary", f"There are no indicator values for {profile.area_name} in this data store.")]
    region = _region_place(profile)
    out.append(Bullet("summary", _summary(view.counts("vs_england"), view.n, "England", _period_range(rows))))
    if profile.region_code and profile.region_code != profile.area_code:
        out.append(Bullet("summary", _summary(view.counts("vs_region"), view.n, region)))
    if profile.comparator not in ("england", "region") and "vs_comparator" in rows.columns:
        out.append(Bullet("summary", _summary(view.counts("vs_comparator"), view.n,
                                              profile.comparator_name or profile.comparator)))
    out.append(Bullet("meaning", "“Significantly” better or worse means the difference is unlikely to be "
                                 "chance: England's value lies outside the area's 95% confidence interval (99.8% "
                                 "where stated)."))

    records = view.records()
    concern = view.concern if view.worse.any() else np.array([], dtype=np.intp)
    other_worse = view.other_worse if view.worse.any() else np.array([], dtype=np.intp)
    if not len(concern):
        out.append(Bullet("concern", "No indicator is both significantly worse than England and getting worse."))
    else:
        out.append(Bullet("concern", f"Areas of concern: {_plural(len(concern), 'indicator')} "
                                     f"{_are(len(concern))} significantly worse than England and getting worse."))
        for row in (records[p] for p in concern):
            out.append(Bullet("concern", f"{_label(row)}: {_value_in(row)}, {_against(row, 'england', 'England')}, "
                                         f"and {_trend_phrase(row)} over the last {compare.TREND_POINTS} periods."))
    for row in (records[p] for p in other_worse):
        out.append(Bullet("worse", f"{_label(row)}: {_value_in(row)}, {_against(row, 'england', 'England')}."))

    improving = view.order(view.ends("getting better"), False)
    if not len(improving):
        out.append(Bullet("improving", f"No indicator shows a significant improvement over its last "
                                       f"{compare.TREND_POINTS} periods."))
    for p, start in zip(improving, _trend_starts(profile, view, improving), strict=True):
        row = records[p]
        unit = str(row.get("unit", "") or "")
        change = (f"from {_value_in(start, unit)} to {_value_in(row)}" if start is not None else _value_in(row))
        out.append(Bullet("improving", f"Improving: {_label(row)}, {_trend_phrase(row)} {change}."))

    out.extend(_life_expectancy(profile))
    return out


#: The columns of an indicator row that the life expectancy sentences read.
_LE_COLUMNS = ("indicator_id", "name", "sex", "unit", "value", "period", "england_value", "vs_england",
               "vs_england_level")


def _life_expectancy(profile: AreaProfile) -> list[Bullet]:
    ind = profile.indicators
    if ind.empty:
        return []
    is_le = (ind["value_type"].fillna("") == "Life expectancy").to_numpy(dtype=bool)
    le = ind[[c for c in _LE_COLUMNS if c in ind.columns]].iloc[np.flatnonzero(is_le)]
    out: list[Bullet] = []
    for row in le.sort_values(["indicator_id", "sex"], kind="stable").to_dict("records"):
        unit = str(row.get("unit", "") or "")
        england = format_value(row.get("england_value"), unit)
        diff = float(row["value"]) - float(row["england_value"]) if pd.notna(row["value"]) and pd.notna(
            row["england_value"]) else float("nan")
        if diff != diff:
            gap = f"England {england}"
        elif round(abs(diff), 1) == 0:
            gap = f"the same as England ({england})"
        else:
            gap = f"{format_value(abs(diff), unit)} {'lower' if diff < 0 else 'higher'} than England ({england})"
        label = str(row.get("vs_england", "") or "")
        level = row.get("vs_england_level")
        if label.split(" ")[0] in ("Better", "Worse", "Higher", "Lower") and pd.notna(level):
            judgement = f"significantly {label.split(' ')[0].lower()} than England ({_level(level)} confidence)"
        elif label == compare.SIMILAR:
            judgement = "not significantly different from England"
        else:
            judgement = "not compared with England"
        out.append(Bullet("life_expectancy", f"{_label(row)}: {_value_in(row)}, {gap}; {judgement}."))
    out.extend(_sex_gaps(le))
    return out


def _sex_gaps(le: pd.DataFrame) -> list[Bullet]:
    """The gap between women and men, per indicator, period and age (groups in sorted order) where
    both have a value; a group with several rows of one sex uses the first."""
    ids, periods = le["indicator_id"].to_numpy(dtype=object), le["period"].to_numpy(dtype=object)
    ages = le["age"].fillna("").astype(str).to_numpy(dtype=object) if "age" in le.columns \
        else np.full(len(le), "", dtype=object)
    sexes = le["sex"].to_numpy(dtype=object)
    groups: dict[tuple[Any, Any, Any], list[int]] = {}
    for i, key in enumerate(zip(ids.tolist(), periods.tolist(), ages.tolist(), strict=True)):
        if not (pd.isna(key[0]) or pd.isna(key[1])):
            groups.setdefault(key, []).append(i)
    values = le["value"].to_numpy(dtype=object)
    names, units = le["name"].to_numpy(dtype=object), le["unit"].to_numpy(dtype=object) if "unit" in le.columns \
        else None
    n_ages: dict[tuple[Any, Any], int] = {}  # ages per indicator and period: named when more than one
    for key in groups:
        n_ages[key[:2]] = n_ages.get(key[:2], 0) + 1
    out: list[Bullet] = []
    for (ind, period, age), members in sorted(groups.items(), key=lambda item: item[0]):
        group_sexes = [sexes[i] for i in members]
        if not {"Male", "Female"} <= set(group_sexes):
            continue
        f = members[group_sexes.index("Female")]
        m = members[group_sexes.index("Male")]
        female, male = values[f], values[m]
        if pd.notna(female) and pd.notna(male):
            unit = str((units[f] if units is not None else "") or "")
            gap = float(female) - float(male)
            who, other = ("Females", "males") if gap >= 0 else ("Males", "females")
            out.append(Bullet("life_expectancy",
                              f"{names[f]}{f' ({age})' if n_ages[ind, period] > 1 else ''}: "
                              f"{who.lower()} {format_value(max(female, male), unit)}"
                              f" and {other} {format_value(min(female, male), unit)} in {period}, "
                              f"a gap of {format_value(abs(gap), unit)}."))
    return out


# ----------------------------------------------------------------------------- rendering
def to_text(bullets: Iterable[Bullet]) -> str:
    """One ``- text`` line per bullet."""
    return "\n".join(f"- {b.text}" for b in bullets)


_HEADINGS = {"summary": "Summary", "meaning": None, "concern": "Areas of concern", "worse": "Also worse than England",
             "improving": "Improving", "life_expectancy": "Life expectancy", "note": "Notes"}


def to_html(bullets: Sequence[Bullet], *, headings: bool = True) -> str:
    """The bullets as an HTML fragment: a ``<ul>`` per kind (with an ``<h3>`` heading when
    ``headings``); a kind without a heading of its own (the "meaning" of significance) is an
    explanatory ``<p>`` after the list before it. Every text is HTML-escaped (``<``, ``>``, ``&``,
    quotes)."""
    parts: list[str] = []
    current = None
    for bullet in bullets:
        kind = html.escape(bullet.kind, quote=True)
        if bullet.kind in _HEADINGS and _HEADINGS[bullet.kind] is None:  # a note, not a list item
            if current is not None:
                parts.append("</ul>")
                current = None
            parts.append(f'<p class="jsna-headlines jsna-{kind}">{html.escape(bullet.text, quote=True)}</p>')
            continue
        if bullet.kind != current:
            if current is not None:
                parts.append("</ul>")
            heading = _HEADINGS.get(bullet.kind, bullet.kind)
            if headings and heading and (current is None or _HEADINGS.get(current) != heading):
                parts.append(f"<h3>{html.escape(heading)}</h3>")
            parts.append(f'<ul class="jsna-headlines jsna-{kind}">')
            current = bullet.kind
        parts.append(f"<li>{html.escape(bullet.text, quote=True)}</li>")
    if current is not None:
        parts.append("</ul>")
    return "\n".join(parts)


# ============================================================================= the area report
# Sentences and tables for notebooks/area_profile.ipynb. Every function returns plain text or an
# HTML fragment in which every data-derived string is escaped; none draws a chart.
_AREA_TYPE_WORDS = {"utla": ("upper-tier local authority", "upper-tier local authorities"),
                    "ltla": ("lower-tier local authority", "lower-tier local authorities"),
                    "region": ("region", "regions"), "england": ("country", "countries"),
                    "custom": ("custom area", "custom areas")}
_POLARITY_WORDS = {"RAG - Low is good": "lower is better", "RAG - High is good": "higher is better",
                   "BOB - Blue orange blue": "neither higher nor lower is better",
                   "Not applicable": "not judged"}


def _esc(value: object) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value),
                       quote=True)


def _type_words(area_type: str, plural: bool = False) -> str:
    words = _AREA_TYPE_WORDS.get(str(area_type), (f"{area_type} area", f"{area_type} areas"))
    return words[1] if plural else words[0]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _number(value: object, decimals: int = 0) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{decimals}f}"


def _percent(value: object, decimals: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.{decimals}f}%"


def paragraphs(*texts: str) -> str:
    """Plain-text sentences as escaped ``<p>`` paragraphs (empty texts left out)."""
    return "\n".join(f"<p>{_esc(t)}</p>" for t in texts if t)


def table_html(frame: pd.DataFrame, *, caption: str = "", numeric: Sequence[str] = (),
               css_class: str = "jsna-table", raw: Sequence[str] = ()) -> str:
    """A frame (already formatted as text) as an HTML table: header from the column names, every
    cell and the caption escaped, except the ``raw`` columns (HTML built by this module from
    escaped parts); ``numeric`` columns right-aligned."""
    right, trusted = set(numeric), set(raw)
    head = "".join(f'<th style="text-align:{"right" if c in right else "left"}">{_esc(c)}</th>'
                   for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:{"right" if c in right else "left"}">'
                         f'{v if c in trusted else _esc(v)}</td>'
                         for c, v in zip(frame.columns, row, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False, name=None))
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return (f'<table class="{_esc(css_class)}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def headline_sentence(profile: AreaProfile) -> str:
    """One plain-text sentence for the batch index, e.g. "Birmingham: 11 of 37 indicators
    significantly worse than England, 0 better; 3 areas of concern" (counts as in the summary
    bullet: the persons figure of each indicator, or each sex where there is none)."""
    view = _view(profile)
    if view.rows.empty:
        return f"{profile.area_name}: no indicator values in this data store"
    first = view.first_words
    worse, better = int((first == "Worse").sum()), int((first == "Better").sum())
    concern = len(view.concern)
    return (f"{profile.area_name}: {worse} of {_plural(view.n, 'indicator')} significantly worse than England, "
            f"{better} better; {_plural(concern, 'area')} of concern")


def title_html(profile: AreaProfile) -> str:
    """The report's heading: the area's name, what it is and what it is compared with (and, for
    synthetic data, that it is demonstration data)."""
    kind = _type_words(profile.area_type)
    where = f" in {_region_place(profile)}" if profile.region_code else ""
    if profile.area_type == "ltla" and str(profile.parent_code).upper().startswith("E10") and profile.parent_name:
        where = f" in {profile.parent_name}{',' + where if where else ''}"
    benchmarks = ["England"]
    if profile.region_code:
        benchmarks.append(_region_place(profile))
    if profile.comparator not in ("england", "region"):
        benchmarks.append(profile.comparator_name or profile.comparator)
    period = "the latest data for each indicator" if profile.period == "latest" else f"the period {profile.period}"
    text = (f"{profile.area_name} ({profile.area_code}) is {'an' if kind[0] in 'aeiou' else 'a'} {kind}{where}. "
            f"This Joint Strategic Needs Assessment profile uses {period}, compared with {_join_words(benchmarks)}.")
    if profile.demonstration:
        text += " It uses demonstration (synthetic) data: the numbers describe no real place."
    return f"<h1>{_esc(profile.area_name)}: area profile</h1>\n<p>{_esc(text)}</p>"


def key_indicators(profile: AreaProfile, limit: int = 6) -> pd.DataFrame:
    """The indicators a Health and Wellbeing Board would look at first, with a ``reason``: the
    areas of concern, then the rest significantly worse than England, life expectancy at birth,
    indicators with a significant recent trend (worsening first); when none of these exist, the
    store's other indicators. At most ``limit`` rows of :meth:`AreaProfile.headline`."""
    view = _view(profile)
    rows = view.rows
    if rows.empty:
        return rows.assign(reason=pd.Series(dtype=object))
    none = np.array([], dtype=np.intp)
    worse = view.worse.any()
    at_birth = (view.life_expectancy & rows["name"].fillna("").str.contains("at birth", case=False)
                .to_numpy(dtype=bool))
    parts = [(view.concern if worse else none, "area of concern"),
             (view.other_worse if worse else none, "significantly worse than England"),
             (np.flatnonzero(at_birth), "life expectancy"),
             (view.order(view.ends("getting worse"), False), "getting worse"),
             (view.order(view.ends("getting better"), False), "getting better")]
    # Every part is positions in ``rows``: the first reason of each indicator line, in the order of
    # the parts, taken from ``rows`` once.
    positions = np.concatenate([p for p, _ in parts])
    reasons = np.concatenate([np.full(len(p), r, dtype=object) for p, r in parts])
    keys = view.line_keys
    first = ~pd.Series(keys, dtype=object).iloc[positions].duplicated().to_numpy()
    chosen = rows.iloc[positions[first][:limit]].assign(reason=reasons[first][:limit])
    if chosen.empty:  # nothing stands out: the series with most values (to project), compared ones first
        ts = profile.time_series
        points = ts.groupby(["indicator_id", "sex", "age"]).size().rename("_points").reset_index() if len(
            ts) else pd.DataFrame(columns=["indicator_id", "sex", "age", "_points"])
        ranked = rows.iloc[view.order(np.ones(view.n, dtype=bool), False)].merge(points, on=["indicator_id", "sex", "age"], how="left")
        ranked = ranked.assign(_points=-ranked["_points"].fillna(0),
                               _compared=ranked["vs_england"].fillna(compare.NOT_COMPARED) == compare.NOT_COMPARED)
        ranked = ranked.sort_values(["_points", "_compared"], kind="stable")
        chosen = ranked.drop(columns=["_points", "_compared"]).assign(reason="indicator in this store")
        chosen = chosen.drop_duplicates(["indicator_id", "sex", "age"]).head(limit)
    return chosen.reset_index(drop=True)



def _group_words(group: str) -> str:
    """"0-14" → "aged 0 to 14", "85+" → "aged 85 and over", "All ages" → "all ages"."""
    if group.endswith("+"):
        return f"aged {group[:-1]} and over"
    if "-" in group:
        low, high = group.split("-", 1)
        return f"aged {low} to {high}"
    return group.lower()


def population_html(profile: AreaProfile, structure: pd.DataFrame, *, table_present: bool) -> str:
    """The population paragraph and age-structure table (area and England shares by broad age
    group), or a sentence saying why there is none."""
    name = profile.area_name
    if not table_present:
        return paragraphs(
            "This store has no population table, so the population pyramid, the age structure and the "
            "population projection are not shown.",
            "To add them, import ONS mid-year population estimates by sex and 5-year age band (columns "
            "area_code, year, sex, age_band, population) into the store with \u201cjsna import FILE --format tidy\u201d.")
    own = structure[structure["area_code"] == profile.area_code]
    if own.empty:
        return paragraphs(f"The store's population table has no rows for {name}, so the population pyramid, the "
                          "age structure and the population projection are not shown.")
    england = structure[structure["area_code"] == compare.ENGLAND].set_index("age_group")
    year = int(own["year"].iloc[0])
    by_group = own.set_index("age_group")
    total = by_group["population"].get(palette.ALL_AGES, np.nan)
    older = by_group[by_group.index.str.match(r"^(65|75|85)")]
    older_share = older["share"].sum() if len(older) else np.nan
    eng_older = england[england.index.str.match(r"^(65|75|85)")]["share"].sum() if len(england) else np.nan
    young = by_group["share"].get("0-14", np.nan)
    text = f"In {year} {name} had an estimated {_number(total)} residents."
    if pd.notna(older_share):
        text += f" {_percent(older_share)} were aged 65 and over"
        text += f" (England {_percent(eng_older)})" if pd.notna(eng_older) and len(england) else ""
        if pd.notna(young):
            text += f" and {_percent(young)} were aged under 15"
            text += f" (England {_percent(england['share'].get('0-14', np.nan))})" if len(england) else ""
        text += "."
    table = pd.DataFrame({
        "Age group": [_group_words(str(g)).capitalize() for g in by_group.index],
        f"Residents, {year}": [_number(v) for v in by_group["population"]],
        f"Share of {name}": [_percent(v) for v in by_group["share"]],
        "Share of England": [_percent(england["share"].get(g, np.nan)) if len(england) else "–"
                             for g in by_group.index]})
    return paragraphs(text) + "\n" + table_html(
        table, caption=f"Population by broad age group, {name}, {year}",
        numeric=[c for c in table.columns if c != "Age group"])


def population_projection_html(profile: AreaProfile, summary: pd.DataFrame, *, level: float = 0.95) -> str:
    """What the population projection says (total and the oldest group), its table and how it is made."""
    name = profile.area_name
    if summary.empty:
        return paragraphs(f"There are no population figures for {name} in this store, so nothing is projected.")
    whole = summary[summary["age_group"] == palette.ALL_AGES]
    notes = summary["note"].fillna("").astype(str)
    if whole.empty or pd.isna(whole["projected"].iloc[0]):
        why = notes[notes != ""].iloc[0] if (notes != "").any() else "the population cannot be fitted"
        return paragraphs(f"The population of {name} is not projected: {why} (at least 4 years are needed).")
    row = whole.iloc[0]
    change = float(row["change_pct"])
    direction = "more" if change >= 0 else "fewer"
    lead = (f"If the trend of recent years continues, {name} would have about {_number(row['projected'])} residents "
            f"in {int(row['projected_year'])} ({level:.0%} prediction interval {_number(row['lower'])} to "
            f"{_number(row['upper'])}), {_percent(abs(change))} {direction} than in {int(row['latest_year'])}.")
    oldest = summary[summary["age_group"].astype(str).str.endswith("+")]
    if len(oldest) and pd.notna(oldest["projected"].iloc[0]):
        o = oldest.iloc[0]
        lead += (f" The number {_group_words(str(o['age_group']))} would go from {_number(o['latest'])} to about "
                 f"{_number(o['projected'])} ({'+' if o['change_pct'] >= 0 else '−'}{_percent(abs(o['change_pct']))}).")
    table = pd.DataFrame({
        "Age group": [_group_words(str(g)).capitalize() for g in summary["age_group"]],
        "Latest": [f"{_number(v)} ({int(y)})" if pd.notna(y) else "–" for v, y in zip(summary["latest"],
                                                                                     summary["latest_year"],
                                                                                     strict=True)],
        "Projected": [f"{_number(v)} ({int(y)})" if pd.notna(v) else "not projected"
                      for v, y in zip(summary["projected"], summary["projected_year"].fillna(0), strict=True)],
        f"{level:.0%} prediction interval": [f"{_number(lo)} to {_number(hi)}" if pd.notna(lo) else "–"
                                             for lo, hi in zip(summary["lower"], summary["upper"], strict=True)],
        "Change": [("+" if c >= 0 else "−") + _percent(abs(c)) if pd.notna(c) else "–" for c in summary["change_pct"]],
        "Average change a year": [("+" if g >= 0 else "−") + _percent(abs(g), 2) if pd.notna(g) else "–"
                                  for g in summary["growth_pct"]]})
    method = (f"How this is made: for each age group the yearly totals ({int(row['first_year'])} to "
              f"{int(row['latest_year'])}, {int(row['n_years'])} years) are fitted with a straight line on the "
              f"logarithmic scale (a constant yearly rate of change), which is continued for "
              f"{int(row['projected_year'] - row['latest_year'])} years. The {level:.0%} prediction interval shows "
              "how closely past years follow that line; it cannot allow for a change of trend (new housing, "
              "migration, a pandemic). The all-ages line is fitted on its own, so it can differ slightly from the "
              "sum of the groups. This continues past trends and is not an official projection: for planning "
              "figures use the ONS sub-national population projections.")
    return (paragraphs(lead) + "\n" + table_html(table, caption=f"Population projection by broad age group, {name}",
                                                  numeric=[c for c in table.columns if c != "Age group"])
            + "\n" + paragraphs(method))


def indicator_projection_html(profile: AreaProfile, summary: pd.DataFrame, keys: pd.DataFrame, *,
                              level: float = 0.95) -> str:
    """The key indicators' trends continued: a table (latest value, value the trend would reach,
    its confidence interval, change a year, why the indicator is shown) and how it is made."""
    if keys.empty:
        return paragraphs("There are no indicator series to continue.")
    merged = _projection_rows(keys, summary)
    labels = series_labels(merged)
    units = merged["unit"].fillna("").astype(str)
    table = pd.DataFrame({
        "Indicator": labels,
        "Why shown": merged["reason"].fillna(""),
        "Latest": [f"{format_value(v, u)} ({p})" if pd.notna(v) else "–"
                   for v, u, p in zip(merged["latest"], units, merged["latest_period"], strict=True)],
        "Trend continued to": [f"{format_value(v, u)} ({p})" if pd.notna(v) else "not projected"
                               for v, u, p in zip(merged["projected"], units, merged["projected_period"], strict=True)],
        f"{level:.0%} confidence interval": [
            f"{format_value(lo, u)} to {format_value(hi, u)}" if pd.notna(lo) else (n or "–")
            for lo, hi, u, n in zip(merged["lower_95"], merged["upper_95"], units, merged["note"].fillna(""),
                                    strict=True)],
        "Change a year": [("+" if s >= 0 else "−") + format_value(abs(s), u, 2) if pd.notna(s) else "–"
                          for s, u in zip(merged["slope"], units, strict=True)]})
    lead = ("Where the key indicators would be if their recent trend simply continued. This is not a forecast: "
            "services, policy and events change trends.")
    method = ("How this is made: a straight line is fitted through each indicator's last 5 values (at least 4 are "
              "needed), giving more weight to the more precise values (weights 1/SE², from their 95% confidence "
              "intervals), and continued for 5 periods. The interval is the "
              f"{level:.0%} confidence interval of the continued line, widened when the values scatter more than "
              "their own intervals imply; a published value would also carry its own sampling error. Proportions "
              "are kept between 0 and 100% and rates at zero or above.")
    return paragraphs(lead) + "\n" + table_html(table, caption=f"Key indicators: recent trend continued, "
                                                              f"{profile.area_name}",
                                                numeric=["Latest", "Trend continued to", "Change a year"]) + \
        "\n" + paragraphs(method)



def _projection_rows(keys: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The key rows (line, name, unit, reason) with their line's projection columns (a left merge
    on the line: a line without a projection keeps its row, with missing projection values)."""
    left = keys[["indicator_id", "sex", "age", "name", "unit", "reason"]]
    right = summary.drop(columns=["name", "unit"], errors="ignore")
    return left.merge(right, on=["indicator_id", "sex", "age"], how="left")


def deprivation_html(profile: AreaProfile, score: pd.DataFrame, domains: Sequence[str]) -> str:
    """The area's deprivation score, rank and quintile, and which wider-determinants domains follow."""
    texts: list[str] = []
    name = profile.area_name
    if score.empty:
        texts.append("This store has no deprivation score indicator (such as the Index of Multiple Deprivation "
                     "score), so the area's deprivation rank and quintile cannot be shown.")
    else:
        row = score.iloc[0]
        text = f"{row['name']}: {format_value(row['value'], '')} in {row['period']}"
        if pd.notna(row.get("england_value")):
            text += f" (England {format_value(row['england_value'], '')})"
        text += "."
        if pd.notna(row.get("most_deprived_rank")) and pd.notna(row.get("rank_count")):
            text += (f" {name} is the {_ordinal(int(row['most_deprived_rank']))} most deprived of "
                     f"{int(row['rank_count'])} {_type_words(profile.area_type, plural=True)} with a score")
            if pd.notna(row.get("quintile")):
                text += (f", in quintile {int(row['quintile'])} of 5 (quintile 1 is the least deprived fifth of "
                         "areas, quintile 5 the most deprived)")
            text += "."
        texts.append(text)
    if domains:
        texts.append(f"The table shows the indicators of the {_join_words(domains)} "
                     f"domain{'s' if len(domains) > 1 else ''}; they are also in the spine chart of section 4.")
    else:
        texts.append("This store has no indicators in a domain about deprivation or the wider determinants of "
                     "health (employment, housing, crime, income, education).")
    return paragraphs(*texts)


def _swatch(colour: object, label: object) -> str:
    """A small colour square before an escaped label (colour is never the only cue)."""
    colour = str(colour or "")
    colour = colour if len(colour) == 7 and colour.startswith("#") and all(
        ch in "0123456789abcdefABCDEF" for ch in colour[1:]) else "#C9C9C9"
    return (f'<span style="display:inline-block;width:0.8em;height:0.8em;margin-right:0.35em;'
            f'background:{colour};border:1px solid #777"></span>{_esc(label)}')


def indicators_html(profile: AreaProfile, domains: Sequence[str], *, caption: str = "") -> str:
    """The profile's indicators in ``domains`` as a table: period, value, region, England, the
    comparison with England (colour square and label) and the recent trend."""
    rows = _view(profile).rows
    if rows.empty or not domains:
        return ""
    rows = rows[[c for c in ("indicator_id", "name", "sex", "age", "domain", "period", "unit", "value",
                             "region_value", "england_value", "vs_england", "vs_england_colour", "trend")
                 if c in rows.columns]]
    rows = rows[rows["domain"].fillna("").astype(str).isin(list(domains)).to_numpy()]
    units = rows["unit"].fillna("").astype(str)
    significance = rows["vs_england"].fillna(compare.NOT_COMPARED).astype(str)
    colours = rows["vs_england_colour"] if "vs_england_colour" in rows.columns else compare.colour(significance)
    region = rows["region_value"] if "region_value" in rows.columns else pd.Series(np.nan, index=rows.index)
    table = pd.DataFrame({
        "Indicator": series_labels(rows),
        "Period": rows["period"].astype(str),
        profile.area_name: [format_value(v, u) for v, u in zip(rows["value"], units, strict=True)],
        "Region": [format_value(v, u) for v, u in zip(region, units, strict=True)],
        "England": [format_value(v, u) for v, u in zip(rows["england_value"], units, strict=True)],
        "Compared with England": [_swatch(c, s) for c, s in zip(colours, significance, strict=True)],
        "Recent trend": rows["trend"].fillna("").astype(str)})
    return table_html(table, caption=caption, numeric=[profile.area_name, "Region", "England"],
                      raw=["Compared with England"])


def _join_words(words: Sequence[str]) -> str:
    words = [str(w) for w in words]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def spine_domains(profile: AreaProfile, exclude: Sequence[str] = ()) -> list[str]:
    """The domains of the profile as the spine chart names them (an empty domain is "Other
    indicators"), in data order, leaving out ``exclude``."""
    if profile.indicators.empty:
        return []
    domains = profile.indicators["domain"].fillna("").astype(str).replace("", "Other indicators")
    return [d for d in dict.fromkeys(domains) if d not in set(exclude)]


def trend_selection(profile: AreaProfile, limit: int = 6) -> tuple[pd.DataFrame, str]:
    """The rows to draw trend charts for and a sentence saying which: the areas of concern, else
    the indicators significantly worse than England, else none."""
    view = _view(profile)
    worse = view.n > 0 and view.worse.any()
    concern = view.concern if worse else ()
    if len(concern):
        shown = view.rows.iloc[concern[:limit]]
        more = f" (the first {limit} of {len(concern)})" if len(concern) > limit else ""
        return shown, (f"{_plural(len(concern), 'indicator')} {_are(len(concern))} significantly worse than England "
                       f"and getting worse{more}. Each chart shows {profile.area_name}'s values over time with their "
                       "95% confidence intervals, against England and the region.")
    if worse:
        shown = view.rows.iloc[view.order(view.worse, True)[:limit]]
        return shown, ("No indicator is both significantly worse than England and getting worse. The charts show "
                       f"the {_plural(len(shown), 'indicator')} significantly worse than England instead.")
    return _worse_than_england(profile), ("No indicator is significantly worse than England, so there are no "
                                          "areas of concern and no trend charts here.")


def _gap_value(value: float, unit: str) -> str:
    """A difference with its unit: percentage points for percentages."""
    if unit == "%":
        return f"{abs(float(value)):,.1f} percentage points"
    return format_value(abs(float(value)), unit)


def _gap_text(row: Mapping[str, Any]) -> str:
    """"8.3 percentage points higher in the most deprived (95% CI 7.9 to 8.7)"; "no clear gradient ..."."""
    if pd.isna(row["sii"]):
        return "not calculated"
    unit = str(row.get("unit", "") or "")
    low, high = row["sii_lower_95"], row["sii_upper_95"]
    has_ci = pd.notna(low) and pd.notna(high)
    if has_ci and low <= 0 <= high:
        return (f"no clear gradient (SII {format_value(row['sii'], unit)}, 95% CI {format_value(low, unit)} to "
                f"{format_value(high, unit)})")
    where = "most deprived" if row["sii"] < 0 else "least deprived"
    text = f"{_gap_value(row['sii'], unit)} higher in the {where}"
    if has_ci:
        a, b = sorted((abs(float(low)), abs(float(high))))
        text += f" (95% CI {format_value(a, '')} to {format_value(b, '')})"
    return text


def inequality_html(profile: AreaProfile, summary: pd.DataFrame, *, limit: int = 10) -> str:
    """What the deprivation breakdowns show: the slope index of inequality of the ``limit``
    indicators with the largest gaps relative to their level (or why it cannot be calculated),
    for the area or, lacking its own, for England."""
    name = profile.area_name
    if summary.empty:
        return paragraphs(f"This store has no figures by deprivation decile or quintile for {name} or for England, "
                          "so inequalities by deprivation and the slope index of inequality (SII) are not shown.")
    own = (summary["area_code"] == profile.area_code).any()
    whose = name if own else "England"
    texts = []
    if not own:
        texts.append(f"The store has no figures by deprivation for {name} itself, so this section shows England's "
                     "gradient by deprivation: the national context for the area's figures.")
    texts.append("The slope index of inequality (SII) is the modelled gap in an indicator between the most and the "
                 "least deprived ends of the population, allowing for the size of each deprivation group "
                 "(a population-weighted regression across the groups; 95% confidence interval by simulation).")
    relative = np.nan_to_num(_relative_gap(summary), nan=-1.0, posinf=np.inf, neginf=-np.inf)
    order = np.argsort(-relative, kind="stable")  # largest first, ties in their order
    shown = summary.iloc[order[:limit]]
    if len(summary) > limit:
        texts.append(f"The table shows the {limit} indicators with the largest gaps relative to their level, of "
                     f"{len(summary)} with a breakdown by deprivation.")
    units = shown["unit"].fillna("").astype(str).tolist()
    table = pd.DataFrame({"Indicator": series_labels(shown)})
    if shown["category_type"].nunique() > 1:
        table["Deprivation groups"] = shown["category_type"].astype(str).to_numpy()
    sii = {k: shown[k].to_numpy(dtype=object) for k in ("sii", "sii_lower_95", "sii_upper_95")}
    gap_rows = [dict(zip(("sii", "sii_lower_95", "sii_upper_95", "unit"), r, strict=True)) for r in zip(
        sii["sii"], sii["sii_lower_95"], sii["sii_upper_95"], shown["unit"].to_numpy(dtype=object), strict=True)]
    table = table.assign(**{
        "Period": shown["period"].to_numpy(),
        "Most deprived": [format_value(v, u) for v, u in zip(shown["most_deprived"].tolist(), units, strict=True)],
        "Least deprived": [format_value(v, u) for v, u in zip(shown["least_deprived"].tolist(), units, strict=True)],
        "Gap across the deprivation scale (SII)": [
            _gap_text(r) if not n else f"not calculated: {n}" for r, n in zip(
                gap_rows, shown["note"].fillna("").tolist(), strict=True)]})
    has_sii = ~pd.isna(sii["sii"])
    if has_sii.any() and pd.isna(sii["sii_lower_95"][has_sii]).all():
        texts.append("The data give no confidence intervals for the deprivation groups, so the SII has none either.")
    caption = f"Inequality by deprivation, {whose}: largest relative gaps first"
    return paragraphs(*texts) + "\n" + table_html(table, caption=caption, numeric=["Most deprived", "Least deprived"])


def _relative_gap(summary: pd.DataFrame) -> np.ndarray:
    """|SII| over the mean of the most and least deprived values (either alone when the other is
    missing; NaN when both are)."""
    ends = np.column_stack([summary[k].to_numpy(dtype=float, na_value=np.nan)
                            for k in ("most_deprived", "least_deprived")])
    known = ~np.isnan(ends)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(known, ends, 0.0).sum(axis=1) / known.sum(axis=1)
        return np.abs(summary["sii"].to_numpy(dtype=float, na_value=np.nan)) / mean


def inequality_chart_rows(summary: pd.DataFrame, keys: pd.DataFrame, limit: int = 2, *,
                          area_type: str | None = None) -> pd.DataFrame:
    """Which breakdowns to chart: key indicators first, then the largest relative gaps; one
    breakdown per indicator (the deprivation groups of ``area_type``'s tier where there are two)."""
    if summary.empty:
        return summary
    key_ids = list(dict.fromkeys(keys["indicator_id"])) if len(keys) else []
    places = {k: i for i, k in enumerate(key_ids)}
    ids = summary["indicator_id"].to_numpy(dtype=object)
    rank = pd.Series(ids, dtype=object).map(places).fillna(len(key_ids)).to_numpy(dtype=float)
    rel = np.nan_to_num(_relative_gap(summary), nan=0.0, posinf=np.inf, neginf=-np.inf)
    # Deprivation groups of the area's own tier first (Fingertips publishes "County & UA" and
    # "District & UA" deciles side by side), then complete breakdowns.
    tier = {"utla": "county", "ltla": "district"}.get(area_type or "", "")
    own_tier = summary["category_type"].astype(str).str.contains(tier, case=False) if tier else True
    other_tier = ~pd.Series(own_tier, index=summary.index).astype(bool).to_numpy()
    incomplete = (summary["note"].fillna("") != "").to_numpy(dtype=bool)
    order = np.lexsort((-rel, incomplete, other_tier, rank))
    # the first row of each indicator, in that order (missing ids as one id)
    firsts = order[~pd.Series(_missing_as_none(ids[order]), dtype=object).duplicated().to_numpy()]
    return summary.iloc[firsts[:limit]].reset_index(drop=True)


def sex_html(profile: AreaProfile, differences: pd.DataFrame) -> str:
    """Male and female values side by side with a test of the difference, or why there are none."""
    if differences.empty:
        return paragraphs(f"The data for {profile.area_name} has no separate figures for males and females, so "
                          "differences between the sexes are not shown.")
    def value(v: float, lo: float, hi: float) -> str:
        if pd.isna(v):
            return "no value"
        if pd.isna(lo) or pd.isna(hi):
            return format_value(v, "")
        return f"{format_value(v, '')} ({format_value(lo, '')} to {format_value(hi, '')})"

    table = pd.DataFrame({
        "Indicator": differences["name"], "Unit": differences["unit"].fillna("").astype(str),
        "Period": differences["period"],
        "Males (95% CI)": [value(v, lo, hi) for v, lo, hi in zip(
            differences["male"], differences["male_lower_95"], differences["male_upper_95"], strict=True)],
        "Females (95% CI)": [value(v, lo, hi) for v, lo, hi in zip(
            differences["female"], differences["female_lower_95"], differences["female_upper_95"], strict=True)],
        "Difference": differences["significance"]})
    lead = (f"Indicators published for males and females in {profile.area_name}. A difference is called significant "
            "when it is more than 1.96 times its standard error (from the two 95% confidence intervals).")
    return paragraphs(lead) + "\n" + table_html(table, caption=f"Males and females, {profile.area_name}")


def region_html(profile: AreaProfile, region_areas: pd.DataFrame, shown: pd.DataFrame) -> str:
    """Which areas the comparison uses and what the charts show."""
    n = len(region_areas)
    kinds = _type_words(profile.area_type, plural=True)
    county = profile.area_type == "ltla" and str(profile.parent_code).upper().startswith("E10")
    place = (profile.parent_name or profile.parent_code) if county else _region_place(profile)
    if not profile.region_code or n <= 1:
        return paragraphs(f"{profile.area_name} has no other {kinds} in {place or 'its region'} in this store, so "
                          "there is no comparison with neighbouring areas.")
    texts = [f"{profile.area_name} is one of the {n} {kinds} in {place}; they are its neighbours here (the store "
             "holds no statistical nearest-neighbour groups)."]
    if len(shown):
        texts.append(f"The bar charts rank them on {_plural(len(shown), 'key indicator')} (95% confidence intervals "
                     "as whiskers, England as the line). The overview after them (the \u201ctartan rug\u201d) shows "
                     "every indicator for every area, each cell coloured and marked by its comparison with England.")
    else:
        texts.append("The overview (the \u201ctartan rug\u201d) shows every indicator for every area, each cell "
                     "coloured and marked by its comparison with England.")
    return paragraphs(*texts)


def compare_rows(keys: pd.DataFrame, comparisons: pd.DataFrame, limit: int = 3) -> pd.DataFrame:
    """Key indicators (one row per indicator) that the region's comparison rows hold, at most ``limit``."""
    if keys.empty or comparisons.empty:
        return keys.iloc[:0]
    # The key rows whose line (indicator, sex, age) the comparisons hold, as an inner merge on the
    # line keeps them (in their order), then the first of each indicator.
    wanted = keys["indicator_id"].astype("int64").to_numpy()
    ids = comparisons["indicator_id"].astype("int64").to_numpy()
    types = {"indicator_id": "int64", "sex": object, "age": object}
    near = np.flatnonzero(np.isin(ids, wanted))
    present = set(zip(ids[near].tolist(), *(_missing_as_none(comparisons[k].take(near).to_numpy(dtype=object))
                                            for k in ("sex", "age")), strict=True))
    lines = zip(wanted.tolist(), *(_missing_as_none(keys[k].to_numpy(dtype=object)) for k in ("sex", "age")),
                strict=True)
    firsts: dict[int, int] = {}
    for i, line in enumerate(lines):
        if line in present:
            firsts.setdefault(line[0], i)
    rows = keys.iloc[list(firsts.values())[:limit]]
    return rows.assign(**{k: rows[k].astype(v) for k, v in types.items()}).reset_index(drop=True)


def notes_html(profile: AreaProfile) -> str:
    """Data notes: demonstration warning, sources, what "similar" means, the profile's own notes."""
    items = list(profile.notes)
    items.insert(1 if profile.demonstration else 0,
                 "\u201cSimilar\u201d means the difference from England (or the region) is within what chance "
                 "could produce: the benchmark's value lies inside the area's 95% confidence interval (99.8% for "
                 "indicators compared at that level). \u201cBetter\u201d or \u201cWorse\u201d means the interval "
                 "lies wholly on one side; \u201cHigher\u201d or \u201cLower\u201d is used where neither direction "
                 "is better.")
    items.append("Recent trend: the Fingertips trend test over the last 5 values (chi-square test for trend, "
                 "p < 0.002); \u201cCannot be calculated\u201d for rolling multi-year periods, fewer than 5 values "
                 "or value types the test does not cover.")
    items.append("Areas of concern are indicators that are both significantly worse than England and getting worse.")
    return "<ul class=\"jsna-notes\">" + "".join(f"<li>{_esc(t)}</li>" for t in items) + "</ul>"


def definitions_html(profile: AreaProfile) -> str:
    """One row per indicator in the profile: domain, period, value type and unit, polarity,
    definition and source."""
    ind = profile.indicators
    if ind.empty:
        return ""
    ind = ind[[c for c in ("indicator_id", "period_sort", "period", "domain", "name", "unit", "value_type",
                           "polarity", "definition", "source") if c in ind.columns]]
    # The latest row of each indicator (by period_sort, missing last; the last of ties), then by
    # domain and name (stable, missing last), as positions taken once.
    sort = pd.to_numeric(ind["period_sort"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(sort)
    by_period = np.concatenate([np.flatnonzero(known)[np.argsort(sort[known], kind="stable")],
                                np.flatnonzero(~known)])
    ids = pd.Series(_missing_as_none(ind["indicator_id"].to_numpy(dtype=object)[by_period]), dtype=object)
    kept = by_period[~ids.duplicated(keep="last").to_numpy()]  # each id's last row, in that order

    def rank(name: str) -> np.ndarray:  # sorted place of each value, missing last
        codes, uniques = pd.factorize(ind[name].to_numpy()[kept], sort=True)
        return np.where(codes < 0, len(uniques), codes)

    rows = ind.iloc[kept[np.lexsort((rank("name"), rank("domain")))]]
    unit = rows["unit"].fillna("").astype(str)
    table = pd.DataFrame({
        "Indicator": rows["name"].fillna("").astype(str),
        "Domain": rows["domain"].fillna("").astype(str),
        "Latest period": rows["period"].astype(str),
        "Measure": [f"{vt}{' (' + u + ')' if u else ''}" for vt, u in zip(rows["value_type"].fillna(""), unit,
                                                                          strict=True)],
        "Polarity": rows["polarity"].fillna("").map(lambda p: _POLARITY_WORDS.get(str(p), str(p))),
        "Definition": rows["definition"].fillna("").astype(str),
        "Source": rows["source"].fillna("").astype(str)})
    return table_html(table, caption="Indicator definitions", css_class="jsna-table jsna-definitions")
