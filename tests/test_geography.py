"""Tests of jsna_lib.geography: the reference areas, their hierarchy, code changes, groups."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pandas as pd
import pytest

from jsna_lib import geography as geo
from jsna_lib import schema
from jsna_lib._paths import project_data

REPO = Path(__file__).resolve().parent.parent


def _no_warnings(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# The table and its hierarchy


def test_counts_per_area_type():
    table = geo.areas()
    assert table["area_type"].value_counts().to_dict() == {"ltla": 296, "utla": 153, "region": 9, "england": 1}
    assert [len(geo.areas(t)) for t in geo.AREA_TYPES] == [1, 9, 153, 296]
    assert not table.duplicated(["area_code", "area_type"]).any()
    assert list(table.columns) == list(schema.AREAS.columns)
    with pytest.raises(ValueError, match="unknown area_type 'county'"):
        geo.areas("county")


def test_areas_returns_a_copy():
    table = geo.areas()
    table.loc[0, "area_name"] = "Changed"
    assert geo.areas().loc[0, "area_name"] == "England"


def test_region_names_are_ons_names():
    names = dict(zip(geo.areas("region")["area_code"], geo.areas("region")["area_name"], strict=True))
    assert names["E12000001"] == "North East"
    assert names["E12000003"] == "Yorkshire and The Humber"
    assert not any(name.endswith("Region") for name in names.values())


def test_every_ltla_parent_is_a_utla_in_the_same_region():
    utlas = geo.areas("utla").set_index("area_code")
    ltlas = geo.areas("ltla")
    assert ltlas["parent_code"].isin(utlas.index).all()
    assert (utlas.loc[ltlas["parent_code"], "region_code"].to_numpy() == ltlas["region_code"].to_numpy()).all()
    # Every UTLA has at least one LTLA; a unitary's LTLA row is its own child.
    assert set(ltlas["parent_code"]) == set(utlas.index)
    unitary = ltlas[~ltlas["area_code"].str.startswith("E07")]
    assert (unitary["parent_code"] == unitary["area_code"]).all()
    assert ltlas["area_code"].str.startswith("E07").sum() == 164


def test_every_utla_parent_is_a_region_and_every_region_parent_is_england():
    regions = set(geo.areas("region")["area_code"])
    utlas = geo.areas("utla")
    assert utlas["parent_code"].isin(regions).all()
    assert (utlas["parent_code"] == utlas["region_code"]).all()
    assert utlas["area_code"].str[:3].isin(["E06", "E08", "E09", "E10"]).all()
    assert (geo.areas("region")["parent_code"] == "E92000001").all()
    assert geo.parent("E92000001") is None


def test_burnley_lancashire_north_west():
    assert geo.parent("E07000117") == "E10000017"
    assert geo.parent("E10000017") == "E12000002"
    assert geo.parent("E12000002") == "E92000001"
    assert geo.area_name("E10000017") == "Lancashire"
    assert geo.area_name("E12000002") == "North West"
    assert geo.region_of("E07000117") == "E12000002"
    assert geo.region_of("E12000002") == "E12000002"
    with pytest.raises(ValueError, match="not in a region"):
        geo.region_of("E92000001")


def test_birmingham_is_both_utla_and_ltla():
    assert "E08000025" in set(geo.areas("utla")["area_code"])
    assert "E08000025" in set(geo.areas("ltla")["area_code"])
    row = geo.area("E08000025")
    assert (row["area_name"], row["area_type"], row["parent_code"]) == ("Birmingham", "utla", "E12000005")
    as_ltla = geo.area("E08000025", area_type="ltla")
    assert (as_ltla["area_type"], as_ltla["parent_code"]) == ("ltla", "E08000025")
    assert geo.parent("E08000025") == "E12000005"
    assert geo.children("E08000025")["area_code"].tolist() == ["E08000025"]


def test_valid_dates():
    table = geo.areas()
    assert geo.area("E06000060")["valid_from"] == "2020-04-01"
    assert geo.area("E08000016")["valid_to"] == "2025-03-31"
    assert set(table.loc[table["valid_to"] != "", "area_code"]) == {"E08000016", "E08000019"}


# --------------------------------------------------------------------------------------------
# Lookup by code and name


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("birmingham", "E08000025"),
        ("  BIRMINGHAM ", "E08000025"),
        ("e08000025", "E08000025"),
        ("Bournemouth, Christchurch and Poole", "E06000058"),
        ("bournemouth christchurch & poole", "E06000058"),
        ("Brighton & Hove", "E06000043"),
        ("North East Region", "E12000001"),
        ("yorkshire and the humber", "E12000003"),
        ("Bristol", "E06000023"),
        ("Bristol, City of", "E06000023"),
        ("City of Bristol", "E06000023"),
        ("Kingston upon Hull", "E06000010"),
        ("Buckinghamshire UA", "E06000060"),
        ("Stockton on Tees", "E06000004"),
        ("King's Lynn and West Norfolk", "E07000146"),
        ("england", "E92000001"),
    ],
)
def test_lookup_by_name_or_code(query, code):
    assert _no_warnings(geo.area, query)["area_code"] == code


def test_unknown_code_suggests_the_right_match():
    with pytest.raises(geo.UnknownAreaError) as info:
        geo.area("E0800025")
    assert str(info.value) == "unknown area 'E0800025': did you mean E08000025 (Birmingham)?"
    assert isinstance(info.value, ValueError)
    assert info.value.suggestions == ["E08000025"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("Birmingam", "E08000025 (Birmingham)"), ("Durham", "E06000047 (County Durham)"),
     ("Westmorland", "E06000064 (Westmorland and Furness)"), ("E7000117", "E07000117 (Burnley)")],
)
def test_unknown_name_suggests_the_right_match(query, expected):
    with pytest.raises(geo.UnknownAreaError, match="did you mean") as info:
        geo.area(query)
    assert expected in str(info.value)
    assert len(info.value.suggestions) <= 5


def test_unknown_without_close_match():
    with pytest.raises(geo.UnknownAreaError, match="no close match"):
        geo.area("Atlantis")
    with pytest.raises(geo.UnknownAreaError):
        geo.area("")


def test_old_codes_explain_what_became_of_them():
    with pytest.raises(geo.UnknownAreaError, match=r"merged into E06000060 \(Buckinghamshire\)"):
        geo.area("E07000004")
    with pytest.raises(geo.UnknownAreaError, match=r"merged into E06000060"):
        geo.area("Aylesbury Vale")
    with pytest.raises(geo.UnknownAreaError, match=r"split .* E06000061 \(North Northamptonshire\), E06000062"):
        geo.area("E10000021")
    with pytest.warns(geo.AreaCodeWarning, match="E08000038 .* using E08000016"):
        assert geo.area("E08000038")["area_code"] == "E08000016"


def test_area_type_mismatch():
    with pytest.raises(geo.UnknownAreaError, match="E07000117 \\(Burnley\\) has area type ltla, not utla"):
        geo.area("E07000117", area_type="utla")


# --------------------------------------------------------------------------------------------
# Navigation


def test_children():
    assert len(geo.children("E92000001")) == 9
    assert len(geo.children("E92000001", "utla")) == 153
    north_west = geo.areas("utla").query("region_code == 'E12000002'")
    assert geo.children("E12000002")["area_code"].tolist() == north_west["area_code"].tolist()
    assert set(geo.children("E12000002", "ltla")["region_code"]) == {"E12000002"}
    lancashire = geo.children("E10000017")
    assert lancashire["area_code"].tolist() == [f"E07000{n}" for n in range(117, 129)]
    assert geo.children("E07000117").empty
    with pytest.raises(ValueError, match="children"):
        geo.children("E07000117", "utla")


def test_siblings():
    burnley = geo.siblings("E07000117")
    assert "E07000117" not in set(burnley["area_code"])
    assert set(burnley["area_type"]) == {"ltla"} and set(burnley["region_code"]) == {"E12000002"}
    assert len(burnley) == len(geo.children("E12000002", "ltla")) - 1
    assert len(geo.siblings("E12000001")) == 8
    assert geo.siblings("E92000001").empty
    assert set(geo.siblings("E08000025")["area_type"]) == {"utla"}


def test_lookup_codes_is_aligned_with_the_input():
    codes = pd.Series(["E08000025", "e07000117 ", "E0800025", None, "E10000021"], index=[10, 11, 12, 13, 14])
    found = geo.lookup_codes(codes)
    assert found.index.tolist() == [10, 11, 12, 13, 14]
    assert found["area_code"].tolist()[:3] == ["E08000025", "e07000117 ", "E0800025"]
    assert found["area_type"].tolist()[:2] == ["utla", "ltla"]
    assert found.loc[11, "parent_code"] == "E10000017" and found.loc[11, "region_code"] == "E12000002"
    assert found.loc[[12, 13, 14], "area_name"].isna().all()
    assert geo.lookup_codes([]).empty


def test_is_current():
    codes = pd.Series(["E08000016", "E08000038", "E10000021", "E06000066", "W06000001", None])
    assert geo.is_current(codes).tolist() == [True, False, False, True, False, False]
    assert geo.is_current(["E92000001"]).dtype == bool


def test_area_type_of():
    codes = ["E92000001", "E12000001", "E10000017", "E06000001", "E08000025", "E09000001", "E07000117",
             "E02000001", "E01000001", "E38000014", "E54000008", "E40000010", "W06000001", "S12000033",
             "N09000001", "A82001", "N81022", "U01901", "E47000001", "E0800025", "", None]
    expected = ["england", "region", "utla", "utla", "utla", "utla", "ltla", "msoa", "lsoa", "sub_icb", "icb",
                "nhs_region", "other_nation", "other_nation", "other_nation", "gp", "gp", "pcn", "unknown",
                "unknown", "unknown", "unknown"]
    series = pd.Series(codes, index=range(100, 100 + len(codes)))
    result = geo.area_type_of(series)
    assert result.tolist() == expected
    assert result.index.equals(series.index)


# --------------------------------------------------------------------------------------------
# Code changes


def test_code_changes_table():
    changes = geo.code_changes()
    assert list(changes.columns) == list(schema.CODE_CHANGES.columns)
    assert set(changes["change"]) == {"recode", "merger", "split"}
    assert not changes.duplicated(["old_code", "new_code"]).any()
    assert not changes["old_code"].str.startswith("E47").any() and not changes["new_code"].str.startswith("E47").any()
    assert changes["old_code"].str.startswith("E").all()
    pairs = set(zip(changes["old_code"], changes["new_code"], changes["change"], strict=True))
    for expected in [
        ("E06000048", "E06000057", "recode"),
        ("E06000028", "E06000058", "merger"),
        ("E07000048", "E06000058", "merger"),
        ("E10000009", "E06000059", "split"),
        ("E10000009", "E06000058", "split"),
        ("E10000002", "E06000060", "recode"),
        ("E07000004", "E06000060", "merger"),
        ("E10000021", "E06000061", "split"),
        ("E10000021", "E06000062", "split"),
        ("E10000006", "E06000063", "split"),
        ("E10000023", "E06000065", "recode"),
        ("E10000027", "E06000066", "recode"),
        ("E07000246", "E06000066", "merger"),
        ("E08000016", "E08000038", "recode"),
        ("E08000019", "E08000039", "recode"),
    ]:
        assert expected in pairs
    # Every new code of a merger joined several old areas.
    mergers = changes[changes["change"] == "merger"]
    assert (mergers.groupby("new_code").size() >= 2).all()
    # Every old code now leads to the reference geography.
    assert geo.is_current(geo._resolution()["new_code"].str.split("; ").explode()).all()


def test_merger_groups():
    groups = geo.merger_groups()
    assert list(groups.columns) == ["old_code", "old_name", "new_code", "new_name", "date"]
    bcp = groups[groups["new_code"] == "E06000058"]
    assert bcp["old_code"].tolist() == ["E06000028", "E06000029", "E07000048"]
    assert set(groups.loc[groups["new_code"] == "E06000060", "old_code"]) == {f"E0700000{n}" for n in range(4, 8)}
    # Chains are followed: Taunton Deane → Somerset West and Taunton (2019) → Somerset (2023).
    somerset = groups.set_index("old_code").loc[["E07000190", "E07000246"]]
    assert somerset["new_code"].tolist() == ["E06000066", "E06000066"]
    assert somerset["date"].tolist() == ["2019-04-01", "2023-04-01"]
    # Recodes and splits are not mergers.
    assert not groups["old_code"].isin(["E10000002", "E10000021", "E10000009", "E08000016"]).any()
    assert geo.is_current(groups["new_code"]).all()


def test_remap_codes_recodes_and_reports():
    data = pd.DataFrame({
        "area_code": ["E06000048", "E06000048", "E10000002", "E07000004", "E06000028", "E08000038",
                      "E10000021", "E08000025", "W06000001", None],
        "value": range(10),
    })
    original = data.copy()
    with pytest.warns(geo.AreaCodeWarning) as record:
        remapped, report = geo.remap_codes(data)
    assert len(record) == 1
    message = str(record[0].message)
    assert "E06000048 (Northumberland) → E06000057 (Northumberland): 2 row(s)" in message
    assert "E08000038 (Barnsley) → E08000016 (Barnsley)" in message
    assert "E10000002 (Buckinghamshire) → E06000060 (Buckinghamshire)" in message
    assert "E07000004 (Aylesbury Vale, merger into E06000060)" in message
    assert "E10000021 (Northamptonshire, split into E06000061; E06000062)" in message

    pd.testing.assert_frame_equal(data, original)  # the input is not changed
    assert remapped["area_code"].tolist()[:9] == ["E06000057", "E06000057", "E06000060", "E07000004", "E06000028",
                                                  "E08000016", "E10000021", "E08000025", "W06000001"]
    assert pd.isna(remapped["area_code"].iloc[9])
    assert remapped["value"].tolist() == list(range(10))

    assert list(report.columns) == ["old_code", "old_name", "new_code", "new_name", "change", "rows"]
    rows = {r.old_code: (r.new_code, r.change, r.rows) for r in report.itertuples()}
    assert rows == {
        "E06000048": ("E06000057", "recode", 2),
        "E08000038": ("E08000016", "recode", 1),
        "E10000002": ("E06000060", "recode", 1),
        "E06000028": ("E06000058", "merger", 1),
        "E07000004": ("E06000060", "merger", 1),
        "E10000021": ("E06000061; E06000062", "split", 1),
    }
    assert report["change"].tolist() == ["recode"] * 3 + ["merger"] * 2 + ["split"]


def test_remap_codes_without_old_codes_is_silent():
    data = pd.DataFrame({"code": ["E08000025", "E06000028"]})
    remapped, report = _no_warnings(geo.remap_codes, data, code_column="code")
    assert remapped["code"].tolist() == ["E08000025", "E06000028"]  # a merger alone: reported, not remapped
    assert report["change"].tolist() == ["merger"]
    _, empty_report = _no_warnings(geo.remap_codes, pd.DataFrame({"area_code": pd.Series([], dtype="string")}))
    assert empty_report.empty
    with pytest.raises(ValueError, match="column 'area_code' not found"):
        geo.remap_codes(data)


def test_remap_codes_keeps_index_and_dtype():
    data = pd.DataFrame({"area_code": pd.array(["E06000048", "E08000025", None], dtype="string"), "v": [1, 2, 3]},
                        index=[7, 7, 3])
    with pytest.warns(geo.AreaCodeWarning):
        remapped, report = geo.remap_codes(data)
    assert remapped.index.tolist() == [7, 7, 3]
    assert remapped["area_code"].dtype == "string"
    assert remapped["area_code"].tolist()[:2] == ["E06000057", "E08000025"]
    assert pd.isna(remapped["area_code"].iloc[2])
    assert report["rows"].tolist() == [1]


@pytest.fixture
def synthetic_changes(tmp_path, monkeypatch):
    """code_changes.csv with a recode chain old → older-current → current → newer (Hartlepool)."""
    changes = pd.DataFrame(
        [
            ("E06900001", "Old Hartlepool", "E06900002", "Middle Hartlepool", "recode", "2019-04-01"),
            ("E06900002", "Middle Hartlepool", "E06000001", "Hartlepool", "recode", "2023-04-01"),
            ("E06000001", "Hartlepool", "E06900003", "New Hartlepool", "recode", "2025-04-01"),
            ("E07900001", "Old district", "E07900002", "Middle district", "recode", "2019-04-01"),
            ("E07900002", "Middle district", "E06000002", "Middlesbrough", "merger", "2023-04-01"),
            ("E07900003", "Other district", "E06000002", "Middlesbrough", "merger", "2023-04-01"),
        ],
        columns=list(schema.CODE_CHANGES.columns),
    )
    path = tmp_path / "code_changes.csv"
    changes.to_csv(path, index=False)
    real = geo.project_data
    monkeypatch.setattr(geo, "project_data", lambda name: path if name == "code_changes.csv" else real(name))
    geo._clear_caches()
    yield changes
    monkeypatch.undo()
    geo._clear_caches()


def test_remap_codes_follows_chains(synthetic_changes):
    data = pd.DataFrame({"area_code": ["E06900001", "E06900002", "E06900003", "E07900001", "E06000001"]})
    with pytest.warns(geo.AreaCodeWarning, match="E06900001 \\(Old Hartlepool\\) → E06000001 \\(Hartlepool\\)"):
        remapped, report = geo.remap_codes(data)
    assert remapped["area_code"].tolist() == ["E06000001"] * 3 + ["E07900001", "E06000001"]
    assert report.set_index("old_code")["change"].to_dict() == {
        "E06900001": "recode", "E06900002": "recode", "E06900003": "recode", "E07900001": "merger"}
    groups = geo.merger_groups()
    assert groups["old_code"].tolist() == ["E07900001", "E07900002", "E07900003"]
    assert set(groups["new_code"]) == {"E06000002"}


# --------------------------------------------------------------------------------------------
# Groups


def test_group():
    members = geo.group("Lancashire and Birmingham", ["E07000117", "E08000025", "e07000117", "E10000017"])
    assert members["area_code"].tolist() == ["E07000117", "E08000025", "E10000017"]
    assert members["area_type"].tolist() == ["ltla", "utla", "utla"]
    assert set(members["group"]) == {"Lancashire and Birmingham"}
    assert list(members.columns) == [*schema.AREAS.columns, "group"]


def test_group_lists_every_bad_code():
    with pytest.raises(geo.UnknownAreaError) as info:
        geo.group("mine", ["E07000117", "E0800025", "E10000021", "nonsense"])
    message = str(info.value)
    assert "3 unknown area code(s)" in message
    assert "'E0800025': did you mean E08000025 (Birmingham)?" in message
    assert "E10000021 (Northamptonshire) is no longer a current area" in message
    assert "'nonsense'" in message
    with pytest.raises(ValueError, match="at least one"):
        geo.group("empty", [])


def test_project_data_path():
    assert project_data("areas.csv") == REPO / "data" / "areas.csv"
    assert project_data("areas.csv").exists() and project_data("code_changes.csv").exists()


# --------------------------------------------------------------------------------------------
# Real public data (JSNA_SHARED_DATA)


@pytest.mark.shared_data
def test_committed_files_are_what_the_build_script_makes(shared_data):
    spec = importlib.util.spec_from_file_location("build_areas", REPO / "data" / "build_areas.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    areas, changes = build.build(shared_data)
    committed_areas = pd.read_csv(project_data("areas.csv"), dtype=str, keep_default_na=False)
    committed_changes = pd.read_csv(project_data("code_changes.csv"), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(areas.astype(str), committed_areas.astype(str), check_dtype=False)
    pd.testing.assert_frame_equal(changes.astype(str), committed_changes.astype(str), check_dtype=False)


@pytest.mark.shared_data
def test_agrees_with_fingertipsnext_lookup(shared_data):
    lookup = pd.read_csv(shared_data / "geography" / "ltla_utla_region_lookup_england_2024_from_fingertipsnext.csv")
    ltlas = geo.areas("ltla").set_index("area_code")
    utlas = geo.areas("utla").set_index("area_code")
    assert set(lookup["ltla_code"]) == set(ltlas.index)
    assert set(lookup["utla_code"]) == set(utlas.index)
    assert set(lookup["region_code"]) == set(geo.areas("region")["area_code"])
    lookup = lookup.set_index("ltla_code")
    assert (ltlas.loc[lookup.index, "parent_code"].to_numpy() == lookup["utla_code"].to_numpy()).all()
    assert (ltlas.loc[lookup.index, "region_code"].to_numpy() == lookup["region_code"].to_numpy()).all()
    # Fingertips' spellings of the names find the same areas ("Bristol", "North East Region", ...).
    for kind, code_col, name_col in (("ltla", None, "ltla_name"), ("utla", "utla_code", "utla_name"),
                                     ("region", "region_code", "region_name")):
        pairs = lookup.reset_index()[[code_col or "ltla_code", name_col]].drop_duplicates()
        for code, name in pairs.itertuples(index=False):
            assert _no_warnings(geo.area, name, kind)["area_code"] == code, name


@pytest.mark.shared_data
def test_agrees_with_ons_ltla21_lookup_and_code_changes(shared_data):
    lookup = pd.read_csv(shared_data / "geography" / "ons_ltla21_utla21_lookup_ew.csv")
    lookup = lookup[lookup["LTLA21CD"].str.startswith("E")]
    assert len(lookup) == 309
    _, ltla_report = _no_warnings(geo.remap_codes, lookup[["LTLA21CD"]].rename(columns={"LTLA21CD": "area_code"}))
    with pytest.warns(geo.AreaCodeWarning, match="E10000023 \\(North Yorkshire\\) → E06000065"):
        _, utla_report = geo.remap_codes(lookup[["UTLA21CD"]].rename(columns={"UTLA21CD": "area_code"}))
    assert set(ltla_report["change"]) == {"merger"}  # 2023: Cumbria, North Yorkshire, Somerset districts
    assert set(utla_report["old_code"]) == {"E10000006", "E10000023", "E10000027"}
    successors = {**dict(zip(ltla_report["old_code"], ltla_report["new_code"], strict=True)),
                  **dict(zip(utla_report["old_code"], utla_report["new_code"], strict=True))}
    for ltla21, utla21 in lookup[["LTLA21CD", "UTLA21CD"]].itertuples(index=False):
        ltla_now = successors.get(ltla21, ltla21)
        utla_now = successors.get(utla21, utla21).split("; ")
        assert geo.area(ltla_now, "ltla")["parent_code"] in utla_now, (ltla21, utla21)
        assert geo.region_of(ltla_now) in {geo.region_of(u) for u in utla_now}


@pytest.mark.shared_data
def test_every_2018_district_is_current_or_changed(shared_data):
    lookup = pd.read_csv(shared_data / "geography" / "ons_ltla_cty_cauth_rgn_lookup_2014_2025.csv")
    english = lookup[lookup["ltlacd"].str.startswith("E")]
    assert len(english) == 326
    changed = set(geo.code_changes()["old_code"])
    known = geo.is_current(english["ltlacd"]) | english["ltlacd"].isin(changed)
    assert known.all(), english.loc[~known, "ltlacd"].tolist()
    # Old districts keep their region.
    remapped, report = _no_warnings(geo.remap_codes, english[["ltlacd", "rgncd"]], code_column="ltlacd")
    merged = report[report["change"] == "merger"].set_index("old_code")["new_code"]
    now = remapped["ltlacd"].replace(merged.to_dict())
    assert (geo.lookup_codes(now)["region_code"].to_numpy() == remapped["rgncd"].to_numpy()).all()


@pytest.mark.shared_data
def test_campylobacter_export_codes_are_current_or_changed(shared_data):
    export = pd.read_csv(shared_data / "fingertips" / "exports" / "indicators-CountyUA.data__campylobacter_2015.csv")
    codes = pd.Series(export["Area Code"].unique())
    english = codes[codes.str.startswith("E")]
    known = geo.is_current(english) | english.isin(set(geo.code_changes()["old_code"]))
    assert known.all(), english[~known].tolist()
    with pytest.warns(geo.AreaCodeWarning):
        remapped, report = geo.remap_codes(export.rename(columns={"Area Code": "area_code"}))
    assert report.set_index("old_code")["change"].to_dict() == {
        "E10000002": "recode", "E10000023": "recode", "E10000027": "recode",
        "E06000028": "merger", "E06000029": "merger",
        "E10000006": "split", "E10000009": "split", "E10000021": "split",
    }
    left = remapped.loc[~geo.is_current(remapped["area_code"]), "area_code"]
    assert set(left) == {"E06000028", "E06000029", "E10000006", "E10000009", "E10000021"}
    utlas = export.loc[export["Area Type"] == "County & UA", "Area Code"].unique()
    assert len(utlas) == 152
    assert (geo.area_type_of(pd.Series(utlas)) == "utla").all()
