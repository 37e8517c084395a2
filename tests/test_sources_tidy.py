"""Tests of the mapping-driven tidy CSV/Excel reader and its three worked mappings.

The real files' expected counts are computed here from the raw files with pandas (exact
duplicates, keys shared with different numbers, rows by area-code form), not taken from the
importer's own output. Broken files are built in ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from jsna_lib import sources
from jsna_lib._paths import project_data
from jsna_lib.geography import AreaCodeWarning
from jsna_lib.sources import SourceError, SourceWarning
from jsna_lib.sources._common import label_years, parse_iso_periods, period_sort_from_text
from jsna_lib.sources.tidy import hashed_id
from jsna_lib.store import Store

NEXT = "fingertips/fingertipsnext_healthdata_nw.csv.gz"
ONS = "ons_local_indicators/ons_els_indicators_long.csv.gz"
TEMPLATE = project_data("templates/local_indicators_template.csv")
NEXT_KEY = ["IndicatorId", "AreaCode", "Year", "SexID", "AgeID", "CategoryType", "Category"]
ENGLISH_LA = r"^E(92|12|06|07|08|09|10)\d{6}$"


def timed_read(path: Path, mapping: str) -> tuple[sources.ImportResult, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AreaCodeWarning)
        result = sources.read_tidy(path, mapping)
    return result, time.perf_counter() - start


def accounted(report: sources.ImportReport) -> int:
    """Every row read is kept or accounted for by exactly one rule."""
    merged = int((report.merged_areas["rows_in"] - report.merged_areas["rows_out"]).sum()) if len(
        report.merged_areas) else 0
    removed = sum(report.conflicts_resolved.values())
    dropped_unknown = 0 if report.unknown_areas_kept else report.rows_unknown_area
    return (report.rows_kept + report.exact_duplicates_dropped + sum(report.excluded.values()) + removed
            + dropped_unknown + merged)


# ------------------------------------------------------------------------------------------- FingertipsNext


@pytest.fixture(scope="module")
def fingertipsnext(shared_data: Path) -> tuple[pd.DataFrame, sources.ImportResult, float]:
    raw = pd.read_csv(shared_data / NEXT, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    result, seconds = timed_read(shared_data / NEXT, "fingertipsnext")
    print(f"\nFingertipsNext import: {seconds:.2f} s")
    return raw, result, seconds


def test_fingertipsnext_counts(fingertipsnext) -> None:
    raw, result, _ = fingertipsnext
    report = result.report
    # The README's numbers, recomputed from the raw file.
    distinct = raw.drop_duplicates()
    exact = len(raw) - len(distinct)
    conflicting = int(distinct.duplicated(NEXT_KEY).sum())
    assert (len(raw), exact, conflicting) == (44_452, 2_493, 614)
    assert report.rows_read == 44_452
    assert report.exact_duplicates_dropped == exact
    assert report.conflicting_duplicates == conflicting
    # 91040 is left out on purpose (quarters collapsed to one Year): its rows after exact duplicates.
    quarterly = int((distinct["IndicatorId"] == "91040").sum())
    assert sum(report.excluded.values()) == quarterly
    # Rows by the form of the area code. Once 91040 is out, every key with differing versions is
    # a sub-ICB (E38) key, so the other counts are exact and the sub-ICB rows plus the rows the
    # conflict rules removed are all the distinct sub-ICB rows.
    rest = distinct[distinct["IndicatorId"] != "91040"]
    codes = rest["AreaCode"]
    conflicted = rest[rest.duplicated(NEXT_KEY, keep=False)]
    assert set(conflicted["AreaCode"].str[:3]) == {"E38"}
    assert report.unknown_area_rows == {
        "gp": int(codes.str.fullmatch(r"[A-TV-Z]\d{5}").sum()),
        "sub_icb": int(codes.str.startswith("E38").sum()) - sum(report.conflicts_resolved.values()),
        "pcn": int(codes.str.fullmatch(r"U\d{5}").sum()),
        "icb": int(codes.str.startswith("E54").sum()),
    }
    english = rest[codes.str.match(ENGLISH_LA)]
    assert report.rows_kept == len(english) == 26_837
    assert report.rows_remapped == 0 and report.rows_not_current == 0
    assert report.inequality_rows == int((english["Category"] != "").sum())
    assert accounted(report) == report.rows_read
    # conflicts: 91344 sub-ICB rows lacking numbers, 352/383/90453 rounding, others left out
    assert set(report.conflicts_resolved) == {"kept the more complete row", "kept the more precise row",
                                              "left out every version of a key whose rows disagree"}


def test_fingertipsnext_values_and_metadata(fingertipsnext) -> None:
    raw, result, _ = fingertipsnext
    values = result.values
    assert set(values["sex"]) == {"Persons", "Male", "Female"}
    assert not values["category_type"].str.contains('"').any()
    assert (values["category_type"] == "County & UA deprivation deciles in England (IMD2019, 4/21 geography)").any()
    # Category without a CategoryTypeId keeps its category type text
    assert (values["category_type"] == "Ethnic groups").any()
    assert 91040 not in set(values["indicator_id"])
    periods = values.groupby("indicator_id")["period"].agg(lambda s: sorted(set(s))[0])
    assert periods[41101] == "2018/19"      # financial
    assert periods[92904] == "2018/19 - 20/21"  # 3-year pooled
    assert periods[92033] == "2018/19 - 22/23"  # academic, 5 years combined
    assert periods[93763] == "2018"         # calendar
    assert set(values.loc[values["indicator_id"] == 41101, "period_sort"]) >= {20180000}
    ind = result.indicators.set_index("indicator_id")
    assert len(ind) == 30
    # polarity: Pholio first (92033 is "High is good" in FingertipsNext's test metadata)
    assert ind.loc[92033, "polarity"] == "RAG - Low is good"
    assert ind.loc[241, "polarity"] == "Not applicable"
    # value type from the DataCreator metadata; FingertipsNext "No judgement" -> BOB
    assert ind.loc[22401, "value_type"] == "Directly standardised rate"
    assert ind.loc[41101, "value_type"] == "Indirectly standardised proportion"
    assert ind.loc[352, "polarity"] == "BOB - Blue orange blue"
    assert ind.loc[247, "comparator_method"] == "ci_99_8"
    assert ind.loc[20401, "multiplier"] == 1000


def test_fingertipsnext_population(fingertipsnext) -> None:
    raw, result, _ = fingertipsnext
    pop = result.population
    resident = raw[(raw["IndicatorId"] == "92708") & (raw["Age"] != "All ages")].drop_duplicates(NEXT_KEY)
    assert len(pop) == len(resident) == result.report.population_rows
    assert set(pop["age_band"]) == {f"{a}-{a + 4}" for a in range(0, 90, 5)} | {"90+"}
    england_2018 = pop[(pop["area_code"] == "E92000001") & (pop["year"] == 2018) & (pop["sex"] == "Male")]
    total = raw[(raw["IndicatorId"] == "92708") & (raw["AreaCode"] == "E92000001") & (raw["Year"] == "2018")
                & (raw["Sex"] == "Male") & (raw["Age"] == "All ages")]["Value"].astype(float).iloc[0]
    assert england_2018["population"].sum() == pytest.approx(total, rel=1e-6)


# ------------------------------------------------------------------------------------------- ONS


@pytest.fixture(scope="module")
def ons(shared_data: Path) -> tuple[pd.DataFrame, sources.ImportResult, float]:
    raw = pd.read_csv(shared_data / ONS, dtype=str, keep_default_na=False)
    result, seconds = timed_read(shared_data / ONS, "ons_local_indicators")
    print(f"\nONS import: {seconds:.2f} s")
    return raw, result, seconds


def test_ons_counts(ons) -> None:
    raw, result, _ = ons
    report = result.report
    assert len(raw) == report.rows_read == 143_847
    assert raw.duplicated(["indicator", "areacd", "period"]).sum() == 0
    assert report.exact_duplicates_dropped == 0 and report.conflicting_duplicates == 0
    codes = raw["areacd"]
    other_nation = int(codes.str.match(r"^[WSN]\d{8}$").sum())
    english = codes.str.match(ENGLISH_LA)
    assert report.unknown_area_rows == {"other_nation": other_nation, "unknown": int((~english).sum()) - other_nation}
    # Figures ONS publishes under both an old and the current code of one area (a recode): the
    # copy under the old code is dropped. Recodes come from the project's code_changes facts.
    changes = pd.read_csv(project_data("code_changes.csv"), dtype=str)
    current = set(pd.read_csv(project_data("areas.csv"), dtype=str)["area_code"])
    recodes = changes[changes["change"] == "recode"]
    to_current = {o: n for o, n in zip(recodes["old_code"], recodes["new_code"], strict=True) if n in current}
    to_current |= {n: o for o, n in zip(recodes["old_code"], recodes["new_code"], strict=True) if o in current}
    numbers = ["observation", "lci_95", "uci_95"]
    as_numbers = raw.assign(**{c: pd.to_numeric(raw[c]).fillna(-1.0) for c in numbers})  # "66.0" == "66"
    old = as_numbers[codes.isin(list(to_current))].assign(areacd=lambda d: d["areacd"].map(to_current))
    same = ["indicator", "areacd", "period", *numbers]
    copies = len(old.merge(as_numbers[same], on=same))
    assert copies == 113
    assert report.excluded == {"copies of rows also published under the current area code (old code recoded)": copies}
    assert report.rows_kept == int(english.sum()) - copies == 116_088
    assert accounted(report) == report.rows_read
    assert report.rows_remapped > 0 and report.rows_not_current > 0
    assert {"E10000006", "E10000009", "E10000021", "E07000004"} <= set(report.not_current["area_code"])
    assert report.merged_areas.empty  # no counts: nothing can be re-aggregated


def test_ons_periods_ids_and_metadata(ons) -> None:
    raw, result, _ = ons
    values = result.values
    ind = result.indicators.set_index("indicator_id")
    assert len(ind) == 32 and ind.index.min() == 9_000_001 and ind.index.max() == 9_000_032
    hle = ind.index[ind["name"] == "Male healthy life expectancy"][0]
    assert ind.loc[hle, "polarity"] == "RAG - High is good"
    assert ind.loc[hle, "value_type"] == "Life expectancy"
    periods = set(values.loc[values["indicator_id"] == hle, "period"])
    assert "2021 - 23" in periods
    assert set(values.loc[values["indicator_id"] == hle, "period_sort"]) >= {20210000}
    poverty = ind.index[ind["name"] == "Children in relative poverty before housing costs"][0]
    assert "2021/22" in set(values.loc[values["indicator_id"] == poverty, "period"])
    pay = ind.index[ind["name"] == "Gross median weekly pay"][0]
    assert "2022" in set(values.loc[values["indicator_id"] == pay, "period"])  # April snapshot -> its year
    assert (values["value_note"] == "Not available (x)").any()
    assert values["value"].isna().sum() > 0  # suppressed values kept, with their note


def test_import_timings(fingertipsnext, ons) -> None:
    """Import time of the two large files (seconds; printed with -s)."""
    assert fingertipsnext[2] < 20 and ons[2] < 30


# ------------------------------------------------------------------------------------------- template


def test_local_template_imports() -> None:
    result = sources.read_tidy(TEMPLATE, "local_template")
    assert result.report.rows_read == result.report.rows_kept == 3
    ind = result.indicators.set_index("indicator_id")
    safe = hashed_id("Adults who feel safe walking alone after dark (residents' survey)")
    assert 9_100_000 <= safe < 10_000_000
    assert set(ind.index) == {9_000_901, safe}
    assert ind.loc[safe, "value_type"] == "Proportion" and ind.loc[safe, "polarity"] == "RAG - High is good"
    assert ind.loc[9_000_901, "unit"] == "per 1,000 households"
    assert set(result.values["sex"]) == {"Persons", "Female"}
    assert set(result.values["period_sort"]) == {20220000, 20230000}
    assert hashed_id("  adults who feel SAFE walking alone after dark (residents' survey) ") == safe


def test_excel_reads_like_csv(tmp_path: Path) -> None:
    frame = pd.read_csv(TEMPLATE, dtype=str, keep_default_na=False)
    book = tmp_path / "local.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"About": ["Our indicators"]}).to_excel(writer, sheet_name="Readme", index=False)
        frame.to_excel(writer, sheet_name="Data", index=False)
    mapping = sources.load_mapping("local_template") | {"sheet": "Data"}
    from_excel = sources.read_tidy(book, mapping)
    from_csv = sources.read_tidy(TEMPLATE, "local_template")
    pd.testing.assert_frame_equal(from_excel.values, from_csv.values)
    with pytest.raises(SourceError, match=r"local\.xlsx has no sheet 'Values'; its sheets are 'Readme', 'Data'"):
        sources.read_tidy(book, mapping | {"sheet": "Values"})
    # row numbers in errors are the spreadsheet's
    frame.loc[1, "value"] = "sixty"
    with pd.ExcelWriter(book) as writer:
        frame.to_excel(writer, sheet_name="Data", index=False)
    with pytest.raises(SourceError, match=r"column 'value' must hold numbers.*row 3: 'sixty'"):
        sources.read_tidy(book, sources.load_mapping("local_template"))


# ------------------------------------------------------------------------------------------- mapping features


def test_iso_periods() -> None:
    text = pd.Series(["2021-01-01/P1Y", "2021-04-01/P1Y", "2021-01-01/P3Y", "2019-04-01/P3Y", "2021-03-01/P1M",
                      "2021-01-01/P3M", "2022-04-20", "bad", "2021-13-01/P1Y"])
    period, sort, bad = parse_iso_periods(text)
    assert list(period[:7]) == ["2021", "2021/22", "2021 - 23", "2019/20 - 21/22", "Mar 2021", "Jan 2021 - Mar 2021",
                                "2022-04-20"]
    assert list(sort[:7]) == [20210000, 20210000, 20210000, 20190000, 20210300, 20210100, 20220420]
    assert list(bad) == [False] * 7 + [True, True]
    year, year_sort, _ = parse_iso_periods(pd.Series(["2022-04-20"]), instant="year")
    assert (year[0], year_sort[0]) == ("2022", 20220000)


def test_period_labels_and_sort_keys() -> None:
    labels = label_years(pd.Series([2021, 2021, 2019, 2018]), pd.Series([1, 1, 3, 3]),
                         pd.Series([False, True, False, True]))
    assert list(labels) == ["2021", "2021/22", "2019 - 21", "2018/19 - 20/21"]
    sort = period_sort_from_text(pd.Series(["2015", "2015/16", "2019 - 21", "2018/19 Q2", "Mar 2021", "2021-03-15", "x"]))
    assert list(sort[:6]) == [20150000, 20150000, 20190000, 20180200, 20210300, 20210315]
    assert pd.isna(sort[6])


def tidy_file(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


MAPPING = {
    "name": "test",
    "columns": {
        "indicator_name": "Indicator",
        "area_code": "Code",
        "sex": {"column": "SexID", "values": {"1": "Male", "2": "Female", "4": "Persons"}},
        "age": {"constant": "18+ yrs"},
        "period": {"column": "Year", "parse": "year"},
        "value": "Value",
        "count": "Count",
        "denominator": "Denominator",
        "value_note": [{"column": "Status", "values": {"x": "Suppressed"}, "unmapped": "keep"}, {"column": "Note"}],
    },
    "indicator_ids": {"Smoking": 9000001},
    "indicators": {"Smoking": {"value_type": "Proportion", "polarity": "Low is good", "unit": "%"}},
}
GOOD = ("Indicator,Code,SexID,Year,Value,Count,Denominator,Status,Note\n"
        "Smoking,E92000001,4,2021,12.5,125,1000,,\n"
        "Smoking,E06000015,1,2021,,,,x,small numbers\n"
        "Drinking,E06000015,2,2021,3.5,,,,\n")


def test_mapping_constants_value_maps_notes_and_ids(tmp_path: Path) -> None:
    result = sources.read_tidy(tidy_file(tmp_path, GOOD), MAPPING)
    values = result.values
    assert list(values["sex"]) == ["Persons", "Male", "Female"]
    assert set(values["age"]) == {"18+ yrs"}
    assert list(values["period"]) == ["2021"] * 3 and set(values["period_sort"]) == {20210000}
    assert values.loc[1, "value_note"] == "Suppressed; small numbers"
    ind = result.indicators.set_index("indicator_id")
    assert ind.loc[9000001, "polarity"] == "RAG - Low is good"
    assert hashed_id("Drinking") in ind.index
    assert ind.loc[hashed_id("Drinking"), "polarity"] == "Not applicable"
    assert any("Drinking" in n and "hashed" in n for n in result.report.notes)
    # a JSON mapping file works the same
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(MAPPING))
    assert len(sources.read_tidy(tidy_file(tmp_path, GOOD), path).values) == 3


def test_unknown_bundled_mapping_lists_the_bundled_ones(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"mapping 'nope' not found.*fingertipsnext, local_template, ons_local"):
        sources.read_tidy(tidy_file(tmp_path, GOOD), "nope")


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("SexID", "Sex"), r"data\.csv is missing column\(s\) 'SexID'"),
    (GOOD.replace("Smoking,E06000015,1,2021,,", "Smoking,E06000015,1,2021,n/a,"),
     r"data\.csv: column 'Value' must hold numbers.*row 3: 'n/a'"),
    (GOOD.replace("Drinking,E06000015,2", "Drinking,E06000015,9"),
     r"column 'SexID' \(→ sex\) has value\(s\) '9' that the mapping does not list \(row 4\)"),
    (GOOD.replace("Drinking,E06000015,2,2021,3.5", "Smoking,E06000015,1,2021,3.5"),
     r"(?s)1 key\(s\) appear on more than one row.*row 3: value=nan; row 4: value=3.5"),
    (GOOD.replace("2021,3.5", "21/22,3.5"), r"column 'Year' must hold a four-digit year; row 4"),
    (GOOD.replace("E92000001", "S92000003").replace("E06000015", "W06000015"),
     r"none of its 2 area code\(s\) is an English area"),
    ("", r"data\.csv is empty \(0 bytes\)"),
    (GOOD.splitlines()[0] + "\n", r"data\.csv has a header row but no data rows"),
])
def test_broken_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        sources.read_tidy(tidy_file(tmp_path, text), MAPPING)


def test_unknown_area_rows_are_counted(tmp_path: Path) -> None:
    text = GOOD + "Smoking,W06000015,4,2021,3,,,,\nSmoking,E99999999,4,2021,3,,,,\n"
    result = sources.read_tidy(tidy_file(tmp_path, text), MAPPING)
    assert result.report.unknown_area_rows == {"other_nation": 1, "unknown": 1}
    assert len(result.values) == 3


def test_cp1252_file_is_read_with_a_warning(tmp_path: Path) -> None:
    text = GOOD.replace("small numbers", "cost £5 (café)")
    path = tidy_file(tmp_path, text, encoding="cp1252")
    with pytest.warns(SourceWarning, match=r"data\.csv is not UTF-8.*line 3.*Windows-1252"):
        result = sources.read_tidy(path, MAPPING)
    assert result.values.loc[1, "value_note"] == "Suppressed; cost £5 (café)"
    # an explicit encoding is used strictly, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", SourceWarning)
        assert len(sources.read_tidy(path, MAPPING | {"encoding": "cp1252"}).values) == 3


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_store_upsert_and_nothing_written_on_failure(tmp_path: Path) -> None:
    store = Store(tmp_path / "store", create=True)
    sources.import_to_store(TEMPLATE, store, format="tidy", mapping="local_template")
    sources.import_to_store(tidy_file(tmp_path, GOOD), store, format="tidy", mapping=MAPPING)
    assert len(store.read("values")) == 6
    before = snapshot(store.path)
    broken = tidy_file(tmp_path, GOOD.replace("3.5", "three"), name="broken.csv")
    with pytest.raises(SourceError, match=r"broken\.csv: column 'Value'"):
        sources.import_to_store(broken, store, format="tidy", mapping=MAPPING)
    with pytest.raises(SourceError, match="needs a mapping"):
        sources.import_to_store(TEMPLATE, store, format="tidy")
    assert snapshot(store.path) == before
    # re-importing a corrected file replaces the rows with the same key
    sources.import_to_store(tidy_file(tmp_path, GOOD.replace("12.5", "13.5")), store, format="tidy", mapping=MAPPING)
    values = store.read("values")
    assert len(values) == 6
    assert (values["value"] == 13.5).sum() == 1 and (values["value"] == 12.5).sum() == 0


def test_fingertipsnext_population_reaches_the_store(shared_data: Path, tmp_path: Path) -> None:
    # a small slice of the real file keeps this quick
    raw = pd.read_csv(shared_data / NEXT, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    part = raw[raw["IndicatorId"].isin(["92708", "93763"]) & raw["AreaCode"].isin(["E92000001", "E08000001"])]
    path = tmp_path / "next.csv"
    part.to_csv(path, index=False)
    store = Store(tmp_path / "store", create=True)
    result = sources.import_to_store(path, store, format="tidy", mapping="fingertipsnext")
    assert len(store.read("population")) == result.report.population_rows > 0
    assert any("metadata file" in n for n in result.report.notes)  # metadata files not next to the copy
