"""Every statistic of the study: seed-to-seed spread, comparisons of per-seed values, and the
measures taken from a run's per-epoch history.

Imports nothing from the package (and no TensorFlow), so any module may use it.

Two rules for a comparison live here:

- :func:`compare` -- the mean difference with its (1 - alpha) t-interval, paired by seed (seed k
  of both arms shares its data order and initial draw) or Welch when the seeds do not match; a
  difference is *clear* when the interval excludes 0. :func:`equivalent` (two one-sided tests with
  a declared margin) says "about equal"; :func:`holm` adjusts the p-values of a family of
  comparisons. SciPy provides the distributions.
- :func:`compare_spread` -- the older spread rule (the difference of the means must exceed the
  larger seed-to-seed range), which calls a difference clear about 21% of the time when there is
  none at 2 seeds (``benchmarks/verdict_rule.py``). Kept only for that benchmark; the ledger, the
  studies' sentences and the sanity check use :func:`compare`.

:func:`compare_to` tests per-seed values against a stated number (the seed's 93.7%), and
:func:`convergence` is the gate that keeps still-improving runs out of "works best" verdicts.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings

import numpy as np
from scipy import stats as scipy_stats
from scipy.optimize import brentq


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


def compare_spread(a, b) -> dict:
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


#: How far above chance (1/classes) a validation accuracy may sit and still count as "did not
#: learn": a 10-class model that never passes 12% has learned nothing a reader would call a
#: classifier (our slowest learner that does learn, SGD at lr 1e-3 on the converged profile,
#: passes 12% by epoch 8 and ends at 25%).
CHANCE_MARGIN = 0.02


def stayed_at_chance(history: dict[str, list], *, classes: int = 10,
                     margin: float = CHANCE_MARGIN) -> bool:
    """Whether a run's validation accuracy never rose above chance: a run that did not learn.

    Such a run (e.g. every ReLU dead after a too-large first step) has a finite loss, so it is
    not diverged, yet its accuracies say nothing about the variant's ability to learn.

    Args:
        history: A run's history (``val_accuracy`` per epoch; ``None`` where not finite).
        classes: Number of classes (chance is ``1 / classes``).
        margin: How far above chance still counts as chance.

    Returns:
        ``True`` when the run has at least one finite validation accuracy and none exceeds
        ``1 / classes + margin``.

    Raises:
        ValueError: If ``classes`` is below 2 or ``margin`` is negative.
    """
    if classes < 2 or margin < 0:
        raise ValueError(f"classes must be >= 2 and margin >= 0, got {classes} and {margin}.")
    values = finite(history.get("val_accuracy", []))
    return len(values) > 0 and bool(values.max() <= 1 / classes + margin)


def val_loss_rises(history: dict[str, list]) -> int:
    """Number of epochs whose validation loss is higher than the epoch before (oscillation)."""
    losses = [v for v in history.get("val_loss", []) if v is not None]
    return int(sum(b > a for a, b in itertools.pairwise(losses)))


def rise_fraction(values) -> float:
    """Share of steps at which a loss series rises: a per-iteration measure of oscillation.

    Applied to the training loss averaged over windows of a few steps (recorded while
    training, ``train_loss_windows``): a loss that falls steadily rises at few steps, one that
    "oscillates with huge margins" at many.

    Args:
        values: The series (``None`` and non-finite values are left out).

    Returns:
        Rises divided by steps, in ``[0, 1]``; ``nan`` with fewer than two values.
    """
    x = finite(values)
    if len(x) < 2:
        return math.nan
    return float(np.mean(np.diff(x) > 0))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A difference between two arms, with its confidence interval.

    Attributes:
        difference: Mean of ``a`` minus mean of ``b`` (paired: the mean per-seed difference).
        low: Lower end of the (1 - alpha) confidence interval (``nan`` with fewer than 2 values).
        high: Upper end.
        p_value: Two-sided p-value of "no difference".
        n: Pairs (paired) or the smaller arm's count (Welch).
        paired: Whether the arms were paired by seed.
        alpha: The error rate of the interval.
        df: Degrees of freedom of the t-distribution behind the interval (``nan`` without one).
    """

    difference: float
    low: float
    high: float
    p_value: float
    n: int
    paired: bool
    alpha: float
    df: float = math.nan

    @property
    def clear(self) -> bool:
        """Whether the interval excludes zero."""
        return bool(self.low > 0 or self.high < 0)


def _pairs(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Values of both arms where both are finite, seed by seed."""
    if len(a) != len(b):
        raise ValueError(f"paired arms need one value per seed each; got {len(a)} and {len(b)}.")
    keep = [(x, y) for x, y in zip(a, b) if x is not None and y is not None
            and np.isfinite(x) and np.isfinite(y)]
    return (np.array([x for x, _ in keep], dtype=float),
            np.array([y for _, y in keep], dtype=float))


def _arms(a, b, paired: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Both arms' usable values and their count: pairs (paired) or the smaller arm (Welch)."""
    if paired:
        x, y = _pairs(a, b)
        return x, y, len(x)
    x, y = finite(a), finite(b)
    return x, y, min(len(x), len(y))


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}.")


def compare(a, b, *, paired: bool = True, alpha: float = 0.05) -> Comparison:
    """Compare two arms' per-seed values: mean difference, (1 - alpha) t-interval, p-value.

    Paired (the default) uses the per-seed differences (``scipy.stats.ttest_rel``); a seed where
    either arm has no finite value (a diverged run) is left out of both. Unpaired uses Welch's
    test (``scipy.stats.ttest_ind(equal_var=False)``), for arms whose seeds do not match.

    Args:
        a: Per-seed values of one arm (seed order).
        b: Per-seed values of the other.
        paired: Pair the arms by seed.
        alpha: One minus the interval's confidence level.

    Returns:
        The :class:`Comparison`; with fewer than two values (pairs) the interval is ``nan`` and
        nothing is clear.

    Raises:
        ValueError: If ``alpha`` is not in (0, 1), or paired arms differ in length.
    """
    _check_alpha(alpha)
    x, y, n = _arms(a, b, paired)
    difference = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
    if n < 2 or (paired and np.allclose(x - y, (x - y)[0])) or (
            not paired and x.std() == 0 and y.std() == 0):
        # No spread to estimate an error from (or identical differences): no interval.
        return Comparison(difference, math.nan, math.nan, math.nan, n, paired, alpha)
    with warnings.catch_warnings():
        if not paired and (np.ptp(x) == 0 or np.ptp(y) == 0):
            # One arm repeats one value: its variance is exactly 0 and Welch's test rests on the
            # other arm's; SciPy still warns of "precision loss" for a constant sample.
            warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        result = (scipy_stats.ttest_rel(x, y) if paired
                  else scipy_stats.ttest_ind(x, y, equal_var=False))
    interval = result.confidence_interval(confidence_level=1 - alpha)
    return Comparison(difference, float(interval.low), float(interval.high),
                      float(result.pvalue), n, paired, alpha, float(result.df))


def detectable_difference(comparison: Comparison, *, power: float = 0.8) -> float:
    """The smallest true difference the comparison's test would call clear with probability
    ``power``, at its own seeds and spread (the minimum detectable difference).

    The standard error comes from the comparison's interval; the power of the two-sided t-test
    against a true difference ``d`` is that of SciPy's noncentral t (``scipy.stats.nct``) with
    noncentrality ``d / se``, solved for ``d`` with ``scipy.optimize.brentq``.

    Args:
        comparison: A :func:`compare` result with an interval.
        power: The probability of detection, in (alpha, 1).

    Returns:
        The difference, in the comparison's unit (positive); ``nan`` without an interval.

    Raises:
        ValueError: If ``power`` is not in (alpha, 1).
    """
    if not comparison.alpha < power < 1:
        raise ValueError(f"power must be in ({comparison.alpha}, 1), got {power}.")
    df = comparison.df if np.isfinite(comparison.df) else comparison.n - 1
    if not (np.isfinite(comparison.low) and df > 0):
        return math.nan
    critical = scipy_stats.t.ppf(1 - comparison.alpha / 2, df)
    se = (comparison.high - comparison.low) / (2 * critical)
    if not se > 0:
        return math.nan

    def shortfall(d):
        nc = d / se
        # The far tail (a clear difference of the wrong sign) is negligible where SciPy's nct
        # returns nan for it (large noncentrality).
        far = np.nan_to_num(scipy_stats.nct.cdf(-critical, df, nc), nan=0.0)
        return float(scipy_stats.nct.sf(critical, df, nc) + far) - power

    return float(brentq(shortfall, 0.0, se * (critical + 10)))  # power > 0.99 at the top


def mean_interval(values, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean of per-seed values with its (1 - alpha) t-interval (``scipy.stats.t.interval``).

    Args:
        values: Per-seed values (``None`` and non-finite left out).
        alpha: One minus the confidence level.

    Returns:
        ``(mean, low, high)``; the interval is ``(mean, mean)`` for a single value or no
        spread, and all three are ``nan`` without values.

    Raises:
        ValueError: If ``alpha`` is not in (0, 1).
    """
    _check_alpha(alpha)
    x = finite(values)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2 or x.std() == 0:
        return mean, mean, mean
    low, high = scipy_stats.t.interval(1 - alpha, len(x) - 1, loc=mean,
                                       scale=scipy_stats.sem(x))
    return mean, float(low), float(high)


def compare_to(values, target: float, *, alpha: float = 0.05) -> Comparison:
    """Compare per-seed values with a stated number (e.g. the seed's 93.7% test accuracy).

    One-sample t-interval of the mean (``scipy.stats.ttest_1samp``); ``difference`` is the mean
    minus ``target``.

    Args:
        values: Per-seed values (``None`` and non-finite left out).
        target: The stated number.
        alpha: One minus the interval's confidence level.

    Returns:
        The :class:`Comparison` (``paired`` is ``False``; ``n`` the values used). With fewer
        than two values, or no spread, the interval is ``nan``.

    Raises:
        ValueError: If ``alpha`` is not in (0, 1) or ``target`` is not finite.
    """
    _check_alpha(alpha)
    if not np.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target}.")
    x = finite(values)
    difference = float(x.mean() - target) if len(x) else math.nan
    if len(x) < 2 or x.std() == 0:
        return Comparison(difference, math.nan, math.nan, math.nan, len(x), False, alpha)
    result = scipy_stats.ttest_1samp(x, target)
    interval = result.confidence_interval(confidence_level=1 - alpha)
    return Comparison(difference, float(interval.low - target), float(interval.high - target),
                      float(result.pvalue), len(x), False, alpha)


@dataclasses.dataclass(frozen=True)
class Equivalence:
    """Two one-sided tests (TOST) of "the arms differ by less than the margin".

    Attributes:
        difference: Mean of ``a`` minus mean of ``b`` (paired: mean per-seed difference).
        low: Lower end of the (1 - 2 alpha) interval, the one TOST uses.
        high: Upper end.
        p_value: The larger of the two one-sided p-values.
        margin: The declared margin.
        n: Pairs (paired) or the smaller arm's count.
        alpha: The error rate of each one-sided test.
    """

    difference: float
    low: float
    high: float
    p_value: float
    margin: float
    n: int
    alpha: float

    @property
    def equivalent(self) -> bool:
        """Whether both one-sided tests reject: the difference is within the margin."""
        return bool(self.p_value < self.alpha)


def equivalent(a, b, margin: float, *, paired: bool = True, alpha: float = 0.05) -> Equivalence:
    """Test "about equally well": TOST with a declared margin (e.g. 1 point of accuracy).

    Args:
        a: Per-seed values of one arm.
        b: Per-seed values of the other.
        margin: The largest difference still called equal (> 0), in the values' unit.
        paired: Pair the arms by seed (else Welch).
        alpha: The error rate of each one-sided test.

    Returns:
        The :class:`Equivalence`; with fewer than two values nothing is equivalent.

    Raises:
        ValueError: If ``margin`` is not positive or ``alpha`` not in (0, 1).
    """
    _check_alpha(alpha)
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin}.")
    x, y, n = _arms(a, b, paired)
    difference = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
    if n < 2:
        return Equivalence(difference, math.nan, math.nan, math.nan, margin, n, alpha)
    if paired:
        d = x - y
        lower = scipy_stats.ttest_1samp(d, -margin, alternative="greater")
        upper = scipy_stats.ttest_1samp(d, margin, alternative="less")
        interval = scipy_stats.ttest_1samp(d, 0.0).confidence_interval(1 - 2 * alpha)
    else:
        lower = scipy_stats.ttest_ind(x + margin, y, equal_var=False, alternative="greater")
        upper = scipy_stats.ttest_ind(x - margin, y, equal_var=False, alternative="less")
        interval = scipy_stats.ttest_ind(x, y, equal_var=False).confidence_interval(
            1 - 2 * alpha)
    p_value = float(max(lower.pvalue, upper.pvalue))
    return Equivalence(difference, float(interval.low), float(interval.high),
                       p_value if np.isfinite(p_value) else 1.0, margin, n, alpha)


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values of a family of comparisons (``nan`` stays ``nan``).

    SciPy has no Holm (``scipy.stats.false_discovery_control`` controls the false discovery
    rate, not the family-wise error), so the step-down rule is written here: the k-th smallest
    of m p-values is multiplied by (m - k + 1), made monotone, and capped at 1.

    Args:
        p_values: One p-value per comparison.

    Returns:
        The adjusted p-values, in the input's order; compare each with alpha.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    order = present[np.argsort(p[present], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


#: Largest fall of the validation loss at the last epoch that still counts as a plateau. Measured
#: on the full-scale standard-recipe ConvNet (epochs 8-18 of 30): its validation loss moves by up to
#: 2.5% from one epoch to the next with an s.d. of 1.4% while it creeps down, so a fall of more than
#: 2% below the best earlier epoch is more than plateau noise.
CONVERGENCE_TOLERANCE = 0.02


@dataclasses.dataclass(frozen=True)
class Convergence:
    """Whether a run was still improving at its last epoch (the convergence gate).

    Attributes:
        still_improving: The last epoch's validation loss is more than ``tolerance`` below the
            best earlier epoch (or there is no earlier epoch to compare with).
        fall: The relative fall, ``(best earlier - last) / best earlier`` (``nan`` without an
            earlier epoch); negative when the last epoch is worse.
        epochs: Epochs with a finite validation loss.
        tolerance: The tolerance used.
    """

    still_improving: bool
    fall: float
    epochs: int
    tolerance: float

    def describe(self, label: str) -> str:
        """One sentence with the numbers, e.g. for a "not testable at this budget" verdict."""
        if self.epochs < 2:
            return f"{label}: {self.epochs} epoch(s), too few to tell whether it converged"
        if self.still_improving:
            return (f"{label}: validation loss fell {self.fall:.0%} below its best earlier "
                    f"epoch in the last epoch (a plateau moves less than {self.tolerance:.0%})")
        return (f"{label}: validation loss at a plateau (last epoch {-self.fall:+.1%} against "
                "the best earlier one)")


def convergence(history: dict[str, list], *,
                tolerance: float = CONVERGENCE_TOLERANCE) -> Convergence | None:
    """The convergence gate of one run, from its validation loss per epoch.

    Args:
        history: A run's history (``val_loss`` per epoch; ``None`` where not finite).
        tolerance: The largest relative fall at the last epoch that still counts as a plateau.

    Returns:
        The :class:`Convergence`, or ``None`` for a run whose last validation loss is not finite
        (it diverged: that is reported, not gated).

    Raises:
        ValueError: If ``tolerance`` is negative.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}.")
    losses = history.get("val_loss", [])
    if not losses or losses[-1] is None or not np.isfinite(losses[-1]):
        return None
    earlier = finite(losses[:-1])
    if len(earlier) == 0:
        return Convergence(True, math.nan, 1, tolerance)
    best = float(earlier.min())
    fall = (best - float(losses[-1])) / best
    return Convergence(bool(fall > tolerance), fall, len(earlier) + 1, tolerance)
