"""The Ray executor on a real two-node cluster (two ``ray start`` nodes on 127.0.0.1), inside a
network namespace of its own with only loopback up (``tests/netns_ray.py``, under ``unshare -n``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from fmnist_helpers import cluster, plan
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.store.store_check import check_store

NETNS_RAY = Path(__file__).with_name("netns_ray.py")
#: A network namespace (loopback only) and a PID namespace of its own: `ray stop` in there sees
#: only this cluster, and everything in it ends when the helper does.
NAMESPACES = ["unshare", "--net", "--pid", "--fork", "--mount-proc"]

needs_a_namespace = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a network namespace of its own needs root and unshare")


def _on_cluster(command: list[str], store: Path, *, private_store: bool = False,
                **popen) -> subprocess.Popen:
    """Start ``command`` against a fresh two-node cluster in a namespace with only loopback."""
    wrapper = [*NAMESPACES, sys.executable, str(NETNS_RAY)]
    if private_store:
        wrapper += ["--private-store", str(store)]
    env = {**os.environ, "FMNIST_RUNS_DIR": str(store)}
    return subprocess.Popen([*wrapper, "--", *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **popen)


def _train_in_process(configs, root: Path, threads: int) -> dict[str, dict]:
    """Train configs in a fresh process limited to ``threads``: ``{key: history}``."""
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads({threads})
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from fmnist_helpers.core.config import RunConfig
        from fmnist_helpers.store.runs import RunStore
        from fmnist_helpers.study.train import train
        histories = {{}}
        for config in json.loads(sys.stdin.read()):
            run = train(RunConfig.from_dict(config), store=RunStore({str(root)!r}),
                        verbose=False)
            histories[run.key] = run.history
        print(json.dumps(histories))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            input=json.dumps([c.to_dict() for c in configs]), timeout=900,
                            check=True)
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.slow
@needs_a_namespace
def test_a_two_node_cluster_trains_a_smoke_grid_as_in_process(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    process = _on_cluster([sys.executable, "-m", "fmnist_helpers.build.cli", "runs", "--profile",
                           "smoke", "--sections", "05_dropout"], store, private_store=True)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr[-3000:]
    assert "4 runs: 0 stored, 4 missing" in stdout and "on the Ray cluster at 127.0.0.1" in stdout
    assert "4 run(s) done, 0 failed." in stdout
    lines = [line for line in stdout.splitlines() if ": trained in " in line]
    nodes = {line.split(" on node ")[1].split()[0] for line in lines}
    assert len(lines) == 4 and len(nodes) == 2, stdout
    # The second node cannot see the store: its entries came back to the driver, which
    # committed them; the head node's tasks wrote into the store themselves.
    sent_back = [line for line in lines if "entry sent back" in line]
    assert 0 < len(sent_back) < 4, stdout
    runs = plan.plan("smoke", ["05_dropout"], store=RunStore(store))
    assert all(r.stored for r in runs)
    assert not (store / cluster.TOKEN_FILE).exists()
    # The same metrics as trained in one process with a task's thread count (1).
    reference = _train_in_process([r.config for r in runs], tmp_path / "reference", threads=1)
    for run in runs:
        assert RunStore(store).get(run.config).history == reference[run.config.key], run.label


def _task_processes() -> list[int]:
    """PIDs of Ray workers executing a training task (Ray titles them ``ray::_train_task``)."""
    return [process.pid for process in psutil.process_iter(["cmdline"])
            if " ".join(process.info["cmdline"] or ()).startswith("ray::_train_task")]


@pytest.mark.slow
@needs_a_namespace
def test_on_a_cluster_a_killed_worker_is_retried_and_a_failing_run_recorded(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    good = get_profile("smoke").baseline().replace(record_epochs=(), epochs=8)
    bad = good.replace(train_size=100_000)  # a valid config; the data has 54,000 images
    configs = [bad, good, good.replace(seed=1)]
    driver = textwrap.dedent("""
        import json, os, sys
        from fmnist_helpers import executor
        from fmnist_helpers.core.config import RunConfig
        from fmnist_helpers.store.runs import RunStore
        configs = [RunConfig.from_dict(c) for c in json.loads(sys.argv[1])]
        outcome = executor.execute(configs, address=os.environ["RAY_ADDRESS"],
                                   store=RunStore(sys.argv[2]))
        print(json.dumps({"trained": [t["key"] for t in outcome.trained],
                          "failed": outcome.failed}))
        sys.exit(0 if outcome.ok else 1)
    """)
    process = _on_cluster([sys.executable, "-c", driver,
                           json.dumps([c.to_dict() for c in configs]), str(store)], store)
    # Once a good run has finished an epoch and its backup is written (the epoch log comes
    # first; under load the backup can follow seconds later), kill every training task.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if any((store / f".partial-{c.key}" / "backup" / "training_metadata.json").exists()
               for c in configs[1:]):
            break
        time.sleep(0.5)
    killed = _task_processes()
    assert killed, "no training task was running"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 1, stderr[-3000:]
    result = json.loads(stdout.splitlines()[-1])
    assert sorted(result["trained"]) == sorted(c.key for c in configs[1:])
    (failure,) = result["failed"]
    assert failure["key"] == bad.key and failure["error"].startswith("ValueError"), failure
    assert "resumed at epoch" in stdout  # the retried task went on from the dead one's backup
    assert all(RunStore(store).get(c) is not None for c in configs[1:])
    assert RunStore(store).get(bad) is None


def test_the_cluster_address_is_checked_before_anything_starts(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster.cluster_address(None) is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert cluster.cluster_address(None) == "10.0.0.5:6379"
    assert cluster.cluster_address("auto") == "auto"
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        cluster.cluster_address("headnode")


def _driver_pid(marker: str) -> int | None:
    """The PID of the ``fmnist-report runs`` driver whose command line names ``marker``."""
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        # The driver itself, not the namespace helpers whose arguments repeat its command.
        if command[1:3] == ["-m", "fmnist_helpers.build.cli"] and marker in command:
            return process.pid
    return None


@pytest.mark.slow
@needs_a_namespace
def test_ctrl_c_on_a_cluster_cancels_the_runs_and_leaves_nothing_complete_looking(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    process = _on_cluster([sys.executable, "-m", "fmnist_helpers.build.cli", "runs", "--profile",
                           "smoke", "--sections", "05_dropout", "--runs-dir", str(store)], store)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if list(store.glob(".partial-*/epochs.json")):
            break
        time.sleep(0.2)
    driver = _driver_pid(str(store))
    assert driver is not None, "the driver is not running"
    os.kill(driver, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, (stdout[-2000:], stderr[-2000:])
    assert "interrupted" in stderr
    stored = [r for r in plan.plan("smoke", ["05_dropout"], store=RunStore(store)) if r.stored]
    assert len(stored) < 4, "every run finished before Ctrl-C: nothing was tested"
    # What the cancelled runs left is interrupted training that resumes, never a bad entry.
    assert {problem.kind for problem in check_store(store)} <= {"partial"}
    assert list(store.glob(".partial-*"))
    assert not (store / cluster.TOKEN_FILE).exists()
