"""The project's set-up files agree with each other (pyproject, environment.yml, README, CI)."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO

# conda-forge names differ from PyPI names in a few places.
CONDA_NAME = {"dask[distributed]": ["dask", "distributed"]}


def _pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    out = {}
    for req in data["project"]["dependencies"]:
        name, spec = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req).groups()
        for conda in CONDA_NAME.get(name.lower(), [name.lower()]):
            out[conda] = spec.replace(" ", "")
    return out


def _environment_requirements() -> dict[str, str]:
    out = {}
    in_deps = False
    for line in (REPO / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)\s*(.*)$", line)
        if in_deps and m and m.group(1) not in ("python", "pip"):
            out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    assert _environment_requirements() == _pyproject_requirements()


def test_environment_yml_python_matches_requires_python() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert f"python{data['project']['requires-python']}" in (REPO / "environment.yml").read_text()


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    assert "make demo" in first_block and "make test" in first_block
    ci = (REPO / ".ci" / "run").read_text()
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[-1] == "make test"


def test_console_script_is_declared() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["jsna"] == "jsna_lib.cli:main"
    assert data["project"]["name"] == "jsna-workbench"
