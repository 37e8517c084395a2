"""Offline HTML reports and the batch index page: no code, no CDN, escaped data, footer and banner."""

from __future__ import annotations

import json
import re
from pathlib import Path

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
    # the chart drawn by vl-convert is named by its title (escaped), the untitled fixture SVG generically
    nb = _executed_notebook()
    nb.cells[-1].outputs[0].data["application/vnd.vegalite.v5+json"] = {**VEGA_SPEC, "title": "Rates <by> area"}
    page = report.render_report(nb, title="t", provenance=DEMO)
    assert re.findall(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]*)"', page) == [
        "Chart", "Rates &lt;by&gt; area"]


def test_vega_lite_output_is_drawn_by_a_linked_shared_bundle(tmp_path, fake_bundle) -> None:
    page = report.render_report(_executed_notebook(), title="t", provenance=DEMO, charts="interactive")
    assert "vegaEmbed(el, spec" in page and '"mark":"bar"' in page
    linked = report.externalize_assets(page, assets_dir=tmp_path / "assets", href_prefix="../assets/")
    scripts = re.findall(r"<script\b[^>]*>", linked)
    assert '<script src="../assets/vega-bundle-test.js">' in scripts
    css = re.findall(r'<link rel="stylesheet" href="(\.\./assets/report-[0-9a-f]{12}\.css)">', linked)
    assert len(css) == 1 and "<style" not in linked.split("</head>")[0]
    stylesheet = (tmp_path / css[0].removeprefix("../")).read_text()  # the report's own CSS, written once
    assert ".jsna-demo-banner" in stylesheet and "border-collapse" in stylesheet and "@media print" in stylesheet
    assert len(stylesheet) < 20_000 and "jp-" not in stylesheet
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


# ----------------------------------------------------------------------------------- page content
def _body(page: str) -> str:
    return page.split("<body>", 1)[1]


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(*outputs: dict, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("SECRET_SOURCE = 1")
    cell.outputs = [nbformat.v4.new_output(**o) for o in outputs]
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def test_markdown_cells_render_with_heading_anchors_tables_and_reading_order() -> None:
    md = nbformat.v4.new_markdown_cell(
        "# Area profile\n\nSome *emphasis*, **strong**, `code` and [a link](#2.-Population).\n\n"
        "| Indicator | Value |\n|---|--:|\n| Smoking | 14.4 |\n| Obesity | 26.7 |\n\n"
        "<span class=\"kept\">raw HTML</span>\n\n## 2. Population\n\n## Summary\n\n## Summary\n")
    later = nbformat.v4.new_markdown_cell("## Definitions")
    page = report.render_report(_notebook(md, _code({"output_type": "stream", "name": "stdout",
                                                     "text": "between"}), later), title="t", provenance=REAL)
    body = _body(page)
    assert '<h1 id="Area-profile">Area profile<a class="anchor-link" href="#Area-profile">¶</a></h1>' in body
    assert '<h2 id="2.-Population">' in body and 'href="#2.-Population">a link</a>' in body  # JupyterLab ids
    assert '<h2 id="Summary">' in body and '<h2 id="Summary-2">' in body  # ids unique within the page
    assert "<em>emphasis</em>" in body and "<strong>strong</strong>" in body and "<code>code</code>" in body
    table = re.search(r"<table>.*?</table>", body, re.S).group(0)
    assert re.findall(r"<th[^>]*>(.*?)</th>", table) == ["Indicator", "Value"]
    assert re.findall(r"<td[^>]*>(.*?)</td>", table) == ["Smoking", "14.4", "Obesity", "26.7"]
    assert '<span class="kept">raw HTML</span>' in body  # Markdown cells may hold HTML, as in Jupyter
    assert body.index("Area profile") < body.index("between") < body.index("Definitions")  # reading order
    assert "SECRET_SOURCE" not in page and "¶" in body


def test_text_outputs_are_escaped_and_streams_merged() -> None:
    cell = _code({"output_type": "execute_result", "execution_count": 1,
                  "data": {"text/plain": "'<script>alert(1)</script> & co'"}},
                 {"output_type": "stream", "name": "stdout", "text": "first <b>line</b>\n"},
                 {"output_type": "stream", "name": "stdout", "text": "10%\r50%\r100%\n"},
                 {"output_type": "stream", "name": "stderr", "text": "Warning: <careful>\n"},
                 {"output_type": "error", "ename": "ValueError", "evalue": "<bad>",
                  "traceback": ["\x1b[0;31mValueError\x1b[0m: <bad> & worse"]})
    body = _body(report.render_report(_notebook(cell), title="t", provenance=REAL))
    assert "<script>alert(1)</script>" not in body
    assert "<pre>'&lt;script&gt;alert(1)&lt;/script&gt; &amp; co'</pre>" in body
    # the two stdout outputs are one block; a carriage return overwrites (progress bars)
    assert '<pre class="jsna-stream">first &lt;b&gt;line&lt;/b&gt;\n100%\n</pre>' in body
    assert '<pre class="jsna-stream jsna-stderr">Warning: &lt;careful&gt;\n</pre>' in body
    assert '<pre class="jsna-error">ValueError: &lt;bad&gt; &amp; worse</pre>' in body  # colour codes removed
    assert "\x1b" not in body and "<b>" not in body and "<careful>" not in body


def test_outputs_follow_nbconvert_mime_order_and_images_are_data_uris() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>Rates &amp; &quot;trends&quot;</title></svg>'
    cell = _code(
        {"output_type": "display_data", "data": {"text/html": "<p class='h'>html wins</p>", "text/markdown": "md",
                                                  "image/png": png, "text/plain": "plain loses"}},
        {"output_type": "display_data", "data": {"text/markdown": "*md wins*", "image/svg+xml": svg,
                                                  "text/plain": "x"}},
        {"output_type": "display_data", "data": {"image/svg+xml": svg, "image/png": png, "text/plain": "<Figure>"}},
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "Population <chart>"},
         "metadata": {"image/png": {"width": 320, "height": "200"}}},
        {"output_type": "display_data", "data": {"text/latex": "$x < y$", "text/plain": "x<y"}},
        {"output_type": "display_data", "data": {"application/x-unknown": "?"}})
    body = _body(report.render_report(_notebook(cell), title="t", provenance=REAL))
    mimes = re.findall(r'<div class="jsna-output" data-mime-type="([^"]+)">', body)
    assert mimes == ["text/html", "text/markdown", "image/svg+xml", "image/png", "text/latex"]
    assert "<p class='h'>html wins</p>" in body and "<em>md wins</em>" in body
    assert "plain loses" not in body and "<Figure>" not in body and "application/x-unknown" not in body
    # the SVG's <title> is its alt text, escaped for the attribute
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="Rates &amp; &quot;trends&quot;">',
                     body)
    assert f'<img src="data:image/png;base64,{png}" alt="Population &lt;chart&gt;" width="320" height="200">' in body
    assert '<div class="jsna-latex">$x &lt; y$</div>' in body


def test_interactive_page_has_one_vega_div_per_chart_and_loads_nothing(tmp_path, fake_bundle) -> None:
    nb = _executed_notebook()
    titled = {**VEGA_SPEC, "title": {"text": "Smoking <prevalence>", "subtitle": "2023 & before"},
              "usermeta": {"note": "</script><script>alert(1)</script>\u2028·"}}
    nb.cells.append(_code({"output_type": "display_data", "data": {"application/vnd.vegalite.v6+json": titled,
                                                                   "text/plain": "alt.Chart(...)"}},
                          {"output_type": "display_data", "data": {"application/vnd.vega.v5+json": {"marks": []}}}))
    charts = sum(1 for c in nb.cells for o in c.get("outputs", []) if any("vnd.vega" in m for m in o.get("data", {})))
    before = nbformat.writes(nb)
    page = report.render_report(nb, title="t", provenance=DEMO, charts="interactive")
    assert nbformat.writes(nb) == before  # the notebook is not modified
    assert charts == 3 and page.count('<div class="jsna-vega" id="jsna-vega-') == charts
    assert page.count("vegaEmbed(el, spec") == charts and '"mode":"vega"' in page
    assert 'aria-label="Smoking &lt;prevalence&gt; 2023 &amp; before"' in page
    assert page.count(report._VEGA_MARKER) == 1 and page.index(report._VEGA_MARKER) < page.index("<body")
    # each spec is inert JSON inside its script: no markup can close the script early
    specs = re.findall(r"var spec = (.*?);\n", page)
    assert len(specs) == charts and not any(c in s for s in specs for c in "<>&\u2028\u2029")
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in page and "</script><script>alert" not in page
    assert json.loads(specs[-2])["usermeta"]["note"] == "</script><script>alert(1)</script>\u2028·"  # same data
    for finished in (report.inline_assets(page), report.externalize_assets(page, assets_dir=tmp_path / "assets")):
        # nothing on the page is fetched from the network: no http(s) or protocol-relative src/href/url()
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", finished, re.I)
        assert not re.search(r"url\(\s*[\"']?\s*(?:https?:)?//|@import", finished, re.I)


def test_script_json_is_inert_with_orjson_and_its_fallback() -> None:
    value = {"a": "</script>&<b>\u2028\u2029é", "n": [1, 2.5, None, True], 3: "int key"}
    fast = report._script_json(value)
    slow = report._script_json({**value, "big": 2**70})  # beyond 64 bits: orjson refuses, json encodes
    for text, extra in ((fast, {}), (slow, {"big": 2**70})):
        assert not any(c in text for c in "<>&\u2028\u2029")
        assert json.loads(text) == {"a": "</script>&<b>\u2028\u2029é", "n": [1, 2.5, None, True], "3": "int key",
                                    **extra}


def test_tags_hidden_sources_raw_cells_and_attachments() -> None:
    head = _code({"output_type": "display_data", "data": {"text/markdown": "**Headline**"}}, tags=("headline", "a b"))
    hidden = nbformat.v4.new_markdown_cell("HIDDEN_MARKDOWN")
    hidden.metadata["transient"] = {"remove_source": True}
    raw = nbformat.v4.new_raw_cell('<p class="raw">raw html</p><script src="https://cdn.example/x.js"></script>')
    latex = nbformat.v4.new_raw_cell("\\section{RAW_LATEX}")
    latex.metadata["raw_mimetype"] = "text/latex"
    pic = nbformat.v4.new_markdown_cell("![logo](attachment:logo%20a.png)")
    pic.attachments = {"logo a.png": {"image/png": "iVBORw0KGgo="}}
    empty = _code()
    body = _body(report.render_report(_notebook(head, hidden, raw, latex, pic, empty), title="t", provenance=REAL))
    assert '<div class="jsna-cell jsna-code celltag_headline celltag_a_b">' in body
    assert "HIDDEN_MARKDOWN" not in body and "RAW_LATEX" not in body
    assert '<p class="raw">raw html</p>' in body and "cdn.example" not in body
    assert '<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo"' in body
    assert body.count('<div class="jsna-cell') == 3  # the empty code cell leaves nothing behind


def test_page_is_small_and_rendered_without_nbconvert() -> None:
    import subprocess
    import sys

    page = report.render_report(_executed_notebook(vega=False), title="t", provenance=DEMO)
    assert len(page) < 20_000  # a few kB of CSS, not JupyterLab's ~260 kB
    assert "jp-" not in page and "jupyter-widgets" not in page
    assert report.REPORT_FORMAT >= 2  # pages of the nbconvert era are re-rendered by `jsna batch`
    # a fresh process renders a report without importing nbconvert, jinja2 or BeautifulSoup
    code = ("import sys, nbformat; from jsna_lib import report; nb = nbformat.v4.new_notebook(); "
            "nb.cells = [nbformat.v4.new_markdown_cell('# Title')]; "
            "report.render_report(nb, title='t', provenance=report.Provenance()); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbconvert', 'jinja2', 'bs4')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=str(Path(report.__file__).parent.parent))
    assert done.stdout.strip() == "[]"


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
