"""The explorer in a real JupyterLab 4 + Chromium: open notebooks/explore.ipynb, run all cells, change
the area picker, check that the chart and the table changed, save the view, and that the page logged
no JavaScript errors.

JupyterLab runs from the project's venv on 127.0.0.1 with a random token and port, a root folder
in tmp (a copy of the notebook in ``notebooks/`` and a demonstration store in ``data/demo_store``, so
the notebook's default ``data_dir`` works unchanged), and its settings, workspaces and runtime
files in tmp. Its network calls are switched off (news, update checks, the extension manager's
PyPI lookups) and the browser blocks every request that is not to the loopback server
(``page.route``), so the test runs on a closed network.

Console messages ignored (documented here, nothing else is): none of type "error" are expected.
``BLOCKED`` requests (non-loopback) are listed in the failure message if any error mentions them.

A screenshot of the explorer after the change is written to the test's ``tmp_path``
(``explore_after.png``; ``explore_before.png`` too); ``docs/explore_screenshot.png`` is a copy
kept by hand after looking at it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from jsna_lib import compare, demo
from tests.conftest import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent
JUPYTER = Path(sys.executable).with_name("jupyter")

pytestmark = pytest.mark.slow

#: Console errors that are harmless here. Kept empty on purpose: add an entry only with the reason.
BENIGN_CONSOLE_ERRORS: tuple[str, ...] = ()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "explore.ipynb", root / "notebooks" / "explore.ipynb")
    store = demo.build(root / "data" / "demo_store")
    compare.compare_all(store)
    return root


@pytest.fixture(scope="module")
def lab(lab_root, tmp_path_factory):
    """A JupyterLab server on loopback; yields (base_url, token); stopped (by its pid) afterwards."""
    if not JUPYTER.exists():
        pytest.skip(f"jupyter not found next to {sys.executable}")
    state = tmp_path_factory.mktemp("lab_state")
    token = secrets.token_hex(16)
    port = _free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"), "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "PYTHONPATH": str(REPO)}
    # IdentityProvider.token is jupyter_server 2's name for ServerApp.token (same effect, no warning).
    command = [str(JUPYTER), "lab", "--no-browser", f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={lab_root}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
               "--ServerApp.disable_check_xsrf=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    # No "get notified about Jupyter news?" prompt (it would also cover part of the screenshot).
    settings = state / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    log = (state / "lab.log").open("w")
    process = subprocess.Popen(command, cwd=lab_root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"JupyterLab did not start: {(state / 'lab.log').read_text()[-3000:]}")
        time.sleep(0.3)
    try:
        yield base, token
    finally:
        try:  # shut down its kernels first, then the server (only the process group we started)
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
            process.wait(timeout=15)
        except (urllib.error.URLError, subprocess.TimeoutExpired, ConnectionError, TimeoutError):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_explorer_in_jupyterlab(lab, lab_root, chromium, tmp_path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    base, token = lab
    errors: list[str] = []
    blocked: list[str] = []

    def route(handler_route) -> None:
        host = urlparse(handler_route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or handler_route.request.url.startswith(("data:", "blob:")):
            handler_route.continue_()
        else:
            blocked.append(handler_route.request.url)
            handler_route.abort()

    def on_console(message) -> None:
        if message.type == "error" and not any(b in message.text for b in BENIGN_CONSOLE_ERRORS):
            errors.append(f"console: {message.text}")

    started = time.monotonic()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1900})
            page.route("**/*", route)
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.goto(f"{base}/lab/tree/notebooks/explore.ipynb?token={token}", wait_until="domcontentloaded")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
            # Wait for the kernel, then run every cell.
            page.wait_for_function("""() => {
                const panel = window.jupyterapp.shell.currentWidget;
                const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
                return kernel && kernel.status === 'idle';
            }""", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            explorer = page.locator(".jsna-explorer")
            explorer.wait_for(state="visible", timeout=60_000)
            # vega-embed draws SVG here: compare the chart's markup (and its text) before and after.
            chart = page.locator(".jsna-explorer-compare .vega-embed svg").first
            chart.wait_for(state="visible", timeout=60_000)
            page.locator(".jsna-explorer-spine .vega-embed svg").first.wait_for(state="visible", timeout=30_000)
            page.locator(".jsna-explorer-trend .vega-embed svg").first.wait_for(state="visible", timeout=30_000)
            numbers = page.locator(".jsna-explorer-table table")
            numbers.wait_for(state="visible", timeout=30_000)
            page.wait_for_timeout(500)  # let vega finish drawing
            before_table = numbers.inner_text()
            before_chart = chart.evaluate("svg => svg.outerHTML")
            before_status = page.locator(".jsna-explorer-status").inner_text()
            assert "Birmingham (E08000025)" in before_table and "West Midlands" in before_table
            assert "Birmingham" in chart.text_content() and "West Midlands" in chart.text_content()
            explorer.screenshot(path=str(tmp_path / "explore_before.png"))

            # Change the area: type part of a name or code, pick the entry, press Enter.
            area = page.locator(".jsna-explorer-area input")
            area.fill("Manchester (E08000003)")
            area.press("Enter")
            page.wait_for_function(
                "() => { const t = document.querySelector('.jsna-explorer-table table');"
                " return t && t.innerText.includes('Manchester (E08000003)'); }", timeout=30_000)
            page.wait_for_function(
                "(before) => { const s = document.querySelector('.jsna-explorer-compare .vega-embed svg');"
                " return s && s.outerHTML !== before; }", arg=before_chart, timeout=30_000)
            page.wait_for_timeout(500)
            chart = page.locator(".jsna-explorer-compare .vega-embed svg").first
            after_table = numbers.inner_text()
            after_chart = chart.evaluate("svg => svg.outerHTML")
            after_status = page.locator(".jsna-explorer-status").inner_text()
            assert after_table != before_table and "Birmingham (E08000025)" not in after_table
            assert "North West" in after_table
            assert after_chart != before_chart
            assert "Manchester" in chart.text_content() and "North West" in chart.text_content()
            assert "Manchester (E08000003)" in after_status and after_status != before_status
            explorer.screenshot(path=str(tmp_path / "explore_after.png"))

            # Save the view: the files are written next to the notebook and the links download them.
            page.locator(".jsna-explorer-save button, button.jsna-explorer-save").first.click()
            links = page.locator(".jsna-explorer-links a.jsna-download")
            links.first.wait_for(state="attached", timeout=60_000)
            assert links.count() == 2
            downloaded = {}
            for index in range(2):
                with page.expect_download(timeout=30_000) as info:
                    links.nth(index).click()
                download = info.value
                downloaded[download.suggested_filename] = Path(download.path()).read_bytes()
            csv = next(v for k, v in downloaded.items() if k.endswith(".csv")).decode("utf-8")
            png = next(v for k, v in downloaded.items() if k.endswith(".png"))
            assert csv.startswith("part,area_code,area_name") and "E08000003" in csv
            assert png.startswith(b"\x89PNG")
            saved = {p.name: p.read_bytes() for p in (lab_root / "notebooks" / "exports").iterdir()}
            assert saved == downloaded
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    assert not errors, json.dumps({"errors": errors, "blocked": blocked}, indent=1)
    print(f"browser test: {elapsed:.1f} s in the browser; blocked non-loopback requests: {len(blocked)}")
