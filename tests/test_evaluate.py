"""Numbers about data and models, on constructed inputs: the seed's table, pixels, classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmnist_helpers import evaluate, models
from fmnist_helpers.core.seed_report import SEED_TABLE1
from fmnist_helpers.study.data import CLASS_NAMES


def test_the_seed_table_is_checked_against_our_convnet():
    comparison = evaluate.compare_with_seed_table(
        models.parameter_table(models.build_model("convnet")))
    assert list(comparison["layer"]) == list(SEED_TABLE1)
    fc1 = comparison.set_index("layer").loc["fc1"]
    # The seed prints "4069 x 1024" for a 4096-wide input: its formula does not give its count.
    assert not fc1["formula = count"] and fc1["seed = our weights"]
    assert comparison.set_index("layer").loc["conv2", "our biases"] == 128
    findings = " ".join(evaluate.seed_table_findings(comparison, 6_300_000))
    assert "fc1" in findings


def test_pixel_statistics_per_class_and_overall():
    images = np.zeros((20, 28, 28), np.uint8)
    labels = np.repeat(np.arange(10), 2)
    images[labels == 3] = 255
    table = evaluate.pixel_statistics(images, labels)
    assert table.loc[CLASS_NAMES[3], "mean"] == 255 and table.loc[CLASS_NAMES[0], "mean"] == 0
    assert table.loc["all", "zero pixels"] == pytest.approx(0.9)


def _per_class(values: dict[str, list[float]]) -> pd.DataFrame:
    table = pd.DataFrame(values, index=[f"seed {s}" for s in range(2)]).T
    table["mean"] = table.mean(axis=1)
    seeds = table.drop(columns="mean")
    table["spread"] = seeds.max(axis=1) - seeds.min(axis=1)
    return table.sort_values("mean")


def test_class_ranking_calls_only_gaps_beyond_the_spread():
    clear = _per_class({name: [0.9, 0.91] for name in CLASS_NAMES} | {"Shirt": [0.5, 0.52]})
    assert evaluate.class_ranking(clear, "Shirt", hardest=True)["verdict"] == "supported"
    wrong = _per_class({name: [0.9, 0.91] for name in CLASS_NAMES}
                       | {"Shirt": [0.7, 0.71], "Pullover": [0.5, 0.5]})
    assert evaluate.class_ranking(wrong, "Shirt", hardest=True)["verdict"] == "not supported"
    close = _per_class({name: [0.9, 0.91] for name in CLASS_NAMES}
                       | {"Shirt": [0.5, 0.6], "Pullover": [0.55, 0.56]})
    result = evaluate.class_ranking(close, "Shirt", hardest=True)
    assert result["verdict"] == "inconclusive" and result["runner_up"] == "Pullover"
    with pytest.raises(ValueError, match="unknown class 'Hat'"):
        evaluate.class_ranking(clear, "Hat", hardest=True)


def test_per_class_report_matches_counts():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9])
    predictions = labels.copy()
    predictions[0] = 1
    report = evaluate.per_class_report(labels, predictions)
    assert report.loc[CLASS_NAMES[0], "recall"] == pytest.approx(0.5)
    assert report.loc[CLASS_NAMES[1], "precision"] == pytest.approx(2 / 3)
