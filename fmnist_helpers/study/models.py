"""The six architectures of the seed report's appendix, and SpeedNet (ours, for the fast
full-scale recipe), as Keras 3 functional models.

Every model takes ``(28, 28, 1)`` images in ``[0, 1]`` and returns 10 logits from a layer named
``logits``. Layers are named after the seed's tables: ``conv1``, ``conv2``, ... for convolutions,
``pool1``, ... for max pooling, ``fc1``, ``fc2`` for hidden dense layers, ``global_pool`` for
a global max pooling. With batch norm a block is ``conv1`` (linear) -> ``conv1_bn`` ->
``conv1_act``; without it the activation is part of
``conv1``. :func:`block_output` gives the post-activation layer of a block either way, and
:func:`penultimate_layer` the layer whose output feeds ``logits`` (used for embeddings).
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from keras import layers

from fmnist_helpers.core.choices import (
    ACTIVATIONS,
    INITIALIZERS,
    KERNEL_SIZES,
    MODEL_NAMES,
    MODEL_TITLES,
    PRECISIONS,
    SEED_MODEL_NAMES,
)

#: Per architecture: a list of layer specs. ``("conv", filters)``, ``("pool",)``,
#: ``("fc", units)``; ``("conv_pool", filters)`` is a convolution whose output is max-pooled
#: before its batch norm and activation (a quarter of their work, as in the fast CIFAR-10
#: recipes such as airbench), ``("global_pool",)`` a global max pooling. The first six are the
#: seed's appendix (section 13).
ARCHITECTURES: dict[str, list[tuple]] = {
    "feedforward": [("fc", 512), ("fc", 128)],
    "cnn1": [("conv", 32), ("pool",), ("fc", 128)],
    "cnn3": [("conv", 32), ("pool",), ("conv", 64), ("pool",), ("conv", 128), ("pool",),
             ("fc", 128)],
    "cnn4": [("conv", 32), ("conv", 32), ("conv", 64), ("pool",), ("conv", 128),
             ("fc", 512), ("fc", 128)],
    "vgg_like": [("conv", 32), ("conv", 32), ("pool",), ("conv", 64), ("conv", 64), ("pool",),
                 ("conv", 128), ("conv", 128), ("pool",), ("conv", 256), ("conv", 256),
                 ("conv", 256), ("pool",), ("fc", 512), ("fc", 512)],
    "convnet": [("conv", 64), ("pool",), ("conv", 128), ("pool",), ("conv", 256),
                ("conv", 256), ("pool",), ("fc", 1024), ("fc", 1024)],
    # Ours, not the seed's: three blocks of two convolutions (64, 128, 256 filters) after a
    # 32-filter stem, pooling inside each block's first convolution, a global max pool and no
    # hidden dense layer -- the layout of airbench's CIFAR-10 network, at 28 x 28. About as many
    # multiply-adds per image as our ConvNet (``multiply_adds``), a fifth of its parameters.
    "speednet": [("conv", 32), ("conv_pool", 64), ("conv", 64), ("conv_pool", 128),
                 ("conv", 128), ("conv_pool", 256), ("conv", 256), ("global_pool",)],
}
#: Moving-average momentum of batch norm. Keras's default (0.99) needs thousands of steps before
#: the moving statistics used at inference settle; our quick runs take a few hundred, where
#: 0.99 left validation accuracy near chance although training went well.
BATCH_NORM_MOMENTUM = 0.9


def _check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}.")


def make_initializer(initializer: str, *, init_std: float = 0.05, seed: int | None = None):
    """Return a Keras initializer for one of the seed's three schemes.

    Args:
        initializer: ``"xavier"`` (Glorot uniform, the seed's default), ``"he"`` (He normal) or
            ``"random"`` (normal with standard deviation ``init_std``).
        init_std: Standard deviation of ``"random"``.
        seed: Optional seed of the initializer.

    Returns:
        A ``keras.initializers.Initializer``.

    Raises:
        ValueError: If the name or standard deviation is invalid.
    """
    _check_choice("initializer", initializer, INITIALIZERS)
    if initializer == "xavier":
        return keras.initializers.GlorotUniform(seed=seed)
    if initializer == "he":
        return keras.initializers.HeNormal(seed=seed)
    if not init_std > 0:
        raise ValueError(f"init_std must be positive, got {init_std}.")
    return keras.initializers.RandomNormal(stddev=init_std, seed=seed)


def build_model(
    name: str,
    *,
    initializer: str = "xavier",
    init_std: float = 0.05,
    batch_norm: bool = False,
    dropout: float = 0.0,
    activation: str = "relu",
    kernel_size: int = 3,
    width: float = 1.0,
    precision: str = "float32",
) -> keras.Model:
    """Build one of the architectures: the seed's six, or SpeedNet (:data:`ARCHITECTURES`).

    Args:
        name: One of :data:`MODEL_NAMES`.
        initializer: Weight initialization, one of :data:`INITIALIZERS` (biases start at zero).
        init_std: Standard deviation of the ``"random"`` initializer.
        batch_norm: Batch normalization after every conv and hidden dense layer, before the
            activation.
        dropout: Dropout rate after every hidden dense layer (the seed's keep-prob 0.8 is 0.2);
            SpeedNet has none, so it has no effect there.
        activation: Hidden activation, one of :data:`ACTIVATIONS`.
        kernel_size: Side of every convolution kernel, one of :data:`KERNEL_SIZES`.
        width: Multiplier of every conv filter count and hidden dense width (at least one
            unit is kept); 1.0 is the seed's size.
        precision: ``"float32"`` or ``"mixed_bfloat16"``: every hidden layer gets that Keras
            dtype policy (bfloat16 compute, float32 weights); the ``logits`` layer stays
            float32, so the loss and softmax are computed in float32.

    Returns:
        An uncompiled functional ``keras.Model`` mapping ``(28, 28, 1)`` images to 10 logits.

    Raises:
        ValueError: If any option is invalid; the message lists the valid ones.
    """
    _check_choice("model", name, MODEL_NAMES)
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("kernel_size", kernel_size, KERNEL_SIZES)
    _check_choice("precision", precision, PRECISIONS)
    # float32 layers are built exactly as before the precision option existed (no dtype given).
    policy = {} if precision == "float32" else {"dtype": precision}
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout}.")
    if not 0.0 < width <= 4.0:
        raise ValueError(f"width must be in (0, 4], got {width}.")
    if not isinstance(batch_norm, (bool, np.bool_)):
        raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}.")
    make_initializer(initializer, init_std=init_std)  # validates

    def init():
        return make_initializer(initializer, init_std=init_std)

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = inputs
    counts = {"conv": 0, "pool": 0, "fc": 0}
    flattened = False
    for spec in ARCHITECTURES[name]:
        kind = spec[0]
        if kind == "global_pool":
            x = layers.GlobalMaxPooling2D(name="global_pool", **policy)(x)
            flattened = True
            continue
        family = "conv" if kind == "conv_pool" else kind  # named and counted as a conv
        counts[family] += 1
        layer_name = f"{family}{counts[family]}"
        if kind == "pool":
            x = layers.MaxPooling2D(2, padding="same", name=layer_name, **policy)(x)
            continue
        units = max(1, round(spec[1] * width))
        if kind == "fc" and not flattened:
            x = layers.Flatten(name="flatten", **policy)(x)
            flattened = True
        common = {
            "activation": None if batch_norm else activation,
            "use_bias": not batch_norm,
            "kernel_initializer": init(),
            "bias_initializer": "zeros",
            "name": layer_name,
            **policy,
        }
        if kind == "fc":
            x = layers.Dense(units, **common)(x)
        else:
            x = layers.Conv2D(units, kernel_size, padding="same", **common)(x)
        if kind == "conv_pool":
            counts["pool"] += 1
            x = layers.MaxPooling2D(2, padding="same", name=f"pool{counts['pool']}", **policy)(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{layer_name}_bn",
                                          **policy)(x)
            x = layers.Activation(activation, name=f"{layer_name}_act", **policy)(x)
        if kind == "fc" and dropout > 0:
            x = layers.Dropout(dropout, name=f"{layer_name}_dropout", **policy)(x)
    logits_policy = {"dtype": "float32"} if policy else {}
    outputs = layers.Dense(10, kernel_initializer=init(), name="logits", **logits_policy)(x)
    return keras.Model(inputs, outputs, name=name)


def block_output(model: keras.Model, block: str) -> keras.layers.Layer:
    """Return the post-activation layer of a block such as ``"conv1"`` or ``"fc2"``.

    Args:
        model: A model from :func:`build_model`.
        block: The block's name.

    Returns:
        ``<block>_act`` when the model has batch norm, else ``<block>`` itself.

    Raises:
        ValueError: If the model has no such block.
    """
    names = {layer.name for layer in model.layers}
    if block not in names:
        raise ValueError(f"model {model.name!r} has no layer {block!r}; it has "
                         f"{', '.join(conv_blocks(model) + dense_blocks(model))}.")
    return model.get_layer(f"{block}_act" if f"{block}_act" in names else block)


def conv_blocks(model: keras.Model) -> list[str]:
    """Return the names of the conv blocks (``conv1``, ``conv2``, ...) in order."""
    return [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]


def dense_blocks(model: keras.Model) -> list[str]:
    """Return the names of the hidden dense blocks (``fc1``, ...) in order."""
    return [layer.name for layer in model.layers
            if isinstance(layer, layers.Dense) and layer.name != "logits"]


def penultimate_layer(model: keras.Model) -> keras.layers.Layer:
    """Return the layer whose output feeds ``logits`` (its features are the embedding).

    Dropout, which is the identity at inference, is skipped.

    Args:
        model: A model from :func:`build_model`.

    Returns:
        The last hidden dense block's post-activation layer, or the global pooling of a model
        without hidden dense layers (SpeedNet).
    """
    dense = dense_blocks(model)
    return block_output(model, dense[-1]) if dense else model.get_layer("global_pool")


def parameter_table(model: keras.Model) -> pd.DataFrame:
    """Tabulate each layer's input shape, output shape and parameter count.

    Args:
        model: Any built functional Keras model.

    Returns:
        A DataFrame with columns ``layer``, ``type``, ``input_shape``, ``output_shape``,
        ``weights`` (kernel parameters), ``biases`` (all other parameters, e.g. biases and
        batch-norm scales), ``parameters``. Its ``parameters`` column sums to
        ``model.count_params()``.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        kernel = sum(int(np.prod(w.shape)) for w in layer.weights if "kernel" in w.path)
        total = layer.count_params()

        def shape(tensor):
            return tuple(tensor.shape[1:])

        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "input_shape": shape(layer.input),
            "output_shape": shape(layer.output),
            "weights": kernel,
            "biases": total - kernel,
            "parameters": total,
        })
    return pd.DataFrame(rows)


def describe_layers(model: keras.Model) -> str:
    """The layer sequence in the seed's appendix style, e.g. ``"conv 64 3×3 → pool 2×2 → fc 1024
    → 10"`` (activations, batch norm and dropout left out)."""
    parts = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            k = layer.kernel_size
            parts.append(f"conv {layer.filters} {k[0]}×{k[1]}")
        elif isinstance(layer, keras.layers.MaxPooling2D):
            p = layer.pool_size
            parts.append(f"pool {p[0]}×{p[1]}")
        elif isinstance(layer, keras.layers.GlobalMaxPooling2D):
            parts.append("global max pool")
        elif isinstance(layer, keras.layers.Dense):
            parts.append(str(layer.units) if layer.name == "logits" else f"fc {layer.units}")
    return " → ".join(parts)


def architecture_table(width: float) -> pd.DataFrame:
    """The seed's appendix (its section 13): its six architectures, with their parameter counts
    at full width and at ``width`` (the width a profile trains).

    Args:
        width: A profile's width multiplier.

    Returns:
        One row per model (indexed by its title): ``layers`` (at full width), ``parameters``
        (full width) and ``parameters at width <w>``.

    Raises:
        ValueError: If ``width`` is not positive.
    """
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}.")
    rows = []
    for name in SEED_MODEL_NAMES:
        full = build_model(name)
        rows.append({"model": MODEL_TITLES[name], "layers": describe_layers(full),
                     "parameters": full.count_params(),
                     f"parameters at width {width:g}": build_model(name, width=width)
                     .count_params()})
    return pd.DataFrame(rows).set_index("model")


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one image's forward pass through the convolutions and dense layers
    (pooling, batch norm and activations left out; a training step costs about three times
    this per image).

    Args:
        model: A built functional Keras model.

    Returns:
        The count, e.g. about 63 million for our ConvNet at full width.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, filters = layer.output.shape[1:]
            kernel = int(np.prod(layer.kernel.shape[:-1]))
            total += int(height) * int(width) * int(filters) * kernel
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total
