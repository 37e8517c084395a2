"""Static and offline rendering of charts: SVG/PNG/PDF/HTML files and notebook output without network.

* :func:`to_svg`, :func:`to_png`, :func:`to_pdf` render a chart with ``vl-convert-python``
  (Vega-Lite compiled and drawn by an embedded JavaScript engine: no browser, no network;
  remote data URLs are refused, so a chart that renders here renders anywhere);
* :func:`to_html` writes a self-contained page with the Vega JavaScript inlined;
* :func:`enable_offline` makes notebook output render without network access:

  - ``mode="svg"`` (default; for reports): each chart is displayed as an inline SVG image
    (``image/svg+xml``) that nbconvert copies into the HTML as is. No JavaScript at all, so the
    batch report's CDN stripping cannot break it; tooltips are lost;
  - ``mode="png"``: the same as PNG images (smaller for big maps);
  - ``mode="html"``: interactive vega-embed output with the Vega, Vega-Lite and vega-embed
    JavaScript inlined once per kernel (the first chart's output carries the ~0.9 MB bundle
    from ``vl_convert.javascript_bundle()``; later charts wait for it). Keeps tooltips in an
    exported HTML file opened offline, provided the first chart's output is kept.

  - ``mode="spec"``: the Vega-Lite spec as it is (``application/vnd.vegalite.v6+json``), for
    ``jsna batch``, whose report step draws every chart (:func:`report_mode`).

  :func:`enable_interactive` is the "html" mode (or, with ``offline=False``, Altair's own
  renderer, which loads the JavaScript from a CDN).

``vl_convert`` is imported on first use only (``import jsna_lib.charts`` stays cheap).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import altair as alt

#: Numbers formatted the British way (same as en-US: 1,234.5).
FORMAT_LOCALE = "en-GB"
_RENDERER = "jsna_offline"
_STATE = {"bundle_sent": False}


@functools.lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """vl-convert's Vega + Vega-Lite + vega-embed bundle (defines ``window.vegaEmbed``), built once
    per process (~1.5 s)."""
    return _vlc().javascript_bundle()


def _vlc() -> Any:
    import vl_convert

    return vl_convert


def _spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite dict of a chart (or a dict spec, passed through)."""
    if isinstance(chart, dict):
        return chart
    return chart.to_dict()


def _vl_version() -> str:
    """The Vega-Lite version vl-convert should use: Altair's, as vl-convert names it (major.minor)."""
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = _vlc().get_vegalite_versions()
    return major_minor if major_minor in available else available[-1]


_SVG_TITLE = re.compile(r"<title>(.*?)</title>")


def describe(chart: Any) -> str:
    """A one-line text alternative for a chart: its description, else its title and subtitle."""
    spec = _spec(chart)
    if isinstance(spec.get("description"), str) and spec["description"].strip():
        return " ".join(spec["description"].split())
    title = spec.get("title", "")
    parts: list[str] = []
    for item in ([title.get("text", ""), title.get("subtitle", "")] if isinstance(title, dict) else [title]):
        parts.extend(item if isinstance(item, list) else [item])
    text = " ".join(" ".join(str(p) for p in parts if p).split())
    return text or "Chart"


def to_svg(chart: Any) -> str:
    """The chart as an SVG document (text), rendered offline by vl-convert.

    The root element gets ``role="img"``, an ``aria-label`` and a ``<title>`` with
    :func:`describe`'s text, so screen readers (and the report's ``<img alt>``) can name it.
    """
    spec = _spec(chart)  # once: Altair validates the whole spec on every to_dict()
    svg = _vlc().vegalite_to_svg(spec, vl_version=_vl_version(), allowed_base_urls=[],
                                 format_locale=FORMAT_LOCALE)
    label = html.escape(describe(spec), quote=True)
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        return svg
    return f'{svg[:end]} role="img" aria-label="{label}"><title>{label}</title>{svg[end + 1:]}'


def to_png(chart: Any, scale: float = 2.0, ppi: float | None = None) -> bytes:
    """The chart as PNG bytes; ``scale`` 2 gives print-quality pixels (A4 width ≈ 1,520 px)."""
    return _vlc().vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale, ppi=ppi,
                                  allowed_base_urls=[], format_locale=FORMAT_LOCALE)


def to_pdf(chart: Any) -> bytes:
    """The chart as a one-page PDF (vector)."""
    return _vlc().vegalite_to_pdf(_spec(chart), vl_version=_vl_version(), allowed_base_urls=[],
                                  format_locale=FORMAT_LOCALE)


def to_html(chart: Any, *, title: str = "Chart") -> str:
    """A self-contained HTML page (Vega JavaScript inlined, no CDN) showing the interactive chart."""
    bundle = javascript_bundle().replace("</script", "<\\/script")
    payload = json.dumps(_spec(chart)).replace("</", "<\\/")
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{html.escape(title)}</title>\n"
            f"<script type=\"text/javascript\">{bundle}</script>\n</head>\n<body>\n<div id=\"chart\"></div>\n"
            f"<script type=\"text/javascript\">vegaEmbed(\"#chart\", {payload}, "
            f"{{\"renderer\": \"svg\", \"actions\": false}});</script>\n</body>\n</html>\n")


def save(chart: Any, path: str | os.PathLike[str], *, scale: float = 2.0) -> Path:
    """Write the chart to ``path`` as .svg, .png, .pdf, .html (self-contained) or .json (the spec)."""
    target = Path(path)
    suffix = target.suffix.lower()
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".svg":
        target.write_text(to_svg(chart), encoding="utf-8")
    elif suffix == ".png":
        target.write_bytes(to_png(chart, scale=scale))
    elif suffix == ".pdf":
        target.write_bytes(to_pdf(chart))
    elif suffix in (".html", ".htm"):
        target.write_text(to_html(chart), encoding="utf-8")
    elif suffix == ".json":
        target.write_text(json.dumps(_spec(chart), indent=2), encoding="utf-8")
    else:
        raise ValueError(f"save: cannot write {suffix or 'a file without a suffix'!r}; "
                         "use .svg, .png, .pdf, .html or .json")
    return target


# ================================================================================= notebook output
def _svg_renderer(spec: dict[str, Any], **_: Any) -> dict[str, str]:
    svg = to_svg(spec)
    title = _SVG_TITLE.search(svg)
    return {"image/svg+xml": svg, "text/plain": f"<chart: {html.unescape(title.group(1)) if title else 'SVG'}>"}


def _png_renderer(spec: dict[str, Any], **_: Any) -> dict[str, Any]:
    import base64

    return {"image/png": base64.b64encode(to_png(spec, scale=2.0)).decode("ascii"), "text/plain": "<chart (PNG)>"}


def _html_renderer(spec: dict[str, Any], **_: Any) -> dict[str, str]:
    """vega-embed output with the JavaScript inlined on the first chart of the kernel session."""
    parts = []
    if not _STATE["bundle_sent"]:
        bundle = javascript_bundle().replace("</script", "<\\/script")
        parts.append(f"<script type=\"text/javascript\">{bundle}</script>")
        _STATE["bundle_sent"] = True
    element = f"jsna-chart-{uuid.uuid4().hex}"
    payload = json.dumps(spec).replace("</", "<\\/")
    parts.append(
        f"<div id=\"{element}\"></div>\n<script type=\"text/javascript\">\n"
        f"(function draw(tries) {{\n"
        f"  if (window.vegaEmbed) {{ window.vegaEmbed('#{element}', {payload}, {{\"actions\": false}}); }}\n"
        f"  else if (tries < 200) {{ setTimeout(function () {{ draw(tries + 1); }}, 50); }}\n"
        f"  else {{ document.getElementById('{element}').innerText = "
        f"{json.dumps('Chart not shown: the Vega JavaScript was not found in this page.')}; }}\n"
        f"}})(0);\n</script>")
    return {"text/html": "\n".join(parts), "text/plain": html.escape("<chart (vega-embed, offline)>")}


def _spec_renderer(spec: dict[str, Any], **_: Any) -> dict[str, Any]:
    """The Vega-Lite spec itself (``application/vnd.vegalite.vN+json``), drawn later by the report."""
    match = re.search(r"/v(\d+)(?:\.[\d.]+)?\.json$", str(spec.get("$schema", "")))
    mime = f"application/vnd.vegalite.v{match.group(1) if match else alt.SCHEMA_VERSION.lstrip('v').split('.')[0]}+json"
    return {mime: spec, "text/plain": f"<chart: {describe(spec)}>"}


_MODES = {"svg": _svg_renderer, "png": _png_renderer, "html": _html_renderer, "spec": _spec_renderer}


def report_mode(output_format: str = "html") -> str:
    """The chart mode a report notebook should use for ``output_format`` ("html"/"report" or other).

    Under ``jsna batch`` (``$JSNA_BATCH`` set) a report's charts are emitted as Vega-Lite specs
    (``"spec"``) and drawn once by the batch's report step (in the browser, or as SVG with
    ``--charts svg``), so no kernel starts a JavaScript engine; elsewhere (plain papermill, a
    person in JupyterLab) they are inline SVG (``"svg"``), which any viewer shows. Formats other
    than "html"/"report" give interactive charts (``"html"``).
    """
    if output_format not in ("html", "report"):
        return "html"
    return "spec" if os.environ.get("JSNA_BATCH") else "svg"


def enable_offline(mode: str = "svg") -> str:
    """Render notebook charts without network access (see the module docstring); returns the mode.

    ``"svg"`` (default, for reports and nbconvert/HTML export), ``"png"``, ``"html"``
    (interactive, JavaScript inlined once per kernel) or ``"spec"`` (the Vega-Lite spec as a
    ``application/vnd.vegalite`` output, for a report step that draws it: see :func:`report_mode`).
    """
    if mode not in _MODES:
        raise ValueError(f"enable_offline: mode must be one of {', '.join(map(repr, _MODES))}, not {mode!r}")
    name = f"{_RENDERER}_{mode}"
    alt.renderers.register(name, _MODES[mode])
    if mode == "html":
        _STATE["bundle_sent"] = False
    alt.renderers.enable(name)
    return mode


#: Short alias: ``charts.offline()``.
offline = enable_offline


def enable_interactive(offline: bool = True) -> str:
    """Interactive charts (tooltips) in JupyterLab; returns the Altair renderer enabled.

    ``offline=True`` (default) is ``enable_offline("html")``: vega-embed with the JavaScript
    inlined once per kernel, so it needs no network. (JupyterLab 4.6's built-in Vega renderer
    knows Vega-Lite up to v5 while Altair 6 emits v6 specs, so Altair's "mimetype" renderer shows
    nothing there.) ``offline=False`` is Altair's "default" renderer, which loads the JavaScript
    from a CDN.
    """
    if offline:
        enable_offline("html")
    else:
        alt.renderers.enable("default")
    return alt.renderers.active
