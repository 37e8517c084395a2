"""The main job end to end, as a reader sees it: `jsna batch` renders the area profile for a few
authorities of the demo store, then headless Chromium opens index.html and a report with the
network cut off. Every chart must have rendered, nothing may ask for the network and the console
must stay clean.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from jsna_lib import cli, demo
from tests.conftest import CHROMIUM_ARGS, REPO

AREAS = ["E08000025", "E10000017"]  # Birmingham (metropolitan district), Lancashire (county)


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch")
    demo.build(root / "store")
    out = root / "out"
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = cli.main(["batch", "--notebook", str(REPO / "notebooks" / "area_profile.ipynb"),
                         "--data-dir", str(root / "store"), "--out", str(out), "--areas", ",".join(AREAS),
                         "--workers", "2", "--no-progress", "--timeout", "300"])
    assert code == 0, err.getvalue()
    return out


def _open(chromium: str, url: str):
    """Load ``url`` in Chromium; return (page text, svg count, console errors, network requests)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    remote: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"])
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def guard(route):
            if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
                route.continue_()
            else:
                remote.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        page.goto(url, wait_until="load")
        page.wait_for_timeout(300)
        # charts drawn by vega-embed (the batch default): wait until each has its <svg>
        page.wait_for_function("""() => [...document.querySelectorAll('.jsna-vega')]
                                        .every(el => el.querySelector('svg') || el.textContent)""", timeout=30_000)
        # charts arrive as vega-embed <svg>, inline <svg> or <img> data URIs of SVG; count the ones drawn
        svgs = page.locator("svg").count() + page.evaluate(
            """() => [...document.querySelectorAll('img[src^="data:image/svg+xml"]')]
                     .filter(img => img.complete && img.naturalWidth > 0).length""")
        result_alts = page.evaluate(
            """() => [...document.querySelectorAll('img[src^="data:image/svg+xml"]')].map(i => i.alt)
                     .concat([...document.querySelectorAll('.jsna-chart')].map(f => f.getAttribute('aria-label')))""")
        result_vega = page.evaluate(
            """() => [...document.querySelectorAll('.jsna-vega')].map(el => el.querySelector('svg.marks') ? 'drawn'
                     : el.textContent)""")
        # the report's stylesheet (a shared asset file in a batch) applied: bordered tables, a measure
        result_style = page.evaluate(
            """() => { const t = document.querySelector('main table'), m = document.querySelector('main');
                       return t && m ? [getComputedStyle(t).borderCollapse, getComputedStyle(m).maxWidth,
                                        document.querySelectorAll('h2[id] > a.anchor-link').length] : null; }""")
        text = page.inner_text("body")
        result = {"text": text, "svgs": svgs, "errors": errors, "remote": remote, "alts": result_alts,
                  "vega": result_vega, "style": result_style}
        if url.endswith("index.html"):
            result["rows"] = page.locator("tbody tr").count()
            search = page.locator("input[type=search], input#search, input").first
            search.fill("Lancashire")
            page.wait_for_timeout(200)
            result["visible_after_search"] = page.locator("tbody tr:visible").count()
        browser.close()
    return result


def test_index_lists_every_area_and_works_offline(batch_out, chromium) -> None:
    manifest = json.loads((batch_out / "manifest.json").read_text())
    assert {a: e["status"] for a, e in manifest["areas"].items()} == dict.fromkeys(AREAS, "ok")
    page = _open(chromium, (batch_out / "index.html").as_uri())
    assert page["rows"] == len(AREAS)
    assert "Birmingham" in page["text"] and "Lancashire" in page["text"]
    assert page["visible_after_search"] == 1
    assert page["errors"] == [] and page["remote"] == []


@pytest.mark.parametrize("area", AREAS)
def test_report_renders_every_chart_offline(batch_out, chromium, area) -> None:
    html = (batch_out / "areas" / f"{area}.html").read_text()
    # every chart output of the executed notebook became an inline SVG in the report
    nb = json.loads((batch_out / "areas" / f"{area}.ipynb").read_text())
    charts = sum(1 for cell in nb["cells"] for out in cell.get("outputs", [])
                 if "image/svg+xml" in out.get("data", {}) or "application/vnd.vegalite.v6+json" in out.get("data", {})
                 or "application/vnd.vegalite.v5+json" in out.get("data", {}))
    assert charts >= 5
    page = _open(chromium, (batch_out / "areas" / f"{area}.html").as_uri())
    assert page["svgs"] >= charts
    # every chart output was drawn by vega-embed (interactive charts, the batch default), none failed
    assert len(page["vega"]) == charts and set(page["vega"]) == {"drawn"}, page["vega"]
    # every chart has a real text alternative (the chart's title), not a placeholder
    assert len(page["alts"]) == charts
    assert all(a and a != "Chart" and "No description" not in a for a in page["alts"]), page["alts"]
    assert page["remote"] == [], page["remote"]
    assert page["errors"] == [], page["errors"]
    collapse, measure, anchored_sections = page["style"]
    assert collapse == "collapse" and measure.endswith("px"), page["style"]
    assert anchored_sections >= 5  # the notebook's "## n. ..." sections, each with an id and a ¶ link
    assert "Demonstration data" in page["text"] or "demonstration data" in page["text"].lower()
    assert "<script src=\"http" not in html and "cdn." not in html.lower()
