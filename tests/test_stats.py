"""The statistics (stats.py), on known numbers: spread, the spread rule, history measures."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

from fmnist_helpers import stats


def test_spread_is_the_range_over_seeds():
    assert stats.spread([0.80, 0.84, 0.82]) == pytest.approx(0.04)
    assert stats.spread([0.8]) == 0.0
    assert stats.spread([0.8, None, float("nan"), 0.9]) == pytest.approx(0.1)


@pytest.mark.parametrize("a, b, clear", [
    ([0.90, 0.91], [0.80, 0.81], True),     # 0.10 apart, spreads 0.01
    ([0.90, 0.91], [0.89, 0.905], False),   # 0.0075 apart, spread 0.015
    ([0.90, 0.95], [0.88, 0.89], False),    # 0.04 apart, spread 0.05
    ([0.90], [0.10], False),                # one seed: no spread to compare with
    ([0.9, 0.9], [0.9, 0.9], False),
])
def test_clear_difference_rule(a, b, clear):
    assert stats.is_clear_difference(a, b) is clear
    assert stats.is_clear_difference(b, a) is clear


def test_epochs_to_reach_and_val_loss_rises():
    history = {"val_accuracy": [0.5, 0.79, 0.81, 0.9], "val_loss": [1.0, 0.9, 1.1, 0.8, 0.95]}
    assert stats.epochs_to_reach(history, 0.8) == 3
    assert stats.epochs_to_reach(history, 0.95) is None
    assert stats.val_loss_rises(history) == 2


def test_compare_reports_means_difference_and_the_spread_rule():
    assert stats.compare_spread([0.9, 0.91], [0.8, 0.82])["clear"]
    assert not stats.compare_spread([0.9, 0.7], [0.8, 0.82])["clear"]  # spread 0.2 > difference
    assert not stats.compare_spread([0.9], [0.8])["clear"]  # one seed: no spread to judge against
    assert not stats.compare_spread([None, float("nan")], [0.8, 0.8])["clear"]  # diverged runs
    result = stats.compare_spread([0.9, 0.92], [0.8, 0.8])
    assert result["difference"] == pytest.approx(0.11) and result["spread"] == pytest.approx(0.02)
    assert result["a"] == pytest.approx(0.91) and result["n"] == 2


# --- the t-interval rule, equivalence, Holm --------------------------------------------------

def test_paired_compare_matches_scipy_on_known_numbers():
    from scipy import stats as scipy_stats

    a, b = [0.81, 0.83, 0.80, 0.84], [0.79, 0.80, 0.80, 0.81]
    result = stats.compare(a, b)
    reference = scipy_stats.ttest_rel(a, b)
    interval = reference.confidence_interval(0.95)
    assert result.difference == pytest.approx(0.02)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high))
    assert result.p_value == pytest.approx(reference.pvalue) and result.n == 4 and result.paired
    # by hand: mean difference 0.02, sd 0.01414, t(0.975, 3) = 3.1824
    half = 3.182446 * np.std([0.02, 0.03, 0.0, 0.03], ddof=1) / 2
    assert result.low == pytest.approx(0.02 - half, rel=1e-4)
    assert result.clear == (result.low > 0)


def test_unpaired_compare_is_welch_and_diverged_seeds_drop_their_pair():
    from scipy import stats as scipy_stats

    a, b = [0.9, 0.92, 0.91], [0.8, 0.85]
    result = stats.compare(a, b, paired=False)
    interval = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high))
    paired = stats.compare([0.9, None, 0.91, 0.95], [0.8, 0.7, float("nan"), 0.84])
    assert paired.n == 2 and paired.difference == pytest.approx(0.105)
    one = stats.compare([0.9], [0.1])
    assert one.n == 1 and np.isnan(one.low) and not one.clear
    with pytest.raises(ValueError, match="one value per seed"):
        stats.compare([0.9, 0.8], [0.1])
    with pytest.raises(ValueError, match="alpha"):
        stats.compare(a, a, alpha=1.5)


def _simulated_rate(rule, seeds: int, shift: float, trials: int = 4000) -> float:
    rng = np.random.default_rng(seeds * 100 + int(shift * 10))
    a = rng.normal(shift, 1.0, (trials, seeds))
    b = rng.normal(0.0, 1.0, (trials, seeds))
    return float(np.mean([rule(x, y) for x, y in zip(a, b)]))


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_the_interval_rule_calls_a_difference_that_is_not_there_at_most_alpha(seeds):
    rate = _simulated_rate(lambda x, y: stats.compare(x, y).clear, seeds, 0.0)
    monte_carlo = 3 * np.sqrt(0.05 * 0.95 / 4000)
    assert rate <= 0.05 + monte_carlo, rate


def test_the_old_spread_rule_did_not_hold_its_error_rate_at_two_seeds():
    rate = _simulated_rate(stats.is_clear_difference, 2, 0.0)
    assert rate > 0.15  # about 21%: why the ledger moves to the interval rule


def test_welch_with_one_constant_arm_is_the_other_arms_interval_without_a_warning():
    varied, constant = [0.71, 0.74, 0.78], [0.6, 0.6, 0.6]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy's "precision loss" would reach the pages
        c = stats.compare(varied, constant, paired=False)
    one_sample = scipy_stats.ttest_1samp(np.subtract(varied, 0.6), 0).confidence_interval(0.95)
    assert c.low == pytest.approx(one_sample.low) and c.high == pytest.approx(one_sample.high)
    assert c.difference == pytest.approx(np.mean(varied) - 0.6) and c.clear


def test_tost_calls_close_arms_equal_and_far_ones_not():
    close = stats.equivalent([0.900, 0.905, 0.902, 0.899, 0.903],
                             [0.899, 0.904, 0.903, 0.898, 0.901], margin=0.01)
    assert close.equivalent and -0.01 < close.low < close.high < 0.01
    far = stats.equivalent([0.90, 0.91, 0.92], [0.85, 0.86, 0.88], margin=0.01)
    assert not far.equivalent
    noisy = stats.equivalent([0.80, 0.95], [0.85, 0.90], margin=0.01)
    assert not noisy.equivalent  # close means, but too noisy to call equal
    welch = stats.equivalent([0.900, 0.905, 0.902], [0.899, 0.904, 0.903, 0.901], margin=0.01,
                             paired=False)
    assert welch.equivalent
    with pytest.raises(ValueError, match="margin must be positive"):
        stats.equivalent([0.9, 0.9], [0.9, 0.9], margin=0)


def test_holm_adjusts_step_down_and_keeps_order():
    adjusted = stats.holm([0.01, 0.04, 0.03, float("nan"), 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 with m = 4: 0.02, 0.03, 0.06, 0.06 (made monotone)
    assert adjusted[4] == pytest.approx(0.02) and adjusted[0] == pytest.approx(0.03)
    assert adjusted[2] == pytest.approx(0.06) and adjusted[1] == pytest.approx(0.06)
    assert np.isnan(adjusted[3])
    assert list(stats.holm([0.5, 0.9])) == [1.0, 1.0]


# --- the convergence gate ----------------------------------------------------------------------

def test_a_run_still_falling_is_caught_by_the_gate():
    falling = stats.convergence({"val_loss": [1.2, 0.9, 0.75, 0.66]})
    assert falling.still_improving and falling.fall == pytest.approx(0.12)
    assert "fell 12% below its best earlier epoch" in falling.describe("lr 1e-4")


def test_a_plateau_passes_the_gate_even_with_noise():
    # the full-scale ConvNet's last epochs (values measured here): noisy but flat
    plateau = stats.convergence({"val_loss": [0.6527, 0.6533, 0.6406, 0.6441, 0.6449, 0.6423]})
    assert not plateau.still_improving and plateau.fall == pytest.approx(-0.0027, abs=1e-4)
    assert "plateau" in plateau.describe("ConvNet")
    worse = stats.convergence({"val_loss": [0.5, 0.4, 0.6]})
    assert not worse.still_improving and worse.fall < 0


def test_the_gate_on_short_and_diverged_histories():
    one = stats.convergence({"val_loss": [0.9]})
    assert one.still_improving and one.epochs == 1 and "too few" in one.describe("x")
    assert stats.convergence({"val_loss": [0.9, None]}) is None  # diverged: reported elsewhere
    assert stats.convergence({"val_loss": []}) is None
    assert not stats.convergence({"val_loss": [1.0, None, 0.99]}).still_improving
    with pytest.raises(ValueError, match="tolerance"):
        stats.convergence({"val_loss": [1, 0.5]}, tolerance=-1)


def test_compare_to_a_stated_number_is_scipys_one_sample_interval():
    from scipy import stats as scipy_stats

    from fmnist_helpers.core.stats import compare_to

    values = [0.941, 0.945, 0.939, 0.944]
    c = compare_to(values, 0.937)
    ci = scipy_stats.ttest_1samp(values, 0.937).confidence_interval(0.95)
    assert c.difference == pytest.approx(np.mean(values) - 0.937)
    assert (c.low, c.high) == pytest.approx((ci.low - 0.937, ci.high - 0.937))
    assert c.clear and c.n == 4
    assert not compare_to([0.95], 0.937).clear  # one value: no interval
    with pytest.raises(ValueError, match="target must be a finite number"):
        compare_to(values, float("nan"))


def test_rise_fraction_counts_the_steps_at_which_a_loss_rises():
    from fmnist_helpers.core.stats import rise_fraction

    assert rise_fraction([1.0, 0.9, 0.8, 0.7]) == 0.0
    assert rise_fraction([1.0, 1.1, 0.9, 1.0, 0.8]) == pytest.approx(0.5)
    assert rise_fraction([1.0, None, 1.2]) == 1.0  # missing windows left out
    assert np.isnan(rise_fraction([1.0]))


def test_the_detectable_difference_is_detected_80_percent_of_the_time():
    """Checked against a simulation: true differences of that size, drawn with the spread the
    comparison saw, are called clear about 80% of the time."""
    from fmnist_helpers.core.stats import compare, detectable_difference

    rng = np.random.default_rng(7)
    for n in (3, 5, 10):
        a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
        c = compare(a, b)
        d = detectable_difference(c)
        sd = np.std(a - b, ddof=1)
        hits = np.mean([compare(rng.normal(d, sd, n), np.zeros(n)).clear for _ in range(2000)])
        assert 0.76 < hits < 0.84, (n, d, hits)
    assert np.isnan(detectable_difference(compare([1.0], [0.0])))
    with pytest.raises(ValueError, match="power"):
        detectable_difference(c, power=0.01)
