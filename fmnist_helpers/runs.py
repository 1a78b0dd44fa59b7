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
import hashlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from fmnist_helpers.models import ACTIVATIONS, INITIALIZERS, KERNEL_SIZES, MODEL_NAMES

#: Bump when a change to the training code changes what a config produces.
TRAINING_CODE_VERSION = 1
RUNS_DIR_ENV = "FMNIST_RUNS_DIR"
OPTIMIZERS = ("adam", "rmsprop", "sgd", "momentum")
LR_SCHEDULES = ("constant", "cosine")
#: Fields added after runs were stored: left out of the key while at their default, so the
#: runs stored before they existed keep their keys.
OMITTED_AT_DEFAULT = {"lr_schedule": "constant", "label_smoothing": 0.0}
RESULT_FILE = "result.json"


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines a training run.

    Attributes:
        model: Architecture, one of ``models.MODEL_NAMES``.
        initializer: ``"xavier"``, ``"he"`` or ``"random"``.
        init_std: Standard deviation of the ``"random"`` initializer.
        batch_norm: Batch normalization in every block.
        dropout: Dropout rate after hidden dense layers (seed: keep-prob 0.8 -> 0.2).
        activation: Hidden activation.
        kernel_size: Conv kernel side.
        width: Width multiplier of conv filters and dense units.
        train_size: Training images used (``None``: all 54,000).
        val_size: Validation images used (``None``: all 6,000).
        test_size: Test images evaluated (``None``: all 10,000).
        augment: Names of augmentations applied to training batches (see ``augment.py``).
        epochs: Training epochs.
        batch_size: Images per batch.
        optimizer: ``"adam"``, ``"rmsprop"``, ``"sgd"`` or ``"momentum"`` (SGD, momentum 0.9).
        learning_rate: The optimizer's (initial) learning rate.
        lr_schedule: ``"constant"`` (the seed's) or ``"cosine"`` (decays to zero over the run's
            steps, ``keras.optimizers.schedules.CosineDecay``).
        label_smoothing: Label smoothing of the cross-entropy (0 = none, the seed's).
        seed: Seed of weights, shuffling, dropout and augmentation.
        record_epochs: Epochs after which extras are recorded (0 = before training).
        probe_size: Test images in the fixed probe set used for extras.
    """

    model: str = "convnet"
    initializer: str = "xavier"
    init_std: float = 0.05
    batch_norm: bool = False
    dropout: float = 0.2
    activation: str = "relu"
    kernel_size: int = 3
    width: float = 1.0
    train_size: int | None = None
    val_size: int | None = None
    test_size: int | None = None
    augment: tuple[str, ...] = ()
    epochs: int = 10
    batch_size: int = 1000
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    lr_schedule: str = "constant"
    label_smoothing: float = 0.0
    seed: int = 0
    record_epochs: tuple[int, ...] = ()
    probe_size: int = 1000

    def __post_init__(self):
        # Lists from JSON or the command line become tuples, so configs stay hashable.
        object.__setattr__(self, "augment", tuple(self.augment))
        object.__setattr__(self, "record_epochs", tuple(sorted(set(self.record_epochs))))
        self.validate()

    def validate(self) -> None:
        """Check every field.

        Raises:
            ValueError: Naming the field, the bad value and what is accepted.
        """
        from fmnist_helpers.augment import AUGMENTATIONS

        def choice(field, valid):
            value = getattr(self, field)
            if value not in valid:
                raise ValueError(f"run config: {field} must be one of "
                                 f"{', '.join(map(repr, valid))}; got {value!r}.")

        choice("model", MODEL_NAMES)
        choice("initializer", INITIALIZERS)
        choice("activation", ACTIVATIONS)
        choice("kernel_size", KERNEL_SIZES)
        choice("optimizer", OPTIMIZERS)
        choice("lr_schedule", LR_SCHEDULES)
        for name in self.augment:
            if name not in AUGMENTATIONS:
                raise ValueError(f"run config: unknown augmentation {name!r}; choose from "
                                 f"{', '.join(AUGMENTATIONS)}.")
        checks = [
            ("dropout", 0.0 <= self.dropout < 1.0, "a rate in [0, 1)"),
            ("width", 0.0 < self.width <= 4.0, "in (0, 4]"),
            ("init_std", self.init_std > 0, "positive"),
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1,
             "an integer >= 1"),
            ("learning_rate", self.learning_rate > 0, "positive"),
            ("label_smoothing", 0.0 <= self.label_smoothing < 1.0, "in [0, 1)"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "an integer >= 0"),
            ("probe_size", isinstance(self.probe_size, int) and 1 <= self.probe_size <= 10000,
             "an integer in [1, 10000]"),
            ("batch_norm", isinstance(self.batch_norm, bool), "true or false"),
        ]
        for field, ok, expected in checks:
            if not ok:
                raise ValueError(f"run config: {field} must be {expected}; "
                                 f"got {getattr(self, field)!r}.")
        for field in ("train_size", "val_size", "test_size"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, int) and value >= 10):
                raise ValueError(f"run config: {field} must be an integer >= 10 or None "
                                 f"(all); got {value!r}.")
        bad = [e for e in self.record_epochs if not 0 <= e <= self.epochs]
        if bad:
            raise ValueError(f"run config: record_epochs {bad} outside 0..{self.epochs}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["augment"] = list(self.augment)
        data["record_epochs"] = list(self.record_epochs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build a config from a dict, rejecting unknown keys.

        Raises:
            ValueError: If a key is unknown or a value invalid.
        """
        unknown = sorted(set(data) - set(field_names()))
        if unknown:
            raise ValueError(f"run config: unknown field(s) {', '.join(unknown)}; the fields "
                             f"are {', '.join(field_names())}.")
        return cls(**data)

    def replace(self, **changes) -> RunConfig:
        """Return a copy with some fields changed (validated).

        Raises:
            ValueError: If a field is unknown or a value invalid.
        """
        return RunConfig.from_dict({**self.to_dict(), **changes})

    @property
    def key(self) -> str:
        """The content hash naming this run in the store."""
        config = self.to_dict()
        for field, default in OMITTED_AT_DEFAULT.items():
            if config[field] == default:
                del config[field]
        canonical = json.dumps(
            {"config": config, "code": TRAINING_CODE_VERSION},
            sort_keys=True, separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``convnet-3f2a9c1b``."""
        return f"{self.model}-{self.key[:8]}"


def field_names() -> list[str]:
    """Return the names of the :class:`RunConfig` fields."""
    return [f.name for f in dataclasses.fields(RunConfig)]


def parse_value(field: str, text: str):
    """Parse a command-line value for a config field (``--set field=value``).

    Args:
        field: A :class:`RunConfig` field name.
        text: The value as typed. Lists are comma-separated; ``none`` means ``None``.

    Returns:
        The value converted to the field's type.

    Raises:
        ValueError: If the field is unknown or the text does not convert.
    """
    if field not in field_names():
        raise ValueError(f"unknown run config field {field!r}; the fields are "
                         f"{', '.join(field_names())}.")
    default = getattr(RunConfig(), field)
    try:
        if field in ("augment",):
            return tuple(part for part in text.split(",") if part)
        if field == "record_epochs":
            return tuple(int(part) for part in text.split(",") if part)
        if field in ("train_size", "val_size", "test_size"):
            return None if text.lower() in ("none", "all") else int(text)
        if isinstance(default, bool):
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        return type(default)(text)
    except ValueError:
        kind = "true/false" if isinstance(default, bool) else type(default).__name__
        raise ValueError(f"--set {field}={text}: expected a value of type {kind} "
                         f"(default {default!r}).") from None


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
        import pandas as pd

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
                config = RunConfig.from_dict(json.loads((path / "config.json").read_text())["config"])
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


#: Bump when a change to a :func:`stored_result` function changes what it returns.
RESULTS_VERSION = 1


def _fingerprint(value, digest) -> None:
    """Feed a function argument into a hash: runs by key, models by weights, arrays by bytes."""
    if isinstance(value, Run):
        digest.update(f"run:{value.key}".encode())
    elif hasattr(value, "get_weights") and hasattr(value, "get_config"):
        digest.update(f"model:{json.dumps(value.get_config(), sort_keys=True, default=str)}"
                      .encode())
        for weight in value.get_weights():
            digest.update(np.ascontiguousarray(weight).tobytes())
    elif isinstance(value, np.ndarray):
        digest.update(f"array:{value.dtype}:{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq:{len(value)}".encode())
        for item in value:
            _fingerprint(item, digest)
    else:
        digest.update(json.dumps(value, sort_keys=True).encode())


def stored_result(func):
    """Cache a costly analysis of recorded runs in the run store (``<store>/results/``).

    The key hashes the function's name, :data:`RESULTS_VERSION`, and every argument: a
    :class:`Run` by its key, a Keras model by its config and weights, an array by its bytes, other
    values as JSON. So a section and the claims ledger that ask for the same analysis of the same
    run compute it once, and a retrained run gets a fresh result. Results are pickled and written
    atomically; an unreadable one is recomputed.
    """
    import functools
    import inspect
    import pickle

    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        digest = hashlib.sha256(f"{func.__module__}.{func.__qualname__}:{RESULTS_VERSION}".encode())
        for name, value in bound.arguments.items():
            digest.update(name.encode())
            _fingerprint(value, digest)
        folder = RunStore().root / "results"
        path = folder / f"{func.__name__}-{digest.hexdigest()[:16]}.pkl"
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    return pickle.load(handle)
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                pass
        result = func(*args, **kwargs)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(result, handle)
        os.replace(tmp, path)
        return result

    return wrapper
