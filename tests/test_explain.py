"""Guided backprop, saliency, Grad-CAM and the randomization sanity check, on tiny real models."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from fmnist_helpers import explain, sanity


def _tiny(relu: str, seed: int = 3) -> keras.Model:
    """28x28 input -> conv1 (2 filters, 3x3, stride 9) -> fc1 (3 units) -> logits (2).

    ``relu`` says where the ReLUs are: ``"activation"`` (a layer's argument), ``"layer"``
    (``Activation("relu")``) or ``"relu"`` (a ``ReLU`` layer). The weights are the same for all.
    """
    def act(x, name):
        if relu == "layer":
            return layers.Activation("relu", name=f"{name}_act")(x)
        if relu == "relu":
            return layers.ReLU(name=f"{name}_act")(x)
        return x

    inline = "relu" if relu == "activation" else None
    inputs = keras.Input((28, 28, 1), name="image")
    x = act(layers.Conv2D(2, 3, strides=9, activation=inline, name="conv1")(inputs), "conv1")
    x = layers.Flatten(name="flatten")(x)
    x = act(layers.Dense(3, activation=inline, name="fc1")(x), "fc1")
    model = keras.Model(inputs, layers.Dense(2, name="logits")(x), name=f"tiny_{relu}")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1, w.shape).astype("float32") for w in model.get_weights()])
    return model


def _by_hand(model: keras.Model, image: np.ndarray, channel: int, guided: bool) -> np.ndarray:
    """d logits[channel] / d image, the chain rule written out (guided: ReLUs pass only g > 0)."""
    kernel, bias = model.get_layer("conv1").get_weights()
    w1, b1 = model.get_layer("fc1").get_weights()
    w2, _ = model.get_layer("logits").get_weights()
    x = image[..., 0]
    z1 = np.zeros((3, 3, 2))
    for i in range(3):
        for j in range(3):
            patch = x[9 * i:9 * i + 3, 9 * j:9 * j + 3]
            z1[i, j] = np.tensordot(patch, kernel[:, :, 0, :], axes=([0, 1], [0, 1])) + bias
    h = np.maximum(z1, 0).reshape(-1)
    z2 = h @ w1 + b1

    def relu_back(g, z):
        return g * (z > 0) * ((g > 0) if guided else 1)

    g_z2 = relu_back(w2[:, channel], z2)
    g_z1 = relu_back((w1 @ g_z2).reshape(3, 3, 2), z1)
    g_x = np.zeros((28, 28))
    for i in range(3):
        for j in range(3):
            g_x[9 * i:9 * i + 3, 9 * j:9 * j + 3] += kernel[:, :, 0, :] @ g_z1[i, j]
    return g_x[..., None]


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).uniform(0, 1, (28, 28, 1)).astype("float32")


@pytest.mark.parametrize("relu", ["activation", "layer", "relu"])
def test_guided_backprop_matches_the_chain_rule_by_hand(relu, image):
    model = _tiny(relu)
    for channel in (0, 1):
        expected = _by_hand(model, image, channel, guided=True)
        got = explain.guided_backprop(model, image, "logits", channel)
        assert got.shape == image.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        assert np.abs(got).sum() > 0
    plain = _by_hand(model, image, 0, guided=False)
    assert not np.allclose(plain, _by_hand(model, image, 0, guided=True)), \
        "these weights should make the guided and plain gradients differ"


def test_guided_backprop_of_a_conv_channel_is_zero_outside_its_receptive_fields(image):
    model = _tiny("activation")
    got = explain.guided_backprop(model, image, "conv1", [0, 1])
    assert got.shape == (2, 28, 28, 1)
    covered = np.zeros((28, 28), bool)
    for i in range(3):
        for j in range(3):
            covered[9 * i:9 * i + 3, 9 * j:9 * j + 3] = True
    assert np.all(got[:, ~covered] == 0)
    assert np.abs(got[:, covered]).sum() > 0


def test_explanations_leave_the_callers_model_and_predictions_unchanged(image):
    model = _tiny("layer")
    weights = [w.copy() for w in model.get_weights()]
    before = keras.ops.convert_to_numpy(model(image[None], training=False))
    explain.guided_backprop(model, image, "logits", 1)
    explain.gradient_saliency(model, image)
    explain.grad_cam(model, image)
    sanity.sanity_check(model, np.stack([image, image[::-1]]))
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    after = keras.ops.convert_to_numpy(model(image[None], training=False))
    np.testing.assert_array_equal(before, after)
    assert model.get_layer("conv1_act").activation is keras.activations.relu


def test_gradient_saliency_is_the_absolute_plain_gradient(image):
    model = _tiny("activation")
    predicted = int(np.argmax(keras.ops.convert_to_numpy(model(image[None]))))
    np.testing.assert_allclose(explain.gradient_saliency(model, image),
                               np.abs(_by_hand(model, image, predicted, guided=False)),
                               rtol=1e-4, atol=1e-5)


def test_grad_cam_is_non_negative_and_shaped_like_the_image(image):
    cam = explain.grad_cam(_tiny("activation"), image[..., 0], class_index=1)
    assert cam.shape == (28, 28)
    assert cam.min() >= 0


def test_bad_arguments_are_named():
    model = _tiny("activation")
    with pytest.raises(ValueError, match="shaped"):
        explain.gradient_saliency(model, np.zeros((32, 32)))
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        explain.guided_backprop(model, np.zeros((28, 28)), "conv9", 0)
    with pytest.raises(ValueError, match="channel must be in"):
        explain.guided_backprop(model, np.zeros((28, 28)), "conv1", 5)
    with pytest.raises(ValueError, match="unknown method"):
        explain.explain(model, np.zeros((28, 28)), "lime")


def test_similarity_is_one_for_identical_maps_and_bounded():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(28, 28))
    assert sanity.similarity(a, a.copy()) == {"spearman": 1.0, "ssim": 1.0}
    assert sanity.similarity(a, -a)["spearman"] == pytest.approx(1.0)  # absolute values
    for _ in range(5):
        scores = sanity.similarity(a, rng.normal(size=(28, 28)))
        assert all(-1 <= v <= 1 for v in scores.values())
        assert scores["spearman"] < 0.5
    assert sanity.similarity(np.zeros((28, 28)), a)["spearman"] == 0.0
    with pytest.raises(ValueError, match="shape"):
        sanity.similarity(a, a[:10])


def test_sanity_check_randomizes_every_layer_top_down(image):
    model = _tiny("layer")
    assert sanity.randomization_cascade(model) == [["logits"], ["fc1"], ["conv1"]]
    copies = list(sanity.randomized_copies(model, seed=0))
    assert [name for name, _ in copies] == ["none", "logits", "fc1", "conv1"]
    final = copies[-1][1]
    for layer in ("conv1", "fc1", "logits"):
        assert not np.allclose(final.get_layer(layer).get_weights()[0],
                               model.get_layer(layer).get_weights()[0])
    scores, maps = sanity.sanity_check(model, np.stack([image, 1 - image]), keep_maps=1)
    assert len(scores) == 2 * 3 * 4
    assert scores[["spearman", "ssim"]].abs().max().max() <= 1
    trained = scores[scores["step"] == 0]
    assert (trained["spearman"] == 1).all() and (trained["ssim"] == 1).all()
    assert set(maps) == {(0, m, s) for m in explain.SANITY_METHODS
                         for s in ("none", "logits", "fc1", "conv1")}
    summary = sanity.sanity_summary(scores)
    assert len(summary) == 3 * 4
    assert len(sanity.sanity_findings(scores)) == 4


def _scores(guided, gradient):
    rows = []
    for method, values in (("guided_backprop", guided), ("gradient", gradient)):
        for image, value in enumerate(values):
            rows += [{"image": image, "method": method, "step": 0, "randomized": "none",
                      "spearman": 1.0, "ssim": 1.0},
                     {"image": image, "method": method, "step": 1, "randomized": "logits",
                      "spearman": value, "ssim": value}]
    import pandas as pd

    return pd.DataFrame(rows)


def test_sanity_verdict_pairs_the_methods_by_image():
    survives = sanity.sanity_verdict(_scores([0.9, 0.95, 0.92], [0.2, 0.3, 0.22]))
    assert survives["guided_survives"] and not survives["guided_changes"]
    assert survives["low"] > 0 and survives["images"] == 3
    changes = sanity.sanity_verdict(_scores([0.1, 0.15, 0.12], [0.8, 0.9, 0.85]))
    assert changes["guided_changes"] and not changes["guided_survives"]
    close = sanity.sanity_verdict(_scores([0.5, 0.9, 0.2], [0.3, 0.6, 0.5]))
    assert not close["guided_survives"] and not close["guided_changes"]
    assert close["low"] < 0 < close["high"]


def test_the_channel_sanity_check_starts_at_its_layer(image):
    """On conv channel maps (the seed's Figure 15) the layers above cannot change the maps, so
    the cascade starts at the layer; Grad-CAM explains classes only."""
    model = _tiny("layer")
    scores, _ = sanity.sanity_check(model, np.stack([image, 1 - image]),
                                    methods=sanity.SANITY_TARGETS["conv4"], layer="conv1")
    assert list(scores.groupby("step")["randomized"].first()) == ["none", "conv1"]
    assert set(scores["method"]) == {"gradient", "guided_backprop"}
    randomized = scores[scores["step"] == 1]
    assert (randomized["spearman"] < 1).all()  # re-initializing conv1 changes its maps
    with pytest.raises(ValueError, match="grad_cam explains classes"):
        sanity.sanity_check(model, image[None], methods=("grad_cam",), layer="conv1")
    gradient = explain.channel_gradient(model, image, "conv1", 1)
    assert gradient.shape == image.shape and gradient.min() >= 0


def test_first_layer_filters_and_activations_have_the_layer_shapes(image):
    model = _tiny("activation")
    assert explain.first_layer_filters(model).shape == (2, 3, 3)
    maps = explain.activations(model, image, ("conv1", "fc1"))
    assert maps["conv1"].shape == (3, 3, 2) and maps["fc1"].shape == (3,)
    assert maps["conv1"].min() >= 0
    assert explain.random_channels(model, "fc1", 2, seed=0) == \
        explain.random_channels(model, "fc1", 2, seed=0)
