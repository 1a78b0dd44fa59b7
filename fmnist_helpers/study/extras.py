"""What later sections need about a model, recorded during training on the fixed probe set:
penultimate features, probabilities and activation sparsity (``RunConfig.record_epochs``), so
those sections never retrain.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from fmnist_helpers.study.data import probe_set
from fmnist_helpers.study.models import block_output, conv_blocks, penultimate_layer

_EXTRAS_BATCH = 250


def foreground_mask(images: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Which positions of a ``shape`` feature map see part of the garment.

    The image is cut into the map's grid (position ``(i, j)`` covers rows ``28 i / h`` to
    ``28 (i + 1) / h`` and likewise for columns); a position is foreground when its cell holds
    a non-zero pixel. A cell lies inside the position's receptive field, so a background
    position's zero is never counted as the network's choice; Fashion-MNIST's background is
    exactly 0 (about half of every image).

    Args:
        images: ``(n, 28, 28)`` or ``(n, 28, 28, 1)``.
        shape: The feature map's ``(height, width)``.

    Returns:
        A boolean array ``(n, height, width)``.
    """
    lit = np.asarray(images).reshape(len(images), 28, 28) > 0
    height, width = shape
    rows = np.stack([lit[:, (28 * i) // height:-(-28 * (i + 1) // height)].any(axis=1)
                     for i in range(height)], axis=1)
    return np.stack([rows[:, :, (28 * j) // width:-(-28 * (j + 1) // width)].any(axis=2)
                     for j in range(width)], axis=2)


def record_extras(model: keras.Model, probe_size: int, path) -> dict[str, np.ndarray]:
    """Record what later sections need about ``model`` on the probe set, into an ``.npz``.

    Args:
        model: A model from :func:`build_model`.
        probe_size: Size of the fixed probe set.
        path: The ``.npz`` file to write.

    Returns:
        The arrays written: ``probe_indices``, ``labels``, ``features`` (penultimate layer),
        ``probs`` (softmax of the logits), ``conv_blocks``, ``zero_fraction`` (fraction of
        post-activation values that are exactly zero, per conv block) and ``dead_filters``
        (filters that are zero for every probe image and position, per conv block), and
        ``foreground_zero_fraction``: the zero fraction over foreground positions only (see
        :func:`foreground_mask`), so zeros that the blank background produces do not count.
    """
    indices, images, labels = probe_set(probe_size)
    blocks = conv_blocks(model)
    outputs = [penultimate_layer(model).output, model.get_layer("logits").output]
    outputs += [block_output(model, b).output for b in blocks]
    probe_model = keras.Model(model.input, outputs)
    features, logits = [], []
    zeros = np.zeros(len(blocks))
    totals = np.zeros(len(blocks))
    fg_zeros = np.zeros(len(blocks))
    fg_totals = np.zeros(len(blocks))
    alive = [None] * len(blocks)
    for start in range(0, len(images), _EXTRAS_BATCH):
        batch = probe_model(images[start:start + _EXTRAS_BATCH], training=False)
        features.append(keras.ops.convert_to_numpy(batch[0]))
        logits.append(keras.ops.convert_to_numpy(batch[1]))
        for i, activation in enumerate(batch[2:]):
            activation = keras.ops.convert_to_numpy(activation)
            nonzero = activation != 0
            zeros[i] += activation.size - nonzero.sum()
            totals[i] += activation.size
            mask = foreground_mask(images[start:start + _EXTRAS_BATCH], activation.shape[1:3])
            fg_zeros[i] += (~nonzero & mask[..., None]).sum()
            fg_totals[i] += mask.sum() * activation.shape[-1]
            per_filter = nonzero.any(axis=(0, 1, 2))
            alive[i] = per_filter if alive[i] is None else alive[i] | per_filter
    logits = np.concatenate(logits)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    arrays = {
        "probe_indices": indices,
        "labels": labels,
        "features": np.concatenate(features).astype(np.float32),
        "probs": probs.astype(np.float32),
        "conv_blocks": np.array(blocks, dtype=str),
        "zero_fraction": zeros / np.maximum(totals, 1),
        "dead_filters": np.array([int((~a).sum()) for a in alive], dtype=np.int64),
        "foreground_zero_fraction": fg_zeros / np.maximum(fg_totals, 1),
    }
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)  # a kill while writing leaves no half-written extras
    return arrays
