"""Project files agree with each other: pyproject.toml vs environment.yml, README commands."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in pyproject["dependencies"]}
    wanted |= {_name(r) for r in pyproject["optional-dependencies"]["test"]}
    conda = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        match = re.match(r"^(?:  |      )- ([A-Za-z0-9_.][A-Za-z0-9_.\-]*)", line)
        if match and match.group(1) not in ("pip", "python"):
            conda.add(_name(match.group(1)))
    assert conda == wanted, (f"only in environment.yml: {conda - wanted}; "
                             f"only in pyproject: {wanted - conda}")
    assert "-e .[test]" in (ROOT / "environment.yml").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make report" in readme


def test_console_script_is_declared():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject["scripts"]["fmnist-report"] == "fmnist_helpers.build.cli:main"


def test_the_readme_is_short_and_every_page_it_links_exists():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
    for page in (ROOT / "docs").glob("*.md"):
        for link in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not link.startswith("http"):
                assert (page.parent / link).exists(), (page.name, link)
