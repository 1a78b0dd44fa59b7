"""What a section read from the run store and the results cache, recorded while it executes.

The build sets ``$FMNIST_READ_LOG`` to a file beside the executed notebook; :meth:`RunStore.get
<fmnist_helpers.store.runs.RunStore.get>` and :func:`~fmnist_helpers.store.cache.stored_result`
append one JSON line per read: what was read, where, and a digest of it (``null`` for a run that
was not there -- so a run stored later changes the digest too).
The build's fingerprint of the section includes these reads, so a run entry or a cached result
that is deleted, retrained or changed makes the sections that read it execute again. Outside a
build (the variable unset) nothing is written.

Imports nothing of the package.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

READ_LOG_ENV = "FMNIST_READ_LOG"
#: The files of a run entry whose content identifies the trained run.
RUN_FILES = ("config.json", "history.json", "result.json")


def digest(kind: str, path: Path) -> str | None:
    """The digest of what was read: a run entry's identifying files, or a result file's bytes.

    Args:
        kind: ``"run"`` or ``"result"``.
        path: The entry's directory or the result's file.

    Returns:
        A SHA-256 hex digest, or ``None`` if nothing (complete) is there.
    """
    path = Path(path)
    hasher = hashlib.sha256()
    try:
        if kind == "run":
            for name in RUN_FILES:
                hasher.update(name.encode() + b"\0" + (path / name).read_bytes())
            model = (path / "model.keras").stat()
            hasher.update(f"model.keras:{model.st_size}:{model.st_mtime_ns}".encode())
        else:
            hasher.update(path.read_bytes())
    except OSError:
        return None
    return hasher.hexdigest()


def record(kind: str, name: str, path: Path) -> None:
    """Append a read to ``$FMNIST_READ_LOG`` (nothing happens when it is unset).

    Args:
        kind: ``"run"`` (a run entry, ``name`` its key) or ``"result"`` (a cached analysis,
            ``name`` its file name).
        name: What was read.
        path: Where it is (or, for a run that is not in the store, would be).
    """
    log = os.environ.get(READ_LOG_ENV)
    if not log:
        return
    line = {"kind": kind, "name": name, "path": str(path), "sha256": digest(kind, path)}
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def read_log(path: Path) -> list[dict]:
    """The reads of one execution, the last one per item (what the section ended up using).

    Args:
        path: The log file (missing: no reads).

    Returns:
        One ``{"kind", "name", "path", "sha256"}`` per item read, sorted.
    """
    reads: dict[tuple[str, str], dict] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
            reads[(entry["kind"], entry["name"])] = entry
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a kill: the item is checked again at the next build
    return [reads[key] for key in sorted(reads)]


def changed_reads(reads: list[dict]) -> list[str]:
    """Which recorded reads no longer hold: deleted, retrained or changed since.

    Args:
        reads: :func:`read_log` output, as recorded when the section executed.

    Returns:
        A description of each read whose current digest differs (empty: all still hold).
    """
    changed = []
    for entry in reads:
        now = digest(entry["kind"], Path(entry["path"]))
        if now != entry.get("sha256"):
            was = "missing" if entry.get("sha256") is None else "recorded"
            changed.append(f"{entry['kind']} {entry['name']} ({was}, now "
                           f"{'missing' if now is None else 'different'})")
    return changed
