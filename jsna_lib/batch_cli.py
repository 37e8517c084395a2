"""The ``jsna batch`` subcommand: argument parsing and the call into :mod:`jsna_lib.batch`.

Wiring into ``jsna_lib/cli.py`` (:func:`jsna_lib.batch.run_batch` refreshes the all-areas
comparison table itself, before the kernels start)::

    from . import batch_cli

    def _cmd_batch(args):
        return batch_cli.run(args)

    p = batch_cli.add_parser(sub)
    p.set_defaults(func=_cmd_batch)

Importing this module is cheap (argparse only); the batch machinery is imported when the command runs.

``python -m jsna_lib.batch_cli ARGS`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_NOTEBOOK = Path("notebooks/area_profile.ipynb")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``batch`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "batch",
        help="render a parameterised notebook for every area, in parallel (index.html + manifest.json)",
        description="Run NOTEBOOK once per area (one fresh kernel each, --workers at a time), write an "
                    "offline HTML report and the executed notebook per area, an index page and a manifest. "
                    "Re-running skips areas whose notebook, data and parameters are unchanged.",
    )
    p.add_argument("--notebook", type=Path, default=DEFAULT_NOTEBOOK,
                   help=f"the parameterised notebook (default: {DEFAULT_NOTEBOOK})")
    p.add_argument("--data-dir", type=Path, required=True, help="the data store folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    p.add_argument("--areas", default="all",
                   help="all or utla (153 upper-tier LAs), ltla (296), region (9), a region name or E12 code "
                        "(its UTLAs), or a comma list of area codes (default: all)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="kernels running at once (default: the number of cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://host:8786")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S",
                   help="seconds allowed per area before its kernel is stopped (default: 600)")
    p.add_argument("--retries", type=int, default=1, metavar="N",
                   help="re-run a failing area N more times, each with a new kernel (default: 1)")
    p.add_argument("--force", action="store_true", help="re-run every area, even unchanged ones")
    p.add_argument("--self-contained", action="store_true",
                   help="inline the shared CSS/JavaScript into every report (default: write them once to OUT/assets)")
    p.add_argument("--charts", choices=["svg", "interactive"], default="interactive",
                   help="draw the notebook's Vega-Lite charts in the browser with the Vega JavaScript, offline "
                        "(shared in OUT/assets or inlined; default), or as static SVG images when the report is "
                        "made (no JavaScript in the page; vl-convert draws them one at a time, ~0.1-0.3 s each)")
    p.add_argument("--comparator", default="england", help="notebook parameter `comparator` (default: england)")
    p.add_argument("--period", default="latest", help="notebook parameter `period` (default: latest)")
    p.add_argument("--output-format", default="html", help="notebook parameter `output_format` (default: html)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="another notebook parameter (repeatable); values typed as papermill does")
    p.add_argument("--kernel-start", choices=["auto", "fork", "spawn"], default="auto",
                   help="fork kernels from a pre-imported template (auto: on Linux) or spawn each one")
    p.add_argument("--preload", default="auto",
                   help="modules the kernel template imports once: auto (the notebook's top-level imports), "
                        "none, or a comma list")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`jsna_lib.batch.BatchConfig` for parsed arguments."""
    from .batch import BatchConfig, parse_parameter

    parameters = {name: parse_parameter(value) for name, value in (args.parameter or [])}
    return BatchConfig(
        data_dir=args.data_dir, out_dir=args.out, notebook=args.notebook, areas=args.areas,
        comparator=args.comparator, period=args.period, output_format=args.output_format,
        parameters=parameters, workers=args.workers, scheduler=args.scheduler, timeout=args.timeout,
        retries=args.retries, force=args.force, self_contained=args.self_contained, charts=args.charts,
        kernel_start=args.kernel_start, preload=args.preload, progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``jsna batch``; prints a one-line summary; returns 0 (all OK), 1 (failures) or 130 (interrupted)."""
    from .batch import run_batch

    result = run_batch(config_from_args(args))
    print(result.summary())
    if result.exit_code == 130:
        print("jsna batch: interrupted; re-run the same command to resume", file=sys.stderr)
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jsna_lib.batch_cli``: the batch command on its own, with one-line errors."""
    parser = argparse.ArgumentParser(prog="jsna")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("jsna: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"jsna batch: error: {str(exc).strip() or type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
