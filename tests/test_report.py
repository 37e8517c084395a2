"""Offline HTML reports and the batch index page: no code, no CDN, escaped data, footer and banner."""

from __future__ import annotations

import re

import nbformat
import pytest

from jsna_lib import report

DEMO = report.Provenance(sources=("demonstration (synthetic)",), data_updated="2024-05-01T10:00:00+00:00",
                         store_checksum="abcdef0123456789", generated_at="2024-06-02T09:30:00+00:00",
                         tool_version="0.1.0")
REAL = report.Provenance(sources=("fingertips_export.csv",), data_updated="2024-05-01T10:00:00+00:00",
                         generated_at="2024-06-02T09:30:00+00:00")

CDN_TAG = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)
VEGA_SPEC = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": [{"a": 1}]},
             "mark": "bar", "encoding": {"x": {"field": "a", "type": "quantitative"}}}


def _executed_notebook(*, headline_html: str = "<b>Hartlepool</b>", vega: bool = True) -> nbformat.NotebookNode:
    """An executed notebook as papermill leaves it (built by hand: no kernel needed)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('area_code = "E06000001"  # SECRET_PARAMETER_SOURCE')
    params.metadata["tags"] = ["parameters"]
    head = nbformat.v4.new_code_cell("display(Markdown(headline_text))  # SECRET_HEADLINE_SOURCE")
    head.metadata["tags"] = ["headline"]
    head.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "**Hartlepool**: life expectancy "
                                                                 "is *lower* than England", "text/plain": "<Markdown>"})]
    table = nbformat.v4.new_code_cell("display(HTML(table))  # SECRET_TABLE_SOURCE")
    table.outputs = [nbformat.v4.new_output("display_data", data={"text/html": (
        f"<div>{headline_html}</div>"
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '<script src="//unpkg.com/something.js"></script>'
        '<link rel="stylesheet" href="http://example.org/x.css">')})]
    svg = nbformat.v4.new_code_cell("display(SVG(chart))  # SECRET_SVG_SOURCE")
    svg.outputs = [nbformat.v4.new_output("display_data", data={
        "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>',
        "text/plain": "<SVG>"})]
    cells = [nbformat.v4.new_markdown_cell("# Area profile"), params, head, table, svg]
    if vega:
        chart = nbformat.v4.new_code_cell("chart  # SECRET_VEGA_SOURCE")
        chart.outputs = [nbformat.v4.new_output("execute_result", data={
            "application/vnd.vegalite.v5+json": VEGA_SPEC, "text/plain": "alt.Chart(...)"}, execution_count=4)]
        cells.append(chart)
    nb.cells = cells
    return nb


@pytest.fixture()
def fake_bundle(monkeypatch):
    """A tiny stand-in for the 900 kB Vega bundle (the real one is checked once below)."""
    monkeypatch.setattr(report, "_vega_bundle", lambda: "window.vegaEmbed=function(){};/* </script> */")
    monkeypatch.setattr(report, "_vega_bundle_name", lambda: "vega-bundle-test.js")


def test_report_has_no_code_no_cdn_and_has_footer_and_banner() -> None:
    page = report.render_report(_executed_notebook(), title="Hartlepool (E06000001)", provenance=DEMO)
    assert "SECRET_" not in page  # no code cell source at all
    assert "highlight" not in re.sub(r"<style.*?</style>", "", page, flags=re.S)  # no highlighted code blocks
    assert not CDN_TAG.search(page), CDN_TAG.search(page)
    assert "require.min.js" not in page and "MathJax" not in page and "@jupyter-widgets" not in page
    assert "life expectancy is <em>lower</em>" in page  # outputs are kept
    assert "<svg" in page or "image/svg+xml" in page
    assert 'class="jsna-demo-banner"' in page and "Demonstration data" in page
    footer = re.search(r'<footer class="jsna-footer">.*?</footer>', page, re.S).group(0)
    assert "demonstration (synthetic)" in footer and "1 May 2024" in footer and "2 June 2024" in footer
    assert "abcdef012345" in footer and "JSNA Workbench 0.1.0" in footer
    assert "<title>Hartlepool (E06000001)</title>" in page


def test_real_data_has_no_banner_but_a_footer() -> None:
    page = report.render_report(_executed_notebook(vega=False), title="t", provenance=REAL)
    assert 'class="jsna-demo-banner"' not in page
    assert "Data: fingertips_export.csv" in page
    assert "vegaEmbed" not in page and 'data-jsna-asset' not in page  # no chart JavaScript needed


def test_footer_and_title_escape_data_strings() -> None:
    evil = report.Provenance(sources=("<script>alert(1)</script>",), generated_at="x")
    footer = report.footer_html(evil)
    assert "<script>" not in footer and "&lt;script&gt;alert(1)&lt;/script&gt;" in footer
    page = report.render_report(_executed_notebook(vega=False), title="<script>alert(2)</script>", provenance=evil)
    assert "<script>alert(2)</script>" not in page and "<script>alert(1)</script>" not in page


def test_vega_lite_output_is_drawn_as_svg_by_default() -> None:
    page = report.render_report(_executed_notebook(), title="t", provenance=DEMO)
    assert "vegaEmbed" not in page and "data-jsna-asset" not in page  # no JavaScript needed
    assert page.count('data-mime-type="image/svg+xml"') == 2  # the fixture's SVG and the Vega-Lite chart
    assert not re.search(r"<script\b[^>]*>", page)


def test_vega_lite_output_is_drawn_by_a_linked_shared_bundle(tmp_path, fake_bundle) -> None:
    page = report.render_report(_executed_notebook(), title="t", provenance=DEMO, charts="interactive")
    assert "vegaEmbed(el, spec" in page and '"mark": "bar"' in page
    linked = report.externalize_assets(page, assets_dir=tmp_path / "assets", href_prefix="../assets/")
    scripts = re.findall(r"<script\b[^>]*>", linked)
    assert '<script src="../assets/vega-bundle-test.js">' in scripts
    css = re.findall(r'<link rel="stylesheet" href="(\.\./assets/report-[0-9a-f]{12}\.css)">', linked)
    assert len(css) == 1 and "<style" not in linked.split("</head>")[0]
    assert (tmp_path / css[0].removeprefix("../")).stat().st_size > 100_000  # the JupyterLab CSS, once
    assert (tmp_path / "assets" / "vega-bundle-test.js").read_text().startswith("window.vegaEmbed")
    # the bundle loads in the head, before the charts' scripts run
    assert linked.index("vega-bundle-test.js") < linked.index("<body")
    # a second report reuses the same files
    again = report.externalize_assets(page, assets_dir=tmp_path / "assets", href_prefix="../assets/")
    assert again == linked and len(list((tmp_path / "assets").iterdir())) == 2


def test_self_contained_page_inlines_everything(fake_bundle) -> None:
    page = report.inline_assets(report.render_report(_executed_notebook(), title="t", provenance=DEMO,
                                                     charts="interactive"))
    assert not re.search(r"<script\b[^>]*\bsrc=", page) and not re.search(r"<link\b[^>]*stylesheet", page)
    assert "window.vegaEmbed=function(){};/* <\\/script> */" in page  # closing tags escaped inside
    assert "data-jsna-asset" not in page


def test_inline_vega_bundle_from_a_chart_output_is_replaced_by_the_shared_one(fake_bundle) -> None:
    nb = _executed_notebook(vega=False)
    big = "window.vegaEmbed=function(){};" + "x" * 200_000
    chart = nbformat.v4.new_code_cell("chart")
    chart.outputs = [nbformat.v4.new_output("display_data", data={"text/html": (
        f'<script type="text/javascript">{big}</script><div id="c"></div>'
        "<script>window.vegaEmbed('#c', {});</script>")})]
    nb.cells.append(chart)
    page = report.render_report(nb, title="t", provenance=DEMO)
    assert "x" * 1000 not in page and "window.vegaEmbed('#c'" in page
    assert 'data-jsna-asset="vega"' in page


def test_real_vega_bundle_is_a_classic_script_defining_vega_embed() -> None:
    js = report._vega_bundle()
    assert len(js) > 500_000 and "window.vegaEmbed=" in js
    assert not re.search(r"(^|[;}\n])\s*(import|export)\s*[{*\w]", js[:2000])  # not an ES module


def test_sanitize_removes_network_scripts_and_links_only() -> None:
    page = ('<script src="https://cdn.example/x.js"></script><script src="local.js"></script>'
            "<script>var u = 'https://example.org';</script><LINK REL=stylesheet HREF='HTTPS://cdn/x.css'>"
            '<link rel="stylesheet" href="assets/y.css"><a href="https://example.org">source</a>')
    clean = report.sanitize_html(page)
    assert "cdn.example" not in clean and "cdn/x.css" not in clean
    assert 'src="local.js"' in clean and "var u" in clean and 'href="assets/y.css"' in clean
    assert '<a href="https://example.org">' in clean  # ordinary links are fine


# ----------------------------------------------------------------------------------- headline
def test_headline_convention() -> None:
    nb = _executed_notebook()
    assert report.headline(nb) == "Hartlepool: life expectancy is lower than England"
    nb.metadata["jsna"] = {"headline": "  From   metadata  "}
    assert report.headline(nb) == "From metadata"

    plain = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("headline")
    cell.metadata["tags"] = ["headline"]
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "'A quoted string'"},
                                           execution_count=1)]
    plain.cells = [cell]
    assert report.headline(plain) == "A quoted string"
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="printed\nheadline\n")]
    assert report.headline(plain) == "printed headline"
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>Rate <b>&lt;5</b></p>"})]
    assert report.headline(plain) == "Rate <5"
    cell.outputs = []
    assert report.headline(plain) is None
    assert report.headline(nbformat.v4.new_notebook()) is None
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1000)]
    assert len(report.headline(plain)) == report.HEADLINE_MAX


# ----------------------------------------------------------------------------------- index
def test_index_escapes_every_data_string_and_needs_no_network() -> None:
    rows = [
        report.IndexRow("E06000001", "<script>alert('name')</script>", "ok",
                        headline="<img src=x onerror=alert(1)> & more", href="areas/E06000001.html",
                        area_type="utla", seconds=1.25),
        report.IndexRow("E06000002", "Middlesbrough", "failed", note="ValueError: <b>bad</b> in cell 4"),
        report.IndexRow("E06000003", "Redcar and Cleveland", "skipped", headline="Unchanged", href="areas/x.html"),
    ]
    page = report.index_html(rows, title="Area profiles", provenance=DEMO,
                             summary={"ok": 1, "failed": 1, "skipped": 1})
    assert "<script>alert('name')</script>" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; &amp; more" in page
    assert "&lt;b&gt;bad&lt;/b&gt;" in page
    assert '<a href="areas/E06000001.html">' in page and "Middlesbrough</td>" in page
    assert not CDN_TAG.search(page)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ["<script>"]  # one inline script (search and sort), nothing loaded
    assert 'id="search"' in page and "aria-sort" in page
    assert "jsna-demo-banner" in page and "jsna-footer" in page
    assert "3 areas: 1 ok, 1 failed, 1 ok (unchanged)" in page


def test_provenance_from_store_manifest() -> None:
    manifest = {"tables": {
        "values": {"source": "demonstration (synthetic)", "written_at": "2024-05-01T10:00:00+00:00"},
        "indicators": {"source": "demonstration (synthetic)", "written_at": "2024-05-02T10:00:00+00:00"},
        "comparisons": {"source": "jsna_lib.compare.compare_all", "written_at": "2024-05-03T10:00:00+00:00"},
    }}
    prov = report.provenance_from_store(manifest, checksum="c" * 64, generated_at="2024-06-01T00:00:00+00:00")
    assert prov.sources == ("demonstration (synthetic)",) and prov.demonstration
    assert prov.data_updated == "2024-05-03T10:00:00+00:00"
    assert not report.provenance_from_store({"tables": {"values": {"source": "ons.csv"}}}).demonstration


def test_write_text_atomic_gives_shareable_permissions(tmp_path) -> None:
    path = tmp_path / "sub" / "page.html"
    report.write_text_atomic(path, "<p>hi</p>")
    assert path.read_text() == "<p>hi</p>"
    assert path.stat().st_mode & 0o044  # readable by group/others (umask permitting), not 0600
    assert not list(path.parent.glob(".*.tmp"))


def _browser() -> str | None:
    import shutil

    return next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium to render the page")
@pytest.mark.parametrize("self_contained", [False, True])
def test_charts_render_offline_in_a_browser(tmp_path, self_contained) -> None:
    import subprocess

    page = report.render_report(_executed_notebook(), title="t", provenance=DEMO, charts="interactive")
    if self_contained:
        page = report.inline_assets(page)
    else:
        page = report.externalize_assets(page, assets_dir=tmp_path / "assets", href_prefix="../assets/")
    path = tmp_path / "areas" / "E06000001.html"
    report.write_text_atomic(path, page)
    done = subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # no network at all
         "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=90)
    dom = done.stdout
    vega = re.search(r'<div class="jsna-vega[^"]*"[^>]*>(.*?)</div>', dom, re.S)
    assert vega and 'class="marks"' in vega.group(1), dom[-2000:]  # vega-embed drew the chart as SVG
    assert "(chart not drawn" not in vega.group(1)
