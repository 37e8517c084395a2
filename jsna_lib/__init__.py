"""JSNA Workbench: data, statistics, comparisons, charts and reports for Joint Strategic Needs Assessments.

Modules are imported on demand (``from jsna_lib import stats``) so that importing the package,
e.g. in every notebook kernel, stays cheap.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jsna-workbench")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
