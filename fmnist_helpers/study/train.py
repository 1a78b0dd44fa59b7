"""``train(config)``: fit a model for a :class:`RunConfig`, or reuse the stored run.

Training is deterministic for a config on a given machine (``keras.utils.set_random_seed`` and
TensorFlow op determinism) while the shuffle order and the augmentation still change from epoch
to epoch. A run whose loss becomes NaN or infinite is stopped and recorded as diverged rather
than raising. Extras needed by later sections (probe-set features and probabilities, activation
sparsity) are recorded at ``config.record_epochs`` so those sections never retrain.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import tensorflow as tf

from fmnist_helpers.core import progress, provenance
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.store.backup import (
    BACKUP_DIR,
    EPOCH_LOG,
    backup_epoch,
    drop_backup,
    read_json,
    use_previous_backup,
)
from fmnist_helpers.store.runs import (
    RESULT_FILE,
    Run,
    RunConfig,
    RunStore,
    check_free_space,
    write_json,
)
from fmnist_helpers.study import data as data_lib
from fmnist_helpers.study.augment import build_augmentation
from fmnist_helpers.study.data import prepared_splits
from fmnist_helpers.study.extras import record_extras
from fmnist_helpers.study.recipe import build_from_config, compile_model, flip_averaged_metrics


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _seed_states(model: keras.Model) -> list:
    """The states of the model's seed generators (dropout's), in the model's order."""
    return [v for v in model.non_trainable_variables if v.name == "seed_generator_state"]


class _RunMonitor(keras.callbacks.Callback):
    """Progress lines, divergence detection, the epoch log and extras recording during ``fit``.

    The epoch log (``epochs.json`` in the staging entry: each epoch's logs and seconds) is
    rewritten after every epoch, before Keras's backup of that epoch, so a resumed run keeps the
    history of the epochs done before the interruption.
    """

    def __init__(self, config: RunConfig, entry, verbose: bool, train_ds, train_images: int):
        super().__init__()
        self.config, self.train_ds = config, train_ds
        self.train_images = train_images
        self.window_steps = loss_window_steps(config.batch_size, train_images)
        self.windows: list[float | None] = []
        self._window_start = (0.0, 0)  # (running mean, images) at the end of the last window
        self.entry = entry
        self.verbose = verbose
        self.log_path = entry / EPOCH_LOG
        saved = read_json(self.log_path) or {}
        self.records = list(saved.get("epochs", []))
        self.resumed_at = list(saved.get("resumed_at", []))
        self.start_epoch = None
        self.diverged_epoch = None
        self.last_finite_loss = None
        self.extras_seconds = 0.0
        self.epoch_start = 0.0
        self.exact_resume = True  # every resume continued the random streams

    def on_epoch_begin(self, epoch, logs=None):
        if self.start_epoch is None:  # the first epoch of this attempt: after any restore
            self.start_epoch = epoch
            del self.records[epoch:]  # epochs logged after the last backup are redone
            if epoch == 0:
                self.resumed_at = []
            else:
                self.resumed_at.append(epoch + 1)
                self._continue_random_streams(epoch)
                if self.verbose:
                    progress.say(f"[{self.config.label}] resuming at epoch {epoch + 1}/"
                                 f"{self.config.epochs} from the backup in {self.entry}")
            for record in self.records:
                self._check_loss(record["logs"].get("loss"), record["epoch"])
            if self.diverged_epoch is not None:
                self.model.stop_training = True
        self.epoch_start = time.perf_counter()
        self.windows, self._window_start = [], (0.0, 0)

    def _continue_random_streams(self, epochs_done: int) -> None:
        """Resumed: draw the data and the dropout masks an uninterrupted run would draw next.

        Keras's backup holds no seed generator (dropout's); the epoch log does. Without this the
        first resumed epoch replayed epoch 1's shuffle order, augmentation and dropout masks
        (its training accuracy jumped 3 points at full scale). A test compares the history of a
        killed and resumed run with an uninterrupted one's: equal.
        """
        data_lib.advance_pipeline(self.train_ds, epochs_done, augmented=bool(self.config.augment))
        states = self.records[epochs_done - 1].get("seed_states")
        # An epoch logged by older code (no states): this or an earlier resume replayed.
        self.exact_resume = all("seed_states" in r for r in self.records[:epochs_done])
        for variable, state in zip(_seed_states(self.model), states or []):
            variable.assign(state)

    def on_train_batch_end(self, batch, logs=None):
        # Keras logs the epoch's running mean of the loss (weighted by images); the mean over
        # the last window of steps follows from two running means. Read every few steps only:
        # reading it forces a synchronisation (every step would cost ~15% of the throughput).
        steps = (self.params or {}).get("steps") or math.inf
        if (batch + 1) % self.window_steps and batch + 1 != steps:
            return
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        mean = float(loss)
        images = min((batch + 1) * self.config.batch_size, self.train_images)
        start_mean, start_images = self._window_start
        window = (mean * images - start_mean * start_images) / max(images - start_images, 1)
        self.windows.append(window if math.isfinite(window) else None)
        self._window_start = (mean, images)

    def _check_loss(self, loss, epoch_number):
        if loss is not None and math.isfinite(float(loss)):
            self.last_finite_loss = float(loss)
        elif loss is not None and self.diverged_epoch is None:
            self.diverged_epoch = epoch_number

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self.epoch_start
        # Checked once per epoch: reading the loss after every batch would force a
        # synchronisation per step and cost ~15% of the throughput.
        self._check_loss(logs.get("loss"), epoch + 1)
        if self.diverged_epoch is not None:
            self.model.stop_training = True
        self.records.append({"epoch": epoch + 1, "seconds": seconds,
                             "logs": {name: float(value) for name, value in logs.items()},
                             "loss_windows": self.windows, "seed_states": [
                                 v.numpy().tolist() for v in _seed_states(self.model)]})
        write_json(self.log_path, {"epochs": self.records, "resumed_at": self.resumed_at})
        if self.verbose:
            parts = [f"[{self.config.label}] epoch {epoch + 1}/{self.config.epochs}"]
            for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
                if name in logs:
                    parts.append(f"{name} {float(logs[name]):.4f}")
            parts.append(f"{seconds:.1f}s")
            left = self.config.epochs - (epoch + 1)
            if left and seconds >= 30:  # long runs: say when they will end
                recent = [r["seconds"] for r in self.records[-5:]]
                parts.append(f"(about {left * sum(recent) / len(recent) / 60:.0f} min left)")
            if self.diverged_epoch is not None:
                parts.append("DIVERGED")
            progress.say("  ".join(parts))
        if epoch + 1 in self.config.record_epochs and self.diverged_epoch is None:
            start = time.perf_counter()
            record_extras(self.model, self.config.probe_size,
                          self.entry / "extras" / f"epoch_{epoch + 1:03d}.npz")
            self.extras_seconds += time.perf_counter() - start

    def history(self) -> dict[str, list[float]]:
        """Every epoch's logs, those of earlier attempts included, as Keras's ``History``."""
        names = list(self.records[0]["logs"]) if self.records else []
        return {name: [record["logs"][name] for record in self.records] for name in names}

    def loss_windows(self) -> list[float | None]:
        """The training loss averaged over every window of ``window_steps`` steps, all epochs."""
        return [w for record in self.records for w in record.get("loss_windows", [])]

    def earlier_seconds(self) -> float:
        """Training time of the epochs done by earlier attempts."""
        return sum(record["seconds"] for record in self.records[:self.start_epoch or 0])


def loss_window_steps(batch_size: int, train_images: int) -> int:
    """Steps per window of the recorded training loss: about ten windows per epoch.

    Raises:
        ValueError: If either count is not positive.
    """
    if batch_size < 1 or train_images < 1:
        raise ValueError(f"batch_size and train_images must be positive, got {batch_size} and "
                         f"{train_images}.")
    return max(1, math.ceil(train_images / batch_size) // 10)


def prepare(config: RunConfig):
    """A config's seeded, compiled model and its data pipelines, built in the order a run key
    reproduces (seed, model, then the data: tf.data's shuffle seed combines with the global seed).

    Args:
        config: The run config.

    Returns:
        ``(model, fresh_model, arrays, (train_ds, val_ds, test_ds))``; ``fresh_model()`` seeds
        and builds the model again.

    Raises:
        ValueError: If the precision is not supported here (``provenance.check_precision``).
        FileNotFoundError: If the data cannot be found.
    """
    provenance.check_precision(config.precision)
    arrays = prepared_splits(config.train_size, config.val_size, config.test_size)
    steps_per_epoch = math.ceil(len(arrays["y_train"]) / config.batch_size)

    def fresh_model() -> keras.Model:
        set_determinism(config.seed)
        model = build_from_config(config)
        compile_model(model, config, steps_per_epoch)
        return model

    model = fresh_model()
    augmentation = build_augmentation(config.augment, seed=config.seed)
    train_ds = data_lib.make_dataset(arrays["x_train"], arrays["y_train"],
                                     batch_size=config.batch_size, training=True,
                                     seed=config.seed, augmentation=augmentation)
    # Evaluated with the training batch size, as Keras does (big batches are slow on CPUs).
    val_ds = data_lib.make_dataset(arrays["x_val"], arrays["y_val"], batch_size=config.batch_size)
    test_ds = data_lib.make_dataset(arrays["x_test"], arrays["y_test"],
                                    batch_size=config.batch_size)
    return model, fresh_model, arrays, (train_ds, val_ds, test_ds)


def train(config: RunConfig | None = None, *, store: RunStore | None = None,
          verbose: bool = True, **overrides) -> Run:
    """Train a run, or return it from the store if it was trained before.

    Args:
        config: What to train (default ``RunConfig()``, the seed's ConvNet at full scale).
        store: The run store (default: ``RunStore()``).
        verbose: Print a line per epoch (to stderr).
        **overrides: Fields of the config to change, e.g. ``epochs=2``.

    Returns:
        The :class:`Run`; ``run.reused`` tells whether it came from the store.

    Raises:
        ValueError: If the config is invalid, or asks for ``mixed_bfloat16`` on a CPU without
            native bfloat16 (``provenance.check_precision``).
        FileNotFoundError: If the data cannot be found.
    """
    config = config or RunConfig()
    if overrides:
        config = config.replace(**overrides)
    store = store or RunStore()
    stored = store.get(config)
    if stored is not None:
        if verbose:
            progress.say(f"[{config.label}] reused from {stored.path}")
        return stored

    model, fresh_model, arrays, datasets = prepare(config)
    store.root.mkdir(parents=True, exist_ok=True)
    check_free_space(store.root, model.count_params())  # before anything is written
    entry = store.staging_entry(config)
    try:
        run = _fit_into(entry, model, fresh_model, config, arrays, datasets, store, verbose)
    finally:
        store.release(entry)
    return run


def _drop_backup(entry: Path, config: RunConfig, reason: str) -> None:
    progress.say(f"[{config.label}] {reason}; training from the start.")
    drop_backup(entry)


def _fit_into(entry, model, fresh_model, config, arrays, datasets, store, verbose) -> Run:
    """Fit (resuming from a backup in ``entry`` if there is one), evaluate and commit.

    ``fresh_model()`` rebuilds the model if the backup cannot be restored. The backup is kept
    until the entry is committed, so an interruption after the last epoch (while evaluating or
    saving) loses nothing.
    """
    train_ds, val_ds, test_ds = datasets
    if verbose:
        progress.say(f"[{config.label}] training {config.model} for {config.epochs} epoch(s) on "
                     f"{len(arrays['y_train'])} images -> {store.root}")
    restored = backup_epoch(entry / BACKUP_DIR)
    logged = len((read_json(entry / EPOCH_LOG) or {}).get("epochs", []))
    if restored is not None and logged < restored:
        # The epoch log must hold every epoch the backup has done, or the history is incomplete.
        _drop_backup(entry, config, f"the backup in {entry / BACKUP_DIR} does not match its "
                     f"epoch log ({logged} epoch(s) logged, backup at {restored})")
    attempt = "resume"
    while True:
        monitor = _RunMonitor(config, entry, verbose, train_ds, len(arrays["y_train"]))
        # Saves weights, optimizer state (so a learning-rate schedule goes on where it was) and
        # the epoch after every epoch, keeping the one before in case the process dies while
        # writing; restores them when fit starts. Kept after fit: removed only once the entry
        # is complete.
        backup = keras.callbacks.BackupAndRestore(str(entry / BACKUP_DIR), double_checkpoint=True,
                                                  delete_checkpoint=False)
        first_extras = entry / "extras" / "epoch_000.npz"
        if 0 in config.record_epochs and not first_extras.is_file():
            record_extras(model, config.probe_size, first_extras)
        start = time.perf_counter()
        # With a weight average, every validation (per epoch and final) uses the averaged weights.
        swap = [keras.callbacks.SwapEMAWeights()] if config.ema_momentum > 0 else []
        try:
            model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                      callbacks=[*swap, monitor, backup], shuffle=False,
                      verbose=0)  # tf.data shuffles
        except Exception as error:
            # Only a failure while restoring the backup (before the first epoch began) is
            # handled: Keras raises what the damaged file provokes (RuntimeError, OSError,
            # KeyError, ...). Any other failure is raised again.
            restoring = monitor.start_epoch is None and (entry / BACKUP_DIR).exists()
            if not restoring or attempt == "fresh":
                raise
            reason = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            if attempt == "resume" and use_previous_backup(entry / BACKUP_DIR):
                progress.say(f"[{config.label}] the last backup cannot be restored ({reason}); "
                             "trying the one before.")
                attempt = "previous backup"
            else:
                _drop_backup(entry, config, f"the backup in {entry / BACKUP_DIR} cannot be "
                             f"restored ({reason})")
                attempt = "fresh"
            model = fresh_model()
            continue
        break
    if monitor.start_epoch is None:  # the backup was at the last epoch: nothing left to train
        monitor.start_epoch = len(monitor.records)
    fit_seconds = (time.perf_counter() - start - monitor.extras_seconds
                   + monitor.earlier_seconds())
    history = monitor.history()
    epochs_completed = len(history.get("loss", []))
    val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)
    test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
    plain = {"val_accuracy_no_flip": float(val_accuracy), "test_accuracy_no_flip":
             float(test_accuracy)} if config.test_flip else {}
    if config.test_flip:
        val_loss, val_accuracy = flip_averaged_metrics(model, arrays["x_val"], arrays["y_val"],
                                                       config.batch_size)
        test_loss, test_accuracy = flip_averaged_metrics(model, arrays["x_test"],
                                                         arrays["y_test"], config.batch_size)
    diverged = monitor.diverged_epoch is not None or not math.isfinite(test_loss)
    result = {
        "val_accuracy": float(val_accuracy),
        "val_loss": float(val_loss),
        "best_val_accuracy": max(history.get("val_accuracy", [val_accuracy])),
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "diverged": diverged,
        "diverged_epoch": monitor.diverged_epoch or (epochs_completed if diverged else None),
        "last_finite_loss": monitor.last_finite_loss,
        "epochs_completed": epochs_completed,
        "resumed_at_epochs": monitor.resumed_at, "resume_exact": monitor.exact_resume,
        "train_seconds": fit_seconds,
        "images_per_second": len(arrays["y_train"]) * epochs_completed / max(fit_seconds, 1e-9),
        "train_images": len(arrays["y_train"]),
        "val_images": len(arrays["y_val"]),
        "test_images": len(arrays["y_test"]),
        "parameters": int(model.count_params()),
        "loss_window_steps": monitor.window_steps,
        "train_loss_windows": monitor.loss_windows(),
        "keras_version": keras.__version__, **plain, **provenance.stamp(),
    }
    model.save(entry / "model.keras")
    write_json(entry / "history.json", history)
    write_json(entry / RESULT_FILE, result)
    # Only now is the backup no longer needed (an interruption up to here resumes at the end).
    drop_backup(entry)
    path = store.commit(config, entry)
    run = store.get(config)
    if run is None:
        raise RuntimeError(f"run store: the entry of {config.label} just committed to {path} "
                           "failed its check; see the message above.")
    run.reused = False
    if verbose:
        status = (f"DIVERGED at epoch {result['diverged_epoch']}" if diverged else
                  f"val_accuracy {val_accuracy:.4f}  test_accuracy {test_accuracy:.4f}")
        progress.say(f"[{config.label}] done in {fit_seconds:.1f}s: {status} -> {path}")
    return run


def baseline_run(profile_name: str, *, verbose: bool = True, **changes) -> Run:
    """Train (or reuse) a profile's baseline ConvNet, optionally with changes.

    The unchanged baseline is shared by every section that looks at "our ConvNet", so it is
    trained once per profile.

    Args:
        profile_name: a name in ``profiles.PROFILES``.
        verbose: Print a line per epoch.
        **changes: Run config fields to change.

    Returns:
        The run.

    Raises:
        ValueError: If the profile or a change is invalid.
    """
    config = get_profile(profile_name).baseline()
    return train(config.replace(**changes) if changes else config, verbose=verbose)
