"""Runs per hour: the same small grid trained in one process, by the local pool and on a Ray
cluster, alternating; and a projection of the full profile's grid onto more machines.

Each repetition trains the grid (a quick-profile study's variants x seeds by default) into a fresh
temporary run store: once sequentially in one process (TensorFlow using every core), once by
``fmnist_helpers.build.executor`` with ``--workers`` spawned processes (one core's share of threads
each), and with ``--ray`` once more as Ray tasks on a two-node cluster on this machine (one CPU
per node, inside a network namespace with only loopback: ``tests/netns_ray.py``; needs root).
All arms see the same machine load, so their ratios are the numbers to read; absolute times on a
shared machine are not. The time of an arm is the driver's, from its first submitted run to its
last finished one (process start, imports and the cluster's start-up are left out and the
cluster's start-up is printed apart).

``--project`` measures each model's images/s here at full width (a short fit on real data) and
projects the full profile's plan: training hours on one such machine (one run at a time, using
both cores), on N machines (runs assigned longest first), and -- an estimate, not a measurement
-- on one GPU assumed ``--gpu-speedup`` times as fast as these two cores.

Usage:
    python benchmarks/scaleout.py [--profile quick] [--study dropout_convnet] [--workers 2]
                                  [--repeats 1] [--ray] [--project] [--gpu-speedup 20]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
NETNS_RAY = Path(__file__).resolve().parent.parent / "tests" / "netns_ray.py"

ARM = """
import json, os, sys, time
from fmnist_helpers import executor
from fmnist_helpers.study.studies import study_configs
configs = [c for _, _, c in study_configs({study!r}, {profile!r})]
start = time.perf_counter()
outcome = executor.execute(configs, workers={workers}, address=os.environ.get("RAY_ADDRESS"))
assert outcome.ok, outcome.failed
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""


def _arm(profile: str, study: str, workers: int, ray: bool = False) -> tuple[float, float]:
    """(training seconds, seconds overall) of the study's grid into an empty store."""
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "FMNIST_RUNS_DIR": store}
        env.pop("RAY_ADDRESS", None)
        command = [sys.executable, "-c", ARM.format(study=study, profile=profile,
                                                    workers=workers)]
        if ray:
            command = ["unshare", "--net", "--pid", "--fork", "--mount-proc", sys.executable,
                       str(NETNS_RAY), "--", *command]
        start = time.perf_counter()
        result = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        overall = time.perf_counter() - start
        return json.loads(result.stdout.splitlines()[-1])["seconds"], overall


def _images_per_second(model: str, batch_size: int) -> float:
    """Images/s of a short full-width fit of ``model`` here (2 epochs of 4,000 real images)."""
    code = ("import json\n"
            "from fmnist_helpers.core.profiles import get_profile\n"
            "from fmnist_helpers.study.train import train\n"
            f"config = get_profile('full').run_config(model={model!r}, batch_size={batch_size},"
            " train_size=4000, val_size=1000, test_size=1000, epochs=2, record_epochs=())\n"
            "run = train(config, verbose=False)\n"
            "print(json.dumps(run.result['images_per_second']))\n")
    with tempfile.TemporaryDirectory() as store:
        result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True, env={**os.environ, "FMNIST_RUNS_DIR": store})
    return float(result.stdout.splitlines()[-1])


def _makespan(seconds: list[float], machines: int) -> float:
    """Wall time of runs assigned longest first to the least-loaded of ``machines``."""
    loads = [0.0] * machines
    for length in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + length)
    return max(loads)


def project(gpu_speedup: float) -> None:
    """Print the full profile's grid projected onto 1..32 machines and one GPU."""
    from fmnist_helpers import plan
    from fmnist_helpers.store.runs import RunStore

    with tempfile.TemporaryDirectory() as empty:
        runs = plan.plan("full", store=RunStore(empty))
    rates = {}
    for run in runs:
        key = (run.config.model, run.config.batch_size)
        if key not in rates:
            rates[key] = _images_per_second(*key)
            print(f"measured: {key[0]} at full width, batch {key[1]}: "
                  f"{rates[key]:.0f} images/s", flush=True)
    seconds = [(r.config.train_size or 54_000) * r.config.epochs
               / rates[(r.config.model, r.config.batch_size)] for r in runs]
    print(f"\nfull profile: {len(runs)} runs, {sum(seconds) / 3600:.0f} h of training on one "
          f"{os.cpu_count()}-core machine (one run at a time), load {os.getloadavg()[0]:.1f}")
    print(f"{'machines':>9s} {'hours':>7s}")
    for machines in (1, 2, 4, 8, 16, 32):
        print(f"{machines:>9d} {_makespan(seconds, machines) / 3600:7.1f}")
    print(f"one GPU (estimate, assumed {gpu_speedup:g}x these cores, not measured): "
          f"{sum(seconds) / gpu_speedup / 3600:.1f} h")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--study", default="dropout_convnet")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--ray", action="store_true",
                        help="also train the grid on a two-node Ray cluster (needs root)")
    parser.add_argument("--project", action="store_true",
                        help="only project the full profile's grid (no grid is trained)")
    parser.add_argument("--gpu-speedup", type=float, default=20.0)
    args = parser.parse_args(argv)
    if args.project:
        project(args.gpu_speedup)
        return 0
    from fmnist_helpers.study.studies import study_configs

    runs = len(study_configs(args.study, args.profile))
    arms = ["in-process", f"pool x{args.workers}"] + (["ray 2 nodes"] if args.ray else [])
    rows = []
    for _ in range(args.repeats):
        row = [_arm(args.profile, args.study, 1), _arm(args.profile, args.study, args.workers)]
        if args.ray:
            row.append(_arm(args.profile, args.study, 1, ray=True))
        rows.append(row)
    print(f"{args.study} on the {args.profile} profile: {runs} runs per arm, "
          f"{os.cpu_count()} cores, {args.repeats} repetition(s), load {os.getloadavg()[0]:.1f}")
    print(f"{'repetition':>10s} " + " ".join(f"{arm + ' s':>14s}" for arm in arms)
          + " " + " ".join(f"{'runs/h ' + arm:>20s}" for arm in arms)
          + " " + " ".join(f"{'ratio ' + arm:>18s}" for arm in arms[1:]))
    for i, row in enumerate(rows, start=1):
        times = [seconds for seconds, _ in row]
        print(f"{i:>10d} " + " ".join(f"{t:14.0f}" for t in times)
              + " " + " ".join(f"{runs * 3600 / t:20.0f}" for t in times)
              + " " + " ".join(f"{times[0] / t:18.2f}" for t in times[1:]))
        if args.ray:
            print(f"{'':>10s} (the Ray arm took {row[2][1] - row[2][0]:.0f} s more overall: "
                  "cluster start-up and shut-down)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
