"""Shared fixtures: small real-data configs and a private run store per test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Runs and cached results that tests make without naming a store go to a private directory,
# never into the checkout's runs/.
os.environ["FMNIST_RUNS_DIR"] = tempfile.mkdtemp(prefix="fmnist-test-runs-")
# Nor do they read the committed records/ unless a test names it (tests/test_records.py).
os.environ["FMNIST_RECORDS_DIR"] = tempfile.mkdtemp(prefix="fmnist-test-records-")

import pytest

from fmnist_helpers.store.runs import RunConfig, RunStore


@pytest.fixture
def store(tmp_path):
    """An empty run store in the test's temporary directory."""
    return RunStore(tmp_path / "runs")


@pytest.fixture
def tiny_config():
    """A ConvNet run on 1,000 real images at 1/8 width: trains in seconds."""
    return RunConfig(model="convnet", train_size=1000, val_size=500, test_size=1000, epochs=2,
                     width=0.125, batch_size=50, learning_rate=1e-3, probe_size=200)


@pytest.fixture(scope="session")
def smoke_site(tmp_path_factory):
    """Every section built with the smoke profile through the CLI (one build, shared); every
    figure drawn is checked for legibility into ``<out>/legibility.jsonl``."""
    out = tmp_path_factory.mktemp("report")
    env = {**os.environ, "FMNIST_RUNS_DIR": str(out / "runs"),
           "FMNIST_LEGIBILITY_LOG": str(out / "legibility.jsonl")}
    result = subprocess.run(
        [sys.executable, "-m", "fmnist_helpers.build.cli", "build", "--profile", "smoke",
         "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=1500, check=False)
    return out / "smoke", result
