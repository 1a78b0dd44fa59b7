"""Evidence that cannot lie: impossible numbers in a record or a store entry are never used,
and the commands around the evidence check their arguments at the boundary."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_helpers import display, records, verification
from fmnist_helpers.core.profiles import PROFILES
from fmnist_helpers.store.runs import RunConfig, meaning_problems

COMMITTED = Path(__file__).resolve().parent.parent / "records"
#: A committed converged baseline record (20 epochs), the template of the damaged copies.
TEMPLATE = next(p for p in sorted(COMMITTED.glob("*.json"))
                if json.loads(p.read_text())["config"]["epochs"] == 20)


def _damaged(tmp_path, change) -> Path:
    data = json.loads(TEMPLATE.read_text())
    change(data)
    path = tmp_path / TEMPLATE.name
    path.write_text(json.dumps(data))
    return path


def _set(section, field, value):
    def change(data):
        data[section][field] = value
    return change


DAMAGES = {
    "accuracy above 1": _set("result", "test_accuracy", 1.7),
    "negative validation accuracy": _set("result", "val_accuracy", -3),
    "text as accuracy": _set("result", "test_accuracy", "abc"),
    "negative loss": _set("result", "test_loss", -0.5),
    "history longer than the epochs": lambda d: d["history"].update(
        {name: values * 50_000 for name, values in d["history"].items()}),
    "epochs beyond the config": _set("result", "epochs_completed", 10**6),
    "accuracy above 1 in the history": lambda d: d["history"]["val_accuracy"].__setitem__(3, 1.2),
    "zero training time": _set("result", "train_seconds", 0),
    "result not an object": lambda d: d.__setitem__("result", [1, 2]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_record_is_named_and_never_used(damage, tmp_path, capsys):
    path = _damaged(tmp_path, DAMAGES[damage])
    with pytest.raises(records.DamagedRecord, match=path.name):
        records.read(path)
    config = RunConfig.from_dict(json.loads(TEMPLATE.read_text())["config"])
    assert records.find(config, tmp_path) is None  # the planner and the pages: missing
    assert path.name in capsys.readouterr().err
    (problem,) = records.check_records(tmp_path)
    assert path.name in problem and "export it again" in problem


def test_every_committed_record_is_sound_and_the_template_passes():
    assert records.check_records(COMMITTED) == []
    data = json.loads(TEMPLATE.read_text())
    assert meaning_problems(RunConfig.from_dict(data["config"]), data["result"],
                            data["history"]) == []


def test_a_diverged_run_may_hold_missing_losses_but_not_impossible_accuracies():
    config = RunConfig(epochs=3)
    result = {"diverged": True, "epochs_completed": 2, "test_accuracy": None, "val_loss": None,
              "train_seconds": 5.0, "images_per_second": 10.0}
    history = {"loss": [0.5, None], "val_accuracy": [0.3, None]}
    assert meaning_problems(config, result, history) == []
    assert meaning_problems(config, {**result, "test_accuracy": 1.5}, history)
    assert meaning_problems(config, {**result, "diverged": False}, history)


def _cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "fmnist_helpers.build.cli", *args],
                          capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
                          check=False)


def test_records_check_lists_a_damaged_record_and_exits_1_with_the_fix(tmp_path):
    shutil.copy(TEMPLATE, tmp_path / TEMPLATE.name)
    (tmp_path / "bad").mkdir()
    damaged = _damaged(tmp_path / "bad", DAMAGES["accuracy above 1"])
    damaged.rename(tmp_path / "0000000000000000.json")
    result = _cli("records", "check", "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout
    assert "0000000000000000.json" in result.stdout and "1 of 2 damaged" in result.stdout
    good = _cli("records", "check")
    assert good.returncode == 0 and "are sound" in good.stdout


@pytest.mark.parametrize("args, message", [
    (("records", "verify", "a079dd76fc5d825d", "--tolerance", "nan"), "finite number >= 0"),
    (("records", "verify", "a079dd76fc5d825d", "--tolerance", "-1"), "finite number >= 0"),
    (("records", "verify", "../outside"), "is not a run key"),
    (("runs", "--workers", "0"), "must be at least 1"),
    (("build", "--workers", "-3"), "must be at least 1"),
])
def test_bad_arguments_end_in_one_error_line_and_exit_2(args, message):
    result = _cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_file_where_the_run_store_or_records_belong_is_one_clear_error(tmp_path):
    afile = tmp_path / "not-a-directory"
    afile.write_text("x")
    env = {**os.environ, "FMNIST_RUNS_DIR": str(afile)}
    for args in (("store", "check"), ("train", "convnet", "--profile", "smoke")):
        result = _cli(*args, env=env)
        assert result.returncode == 1 and "is a file, not a directory" in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1
    exported = _cli("records", "export", "--out", str(afile), "--profile", "smoke")
    assert exported.returncode == 1 and "is a file" in exported.stderr


def test_a_damaged_record_given_to_verify_exits_1_not_2(tmp_path):
    path = _damaged(tmp_path, DAMAGES["text as accuracy"])
    env = {**os.environ, "FMNIST_RECORDS_DIR": str(tmp_path)}
    result = _cli("records", "verify", path.stem, env=env)
    assert result.returncode == 1, result.stderr
    assert path.name in result.stderr and "export it again" in result.stderr


def test_markup_in_a_profile_description_is_escaped_on_the_pages(monkeypatch):
    marked = dataclasses.replace(PROFILES["smoke"], description="<script>alert(1)</script> tiny")
    monkeypatch.setitem(PROFILES, "smoke", marked)
    text = display.profile_banner("smoke").data
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_verify_retrains_at_the_thread_count_the_record_trained_with():
    assert verification.trained_threads(
        {"executor": "local pool (worker with 1 thread(s))"}) == 1
    assert verification.trained_threads({"executor": "in-process"}) is None
    assert verification.trained_threads({"executor": "x", "threads": {"intra_op": 2}}) == 2
    default = {"executor": "ray task", "threads": {"intra_op": 0}}
    assert verification.trained_threads(default) is None
