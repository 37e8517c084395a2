"""Machinery shared by the importers: reading files, the import report, de-duplication, areas.

Every importer turns a file into the canonical frames of :mod:`jsna_lib.schema` and returns an
:class:`ImportResult` (``values``, ``indicators``, optionally ``population``, and a ``report``
saying what happened to every row). The steps they share live here:

* :func:`read_csv_table` / :func:`read_excel_table`: bytes → a frame of text cells with the row
  number each record has *in the file* (row 1 is the header, as a spreadsheet shows it), so
  every error can point at the rows a person will look at. Empty files, header-only files,
  gzip, a UTF-8 byte-order mark and non-UTF-8 files (decoded as Windows-1252 with a warning)
  are handled here.
* :func:`parse_numbers`: text → float, refusing text in a number column with the file rows.
* :func:`deduplicate`: exact duplicates dropped; rows that share the key with different numbers
  reconciled when one row is merely more complete or more precise than the other, otherwise
  refused (or dropped / first / last, as a mapping says).
* :func:`resolve_areas`: old codes moved onto current ones, merged areas re-aggregated from
  counts when that is exact, abolished and split areas kept under their own code and reported,
  rows for areas outside the English geography counted and left out.
* :func:`build_indicators`: the indicators table from whatever metadata is at hand, never
  inventing more than it says in the report.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import geography, schema

#: How many example rows / codes a message or report shows.
SHOW = 5
AGGREGATED_NOTE = "Aggregated from predecessor areas"
#: Area types of the English reference geography: rows of other types are "unknown areas".
KNOWN_TYPES = ("england", "region", "utla", "ltla")
#: Value types whose merged areas can be re-aggregated exactly from count and denominator.
REAGGREGATABLE = {"Proportion": "proportion", "Crude rate": "rate"}
NUMERIC = ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator")
KEY = list(schema.VALUES.key)
SEXES = {"persons": "Persons", "male": "Male", "female": "Female"}


class SourceError(ValueError):
    """A source file that cannot be imported.

    The message names the file, and where it applies the column and the rows as a spreadsheet
    shows them (row 1 is the header), and says what to do.
    """


class SourceWarning(UserWarning):
    """Something in a source file was worked around (e.g. a file that is not UTF-8)."""


# ---------------------------------------------------------------------------------------------
# Report and result


@dataclass
class ImportReport:
    """What an importer did with every row of a file.

    Counts are rows of the file unless stated. ``codes_remapped`` lists one-to-one recodes applied,
    ``merged_areas`` the merged areas recomputed from their predecessors' counts, ``not_current``
    the old codes kept as published (areas merged without all parts present, or split/abolished),
    ``unknown_areas`` the rows per area type outside the English geography (left out unless
    ``keep_unknown_areas``), ``metadata`` one line per indicator whose metadata was inferred or
    defaulted.
    """

    source: str
    format: str
    rows_read: int = 0
    rows_kept: int = 0
    exact_duplicates_dropped: int = 0
    #: rows sharing the key with a row that has different numbers, beyond the first of each key
    conflicting_duplicates: int = 0
    #: rule -> rows removed while resolving conflicting duplicates
    conflicts_resolved: dict[str, int] = field(default_factory=dict)
    #: reason -> rows left out on purpose (mapping exclusions, rows without a value, ...)
    excluded: dict[str, int] = field(default_factory=dict)
    inequality_rows: int = 0
    unknown_area_rows: dict[str, int] = field(default_factory=dict)
    unknown_area_examples: dict[str, list[str]] = field(default_factory=dict)
    unknown_areas_kept: bool = False
    codes_remapped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["old_code", "old_name", "new_code", "new_name", "rows"]))
    merged_areas: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["new_code", "new_name", "old_codes", "rows_in", "rows_out"]))
    not_current: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["area_code", "area_name", "change", "successor", "rows", "reason"]))
    indicators: int = 0
    metadata: list[str] = field(default_factory=list)
    population_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_remapped(self) -> int:
        """Rows moved from an old code onto the current one."""
        return int(self.codes_remapped["rows"].sum()) if len(self.codes_remapped) else 0

    @property
    def rows_not_current(self) -> int:
        """Rows kept under codes that are not current (merged or split areas)."""
        return int(self.not_current["rows"].sum()) if len(self.not_current) else 0

    @property
    def rows_unknown_area(self) -> int:
        """Rows for areas outside the English geography (left out unless kept)."""
        return int(sum(self.unknown_area_rows.values()))

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-serialisable Python objects (for the store manifest)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, pd.DataFrame):
                value = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                         for row in value.astype(object).where(value.notna(), None).to_dict("records")]
            out[name] = value
        return out

    def summary(self) -> str:
        """A few plain-English lines: what was read, kept, dropped and why."""
        lines = [f"{self.source} ({self.format}): {self.rows_read:,} rows read, {self.rows_kept:,} values kept "
                 f"({self.inequality_rows:,} of them inequality breakdowns), {self.indicators} indicator(s)."]
        if self.exact_duplicates_dropped:
            lines.append(f"  {self.exact_duplicates_dropped:,} exact duplicate rows dropped.")
        if self.conflicting_duplicates:
            rules = ", ".join(f"{n:,} {rule}" for rule, n in self.conflicts_resolved.items())
            lines.append(f"  {self.conflicting_duplicates:,} rows shared a key with different numbers; "
                         f"rows removed: {rules or 'none'}.")
        for reason, n in self.excluded.items():
            lines.append(f"  {n:,} rows left out: {reason}.")
        if self.unknown_area_rows:
            what = "kept" if self.unknown_areas_kept else "left out"
            parts = ", ".join(f"{t} {n:,}" for t, n in self.unknown_area_rows.items())
            lines.append(f"  {self.rows_unknown_area:,} rows for areas outside the English geography {what} ({parts}).")
        if len(self.codes_remapped):
            lines.append(f"  {self.rows_remapped:,} rows moved from {len(self.codes_remapped)} old code(s) to "
                         "current codes: " + "; ".join(f"{r.old_code}→{r.new_code}"
                                                       for r in self.codes_remapped.itertuples()))
        if len(self.merged_areas):
            lines.append(f"  {len(self.merged_areas)} merged area(s) recomputed from predecessors: "
                         + "; ".join(f"{r.new_code} from {r.old_codes}" for r in self.merged_areas.itertuples()))
        if len(self.not_current):
            lines.append(f"  {self.rows_not_current:,} rows kept under {len(self.not_current)} code(s) that are not "
                         "current (see report.not_current):")
            groups = self.not_current.groupby(["change", "reason"], sort=False)
            for (change, reason), part in groups:  # a few (change, reason) groups
                codes = ", ".join(part["area_code"].head(8)) + (", ..." if len(part) > 8 else "")
                lines.append(f"    {change}: {reason}: {codes} ({int(part['rows'].sum()):,} rows)")
        if self.population_rows:
            lines.append(f"  {self.population_rows:,} population rows.")
        lines.extend(f"  metadata: {m}" for m in self.metadata)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass
class ImportResult:
    """The canonical frames an importer produced, and its :class:`ImportReport`."""

    values: pd.DataFrame
    indicators: pd.DataFrame
    report: ImportReport
    population: pd.DataFrame | None = None
    #: per indicator, which metadata fields were defaulted (not from the source or metadata);
    #: :func:`jsna_lib.sources.import_to_store` keeps a store's own values for those fields
    defaulted: pd.DataFrame | None = None

    def summary(self) -> str:
        """The report's plain-English summary."""
        return self.report.summary()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The canonical tables by name, for :meth:`jsna_lib.store.Store.write_many`."""
        out = {"values": self.values, "indicators": self.indicators}
        if self.population is not None and len(self.population):
            out["population"] = self.population
        return out


# ---------------------------------------------------------------------------------------------
# Reading files


@dataclass
class RawTable:
    """A file read as text cells: ``frame`` (all strings, "" when empty) and ``rows``, the row
    number of each record as a spreadsheet shows it (row 1 is the header line)."""

    frame: pd.DataFrame
    rows: np.ndarray
    name: str


def rows_text(rows: Iterable[int], total: int | None = None) -> str:
    """ "rows 3, 8, 9" (the first few file rows, and how many more)."""
    rows = [int(r) for r in rows]
    total = len(rows) if total is None else total
    shown = ", ".join(str(r) for r in rows[:SHOW])
    more = f" and {total - SHOW} more" if total > SHOW else ""
    return f"row{'s' if total > 1 else ''} {shown}{more}"


def display_name(path_or_buffer: Any) -> str:
    """The file name messages use: the path as given, or a buffer's ``name``."""
    if isinstance(path_or_buffer, (str, os.PathLike)):
        return str(path_or_buffer)
    return str(getattr(path_or_buffer, "name", "<buffer>"))


def _read_bytes(path_or_buffer: Any, name: str) -> bytes | str:
    if isinstance(path_or_buffer, (str, os.PathLike)):
        path = Path(path_or_buffer)
        if not path.exists():
            raise SourceError(f"{name}: no such file")
        if path.is_dir():
            raise SourceError(f"{name} is a folder, not a file")
        data: bytes | str = path.read_bytes()
    elif hasattr(path_or_buffer, "read"):
        data = path_or_buffer.read()
    else:
        raise SourceError(f"cannot read {path_or_buffer!r}: give a file path or an open file")
    if isinstance(data, bytes) and data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{name} looks gzip-compressed but cannot be decompressed ({exc})") from exc
    return data


def decode(data: bytes, name: str, encoding: str | None = None) -> str:
    """Decode a file's bytes: UTF-8 (with or without a byte-order mark), UTF-16 with a BOM, else
    Windows-1252 with a :class:`SourceWarning` (what Excel's plain "CSV" writes on Windows).

    An explicit ``encoding`` is used strictly. Raises :class:`SourceError` naming the encoding,
    the line and the byte when the bytes cannot be decoded.
    """
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(f"{name} cannot be read as {encoding}: {exc}") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        bad = data[exc.start:exc.start + 1].hex()
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise SourceError(
                f"{name} is not UTF-8 (byte 0x{bad} on line {line}) nor Windows-1252: open it in a "
                "spreadsheet or text editor and save it as 'CSV UTF-8', or give the encoding "
                "(mapping key \"encoding\")."
            ) from exc
        shown = text.splitlines()[line - 1][:80] if text.splitlines() else ""
        warnings.warn(
            f"{name} is not UTF-8 (byte 0x{bad} on line {line}: {shown!r}); read it as Windows-1252 "
            "(cp1252), which is what Excel's plain 'CSV' writes. Check characters such as '£' and 'é', "
            "and save the file as 'CSV UTF-8' to avoid this warning.",
            SourceWarning, stacklevel=3,
        )
        return text


def read_csv_table(path_or_buffer: Any, *, name: str | None = None, encoding: str | None = None,
                   sep: str = ",", comment: str | None = None, na_values: Sequence[str] = ()) -> RawTable:
    """Read a CSV (optionally gzipped) into a :class:`RawTable` of text cells.

    A real CSV parser (quoted fields may hold commas and line breaks). Leading lines starting
    with ``comment`` are skipped; blank lines are dropped but keep row numbers honest. Cells
    in ``na_values`` (after stripping) become "". Raises :class:`SourceError` for a missing,
    empty (0 bytes), header-only or malformed file.
    """
    name = name or display_name(path_or_buffer)
    data = _read_bytes(path_or_buffer, name)
    if len(data) == 0:
        raise SourceError(f"{name} is empty (0 bytes): nothing to import. Check that the download or export finished.")
    if isinstance(data, bytes) and data[:4] == b"PK\x03\x04":
        raise SourceError(f"{name} is an Excel workbook (or another zip file), not a CSV: give it a .xlsx name, "
                          "or save the sheet as 'CSV UTF-8'.")
    text = data if isinstance(data, str) else decode(data, name, encoding)
    skipped = 0
    if comment:
        lines = text.splitlines(keepends=True)
        while skipped < len(lines) and lines[skipped].lstrip().startswith(comment):
            skipped += 1
        text = "".join(lines[skipped:])
    if not text.strip():
        raise SourceError(f"{name} has no header row and no data: nothing to import.")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        where = f" at file line {int(found[1]) + skipped}" if found else ""
        raise SourceError(f"{name} is not a well-formed CSV{where}: {exc}. Check for a stray quote "
                          "or a row with extra separators.") from exc
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    rows = np.arange(len(frame)) + 2 + skipped
    return _finish_table(frame, rows, name, na_values)


def read_excel_table(path: Any, *, sheet: str | int | None = None, header_row: int = 1,
                     name: str | None = None, na_values: Sequence[str] = ()) -> RawTable:
    """Read one sheet of an .xlsx workbook (openpyxl) into a :class:`RawTable`.

    ``sheet`` is a sheet name or 0-based position (default the first); ``header_row`` the
    1-based row holding the column names. Row numbers are the spreadsheet's own.
    """
    name = name or display_name(path)
    data = _read_bytes(path, name)
    if len(data) == 0:
        raise SourceError(f"{name} is empty (0 bytes): nothing to import.")
    try:
        book = pd.ExcelFile(io.BytesIO(data if isinstance(data, bytes) else data.encode()), engine="openpyxl")
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not xlsx
        raise SourceError(f"{name} cannot be opened as an Excel .xlsx workbook ({exc}); save it as .xlsx "
                          "or as 'CSV UTF-8'.") from exc
    sheets = book.sheet_names
    if sheet is None:
        sheet = 0
    if isinstance(sheet, str) and sheet not in sheets:
        raise SourceError(f"{name} has no sheet {sheet!r}; its sheets are {', '.join(map(repr, sheets))}")
    frame = pd.read_excel(book, sheet_name=sheet, header=header_row - 1, dtype=str, keep_default_na=False,
                          na_filter=False)
    frame = frame.fillna("").astype(str)
    frame.columns = [str(c).strip() for c in frame.columns]
    rows = np.arange(len(frame)) + header_row + 1
    where = f"{name} [sheet {sheet!r}]" if isinstance(sheet, str) else f"{name} [sheet {sheets[sheet]!r}]"
    return _finish_table(frame, rows, where, na_values)


def _finish_table(frame: pd.DataFrame, rows: np.ndarray, name: str, na_values: Sequence[str]) -> RawTable:
    if len(frame.columns) == 0 or all(c == "" or c.startswith("Unnamed:") for c in frame.columns):
        raise SourceError(f"{name} has no header row: the first row must hold the column names.")
    frame = frame.apply(lambda s: s.astype("string").str.strip()).fillna("")
    if na_values:
        frame = frame.mask(frame.isin(list(na_values)), "")
    blank = (frame == "").all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    rows = rows[~blank]
    if frame.empty:
        raise SourceError(f"{name} has a header row but no data rows: nothing to import.")
    return RawTable(frame=frame, rows=rows, name=name)


def require_columns(raw: RawTable, columns: Iterable[str], *, what: str = "") -> None:
    """Raise :class:`SourceError` naming every missing column and the columns the file has."""
    missing = [c for c in dict.fromkeys(columns) if c not in raw.frame.columns]
    if missing:
        hint = f" {what}" if what else ""
        raise SourceError(
            f"{raw.name} is missing column(s) {', '.join(map(repr, missing))}{hint}. "
            f"Its columns are: {', '.join(map(repr, raw.frame.columns))}."
        )


_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_numbers(raw: RawTable, text: pd.Series, column: str) -> pd.Series:
    """Text → float64; "" is missing; "1,234.5" is accepted. Text that is not a number raises
    :class:`SourceError` naming ``column`` and the file rows with their text."""
    text = text.astype("string").fillna("").str.strip()
    cleaned = text.where(~text.str.match(_THOUSANDS).fillna(False), text.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(cleaned.replace("", np.nan), errors="coerce").astype("float64")
    bad = (numbers.isna() & (text != "")).to_numpy()
    if bad.any():
        examples = ", ".join(f"row {r}: {v!r}" for r, v in zip(raw.rows[bad][:SHOW], text[bad][:SHOW], strict=False))
        raise SourceError(
            f"{raw.name}: column {column!r} must hold numbers, but {int(bad.sum())} row(s) hold text "
            f"({examples}{' ...' if bad.sum() > SHOW else ''}). Leave a cell empty when there is no number, "
            "and put any explanation in the value note column."
        )
    return numbers


def decimals(text: pd.Series) -> pd.Series:
    """Number of digits after the decimal point of each number as written (0 for integers)."""
    text = text.astype("string").fillna("")
    uniques = pd.Series(text.unique(), dtype="string")  # numbers repeat: work on each once
    counts = uniques.str.extract(r"\.(\d+)", expand=False).str.len().fillna(0).astype("int64")
    table = pd.Series(counts.to_numpy(), index=uniques.to_numpy())
    return pd.Series(table.reindex(text.to_numpy()).to_numpy(), index=text.index, dtype="int64")


def parse_sex(raw: RawTable, text: pd.Series, report: ImportReport, column: str) -> pd.Series:
    """Persons / Male / Female (any case). Fingertips' "Not applicable" (indicators that are not
    sex-specific, e.g. per household) is read as Persons and counted in the report. Anything else
    raises :class:`SourceError` with the rows."""
    low = text.astype("string").str.strip().str.lower()
    sex = low.map(SEXES).astype("string")
    not_applicable = (low == "not applicable").to_numpy()
    if not_applicable.any():
        sex = sex.mask(not_applicable, "Persons")
        report.notes.append(f"{int(not_applicable.sum())} row(s) with sex 'Not applicable' (not sex-specific, "
                            "e.g. per household) read as Persons")
    bad = sex.isna().to_numpy()
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(text[bad])[:5]))
        raise SourceError(f"{raw.name}: column {column!r} must be Persons, Male or Female; "
                          f"{rows_text(raw.rows[bad], int(bad.sum()))} hold {shown}.")
    return sex


# ---------------------------------------------------------------------------------------------
# Periods


def period_sort_from_text(period: pd.Series) -> pd.Series:
    """A sortable integer for Fingertips-style period labels: year × 10000 + quarter/month × 100.

    "2015" and "2015/16" and "2015 - 17" → 20150000; "2018/19 Q2" → 20180200; "Mar 2021" →
    20210300; "2021-03-15" → 20210315. Labels without a four-digit year give <NA>.
    """
    text = period.astype("string")
    year = pd.to_numeric(text.str.extract(r"((?:19|20)\d{2})", expand=False), errors="coerce")
    quarter = pd.to_numeric(text.str.extract(r"\bQ([1-4])\b", expand=False), errors="coerce")
    months = {m: i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
    month = text.str.lower().str.extract(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
                                         expand=False).map(months)
    iso = text.str.extract(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
    iso_month = pd.to_numeric(iso[1], errors="coerce")
    iso_day = pd.to_numeric(iso[2], errors="coerce").fillna(0)
    sub = quarter.where(quarter.notna(), pd.to_numeric(month, errors="coerce")).fillna(0) * 100
    sub = sub.where(iso_month.isna(), iso_month * 100 + iso_day)
    return (year * 10000 + sub).round().astype("Int64")


def label_years(start: pd.Series, years: pd.Series, split: pd.Series) -> pd.Series:
    """Fingertips period labels from a start year, a span in years and whether the year is split
    (financial/academic): (2021, 1, False) → "2021", (2021, 1, True) → "2021/22",
    (2019, 3, False) → "2019 - 21", (2018, 3, True) → "2018/19 - 20/21"."""
    start = start.astype("int64")
    years = years.astype("int64")
    end = start + years - 1
    two = lambda y: (y % 100).astype(str).str.zfill(2)  # noqa: E731
    single = start.astype(str)
    fin = start.astype(str) + "/" + two(start + 1)
    multi = start.astype(str) + " - " + two(end)
    fin_multi = fin + " - " + two(end) + "/" + two(end + 1)
    split = split.astype(bool)
    many = years > 1
    out = np.select([~split & ~many, split & ~many, ~split & many], [single, fin, multi], default=fin_multi)
    return pd.Series(out, index=start.index, dtype="string")


_ISO = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:/P(?P<n>\d+)(?P<u>[YMD]))?$")
_MONTH_NAMES = np.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])


def parse_iso_periods(text: pd.Series, *, instant: str = "date") -> tuple[pd.Series, pd.Series, np.ndarray]:
    """ISO-8601 periods ``start/duration`` → Fingertips-style labels and sort keys.

    * ``YYYY-01-01/P1Y`` → "2021"; any other start month with ``P1Y`` → "2021/22" (financial,
      academic or survey year); ``PnY`` → "2021 - 23" or "2019/20 - 21/22"; period_sort is the
      start year × 10000 (as Fingertips' "Time period Sortable");
    * ``YYYY-MM-DD/P1M`` → "Mar 2021", ``PnM`` → "Jan 2021 - Mar 2021" (sort year×10000+month×100);
    * a bare date ``YYYY-MM-DD`` (a point in time) → the date itself (``instant="date"``) or its
      year (``instant="year"``, for annual snapshots such as ASHE's April reference date).

    Works on the unique values only. Returns (period, period_sort, bad) where ``bad`` marks
    values that are not such periods.
    """
    text = text.astype("string").fillna("")
    uniques = pd.Series(text.unique(), dtype="string")
    parts = uniques.str.extract(_ISO.pattern)
    y = pd.to_numeric(parts["y"], errors="coerce")
    m = pd.to_numeric(parts["m"], errors="coerce")
    d = pd.to_numeric(parts["d"], errors="coerce")
    n = pd.to_numeric(parts["n"], errors="coerce")
    unit = parts["u"].fillna("")
    ok = y.notna() & m.between(1, 12) & d.between(1, 31) & ~((unit != "") & (n.fillna(0) < 1)) & (unit != "D")
    yy = y.fillna(2000).astype("int64")
    mm = m.fillna(1).astype("int64").clip(1, 12)
    nn = n.fillna(1).astype("int64")
    years_label = label_years(yy, nn, mm != 1)
    month_start = pd.Series(_MONTH_NAMES[mm - 1], dtype="string") + " " + yy.astype(str)
    end_month = (mm - 1 + nn - 1)
    month_end = (pd.Series(_MONTH_NAMES[(end_month % 12).to_numpy()], dtype="string") + " "
                 + (yy + end_month // 12).astype(str))
    months_label = month_start.where(nn == 1, month_start + " - " + month_end)
    date_label = uniques.str.slice(0, 10)
    instant_label = yy.astype(str).astype("string") if instant == "year" else date_label
    label = np.select([unit == "Y", unit == "M"], [years_label, months_label], default=instant_label)
    sort = np.select([unit == "Y", unit == "M"], [yy * 10000, yy * 10000 + mm * 100],
                     default=(yy * 10000) if instant == "year" else (yy * 10000 + mm * 100 + d.fillna(0).astype("int64")))
    table = pd.DataFrame({"period": pd.array(label, dtype="string"),
                          "sort": pd.array(np.asarray(sort, dtype="int64"), dtype="Int64"),
                          "ok": ok.fillna(False).to_numpy(dtype=bool)}, index=uniques.to_numpy())
    looked = table.reindex(text.to_numpy())
    period = pd.Series(looked["period"].to_numpy(), index=text.index, dtype="string")
    period_sort = pd.Series(looked["sort"].to_numpy(), index=text.index, dtype="Int64")
    return period, period_sort, ~looked["ok"].to_numpy(dtype=bool)


# ---------------------------------------------------------------------------------------------
# De-duplication


def drop_exact_duplicates(values: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """Drop rows whose every canonical column equals an earlier row's; count them."""
    canonical = [c for c in values.columns if not c.startswith("_")]
    exact = values.duplicated(canonical, keep="first").to_numpy()
    report.exact_duplicates_dropped += int(exact.sum())
    return values.loc[~exact].reset_index(drop=True)


def count_conflicts(values: pd.DataFrame, report: ImportReport) -> None:
    """Count rows that share the key with an earlier row (after exact duplicates are gone)."""
    report.conflicting_duplicates += int(values.duplicated(KEY, keep="first").sum())


def deduplicate(values: pd.DataFrame, raw: RawTable, report: ImportReport, *, conflict: str = "error",
                reconcile: Sequence[str] = ("complete", "precision"), counted: bool = False,
                rows: str = "_row") -> pd.DataFrame:
    """Apply the de-duplication rules to canonical ``values`` (with ``_row`` file rows, ``_uid``
    row ids and ``_dec_<col>`` decimal counts); count everything in ``report``.

    1. Exact duplicates (every canonical column equal) are dropped, keeping the first.
    2. Rows that share the key (indicator, area, sex, age, category type, category, period) but
       differ are *conflicting*. Within each such key:
       * ``complete``: when one row has every number the others have (and more), and agrees with
         them, it is kept (e.g. one version lacks the value and CIs);
       * ``precision``: when the rows agree once rounded to the decimals each was written with,
         the most precise row is kept (e.g. 20.0558 and 20.0558045901172);
       * otherwise ``conflict`` decides: ``"error"`` (default) raises :class:`SourceError` with
         the file rows; ``"drop"`` leaves every version out; ``"first"``/``"last"`` keep the
         first/last in file order.

    ``counted=True`` when the caller already ran :func:`drop_exact_duplicates` and
    :func:`count_conflicts` (e.g. before leaving rows out on purpose).
    """
    if not counted:
        values = drop_exact_duplicates(values, report)
    dup = values.duplicated(KEY, keep=False).to_numpy()
    if not counted:
        count_conflicts(values, report)
    if not dup.any():
        return values.reset_index(drop=True)
    clash = values.loc[dup].copy()
    canonical = [c for c in values.columns if not c.startswith("_")]
    clash["_group"] = clash.groupby(KEY, sort=False, dropna=False).ngroup().to_numpy()
    numeric = [c for c in NUMERIC if c in clash.columns]
    filled = clash[numeric].notna()
    clash["_filled"] = filled.sum(axis=1).to_numpy()
    dec_cols = [f"_dec_{c}" for c in numeric if f"_dec_{c}" in clash.columns]
    clash["_precision"] = clash[dec_cols].sum(axis=1).to_numpy() if dec_cols else 0
    order = clash.sort_values(["_group", "_filled", "_precision", rows], ascending=[True, False, False, True])
    best = order.drop_duplicates("_group", keep="first").set_index("_group")
    cand = best.reindex(clash["_group"].to_numpy())
    agree = np.ones(len(clash), dtype=bool)
    for c in numeric:
        mine = clash[c].to_numpy(dtype=float)
        theirs = cand[c].to_numpy(dtype=float)
        dec = clash.get(f"_dec_{c}", pd.Series(12, index=clash.index)).to_numpy(dtype=float)
        tol = 0.5 * 10.0 ** (-np.minimum(dec, 12)) * (1 + 1e-9) + 1e-12 * np.abs(mine)
        close = np.abs(mine - theirs) <= tol
        agree &= np.isnan(mine) | (~np.isnan(theirs) & close)
        # a text field that differs (note, trend) is only tolerated when the chosen row has one
    for c in [c for c in canonical if c not in numeric and c not in KEY and c in clash.columns]:
        mine = clash[c].astype("string").fillna("").to_numpy()
        theirs = cand[c].astype("string").fillna("").to_numpy()
        agree &= (mine == "") | (mine == theirs)
    group_ok = pd.Series(agree).groupby(clash["_group"].to_numpy()).all()
    by_group = clash.groupby("_group")["_filled"]
    filled_span = by_group.max() > by_group.min()
    ok_groups = group_ok[group_ok].index
    rule_for = pd.Series(np.where(filled_span.reindex(ok_groups).to_numpy(), "complete", "precision"),
                         index=ok_groups)
    allowed = rule_for[rule_for.isin(list(reconcile))]
    keep_best = set(best.loc[allowed.index, "_uid"]) if "_uid" in best.columns else set()
    in_allowed = clash["_group"].isin(allowed.index).to_numpy()
    removed = clash.loc[in_allowed & ~clash["_uid"].isin(keep_best).to_numpy()]
    for rule, n in removed.groupby(clash.loc[removed.index, "_group"].map(allowed)).size().items():
        label = {"complete": "kept the more complete row", "precision": "kept the more precise row"}[rule]
        report.conflicts_resolved[label] = report.conflicts_resolved.get(label, 0) + int(n)
    unresolved = clash.loc[~in_allowed]
    drop_uids = set(removed["_uid"])
    if len(unresolved):
        if conflict == "error":
            first_groups = unresolved["_group"].drop_duplicates().head(SHOW)
            lines = []
            for g in first_groups:  # at most SHOW groups, for the message only
                part = unresolved[unresolved["_group"] == g]
                first = part.iloc[0]
                keytext = ", ".join(f"{k}={str(first[k])!r}" for k in KEY if not pd.isna(first[k]) and first[k] != "")
                nums = "; ".join(f"row {r}: value={v}" for r, v in zip(part[rows], part["value"], strict=False))
                lines.append(f"  {keytext}: {nums}")
            n_groups = unresolved["_group"].nunique()
            raise SourceError(
                f"{raw.name}: {n_groups} key(s) appear on more than one row with different numbers "
                f"(key: indicator, area, sex, age, category type, category, period):\n" + "\n".join(lines)
                + ("\n  ..." if n_groups > SHOW else "")
                + "\n  Keep one row per key (e.g. remove an older release or a second breakdown), "
                "or distinguish the rows by their period or category."
            )
        if conflict == "drop":
            drop_uids |= set(unresolved["_uid"])
            label = "left out every version of a key whose rows disagree"
            report.conflicts_resolved[label] = report.conflicts_resolved.get(label, 0) + len(unresolved)
        elif conflict in ("first", "last"):
            keep = unresolved.sort_values(rows).drop_duplicates("_group", keep=conflict)
            gone = unresolved.loc[~unresolved["_uid"].isin(set(keep["_uid"]))]
            drop_uids |= set(gone["_uid"])
            label = f"kept the {conflict} of rows that disagree"
            report.conflicts_resolved[label] = report.conflicts_resolved.get(label, 0) + len(gone)
        else:
            raise ValueError(f"unknown duplicate rule {conflict!r}: use error, drop, first or last")
    return values.loc[~values["_uid"].isin(drop_uids).to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Indicator metadata

#: Columns of metadata files we understand → canonical indicator columns (names compared with
#: case, spaces and punctuation removed).
_METADATA_ALIASES = {
    "indicator_id": ("indicatorid", "fingertipsindicatorid", "id"),  # first match wins
    "name": ("name", "indicatorname", "indicator", "title"),
    "domain": ("domain",),
    "value_type": ("valuetype",),
    "unit": ("unitlabel", "unit"),
    "multiplier": ("multiplier", "unitmultiplier", "unitvalue"),
    "polarity": ("polarity",),
    "comparator_method": ("comparatormethod", "benchmarkcomparisonmethod"),
    "ci_method": ("cimethod", "confidenceintervalmethod"),
    "definition": ("definition", "indicatordefinition"),
    "source": ("source", "datasource"),
    "year_type": ("yeartype", "periodtype"),
}
METADATA_FIELDS = ("name", "domain", "value_type", "unit", "multiplier", "polarity", "comparator_method",
                   "ci_method", "definition", "source")

_POLARITY = {
    "rag - low is good": "RAG - Low is good", "low is good": "RAG - Low is good", "lowisgood": "RAG - Low is good",
    "rag - high is good": "RAG - High is good", "high is good": "RAG - High is good",
    "highisgood": "RAG - High is good",
    "bob - blue orange blue": "BOB - Blue orange blue", "no judgement": "BOB - Blue orange blue",
    "nojudgement": "BOB - Blue orange blue",
    "not applicable": "Not applicable",
}
_COMPARATOR = (
    (r"\(95(?:\.0)? *& *99\.8\)", "ci_both"),
    (r"reference value \(95(?:\.0)?\)", "ci_95"),
    (r"reference value \(99\.8\)", "ci_99_8"),
    (r"^overlapping confidence intervals \(95(?:\.0)?\)", "ci_95"),
    (r"^quintiles", "quintiles"),
    (r"^no comparison", "none"),
)
_VALUE_TYPE = {"number": "Count"}


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def map_polarity(text: pd.Series) -> pd.Series:
    """Fingertips / FingertipsNext polarity wording → schema wording; unknown or blank → <NA>.

    "Low is good" → "RAG - Low is good", "High is good" → "RAG - High is good", FingertipsNext's
    "No judgement" → "BOB - Blue orange blue" (its benchmark reads Higher/Lower/Similar).
    """
    low = text.astype("string").str.strip().str.lower()
    return low.map(_POLARITY).astype("string")


def map_comparator(text: pd.Series) -> pd.Series:
    """Fingertips comparator-method wording → ``ci_95 | ci_99_8 | ci_both | quintiles | none``.

    "Confidence intervals overlapping reference value (95.0)" → ci_95, "(99.8)" → ci_99_8,
    "(95.0 & 99.8)" → ci_both, "Quintiles" → quintiles, "No comparison" → none; the schema's own
    words pass through; anything else (Quartiles, legacy methods) → <NA>.
    """
    low = text.astype("string").str.strip().str.lower().fillna("")
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    for pattern, method in _COMPARATOR:
        hit = low.str.contains(pattern, regex=True) & out.isna()
        out = out.mask(hit, method)
    own = low.isin(schema.COMPARATOR_METHODS)
    return out.mask(own, low)


def map_value_type(text: pd.Series) -> pd.Series:
    """Fingertips value-type wording → schema value types; unknown → <NA>.

    The schema's own types pass (case-insensitive); "Number" → "Count".
    """
    clean = text.astype("string").str.strip()
    own = {t.lower(): t for t in schema.VALUE_TYPES}
    extra = {k: v for k, v in _VALUE_TYPE.items() if k not in own}
    low = clean.str.lower()
    return low.map({**extra, **own}).astype("string")


def normalise_metadata(metadata: Any) -> pd.DataFrame:
    """One metadata source (a DataFrame or a CSV path) → a frame with ``indicator_id`` and the
    canonical indicator columns it has (plus ``year_type``), wording mapped to schema values.

    Understands the Pholio-derived ``pholio_seed_indicator_metadata.csv``, FingertipsNext's
    ``indicators.csv`` (DataCreator) and ``fingertipsnext_indicator_metadata.csv``, the Fingertips
    metadata CSV and canonical ``indicators`` frames. Rows without an integer id are ignored.
    """
    if isinstance(metadata, pd.DataFrame):
        frame = metadata.copy()
        label = "metadata frame"
    else:
        label = display_name(metadata)
        frame = read_csv_table(metadata).frame
    lookup = {_norm(c): c for c in frame.columns}
    columns = {}
    for canonical, aliases in _METADATA_ALIASES.items():
        for alias in (*aliases, _norm(canonical)):
            if alias in lookup:
                columns[canonical] = lookup[alias]
                break
    if "indicator_id" not in columns:
        raise SourceError(f"{label}: no indicator id column (e.g. 'indicator_id', 'IndicatorID', "
                          f"'fingertips_indicator_id'); its columns are {', '.join(map(repr, frame.columns))}")
    out = pd.DataFrame({k: frame[v] for k, v in columns.items()})
    out = out.astype("string").apply(lambda s: s.str.strip().replace("", pd.NA))
    out["indicator_id"] = pd.to_numeric(out["indicator_id"], errors="coerce")
    out = out[out["indicator_id"].notna() & (out["indicator_id"] % 1 == 0)]
    out["indicator_id"] = out["indicator_id"].astype("int64")
    if "polarity" in out:
        out["polarity"] = map_polarity(out["polarity"])
    if "comparator_method" in out:
        out["comparator_method"] = map_comparator(out["comparator_method"])
    if "value_type" in out:
        out["value_type"] = map_value_type(out["value_type"])
    if "multiplier" in out:
        out["multiplier"] = pd.to_numeric(out["multiplier"], errors="coerce")
    return out.drop_duplicates("indicator_id", keep="first").set_index("indicator_id")


def infer_value_types(values: pd.DataFrame) -> pd.DataFrame:
    """Conservative value type from the numbers alone: ``value_type, multiplier`` per indicator.

    An indicator is a *Proportion* (×100) when every row with a value, a count and a denominator
    has value = count / denominator × 100 (to 1 part in 1,000), and a *Crude rate* per 10^k
    (k = 3…6) when the same holds for that multiplier. Anything else is left unknown (<NA>):
    a directly standardised rate or a ratio never matches on every row.
    """
    full = values[values["value"].notna() & values["count"].notna() & (values["denominator"] > 0)
                  & (values["count"] > 0)]
    ratio = full["value"] / (full["count"] / full["denominator"])
    power = np.round(np.log10(ratio.where(ratio > 0)))
    exact = np.isclose(ratio, 10.0 ** power, rtol=1e-3)
    per = pd.DataFrame({"indicator_id": full["indicator_id"].to_numpy(), "power": power.to_numpy(),
                        "exact": exact})
    agg = per.groupby("indicator_id").agg(lo=("power", "min"), hi=("power", "max"), exact=("exact", "all"))
    agg = agg[agg["exact"] & (agg["lo"] == agg["hi"])]
    out = pd.DataFrame(index=agg.index)
    out["multiplier"] = 10.0 ** agg["lo"]
    out["value_type"] = pd.Series(np.select([agg["lo"] == 2, agg["lo"].between(3, 6)], ["Proportion", "Crude rate"],
                                            default=""), index=agg.index).replace("", pd.NA).astype("string")
    return out[out["value_type"].notna()]


ENGLAND = "E92000001"


def infer_from_published(values: pd.DataFrame) -> pd.DataFrame:
    """Polarity and comparator method read back from a file's own published comparisons.

    Fingertips computed "Compared to England" with the indicator's polarity and method, so on
    whole-population rows that have an England row for the same indicator, sex, age and period:

    * polarity: "Better" on an area above England (or "Worse" below) means *High is good*, the
      reverse *Low is good*; every such row must agree. Only "Higher"/"Lower" (no Better/Worse)
      means *BOB*. Otherwise unknown.
    * comparator: when every judged row (Better/Worse/Higher/Lower/Similar) with a 95% interval
      agrees with "England's value inside the area's 95% CI → Similar, else Higher/Lower",
      ``ci_95``; failing that, the same with the 99.8% interval gives ``ci_99_8``.

    Returns ``polarity, comparator_method`` per indicator (<NA> where the file does not show it).
    """
    need = {"published_vs_england", "value", "lower_95", "upper_95"}
    if not need <= set(values.columns):
        return pd.DataFrame()
    whole = values[(values["category_type"].fillna("") == "") & (values["category"].fillna("") == "")]
    on = ["indicator_id", "sex", "age", "period"]
    england = (whole.loc[whole["area_code"] == ENGLAND, [*on, "value"]].rename(columns={"value": "_england"})
               .drop_duplicates(on))
    rows = whole[whole["area_code"] != ENGLAND].merge(england, on=on)
    flag = rows["published_vs_england"].fillna("").str.strip().str.lower()
    above = (rows["value"] > rows["_england"]).to_numpy()
    below = (rows["value"] < rows["_england"]).to_numpy()
    better = flag.str.startswith("better").to_numpy()
    worse = flag.str.startswith("worse").to_numpy()
    high_votes = (better & above) | (worse & below)
    low_votes = (better & below) | (worse & above)
    bob = flag.isin(["higher", "lower"]).to_numpy()
    votes = pd.DataFrame({"indicator_id": rows["indicator_id"].to_numpy(), "high": high_votes, "low": low_votes,
                          "bob": bob})
    per = votes.groupby("indicator_id").sum()
    polarity = pd.Series(pd.NA, index=per.index, dtype="string")
    polarity = polarity.mask((per["high"] > 0) & (per["low"] == 0), "RAG - High is good")
    polarity = polarity.mask((per["low"] > 0) & (per["high"] == 0), "RAG - Low is good")
    polarity = polarity.mask((per["bob"] > 0) & (per["high"] == 0) & (per["low"] == 0), "BOB - Blue orange blue")

    judged = (better | worse | bob | (flag == "similar").to_numpy())
    side = np.select([flag.isin(["higher"]).to_numpy() | ((better | worse) & above),
                      flag.isin(["lower"]).to_numpy() | ((better | worse) & below)], ["higher", "lower"], "similar")
    checks = {}
    for level, (lo, hi) in {"ci_95": ("lower_95", "upper_95"), "ci_99_8": ("lower_99_8", "upper_99_8")}.items():
        lower, upper = rows[lo].to_numpy(dtype=float), rows[hi].to_numpy(dtype=float)
        usable = judged & ~np.isnan(lower) & ~np.isnan(upper)
        predicted = np.select([rows["_england"].to_numpy() < lower, rows["_england"].to_numpy() > upper],
                              ["higher", "lower"], "similar")
        frame = pd.DataFrame({"indicator_id": rows["indicator_id"].to_numpy(), "usable": usable,
                              "match": usable & (predicted == side)})
        agg = frame.groupby("indicator_id")[["usable", "match"]].sum()
        checks[level] = (agg["usable"] > 0) & (agg["usable"] == agg["match"])
    comparator = pd.Series(pd.NA, index=per.index, dtype="string")
    comparator = comparator.mask(checks["ci_99_8"].reindex(per.index, fill_value=False), "ci_99_8")
    comparator = comparator.mask(checks["ci_95"].reindex(per.index, fill_value=False), "ci_95")
    out = pd.DataFrame({"polarity": polarity, "comparator_method": comparator})
    return out[out.notna().any(axis=1)]


def build_indicators(ids: pd.Series, *, names: pd.Series | None, sources: Sequence[tuple[str, pd.DataFrame]],
                     values: pd.DataFrame, report: ImportReport, source_label: str,
                     prefer_source_names: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``indicators`` table for ``ids``: each field from the first source that has it.

    ``names`` (indexed by id) are the names the data file itself gives; ``sources`` are
    (label, normalised metadata) in priority order. Value type and multiplier fall back to
    :func:`infer_value_types`; what is still unknown is defaulted honestly and listed in the
    report: value type "Score" (no method is then applied to the numbers), polarity "Not
    applicable" (no Better/Worse judgement), comparator "ci_95".

    Returns (indicators, defaulted) where ``defaulted`` flags, per indicator, the fields that were
    defaulted rather than known.
    """
    ids = pd.Index(pd.unique(ids.astype("int64")), name="indicator_id").sort_values()
    table = pd.DataFrame(index=ids)
    origin = pd.DataFrame(index=ids)
    for f in (*METADATA_FIELDS, "year_type"):
        table[f] = (pd.Series(np.nan, index=ids, dtype="float64") if f == "multiplier"
                    else pd.Series(pd.NA, index=ids, dtype="string"))
        origin[f] = pd.Series(pd.NA, index=ids, dtype="string")
    ordered = list(sources)
    if names is not None:
        own = pd.DataFrame({"name": names.astype("string")})
        own = own[~own.index.duplicated()]
        ordered = ([("file", own)] + ordered) if prefer_source_names else (ordered + [("file", own)])
    ordered.append(("inferred from count/denominator", infer_value_types(values)))
    ordered.append(("inferred from the file's published comparisons", infer_from_published(values)))
    for label, meta in ordered:
        meta = meta.reindex(ids)
        for f in table.columns:
            if f not in meta.columns:
                continue
            fill = table[f].isna() & meta[f].notna()
            table.loc[fill, f] = meta.loc[fill, f]
            origin.loc[fill, f] = label
    defaults = {"name": None, "value_type": "Score", "polarity": "Not applicable", "comparator_method": "ci_95"}
    defaulted = pd.DataFrame(index=ids)
    for f in ("value_type", "polarity", "comparator_method", "unit", "multiplier", "name"):
        defaulted[f] = table[f].isna().to_numpy()
    for f, default in defaults.items():
        if default is not None:
            table[f] = table[f].fillna(default)
    missing_name = table["name"].isna()
    table.loc[missing_name, "name"] = "Indicator " + table.index[missing_name].astype(str)
    # Multipliers of proportions are 100 unless a source says otherwise.
    table.loc[table["multiplier"].isna() & (table["value_type"] == "Proportion"), "multiplier"] = 100.0
    table["source"] = table["source"].fillna(source_label)

    guessed = origin["value_type"] == "inferred from count/denominator"
    for i in table.index[guessed.fillna(False).to_numpy()]:  # one line per indicator, for the report
        report.metadata.append(f"{i}: value type {table.at[i, 'value_type']} (×{table.at[i, 'multiplier']:g}) "
                               "inferred from value = count / denominator on every row")
    from_flags = (origin[["polarity", "comparator_method"]] == "inferred from the file's published comparisons").fillna(False)
    for i in table.index[from_flags.any(axis=1).to_numpy()]:  # one line per indicator, for the report
        parts = [f"{f} {table.at[i, f]!r}" for f in from_flags.columns if from_flags.at[i, f]]
        report.metadata.append(f"{i}: " + " and ".join(parts) + " inferred from the file's own 'Compared to "
                               "England' judgements")
    gaps = defaulted[["value_type", "polarity", "comparator_method"]]
    for i in gaps.index[gaps.any(axis=1).to_numpy()]:
        parts = [f"{f} defaulted to {table.at[i, f]!r}" for f in gaps.columns if gaps.at[i, f]]
        report.metadata.append(f"{i} {table.at[i, 'name']}: " + ", ".join(parts)
                               + " (no metadata; supply it with metadata=...)")
    if "polarity" in origin and len(sources) > 1:
        late = (origin["polarity"].notna() & (origin["polarity"] != sources[0][0])
                & (origin["polarity"] != "file")).fillna(False)
        if late.any():
            report.notes.append(
                f"polarity of {int(late.sum())} indicator(s) taken from {', '.join(sorted(set(origin['polarity'][late])))}"
                f" (not in {sources[0][0]}): " + ", ".join(map(str, table.index[late.to_numpy()])))
    out = table.reset_index()
    return out, defaulted.reset_index()


# ---------------------------------------------------------------------------------------------
# Areas


def _merger_cover_sets() -> pd.DataFrame:
    """Every set of old codes that together make up a current merged area.

    From the direct ``merger`` edges of :func:`geography.code_changes` (not the flattened chains),
    so Somerset (E06000066) is covered by {Mendip, Sedgemoor, South Somerset, Somerset West and
    Taunton} and by {..., Taunton Deane, West Somerset}. One row per (cover, code): ``cover``,
    ``new_code``, ``code``, ``size``. The loop runs over the ~60 code changes, not over data.
    """
    changes = geography.code_changes()
    mergers = changes[changes["change"] == "merger"]
    preds: dict[str, list[str]] = {}
    for old, new in zip(mergers["old_code"], mergers["new_code"], strict=True):
        preds.setdefault(str(new), []).append(str(old))

    def covers(code: str, depth: int = 0) -> list[frozenset[str]]:
        options = [frozenset([code])]
        if code in preds and depth < 5:
            for combo in itertools.product(*(covers(p, depth + 1) for p in preds[code])):
                options.append(frozenset().union(*combo))
        return options

    targets = set(geography.merger_groups()["new_code"].astype(str))
    records = []
    cover_id = 0
    for target in sorted(targets):
        for option in sorted(covers(target)[1:], key=lambda s: (len(s), sorted(s))):
            records.extend((cover_id, target, code, len(option)) for code in sorted(option))
            cover_id += 1
    return pd.DataFrame(records, columns=["cover", "new_code", "code", "size"])


def _stats_module():
    try:
        from .. import stats
    except ImportError:
        return None
    if not (hasattr(stats, "proportion") and hasattr(stats, "rate")):
        return None
    return stats


def _recompute_mergers(values: pd.DataFrame, indicators: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """Replace the rows of complete merger groups by one recomputed row under the current code."""
    covers = _merger_cover_sets()
    parts = values[values["area_code"].isin(covers["code"])]
    if parts.empty:
        return values
    info = indicators.set_index("indicator_id")
    vt = parts["indicator_id"].map(info["value_type"])
    eligible = parts[vt.isin(list(REAGGREGATABLE)).to_numpy() & parts["count"].notna().to_numpy()
                     & (parts["denominator"] > 0).fillna(False).to_numpy()]
    stats = _stats_module()
    if stats is None and len(eligible):
        report.notes.append("jsna_lib.stats is not available: merged areas were not recomputed")
        eligible = eligible.iloc[:0]
    rest = [c for c in KEY if c != "area_code"]
    joined = eligible.merge(covers, left_on="area_code", right_on="code")
    if joined.empty:
        return values
    counted = joined.groupby([*rest, "cover", "new_code", "size"], dropna=False)["area_code"].nunique()
    complete = counted[counted.index.get_level_values("size") == counted.to_numpy()].reset_index()
    # Never a second row under one code: skip keys already published under the new code.
    published = values[[*rest, "area_code"]].rename(columns={"area_code": "new_code"}).assign(_pub=True)
    complete = complete.merge(published, on=[*rest, "new_code"], how="left")
    complete = complete[complete["_pub"].isna()].drop(columns=["_pub", "area_code"])
    # One cover per (new_code, key): the one with the fewest parts.
    complete = complete.sort_values([*rest, "new_code", "size", "cover"]).drop_duplicates([*rest, "new_code"])
    if complete.empty:
        return values
    used = joined.merge(complete[[*rest, "cover", "new_code"]], on=[*rest, "cover", "new_code"])
    # Multiplier: the indicator's own, else inferred from the parts' published numbers.
    ratio = used["value"] / (used["count"] / used["denominator"])
    used["_mult"] = used["indicator_id"].map(info["multiplier"])
    inferred = 10.0 ** np.round(np.log10(ratio.where(ratio > 0)))
    used["_mult"] = used["_mult"].fillna(inferred)
    used["_kind"] = used["indicator_id"].map(info["value_type"]).map(REAGGREGATABLE)
    group_cols = [*rest, "new_code", "_kind"]
    used["_mult_key"] = used.groupby(group_cols, dropna=False)["_mult"].transform("max")
    used = used[used["_mult_key"].notna()]
    outputs = []
    for kind, fn in (("proportion", stats.proportion), ("rate", stats.rate)):  # two method calls, not a row loop
        chunk = used[used["_kind"] == kind]
        if chunk.empty:
            continue
        for mult, sub in chunk.groupby("_mult_key"):  # one call per multiplier (100, 1000, 100000...)
            filled = sub.assign(**{c: sub[c].fillna("") for c in ("category_type", "category")})
            res = fn(filled, "count", "denominator", by=[*rest, "new_code"], multiplier=float(mult))
            outputs.append(res)
    if not outputs:
        return values
    merged = pd.concat(outputs, ignore_index=True).rename(columns={"new_code": "area_code"})
    sort = used.groupby([*rest, "new_code"], dropna=False)["period_sort"].first()
    merged["period_sort"] = sort.reindex(pd.MultiIndex.from_frame(merged[[*rest, "area_code"]])).to_numpy()
    merged["value_note"] = AGGREGATED_NOTE
    merged["_row"] = -1
    merged["_uid"] = -1
    used_ids = set(used["_uid"])
    summary = used.groupby("new_code").agg(old_codes=("area_code", lambda s: ", ".join(sorted(set(s)))),
                                           rows_in=("_uid", "size"))
    out_rows = merged.groupby("area_code").size()
    summary["rows_out"] = out_rows.reindex(summary.index).fillna(0).astype(int)
    names = geography.lookup_codes(summary.index.to_series())["area_name"].to_numpy()
    summary.insert(0, "new_name", names)
    report.merged_areas = summary.reset_index()[["new_code", "new_name", "old_codes", "rows_in", "rows_out"]]
    leftover = values[~values["_uid"].isin(used_ids)]
    return pd.concat([leftover, merged[[c for c in merged.columns if c in values.columns]]], ignore_index=True)


def _merger_reasons(values: pd.DataFrame, indicators: pd.DataFrame, codes: pd.Series) -> pd.Series:
    """Why rows under merged-away codes were not re-aggregated, per code (distinct reasons joined)."""
    rows = values[values["area_code"].isin(codes)]
    if rows.empty:
        return pd.Series(dtype="string")
    vt = rows["indicator_id"].map(indicators.set_index("indicator_id")["value_type"]).fillna("unknown")
    reason = np.select(
        [~vt.isin(list(REAGGREGATABLE)).to_numpy(),
         (rows["count"].isna() | rows["denominator"].isna()).to_numpy()],
        ["value type " + vt.astype(str) + " cannot be re-aggregated from counts",
         "no count and denominator"],
        default="not all of its predecessor areas are present for the period (or the merged area is published)",
    )
    frame = pd.DataFrame({"code": rows["area_code"].to_numpy(), "reason": reason}).drop_duplicates()
    return frame.groupby("code")["reason"].agg("; ".join)


def resolve_areas(values: pd.DataFrame, indicators: pd.DataFrame, raw: RawTable, report: ImportReport, *,
                  keep_unknown_areas: bool = False) -> pd.DataFrame:
    """Put every row's area on the current English geography, or account for why not.

    1. One-to-one recodes (:func:`geography.remap_codes`, which warns with the list) are applied.
       When the file also publishes the same key under the current code, an old-code row with the
       same numbers is dropped as a copy, and one with different numbers keeps its old code.
    2. Codes of merged areas: when every predecessor of a current area is present for a key with
       count and denominator and the indicator is a proportion or crude rate, their rows are
       replaced by one row under the current code, recomputed with :mod:`jsna_lib.stats` (value
       note "Aggregated from predecessor areas"). Otherwise they stay under the published code.
    3. Codes of split or abolished areas stay as published. Steps 2–3 are listed in
       ``report.not_current``.
    4. Codes outside the geography (other nations, NHS areas, GP practices, combined authorities,
       misspelt codes) are counted per :func:`geography.area_type_of` type and left out unless
       ``keep_unknown_areas``; when no row at all is for a known area that is an error.
    """
    values = values.copy()
    values["area_code"] = values["area_code"].astype("string").str.strip().str.upper()
    published = values["area_code"].copy()
    values, changes = geography.remap_codes(values, code_column="area_code")  # warns with the list
    recoded = (values["area_code"] != published).to_numpy()
    reverted = pd.Series([], dtype="string")
    if recoded.any() and values.duplicated(KEY, keep=False).to_numpy()[recoded].any():
        # The same figure published under both codes (ONS repeats a renamed area): the copy under
        # the old code is dropped. A recoded row that disagrees with a row under the current code
        # keeps its old code (and is listed as not current).
        numbers = [c for c in NUMERIC if c in values.columns]
        flags = values[[*KEY, *numbers]].assign(_pub=~recoded)
        same = flags.groupby([*KEY, *numbers], dropna=False)["_pub"].transform("any").to_numpy() & recoded
        if same.any():
            reason = "copies of rows also published under the current area code (old code recoded)"
            report.excluded[reason] = report.excluded.get(reason, 0) + int(same.sum())
            values, published, recoded = values.loc[~same], published[~same], recoded[~same]
            values, published = values.reset_index(drop=True), published.reset_index(drop=True)
        clash = values.duplicated(KEY, keep=False).to_numpy() & recoded
        if clash.any():
            values.loc[clash, "area_code"] = published[clash]
            reverted = published[clash]
            recoded = recoded & ~clash
            report.notes.append(f"{int(clash.sum())} row(s) under old codes disagree with rows published under "
                                "the current code: kept under the old code")
    if recoded.any():
        moved = pd.DataFrame({"old_code": published[recoded], "new_code": values["area_code"][recoded]})
        rec = changes[changes["change"] == "recode"].set_index("old_code")
        counts = moved.groupby(["old_code", "new_code"]).size().rename("rows").reset_index()
        counts["old_name"] = counts["old_code"].map(rec["old_name"]).fillna("")
        counts["new_name"] = counts["old_code"].map(rec["new_name"]).fillna("")
        report.codes_remapped = counts[["old_code", "old_name", "new_code", "new_name", "rows"]]

    current = geography.is_current(values["area_code"]).to_numpy()
    old_known = values["area_code"].isin(changes["old_code"]).to_numpy()
    unknown = ~current & ~old_known
    kinds = geography.area_type_of(values["area_code"])
    if unknown.any():
        label = kinds.where(~kinds.isin(list(KNOWN_TYPES)), kinds + " (code not in the geography)")
        per = label[unknown].value_counts()
        report.unknown_area_rows = {str(k): int(v) for k, v in per.items()}
        examples = values.loc[unknown, "area_code"].groupby(label[unknown].to_numpy()).unique()
        report.unknown_area_examples = {str(k): [str(c) for c in v[:SHOW]] for k, v in examples.items()}
        report.unknown_areas_kept = keep_unknown_areas
        if not (current | old_known).any() and not keep_unknown_areas:
            sample = ", ".join(pd.unique(values.loc[unknown, "area_code"].astype(str))[:SHOW])
            raise SourceError(
                f"{raw.name}: none of its {values['area_code'].nunique()} area code(s) is an English area "
                f"of the geography (e.g. {sample}). Check that the area code column holds ONS codes such "
                "as E06000015, or import with keep_unknown_areas=True to keep them anyway."
            )
        if not keep_unknown_areas:
            values = values.loc[~unknown].reset_index(drop=True)
            kinds = kinds[~unknown].reset_index(drop=True)
    found = geography.lookup_codes(values["area_code"])
    area_type = found["area_type"].astype("string")
    values["area_type"] = area_type.fillna(kinds.astype("string")).to_numpy()

    not_current: dict[str, str] = {}
    values = _recompute_mergers(values, indicators, report)
    if len(values):
        missing_type = values["area_type"].isna()
        if missing_type.any():
            values.loc[missing_type, "area_type"] = geography.lookup_codes(
                values.loc[missing_type, "area_code"])["area_type"].to_numpy()
    for code in reverted.unique():  # the few old codes whose rows disagree with current-code rows
        not_current.setdefault(str(code), "recoded area, but these rows disagree with the rows published under "
                               "the current code")
    split = changes[changes["change"] == "split"]
    for code in split["old_code"]:
        not_current.setdefault(code, "split or abolished: no single successor")
    merged = changes[changes["change"] == "merger"]
    for code, reason in _merger_reasons(values, indicators, merged["old_code"]).items():  # per old code found
        not_current.setdefault(code, reason)
    remaining = values["area_code"].value_counts()
    remaining = remaining[remaining.index.isin(list(not_current))]
    if len(remaining):
        info = changes.set_index("old_code")
        frame = pd.DataFrame({"area_code": remaining.index.astype(str), "rows": remaining.to_numpy()})
        frame["area_name"] = frame["area_code"].map(info["old_name"]).fillna("")
        frame["change"] = frame["area_code"].map(info["change"]).fillna("")
        frame["successor"] = frame["area_code"].map(info["new_code"]).fillna("")
        frame["reason"] = frame["area_code"].map(not_current)
        report.not_current = (frame[["area_code", "area_name", "change", "successor", "rows", "reason"]]
                              .sort_values("area_code").reset_index(drop=True))
    return values


# ---------------------------------------------------------------------------------------------
# Finishing


def finish(values: pd.DataFrame, indicators: pd.DataFrame, raw: RawTable, report: ImportReport, *,
           keep_unknown_areas: bool, population: pd.DataFrame | None = None,
           defaulted: pd.DataFrame | None = None) -> ImportResult:
    """Areas, validation and the final counts shared by every importer."""
    values = resolve_areas(values, indicators, raw, report, keep_unknown_areas=keep_unknown_areas)
    canonical = [c for c in schema.VALUES.columns if c in values.columns]
    out = values[canonical].copy()
    value_types = pd.Series(indicators["value_type"].to_numpy(), index=indicators["indicator_id"].astype("int64"))
    try:
        out = schema.validate(out, "values", value_types=value_types)
        ind = schema.validate(indicators[[c for c in schema.INDICATORS.columns if c in indicators.columns]],
                              "indicators")
    except ValueError as exc:
        raise SourceError(f"{raw.name}: {exc}") from exc
    ind = ind[ind["indicator_id"].isin(out["indicator_id"])].reset_index(drop=True)
    if population is not None and len(population):
        population = population[population["area_code"].isin(out["area_code"])]
        try:
            population = schema.validate(population, "population")
        except ValueError as exc:
            raise SourceError(f"{raw.name}: {exc}") from exc
        report.population_rows = len(population)
    report.rows_kept = len(out)
    report.inequality_rows = int((out["category_type"] != "").sum() + ((out["category_type"] == "")
                                                                      & (out["category"] != "")).sum())
    report.indicators = len(ind)
    if out.empty:
        raise SourceError(f"{raw.name}: no rows left to import after the rules above:\n{report.summary()}")
    if defaulted is not None:
        defaulted = defaulted[defaulted["indicator_id"].isin(ind["indicator_id"])].reset_index(drop=True)
    return ImportResult(values=out, indicators=ind, report=report, population=population, defaulted=defaulted)


def metadata_sources(metadata: Any) -> list[tuple[str, pd.DataFrame]]:
    """Normalise ``metadata`` (None, a frame, a path, or a list of them, first wins) to sources."""
    if metadata is None:
        return []
    items = metadata if isinstance(metadata, (list, tuple)) else [metadata]
    return [(display_name(m) if not isinstance(m, pd.DataFrame) else f"metadata frame {i + 1}",
             normalise_metadata(m)) for i, m in enumerate(items)]
