"""Charts on the real public extracts in the shared data folder (JSNA_SHARED_DATA).

Read with :mod:`jsna_lib.sources` (Fingertips "Download data" exports and the FingertipsNext
North West extract), compared with :func:`jsna_lib.compare.compare_values`; every chart is built
from those frames, its data checked against the export and rendered to SVG with vl-convert.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from jsna_lib import charts, compare, geography, sources, stats

pytestmark = pytest.mark.shared_data

CAMPYLOBACTER = "fingertips/exports/indicators-CountyUA.data__campylobacter_2015.csv"
COSMMH = "fingertips/exports/indicators-CountyUApre419.data__cosmmh_east_midlands.csv"
NW = "fingertips/fingertipsnext_healthdata_nw.csv.gz"
PHOLIO = "fingertips/metadata/pholio_seed_indicator_metadata.csv"
ENGLAND = "E92000001"
CAMPY_ID = 93356


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # code-change and metadata warnings are the importers' business
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def campylobacter(shared_data):
    result = quiet(sources.read_fingertips_csv, shared_data / CAMPYLOBACTER)
    table = compare.compare_values(result.values, result.indicators, geography.areas(), area_type="utla",
                                   benchmarks=["england", "region"])
    return result.values, result.indicators, table


@pytest.fixture(scope="module")
def cosmmh(shared_data):
    result = quiet(sources.read_fingertips_csv, shared_data / COSMMH)
    table = compare.compare_values(result.values, result.indicators, geography.areas(), area_type="utla",
                                   benchmarks=["england", "region"])
    return result.values, result.indicators, table


@pytest.fixture(scope="module")
def north_west(shared_data):
    return quiet(sources.read_tidy, shared_data / NW, "fingertipsnext", metadata=[shared_data / PHOLIO])


def svg(chart) -> str:
    out = charts.to_svg(chart)
    assert out.lstrip().startswith("<svg") and "NaN" not in out
    return out


def test_compare_areas_on_a_fingertips_export(campylobacter):
    values, indicators, table = campylobacter
    north_west = geography.children("E12000002", "utla")["area_code"]
    chart = charts.compare_areas(table, CAMPY_ID, north_west, names=geography.areas(), metadata=indicators)
    spec = chart.to_dict()
    frame = pd.DataFrame(next(v for v in spec["datasets"].values() if "area_label" in v[0]))
    assert frame["period"].unique().tolist() == ["2017"]
    assert frame["value"].is_monotonic_decreasing
    england = values[(values["area_code"] == ENGLAND) & (values["period"] == "2017")
                     & (values["category_type"] == "")]["value"].iloc[0]
    assert f"England: {england:,.1f}" in str(spec)  # the benchmark line is the export's England value
    ours = table[(table["benchmark"] == "england") & (table["period"] == "2017")].set_index("area_code")
    assert (frame.set_index("area_code")["significance"] == ours.loc[frame["area_code"], "significance"]).all()
    svg(chart)


def test_trend_on_a_fingertips_export(campylobacter):
    values, indicators, table = campylobacter
    area = table[table["area_code"] == "E08000025"]  # Birmingham, 2015 to 2017
    chart = charts.trend(area, CAMPY_ID, "E08000025", names=geography.areas(), metadata=indicators)
    spec = chart.to_dict()
    line = next(u for u in spec["layer"] if u["mark"]["type"] == "line")
    lines = pd.DataFrame(spec["datasets"][line["data"]["name"]])
    assert set(lines["series"]) == {"Birmingham", "England", "West Midlands"}
    england = values[(values["area_code"] == ENGLAND) & (values["category_type"] == "")
                     & (values["age"] == "All ages")].set_index("period")["value"]
    drawn = lines[lines["series"] == "England"].set_index("period")["value"]
    np.testing.assert_allclose(drawn.sort_index(), england.loc[drawn.index].sort_index())
    svg(chart)


def test_inequality_by_deprivation_decile(campylobacter):
    values, indicators, _ = campylobacter
    chart = charts.inequality(values, CAMPY_ID, by="County & UA deprivation deciles", metadata=indicators)
    spec = chart.to_dict()
    bars = next(u for u in spec["layer"] if (u["mark"]["type"] if isinstance(u["mark"], dict) else u["mark"]) == "bar")
    order = bars["encoding"]["y"]["sort"]
    assert len(order) == 10 and order[0].startswith("Most deprived") and order[-1].startswith("Least deprived")
    assert "County & UA deprivation deciles in England (IMD2015)" in str(spec["title"]["subtitle"])
    svg(chart)


def test_funnel_with_limits_from_stats(campylobacter):
    _, indicators, table = campylobacter
    rows = table[(table["benchmark"] == "england") & (table["period"] == "2017")]
    rows = rows.dropna(subset=["count", "denominator"])
    limits = stats.funnel_limits(rows, "count", "denominator", statistic="rate", multiplier=100_000,
                                 target=float(rows["england_value"].iloc[0]))
    chart = charts.funnel(rows, CAMPY_ID, limits, names=geography.areas(), metadata=indicators,
                          highlight="E08000025", log_x=True)
    spec = chart.to_dict()
    assert "Birmingham" in str(spec["datasets"])
    svg(chart)


def test_choropleth_with_ons_boundaries(campylobacter, shared_data):
    _, indicators, table = campylobacter
    boundaries = shared_data / "boundaries" / "ons_ctyua_dec2023_uk_bsc.geojson.gz"
    chart = charts.choropleth(table, CAMPY_ID, boundaries, metadata=indicators, context=True)
    spec = chart.to_dict()
    geo = next(v for v in spec["datasets"].values() if isinstance(v, dict) and "features" in v)
    codes = [f["properties"]["CTYUA23CD"] for f in geo["features"]]
    assert all(code.startswith("E") for code in codes) and len(codes) == 153  # England only, with context
    assert '"url"' not in str(spec)
    svg(chart)
    topo = charts.choropleth(table, CAMPY_ID, shared_data / "boundaries" / "ons_uk_admin_2014_2025.topo.json",
                             metadata=indicators)
    assert "topojson" in str(topo.to_dict())
    svg(topo)
    from jsna_lib.charts.maps import detect_code_property

    lad = charts.load_boundaries(shared_data / "boundaries" / "ons_lad_may2024_uk_bsc.geojson.gz")
    assert detect_code_property(lad, ["E08000025", "E07000117"]) == ("", "LAD24CD")


def test_spine_and_overview_on_a_profile_extract(cosmmh):
    values, indicators, table = cosmmh
    derby = table[table["area_code"] == "E06000015"]
    chart = charts.spine_chart(derby, metadata=indicators, names=geography.areas())
    rows = charts.spine_rows(derby, metadata=indicators)
    assert len(rows) == 8 and rows["indicator_id"].nunique() == 8
    assert not rows["spine_reversed"].any()  # BOB: lowest on the left
    spined = rows[rows["spine_half_width"] > 0]
    assert (spined["pos_best"] >= spined["pos_worst"]).all()
    assert chart.to_dict()["title"]["text"] == "Derby: health summary"
    svg(chart)
    areas = table["area_code"].unique()
    overview = charts.overview(pd.concat([table, values[values["area_code"].isin([ENGLAND, "E12000004"])]]), areas,
                               names=geography.areas(), metadata=indicators)
    frame = pd.DataFrame(overview.to_dict()["datasets"][overview.to_dict()["data"]["name"]])
    assert list(dict.fromkeys(frame.loc[frame["kind"] == "benchmark", "column"])) == ["England", "East Midlands"]
    not_compared = frame[(frame["kind"] == "area") & (frame["indicator_name"].str.startswith("Domestic"))]
    assert (not_compared["significance"] == "Not compared").all()  # method "none" in this profile
    svg(overview)


def test_population_pyramid_and_trend_north_west(north_west):
    assert north_west.population is not None and len(north_west.population)
    chart = charts.population_pyramid(north_west.population, "E08000003", names=geography.areas())
    spec = chart.to_dict()
    bars = [u for u in spec["layer"] if "color" in u.get("encoding", {})][0]
    shares = pd.DataFrame(spec["datasets"][bars["data"]["name"]])["signed"]
    assert shares.abs().sum() == pytest.approx(100.0)
    svg(chart)
    trend = charts.trend(north_west.values, 93701, "E08000003", benchmarks=[ENGLAND], names=geography.areas(),
                         metadata=north_west.indicators)
    assert "Manchester" in str(trend.to_dict()["layer"][1]["encoding"]["stroke"]["scale"]["domain"])
    svg(trend)
