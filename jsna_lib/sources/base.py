"""The boundary between indicator sources and the rest of the workbench.

An *indicator source* is anything that can list profiles (named collections of indicators), the
domains (report sections) of a profile, the indicators of a profile with their metadata, the
areas of an area type, and the values of a set of indicators, and hand all of them back as
canonical frames (:mod:`jsna_lib.schema`). The Fingertips API client
(:class:`jsna_lib.sources.fingertips_api.FingertipsSource`) is one; a FingertipsNext source can
implement the same :class:`IndicatorSource` protocol later and ``jsna fetch`` (and everything
downstream of the store) works with it unchanged.

Rules every source keeps:

- area types are the canonical names (``england``, ``region``, ``utla``, ``ltla`` ...), never a
  source's display names; each source maps them to its own ids;
- ``indicators`` returns the canonical *indicators* table (polarity, value type, comparator
  method as :mod:`jsna_lib.schema` spells them), taken from the profile asked for: polarity can
  differ between profiles for the same indicator;
- ``values`` returns the canonical *values* table; rows the source could not place go in the
  report, never silently away;
- errors are raised as exceptions whose message is one line naming what was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd

from .. import schema

#: Columns of the frame :meth:`IndicatorSource.profiles` returns.
PROFILE_COLUMNS = ("profile_id", "name", "key")
#: Columns of the frame :meth:`IndicatorSource.domains` returns.
DOMAIN_COLUMNS = ("domain_id", "name", "sequence", "profile_id")


@dataclass
class SourceValues:
    """What :meth:`IndicatorSource.values` hands back.

    ``values`` is the canonical values table; ``report`` holds one plain-English line per thing
    the user should know (indicators with no data, rows left out, cache use); ``provenance``
    records where the numbers came from (source, address, download dates) for the store manifest.
    """

    values: pd.DataFrame
    report: list[str] = field(default_factory=list)
    provenance: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class IndicatorSource(Protocol):
    """A source of public-health indicators (Fingertips API today, FingertipsNext later)."""

    #: Short description for manifests and messages, e.g. "Fingertips API (https://...)".
    name: str

    def profiles(self) -> pd.DataFrame:
        """All profiles: one row each, columns :data:`PROFILE_COLUMNS` (more allowed)."""
        ...

    def resolve_profile(self, profile: int | str) -> pd.Series:
        """One row of :meth:`profiles`, found by id, key or exact name; raises when unknown or ambiguous."""
        ...

    def domains(self, profile_id: int | str) -> pd.DataFrame:
        """The domains (report sections) of a profile in display order: :data:`DOMAIN_COLUMNS`."""
        ...

    def indicators(self, profile_id: int | str, *, area_type: str,
                   indicator_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """The profile's indicators at ``area_type`` as the canonical *indicators* table.

        ``indicator_ids`` keeps only those (an id not in the profile is an error). Indicators the
        workbench cannot store (e.g. a value type outside :data:`jsna_lib.schema.VALUE_TYPES`) are
        left out and explained, one line each, in the frame's ``attrs["report"]``.
        """
        ...

    def areas(self, area_type: str, *, parent_code: str | None = None,
              profile_id: int | str | None = None) -> pd.DataFrame:
        """Areas of a canonical area type (optionally only the children of ``parent_code``): canonical *areas*."""
        ...

    def values(self, indicator_ids: Sequence[int], *, area_type: str, profile_id: int | str | None = None,
               progress: bool = False) -> SourceValues:
        """Values of the indicators for every area of ``area_type`` (with England and regions)."""
        ...


def check_canonical(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Validate a source's output against the canonical ``table`` (see :func:`jsna_lib.schema.validate`)."""
    return schema.validate(df, table)
