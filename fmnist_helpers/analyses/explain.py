"""Looking inside a trained network: filters, activations, gradient maps and their sanity check.

- :func:`first_layer_filters`, :func:`activations` -- the seed's Figure 14.
- :func:`guided_backprop` -- guided backpropagation (Springenberg et al., 2015), the seed's
  Figure 15, computed on a copy of the model whose ReLUs pass back only positive gradients.
- :func:`gradient_saliency` (Simonyan et al., 2014) and :func:`grad_cam` (Selvaraju et al., 2017)
  for comparison.
- :func:`sanity_check` -- the cascading model-randomization test of Adebayo et al. (2018): the same
  maps from copies of the model whose weights are re-initialized from the top layer down. A method
  whose maps barely change when the weights are destroyed is showing the image, not the model.
- :func:`activation_sparsity` -- zero activations and dead filters per conv layer over training,
  read from the run's recorded extras.

These are small functions written here rather than taken from tf-keras-vis: its guided
backpropagation swaps the ``activation`` attribute of the caller's layers (ours must leave the
model alone, and also handle ReLU as a layer of its own), and the sanity check needs every method
to go through the same copies of the model. The test suite cross-checks the gradient maps.

Every function leaves the caller's model unchanged; images are ``(28, 28, 1)`` (or ``(28, 28)``)
floats in ``[0, 1]``, and maps come back shaped like the image.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers, ops

from fmnist_helpers.study.models import block_output, conv_blocks, dense_blocks

#: Maps compared by the sanity check, in the order shown.
SANITY_METHODS = ("gradient", "guided_backprop", "grad_cam")
METHOD_TITLES = {"gradient": "Gradient", "guided_backprop": "Guided backprop",
                 "grad_cam": "Grad-CAM"}


def _batch(image) -> tuple[np.ndarray, tuple]:
    image = np.asarray(image, dtype=np.float32)
    if image.shape not in ((28, 28), (28, 28, 1)):
        raise ValueError(f"image must be shaped (28, 28) or (28, 28, 1), got {image.shape}.")
    return image.reshape(1, 28, 28, 1), image.shape


def _layer(model: keras.Model, name: str) -> keras.layers.Layer:
    """A block's post-activation layer (``conv4`` -> ``conv4_act`` with batch norm) or a layer."""
    if name in conv_blocks(model) + dense_blocks(model):
        return block_output(model, name)
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer {name!r}; its blocks are "
                         f"{', '.join(conv_blocks(model) + dense_blocks(model) + ['logits'])}."
                         ) from None


def first_layer_filters(model: keras.Model) -> np.ndarray:
    """Return the first conv layer's kernels as ``(filters, height, width)`` (seed Figure 14b).

    Raises:
        ValueError: If the model has no conv layer.
    """
    blocks = conv_blocks(model)
    if not blocks:
        raise ValueError(f"model {model.name!r} has no conv layer.")
    kernel = keras.ops.convert_to_numpy(model.get_layer(blocks[0]).kernel)
    return np.transpose(kernel[:, :, 0, :], (2, 0, 1))


def activations(model: keras.Model, image, blocks=("conv1",)) -> dict[str, np.ndarray]:
    """Return the post-activation outputs of some blocks for one image (seed Figure 14c).

    Args:
        model: A model from :func:`models.build_model`.
        image: One image.
        blocks: Block names, e.g. ``("conv1", "conv4")``.

    Returns:
        ``{block: array (height, width, channels)}``.

    Raises:
        ValueError: If the image has the wrong shape or a block does not exist.
    """
    batch, _ = _batch(image)
    outputs = [_layer(model, b).output for b in blocks]
    values = keras.Model(model.input, outputs)(batch, training=False)
    if len(blocks) == 1:
        values = [values]
    return {b: keras.ops.convert_to_numpy(v)[0] for b, v in zip(blocks, values)}


@ops.custom_gradient
def guided_relu(x):
    """ReLU whose gradient passes only where the input and the incoming gradient are positive."""

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return upstream * ops.cast(x > 0, upstream.dtype) * ops.cast(upstream > 0, upstream.dtype)

    return ops.relu(x), grad


def _is_relu(layer) -> bool:
    if isinstance(layer, layers.ReLU):
        config = layer.get_config()
        return not config.get("negative_slope") and config.get("max_value") is None
    return getattr(layer, "activation", None) is keras.activations.relu


def _guided_layer(layer):
    if isinstance(layer, layers.ReLU) and _is_relu(layer):
        return layers.Activation(guided_relu, name=layer.name)
    config = layer.get_config()
    if _is_relu(layer):
        config["activation"] = guided_relu
    return layer.__class__.from_config(config)


def copy_model(model: keras.Model, *, guided: bool = False) -> keras.Model:
    """Return a copy of ``model`` with the same weights; with ``guided``, every ReLU is guided.

    ReLU is replaced wherever it is: as a layer's activation (``Conv2D(activation="relu")``), as an
    ``Activation("relu")`` layer, or as a ``ReLU`` layer.
    """
    clone = keras.models.clone_model(model, clone_function=_guided_layer if guided else None)
    clone.set_weights(model.get_weights())
    return clone


def _input_gradient(model: keras.Model, batch: np.ndarray, objective) -> np.ndarray:
    images = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        tape.watch(images)
        value = objective(model(images, training=False))
    return keras.ops.convert_to_numpy(tape.gradient(value, images))


def _class(model, batch, class_index):
    if class_index is None:
        return int(np.argmax(keras.ops.convert_to_numpy(model(batch, training=False))[0]))
    if not 0 <= class_index < model.output.shape[-1]:
        raise ValueError(f"class_index must be in [0, {model.output.shape[-1]}), "
                         f"got {class_index}.")
    return int(class_index)


def guided_backprop(model: keras.Model, image, layer_name: str, channel,
                    *, _guided: keras.Model | None = None) -> np.ndarray:
    """Guided backpropagation of one channel of a layer back to the image.

    The objective is the sum of the channel's post-activation output (a conv feature map, a dense
    unit, or a class logit for ``layer_name="logits"``). The gradient is taken through a copy of
    the model whose ReLUs pass back only positive gradients at positive inputs; the caller's model
    is not touched.

    Args:
        model: A model from :func:`models.build_model`.
        image: One image ``(28, 28, 1)`` or ``(28, 28)`` in ``[0, 1]``.
        layer_name: A block (``"conv4"``; its post-activation output is used) or ``"logits"``.
        channel: The channel (filter, unit or class) index, or a list of them.

    Returns:
        A map shaped like the image (a list of channels gives one map per channel, stacked).

    Raises:
        ValueError: If the image, the layer or the channel is invalid.
    """
    batch, shape = _batch(image)
    layer = _layer(model, layer_name)
    channels = [channel] if np.isscalar(channel) else list(channel)
    width = layer.output.shape[-1]
    for c in channels:
        if not 0 <= int(c) < width:
            raise ValueError(f"channel must be in [0, {width}) for layer {layer.name!r}, got {c}.")
    guided = _guided or copy_model(model, guided=True)
    probe = keras.Model(guided.input, guided.get_layer(layer.name).output)
    maps = [_input_gradient(probe, batch, lambda out, c=int(c): ops.sum(out[..., c]))
            .reshape(shape) for c in channels]
    return maps[0] if np.isscalar(channel) else np.stack(maps)


def gradient_saliency(model: keras.Model, image, class_index: int | None = None) -> np.ndarray:
    """Vanilla gradient saliency: ``|d logit / d image|`` for a class (default: the predicted one).

    Raises:
        ValueError: If the image or the class is invalid.
    """
    batch, shape = _batch(image)
    c = _class(model, batch, class_index)
    return np.abs(_input_gradient(model, batch, lambda out: out[0, c])).reshape(shape)


def grad_cam(model: keras.Model, image, layer_name: str | None = None,
             class_index: int | None = None) -> np.ndarray:
    """Grad-CAM: feature maps of a conv layer weighted by their mean gradient, ReLU, upsampled.

    Args:
        model: A model from :func:`models.build_model`.
        image: One image.
        layer_name: A conv block (default: the last one).
        class_index: The class explained (default: the predicted one).

    Returns:
        A non-negative map shaped like the image (bilinear upsampling).

    Raises:
        ValueError: If the image, the layer or the class is invalid, or the model has no conv layer.
    """
    batch, shape = _batch(image)
    if layer_name is None:
        if not conv_blocks(model):
            raise ValueError(f"model {model.name!r} has no conv layer for Grad-CAM.")
        layer_name = conv_blocks(model)[-1]
    c = _class(model, batch, class_index)
    both = keras.Model(model.input, [_layer(model, layer_name).output, model.output])
    with tf.GradientTape() as tape:
        features, logits = both(tf.convert_to_tensor(batch), training=False)
        score = logits[0, c]
    gradient = tape.gradient(score, features)
    weights = ops.mean(gradient, axis=(1, 2), keepdims=True)
    cam = ops.relu(ops.sum(weights * features, axis=-1, keepdims=True))
    cam = ops.image.resize(cam, (28, 28), interpolation="bilinear")
    return keras.ops.convert_to_numpy(cam).reshape(shape)


def channel_gradient(model: keras.Model, image, layer_name: str, channel: int) -> np.ndarray:
    """Plain gradient of one channel's summed output (a conv feature map) w.r.t. the image.

    Raises:
        ValueError: If the image, the layer or the channel is invalid.
    """
    batch, shape = _batch(image)
    layer = _layer(model, layer_name)
    if not 0 <= int(channel) < layer.output.shape[-1]:
        raise ValueError(f"channel must be in [0, {layer.output.shape[-1]}) for layer "
                         f"{layer.name!r}, got {channel}.")
    probe = keras.Model(model.input, layer.output)
    return np.abs(_input_gradient(probe, batch, lambda out: ops.sum(out[..., int(channel)]))
                  ).reshape(shape)


def explain(model: keras.Model, image, method: str, class_index: int | None = None,
            *, layer: str = "logits", _guided: keras.Model | None = None) -> np.ndarray:
    """One map of the sanity check's methods for a class (default: the predicted one).

    Args:
        model: The model.
        image: One image.
        method: ``"gradient"``, ``"guided_backprop"`` or ``"grad_cam"``.
        class_index: The class explained, or with ``layer`` the channel.
        layer: ``"logits"`` (explain a class), or a conv block such as ``"conv4"`` (explain one of
            its channels, as the seed's Figure 15 does; Grad-CAM does not apply).

    Raises:
        ValueError: If the method is unknown or does not apply to ``layer``.
    """
    if layer != "logits":
        if method == "gradient":
            return channel_gradient(model, image, layer, class_index)
        if method == "guided_backprop":
            return guided_backprop(model, image, layer, class_index, _guided=_guided)
        raise ValueError(f"method {method!r} explains classes; for the channels of {layer!r} "
                         "choose gradient or guided_backprop.")
    if method == "gradient":
        return gradient_saliency(model, image, class_index)
    if method == "grad_cam":
        return grad_cam(model, image, class_index=class_index)
    if method == "guided_backprop":
        c = _class(model, _batch(image)[0], class_index)
        return guided_backprop(model, image, "logits", c, _guided=_guided)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(SANITY_METHODS)}.")


def random_channels(model: keras.Model, layer_name: str, count: int, *, seed: int = 0) -> list[int]:
    """Draw ``count`` distinct channels of a layer, seeded (the seed's "10 random channels").

    Raises:
        ValueError: If the layer has fewer than ``count`` channels.
    """
    width = _layer(model, layer_name).output.shape[-1]
    if not 0 < count <= width:
        raise ValueError(f"count must be in [1, {width}] for layer {layer_name!r}, got {count}.")
    return sorted(int(c) for c in np.random.default_rng(seed).choice(width, count, replace=False))


def activation_sparsity(run) -> pd.DataFrame:
    """Zero activations and dead filters per conv block at every recorded epoch of a run.

    Read from the run's extras (measured on the probe set while training). Two zero fractions:
    over every position, and over foreground positions only (``extras.foreground_mask``): about
    half of each image is blank background, where a ReLU with a zero bias outputs exactly 0
    before any learning, so only the foreground fraction says what training changed.

    Args:
        run: A :class:`runs.Run` with recorded epochs.

    Returns:
        One row per epoch and block: ``zero_fraction``, ``foreground_zero_fraction``,
        ``dead_filters``, ``filters``.

    Raises:
        ValueError: If the run recorded no epochs, or its extras predate the foreground measure
            (retrain it: ``fmnist-report build --force``).
    """
    epochs = run.recorded_epochs
    if not epochs:
        raise ValueError(f"run {run.config.label} recorded no extras; train it with record_epochs.")
    model = run.load_model()
    rows = []
    for epoch in epochs:
        extras = run.extras(epoch)
        if "foreground_zero_fraction" not in extras:
            raise ValueError(f"run {run.config.label} recorded its extras before the foreground "
                             f"sparsity measure existed; delete {run.path} (or run "
                             "`fmnist-report build --force`) to retrain it.")
        for block, zero, fg_zero, dead in zip(extras["conv_blocks"], extras["zero_fraction"],
                                              extras["foreground_zero_fraction"],
                                              extras["dead_filters"]):
            rows.append({"epoch": epoch, "block": str(block), "zero_fraction": float(zero),
                         "foreground_zero_fraction": float(fg_zero),
                         "dead_filters": int(dead),
                         "filters": int(model.get_layer(str(block)).filters)})
    return pd.DataFrame(rows)


def sparsity_findings(table: pd.DataFrame) -> list[str]:
    """Say whether activations got sparser from the first to the last recorded epoch.

    The claim is judged on the foreground measure (zeros over positions that see the garment);
    the all-positions fraction is given beside it, and dead filters are counted separately.
    """
    first, last = table["epoch"].min(), table["epoch"].max()
    start = table[table["epoch"] == first].set_index("block")
    end = table[table["epoch"] == last].set_index("block")
    column = "foreground_zero_fraction"
    sparser = [b for b in start.index if end.loc[b, column] > start.loc[b, column]]
    sentences = [
        f"On foreground positions (those that see part of the garment), the fraction of zero "
        f"activations rose from epoch {first} to epoch {last} in {len(sparser)} of {len(start)} "
        "conv layers ("
        + ", ".join(f"{b}: {start.loc[b, column]:.0%} → {end.loc[b, column]:.0%}"
                    for b in start.index) + ").",
        "Counted over every position, blank background included: "
        + ", ".join(f"{b}: {start.loc[b, 'zero_fraction']:.0%} → "
                    f"{end.loc[b, 'zero_fraction']:.0%}" for b in start.index)
        + "; the background's zeros come from zero biases on a zero input, not from learning."]
    dead = int(end["dead_filters"].sum())
    total = int(end["filters"].sum())
    sentences.append(
        f"At epoch {last}, {dead} of {total} filters are dead (zero for every probe image and "
        "position); dead filters are counted here, apart from the sparsity of the live ones."
        if dead else
        f"At epoch {last} no filter is dead: every one fires for some probe image.")
    return sentences
