"""The report's index page and ``build.json``: every section of a site, its status and when it
executed, the headline figures and the environment.

The index is rendered from the Jinja template ``templates/report_index.html.j2`` (autoescaped, so
no text from a build can inject HTML) and merged under a lock, so builds into one directory never
drop each other's sections.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import nbformat

from fmnist_helpers.build.render import TEMPLATE_DIR
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import SECTION_NAMES, get_section
from fmnist_helpers.core.seed_report import seed_accuracies_text
from fmnist_helpers.ledger.claims import CLAIMS, read_verdicts, summary_line
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.fullscale import accuracy_text, full_scale_table

#: The index page; autoescaping on, so no text from a build can inject HTML.
_INDEX_TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
    trim_blocks=True, lstrip_blocks=True).get_template("report_index.html.j2")


def environment_summary() -> dict[str, str]:
    """Return versions and hardware for the index page."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "none"
    if shutil.which("nvidia-smi"):
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                 check=False)
        gpu = listing.stdout.strip().replace("\n", "; ") or "none"
    return {
        "python": platform.python_version(),
        "tensorflow": metadata.version("tensorflow"),
        "keras": metadata.version("keras"),
        "cpu": f"{cpu} ({os.cpu_count()} logical cores)",
        "gpu": gpu,
        "platform": platform.platform(),
    }


def claims_summary(site: Path) -> str | None:
    """The claims ledger's summary line, read from this build's executed ``10_conclusions``.

    It is the Markdown output of the notebook's cell tagged ``summary``; ``None`` if the section was
    not built (or failed before printing it).
    """
    path = Path(site) / "notebooks" / "10_conclusions.ipynb"
    if not path.is_file():
        return None
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if "summary" in cell.metadata.get("tags", []):
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("text/markdown")
                if text:
                    return "".join(text).strip().strip("*")
    return None


def full_scale_figures(store: RunStore | None = None) -> list[tuple[str, str]]:
    """The full-scale rows that have runs (stored or recorded), as headline figures.

    Args:
        store: The run store (default: the configured one); records fill in what it lacks.

    Returns:
        ``(name, value)`` pairs: mean test accuracy, its 95% interval where there are 2+ seeds,
        the seeds and where the runs were trained.
    """
    figures = []
    for title, row in full_scale_table(store).iterrows():
        if not row["seeds"]:
            continue
        figures.append((f"Full scale: {title}", f"{accuracy_text(row)}; {row['source']}"))
    return figures


def headline_figures(profile_name: str, site: Path | None = None) -> list[tuple[str, str]]:
    """Return headline figures read from the recorded runs of a profile (what exists), the
    full-scale rows (stored or recorded) and the seed report's numbers beside them."""
    profile = get_profile(profile_name)
    figures = []
    run = RunStore().get(profile.baseline())
    if run is not None:
        name = f"Our ConvNet, {profile.name} profile:"
        figures.append((f"{name} validation accuracy (best)", f"{run['best_val_accuracy']:.2%}"))
        figures.append((f"{name} test accuracy", f"{run['test_accuracy']:.2%}"))
    figures += full_scale_figures()
    if figures:
        figures.append(("Seed report (full scale)", seed_accuracies_text()))
    verdicts = read_verdicts()
    if verdicts is not None:
        name = (f"The seed's {len(CLAIMS)} claims: the verdicts ({verdicts.profile} profile, "
                f"{verdicts.settings.get('seeds')} seeds, committed {verdicts.judged[:10]})")
        figures.append((name, summary_line(verdicts.ledger, verdicts.profile)))
    summary = claims_summary(site) if site is not None else None
    if summary:
        figures.append((f"The seed's {len(CLAIMS)} claims, judged (10_conclusions)", summary))
    return figures


def write_index(site: Path, profile_name: str, results: list[dict[str, Any]],
                started: dt.datetime, environment: dict[str, str]) -> Path:
    """Write ``index.html`` (from the Jinja template ``templates/report_index.html.j2``) and
    ``build.json`` for the sections built so far.

    Args:
        site: The report directory of the profile.
        profile_name: The profile built.
        results: One record per job (``name``, ``title``, ``status``, ``error``, ``seconds``,
            ``parameters``, ``html``, optionally ``earlier``).
        started: When the build started.
        environment: :func:`environment_summary` output.

    Returns:
        The index's path.
    """
    profile = get_profile(profile_name)
    failed = sum(r["status"] == "FAILED" for r in results)
    summary = (f"{len(results) - failed} of {len(results)} sections ok" if not failed else
               f"{failed} of {len(results)} sections FAILED")
    done = [r for r in results if r.get("executed") is not None and not r.get("earlier")]
    if done:
        executed = sum(bool(r["executed"]) for r in done)
        summary += f" · this build: {executed} executed, {len(done) - executed} reused"
    sections = [dict(r, parameter_text=", ".join(f"{k}={json.dumps(v)}"
                                                 for k, v in r["parameters"].items()))
                for r in results]
    verdicts = read_verdicts()
    headline = None if verdicts is None else {
        "summary": summary_line(verdicts.ledger, verdicts.profile), "about": verdicts.describe()}
    page = _INDEX_TEMPLATE.render(
        profile=profile, started=started.strftime("%Y-%m-%d %H:%M"), summary=summary,
        sections=sections, figures=headline_figures(profile_name, site), environment=environment,
        verdicts=headline, claims=len(CLAIMS))
    index = site / "index.html"
    _write_atomically(index, page)
    record = {
        "profile": profile.name, "started": started.isoformat(timespec="seconds"),
        "environment": environment,
        "sections": [{k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()}
                     for r in results],
    }
    _write_atomically(site / "build.json", json.dumps(record, indent=2) + "\n")
    return index


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def update_index(site: Path, profile_name: str, results: list[dict[str, Any]],
                 started: dt.datetime, environment: dict[str, str]) -> Path:
    """Merge this build's section records into the site's index, under a lock.

    The index lists every section of the site: this build's, and those of earlier or concurrent
    builds into the same directory (read back from ``build.json`` at each update, under an
    exclusive lock, so two builds into one ``--out`` never drop each other's sections).

    Args:
        site: The report directory of the profile.
        profile_name: The profile.
        results: This build's records, one per job.
        started: When this build started.
        environment: :func:`environment_summary` output.

    Returns:
        The index's path.
    """
    site.mkdir(parents=True, exist_ok=True)
    with open(site / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ours = {r["name"] for r in results}
        others = [dict(r, earlier=True) if r.get("status") in ("ok", "FAILED") else r
                  for r in _recorded_sections(site) if r.get("name") not in ours]
        profile = get_profile(profile_name)
        names = [job for section in SECTION_NAMES
                 for job, _, _ in get_section(section).jobs(profile)]
        order = {name: i for i, name in enumerate(names)}
        merged = sorted(others + results, key=lambda r: order.get(r["name"], len(order)))
        return write_index(site, profile_name, merged, started, environment)


def _recorded_sections(site: Path) -> list[dict[str, Any]]:
    """The section records of the site's ``build.json`` (none if it is missing or unreadable)."""
    try:
        sections = json.loads((site / "build.json").read_text())["sections"]
    except (ValueError, KeyError, TypeError, OSError):
        return []
    return [s for s in sections if isinstance(s, dict) and "name" in s and "status" in s]

