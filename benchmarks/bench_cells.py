"""Per-cell time of ``notebooks/area_profile.ipynb``, run in this process as a batch kernel runs it.

The notebook's code cells are executed for many upper-tier authorities of a store (the demo store by
default), with the store preloaded and the profile cache warmed as the batch's kernel template
does, and ``display`` capturing each output instead of sending it. Prints the median milliseconds
of every code cell and the mean per area (CPU time of this process: steadier than wall time on a
shared machine). Three areas run first and are not counted.

``--capture FILE`` saves every output (HTML and Markdown text, chart specs as dicts) per area;
``--compare FILE`` checks the outputs against such a capture and lists the differences (dataset
names normalised). Capture before a change that should not change the profiles, compare after.

Run: ``.venv/bin/python benchmarks/bench_cells.py [--data-dir data/demo_store] [--areas 30]
[--capture before.pkl | --compare before.pkl]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("JSNA_BATCH", "1")  # charts leave as specs, as under jsna batch

from jsna_lib import profile, store  # noqa: E402


def _cells() -> list[str]:
    nb = json.loads((REPO / "notebooks" / "area_profile.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    # the notebook's display goes to the list of outputs instead of a kernel
    return [s.replace("from IPython.display import HTML, Markdown, display",
                      "from IPython.display import HTML, Markdown\ndisplay = _outputs_display") for s in sources]


def _output(obj: Any) -> tuple[str, Any]:
    if hasattr(obj, "to_dict"):
        return ("chart", obj.to_dict())
    if hasattr(obj, "data"):
        return (type(obj).__name__, obj.data)
    return ("repr", repr(obj))


def _run(cells: list[str], code: str, data_dir: str, outputs: list[Any]) -> list[float]:
    namespace: dict[str, Any] = {"__name__": "__main__", "_outputs_display": lambda *objs, **_: outputs.extend(objs)}
    exec(cells[0], namespace)  # the parameters cell
    namespace.update(area_code=code, data_dir=data_dir)
    took = []
    for cell in cells[1:]:
        start = time.process_time()
        exec(cell, namespace)
        took.append(time.process_time() - start)
    return took


def _normal(output: Any) -> str:
    return re.sub(r'"data-[0-9a-f]+"', '"data-N"', json.dumps(output, sort_keys=True, default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO / "data" / "demo_store"))
    parser.add_argument("--areas", type=int, default=30, help="areas timed (after 3 not counted)")
    parser.add_argument("--capture", type=Path, help="save every output to this file")
    parser.add_argument("--compare", type=Path, help="compare every output with this capture")
    args = parser.parse_args()
    if not (Path(args.data_dir) / "manifest.json").is_file():
        print(f"no data store at {args.data_dir}: run `make demo` (or `jsna demo --data-dir ...`) first")
        return 2
    store.preload(args.data_dir)
    profile.warm(args.data_dir)
    areas = store.Store(args.data_dir).read("areas", columns=["area_code", "area_type"])
    codes = areas.loc[areas["area_type"] == "utla", "area_code"].tolist()
    cells = _cells()
    for code in codes[:3]:
        _run(cells, code, args.data_dir, [])
    gc.collect()
    gc.freeze()
    timed = codes[3:3 + args.areas]
    times, captured = [], {}
    for code in timed:
        outputs: list[Any] = []
        times.append(_run(cells, code, args.data_dir, outputs))
        captured[code] = [_output(o) for o in outputs]
    per_cell = [round(statistics.median(t[i] for t in times) * 1000) for i in range(len(cells) - 1)]
    print(f"{len(timed)} areas; per code cell after the parameters, median ms (CPU): {per_cell}")
    print(f"mean per area: {statistics.fmean(sum(t) for t in times) * 1000:.0f} ms")
    if args.capture:
        args.capture.write_bytes(pickle.dumps(captured))
        print(f"captured {sum(map(len, captured.values()))} outputs in {args.capture}")
    if args.compare:
        before = pickle.loads(args.compare.read_bytes())
        differ = compared = 0
        for code, outputs in captured.items():
            old = before.get(code)
            if old is None:
                continue
            if len(old) != len(outputs):
                print(f"{code}: {len(old)} outputs before, {len(outputs)} now")
                differ += 1
                continue
            for i, (a, b) in enumerate(zip(old, outputs, strict=True)):
                compared += 1
                if _normal(a) != _normal(b):
                    differ += 1
                    if differ <= 5:
                        print(f"{code}: output {i} ({b[0]}) differs")
        print(f"{compared} outputs compared, {differ} differ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
