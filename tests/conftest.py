"""Shared fixtures.

Real-data tests take the ``shared_data`` fixture: the folder of real public data
(``JSNA_SHARED_DATA``, e.g. ``../shared/data``). Without it they are skipped with a clear
reason on a developer's machine, but in CI (``CI`` set) a missing folder is a failure: CI must
exercise the real data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path | None:
    env = os.environ.get("JSNA_SHARED_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (set JSNA_SHARED_DATA); skip, or fail in CI, when it is absent."""
    path = _shared_data_dir()
    reason = (
        "real public data not found: set JSNA_SHARED_DATA to the shared data folder "
        "(e.g. JSNA_SHARED_DATA=../shared/data make test)"
    )
    if path is None or not (path / "README.md").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the real-data tests; looked at {path})")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path to Debian's Chromium for the browser tests; skip (fail in CI) when it is absent."""
    path = os.environ.get("JSNA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        reason = "Chromium not found: install Debian's chromium (tools/ensure_chromium.sh) or set JSNA_CHROMIUM"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


#: Chromium flags for a headless run on a closed network (no background connections).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
