"""Runs per hour: the same small grid trained in this process and by the local pool, alternating.

Each repetition trains the grid (a quick-profile study's variants x seeds by default) into a fresh
temporary run store twice: once sequentially in one process (TensorFlow using every core), once by
``fmnist_helpers.executor`` with ``--workers`` spawned processes (one core's share of threads
each). Both arms see the same machine load, so their ratio is the number to read; absolute
times on a shared machine are not.

Usage:
    python benchmarks/scaleout.py [--profile quick] [--study dropout_convnet] [--workers 2]
                                  [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _arm(profile: str, study: str, workers: int) -> float:
    """Seconds to train the study's grid into an empty store, in a fresh process."""
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "FMNIST_RUNS_DIR": store}
        start = time.perf_counter()
        code = ("from fmnist_helpers import executor\n"
                "from fmnist_helpers.studies import study_configs\n"
                f"configs = [c for _, _, c in study_configs({study!r}, {profile!r})]\n"
                f"outcome = executor.execute(configs, workers={workers})\n"
                "assert outcome.ok, outcome.failed\n")
        subprocess.run([sys.executable, "-c", code], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--study", default="dropout_convnet")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    from fmnist_helpers.studies import study_configs

    runs = len(study_configs(args.study, args.profile))
    rows = []
    for _ in range(args.repeats):
        rows.append((_arm(args.profile, args.study, 1),
                     _arm(args.profile, args.study, args.workers)))
    print(f"{args.study} on the {args.profile} profile: {runs} runs per arm, "
          f"{os.cpu_count()} cores, {args.repeats} repetition(s), load {os.getloadavg()[0]:.1f}")
    print(f"{'repetition':>10s} {'in-process s':>13s} {'pool s':>8s} {'runs/h in':>10s} "
          f"{'runs/h pool':>12s} {'ratio':>6s}")
    for i, (one, pool) in enumerate(rows, start=1):
        print(f"{i:>10d} {one:13.0f} {pool:8.0f} {runs * 3600 / one:10.0f} "
              f"{runs * 3600 / pool:12.0f} {one / pool:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
