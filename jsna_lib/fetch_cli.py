"""``jsna fetch``: download a Fingertips profile into a data store, or list the profiles.

::

    jsna fetch --list-profiles
    jsna fetch --profile 19 --area-type utla --data-dir data/phof
    jsna fetch --profile "Public Health Outcomes Framework" --indicators 90362 92901 --data-dir data/phof
    jsna fetch --profile 19 --data-dir data/phof --offline          # from the cache only

The store it writes (``values`` through the Fingertips CSV reader, ``indicators`` with polarity,
value type, unit and comparator method from the profile's grouping and the indicator metadata)
is the one ``jsna import`` writes, so the batch and the notebooks read it unchanged. A second
fetch into the same store upserts: rows with the same key are replaced, other rows stay.

Wired into :mod:`jsna_lib.cli` with :func:`add_parser`; :func:`run` raises on failure (a
:class:`~jsna_lib.sources.fingertips_api.FingertipsAPIError` or ``ValueError`` with a one-line
message) and the ``jsna`` wrapper prints ``jsna fetch: error: <message>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .sources.base import IndicatorSource
from .sources.fingertips_api import (
    API_URL_ENV,
    AREA_TYPE_IDS,
    CANONICAL_AREA_TYPES,
    DEFAULT_API_URL,
    FingertipsClient,
    FingertipsLookupError,
    FingertipsNoDataError,
    FingertipsSource,
    RetryPolicy,
)

#: Canonical area types ``--area-type`` offers (local authorities: the report areas).
AREA_TYPE_CHOICES = ("utla", "ltla")
_INFO_KEY = "fingertips_fetches"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``fetch`` sub-command to ``jsna``'s sub-parsers; returns the new parser."""
    p = subparsers.add_parser(
        "fetch", help="download a Fingertips profile into a data store (or list the profiles)",
        description="Download a Fingertips profile's indicators for every local authority of one tier "
                    "(with England and the regions) into a data store. Answers are cached on disk and "
                    "re-used until the indicator's data is re-uploaded.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--profile", metavar="ID|NAME",
                      help="profile id (e.g. 19), URL key or exact name (see --list-profiles)")
    what.add_argument("--list-profiles", action="store_true", help="list the profiles (id, key, name) and stop")
    p.add_argument("--area-type", choices=AREA_TYPE_CHOICES, default="utla",
                   help="utla = counties & unitary authorities (Fingertips area type 502), ltla = districts & "
                        "unitary authorities (501); default utla")
    p.add_argument("--area-type-id", type=int, metavar="ID",
                   help="a Fingertips area type id instead of --area-type (e.g. 402 for the 2021-23 boundaries)")
    p.add_argument("--indicators", nargs="+", metavar="ID",
                   help="only these indicator ids of the profile (space or comma separated)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="the data store to write (created if needed)")
    p.add_argument("--api-url", metavar="URL",
                   help=f"API root (default: ${API_URL_ENV} or {DEFAULT_API_URL})")
    p.add_argument("--offline", action="store_true", help="use only the cache; fail if something is not there")
    p.add_argument("--refresh", action="store_true",
                   help="ask the API again for profiles and metadata now instead of re-using answers up to 12 h "
                        "old (data is downloaded again only where an indicator was re-uploaded)")
    p.add_argument("--ca-bundle", type=Path, metavar="PATH",
                   help="PEM file of CA certificates to trust (e.g. your organisation's HTTPS proxy); "
                        "REQUESTS_CA_BUNDLE also works. Certificate checks are never turned off")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="cache folder (default: ~/.cache/jsna-workbench/fingertips-api)")
    p.add_argument("--timeout", type=float, default=180.0, metavar="SECONDS",
                   help="longest wait for an answer to start or continue (default 180)")
    p.set_defaults(func=run)
    return p


def parse_indicator_ids(tokens: Sequence[str] | None) -> list[int] | None:
    """``["90362", "92901,93014"]`` → ``[90362, 92901, 93014]``; anything else is an error."""
    if not tokens:
        return None
    ids: list[int] = []
    bad: list[str] = []
    for token in tokens:
        for part in str(token).replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if part.isdigit() and int(part) > 0:
                ids.append(int(part))
            else:
                bad.append(part)
    if bad:
        raise ValueError(f"--indicators takes indicator ids (whole numbers); not: {', '.join(bad[:8])}")
    if not ids:
        raise ValueError("--indicators was given without any id")
    return list(dict.fromkeys(ids))


def make_client(args: argparse.Namespace) -> FingertipsClient:
    """The API client the options describe."""
    max_age = dt.timedelta(0) if getattr(args, "refresh", False) else dt.timedelta(hours=12)
    return FingertipsClient(args.api_url, cache_dir=args.cache_dir, offline=args.offline, ca_bundle=args.ca_bundle,
                            timeout=(10.0, float(args.timeout)), retry=RetryPolicy(), metadata_max_age=max_age)


@dataclass
class FetchSummary:
    """What :func:`fetch_to_store` did."""

    data_dir: Path
    profile_id: Any
    profile_name: str
    area_type: str
    indicators: int
    rows: int
    report: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        cache = ""
        if "requests" in self.provenance:
            cache = (f" ({self.provenance['requests']} data request(s), "
                     f"{self.provenance.get('from_cache', 0)} answered from the cache)")
        return [f"fetched {self.indicators} indicator(s), {self.rows:,} values of profile {self.profile_id} "
                f"{self.profile_name!r} for {self.area_type} into {self.data_dir}{cache}"]


def fetch_to_store(source: IndicatorSource, *, profile: int | str, area_type: str | int, data_dir: str | Path,
                   indicator_ids: Sequence[int] | None = None, progress: bool = False) -> FetchSummary:
    """Fetch a profile's indicators and values from ``source`` and upsert them into the store at ``data_dir``.

    Uses only the :class:`~jsna_lib.sources.base.IndicatorSource` protocol, so any source that
    implements it (Fingertips API today, FingertipsNext later) can fill a store. Nothing is
    written unless everything was fetched and validated.
    """
    from .store import Store, merge_values

    found = source.resolve_profile(profile)
    profile_id, profile_name = found["profile_id"], str(found["name"])
    indicators = source.indicators(profile_id, area_type=area_type, indicator_ids=indicator_ids)
    report = list(indicators.attrs.get("report", []))
    if indicators.empty:
        why = f": {report[0]}" + (f" (and {len(report) - 1} more)" if len(report) > 1 else "") if report else ""
        raise FingertipsNoDataError(f"profile {profile_id} ({profile_name}) has no indicator the workbench can "
                                    f"store at {area_type}{why}")
    result = source.values(indicators["indicator_id"].astype(int).tolist(), area_type=area_type,
                           profile_id=profile_id, progress=progress)
    values = result.values
    report.extend(result.report)
    have = set(values["indicator_id"].astype(int)) if len(values) else set()
    without = [int(i) for i in indicators["indicator_id"] if int(i) not in have]
    if without:
        report.append(f"no values for indicator(s) {', '.join(map(str, without))}: left out of the store")
    indicators = indicators[indicators["indicator_id"].astype(int).isin(have)].reset_index(drop=True)
    if values.empty or indicators.empty:
        raise FingertipsNoDataError(f"profile {profile_id} ({profile_name}) gave no values at {area_type}")

    store = Store(data_dir, create=True)
    synthetic = [n for n, e in store.manifest["tables"].items() if "synthetic" in str(e.get("source", ""))]
    if synthetic:
        raise ValueError(f"the store at {store.path} holds demonstration (synthetic) data ({', '.join(synthetic)}); "
                         "fetch real data into another folder")
    tables = {
        "values": merge_values(store.read("values"), values) if store.has("values") else values,
        "indicators": _upsert(store.read("indicators") if store.has("indicators") else None, indicators),
    }
    fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    provenance = {**result.provenance, "profile_id": profile_id, "profile_name": profile_name,
                  "area_type": str(area_type), "fetched_at": fetched_at}
    store.write_many(tables, source=f"{source.name}: profile {profile_id} {profile_name}", last_fetch=provenance)
    fetches = dict(store.manifest.get("info", {}).get(_INFO_KEY, {}))
    fetches[f"{profile_id}:{area_type}"] = {**provenance, "indicators": len(indicators), "rows": len(values),
                                            "report": report}
    store.set_info(**{_INFO_KEY: fetches})
    return FetchSummary(data_dir=store.path, profile_id=profile_id, profile_name=profile_name,
                        area_type=str(area_type), indicators=len(indicators), rows=len(values), report=report,
                        provenance=provenance)


def _upsert(existing: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Indicators by id: the fetched rows replace stored ones (polarity is the fetched profile's)."""
    if existing is None or existing.empty:
        return new.reset_index(drop=True)
    combined = pd.concat([existing, new], ignore_index=True)
    return combined.drop_duplicates("indicator_id", keep="last").sort_values("indicator_id").reset_index(drop=True)


def _area_type(args: argparse.Namespace) -> str | int:
    if args.area_type_id is None:
        return args.area_type
    if args.area_type_id not in CANONICAL_AREA_TYPES or CANONICAL_AREA_TYPES[args.area_type_id] not in ("utla", "ltla"):
        known = ", ".join(f"{i} ({t})" for i, t in CANONICAL_AREA_TYPES.items() if t in ("utla", "ltla"))
        raise FingertipsLookupError(f"--area-type-id {args.area_type_id} is not a local-authority area type the "
                                    f"workbench knows; use one of {known}")
    return args.area_type_id


def run(args: argparse.Namespace) -> int:
    """Run ``jsna fetch``; raises with a one-line message on failure."""
    client = make_client(args)
    source = FingertipsSource(client)
    if args.list_profiles:
        table = source.profiles()
        for row in table.itertuples(index=False):
            print(f"{row.profile_id:>5}  {row.key:<45}  {row.name}")
        print(f"{len(table)} profiles from {client.api_url}", file=sys.stderr)
        return 0
    if args.data_dir is None:
        raise ValueError("--profile needs --data-dir DIR (the data store to write)")
    ids = parse_indicator_ids(args.indicators)
    area_type = _area_type(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = fetch_to_store(source, profile=args.profile, area_type=area_type, data_dir=args.data_dir,
                                 indicator_ids=ids, progress=True)
    for w in caught:
        if str(getattr(w.category, "__module__", "")).startswith("jsna_lib"):  # ours, not library noise
            print(f"warning: {w.message}", file=sys.stderr)
    for line in summary.report:
        print(f"note: {line}", file=sys.stderr)
    for line in summary.lines():
        print(line)
    return 0


__all__ = ["AREA_TYPE_IDS", "FetchSummary", "add_parser", "fetch_to_store", "make_client", "parse_indicator_ids",
           "run"]
