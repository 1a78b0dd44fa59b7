"""Housekeeping of the run store: what in it is not a valid entry, and removing it.

``fmnist-report store check`` lists entries set aside as broken, committed entries that fail
their check, temporary directories of processes that are gone, and interrupted training runs
(which resume: they are removed only when asked for by name of kind).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
from pathlib import Path

from fmnist_helpers.core.config import RunConfig
from fmnist_helpers.store.backup import BACKUP_DIR, backup_epoch
from fmnist_helpers.store.runs import BrokenEntry, validate_entry


@dataclasses.dataclass(frozen=True)
class StoreProblem:
    """Something in the run store that is not a valid entry (see :meth:`RunStore.check`).

    Attributes:
        path: The file or directory.
        kind: ``"broken"`` (set aside after a failed check), ``"invalid"`` (a committed entry
            that fails its check now), ``"temporary"`` (left by a process that is gone),
            ``"obsolete"`` (a pickled cached result from before results were stored as data),
            ``"partial"`` (an interrupted training run that will resume) or ``"in use"``.
        detail: What is known about it, in words.
    """

    path: Path
    kind: str
    detail: str


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _partial_detail(path: Path) -> str:
    try:
        config = RunConfig.from_dict(json.loads((path / "config.json").read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return "no usable backup: its run starts over"
    done = backup_epoch(path / BACKUP_DIR)
    if done is None:
        return "no usable backup: its run starts over"
    return f"{config.label}: resumes at epoch {done + 1}/{config.epochs}"


def check_store(root: Path) -> list[StoreProblem]:
    """List what in a run store is not a valid entry (nothing is changed).

    Args:
        root: The store's directory.

    Returns:
        One :class:`StoreProblem` per item, sorted by path.
    """
    root = Path(root)
    problems = []
    if not root.is_dir():
        return problems
    for path in sorted(root.iterdir()):
        name = path.name
        if ".broken-" in name:
            problems.append(StoreProblem(path, "broken", "set aside after a failed check"))
        elif name.startswith(".tmp-"):
            pid = name.split("-")[2] if name.count("-") >= 3 else ""
            alive = pid.isdigit() and _pid_alive(int(pid))
            problems.append(StoreProblem(path, "in use" if alive else "temporary",
                                         f"process {pid} " + ("running" if alive else "gone")))
        elif name.startswith(".partial-"):
            locked = False
            if (path / ".lock").is_file():
                with open(path / ".lock") as handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        locked = True
            problems.append(StoreProblem(path, "in use" if locked else "partial",
                                         "training now" if locked else _partial_detail(path)))
        elif path.is_dir() and len(name) == 16 and not name.startswith("."):
            try:
                config = RunConfig.from_dict(
                    json.loads((path / "config.json").read_text())["config"])
                if config.key != name:
                    raise BrokenEntry(f"config.json is the config of {config.key}")
                validate_entry(path, config)
            except (BrokenEntry, OSError, ValueError, KeyError, TypeError) as error:
                problems.append(StoreProblem(path, "invalid", str(error)))
    for path in sorted((root / "results").glob("*.pkl")):
        problems.append(StoreProblem(path, "obsolete", "a pickled result of an older version; "
                                     "results are .npz now and this one is never read"))
    return problems


def remove_problems(problems: list[StoreProblem], kinds: tuple[str, ...]) -> list[Path]:
    """Delete the items of the given kinds (never ``"in use"`` ones).

    Args:
        problems: :func:`check_store` output.
        kinds: Which kinds to delete, e.g. ``("broken", "invalid", "temporary")``.

    Returns:
        The paths deleted.

    Raises:
        ValueError: If ``kinds`` names an unknown kind or ``"in use"``.
    """
    known = {"broken", "invalid", "temporary", "partial", "obsolete"}
    if not set(kinds) <= known:
        raise ValueError(f"kinds must be among {', '.join(sorted(known))}; got {kinds}.")
    removed = []
    for problem in problems:
        if problem.kind in kinds:
            if problem.path.is_dir():
                shutil.rmtree(problem.path)
            else:
                problem.path.unlink()
            removed.append(problem.path)
    return removed
