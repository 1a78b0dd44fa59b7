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
import html
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import nbformat
import papermill
from tqdm import tqdm

from fmnist_helpers.build import executor
from fmnist_helpers.build.fingerprint import (
    PACKAGE_DIR,
    JobRecord,
    job_inputs,
    now,
    refresh_markdown,
    render_inputs,
    tree_hash,
    versions,
    why_execute,
)
from fmnist_helpers.build.render import TEMPLATE_DIR, render
from fmnist_helpers.build.site_index import environment_summary, update_index
from fmnist_helpers.core import quiet
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.progress import PROGRESS_LOG_ENV
from fmnist_helpers.core.sections import SECTION_NAMES, get_section
from fmnist_helpers.store.readlog import READ_LOG_ENV, read_log
from fmnist_helpers.study import plan

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"


@dataclasses.dataclass(frozen=True)
class Job:
    """One execution of a notebook.

    Attributes:
        name: Output name (``<name>.ipynb`` / ``<name>.html``), e.g. ``08_experiments_layers``.
        notebook: The source notebook.
        title: The section's title in the index.
        parameters: What papermill injects.
        section: The section it belongs to (what ``--force SECTIONS`` names).
    """

    name: str
    notebook: Path
    title: str
    parameters: dict[str, Any]
    section: str = ""


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
        page_of = [s for s in SECTION_NAMES if name.startswith(f"{s}_")]
        if not matches:
            raise ValueError(f"unknown section {name!r}" + (
                f" (a page of section {page_of[0]}, which builds all its pages: name "
                f"{page_of[0]})" if page_of else "") + f"; the sections are "
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
            jobs.append(Job(name=job, notebook=notebook, title=title, parameters=parameters,
                            section=name))
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

    What the notebook reads from the run store and the results cache is logged to
    ``<job>.reads.jsonl`` beside it (``$FMNIST_READ_LOG``, inherited by the kernel), and its
    progress lines go to ``<job>.kernel.log`` (``$FMNIST_PROGRESS_LOG``), not onto the page.

    Returns:
        ``status`` ("ok" or "FAILED"), ``error`` (first line), ``seconds``, ``notebook``
        (the executed copy), ``reads`` (``readlog.read_log`` of this execution).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{job.name}.ipynb"
    # Absolute: the kernel runs in the notebooks' directory, not in ours.
    reads = out_dir.resolve() / f"{job.name}.reads.jsonl"
    reads.unlink(missing_ok=True)
    start = time.perf_counter()
    status, error = "ok", None
    env_before = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ[READ_LOG_ENV] = str(reads)
    # Progress lines of the kernel (training, reused runs) go to its log, not onto the page.
    os.environ[PROGRESS_LOG_ENV] = str(out_dir.resolve() / f"{job.name}.kernel.log")
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
        os.environ.pop(READ_LOG_ENV, None)
        os.environ.pop(PROGRESS_LOG_ENV, None)
        if env_before is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return {"status": status, "error": error, "seconds": time.perf_counter() - start,
            "notebook": executed, "reads": read_log(reads)}


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Point file descriptor 2 at ``path`` (appended) for the duration (children inherit it)."""
    with open(path, "ab") as log, quiet.stderr_to(log):
        yield


def _write_failure_notebook(job: Job, path: Path, text: str) -> None:
    """A notebook that says why a section could not run: its title escaped, the traceback in a
    fence longer than any run of backticks inside it (so no line can end the block)."""
    notebook = nbformat.v4.new_notebook()
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    notebook.cells.append(nbformat.v4.new_markdown_cell(
        f"# {html.escape(job.title)}\n\n**This section failed before it could run.**\n\n"
        f"{fence}text\n{text}\n{fence}"))
    nbformat.write(notebook, path)


def train_planned(profile: str, sections: list[str], workers: int,
                  address: str | None = None) -> None:
    """Train the runs the sections need that the store lacks (``plan`` + ``executor``).

    A run that fails here is reported; the section that needs it tries again while executing and
    shows the error on its page.
    """
    runs = plan.plan(profile, sections)
    missing = [r.config for r in runs if r.missing]
    if not missing:
        return
    where = f"on the Ray cluster at {address}" if address else f"{workers} worker(s)"
    print(f"Training first: {plan.summary(runs)} ({where})", flush=True)
    outcome = executor.execute(missing, workers=workers, address=address)
    for failure in outcome.failed:
        print(f"training FAILED: {failure['label']}: {failure['error']}", flush=True)


def build(*, profile: str = "quick", sections: list[str] | None = None,
          out_dir: str | os.PathLike = "reports", show_code: bool = False,
          fail_fast: bool = False, notebook_dir: str | os.PathLike = NOTEBOOK_DIR,
          jobs: list[Job] | None = None, force: bool | list[str] = False,
          workers: int = 1, address: str | None = None) -> int:
    """Build the report, executing only the jobs whose fingerprint changed.

    A job whose inputs (code cells, parameters, package source, versions) and reads (run
    entries, cached results) are unchanged since its last successful execution is reused; its page
    is re-rendered only if its markdown or the template changed (see
    :mod:`fmnist_helpers.build.fingerprint`). A failed job always executes again.

    Args:
        profile: a name in ``profiles.PROFILES``.
        sections: Section names (default: all).
        out_dir: The report root; the site goes to ``<out_dir>/<profile>/``.
        show_code: Keep code cells in the HTML.
        fail_fast: Stop at the first failing section.
        notebook_dir: Where the section notebooks are.
        jobs: Explicit jobs (overrides ``sections``; used by tests).
        force: ``True`` executes every job; a list of section (or job) names executes those.
        workers: Before any notebook runs, the plan's missing runs are trained
            (``fmnist-report runs``) in this process (1) or by that many spawned workers; the
            notebooks then only read the store. Not with explicit ``jobs``.
        address: A Ray cluster to train them on instead (``fmnist-report runs --address``).

    Returns:
        The exit status: 0 if every section is ok, 1 otherwise.

    Raises:
        ValueError: If a parameter does not fit its notebook (nothing is executed then).
        FileNotFoundError: If the notebooks are not there (not a checkout).
    """
    get_profile(profile)
    if not Path(notebook_dir).is_dir():
        raise FileNotFoundError(
            f"the section notebooks are not at {notebook_dir}: building the report needs a "
            "checkout of the fmnist-study repository (a plain pip install has the package but "
            "not the notebooks); run fmnist-report from the checkout.")
    explicit = jobs
    if jobs is None:
        jobs = jobs_for(profile, sections or list(SECTION_NAMES), Path(notebook_dir))
    for job in jobs:  # all checked before anything runs
        check_parameters(job.notebook, job.parameters)
    if explicit is None:
        train_planned(profile, sections or list(SECTION_NAMES), workers, address)
    site = Path(out_dir).resolve() / profile
    executed_dir = site / "notebooks"
    executed_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    environment = environment_summary()
    package, used = tree_hash(PACKAGE_DIR, suffixes=(".py",)), versions()
    templates = tree_hash(TEMPLATE_DIR)
    results = [{"name": j.name, "title": j.title, "status": "not built yet", "error": None,
                "seconds": None, "parameters": j.parameters, "html": None} for j in jobs]
    update_index(site, profile, results, started, environment)
    print(f"Building the {profile} report: {len(jobs)} section(s) -> {site.resolve()}", flush=True)
    failed = False
    bar = tqdm(total=len(jobs), unit="section", file=sys.stdout, dynamic_ncols=True)
    for i, job in enumerate(jobs):
        bar.set_description(job.name)
        outcome = _build_job(job, executed_dir, site, show_code=show_code,
                             force=force is True or job.section in (force or ())
                             or job.name in (force or ()),
                             inputs=job_inputs(job.notebook, job.parameters, package, used),
                             rendering=render_inputs(job.notebook, templates))
        results[i].update(outcome)
        update_index(site, profile, results, started, environment)
        line = f"{job.name:32s} {outcome['status']:6s} {outcome['seconds']:6.1f} s"
        line += "  executed" if outcome["executed"] else f"  reused (executed {outcome['when']})"
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
    ran = [r for r in results if r.get("executed") is not None]
    executed = sum(bool(r["executed"]) for r in ran)
    total = sum(r["seconds"] or 0 for r in ran if r["executed"])
    print(f"{'FAILED' if failed else 'Done'}: {executed} section(s) executed "
          f"({total:.0f} s), {len(ran) - executed} reused. Open {index.resolve()}", flush=True)
    return 1 if failed else 0


def _build_job(job: Job, executed_dir: Path, site: Path, *, show_code: bool, force: bool,
               inputs: str, rendering: str) -> dict[str, Any]:
    """Reuse or execute one job, render its page, record its fingerprint.

    Returns:
        The job's index record: ``status``, ``error``, ``seconds``, ``html``, ``executed``
        (whether it executed now) and ``when`` (when it last executed).
    """
    executed = executed_dir / f"{job.name}.ipynb"
    html_path = site / f"{job.name}.html"
    record = JobRecord.load(executed_dir, job.name)
    reason = "forced" if force else why_execute(record, executed, inputs)
    if reason is None:
        outcome = {"status": "ok", "error": None, "seconds": record.seconds,
                   "html": html_path.name, "executed": False, "when": record.executed}
        if record.render == rendering and html_path.is_file():
            return outcome
        if refresh_markdown(job.notebook, executed):
            try:
                render(executed, html_path, show_code=show_code)
            except Exception as exc:  # noqa: BLE001 - a rendering failure is a section failure
                return {**outcome, "status": "FAILED", "html": None,
                        "error": f"rendering failed: {type(exc).__name__}: {exc}"}
            record.render = rendering
            record.save(executed_dir, job.name)
            return outcome
    outcome = execute(job, executed_dir)
    html = None
    try:
        render(outcome["notebook"], html_path, show_code=show_code)
        html = html_path.name
    except Exception as exc:  # noqa: BLE001 - a rendering failure is a section failure
        outcome["status"] = "FAILED"
        outcome["error"] = outcome["error"] or f"rendering failed: {type(exc).__name__}: {exc}"
    when = now()
    JobRecord(inputs=inputs, render=rendering, reads=outcome["reads"], status=outcome["status"],
              executed=when, seconds=outcome["seconds"]).save(executed_dir, job.name)
    return {"status": outcome["status"], "error": outcome["error"], "seconds": outcome["seconds"],
            "html": html, "executed": True, "when": when}
