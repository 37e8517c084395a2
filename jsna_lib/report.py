"""Executed notebooks → offline HTML reports, and the index page of a batch.

A report is the executed notebook **without code cells or prompts**, written directly as HTML
by :func:`render_report` (no nbconvert, jinja or JupyterLab CSS: ~10 ms an area instead of
~0.1-0.3 s): Markdown cells rendered by mistune, then every output in reading order as the
first of HTML, Markdown, SVG, LaTeX (as text), PNG/JPEG and plain text it has (nbconvert's
order), streams and errors as escaped text. A "demonstration data" banner is added when the data
is synthetic and a footer names the data sources, the data store version and the date. The page
has a small stylesheet of its own (readable, printable: bordered, striped tables, a measure of
~1,100 px) and renders completely offline:

* nothing is loaded from a CDN: the page loads no RequireJS, MathJax, Mermaid or
  jupyter-widgets script, and any ``<script src="http(s)://...">`` or ``<link
  href="http(s)://...">`` tag in a cell's HTML (or Markdown) is removed;
* charts: ``image/svg+xml`` and ``image/png`` outputs are inlined as ``<img>`` data URIs (an
  SVG's ``<title>`` becomes its ``alt``). A raw Vega-Lite
  or Vega output (``application/vnd.vegalite.v5+json`` etc., what Altair's default renderer
  emits) is drawn as SVG by vl-convert when the report is made (``charts="svg"``, the default)
  or by vega-embed in the browser (``charts="interactive"``). HTML outputs that call
  ``vegaEmbed(...)`` themselves (Altair's ``html`` renderer, ``charts.enable_offline("html")``)
  work too. The Vega/Vega-Lite/vega-embed JavaScript comes from
  ``vl_convert.javascript_bundle()`` (no network) and is only added to pages that need it;
* shared assets (the report stylesheet, ~3 kB, and the Vega bundle, ~900 kB, built once per
  vl-convert version and cached in ``~/.cache/jsna-workbench``) are either written
  once to an assets folder and linked by relative path (:func:`externalize_assets`, the batch
  default: ``OUT/assets/report-<hash>.css``, ``OUT/assets/vega-bundle-<version>.js``) or inlined
  into every page (:func:`inline_assets`, ``jsna batch --self-contained``).

:func:`render_report` returns a *portable* page (CSS inline, the Vega bundle only as a
placeholder) so that it can be made on a Dask worker and finished where it is written.

Headline convention (:func:`headline`)
--------------------------------------
The index shows one headline per area, read from the executed notebook:

1. ``nb.metadata["jsna"]["headline"]`` (a string) if something set it; otherwise
2. the first output of the first code cell tagged ``headline``: its ``text/markdown``, else
   ``text/plain`` (a string's repr is unquoted), else ``text/html``, else its printed
   ``stdout``. A notebook does, in a cell tagged ``headline``::

       display(Markdown(f"Life expectancy in {html.escape(name)} is **{le:.1f}** years, {verdict} England"))

Tags, Markdown emphasis and heading marks are removed, entities decoded, whitespace collapsed,
and the text cut at 300 characters: the headline is plain text, and the index escapes it again.

Escaping: every data-derived string this module writes (titles, footer, index rows, image
``alt`` texts, cell tags) and every text output (``text/plain``, streams, errors, LaTeX) is
HTML-escaped (:func:`html.escape`). Notebook ``text/html`` and ``text/markdown`` outputs and
Markdown cells are the notebook's own HTML and are kept as they are (only network-loading tags
are removed), so a notebook that puts data into Markdown or HTML output must escape it itself, as
the fixture ``tests/fixtures/notebooks/ok_profile.ipynb`` does.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import copy
import datetime as dt
import hashlib
import html
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mistune
import orjson

from ._atomic import write_text_atomic

__all__ = [
    "CHART_MODES",
    "HEADLINE_TAG",
    "IndexRow",
    "Provenance",
    "ReportError",
    "externalize_assets",
    "headline",
    "index_html",
    "inline_assets",
    "provenance_from_store",
    "render_report",
    "sanitize_html",
    "write_text_atomic",
]

#: The cell tag whose output is an area's headline (see the module docstring).
HEADLINE_TAG = "headline"
#: Bumped when the look of the reports changes, so that ``jsna batch`` re-renders unchanged areas.
REPORT_FORMAT = 2

log = logging.getLogger("jsna_lib.report")
HEADLINE_MAX = 300

_VEGA_MARKER = '<script data-jsna-asset="vega"></script>'
_VEGA_MIME = re.compile(r"^application/vnd\.(vegalite|vega)\.v(\d+)(?:\.\d+)*\+json$")
_CDN_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_CDN_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//[^>]*>", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>(.*?)</head\s*>", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


class ReportError(RuntimeError):
    """A report that cannot be made (e.g. a chart needs the Vega bundle and vl-convert is missing)."""


# ============================================================================ provenance
@dataclass(frozen=True)
class Provenance:
    """Where the data of a report came from, for its footer and banner.

    ``sources`` are the ``source`` entries of the store manifest (e.g. ``"demonstration
    (synthetic)"``, ``"fingertips_export.csv"``); ``data_updated`` is when the store was last
    written; ``generated_at`` when the report was made. ``demonstration`` is true when any
    source contains "synthetic".
    """

    sources: tuple[str, ...] = ()
    data_updated: str = ""
    store_checksum: str = ""
    generated_at: str = ""
    tool_version: str = ""

    @property
    def demonstration(self) -> bool:
        return any("synthetic" in s.casefold() for s in self.sources)


def provenance_from_store(store_manifest: Mapping[str, Any], *, checksum: str = "",
                          generated_at: str | None = None, tool_version: str = "") -> Provenance:
    """A :class:`Provenance` from a store's ``manifest.json`` content (``Store(dir).manifest``).

    Sources are the distinct table sources (derived tables written by our own code, whose
    source names a ``jsna_lib`` function, are left out); ``data_updated`` is the latest
    ``written_at`` of any table.
    """
    tables = store_manifest.get("tables", {}) or {}
    sources = []
    for entry in tables.values():
        source = str(entry.get("source", "")).strip()
        if source and not source.startswith("jsna_lib.") and source not in sources:
            sources.append(source)
    written = sorted(str(e.get("written_at", "")) for e in tables.values() if e.get("written_at"))
    if generated_at is None:
        generated_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return Provenance(sources=tuple(sources), data_updated=written[-1] if written else "",
                      store_checksum=checksum, generated_at=generated_at, tool_version=tool_version)


def _date(iso: str) -> str:
    """'2024-05-01T10:00:00+00:00' → '1 May 2024' (the text unchanged when it is not ISO)."""
    try:
        when = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{when.day} {when:%B %Y}"


def banner_html(provenance: Provenance) -> str:
    """The "demonstration data" banner (empty unless the data is synthetic)."""
    if not provenance.demonstration:
        return ""
    return ('<div class="jsna-demo-banner" role="note"><strong>Demonstration data.</strong> '
            "The figures in this report are synthetic (made by <code>jsna demo</code>): they describe "
            "no real place and must not be used for decisions.</div>")


def footer_html(provenance: Provenance) -> str:
    """The data-source and date footer; every value is escaped."""
    esc = html.escape
    sources = "; ".join(provenance.sources) or "unknown source"
    parts = [f"Data: {esc(sources)}"]
    if provenance.data_updated:
        parts.append(f"data store updated {esc(_date(provenance.data_updated))}")
    if provenance.store_checksum:
        parts.append(f"store version {esc(provenance.store_checksum[:12])}")
    made = f"Report made {esc(_date(provenance.generated_at))}" if provenance.generated_at else "Report made"
    made += " by JSNA Workbench" + (f" {esc(provenance.tool_version)}" if provenance.tool_version else "")
    demo = " Demonstration data: not real figures." if provenance.demonstration else ""
    return f'<footer class="jsna-footer"><p>{" · ".join(parts)}.</p><p>{made}.{demo}</p></footer>'


_REPORT_CSS = """
.jsna-demo-banner{background:#fff3cd;border:1px solid #d4a72c;color:#3d2e00;padding:8px 12px;margin:8px 0 16px;
 font-family:Arial,Helvetica,sans-serif;font-size:14px}
.jsna-footer{border-top:1px solid #ccc;margin-top:24px;padding-top:8px;color:#444;font-family:Arial,Helvetica,sans-serif;
 font-size:12px}
.jsna-vega{min-height:40px}
@media print{.jsna-demo-banner{border:2px solid #000}}
"""

#: The report page's own stylesheet: readable on screen and on paper, no web fonts, nothing
#: loaded. Identical for every report, so :func:`externalize_assets` writes it once per batch.
_PAGE_CSS = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#fff;color:#1d1d1b;font:16px/1.5 Arial,Helvetica,"Liberation Sans","DejaVu Sans",sans-serif}
.jsna-report{max-width:1120px;margin:0 auto;padding:16px 24px 40px}
h1,h2,h3,h4,h5,h6{color:#0b0c0c;line-height:1.25;margin:1.4em 0 .5em;font-weight:bold}
h1{font-size:1.9rem;margin-top:.5em}
h2{font-size:1.45rem;padding-bottom:.2em;border-bottom:2px solid #d8dde0}
h3{font-size:1.2rem}h4{font-size:1.05rem}h5,h6{font-size:1rem}
p,ul,ol,dl,blockquote{margin:0 0 .8em}ul,ol{padding-left:1.6em}li{margin:.25em 0}
a{color:#005eb8}a:visited{color:#4c2c92}a:focus{outline:3px solid #ffbf47;outline-offset:0}
.anchor-link{margin-left:.35em;color:#8c8c8c;text-decoration:none;visibility:hidden}
:hover>.anchor-link,.anchor-link:focus{visibility:visible}
blockquote{padding:.2em 1em;border-left:4px solid #b1b4b6;color:#505a5f}
hr{border:0;border-top:1px solid #b1b4b6;margin:1.5em 0}
code,kbd,pre,samp{font-family:Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.875em}
code{background:#f3f2f1;padding:.1em .3em;border-radius:3px}
pre{margin:0 0 .8em;padding:8px 10px;background:#f7f7f7;border:1px solid #dcdcdc;overflow-x:auto;
 white-space:pre-wrap;overflow-wrap:anywhere}
pre code{background:none;padding:0}
img,svg,video{max-width:100%;height:auto}
table{border-collapse:collapse;margin:.4em 0 1.2em;font-size:.875rem;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:bold;padding:0 0 .4em;color:#0b0c0c}
th,td{border:1px solid #b1b4b6;padding:4px 8px;vertical-align:top;text-align:left}
thead th{background:#e8edf1;border-bottom:2px solid #6f777b}
tbody tr:nth-child(even){background:#f4f6f7}
tbody tr:hover{background:#eaf1f8}
.jsna-cell{margin:0}
.jsna-output{margin:0 0 1em;max-width:100%;overflow-x:auto}
.jsna-output>:last-child{margin-bottom:0}
.celltag_headline .jsna-output{font-size:1.1rem;padding:.6em 1em;background:#eef4fa;border-left:5px solid #005eb8}
.jsna-chart{margin:.4em 0 .8em}
p.jsna-meaning{color:#505a5f;font-size:.95em;margin-top:-.3em}
.jsna-stderr{background:#fdf3f2;border-color:#e8b4ad}
.jsna-error{background:#fdecea;border-color:#d4351c;color:#5c0f06}
.jsna-latex{font-family:"DejaVu Serif",Georgia,serif}
@media print{
 body{font-size:10.5pt;color:#000}
 .jsna-report{max-width:none;padding:0}
 a{color:inherit;text-decoration:underline}
 .anchor-link{display:none}
 h1,h2,h3,h4{break-after:avoid;page-break-after:avoid}
 .jsna-output{overflow:visible}
 img,svg,.jsna-chart,tr,pre{break-inside:avoid;page-break-inside:avoid}
 thead{display:table-header-group}
 tbody tr:nth-child(even){background:#f4f6f7;-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
""" + _REPORT_CSS


# ============================================================================ rendering
#: Compact ASCII JSON (U+2028/U+2029 come out escaped); no circularity check: specs come from JSON.
_JSON = json.JSONEncoder(check_circular=False, separators=(",", ":"))


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no '<', '>', '&', U+2028 or U+2029 characters).

    A chart's spec can be hundreds of kB and encoding it is most of a report's cost: orjson
    (~4x faster; its UTF-8 bytes make the replacements below byte scans), and for a value orjson
    cannot encode (an integer beyond 64 bits...) the standard library's ASCII JSON (three
    replacements; with non-ASCII text they would cost more than the encoding). orjson writes NaN
    as null.
    """
    try:
        data = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return _JSON.encode(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    data = data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    if b"\xe2\x80" in data:
        data = data.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
    return data.decode("utf-8")


def _describe(spec: Mapping[str, Any]) -> str:
    """A chart's text alternative (its description, else title and subtitle)."""
    from .charts.render import describe

    return describe(dict(spec))


def vega_embed_html(spec: Mapping[str, Any], *, mode: str = "vega-lite") -> str:
    """HTML drawing a Vega-Lite (or Vega) ``spec`` with the page's vega-embed (renderer: SVG)."""
    div = f"jsna-vega-{uuid.uuid4().hex[:12]}"
    options = {"renderer": "svg", "actions": False, "mode": mode}
    label = html.escape(_describe(spec), quote=True)
    return (
        f'<div class="jsna-chart" role="figure" aria-label="{label}"><div class="jsna-vega" id="{div}"></div></div>\n'
        '<script type="text/javascript">\n(function () {\n'
        f'  var el = document.getElementById("{div}");\n'
        f"  var spec = {_script_json(spec)};\n"
        '  if (typeof vegaEmbed !== "function") { el.textContent = "(chart not drawn: the Vega library '
        'is missing from this page)"; return; }\n'
        f"  vegaEmbed(el, spec, {_script_json(options)}).catch(function (e) {{ "
        'el.textContent = "(chart not drawn: " + e + ")"; });\n'
        "})();\n</script>"
    )


#: How Vega/Vega-Lite outputs (Altair's default renderer) become part of a report.
CHART_MODES = ("svg", "interactive")


def _vl_version(major: str) -> str | None:
    """The newest Vega-Lite version vl-convert has for a major version ("5" → "5.21")."""
    import vl_convert

    versions = [v for v in vl_convert.get_vegalite_versions() if v.split(".")[0] == major]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit())) if versions else None


def _vega_svg(kind: str, major: str, spec: Mapping[str, Any]) -> str:
    """A Vega/Vega-Lite spec drawn as SVG by vl-convert (no network: remote data URLs are refused)."""
    import vl_convert

    if kind == "vega":
        return vl_convert.vega_to_svg(spec, allowed_base_urls=[])
    return vl_convert.vegalite_to_svg(spec, vl_version=_vl_version(major), allowed_base_urls=[])


def _titled_svg(svg: str, spec: Mapping[str, Any]) -> str:
    """``svg`` with the chart's text alternative as its ``<title>`` (the report's ``alt``), if it has none."""
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0 or svg[end - 1] == "/" or "<title>" in svg[:4000]:
        return svg
    return f"{svg[:end + 1]}<title>{html.escape(_describe(spec), quote=False)}</title>{svg[end + 1:]}"


def _vega_data(data: Mapping[str, Any], charts: str) -> dict[str, Any] | None:
    """An output's ``data`` with its Vega/Vega-Lite spec replaced by an offline rendering.

    None when there is nothing to replace: no Vega/Vega-Lite spec, or an SVG/PNG/HTML
    alternative next to it (that one is shown). ``charts="svg"``: drawn once, here, as SVG by
    vl-convert (its JavaScript engine starts once per process, ~0.4 s, then ~20 ms a chart;
    drawing it in every kernel instead costs the start-up per area); a spec it cannot draw falls
    back to the interactive form. ``charts="interactive"``: drawn in the browser by the page's
    vega-embed (tooltips kept).
    """
    if "text/html" in data or "image/svg+xml" in data or "image/png" in data:
        return None
    for mime, spec in data.items():
        match = _VEGA_MIME.match(mime)
        if not match:
            continue
        if isinstance(spec, str):
            spec = json.loads(spec)
        new = {k: v for k, v in data.items() if k != mime}  # the spec is drawn instead by one of these forms
        if charts == "svg":
            try:
                new["image/svg+xml"] = _titled_svg(_vega_svg(match[1], match[2], spec), spec)
                return new
            except Exception as exc:  # e.g. remote data: draw it in the browser instead
                log.warning("chart not drawn as SVG (%s); using vega-embed", exc)
        new["text/html"] = vega_embed_html(spec, mode="vega-lite" if match[1] == "vegalite" else "vega")
        return new
    return None


def sanitize_html(page: str) -> str:
    """Remove every ``<script>`` or ``<link>`` that loads from the network (http, https, //)."""
    return _CDN_LINK.sub("", _CDN_SCRIPT.sub("", page))


_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


def _drop_inline_vega_bundles(page: str) -> str:
    """Remove Vega bundles inlined by chart outputs (``charts.enable_offline("html")``): the page gets
    the shared one instead (loading it twice would also redeclare its top-level constants)."""
    if "window.vegaEmbed" not in page:
        return page
    return _SCRIPT.sub(lambda m: "" if len(m.group(1)) > 100_000 and "window.vegaEmbed" in m.group(1)
                       else m.group(0), page)


def light_copy(nb: Any) -> Any:
    """A copy of ``nb`` that can be changed at the level of notebook metadata, cells, outputs and
    output data (what :func:`render_report` changes) without touching ``nb``; the output values
    themselves (a chart's spec can be hundreds of kB) are shared, not deep-copied."""
    import nbformat

    out = copy.copy(nb)
    out.metadata = copy.deepcopy(nb.metadata)
    cells = []
    for cell in nb.cells:
        new = nbformat.NotebookNode(cell)
        if "outputs" in cell:
            new["outputs"] = [nbformat.NotebookNode({**o, **({"data": nbformat.NotebookNode(o["data"])}
                                                             if "data" in o else {})}) for o in cell["outputs"]]
        cells.append(new)
    out.cells = cells
    return out


# ---------------------------------------------------------------------------- the page itself
#: The mime type an output is shown as, the first it has of these (nbconvert's HTML order).
_MIME_ORDER = ("application/vnd.jupyter.widget-view+json", "application/javascript", "text/html",
               "text/markdown", "image/svg+xml", "text/vnd.mermaid", "text/latex", "image/png", "image/jpeg",
               "text/plain")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_OVERWRITTEN = re.compile(r"[^\r\n]*\r(?!\n)")  # text a carriage return goes back over (progress bars)
_TAG = re.compile(r"<[^>]*>")
_ATTACHMENT = re.compile(r'\b(src|href)="attachment:([^"]*)"')
_NOT_CLASS = re.compile(r"[^A-Za-z0-9_-]")


class _MarkdownRenderer(mistune.HTMLRenderer):
    """Mistune's HTML renderer with raw HTML kept (as in Jupyter) and an id and a "¶" link on
    every heading. Ids are the heading's text with spaces as dashes (JupyterLab's form, so
    ``[see](#1.-At-a-glance)`` links keep working), made unique within a page."""

    def __init__(self) -> None:
        super().__init__(escape=False, allow_harmful_protocols=("attachment:",))  # images stored in the cell
        self.ids: set[str] = set()

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        base = "-".join(html.unescape(_TAG.sub("", text)).split()) or "section"
        anchor, n = base, 1
        while anchor in self.ids:
            n += 1
            anchor = f"{base}-{n}"
        self.ids.add(anchor)
        ref = html.escape(anchor, quote=True)
        return f'<h{level} id="{ref}">{text}<a class="anchor-link" href="#{ref}">¶</a></h{level}>\n'


_local = threading.local()


def _markdown() -> Any:
    """This thread's Markdown parser (mistune, CommonMark plus tables, strikethrough, bare URLs)."""
    md = getattr(_local, "markdown", None)
    if md is None:
        md = mistune.create_markdown(renderer=_MarkdownRenderer(),
                                     plugins=["table", "strikethrough", "url", "task_lists"])
        _local.markdown = md
    return md


def _notebook_html(fragment: str) -> str:
    """A notebook's own HTML (an output, a Markdown cell) made fit for an offline page: network
    loaders removed, inlined Vega bundles dropped (the page loads the shared one), SVG images
    given their title as ``alt``."""
    if "<" not in fragment:
        return fragment
    fragment = _drop_inline_vega_bundles(sanitize_html(fragment))
    return _svg_alt_text(fragment) if "data:image/svg+xml;base64," in fragment else fragment


def _attachments(fragment: str, attachments: Mapping[str, Any] | None) -> str:
    """Markdown-cell images stored in the notebook (``![](attachment:x.png)``) as data URIs."""
    if not attachments or "attachment:" not in fragment:
        return fragment

    def inline(match: re.Match[str]) -> str:
        bundle = attachments.get(urllib.parse.unquote(html.unescape(match[2])))
        if not isinstance(bundle, Mapping) or not bundle:
            return match[0]
        mime, data = next(iter(bundle.items()))
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", mime):
            return match[0]
        return f'{match[1]}="data:{mime};base64,{html.escape("".join(_join(data).split()), quote=True)}"'

    return _ATTACHMENT.sub(inline, fragment)


def _pre(text: str, css: str = "") -> str:
    """Terminal text (stream, error, repr) escaped in a ``<pre>``: colour codes removed, lines a
    carriage return overwrote dropped."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = _OVERWRITTEN.sub("", text)
    attr = f' class="{css}"' if css else ""
    return f"<pre{attr}>{html.escape(text, quote=False)}</pre>"


def _alt(data: Mapping[str, Any], default: str) -> str:
    """An image's text alternative from its ``text/plain`` (when that is not a bare ``<object repr>``)."""
    plain = " ".join(_join(data.get("text/plain", "")).split())
    return plain[:300] if plain and not (plain.startswith("<") and plain.endswith(">")) else default


def _img(mime: str, b64: str, alt: str, meta: Mapping[str, Any]) -> str:
    """An ``<img>`` with a data URI; ``alt`` is escaped here, width/height from the output metadata."""
    size = ""
    for key in ("width", "height"):
        value = meta.get(key)
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            size += f' {key}="{int(float(value))}"' if value is not None else ""
    src = html.escape(b64, quote=True)  # base64 has nothing to escape, unless the notebook is malformed
    return f'<img src="data:{mime};base64,{src}" alt="{html.escape(alt, quote=True)}"{size}>'


class _Page:
    """One report being rendered: how charts are drawn, its headings, whether it needs the Vega bundle."""

    def __init__(self, charts: str) -> None:
        self.charts = charts
        self.md = _markdown()
        self.md.renderer.ids = set()
        self.needs_vega = False

    def markdown(self, text: str) -> str:
        """Markdown (a cell, a ``text/markdown`` output) as HTML fit for the page."""
        return _notebook_html(self.md(text))

    def trusted(self, fragment: str) -> str:
        """``fragment`` (the notebook's own HTML or script), noting whether it calls vega-embed."""
        if "vegaEmbed" in fragment:
            self.needs_vega = True
        return fragment

    def output(self, output: Mapping[str, Any]) -> str:
        """One display/execute_result/error output as HTML ('' for what a page cannot show)."""
        kind = output.get("output_type")
        if kind == "error":
            lines = [_join(line) for line in output.get("traceback") or []]
            text = "\n".join(lines) or f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
            return ('<div class="jsna-output" data-mime-type="application/vnd.jupyter.error">'
                    f"{_pre(text, 'jsna-error')}</div>\n")
        if kind not in ("display_data", "execute_result"):
            return ""
        data = output.get("data") or {}
        drawn = _vega_data(data, self.charts)
        if drawn is not None:
            data = drawn
        mime = next((m for m in _MIME_ORDER if m in data), None)
        if mime is None or mime == "application/vnd.jupyter.widget-view+json":
            return ""  # nothing a page can show (a widget needs a live kernel)
        value = data[mime]
        meta = (output.get("metadata") or {}).get(mime) or {}
        if mime == "text/html" and drawn is not None:  # a vega-embed chart drawn above: our own HTML
            body = value
            self.needs_vega = True
        elif mime == "text/html":
            body = self.trusted(_notebook_html(_join(value)))
        elif mime == "text/markdown":
            body = self.trusted(self.markdown(_join(value)))
        elif mime == "application/javascript":
            script = re.sub(r"</(script)", r"<\\/\1", _join(value), flags=re.IGNORECASE)
            body = self.trusted(f'<script type="text/javascript">\n{script}\n</script>')
        elif mime == "image/svg+xml":
            svg = _join(value)
            title = _SVG_TITLE.search(svg[:4000])
            alt = html.unescape(title.group(1).strip()) if title else _alt(data, "Chart")
            body = _img(mime, base64.b64encode(svg.encode("utf-8")).decode("ascii"), alt,
                        meta if isinstance(meta, Mapping) else {})
        elif mime in ("image/png", "image/jpeg"):
            b64 = _join(value)
            if "\n" in b64 or " " in b64:
                b64 = "".join(b64.split())
            body = _img(mime, b64, _alt(data, "Image"), meta if isinstance(meta, Mapping) else {})
        elif mime == "text/latex":  # no MathJax offline: the LaTeX source, as text
            body = f'<div class="jsna-latex">{html.escape(_join(value), quote=False)}</div>'
        else:  # text/plain, text/vnd.mermaid
            body = _pre(_join(value))
        return f'<div class="jsna-output" data-mime-type="{html.escape(mime, quote=True)}">\n{body}\n</div>\n'

    def outputs(self, outputs: Sequence[Mapping[str, Any]]) -> str:
        """A code cell's outputs in order; consecutive stream outputs of one name shown as one."""
        parts: list[str] = []
        stream: list[str] = []
        name = ""
        for output in [*outputs, {}]:
            if output.get("output_type") == "stream" and output.get("name", "stdout") == name:
                stream.append(_join(output.get("text", "")))
                continue
            if stream:
                css = "jsna-stream jsna-stderr" if name == "stderr" else "jsna-stream"
                parts.append(f'<div class="jsna-output" data-mime-type="application/vnd.jupyter.{name}">'
                             f"{_pre(''.join(stream), css)}</div>\n")
                stream, name = [], ""
            if output.get("output_type") == "stream":
                name = "stderr" if output.get("name") == "stderr" else "stdout"
                stream.append(_join(output.get("text", "")))
            elif output:
                parts.append(self.output(output))
        return "".join(parts)

    def cell(self, cell: Mapping[str, Any]) -> str:
        """A cell without its code: a Markdown cell's text, a code cell's outputs, a raw HTML cell."""
        kind = cell.get("cell_type")
        meta = cell.get("metadata") or {}
        if kind == "code":
            body = self.outputs(cell.get("outputs") or [])
        elif (meta.get("transient") or {}).get("remove_source"):
            body = ""
        elif kind == "markdown":
            body = _attachments(self.markdown(_join(cell.get("source", ""))), cell.get("attachments"))
        elif kind == "raw" and str(meta.get("raw_mimetype", meta.get("format", ""))).lower() in ("", "text/html"):
            body = self.trusted(_notebook_html(_join(cell.get("source", ""))))
        else:
            body = ""
        if not body.strip():
            return ""
        tags = "".join(f" celltag_{_NOT_CLASS.sub('_', str(t))}" for t in meta.get("tags") or [])
        return f'<div class="jsna-cell jsna-{kind}{tags}">\n{body}</div>\n'


def render_report(nb: Any, *, title: str, provenance: Provenance, charts: str = "svg") -> str:
    """Render an executed notebook as a portable offline HTML page (no code cells, no prompts).

    The page is written directly (no nbconvert): Markdown cells as HTML (headings with ids and
    anchor links), then each code cell's outputs in order, each as the first of HTML, Markdown,
    SVG, LaTeX (as text), PNG/JPEG (data URIs) and plain text it has; stream and error output as
    escaped text. The notebook is not modified. The page carries its stylesheet inline and, when
    it draws a Vega chart in the browser, a placeholder for the Vega bundle: finish it with
    :func:`externalize_assets` or :func:`inline_assets` before writing it. ``charts`` says how
    raw Vega/Vega-Lite outputs are drawn: ``"svg"`` (static, no JavaScript) or
    ``"interactive"`` (vega-embed); outputs that are already SVG, PNG or HTML are kept as they are.
    """
    if charts not in CHART_MODES:
        raise ValueError(f"charts must be one of {', '.join(CHART_MODES)}, not {charts!r}")
    page = _Page(charts)
    cells = "".join(page.cell(cell) for cell in nb.get("cells", []))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n"
        + (_VEGA_MARKER + "\n" if page.needs_vega else "")
        + '</head>\n<body>\n<main class="jsna-report">\n'
        + banner_html(provenance) + "\n" + cells + footer_html(provenance)
        + "\n</main>\n</body>\n</html>\n"
    )


# ============================================================================ assets
def _vega_bundle_name() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"vega-bundle-{version('vl-convert-python')}.js"
    except PackageNotFoundError as exc:  # pragma: no cover - vl-convert-python is a dependency
        raise ReportError("a chart needs the Vega JavaScript bundle: install vl-convert-python") from exc


_BUNDLE_LOCK = threading.Lock()
_BUNDLE_SCRIPT = "import sys, vl_convert; sys.stdout.write(vl_convert.javascript_bundle())"


def _cache_dir() -> Path:
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jsna-workbench"
    except RuntimeError:  # no home folder
        return Path(tempfile.gettempdir()) / "jsna-workbench"


def _vega_bundle() -> str:
    """The Vega + Vega-Lite + vega-embed bundle: a classic script defining ``window.vegaEmbed``.

    ``vl_convert.javascript_bundle()`` takes ~3 s and holds the GIL (it would stall every other
    thread of a batch), so it runs in a subprocess once per vl-convert version and is cached in
    ``~/.cache/jsna-workbench/`` (``XDG_CACHE_HOME``).
    """
    with _BUNDLE_LOCK:
        cached = _BUNDLE_TEXT.get("js")
        if cached is not None:
            return cached
        path = _cache_dir() / _vega_bundle_name()
        try:
            js = path.read_text("utf-8")
            if "window.vegaEmbed" not in js:
                raise OSError(f"{path} is not a Vega bundle")
        except OSError:
            done = subprocess.run([sys.executable, "-c", _BUNDLE_SCRIPT], capture_output=True, encoding="utf-8",
                                  check=False)
            if done.returncode != 0 or "vegaEmbed" not in done.stdout:
                raise ReportError("could not build the Vega JavaScript bundle with vl-convert: "
                                  + (done.stderr.strip().splitlines() or ["no output"])[-1]) from None
            js = done.stdout
            with contextlib.suppress(OSError):
                write_text_atomic(path, js)
        _BUNDLE_TEXT["js"] = js
        return js


_BUNDLE_TEXT: dict[str, str] = {}


_SVG_IMG = re.compile(r'<img\b[^>]*\bsrc="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"[^>]*>')
_SVG_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _svg_alt_text(page: str) -> str:
    """Give every inline SVG chart image the text alternative its SVG carries (``<title>``).

    For ``<img>`` data URIs of SVG in a notebook's own HTML (:func:`render_report` labels the
    ``image/svg+xml`` outputs it embeds itself the same way): the charts module puts a
    ``<title>`` (the chart's title and subtitle) in every SVG, which becomes the image's ``alt``.
    """
    def label(match: re.Match[str]) -> str:
        tag = match.group(0)
        try:
            svg = base64.b64decode(match.group(1)).decode("utf-8", "replace")
        except ValueError:
            return tag
        title = _SVG_TITLE.search(svg[:4000])
        if not title:
            return tag
        alt = f'alt="{html.escape(html.unescape(title.group(1).strip()), quote=True)}"'
        if re.search(r'\balt="[^"]*"', tag):
            return re.sub(r'\balt="[^"]*"', lambda _: alt, tag, count=1)
        return tag.replace("<img", f"<img {alt}", 1)

    return _SVG_IMG.sub(label, page)


def _write_once(path: Path, text: Callable[[], str]) -> None:
    """Write an asset unless a file of that (content- or version-addressed) name is already there."""
    if not path.exists():
        write_text_atomic(path, text())


def externalize_assets(page: str, *, assets_dir: str | os.PathLike[str], href_prefix: str = "../assets/") -> str:
    """Move a portable page's shared assets into ``assets_dir`` and link them by relative path.

    The ``<style>`` blocks of the head become one ``report-<sha256[:12]>.css`` (identical across
    the reports of a batch, so it is written once); the Vega placeholder becomes a
    ``<script src>`` to the bundle, written once. ``href_prefix`` is the path from the page to
    ``assets_dir``.
    """
    assets = Path(assets_dir)
    head = _HEAD.search(page)
    if head:
        styles = _STYLE.findall(head.group(1))
        if styles:
            css = "\n".join(s.strip("\n") for s in styles) + "\n"
            name = f"report-{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
            _write_once(assets / name, lambda: css)
            link = f'<link rel="stylesheet" href="{html.escape(href_prefix + name)}">'
            inner = _STYLE.sub("", head.group(1))
            inner = inner.replace(_VEGA_MARKER, "")
            new_head = head.group(0).replace(head.group(1), f"{inner.rstrip()}\n{link}\n"
                                             + (_VEGA_MARKER if _VEGA_MARKER in head.group(1) else ""))
            page = page[:head.start()] + new_head + page[head.end():]
    if _VEGA_MARKER in page:
        name = _vega_bundle_name()
        _write_once(assets / name, _vega_bundle)
        page = page.replace(_VEGA_MARKER, f'<script src="{html.escape(href_prefix + name)}"></script>')
    return page


def inline_assets(page: str) -> str:
    """Finish a portable page as one self-contained file (the Vega bundle inlined when needed)."""
    if _VEGA_MARKER in page:
        safe = re.sub(r"</(script)", r"<\\/\1", _vega_bundle(), flags=re.IGNORECASE)
        page = page.replace(_VEGA_MARKER, f'<script type="text/javascript">\n{safe}\n</script>')
    return page


# ============================================================================ headline
def _join(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def _plain(text: str) -> str:
    text = re.sub(r"^\s{0,3}#{1,6}\s*", "", text, flags=re.MULTILINE)  # heading marks
    text = re.sub(r"(\*\*|__|\*|`)", "", text)  # emphasis and code marks
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > HEADLINE_MAX:
        text = text[: HEADLINE_MAX - 1].rstrip() + "…"
    return text


def _unrepr(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] in "'\"" and stripped[-1] == stripped[0]:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            return text
        return value if isinstance(value, str) else text
    return text


def _strip_tags(text: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def headline(nb: Any) -> str | None:
    """The area's headline from an executed notebook (convention: module docstring), or None."""
    meta = (nb.get("metadata", {}).get("jsna") or {}).get("headline")
    if isinstance(meta, str) and meta.strip():
        return _plain(meta)
    for cell in nb.get("cells", []):
        if HEADLINE_TAG not in (cell.get("metadata", {}).get("tags") or []):
            continue
        if cell.get("cell_type") == "markdown":
            return _plain(_strip_tags(_join(cell.get("source", "")))) or None
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "text/markdown" in data:  # inline HTML and entities are allowed in Markdown
                    return _plain(_strip_tags(_join(data["text/markdown"]))) or None
                if "text/plain" in data:
                    return _plain(_unrepr(_join(data["text/plain"]))) or None
                if "text/html" in data:
                    return _plain(_strip_tags(_join(data["text/html"]))) or None
            elif kind == "stream" and output.get("name") == "stdout":
                return _plain(_join(output.get("text", ""))) or None
        return None
    return None


# ============================================================================ index page
@dataclass(frozen=True)
class IndexRow:
    """One area on the index page. ``href`` is the report's path relative to the index (or None)."""

    area_code: str
    area_name: str
    status: str
    headline: str = ""
    href: str | None = None
    area_type: str = ""
    seconds: float | None = None
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


_STATUS_TEXT = {"ok": "OK", "failed": "Failed", "interrupted": "Interrupted", "not_run": "Not run",
                "skipped": "OK (unchanged)"}

_INDEX_JS = """
(function () {
  var table = document.getElementById("areas"), body = table.tBodies[0];
  var search = document.getElementById("search"), shown = document.getElementById("shown");
  function filter() {
    var q = search.value.trim().toLowerCase(), n = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var hit = !q || row.textContent.toLowerCase().indexOf(q) !== -1;
      row.hidden = !hit; if (hit) { n += 1; }
    });
    shown.textContent = n + " of " + body.rows.length + " areas shown";
  }
  search.addEventListener("input", filter);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    var button = th.querySelector("button");
    button.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort") || a.cells[col].textContent;
        var y = b.cells[col].getAttribute("data-sort") || b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (!isNaN(nx) && !isNaN(ny) && String(nx) === x.trim() && String(ny) === y.trim()) { r = nx - ny; }
        else { r = x.localeCompare(y, "en", {numeric: true, sensitivity: "base"}); }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  filter();
})();
"""

_INDEX_CSS = """
body{font-family:Arial,Helvetica,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{border:1px solid #ccc;padding:5px 8px;font-size:13px;vertical-align:top;text-align:left}
th{background:#eee}th button{font:inherit;font-weight:bold;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td.num{text-align:right}
.status-ok,.status-skipped{color:#1d6b2a}.status-failed{color:#a40000;font-weight:bold}
.status-interrupted,.status-not_run{color:#7a5a00}
#search{font-size:14px;padding:4px 8px;width:22em}
.summary{margin:4px 0 12px}
.note{color:#555;font-size:12px}
""" + _REPORT_CSS


def index_html(rows: Sequence[IndexRow], *, title: str, provenance: Provenance,
               summary: Mapping[str, int] | None = None, subtitle: str = "") -> str:
    """The batch index page: every area with its status, headline and a link to its report.

    Sortable (click a column heading) and searchable with a few lines of inline JavaScript; no
    external resources. Every value from the data or the notebooks is HTML-escaped.
    """
    esc = html.escape
    body = []
    for row in rows:
        name = esc(row.area_name or row.area_code)
        link = f'<a href="{esc(row.href)}">{name}</a>' if row.href else name
        status = esc(_STATUS_TEXT.get(row.status, row.status))
        note = f'<div class="note">{esc(row.note)}</div>' if row.note else ""
        seconds = "" if row.seconds is None else f"{row.seconds:.1f}"
        body.append(
            f"<tr><td data-sort=\"{esc(row.area_name or row.area_code)}\">{link}</td>"
            f"<td>{esc(row.area_code)}</td><td>{esc(row.area_type)}</td>"
            f'<td class="status-{esc(row.status)}">{status}</td>'
            f"<td>{esc(row.headline or '')}{note}</td>"
            f'<td class="num" data-sort="{seconds}">{seconds}</td></tr>'
        )
    counts = ", ".join(f"{n} {esc(_STATUS_TEXT.get(k, k).lower())}" for k, n in (summary or {}).items() if n)
    headings = ["Area", "Code", "Type", "Status", "Headline", "Seconds"]
    head = "".join(f'<th scope="col"><button type="button">{h}</button></th>' for h in headings)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{_INDEX_CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
{f'<p>{esc(subtitle)}</p>' if subtitle else ''}
{banner_html(provenance)}
<p class="summary">{len(rows)} areas{': ' + counts if counts else ''}.</p>
<label for="search">Search areas: </label><input id="search" type="search" placeholder="name, code, status or headline">
<span id="shown" class="note" aria-live="polite"></span>
<table id="areas"><thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
{footer_html(provenance)}
<script>{_INDEX_JS}</script>
</body></html>
"""

