"""Run records: export and read back exactly, verify against a retrained config, fill the
full-scale table from records when the run store is empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmnist_helpers import display, fullscale, provenance, records, verification
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.train import train

COMMITTED = Path(__file__).resolve().parent.parent / "records"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A smoke run (2 epochs, extras at epochs 0 and 2) trained here and exported."""
    root = tmp_path_factory.mktemp("records")
    config = get_profile("smoke").baseline().replace(epochs=2, record_epochs=(0, 2))
    run = train(config, store=RunStore(root / "runs"), verbose=False)
    (path,) = records.export([run], root / "records")
    return run, path


@pytest.mark.slow
def test_a_record_round_trips_exactly_and_says_where_it_was_trained(recorded):
    run, path = recorded
    back = records.read(path)
    assert back.config == run.config and back.key == run.key == path.stem
    assert back.history == run.history
    assert {k: v for k, v in back.result.items()} == {
        k: v for k, v in run.result.items()
        if k not in ("machine", "finished", "executor", "threads")}
    assert back.provenance["threads"] == run.result["threads"] == provenance.threads()
    assert back.recorded_epochs == [0, 2]
    for epoch in (0, 2):
        for name, values in back.extras(epoch).items():
            assert np.array_equal(values, run.extras(epoch)[name]), name
    assert back.provenance["machine"] == run.result["machine"] == provenance.machine()
    assert back.provenance["machine_recorded_at"] == "training"
    assert back.provenance["executor"] == "in-process"
    assert back.recorded.startswith("recorded 20") and "cores" in back.recorded
    with pytest.raises(ValueError, match="only a record"):
        back.load_model()
    data = json.loads(path.read_text())
    assert "features" not in json.dumps(data["extras"])  # small numbers only, never the probes
    assert path.stat().st_size < 50_000


@pytest.mark.slow
def test_verify_passes_on_an_untouched_record_and_fails_on_a_tampered_one(recorded, tmp_path):
    _, path = recorded
    good = verification.verify(path.stem, directory=path.parent)
    assert good.ok, good.lines
    assert "compared at tolerance 0;" in good.lines[1] and "largest difference 0" in good.lines[1]
    data = json.loads(path.read_text())
    data["history"]["val_accuracy"][0] += 0.002
    (tmp_path / path.name).write_text(json.dumps(data))
    env = {**os.environ, "FMNIST_RECORDS_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "fmnist_helpers.build.cli", "records", "verify",
                             path.stem, "--epochs", "1"], capture_output=True, text=True,
                            env=env, timeout=600, check=False)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "epoch 1 val_accuracy: recorded" in result.stdout
    assert "MISMATCH: 1 value" in result.stdout


def test_the_full_scale_table_reads_records_where_the_store_has_no_run(tmp_path, monkeypatch):
    config = fullscale.full_scale_configs()["convnet_recipe"]
    history = {name: [0.5] * config.epochs for name in ("loss", "accuracy", "val_loss",
                                                          "val_accuracy")}
    for seed, accuracy, day in ((0, 0.9402, "2026-11-30"), (1, 0.9415, "2026-12-01")):
        seeded = config.replace(seed=seed)
        (tmp_path / f"{seeded.key}.json").write_text(json.dumps({
            "format": records.FORMAT, "key": seeded.key, "config": seeded.to_dict(),
            "history": history, "extras": {},
            "result": {"test_accuracy": accuracy, "val_accuracy": 0.943,
                       "best_val_accuracy": 0.945, "train_seconds": 5400.0,
                       "images_per_second": 300.0, "epochs_completed": 30, "diverged": False,
                       # seed 0 resumed the old way (replaying epoch 1's data), seed 1 exactly
                       "resumed_at_epochs": [12 + seed], "resume_exact": bool(seed)},
            "provenance": {"date": f"{day}T12:00:00+00:00",
                           "machine": {"cpu": "Test CPU", "cores": 2, "gpus": []}}}))
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(tmp_path))
    table = fullscale.full_scale_table(RunStore(tmp_path / "empty"))
    row = table.loc["Our ConvNet, standard recipe"]
    assert row["seeds"] == 2 and row["test_accuracy"] == pytest.approx(0.94085)
    assert row["ci_low"] < 0.9402 and row["ci_high"] > 0.9415
    # One phrase per machine, its dates as a range (not one phrase per date).
    assert row["source"] == "recorded 2026-11-30 to 2026-12-01 on Test CPU, 2 cores, no GPU"
    assert table.loc["Our ConvNet (seed's recipe)", "seeds"] == 0
    assert row["replayed"] == {0: [12]}
    note = fullscale.replay_note(table)
    assert "Our ConvNet, standard recipe: seed 0 at epoch 12." in note and "seed 1" not in note
    page = display.full_scale_table(table).data
    assert "seed 0 at epoch 12." in page and "<code>fmnist-report records verify" in page
    assert fullscale.replay_note(fullscale.full_scale_table(RunStore(tmp_path / "empty"),
                                                            max_seeds=0)) == ""


def test_every_committed_record_reads_back_and_matches_its_key():
    paths = sorted(COMMITTED.glob("*.json"))
    for path in paths:
        run = records.read(path)
        assert run.key == path.stem
        assert len(run.history["val_accuracy"]) == run.result["epochs_completed"]
        assert run.provenance["machine"]["cores"] >= 1


@pytest.mark.slow
def test_a_run_trained_by_the_local_pool_verifies_exactly_at_tolerance_0(tmp_path):
    """The pool's workers train with one thread each: the record says so and verify retrains
    at that count (it reported a false MISMATCH when it retrained with the default threads)."""
    from fmnist_helpers import executor

    config = get_profile("smoke").run_config(epochs=2)
    store = RunStore(tmp_path / "runs")
    outcome = executor.execute([config, config.replace(seed=1)], workers=2, store=store)
    assert outcome.ok
    (path,) = records.export([store.get(config)], tmp_path / "records")
    data = json.loads(path.read_text())
    assert data["provenance"]["executor"].startswith("local pool")
    assert data["provenance"]["threads"]["intra_op"] == executor.worker_threads(2)
    report = verification.verify(path.stem, tolerance=0.0, directory=path.parent)
    assert report.ok, report.lines
    assert any(f"at {executor.worker_threads(2)} intra-op thread" in line
               for line in report.lines)
