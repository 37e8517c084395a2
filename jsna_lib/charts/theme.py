"""The workbench's Altair theme: Fingertips-like, plain, readable when printed at A4.

Registered once with Altair's theme API (``alt.theme.register`` from Altair 5.5, the older
``alt.themes.register`` before) under the name :data:`NAME` and enabled when
:mod:`jsna_lib.charts` is imported. Every chart builder also sets its own colours, so a chart
keeps its meaning under another theme; the theme only sets fonts, sizes, axes and legends.
"""

from __future__ import annotations

from typing import Any

import altair as alt

NAME = "jsna"
#: Arial in browsers and Office; DejaVu Sans where only that is installed (vl-convert on Linux).
FONT = "Arial, Helvetica, 'DejaVu Sans', sans-serif"
TEXT = "#222222"
MUTED = "#595959"
GRID = "#E3E3E3"
FONT_SIZE = 11
SMALL = 10


def config() -> dict[str, Any]:
    """The theme as a Vega-Lite top-level spec fragment (``{"config": {...}}``)."""
    axis = {
        "labelFont": FONT, "titleFont": FONT, "labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE,
        "titleFontWeight": "normal", "labelColor": TEXT, "titleColor": TEXT, "gridColor": GRID,
        "domainColor": "#8C8C8C", "tickColor": "#8C8C8C", "labelLimit": 260, "titlePadding": 8,
    }
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "view": {"stroke": None, "continuousWidth": 420, "continuousHeight": 260},
            "title": {"font": FONT, "fontSize": 14, "fontWeight": "bold", "color": TEXT, "anchor": "start",
                      "subtitleFont": FONT, "subtitleFontSize": FONT_SIZE, "subtitleColor": MUTED,
                      "subtitlePadding": 4, "offset": 10, "limit": 0},
            "axis": axis,
            "axisBand": {"grid": False, "tickBand": "extent"},
            "legend": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE,
                       "titleFontWeight": "bold", "labelColor": TEXT, "titleColor": TEXT, "labelLimit": 280,
                       "symbolStrokeColor": "#333333", "symbolStrokeWidth": 0.6, "titleLimit": 400},
            "header": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
            "text": {"font": FONT, "fontSize": SMALL, "color": TEXT},
            "concat": {"spacing": 12},
            "range": {"category": ["#1F4E79", "#000000", "#7F7F7F", "#D46A00", "#6A3D9A", "#2E8B57"]},
        }
    }


def _register() -> None:
    """Register (and enable) the theme with whichever theme API this Altair has."""
    if hasattr(alt, "theme") and hasattr(alt.theme, "register"):  # Altair >= 5.5
        alt.theme.register(NAME, enable=True)(lambda: alt.theme.ThemeConfig(config()))  # type: ignore[misc]
    else:  # pragma: no cover - Altair < 5.5
        alt.themes.register(NAME, config)
        alt.themes.enable(NAME)


def enable() -> None:
    """Make the workbench theme the active Altair theme (it is on after ``import jsna_lib.charts``)."""
    if hasattr(alt, "theme") and hasattr(alt.theme, "enable"):
        alt.theme.enable(NAME)
    else:  # pragma: no cover
        alt.themes.enable(NAME)


_register()
