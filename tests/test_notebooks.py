"""Every section notebook follows the conventions (README "Writing a section")."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from fmnist_helpers import report
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import SECTION_NAMES, get_section

NOTEBOOKS = sorted((Path(report.NOTEBOOK_DIR)).glob("*.ipynb"))


def test_every_registered_section_has_a_notebook_and_vice_versa():
    assert {p.stem for p in NOTEBOOKS} == set(SECTION_NAMES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "seed report" in first.source and "{{profile}}" in first.source
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for line in tagged[0].source.splitlines():
        assert ":" in line.split("=")[0] and "#" in line, f"untyped or uncommented: {line!r}"
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.outputs and cell.execution_count is None, "outputs must be stripped"
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef)), \
                "logic belongs in fmnist_helpers"
            assert not isinstance(node, ast.Import), \
                f"import {node.names[0].name}: use from fmnist_helpers import ..."
            if isinstance(node, ast.ImportFrom):
                assert node.module == "fmnist_helpers", node.module
        assert len(cell.source.splitlines()) <= 12, "short cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_sees_every_parameter(path):
    """papermill's parser silently drops a parameter whose comment contains '='."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    written = [line.split(":")[0].strip() for line in cell.source.splitlines() if line.strip()]
    assert list(papermill.inspect_notebook(str(path))) == written


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameter_defaults_are_the_quick_profile(path):
    declared = papermill.inspect_notebook(str(path))
    defaults = {name: ast.literal_eval(info["default"]) for name, info in declared.items()}
    jobs = get_section(path.stem).jobs(get_profile("quick"))
    for _, _, parameters in jobs:
        for name in parameters:
            assert name in defaults, f"{path.stem}: the pipeline passes unknown {name}"
        report.check_parameters(path, parameters)
    if len(jobs) == 1:
        given = jobs[0][2]
        assert {k: defaults[k] for k in given} == given
