"""The run store: a training run's config -> a directory with its results, reused on rebuild.

A run is described by a :class:`RunConfig`, a plain JSON-serializable dataclass. Its key is a
hash of its canonical JSON and of :data:`TRAINING_CODE_VERSION`, so a changed config or changed
training code gives a new entry. An entry is the directory ``<store>/<key>/`` holding::

    config.json     the config (plus the key and code version)
    history.json    per-epoch train/val loss and accuracy
    result.json     final metrics, divergence, timings -- written last: it marks the entry done
    model.keras     the trained model
    extras/epoch_NNN.npz   probe-set features, probabilities and activation statistics

Entries are assembled in a staging directory and renamed into place, so an interrupted run
never leaves an entry that looks complete; a partial or unreadable entry is set aside and
retrained. The staging directory of a training run, ``<store>/.partial-<key>/``, outlives an
interruption: it holds the run's last end-of-epoch backup, from which the next ``train`` of the
same config resumes (see :func:`fmnist_helpers.train.train`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmnist_helpers.config import (
    TRAINING_CODE_VERSION,
    RunConfig,
)


def _finite_or_none(value):
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def write_json(path: Path, data) -> None:
    """Write JSON with non-finite floats as ``null`` (strict JSON)."""
    path.write_text(json.dumps(_finite_or_none(data), indent=2, sort_keys=True) + "\n")
RUNS_DIR_ENV = "FMNIST_RUNS_DIR"
RESULT_FILE = "result.json"


@dataclasses.dataclass
class Run:
    """A completed training run as recorded in the store.

    Attributes:
        config: What was trained.
        path: The entry's directory.
        history: Per-epoch lists: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``
            (``None`` where a loss was not finite).
        result: Final metrics (``val_accuracy``, ``val_loss``, ``best_val_accuracy``,
            ``test_accuracy``, ``test_loss``), ``diverged``, ``diverged_epoch``,
            ``last_finite_loss``, ``epochs_completed``, ``train_seconds``, ``images_per_second``.
        reused: Whether this call found the run in the store instead of training it.
    """

    config: RunConfig
    path: Path
    history: dict[str, list]
    result: dict[str, Any]
    reused: bool = False

    @property
    def key(self) -> str:
        """The run's key in the store."""
        return self.config.key

    @property
    def diverged(self) -> bool:
        """Whether the loss became NaN or infinite."""
        return bool(self.result.get("diverged"))

    def __getitem__(self, name: str):
        return self.result[name]

    def load_model(self):
        """Load the trained model (a fresh copy each call).

        Returns:
            The ``keras.Model`` as it was at the end of training.
        """
        import keras

        return keras.models.load_model(self.path / "model.keras", compile=False)

    @property
    def recorded_epochs(self) -> list[int]:
        """Epochs at which extras were recorded."""
        return sorted(int(p.stem.split("_")[1]) for p in (self.path / "extras").glob("epoch_*.npz"))

    def extras(self, epoch: int) -> dict[str, np.ndarray]:
        """Load the extras recorded after ``epoch`` (0 = before training).

        Returns:
            Arrays: ``probe_indices`` (into the test set), ``labels``, ``features``
            (penultimate layer), ``probs``, ``zero_fraction`` and ``dead_filters`` (per conv
            block, in ``conv_blocks`` order), ``conv_blocks``.

        Raises:
            ValueError: If nothing was recorded at that epoch.
        """
        path = self.path / "extras" / f"epoch_{epoch:03d}.npz"
        if not path.is_file():
            raise ValueError(f"run {self.config.label} recorded no extras at epoch {epoch}; "
                             f"recorded: {self.recorded_epochs} (set record_epochs).")
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def describe(self):
        """Return the config and the key results as a two-column DataFrame for notebooks."""
        rows = [("run", self.config.label)] + list(self.config.to_dict().items())
        rows += [(k, v) for k, v in self.summary().items() if k not in ("key", "label", "epochs")]
        return pd.DataFrame(rows, columns=["field", "value"]).set_index("field")

    def summary(self) -> dict[str, Any]:
        """Return the key figures as a flat, JSON-ready dict."""
        keys = ("val_accuracy", "best_val_accuracy", "test_accuracy", "test_loss", "val_loss",
                "diverged", "diverged_epoch", "epochs_completed", "train_seconds",
                "images_per_second")
        out = {"key": self.key, "label": self.config.label, "reused": self.reused}
        out.update({k: self.result.get(k) for k in keys})
        out["epochs"] = self.config.epochs
        return out


class RunStore:
    """A directory of completed runs, keyed by config hash.

    Args:
        root: The directory (created on demand). Default: ``$FMNIST_RUNS_DIR`` or ``runs/`` in
            the project root (the current directory when not in a checkout).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            root = os.environ.get(RUNS_DIR_ENV) or default_runs_dir()
        self.root = Path(root).expanduser().resolve()
        self._locks: dict[Path, Any] = {}

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def entry(self, config: RunConfig) -> Path:
        """Return where a config's entry lives (it may not exist)."""
        return self.root / config.key

    def get(self, config: RunConfig) -> Run | None:
        """Return the stored run for a config, or ``None``.

        A partial or unreadable entry is moved aside (``<key>.broken-<time>``) and ``None`` is
        returned so that the run is trained again.
        """
        path = self.entry(config)
        if not path.exists():
            return None
        try:
            result = json.loads((path / RESULT_FILE).read_text())
            history = json.loads((path / "history.json").read_text())
            stored = RunConfig.from_dict(json.loads((path / "config.json").read_text())["config"])
            if stored != config or not (path / "model.keras").is_file():
                raise ValueError("entry does not match its config")
        except (OSError, ValueError, KeyError, TypeError) as error:
            broken = path.with_name(f"{path.name}.broken-{int(time.time())}")
            path.rename(broken)
            print(f"run store: entry {path.name} is incomplete or corrupt ({error}); moved to "
                  f"{broken.name} and retraining.", flush=True)
            return None
        return Run(config=config, path=path, history=history, result=result, reused=True)

    def new_entry(self, config: RunConfig) -> Path:
        """Create a private temporary directory in which an entry is assembled."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{config.key}-{os.getpid()}-{time.monotonic_ns()}"
        (tmp / "extras").mkdir(parents=True)
        write_json(tmp / "config.json", {"config": config.to_dict(), "key": config.key,
                                         "code_version": TRAINING_CODE_VERSION})
        return tmp

    def staging_entry(self, config: RunConfig) -> Path:
        """Return the directory in which a training run assembles its entry, and lock it.

        It is ``.partial-<key>/``, the same on every attempt, so what an interrupted attempt left
        there (its end-of-epoch backup, its epoch log, its extras) is found by the next one. An
        exclusive lock, held until :meth:`commit` or :meth:`release`, keeps two processes from
        training into it at once: while another process holds it, a private
        :meth:`new_entry` directory is returned instead (the two runs race; the first to
        finish is kept).

        Returns:
            The staging directory, with an up-to-date ``config.json``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".partial-{config.key}"
        (path / "extras").mkdir(parents=True, exist_ok=True)
        handle = open(path / ".lock", "w")  # noqa: SIM115 -- held until commit/release
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return self.new_entry(config)
        self._locks[path] = handle
        write_json(path / "config.json", {"config": config.to_dict(), "key": config.key,
                                          "code_version": TRAINING_CODE_VERSION})
        return path

    def release(self, path: Path) -> None:
        """Unlock a staging directory from :meth:`staging_entry` (a no-op for others)."""
        handle = self._locks.pop(Path(path), None)
        if handle is not None:
            handle.close()

    def commit(self, config: RunConfig, tmp: Path) -> Path:
        """Move an assembled entry into place atomically (and unlock it).

        If another process finished the same run first, its entry is kept and ours dropped.

        Returns:
            The entry's final path.
        """
        tmp = Path(tmp)
        if not (tmp / RESULT_FILE).is_file():
            raise ValueError(f"{tmp} has no {RESULT_FILE}: refusing to commit a partial entry.")
        (tmp / ".lock").unlink(missing_ok=True)
        final = self.entry(config)
        try:
            os.rename(tmp, final)
        except OSError:
            if self.get(config) is None:
                self.release(tmp)
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        self.release(tmp)
        return final

    def runs(self) -> list[Run]:
        """Return every complete run in the store."""
        found = []
        if not self.root.is_dir():
            return found
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(".") or not (path / RESULT_FILE).is_file():
                continue
            try:
                stored = json.loads((path / "config.json").read_text())
                config = RunConfig.from_dict(stored["config"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            run = self.get(config) if config.key == path.name else None
            if run is not None:
                found.append(run)
        return found


def default_runs_dir() -> Path:
    """Return ``runs/`` in the project checkout (found from this file), else in the cwd."""
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / "pyproject.toml").is_file():
        return package_root / "runs"
    return Path.cwd() / "runs"
