"""`jsna batch`: plan, parallel kernels, failures with their cell, retries, timeouts, resume, Ctrl-C, Dask.

Kernels are slow, so each test runs few areas (2-3) on 2 workers with the fixture notebooks in
tests/fixtures/notebooks (stored without outputs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest

from jsna_lib import batch, batch_cli
from jsna_lib.geography import UnknownAreaError
from jsna_lib.store import Store

from .kernels import run_in_new_kernel

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "tests" / "fixtures" / "notebooks"
THREE = "E06000001,E06000002,E06000003"  # Hartlepool, Middlesbrough, Redcar and Cleveland
CDN_TAG = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)


def _indicators(n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"indicator_id": list(range(1, n + 1)), "name": [f"Indicator {i}" for i in range(1, n + 1)],
                         "value_type": ["Crude rate"] * n, "polarity": ["RAG - Low is good"] * n,
                         "comparator_method": ["ci_95"] * n})


@pytest.fixture()
def store_dir(tmp_path) -> Path:
    """A tiny demonstration store (one table) written with the store API."""
    store = Store(tmp_path / "store", create=True)
    store.write("indicators", _indicators(), source="demonstration (synthetic)")
    return store.path


def _config(store_dir: Path, out: Path, notebook: str | Path, areas: str = THREE, **options) -> batch.BatchConfig:
    options.setdefault("workers", 2)
    options.setdefault("progress", False)
    options.setdefault("timeout", 60)
    return batch.BatchConfig(data_dir=store_dir, out_dir=out, notebook=Path(notebook), areas=areas, **options)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _outputs(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "areas").iterdir()) if (out / "areas").exists() else []


# ----------------------------------------------------------------------------------- planning (no kernels)
def test_plan_areas_sets_regions_and_lists() -> None:
    assert len(batch.plan_areas("all")) == 153 and len(batch.plan_areas("utla")) == 153
    assert len(batch.plan_areas("ltla")) == 296 and len(batch.plan_areas("region")) == 9
    north_east = batch.plan_areas("North East")
    assert len(north_east) == 12 and {a.area_type for a in north_east} == {"utla"}
    assert batch.plan_areas("E12000001") == north_east
    listed = batch.plan_areas("E06000001, e06000002,Hartlepool")
    assert [a.area_code for a in listed] == ["E06000001", "E06000002"]
    assert [a.area_code for a in batch.plan_areas("Bristol, City of")] == ["E06000023"]  # a name with a comma


def test_unknown_areas_fail_before_any_work_with_suggestions(tmp_path, store_dir, capsys) -> None:
    with pytest.raises(UnknownAreaError, match=r"E0600000l.*did you mean.*E06000001") as caught:
        batch.plan_areas("E06000002,E0600000l,Hartlepol")
    assert "2 unknown" in str(caught.value) and "Hartlepool" in str(caught.value)
    out = tmp_path / "out"
    code = batch_cli.main(["batch", "--notebook", str(NOTEBOOKS / "ok_profile.ipynb"), "--data-dir", str(store_dir),
                           "--out", str(out), "--areas", "E06000001,E0600000X", "--no-progress"])
    assert code == 1 and not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean" in err


def test_parameters_hash_and_imports() -> None:
    assert [batch.parse_parameter(v) for v in ("3", "2.5", "True", "None", "E06000001")] == \
        [3, 2.5, True, None, "E06000001"]
    nb = nbformat.read(NOTEBOOKS / "ok_profile.ipynb", as_version=4)
    executed = nbformat.read(NOTEBOOKS / "ok_profile.ipynb", as_version=4)
    executed.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    executed.cells[3].execution_count = 7
    executed.metadata["widgets"] = {}
    assert batch.notebook_hash(executed) == batch.notebook_hash(nb)  # outputs and metadata do not count
    executed.cells[3].source += "\n# changed"
    assert batch.notebook_hash(executed) != batch.notebook_hash(nb)
    assert batch.notebook_parameters(nb) == ["area_code", "data_dir", "comparator", "period", "output_format",
                                             "label"]
    imports = batch.notebook_imports(nb)
    assert "jsna_lib:geography" in imports and "IPython.display:HTML,SVG,Markdown,display" in imports


# ----------------------------------------------------------------------------------- a batch end to end
def test_batch_writes_reports_index_manifest_then_resumes(tmp_path, store_dir) -> None:
    out = tmp_path / "out"
    notebook = tmp_path / "profile.ipynb"
    shutil.copy(NOTEBOOKS / "ok_profile.ipynb", notebook)
    evil = "<script>alert('x')</script>"
    config = _config(store_dir, out, notebook, parameters={"label": evil}, charts="interactive")
    result = batch.run_batch(config)
    assert result.exit_code == 0, result.summary()
    manifest = _manifest(out)
    assert manifest["status"] == "complete" and manifest["counts"]["ok"] == 3
    assert manifest["data"]["checksum"] == Store(store_dir).checksum() and manifest["data"]["demonstration"]
    assert manifest["notebook"]["sha256"] == batch.notebook_hash(nbformat.read(notebook, as_version=4))
    assert manifest["parameters"]["label"] == evil and manifest["parameters"]["data_dir"] == str(store_dir)
    assert {"papermill", "nbconvert", "ipykernel", "jsna-workbench"} <= set(manifest["versions"])
    assert manifest["options"]["transport"] == "ipc"
    hartlepool = manifest["areas"]["E06000001"]
    assert hartlepool["status"] == "ok" and hartlepool["attempts"] == 1 and hartlepool["seconds"] > 0
    assert hartlepool["headline"].startswith("Hartlepool <script>alert")
    if sys.platform.startswith("linux"):
        assert 20 < hartlepool["kernel_peak_rss_mb"] < 2000
    assert _outputs(out) == [f"E0600000{i}.{ext}" for i in (1, 2, 3) for ext in ("html", "ipynb")]

    # the executed notebook: papermill's metadata, our parameters, the input key
    executed = nbformat.read(out / "areas" / "E06000002.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'area_code = "E06000002"' in injected[0].source
    assert executed.metadata["jsna"]["input_key"] == manifest["areas"]["E06000002"]["input_key"]
    assert executed.metadata["papermill"]["parameters"]["area_code"] == "E06000002"

    # the report: outputs without code, offline, banner, footer, shared assets linked
    page = (out / "areas" / "E06000002.html").read_text()
    assert "geography.area(area_code)" not in page and "display(Markdown" not in page
    assert "<strong>Middlesbrough</strong>" in page and "&lt;script&gt;alert" in page
    assert evil not in page
    assert not CDN_TAG.search(page)
    assert 'class="jsna-demo-banner"' in page and "demonstration (synthetic)" in page
    assert re.search(r'<link rel="stylesheet" href="\.\./assets/report-[0-9a-f]{12}\.css">', page)
    assert re.search(r'<script src="\.\./assets/vega-bundle-[^"]+\.js"></script>', page)
    assets = sorted(p.name for p in (out / "assets").iterdir())
    assert len(assets) == 2 and all(not name.startswith(".") for name in assets)

    # the index: every area, escaped headlines, links
    index = (out / "index.html").read_text()
    assert index.count('href="areas/E0600000') == 3 and evil not in index and "&lt;script&gt;alert(" in index
    assert not CDN_TAG.search(index)

    # resume: nothing changed, nothing runs, nothing is rewritten
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "areas").iterdir()}
    again = batch.run_batch(config)
    assert again.exit_code == 0
    assert again.manifest["counts"]["ok"] == 0 and again.manifest["counts"]["skipped"] == 3
    assert {p.name: p.stat().st_mtime_ns for p in (out / "areas").iterdir()} == mtimes
    assert again.manifest["areas"]["E06000001"]["headline"] == hartlepool["headline"]
    assert "3 ok (3 unchanged, not re-run)" in again.summary()

    # a changed notebook re-runs every area
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('one more cell')"))
    nbformat.write(nb, notebook)
    changed_notebook = batch.run_batch(config)
    assert changed_notebook.manifest["counts"]["ok"] == 3 and changed_notebook.manifest["counts"]["skipped"] == 0

    # a changed store re-runs; a smaller plan only writes its own areas
    Store(store_dir).write("indicators", _indicators(3), source="demonstration (synthetic)")
    changed_store = batch.run_batch(_config(store_dir, out, notebook, areas="E06000001",
                                            parameters={"label": evil}, self_contained=True, charts="svg"))
    assert changed_store.manifest["counts"]["ok"] == 1 and list(changed_store.manifest["areas"]) == ["E06000001"]
    single = (out / "areas" / "E06000001.html").read_text()
    assert not re.search(r"<(?:script|link)\b[^>]*(?:src|href)=", single)  # self-contained: nothing linked
    assert "3 rows of data" in single and "<style" in single
    assert "vegaEmbed" not in single and single.count('data-mime-type="image/svg+xml"') == 2  # charts as SVG
    # --force re-runs an unchanged area
    forced = batch.run_batch(_config(store_dir, out, notebook, areas="E06000001", parameters={"label": evil},
                                     self_contained=True, charts="svg", force=True))
    assert forced.manifest["counts"]["ok"] == 1 and forced.manifest["counts"]["skipped"] == 0


def test_failing_area_is_recorded_with_its_cell_and_the_others_go_on(tmp_path, store_dir, capsys) -> None:
    out = tmp_path / "out"
    flaky = tmp_path / "flaky"
    flaky.mkdir()
    code = batch_cli.main(["batch", "--notebook", str(NOTEBOOKS / "fail_for_area.ipynb"), "--data-dir",
                           str(store_dir), "--out", str(out), "--areas", THREE, "--workers", "2", "--retries", "1",
                           "-p", "fail_area", "E06000002", "-p", "fail_once_dir", str(flaky), "--no-progress"])
    assert code == 1
    summary = capsys.readouterr().out.strip().splitlines()
    assert len(summary) == 1 and "2 ok" in summary[0] and "1 failed" in summary[0]
    assert "E06000002 Middlesbrough: ValueError: deliberate failure for E06000002 in cell 4" in summary[0]
    manifest = _manifest(out)
    failed = manifest["areas"]["E06000002"]
    assert failed["status"] == "failed" and failed["attempts"] == 2
    error = failed["error"]
    assert error["kind"] == "exception" and error["ename"] == "ValueError"
    assert error["cell_index"] == 4 and error["cell_source"] == "# deliberate failure for the chosen area"
    assert "deliberate failure" in error["evalue"] and "ValueError" in error["traceback"]
    assert [e["ename"] for e in failed["attempt_errors"]] == ["ValueError", "ValueError"]
    # a transient failure succeeds on its retry, and the first error is kept
    for ok_code in ("E06000001", "E06000003"):
        entry = manifest["areas"][ok_code]
        assert entry["status"] == "ok" and entry["attempts"] == 2
        assert entry["attempt_errors"][0]["ename"] == "RuntimeError"
    assert _outputs(out) == ["E06000001.html", "E06000001.ipynb", "E06000002.failed.ipynb",
                             "E06000003.html", "E06000003.ipynb"]
    index = (out / "index.html").read_text()
    assert "Failed" in index and "deliberate failure for E06000002 in cell 4" in index
    assert 'href="areas/E06000002.html"' not in index


def test_timeout_and_kernel_death_are_retried_then_recorded(tmp_path, store_dir) -> None:
    out = tmp_path / "sleep"
    start = time.perf_counter()
    result = batch.run_batch(_config(store_dir, out, NOTEBOOKS / "sleep.ipynb", areas="E06000001,E06000002",
                                     timeout=4, retries=1, parameters={"slow_area": "E06000002"}))
    took = time.perf_counter() - start
    assert result.exit_code == 1
    slow = result.manifest["areas"]["E06000002"]
    assert slow["status"] == "failed" and slow["attempts"] == 2
    assert slow["error"]["kind"] == "timeout" and slow["error"]["cell_index"] == 3
    assert slow["error"]["cell_source"] == "# sleep: long for the slow area"
    assert result.manifest["areas"]["E06000001"]["status"] == "ok"
    assert took < 35  # two 4 s attempts, not two 60 s sleeps

    out = tmp_path / "death"
    once = tmp_path / "once"
    once.mkdir()
    result = batch.run_batch(_config(store_dir, out, NOTEBOOKS / "kernel_death.ipynb", areas="E06000001,E06000002",
                                     retries=1, parameters={"die_area": "E06000002", "die_once_dir": str(once)}))
    assert result.exit_code == 1
    died = result.manifest["areas"]["E06000002"]
    assert died["status"] == "failed" and died["attempts"] == 2
    assert died["error"]["kind"] == "kernel_died" and died["error"]["cell_index"] == 3
    assert died["error"]["cell_source"] == "# kill the kernel for the chosen area"
    survivor = result.manifest["areas"]["E06000001"]
    assert survivor["status"] == "ok" and survivor["attempts"] == 2
    assert survivor["attempt_errors"][0]["kind"] == "kernel_died"
    assert (out / "areas" / "E06000001.html").exists() and not (out / "areas" / "E06000002.html").exists()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_kills_kernels_and_leaves_no_partial_outputs(tmp_path, store_dir) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jsna_lib.batch_cli", "batch", "--notebook", str(NOTEBOOKS / "sleep.ipynb"),
         "--data-dir", str(store_dir), "--out", str(out), "--areas", THREE, "--workers", "2",
         "-p", "sleep_seconds", "60", "--no-progress"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the kernel template and two kernels running the sleep cell
            if (out / "manifest.json").exists() and len(_descendants(proc.pid)) >= 3:
                break
            time.sleep(0.2)
        time.sleep(1.5)
        kernels = _descendants(proc.pid)
        assert len(kernels) >= 2, "kernels did not start"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    gone, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive, f"kernels still running: {alive}"
    manifest = _manifest(out)
    assert manifest["status"] == "interrupted"
    assert {a["status"] for a in manifest["areas"].values()} <= {"interrupted", "not_run"}
    assert not [p for p in (out / "areas").iterdir()]  # no partial report, no temporary file
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert "Interrupted" in (out / "index.html").read_text() or "Not run" in (out / "index.html").read_text()


def test_cancel_event_stops_a_run_from_another_thread(tmp_path, store_dir) -> None:
    out = tmp_path / "out"
    cancel = threading.Event()
    timer = threading.Timer(3.0, cancel.set)
    timer.start()
    start = time.perf_counter()
    result = batch.run_batch(_config(store_dir, out, NOTEBOOKS / "sleep.ipynb", areas="E06000001,E06000002",
                                     parameters={"sleep_seconds": 60}), cancel=cancel)
    timer.cancel()
    assert time.perf_counter() - start < 20
    assert result.exit_code == 130 and result.manifest["status"] == "interrupted"
    assert _outputs(out) == []


def test_dask_local_cluster_runs_the_same_plan(tmp_path, store_dir) -> None:
    from dask.distributed import Client, LocalCluster

    out = tmp_path / "out"
    # Worker processes, as on a real cluster: an in-process worker shares this test process's
    # asyncio state, which earlier in-process papermill runs (other test files) have changed.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # retries=1: a kernel that fails to start on a loaded machine is retried, as in real runs;
        # the notebook's own failure for E06000002 still fails on both attempts, in the same cell.
        result = batch.run_batch(_config(store_dir, out, NOTEBOOKS / "fail_for_area.ipynb",
                                         areas="E06000001,E06000002", scheduler=client, retries=1))
    assert result.exit_code == 1
    areas = result.manifest["areas"]
    assert areas["E06000001"]["status"] == "ok" and areas["E06000001"]["headline"] == "Area E06000001 ran"
    assert areas["E06000002"]["error"].get("cell_index") == 4, areas["E06000002"]["error"]
    assert result.manifest["options"]["scheduler"] == "dask client"
    assert "distributed" in result.manifest["versions"]
    assert (out / "areas" / "E06000001.html").exists() and (out / "index.html").exists()
    assert batch.close_process_pools() == 0  # the workers' kernel pools were closed at the end


def test_dask_in_process_worker_after_papermill_ran_in_this_process(tmp_path, store_dir) -> None:
    """An in-process Dask worker (threads of this process) runs each task in a copy of this
    context: after an in-process papermill run, its threads used to share this thread's event loop
    and the second kernel start failed ("This event loop is already running")."""
    import papermill as pm
    from dask.distributed import Client, LocalCluster

    pm.execute_notebook(str(NOTEBOOKS / "ok_profile.ipynb"), str(tmp_path / "first.ipynb"),
                        parameters={"area_code": "E06000003", "data_dir": str(store_dir)}, progress_bar=False,
                        cwd=str(tmp_path))
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = batch.run_batch(_config(store_dir, tmp_path / "out", NOTEBOOKS / "ok_profile.ipynb",
                                         areas="E06000001,E06000002,E06000003", scheduler=client, retries=0))
    assert result.exit_code == 0, result.summary()
    assert {a["status"] for a in result.manifest["areas"].values()} == {"ok"}
    batch.close_process_pools()


def test_fixture_runs_under_plain_papermill(tmp_path, store_dir) -> None:
    papermill = Path(sys.executable).with_name("papermill")
    command = [str(papermill)] if papermill.exists() else [sys.executable, "-m", "papermill"]
    done = subprocess.run([*command, str(NOTEBOOKS / "ok_profile.ipynb"), str(tmp_path / "out.ipynb"),
                           "-p", "area_code", "E06000003", "-p", "data_dir", str(store_dir), "--no-progress-bar"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    assert done.returncode == 0, done.stderr
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    from jsna_lib import report

    assert report.headline(executed).startswith("Redcar and Cleveland")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel template forks on Linux")
def test_forked_kernels_are_fresh_processes_with_preloaded_modules() -> None:
    pool = batch.KernelPool(kernel_name="python3", cwd=str(REPO), start="fork", preload=["numpy"], warm=False)
    code = ("import os, random, sys, numpy\n"
            "print(os.getpid(), 'leftover' in globals(), 'numpy' in sys.modules,"
            " random.random(), numpy.random.random())\nleftover = 1")
    try:
        seen = [run_in_new_kernel(pool, code, timeout=30).split() for _ in range(2)]
    finally:
        pool.close()
    (pid1, left1, np1, r1, n1), (pid2, left2, np2, r2, n2) = seen
    assert pid1 != pid2 and left1 == left2 == "False" and np1 == np2 == "True"
    assert r1 != r2 and n1 != n2  # random states re-seeded in every kernel


def test_notebook_client_keeps_chart_specs_as_sent_and_the_notebook_valid() -> None:
    """The batch's client stores a JSON output (a Vega-Lite spec) as the dict the kernel sent; the
    output is otherwise what nbclient makes, and the notebook still validates and round-trips."""
    from papermill.engines import NotebookExecutionManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("display(chart)")])
    client = batch._client_class()(NotebookExecutionManager(nb, progress_bar=False, autosave_cell_every=0),
                                   km=None, kernel_name="python3")
    client.reset_execution_trackers()  # what executing a notebook, then a cell, starts with
    client.clear_before_next_output = False
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "mark": "bar",
            "data": {"values": [{"a": "x", "b": 1.5}, {"a": "y", "b": None}]}}
    data = {"application/vnd.vegalite.v6+json": spec, "text/plain": "<Chart>"}
    msg = {"msg_type": "display_data", "header": {"msg_type": "display_data"}, "parent_header": {"msg_id": "m1"},
           "content": {"data": data, "metadata": {}}}
    outs: list = []
    out = client.output(outs, msg, None, 0)
    assert outs == [out] and out.output_type == "display_data"
    assert out.data["application/vnd.vegalite.v6+json"] is spec  # not converted, not copied
    assert type(out.data["application/vnd.vegalite.v6+json"]) is dict
    assert out.data["text/plain"] == "<Chart>" and msg["content"]["data"]["application/vnd.vegalite.v6+json"] is spec
    nb.cells[0].outputs = outs
    nbformat.validate(nb)
    again = nbformat.reads(batch.notebook_json(nb), as_version=4)
    assert again.cells[0].outputs[0].data["application/vnd.vegalite.v6+json"] == spec
    # a stream output (no data) goes through unchanged
    stream = client.output(outs, {"msg_type": "stream", "header": {"msg_type": "stream"}, "parent_header": {"msg_id": "m1"},
                                  "content": {"name": "stdout", "text": "hi\n"}}, None, 0)
    assert stream.text == "hi\n" and len(outs) == 2
    # inside an Output widget, the widget's hook gets the message with the spec in it
    seen: list = []

    class Hook:
        def output(self, outs_: list, msg_: dict, display_id: object, cell_index: int) -> None:
            seen.append(msg_["content"]["data"]["application/vnd.vegalite.v6+json"])

    client.output_hook_stack["m2"].append(Hook())
    assert client.output(outs, {**msg, "parent_header": {"msg_id": "m2"}}, None, 0) is None
    assert seen == [spec] and len(outs) == 2
