"""``jsna compare``: write the comparisons table for analysts as CSV.

Wiring (in :mod:`jsna_lib.cli`)::

    from . import compare_cli
    compare_cli.add_parser(sub)   # sub = parser.add_subparsers(...)

``add_parser`` sets ``func=run`` on the subcommand, so ``main`` dispatches to it like the others.

One row per area type / indicator / area / sex / age / category / period / benchmark, with the
indicator and area names, the value and limits, the benchmark's code, name and value, the
significance (Fingertips labels) and its confidence level, the recent trend, the quintile and
the rank. It uses the store's precomputed ``comparisons`` table when that is current and holds
the benchmark asked for; otherwise it computes (and with ``--save`` stores the result).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from . import compare

#: Columns of the CSV, in order.
CSV_COLUMNS = [
    "indicator_id", "indicator_name", "area_code", "area_name", "area_type", "sex", "age", "category_type",
    "category", "period", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "count", "denominator",
    "benchmark", "benchmark_code", "benchmark_name", "benchmark_value", "significance", "significance_level",
    "trend", "quintile", "rank", "rank_count", "england_value", "polarity", "comparator_method",
    "significance_note", "trend_note", "value_note",
]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``compare`` subcommand to ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser(
        "compare", help="write every area's comparisons (significance, trend, rank) as CSV",
        description="Compare every area of a type with a benchmark in Fingertips conventions and write "
                    "one CSV row per indicator / area / sex / age / category / period.")
    p.add_argument("--data-dir", required=True, type=Path, help="the data store")
    p.add_argument("--area-type", choices=["utla", "ltla"], action="append",
                   help="areas to compare (repeat for both; default: utla and ltla)")
    p.add_argument("--benchmark", action="append",
                   help="england (default), region, parent, an area code, or NAME=CODE,CODE,... for a group "
                        "(repeat for several)")
    p.add_argument("--out", required=True, type=Path, help="CSV file to write")
    p.add_argument("--save", action="store_true",
                   help="also save the computed table (with the england, region and parent benchmarks and "
                        "both area types as well) in the store as 'comparisons', for reports")
    p.add_argument("--trend-method", choices=["ci", "counts"], default="ci",
                   help="recent trend statistic: ci (Fingertips' published method) or counts (proportions)")
    p.add_argument("--trend-gaps", choices=["break", "skip"], default="break",
                   help="break (default): the last 5 points must all be valid; skip: use the last 5 valid "
                        "points, as Fingertips does")
    p.set_defaults(func=run)
    return p


def _benchmark(text: str) -> Any:
    if "=" in text:
        name, _, codes = text.partition("=")
        members = [c.strip() for c in codes.split(",") if c.strip()]
        if not name.strip() or not members:
            raise ValueError(f"--benchmark {text!r}: write a group as NAME=CODE,CODE,...")
        return {"name": name.strip(), "codes": members}
    return text


def _names(store: Any) -> tuple[pd.Series, pd.Series]:
    areas = compare._areas_for(store)
    area_names = pd.Series(areas["area_name"].astype(str).to_numpy(),
                           index=compare._clean_text(areas["area_code"])).groupby(level=0).first()
    if store.has("indicators"):
        ind = store.read("indicators", columns=["indicator_id", "name"])
        ind_names = pd.Series(ind["name"].astype(str).to_numpy(), index=ind["indicator_id"].astype("int64"))
    else:
        ind_names = pd.Series(dtype=str)
    return area_names, ind_names


def comparisons_for_cli(store: Any, *, area_types: list[str], benchmarks: list[Any], trend_method: str = "ci",
                        trend_gaps: str = "break", save: bool = False) -> tuple[pd.DataFrame, bool]:
    """The comparisons rows for the CLI (precomputed when possible) and whether they were precomputed."""
    labels = [compare._as_benchmark(b).label for b in benchmarks]
    if compare.comparisons_current(store) and not save:
        entry = store.manifest["tables"]["comparisons"]
        if (set(labels) <= set(entry.get("benchmarks", [])) and set(area_types) <= set(entry.get("area_types", []))
                and entry.get("trend") == f"{trend_method}, gaps={trend_gaps}"):
            table = store.read("comparisons")
            table = table[table["benchmark"].isin(labels) & table["area_type"].isin(area_types)]
            return table.reset_index(drop=True), True
    if save:
        # The stored table serves reports too: keep the default benchmarks and both area types in it.
        defaults = ["england", "region", "parent"]
        every = [*defaults, *[b for b, label in zip(benchmarks, labels, strict=True) if label not in defaults]]
        types = list(dict.fromkeys(["utla", "ltla", *area_types]))
        table = compare.compare_all(store, area_type=types, benchmarks=every, trend_method=trend_method,
                                    trend_gaps=trend_gaps, save=True)
        table = table[table["benchmark"].isin(labels) & table["area_type"].isin(area_types)]
        return table.reset_index(drop=True), False
    table = compare.compare_all(store, area_type=area_types, benchmarks=benchmarks, trend_method=trend_method,
                                trend_gaps=trend_gaps, save=False)
    return table, False


def run(args: argparse.Namespace) -> int:
    """Run ``jsna compare``; returns the exit code."""
    from .store import Store, atomic_write_text

    store = Store(args.data_dir)
    area_types = args.area_type or ["utla", "ltla"]
    benchmarks = [_benchmark(b) for b in (args.benchmark or ["england"])]
    table, precomputed = comparisons_for_cli(store, area_types=area_types, benchmarks=benchmarks,
                                             trend_method=getattr(args, "trend_method", "ci"),
                                             trend_gaps=getattr(args, "trend_gaps", "break"),
                                             save=getattr(args, "save", False))
    area_names, ind_names = _names(store)
    out = table.copy()
    out["indicator_name"] = out["indicator_id"].astype("int64").map(ind_names).fillna("")
    out["area_name"] = out["area_code"].map(area_names).fillna("")
    out["benchmark_name"] = out["benchmark_code"].map(area_names).fillna(out["benchmark_code"])
    out = out[CSV_COLUMNS]
    atomic_write_text(args.out, out.to_csv(index=False, lineterminator="\n"))
    how = "from the store's precomputed table" if precomputed else "computed"
    print(f"wrote {len(out):,} rows ({out['area_code'].nunique()} areas, {out['indicator_id'].nunique()} indicators, "
          f"benchmark {', '.join(compare._as_benchmark(b).label for b in benchmarks)}; {how}) to {args.out}",
          file=sys.stdout)
    return 0
