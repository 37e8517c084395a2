"""Build ``data/areas.csv`` and ``data/code_changes.csv`` from public ONS files.

Run from the repository root::

    python data/build_areas.py [SHARED_DATA_DIR]

``SHARED_DATA_DIR`` defaults to ``$JSNA_SHARED_DATA``, then ``../shared/data``. The script only
reads; it writes the two CSVs next to itself. Its output is deterministic: running it again on
the same inputs gives byte-identical files, so ``git diff`` shows any real change.

What the two files hold (the facts are codes, names and dates: no other content of the
source files is copied into the project):

``areas.csv``: the English statistical geography of April 2023 (in force into 2025), the
reference vintage of the workbench. It has 1 ``england`` row, 9 ``region`` rows (E12), 153
``utla`` rows (counties E10 and unitaries E06/E08/E09) and 296 ``ltla`` rows (districts E07 and
the unitaries again). A unitary authority is one row per tier: the key of the table is
(area_code, area_type). Parents: England has none; a region's parent is England; a UTLA's parent
is its region; an LTLA's parent is its UTLA (a unitary LTLA's parent is itself as a UTLA).
``region_code`` is the area's region (a region's own code; empty for England). ``valid_from`` is
the date a code came into use when that date is among the recorded code changes, and
``valid_to`` is set only for E08000016 Barnsley and E08000019 Sheffield, recoded on 1 April 2025
(E08000038, E08000039) after a boundary change between them; the workbench keeps the 2023 codes
as "current" because Fingertips data and the 153/296 counts use them.

``code_changes.csv``: every change of an English local-authority code from 2012 to 2025, one
row per (old_code, new_code): ``change`` is ``recode`` (one old code, one new code, the same
area), ``merger`` (the old area is wholly inside the new one, which is the union of several old
areas) or ``split`` (the old area was divided: one row per successor, none of them is the old
area). Combined-authority membership rows and Scottish changes in the ONS table are dropped.
County (E10) terminations are classified from their 2018 districts: a county whose districts all
became one unitary is a ``recode`` (Buckinghamshire, North Yorkshire, Somerset: the new unitary
has the county's boundary), a county whose districts went to several unitaries is a ``split``
(Northamptonshire, Cumbria, Dorset: Christchurch went to Bournemouth, Christchurch and Poole).

Sources (all under SHARED_DATA_DIR; see its README.md):

- ``geography/ltla_utla_region_lookup_england_2024_from_fingertipsnext.csv``: which LTLAs,
  UTLAs and regions exist and their parents (FingertipsNext's copy of the Fingertips hierarchy).
- ``boundaries/ons_lad_may2024_uk_bsc.geojson.gz``, ``ons_ctyua_dec2023_uk_bsc.geojson.gz``,
  ``ons_rgn_dec2023_en_buc.geojson.gz``: the official ONS names (LAD24NM, CTYUA23NM, RGN23NM),
  e.g. "Bristol, City of" and "North East" (Fingertips writes "Bristol", "North East Region").
- ``geography/ons_la_code_changes_2018_2025.csv``: ONS local-authority changes 2018-2025.
- ``geography/ons_ltla_cty_cauth_rgn_lookup_2014_2025.csv``: the 2018 districts of each county,
  used to classify county terminations.
- ``geography/mysociety_uk_local_authorities.csv`` (mySociety, CC BY 4.0): its
  ``former-gss-codes`` column gives the 2012-13 recodes after minor boundary changes (St Albans,
  Welwyn Hatfield in April 2012; Northumberland, Gateshead, East Hertfordshire, Stevenage in
  April 2013). Their dates are not in that file; they are written below from the ONS Code
  History Database.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ENGLAND = ("E92000001", "England")
#: Local-authority changes take effect on 1 April.
CHANGE_DAY = "-04-01"
#: Dates of the pre-2018 recodes listed in mySociety's ``former-gss-codes`` (ONS Code History
#: Database): new code -> date.
EARLY_RECODE_DATES = {
    "E07000240": "2012-04-01",  # St Albans      (was E07000100)
    "E07000241": "2012-04-01",  # Welwyn Hatfield (was E07000104)
    "E06000057": "2013-04-01",  # Northumberland (was E06000048)
    "E08000037": "2013-04-01",  # Gateshead      (was E08000020)
    "E07000242": "2013-04-01",  # East Hertfordshire (was E07000097)
    "E07000243": "2013-04-01",  # Stevenage      (was E07000101)
}
AREA_COLUMNS = ["area_code", "area_name", "area_type", "parent_code", "region_code", "valid_from", "valid_to"]
CHANGE_COLUMNS = ["old_code", "old_name", "new_code", "new_name", "change", "date"]
TYPE_ORDER = {"england": 0, "region": 1, "utla": 2, "ltla": 3}


def _geojson_names(path: Path, code: str, name: str) -> dict[str, str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    return {f["properties"][code]: f["properties"][name] for f in features}


def _day_before(date: str) -> str:
    return (pd.Timestamp(date) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def build_code_changes(shared: Path, current_names: dict[str, str]) -> pd.DataFrame:
    """One row per (old_code, new_code) English LA code change, classified recode/merger/split."""
    geo = shared / "geography"
    ons = pd.read_csv(geo / "ons_la_code_changes_2018_2025.csv", dtype=str)
    ons["date"] = ons["start"] + CHANGE_DAY
    english = ons["oldcd"].str.startswith("E") & ~ons["oldcd"].str.startswith("E47")
    la = ons[english & ons["type"].isin(["merger", "new_code"])].copy()
    n_old = la.groupby("newcd")["oldcd"].transform("size")
    la["change"] = "merger"
    la.loc[(la["type"] == "new_code") | (n_old == 1), "change"] = "recode"
    rows = la.rename(columns={"oldcd": "old_code", "oldnm": "old_name", "newcd": "new_code",
                              "newnm": "new_name"})[CHANGE_COLUMNS]

    # County terminations, classified from the counties' 2018 districts.
    lookup = pd.read_csv(geo / "ons_ltla_cty_cauth_rgn_lookup_2014_2025.csv", dtype=str)
    successor = dict(zip(rows["old_code"], rows["new_code"], strict=True))

    def final(code: str) -> str:
        while code in successor:
            code = successor[code]
        return code

    lookup["final"] = lookup["ltlacd"].map(final)
    ended = ons[english & (ons["type"] == "termination")]
    county_rows = []
    for county, county_name, date in ended[["oldcd", "oldnm", "date"]].itertuples(index=False):
        districts = set(lookup.loc[lookup["ctycd"] == county, "ltlacd"])
        if not districts:
            raise SystemExit(f"no districts found for terminated county {county} {county_name}")
        successors = sorted(lookup.loc[lookup["ctycd"] == county, "final"].unique())
        if len(successors) == 1:
            same_area = set(lookup.loc[lookup["final"] == successors[0], "ltlacd"]) == districts
            change = "recode" if same_area else "merger"
        else:
            change = "split"
        county_rows += [(county, county_name, new, current_names[new], change, date) for new in successors]
    rows = pd.concat([rows, pd.DataFrame(county_rows, columns=CHANGE_COLUMNS)])

    # Recodes of 2012-13 after minor boundary changes (mySociety's former-gss-codes).
    mysoc = pd.read_csv(geo / "mysociety_uk_local_authorities.csv", dtype=str)
    former = mysoc[mysoc["gss-code"].str.startswith("E", na=False) & mysoc["former-gss-codes"].notna()]
    former = former[~former["gss-code"].str.startswith("E47")]
    early = []
    for new, olds in former[["gss-code", "former-gss-codes"]].itertuples(index=False):
        if new not in EARLY_RECODE_DATES:
            raise SystemExit(f"no recorded date for the recode to {new}: add it to EARLY_RECODE_DATES")
        for old in olds.split(","):
            early.append((old.strip(), current_names[new], new, current_names[new], "recode",
                          EARLY_RECODE_DATES[new]))
    rows = pd.concat([rows, pd.DataFrame(early, columns=CHANGE_COLUMNS)])
    rows["new_name"] = rows["new_code"].map(current_names).fillna(rows["new_name"])
    return rows.sort_values(["date", "new_code", "old_code"]).reset_index(drop=True)


def build_areas(shared: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The April 2023 England / region / UTLA / LTLA table, and a code -> ONS name map."""
    lookup = pd.read_csv(shared / "geography" / "ltla_utla_region_lookup_england_2024_from_fingertipsnext.csv",
                         dtype=str)
    bounds = shared / "boundaries"
    ltla_names = _geojson_names(bounds / "ons_lad_may2024_uk_bsc.geojson.gz", "LAD24CD", "LAD24NM")
    utla_names = _geojson_names(bounds / "ons_ctyua_dec2023_uk_bsc.geojson.gz", "CTYUA23CD", "CTYUA23NM")
    region_names = _geojson_names(bounds / "ons_rgn_dec2023_en_buc.geojson.gz", "RGN23CD", "RGN23NM")

    regions = lookup[["region_code"]].drop_duplicates()
    utlas = lookup[["utla_code", "region_code"]].drop_duplicates()
    for what, codes, names in (("LTLA", lookup["ltla_code"], ltla_names), ("UTLA", utlas["utla_code"], utla_names),
                               ("region", regions["region_code"], region_names)):
        missing = sorted(set(codes) - set(names))
        if missing:
            raise SystemExit(f"{what} codes without an ONS name: {missing}")
    frames = [
        pd.DataFrame([{"area_code": ENGLAND[0], "area_name": ENGLAND[1], "area_type": "england"}]),
        pd.DataFrame({"area_code": regions["region_code"], "area_name": regions["region_code"].map(region_names),
                      "area_type": "region", "parent_code": ENGLAND[0], "region_code": regions["region_code"]}),
        pd.DataFrame({"area_code": utlas["utla_code"], "area_name": utlas["utla_code"].map(utla_names),
                      "area_type": "utla", "parent_code": utlas["region_code"],
                      "region_code": utlas["region_code"]}),
        pd.DataFrame({"area_code": lookup["ltla_code"], "area_name": lookup["ltla_code"].map(ltla_names),
                      "area_type": "ltla", "parent_code": lookup["utla_code"],
                      "region_code": lookup["region_code"]}),
    ]
    areas = pd.concat(frames, ignore_index=True)
    counts = areas["area_type"].value_counts().to_dict()
    expected = {"england": 1, "region": 9, "utla": 153, "ltla": 296}
    if counts != expected:
        raise SystemExit(f"unexpected area counts {counts}; expected {expected}")
    # A unitary has the same name as UTLA and as LTLA.
    both = areas[areas.duplicated("area_code", keep=False)]
    if (both.groupby("area_code")["area_name"].nunique() > 1).any():
        raise SystemExit("a unitary authority has different UTLA and LTLA names")
    names = dict(zip(areas["area_code"], areas["area_name"], strict=False))
    return areas, names


def build(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``areas`` and ``code_changes`` tables, exactly as written to the two CSV files."""
    areas, names = build_areas(shared)
    changes = build_code_changes(shared, names)
    first_used = changes.groupby("new_code")["date"].min()
    areas["valid_from"] = areas["area_code"].map(first_used).fillna("")
    recoded_current = changes[(changes["change"] == "recode") & changes["old_code"].isin(names)]
    retired = recoded_current.groupby("old_code")["date"].min().map(_day_before)
    areas["valid_to"] = areas["area_code"].map(retired).fillna("")
    areas = (areas.assign(_order=areas["area_type"].map(TYPE_ORDER)).sort_values(["_order", "area_code"])
             [AREA_COLUMNS].fillna("").reset_index(drop=True))
    return areas, changes[CHANGE_COLUMNS].fillna("")


def main(argv: list[str]) -> None:
    """Build both files from the shared data folder given on the command line (or the default)."""
    default = os.environ.get("JSNA_SHARED_DATA") or str(HERE.parent.parent / "shared" / "data")
    shared = Path(argv[1] if len(argv) > 1 else default)
    if not (shared / "geography").is_dir():
        raise SystemExit(f"shared data folder not found: {shared} (pass it as the first argument)")
    areas, changes = build(shared)
    areas.to_csv(HERE / "areas.csv", index=False, lineterminator="\n")
    changes.to_csv(HERE / "code_changes.csv", index=False, lineterminator="\n")
    print(f"wrote {len(areas)} areas and {len(changes)} code changes to {HERE}")


if __name__ == "__main__":
    main(sys.argv)
