"""The ``jsna`` command.

Subcommands: ``areas``, ``demo``, ``import``, ``info`` (more arrive with later modules). Errors
exit non-zero with one clear line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

AREA_COLUMNS = ["area_code", "area_name", "area_type", "parent_code", "region_code"]


def _cmd_areas(args: argparse.Namespace) -> int:
    from . import geography

    if args.parent:
        table = geography.children(args.parent, area_type=args.type)
    else:
        table = geography.areas(args.type)
    table[AREA_COLUMNS].to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    start = time.perf_counter()
    store = demo.build(args.data_dir, seed=args.seed)
    took = time.perf_counter() - start
    rows = {name: entry["rows"] for name, entry in store.manifest["tables"].items()}
    print(f"demonstration store written to {store.path} in {took:.1f} s: "
          + ", ".join(f"{n} {r:,} rows" for n, r in sorted(rows.items())))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from . import sources
    from .store import Store

    store = Store(args.data_dir, create=True)
    mapping = args.mapping
    if args.format == "tidy" and mapping is None:
        raise ValueError("--format tidy needs --mapping FILE (see jsna_lib/sources/mappings/ for examples)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sources.import_to_store(
            args.path, store, format=args.format, mapping=mapping,
            keep_unknown_areas=args.keep_unknown_areas, metadata=args.metadata,
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(result.summary())
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .store import Store

    store = Store(args.data_dir)
    summary = store.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"store {summary['path']} (checksum {summary['checksum']})")
        for name, entry in summary["tables"].items():
            print(f"  {name:<12} {entry['rows']:>10,} rows  source: {entry['source']}  written {entry['written_at']}")
        if "indicators" in summary:
            by_type = ", ".join(f"{n} {t}" for t, n in sorted(summary["areas_by_type"].items()))
            print(f"  {summary['indicators']} indicators, {summary['periods']} periods; areas: {by_type}")
    if args.html:
        out = Path(args.html)
        from .store import atomic_write_text

        atomic_write_text(out, _info_html(store))
        print(f"summary page: {out.resolve()}")
    return 0


def _info_html(store) -> str:  # type: ignore[no-untyped-def]
    """A small offline HTML page describing a store: tables and every indicator's latest England value."""
    summary = store.summary()
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(n)}</td><td>{e['rows']:,}</td><td>{esc(str(e['source']))}</td>"
        f"<td>{esc(str(e['written_at']))}</td></tr>" for n, e in summary["tables"].items()
    )
    ind_rows = ""
    if store.has("indicators") and store.has("values"):
        ind = store.read("indicators")
        val = store.read("values", filters=[("area_code", "=", "E92000001"), ("category_type", "=", "")])
        val = val[val["sex"] == "Persons"] if (val["sex"] == "Persons").any() else val
        latest = val.sort_values("period_sort").groupby("indicator_id").tail(1).set_index("indicator_id")
        for r in ind.sort_values(["domain", "indicator_id"]).itertuples():
            lv = latest.loc[r.indicator_id] if r.indicator_id in latest.index else None
            value = "" if lv is None or lv["value"] != lv["value"] else f"{lv['value']:,.1f}"
            period = "" if lv is None else str(lv["period"])
            ind_rows += (f"<tr><td>{esc(str(r.domain))}</td><td>{r.indicator_id}</td><td>{esc(str(r.name))}</td>"
                         f"<td>{esc(str(r.value_type))}</td><td>{esc(str(r.polarity))}</td>"
                         f"<td style='text-align:right'>{esc(value)}</td><td>{esc(period)}</td></tr>")
    demo_note = ""
    if any("synthetic" in str(e["source"]) for e in summary["tables"].values()):
        demo_note = ("<p class='demo'><strong>Demonstration data (synthetic):</strong> "
                     "these numbers are made up and describe no real place.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>JSNA Workbench data store</title>
<style>body{{font-family:Arial,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}th{{background:#eee}}
.demo{{background:#fff3cd;padding:8px;border:1px solid #e0c060}}</style></head><body>
<h1>Data store: {esc(summary['path'])}</h1>{demo_note}
<h2>Tables</h2><table><tr><th>table</th><th>rows</th><th>source</th><th>written</th></tr>{rows}</table>
<h2>Indicators (latest England value, persons)</h2>
<table><tr><th>domain</th><th>id</th><th>indicator</th><th>value type</th><th>polarity</th><th>England</th>
<th>period</th></tr>{ind_rows}</table>
<p>Store checksum {esc(summary['checksum'])}. Made by JSNA Workbench.</p></body></html>
"""


def _cmd_batch(args: argparse.Namespace) -> int:
    from . import batch_cli

    return batch_cli.run(args)  # (the batch refreshes the all-areas comparison table itself)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jsna", description="JSNA Workbench: needs-assessment data and reports.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("areas", help="list areas of the current English geography as CSV")
    p.add_argument("--type", choices=["england", "region", "utla", "ltla"], default=None)
    p.add_argument("--parent", help="only the children of this area code")
    p.set_defaults(func=_cmd_areas)

    p = sub.add_parser("demo", help="build the demonstration (synthetic) data store")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--seed", type=int, default=2024)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("import", help="import a Fingertips CSV export or a tidy CSV/Excel file into a store")
    p.add_argument("path", type=Path)
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--format", choices=["fingertips", "tidy"], default="fingertips")
    p.add_argument("--mapping", help="column mapping (JSON file) for --format tidy")
    p.add_argument("--metadata", type=Path, help="indicator metadata CSV (polarity, value type, ...)")
    p.add_argument("--keep-unknown-areas", action="store_true",
                   help="keep rows for areas outside the English LA geography (Wales, NHS areas, GPs...)")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("info", help="summarise a data store")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--html", help="also write an offline HTML summary page to this path")
    p.set_defaults(func=_cmd_info)

    from . import batch_cli, compare_cli, fetch_cli

    batch_cli.add_parser(sub).set_defaults(func=_cmd_batch)
    compare_cli.add_parser(sub)
    fetch_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jsna`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("jsna: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for the user; --debug for the rest
        if args.debug:
            raise
        message = str(exc).strip() or exc.__class__.__name__
        print(f"jsna {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
