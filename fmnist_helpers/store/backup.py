"""An interrupted run's files in its staging entry: Keras's end-of-epoch backup and our epoch log.

``train`` resumes from them; ``store_check`` describes them. This module knows the layout of
``keras.callbacks.BackupAndRestore``'s directory (``training_metadata.json``, ``*.bkp`` copies)
without importing Keras.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

#: In a staging entry: the epoch log of the attempts so far (each epoch's logs, seconds and the
#: dropout seed states), and Keras's end-of-epoch backup.
EPOCH_LOG = "epochs.json"
BACKUP_DIR = "backup"


def read_json(path: Path):
    """A JSON file's content, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def drop_backup(entry: Path) -> None:
    """Remove a staging entry's backup and epoch log: its run starts over."""
    shutil.rmtree(entry / BACKUP_DIR, ignore_errors=True)
    (entry / EPOCH_LOG).unlink(missing_ok=True)


def backup_epoch(backup: Path) -> int | None:
    """The epochs done by the Keras backup (``BackupAndRestore``) in directory ``backup``.

    Args:
        backup: The backup directory of a staging entry.

    Returns:
        The epoch a resumed fit starts at (epochs done), or ``None`` (no backup or unreadable).
    """
    try:
        return int(json.loads((backup / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def use_previous_backup(backup: Path) -> bool:
    """Put Keras's previous backup (``*.bkp``) in place of the last one.

    Args:
        backup: The backup directory of a staging entry.

    Returns:
        ``False`` if there is no complete previous backup (nothing changed).
    """
    previous = [backup / "latest.weights.h5.bkp", backup / "training_metadata.json.bkp"]
    if not all(path.is_file() for path in previous):
        return False
    for path in previous:
        os.replace(path, path.with_suffix(""))
    return True
