"""The fmnist-report command: data, params, train (build is tested in test_report.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "fmnist_helpers.build.cli", *args],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def test_data_reports_source_counts_and_checksums():
    result = cli("data", "--no-download")
    assert result.returncode == 0, result.stderr
    assert "SHA-256 of the file and of its content verified" in result.stdout
    for split, count in (("train", 54000), ("val", 6000), ("test", 10000)):
        assert re.search(rf"{split}\s+{count} images", result.stdout), result.stdout


def test_data_with_a_bad_directory_exits_1_with_the_clear_error(tmp_path):
    result = cli("data", "--data-dir", str(tmp_path), "--no-download")
    assert result.returncode == 1
    assert "Fashion-MNIST files not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_params_prints_the_table_with_keras_total():
    result = cli("params", "convnet")
    assert result.returncode == 0, result.stderr
    assert "conv4" in result.stdout and "4096" in result.stdout
    assert "total parameters: 6,214,922 (Keras count_params: 6,214,922)" in result.stdout


@pytest.mark.slow
def test_train_json_then_reused(tmp_path):
    args = ("train", "convnet", "--profile", "smoke", "--runs-dir", str(tmp_path), "--json",
            "--set", "epochs=1")
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    for key in ("key", "reused", "diverged", "val_accuracy", "test_accuracy", "epochs",
                "train_seconds"):
        assert key in summary
    assert summary["reused"] is False and summary["val_accuracy"] > 0.2
    second = json.loads(cli(*args).stdout)
    assert second["reused"] is True and second["key"] == summary["key"]


@pytest.mark.parametrize("setting, message", [
    ("colour=red", "unknown run config field 'colour'"),
    ("epochs=many", "epochs takes an integer"),
    ("optimizer=adagrad", "optimizer must be one of"),
    ("epochs", "expects key=value"),
])
def test_train_bad_set_is_a_clear_error(setting, message, tmp_path):
    result = cli("train", "convnet", "--profile", "smoke", "--runs-dir", str(tmp_path),
                 "--set", setting)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
