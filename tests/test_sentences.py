"""Generated sentences, on constructed numbers: percentage points as points, denominators said,
comparisons checked against the numbers they cite, enough digits to show a gap (issue 16)."""

from __future__ import annotations

import pandas as pd

from fmnist_helpers import attacks, evaluate


def _fooling(fgsm_at_005: float, **counts):
    noise = {"success": [True] * 10, "steps": list(range(10, 20)), "target": list(range(10)),
             "start_prediction": [8]}
    table = pd.DataFrame({
        "success_rate": [0.639, 0.5], "accuracy_before": [0.792, 0.792],
        "accuracy_after": [0.286, 0.4], "linf_mean": [0.1, 0.1], "l2_mean": [2.5, 2.4],
        "succeeded": [506, 450], "eligible": [792, 900]},
        index=["FGSM untargeted", "FGSM targeted (next class)"])
    curve = pd.DataFrame({"FGSM": [0.82, 0.6, fgsm_at_005], "PGD": [0.82, 0.55, 0.3]},
                         index=pd.Index([0.0, 0.02, 0.05], name="epsilon"))
    return " ".join(attacks.fooling_findings(noise, table, curve, 0.1, **counts))


def test_fooling_sentences_state_denominators_and_compare_correctly():
    text = _fooling(fgsm_at_005=0.49)
    assert "506 of 792 of the correctly classified images" in text
    assert "450 of 900 of the images not already of the target class" in text
    assert "from epsilon 0.05 on (30.0% there); FGSM at that budget does too (49.0%)." in text
    assert "FGSM at that budget leaves 61.0%." in _fooling(fgsm_at_005=0.61)
    assert "Clean accuracy" not in text  # only said when every sample's size is known


def test_the_pages_three_clean_accuracies_are_said_to_be_one_model():
    text = _fooling(0.49, attacked=1000, curve_images=500, test_accuracy=0.8089)
    assert ("Clean accuracy of this one model on each sample: 80.89% on the whole test set (02), "
            "79.2% on the 1,000 attacked images, 82.0% on the 500 images of the robustness "
            "curve (its epsilon 0).") in text
    assert "PGD brings the curve's accuracy on its 500 images below 50% from epsilon 0.05" in text
    # 0.82 -> 0.30 at 0.05 turns 63% of the correct predictions: the smallest such epsilon
    assert "The smallest epsilon tried at which PGD turns at least half" in text
    assert "is 0.05 (13 grey levels; 63% turned)." in text


def test_mnist_gap_is_in_points_with_no_meaningless_ratio():
    comparison = pd.DataFrame({"accuracy": [0.911, 0.824], "std": [0.005, 0.013],
                               "samples": [5000, 5000]}, index=["MNIST", "Fashion-MNIST"])
    text = " ".join(evaluate.mnist_vs_fashion_findings(comparison))
    assert "MNIST is ahead by 8.7 percentage points, larger than twice the fold-to-fold " \
           "spread (2.6 points)." in text
    assert "x MNIST's error rate" not in text
    assert "2.0 times as many mistakes on Fashion-MNIST" in text


def test_study_gaps_are_points_with_two_decimals():
    from test_studies import result_for  # tests/ is on sys.path (no package)

    result = result_for([[0.812, 0.816], [0.801, 0.804], [0.8005, 0.8025]], study="kernel_size")
    text = " ".join(result.observations())
    assert "points behind" in text and "%, +" not in text
    # two gaps a tenth of a point apart are told apart
    assert "1.15 points behind" in text and "1.25 points behind" in text
