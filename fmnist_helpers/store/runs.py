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
same config resumes (see :func:`fmnist_helpers.study.train.train`).
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import math
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmnist_helpers.core import progress
from fmnist_helpers.core.config import (
    TRAINING_CODE_VERSION,
    RunConfig,
)
from fmnist_helpers.store import readlog


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
    """Write JSON atomically, with non-finite floats as ``null`` (strict JSON).

    The text goes to a temporary file beside ``path`` that is renamed over it, so a kill or a full
    disk leaves either the old file or the new one, never a truncated one.

    Raises:
        OSError: If the file cannot be written (the old file, if any, is left as it was).
    """
    path = Path(path)
    text = json.dumps(_finite_or_none(data), indent=2, sort_keys=True) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def unique_aside(path: Path, tag: str) -> Path:
    """A name beside ``path`` to set it aside under: ``<name>.<tag>-<time>-<pid>-<n>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        candidate = path.with_name(f"{path.name}.{tag}-{stamp}-{os.getpid()}-{n}")
        if not candidate.exists():
            return candidate
    raise OSError(f"no free name to set {path} aside")


class BrokenEntry(ValueError):
    """An entry of the run store that is incomplete, unreadable or inconsistent."""


#: What an entry's ``result.json`` must hold, and the JSON types each may take.
RESULT_FIELDS = {
    "val_accuracy": (int, float, type(None)), "val_loss": (int, float, type(None)),
    "test_accuracy": (int, float, type(None)), "test_loss": (int, float, type(None)),
    "best_val_accuracy": (int, float, type(None)), "diverged": (bool,),
    "epochs_completed": (int,), "train_seconds": (int, float),
    "images_per_second": (int, float),
}
HISTORY_FIELDS = ("loss", "accuracy", "val_loss", "val_accuracy")
#: Arrays every extras file holds (see ``extras.record_extras``).
EXTRAS_FIELDS = ("probe_indices", "labels", "features", "probs", "conv_blocks",
                 "zero_fraction", "dead_filters")


_ACCURACIES = ("val_accuracy", "test_accuracy", "best_val_accuracy")
_LOSSES = ("val_loss", "test_loss")


def meaning_problems(config: RunConfig, result: dict, history: dict) -> list[str]:
    """What in a run's numbers cannot be true, whatever they were read from (a store entry, a
    record, a Ray task's returned entry).

    Accuracies must lie in [0, 1] and losses be finite and >= 0 (a diverged run may hold
    ``None`` for a non-finite loss and, after divergence, for its accuracies); each history
    list holds one value per completed epoch, never more epochs than the config's; training
    time, images per second and image counts are positive.

    Args:
        config: The run's config.
        result: Its result (``result.json`` or a record's ``result``).
        history: Its per-epoch history.

    Returns:
        One sentence per problem, naming the field and the value (empty: the run can be used).
    """
    problems = []
    diverged = result.get("diverged") is True

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def check(field, value, low, high=None):
        if value is None and diverged:
            return
        if not number(value) or not math.isfinite(value) or value < low or (
                high is not None and value > high):
            span = f"in [{low}, {high}]" if high is not None else f"finite and >= {low}"
            problems.append(f"{field} is {value!r}; it must be {span}")

    for field in _ACCURACIES:
        if field in result:
            check(field, result[field], 0.0, 1.0)
    for field in _LOSSES:
        if field in result:
            check(field, result[field], 0.0)
    epochs = result.get("epochs_completed")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or not 0 <= epochs <= config.epochs:
        problems.append(f"epochs_completed is {epochs!r}; it must be an integer in "
                        f"[0, {config.epochs}] (the config's epochs)")
        epochs = None
    for field in ("train_seconds", "images_per_second"):
        value = result.get(field)
        if epochs and (not number(value) or not math.isfinite(value) or value <= 0):
            problems.append(f"{field} is {value!r}; it must be a positive number")
    for field in ("train_images", "val_images", "test_images", "parameters"):
        if field in result and (not isinstance(result[field], int) or result[field] < 1):
            problems.append(f"{field} is {result[field]!r}; it must be a positive integer")
    if not isinstance(history, dict):
        return problems + [f"history is {type(history).__name__}, not an object"]
    for field, values in history.items():
        if not isinstance(values, list):
            problems.append(f"history {field} is {type(values).__name__}, not a list")
            continue
        if len(values) > config.epochs or (epochs is not None and len(values) != epochs):
            problems.append(f"history {field} has {len(values)} values for "
                            f"{epochs if epochs is not None else '?'} completed epochs "
                            f"(config: {config.epochs})")
            continue
        low, high = (0.0, 1.0) if field.endswith("accuracy") else (0.0, None)
        for epoch, value in enumerate(values, start=1):
            if value is None and diverged:
                continue
            if not number(value) or not math.isfinite(value) or value < low or (
                    high is not None and value > high):
                problems.append(f"history {field} at epoch {epoch} is {value!r}")
                break
    return problems


def _read_json_object(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BrokenEntry(f"{path.name} cannot be read ({type(error).__name__}: {error})") from None
    if not isinstance(data, dict):
        raise BrokenEntry(f"{path.name} holds {type(data).__name__}, not an object")
    return data


def validate_entry(path: Path, config: RunConfig) -> tuple[dict, dict]:
    """Check a committed entry completely before it is reused.

    Every JSON file must parse with its schema, the history must have one value per completed
    epoch, a run that did not diverge must have completed all its epochs, the model file must be a
    readable Keras archive and every extras file a readable ``.npz`` (no pickles) with its arrays.

    Args:
        path: The entry's directory.
        config: The config it must hold.

    Returns:
        ``(result, history)``.

    Raises:
        BrokenEntry: Naming what is wrong.
    """
    stored = _read_json_object(path / "config.json")
    try:
        if RunConfig.from_dict(stored["config"]) != config:
            raise BrokenEntry("config.json holds another config")
    except (KeyError, TypeError, ValueError) as error:
        raise BrokenEntry(f"config.json is not a run config ({error})") from None
    result = _read_json_object(path / RESULT_FILE)
    for field, types in RESULT_FIELDS.items():
        if field not in result:
            raise BrokenEntry(f"{RESULT_FILE} lacks {field}")
        if not isinstance(result[field], types) or (
                isinstance(result[field], bool) and bool not in types):
            raise BrokenEntry(f"{RESULT_FILE}: {field} is {result[field]!r}")
    epochs = result["epochs_completed"]
    if not 0 <= epochs <= config.epochs or (epochs < config.epochs and not result["diverged"]):
        raise BrokenEntry(f"{RESULT_FILE}: {epochs} of {config.epochs} epochs completed "
                          "and the run did not diverge")
    history = _read_json_object(path / "history.json")
    for field in HISTORY_FIELDS:
        values = history.get(field)
        if not isinstance(values, list) or len(values) != epochs:
            raise BrokenEntry(f"history.json: {field} has "
                              f"{len(values) if isinstance(values, list) else 'no'} values "
                              f"for {epochs} epochs")
    problems = meaning_problems(config, result, history)
    if problems:
        raise BrokenEntry(f"{RESULT_FILE} / history.json: {problems[0]}")
    model = path / "model.keras"
    try:
        with zipfile.ZipFile(model) as archive:
            names = set(archive.namelist())
            if archive.testzip() is not None or not {"config.json", "model.weights.h5"} <= names:
                raise BrokenEntry("model.keras is not a complete Keras archive")
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise BrokenEntry(f"model.keras cannot be read ({type(error).__name__})") from None
    for epoch in config.record_epochs if not result["diverged"] else ():
        extras = path / "extras" / f"epoch_{epoch:03d}.npz"
        try:
            with np.load(extras, allow_pickle=False) as arrays:
                missing = [name for name in EXTRAS_FIELDS if name not in arrays.files]
                for name in arrays.files:
                    _ = arrays[name]  # reading every array checks it
        except Exception as error:  # noqa: BLE001 -- whatever a damaged file raises
            raise BrokenEntry(f"extras/{extras.name} cannot be read "
                              f"({type(error).__name__})") from None
        if missing:
            raise BrokenEntry(f"extras/{extras.name} lacks {', '.join(missing)}")
    return result, history
RUNS_DIR_ENV = "FMNIST_RUNS_DIR"
#: Space a run needs beyond its backups and model before training starts.
MIN_FREE_BYTES = 50_000_000
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

    Raises:
        NotADirectoryError: If ``root`` exists and is not a directory (the message names it and
            the fix).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            root = os.environ.get(RUNS_DIR_ENV) or default_runs_dir()
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"the run store {self.root} is a file, not a directory: set "
                                     f"{RUNS_DIR_ENV} (or --runs-dir) to a directory")
        self._locks: dict[Path, Any] = {}

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def entry(self, config: RunConfig) -> Path:
        """Return where a config's entry lives (it may not exist)."""
        return self.root / config.key

    def get(self, config: RunConfig) -> Run | None:
        """Return the stored run for a config, or ``None``.

        The entry is checked completely (:func:`validate_entry`). A broken one is set aside
        (``<key>.broken-<time>-<pid>-<n>``, listed and removed by ``fmnist-report store check``)
        and ``None`` is returned so that the run is trained again.

        Raises:
            OSError: If a broken entry cannot be set aside (e.g. a read-only store); the message
                names it and the fix.
        """
        path = self.entry(config)
        if not path.exists():
            readlog.record("run", config.key, path)
            return None
        try:
            result, history = validate_entry(path, config)
        except BrokenEntry as error:
            self._set_aside(path, error)
            readlog.record("run", config.key, path)
            return None
        readlog.record("run", config.key, path)
        return Run(config=config, path=path, history=history, result=result, reused=True)

    def _set_aside(self, path: Path, error: Exception) -> Path:
        broken = unique_aside(path, "broken")
        try:
            path.rename(broken)
        except OSError as failure:
            raise OSError(f"run store: entry {path} is broken ({error}) and cannot be set aside "
                          f"({failure.strerror}); make {self.root} writable or delete the "
                          "entry.") from None
        progress.say(f"run store: entry {path.name} is broken ({error}); moved to {broken.name} "
                     "and retraining.")
        return broken

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
        if path.exists() and not path.is_dir():  # not ours: keep it, but out of the way
            self._set_aside(path, BrokenEntry("a file where the staging directory belongs"))
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

        The assembled entry is checked first (:func:`validate_entry`): a broken one is never
        committed. If another process finished the same run first, its entry is kept and ours
        dropped; a broken entry found at the key is set aside and ours takes its place.

        Returns:
            The entry's final path.

        Raises:
            BrokenEntry: If the assembled entry is incomplete (it stays where it is).
        """
        tmp = Path(tmp)
        validate_entry(tmp, config)
        (tmp / ".lock").unlink(missing_ok=True)
        final = self.entry(config)
        try:
            if final.exists() and self.get(config) is not None:  # another process was first
                shutil.rmtree(tmp, ignore_errors=True)
                return final
            os.rename(tmp, final)
        except OSError:
            if self.get(config) is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        finally:
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
    """Return ``runs/`` in the project checkout (found from this file); outside a checkout (a
    plain ``pip install``) the per-user data directory, ``$XDG_DATA_HOME/fmnist-study/runs``
    (default ``~/.local/share/fmnist-study/runs``)."""
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "pyproject.toml").is_file():
        return package_root / "runs"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "fmnist-study" / "runs"


def check_free_space(directory: Path, parameters: int) -> None:
    """Refuse to start training where a full disk would damage the backups.

    A backup holds the weights and the optimizer's two slots, twice (the last and the one
    before), and the entry the model itself; writing them on a nearly full disk leaves damaged
    files (and at a few hundred KB free, h5py crashes the process).

    Args:
        directory: Where the run is assembled.
        parameters: The model's parameter count.

    Raises:
        OSError: ``ENOSPC``, naming the directory, the space free and the space needed.
    """
    needed = parameters * 4 * 3 * 3 + MIN_FREE_BYTES
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise OSError(errno.ENOSPC, f"only {free / 1e6:.1f} MB free in {directory}; training "
                      f"needs about {needed / 1e6:.0f} MB for its backups and model. Free some "
                      f"space or set {RUNS_DIR_ENV} to a store on another disk.")
