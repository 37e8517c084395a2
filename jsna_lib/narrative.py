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
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from . import compare
from .profile import AreaProfile

__all__ = ["Bullet", "format_value", "headlines", "to_html", "to_text"]


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


def _label(row: pd.Series) -> str:
    sex = str(row.get("sex", "") or "")
    name = str(row.get("name", "") or f"Indicator {row.get('indicator_id')}")
    if sex in ("Male", "Female"):
        return f"{name} ({'males' if sex == 'Male' else 'females'})"
    return name


def _level(level: float) -> str:
    return "99.8%" if abs(float(level) - 99.8) < 1e-9 else "95%"


def _against(row: pd.Series, prefix: str, place: str) -> str:
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


def _value_in(row: pd.Series, unit: str | None = None) -> str:
    unit = str(row.get("unit", "") or "") if unit is None else unit
    return f"{format_value(row.get('value'), unit)} in {row.get('period')}"


def _order(frame: pd.DataFrame, level_column: str | None = None) -> pd.DataFrame:
    work = frame.assign(_level=frame[level_column].fillna(0) if level_column else 0,
                        _domain=frame["domain"].fillna("").astype(str), _name=frame["name"].fillna("").astype(str),
                        _sex=frame["sex"].fillna("").astype(str))
    work = work.sort_values(["_level", "_domain", "_name", "_sex"], ascending=[False, True, True, True],
                            kind="stable")
    return work.drop(columns=["_level", "_domain", "_name", "_sex"])


def _region_place(profile: AreaProfile) -> str:
    name = profile.region_name or profile.region_code
    if not name:
        return "the region"
    return name if name.lower().endswith("region") else f"the {name} region"


# ----------------------------------------------------------------------------- the bullets
def _summary(rows: pd.DataFrame, column: str, place: str, context: str = "") -> str:
    sig = rows[column].fillna(compare.NOT_COMPARED).astype(str)
    first = sig.str.split(" ").str[0]
    better, worse = int((first == "Better").sum()), int((first == "Worse").sum())
    similar = int((sig == compare.SIMILAR).sum())
    neutral = int(first.isin(["Higher", "Lower"]).sum())
    other = len(rows) - better - worse - similar - neutral
    text = (f"Compared with {place}{context}: of {_plural(len(rows), 'indicator')}, {better} {_are(better)} significantly "
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
    ordered = rows.dropna(subset=["period_sort"]).sort_values("period_sort", kind="stable")
    if ordered.empty:
        return ""
    first, last = str(ordered["period"].iloc[0]), str(ordered["period"].iloc[-1])
    return f" (latest data for each indicator, {first} to {last})" if first != last else f" (data for {first})"


def _trend_phrase(row: pd.Series) -> str:
    trend = str(row.get("trend", "") or "")
    return trend[0].lower() + trend[1:] if trend else ""


def _first_of_trend(profile: AreaProfile, row: pd.Series) -> pd.Series | None:
    """The oldest of the trend's points (the series' ``TREND_POINTS``-th latest point up to the row)."""
    ts = profile.time_series
    if ts.empty:
        return None
    series = ts[(ts["indicator_id"] == row["indicator_id"]) & (ts["sex"] == row["sex"]) & (ts["age"] == row["age"])
                & (ts["period_sort"] <= row["period_sort"])].sort_values("period_sort", kind="stable")
    if len(series) < compare.TREND_POINTS:
        return None
    return series.iloc[-compare.TREND_POINTS]


def headlines(profile: AreaProfile) -> list[Bullet]:
    """The headline bullets for ``profile`` (see the module docstring)."""
    rows = profile.headline()
    out: list[Bullet] = []
    if rows.empty:
        return [Bullet("summary", f"There are no indicator values for {profile.area_name} in this data store.")]
    region = _region_place(profile)
    out.append(Bullet("summary", _summary(rows, "vs_england", "England", _period_range(rows))))
    if profile.region_code and profile.region_code != profile.area_code:
        out.append(Bullet("summary", _summary(rows, "vs_region", region)))
    out.append(Bullet("meaning", "“Significantly” better or worse means the difference is unlikely to be "
                                 "chance: England's value lies outside the area's 95% confidence interval (99.8% "
                                 "where stated)."))

    first = rows["vs_england"].fillna("").astype(str).str.split(" ").str[0]
    worse = rows[first == "Worse"]
    getting_worse = worse["trend"].fillna("").str.endswith("getting worse")
    concern = _order(worse[getting_worse], "vs_england_level")
    # Life expectancy has its own bullets (with the gap to England), so it is not repeated here.
    other_worse = worse[~getting_worse & (worse["value_type"].fillna("") != "Life expectancy")]
    other_worse = _order(other_worse, "vs_england_level")
    if concern.empty:
        out.append(Bullet("concern", "No indicator is both significantly worse than England and getting worse."))
    else:
        out.append(Bullet("concern", f"Areas of concern: {_plural(len(concern), 'indicator')} "
                                     f"{_are(len(concern))} significantly worse than England and getting worse."))
        for _, row in concern.iterrows():
            out.append(Bullet("concern", f"{_label(row)}: {_value_in(row)}, {_against(row, 'england', 'England')}, "
                                         f"and {_trend_phrase(row)} over the last {compare.TREND_POINTS} periods."))
    for _, row in other_worse.iterrows():
        out.append(Bullet("worse", f"{_label(row)}: {_value_in(row)}, {_against(row, 'england', 'England')}."))

    improving = _order(rows[rows["trend"].fillna("").str.endswith("getting better")])
    if improving.empty:
        out.append(Bullet("improving", f"No indicator shows a significant improvement over its last "
                                       f"{compare.TREND_POINTS} periods."))
    for _, row in improving.iterrows():
        start = _first_of_trend(profile, row)
        unit = str(row.get("unit", "") or "")
        change = (f"from {_value_in(start, unit)} to {_value_in(row)}" if start is not None else _value_in(row))
        out.append(Bullet("improving", f"Improving: {_label(row)}, {_trend_phrase(row)} {change}."))

    out.extend(_life_expectancy(profile))
    return out


def _life_expectancy(profile: AreaProfile) -> list[Bullet]:
    ind = profile.indicators
    if ind.empty:
        return []
    le = ind[ind["value_type"].fillna("") == "Life expectancy"]
    out: list[Bullet] = []
    for _, row in le.sort_values(["indicator_id", "sex"], kind="stable").iterrows():
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
    for (_, period), group in le.groupby(["indicator_id", "period"], sort=True):
        by_sex = group.set_index("sex")
        if {"Male", "Female"} <= set(by_sex.index):
            female, male = by_sex.loc["Female"], by_sex.loc["Male"]
            if pd.notna(female["value"]) and pd.notna(male["value"]):
                unit = str(female.get("unit", "") or "")
                gap = float(female["value"]) - float(male["value"])
                who, other = ("Females", "males") if gap >= 0 else ("Males", "females")
                out.append(Bullet("life_expectancy",
                                  f"{female['name']}: {who.lower()} {format_value(max(female['value'], male['value']), unit)}"
                                  f" and {other} {format_value(min(female['value'], male['value']), unit)} in {period}, "
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
    ``headings``), every text HTML-escaped (``<``, ``>``, ``&``, quotes)."""
    parts: list[str] = []
    current = None
    for bullet in bullets:
        if bullet.kind != current:
            if current is not None:
                parts.append("</ul>")
            heading = _HEADINGS.get(bullet.kind, bullet.kind)
            if headings and heading and (current is None or _HEADINGS.get(current) != heading):
                parts.append(f"<h3>{html.escape(heading)}</h3>")
            parts.append(f'<ul class="jsna-headlines jsna-{html.escape(bullet.kind, quote=True)}">')
            current = bullet.kind
        parts.append(f"<li>{html.escape(bullet.text, quote=True)}</li>")
    if current is not None:
        parts.append("</ul>")
    return "\n".join(parts)
