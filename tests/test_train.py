"""Training on real data: beats chance, deterministic, reused, atomic, divergence recorded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fmnist_helpers import records
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.store.runs import RunConfig, RunStore
from fmnist_helpers.study.train import train

pytestmark = pytest.mark.slow


def test_smoke_run_beats_chance_and_records_everything(tiny_config, store):
    config = tiny_config.replace(record_epochs=(0, 2))
    run = train(config, store=store, verbose=False)
    assert not run.reused and not run.diverged
    assert run["val_accuracy"] > 0.5 and run["test_accuracy"] > 0.5  # chance is 0.1
    assert len(run.history["loss"]) == 2 and len(run.history["val_accuracy"]) == 2
    assert run.recorded_epochs == [0, 2]
    before, after = run.extras(0), run.extras(2)
    assert before["features"].shape == (200, models_fc2_units(config))
    assert before["probs"].shape == (200, 10)
    np.testing.assert_allclose(after["probs"].sum(axis=1), 1.0, rtol=1e-5)
    assert list(after["conv_blocks"]) == ["conv1", "conv2", "conv3", "conv4"]
    assert ((0 <= after["zero_fraction"]) & (after["zero_fraction"] <= 1)).all()
    trained_accuracy = (after["probs"].argmax(1) == after["labels"]).mean()
    assert trained_accuracy > (before["probs"].argmax(1) == before["labels"]).mean()
    model = run.load_model()
    assert model.count_params() == run["parameters"]
    with pytest.raises(ValueError, match="recorded no extras at epoch 1"):
        run.extras(1)


def models_fc2_units(config):
    return max(1, round(1024 * config.width))


def test_same_config_gives_same_metrics(tiny_config, tmp_path):
    import keras

    config = tiny_config.replace(epochs=1, augment=("flip",))
    first = train(config, store=RunStore(tmp_path / "a"), verbose=False)
    keras.utils.set_random_seed(12345)  # whatever ran before must not matter (e.g. tf.data's
    second = train(config, store=RunStore(tmp_path / "b"), verbose=False)  # shuffle seed)
    assert first.history == second.history
    assert first["test_accuracy"] == second["test_accuracy"]
    other_seed = train(config.replace(seed=1), store=RunStore(tmp_path / "c"), verbose=False)
    assert other_seed.history != first.history


def test_store_reuses_the_run(tiny_config, store):
    config = tiny_config.replace(epochs=1)
    first = train(config, store=store, verbose=False)
    stamp = (first.path / "model.keras").stat().st_mtime_ns
    start = time.perf_counter()
    again = train(config, store=store, verbose=False)
    assert again.reused and again.key == first.key
    assert (again.path / "model.keras").stat().st_mtime_ns == stamp
    assert again.result == first.result
    assert time.perf_counter() - start < 5  # a read, not a training run (generous bound)


def test_diverging_run_is_recorded_not_raised(tiny_config, store):
    config = tiny_config.replace(optimizer="sgd", learning_rate=1e4, epochs=3, dropout=0.0)
    run = train(config, store=store, verbose=False)
    assert run.diverged
    assert run["diverged_epoch"] == 1
    assert run["epochs_completed"] <= 3
    assert store.get(config) is not None  # recorded like any other run


def test_run_killed_half_way_leaves_no_entry_and_resumes_where_it_stopped(tmp_path):
    import keras

    store = RunStore(tmp_path / "runs")
    config = get_profile("smoke").run_config(epochs=8, lr_schedule="cosine",
                                             record_epochs=(0, 1, 3), augment=("flip", "translate"))
    env = {**os.environ, "FMNIST_RUNS_DIR": str(store.root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = [sys.executable, "-m", "fmnist_helpers.build.cli", "train", "convnet", "--profile",
            "smoke", "--set", "epochs=8", "--set", "lr_schedule=cosine", "--set",
            "record_epochs=0,1,3", "--set", "augment=flip,translate"]
    process = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "epoch 3/8" in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (store.root / config.key).exists()
    assert store.get(config) is None  # nothing that looks complete
    staging = store.root / f".partial-{config.key}"
    assert (staging / "backup").is_dir() and (staging / "epochs.json").is_file()
    # The same interruption, its epoch log as code before exact resuming wrote it (no seed
    # states): that resume is marked as one that replayed epoch 1's random streams.
    older = RunStore(tmp_path / "older")
    older.root.mkdir()
    shutil.copytree(staging, older.root / staging.name)
    log = json.loads((staging / "epochs.json").read_text())
    for record in log["epochs"]:
        del record["seed_states"]
    (older.root / staging.name / "epochs.json").write_text(json.dumps(log))
    replayed = train(config, store=older, verbose=False)
    assert replayed["resume_exact"] is False
    assert records.replayed_epochs(replayed) == replayed["resumed_at_epochs"] != []

    run = train(config, store=store, verbose=False)  # the same config again: resumes
    assert run["resumed_at_epochs"] in ([3], [4])  # epoch 3's backup may not have been written
    assert run["resume_exact"] is True and records.replayed_epochs(run) == []
    assert run["epochs_completed"] == 8 and len(run.history["val_accuracy"]) == 8
    assert run["test_accuracy"] > 0.5
    assert not staging.exists()
    assert not (run.path / "backup").exists() and not (run.path / "epochs.json").exists()
    assert sorted(p.name for p in (run.path / "extras").iterdir()) == [
        "epoch_000.npz", "epoch_001.npz", "epoch_003.npz"]
    model = keras.models.load_model(run.path / "model.keras")
    # The optimizer state came back with the weights: the cosine schedule ran its whole course.
    assert int(model.optimizer.iterations) == 8 * 1000 // 50
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    # The resumed epochs saw the batches (shuffle order, augmentation) of an uninterrupted run,
    # not epoch 1's again: the same config trained without a break gives the same history.
    straight = train(config, store=RunStore(tmp_path / "straight"), verbose=False)
    assert straight["resumed_at_epochs"] == []
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert run.history[name] == straight.history[name], name
    assert run["test_accuracy"] == straight["test_accuracy"]


def test_a_backup_that_cannot_be_restored_is_dropped_and_the_run_starts_over(tiny_config,
                                                                             tmp_path, capsys):
    config = tiny_config.replace(augment=("flip",))  # the data stream must start over too
    store = RunStore(tmp_path / "damaged")
    staging = store.staging_entry(config)
    store.release(staging)
    (staging / "backup").mkdir()
    (staging / "backup" / "latest.weights.h5").write_bytes(b"cut off mid-write")
    run = train(config, store=store)
    assert "cannot be restored" in capsys.readouterr().err
    assert run["resumed_at_epochs"] == [] and run["epochs_completed"] == config.epochs
    assert run["test_accuracy"] > 0.3
    # The failed restore touched neither the shuffle order, the augmentation's stream nor the
    # weights: the run equals one that never had a backup.
    straight = train(config, store=RunStore(tmp_path / "straight"), verbose=False)
    assert run.history == straight.history
    assert run["test_accuracy"] == straight["test_accuracy"]


def test_a_run_being_trained_elsewhere_gets_a_private_staging_directory(tmp_path):
    config = get_profile("smoke").run_config()
    first, second = RunStore(tmp_path), RunStore(tmp_path)  # as two processes would
    held = first.staging_entry(config)
    assert held.name == f".partial-{config.key}"
    other = second.staging_entry(config)
    assert other.name.startswith(f".tmp-{config.key}-")
    first.release(held)
    assert second.staging_entry(config) == held  # free again


def test_smoothed_crossentropy_matches_keras_and_the_formula():
    import keras

    from fmnist_helpers.study.recipe import SmoothedSparseCrossentropy

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 10)).astype("float32")
    labels = rng.integers(0, 10, size=6).astype("int32")
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(float(SmoothedSparseCrossentropy(0.0)(labels, logits)),
                               float(plain), rtol=1e-5)
    s = 0.1
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    target = np.full((6, 10), s / 10) + (1 - s) * np.eye(10)[labels]
    expected = -(target * log_p).sum(axis=1).mean()
    np.testing.assert_allclose(float(SmoothedSparseCrossentropy(s)(labels, logits)), expected,
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        SmoothedSparseCrossentropy(1.5)


def test_cosine_schedule_spans_the_run_and_constant_stays_a_number(tiny_config):
    from fmnist_helpers.study.recipe import learning_rate_for

    assert learning_rate_for(tiny_config, 20) == tiny_config.learning_rate
    schedule = learning_rate_for(tiny_config.replace(lr_schedule="cosine"), 20)
    total = tiny_config.epochs * 20
    assert float(schedule(0)) == pytest.approx(tiny_config.learning_rate)
    assert float(schedule(total // 2)) == pytest.approx(tiny_config.learning_rate / 2, rel=1e-4)
    assert float(schedule(total)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="steps_per_epoch must be at least 1"):
        learning_rate_for(tiny_config, 0)


def test_standard_recipe_trains_and_its_schedule_ends_at_zero(tiny_config, store):
    import keras

    from fmnist_helpers.study.fullscale import STANDARD_RECIPE

    config = tiny_config.replace(**STANDARD_RECIPE).replace(batch_size=50)
    run = train(config, store=store, verbose=False)
    assert not run.diverged and run["test_accuracy"] > 0.5
    model = keras.models.load_model(run.path / "model.keras")  # registered loss, with optimizer
    assert model.loss.label_smoothing == pytest.approx(0.1)
    assert int(model.optimizer.iterations) == config.epochs * 1000 // 50
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_long_epochs_print_the_time_left(tmp_path, capsys):
    import keras

    from fmnist_helpers.study.train import _RunMonitor

    monitor = _RunMonitor(RunConfig(epochs=30), tmp_path, verbose=True, train_ds=None,
                          train_images=54000)
    monitor.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    monitor.on_epoch_begin(0)
    monitor.epoch_start -= 60  # as if the first epoch took a minute
    monitor.on_epoch_end(0, {"loss": 0.5, "val_accuracy": 0.8})
    line = capsys.readouterr().err
    assert "epoch 1/30" in line and "(about 29 min left)" in line
    assert (tmp_path / "epochs.json").is_file()  # the epoch log a resumed run reads back


def test_the_training_loss_is_recorded_per_window_of_steps(tiny_config, store):
    """The per-window training loss (claims 5 and 6 judge oscillation on it) is the mean of the
    batch losses of its window: the windows of an epoch average, weighted by images, to the
    epoch's logged training loss."""
    from fmnist_helpers.study.train import loss_window_steps

    run = train(tiny_config, store=store, verbose=False)
    steps = loss_window_steps(tiny_config.batch_size, run["train_images"])
    assert run["loss_window_steps"] == steps
    windows = run["train_loss_windows"]
    per_epoch = -(-run["train_images"] // tiny_config.batch_size)  # steps per epoch
    per_epoch_windows = -(-per_epoch // steps)
    assert len(windows) == per_epoch_windows * tiny_config.epochs
    first = np.array(windows[:per_epoch_windows])
    images = [min(steps * tiny_config.batch_size, run["train_images"] - i * steps
                  * tiny_config.batch_size) for i in range(per_epoch_windows)]
    assert np.average(first, weights=images) == pytest.approx(run.history["loss"][0], rel=1e-4)
    with pytest.raises(ValueError, match="must be positive"):
        loss_window_steps(0, 100)


def test_a_weight_average_is_what_validation_sees_and_what_the_run_keeps(tiny_config, store):
    """With ``ema_momentum`` every validation uses the averaged weights (the last epoch's
    validation equals the final one, which uses the weights fit ends with), and the average
    changes the result; existing configs keep their keys."""
    assert tiny_config.replace(ema_momentum=0.0, test_flip=False).key == tiny_config.key
    averaged = train(tiny_config.replace(ema_momentum=0.9), store=store, verbose=False)
    plain = train(tiny_config, store=store, verbose=False)
    for run in (averaged, plain):
        assert run.history["val_accuracy"][-1] == pytest.approx(run["val_accuracy"], abs=1e-6)
    assert averaged["val_accuracy"] != plain["val_accuracy"]
    assert "test_accuracy_no_flip" not in averaged.result


def test_flip_averaged_test_metrics_are_recorded_beside_the_plain_ones(tiny_config, store):
    from fmnist_helpers.study.data import prepared_splits
    from fmnist_helpers.study.recipe import flip_averaged_metrics

    run = train(tiny_config.replace(test_flip=True), store=store, verbose=False)
    plain = train(tiny_config, store=store, verbose=False)
    assert run["test_accuracy_no_flip"] == pytest.approx(plain["test_accuracy"], abs=1e-6)
    splits = prepared_splits(tiny_config.train_size, tiny_config.val_size, tiny_config.test_size)
    loss, accuracy = flip_averaged_metrics(run.load_model(), splits["x_test"], splits["y_test"],
                                           tiny_config.batch_size)
    assert run["test_accuracy"] == pytest.approx(accuracy) and run["test_loss"] == pytest.approx(
        loss, rel=1e-5)
    assert run["test_accuracy"] != run["test_accuracy_no_flip"]
    with pytest.raises(ValueError, match="ema_momentum must be in"):
        tiny_config.replace(ema_momentum=1.0)


def test_bfloat16_runs_compute_in_bfloat16_and_keep_float32_weights_and_logits(tiny_config,
                                                                               store):
    """``precision=mixed_bfloat16``: every hidden layer computes in bfloat16 with float32
    weights, the logits (and so the loss) stay float32, the key changes while float32 configs
    keep theirs, and the run trains and round-trips through the store."""
    import keras

    from fmnist_helpers import provenance
    from fmnist_helpers.study.recipe import build_from_config

    assert tiny_config.replace(precision="float32", weight_decay=0.0).key == tiny_config.key
    config = tiny_config.replace(precision="mixed_bfloat16", batch_norm=True)
    assert config.key != tiny_config.replace(batch_norm=True).key
    model = build_from_config(config)
    hidden = [layer for layer in model.layers
              if layer.name != "logits" and layer.name != "image"]
    assert hidden and all(layer.dtype_policy.name == "mixed_bfloat16" for layer in hidden)
    assert all(w.dtype == "float32" for w in model.weights)
    assert model.get_layer("logits").dtype_policy.name == "float32"
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    logits = model(np.zeros((2, 28, 28, 1), "float32"))
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    if not provenance.cpu_flags() & set(provenance.BFLOAT16_FLAGS):
        pytest.skip("this CPU has no native bfloat16: training is refused (tested elsewhere)")
    run = train(config, store=store, verbose=False)
    assert run.config.precision == "mixed_bfloat16" and 0.1 < run["test_accuracy"] <= 1.0
    assert store.get(config).config == config


def test_bfloat16_is_refused_without_native_support_unless_forced(tiny_config, store,
                                                                  monkeypatch):
    from fmnist_helpers import provenance

    monkeypatch.setattr(provenance, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(provenance, "_gpus", list)
    monkeypatch.delenv(provenance.FORCE_BFLOAT16_ENV, raising=False)
    config = tiny_config.replace(precision="mixed_bfloat16", epochs=1)
    with pytest.raises(ValueError, match="avx512_bf16 or amx_bf16 missing.*FMNIST_FORCE_BFLOAT16"):
        train(config, store=store, verbose=False)
    assert store.get(config) is None
    provenance.check_precision("float32")  # float32 is never refused
    monkeypatch.setenv(provenance.FORCE_BFLOAT16_ENV, "1")
    provenance.check_precision("mixed_bfloat16")


def test_weight_decay_shrinks_the_weights_and_changes_the_key(tiny_config, store):
    decayed = tiny_config.replace(weight_decay=0.5, epochs=1)
    plain = tiny_config.replace(epochs=1)
    assert decayed.key != plain.key
    norms = [float(np.sqrt(sum(np.sum(np.square(w)) for w in
                               train(c, store=store, verbose=False).load_model().get_weights())))
             for c in (decayed, plain)]
    assert norms[0] < norms[1]
    with pytest.raises(ValueError, match="weight_decay must be in"):
        tiny_config.replace(weight_decay=-0.1)
