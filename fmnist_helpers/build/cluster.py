"""Training a list of runs on a Ray cluster: one Ray task per run.

The driver (``fmnist-report runs --address ADDR``, or ``RAY_ADDRESS``) connects to a running
cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:PORT`` on the others;
every node needs this package installed and the Fashion-MNIST files, see the README) and submits
each missing run as a task asking for ``cpus_per_run`` CPUs -- and one GPU when the cluster has
any (memory growth on, so a second process on the same GPU is not starved). The task limits
TensorFlow's threads to its CPUs, as the local pool's workers do, so a run trained by a task gives
the same metrics as one trained in a process with the same thread count.

**The store.** The driver writes a token into its run store; a task that finds that token at the
same path shares the driver's filesystem and trains straight into the store (the store's atomic
commit and lock keep concurrent tasks apart, and a retried task resumes from the partial backup the
dead one left). A task that does not find it trains into a store of its node's own
(``<tmp>/fmnist-cluster-runs``, where a retry on the same node resumes too), packs the finished
entry and sends it back; the driver checks and commits it.

**Faults.** A task whose worker process dies (killed, out of memory, node lost) is retried by Ray
(``max_retries``); a run that raises is not retried and comes back as a failure with its error;
Ctrl-C cancels every outstanding task (a cancelled run leaves only a partial entry, never a
complete-looking one).

Nothing here can test a GPU: the GPU request and memory growth follow the Ray and TensorFlow
documentation (``num_gpus`` in ``.options``, ``tf.config.experimental.set_memory_growth``).
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import shutil
import signal
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import ray
import tensorflow as tf

from fmnist_helpers.core import provenance
from fmnist_helpers.core.config import RunConfig
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.train import train

#: Where a driver's token tells a task that it shares the driver's run store.
TOKEN_FILE = ".cluster-driver"
#: A node's own run store for tasks that do not share the driver's (under the node's temp dir).
NODE_STORE = "fmnist-cluster-runs"


def cluster_address(address: str | None) -> str | None:
    """The Ray cluster to use: ``address``, else ``$RAY_ADDRESS``, else ``None`` (local pool).

    Args:
        address: From ``--address`` (``HOST:PORT`` or ``auto``), or ``None``.

    Returns:
        The address, or ``None`` when neither is set.

    Raises:
        ValueError: If the address is empty or has no port (and is not ``auto``).
    """
    address = address if address is not None else os.environ.get("RAY_ADDRESS")
    if address is None:
        return None
    address = address.strip()
    if address != "auto" and (":" not in address or not address.rsplit(":", 1)[1].isdigit()):
        raise ValueError(f"Ray address {address!r} is not HOST:PORT (or 'auto'): give the "
                         "address `ray start --head` printed, e.g. 127.0.0.1:6379.")
    return address


def _use_threads(threads: int) -> None:
    """Limit TensorFlow to ``threads`` in this worker process (once: fixed at first use)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # this Ray worker already ran a task: the same limits are in force
        pass
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized by an earlier task in this worker
            pass


def pack_entry(path: Path) -> bytes:
    """A run store entry as the bytes of a gzipped tar archive (the entry's files at its root).

    Args:
        path: The entry directory.

    Returns:
        The archive's bytes.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for item in sorted(Path(path).iterdir()):
            if item.name != ".lock":
                archive.add(item, arcname=item.name)
    return buffer.getvalue()


def commit_packed(store: RunStore, config: RunConfig, packed: bytes) -> Path:
    """Unpack an entry sent back by a task into ``store`` and commit it (checked first).

    Args:
        store: The driver's run store.
        config: The run's config.
        packed: :func:`pack_entry`'s bytes.

    Returns:
        The committed entry's path.

    Raises:
        BrokenEntry: If the unpacked entry is incomplete (it is not committed).
    """
    tmp = store.new_entry(config)
    shutil.rmtree(tmp)
    tmp.mkdir()
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as archive:
        archive.extractall(tmp, filter="data")
    return store.commit(config, tmp)


def _train_task(config_dict: dict, store_root: str, token: str, threads: int) -> dict:
    """One run, in a Ray worker: train into the shared store or the node's own, report back."""
    _use_threads(threads)
    os.environ[provenance.EXECUTOR_ENV] = (f"ray task ({threads} CPU(s), node "
                                           f"{ray.get_runtime_context().get_node_id()[:8]})")
    root = Path(store_root)
    shared = (root / TOKEN_FILE).is_file() and (root / TOKEN_FILE).read_text() == token
    store = RunStore(root if shared else Path(tempfile.gettempdir()) / NODE_STORE)
    start = time.perf_counter()
    run = train(RunConfig.from_dict(config_dict), store=store, verbose=False)
    context = ray.get_runtime_context()
    done = {"key": run.key, "label": run.config.label, "seconds": time.perf_counter() - start,
            "worker": f"{os.getpid()} on node {context.get_node_id()[:8]} "
                      f"({ray.util.get_node_ip_address()}"
                      + ("" if shared else "; entry sent back") + ")",
            "node": context.get_node_id()[:8], "reused": run.reused, "diverged": run.diverged,
            "resumed_at": [] if run.reused else run.result.get("resumed_at_epochs", [])}
    if not shared:
        done["entry"] = pack_entry(run.path)
        shutil.rmtree(run.path, ignore_errors=True)
    return done


def execute_on_cluster(configs: list[RunConfig], address: str, store: RunStore, *,
                       trained: Callable[[dict], None], failed: Callable[[RunConfig, str], None],
                       retries: int = 2, cpus_per_run: int = 1) -> dict[str, int]:
    """Train ``configs`` as Ray tasks on the cluster at ``address``.

    Args:
        configs: The runs to train.
        address: The cluster (:func:`cluster_address`).
        store: The driver's run store (entries end up here either way).
        trained: Called with each finished run's progress dict (``label``, ``seconds``,
            ``worker``, ``node``, ``reused``, ``diverged``).
        failed: Called with the config and ``"Type: message"`` of each run that failed.
        retries: How often Ray retries a task whose worker died.
        cpus_per_run: CPUs each task asks for (TensorFlow's intra-op threads in the task).

    Returns:
        Runs finished per node id.

    Raises:
        ValueError: If ``cpus_per_run`` or ``retries`` is out of range.
        ConnectionError: If no cluster answers at ``address``.
        KeyboardInterrupt: On Ctrl-C, after cancelling every outstanding task.
    """
    if cpus_per_run < 1 or retries < 0:
        raise ValueError(f"cpus_per_run must be >= 1 and retries >= 0, got {cpus_per_run} and "
                         f"{retries}.")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address=address, log_to_driver=False, logging_level="warning")
    token = uuid.uuid4().hex
    store.root.mkdir(parents=True, exist_ok=True)
    (store.root / TOKEN_FILE).write_text(token)
    per_node: collections.Counter = collections.Counter()
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        task = ray.remote(_train_task).options(num_cpus=cpus_per_run, num_gpus=gpus,
                                               max_retries=retries, retry_exceptions=False)
        pending = {task.remote(c.to_dict(), str(store.root), token, cpus_per_run): c
                   for c in configs}
        try:
            with _ctrl_c_as_a_flag() as interrupted:
                while pending:
                    if interrupted.is_set():
                        raise KeyboardInterrupt
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                    if ready:
                        config = pending.pop(ready[0])
                        _collect(ready[0], config, store, per_node, trained, failed)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        (store.root / TOKEN_FILE).unlink(missing_ok=True)
        ray.shutdown()
    return dict(per_node)


@contextlib.contextmanager
def _ctrl_c_as_a_flag():
    """While waiting for tasks, Ctrl-C only sets a flag the wait loop checks every second.

    On a loaded machine a Ctrl-C raised as ``KeyboardInterrupt`` at an arbitrary moment was lost
    twice (the driver went on to finish every run; the likely place is a callback Ray runs from
    C++, where an exception is only printed as "ignored"). A flag cannot be lost, and an entry
    being committed when it comes is committed first. Off the main thread (where Python allows
    no signal handler) the default handling stays.

    Yields:
        A ``threading.Event`` set on SIGINT.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _collect(ref, config: RunConfig, store: RunStore, per_node: collections.Counter,
             trained: Callable, failed: Callable) -> None:
    """Take one finished task's outcome: commit an entry sent back, record a failure."""
    try:
        done = ray.get(ref)
        if "entry" in done:
            commit_packed(store, config, done.pop("entry"))
    except ray.exceptions.RayTaskError as error:
        cause = error.cause if error.cause is not None else error
        failed(config, f"{type(cause).__name__}: {cause}")
    except (ray.exceptions.RayError, ValueError, OSError) as error:
        failed(config, f"{type(error).__name__}: {error}")
    else:
        per_node[done["node"]] += 1
        trained(done)
