"""Faults survived, nothing lost: one test per defect the hostile probe found (issue 14).

Each test first puts the store, the data or the build in the state the probe left it in (kills
by PID, damaged files written here, a full disk), then checks that the run completes or the
command ends in one ``error:`` line -- with no finished work lost and no wrong result reused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from fmnist_helpers import report, train
from fmnist_helpers.core.config import RunConfig, parse_value
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.store.store_check import check_store, remove_problems

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.slow


def _cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "fmnist_helpers.build.cli", *args],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def _one_error_line(result):
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny trained entry (with extras) that each test copies before damaging it."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    config = RunConfig(model="convnet", train_size=500, val_size=100, test_size=200, epochs=2,
                       width=0.125, batch_size=50, learning_rate=1e-3, probe_size=100,
                       record_epochs=(0, 2))
    return train.train(config, store=store, verbose=False)


def _copy_store(run, tmp_path) -> RunStore:
    store = RunStore(tmp_path / "runs")
    store.root.mkdir()
    shutil.copytree(run.path, store.entry(run.config))
    return store


def _kill_at_evaluation(config: RunConfig, root: Path) -> subprocess.CompletedProcess:
    """Train ``config`` in a child process that is SIGKILLed by its own PID when ``fit`` has
    finished every epoch and been evaluated, as the model is saved (the probe's Ctrl-C after the
    last epoch). ``Model.save`` is only called there; the backups use ``save_weights``."""
    code = textwrap.dedent(f"""
        import os, signal, keras
        from fmnist_helpers.core.config import RunConfig
        from fmnist_helpers.store.runs import RunStore
        from fmnist_helpers.study.train import train
        def killed(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        keras.Model.save = killed
        train(RunConfig.from_dict({config.to_dict()!r}), store=RunStore({str(root)!r}),
              verbose=False)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=False,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


# 1 -- a backup damaged by a full disk -------------------------------------------------------

def _staging_with_backup(config, tmp_path):
    """A staging entry with a real backup after epoch 1 of ``config`` (and its epoch log)."""
    store = RunStore(tmp_path / "runs")
    first_epoch = config.replace(epochs=1, record_epochs=(0,))
    child = _kill_at_evaluation(first_epoch, store.root)
    assert child.returncode == -9, child.stderr
    one = store.root / f".partial-{first_epoch.key}"
    staging = store.staging_entry(config)
    store.release(staging)
    shutil.copytree(one / "backup", staging / "backup")
    shutil.copy(one / "epochs.json", staging / "epochs.json")
    return store, staging


@pytest.mark.parametrize("damage", ["overwritten", "both overwritten"])
def test_a_damaged_backup_never_blocks_its_run(tiny_run, tmp_path, capsys, damage):
    config = tiny_run.config.replace(seed=7)
    store, staging = _staging_with_backup(config, tmp_path)
    weights = staging / "backup" / "latest.weights.h5"
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 3: len(raw) // 3 + 4096] = os.urandom(4096)  # what a full disk left
    weights.write_bytes(bytes(raw))
    if damage == "both overwritten":
        shutil.copy(weights, weights.with_name("latest.weights.h5.bkp"))
        shutil.copy(staging / "backup" / "training_metadata.json",
                    staging / "backup" / "training_metadata.json.bkp")
    run = train.train(config, store=store)
    assert run["epochs_completed"] == config.epochs and not run.reused
    err = capsys.readouterr().err
    assert "resuming" in err or "cannot be restored" in err or "one before" in err


def _train_on_tmpfs(runs: Path, setup: str) -> subprocess.CompletedProcess:
    """``fmnist-report train`` (smoke, 1 epoch) into ``runs`` after the shell ``setup`` has
    mounted it, in a mount namespace of its own; skips the test where mounting is not allowed."""
    command = (f"{setup} && exec {sys.executable} -m fmnist_helpers.build.cli train convnet "
               "--profile smoke --set epochs=1")
    result = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True,
                            text=True, timeout=600, check=False,
                            env={**os.environ, "FMNIST_RUNS_DIR": str(runs),
                                 "TF_CPP_MIN_LOG_LEVEL": "2"})
    if "mount:" in result.stderr or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()[:200]}")
    return result


def test_a_nearly_full_disk_stops_before_training_with_one_line(tmp_path):
    """A real full disk: the run store on a 2 MB tmpfs, mounted in a mount namespace of its own."""
    runs = tmp_path / "runs"
    runs.mkdir()
    result = _train_on_tmpfs(runs, f"mount -t tmpfs -o size=2m tmpfs {runs}")
    assert result.returncode == 1, result.stderr
    line = _one_error_line(result)
    assert "MB free in" in line and "free some space" in line.lower()


@pytest.mark.parametrize("state", ["empty", "broken entry"])
def test_a_read_only_run_store_gives_one_error_line(tmp_path, state):
    """A real read-only file system (a tmpfs remounted read-only in a private mount namespace)."""
    from fmnist_helpers.core.profiles import get_profile

    runs = tmp_path / "runs"
    runs.mkdir()
    key = get_profile("smoke").run_config(epochs=1).key
    prepare = (f"mkdir {runs}/{key} && echo '{{}}' > {runs}/{key}/result.json && "
               if state == "broken entry" else "")
    result = _train_on_tmpfs(runs, f"mount -t tmpfs -o size=64m tmpfs {runs} && {prepare}"
                                    f"mount -o remount,ro {runs}")
    assert result.returncode == 1, result.stderr
    line = _one_error_line(result)
    if state == "broken entry":
        assert f"entry {runs / key} is broken" in line and "cannot be set aside" in line
    else:
        assert "read-only" in line.lower() and str(runs) in line


# 2 -- non-finite config values -----------------------------------------------------------

@pytest.mark.parametrize("setting", ["learning_rate=inf", "learning_rate=1e309", "init_std=inf",
                                     "dropout=nan"])
def test_non_finite_values_are_refused_before_anything_is_written(tmp_path, setting):
    result = _cli("train", "convnet", "--profile", "smoke", "--set", setting,
                  env={"FMNIST_RUNS_DIR": str(tmp_path / "runs")})
    assert result.returncode == 2
    assert "must be a finite number" in _one_error_line(result)
    assert not (tmp_path / "runs").exists()


# 3 and 4 -- interruptions at the end, and a damaged epoch log ------------------------------

def test_an_interruption_after_the_last_epoch_loses_no_epoch(tiny_run, tmp_path):
    config = tiny_run.config.replace(seed=3)
    store = RunStore(tmp_path / "runs")
    child = _kill_at_evaluation(config, store.root)
    assert child.returncode == -9, child.stderr  # killed by its PID after the last epoch
    staging = store.root / f".partial-{config.key}"
    assert json.loads((staging / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    run = train.train(config, store=store, verbose=False)
    assert run["epochs_completed"] == 2 and len(run.history["loss"]) == 2
    assert run["train_seconds"] > 0  # the epochs trained before the kill are counted
    assert not staging.exists()


def test_an_epoch_log_shorter_than_its_backup_restarts_instead_of_saving_a_short_run(
        tiny_run, tmp_path, capsys):
    config = tiny_run.config.replace(seed=4)
    store = RunStore(tmp_path / "runs")
    assert _kill_at_evaluation(config, store.root).returncode == -9
    log = store.root / f".partial-{config.key}" / "epochs.json"
    records = json.loads(log.read_text())
    records["epochs"] = records["epochs"][:1]  # what a kill mid-write used to leave
    log.write_text(json.dumps(records))
    run = train.train(config, store=store)
    assert "does not match its epoch log" in capsys.readouterr().err
    assert run["epochs_completed"] == 2 and len(run.history["val_accuracy"]) == 2


def test_every_json_of_an_entry_is_written_atomically(tmp_path):
    from fmnist_helpers.store.runs import write_json

    target = tmp_path / "epochs.json"
    write_json(target, {"epochs": [1, 2]})
    assert json.loads(target.read_text()) == {"epochs": [1, 2]}
    with pytest.raises(TypeError):
        write_json(target, {"epochs": object()})  # fails while serializing ...
    assert json.loads(target.read_text()) == {"epochs": [1, 2]}  # ... and the old file stays
    assert [p.name for p in tmp_path.iterdir()] == ["epochs.json"]


# 5 -- entries that parse but are wrong ----------------------------------------------------

DAMAGE = {
    "result {}": lambda e: (e / "result.json").write_text("{}"),
    "result null": lambda e: (e / "result.json").write_text("null"),
    "result []": lambda e: (e / "result.json").write_text("[]"),
    "result short": lambda e: (e / "result.json").write_text(json.dumps(
        {**json.loads((e / "result.json").read_text()), "epochs_completed": 1})),
    "history {}": lambda e: (e / "history.json").write_text("{}"),
    "history short": lambda e: (e / "history.json").write_text(json.dumps(
        {k: v[:1] for k, v in json.loads((e / "history.json").read_text()).items()})),
    "model garbage": lambda e: (e / "model.keras").write_bytes(b"garbage"),
    "model cut": lambda e: (e / "model.keras").write_bytes((e / "model.keras").read_bytes()[:999]),
    "extras garbage": lambda e: (e / "extras" / "epoch_002.npz").write_bytes(b"garbage"),
    "extras missing": lambda e: (e / "extras" / "epoch_000.npz").unlink(),
    "config other": lambda e: (e / "config.json").write_text(json.dumps(
        {"config": RunConfig().to_dict()})),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_wrong_entry_is_set_aside_and_never_reused(tiny_run, tmp_path, damage):
    store = _copy_store(tiny_run, tmp_path)
    DAMAGE[damage](store.entry(tiny_run.config))
    assert store.get(tiny_run.config) is None
    aside = [p.name for p in store.root.iterdir() if ".broken-" in p.name]
    assert len(aside) == 1 and not store.entry(tiny_run.config).exists()
    assert [p.kind for p in check_store(store.root)] == ["broken"]


def test_the_untouched_entry_is_reused(tiny_run, tmp_path):
    store = _copy_store(tiny_run, tmp_path)
    again = store.get(tiny_run.config)
    assert again is not None and again.reused and again.result == tiny_run.result
    assert check_store(store.root) == []


def test_two_damaged_entries_in_the_same_second_are_both_kept_aside(tiny_run, tmp_path):
    store = _copy_store(tiny_run, tmp_path)
    entry = store.entry(tiny_run.config)
    for _ in range(2):
        if not entry.exists():
            shutil.copytree(tiny_run.path, entry)
        (entry / "result.json").write_text("{}")
        assert store.get(tiny_run.config) is None
    assert len([p for p in store.root.iterdir() if ".broken-" in p.name]) == 2


def test_a_stale_directory_at_the_key_does_not_throw_away_the_finished_run(tiny_run, tmp_path):
    store = _copy_store(tiny_run, tmp_path)
    entry = store.entry(tiny_run.config)
    staging = store.root / f".partial-{tiny_run.config.key}"
    shutil.copytree(entry, staging)  # a finished staging directory, ready to commit
    (entry / "result.json").write_text("{}")  # and a stale, broken entry in its place
    final = store.commit(tiny_run.config, staging)
    assert final == entry and not staging.exists()
    assert store.get(tiny_run.config).result == tiny_run.result


def test_a_file_where_the_staging_directory_belongs_is_moved_aside(tiny_run, tmp_path):
    store = RunStore(tmp_path / "runs")
    store.root.mkdir()
    config = tiny_run.config.replace(epochs=1, record_epochs=())
    (store.root / f".partial-{config.key}").write_text("not a directory")
    run = train.train(config, store=store, verbose=False)
    assert run["epochs_completed"] == 1
    assert [p.kind for p in check_store(store.root)] == ["broken"]


# 6 -- two builds into one --out -----------------------------------------------------------

def test_two_builds_into_one_directory_keep_each_others_sections(tmp_path):
    jobs = [[report.Job(name=name, notebook=FIXTURES / "works.ipynb", title=name,
                        parameters={"profile": "smoke"})] for name in ("first", "second")]
    statuses = []
    threads = [threading.Thread(target=lambda j=j: statuses.append(
        report.build(profile="smoke", out_dir=tmp_path, jobs=j))) for j in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [0, 0]
    record = json.loads((tmp_path / "smoke" / "build.json").read_text())
    assert {s["name"]: s["status"] for s in record["sections"]} == {"first": "ok", "second": "ok"}
    index = (tmp_path / "smoke" / "index.html").read_text()
    assert 'href="first.html"' in index and 'href="second.html"' in index


# 9 and 12 -- one error line at the command line; smaller defects --------------------------

def test_an_output_path_that_is_a_file_gives_one_error_line(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("")
    result = _cli("build", "--profile", "smoke", "--sections", "00", "--out", str(target))
    assert result.returncode == 1
    assert str(target) in _one_error_line(result)


def test_debug_shows_the_traceback(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("")
    result = _cli("build", "--profile", "smoke", "--sections", "00", "--out", str(target),
                  "--debug")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_an_empty_section_list_is_refused():
    result = _cli("build", "--sections", "")
    assert result.returncode == 2
    assert "leave --sections out" in _one_error_line(result)


def test_a_bad_set_value_names_the_type_not_another_profiles_default():
    with pytest.raises(ValueError) as info:
        parse_value("epochs", "abc")
    assert str(info.value) == "--set epochs=abc: epochs takes an integer."


def test_store_check_lists_and_removes_what_is_not_a_valid_entry(tiny_run, tmp_path):
    store = _copy_store(tiny_run, tmp_path)
    (store.root / ".tmp-0123456789abcdef-999999999-1").mkdir()  # a process long gone
    shutil.copytree(tiny_run.path, store.root / f"{tiny_run.config.key}.broken-x")
    partial = store.root / f".partial-{tiny_run.config.replace(seed=9).key}"
    partial.mkdir()
    (store.root / "results").mkdir()
    (store.root / "results" / "tsne-0123.pkl").write_bytes(b"an old pickled result")
    result = _cli("store", "check", "--runs-dir", str(store.root))
    assert result.returncode == 0
    for word in ("temporary", "broken", "partial", "obsolete"):
        assert word in result.stdout
    removed = remove_problems(check_store(store.root), ("broken", "temporary", "obsolete"))
    assert len(removed) == 3 and partial.exists()
    assert [p.kind for p in check_store(store.root)] == ["partial"]
    assert store.get(tiny_run.config) is not None  # the valid entry is untouched


def test_outside_a_checkout_runs_go_to_the_user_data_directory(tmp_path, monkeypatch):
    from fmnist_helpers import runs

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(runs, "__file__", str(tmp_path / "site-packages" / "runs.py"))
    assert runs.default_runs_dir() == tmp_path / "fmnist-study" / "runs"


def test_building_without_the_notebooks_says_a_checkout_is_needed(tmp_path):
    with pytest.raises(FileNotFoundError, match="needs a checkout"):
        report.build(profile="smoke", out_dir=tmp_path, notebook_dir=tmp_path / "none")


# 10 -- the results cache holds data, not pickles --------------------------------------------

def test_a_damaged_cache_file_is_computed_again_whatever_the_damage(tmp_path, monkeypatch):
    from fmnist_helpers.store.cache import stored_result

    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path))
    calls = []

    @stored_result
    def analysis(n):
        calls.append(n)
        return {"table": np.arange(n, dtype=float), "label": "x"}

    analysis(50)
    path = next((tmp_path / "results").glob("analysis-*.npz"))
    good = path.read_bytes()
    rng = np.random.default_rng(0)
    for trial in range(40):  # flip a byte anywhere: never an exception, never a wrong value
        raw = bytearray(good)
        raw[int(rng.integers(len(raw)))] ^= 0xFF
        path.write_bytes(bytes(raw))
        result = analysis(50)
        assert np.array_equal(result["table"], np.arange(50)) and result["label"] == "x"
    assert len(calls) >= 2
    assert b"pickle" not in good and path.suffix == ".npz"


# 11 -- text from the Python API is escaped ---------------------------------------------------

def test_a_failure_notebook_keeps_any_traceback_inside_its_code_block(tmp_path):
    import nbformat

    from fmnist_helpers.build.render import render

    job = report.Job(name="bad", notebook=tmp_path / "missing.ipynb",
                     title="<b>Title</b>", parameters={})
    text = "line 1\n```\n<script>alert(1)</script>\n````"
    report._write_failure_notebook(job, tmp_path / "bad.ipynb", text)
    cell = nbformat.read(tmp_path / "bad.ipynb", as_version=4).cells[0].source
    assert cell.startswith("# &lt;b&gt;Title&lt;/b&gt;")
    fence = cell.split("\n")[4]
    assert fence == "`````text" and cell.rstrip().endswith("\n`````")
    render(tmp_path / "bad.ipynb", tmp_path / "bad.html", show_code=False)
    page = (tmp_path / "bad.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>Title</b>" not in page


def test_the_profile_name_is_escaped_on_the_page(tmp_path):
    import nbformat

    from fmnist_helpers.build.render import render

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["papermill"] = {"parameters": {"profile": "<img src=x onerror=alert(1)>"}}
    notebook.cells.append(nbformat.v4.new_markdown_cell("# Page\n\n**Profile:** {{profile}}"))
    nbformat.write(notebook, tmp_path / "page.ipynb")
    render(tmp_path / "page.ipynb", tmp_path / "page.html", show_code=False)
    assert "<img src=x" not in (tmp_path / "page.html").read_text()
