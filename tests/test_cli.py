"""The `jsna` command: area listings, store summaries and one-line errors."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd

from jsna_lib import cli


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_areas_counts_by_type() -> None:
    for area_type, n in (("utla", 153), ("ltla", 296), ("region", 9), ("england", 1)):
        code, out, _ = _run("areas", "--type", area_type)
        table = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
        assert code == 0
        assert list(table.columns) == ["area_code", "area_name", "area_type", "parent_code", "region_code"]
        assert len(table) == n, area_type
        assert (table["area_type"] == area_type).all()


def test_areas_by_parent() -> None:
    code, out, _ = _run("areas", "--parent", "E12000002")  # North West: 24 counties and UAs (2023)
    table = pd.read_csv(io.StringIO(out), dtype=str)
    assert code == 0 and len(table) == 24
    assert set(table["parent_code"]) == {"E12000002"}
    assert "E10000017" in set(table["area_code"])  # Lancashire


def test_unknown_parent_is_one_clear_line_and_nonzero_exit() -> None:
    code, out, err = _run("areas", "--parent", "E1200002")
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert first.startswith("jsna areas: error:") and "E1200002" in first and "Traceback" not in err


def test_info_on_missing_store_says_how_to_build_one(tmp_path) -> None:
    code, _, err = _run("info", "--data-dir", str(tmp_path / "none"))
    assert code == 1 and "jsna demo --data-dir" in err


def test_console_script_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "jsna_lib.cli", "areas", "--type", "region"],
                          capture_output=True, text=True, check=True)
    assert len(done.stdout.strip().splitlines()) == 10  # header + 9 regions
