"""Benchmark the explorer (``jsna_lib.widgets``): latency from a selection to the new views.

For each of many selection changes it sets a picker's value, as a user does (the area Combobox,
the indicator, comparator, period or sex dropdown), and measures the time until the new chart
specs (compare areas, trend, spine row: Vega-Lite dicts) and the table are ready, not counting
the browser's drawing. Two figures per change:

* ``view``: from the selection to the specs and table (``View.timings["total"]``);
* ``set``: from setting the widget value to the observer returning, which adds handing the specs
  to the output widgets (the renderer wraps them in HTML; a few milliseconds).

Changes are drawn at random (seeded) in a realistic mix: area 40%, indicator 25%, comparator 15%,
period 10%, back to a view seen before 10% (each view part is memoised on what it depends on).
The demonstration store is built in a temporary folder unless ``--data-dir`` is given. Target:
150 ms median from selection to updated specs.

    .venv/bin/python benchmarks/bench_widgets.py
    .venv/bin/python benchmarks/bench_widgets.py --data-dir /tmp/demo_store --changes 120

Prints medians and 90th percentiles overall, by kind of change and by part (compare / trend /
spine / table), in wall time and in CPU time of this process (less sensitive to other work on a
shared machine; the load average is printed too).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jsna_lib import charts, compare, demo, widgets
from jsna_lib.store import Store

TARGET_MS = 150.0
KINDS = (("area", 0.40), ("indicator", 0.25), ("comparator", 0.15), ("period", 0.10), ("revisit", 0.10))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(label: str, values: list[float]) -> str:
    return (f"{label:<24} n={len(values):>3}  median {statistics.median(values):7.1f} ms  "
            f"p90 {_percentile(values, 0.9):7.1f} ms")


def run(store: Store, changes: int, seed: int) -> dict[str, list[float]]:
    charts.enable_interactive()
    start = time.perf_counter()
    explorer = widgets.Explorer(store, "E08000025", comparator="region")
    print(f"explorer ready in {time.perf_counter() - start:.2f} s (comparisons read once: "
          f"{explorer.data.load_seconds:.2f} s; first view incl. the Vega bundle: "
          f"{explorer.view.timings['shown']:.0f} ms)")
    explorer.domain_picker.value = "All domains"  # every indicator is then an option of the picker
    data = explorer.data
    labels = data.area_labels()
    indicator_ids = [i for _, i in data.indicator_options()]
    rng = random.Random(seed)
    seen: list[dict] = []
    out: dict[str, list[float]] = {"view": [], "set": [], "cpu": [], "compare": [], "trend": [], "spine": [],
                                   "table": []}
    for _ in range(changes):
        kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
        revisit = None
        picker, value = None, None
        if kind == "revisit" and seen:
            revisit = rng.choice(seen)
        elif kind in ("area", "revisit"):
            picker, value = explorer.area_picker, rng.choice(labels)
        elif kind == "indicator":
            picker, value = explorer.indicator_picker, rng.choice(indicator_ids)
        elif kind == "comparator":
            picker = explorer.comparator_picker
            value = rng.choice([c for c in ("england", "region", "neighbours") if c != explorer.selection.comparator])
        else:
            options = [v for _, v in explorer.period_picker.options if v != explorer.period_picker.value]
            if not options:
                continue
            picker, value = explorer.period_picker, rng.choice(options)
        before = explorer.view
        t0, c0 = time.perf_counter(), time.process_time()
        if revisit is not None:
            explorer.select(**revisit)
        else:
            picker.value = value  # the observer updates every view before this returns
        wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        view = explorer.view
        if view is None or view is before:
            continue
        sel = view.selection
        seen.append({"area_code": sel.area_code, "indicator_id": sel.indicator_id, "comparator": sel.comparator,
                     "period": sel.period})
        out["view"].append(view.timings["total"])
        out["set"].append(wall)
        out["cpu"].append(cpu)
        out.setdefault(f"view: {kind}", []).append(view.timings["total"])
        for part in ("compare", "trend", "spine", "table"):
            out[part].append(view.timings[part])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an existing store (default: build the demo in a temp dir)")
    parser.add_argument("--changes", type=int, default=80, help="selection changes to time")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir is None:
            start = time.perf_counter()
            store = demo.build(Path(tmp) / "demo_store", seed=2024)
            compare.compare_all(store)
            print(f"built the demonstration store and its comparisons in {time.perf_counter() - start:.1f} s")
        else:
            store = Store(args.data_dir)
        result = run(store, args.changes, args.seed)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print(_row("selection -> specs+table", result["view"]))
    print(_row("set widget -> shown", result["set"]))
    print(_row("  (CPU time, this process)", result["cpu"]))
    for key in sorted(k for k in result if k.startswith("view: ")):
        print(_row("  " + key.removeprefix("view: "), result[key]))
    for part in ("compare", "trend", "spine", "table"):
        print(_row(f"  part: {part}", result[part]))
    median = statistics.median(result["view"])
    verdict = "meets" if median <= TARGET_MS else "misses"
    print(f"median selection -> specs+table {median:.0f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
