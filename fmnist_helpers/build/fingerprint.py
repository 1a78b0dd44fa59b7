"""Rebuilds that skip what did not change, and never serve a stale page.

A job (one execution of a section notebook) is fingerprinted by everything its executed notebook
depends on:

- its **inputs**: the notebook's code cells (sources only), the injected parameters, the source
  of the whole ``fmnist_helpers`` package (a hash over its ``.py`` files: coarse, and so always
  right; the page templates count only for rendering),
  and the versions of Python, TensorFlow, Keras, papermill and nbconvert;
- its **reads**: the run entries and cached results it read while executing, with a digest of
  each (:mod:`fmnist_helpers.store.readlog`).

The build re-executes a job when its executed notebook or its record is missing, the last
execution failed, an input changed, or something it read was deleted, retrained or changed;
otherwise it keeps the executed notebook and re-renders the page only when the notebook's
markdown or the page template changed. The record of each job is
``notebooks/<job>.build.json``, beside its executed notebook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from fmnist_helpers.store.readlog import changed_reads

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the whole package, every layer
#: Versions that change what a notebook computes or how it is executed and rendered.
VERSIONED = ("tensorflow", "keras", "papermill", "nbconvert")


def tree_hash(root: Path, suffixes=(".py", ".j2", ".json", ".css")) -> str:
    """A hash over the relative paths and bytes of the files under ``root``.

    Args:
        root: A directory (e.g. the package or the templates).
        suffixes: The kinds of file that count (caches such as ``__pycache__`` never do).

    Returns:
        A SHA-256 hex digest.
    """
    hasher = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and path.suffix in suffixes and "__pycache__" not in path.parts:
            hasher.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()


def versions() -> dict[str, str]:
    """The versions a job's fingerprint includes.

    Returns:
        ``{"python": ..., "tensorflow": ..., ...}``.
    """
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _cells(notebook_path: Path, kind: str) -> list[str]:
    notebook = nbformat.read(notebook_path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == kind]


def job_inputs(notebook: Path, parameters: dict[str, Any], package: str,
               environment: dict[str, str]) -> str:
    """The digest of a job's inputs (everything but what it reads while executing).

    Args:
        notebook: The source notebook.
        parameters: What papermill injects.
        package: :func:`tree_hash` of the package.
        environment: :func:`versions` output.

    Returns:
        A SHA-256 hex digest.
    """
    content = {"code": _cells(notebook, "code"), "parameters": parameters, "package": package,
               "versions": environment}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def render_inputs(notebook: Path, template: str) -> str:
    """The digest of what a page's rendering adds to the executed notebook: the markdown cells of
    the source notebook and the page template.

    Args:
        notebook: The source notebook.
        template: :func:`tree_hash` of the templates.

    Returns:
        A SHA-256 hex digest.
    """
    content = {"markdown": _cells(notebook, "markdown"), "template": template}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@dataclasses.dataclass
class JobRecord:
    """What the last execution of a job left: ``notebooks/<job>.build.json``.

    Attributes:
        inputs: :func:`job_inputs` when it executed.
        render: :func:`render_inputs` when its page was last rendered.
        reads: The run entries and cached results it read (``readlog.read_log``).
        status: ``"ok"`` or ``"FAILED"``.
        executed: When it executed (ISO time).
        seconds: How long it took.
    """

    inputs: str
    render: str
    reads: list[dict]
    status: str
    executed: str
    seconds: float

    @staticmethod
    def path(executed_dir: Path, job_name: str) -> Path:
        """Where a job's record lives."""
        return Path(executed_dir) / f"{job_name}.build.json"

    @classmethod
    def load(cls, executed_dir: Path, job_name: str) -> JobRecord | None:
        """The job's record, or ``None`` if it is missing or unreadable."""
        try:
            data = json.loads(cls.path(executed_dir, job_name).read_text())
            return cls(**{field.name: data[field.name] for field in dataclasses.fields(cls)})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, executed_dir: Path, job_name: str) -> None:
        """Write the record atomically."""
        path = self.path(executed_dir, job_name)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n")
        os.replace(tmp, path)


def why_execute(record: JobRecord | None, executed: Path, inputs: str) -> str | None:
    """Why a job must execute again, or ``None`` if its executed notebook can be reused.

    Args:
        record: The job's record (``None`` if missing).
        executed: Its executed notebook.
        inputs: Its :func:`job_inputs` now.

    Returns:
        A reason in words, or ``None``.
    """
    if record is None or not executed.is_file():
        return "never executed"
    if record.status != "ok":
        return "failed last time"
    if record.inputs != inputs:
        return "code, parameters, package or versions changed"
    changed = changed_reads(record.reads)
    if changed:
        return "read changed: " + "; ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
    return None


def refresh_markdown(source: Path, executed: Path) -> bool:
    """Put the source notebook's markdown cells into the executed notebook, keeping its outputs.

    Code cells are matched in order (their sources are equal, or the inputs would differ);
    papermill's injected-parameters cell stays after the parameters cell.

    Args:
        source: The section notebook.
        executed: Its executed copy (rewritten in place).

    Returns:
        ``False`` if the code cells do not line up (then the job must execute instead).
    """
    source_nb = nbformat.read(source, as_version=4)
    executed_nb = nbformat.read(executed, as_version=4)
    code = [cell for cell in executed_nb.cells if cell.cell_type == "code"]
    cells = []
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        if not code or code[0].source != cell.source:
            return False
        cells.append(code.pop(0))
        if code and "injected-parameters" in code[0].metadata.get("tags", []):
            cells.append(code.pop(0))
    if code:
        return False
    executed_nb.cells = cells
    nbformat.write(executed_nb, executed)
    return True


def now() -> str:
    """The current time as an ISO string (seconds)."""
    return dt.datetime.now().isoformat(timespec="seconds")
