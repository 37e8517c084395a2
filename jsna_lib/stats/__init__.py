"""PHE/OHID statistical methods for public-health indicators (DESIGN.md §3).

Pure numpy/scipy/pandas: DataFrames in, new DataFrames out; no I/O (apart from reading the
packaged 2013 European Standard Population) and no plotting. Every function accepts one
confidence level or several (``lower_95``/``upper_95``, ``lower_99_8``/``upper_99_8``, ...),
sums its inputs within ``by`` groups, raises ``ValueError`` naming the argument, column and
first offending rows for invalid input, and returns NaN with a ``value_note`` for missing input.
"""

from .funnel import funnel_limits
from .inequality import quantiles, sii
from .life_expectancy import life_expectancy
from .means import mean
from .proportions import proportion
from .rates import rate
from .standardised import ESP2013, dsr, isr, isratio

__all__ = [
    "ESP2013",
    "dsr",
    "funnel_limits",
    "isr",
    "isratio",
    "life_expectancy",
    "mean",
    "proportion",
    "quantiles",
    "rate",
    "sii",
]
