"""Tests of the Fingertips "Download data" CSV reader and of import_to_store.

Real-data tests (the two genuine exports) take the ``shared_data`` fixture; their expected counts
are worked out here from the raw file with the csv module and the codes the README lists, not
from the importer. Everything else builds small files in ``tmp_path``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jsna_lib import sources, stats
from jsna_lib.geography import AreaCodeWarning
from jsna_lib.sources import SourceError, SourceWarning
from jsna_lib.store import Store

CAMPYLOBACTER = "fingertips/exports/indicators-CountyUA.data__campylobacter_2015.csv"
COSMMH = "fingertips/exports/indicators-CountyUApre419.data__cosmmh_east_midlands.csv"

HEADER = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type", "Sex",
    "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit",
    "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to Region value or percentiles",
    "Time period Sortable", "New data", "Compared to goal",
]
# Codes the shared README and the ONS change table name for the 2015 campylobacter file.
RECODED = {"E10000002": "E06000060", "E10000023": "E06000065", "E10000027": "E06000066"}
MERGED_PARTS = {"E06000028", "E06000029"}  # Christchurch (a district) is not in a county/UA file
SPLIT = {"E10000006", "E10000009", "E10000021"}
ENGLISH_PREFIXES = ("E92", "E12", "E06", "E07", "E08", "E09", "E10")


def raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def row(code: str, *, indicator: int = 1, count: float | None = None, den: float | None = None,
        value: float | None = None, period: str = "2017", sex: str = "Persons", category_type: str = "",
        category: str = "", multiplier: float = 100, name: str = "Test indicator", **extra: str) -> dict[str, str]:
    if value is None and count is not None and den:
        value = count / den * multiplier
    out = dict.fromkeys(HEADER, "")
    out.update({"Indicator ID": str(indicator), "Indicator Name": name, "Area Code": code, "Sex": sex,
                "Age": "All ages", "Category Type": category_type, "Category": category, "Time period": period,
                "Value": "" if value is None else repr(value), "Count": "" if count is None else repr(count),
                "Denominator": "" if den is None else repr(den), "Time period Sortable": f"{period[:4]}0000"})
    out.update(extra)
    return out


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def quiet_read(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AreaCodeWarning)
        return sources.read_fingertips_csv(*args, **kwargs)


# ------------------------------------------------------------------------------------------- real files


def test_campylobacter_export_counts(shared_data: Path) -> None:
    path = shared_data / CAMPYLOBACTER
    raw = raw_rows(path)
    codes = [r["Area Code"] for r in raw]
    expected_recoded = sum(c in RECODED for c in codes)
    expected_not_current = sum(c in MERGED_PARTS | SPLIT for c in codes)
    expected_unknown = sum(not c.startswith(ENGLISH_PREFIXES) for c in codes)
    expected_inequality = sum(r["Category Type"] != "" for r in raw)
    assert len(raw) == 852  # the README's count
    assert (expected_recoded, expected_not_current, expected_unknown, expected_inequality) == (15, 25, 0, 60)

    with pytest.warns(AreaCodeWarning, match="E10000002"):
        result = sources.read_fingertips_csv(path)
    report = result.report
    assert report.rows_read == 852
    assert report.rows_kept == len(result.values) == 852 - expected_unknown
    assert report.exact_duplicates_dropped == 0 and report.conflicting_duplicates == 0
    assert report.inequality_rows == expected_inequality
    assert report.rows_unknown_area == expected_unknown
    assert report.rows_remapped == expected_recoded
    assert dict(zip(report.codes_remapped["old_code"], report.codes_remapped["new_code"], strict=True)) == RECODED
    assert report.rows_not_current == expected_not_current
    assert set(report.not_current["area_code"]) == MERGED_PARTS | SPLIT
    assert report.merged_areas.empty  # Bournemouth + Poole without Christchurch: not complete

    values = result.values
    assert not values["area_code"].isin(list(RECODED)).any()
    assert (values["area_code"] == "E06000060").sum() == 5
    # Christchurch is missing, so BCP is never invented and the parts keep their own codes.
    assert not (values["area_code"] == "E06000058").any()
    assert values.duplicated(["indicator_id", "area_code", "sex", "age", "category_type", "category",
                              "period"]).sum() == 0
    # Area types from codes, never from "Area Type" (which says "County & UA" / "Country" here).
    assert set(values["area_type"]) == {"england", "region", "utla"}
    assert set(values.loc[values["area_code"] == "E92000001", "area_type"]) == {"england"}
    assert set(values["period_sort"]) == {20150000, 20160000, 20170000}
    assert (values["category_type"] != "").sum() == expected_inequality
    # published judgements copied through, column by column
    by_key = {(r["Area Code"], r["Time period"], r["Age"], r["Category"]): r for r in raw}
    first = values[(values["area_code"] == "E06000001")].iloc[0]
    source = by_key[("E06000001", first["period"], first["age"], first["category"])]
    assert first["published_vs_england"] == source["Compared to England value or percentiles"]
    assert first["published_vs_parent"] == source["Compared to Region value or percentiles"]
    assert first["value"] == pytest.approx(float(source["Value"]))

    indicators = result.indicators
    assert list(indicators["indicator_id"]) == [93356]
    assert indicators.loc[0, "name"] == "Campylobacter incidence rate/100,000"  # trailing newline stripped
    # inferred from the file: value = count / denominator x 100,000 on every row, and "Better"
    # for areas below England -> low is good
    assert indicators.loc[0, "value_type"] == "Crude rate"
    assert indicators.loc[0, "multiplier"] == 100_000
    assert indicators.loc[0, "polarity"] == "RAG - Low is good"
    assert any("inferred" in line for line in report.metadata)


def test_cosmmh_export_counts(shared_data: Path) -> None:
    path = shared_data / COSMMH
    raw = raw_rows(path)
    assert len(raw) == 87
    not_applicable_sex = sum(r["Sex"] == "Not applicable" for r in raw)
    northamptonshire = sum(r["Area Code"] == "E10000021" for r in raw)
    result = quiet_read(path)
    assert result.report.rows_read == 87
    assert result.report.rows_kept == 87
    assert result.report.inequality_rows == 0
    assert result.report.rows_not_current == northamptonshire == 8
    assert result.report.rows_remapped == 0
    assert len(result.indicators) == 8
    assert (result.values["sex"] == "Persons").sum() == sum(r["Sex"] in ("Persons", "Not applicable") for r in raw)
    assert any(f"{not_applicable_sex} row(s) with sex 'Not applicable'" in n for n in result.report.notes)
    # The BOB-style file: only Higher/Lower/Similar judgements
    bob = result.indicators.set_index("indicator_id").loc[[1730, 90402], "polarity"]
    assert set(bob) == {"BOB - Blue orange blue"}
    # No count or denominator for the IMD score: value type is not guessed.
    imd = result.indicators.set_index("indicator_id").loc[91872]
    assert imd["value_type"] == "Score" and imd["polarity"] == "Not applicable"
    assert any("91872" in line and "defaulted" in line for line in result.report.metadata)
    periods = result.values.groupby("indicator_id")["period"].first()
    assert periods[11202] == "2017/18"


def test_metadata_fills_indicator_fields(shared_data: Path, tmp_path: Path) -> None:
    meta = pd.DataFrame({
        "Indicator ID": [93356], "Indicator": ["Campylobacter"], "Value type": ["Crude rate"],
        "Unit": ["per 100,000"], "Polarity": ["RAG - Low is good"],
        "Comparator method": ["Confidence intervals overlapping reference value (99.8)"],
    })
    result = quiet_read(shared_data / CAMPYLOBACTER, metadata=meta)
    ind = result.indicators.iloc[0]
    assert ind["comparator_method"] == "ci_99_8"
    assert ind["unit"] == "per 100,000"
    assert ind["name"] == "Campylobacter incidence rate/100,000"  # the file's own name wins
    assert not any("defaulted" in line for line in result.report.metadata)
    # The Pholio-derived file is understood as it is (and simply does not cover 93356).
    pholio = shared_data / "fingertips/metadata/pholio_seed_indicator_metadata.csv"
    with_pholio = quiet_read(shared_data / CAMPYLOBACTER, metadata=[pholio, meta])
    assert with_pholio.indicators.iloc[0]["comparator_method"] == "ci_99_8"


def test_import_real_export_to_store_is_idempotent(shared_data: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "store", create=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AreaCodeWarning)
        first = sources.import_to_store(shared_data / CAMPYLOBACTER, store)
        sources.import_to_store(shared_data / COSMMH, store)
        sources.import_to_store(shared_data / CAMPYLOBACTER, store)
    values = store.read("values")
    assert len(values) == first.report.rows_kept + 87
    assert set(store.read("indicators")["indicator_id"]) == {93356, 1730, 10101, 11202, 11501, 90402, 91126, 91872,
                                                               92863}
    assert store.manifest["tables"]["values"]["last_import"]["rows_read"] == 852


# ------------------------------------------------------------------------------------------- layout


def test_27_columns_embedded_newline_and_parent_prefix(tmp_path: Path) -> None:
    header = [*HEADER[:22], "Compared to percentiles", *HEADER[23:], "Time period range"]
    rows = [row("E92000001", count=50, den=1000, name="Smoking\nprevalence\n", **{"Compared to percentiles": "x"}),
            row("E06000015", count=70, den=1000, name="Smoking\nprevalence\n",
                **{"Compared to percentiles": "Highest quintile", "Time period range": "1y",
                   "Compared to England value or percentiles": "Worse"})]
    path = write_csv(tmp_path / "new.csv", rows, header)
    result = sources.read_fingertips_csv(path)
    assert result.indicators.loc[0, "name"] == "Smoking\nprevalence"
    derby = result.values.set_index("area_code").loc["E06000015"]
    assert derby["published_vs_parent"] == "Highest quintile"
    assert derby["published_vs_england"] == "Worse"
    assert derby["area_type"] == "utla"


def test_inequality_rows_are_separate_keys(tmp_path: Path) -> None:
    rows = [row("E92000001", count=50, den=1000),
            row("E92000001", count=20, den=300, category_type="Deprivation deciles", category="Most deprived"),
            row("E92000001", count=5, den=300, category_type="Deprivation deciles", category="Least deprived")]
    result = sources.read_fingertips_csv(write_csv(tmp_path / "ineq.csv", rows))
    assert result.report.inequality_rows == 2
    assert len(result.values) == 3


# ------------------------------------------------------------------------------------------- areas


def test_merged_area_recomputed_from_all_parts(tmp_path: Path) -> None:
    rows = [row("E92000001", count=5000, den=100000),
            row("E06000028", count=100, den=2000), row("E06000029", count=80, den=1500),
            row("E07000048", count=30, den=500),
            # Somerset from its 2018 districts, through the Somerset West and Taunton chain
            *[row(c, count=n, den=300) for c, n in [("E07000190", 10), ("E07000191", 5), ("E07000187", 20),
                                                    ("E07000188", 21), ("E07000189", 22)]],
            # 2016: Christchurch missing -> kept under the old codes
            row("E06000028", count=90, den=2000, period="2016"), row("E06000029", count=70, den=1500, period="2016")]
    meta = pd.DataFrame({"indicator_id": [1], "value_type": ["Proportion"], "polarity": ["RAG - Low is good"],
                         "comparator_method": ["ci_95"]})
    result = sources.read_fingertips_csv(write_csv(tmp_path / "merge.csv", rows), metadata=meta)
    values = result.values.set_index(["area_code", "period"])
    bcp = values.loc[("E06000058", "2017")]
    expected = stats.proportion(pd.DataFrame({"c": [210.0], "n": [4000.0]}), "c", "n")
    assert bcp["count"] == 210 and bcp["denominator"] == 4000
    for column in ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        assert bcp[column] == pytest.approx(expected.loc[0, column])
    assert bcp["value_note"] == "Aggregated from predecessor areas"
    somerset = values.loc[("E06000066", "2017")]
    assert somerset["count"] == 78 and somerset["denominator"] == 1500
    assert ("E06000028", "2017") not in values.index
    assert {("E06000028", "2016"), ("E06000029", "2016")} <= set(values.index)
    report = result.report
    assert set(report.merged_areas["new_code"]) == {"E06000058", "E06000066"}
    assert report.merged_areas.set_index("new_code").loc["E06000058", "rows_in"] == 3
    assert set(report.not_current["area_code"]) == {"E06000028", "E06000029"}
    assert report.rows_read == 11 and report.rows_kept == 5  # 11 - (3 - 1) - (5 - 1)


def test_merged_crude_rate_infers_multiplier_and_never_duplicates_published(tmp_path: Path) -> None:
    parts = [row(c, count=n, den=d, multiplier=100_000) for c, n, d in
             [("E06000028", 40, 190_000), ("E06000029", 30, 150_000), ("E07000048", 10, 50_000)]]
    result = sources.read_fingertips_csv(write_csv(tmp_path / "rate.csv", [row("E92000001", count=9, den=1e5), *parts]),
                                         metadata=pd.DataFrame({"indicator_id": [1], "value_type": ["Crude rate"]}))
    bcp = result.values.set_index("area_code").loc["E06000058"]
    expected = stats.rate(pd.DataFrame({"c": [80.0], "n": [390_000.0]}), "c", "n", multiplier=100_000)
    assert bcp["value"] == pytest.approx(expected.loc[0, "value"])
    assert bcp["upper_95"] == pytest.approx(expected.loc[0, "upper_95"])
    # The new code already published for the period: the parts are not summed into a second row.
    published = write_csv(tmp_path / "both.csv", [row("E06000058", count=80, den=390_000, multiplier=1e5), *parts])
    both = sources.read_fingertips_csv(published, metadata=pd.DataFrame({"indicator_id": [1],
                                                                          "value_type": ["Crude rate"]}))
    assert (both.values["area_code"] == "E06000058").sum() == 1
    assert len(both.values) == 4 and both.report.merged_areas.empty


def test_unknown_areas_counted_left_out_or_kept(tmp_path: Path) -> None:
    rows = [row("E92000001", count=5, den=100), row("W06000001", count=5, den=100), row("E38000014", count=5, den=100),
            row("A82003", count=5, den=100), row("E06999999", count=5, den=100)]
    path = write_csv(tmp_path / "mixed.csv", rows)
    result = sources.read_fingertips_csv(path)
    assert list(result.values["area_code"]) == ["E92000001"]
    assert result.report.unknown_area_rows == {"other_nation": 1, "sub_icb": 1, "gp": 1,
                                               "utla (code not in the geography)": 1}
    kept = sources.read_fingertips_csv(path, keep_unknown_areas=True)
    assert dict(zip(kept.values["area_code"], kept.values["area_type"], strict=True)) == {
        "E92000001": "england", "W06000001": "other_nation", "E38000014": "sub_icb", "A82003": "gp",
        "E06999999": "utla"}
    assert kept.report.unknown_areas_kept


def test_file_without_any_known_area_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wales.csv", [row("W06000001", count=5, den=100), row("W06000002", count=5, den=100)])
    with pytest.raises(SourceError, match=r"wales\.csv: none of its 2 area code\(s\).*W06000001"):
        sources.read_fingertips_csv(path)


# ------------------------------------------------------------------------------------------- errors


def test_missing_column(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "Area Code"]
    path = write_csv(tmp_path / "nocode.csv", [row("E92000001", count=1, den=2)], header)
    with pytest.raises(SourceError, match=r"nocode\.csv is missing column\(s\) 'Area Code'"):
        sources.read_fingertips_csv(path)


def test_text_in_number_column_names_column_and_rows(tmp_path: Path) -> None:
    rows = [row("E92000001", count=1, den=2), row("E06000015", count=1, den=2),
            row("E06000016", value=None, Count="twelve")]
    path = write_csv(tmp_path / "text.csv", rows)
    # row 1 is the header, so the third data row is row 4
    with pytest.raises(SourceError, match=r"text\.csv: column 'Count' must hold numbers.*row 4: 'twelve'"):
        sources.read_fingertips_csv(path)


def test_conflicting_duplicate_keys_name_both_rows(tmp_path: Path) -> None:
    rows = [row("E92000001", count=1, den=2), row("E06000015", count=3, den=10), row("E06000015", count=4, den=10),
            row("E06000016", count=1, den=2), row("E06000016", count=1, den=2)]
    path = write_csv(tmp_path / "dups.csv", rows)
    with pytest.raises(SourceError, match=r"(?s)dups\.csv: 1 key\(s\).*E06000015.*row 3: value=30.0; row 4: value=40.0"):
        sources.read_fingertips_csv(path)
    # exact duplicates alone are dropped and counted
    result = sources.read_fingertips_csv(write_csv(tmp_path / "exact.csv", [rows[0], rows[3], rows[4]]))
    assert result.report.exact_duplicates_dropped == 1 and len(result.values) == 2


def test_less_precise_or_less_complete_duplicates_are_reconciled(tmp_path: Path) -> None:
    rows = [row("E92000001", value=20.0558045901172, count=423.517527583, den=2111.69552276),
            row("E92000001", value=20.0558, count=423.5175276, den=2111.695523),
            row("E06000015", count=10, den=100, Value=""),
            row("E06000015", value=10.0, count=10, den=100)]
    result = sources.read_fingertips_csv(write_csv(tmp_path / "versions.csv", rows))
    values = result.values.set_index("area_code")
    assert values.loc["E92000001", "value"] == pytest.approx(20.0558045901172, rel=1e-12)
    assert values.loc["E06000015", "value"] == 10.0
    assert result.report.conflicts_resolved == {"kept the more precise row": 1, "kept the more complete row": 1}


@pytest.mark.parametrize("content, message", [
    (b"", r"empty\.csv is empty \(0 bytes\)"),
    ((",".join(HEADER) + "\r\n").encode(), r"empty\.csv has a header row but no data rows"),
])
def test_empty_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        sources.read_fingertips_csv(path)


def test_windows_1252_file_is_read_with_a_warning(tmp_path: Path) -> None:
    rows = [row("E92000001", count=1, den=2, name="Spend £ per head (café survey)")]
    path = write_csv(tmp_path / "cp1252.csv", rows, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    with pytest.warns(SourceWarning, match=r"cp1252\.csv is not UTF-8 .*line 2.*Windows-1252.*CSV UTF-8"):
        result = sources.read_fingertips_csv(path)
    assert result.indicators.loc[0, "name"] == "Spend £ per head (café survey)"


def test_undecodable_bytes_are_an_error_naming_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes((",".join(HEADER) + "\r\n").encode() + b"1,Bad \x81\x8d name,,,E92000001\r\n")
    with pytest.raises(SourceError, match=r"binary\.csv is not UTF-8 \(byte 0x81 on line 2\) nor Windows-1252"):
        sources.read_fingertips_csv(path)


@pytest.mark.parametrize("broken", ["missing_column", "text_in_number", "conflict", "no_known_area", "empty"])
def test_nothing_is_written_to_the_store_on_failure(tmp_path: Path, broken: str) -> None:
    store = Store(tmp_path / "store", create=True)
    good = write_csv(tmp_path / "good.csv", [row("E92000001", count=1, den=2), row("E06000015", count=3, den=10)])
    sources.import_to_store(good, store)
    before = snapshot(store.path)
    files = {
        "missing_column": lambda p: write_csv(p, [row("E92000001", count=1, den=2)], [h for h in HEADER if h != "Sex"]),
        "text_in_number": lambda p: write_csv(p, [row("E92000001", value=None, Value="n/a")]),
        "conflict": lambda p: write_csv(p, [row("E92000001", count=1, den=2), row("E92000001", count=1, den=3)]),
        "no_known_area": lambda p: write_csv(p, [row("S12000033", count=1, den=2)]),
        "empty": lambda p: p.write_bytes(b""),
    }
    bad = tmp_path / "bad.csv"
    files[broken](bad)
    with pytest.raises(SourceError, match=r"bad\.csv"):
        sources.import_to_store(bad, store)
    assert snapshot(store.path) == before
    assert len(Store(store.path).read("values")) == 2


def test_upsert_replaces_values_and_keeps_known_metadata(tmp_path: Path) -> None:
    store = Store(tmp_path / "store", create=True)
    meta = pd.DataFrame({"indicator_id": [1], "value_type": ["Proportion"], "polarity": ["RAG - High is good"],
                         "comparator_method": ["ci_99_8"]})
    first = write_csv(tmp_path / "first.csv", [row("E92000001", count=1, den=2), row("E06000015", count=3, den=10)])
    sources.import_to_store(first, store, metadata=meta)
    # A later file without metadata: the value is replaced, the polarity the store knows is kept.
    second = write_csv(tmp_path / "second.csv", [row("E06000015", count=4, den=10), row("E06000016", count=1, den=10)])
    sources.import_to_store(second, store)
    values = store.read("values").set_index("area_code")
    assert len(values) == 3
    assert values.loc["E06000015", "value"] == pytest.approx(40.0)
    indicators = store.read("indicators")
    assert len(indicators) == 1
    assert indicators.loc[0, "polarity"] == "RAG - High is good"
    assert indicators.loc[0, "comparator_method"] == "ci_99_8"


def test_api_style_text_buffer(tmp_path: Path) -> None:
    """The Fingertips API client hands CSV text (CRLF) to the same reader."""
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=HEADER, lineterminator="\r\n").writeheader()
    csv.DictWriter(buffer, fieldnames=HEADER, lineterminator="\r\n").writerow(row("E92000001", count=1, den=4))
    result = sources.read_fingertips_csv(io.StringIO(buffer.getvalue(), newline=""), name="api answer")
    assert result.report.source == "api answer"
    assert np.isclose(result.values.loc[0, "value"], 25.0)
