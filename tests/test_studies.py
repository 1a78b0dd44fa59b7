"""Study aggregation on known numbers: spread, the clear-difference rule, tables, sentences."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from fmnist_helpers import stats, studies
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import EXPERIMENT_STUDIES
from fmnist_helpers.store.runs import Run, RunConfig


def fake_run(seed, val, losses, diverged_epoch=None, **changes):
    """A Run built from known numbers (no training): for the aggregation logic only."""
    config = RunConfig(seed=seed, epochs=len(losses), **changes)
    history = {"loss": losses, "val_loss": losses,
               "val_accuracy": [val - 0.1 * (len(losses) - i - 1) for i in range(len(losses))],
               "accuracy": [val] * len(losses)}
    result = {"val_accuracy": val, "test_accuracy": val - 0.01, "train_seconds": 10.0,
              "diverged": diverged_epoch is not None, "diverged_epoch": diverged_epoch}
    return Run(config=config, path=Path("/nonexistent"), history=history, result=result)


def result_for(values_by_label, study="optimizer", diverged=()):
    study_def = studies.get_study(study)
    if study == "optimizer":  # the four optimizers at the baseline's learning rate
        study_def = dataclasses.replace(study_def, variants=tuple(
            v for v in study_def.variants if "learning_rate" not in v.changes))
    profile = get_profile("quick")
    runs = {}
    for variant, values in zip(study_def.variants, values_by_label):
        runs[variant.key] = [
            fake_run(seed, v, [1.0, 0.8, 0.7, 0.6] if variant.key not in diverged else
                     [1.0, None, None, None], diverged_epoch=2 if variant.key in diverged else None)
            for seed, v in enumerate(values)]
    return studies.StudyResult(study=study_def, profile=profile, runs=runs, threshold=0.8)


def test_table_and_observations_follow_the_numbers():
    result = result_for([[0.90, 0.91, 0.905], [0.905, 0.895, 0.91], [0.70, 0.72, 0.705],
                         [0.85, 0.86, 0.84]])
    table = result.table()
    assert table.loc["Adam", "val accuracy"] == pytest.approx(0.905)
    assert table.loc["SGD", "val spread"] == pytest.approx(0.02)
    assert table.loc["Adam", "epochs to 80% val"] == "3.0"  # [.61 .71 .81 .91], [.6 .7 .8 .9]
    text = " ".join(result.observations())
    assert "highest final validation accuracy: Adam" in text
    assert "clearly behind it: SGD" in text
    assert ("not clearly different from it (the interval of the paired difference includes "
            "zero): RMSProp" in text)
    assert "paired by seed" in text


def test_diverged_runs_are_reported_not_dropped():
    result = result_for([[0.9, 0.91], [0.9, 0.9], [0.1, 0.1], [0.85, 0.86]], diverged=("SGD",))
    table = result.table()
    assert table.loc["SGD", "diverged"] == "2/2"
    assert math.isnan(table.loc["SGD", "val accuracy"])
    observations = " ".join(result.observations())
    assert "SGD diverged in 2 of 2 seed(s) (loss not finite at epoch 2)" in observations


def test_runs_that_stay_at_chance_are_named_not_hidden():
    result = result_for([[0.9, 0.91, 0.9], [0.9, 0.9, 0.89], [0.85, 0.86, 0.84],
                         [0.85, 0.86, 0.84]])
    assert "at chance" not in result.table().columns  # every run learned: no empty column
    stuck = result.runs["SGD"][1]
    stuck.history["val_accuracy"] = [0.1, 0.1, 0.1, 0.1]
    table = result.table()
    assert table.loc["SGD", "at chance"] == "1/3" and table.loc["Adam", "at chance"] == ""
    assert table.loc["SGD", "diverged"] == ""
    observations = " ".join(result.observations())
    assert "SGD did not learn in 1 of 3 seed(s) (seed 1: validation accuracy at chance" in (
        observations)
    assert "Adam did not learn" not in observations


def test_stayed_at_chance_reads_the_whole_validation_curve():
    assert stats.stayed_at_chance({"val_accuracy": [0.1, None, 0.11, 0.1]})
    assert not stats.stayed_at_chance({"val_accuracy": [0.1, 0.1, 0.13]})  # it started to learn
    assert not stats.stayed_at_chance({"val_accuracy": [None, None]})  # diverged: not this
    assert not stats.stayed_at_chance({"val_accuracy": [0.34]}, classes=3, margin=0.0)
    assert stats.stayed_at_chance({"val_accuracy": [0.34]}, classes=3, margin=0.01)
    with pytest.raises(ValueError, match="classes must be >= 2"):
        stats.stayed_at_chance({"val_accuracy": [0.1]}, classes=1)


def test_grouped_study_keys_are_unique():
    study = studies.get_study("batchnorm")
    keys = [v.key for v in study.variants]
    assert len(set(keys)) == len(keys) == 12


def test_every_experiment_study_exists_and_bad_names_are_rejected():
    for name in EXPERIMENT_STUDIES:
        assert studies.get_study(name).variants
    with pytest.raises(ValueError, match="unknown study 'depth'"):
        studies.get_study("depth")
