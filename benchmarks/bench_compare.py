"""Benchmark ``jsna_lib.compare.compare_all`` on the whole demonstration store.

It computes, for every UTLA and LTLA, every indicator, sex/age split, category and period,
the significance against England, the region and the parent authority, the quintile, rank,
spine numbers and recent trend, and saves the ``comparisons`` table into the store, which is
what a batch run does once before rendering any report. Target: under 5 s.

    .venv/bin/python benchmarks/bench_compare.py                       # builds a demo store in a temp dir
    .venv/bin/python benchmarks/bench_compare.py --data-dir /tmp/demo_store --repeat 5

Reports the median and the best of ``--repeat`` runs (each reads the store, computes and
writes) in wall time and in CPU time (this process; less sensitive to other work on a shared
machine, whose load average is printed too), the rows in and out, and, for the reader side,
the time to read one area's slice and to build one area's profile from it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jsna_lib import compare, demo, profile
from jsna_lib.store import Store

TARGET_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an existing store (default: build the demo in a temp dir)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--area", default="E08000025", help="area for the reader-side timings")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir is None:
            start = time.perf_counter()
            store = demo.build(Path(tmp) / "demo_store", seed=2024)
            print(f"built the demonstration store in {time.perf_counter() - start:.1f} s")
        else:
            store = Store(args.data_dir)
        n_values = store.manifest["tables"]["values"]["rows"]
        times, cpu = [], []
        table = None
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            table = compare.compare_all(Store(store.path))
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        assert table is not None
        areas = table.groupby("area_type")["area_code"].nunique().to_dict()
        median, best = statistics.median(times), min(times)
        print(f"compare_all: {n_values:,} value rows -> {len(table):,} comparison rows "
              f"({areas.get('utla', 0)} UTLAs, {areas.get('ltla', 0)} LTLAs, {table['indicator_id'].nunique()} "
              f"indicators, {table['period'].nunique()} periods, benchmarks england/region/parent)")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        print(f"compare_all (read + compute + save): median {median:.2f} s, best {best:.2f} s wall; "
              f"median {statistics.median(cpu):.2f} s CPU; over {args.repeat} runs on {os.cpu_count()} CPUs, "
              f"load average {load} (target < {TARGET_SECONDS:.0f} s: {'met' if median < TARGET_SECONDS else 'NOT met'})")

        fresh = Store(store.path)
        start = time.perf_counter()
        one = compare.read_comparisons(fresh, area_code=args.area)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        p = profile.area_profile(fresh, args.area)
        profile_s = time.perf_counter() - start
        print(f"reader side for {args.area}: read its {len(one):,} comparison rows in {read_s:.2f} s; "
              f"area_profile in {profile_s:.2f} s ({'precomputed' if p.from_precomputed else 'computed'})")
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
