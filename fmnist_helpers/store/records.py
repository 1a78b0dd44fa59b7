"""Run records: a stored run as one small, committed JSON file, and the check that retrains it.

A record (``records/<key>.json`` in the checkout, or ``$FMNIST_RECORDS_DIR``) holds a run's
config and key, its per-epoch history, its final metrics, the extras that are small numbers
(activation sparsity, dead filters -- not the probe features, probabilities or the model) and its
provenance: when and on what machine it was trained, the Python, TensorFlow and Keras versions,
the lock file's hash, the training seconds and the executor. Sections read a record where the run
store lacks the run (see :func:`find`); a page that needs the model itself still trains it.

:mod:`fmnist_helpers.ledger.verification` retrains a record's config and compares the history
with it. This module stays light (no TensorFlow), so the full-scale table can read records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from fmnist_helpers.core import progress
from fmnist_helpers.core.config import TRAINING_CODE_VERSION, RunConfig
from fmnist_helpers.core.provenance import describe_machine, machine
from fmnist_helpers.store import readlog
from fmnist_helpers.store.runs import HISTORY_FIELDS, Run, meaning_problems, write_json

RECORDS_ENV = "FMNIST_RECORDS_DIR"
#: Extras arrays small enough to be kept as numbers in a record (per epoch).
RECORD_EXTRAS = ("conv_blocks", "zero_fraction", "dead_filters", "foreground_zero_fraction")
FORMAT = 1
#: Default tolerance of ``verification.verify`` for a record from another CPU or other versions: a
#: different instruction set rounds differently and the differences grow over SGD steps.
#: Measured 2026-12-01: the converged profile's 5 baselines, recorded on an Intel Xeon and
#: retrained on an AMD EPYC (same Python, TensorFlow, Keras and lock file), differed by at most
#: 0.008 (accuracy), 0.012 (loss), 0.020 (validation accuracy) and 0.039 (validation loss) over
#: their 20 epochs (the full-scale seed's recipe, batch 1000 at Adam 1e-4, drifts less: 0.001 over
#: 2 epochs); test accuracy by -0.97 to +0.77 points. That is about as far as two seeds of
#: the same config are apart (their largest differences: 0.047 to 0.09 in validation loss), so
#: from another machine ``verify`` shows a record is a plausible run of its config, not that it is
#: that very run: only a retrain on the record's CPU model and versions is exact.
OTHER_MACHINE_TOLERANCE = 0.05
_ROOT = Path(__file__).resolve().parents[2]


def records_dir() -> Path:
    """``$FMNIST_RECORDS_DIR``, else ``records/`` in the checkout."""
    return Path(os.environ.get(RECORDS_ENV) or _ROOT / "records")


@dataclasses.dataclass
class RecordedRun(Run):
    """A run read from its record: history, results and small extras, but no model."""

    provenance: dict = dataclasses.field(default_factory=dict)
    record_extras: dict = dataclasses.field(default_factory=dict)

    def load_model(self):
        """Raises: ValueError -- a record holds no model."""
        raise ValueError(f"run {self.config.label} is only a record ({self.path}), without its "
                         "model: train it (fmnist-report train, or build with a run store).")

    @property
    def recorded_epochs(self) -> list[int]:
        """Epochs whose small extras the record holds."""
        return sorted(int(epoch) for epoch in self.record_extras)

    def extras(self, epoch: int) -> dict[str, np.ndarray]:
        """The small extras recorded after ``epoch`` (see :data:`RECORD_EXTRAS`).

        Raises:
            ValueError: If the record holds none for that epoch.
        """
        if str(epoch) not in self.record_extras:
            raise ValueError(f"the record of {self.config.label} holds no extras at epoch "
                             f"{epoch}; it holds {self.recorded_epochs}.")
        return {name: np.asarray(values)
                for name, values in self.record_extras[str(epoch)].items()}

    @property
    def recorded(self) -> str:
        """``"recorded <date> on <machine>"``, for a note beside a number."""
        return (f"recorded {self.provenance.get('date', '?')[:10]} on "
                f"{describe_machine(self.provenance.get('machine', {}))}")


def replayed_epochs(run) -> list[int]:
    """The epochs at which a run resumed before resuming continued its random streams.

    Until 2026-12-01 a resumed run's first epoch replayed epoch 1's shuffle order, augmentation
    and dropout masks (``train._RunMonitor._continue_random_streams`` ended that); runs trained
    since say so with ``resume_exact`` in their results.

    Args:
        run: A stored or recorded run.

    Returns:
        Its resumed epochs (1-based) if it was resumed the old way, else ``[]``.
    """
    if run.result.get("resume_exact"):
        return []
    return list(run.result.get("resumed_at_epochs") or [])


def where_recorded(runs) -> list[str]:
    """Where and when recorded runs were trained, one phrase per machine, dates as a range.

    Args:
        runs: Runs; those that are not :class:`RecordedRun` are left out.

    Returns:
        E.g. ``["recorded 2026-11-30 to 2026-12-01 on Intel(R) Xeon(R) ..., 2 cores, no GPU"]``,
        sorted by machine.
    """
    dates: dict[str, list[str]] = {}
    for run in runs:
        if isinstance(run, RecordedRun):
            machine_text = describe_machine(run.provenance.get("machine", {}))
            dates.setdefault(machine_text, []).append(run.provenance.get("date", "?")[:10])
    out = []
    for machine_text, days in sorted(dates.items()):
        first, last = min(days), max(days)
        when = first if first == last else f"{first} to {last}"
        out.append(f"recorded {when} on {machine_text}")
    return out


def _json_ready(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def to_record(run: Run) -> dict[str, Any]:
    """A stored run as a record (a JSON-ready dict).

    Args:
        run: A run from the store.

    Returns:
        The record: ``format``, ``key``, ``code_version``, ``config``, ``history``,
        ``result``, ``extras`` (per recorded epoch, the :data:`RECORD_EXTRAS` it has) and
        ``provenance``.
    """
    extras = {}
    for epoch in run.recorded_epochs:
        arrays = run.extras(epoch)
        extras[str(epoch)] = {name: np.asarray(arrays[name]).tolist()
                              for name in RECORD_EXTRAS if name in arrays}
    result = dict(run.result)
    trained_on = result.pop("machine", None)
    finished = result.pop("finished", None)
    if finished is None:
        finished = dt.datetime.fromtimestamp((run.path / "result.json").stat().st_mtime,
                                             dt.timezone.utc).isoformat(timespec="seconds")
    provenance = {
        "date": finished,
        "machine": trained_on or machine(),
        "machine_recorded_at": "training" if trained_on else "export (same store)",
        "train_seconds": result.get("train_seconds"),
        "executor": result.pop("executor", "not recorded"),
        "threads": result.pop("threads", None),
    }  # nothing about the export itself: exporting the same run again gives the same file
    return _json_ready({"format": FORMAT, "key": run.key, "code_version": TRAINING_CODE_VERSION,
                        "config": run.config.to_dict(), "history": run.history, "result": result,
                        "extras": extras, "provenance": provenance})


def export(runs: list[Run], directory: Path | None = None) -> list[Path]:
    """Write each run's record to ``<directory>/<key>.json``.

    Args:
        runs: Stored runs.
        directory: Default :func:`records_dir`.

    Returns:
        The files written.
    """
    directory = Path(directory or records_dir())
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"the records directory {directory} is a file: set "
                                 f"{RECORDS_ENV} (or --out) to a directory")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for run in runs:
        path = directory / f"{run.key}.json"
        write_json(path, to_record(run))
        paths.append(path)
    return paths


class DamagedRecord(ValueError):
    """A record file that cannot be read or whose numbers cannot be true; the message names the
    file, the field, the value and the fix."""


def read(path: Path) -> RecordedRun:
    """Read one record file and check its meaning (``runs.meaning_problems``).

    Raises:
        DamagedRecord: If the file is not a record of this code version, its key does not match
            its config, or a number in it cannot be true (an accuracy outside [0, 1], a history
            longer than its epochs, ...).
    """
    fix = ("export it again from a run store that has the run (fmnist-report records export "
           "KEY), or restore it with git (git checkout -- FILE)")
    try:
        data = json.loads(Path(path).read_text())
        config = RunConfig.from_dict(data["config"])
        history, result, provenance = data["history"], data["result"], data["provenance"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DamagedRecord(f"{path} is not a run record ({type(error).__name__}: {error}); "
                            f"{fix}.") from None
    if data.get("format") != FORMAT or config.key != data.get("key"):
        raise DamagedRecord(f"{path}: format {data.get('format')} / key {data.get('key')} do not "
                            f"match this code (format {FORMAT}, key {config.key}); export it "
                            "again.")
    if not isinstance(result, dict) or not isinstance(provenance, dict):
        raise DamagedRecord(f"{path}: result and provenance must be objects; {fix}.")
    problems = meaning_problems(config, result, history)
    if problems:
        raise DamagedRecord(f"{path}: {'; '.join(problems[:3])}; {fix}.")
    return RecordedRun(config=config, path=Path(path), history=history, result=result,
                       reused=True, provenance=provenance, record_extras=data.get("extras", {}))


def find(config: RunConfig, directory: Path | None = None) -> RecordedRun | None:
    """The record of ``config``, or ``None`` (the read is logged for the rebuild cache).

    A damaged record is never used: it is reported on stderr (file, field, value, fix) and its
    run counts as missing (``fmnist-report records check`` lists every damaged record).
    """
    path = Path(directory or records_dir()) / f"{config.key}.json"
    readlog.record("result", f"record {config.key}", path)
    if not path.is_file():
        return None
    try:
        return read(path)
    except DamagedRecord as error:
        progress.say(f"record not used: {error}")
        return None


def check_records(directory: Path | None = None) -> list[str]:
    """Every damaged record in a records directory, one line each (empty: all are sound).

    Args:
        directory: Default :func:`records_dir`.

    Raises:
        NotADirectoryError: If the path exists and is not a directory.
    """
    directory = Path(directory or records_dir())
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory: set {RECORDS_ENV} to the "
                                 "directory that holds the records")
    problems = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            read(path)
        except DamagedRecord as error:
            problems.append(str(error))
    return problems


def lookup(store, config: RunConfig) -> Run | None:
    """The store's run of ``config``, else its committed record, else ``None``.

    Args:
        store: A ``RunStore`` (anything with ``get(config)``).
        config: The run config.

    Returns:
        The stored ``Run``; failing that the ``RecordedRun`` of its record; failing that ``None``.
    """
    return store.get(config) or find(config)


def digest(runs) -> str:
    """A short fingerprint of what a set of runs measured: their keys and final accuracies.

    A committed ledger keeps the digest of the grid it was judged on, so a record exported anew
    with other numbers (or a run trained again) after the judging is noticed (``plan.grid_digest``).

    Args:
        runs: Stored or recorded runs, in any order.

    Returns:
        16 hex digits of a SHA-256 over the sorted ``key val_accuracy test_accuracy`` lines.
    """
    lines = sorted(f"{run.key} {run.result.get('val_accuracy')!r} "
                   f"{run.result.get('test_accuracy')!r}" for run in runs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def compare(recorded: dict, replayed: dict, epochs: range, tolerance: float) -> list[str]:
    """The differences between two histories over some epochs.

    Args:
        recorded: A record's history.
        replayed: The history of the retrained config.
        epochs: The epochs to compare (1-based).
        tolerance: Largest absolute difference allowed (0: identical).

    Returns:
        One line per value that differs by more than ``tolerance`` (empty: they agree).
    """
    lines = []
    for name in HISTORY_FIELDS:
        for epoch in epochs:
            a, b = recorded[name][epoch - 1], replayed[name][epoch - 1]
            if a is None or b is None or abs(a - b) > tolerance:
                lines.append(f"epoch {epoch} {name}: recorded {a!r}, retrained {b!r}")
    return lines
