"""The local data store: a folder of parquet tables plus ``manifest.json``.

Layout::

    DIR/
      manifest.json          {"format": 1, "tables": {name: {rows, sha256, source, imported_at, file}}, ...}
      values.parquet
      indicators.parquet
      areas.parquet
      population.parquet
      ...

Writes are atomic: each table is written to a temporary file in the same folder, flushed to disk
and moved into place with ``os.replace``; the manifest is replaced last, so a crash never leaves a
half-written table and the manifest only ever describes complete files. Tables are validated
against :mod:`jsna_lib.schema` before anything is written, so bad input writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from ._atomic import write_bytes_atomic, write_text_atomic

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class StoreError(ValueError):
    """A store that cannot be read or written (missing folder, missing table, corrupt manifest)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    write_text_atomic(path, text)


class Store:
    """A data store folder. Holds only its path and the manifest read from disk."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            if not create:
                raise StoreError(
                    f"no data store at {self.path}: build one with `jsna demo --data-dir {self.path}` "
                    f"or `jsna import FILE --data-dir {self.path}`"
                )
            self.path.mkdir(parents=True, exist_ok=True)
        self.manifest = self._read_manifest()

    # ------------------------------------------------------------------ manifest
    def _read_manifest(self) -> dict[str, Any]:
        path = self.path / MANIFEST
        if not path.exists():
            return {"format": FORMAT_VERSION, "tables": {}}
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise StoreError(f"{path} is not valid JSON ({exc}); rebuild the store") from exc
        manifest.setdefault("tables", {})
        return manifest

    @property
    def tables(self) -> list[str]:
        """Names of the tables the manifest lists."""
        return sorted(self.manifest["tables"])

    def has(self, table: str) -> bool:
        return table in self.manifest["tables"]

    def checksum(self) -> str:
        """One SHA-256 over every table's checksum: changes whenever any table changes."""
        parts = sorted((n, t["sha256"]) for n, t in self.manifest["tables"].items())
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    # ------------------------------------------------------------------ reading
    def read(self, table: str, *, columns: list[str] | None = None,
             filters: list[tuple[str, str, Any]] | None = None) -> pd.DataFrame:
        """Read a table (optionally only ``columns`` and rows matching pyarrow ``filters``)."""
        if table not in self.manifest["tables"]:
            raise StoreError(
                f"the store at {self.path} has no table {table!r} (it has: {', '.join(self.tables) or 'none'})"
            )
        path = self.path / self.manifest["tables"][table]["file"]
        if not path.exists():
            raise StoreError(f"{path} is listed in the manifest but missing; rebuild the store")
        cached = _MEMORY.get((str(self.path.resolve()), table, self.manifest["tables"][table].get("sha256", "")))
        if cached is not None:
            return cached.read(columns=columns, filters=filters)
        arrow = pq.read_table(path, columns=columns, filters=filters)
        return arrow.to_pandas(types_mapper=_types_mapper)

    # ------------------------------------------------------------------ writing
    def write(self, table: str, df: pd.DataFrame, *, source: str, validate: bool = True,
              row_group_size: int | None = None, **meta: Any) -> None:
        """Validate and write one table atomically (see :meth:`write_many`)."""
        self.write_many({table: df}, source=source, validate=validate, row_group_size=row_group_size, **meta)

    def write_many(self, tables: Mapping[str, pd.DataFrame], *, source: str, validate: bool = True,
                   row_group_size: int | None = None, **meta: Any) -> None:
        """Validate every table first, then write each atomically, then the manifest.

        Nothing is written if any table fails validation. ``source`` (e.g. ``"demonstration
        (synthetic)"`` or a file name) and ``meta`` are recorded per table in the manifest.
        ``row_group_size`` (rows per parquet row group) makes filtered reads of a table sorted by
        the filter column skip the row groups they do not need (e.g. one area's comparisons).
        """
        value_types = None
        if "indicators" in tables:
            ind = tables["indicators"]
            value_types = pd.Series(ind["value_type"].to_numpy(), index=pd.to_numeric(ind["indicator_id"]))
        elif self.has("indicators"):
            ind = self.read("indicators", columns=["indicator_id", "value_type"])
            value_types = pd.Series(ind["value_type"].to_numpy(), index=ind["indicator_id"].astype("int64"))
        checked = {
            name: (schema.validate(df, name, value_types=value_types) if validate and name in schema.TABLES
                   else df)
            for name, df in tables.items()
        }
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        entries = {}
        for name, df in checked.items():
            file = f"{name}.parquet"
            path = self.path / file
            arrow = pa.Table.from_pandas(df, preserve_index=False)
            sink = pa.BufferOutputStream()
            pq.write_table(arrow, sink, compression="zstd", row_group_size=row_group_size)
            write_bytes_atomic(path, sink.getvalue().to_pybytes())
            previous = self.manifest["tables"].get(name, {})
            history = [*previous.get("history", []), {"source": source, "written_at": now, "rows": len(df)}]
            entries[name] = {"file": file, "rows": len(df), "sha256": _sha256(path), "source": source,
                             "sources": sorted({*previous.get("sources", []), source}),
                             "written_at": now, "history": history[-50:], **meta}
        self.manifest["format"] = FORMAT_VERSION
        self.manifest["tables"].update(entries)
        atomic_write_text(self.path / MANIFEST, json.dumps(self.manifest, indent=2, sort_keys=True))

    def set_info(self, **info: Any) -> None:
        """Record store-level facts (e.g. the importer's report) in the manifest."""
        self.manifest.setdefault("info", {}).update(info)
        atomic_write_text(self.path / MANIFEST, json.dumps(self.manifest, indent=2, sort_keys=True))

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, Any]:
        """Counts a person wants first: tables and rows, indicators, areas by type, periods."""
        out: dict[str, Any] = {"path": str(self.path), "checksum": self.checksum()[:12], "tables": {}}
        for name, entry in sorted(self.manifest["tables"].items()):
            out["tables"][name] = {"rows": entry["rows"],
                                   "source": "; ".join(entry.get("sources", [entry.get("source", "")])),
                                   "written_at": entry.get("written_at", "")}
        if self.has("values"):
            values = self.read("values", columns=["indicator_id", "area_code", "area_type", "period"])
            out["indicators"] = int(values["indicator_id"].nunique())
            out["areas_by_type"] = {str(k): int(v) for k, v in
                                    values.groupby("area_type", observed=True)["area_code"].nunique().items()}
            out["periods"] = int(values["period"].nunique())
        return out


# ====================================================================== in-memory tables
class _MemoryTable:
    """A whole table held in memory, with row positions by value for the columns filtered on."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._positions: dict[str, dict[Any, Any]] = {}

    def positions(self, column: str) -> dict[Any, Any]:
        """``{value: row positions}`` of ``column`` (built on first use; missing values left out)."""
        found = self._positions.get(column)
        if found is None:
            found = self.frame.groupby(column, sort=False, observed=True, dropna=True).indices
            self._positions[column] = found
        return found

    def read(self, *, columns: list[str] | None, filters: list[tuple[str, str, Any]] | None) -> pd.DataFrame:
        """What ``pq.read_table(columns=, filters=).to_pandas()`` returns, from memory (a copy)."""
        import numpy as np

        frame = self.frame
        filters = list(filters or [])
        # an equality filter on an indexed column through its value -> rows lookup, the rest as
        # masks over those rows, one column at a time; the rows asked for are taken once at the end
        first = next((i for i, (c, op, _) in enumerate(filters) if op in ("=", "==", "in") and c in self._positions),
                     None)
        rows: np.ndarray | None = None  # positions kept so far (None: every row)
        if first is not None:
            column, op, value = filters.pop(first)
            index = self.positions(column)
            parts = [index[v] for v in (list(value) if op == "in" else [value]) if v in index]
            rows = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.intp)
        for column, op, value in filters:
            series = frame[column] if rows is None else frame[column].take(rows)
            tests = {"=": series.eq, "==": series.eq, "!=": series.ne, "<": series.lt, "<=": series.le,
                     ">": series.gt, ">=": series.ge, "in": lambda v, s=series: s.isin(list(v)),
                     "not in": lambda v, s=series: ~s.isin(list(v))}
            if op not in tests:
                raise StoreError(f"unsupported filter operator {op!r} on {column!r}")
            mask = tests[op](value)
            mask = np.array(mask.fillna(False) if hasattr(mask, "fillna") else mask, dtype=bool)
            mask &= series.notna().to_numpy()
            rows = np.flatnonzero(mask) if rows is None else rows[mask]
        out = frame if columns is None else frame[list(columns)]
        taken = rows is not None
        if taken:
            out = out.take(rows)
        # copy-on-write (pandas 3): changing what is returned never changes the table held here
        return out.reset_index(drop=True) if taken or columns is not None else out.copy(deep=False)


#: Tables held in memory by :func:`preload`, keyed by (store folder, table, sha256).
_MEMORY: dict[tuple[str, str, str], _MemoryTable] = {}

#: The environment variable naming a store to hold in memory (``jsna batch`` sets it for its
#: kernel template, so that every forked kernel starts with the tables already read).
PRELOAD_ENV = "JSNA_PRELOAD_STORE"


def preload(path: str | os.PathLike[str], tables: Iterable[str] | None = None,
            index: Iterable[str] = ("area_code",)) -> int:
    """Hold a store's tables in this process's memory; later reads of them skip the disk.

    For a batch: the kernel template preloads the store once and every kernel forked from it
    reads its area's rows from memory (copy-on-write pages, nothing re-read or re-decoded). A
    table is only used from memory while its sha256 in the manifest is the one loaded, so a
    changed store is read from disk again. Reads return copies with the same dtypes and row
    order as a parquet read. ``index`` columns get their value → rows lookup built now.
    Returns the number of rows held.
    """
    store = Store(path)
    names = store.tables if tables is None else [t for t in tables if store.has(t)]
    held = 0
    for name in names:
        entry = store.manifest["tables"][name]
        # one chunk per column: taking rows from a many-chunk (one per row group) column is slow
        frame = pq.read_table(store.path / entry["file"]).combine_chunks().to_pandas(types_mapper=_types_mapper)
        table = _MemoryTable(frame)
        for column in index:
            if column in frame.columns:
                table.positions(column)
        _MEMORY[(str(store.path.resolve()), name, entry.get("sha256", ""))] = table
        held += len(frame)
    return held


#: Decoded tables take about this many times their parquet size in memory (measured on the
#: demonstration store: 17 MB of parquet, 229 MB of DataFrames).
DECODED_PER_PARQUET_BYTE = 15
#: The most memory (MB) the kernel template may spend on the store by default: this or a quarter of
#: the machine's memory, whichever is smaller; ``$JSNA_PRELOAD_MAX_MB`` overrides it (0: never).
PRELOAD_MAX_MB = 2000


def _preload_limit_mb() -> float:
    try:
        return float(os.environ["JSNA_PRELOAD_MAX_MB"])
    except (KeyError, ValueError):
        pass
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e6
    except (AttributeError, OSError, ValueError):
        physical = float("inf")
    return min(PRELOAD_MAX_MB, physical / 4)


def environment_store() -> str | None:
    """The store named by ``$JSNA_PRELOAD_STORE`` (what ``jsna batch`` gives its kernel template),
    when set and present; else None."""
    path = os.environ.get(PRELOAD_ENV, "")
    return path if path and (Path(path) / MANIFEST).is_file() else None


def preload_from_environment() -> int:
    """:func:`preload` the store named by ``$JSNA_PRELOAD_STORE``, if set, present and small enough:
    its tables' estimated decoded size (:data:`DECODED_PER_PARQUET_BYTE` x their parquet size)
    within ``$JSNA_PRELOAD_MAX_MB`` (default: :data:`PRELOAD_MAX_MB` or a quarter of the memory).
    Returns the rows held (0 when nothing was preloaded)."""
    path = environment_store()
    if path is None:
        return 0
    store = Store(path)
    size = sum((store.path / t["file"]).stat().st_size for t in store.manifest["tables"].values()
               if (store.path / t["file"]).exists())
    if size * DECODED_PER_PARQUET_BYTE > _preload_limit_mb() * 1e6:
        return 0
    return preload(path)


def forget_preloaded() -> None:
    """Drop every table :func:`preload` holds."""
    _MEMORY.clear()


def _types_mapper(arrow_type: pa.DataType) -> Any:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    return None


def merge_values(existing: pd.DataFrame, new: pd.DataFrame, key: Iterable[str] = schema.VALUES.key) -> pd.DataFrame:
    """Upsert ``new`` rows into ``existing``: rows with the same key are replaced by the new ones."""
    key = list(key)
    if existing.empty:
        return new.reset_index(drop=True)
    combined = pd.concat([existing, new], ignore_index=True)
    return combined.drop_duplicates(key, keep="last").reset_index(drop=True)
