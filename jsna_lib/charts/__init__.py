"""Charts in Fingertips conventions (DESIGN.md §4), written as Vega-Lite specs.

They draw what they are given and compute no statistics: significance, quintiles, spine
geometry, funnel limits all come from :mod:`jsna_lib.compare`, :mod:`jsna_lib.profile` and
:mod:`jsna_lib.stats`. Colours and labels come from :mod:`jsna_lib.palette`; every chart has
tooltips (value, CI, count, period), a title and a period/source caption, a legend, and a
non-colour cue (▲/▼/●/■ symbols or shapes) for significance. The theme
(:mod:`jsna_lib.charts.theme`) is registered and enabled on import.

Builders: :func:`spine_chart`, :func:`compare_areas`, :func:`trend`, :func:`overview`,
:func:`population_pyramid`, :func:`inequality`, :func:`choropleth`, :func:`funnel`, and the
projection fan charts :func:`population_chart` and :func:`indicator_charts` (:mod:`.outlook`).
Rendering: :func:`to_svg`, :func:`to_png`, :func:`to_pdf`, :func:`to_html`, :func:`save`,
:func:`enable_offline` (alias :func:`offline`) and :func:`enable_interactive`.

Every builder returns a :class:`Chart`: the Vega-Lite spec as a plain dict (built directly, a
few milliseconds a chart, instead of through Altair's object model, which cost seconds per area
profile), shown in notebooks through the active Altair renderer, with ``to_dict``, ``save`` and
``to_altair`` (an Altair chart, validated, to go on building with Altair's API).

Importing this package costs about as much as importing Altair: vl-convert, boundary files and
scipy are loaded only when used.
"""

from __future__ import annotations

from . import theme
from ._spec import Chart
from .bars import compare_areas
from .funnel import funnel
from .inequality import inequality
from .maps import choropleth, load_boundaries
from .outlook import indicator_chart, indicator_charts, population_chart
from .overview import overview
from .pyramid import population_pyramid
from .render import (
                     enable_interactive,
                     enable_offline,
                     offline,
                     report_mode,
                     save,
                     to_html,
                     to_pdf,
                     to_png,
                     to_svg,
)
from .spine import spine_chart, spine_positions, spine_rows
from .trend import trend

__all__ = [
    "Chart",
    "choropleth",
    "compare_areas",
    "enable_interactive",
    "enable_offline",
    "funnel",
    "indicator_chart",
    "indicator_charts",
    "inequality",
    "load_boundaries",
    "offline",
    "overview",
    "population_chart",
    "population_pyramid",
    "report_mode",
    "save",
    "spine_chart",
    "spine_positions",
    "spine_rows",
    "theme",
    "to_html",
    "to_pdf",
    "to_png",
    "to_svg",
    "trend",
]
