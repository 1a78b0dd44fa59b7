"""Error rates of the ledger's decision rules, by simulation.

Two Gaussian arms with equal variance, paired by seed (independent draws), no true difference or a
true difference of one or two standard deviations. For each seed count, the share of trials in
which each rule calls the difference clear: the false-positive rate (no difference) and the power
(a true one). Rules: the old spread rule (``stats.is_clear_difference``: difference of the means
larger than the larger min-max range) and the paired 95% t-interval (``stats.compare``).

Usage:
    python benchmarks/verdict_rule.py [--trials 20000]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from fmnist_helpers import stats

RULES = {"spread rule": stats.is_clear_difference,
         "paired 95% t-interval": lambda a, b: stats.compare(a, b).clear}


def rate(rule, seeds: int, shift: float, trials: int, seed: int = 0) -> float:
    """Share of simulated comparisons that ``rule`` calls clear."""
    rng = np.random.default_rng(seed)
    a = rng.normal(shift, 1.0, (trials, seeds))
    b = rng.normal(0.0, 1.0, (trials, seeds))
    return float(np.mean([rule(x, y) for x, y in zip(a, b)]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20000)
    args = parser.parse_args(argv)
    print(f"{'rule':24s} {'seeds':>5s} {'false clear':>12s} {'power 1 sd':>11s} "
          f"{'power 2 sd':>11s}   ({args.trials:,} trials each)")
    for name, rule in RULES.items():
        for seeds in (2, 3, 5):
            rates = [rate(rule, seeds, shift, args.trials) for shift in (0.0, 1.0, 2.0)]
            print(f"{name:24s} {seeds:5d} {rates[0]:12.1%} {rates[1]:11.1%} {rates[2]:11.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
