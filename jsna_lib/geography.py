"""Areas of England and their hierarchy, old-to-new area code changes, user-defined groups.

The reference geography
-----------------------
:func:`areas` is the English statistical geography of April 2023 (in force into 2025): England
(E92000001, area type ``england``), the 9 regions (``region``, E12), the 153 upper-tier local
authorities (``utla``: counties E10 and the unitaries E06/E08/E09) and the 296 lower-tier local
authorities (``ltla``: districts E07 and the unitaries again). It comes from ``data/areas.csv``
(committed facts, built by ``data/build_areas.py`` from public ONS files; names are the ONS
names, e.g. "North East", "Bristol, City of").

"Current" means this 2023 geography. E08000016 Barnsley and E08000019 Sheffield were recoded to
E08000038 and E08000039 on 1 April 2025 after a boundary change between them; Fingertips data
and the 153/296 counts use the 2023 codes, so they stay current here (their ``valid_to`` is
2025-03-31) and the 2025 codes are accepted as recodes *back* to them: data published under
either code maps to one area.

Unitary authorities
-------------------
A unitary authority (E06/E08/E09) is both a UTLA and an LTLA with the same code. The table has
**one row per (area_code, area_type)**, so a unitary has two rows and the key of the table is
(area_code, area_type), not area_code alone. Parents: a region's parent is England, a UTLA's is
its region, an LTLA's is its UTLA (a unitary's LTLA row has itself as parent). ``areas("utla")``
has 153 rows, ``areas("ltla")`` 296, ``areas("region")`` 9. Single-code functions (:func:`area`,
:func:`parent`, :func:`lookup_codes`, ...) read a unitary code as its **UTLA** row unless
``area_type="ltla"`` is given.

Code changes
------------
:func:`code_changes` lists every change of an English local-authority code from 2012 to 2025,
one row per (old_code, new_code), with ``change``:

- ``recode``: one old code, one new code, the same area (e.g. E06000048 → E06000057
  Northumberland 2013; E10000002 Buckinghamshire county → E06000060 Buckinghamshire 2020,
  whose boundary is the county's; E08000016 → E08000038 Barnsley 2025);
- ``merger``: the old area is wholly inside the new one, which is the union of several old
  areas (e.g. E06000028 Bournemouth, E06000029 Poole and E07000048 Christchurch →
  E06000058 in 2019; the four Buckinghamshire districts → E06000060 in 2020);
- ``split``: the old area was divided between several new areas, none of which is the old area
  (E10000009 Dorset county 2019, E10000021 Northamptonshire 2021, E10000006 Cumbria 2023).

:func:`remap_codes` moves data published under old codes onto current codes where that is exact
(recodes, following chains in either direction) and reports mergers and splits, which it leaves
alone: summing merged areas is the importer's job (:func:`merger_groups`), and split areas have
no single successor.

Neighbours
----------
Geographic neighbours exist only in the shared test data, not in project facts, and statistical
(CIPFA-like) neighbours will come from the Fingertips API, so this module has no
``neighbours()`` yet.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import schema
from ._paths import project_data

__all__ = [
    "AREA_TYPES",
    "AreaCodeWarning",
    "UnknownAreaError",
    "area",
    "area_name",
    "area_type_of",
    "areas",
    "children",
    "code_changes",
    "group",
    "is_current",
    "lookup_codes",
    "merger_groups",
    "parent",
    "region_of",
    "remap_codes",
    "siblings",
]

#: The area types of the reference geography, from the top down.
AREA_TYPES = ("england", "region", "utla", "ltla")
CHANGES = ("recode", "merger", "split")
ENGLAND_CODE = "E92000001"

#: The areas table keyed by (area_code, area_type): a unitary is a UTLA row and an LTLA row.
AREAS_TABLE = dataclasses.replace(schema.AREAS, key=("area_code", "area_type"),
                                  allowed={"area_type": AREA_TYPES})
CODE_CHANGES_TABLE = dataclasses.replace(schema.CODE_CHANGES, allowed={"change": CHANGES})

_AREA_COLUMNS = list(schema.AREAS.columns)
_REPORT_COLUMNS = ["old_code", "old_name", "new_code", "new_name", "change", "rows"]
_SEVERITY = {"current": 0, "recode": 1, "merger": 2, "split": 3}
_MAX_SUGGESTIONS = 5
#: Suggestions scoring more than this below the best one are not shown.
_SUGGESTION_SPREAD = 0.1
_WORD_MATCH = 0.95


class UnknownAreaError(ValueError):
    """An area code or name that is not in the reference geography.

    The message names the bad code or name and suggests up to five close matches; ``query``
    holds what was asked for and ``suggestions`` the suggested area codes.
    """

    def __init__(self, message: str, query: object = None, suggestions: Iterable[str] = ()):
        super().__init__(message)
        self.query = query
        self.suggestions = list(suggestions)


class AreaCodeWarning(UserWarning):
    """Data used old area codes that were moved onto current codes."""


# ---------------------------------------------------------------------------------------------
# Loading (cached)


@functools.cache
def _areas_table() -> pd.DataFrame:
    raw = pd.read_csv(project_data("areas.csv"), dtype=str, keep_default_na=False)
    table = schema.validate(raw, AREAS_TABLE)
    order = table["area_type"].map({t: i for i, t in enumerate(AREA_TYPES)})
    return table.iloc[np.lexsort((table["area_code"].to_numpy(), order.to_numpy()))].reset_index(drop=True)


@functools.cache
def _changes_table() -> pd.DataFrame:
    raw = pd.read_csv(project_data("code_changes.csv"), dtype=str, keep_default_na=False)
    return schema.validate(raw, CODE_CHANGES_TABLE)


@functools.cache
def _preferred() -> pd.DataFrame:
    """One row per area code (a unitary's UTLA row), indexed by area_code."""
    return _areas_table().drop_duplicates("area_code", keep="first").set_index("area_code", drop=False)


def _clear_caches() -> None:
    """Forget the loaded tables (for tests that swap the data files)."""
    for cached in (_areas_table, _changes_table, _preferred, _index, _resolution):
        cached.cache_clear()


# ---------------------------------------------------------------------------------------------
# Names


def _normalise_name(name: str) -> str:
    """Case-, space-, punctuation- and "&"/"and"-insensitive form of an area name.

    A trailing " Region" or " UA" (as Fingertips writes some names) is dropped.
    """
    text = name.casefold().replace("&", " and ").replace("'", "").replace("\u2019", "")
    text = re.sub(r"[^0-9a-z]+", " ", text).strip()
    return re.sub(r"\s+(region|ua)$", "", text)


def _name_keys(name: str) -> set[str]:
    """The normalised name plus aliases: "Bristol, City of" is also "Bristol" and "City of Bristol"."""
    keys = {_normalise_name(name)}
    inverted = re.fullmatch(r"(.*),\s*((?:city|county) of)", name.strip(), flags=re.IGNORECASE)
    if inverted:
        keys |= {_normalise_name(inverted[1]), _normalise_name(f"{inverted[2]} {inverted[1]}")}
    return keys


@dataclass(frozen=True)
class _Index:
    types: dict[str, tuple[str, ...]]  # code -> its area types, utla before ltla
    rows: dict[tuple[str, str], int]  # (code, type) -> row position in _areas_table()
    names: dict[str, tuple[str, ...]]  # normalised name or alias -> codes
    names_by_code: dict[str, str]
    old_names: dict[str, str]  # normalised former name -> old code


@functools.cache
def _index() -> _Index:
    table = _areas_table()
    codes = table["area_code"].tolist()
    kinds = table["area_type"].tolist()
    types: dict[str, tuple[str, ...]] = {}
    for code, kind in zip(codes, kinds, strict=True):
        types[code] = (*types.get(code, ()), kind)
    rows = {(code, kind): i for i, (code, kind) in enumerate(zip(codes, kinds, strict=True))}
    names: dict[str, set[str]] = {}
    for code, name in zip(codes, table["area_name"].tolist(), strict=True):
        for key in _name_keys(name):
            names.setdefault(key, set()).add(code)
    changes = _changes_table()
    old_names = {_normalise_name(n): c for c, n in zip(changes["old_code"], changes["old_name"], strict=True)
                 if c not in types and n}
    return _Index(
        types=types,
        rows=rows,
        names={k: tuple(sorted(v)) for k, v in names.items()},
        names_by_code=dict(zip(codes, table["area_name"].tolist(), strict=False)),
        old_names={k: v for k, v in old_names.items() if k not in names},
    )


def _suggest(query: str) -> list[str]:
    """Up to five area codes whose code or name is closest to ``query``.

    difflib ratios over the codes and the normalised names; a name containing the query as whole
    words scores 0.95; matches more than 0.1 below the best are dropped.
    """
    idx = _index()
    scores: dict[str, float] = {}
    code_query = query.strip().upper()
    for code in difflib.get_close_matches(code_query, list(idx.types), n=_MAX_SUGGESTIONS, cutoff=0.6):
        scores[code] = difflib.SequenceMatcher(None, code_query, code).ratio()
    name_query = _normalise_name(query)
    name_scores = {key: difflib.SequenceMatcher(None, name_query, key).ratio() for key in
                   difflib.get_close_matches(name_query, list(idx.names), n=_MAX_SUGGESTIONS, cutoff=0.6)}
    if len(name_query) >= 3:
        # A whole-word part of a name ("Durham" for "County Durham") is a strong match.
        name_scores |= {key: _WORD_MATCH for key in idx.names if f" {name_query} " in f" {key} "}
    for key, ratio in name_scores.items():
        for code in idx.names[key]:
            scores[code] = max(scores.get(code, 0.0), ratio)
    if not scores:
        return []
    best = max(scores.values())
    ranked = sorted((code for code in scores if scores[code] >= best - _SUGGESTION_SPREAD),
                    key=lambda code: (-scores[code], code))
    return ranked[:_MAX_SUGGESTIONS]


def _describe(codes: Iterable[str]) -> str:
    names = _index().names_by_code
    return ", ".join(f"{code} ({names[code]})" if code in names else code for code in codes)


def _unknown(query: object) -> UnknownAreaError:
    suggestions = _suggest(str(query)) if isinstance(query, str) else []
    if suggestions:
        hint = f"did you mean {_describe(suggestions)}?"
    else:
        hint = "no close match among the codes and names of geography.areas()."
    return UnknownAreaError(f"unknown area {query!r}: {hint}", query=query, suggestions=suggestions)


# ---------------------------------------------------------------------------------------------
# Code changes: resolving old codes to current ones


@dataclass(frozen=True)
class _Resolved:
    change: str  # recode | merger | split
    new_codes: tuple[str, ...]
    date: str


def _resolve_changes(changes: pd.DataFrame, current: set[str]) -> dict[str, _Resolved]:
    """For every non-current code in ``changes``, how it reaches the current geography.

    Recodes join codes into groups of "the same area" (followed in both directions, so a code
    newer than the reference geography maps back to it); a group with one current code is a
    recode to it. Otherwise the group's mergers and splits are followed forward (recursively, so
    Taunton Deane → Somerset West and Taunton → Somerset is a merger into Somerset); any split on
    the way, or more than one final area, makes a split.
    """
    olds = changes["old_code"].tolist()
    news = changes["new_code"].tolist()
    kinds = changes["change"].tolist()
    dates = changes["date"].tolist()

    same_area: dict[str, set[str]] = {}
    forward: dict[str, list[tuple[str, str]]] = {}
    ended: dict[str, str] = {}  # when a code stopped being used
    started: dict[str, str] = {}  # when a code came into use
    for old, new, kind, date in zip(olds, news, kinds, dates, strict=True):
        ended[old] = min(ended.get(old, date), date)
        started[new] = min(started.get(new, date), date)
        if kind == "recode":
            group_ = same_area.get(old, {old}) | same_area.get(new, {new})
            for code in group_:
                same_area[code] = group_
        else:
            forward.setdefault(old, []).append((new, kind))

    def resolve(code: str, seen: frozenset[str]) -> tuple[str, tuple[str, ...]]:
        if code in current:
            return "current", (code,)
        members = same_area.get(code, {code})
        here = sorted(members & current)
        if len(here) == 1:
            return "recode", (here[0],)
        if here:
            return "split", tuple(here)
        severity, targets = 0, set()
        for member in members:
            for new, kind in forward.get(member, []):
                if new in seen or new in members:
                    continue
                step, finals = resolve(new, seen | members)
                if not finals:
                    continue
                severity = max(severity, _SEVERITY[kind], _SEVERITY[step])
                targets.update(finals)
        if not targets:
            return "unknown", ()
        change = "split" if severity == _SEVERITY["split"] or len(targets) > 1 else "merger"
        return change, tuple(sorted(targets))

    out = {}
    for code in dict.fromkeys([*olds, *news]):
        if code in current:
            continue
        change, targets = resolve(code, frozenset())
        if targets:
            out[code] = _Resolved(change, targets, ended.get(code) or started[code])
    return out


@functools.cache
def _resolution() -> pd.DataFrame:
    """Non-current codes of code_changes(): change, current new code(s) and names, indexed by code."""
    changes = _changes_table()
    resolved = _resolve_changes(changes, set(_areas_table()["area_code"]))
    known_names = {**dict(zip(changes["new_code"], changes["new_name"], strict=True)),
                   **dict(zip(changes["old_code"], changes["old_name"], strict=True)),
                   **_index().names_by_code}
    frame = pd.DataFrame(
        {
            "old_code": list(resolved),
            "old_name": [known_names.get(code, "") for code in resolved],
            "new_code": ["; ".join(r.new_codes) for r in resolved.values()],
            "new_name": ["; ".join(known_names.get(c, "") for c in r.new_codes) for r in resolved.values()],
            "change": [r.change for r in resolved.values()],
            "date": [r.date for r in resolved.values()],
        },
        dtype="string",
    )
    return frame.set_index("old_code", drop=False).rename_axis(None)


def _explain_old_code(code: str) -> str | None:
    """Why an old code is not current, or None when it is not a known old code."""
    res = _resolution()
    if code not in res.index:
        return None
    row = res.loc[code]
    new_codes = str(row["new_code"]).split("; ")
    if row["change"] == "merger":
        return (f"{code} ({row['old_name']}) is no longer a current area: it was merged into "
                f"{_describe(new_codes)} ({row['date']}); use {new_codes[0]}")
    return (f"{code} ({row['old_name']}) is no longer a current area: it was split ({row['date']}) "
            f"between {_describe(new_codes)}, so it has no single successor")


# ---------------------------------------------------------------------------------------------
# Tables


def _check_area_type(area_type: str | None) -> None:
    if area_type is not None and area_type not in AREA_TYPES:
        raise ValueError(f"unknown area_type {area_type!r}; use one of {', '.join(AREA_TYPES)}")


def areas(area_type: str | None = None) -> pd.DataFrame:
    """The canonical ``areas`` table of the reference (April 2023) geography, validated and cached.

    Columns: ``area_code, area_name, area_type, parent_code, region_code, valid_from, valid_to``
    (strings; empty where not applicable). ``area_type`` is ``england``, ``region``, ``utla`` or
    ``ltla``; give one to get only those rows (1, 9, 153 and 296 rows). A unitary authority has a
    ``utla`` and an ``ltla`` row with the same code, so the key is (area_code, area_type). Rows are
    ordered England, regions, UTLAs, LTLAs, then by code. Returns a copy.
    """
    _check_area_type(area_type)
    table = _areas_table()
    if area_type is not None:
        table = table[table["area_type"] == area_type].reset_index(drop=True)
    return table.copy()


def code_changes() -> pd.DataFrame:
    """The canonical ``code_changes`` table: English local-authority code changes 2012-2025.

    Columns ``old_code, old_name, new_code, new_name, change, date``; one row per (old, new)
    pair; ``change`` is ``recode`` (same area, new code), ``merger`` (old area wholly inside the
    new one, which joined several old areas) or ``split`` (old area divided: one row per
    successor). ``date`` is the day the new code came into use (ISO, 1 April). Returns a copy.
    """
    return _changes_table().copy()


def merger_groups() -> pd.DataFrame:
    """Old codes that were merged into a current area: ``old_code, old_name, new_code, new_name, date``.

    Chains are followed to the current area (Taunton Deane → Somerset West and Taunton (2019) →
    Somerset (2023) gives E07000190 → E06000066), so an importer can sum counts per
    (new_code, period). ``date`` is when the old code stopped being used: the old codes valid in
    one period are those whose date is later than the period. Counts sum exactly only when all
    the old areas of a new one are present for the period: from county/UA data, E06000058
    Bournemouth, Christchurch and Poole is not complete, as Christchurch was a district of
    Dorset county (a split). Rows are sorted by new_code, old_code.
    """
    res = _resolution()
    merged = res[res["change"] == "merger"]
    return (merged[["old_code", "old_name", "new_code", "new_name", "date"]]
            .sort_values(["new_code", "old_code"]).reset_index(drop=True))


# ---------------------------------------------------------------------------------------------
# Single areas


def _row(code: str, area_type: str) -> pd.Series:
    row = _areas_table().iloc[_index().rows[(code, area_type)]].copy()
    row.name = code
    return row


def area(code_or_name: str, area_type: str | None = None) -> pd.Series:
    """One row of :func:`areas` for an area code or name.

    Codes are matched case-insensitively; names ignore case, spacing, punctuation, "&" versus
    "and" and a trailing "Region"/"UA" ("birmingham", "Brighton & Hove", "North East Region",
    "Bristol" for "Bristol, City of"). A unitary's code or name gives its ``utla`` row unless
    ``area_type="ltla"`` is asked for. An old code that was recoded gives the current area, with
    an :class:`AreaCodeWarning`.

    Raises :class:`UnknownAreaError` (a ``ValueError``) for an unknown code or name, suggesting
    up to five close matches; for a merged or split old code it says what became of it.
    """
    _check_area_type(area_type)
    if not isinstance(code_or_name, str) or not code_or_name.strip():
        raise UnknownAreaError(f"unknown area {code_or_name!r}: give an area code or name", query=code_or_name)
    idx = _index()
    query = code_or_name.strip()
    code = query.upper()
    if code not in idx.types:
        by_name = idx.names.get(_normalise_name(query), ())
        if area_type is not None and len(by_name) > 1:
            by_name = tuple(c for c in by_name if area_type in idx.types[c]) or by_name
        if len(by_name) > 1:
            raise UnknownAreaError(f"area name {query!r} is ambiguous: {_describe(by_name)}; use a code",
                                   query=query, suggestions=by_name)
        if by_name:
            code = by_name[0]
    if code in idx.types:
        types = idx.types[code]
        if area_type is None:
            return _row(code, types[0])
        if area_type in types:
            return _row(code, area_type)
        raise UnknownAreaError(
            f"{code} ({idx.names_by_code[code]}) has area type {' and '.join(types)}, not {area_type}",
            query=query, suggestions=[code])
    old = code if code in _resolution().index else idx.old_names.get(_normalise_name(query))
    if old is not None:
        resolved = _resolution().loc[old]
        if resolved["change"] == "recode":
            new = str(resolved["new_code"])
            warnings.warn(f"{old} ({resolved['old_name']}) is an old code of {_describe([new])}; using {new}",
                          AreaCodeWarning, stacklevel=2)
            return area(new, area_type)
        raise UnknownAreaError(_explain_old_code(old) or "", query=query,
                               suggestions=str(resolved["new_code"]).split("; "))
    raise _unknown(query)


def area_name(code: str) -> str:
    """The name of an area code (ONS spelling, e.g. "Bristol, City of"); see :func:`area`."""
    return str(area(code)["area_name"])


def parent(code: str) -> str | None:
    """The parent area code: region → England, UTLA → region, LTLA → UTLA; None for England.

    A unitary code is read as its UTLA, so its parent is its region.
    """
    value = area(code)["parent_code"]
    return str(value) if value else None


def region_of(code: str) -> str:
    """The region code (E12) of an area; a region gives itself.

    Raises ``ValueError`` for England, which is not in a region.
    """
    row = area(code)
    if row["area_type"] == "england":
        raise ValueError(f"{row['area_code']} (England) is not in a region")
    return str(row["region_code"])


def children(code: str, area_type: str | None = None) -> pd.DataFrame:
    """The areas directly below ``code``, as :func:`areas` rows.

    England → its 9 regions; a region → its UTLAs; a UTLA → its LTLAs (a unitary → itself as an
    LTLA). Give ``area_type`` for deeper levels: ``children(region, "ltla")`` is the region's
    LTLAs, ``children("E92000001", "utla")`` all 153 UTLAs. An LTLA has no children here.
    """
    _check_area_type(area_type)
    row = area(code)
    kind, own = str(row["area_type"]), str(row["area_code"])
    level = AREA_TYPES.index(kind)
    if area_type is None:
        if level + 1 == len(AREA_TYPES):
            return _areas_table().iloc[:0].copy()
        area_type = AREA_TYPES[level + 1]
    if AREA_TYPES.index(area_type) <= level:
        raise ValueError(f"{own} is a {kind}; its children can be of type "
                         f"{', '.join(AREA_TYPES[level + 1:]) or '(none)'}, not {area_type}")
    table = _areas_table()
    mask = table["area_type"] == area_type
    if kind == "region":
        mask &= table["region_code"] == own
    elif kind == "utla":
        mask &= table["parent_code"] == own
    return table[mask].reset_index(drop=True)


def siblings(code: str, area_type: str | None = None) -> pd.DataFrame:
    """The other areas of the same type in the same region (for a region: the other regions).

    A unitary is read as a UTLA unless ``area_type="ltla"``. England has no siblings (empty frame).
    """
    row = area(code, area_type)
    table = _areas_table()
    kind, own = row["area_type"], row["area_code"]
    mask = (table["area_type"] == kind) & (table["area_code"] != own)
    if kind in ("utla", "ltla"):
        mask &= table["region_code"] == row["region_code"]
    return table[mask].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Vectorised lookups over many codes


def _as_series(codes: Iterable[str]) -> pd.Series:
    return codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype=object)


def _clean(codes: pd.Series) -> pd.Series:
    text = codes.astype("string")
    return text.str.strip().str.upper() if len(text) else text


def lookup_codes(codes: Iterable[str]) -> pd.DataFrame:
    """Area type, name, parent and region of each code, aligned with the input.

    Returns columns ``area_code`` (as given), ``area_name``, ``area_type``, ``parent_code``,
    ``region_code``, with the input's index; codes outside the reference geography (old,
    misspelt, other nations) get missing values (use :func:`area_type_of` to classify them, and
    :func:`remap_codes` for old codes). A unitary code gets its UTLA row.
    """
    series = _as_series(codes)
    found = _preferred().reindex(_clean(series).to_numpy())
    out = pd.DataFrame({"area_code": series.to_numpy()}, index=series.index)
    for column in ("area_name", "area_type", "parent_code", "region_code"):
        out[column] = found[column].to_numpy()
        out[column] = out[column].astype("string")
    return out


def is_current(codes: Iterable[str]) -> pd.Series:
    """Whether each code is in the reference geography (:func:`areas`), as a bool Series.

    Barnsley E08000016 and Sheffield E08000019 are current (2023 codes); their 2025 codes
    E08000038/E08000039 are not (they are recodes, see :func:`remap_codes`).
    """
    series = _as_series(codes)
    current = _clean(series).isin(_preferred().index).fillna(False)
    return pd.Series(current.to_numpy(dtype=bool), index=series.index, name="is_current")


_TYPE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("england", ("E92",)),
    ("region", ("E12",)),
    ("utla", ("E10", "E06", "E08", "E09")),
    ("ltla", ("E07",)),
    ("msoa", ("E02",)),
    ("lsoa", ("E01",)),
    ("sub_icb", ("E38",)),
    ("icb", ("E54",)),
    ("nhs_region", ("E40",)),
)


def area_type_of(codes: Iterable[str]) -> pd.Series:
    """Classify any codes by their form, without looking them up (old codes are classified too).

    Nine-character GSS codes: E92 ``england``, E12 ``region``, E10/E06/E08/E09 ``utla`` (a
    unitary is also an LTLA), E07 ``ltla``, E02 ``msoa``, E01 ``lsoa``, E38 ``sub_icb``, E54
    ``icb``, E40 ``nhs_region``, any W/S/N code ``other_nation``. NHS codes: ``U`` and five
    digits ``pcn`` (primary care network), a letter and five digits ``gp`` (GP practice, e.g.
    A82001). Anything else (including other E codes such as E47 combined authorities) is
    ``unknown``. Returns a string Series with the input's index.
    """
    series = _as_series(codes)
    text = _clean(series)
    gss = text.str.fullmatch(r"[EWSN]\d{8}").fillna(False).to_numpy(dtype=bool)
    prefix = text.str.slice(0, 3)
    conditions = [gss & prefix.isin(prefixes).fillna(False).to_numpy(dtype=bool) for _, prefixes in _TYPE_RULES]
    choices = [kind for kind, _ in _TYPE_RULES]
    conditions.append(gss & text.str.slice(0, 1).isin(["W", "S", "N"]).fillna(False).to_numpy(dtype=bool))
    choices.append("other_nation")
    conditions.append(text.str.fullmatch(r"U\d{5}").fillna(False).to_numpy(dtype=bool))
    choices.append("pcn")
    conditions.append(text.str.fullmatch(r"[A-Z]\d{5}").fillna(False).to_numpy(dtype=bool))
    choices.append("gp")
    kinds = np.select(conditions, choices, default="unknown")
    return pd.Series(kinds, index=series.index, name="area_type", dtype="string")


def remap_codes(df: pd.DataFrame, code_column: str = "area_code") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move rows published under old area codes onto current codes, where that is exact.

    Returns ``(remapped, report)``. In ``remapped`` (a copy of ``df``) each code in
    ``code_column`` that is a **recode** of a current area is replaced by the current code;
    chains are followed, in either direction (E06000048 → E06000057 Northumberland; the 2025
    code E08000038 → E08000016 Barnsley, the current 2023 code). Codes of areas that were
    **merged** into a current area are not remapped (the counts must be summed: the importer's
    job, with :func:`merger_groups`), nor are codes of areas that were **split** (no single
    successor); both are left as published. Current, unknown and non-English codes are left
    alone and not reported.

    ``report`` has one row per old code found: ``old_code, old_name, new_code, new_name, change,
    rows`` (``change`` recode/merger/split; for a split ``new_code`` lists the successors joined
    by "; "; ``rows`` is how many rows of ``df`` had the code), sorted by change then old_code.

    When any code was remapped, one :class:`AreaCodeWarning` lists the remappings (old → new,
    with names) and names the merged or split codes left as published.
    """
    if code_column not in df.columns:
        raise ValueError(f"remap_codes: column {code_column!r} not found; the columns are "
                         f"{', '.join(map(repr, df.columns))}")
    codes = df[code_column]
    if isinstance(codes.dtype, pd.CategoricalDtype):
        codes = codes.astype("string")
    res = _resolution()
    counts = codes.value_counts(dropna=True)
    counts = counts[counts.index.isin(res.index)]
    report = res.loc[counts.index.astype(str), ["old_code", "old_name", "new_code", "new_name", "change"]].copy()
    report["rows"] = counts.to_numpy().astype("int64")
    report = (report.assign(_order=report["change"].map({c: i for i, c in enumerate(CHANGES)}))
              .sort_values(["_order", "old_code"])[_REPORT_COLUMNS].reset_index(drop=True))

    recodes = res.loc[res["change"] == "recode", "new_code"]
    new_codes = codes.map(recodes.to_dict())
    out = df.copy()
    result = codes.where(new_codes.isna(), new_codes)
    out[code_column] = pd.Series(result.to_numpy(), index=out.index, dtype=result.dtype)  # positional
    remapped = report[report["change"] == "recode"]
    if len(remapped):
        lines = [f"{r.old_code} ({r.old_name}) → {r.new_code} ({r.new_name}): {r.rows} row(s)"
                 for r in remapped.itertuples(index=False)]
        message = f"remapped {len(remapped)} old area code(s) to current codes: " + "; ".join(lines)
        left = report[report["change"] != "recode"]
        if len(left):
            message += (". Left as published (merged: sum with merger_groups(); split: no single successor): "
                        + "; ".join(f"{r.old_code} ({r.old_name}, {r.change} into {r.new_code})"
                                    for r in left.itertuples(index=False)))
        warnings.warn(message, AreaCodeWarning, stacklevel=2)
    return out, report


# ---------------------------------------------------------------------------------------------
# User-defined groups


def group(name: str, codes: Iterable[str]) -> pd.DataFrame:
    """A user-defined group of areas (e.g. an ICB footprint or a set of comparators).

    Every code must be in the reference geography: otherwise :class:`UnknownAreaError` lists all
    the bad codes, with suggestions. Returns the members' :func:`areas` rows (a unitary as its
    UTLA row) in the order given, duplicates dropped, with a ``group`` column holding ``name``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("group: give the group a non-empty name")
    series = _as_series(codes)
    if series.empty:
        raise ValueError(f"group {name!r}: give at least one area code")
    clean = _clean(series)
    bad = ~is_current(series).to_numpy()
    if bad.any():
        details = []
        for code in pd.unique(series[bad].astype(str)):
            explained = _explain_old_code(code.strip().upper())
            if explained:
                details.append(explained)
            else:
                details.append(str(_unknown(code)).removeprefix("unknown area "))
        raise UnknownAreaError(f"group {name!r} has {len(details)} unknown area code(s): " + "; ".join(details),
                               query=list(pd.unique(series[bad].astype(str))))
    members = _preferred().loc[pd.unique(clean.to_numpy())].reset_index(drop=True)
    members = members[_AREA_COLUMNS].copy()
    members["group"] = pd.Series(name.strip(), index=members.index, dtype="string")
    return members
