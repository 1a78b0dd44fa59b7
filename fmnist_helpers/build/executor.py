"""Training the missing runs of a plan: in this process, in a local pool of worker processes, or
on a Ray cluster (:mod:`fmnist_helpers.build.cluster`).

Workers are started with *spawn* (TensorFlow is not fork-safe) and each limits TensorFlow to its
share of the CPU (intra-op threads = cores // workers, one inter-op thread), or N workers would
oversubscribe the cores. Each worker trains through :func:`train.train`, so it commits to the
shared run store with the store's atomic commit and lock, and a run interrupted in a worker leaves
a partial entry that the retry resumes. A worker that dies (killed, out of memory) breaks the
pool: the pool is started again and the runs it held are retried once. A run that raises is
recorded as failed with its error and the others go on. Ctrl-C cancels what has not started.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import multiprocessing
import os
import time
from concurrent.futures.process import BrokenProcessPool

import tensorflow as tf
from tqdm.auto import tqdm

from fmnist_helpers.build import cluster
from fmnist_helpers.core import progress, provenance
from fmnist_helpers.core.config import RunConfig
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.train import train

#: Workers when none are asked for: one per core (each with one core's share of threads), at
#: most four. Measured on this 2-core machine (``benchmarks/scaleout.py``, quick dropout grid,
#: 6 runs): 2 workers x 1 thread trained 1.28-1.36x as many runs per hour as one process using
#: both cores (small models keep two threads of one process from being busy).
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclasses.dataclass
class Outcome:
    """What an execution did: runs trained (label, seconds, worker) and runs that failed."""

    trained: list[dict] = dataclasses.field(default_factory=list)
    failed: list[dict] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every run completed."""
        return not self.failed


def worker_threads(workers: int) -> int:
    """TensorFlow intra-op threads per worker: this machine's cores shared out (at least 1)."""
    return max(1, (os.cpu_count() or 1) // workers)


def _init_worker(threads: int) -> None:
    os.environ[provenance.EXECUTOR_ENV] = f"local pool (worker with {threads} thread(s))"
    # Before TensorFlow runs any op in this process: the thread pools are fixed at first use.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def _train_one(config_dict: dict, store_root: str) -> dict:
    """Train (or reuse) one config in this process; return what the progress line says."""
    start = time.perf_counter()
    run = train(RunConfig.from_dict(config_dict), store=RunStore(store_root), verbose=False)
    return {"key": run.key, "label": run.config.label, "seconds": time.perf_counter() - start,
            "worker": os.getpid(), "reused": run.reused, "diverged": run.diverged,
            "resumed_at": [] if run.reused else run.result.get("resumed_at_epochs", [])}


def _trained(outcome: Outcome, done: dict, bar) -> None:
    outcome.trained.append(done)
    state = "reused" if done["reused"] else ("DIVERGED" if done["diverged"] else "trained")
    resumed = (f", resumed at epoch {', '.join(map(str, done['resumed_at']))}"
               if done.get("resumed_at") else "")
    bar.write(f"{done['label']}: {state} in {done['seconds']:.0f} s{resumed} "
              f"(worker {done['worker']})")
    bar.update()


def _failed(outcome: Outcome, config: RunConfig, error: Exception | str, bar) -> None:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    outcome.failed.append({"label": config.label, "key": config.key, "error": text})
    bar.write(f"{config.label}: FAILED ({text})")
    bar.update()


def execute(configs: list[RunConfig], *, workers: int = 1, retries: int = 1,
            address: str | None = None, store: RunStore | None = None) -> Outcome:
    """Train every config (stored ones are reused at once): in process, in a local pool, or on
    a Ray cluster.

    Args:
        configs: The runs to train.
        workers: 1 trains in this process; more start that many spawned worker processes.
            Ignored with ``address``.
        retries: How often a run whose worker died is tried again.
        address: A Ray cluster's address (see :func:`cluster.cluster_address`): one Ray task
            per run there instead of local processes.
        store: The run store (default: the configured one).

    Returns:
        The :class:`Outcome`.

    Raises:
        ValueError: If ``workers`` or ``retries`` is out of range.
        ConnectionError: If no Ray cluster answers at ``address``.
        KeyboardInterrupt: On Ctrl-C, after cancelling the runs not yet started.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}.")
    store = store or RunStore()
    outcome = Outcome()
    bar = tqdm(total=len(configs), unit="run", desc="runs", disable=not configs)
    try:
        if address is not None and configs:
            per_node = cluster.execute_on_cluster(
                configs, address, store, retries=max(retries, 1),
                trained=functools.partial(_trained, outcome, bar=bar),
                failed=functools.partial(_failed, outcome, bar=bar))
            for node, count in sorted(per_node.items()):
                bar.write(f"node {node}: {count} run(s)")
            return outcome
        if workers == 1:
            for config in configs:
                try:
                    done = _train_one(config.to_dict(), str(store.root))
                except Exception as error:  # noqa: BLE001 (recorded; the others go on)
                    _failed(outcome, config, error, bar)
                else:
                    _trained(outcome, done, bar)
            return outcome
        _execute_pool(configs, workers, retries, outcome, bar, str(store.root))
        return outcome
    finally:
        bar.close()


def _execute_pool(configs, workers, retries, outcome, bar, root) -> None:
    attempts = {c.key: 0 for c in configs}
    pending = list(configs)
    context = multiprocessing.get_context("spawn")
    while pending:
        broken = []
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_init_worker,
                initargs=(worker_threads(workers),)) as pool:
            futures = {pool.submit(_train_one, c.to_dict(), root): c for c in pending}
            try:
                for future in concurrent.futures.as_completed(futures):
                    config = futures[future]
                    attempts[config.key] += 1
                    try:
                        done = future.result()
                    except BrokenProcessPool:
                        broken.append(config)
                        continue
                    except Exception as error:  # noqa: BLE001 (recorded; the others go on)
                        _failed(outcome, config, error, bar)
                    else:
                        _trained(outcome, done, bar)
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        pending = []
        for config in broken:
            if attempts[config.key] <= retries:
                progress.say(f"{config.label}: its worker died; trying again "
                             f"(attempt {attempts[config.key] + 1}).")
                pending.append(config)
            else:
                _failed(outcome, config, "its worker died on every attempt", bar)
