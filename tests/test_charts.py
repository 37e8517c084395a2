"""Charts (jsna_lib.charts) on the demonstration store: data and encodings, SVG/PNG rendering,
offline notebook output, import cost and the chart gallery notebook under papermill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest

from jsna_lib import charts, compare, demo, geography, palette, profile, stats
from jsna_lib.charts import _common

REPO = Path(__file__).resolve().parent.parent
AREA = "E08000025"  # Birmingham (West Midlands)
ENGLAND = "E92000001"
SMOKING = 900007  # proportion, low is good, ci_95
U75 = 900019  # directly standardised rate, ci_both
BOUNDARIES = Path(os.environ.get("JSNA_SHARED_DATA", "/nonexistent")) / "boundaries"


# ================================================================================= fixtures
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    built = demo.build(tmp_path_factory.mktemp("demo"))
    compare.compare_all(built)
    return built


@pytest.fixture(scope="module")
def area(store):
    return profile.area_profile(store, AREA)


@pytest.fixture(scope="module")
def comparisons(store):
    return compare.read_comparisons(store, area_type="utla")


@pytest.fixture(scope="module")
def indicators(store):
    return store.read("indicators")


@pytest.fixture(scope="module")
def names(store):
    return store.read("areas")


@pytest.fixture(scope="module")
def neighbours():
    return geography.children("E12000005", "utla")


@pytest.fixture(scope="module")
def funnel_inputs(comparisons):
    rows = comparisons[(comparisons["indicator_id"] == SMOKING) & (comparisons["benchmark"] == "england")]
    rows = rows[rows["period_sort"] == rows["period_sort"].max()]
    limits = stats.funnel_limits(rows, "count", "denominator", statistic="proportion",
                                 target=float(rows["england_value"].iloc[0]))
    return rows, limits


@pytest.fixture(scope="module")
def gallery(store, area, comparisons, indicators, names, neighbours, funnel_inputs):
    """Every chart once (built once, reused by the encoding and rendering tests)."""
    population = store.read("population", filters=[("area_code", "in", [AREA, ENGLAND])])
    rows, limits = funnel_inputs
    built = {
        "spine": charts.spine_chart(area),
        "overview": charts.overview(comparisons, neighbours, names=names, metadata=indicators),
        "compare_areas": charts.compare_areas(comparisons, SMOKING, neighbours, names=names, metadata=indicators,
                                              highlight=AREA),
        "trend": charts.trend(area, U75),
        "pyramid": charts.population_pyramid(population, AREA, names=names),
        "inequality": charts.inequality(area, SMOKING),
        "funnel": charts.funnel(rows, SMOKING, limits, names=names, metadata=indicators, highlight=AREA),
        "map_note": charts.choropleth(comparisons, SMOKING, None, metadata=indicators),
    }
    ctyua = BOUNDARIES / "ons_ctyua_dec2023_uk_bsc.geojson.gz"
    if ctyua.exists():
        built["map"] = charts.choropleth(comparisons, SMOKING, ctyua, metadata=indicators, highlight=AREA)
    return built


@pytest.fixture(scope="module")
def specs(gallery):
    """Each chart's Vega-Lite dict, made once."""
    return {name: chart.to_dict() for name, chart in gallery.items()}


def layers(spec: dict) -> list[dict]:
    """Every unit spec (with a mark) inside a compound spec."""
    out = []
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "mark" in node:
                out.append(node)
            for key in ("layer", "hconcat", "vconcat", "concat", "spec"):
                value = node.get(key)
                if isinstance(value, list):
                    stack.extend(value)
                elif isinstance(value, dict):
                    stack.append(value)
    return out


def data_of(spec: dict, unit: dict) -> pd.DataFrame:
    """The inline rows a unit (or its parents) draws."""
    name = (unit.get("data") or {}).get("name")
    if name is None:
        name = (spec.get("data") or {}).get("name")
    return pd.DataFrame(spec["datasets"][name])


def geometry(spec: dict) -> dict:
    """The inline GeoJSON of a map spec (Altair moves inline data into ``datasets``)."""
    unit = [u for u in layers(spec) if mark_type(u) == "geoshape"][0]
    return spec["datasets"][unit["data"]["name"]]


def mark_type(unit: dict) -> str:
    mark = unit["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


# ================================================================================= palette
def test_palette_matches_design_and_compare():
    assert palette.COLOURS == compare.COLOURS
    assert palette.QUINTILE_COLOURS == compare.QUINTILE_COLOURS
    design = {"Better": "#92D050", "Similar": "#FFC000", "Worse": "#C00000", "Better (99.8%)": "#00B092",
              "Worse (99.8%)": "#821733", "Lower": "#5555E6", "Higher": "#C2CCFF", "Not compared": "#C9C9C9"}
    assert {k: palette.COLOURS[k] for k in design} == design
    assert palette.QUINTILE_COLOURS == ("#DED3EC", "#BEA7DA", "#9E7CC8", "#7E50B6", "#5E25A4")
    assert (palette.SPINE_OUTER, palette.SPINE_INNER) == ("#C9C9C9", "#8B8B8B")
    # Every label has a legend position, a shape and a symbol: colour is never the only cue.
    assert set(palette.SIGNIFICANCE_ORDER) == set(palette.COLOURS)
    assert set(palette.SIGNIFICANCE_SHAPES) == set(palette.COLOURS) == set(palette.SIGNIFICANCE_SYMBOLS)
    assert palette.SIGNIFICANCE_SYMBOLS["Better"] != palette.SIGNIFICANCE_SYMBOLS["Worse"]


def test_palette_imports_only_the_standard_library():
    source = (REPO / "jsna_lib" / "palette.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations"]


# ================================================================================= spine
def test_spine_positions_geometry():
    # centre 10, half-width 5: low is good → lower values to the right; best always at 1.
    pos = charts.spine_positions([5, 10, 15], 10, 5, True)
    assert pos.tolist() == [1.0, 0.5, 0.0]
    pos = charts.spine_positions([5, 10, 15], 10, 5, False)
    assert pos.tolist() == [0.0, 0.5, 1.0]
    assert charts.spine_positions([3.0], 3.0, 0.0, False).tolist() == [0.5]
    np.testing.assert_allclose(charts.spine_positions([7.0, 12.0], 10, 5, True),
                               compare.spine_positions([7.0, 12.0], 10, 5, True))


def test_spine_rows_from_profile(area):
    rows = charts.spine_rows(area)
    # One line per indicator: Persons where it exists, else each sex (life expectancy).
    assert rows["indicator_id"].nunique() == len(demo.SPECS)
    assert set(rows.loc[rows["indicator_id"] == 900017, "sex"]) == {"Male", "Female"}
    assert set(rows.loc[rows["indicator_id"] == SMOKING, "sex"]) == {"Persons"}
    spined = rows[rows["spine_half_width"].notna()]
    assert (spined["pos_centre"] == 0.5).all()  # England at the centre
    assert (spined["pos_best"] >= spined["pos_worst"]).all()  # best on the right, whatever the polarity
    assert (spined["pos_p75"] >= spined["pos_p25"]).all()
    low = spined[spined["spine_reversed"]]
    assert len(low) > 10
    # Low is good: a value below England's sits right of the centre.
    below = low["value"] < low["england_value"]
    assert (low.loc[below, "pos_value"] > 0.5).all() and (low.loc[~below, "pos_value"] <= 0.5).all()
    np.testing.assert_allclose(spined["pos_value"], np.clip(area.headline().set_index(
        ["indicator_id", "sex"]).loc[list(zip(spined["indicator_id"], spined["sex"], strict=True)), "pos_area"], 0, 1))
    # Significance comes from the profile's vs_england, as given.
    smoking = rows[rows["indicator_id"] == SMOKING].iloc[0]
    assert smoking["significance"] == area.indicators.set_index("indicator_id").loc[SMOKING, "vs_england"]


def test_spine_chart_encodings(specs, area):
    spec = specs["spine"]
    units = layers(spec)
    points = [u for u in units if mark_type(u) == "point" and "color" in u.get("encoding", {})]
    assert len(points) == 1
    colour = points[0]["encoding"]["color"]
    assert colour["field"] == "significance"
    scale = dict(zip(colour["scale"]["domain"], colour["scale"]["range"], strict=True))
    assert all(palette.COLOURS[label] == hex_ for label, hex_ in scale.items())
    assert points[0]["encoding"]["x"]["field"] == "pos_value"
    assert points[0]["mark"]["shape"] == "circle"
    diamonds = [u for u in units if mark_type(u) == "point" and u["mark"].get("shape") == "diamond"
                and u["encoding"].get("x", {}).get("field") == "pos_region"]
    assert len(diamonds) == 1  # the region (the other diamond is in the key)
    ticks = [u for u in units if mark_type(u) == "tick" and u["encoding"].get("x", {}).get("field") == "pos_centre"]
    assert len(ticks) == 1
    centre = data_of(spec, ticks[0])["pos_centre"].dropna()
    assert (centre == 0.5).all()
    # The three range bars in the DESIGN greys, identity colour (no shared scale).
    bars = [u for u in units if mark_type(u) == "bar"]
    bar_data = data_of(spec, bars[0])
    assert set(bar_data["fill"]) == {"#C9C9C9", "#8B8B8B"}
    assert bars[0]["encoding"]["color"]["scale"] is None
    # Table columns include the area's count and value and England's worst and best, as text.
    texts = {u["encoding"]["text"]["field"] for u in units if mark_type(u) == "text" and "field"
             in u["encoding"].get("text", {})}
    assert {"count_text", "value_text", "region_value_text", "england_value_text", "spine_worst_text",
            "spine_best_text", "symbol", "label_text"} <= texts
    assert spec["title"]["text"] == f"{area.area_name}: health summary"


def test_spine_accepts_the_latest_values_frame_and_comparisons(area, comparisons, indicators):
    from_frame = charts.spine_rows(area.indicators)
    assert len(from_frame) == len(charts.spine_rows(area))
    mine = comparisons[comparisons["area_code"] == AREA]
    from_long = charts.spine_rows(mine, metadata=indicators)  # one row per benchmark → widened
    assert from_long["indicator_id"].nunique() == len(demo.SPECS)
    merged = from_long.merge(from_frame[["indicator_id", "sex", "region_value"]], on=["indicator_id", "sex"],
                             suffixes=("", "_profile"))
    np.testing.assert_allclose(merged["region_value"], merged["region_value_profile"])
    domains = ["Mental health", "Older people"]
    chosen = charts.spine_rows(area, domains=domains)
    assert list(dict.fromkeys(chosen["domain"])) == domains
    with pytest.raises(ValueError, match="no indicators in domain"):
        charts.spine_rows(area, domains=["Not a domain"])
    with pytest.raises(ValueError, match="spine_"):
        charts.spine_chart(pd.DataFrame({"indicator_id": [1], "value": [2.0]}))


# ================================================================================= other charts
def test_compare_areas_ranked_coloured_with_benchmark(specs, comparisons, neighbours):
    spec = specs["compare_areas"]
    units = layers(spec)
    bars = [u for u in units if mark_type(u) == "bar"][0]
    rows = data_of(spec, bars)
    assert set(rows["area_code"]) == set(neighbours["area_code"])
    assert rows["value"].is_monotonic_decreasing  # ranked, highest first
    assert bars["encoding"]["y"]["sort"] == list(rows["area_label"])
    scale = bars["encoding"]["color"]["scale"]
    assert scale["range"] == [palette.COLOURS[label] for label in scale["domain"]]
    expected = comparisons[(comparisons["indicator_id"] == SMOKING) & (comparisons["benchmark"] == "england")
                           & (comparisons["period_sort"] == comparisons.loc[comparisons["indicator_id"] == SMOKING,
                                                                           "period_sort"].max())]
    expected = expected.set_index("area_code")
    assert (rows.set_index("area_code")["significance"] == expected.loc[rows["area_code"], "significance"]).all()
    rules = [u for u in units if mark_type(u) == "rule" and u["mark"].get("strokeDash")]
    line = data_of(spec, rules[0])
    assert line["value"].iloc[0] == pytest.approx(expected["england_value"].iloc[0])
    assert rows.loc[rows["area_code"] == AREA, "highlight"].all()
    whiskers = [u for u in units if mark_type(u) == "rule" and "x2" in u["encoding"]]
    assert whiskers[0]["encoding"]["x"]["field"] == "lower_95"


def test_charts_draw_the_significance_they_are_given(comparisons, neighbours):
    """No statistics in charts: relabelled significance is drawn as given."""
    rows = comparisons[(comparisons["indicator_id"] == SMOKING) & (comparisons["benchmark"] == "england")].copy()
    rows["significance"] = "Worse (99.8%)"
    spec = charts.compare_areas(rows, SMOKING, neighbours).to_dict()
    bars = [u for u in layers(spec) if mark_type(u) == "bar"][0]
    assert set(data_of(spec, bars)["significance"]) == {"Worse (99.8%)"}
    assert bars["encoding"]["color"]["scale"]["range"] == [palette.COLOURS["Worse (99.8%)"]]


def test_trend_series_and_points(specs, area):
    spec = specs["trend"]
    units = layers(spec)
    line = [u for u in units if mark_type(u) == "line"][0]
    frame = data_of(spec, line)
    assert list(line["encoding"]["stroke"]["scale"]["domain"]) == [area.area_name, "England", area.region_name]
    ts = area.time_series[(area.time_series["indicator_id"] == U75) & (area.time_series["sex"] == "Persons")]
    england = frame[frame["series"] == "England"].set_index("period")["value"]
    np.testing.assert_allclose(england.loc[ts["period"]], ts["england_value"])
    band = [u for u in units if mark_type(u) == "area"][0]
    assert band["encoding"]["y"]["field"] == "lower_95" and band["encoding"]["y2"]["field"] == "upper_95"
    points = [u for u in units if mark_type(u) == "point" and "fill" in u["encoding"]][0]
    assert points["encoding"]["shape"]["field"] == "significance"  # shape as well as colour
    got = data_of(spec, points).set_index("period")["significance"]
    assert (got.loc[ts["period"]].to_numpy() == ts["vs_england"].to_numpy()).all()
    assert line["encoding"]["x"]["sort"] == list(ts.sort_values("period_sort")["period"])


def test_overview_cells(specs, neighbours):
    spec = specs["overview"]
    frame = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    areas = frame[frame["kind"] == "area"]
    bench = frame[frame["kind"] == "benchmark"]
    n_rows = frame["row"].nunique()
    assert areas["column"].nunique() == len(neighbours)
    assert len(areas) == n_rows * len(neighbours)
    assert list(dict.fromkeys(bench["column"])) == ["England", "West Midlands"]
    x_sort = [u for u in layers(spec) if mark_type(u) == "rect"][0]["encoding"]["x"]["sort"]
    assert x_sort[:2] == ["England", "West Midlands"]  # benchmarks first
    assert (areas["cell_text"].str[0].isin(["\u25b2", "\u25bc", "\u25cf", "\u25a0", "Q"])).all()
    dark = areas["significance"].isin(["Worse", "Worse (99.8%)"])
    assert (areas.loc[dark, "text_colour"] == "white").all()
    assert (areas.loc[areas["significance"] == "Similar", "text_colour"] == "black").all()


def test_overview_region_column_needs_one_region(comparisons):
    two_regions = ["E08000025", "E08000003"]  # Birmingham (West Midlands), Manchester (North West)
    spec = charts.overview(comparisons, two_regions).to_dict()
    frame = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    assert list(dict.fromkeys(frame.loc[frame["kind"] == "benchmark", "column"])) == ["England"]
    assert any("several regions" in line for line in spec["title"]["subtitle"])


def test_overview_of_values_without_comparisons(store):
    """Plain ``values`` rows and no benchmark columns: every cell is "Not compared" and shows the
    area's own value (this raised KeyError: 'significance' before)."""
    values = store.read("values")
    two = ["E08000025", "E08000026"]  # Birmingham, Coventry
    rows = values[values["area_code"].isin(two)]
    spec = charts.overview(rows, two, benchmarks=(), names=store.read("areas"),
                           metadata=store.read("indicators")).to_dict()
    frame = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    assert set(frame["significance"]) == {palette.NOT_COMPARED}
    assert set(frame["kind"]) == {"area"}
    assert any("no comparisons" in line for line in spec["title"]["subtitle"])
    # each cell shows its own value: Birmingham's smoking prevalence, latest period, as the data say
    smoking = rows[(rows["area_code"] == "E08000025") & (rows["indicator_id"] == SMOKING)
                   & (rows["sex"] == "Persons") & (rows["category_type"].fillna("") == "")]
    latest = smoking.loc[smoking["period_sort"].idxmax()]
    name = store.read("indicators").set_index("indicator_id").loc[SMOKING, "name"]
    cell = frame[(frame["column"] == "Birmingham") & (frame["indicator_name"] == name)]
    assert cell["period"].tolist() == [latest["period"]]
    assert cell["value_text"].tolist() == [f"{latest['value']:.1f}"]


def test_population_pyramid_percentages(specs):
    spec = specs["pyramid"]
    units = layers(spec)
    bars = [u for u in units if mark_type(u) == "bar" and "color" in u["encoding"]][0]
    area_rows = data_of(spec, bars)
    assert area_rows["signed"].abs().sum() == pytest.approx(100.0)
    assert (area_rows.loc[area_rows["sex_label"] == "Males", "signed"] < 0).all()
    assert (area_rows.loc[area_rows["sex_label"] == "Females", "signed"] > 0).all()
    outline = [u for u in units if mark_type(u) == "bar" and "stroke" in u["encoding"]][0]
    assert outline["mark"]["fill"] is None
    assert data_of(spec, outline)["signed"].abs().sum() == pytest.approx(100.0)
    order = bars["encoding"]["y"]["sort"]
    assert order[0] == "90+" and order[-1] == "0-4"


def test_inequality_order_and_overall(specs, store):
    spec = specs["inequality"]
    units = layers(spec)
    bars = [u for u in units if mark_type(u) == "bar"][0]
    order = bars["encoding"]["y"]["sort"]
    assert order == demo.DECILE_NAMES  # most → least deprived
    england = store.read("values", filters=[("area_code", "=", ENGLAND), ("indicator_id", "=", SMOKING)])
    whole = england[(england["category_type"] == "") & (england["sex"] == "Persons")]
    latest = whole[whole["period_sort"] == whole["period_sort"].max()]["value"].iloc[0]
    rule = [u for u in units if mark_type(u) == "rule" and u["mark"].get("strokeDash")][0]
    assert data_of(spec, rule)["value"].iloc[0] == pytest.approx(latest)
    # The same from the canonical values rows.
    direct = charts.inequality(england, SMOKING).to_dict()
    assert [u for u in layers(direct) if mark_type(u) == "bar"][0]["encoding"]["y"]["sort"] == demo.DECILE_NAMES


def test_category_order_for_fingertips_names():
    names = pd.Series(["Least deprived decile (IMD2019)", "Most deprived decile (IMD2019)",
                       "Fifth less deprived decile (IMD2019)", "Fifth more deprived decile (IMD2019)"])
    assert charts.inequality.__module__ == "jsna_lib.charts.inequality"
    from jsna_lib.charts.inequality import category_order
    assert category_order(names) == ["Most deprived decile (IMD2019)", "Fifth more deprived decile (IMD2019)",
                                     "Fifth less deprived decile (IMD2019)", "Least deprived decile (IMD2019)"]
    quintiles = pd.Series(["Least deprived quintile", "Average deprived quintile", "Most deprived quintile"])
    assert category_order(quintiles)[0] == "Most deprived quintile"
    assert category_order(pd.Series(["White", "Asian"])) == ["White", "Asian"]


def test_funnel_uses_the_given_limits(specs, funnel_inputs):
    _, limits = funnel_inputs
    spec = specs["funnel"]
    units = layers(spec)
    line = [u for u in units if mark_type(u) == "line"][0]
    drawn = data_of(spec, line)
    assert set(drawn["line"]) == {"target", "lower_95", "upper_95", "lower_99_8", "upper_99_8"}
    upper = drawn[drawn["line"] == "upper_99_8"].sort_values("size")
    np.testing.assert_allclose(upper["value"], limits.sort_values("denominator")["upper_99_8"])
    points = [u for u in units if mark_type(u) == "point" and "fill" in u["encoding"]][0]
    assert points["encoding"]["shape"]["field"] == "significance"
    no_limits = charts.funnel(funnel_inputs[0], SMOKING).to_dict()
    assert any("no control limits" in line for line in no_limits["title"]["subtitle"])


def test_choropleth_without_boundaries_says_so(specs, gallery):
    spec = specs["map_note"]
    text = " ".join(pd.DataFrame(spec["datasets"][spec["data"]["name"]])["line"])
    assert "no boundary file" in text.lower()
    charts.to_svg(gallery["map_note"])


def test_choropleth_inline_geometry(comparisons, indicators, tmp_path):
    # A tiny GeoJSON (two squares), gzipped, with codes in an ONS-style property.
    features = [{"type": "Feature", "properties": {"CTYUA23CD": code, "CTYUA23NM": name, "LONG": lon, "LAT": 52.5},
                 "geometry": {"type": "Polygon", "coordinates": [[[lon - .2, 52.4], [lon + .2, 52.4],
                                                                  [lon + .2, 52.6], [lon - .2, 52.6],
                                                                  [lon - .2, 52.4]]]}}
                for code, name, lon in ((AREA, "Birmingham", -1.9), ("E08000026", "Coventry", -1.5),
                                        ("W06000015", "Cardiff", -3.2))]
    import gzip

    path = tmp_path / "squares.geojson.gz"
    path.write_bytes(gzip.compress(json.dumps({"type": "FeatureCollection", "features": features}).encode()))
    chart = charts.choropleth(comparisons, SMOKING, path, metadata=indicators)
    spec = chart.to_dict()
    text = json.dumps(spec)
    assert '"url"' not in text  # geometry inline: renders offline
    kept = [f["properties"]["CTYUA23CD"] for f in geometry(spec)["features"]]
    assert sorted(kept) == [AREA, "E08000026"]  # only areas with data (no Cardiff)
    assert "properties.CTYUA23CD" in text
    assert any("Open Government Licence" in line for line in spec["title"]["subtitle"])
    assert "<svg" in charts.to_svg(chart)
    quintile = charts.choropleth(comparisons, 900005, path, colour_by="quintile", metadata=indicators).to_dict()
    assert "Best quintile" in json.dumps(quintile) or "Lowest quintile" in json.dumps(quintile)
    with pytest.raises(ValueError, match="colour_by"):
        charts.choropleth(comparisons, SMOKING, path, colour_by="rainbow")


@pytest.mark.skipif(not (BOUNDARIES / "ons_ctyua_dec2023_uk_bsc.geojson.gz").exists(),
                    reason="set JSNA_SHARED_DATA for the ONS boundary files")
def test_choropleth_real_boundaries_detects_codes(specs, comparisons):
    spec = specs["map"]
    features = geometry(spec)["features"]
    codes = {f["properties"]["CTYUA23CD"] for f in features}
    assert codes <= set(comparisons["area_code"]) and len(codes) >= 150
    from jsna_lib.charts.maps import detect_code_property

    topo = charts.load_boundaries(BOUNDARIES / "ons_uk_admin_2014_2025.topo.json")
    assert detect_code_property(topo, list(comparisons["area_code"].unique()))[1] == "areacd"


# ================================================================================= every chart
def test_every_chart_has_title_caption_tooltips_and_legend(specs):
    for name, spec in specs.items():
        title = spec.get("title")
        assert title and title.get("text"), name
        if name == "map_note":
            continue
        assert any(line.startswith("Source:") for line in title["subtitle"]), name
        text = json.dumps(spec)
        assert '"tooltip"' in text, name
        if name not in ("pyramid",):
            assert "Value" in text or "value_text" in text, name
        assert '"legend"' in text or name == "inequality", name  # inequality without significance: one colour


@pytest.mark.parametrize("name", ["spine", "overview", "compare_areas", "trend", "pyramid", "inequality", "funnel",
                                  "map"])
def test_every_chart_renders_to_svg(gallery, name):
    if name not in gallery:
        pytest.skip("boundary files not available (JSNA_SHARED_DATA)")
    svg = charts.to_svg(gallery[name])
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "NaN" not in svg


def test_png_pdf_html_and_save(gallery, tmp_path):
    png = charts.to_png(gallery["trend"], scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = charts.to_html(gallery["trend"])
    assert "vegaEmbed" in html and "cdn.jsdelivr" not in html
    for suffix in ("svg", "json"):
        path = charts.save(gallery["trend"], tmp_path / f"trend.{suffix}")
        assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="cannot write"):
        charts.save(gallery["trend"], tmp_path / "trend.gif")


def test_rendering_refuses_remote_data():
    chart = alt.Chart(alt.UrlData("https://example.invalid/data.csv")).mark_point().encode(x="a:Q")
    with pytest.raises(Exception):  # noqa: B017 - vl-convert raises its own error type
        charts.to_svg(chart)


def test_offline_renderers(gallery):
    try:
        assert charts.enable_offline() == "svg"
        bundle = gallery["trend"]._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert data["image/svg+xml"].lstrip().startswith("<svg")
        assert not any(k.startswith("application/vnd.vegalite") for k in data)
        charts.enable_offline("html")
        first = gallery["trend"]._repr_mimebundle_()
        first = first[0] if isinstance(first, tuple) else first
        second = gallery["pyramid"]._repr_mimebundle_()
        second = second[0] if isinstance(second, tuple) else second
        assert "window.vegaEmbed" in first["text/html"] and len(first["text/html"]) > 500_000  # bundle once
        assert len(second["text/html"]) < 100_000 and "vegaEmbed" in second["text/html"]
        assert "<script src=" not in first["text/html"] + second["text/html"]  # nothing from the network
        with pytest.raises(ValueError, match="mode"):
            charts.enable_offline("pdf")
        assert charts.enable_interactive() == "jsna_offline_html"
        assert charts.enable_interactive(offline=False) == "default"
    finally:
        alt.renderers.enable("default")


def test_theme_registered():
    names = alt.theme.names() if hasattr(alt.theme, "names") else alt.themes.names()
    assert charts.theme.NAME in names
    assert alt.theme.active == charts.theme.NAME if hasattr(alt.theme, "active") else True
    config = charts.theme.config()["config"]
    assert "Arial" in config["font"]


def test_import_is_cheap():
    code = ("import sys, time; t = time.perf_counter(); import jsna_lib.charts; "
            "print(time.perf_counter() - t, 'vl_convert' in sys.modules, 'scipy' in sys.modules, "
            "'jsna_lib.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    seconds, vl, scipy, stats_ = out.stdout.split()
    assert (vl, scipy, stats_) == ("False", "False", "False")
    assert float(seconds) < 5  # altair and pandas dominate (~0.5 s on a warm disk)


def test_names_and_areas_accept_frames(comparisons, names, neighbours):
    mapping = _common.names_mapping(names)
    assert mapping[AREA] == "Birmingham"
    assert _common.area_codes(neighbours) == list(neighbours["area_code"])
    assert _common.area_names(pd.Series([ENGLAND, "E99999999"]), None, names).tolist()[0] == "England"


# ================================================================================= the gallery notebook
NOTEBOOK = REPO / "notebooks" / "chart_gallery.ipynb"


def test_gallery_notebook_is_stored_clean():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert "data_dir" in "".join(code[0]["source"])
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)


def test_gallery_notebook_runs_under_papermill(store, tmp_path):
    papermill = pytest.importorskip("papermill")
    ctyua = BOUNDARIES / "ons_ctyua_dec2023_uk_bsc.geojson.gz"
    out = tmp_path / "gallery.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False, cwd=str(REPO),
        parameters={"data_dir": str(store.path), "area_code": AREA,
                    "boundaries": str(ctyua) if ctyua.exists() else None})
    nb = json.loads(out.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 8  # every chart, as inline SVG (offline)


def test_text_array_is_the_same_for_every_string_storage() -> None:
    """Store strings (Arrow-backed) take a fast path: it must give what the general path gives."""
    from jsna_lib.charts import _common

    values = ["a", None, " b ", "", "\t c\u00a0", "d\n"]
    expected = ["a", "", "b", "", "c", "d"]
    for dtype in ("string[pyarrow]", "str", "string[python]", object):
        series = pd.Series(values, dtype=dtype)
        assert _common.text_array(series).tolist() == expected, dtype
        assert _common.text_array(pd.Index(series)).tolist() == expected, dtype
    assert _common.text_array(pd.Series([], dtype="string[pyarrow]")).tolist() == []
