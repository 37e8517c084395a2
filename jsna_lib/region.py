"""Everything the regional overview needs for one region, computed once, and its summary bullets.

``region_overview(store, "North West")`` (a name or an E12 code) returns a :class:`RegionOverview`:
the stored comparisons (:func:`jsna_lib.compare.compare_all`) of every authority of the region,
the latest value of each indicator per authority with its significance against England and its
rank *within the region*, and the region's own values against England. From it:

* :func:`significance_table`: per authority, how many indicators are significantly better,
  similar and worse than England, and which;
* :func:`indicator_table`: per indicator, how many of the region's authorities are
  significantly worse / similar / better than England, and the region's own value;
* :func:`rank_table`: indicators × authorities, the rank within the region (1 = best);
* :func:`region_summary`: plain-English bullets, from the ``latest`` frame alone (so they are
  tested word for word on a fixed input).

Ranks within the region use :func:`jsna_lib.compare.ranks` (1 = best for RAG polarity, lowest
value otherwise; ties share the lower rank) among the region's authorities in the latest period of
each indicator. The region's own significance against England is
:func:`jsna_lib.compare.compare_to_benchmark` on the region's row and England's value (the stored
comparisons hold authorities only). Nothing else is recomputed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import compare, geography

__all__ = ["RegionOverview", "indicator_table", "rank_table", "region_overview", "region_summary",
           "significance_table", "summary_html"]

TYPE_LABELS = {"utla": ("upper-tier authority", "upper-tier authorities"),
               "ltla": ("lower-tier authority", "lower-tier authorities")}
_LINE = ["indicator_id", "sex", "age"]


@dataclass
class RegionOverview:
    """One region's overview. ``latest`` has one row per authority × indicator line (the latest
    period of the line in the region): ``area_code``, ``area_name``, ``indicator_id``, ``name``,
    ``domain``, ``unit``, ``polarity``, ``value_type``, ``sex``, ``age``, ``period``, ``value``,
    ``lower_95``, ``upper_95``, ``count``, ``england_value``, ``region_value``, ``vs_england``,
    ``vs_region``, ``trend``, ``rank_in_england``, ``rank_count_in_england``, ``rank_in_region``,
    ``rank_count_in_region``. ``comparisons`` is the stored comparisons slice of the region's
    authorities (every period; benchmarks england and region), for the charts. ``region_values``
    has the region's own latest row per indicator line with ``vs_england``."""

    region_code: str
    region_name: str
    area_type: str
    areas: pd.DataFrame
    latest: pd.DataFrame
    comparisons: pd.DataFrame
    region_values: pd.DataFrame
    indicators: pd.DataFrame
    source: str = ""
    demonstration: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def area_codes(self) -> list[str]:
        return list(self.areas["area_code"])

    @property
    def names(self) -> dict[str, str]:
        """{code: name} of England, the region and its authorities (for chart labels)."""
        return {compare.ENGLAND: "England", self.region_code: self.region_name,
                **dict(zip(self.areas["area_code"], self.areas["area_name"], strict=True))}

    def summary(self) -> list[str]:
        """:func:`region_summary` of this overview."""
        return region_summary(self.latest, region_name=self.region_name, area_type=self.area_type,
                              region_values=self.region_values)


def _text(values: Any) -> pd.Series:
    series = pd.Series(values)
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def resolve_region(region: str) -> pd.Series:
    """The region's row in the reference geography, from a name or an E12 code.

    Raises :class:`jsna_lib.geography.UnknownAreaError` (a ``ValueError``, with close matches) for
    an unknown name or code, and a ``ValueError`` naming the area's region for an area that is not
    a region.
    """
    row = geography.area(str(region))
    if row["area_type"] != "region":
        if row["area_type"] == "england":
            raise ValueError(f"{row['area_code']} is England, not a region; give a region name or E12 code")
        home = geography.area(str(row["region_code"]))
        raise ValueError(f"{row['area_code']} ({row['area_name']}) is a {row['area_type']}, not a region; its "
                         f"region is {home['area_name']} ({home['area_code']})")
    return row


def region_overview(store: Any, region: str, *, area_type: str = "utla") -> RegionOverview:
    """Build the overview of ``region`` (a name or E12 code) for its ``area_type`` authorities
    (``utla`` or ``ltla``) from a store with a comparisons table (computed and saved once with
    :func:`jsna_lib.compare.compare_all` when it is missing or stale)."""
    if area_type not in TYPE_LABELS:
        raise ValueError(f"region_overview: area_type must be utla or ltla, not {area_type!r}")
    row = resolve_region(region)
    code, name = str(row["area_code"]), str(row["area_name"])
    if not compare.comparisons_current(store):
        compare.compare_all(store)
    members = geography.children(code, area_type)
    if store.has("areas"):
        stored = store.read("areas")
        names = dict(zip(_text(stored["area_code"]).str.upper(), _text(stored["area_name"]), strict=False))
    else:
        names = {}
    members = members.assign(area_name=members["area_code"].map(names).fillna(members["area_name"]).to_numpy())
    rows = store.read("comparisons", filters=[("area_type", "=", area_type),
                                              ("area_code", "in", list(members["area_code"])),
                                              ("benchmark", "in", ["england", "region"]),
                                              ("category_type", "=", "")])
    if rows.empty:
        raise ValueError(f"region_overview: the store at {store.path} has no comparisons for the {area_type}s of "
                         f"{name} ({code})")
    indicators = store.read("indicators") if store.has("indicators") else pd.DataFrame({"indicator_id": []})
    indicators = indicators.assign(indicator_id=pd.to_numeric(indicators["indicator_id"]).astype("int64"))
    latest = _latest(rows, members, indicators)
    region_values = _region_values(store, code, latest, indicators)
    entry = store.manifest.get("tables", {}).get("values", {})
    sources = [str(s) for s in entry.get("sources", [entry.get("source", "")]) if s]
    source = "; ".join(sources)
    demonstration = any("synthetic" in s.lower() or "demonstration" in s.lower() for s in sources)
    present = set(rows["area_code"].astype(str))
    areas = members[members["area_code"].isin(present)][["area_code", "area_name"]].reset_index(drop=True)
    notes = []
    if demonstration:
        notes.append("Demonstration data: these numbers are synthetic and describe no real place.")
    absent = members[~members["area_code"].isin(present)]
    if len(absent):
        notes.append(f"No data in the store for: {', '.join(absent['area_name'])}.")
    return RegionOverview(code, name, area_type, areas, latest, rows.reset_index(drop=True), region_values,
                          indicators, source, demonstration, notes)


def _latest(rows: pd.DataFrame, members: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per authority × indicator line at the line's latest period in the region."""
    frame = rows.assign(indicator_id=pd.to_numeric(rows["indicator_id"]).astype("int64"),
                        period_sort=pd.to_numeric(rows["period_sort"]).astype(float))
    for column in ("area_code", "sex", "age", "period", "benchmark", "significance", "trend", "polarity",
                   "value_type", "comparator_method"):
        frame[column] = _text(frame[column]).to_numpy()
    newest = frame.groupby(_LINE)["period_sort"].transform("max")
    frame = frame[frame["period_sort"] == newest]
    england = frame[frame["benchmark"] == "england"]
    region = frame[frame["benchmark"] == "region"][[*_LINE, "area_code", "benchmark_value", "significance"]]
    region = region.rename(columns={"benchmark_value": "region_value", "significance": "vs_region"})
    out = england.merge(region, on=[*_LINE, "area_code"], how="left")
    out = out.rename(columns={"significance": "vs_england", "rank": "rank_in_england",
                              "rank_count": "rank_count_in_england"})
    ranked = compare.ranks(out["value"], out["polarity"], groups=pd.factorize(
        pd.MultiIndex.from_frame(out[_LINE]))[0])
    out["rank_in_region"] = ranked["rank"].to_numpy()
    out["rank_count_in_region"] = ranked["rank_count"].to_numpy()
    meta = indicators.drop_duplicates("indicator_id").set_index("indicator_id")
    for column in ("name", "domain", "unit"):
        source = meta[column] if column in meta.columns else pd.Series(dtype=object)
        out[column] = _text(out["indicator_id"].map(source)).to_numpy()
    out["name"] = np.where(out["name"] == "", "Indicator " + out["indicator_id"].astype(str), out["name"])
    names = dict(zip(members["area_code"], members["area_name"], strict=True))
    out["area_name"] = out["area_code"].map(names).fillna(out["area_code"])
    columns = ["area_code", "area_name", "indicator_id", "name", "domain", "unit", "polarity", "value_type",
               "comparator_method", "sex", "age", "period", "period_sort", "value", "lower_95", "upper_95", "count",
               "england_value", "region_value", "vs_england", "vs_region", "trend", "rank_in_england",
               "rank_count_in_england", "rank_in_region", "rank_count_in_region"]
    order = {d: i for i, d in enumerate(dict.fromkeys(indicators["domain"] if "domain" in indicators else []))}
    out = out.assign(_d=out["domain"].map(order).fillna(len(order)))
    return out.sort_values(["_d", "indicator_id", "sex", "age", "area_name"], kind="stable")[columns].reset_index(
        drop=True)


def _region_values(store: Any, code: str, latest: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The region's own row per indicator line (at the lines' latest period) against England."""
    values = store.read("values", filters=[("area_code", "in", [code, compare.ENGLAND])])
    values = values[_text(values["category_type"]) == ""]
    values = values.assign(indicator_id=pd.to_numeric(values["indicator_id"]).astype("int64"),
                           **{c: _text(values[c]).to_numpy() for c in ("area_code", "sex", "age", "period")})
    lines = latest.drop_duplicates(_LINE)[[*_LINE, "period", "name", "unit", "polarity", "comparator_method"]]
    own = values[values["area_code"] == code].merge(lines, on=[*_LINE, "period"], how="inner")
    england = values[values["area_code"] == compare.ENGLAND][[*_LINE, "period", "value"]].rename(
        columns={"value": "england_value"})
    own = own.merge(england, on=[*_LINE, "period"], how="left")
    sig = compare.compare_to_benchmark(own["value"], own["lower_95"], own["upper_95"], own["lower_99_8"],
                                       own["upper_99_8"], own["england_value"],
                                       comparator_method=_text(own["comparator_method"]).to_numpy(),
                                       polarity=_text(own["polarity"]).to_numpy())
    own["vs_england"] = sig["significance"].to_numpy()
    own["vs_england_level"] = sig["significance_level"].to_numpy()
    return own[[*_LINE, "name", "unit", "period", "value", "lower_95", "upper_95", "count", "england_value",
                "vs_england", "vs_england_level"]].reset_index(drop=True)


# ================================================================================= tables
def _first_word(labels: pd.Series) -> pd.Series:
    return _text(labels).str.split(" ").str[0]


def _headline(latest: pd.DataFrame) -> pd.DataFrame:
    """Each indicator's Persons rows, or each sex where it has no Persons figure."""
    persons = latest["sex"] == "Persons"
    has_persons = latest["indicator_id"].isin(latest.loc[persons, "indicator_id"])
    return latest[persons | ~has_persons]


def _label(frame: pd.DataFrame) -> pd.Series:
    sex = _text(frame["sex"])
    suffix = np.where(sex == "Male", " (males)", np.where(sex == "Female", " (females)", ""))
    split = frame.groupby("indicator_id")["sex"].transform("nunique") > 1
    return _text(frame["name"]) + np.where(split, suffix, "")


def significance_table(overview: RegionOverview | pd.DataFrame) -> pd.DataFrame:
    """Per authority: counts of indicators significantly better, similar and worse than England
    (and higher/lower where neither is better, and not compared), with the names of the worse and
    better ones; authorities with the most "worse" first."""
    latest = _headline(overview.latest if isinstance(overview, RegionOverview) else overview)
    first = _first_word(latest["vs_england"])
    work = latest.assign(_label=_label(latest).to_numpy(), _first=first.to_numpy(),
                         _similar=(_text(latest["vs_england"]) == compare.SIMILAR).to_numpy())
    grouped = work.groupby(["area_code", "area_name"], sort=False)
    table = grouped.agg(indicators=("indicator_id", "size"),
                        worse=("_first", lambda s: int((s == "Worse").sum())),
                        similar=("_similar", "sum"),
                        better=("_first", lambda s: int((s == "Better").sum())),
                        higher_or_lower=("_first", lambda s: int(s.isin(["Higher", "Lower"]).sum()))).reset_index()
    table["not_compared"] = (table["indicators"] - table["worse"] - table["similar"] - table["better"]
                             - table["higher_or_lower"])
    for kind in ("Worse", "Better"):
        lists = work[work["_first"] == kind].groupby("area_code", sort=False)["_label"].agg("; ".join)
        table[f"{kind.lower()}_indicators"] = table["area_code"].map(lists).fillna("")
    table["similar"] = table["similar"].astype(int)
    return table.sort_values(["worse", "better", "area_name"], ascending=[False, True, True],
                             kind="stable").reset_index(drop=True)


def indicator_table(overview: RegionOverview) -> pd.DataFrame:
    """Per indicator line: the region's value and its significance against England, then how many
    of the region's authorities are significantly worse, similar and better than England."""
    latest = overview.latest
    first = _first_word(latest["vs_england"])
    work = latest.assign(_first=first.to_numpy(), _label=_label(latest).to_numpy(),
                         _similar=(_text(latest["vs_england"]) == compare.SIMILAR).to_numpy())
    grouped = work.groupby([*_LINE], sort=False)
    table = grouped.agg(indicator=("_label", "first"), domain=("domain", "first"), period=("period", "first"),
                        england_value=("england_value", "first"), authorities=("area_code", "size"),
                        worse=("_first", lambda s: int((s == "Worse").sum())), similar=("_similar", "sum"),
                        better=("_first", lambda s: int((s == "Better").sum()))).reset_index()
    region = overview.region_values[[*_LINE, "value", "vs_england"]].rename(
        columns={"value": "region_value", "vs_england": "region_vs_england"})
    table = table.merge(region, on=_LINE, how="left")
    table["similar"] = table["similar"].astype(int)
    return table[["domain", "indicator", "sex", "age", "period", "england_value", "region_value",
                  "region_vs_england", "authorities", "worse", "similar", "better"]]


def rank_table(overview: RegionOverview) -> pd.DataFrame:
    """Indicators (rows) × authorities (columns): rank within the region, "1/23" (1 = best; for
    indicators without a better direction, 1 = lowest)."""
    latest = _headline(overview.latest)
    ranks = pd.to_numeric(latest["rank_in_region"], errors="coerce")
    counts = pd.to_numeric(latest["rank_count_in_region"], errors="coerce")
    text = np.where(ranks.notna() & counts.notna(),
                    ranks.fillna(0).astype(int).astype(str) + "/" + counts.fillna(0).astype(int).astype(str), "\u2013")
    work = latest.assign(indicator=_label(latest).to_numpy(), rank=text)
    table = work.pivot_table(index="indicator", columns="area_name", values="rank", aggfunc="first", sort=False)
    table = table.reindex(index=list(dict.fromkeys(work["indicator"])),
                          columns=list(overview.areas["area_name"])).fillna("\u2013")
    table.columns.name = None
    return table


# ================================================================================= summary
def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _share(n: int, total: int) -> str:
    return f"{n} ({round(100 * n / total)}%)" if total else str(n)


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def region_summary(latest: pd.DataFrame, *, region_name: str, area_type: str = "utla",
                   region_values: pd.DataFrame | None = None, top: int = 3) -> list[str]:
    """Plain-English bullets summarising a region (deterministic: the same input gives the same
    words; ties are broken by name).

    ``latest`` is :attr:`RegionOverview.latest` (columns used: ``area_code``, ``area_name``,
    ``indicator_id``, ``name``, ``sex``, ``period``, ``period_sort``, ``value``, ``vs_england``,
    ``trend``, ``unit``); ``region_values`` (optional) the region's own rows with ``vs_england``.
    The counts use each indicator's Persons figure, or each sex where there is none.
    """
    singular, plural = TYPE_LABELS.get(area_type, ("authority", "authorities"))
    rows = _headline(latest)
    if rows.empty:
        return [f"{region_name}: no indicator values for its {plural} in this data store."]
    rows = rows.assign(_label=_label(rows).to_numpy(), _first=_first_word(rows["vs_england"]).to_numpy())
    n_areas = rows["area_code"].nunique()
    n_lines = rows[_LINE].drop_duplicates().shape[0]
    n_indicators = rows["indicator_id"].nunique()
    ordered = rows.sort_values("period_sort", kind="stable")
    first, last = str(ordered["period"].iloc[0]), str(ordered["period"].iloc[-1])
    span = f"{first} to {last}" if first != last else first
    figures = (f" ({n_lines} figures: males and females apart where there is no persons figure)"
               if n_lines != n_indicators else "")
    out = [f"{region_name}: {_plural(n_indicators, 'indicator')}{figures} for {_plural(n_areas, singular, plural)} "
           f"(latest data for each indicator, {span})."]

    total = len(rows)
    counts = compare.significance_counts(rows["vs_england"])
    worse, better, similar = counts["worse"], counts["better"], counts["similar"]
    neutral, other = counts["neutral"], counts["other"]
    text = (f"Of {total} comparisons of an authority's value with England's, {_share(worse, total)} are "
            f"significantly worse, {_share(similar, total)} similar and {_share(better, total)} significantly better")
    extras = []
    if neutral:
        extras.append(f"{neutral} significantly higher or lower where neither is better")
    if other:
        extras.append(f"{other} not compared (no polarity, quintile ranking or missing data)")
    out.append(text + ("; " + "; ".join(extras) if extras else "") + ".")

    counts = rows.groupby("area_name")["_first"].agg(
        worse=lambda s: int((s == "Worse").sum()), better=lambda s: int((s == "Better").sum())).reset_index()
    for kind, word in (("worse", "worse"), ("better", "better")):
        ranked = counts[counts[kind] > 0].sort_values([kind, "area_name"], ascending=[False, True], kind="stable")
        if ranked.empty:
            out.append(f"No {singular} is significantly {word} than England on any indicator.")
            continue
        shown = ranked.head(top)
        items = [f"{r.area_name} ({getattr(r, kind)} of {n_lines})" for r in shown.itertuples(index=False)]
        out.append(f"Most often significantly {word} than England: {_names(items)}.")

    per_indicator = rows.rename(columns={"_label": "label"}).groupby("label").agg(
        worse=("_first", lambda s: int((s == "Worse").sum())), compared=("_first", lambda s: int(
            s.isin(["Worse", "Better", "Similar", "Higher", "Lower"]).sum()))).reset_index()
    majority = per_indicator[(per_indicator["compared"] > 0) & (per_indicator["worse"] * 2 > per_indicator["compared"])]
    majority = majority.sort_values(["worse", "label"], ascending=[False, True], kind="stable")
    if majority.empty:
        out.append("On no indicator are most of the region's authorities significantly worse than England.")
    else:
        items = [f"{r.label} ({r.worse} of {r.compared})" for r in majority.head(5).itertuples(index=False)]
        more = f", and {len(majority) - 5} more" if len(majority) > 5 else ""
        out.append(f"Most of the region's authorities are significantly worse than England on "
                   f"{_plural(len(majority), 'indicator')}: {_names(items)}{more}.")

    if region_values is not None and len(region_values):
        region_rows = _headline(region_values.assign(area_code=region_name))
        first_word = _first_word(region_rows["vs_england"])
        region_rows = region_rows.assign(_label=_label(region_rows).to_numpy())
        r_worse = sorted(region_rows.loc[(first_word == "Worse").to_numpy(), "_label"])
        r_better = sorted(region_rows.loc[(first_word == "Better").to_numpy(), "_label"])
        text = (f"{region_name} as a whole is significantly worse than England on "
                f"{_plural(len(r_worse), 'indicator')} and significantly better on {len(r_better)}")
        out.append(text + (f"; worse: {_names(r_worse[:5])}{' and more' if len(r_worse) > 5 else ''}."
                           if r_worse else "."))

    trend = _text(rows["trend"])
    getting_worse = int(trend.str.endswith("getting worse").sum())
    getting_better = int(trend.str.endswith("getting better").sum())
    concern = rows[(rows["_first"] == "Worse").to_numpy() & trend.str.endswith("getting worse").to_numpy()]
    out.append(f"Recent trends: {getting_worse} authority-indicator series are getting significantly worse and "
               f"{getting_better} significantly better; {_plural(len(concern), 'series', 'series')} "
               f"{'is' if len(concern) == 1 else 'are'} both significantly worse than England and getting worse.")
    return out


def summary_html(bullets: Sequence[str]) -> str:
    """The bullets as an HTML list, every text escaped (area and indicator names come from data)."""
    items = "".join(f"<li>{html.escape(str(b), quote=True)}</li>" for b in bullets)
    return f'<ul class="jsna-region-summary">{items}</ul>'
