"""Figures, checked on what they draw (axes, lines, labels, titles), as scikit-learn's display
tests do -- never on pixels. Every figure here comes from constructed data: no model runs."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from fmnist_helpers import claims, viz
from fmnist_helpers.study.data import CLASS_NAMES

matplotlib.use("Agg")


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_learning_curves_draw_train_and_validation_per_metric():
    history = {"loss": [1.0, 0.6, 0.4], "val_loss": [0.9, 0.7, None],
               "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.65, 0.75, 0.8]}
    fig = viz.learning_curves(history, title="run")
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train", "validation"]
    assert loss_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy"
    assert np.isnan(loss_ax.lines[1].get_ydata()[2])  # a missing loss is a gap, not a zero
    assert list(acc_ax.lines[1].get_ydata()) == [0.65, 0.75, 0.8]
    assert fig._suptitle.get_text() == "run"


def test_accuracy_bars_label_every_bar_with_its_value():
    table = pd.DataFrame({"accuracy": [0.91, 0.82], "std": [0.01, 0.02]},
                         index=["MNIST", "Fashion-MNIST"])
    fig = viz.accuracy_bars(table, title="same classifier")
    (ax,) = fig.axes
    assert len(ax.patches) == 2 and ax.get_xlim() == (0, 1)
    assert _texts(fig) == ["91.0%", "82.0%"] and ax.get_title() == "same classifier"


def test_robustness_plot_has_a_line_per_attack_and_chance():
    curve = pd.DataFrame({"FGSM": [0.8, 0.5, 0.3], "PGD": [0.8, 0.3, 0.1]},
                         index=pd.Index([0.0, 0.05, 0.1], name="epsilon"))
    (ax,) = viz.robustness_plot(curve, title="attack").axes
    assert [line.get_label() for line in ax.lines] == ["FGSM", "PGD", "chance (10%)"]
    assert list(ax.lines[1].get_ydata()) == [0.8, 0.3, 0.1]
    assert "epsilon" in ax.get_xlabel() and ax.get_ylim() == (0, 1)


def test_adversarial_examples_show_the_given_predictions_without_a_model():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)
    labels = np.array([0, 1, 2])
    adversarial = {"FGSM untargeted": np.clip(images + 0.1, 0, 1)}
    probabilities = {"original": np.eye(10)[[0, 1, 2]],
                     "FGSM untargeted": np.eye(10)[[5, 1, 2]]}
    fig = viz.adversarial_examples(images, labels, adversarial, probabilities, shown=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 3 * 3 + 1  # originals, adversarial, difference rows; a colour bar
    assert fig.axes[-1].get_ylabel() == "pixel change"  # the difference maps' scale
    assert titles[:3] == [f"{CLASS_NAMES[k]} 100%" for k in range(3)]
    assert titles[3] == f"{CLASS_NAMES[5]} 100%"  # the prediction it was given
    assert fig.axes[3].title.get_color() == "#b00020"  # misclassified in red
    assert titles[6].startswith("L-inf 0.10")


def test_per_class_bars_order_and_range():
    table = pd.DataFrame({"seed 0": [0.6, 0.95], "seed 1": [0.64, 0.97]}, index=["Shirt", "Bag"])
    table["mean"] = table.mean(axis=1)
    (ax,) = viz.per_class_bars(table, title="classes").axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Shirt", "Bag"]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.62, 0.96])
    assert ax.get_ylabel() == "test accuracy (recall)"


def test_verdict_bars_count_each_verdict():
    ledger = pd.DataFrame({"verdict": ["supported", "supported", "inconclusive"]},
                          index=pd.Index([1, 2, 3], name="number"))
    fig = viz.verdict_bars(ledger, title="claims")
    texts = _texts(fig)
    assert texts == ["2: claims 1, 2", "0", "0", "1: claims 3", "0"]
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(claims.VERDICTS)
    assert [p.get_width() for p in ax.patches] == [2, 0, 0, 1, 0]
    assert ax.get_xlabel() == "claims"


def test_the_verdict_matrix_names_every_verdict_and_marks_the_claims_that_differ():
    from fmnist_helpers.pages.viz.legibility import problems

    ledger = pd.DataFrame({"claim": [c.claim for c in claims.CLAIMS],
                           "verdict": claims.SUPPORTED},
                          index=[c.number for c in claims.CLAIMS])
    other = ledger.copy()
    other.loc[4, "verdict"] = claims.NOT_TESTABLE
    fig = viz.verdict_matrix({"converged: the verdicts": ledger, "this build: quick": other},
                             title="The seed's claims")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(claims.CLAIMS)
    assert labels[3].startswith("≠ 4. ") and not any(label.startswith("≠") for label in
                                                      labels[:3] + labels[4:])
    assert _texts(fig).count(claims.NOT_TESTABLE) == 1
    assert _texts(fig).count(claims.SUPPORTED) == 2 * len(claims.CLAIMS) - 1
    assert problems(fig) == []
    single = viz.verdict_matrix({"this build: smoke": ledger}, title="The seed's claims")
    assert problems(single) == [] and "≠" not in single.axes[0].get_title()


@pytest.mark.parametrize("epochs", [4, 20, 50])
def test_learning_curves_stay_legible_for_long_runs(epochs):
    from fmnist_helpers.pages.viz.legibility import problems

    falling = list(np.linspace(1.0, 0.2, epochs))
    history = {"loss": falling, "val_loss": falling, "accuracy": falling[::-1],
               "val_accuracy": falling[::-1]}
    fig = viz.learning_curves(history, title="run")
    assert problems(fig) == []
    ticks = fig.axes[0].get_xticks()
    assert all(float(t).is_integer() for t in ticks)
    assert (len(ticks) == epochs) if epochs <= 10 else (len(ticks) <= 12)
