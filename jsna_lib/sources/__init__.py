"""Importers: files from Fingertips, ONS and a council's own data → the canonical tables.

* :func:`read_fingertips_csv`: a Fingertips "Download data" CSV (26/27 columns).
* :func:`read_tidy`: any tidy CSV/Excel file, driven by a column mapping (JSON or dict); worked
  mappings in ``jsna_lib/sources/mappings/``: ``ons_local_indicators`` (ONS Explore Local
  Statistics), ``fingertipsnext`` (FingertipsNext DataCreator extract), ``local_template``
  (``data/templates/local_indicators_template.csv``, for a council's own indicators).
* :func:`import_to_store`: read with either, then upsert into a :class:`~jsna_lib.store.Store`;
  everything is validated before anything is written, so a failed import writes nothing.

Each reader returns an :class:`ImportResult` whose ``report`` (:class:`ImportReport`) accounts
for every row: read, kept, duplicates dropped or reconciled, rows for areas outside the English
geography, old codes remapped, merged areas recomputed or kept under their old code, metadata
inferred or defaulted. Problems raise :class:`SourceError` (a ``ValueError``) naming the file, the
column and the rows as a spreadsheet shows them.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ._common import ImportReport, ImportResult, SourceError, SourceWarning
from .fingertips_csv import read_fingertips_csv
from .tidy import MAPPINGS_DIR, load_mapping, read_tidy

__all__ = [
    "MAPPINGS_DIR",
    "ImportReport",
    "ImportResult",
    "SourceError",
    "SourceWarning",
    "import_to_store",
    "load_mapping",
    "read_fingertips_csv",
    "read_tidy",
]

_INDICATOR_FIELDS = ("value_type", "polarity", "comparator_method", "unit", "multiplier", "name")


def _upsert_indicators(existing: pd.DataFrame, result: ImportResult) -> pd.DataFrame:
    """New indicator rows replace old ones by id, except fields the import only defaulted
    (e.g. polarity "Not applicable" for lack of metadata) where the store already knows better."""
    new = result.indicators.copy()
    if existing is None or existing.empty:
        return new
    old = existing.set_index("indicator_id")
    if result.defaulted is not None and len(result.defaulted):
        flags = result.defaulted.set_index("indicator_id").reindex(new["indicator_id"]).fillna(False)
        known = new["indicator_id"].isin(old.index).to_numpy()
        for field in _INDICATOR_FIELDS:  # a handful of columns, vectorised over indicators
            if field not in flags.columns or field not in old.columns:
                continue
            take = flags[field].to_numpy(dtype=bool) & known
            if take.any():
                new.loc[take, field] = old.loc[new.loc[take, "indicator_id"], field].to_numpy()
    combined = pd.concat([existing, new], ignore_index=True)
    return combined.drop_duplicates("indicator_id", keep="last").sort_values("indicator_id").reset_index(drop=True)


def import_to_store(path: str | os.PathLike[str], store: Any, *, format: str = "fingertips",
                    mapping: Any = None, keep_unknown_areas: bool = False, metadata: Any = None) -> ImportResult:
    """Read ``path`` and upsert its tables into ``store``; nothing is written if anything fails.

    Parameters
    ----------
    path : path
        The file to import.
    store : jsna_lib.store.Store
        The data store. ``values`` rows replace existing rows with the same key
        (:func:`jsna_lib.store.merge_values`); ``indicators`` are upserted by id (fields this
        import only defaulted keep the store's values); ``population`` rows are upserted by key.
    format : "fingertips" or "tidy"
        :func:`read_fingertips_csv` or :func:`read_tidy`.
    mapping : dict, path or name, optional
        The column mapping for ``format="tidy"`` (a JSON file, a dict, or the name of a bundled
        mapping such as ``"ons_local_indicators"``).
    keep_unknown_areas : bool
        Keep rows for areas outside the English geography.
    metadata : DataFrame, path or list, optional
        Indicator metadata (see :func:`read_fingertips_csv`).

    Returns
    -------
    ImportResult
        What was imported (the file's rows, not the whole store) and the report, which is also
        recorded in the store's manifest.
    """
    from ..store import merge_values

    if format == "fingertips":
        result = read_fingertips_csv(path, metadata=metadata, keep_unknown_areas=keep_unknown_areas)
    elif format == "tidy":
        if mapping is None:
            raise SourceError("format='tidy' needs a mapping (a JSON file, a dict, or a bundled name such as "
                              "'ons_local_indicators'; see jsna_lib/sources/mappings/)")
        result = read_tidy(path, mapping, metadata=metadata, keep_unknown_areas=keep_unknown_areas)
    else:
        raise SourceError(f"unknown import format {format!r}: use 'fingertips' or 'tidy'")

    tables: dict[str, pd.DataFrame] = {}
    existing_values = store.read("values") if store.has("values") else None
    tables["values"] = (merge_values(existing_values, result.values) if existing_values is not None
                        else result.values)
    existing_ind = store.read("indicators") if store.has("indicators") else None
    tables["indicators"] = _upsert_indicators(existing_ind, result)
    if result.population is not None and len(result.population):
        if store.has("population"):
            from ..schema import POPULATION

            tables["population"] = merge_values(store.read("population"), result.population, key=POPULATION.key)
        else:
            tables["population"] = result.population
    summary = {k: result.report.to_dict()[k] for k in
               ("rows_read", "rows_kept", "exact_duplicates_dropped", "conflicting_duplicates", "inequality_rows",
                "unknown_area_rows", "indicators")}
    store.write_many(tables, source=os.fspath(path), last_import=summary)
    return result
