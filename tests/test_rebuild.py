"""Rebuilds skip what did not change and never serve a stale page (issue 18).

Every invalidation path, on real papermill executions of small fixture notebooks: nothing
changed, a code cell, a markdown cell, the package source, a parameter, a run entry the section
read, a failing section, and --force.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from fmnist_helpers import report

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.slow


@pytest.fixture
def notebooks(tmp_path):
    """Copies of the fixture notebooks that a test may edit."""
    target = tmp_path / "notebooks"
    target.mkdir()
    for name in ("works", "fails", "reads_store"):
        shutil.copy(FIXTURES / f"{name}.ipynb", target / f"{name}.ipynb")
    shutil.copy(FIXTURES / "works.ipynb", target / "other.ipynb")
    return target


def _job(notebooks, name, **parameters):
    return report.Job(name=name, notebook=notebooks / f"{name}.ipynb", title=name,
                      parameters={"profile": "smoke", **parameters}, section=name)


def _build(tmp_path, jobs, **options):
    """Build and return ``{job: executed?}`` from the site's build.json."""
    report.build(profile="smoke", out_dir=tmp_path / "out", jobs=jobs, **options)
    record = json.loads((tmp_path / "out" / "smoke" / "build.json").read_text())
    return {s["name"]: s["executed"] for s in record["sections"] if "executed" in s}


def _edit(notebook: Path, kind: str, text: str) -> None:
    nb = nbformat.read(notebook, as_version=4)
    cell = [c for c in nb.cells if c.cell_type == kind][-1]
    cell.source += text
    nbformat.write(nb, notebook)


def test_nothing_changed_executes_nothing_and_says_reused(tmp_path, notebooks):
    jobs = [_job(notebooks, "works"), _job(notebooks, "other")]
    assert _build(tmp_path, jobs) == {"works": True, "other": True}
    site = tmp_path / "out" / "smoke"
    stamps = {p.name: p.stat().st_mtime_ns for p in site.rglob("*.ipynb")}
    pages = {p.name: p.stat().st_mtime_ns for p in site.glob("*.html") if p.name != "index.html"}
    assert _build(tmp_path, jobs) == {"works": False, "other": False}
    assert {p.name: p.stat().st_mtime_ns for p in site.rglob("*.ipynb")} == stamps
    assert {p.name: p.stat().st_mtime_ns for p in site.glob("*.html")
            if p.name != "index.html"} == pages  # not even re-rendered
    index = (site / "index.html").read_text()
    assert index.count("reused (executed ") == 2 and "0 executed, 2 reused" in index


def test_a_code_cell_edited_executes_that_job_only(tmp_path, notebooks):
    jobs = [_job(notebooks, "works"), _job(notebooks, "other")]
    _build(tmp_path, jobs)
    _edit(notebooks / "other.ipynb", "code", '\nprint("an edit")')
    assert _build(tmp_path, jobs) == {"works": False, "other": True}
    assert "an edit" in (tmp_path / "out" / "smoke" / "other.html").read_text()


def test_a_markdown_edit_re_renders_without_executing(tmp_path, notebooks):
    jobs = [_job(notebooks, "works")]
    _build(tmp_path, jobs)
    executed = tmp_path / "out" / "smoke" / "notebooks" / "works.ipynb"
    _edit(notebooks / "works.ipynb", "markdown", "\n\nA sentence added later.")
    assert _build(tmp_path, jobs) == {"works": False}
    page = (tmp_path / "out" / "smoke" / "works.html").read_text()
    assert "A sentence added later." in page and "line 2" in page  # new text, old outputs
    kept = nbformat.read(executed, as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in kept.cells)


def test_a_package_change_executes_every_job(tmp_path, notebooks, monkeypatch):
    package = tmp_path / "package"
    shutil.copytree(report.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(report, "PACKAGE_DIR", package)  # fingerprint a copy we may edit
    jobs = [_job(notebooks, "works"), _job(notebooks, "other")]
    _build(tmp_path, jobs)
    with open(package / "stats.py", "a") as handle:
        handle.write("\n# a change anywhere in the package\n")
    assert _build(tmp_path, jobs) == {"works": True, "other": True}


def test_a_parameter_changed_executes_the_jobs_it_reaches(tmp_path, notebooks):
    _build(tmp_path, [_job(notebooks, "works"), _job(notebooks, "other")])
    changed = [_job(notebooks, "works", repeat=5), _job(notebooks, "other")]
    assert _build(tmp_path, changed) == {"works": True, "other": False}
    assert "line 4" in (tmp_path / "out" / "smoke" / "works.html").read_text()


def test_a_deleted_run_entry_executes_its_reader_again_and_retrains(tmp_path, notebooks,
                                                                    monkeypatch):
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path / "runs"))
    jobs = [_job(notebooks, "reads_store"), _job(notebooks, "works")]
    _build(tmp_path, jobs)
    page = tmp_path / "out" / "smoke" / "reads_store.html"
    assert "trained" in page.read_text()
    assert _build(tmp_path, jobs) == {"reads_store": False, "works": False}
    entries = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1
    shutil.rmtree(entries[0])
    assert _build(tmp_path, jobs) == {"reads_store": True, "works": False}
    assert "trained" in page.read_text() and entries[0].is_dir()  # trained again


def test_a_failed_section_always_executes_again(tmp_path, notebooks):
    jobs = [_job(notebooks, "fails"), _job(notebooks, "works")]
    assert _build(tmp_path, jobs) == {"fails": True, "works": True}
    assert _build(tmp_path, jobs) == {"fails": True, "works": False}


def test_force_executes_all_or_the_named_sections(tmp_path, notebooks):
    jobs = [_job(notebooks, "works"), _job(notebooks, "other")]
    _build(tmp_path, jobs)
    assert _build(tmp_path, jobs, force=["other"]) == {"works": False, "other": True}
    assert _build(tmp_path, jobs, force=True) == {"works": True, "other": True}


def test_a_relative_output_directory_works_from_any_directory(tmp_path, notebooks, monkeypatch):
    # The kernel runs in the notebooks' directory: the read and progress logs must not be
    # relative to ours (the default --out is the relative "reports").
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path / "runs"))
    jobs = [_job(notebooks, "reads_store")]
    assert report.build(profile="smoke", out_dir="reports", jobs=jobs) == 0
    record = json.loads((tmp_path / "reports" / "smoke" / "notebooks" /
                         "reads_store.build.json").read_text())
    assert [r["kind"] for r in record["reads"]] == ["run"]
    assert report.build(profile="smoke", out_dir="reports", jobs=jobs) == 0
