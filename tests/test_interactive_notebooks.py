"""The explorer, regional overview and custom-area notebooks run top to bottom under papermill.

One demonstration store (with its comparisons) is built per module in tmp; each notebook runs in a
fresh "python3" kernel with ``data_dir`` pointing at it, in a tmp working folder. The notebooks
are also checked as stored: no outputs, one cell tagged ``parameters`` holding literal
assignments only.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest

from jsna_lib import compare, demo

papermill = pytest.importorskip("papermill")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = {name: REPO / "notebooks" / f"{name}.ipynb" for name in ("explore", "region_overview", "custom_area")}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("notebooks") / "demo_store"
    compare.compare_all(demo.build(path))
    return path


def _run(name: str, tmp_path: Path, **parameters) -> nbformat.NotebookNode:
    out = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS[name]), str(out), parameters=parameters, kernel_name="python3",
                               progress_bar=False, cwd=str(tmp_path))
    return nbformat.read(out, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for output in _outputs(nb):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        for key in ("text/html", "text/plain"):
            if key in output.get("data", {}):
                parts.append(output["data"][key])
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_stored_clean(name) -> None:
    nb = nbformat.read(NOTEBOOKS[name], as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "store notebooks without outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for statement in ast.parse(tagged[0].source).body:  # plain literal assignments only
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        ast.literal_eval(statement.value)
    names = {t.id for s in ast.parse(tagged[0].source).body for t in s.targets}
    assert "data_dir" in names


def test_explore_runs(store_dir, tmp_path) -> None:
    nb = _run("explore", tmp_path, data_dir=str(store_dir), area_code="E08000012", comparator="neighbours",
              indicator_id=900019)
    outputs = _outputs(nb)
    widget = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget) == 1
    text = _text(nb)
    assert "Liverpool (E08000012)" in text and "Geographic neighbours average" in text


def test_region_overview_runs_as_the_batch_calls_it(store_dir, tmp_path) -> None:
    """``jsna batch --areas region`` passes each region's code as ``area_code``; region stays None."""
    nb = _run("region_overview", tmp_path, data_dir=str(store_dir), area_code="E12000007")
    text = _text(nb)
    assert "London (E12000007)" in text
    assert '<ul class="jsna-region-summary"><li>London: 35 indicators' in text
    assert "Most often significantly worse than England" in text
    svgs = [o for o in _outputs(nb) if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 1 and "London: overview of indicators" in svgs[0]["data"]["image/svg+xml"]


def test_region_overview_by_name_and_lower_tier(store_dir, tmp_path) -> None:
    nb = _run("region_overview", tmp_path, data_dir=str(store_dir), region="North East", area_type="ltla")
    text = _text(nb)
    assert "North East (E12000001)" in text and "lower-tier authorities" in text


def test_region_overview_fails_loudly_on_an_unknown_area(store_dir, tmp_path) -> None:
    with pytest.raises(papermill.PapermillExecutionError, match="unknown area 'Atlantis'"):
        _run("region_overview", tmp_path, data_dir=str(store_dir), region="Atlantis")


def test_custom_area_runs(store_dir, tmp_path) -> None:
    nb = _run("custom_area", tmp_path, data_dir=str(store_dir))
    text = _text(nb)
    assert "Liverpool City Region (custom) (LCR_CUSTOM): 6 areas: Halton, Knowsley, Liverpool" in text
    assert "Wilson score interval on the summed counts and denominators" in text
    assert "cannot be aggregated" in text
    assert "a directly standardised rate needs the age-specific counts" in text
    svgs = [o["data"]["image/svg+xml"] for o in _outputs(nb) if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 3
    assert "The parts of Liverpool City Region (custom)" in svgs[0]
    assert json.dumps(nb.metadata["papermill"]["parameters"]) == json.dumps({"data_dir": str(store_dir)})
