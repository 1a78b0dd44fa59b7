"""Build the HTML report: papermill executes each section notebook, nbconvert renders it.

``build(profile=...)`` runs every section (or those asked for) in order:

1. the parameters the profile gives the section are checked against the notebook's
   ``parameters`` cell (``papermill.inspect_notebook``) -- an unknown name or a wrong type stops
   the build before anything is executed;
2. papermill executes the notebook into ``<out>/<profile>/notebooks/<job>.ipynb``; a notebook
   that raises is still saved with its error;
3. nbconvert renders it to ``<out>/<profile>/<job>.html`` (code hidden unless ``show_code``);
4. ``<out>/<profile>/index.html`` and ``build.json`` are rewritten after every section, so an
   interrupted build still leaves an index of what was done.

One notebook can be executed several times with different parameters (a :class:`Job` each):
the experiments section runs once per study.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import papermill
from tqdm import tqdm

from fmnist_helpers.profiles import get_profile
from fmnist_helpers.render import TEMPLATE_DIR, render
from fmnist_helpers.runs import RunStore
from fmnist_helpers.sections import SECTION_NAMES, get_section
from fmnist_helpers.seed_report import seed_accuracies_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"

#: The index page; autoescaping on, so no text from a build can inject HTML.
_INDEX_TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
    trim_blocks=True, lstrip_blocks=True).get_template("report_index.html.j2")

@dataclasses.dataclass(frozen=True)
class Job:
    """One execution of a notebook.

    Attributes:
        name: Output name (``<name>.ipynb`` / ``<name>.html``), e.g. ``08_experiments_layers``.
        notebook: The source notebook.
        title: The section's title in the index.
        parameters: What papermill injects.
    """

    name: str
    notebook: Path
    title: str
    parameters: dict[str, Any]


def resolve_sections(names: str | list[str] | None) -> list[str]:
    """Turn a comma-separated list (or ``None`` for all) into known section names.

    Args:
        names: e.g. ``"00_data,02_convnet"``; a prefix such as ``"02"`` is accepted.

    Returns:
        Section names in report order.

    Raises:
        ValueError: If a name matches no section; the message lists them.
    """
    if names is None:
        return list(SECTION_NAMES)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise ValueError("no section named; leave --sections out to build every section, or "
                         f"name some of: {', '.join(SECTION_NAMES)}.")
    chosen = set()
    for name in names:
        matches = [s for s in SECTION_NAMES if s == name or s.split("_")[0] == name]
        if not matches:
            raise ValueError(f"unknown section {name!r}; the sections are "
                             f"{', '.join(SECTION_NAMES)}.")
        chosen.update(matches)
    return [s for s in SECTION_NAMES if s in chosen]


def jobs_for(profile_name: str, sections: list[str],
             notebook_dir: Path = NOTEBOOK_DIR) -> list[Job]:
    """List the notebook executions of a build.

    Args:
        profile_name: The profile.
        sections: Section names (see :func:`resolve_sections`).
        notebook_dir: Where the section notebooks are.

    Returns:
        One :class:`Job` per execution, in report order.
    """
    profile = get_profile(profile_name)
    jobs = []
    for name in sections:
        section = get_section(name)
        notebook = Path(notebook_dir) / section.notebook
        for job, title, parameters in section.jobs(profile):
            jobs.append(Job(name=job, notebook=notebook, title=title, parameters=parameters))
    return jobs


_TYPES = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
          "list": (list, tuple), "dict": (dict,), "None": (type(None),)}


def _type_ok(value, type_name: str | None) -> bool:
    if not type_name or type_name == "None":
        return True  # untyped parameter: accept anything
    for part in type_name.replace("Optional[", "").replace("]", "").split("|"):
        part = part.strip().split("[")[0]
        accepted = _TYPES.get(part)
        if accepted is None:
            return True  # a type we do not know how to check
        if part in ("int", "float") and isinstance(value, bool):
            continue
        if isinstance(value, accepted):
            return True
    return False


def check_parameters(notebook: str | os.PathLike, parameters: dict[str, Any]) -> None:
    """Check parameters against a notebook's ``parameters`` cell before executing it.

    Args:
        notebook: The notebook.
        parameters: What would be injected.

    Raises:
        ValueError: For an unknown name or a value of the wrong type; the message names the
            notebook, the parameter and the accepted parameters with their types.
        FileNotFoundError: If the notebook does not exist.
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook not found: {notebook}")
    declared = papermill.inspect_notebook(str(notebook))
    if not declared:
        raise ValueError(f"{notebook.name}: no cell tagged 'parameters'; every section notebook "
                         "needs exactly one.")
    accepted = ", ".join(f"{name}: {info['inferred_type_name']}" for name, info in declared.items())
    for name, value in parameters.items():
        if name not in declared:
            raise ValueError(f"{notebook.name}: unknown parameter {name!r}; it accepts {accepted}.")
        type_name = declared[name]["inferred_type_name"]
        if not _type_ok(value, type_name):
            raise ValueError(f"{notebook.name}: parameter {name!r} must be {type_name}, got "
                             f"{value!r} ({type(value).__name__}); it accepts {accepted}.")


def execute(job: Job, out_dir: Path) -> dict[str, Any]:
    """Execute one job with papermill; never raises for a failing notebook.

    Returns:
        ``status`` ("ok" or "FAILED"), ``error`` (first line), ``seconds``, ``notebook``
        (the executed copy).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{job.name}.ipynb"
    start = time.perf_counter()
    status, error = "ok", None
    env_before = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        # The kernel inherits file descriptor 2: its own log (TensorFlow's start-up lines,
        # Jupyter's warnings) goes to a file beside the executed notebook, not the terminal.
        with _stderr_to(out_dir / f"{job.name}.kernel.log"):
            papermill.execute_notebook(
                str(job.notebook), str(executed), parameters=job.parameters,
                kernel_name="python3", progress_bar=False, cwd=str(job.notebook.parent),
            )
    except papermill.PapermillExecutionError as exc:
        status = "FAILED"
        error = f"{exc.ename}: {exc.evalue}".splitlines()[0][:300]
    except Exception as exc:  # noqa: BLE001 - the kernel died, a timeout...: show it, go on
        status = "FAILED"
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if not executed.exists():
            _write_failure_notebook(job, executed, traceback.format_exc())
    finally:
        if env_before is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return {"status": status, "error": error, "seconds": time.perf_counter() - start,
            "notebook": executed}


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Point file descriptor 2 at ``path`` for the duration (children inherit it)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _write_failure_notebook(job: Job, path: Path, text: str) -> None:
    """A notebook that says why a section could not run: its title escaped, the traceback in a
    fence longer than any run of backticks inside it (so no line can end the block)."""
    notebook = nbformat.v4.new_notebook()
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    notebook.cells.append(nbformat.v4.new_markdown_cell(
        f"# {html.escape(job.title)}\n\n**This section failed before it could run.**\n\n"
        f"{fence}text\n{text}\n{fence}"))
    nbformat.write(notebook, path)


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


def headline_figures(profile_name: str, site: Path | None = None) -> list[tuple[str, str]]:
    """Return headline figures read from the recorded runs of a profile (what exists)."""
    profile = get_profile(profile_name)
    figures = []
    run = RunStore().get(profile.baseline())
    if run is not None:
        figures.append(("ConvNet validation accuracy (best)", f"{run['best_val_accuracy']:.2%}"))
        figures.append(("ConvNet test accuracy", f"{run['test_accuracy']:.2%}"))
        figures.append(("Seed report (full scale)", seed_accuracies_text()))
    summary = claims_summary(site) if site is not None else None
    if summary:
        figures.append(("The seed's 20 claims, judged (10_conclusions)", summary))
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
    sections = [dict(r, parameter_text=", ".join(f"{k}={json.dumps(v)}"
                                                 for k, v in r["parameters"].items()))
                for r in results]
    page = _INDEX_TEMPLATE.render(
        profile=profile, started=started.strftime("%Y-%m-%d %H:%M"), summary=summary,
        sections=sections, figures=headline_figures(profile_name, site), environment=environment)
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
        order = {job.name: i
                 for i, job in enumerate(jobs_for(profile_name, list(SECTION_NAMES)))}
        merged = sorted(others + results, key=lambda r: order.get(r["name"], len(order)))
        return write_index(site, profile_name, merged, started, environment)


def _recorded_sections(site: Path) -> list[dict[str, Any]]:
    """The section records of the site's ``build.json`` (none if it is missing or unreadable)."""
    try:
        sections = json.loads((site / "build.json").read_text())["sections"]
    except (ValueError, KeyError, TypeError, OSError):
        return []
    return [s for s in sections if isinstance(s, dict) and "name" in s and "status" in s]


def build(*, profile: str = "quick", sections: list[str] | None = None,
          out_dir: str | os.PathLike = "reports", show_code: bool = False,
          fail_fast: bool = False, notebook_dir: str | os.PathLike = NOTEBOOK_DIR,
          jobs: list[Job] | None = None) -> int:
    """Build the report.

    Args:
        profile: ``smoke``, ``quick`` or ``full``.
        sections: Section names (default: all).
        out_dir: The report root; the site goes to ``<out_dir>/<profile>/``.
        show_code: Keep code cells in the HTML.
        fail_fast: Stop at the first failing section.
        notebook_dir: Where the section notebooks are.
        jobs: Explicit jobs (overrides ``sections``; used by tests).

    Returns:
        The exit status: 0 if every section is ok, 1 otherwise.

    Raises:
        ValueError: If a parameter does not fit its notebook (nothing is executed then).
    """
    get_profile(profile)
    if not Path(notebook_dir).is_dir():
        raise FileNotFoundError(
            f"the section notebooks are not at {notebook_dir}: building the report needs a "
            "checkout of the fmnist-study repository (a plain pip install has the package but "
            "not the notebooks); run fmnist-report from the checkout.")
    if jobs is None:
        jobs = jobs_for(profile, sections or list(SECTION_NAMES), Path(notebook_dir))
    for job in jobs:  # all checked before anything runs
        check_parameters(job.notebook, job.parameters)
    site = Path(out_dir) / profile
    executed_dir = site / "notebooks"
    executed_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    environment = environment_summary()
    results = [{"name": j.name, "title": j.title, "status": "not built yet", "error": None,
                "seconds": None, "parameters": j.parameters, "html": None} for j in jobs]
    update_index(site, profile, results, started, environment)
    print(f"Building the {profile} report: {len(jobs)} section(s) -> {site.resolve()}", flush=True)
    failed = False
    bar = tqdm(total=len(jobs), unit="section", file=sys.stdout, dynamic_ncols=True)
    for i, job in enumerate(jobs):
        bar.set_description(job.name)
        outcome = execute(job, executed_dir)
        html_path = site / f"{job.name}.html"
        try:
            render(outcome["notebook"], html_path, show_code=show_code)
            results[i]["html"] = html_path.name
        except Exception as exc:  # noqa: BLE001 - a rendering failure is a section failure
            outcome["status"] = "FAILED"
            outcome["error"] = outcome["error"] or f"rendering failed: {type(exc).__name__}: {exc}"
        results[i].update(status=outcome["status"], error=outcome["error"],
                          seconds=outcome["seconds"])
        update_index(site, profile, results, started, environment)
        line = f"{job.name:32s} {outcome['status']:6s} {outcome['seconds']:6.1f} s"
        if outcome["error"]:
            line += f"  {outcome['error']}"
        bar.write(line)
        bar.update(1)
        if outcome["status"] != "ok":
            failed = True
            if fail_fast:
                bar.write("--fail-fast: stopping at the first failure.")
                break
    bar.close()
    index = site / "index.html"
    total = sum(r["seconds"] or 0 for r in results)
    print(f"{'FAILED' if failed else 'Done'} in {total:.0f} s. Open {index.resolve()}", flush=True)
    return 1 if failed else 0
