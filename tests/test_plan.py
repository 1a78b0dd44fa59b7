"""The planned run grid and the local executor, on real smoke runs in a temporary store."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from fmnist_helpers import executor, fullscale, plan
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import SECTION_NAMES
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.studies import study_configs
from fmnist_helpers.study.train import train


def test_the_plan_comes_from_the_registry_without_duplicates(tmp_path):
    store = RunStore(tmp_path)
    smoke = get_profile("smoke")
    runs = plan.plan("smoke", store=store)
    keys = [r.config.key for r in runs]
    assert len(keys) == len(set(keys))
    assert not any(r.stored for r in runs)
    assert runs[0].config == smoke.baseline() and runs[0].describe("smoke") == "baseline, seed 0"
    # Every study's configs are planned, the same ones the notebooks train.
    expected = {c.key for name in ("initialization", "layers", "augmentation")
                for _, _, c in study_configs(name, "smoke")}
    assert expected <= set(keys)
    by_key = {r.config.key: r for r in runs}
    assert set(by_key[smoke.baseline().key].sections) >= {"02_convnet", "10_conclusions"}
    assert set(plan.plan("smoke", ["10_conclusions"], store=store)[0].sections) == {
        "10_conclusions"}
    with pytest.raises(ValueError, match="unknown section '11_extra'"):
        plan.plan("smoke", ["11_extra"], store=store)
    assert len(plan.plan("smoke", ["accuracy"], store=store)) == (
        len(fullscale.FULL_SCALE_ROWS) * plan.ACCURACY_SEEDS)
    assert SECTION_NAMES[0] == "00_data" and plan.section_runs("00_data", "smoke") == []


@pytest.mark.slow
def test_plan_on_a_half_filled_store_lists_exactly_the_missing_runs(tmp_path):
    store = RunStore(tmp_path)
    smoke = get_profile("smoke")
    train(smoke.baseline(), store=store, verbose=False)
    runs = plan.plan("smoke", ["06_visualizations"], store=store)
    assert [(r.config.seed, r.stored) for r in runs] == [(0, True), (1, False)]
    assert runs[1].estimate is not None and runs[1].estimate > 0  # from the stored seed 0
    assert plan.summary(runs).startswith("2 runs: 1 stored, 1 missing; about")


@pytest.mark.slow
def test_runs_trains_the_missing_runs_with_two_spawned_workers(tmp_path, monkeypatch, capsys):
    env = {**os.environ, "FMNIST_RUNS_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "fmnist_helpers.build.cli", "runs", "--profile", "smoke",
               "--sections", "05_dropout", "--workers", "2"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4 runs: 0 stored, 4 missing" in result.stdout
    assert "4 run(s) done, 0 failed." in result.stdout
    workers = {line.rsplit("(worker ", 1)[1].rstrip(")") for line in result.stdout.splitlines()
               if "(worker " in line}
    assert len(workers) == 2 and str(os.getpid()) not in workers  # spawned processes did it
    assert all(r.stored for r in plan.plan("smoke", ["05_dropout"], store=RunStore(tmp_path)))
    # A build after `runs` trains nothing before its notebooks.
    from fmnist_helpers import report

    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path))
    report.train_planned("smoke", ["05_dropout"], workers=1)
    assert "Training first" not in capsys.readouterr().out


@pytest.mark.slow
def test_a_run_that_raises_is_recorded_and_the_others_complete(tmp_path, monkeypatch):
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path))
    good = get_profile("smoke").baseline().replace(record_epochs=(), epochs=1)
    bad = good.replace(train_size=100_000)  # valid config; the data has 54,000 images
    outcome = executor.execute([bad, good], workers=1)
    assert [t["label"] for t in outcome.trained] == [good.label]
    (failure,) = outcome.failed
    assert failure["label"] == bad.label and failure["error"].startswith("ValueError")
    assert not outcome.ok
    assert RunStore(tmp_path).get(bad) is None and RunStore(tmp_path).get(good) is not None


def _workers_of(pid: int) -> list[int]:
    """The spawned worker processes of a process (not its resource tracker)."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in command and "resource_tracker" not in command:
            found.append(child.pid)
    return found


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_the_grid_completes(tmp_path):
    import signal
    import time

    env = {**os.environ, "FMNIST_RUNS_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "fmnist_helpers.build.cli", "runs", "--profile", "smoke",
               "--sections", "03_initialization", "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    deadline = time.monotonic() + 300
    workers = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = _workers_of(process.pid)
    assert workers, "no worker process started"
    time.sleep(8)  # let it get into training
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr[-2000:]
    assert "its worker died; trying again" in stderr
    assert "0 failed." in stdout
    assert all(r.stored for r in plan.plan("smoke", ["03_initialization"],
                                           store=RunStore(tmp_path)))
