"""The report pipeline: real papermill executions, nbconvert renderings, the index, failures."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fmnist_helpers import report
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import SECTION_NAMES

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.slow


def works(name="works", **parameters):
    return report.Job(name=name, notebook=FIXTURES / "works.ipynb", title=name,
                      parameters={"profile": "smoke", **parameters})


def fails(name="fails"):
    return report.Job(name=name, notebook=FIXTURES / "fails.ipynb", title=name,
                      parameters={"profile": "smoke"})


def build_record(site: Path) -> dict:
    return json.loads((site / "build.json").read_text())


def test_cli_build_of_every_section_is_ok(smoke_site):
    site, result = smoke_site
    assert result.returncode == 0, result.stdout + result.stderr
    assert "00_data" in result.stdout and "02_convnet" in result.stdout  # progress lines
    assert (site / "notebooks" / "02_convnet.kernel.log").exists()  # the kernel's own log
    assert "Training first: " in result.stdout  # the grid is trained before any notebook
    record = build_record(site)
    names = [job.name for job in report.jobs_for("smoke", list(SECTION_NAMES))]
    assert [(s["name"], s["status"]) for s in record["sections"]] == [(n, "ok") for n in names]
    assert sum(n.startswith("08_experiments_") for n in names) == 8  # once per study
    index = (site / "index.html").read_text()
    assert 'href="00_data.html"' in index and 'href="02_convnet.html"' in index
    assert "Our ConvNet, smoke profile: test accuracy" in index and "Profile <b>smoke</b>" in index
    assert "TensorFlow" in index or "tensorflow" in index
    summary = re.search(r"21 claims, judged \(10_conclusions\)</th><td>([^<]*)", index)
    assert summary, "the index shows the claims ledger's summary"
    counts = re.findall(r"(\d+) (?:supported|not supported|equivalent|inconclusive|not testable "
                        r"at this budget)(?:,|\s—)", summary.group(1))
    assert sum(map(int, counts)) == 21 and summary.group(1).endswith("smoke profile")


@pytest.mark.parametrize("name, min_images", [
    ("00_data", 5), ("01_augmentation", 2), ("02_convnet", 2), ("03_initialization", 2),
    ("04_batchnorm", 2), ("05_dropout", 2), ("06_visualizations", 10), ("07_fooling", 3),
    ("08_experiments_layers", 2), ("09_observations", 4), ("10_conclusions", 1),
    ("08_experiments_batchnorm", 2), ("08_experiments_augmentation", 2)])
def test_executed_notebooks_hold_no_errors_and_html_embeds_figures(smoke_site, name, min_images):
    site, _ = smoke_site
    executed = nbformat.read(site / "notebooks" / f"{name}.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters["profile"] == "smoke"
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
    page = (site / f"{name}.html").read_text()
    assert page.count('src="data:image/png;base64,') >= min_images
    assert "{{profile}}" not in page and "smoke" in page
    # The profile's description is stated once, in the banner (not again in the intro line).
    assert page.count(html.escape(get_profile("smoke").description, quote=False)) == 1
    assert "I0000 00:00" not in page  # TensorFlow's start-up log is dropped from the page
    assert "https://cdn" not in page and "cdnjs" not in page  # nothing loaded from the network


def test_failing_section_is_rendered_marked_and_the_rest_still_built(tmp_path):
    status = report.build(profile="smoke", out_dir=tmp_path, jobs=[fails(), works()])
    assert status == 1
    site = tmp_path / "smoke"
    sections = {s["name"]: s for s in build_record(site)["sections"]}
    assert sections["fails"]["status"] == "FAILED"
    assert sections["fails"]["error"] == "RuntimeError: deliberate failure for the test"
    assert sections["works"]["status"] == "ok"
    page = (site / "fails.html").read_text()
    assert "deliberate failure for the test" in page and "papermill-error-cell" in page
    index = (site / "index.html").read_text()
    assert "FAILED" in index and 'fails.html#papermill-error-cell' in index
    assert "line 2" in (site / "works.html").read_text()


def test_fail_fast_stops_at_the_first_failure(tmp_path):
    status = report.build(profile="smoke", out_dir=tmp_path, jobs=[fails(), works()],
                          fail_fast=True)
    assert status == 1
    sections = {s["name"]: s for s in build_record(tmp_path / "smoke")["sections"]}
    assert sections["works"]["status"] == "not built yet"
    assert not (tmp_path / "smoke" / "notebooks" / "works.ipynb").exists()


def test_one_notebook_runs_several_times_under_different_names(tmp_path):
    status = report.build(profile="smoke", out_dir=tmp_path,
                          jobs=[works("works_a", repeat=1), works("works_b", repeat=4)])
    assert status == 0
    assert "line 3" in (tmp_path / "smoke" / "works_b.html").read_text()
    assert "line 3" not in (tmp_path / "smoke" / "works_a.html").read_text()


@pytest.mark.parametrize("parameters, message", [
    ({"repaet": 2}, "unknown parameter 'repaet'; it accepts profile: str, repeat: int"),
    ({"repeat": "2"}, "parameter 'repeat' must be int, got '2'"),
    ({"repeat": True}, "parameter 'repeat' must be int"),
])
def test_bad_parameters_stop_the_build_before_anything_runs(tmp_path, parameters, message):
    with pytest.raises(ValueError) as info:
        report.build(profile="smoke", out_dir=tmp_path, jobs=[works("first"), works(**parameters)])
    assert message in str(info.value) and "works.ipynb" in str(info.value)
    assert not (tmp_path / "smoke").exists()


def test_cli_rejects_an_unknown_section(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fmnist_helpers.build.cli", "build",
                             "--sections", "99_nothing", "--out", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "unknown section '99_nothing'" in result.stderr and "00_data" in result.stderr


def test_section_prefixes_resolve():
    assert report.resolve_sections("02") == ["02_convnet"]
    assert report.resolve_sections(None) == list(SECTION_NAMES)
    with pytest.raises(ValueError, match=r"'08_experiments_dropout' \(a page of section "
                       r"08_experiments, which builds all its pages: name 08_experiments\)"):
        report.resolve_sections("08_experiments_dropout")


def test_a_partial_build_keeps_the_other_sections_in_the_index(tmp_path):
    assert report.build(profile="smoke", out_dir=tmp_path, jobs=[works("00_data")]) == 0
    assert report.build(profile="smoke", out_dir=tmp_path, jobs=[works("02_convnet")]) == 0
    sections = build_record(tmp_path / "smoke")["sections"]
    assert [s["name"] for s in sections] == ["00_data", "02_convnet"]
    assert sections[0].get("earlier") and not sections[1].get("earlier")
    assert "by an earlier build" in (tmp_path / "smoke" / "index.html").read_text()


def test_published_pages_carry_no_progress_lines_and_no_local_paths(smoke_site):
    site, _ = smoke_site
    runs = str(site.parent / "runs")
    for page in site.glob("*.html"):
        text = page.read_text()
        assert "reused from" not in text and "] training " not in text, page.name
        assert runs not in text and "/usr/share/datasets" not in text, page.name
        # A library's warning printed into a page (SciPy's "precision loss" on a constant arm
        # once reached 09 and 10) names a local path and tells the reader nothing.
        assert "site-packages" not in text and "Warning: " not in text, page.name
    log = (site / "notebooks" / "02_convnet.kernel.log").read_text()
    assert "reused from" in log or "training convnet" in log  # they went to the kernel log


def test_the_data_files_are_described_without_a_local_path():
    from fmnist_helpers import data

    table = data.describe_files(data.load_fashion_mnist(download=False))
    assert "directory" not in table.columns
    assert set(table["found in"]) <= {"Debian package dataset-fashion-mnist", "Keras cache",
                                      "$FMNIST_DATA_DIR",
                                      "a directory given with --data-dir / data_dir"}
