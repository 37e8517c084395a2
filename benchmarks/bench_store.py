"""Store and demonstration-data benchmarks.

Prints, measured in one run on this machine:
- the time to load a 1,000,000-row canonical ``values`` table from the store (target: well
  under 1 s), side by side with reading the same rows from CSV (the ratio shows why parquet);
- the time to build the demonstration store (target: under 10 s).

Run: ``.venv/bin/python benchmarks/bench_store.py``
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jsna_lib import demo
from jsna_lib.store import Store


def _million_rows(n: int = 1_000_000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    areas = np.array([f"E0{6 + i % 4}{i:06d}" for i in range(460)])
    count = rng.poisson(200, n).astype(float)
    denominator = count + rng.poisson(5000, n)
    value = count / denominator * 100
    return pd.DataFrame({
        "indicator_id": rng.integers(90000, 90100, n),
        "area_code": areas[rng.integers(0, len(areas), n)],
        "area_type": "utla",
        "sex": np.array(["Persons", "Male", "Female"])[rng.integers(0, 3, n)],
        "age": "All ages",
        "category_type": "",
        "category": "",
        "period": np.arange(n).astype(str),  # unique keys
        "period_sort": np.arange(n),
        "value": value, "lower_95": value * 0.9, "upper_95": value * 1.1,
        "count": count, "denominator": denominator,
    })


def _median_time(func, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        df = _million_rows()
        store = Store(Path(tmp) / "store", create=True)
        start = time.perf_counter()
        store.write("values", df, source="benchmark")
        write_s = time.perf_counter() - start
        csv_path = Path(tmp) / "values.csv"
        df.to_csv(csv_path, index=False)
        read_s = _median_time(lambda: store.read("values"))
        csv_s = _median_time(lambda: pd.read_csv(csv_path), repeat=3)
        print(f"values table, {len(df):,} rows: validate+write {write_s:.2f} s; "
              f"load from store {read_s:.3f} s (median of 5); load same rows from CSV {csv_s:.3f} s; "
              f"CSV/store ratio {csv_s / read_s:.1f}x")

        times = []
        for i in range(3):
            start = time.perf_counter()
            demo.build(Path(tmp) / f"demo{i}")
            times.append(time.perf_counter() - start)
        rows = Store(Path(tmp) / "demo0").manifest["tables"]["values"]["rows"]
        print(f"demonstration store ({rows:,} values rows): build {statistics.median(times):.2f} s "
              f"(median of 3; target < 10 s)")


if __name__ == "__main__":
    main()
