"""notebooks/area_profile.ipynb under papermill: a demonstration store (a county and a unitary,
and Birmingham through the plain ``papermill`` command), a store imported from a real Fingertips
export, a store fetched from the Fingertips API fixtures, and an unknown area code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import papermill
import pytest

from jsna_lib import batch, compare, demo, profile, report
from jsna_lib.store import Store, StoreError

from .kernels import run_in_new_kernel

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "area_profile.ipynb"
PAPERMILL = Path(sys.executable).with_name("papermill")
EXPORT = "fingertips/exports/indicators-CountyUA.data__campylobacter_2015.csv"
SECTIONS = ["1. At a glance", "2. Population", "3. Deprivation and wider determinants", "4. Indicators by domain",
            "5. Trends", "6. Inequalities", "7. Comparison with the region and neighbours", "8. Definitions and data notes"]
HEADLINE = re.compile(r"^\*\*(?P<text>[^*]+: \d+ of \d+ indicators? significantly worse than England, \d+ better; "
                      r"\d+ areas? of concern)\*\*$")


# ------------------------------------------------------------------------------------------ stores
@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """A demonstration store with its comparisons precomputed (what ``jsna batch`` does first)."""
    path = tmp_path_factory.mktemp("area-profile") / "demo"
    compare.compare_all(demo.build(path))
    return path


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory, shared_data) -> Path:
    """A store imported from a real Fingertips export: one indicator, no population, no sexes."""
    from jsna_lib.sources import import_to_store

    path = tmp_path_factory.mktemp("area-profile") / "export"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the import warns about remapped old area codes
        import_to_store(shared_data / EXPORT, Store(path, create=True))
    return path


@pytest.fixture(scope="module")
def fetched_dir(tmp_path_factory) -> Path:
    """A store fetched (profiles 90 and 32, counties and UAs) from the Fingertips API fixtures
    served on loopback, as in tests/test_fingertips_api.py."""
    from jsna_lib.fetch_cli import fetch_to_store
    from jsna_lib.sources.fingertips_api import FingertipsSource
    from tests.test_fingertips_api import PROXY_VARS, FakeFingertips, client_for

    base = tmp_path_factory.mktemp("area-profile")
    with pytest.MonkeyPatch.context() as mp:
        for var in PROXY_VARS:
            mp.delenv(var, raising=False)
        api = FakeFingertips().start()
        try:
            source = FingertipsSource(client_for(api, base))
            for profile_id in (90, 32):
                fetch_to_store(source, profile=profile_id, area_type="utla", data_dir=base / "fetched")
        finally:
            api.stop()
    return base / "fetched"


# ------------------------------------------------------------------------------------------ helpers
def run(out: Path, **parameters) -> nbformat.NotebookNode:
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=parameters, kernel_name="python3",
                               progress_bar=False, log_output=False)
    return nbformat.read(out, as_version=4)


def outputs(cell) -> list:
    return cell.get("outputs", []) if cell.get("cell_type") == "code" else []


def output_text(output) -> str:
    data = output.get("data", {})
    return ("".join(data.get(k, "") for k in ("text/html", "text/markdown")) + "".join(output.get("text", ""))
            + ("[svg]" if "image/svg+xml" in data else ""))


def sections(nb) -> dict[str, str]:
    """Each "## N. ..." heading → the text of the outputs of the code cells under it ("[svg]" for
    a chart)."""
    found: dict[str, str] = {}
    current = None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            current = cell.source.splitlines()[0][3:].strip()
            found[current] = ""
        elif current is not None:
            found[current] += "\n".join(output_text(o) for o in outputs(cell))
    return found


def svg_count(nb) -> int:
    return sum("image/svg+xml" in o.get("data", {}) for c in nb.cells for o in outputs(c))


def assert_clean(nb) -> None:
    """No error output and nothing on stderr (warnings) in any cell."""
    for cell in nb.cells:
        for o in outputs(cell):
            assert o.get("output_type") != "error", f"{o.get('ename')}: {o.get('evalue')}"
            assert not (o.get("output_type") == "stream" and o.get("name") == "stderr"), "".join(o.get("text", ""))


def headline_of(nb) -> str:
    cell = next(c for c in nb.cells if "headline" in c.metadata.get("tags", []))
    text = output_text(outputs(cell)[0]).strip()
    match = HEADLINE.match(text)
    assert match, text
    assert report.headline(nb) == match["text"]  # what the batch index shows
    return match["text"]


# ------------------------------------------------------------------------------------------ tests
def test_notebook_is_stored_clean_with_the_standard_parameters():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert batch.notebook_parameters(nb) == list(batch.STANDARD_PARAMETERS)
    first_code = [c for c in nb.cells if c.cell_type == "code"][:3]
    assert "parameters" in first_code[0].metadata["tags"] and "area_profile(" in first_code[1].source
    assert "headline" in first_code[2].metadata["tags"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert [c.source.splitlines()[0][3:] for c in nb.cells
            if c.cell_type == "markdown" and c.source.startswith("## ")] == SECTIONS


@pytest.mark.parametrize(("code", "name", "region"), [("E10000018", "Leicestershire", "East Midlands"),
                                                      ("E06000015", "Derby", "East Midlands")])
def test_demo_store_county_and_unitary(demo_dir, tmp_path, code, name, region):
    nb = run(tmp_path / "out.ipynb", area_code=code, data_dir=str(demo_dir))
    assert_clean(nb)
    assert headline_of(nb).startswith(f"{name}: ")
    found = sections(nb)
    assert list(found) == SECTIONS
    assert all(found.values()), [s for s, text in found.items() if not text]
    assert "Areas of concern" in found["1. At a glance"]
    assert "[svg]" in found["4. Indicators by domain"] and "[svg]" in found["7. Comparison with the region and neighbours"]
    population = found["2. Population"]
    for phrase in ("Population by broad age group", "95% prediction interval", "Key indicators: recent trend continued",
                   "Trend continued to"):
        assert phrase in population
    assert re.search(rf"{name} is the \d+(st|nd|rd|th) most deprived of 153 upper-tier", found[SECTIONS[2]])
    assert "slope index of inequality (SII)" in found["6. Inequalities"]
    assert "Males and females" in found["6. Inequalities"]
    assert f"upper-tier local authorities in the {region} region" in found["7. Comparison with the region and neighbours"]
    assert "Demonstration data" in found["8. Definitions and data notes"]
    # charts: pyramid, population and indicator projections, spine, trends, inequality, bars, overview
    assert svg_count(nb) >= 8


def test_real_export_store_degrades_to_sentences(export_dir, tmp_path):
    nb = run(tmp_path / "out.ipynb", area_code="E08000025", data_dir=str(export_dir))
    assert_clean(nb)
    assert headline_of(nb) == "Birmingham: 0 of 2 indicators significantly worse than England, 2 better; 0 areas of concern"
    found = sections(nb)
    assert "This store has no population table" in found["2. Population"]
    assert "no deprivation score indicator" in found[SECTIONS[2]]
    assert "no indicators in a domain about deprivation" in found[SECTIONS[2]]
    assert "no areas of concern" in found["5. Trends"]
    assert "higher in the least deprived" in found["6. Inequalities"]  # England's SII from the export's deciles
    assert "no separate figures for males and females" in found["6. Inequalities"]
    assert "indicators-CountyUA.data__campylobacter_2015.csv" in found["8. Definitions and data notes"]
    assert "/fingertips/exports/" not in found["8. Definitions and data notes"]  # no analyst's path
    assert svg_count(nb) >= 3


def test_fetched_store(fetched_dir, tmp_path):
    nb = run(tmp_path / "out.ipynb", area_code="E06000015", data_dir=str(fetched_dir))
    assert_clean(nb)
    assert headline_of(nb).startswith("Derby: ")
    found = sections(nb)
    assert "This store has no population table" in found["2. Population"]
    assert re.search(r"Derby is the \d+(st|nd|rd|th) most deprived of \d+ upper-tier", found[SECTIONS[2]])
    assert "Crime, homelessness and employment" in found[SECTIONS[2]]
    assert "only 2 of 10 deprivation groups" in found["6. Inequalities"]
    assert "Fingertips API" in found["8. Definitions and data notes"]
    assert svg_count(nb) >= 3


def test_unknown_area_stops_in_the_first_cell_after_the_parameters(demo_dir, tmp_path):
    out = tmp_path / "unknown.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as info:
        run(out, area_code="E0800025", data_dir=str(demo_dir))
    assert info.value.ename == "UnknownAreaError" and "did you mean E08000025 (Birmingham)" in info.value.evalue
    code = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    injected = next(i for i, c in enumerate(code) if "injected-parameters" in c.metadata.get("tags", []))
    failed = [i for i, c in enumerate(code) if any(o.get("output_type") == "error" for o in outputs(c))]
    assert failed == [injected + 1] and "area_profile(" in code[injected + 1].source
    assert all(c.execution_count is None for c in code[injected + 2:])  # nothing after it ran


def test_plain_papermill_command(demo_dir, tmp_path):
    out = tmp_path / "birmingham.ipynb"
    done = subprocess.run([str(PAPERMILL), str(NOTEBOOK), str(out), "-p", "area_code", "E08000025",
                           "-p", "data_dir", str(demo_dir)], cwd=REPO, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    assert_clean(nb)
    assert headline_of(nb).startswith("Birmingham: ")
    assert svg_count(nb) >= 8
    durations = [c.metadata["papermill"]["duration"] for c in nb.cells if c.cell_type == "code"]
    assert all(d is not None for d in durations)


def test_default_data_dir_resolves_from_the_repository_and_from_notebooks(tmp_path, monkeypatch):
    store_dir = tmp_path / "data" / "demo_store"
    store_dir.mkdir(parents=True)
    (store_dir / "manifest.json").write_text(json.dumps({"format": 1, "tables": {}}), "utf-8")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    assert profile.open_store("data/demo_store").path == store_dir
    monkeypatch.chdir(tmp_path / "notebooks")
    assert profile.open_store("data/demo_store").path == store_dir
    assert profile.open_store(str(store_dir)).path == store_dir
    with pytest.raises(StoreError, match="jsna demo --data-dir data/elsewhere"):
        profile.open_store("data/elsewhere")


# ------------------------------------------------------------------------------------------ the report's library calls
def test_headline_sentence_and_key_indicators_of_a_hand_built_profile():
    from jsna_lib import narrative
    from tests.test_narrative import hand_built_profile

    area = hand_built_profile()
    assert narrative.headline_sentence(area) == ("Blackburn with Darwen: 3 of 7 indicators significantly worse than "
                                                 "England, 0 better; 1 area of concern")
    key = narrative.key_indicators(area)
    assert list(zip(key["indicator_id"], key["reason"], strict=True))[:3] == [
        (1, "area of concern"), (2, "significantly worse than England"), (6, "life expectancy")]
    assert "&lt;offences&gt;" in narrative.indicators_html(area, ["Wider determinants"])  # names escaped


def _breakdown_profile(rows, **extra):
    import pandas as pd

    from jsna_lib.profile import AreaProfile

    empty = pd.DataFrame()
    fields = {"area_code": "E06000001", "area_name": "Hartlepool", "area_type": "utla", "region_code": "E12000001",
              "region_name": "North East", "parent_code": "", "parent_name": "", "comparator": "england",
              "comparator_code": compare.ENGLAND, "comparator_name": "England", "period": "latest",
              "indicators": empty, "time_series": empty, "population": empty, "population_year": None,
              "inequalities": empty, "england_inequalities": pd.DataFrame(rows)}
    return AreaProfile(**{**fields, **extra})


def test_slope_index_of_inequality_by_hand():
    # Ten equal deciles, v_j = 10 + 2 (j - 1) from most (j = 1) to least deprived: the midpoints
    # of the cumulative population are b_j = (j - 0.5) / 10, so v = 9 + 20 b and the SII is 20
    # (higher in the least deprived).
    names = ["Most deprived decile", "Second most deprived decile", "Third more deprived decile",
             "Fourth more deprived decile", "Fifth more deprived decile", "Fifth less deprived decile",
             "Fourth less deprived decile", "Third less deprived decile", "Second least deprived decile",
             "Least deprived decile"]
    rows = [{"indicator_id": 7, "sex": "Persons", "age": "All ages", "category_type": "Deprivation deciles (IMD2019)",
             "category": f"{name} (IMD2019)", "period": "2023", "period_sort": 20230000, "value": 10.0 + 2 * j,
             "lower_95": 9.0 + 2 * j, "upper_95": 11.0 + 2 * j, "denominator": 1000.0, "name": "Test", "unit": "%"}
            for j, name in enumerate(names)]
    summary = profile.inequality_summary(_breakdown_profile(rows))
    row = summary.iloc[0]
    assert row["area_code"] == compare.ENGLAND and row["quantiles"] == 10 and row["note"] == ""
    assert row["sii"] == pytest.approx(20.0) and row["higher_in"] == "least deprived"
    assert row["sii_lower_95"] < 20 < row["sii_upper_95"]
    assert (row["most_deprived"], row["least_deprived"]) == (10.0, 28.0)
    # two deciles only: no SII, and the reason
    short = profile.inequality_summary(_breakdown_profile([rows[0], rows[-1]])).iloc[0]
    assert pd_isna(short["sii"]) and short["note"] == "only 2 of 10 deprivation groups are in the data"


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_sex_differences_by_hand():
    import pandas as pd

    # Males 10 (95% CI ±1.96, SE 1), females 7 (SE 1): z = 3 / sqrt(2) = 2.12 > 1.96.
    ind = pd.DataFrame({"indicator_id": [1, 1, 2, 2], "name": ["A", "A", "B", "B"], "domain": "D", "unit": "%",
                        "age": "All ages", "period": "2023", "sex": ["Male", "Female"] * 2,
                        "value": [10.0, 7.0, 10.0, 9.0], "lower_95": [8.04, 5.04, 8.04, 7.04],
                        "upper_95": [11.96, 8.96, 11.96, 10.96]})
    out = profile.sex_differences(_breakdown_profile([], indicators=ind)).set_index("indicator_id")
    assert out.loc[1, "z"] == pytest.approx(3 / 2 ** 0.5) and out.loc[1, "significance"] == "Males higher"
    assert out.loc[2, "significance"] == "No significant difference"


def test_one_age_per_indicator_keeps_the_newest_age():
    import pandas as pd

    frame = pd.DataFrame({"indicator_id": [1, 1, 2, 2], "age": ["0-9 yrs", "All ages", "All ages", "65+ yrs"],
                          "category_type": "", "period_sort": [20160000, 20170000, 20200000, 20200000]})
    kept = profile.one_age_per_indicator(frame)
    assert sorted(zip(kept["indicator_id"], kept["age"], strict=True)) == [(1, "All ages"), (2, "All ages")]


def test_batch_kernels_start_with_the_store_read_and_the_profile_cache_filled(demo_dir) -> None:
    """The kernel template preloads the batch's store and warms the profile cache before forking:
    a kernel finds both ready, and its profile equals one computed from scratch here."""
    from jsna_lib import store as store_mod

    pool = batch.KernelPool(kernel_name="python3", cwd=str(REPO), start="fork", preload=["jsna_lib:profile"],
                            env={store_mod.PRELOAD_ENV: str(demo_dir)})
    code = ("from jsna_lib import profile, store\n"
            "held, tables = len(profile._STORE_CACHE), len(store._MEMORY)\n"
            f"area = profile.area_profile(profile.open_store({str(demo_dir)!r}), 'E08000025')\n"
            "print(held, tables, round(float(area.indicators['value'].sum()), 6))")
    try:
        printed = run_in_new_kernel(pool, code)
    finally:
        pool.close()
    held, tables, total = printed.split()
    assert int(held) >= 4 and int(tables) >= 4  # areas, look-ups, metadata, England's breakdowns; the tables
    fresh = profile.area_profile(profile.open_store(demo_dir), "E08000025")
    assert float(total) == round(float(fresh.indicators["value"].sum()), 6)
