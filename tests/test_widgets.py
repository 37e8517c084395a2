"""The explorer (``jsna_lib.widgets``) without a browser: data, views, pickers, exports.

One demonstration store per module (with its comparisons). The browser side is in
``tests/test_jupyterlab_browser.py``; the latency in ``benchmarks/bench_widgets.py``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from jsna_lib import charts, compare, demo, stats, widgets
from jsna_lib.store import Store

BIRMINGHAM, MANCHESTER, LIVERPOOL = "E08000025", "E08000003", "E08000012"
SMOKING, LE_BIRTH, DEPRIVATION = 900007, 900017, 900005


@pytest.fixture(scope="module", autouse=True)
def _cheap_renderer():
    """Altair's "default" renderer (a string of HTML per chart) whatever another module enabled: the
    SVG renderer would render every chart with vl-convert on each update."""
    import altair as alt

    previous = alt.renderers.active
    with alt.renderers.enable("default"):
        yield
    assert alt.renderers.active == previous


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    built = demo.build(tmp_path_factory.mktemp("widgets") / "demo_store")
    compare.compare_all(built)
    return built


@pytest.fixture(scope="module")
def data(store) -> widgets.ExplorerData:
    return widgets.ExplorerData(store, "utla")


@pytest.fixture()
def explorer(store, data) -> widgets.Explorer:
    return widgets.Explorer(store, BIRMINGHAM, indicator_id=SMOKING, data=data)  # the module's data, read once


def _spec_json(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True)


# ================================================================================= the data
def test_data_reads_the_stored_comparisons_once(data, store) -> None:
    assert len(data.areas) == 153 and set(data.areas["area_type"]) == {"utla"}
    assert data.area_label(BIRMINGHAM) == "Birmingham (E08000025)"
    assert data.find_area("Birmingham (E08000025)") == BIRMINGHAM
    assert data.find_area("e08000025") == data.find_area("birmingham") == BIRMINGHAM
    assert data.find_area("Birming") is None
    with pytest.raises(ValueError, match="did you mean Birmingham"):
        data.check_area("Birmingam")
    sexes, ages = data.breakdowns(LE_BIRTH)
    assert sexes == ["Female", "Male"] and ages == ["All ages"]
    assert data.periods(SMOKING, "Persons", "18+ yrs") == ["2018", "2019", "2020", "2021", "2022", "2023"]
    assert data.demonstration


def test_store_without_comparisons_says_how_to_make_them(store, tmp_path) -> None:
    bare = Store(tmp_path / "bare", create=True)
    bare.write_many({name: store.read(name) for name in ("values", "indicators", "areas")}, source="test",
                    validate=False)
    with pytest.raises(ValueError, match="jsna compare --data-dir"):
        widgets.ExplorerData(bare, compute_missing=False)


def test_view_numbers_are_the_stored_ones(data, store) -> None:
    sel = data.default_selection(BIRMINGHAM, indicator_id=SMOKING, comparator="region")
    view = data.view(sel)
    assert view.period == "2023" and view.comparator_name == "West Midlands"
    stored = compare.read_comparisons(store, area_code=BIRMINGHAM, area_type="utla", indicator_id=SMOKING)
    own = stored[(stored["period"] == "2023") & (stored["benchmark"] == "england")].iloc[0]
    row = view.table.iloc[0]
    assert row["area"] == "Birmingham (E08000025)"
    assert row["value"] == own["value"] and row["lower_95"] == own["lower_95"] and row["count"] == own["count"]
    assert row["vs_england"] == own["significance"] and row["trend"] == own["trend"]
    assert row["rank_in_england"] == f"{int(own['rank'])} of {int(own['rank_count'])}"
    vs_region = stored[(stored["period"] == "2023") & (stored["benchmark"] == "region")].iloc[0]
    assert row["vs_comparator"] == vs_region["significance"]
    values = store.read("values", filters=[("indicator_id", "=", SMOKING), ("area_code", "in", [
        compare.ENGLAND, "E12000005"]), ("period", "=", "2023")])
    england = values[values["area_code"] == compare.ENGLAND].iloc[0]
    assert list(view.table["area"]) == ["Birmingham (E08000025)", "England", "West Midlands"]
    assert view.table.iloc[1]["value"] == england["value"] and view.table.iloc[1]["count"] == england["count"]
    # The compare chart's areas: the region's UTLAs, against the region.
    assert set(view.compare_rows["area_code"]) >= set(data.areas[data.areas["region_code"] == "E12000005"]["area_code"])
    areas = view.compare_rows[view.compare_rows["area_code"] != "E12000005"]
    assert (areas["compared_with"] == "West Midlands").all() and areas["significance"].ne("").all()
    assert view.compare_rows.iloc[-1]["area_name"] == "West Midlands"  # the benchmark's own line, last
    assert "Birmingham" in _spec_json(view.compare_spec) and "West Midlands" in _spec_json(view.compare_spec)


def test_specs_equal_the_validated_chart_builders(data) -> None:
    """The explorer's specs are exactly what the chart builders give, and valid Vega-Lite."""
    sel = data.default_selection(LIVERPOOL, indicator_id=SMOKING, comparator="region")
    data._memo = {k: widgets._Memo() for k in data._memo}
    view = data.view(sel)
    frame, keys, cell = data._cell(sel)
    shown, _ = data._shown(sel)
    at = cell & (keys["period"] == view.period) & pd.Series(keys["area_code"]).isin(shown).to_numpy()
    meta = data._meta[SMOKING]
    expected_compare = charts.compare_areas(
        frame[at & (keys["benchmark"] == "region")], SMOKING, shown, benchmark="region", period=view.period,
        sex=sel.sex, age=sel.age, significance_benchmark="region", names=data.names, metadata=meta,
        highlight=LIVERPOOL, source=data.source, bar_height=16, width=340).to_dict()
    own = frame[cell & (keys["area_code"] == LIVERPOOL)]
    expected_trend = charts.trend(own, SMOKING, LIVERPOOL, benchmarks=("england", "region"), sex=sel.sex,
                                  age=sel.age, names=data.names, metadata=meta, source=data.source, width=350,
                                  height=240).to_dict()
    expected_spine = charts.spine_chart(
        own[own["period"] == view.period], metadata=meta, sexes="all", names=data.names, area_name="Liverpool",
        region_name="North West", source=data.source, title="Liverpool among the UTLAs of England",
        width=780).to_dict()
    assert _spec_json(view.compare_spec) == _spec_json(expected_compare)
    assert _spec_json(view.trend_spec) == _spec_json(expected_trend)
    assert _spec_json(view.spine_spec) == _spec_json(expected_spine)
    assert view.spine_spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    for spec in (view.compare_spec, view.trend_spec, view.spine_spec):  # the Vega-Lite JSON schema, via Altair
        charts.Chart(spec).to_dict(validate=True)


def test_england_comparator_shows_every_area(data) -> None:
    view = data.view(data.default_selection(BIRMINGHAM, indicator_id=SMOKING, comparator="england"))
    assert view.compare_rows["area_code"].nunique() == 153 + 1  # every UTLA, then England's line
    assert view.table.iloc[0]["vs_comparator"] == view.table.iloc[0]["vs_england"]


def test_neighbours_fall_back_to_the_region_and_use_the_group_aggregate(data, store) -> None:
    sel = data.default_selection(LIVERPOOL, indicator_id=SMOKING, comparator="neighbours")
    view = data.view(sel)
    members, kind = data.neighbours_of(LIVERPOOL)
    assert kind == "Geographic neighbours" and LIVERPOOL not in members and len(members) == 23
    assert "the store has no statistical neighbours" in " ".join(view.notes)
    # The group's value is Σcount / Σdenominator × 100 of the members (a proportion), by hand.
    rows = compare.read_comparisons(store, area_type="utla", indicator_id=SMOKING, benchmark="england")
    rows = rows[(rows["period"] == view.period) & rows["area_code"].isin(members)]
    by_hand = rows["count"].sum() / rows["denominator"].sum() * 100
    group_row = view.table[view.table["area"].str.startswith("Geographic neighbours average")].iloc[0]
    assert group_row["value"] == pytest.approx(by_hand, rel=1e-12)
    # Liverpool against the group: the stored method (CI vs benchmark value).
    mine = view.compare_rows[view.compare_rows["area_code"] == LIVERPOOL].iloc[0]
    expected = compare.compare_to_benchmark(mine["value"], mine["lower_95"], mine["upper_95"], mine["lower_99_8"],
                                            mine["upper_99_8"], by_hand, comparator_method="ci_95",
                                            polarity="RAG - Low is good")["significance"].iloc[0]
    assert mine["significance"] == expected == view.table.iloc[0]["vs_comparator"]


def test_statistical_neighbours_from_the_store(store, tmp_path) -> None:
    shutil.copytree(store.path, tmp_path / "nn")
    store = Store(tmp_path / "nn")
    store.write("neighbours", pd.DataFrame({"area_code": [LIVERPOOL] * 3, "neighbour_code": [
        MANCHESTER, BIRMINGHAM, "E08000035"], "rank": [2, 1, 3]}), source="test", validate=False)
    assert compare.comparisons_current(store)  # the extra table does not make the comparisons stale
    data = widgets.ExplorerData(store)
    assert data.neighbours_of(LIVERPOOL) == ([BIRMINGHAM, MANCHESTER, "E08000035"], "Statistical neighbours")
    view = data.view(data.default_selection(LIVERPOOL, indicator_id=SMOKING, comparator="neighbours"))
    assert set(view.compare_rows["area_code"]) == {LIVERPOOL, BIRMINGHAM, MANCHESTER, "E08000035",
                                                   "COMPARATOR GROUP"}
    assert view.comparator_name == "Statistical neighbours"


def test_custom_set_compares_with_its_aggregate(data) -> None:
    custom = ("E08000011", "E08000013", "E08000014")
    view = data.view(data.default_selection(LIVERPOOL, indicator_id=900003, comparator="custom", custom=custom))
    shown = set(view.compare_rows["area_code"]) - {"COMPARATOR GROUP"}
    assert shown == {LIVERPOOL, *custom}
    members = view.compare_rows[view.compare_rows["area_code"].isin(custom)]
    by_hand = members["count"].sum() / members["denominator"].sum() * 1000  # a crude rate per 1,000
    assert view.table.iloc[-1]["value"] == pytest.approx(by_hand, rel=1e-12)


def test_memo_builds_each_part_once(data, monkeypatch) -> None:
    calls: list[str] = []
    for name in ("compare_areas", "trend", "spine_chart"):
        original = getattr(charts, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(charts, name, counted)
    data._memo = {k: widgets._Memo() for k in data._memo}
    sel = data.default_selection(MANCHESTER, indicator_id=SMOKING, comparator="region")
    data.view(sel)
    assert sorted(calls) == ["compare_areas", "spine_chart", "trend"]
    calls.clear()
    data.view(replace(sel, comparator="england"))  # only the compare chart depends on the comparator
    assert calls == ["compare_areas"]
    calls.clear()
    data.view(sel)  # seen before: nothing rebuilt
    assert calls == []


def test_selection_changes_read_nothing_from_the_store(explorer, monkeypatch) -> None:
    """Changing a selection recomputes nothing compare_all stored and reads nothing."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the store was read or the comparisons recomputed after the explorer started")

    monkeypatch.setattr(compare, "compare_all", forbidden)
    monkeypatch.setattr(compare, "read_comparisons", forbidden)
    monkeypatch.setattr(explorer.store, "read", forbidden)
    for change in ({"area_code": MANCHESTER}, {"indicator_id": LE_BIRTH}, {"comparator": "england"},
                   {"period": "2019 - 21"}, {"comparator": "neighbours"}):
        assert explorer.select(**change) is not None, explorer.error


# ================================================================================= the widget
def test_pickers_drive_every_view(explorer) -> None:
    first = explorer.view
    assert "Birmingham (E08000025)" in explorer.table_html.value
    assert explorer.compare_output.outputs and explorer.spine_output.outputs and explorer.trend_output.outputs
    explorer.area_picker.value = "Manchester (E08000003)"
    view = explorer.view
    assert view is not first and view.selection.area_code == MANCHESTER
    assert "Manchester (E08000003)" in explorer.table_html.value and "North West" in explorer.table_html.value
    assert "Manchester (E08000003)" in explorer.status.value
    html_out = explorer.compare_output.outputs[0]["data"]
    assert "Manchester" in json.dumps(html_out)
    assert _spec_json(view.compare_spec) != _spec_json(first.compare_spec)
    assert _spec_json(view.trend_spec) != _spec_json(first.trend_spec)
    assert _spec_json(view.spine_spec) != _spec_json(first.spine_spec)
    # A code typed in works too; text matching nothing leaves the view and says so.
    explorer.area_picker.value = "e08000012"
    assert explorer.view.selection.area_code == LIVERPOOL
    assert explorer.area_picker.value == "Liverpool (E08000012)"
    explorer.area_picker.value = "Liver"
    assert explorer.view.selection.area_code == LIVERPOOL and "Matches: Liverpool (E08000012)" in explorer.status.value


def test_indicator_domain_sex_and_period_pickers(explorer) -> None:
    explorer.domain_picker.value = "Life expectancy and mortality"
    assert all(i in (900017, 900018, 900019, 900020, 900021) for _, i in explorer.indicator_picker.options)
    assert explorer.selection.indicator_id == explorer.indicator_picker.value == 900017
    assert explorer.sex_picker.options == ("Female", "Male") and explorer.sex_picker.value == "Female"
    assert explorer.age_picker.disabled
    explorer.sex_picker.value = "Male"
    assert explorer.view.selection.sex == "Male" and "Male" in explorer.view.title
    periods = [v for _, v in explorer.period_picker.options]
    assert periods[0] == "latest" and "2016 - 18" in periods
    explorer.period_picker.value = "2016 - 18"
    assert explorer.view.period == "2016 - 18" and "2016 - 18" in explorer.status.value
    explorer.indicator_picker.value = 900019  # Persons exists again: the sex stays Male (still valid)
    assert explorer.view.selection.sex == "Male"
    # 900019 has single years: "2016 - 18" does not exist there, so the period goes back to the latest.
    assert explorer.period_picker.value == "latest" and explorer.view.period == "2023"
    explorer.period_picker.value = "2020"
    explorer.indicator_picker.value = 900020  # ... and is kept where the new indicator has it
    assert explorer.view.period == "2020" and explorer.period_picker.value == "2020"


def test_comparator_pickers_and_custom_set(explorer) -> None:
    assert explorer.custom_picker.layout.display == "none"
    explorer.comparator_picker.value = "custom"
    assert explorer.custom_picker.layout.display == ""
    assert len(explorer.selection.custom) == 5  # started from the neighbours
    explorer.custom_picker.value = ["Coventry (E08000026)", "Solihull (E08000029)"]
    view = explorer.view
    assert set(view.compare_rows["area_code"]) - {"COMPARATOR GROUP"} == {BIRMINGHAM, "E08000026", "E08000029"}
    assert "Custom set average (2 areas)" in explorer.table_html.value


def test_area_type_switch(explorer) -> None:
    explorer.area_type_picker.value = "ltla"
    assert explorer.selection.area_type == "ltla" and explorer.view.selection.area_code == BIRMINGHAM
    assert len(explorer.area_picker.options) == len(explorer.data.areas) > 153
    explorer.area_picker.value = "Ashford (E07000105)"
    assert explorer.view.selection.area_code == "E07000105"
    assert "Kent" not in explorer.view.comparator_name and explorer.view.comparator_name == "South East"


def test_unknown_area_fails_loudly(store) -> None:
    with pytest.raises(ValueError, match="no utla 'Atlantis'"):
        widgets.explore(store, "Atlantis")


def test_export_writes_csv_and_png_and_download_links(explorer, tmp_path) -> None:
    paths = explorer.export(tmp_path / "out")
    csv = pd.read_csv(paths["csv"])
    assert list(csv.columns) == widgets._CSV_COLUMNS
    assert set(csv["part"]) == {"compare areas", "trend"}
    trend = csv[csv["part"] == "trend"]
    assert (trend["area_code"] == BIRMINGHAM).all() and len(trend) == 6
    compared = csv[(csv["part"] == "compare areas") & (csv["area_code"] == BIRMINGHAM)].iloc[0]
    assert compared["value"] == pytest.approx(explorer.view.table.iloc[0]["value"])
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    assert paths["csv"].name == "e08000025_900007_persons_18-yrs_2023_region.csv"
    links = explorer.links.value
    assert links.count('class="jsna-download"') == 2 and 'download="e08000025_900007' in links
    assert "data:text/csv;base64," in links and "data:image/png;base64," in links
    explorer.area_picker.value = "Manchester (E08000003)"
    assert explorer.links.value == ""  # stale links go when the view changes


def test_stacked_spec_renders(explorer) -> None:
    svg = charts.to_svg(explorer.view.combined_spec())
    assert svg.startswith("<svg") and "Birmingham" in svg


def test_table_html_escapes_names(data) -> None:
    table = pd.DataFrame({"area": ["<b>Bad & Co</b>"], "value": [1.0], "lower_95": [0.5], "upper_95": [1.5],
                          "count": [3.0], "denominator": [10.0], "vs_england": ["Worse"], "vs_comparator": ["Similar"],
                          "trend": ["No significant change"], "rank_in_england": ["1 of 2"]})
    table.attrs.update({"unit": "%", "comparator": "<Region>"})
    out = widgets._table_html(table)
    assert "<b>Bad" not in out and "&lt;b&gt;Bad &amp; Co&lt;/b&gt;" in out and "Compared with &lt;Region&gt;" in out
    assert "#C00000" in out  # Worse, coloured, and the label written too


def test_wilson_interval_in_group_matches_stats(data) -> None:
    """The table's own row carries the stored Wilson interval (nothing recomputed)."""
    view = data.view(data.default_selection(BIRMINGHAM, indicator_id=SMOKING, comparator="region"))
    row = view.table.iloc[0]
    again = stats.proportion(pd.DataFrame({"c": [row["count"]], "n": [row["denominator"]]}), "c", "n",
                             confidence=0.95)
    assert row["lower_95"] == pytest.approx(again["lower_95"].iloc[0], rel=1e-9)
    assert np.isfinite(row["upper_95"])
