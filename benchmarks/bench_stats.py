"""Benchmark jsna_lib.stats against the PyPI package PHStatsMethods (``phstatsmethods``).

Inputs (synthetic, seeded):

* proportion and rate: 1,000,000 rows, one observation per row;
* DSR: 52,632 groups x 19 ESP2013 age bands = 1,000,008 rows.

For each method it reports the median wall time of several runs of ``jsna_lib.stats`` on the
full input, rows per second, and, measured in the same run on the same inputs, the time
PHStatsMethods takes. PHStatsMethods works row by row (``DataFrame.apply``), so it is timed
on a subsample (``--ph-rows`` rows, or whole DSR groups of about that many rows) and scaled
linearly to the full size; the output says so. Both libraries' results are compared on the
subsample as a sanity check.

Run it on one core (the script pins BLAS/OpenMP thread pools to 1 before importing numpy):

    .venv/bin/python benchmarks/bench_stats.py                # ours only if PHStatsMethods is absent
    /tmp/benchvenv/bin/python benchmarks/bench_stats.py       # a venv with phstatsmethods installed

(``python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install phstatsmethods -e .``)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from jsna_lib import stats  # noqa: E402

try:  # optional: only in a separate benchmark venv
    import PHStatsMethods as ph
except ImportError:  # pragma: no cover - depends on the environment
    ph = None

LEVELS = [0.95, 0.998]
DSR_GROUPS = 52_632


@dataclass
class Case:
    name: str
    full: pd.DataFrame
    sub: pd.DataFrame
    ours: Callable[[pd.DataFrame], pd.DataFrame]
    theirs: Callable[[pd.DataFrame], pd.DataFrame] | None
    compare: tuple[str, str] | None


def pin_one_core() -> str:
    """Restrict this process to one CPU where the OS allows it."""
    if hasattr(os, "sched_setaffinity"):
        try:
            cpu = min(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cpu})
            return f"pinned to CPU {cpu}"
        except OSError:
            pass
    return "not pinned (thread pools limited to 1)"


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median wall time and median CPU time of ``repeats`` calls, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def quiet(fn: Callable[[], object]) -> Callable[[], object]:
    """PHStatsMethods prints while joining standard populations; keep the report readable."""

    def run() -> object:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn()

    return run


def make_rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    denominator = rng.integers(100, 100_000, n).astype(float)
    p = rng.uniform(0.0001, 0.3, n)
    # counts of at least 1: PHStatsMethods 0.1.16's byars_upper raises on a count of 0
    count = np.maximum(rng.binomial(denominator.astype(np.int64), p), 1).astype(float)
    return pd.DataFrame({"count": count, "denominator": denominator})


def make_dsr(groups: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bands = np.asarray(stats.ESP2013.index, dtype=object)
    k = len(bands)
    area = np.array([f"E{i:08d}" for i in range(groups)], dtype=object)
    pop = rng.integers(500, 20_000, groups * k).astype(float)
    rate = np.tile(np.geomspace(0.0002, 0.15, k), groups) * rng.uniform(0.5, 1.5, groups * k)
    count = rng.poisson(pop * rate).astype(float)
    return pd.DataFrame(
        {
            "area": pd.array(np.repeat(area, k), dtype="string"),
            "age_band": pd.array(np.tile(bands, groups), dtype="string"),
            "count": count,
            "population": pop,
            "esp": np.tile(stats.ESP2013.to_numpy(), groups),
        }
    ).assign(
        # an England-like reference by band, and the expected count it implies (for funnels)
        ref_count=np.tile(np.round(np.geomspace(0.0002, 0.15, k) * 3e6), groups),
        ref_population=3e6,
    ).pipe(lambda d: d.assign(expected=d["population"] * d["ref_count"] / d["ref_population"]))


def make_le(groups: int, seed: int) -> pd.DataFrame:
    from jsna_lib.stats.life_expectancy import LE_BANDS

    rng = np.random.default_rng(seed)
    k = len(LE_BANDS)
    pop = rng.integers(1_000, 9_000, groups * k).astype(float)
    deaths = rng.poisson(pop * np.tile(np.geomspace(0.0003, 0.2, k), groups)).astype(float)
    return pd.DataFrame({"area": np.repeat(np.arange(groups), k), "age_band": np.tile(LE_BANDS, groups),
                         "deaths": deaths, "population": pop})


def make_sii(groups: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    value = rng.normal(80, 3, groups * 10)
    half = rng.uniform(0.5, 3, groups * 10)
    return pd.DataFrame({"area": np.repeat(np.arange(groups), 10), "decile": np.tile(np.arange(1, 11), groups),
                         "population": rng.integers(5_000, 20_000, groups * 10).astype(float),
                         "value": value, "lower": value - half, "upper": value + half})


def max_rel_diff(ours: pd.Series, theirs: pd.Series) -> float:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    ok = ~(np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nanmax(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-12)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for proportion and rate")
    parser.add_argument("--dsr-groups", type=int, default=DSR_GROUPS, help="DSR groups (x 19 bands)")
    parser.add_argument("--repeats", type=int, default=7, help="runs of ours (median)")
    parser.add_argument("--ph-rows", type=int, default=20_000, help="PHStatsMethods subsample rows")
    parser.add_argument("--ph-repeats", type=int, default=3, help="runs of PHStatsMethods (median)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    print(f"jsna_lib.stats benchmark: python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"pandas {pd.__version__}; {pin_one_core()}")
    if ph is None:
        print("PHStatsMethods: not installed in this environment -> comparison unavailable "
              "(install it in a separate venv: pip install phstatsmethods)")
    else:
        version = getattr(ph, "__version__", None)
        if version is None:
            from importlib.metadata import version as _v

            version = _v("PHStatsMethods")
        print(f"PHStatsMethods {version}: timed on a subsample of ~{args.ph_rows:,} rows, "
              "scaled linearly to the full input")
    print()

    rows = make_rows(args.rows, args.seed)
    dsr_df = make_dsr(args.dsr_groups, args.seed + 1)
    sub_rows = rows.iloc[: min(args.ph_rows, len(rows))].reset_index(drop=True)
    sub_groups = max(1, min(args.dsr_groups, args.ph_rows // 19))
    sub_dsr = dsr_df.iloc[: sub_groups * 19].reset_index(drop=True)
    # values for mean/quantiles: the DSR frame's rows, grouped by area (52,632 groups of 19)
    grouped = dsr_df.assign(value=np.random.default_rng(args.seed + 2).normal(80, 5, len(dsr_df)))
    sub_grouped = grouped.iloc[: sub_groups * 19].reset_index(drop=True)

    le_df = make_le(args.dsr_groups * 19 // 20, args.seed + 3)  # ~1M rows of 20 bands
    sii_df = make_sii(300, args.seed + 4)  # 300 areas x 10 deciles, 100,000 repetitions

    def has(name: str) -> bool:
        return ph is not None and hasattr(ph, name)

    cases: list[Case] = [
        Case("proportion (Wilson)", rows, sub_rows,
             lambda d: stats.proportion(d, "count", "denominator", confidence=LEVELS),
             (lambda d: ph.ph_proportion(d.copy(), "count", "denominator", confidence=LEVELS,
                                         multiplier=100)) if has("ph_proportion") else None,
             ("upper_99_8", "upper_99_8_ci")),
        Case("rate (Byar/exact)", rows, sub_rows,
             lambda d: stats.rate(d, "count", "denominator", confidence=LEVELS),
             (lambda d: ph.ph_rate(d.copy(), "count", "denominator", confidence=LEVELS,
                                   multiplier=100_000)) if has("ph_rate") else None,
             ("lower_95", "lower_95_ci")),
        Case("DSR (Dobson, ESP2013)", dsr_df, sub_dsr,
             lambda d: stats.dsr(d, "count", "population", by="area", age_band="age_band",
                                 confidence=LEVELS),
             (lambda d: ph.ph_dsr(d.copy(), "count", "population", "esp", group_cols="area",
                                  confidence=LEVELS, euro_standard_pops=False)) if has("ph_dsr") else None,
             ("lower_95", "lower_95_ci")),
        Case("ISRatio (Byar)", dsr_df, sub_dsr,
             lambda d: stats.isratio(d, "count", "population", by="area", reference_count="ref_count",
                                     reference_population="ref_population", confidence=LEVELS),
             (lambda d: ph.ph_ISRatio(d.copy(), "count", "population", "ref_count", "ref_population",
                                      group_cols="area", confidence=LEVELS, refvalue=100))
             if has("ph_ISRatio") else None,
             ("upper_95", "upper_95_ci")),
        Case("ISRate (Byar)", dsr_df, sub_dsr,
             lambda d: stats.isr(d, "count", "population", by="area", reference_count="ref_count",
                                 reference_population="ref_population", confidence=LEVELS),
             (lambda d: ph.ph_ISRate(d.copy(), "count", "population", "ref_count", "ref_population",
                                     group_cols="area", confidence=LEVELS, multiplier=100_000))
             if has("ph_ISRate") else None,
             ("upper_95", "upper_95_ci")),
        Case("mean (t)", grouped, sub_grouped,
             lambda d: stats.mean(d, "value", by="area", confidence=LEVELS),
             (lambda d: ph.ph_mean(d.copy(), "value", group_cols="area", confidence=LEVELS))
             if has("ph_mean") else None,
             ("lower_99_8", "lower_99_8_ci")),
        Case("quantiles (by area)", grouped, sub_grouped,
             lambda d: stats.quantiles(d, "value", by="area", n=5),
             (lambda d: ph.ph_quantile(d.copy(), "value", group_cols=["area"], nquantiles=5,
                                       invert=False)) if has("ph_quantile") else None,
             ("quantile", "quantile")),
        Case("quantiles (one group)", rows, rows,
             lambda d: stats.quantiles(d, "count", n=10),
             (lambda d: ph.ph_quantile(d.copy(), "count", nquantiles=10, invert=False))
             if has("ph_quantile") else None,
             ("quantile", "quantile")),
        Case("funnel limits (proportion)", rows, rows,
             lambda d: stats.funnel_limits(d, "count", "denominator", statistic="proportion"),
             (lambda d: ph.calculate_funnel_limits(d.copy(), "count", "proportion", 100,
                                                   denom_col="denominator"))
             if has("calculate_funnel_limits") else None,
             None),
        Case("life expectancy (no PHSM)", le_df, le_df,
             lambda d: stats.life_expectancy(d, "deaths", "population", by="area", age_band="age_band",
                                             confidence=LEVELS),
             None, None),
        Case("SII 100k reps (no PHSM)", sii_df, sii_df,
             lambda d: stats.sii(d, "value", "population", by="area", quantile="decile", lower="lower",
                                 upper="upper", confidence=LEVELS, seed=1),
             None, None),
        Case("funnel limits (ratio)", dsr_df, dsr_df,
             lambda d: stats.funnel_limits(d, "count", "expected", statistic="ratio"),
             (lambda d: ph.calculate_funnel_limits(d.copy(), "count", "ratio", 100,
                                                   denom_col="expected", ratio_type="isr"))
             if has("calculate_funnel_limits") else None,
             None),
    ]

    header = (f"{'method':27} {'rows':>10} {'ours (s)':>9} {'cpu (s)':>8} {'rows/s':>12}  "
              f"{'PHStatsMethods (s)':>18} {'measured on':>12} {'speed-up':>9}  agreement")
    print(header)
    print("-" * len(header))
    failures = []
    for case in cases:
        case.ours(case.full.iloc[:1000])  # warm up (imports, caches)
        wall, cpu, _ = timed(lambda c=case: c.ours(c.full), args.repeats)
        rate_ours = len(case.full) / wall
        ph_text, where, ratio_text, agree = "unavailable", "", "n/a", ""
        if case.theirs is not None:
            try:
                ph_wall, _, theirs = timed(quiet(lambda c=case: c.theirs(c.sub)), args.ph_repeats)
                scaled = ph_wall * len(case.full) / len(case.sub)
                ratio = scaled / wall
                ph_text = f"{scaled:.2f}"
                where = "full input" if len(case.sub) == len(case.full) else f"{len(case.sub):,} rows*"
                ratio_text = f"{ratio:8.1f}x"
                if case.compare is not None:
                    ours_sub = case.ours(case.sub)
                    agree = f"max rel diff {max_rel_diff(ours_sub[case.compare[0]], theirs[case.compare[1]]):.0e}"
                if ratio < 10:
                    failures.append(f"{case.name}: {ratio:.1f}x PHStatsMethods (target >= 10x)")
            except Exception as exc:  # report and carry on
                ph_text = f"failed ({type(exc).__name__}: {str(exc)[:40]})"
        print(f"{case.name:27} {len(case.full):>10,} {wall:9.3f} {cpu:8.3f} {rate_ours:12,.0f}  "
              f"{ph_text:>18} {where:>12} {ratio_text:>9}  {agree}")
        if case.name.startswith("DSR") and wall >= 1.0:
            failures.append(f"DSR on {len(case.full):,} rows took {wall:.2f} s (target < 1 s)")

    print()
    print(f"Median of {args.repeats} runs for ours, {args.ph_repeats} for PHStatsMethods. "
          "* = PHStatsMethods timed on that many rows (whole groups) and scaled linearly to the full "
          "input.\nCounts are >= 1 because PHStatsMethods 0.1.16's ph_rate raises on a count of 0. "
          "Funnel limits: each library's own 100-point grid over the same input.\n"
          "(no PHSM) = PHStatsMethods has no such function; rows for SII = areas x deciles.")
    if failures:
        print("TARGETS MISSED:", *failures, sep="\n  ")
        return 1
    if ph is None:
        print("DSR on ~1M rows < 1 s: met; comparison with PHStatsMethods: unavailable")
    else:
        print("targets met: >= 10x PHStatsMethods for every method both have; DSR on ~1M rows < 1 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
