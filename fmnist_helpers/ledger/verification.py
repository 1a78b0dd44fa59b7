"""Checking a run record by training its config again (``fmnist-report records verify``).

The retrained history is compared value by value with the record's: identical where the record
was trained on this CPU model with these TensorFlow and Keras versions (training is
deterministic for a given thread count), within a tolerance otherwise.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import multiprocessing
import re
from pathlib import Path

import tensorflow as tf

from fmnist_helpers.core.config import RunConfig
from fmnist_helpers.core.provenance import describe_machine, machine
from fmnist_helpers.store.records import (
    OTHER_MACHINE_TOLERANCE,
    compare,
    read,
    records_dir,
    replayed_epochs,
)
from fmnist_helpers.store.runs import HISTORY_FIELDS
from fmnist_helpers.study.train import prepare

#: Tolerance for the epochs after a resume of a run resumed before resuming was exact
#: (``records.replayed_epochs``): its resumed epoch replayed epoch 1's batch order, augmentation
#: and dropout masks, so it agrees with an unbroken run only roughly (measured: a ConvNet resumed
#: at epoch 24 of 30 ended 0.13 points from the unbroken run's test accuracy). Runs resumed since
#: continue those streams and are compared at ``tolerance`` throughout.
RESUMED_TOLERANCE = 0.01


@dataclasses.dataclass
class Verification:
    """What :func:`verify` found: whether the record held, and lines to print."""

    ok: bool
    lines: list[str]


def verify(key: str, *, epochs: int | None = None, tolerance: float | None = None,
           directory: Path | None = None) -> Verification:
    """Retrain a record's config for its first ``epochs`` epochs and compare the histories.

    Epochs before the record's first old-style resume (``records.replayed_epochs``) are compared
    at ``tolerance``; later ones at least at :data:`RESUMED_TOLERANCE`.

    Args:
        key: The record's key (``records/<key>.json``).
        epochs: Epochs to retrain (default: all the record has).
        tolerance: Largest absolute difference allowed; default 0 (identical) when the record
            was trained on this CPU model with these TensorFlow and Keras versions, else
            :data:`OTHER_MACHINE_TOLERANCE`.
        directory: Default :func:`records_dir`.

    Returns:
        The :class:`Verification`.

    Raises:
        ValueError: If there is no such record, or ``epochs`` or ``tolerance`` is out of range.
    """
    if not re.fullmatch(r"[0-9a-f]{16}", str(key)):
        raise ValueError(f"{key!r} is not a run key (16 hex digits, e.g. a079dd76fc5d825d: the "
                         "name of a file in records/).")
    path = Path(directory or records_dir()) / f"{key}.json"
    if not path.is_file():
        raise ValueError(f"no record {path}: `fmnist-report records export` writes them.")
    run = read(path)
    done = len(run.history["loss"])
    epochs = done if epochs is None else epochs
    if not 1 <= epochs <= done:
        raise ValueError(f"epochs must be between 1 and {done} (the record's), got {epochs}.")
    here, there = machine(), run.provenance.get("machine", {})
    same = all(here[k] == there.get(k) for k in ("cpu", "tensorflow", "keras"))
    if tolerance is None:
        tolerance = 0.0 if same else OTHER_MACHINE_TOLERANCE
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}.")
    threads = trained_threads(run.provenance)
    replayed = replay_with_threads(run.config, epochs, threads)
    resumed = [e for e in replayed_epochs(run) if e <= epochs]
    exact = min(resumed) - 1 if resumed else epochs
    differences = compare(run.history, replayed, range(1, exact + 1), tolerance)
    differences += compare(run.history, replayed, range(exact + 1, epochs + 1),
                           max(tolerance, RESUMED_TOLERANCE))
    largest = max(abs(a - b) for name in HISTORY_FIELDS
                  for a, b in zip(run.history[name][:epochs], replayed[name])
                  if a is not None and b is not None)
    lines = [(f"record {key} ({run.config.label}), {run.recorded}; retrained here "
              f"({describe_machine(here)}) for {epochs} of {done} epoch(s)"),
             f"compared at tolerance {tolerance:g}"
             + (f" up to epoch {exact}, then {max(tolerance, RESUMED_TOLERANCE):g} (the record "
                f"resumed at epoch {min(resumed)})" if exact < epochs else "")
             + f"; largest difference {largest:.3g}",
             (f"retrained at {threads} intra-op thread(s), as the record's run was"
              if threads else "retrained with TensorFlow's default threads, as the record's "
              "run was")]
    if not same:
        lines.insert(1, f"the record was trained on {describe_machine(there)} with TensorFlow "
                        f"{there.get('tensorflow')}, Keras {there.get('keras')}: a retrain on "
                        "another CPU or versions can drift from it as far as another seed's run "
                        "does, so agreement shows a plausible run of its config, not that very "
                        "run")
    lines += differences or ["the record holds: every value agrees"]
    if differences:
        lines.append(f"MISMATCH: {len(differences)} value(s) differ")
    return Verification(ok=not differences, lines=lines)


def trained_threads(provenance: dict) -> int | None:
    """TensorFlow's intra-op threads a record's run trained with: the recorded ``threads``, else
    read from its executor ("local pool (worker with 1 thread(s))"); ``None`` for TensorFlow's
    default (a process using every core: "in-process", or not recorded)."""
    recorded = (provenance.get("threads") or {}).get("intra_op")
    if isinstance(recorded, int) and recorded > 0:
        return recorded
    found = re.search(r"with (\d+) thread", str(provenance.get("executor", "")))
    return int(found.group(1)) if found else None


def _limit_threads(threads: int) -> None:
    # Before TensorFlow runs any op in this process: the thread pools are fixed at first use.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def replay_with_threads(config: RunConfig, epochs: int, threads: int | None) -> dict[str, list]:
    """:func:`replay` at a thread count: in a new process limited to ``threads`` intra-op threads
    (and one inter-op thread, as the local pool's and Ray's workers run), or here for ``None``.
    Training is deterministic for a thread count, not across thread counts."""
    if threads is None:
        return replay(config, epochs)
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_threads, initargs=(threads,)) as pool:
        return pool.submit(replay, config, epochs).result()


def replay(config: RunConfig, epochs: int) -> dict[str, list]:
    """Fit a config's first ``epochs`` epochs exactly as :func:`train.train` does; nothing is
    stored.

    Returns:
        The history: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` per epoch.
    """
    model, _, _, datasets = prepare(config)
    history = model.fit(datasets[0], validation_data=datasets[1], epochs=epochs,
                        shuffle=False, verbose=0)
    return {name: [float(v) if math.isfinite(v) else None for v in history.history[name]]
            for name in HISTORY_FIELDS}
