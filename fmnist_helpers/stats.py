"""Every statistic of the study: seed-to-seed spread, comparisons of per-seed values, and the
measures taken from a run's per-epoch history.

Imports nothing from the package (and no TensorFlow), so any module may use it.

The rule for a comparison today is the spread rule: a difference of the means counts as clear
only when it exceeds the larger seed-to-seed range (max - min) of the two groups.
"""

from __future__ import annotations

import itertools

import numpy as np


def finite(values) -> np.ndarray:
    """The finite values of a sequence as floats (``None`` and NaN/inf, diverged runs, left out)."""
    return np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)


def spread(values) -> float:
    """Seed-to-seed spread of a measure: its range (max - min), 0 for a single value."""
    values = finite(values)
    return float(values.max() - values.min()) if len(values) > 1 else 0.0


def is_clear_difference(a, b) -> bool:
    """Whether two groups of per-seed values differ by more than their seed-to-seed spread.

    The difference of the means must exceed the larger of the two ranges. With one seed per
    group there is no spread to compare against and no difference counts as clear.

    Args:
        a: Per-seed values of one variant.
        b: Per-seed values of the other.

    Returns:
        ``True`` if ``|mean(a) - mean(b)| > max(range(a), range(b))`` and both have at least
        two finite values.
    """
    a, b = finite(a), finite(b)
    if len(a) < 2 or len(b) < 2:
        return False
    return bool(abs(a.mean() - b.mean()) > max(spread(a), spread(b)))


def compare(a, b) -> dict:
    """Compare per-seed values: ``a`` minus ``b``, the larger range, and whether it is clear.

    ``None`` and non-finite values (diverged runs) are left out. With fewer than two values in a
    group there is no spread to measure and no difference is clear.

    Args:
        a: Per-seed values of one arm.
        b: Per-seed values of the other.

    Returns:
        ``difference`` (mean of a - mean of b), ``spread`` (the larger range), ``clear``,
        ``a`` and ``b`` (the means) and ``n`` (the smaller count).
    """
    a, b = finite(a), finite(b)
    if len(a) == 0 or len(b) == 0:
        return {"difference": float("nan"), "spread": float("nan"), "clear": False,
                "a": float("nan"), "b": float("nan"), "n": min(len(a), len(b))}
    return {"difference": float(a.mean() - b.mean()), "spread": max(spread(a), spread(b)),
            "clear": is_clear_difference(a, b), "a": float(a.mean()), "b": float(b.mean()),
            "n": min(len(a), len(b))}


def epochs_to_reach(history: dict[str, list], threshold: float) -> int | None:
    """First epoch (1-based) whose validation accuracy reaches ``threshold``, else ``None``."""
    for epoch, value in enumerate(history.get("val_accuracy", []), start=1):
        if value is not None and value >= threshold:
            return epoch
    return None


def val_loss_rises(history: dict[str, list]) -> int:
    """Number of epochs whose validation loss is higher than the epoch before (oscillation)."""
    losses = [v for v in history.get("val_loss", []) if v is not None]
    return int(sum(b > a for a, b in itertools.pairwise(losses)))
