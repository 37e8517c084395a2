"""Where the project's committed data files live, in a source checkout and in an installed wheel.

The repository keeps facts (area codes and names, code changes) in ``data/``. The wheel
force-includes that folder as ``jsna_lib/_data`` (see ``pyproject.toml``), so an installed
package reads ``jsna_lib/_data/NAME`` and a source checkout (including an editable install)
reads ``data/NAME``.
"""

from __future__ import annotations

from pathlib import Path


def project_data(name: str) -> Path:
    """Path of the committed data file ``name`` (e.g. ``"areas.csv"``).

    Returns ``jsna_lib/_data/<name>`` when it exists (installed wheel), else
    ``<repository>/data/<name>`` (source checkout). The file is not required to exist.
    """
    packaged = Path(__file__).parent / "_data" / name
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parent.parent / "data" / name
