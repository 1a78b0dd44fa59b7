"""The statistics (stats.py), on known numbers: spread, the spread rule, history measures."""

from __future__ import annotations

import pytest

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
    assert stats.compare([0.9, 0.91], [0.8, 0.82])["clear"]
    assert not stats.compare([0.9, 0.7], [0.8, 0.82])["clear"]  # spread 0.2 > difference
    assert not stats.compare([0.9], [0.8])["clear"]  # one seed: no spread to judge against
    assert not stats.compare([None, float("nan")], [0.8, 0.8])["clear"]  # diverged runs
    result = stats.compare([0.9, 0.92], [0.8, 0.8])
    assert result["difference"] == pytest.approx(0.11) and result["spread"] == pytest.approx(0.02)
    assert result["a"] == pytest.approx(0.91) and result["n"] == 2
