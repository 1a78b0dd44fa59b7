"""Attacks: bounds, the FGSM formula on a linear model, success on a trained model, ART."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fmnist_helpers import attacks, data
from fmnist_helpers.study.data import probe_set
from fmnist_helpers.study.train import train


@pytest.fixture(scope="module")
def linear_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1), name="image")
    flat = keras.layers.Flatten(name="flatten")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(flat))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A smoke-sized ConvNet trained on real data, and 200 real test images."""
    from fmnist_helpers.store.runs import RunConfig, RunStore

    config = RunConfig(train_size=2000, val_size=500, test_size=1000, epochs=3, width=0.25,
                       batch_size=50, learning_rate=1e-3)
    run = train(config, store=RunStore(tmp_path_factory.mktemp("runs")), verbose=False)
    _, images, labels = probe_set(200)
    return run.load_model(), images, labels


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


def test_fgsm_on_a_linear_model_moves_each_pixel_by_epsilon_along_the_gradient_sign(linear_model):
    rng = np.random.default_rng(0)
    images = rng.uniform(0.3, 0.7, (8, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 8)
    kernel, bias = linear_model.get_layer("logits").get_weights()
    flat = images.reshape(8, -1)
    logits = flat @ kernel + bias
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    onehot = np.eye(10)[labels]
    gradient = (probs - onehot) @ kernel.T  # d(cross-entropy)/dx, written out by hand
    expected = np.clip(flat + 0.05 * np.sign(gradient), 0, 1).reshape(images.shape)
    adversarial = attacks.fgsm(linear_model, images, labels, 0.05)
    np.testing.assert_allclose(adversarial, expected, atol=1e-6)
    assert np.allclose(np.abs(adversarial - images), 0.05, atol=1e-6)


@pytest.mark.parametrize("attack", ["fgsm", "pgd", "pgd_targeted"])
def test_linf_bound_and_clipping(linear_model, attack):
    images = data.to_float(data.load_fashion_mnist().x_test[:20])
    labels = data.load_fashion_mnist().y_test[:20]
    before = weights_of(linear_model)
    if attack == "fgsm":
        adversarial = attacks.fgsm(linear_model, images, labels, 0.1)
    else:
        target = 3 if attack == "pgd_targeted" else None
        adversarial = attacks.pgd(linear_model, images, labels, 0.1, steps=5, target=target)
    assert np.abs(adversarial - images).max() <= 0.1 + 1e-6
    assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0
    for a, b in zip(before, linear_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_rejected(linear_model):
    images = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="epsilon must be in"):
        attacks.fgsm(linear_model, images, [0, 1], 2.0)
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        attacks.pgd(linear_model, images, [0, 1, 2], 0.1)
    with pytest.raises(ValueError, match="target classes must be in 0-9"):
        attacks.fool_from_noise(linear_model, 12)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attacks.fgsm(linear_model, images + 2, [0, 1], 0.1)


@pytest.mark.slow
def test_attacks_work_on_a_trained_model_and_leave_it_unchanged(trained):
    model, images, labels = trained
    before = weights_of(model)
    clean_accuracy = (attacks.predict_proba(model, images).argmax(1) == labels).mean()
    assert clean_accuracy > 0.6
    targets = attacks.shifted_targets(labels)
    adversarial = attacks.pgd(model, images, labels, 0.3, steps=40, target=targets)
    metrics = attacks.attack_metrics(model, images, adversarial, labels, target=targets)
    assert metrics["success_rate"] > 0.8  # targeted PGD reaches its target for most images
    fgsm = attacks.fgsm(model, images, labels, 0.1)
    untargeted = attacks.attack_metrics(model, images, fgsm, labels)
    assert untargeted["accuracy_after"] < clean_accuracy
    fooled, info = attacks.fool_from_noise(model, [0, 8], seed=1, confidence=0.9)
    assert info["success"] == [True, True]
    assert (attacks.predict_proba(model, fooled).argmax(1) == [0, 8]).all()
    curve = attacks.robustness_curve(model, images[:50], labels[:50], [0, 0.1], steps=5)
    assert curve.loc[0.0, "FGSM"] == curve.loc[0.0, "PGD"]
    assert curve.loc[0.1, "PGD"] <= curve.loc[0.0, "PGD"]
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_success_rates_agree_with_the_adversarial_robustness_toolbox(trained):
    art_attacks = pytest.importorskip("art.attacks.evasion")
    from art.estimators.classification import TensorFlowV2Classifier

    model, images, labels = trained
    classifier = TensorFlowV2Classifier(
        model=model, nb_classes=10, input_shape=(28, 28, 1), clip_values=(0.0, 1.0),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True))
    onehot = np.eye(10, dtype=np.float32)[labels]
    epsilon = 0.1
    ours = {
        "FGSM": attacks.fgsm(model, images, labels, epsilon),
        "PGD": attacks.pgd(model, images, labels, epsilon, steps=10, step_size=0.025),
    }
    theirs = {
        "FGSM": art_attacks.FastGradientMethod(classifier, norm=np.inf, eps=epsilon,
                                               batch_size=100).generate(images, onehot),
        "PGD": art_attacks.ProjectedGradientDescent(
            classifier, norm=np.inf, eps=epsilon, eps_step=0.025, max_iter=10,
            num_random_init=1, batch_size=100, verbose=False).generate(images, onehot),
    }
    for name in ours:
        a = attacks.attack_metrics(model, images, ours[name], labels)["success_rate"]
        b = attacks.attack_metrics(model, images, theirs[name], labels)["success_rate"]
        assert abs(a - b) <= 0.05, (name, a, b)
