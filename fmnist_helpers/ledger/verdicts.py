"""The rule every claim of the ledger is judged by: verdict words, tests, and the convergence gate.

A comparison is the mean difference of a claim's metric with its 95% confidence interval, paired
by seed (:func:`fmnist_helpers.core.stats.compare`); it is *clear* when the interval excludes 0. A
claim that one setting beats another is *supported* when every comparison it needs is clear in its
favour, *not supported* when one is clear against it, *equivalent* when the settings are shown to
be within a declared margin (two one-sided tests), and *inconclusive* otherwise. A claim about the
end of training whose runs were still improving at their last epoch is *not testable at this
budget* (:func:`still_improving`).

Pure functions of numbers; imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from fmnist_helpers.core.stats import (
    Comparison,
    Equivalence,
    compare,
    detectable_difference,
    equivalent,
)

SUPPORTED, NOT_SUPPORTED, EQUIVALENT = "supported", "not supported", "equivalent"
INCONCLUSIVE, NOT_TESTABLE = "inconclusive", "not testable at this budget"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, EQUIVALENT, INCONCLUSIVE, NOT_TESTABLE)
#: The colour of each verdict on the pages (table and bar).
VERDICT_COLORS = {SUPPORTED: "#2e7d32", NOT_SUPPORTED: "#b00020", EQUIVALENT: "#1565c0",
                  INCONCLUSIVE: "#8a6d00", NOT_TESTABLE: "#616161"}
#: "About equally well" for accuracies: within one point (0.01), by two one-sided tests. A point
#: is about the seed-to-seed s.d. of a quick-profile run's test accuracy and a fifth of the gap
#: between the seed's best and worst hyper-parameter settings.
EQUIVALENCE_MARGIN = 0.01
#: Reproducing a stated accuracy (claims 3 and 19): within half a point, by two one-sided tests.
TARGET_MARGIN = 0.005
#: Family-wise error rate of the Holm adjustment, and the error rate of every interval.
ALPHA = 0.05
#: Fewer epochs than this leave too few epoch-to-epoch steps to judge a validation loss's
#: oscillation (claim 6): with 4 epochs there are 3 steps.
MIN_EPOCHS_FOR_OSCILLATION = 10


@dataclasses.dataclass(frozen=True)
class Test:
    """One comparison a verdict rests on: what is compared, and the statistics.

    Attributes:
        name: E.g. ``"He minus Xavier"``.
        result: A :class:`stats.Comparison` (or :class:`stats.Equivalence` for "about equal").
        decisive: Whether the verdict rests on this test (its Holm-adjusted result counts).
        unit: How the difference prints: ``"points"`` (a fraction, in percentage points),
            ``"loss"``, ``"epochs"`` or ``"correlation"``.
    """

    name: str
    result: Comparison | Equivalence
    decisive: bool = True
    unit: str = "points"

    def text(self) -> str:
        """The difference with its interval, in the test's unit."""
        fmt, unit = UNITS[self.unit]
        return interval_text(self.result, fmt, unit)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A judged claim: the verdict, the evidence in words, and the tests behind it.

    The ledger's "difference" column shows the test that decides the verdict
    (:func:`deciding_test`).
    """

    verdict: str
    evidence: str
    tests: tuple[Test, ...] = ()

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}.")


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _num(x: float) -> str:
    return f"{x:.3f}"


def _pts(x: float) -> str:
    return f"{x * 100:+.2f}"


#: How each unit of :class:`Test` prints a difference: (format, unit word).
UNITS = {"points": (_pts, " points"), "loss": (lambda x: f"{x:+.3f}", ""),
         "epochs": (lambda x: f"{x:+.1f}", " epochs"), "correlation": (lambda x: f"{x:+.2f}", "")}


def interval_text(result: Comparison | Equivalence, fmt=_pts, unit: str = " points") -> str:
    """E.g. ``"+1.25 points (95% CI +0.40 to +2.10)"``; the interval is the test's own."""
    if isinstance(result, Equivalence):
        level = 1 - 2 * result.alpha
    else:
        level = 1 - result.alpha
    if not np.isfinite(result.difference):
        return "no values"
    text = f"{fmt(result.difference)}{unit}"
    if np.isfinite(result.low):
        text += f" ({level:.0%} CI {fmt(result.low)} to {fmt(result.high)})"
    else:
        text += f" (no interval: {result.n} value(s) without spread)"
    return text


def _vs(name_a: str, name_b: str, a: list, b: list, c: Comparison, fmt=_pct, diff_fmt=_pts,
        unit: str = " points", what: str = "seeds") -> str:
    """``"A 83.1% vs B 82.0%: +1.10 points (95% CI ...), 3 seeds"``."""
    return (f"{name_a} {fmt(_mean(a))} vs {name_b} {fmt(_mean(b))}: "
            f"{interval_text(c, diff_fmt, unit)}, {c.n} {what}")


def _mean(values) -> float:
    x = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(x)) if x else math.nan


def _direction(c: Comparison, *, higher_is_claimed: bool = True) -> str:
    """Verdict for "a beats b": supported / not supported only when the difference is clear."""
    if not c.clear:
        return INCONCLUSIVE
    return SUPPORTED if (c.difference > 0) == higher_is_claimed else NOT_SUPPORTED


def _combine(verdicts: list[str]) -> str:
    """All parts supported -> supported; any part not supported -> not supported."""
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    if verdicts and all(v == EQUIVALENT for v in verdicts):
        return EQUIVALENT
    return SUPPORTED if verdicts and all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE


def _judged(parts: list[tuple[str, Test | None]], evidence: str) -> Verdict:
    """A verdict from its parts; the decisive tests are those that agree with the verdict."""
    verdict = _combine([v for v, _ in parts])
    tests = tuple(dataclasses.replace(t, decisive=(v == verdict and verdict != INCONCLUSIVE))
                  for v, t in parts if t is not None)
    return Verdict(verdict, evidence, tests)


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and np.isfinite(v)]


def _beats(a: list, b: list, *, higher_is_claimed: bool = True,
           margin: float | None = None) -> tuple[str, Comparison | Equivalence]:
    """Judge "a beats b" on per-seed values: clear in the claimed direction, clear against,
    equivalent within ``margin`` (when given), or inconclusive."""
    c = compare(a, b, alpha=ALPHA)
    verdict = _direction(c, higher_is_claimed=higher_is_claimed)
    if verdict == INCONCLUSIVE and margin is not None:
        e = equivalent(a, b, margin, alpha=ALPHA)
        if e.equivalent:
            return EQUIVALENT, e
    return verdict, c


def best_is(values: dict[str, list], expected: str, *, what: str = "test accuracy") -> Verdict:
    """Is ``expected`` the best variant? Supported if it clearly beats every other one; not
    supported if another clearly beats it; equivalent if every other one is within
    :data:`EQUIVALENCE_MARGIN` of it; inconclusive otherwise."""
    if expected not in values:
        raise ValueError(f"no variant {expected!r}; the variants are {', '.join(values)}.")
    parts, lines = [], []
    if not _finite(values[expected]):
        return Verdict(NOT_SUPPORTED, f"{what}: {expected} diverged in every seed.")
    for other, vals in values.items():
        if other == expected:
            continue
        if not _finite(vals):  # diverged in every seed: beaten, with no statistics to adjust
            parts.append((SUPPORTED, None))
            lines.append(f"{other} diverged in every seed")
            continue
        verdict, c = _beats(values[expected], vals, margin=EQUIVALENCE_MARGIN)
        parts.append((verdict, Test(f"{expected} minus {other}", c)))
        lines.append(_vs(expected, other, values[expected], vals, c))
    return _judged(parts, f"{what}: " + "; ".join(lines) + ".")


def still_improving(arms: list[dict]) -> list[str]:
    """The convergence gate over the arms a final-accuracy verdict compares.

    An arm is still improving when most of its seeds that did not diverge were still
    improving at their last epoch (``stats.convergence``: the last validation loss more than
    the tolerance below the best earlier epoch).

    Args:
        arms: Arm facts with ``label`` and ``convergence`` (one dict or ``None`` per seed).

    Returns:
        One sentence per still-improving arm, with its numbers (empty: the verdict stands).
    """
    out = []
    for arm in arms:
        gates = [g for g in arm["convergence"] if g is not None]
        improving = [g for g in gates if g["still_improving"]]
        if gates and len(improving) * 2 > len(gates):
            falls = [g["fall"] for g in improving if np.isfinite(g["fall"])]
            fall = (f"validation loss fell a median {np.median(falls):.0%} below its best "
                    "earlier epoch in the last epoch" if falls else
                    "too few epochs to see a plateau")
            out.append(f"{arm['label']}: {fall} ({len(improving)} of {len(gates)} seeds still "
                       f"improving, epoch {gates[0]['epochs']})")
    return out


def _gated(verdict: Verdict, arms: list[dict], facts: dict) -> Verdict:
    """Replace a final-accuracy verdict by "not testable at this budget" if its runs were still
    improving; the evidence keeps the numbers, and says why. Seeds that did not learn (their
    validation accuracy at chance every epoch) are named in the evidence either way."""
    stuck = [f"{arm['label']} in {sum(arm['at_chance'])} of {len(arm['at_chance'])}"
             for arm in arms if any(arm.get("at_chance") or ())]
    if stuck:
        verdict = dataclasses.replace(verdict, evidence=verdict.evidence + " Did not learn "
                                      "(validation accuracy at chance every epoch, loss finite; "
                                      "counted in the means): " + "; ".join(stuck) + " seed(s).")
    reasons = still_improving(arms)
    if not reasons:
        return verdict
    tolerance = facts.get("convergence_tolerance", 0.02)
    return Verdict(NOT_TESTABLE, verdict.evidence + " Not testable at this budget: still "
                   f"improving at the last epoch (a plateau moves less than {tolerance:.0%}): "
                   + "; ".join(reasons) + ".",
                   tuple(dataclasses.replace(t, decisive=False) for t in verdict.tests))



def deciding_test(verdict: Verdict) -> Test | None:
    """The comparison a verdict rests on, for the ledger's "difference" column.

    Supported or equivalent: the decisive test hardest to pass (largest p-value; for "best is
    X", X against its strongest rival). Not supported: the decisive test clearest against the
    claim (smallest p-value). Inconclusive or not testable: the test closest to deciding against
    the claim, i.e. the smallest difference (for "best is X", the rival nearest X or ahead of
    it), else the first.

    Returns:
        The test, or ``None`` for a verdict without tests.
    """
    if not verdict.tests:
        return None
    decisive = [t for t in verdict.tests if t.decisive and np.isfinite(t.result.p_value)]
    if decisive and verdict.verdict in (SUPPORTED, EQUIVALENT):
        return max(decisive, key=lambda t: t.result.p_value)
    if decisive and verdict.verdict == NOT_SUPPORTED:
        return min(decisive, key=lambda t: t.result.p_value)
    comparisons = [t for t in verdict.tests if isinstance(t.result, Comparison)
                   and np.isfinite(t.result.difference)]
    if len(comparisons) > 1 and len({t.unit for t in comparisons}) == 1:
        return min(comparisons, key=lambda t: t.result.difference)
    return verdict.tests[0]


def rules_out(test: Test, *, power: float = 0.8) -> str:
    """What an inconclusive comparison still says, in its unit: the differences its interval
    rules out, and the smallest difference its seeds would have detected with ``power``.

    Returns:
        E.g. ``"rules out a difference below -1.20 or above +0.80 points (95%); with 5 seeds a
        true difference of 1.61 points would be called clear 80% of the time"``; for an
        equivalence test, whether the difference was shown within its margin and the interval;
        ``""`` for a test without an interval.
    """
    result = test.result
    if not np.isfinite(result.low):
        return ""
    fmt, unit = UNITS[test.unit]
    if isinstance(result, Equivalence):
        within = "within" if result.equivalent else "not shown within"
        return (f"{within} ±{fmt(result.margin).lstrip('+')}{unit}: the "
                f"{1 - 2 * result.alpha:.0%} interval runs from {fmt(result.low)} to "
                f"{fmt(result.high)}{unit}")
    detectable = detectable_difference(result, power=power)
    magnitude = fmt(detectable).lstrip("+")
    return (f"rules out a difference below {fmt(result.low)} or above {fmt(result.high)}{unit} "
            f"({1 - result.alpha:.0%}); with {result.n} seeds a true difference of {magnitude}"
            f"{unit} would be called clear {power:.0%} of the time")
