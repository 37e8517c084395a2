"""Batch benchmark: `jsna batch` against its own floor and against running papermill by hand.

Measured in one run on this machine, for the same areas, workers and data store:

(a) floor: the batch engine running a one-cell parameterised notebook
    (``tests/fixtures/notebooks/one_cell.ipynb``): kernel start, papermill, HTML report, files;
(b) ``jsna batch`` with the real notebook (``notebooks/area_profile.ipynb`` when it exists, else
    the fixture ``tests/fixtures/notebooks/ok_profile.ipynb``) for all 153 upper-tier authorities;
(c) the naive way: for each area, sequentially, the ``papermill`` CLI and then
    ``jupyter nbconvert --to html --no-input`` (what you type to get the same two files).
    Run on a sample of ``--naive-sample`` areas (default 8) and scaled to the full list; the
    papermill-only time is shown too.

(a) and (b) run ``--repeat`` times (default 2), alternating, and the best time of each is kept
(other work on the machine only ever slows a run down). (b0) then runs once a notebook that only
displays (b)'s outputs again (no computing): the least (b) could cost on this engine. Prints
seconds per area, the ratios
(targets: (b)/(a) <= 2.0 and (c)/(b) >= 5), the notebook's own cell time (papermill's timings:
what (b) adds to (a) should be about that divided by the workers) and the kernels' peak memory
(VmHWM, Linux). ``--spawn`` also times (b) with ``--kernel-start spawn`` (no kernel
template), to show what the template saves.

Run: ``.venv/bin/python benchmarks/bench_batch.py [--workers N] [--areas all] [--spawn]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jsna_lib import batch  # noqa: E402
from jsna_lib.store import Store  # noqa: E402

FLOOR_NOTEBOOK = REPO / "tests" / "fixtures" / "notebooks" / "one_cell.ipynb"
FIXTURE_NOTEBOOK = REPO / "tests" / "fixtures" / "notebooks" / "ok_profile.ipynb"
REAL_NOTEBOOK = REPO / "notebooks" / "area_profile.ipynb"


def _store(work: Path) -> Path:
    """The demonstration store (what the real notebook needs); a one-table store if demo is missing."""
    try:
        from jsna_lib import demo

        return demo.build(work / "store").path
    except ImportError:
        import pandas as pd

        store = Store(work / "store", create=True)
        store.write("indicators", pd.DataFrame({
            "indicator_id": [1], "name": ["x"], "value_type": ["Crude rate"], "polarity": ["RAG - Low is good"],
            "comparator_method": ["ci_95"]}), source="demonstration (synthetic)")
        return store.path


def _batch(notebook: Path, store: Path, out: Path, areas: str, workers: int, **options) -> tuple[float, dict]:
    start, cpu = time.perf_counter(), time.process_time()
    result = batch.run_batch(batch.BatchConfig(data_dir=store, out_dir=out, notebook=notebook, areas=areas,
                                               workers=workers, force=True, progress=False, **options))
    took = time.perf_counter() - start
    result.manifest["bench_parent_cpu_s"] = time.process_time() - cpu  # this process: every thread
    counts = result.manifest["counts"]
    if counts.get("failed"):
        failed = [f"{c}: {a['error']['summary']}" for c, a in result.manifest["areas"].items() if a["status"] == "failed"]
        print(f"  warning: {counts['failed']} areas failed, e.g. {failed[:2]}")
    return took, result.manifest


def _naive(notebook: Path, store: Path, out: Path, codes: list[str]) -> tuple[float, float]:
    """Seconds per area for papermill + nbconvert, and for papermill alone (sequential CLI calls)."""
    bin_dir = Path(sys.executable).parent
    papermill = [str(bin_dir / "papermill")] if (bin_dir / "papermill").exists() else [sys.executable, "-m", "papermill"]
    nbconvert = [str(bin_dir / "jupyter"), "nbconvert"] if (bin_dir / "jupyter").exists() else \
        [sys.executable, "-m", "jupyter", "nbconvert"]
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    out.mkdir(parents=True, exist_ok=True)
    pm_total = nb_total = 0.0
    for code in codes:
        executed = out / f"{code}.ipynb"
        start = time.perf_counter()
        subprocess.run([*papermill, str(notebook), str(executed), "-p", "area_code", code, "-p", "data_dir", str(store),
                        "-p", "comparator", "england", "-p", "period", "latest", "-p", "output_format", "html",
                        "--no-progress-bar", "--cwd", str(notebook.parent)],
                       check=True, capture_output=True, env=env)
        middle = time.perf_counter()
        subprocess.run([*nbconvert, "--to", "html", "--no-input", str(executed)], check=True, capture_output=True,
                       env=env)
        end = time.perf_counter()
        pm_total += middle - start
        nb_total += end - middle
    n = len(codes)
    return (pm_total + nb_total) / n, pm_total / n


def _replay_notebook(executed: Path, out: Path) -> Path:
    """A notebook that only displays what (b)'s notebook displayed, area by area: its outputs, read
    from ``executed`` (the executed notebooks) into ``out/outputs/<code>.json``, are shown again
    by the same number of code cells. Timed like (a) and (b), it is the least a notebook that
    shows these outputs can cost on this engine: no computing, only messages, files and reports."""
    (out / "outputs").mkdir(parents=True, exist_ok=True)
    template = None
    for path in executed.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        template = template or nb
        cells = [c for c in nb["cells"] if c["cell_type"] == "code"
                 and not {"parameters", "injected-parameters"} & set(c["metadata"].get("tags", []))]
        shown = [[{"data": {k: "".join(v) if isinstance(v, list) else v for k, v in o["data"].items()},
                   "metadata": o.get("metadata", {})}
                  for o in c["outputs"] if o["output_type"] in ("display_data", "execute_result")] for c in cells]
        (out / "outputs" / f"{path.stem}.json").write_text(json.dumps(shown))
    if template is None:
        raise SystemExit("(b) wrote no executed notebooks to replay")
    show = "for o in SHOWN[{}]:\n    display(o['data'], metadata=o['metadata'], raw=True)\n"
    cells, k = [], 0
    for cell in template["cells"]:
        tags = set(cell["metadata"].get("tags", []))
        if cell["cell_type"] != "code" or "injected-parameters" in tags:
            continue
        if "parameters" in tags:
            cells.append({**cell, "outputs": [], "execution_count": None})
            continue
        source = show.format(k)
        if k == 0:
            source = ("import json\nfrom IPython.display import display\n"
                      f"SHOWN = json.load(open({str(out / 'outputs')!r} + f'/{{area_code}}.json'))\n" + source)
        cells.append({"cell_type": "code", "execution_count": None, "id": f"replay-{k}", "metadata": {},
                      "outputs": [], "source": source})
        k += 1
    notebook = out / "replay.ipynb"
    notebook.write_text(json.dumps({**template, "cells": cells}))
    return notebook


def _peaks(manifest: dict, key: str = "kernel_peak_rss_mb") -> list[float]:
    return [a[key] for a in manifest["areas"].values() if a.get(key)]


def _kernel_time(out: Path) -> tuple[float, float]:
    """Median per area of the notebook's own cell time (papermill's durations) and of kernel CPU."""
    cells = []
    for path in (out / "areas").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        cells.append(sum((c["metadata"].get("papermill") or {}).get("duration") or 0 for c in nb["cells"]))
    manifest = json.loads((out / "manifest.json").read_text())
    cpu = [a["kernel_cpu_s"] for a in manifest["areas"].values() if a.get("kernel_cpu_s") is not None]
    return (statistics.median(cells) if cells else float("nan"), statistics.median(cpu) if cpu else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=REAL_NOTEBOOK if REAL_NOTEBOOK.exists() else FIXTURE_NOTEBOOK)
    parser.add_argument("--areas", default="all")
    parser.add_argument("--workers", type=int, default=None, help="default: the cores")
    parser.add_argument("--naive-sample", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2, help="runs of (a) and (b), alternating; best kept")
    parser.add_argument("--spawn", action="store_true", help="also time (b) without the kernel template")
    parser.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = parser.parse_args()
    workers = args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    codes = [a.area_code for a in batch.plan_areas(args.areas)]
    n = len(codes)

    work = Path(tempfile.mkdtemp(prefix="jsna-bench-"))
    try:
        start = time.perf_counter()
        store = _store(work)
        print(f"store: {store} ({time.perf_counter() - start:.1f} s to build)")
        print(f"notebook: {args.notebook.relative_to(REPO) if args.notebook.is_relative_to(REPO) else args.notebook}; "
              f"{n} areas; {workers} workers; {os.cpu_count()} cores; Python {sys.version.split()[0]}")
        # warm the on-disk caches shared by all three ways (Vega bundle, .pyc files) so no one pays them;
        # this first run also computes the store's all-areas comparison table, once per store
        start = time.perf_counter()
        batch.run_batch(batch.BatchConfig(data_dir=store, out_dir=work / "warmup", notebook=args.notebook,
                                          areas=",".join(codes[:workers]), workers=workers, progress=False))
        print(f"first run on the new store ({workers} areas; computes the comparison table once per store, "
              f"kept in the store for every later run): {time.perf_counter() - start:.1f} s")

        floors, batches = [], []
        for _ in range(max(1, args.repeat)):  # alternate, so that a busy moment hits both
            floors.append(_batch(FLOOR_NOTEBOOK, store, work / "floor", args.areas, workers))
            batches.append(_batch(args.notebook, store, work / "batch", args.areas, workers))
        floor_s, floor_m = min(floors, key=lambda r: r[0])
        batch_s, batch_m = min(batches, key=lambda r: r[0])
        runs = lambda results: ", ".join(f"{r[0]:.1f}" for r in results)  # noqa: E731
        print(f"(a) floor, one-cell notebook, jsna batch:  {floor_s:7.1f} s  {floor_s / n:6.3f} s/area  "
              f"(runs: {runs(floors)} s)")
        print(f"(b) jsna batch, {args.notebook.name}:  {batch_s:7.1f} s  {batch_s / n:6.3f} s/area  "
              f"(runs: {runs(batches)} s)")
        replay = _replay_notebook(work / "batch" / "areas", work / "replay")
        replay_s, replay_m = _batch(replay, store, work / "replayed", args.areas, workers)
        print(f"(b0) display only: (b)'s outputs shown again, no computing:  {replay_s:7.1f} s  "
              f"{replay_s / n:6.3f} s/area  ({replay_s / floor_s:.2f}x the floor: the least (b) could cost here)")
        if args.spawn:
            spawn_s, _ = _batch(args.notebook, store, work / "spawn", args.areas, workers, kernel_start="spawn")
            print(f"(b') the same with --kernel-start spawn:   {spawn_s:7.1f} s  {spawn_s / n:6.3f} s/area")
        sample = codes[:: max(1, n // args.naive_sample)][: args.naive_sample]
        naive_area, papermill_area = _naive(args.notebook, store, work / "naive", sample)
        print(f"(c) naive papermill + nbconvert CLI, sequential ({len(sample)} areas, scaled to {n}): "
              f"{naive_area * n:7.1f} s  {naive_area:6.3f} s/area  (papermill alone {papermill_area:.3f} s/area)")

        b_a = batch_s / floor_s
        c_b = naive_area * n / batch_s
        print(f"(b)/(a) = {b_a:.2f}  (target <= 2.0)   (c)/(b) = {c_b:.1f}  (target >= 5; "
              f"papermill alone: {papermill_area * n / batch_s:.1f})")
        for label, folder in (("(a) floor", work / "floor"), (f"(b) {args.notebook.name}", work / "batch"),
                              ("(b0) display only", work / "replayed")):
            cells, cpu = _kernel_time(folder)
            print(f"{label}: the notebook's cells take {cells:.3f} s per area (papermill timings), "
                  f"kernel CPU {cpu:.2f} s per area (start-up included)")
        for label, manifest in (("(a) floor", floor_m), (f"(b) {args.notebook.name}", batch_m),
                                ("(b0) display only", replay_m)):
            print(f"{label}: the batch process's own CPU {manifest['bench_parent_cpu_s'] / n:.3f} s per area "
                  "(papermill client, reports, files)")
        for label, manifest in (("floor", floor_m), (args.notebook.name, batch_m)):
            peaks = _peaks(manifest)
            if peaks:
                print(f"kernel peak memory, {label}: median {statistics.median(peaks):.0f} MB, max {max(peaks):.0f} MB "
                      f"(VmHWM; forked kernels count the template's shared pages)")
            own = _peaks(manifest, "kernel_private_mb")
            if own:
                print(f"kernel private memory at the end, {label}: median {statistics.median(own):.0f} MB, "
                      f"max {max(own):.0f} MB (what each extra worker costs beyond the shared template)")
        print(f"batch process peak memory: {batch_m['memory']['batch_peak_rss_mb']:.0f} MB")
        sizes = [p.stat().st_size for p in (work / "batch" / "areas").glob("*.html")]
        if sizes:
            print(f"report size: median {statistics.median(sizes) / 1024:.0f} kB per area "
                  f"+ {sum(p.stat().st_size for p in (work / 'batch' / 'assets').iterdir()) / 1024:.0f} kB shared assets")
        if args.keep:
            shutil.copytree(work / "batch", args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
