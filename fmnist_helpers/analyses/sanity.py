"""The model-randomization sanity check (Adebayo et al., 2018) of the saliency methods (06).

Re-initialize the weights from the top layer down, one layer at a time, and compare each
method's map with the trained model's (Spearman rank correlation and SSIM): a map that survives
the destruction of the weights shows the image, not what the network learned. Run on the class
logits and on the conv4 channel maps of the seed's Figure 15 (:data:`SANITY_TARGETS`).
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

from fmnist_helpers.analyses.explain import METHOD_TITLES, SANITY_METHODS, copy_model, explain
from fmnist_helpers.core.stats import compare
from fmnist_helpers.store.cache import stored_result
from fmnist_helpers.study.models import conv_blocks, dense_blocks

#: The sanity checks of 06_visualizations (and claim 8): the class logit, and the conv4 channel
#: maps that the seed's Figure 15 shows (Grad-CAM explains classes only).
SANITY_TARGETS = {"logits": SANITY_METHODS, "conv4": ("gradient", "guided_backprop")}


def similarity(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """How alike two maps are, as Adebayo et al. measure it: on absolute values.

    Spearman rank correlation of the absolute values, and SSIM (scikit-image) of the absolute
    values each scaled to ``[0, 1]``. Both lie in ``[-1, 1]`` and are 1 for identical maps. A
    constant map has no ranking: its Spearman correlation with a non-constant map counts as 0.

    Raises:
        ValueError: If the shapes differ.
    """
    a = np.abs(np.asarray(a, dtype=np.float64)).squeeze()
    b = np.abs(np.asarray(b, dtype=np.float64)).squeeze()
    if a.shape != b.shape:
        raise ValueError(f"maps differ in shape: {a.shape} vs {b.shape}.")
    if np.array_equal(a, b):
        return {"spearman": 1.0, "ssim": 1.0}
    constant = np.ptp(a) == 0 or np.ptp(b) == 0
    rho = 0.0 if constant else float(spearmanr(a.ravel(), b.ravel()).statistic)
    scaled = [m / m.max() if m.max() > 0 else m for m in (a, b)]
    ssim = float(structural_similarity(scaled[0], scaled[1], data_range=1.0))
    # Both can overshoot +-1 by a rounding error.
    return {"spearman": float(np.clip(rho, -1, 1)), "ssim": float(np.clip(ssim, -1, 1))}


def randomization_cascade(model: keras.Model) -> list[list[str]]:
    """The groups of layers re-initialized one after another, top layer first.

    Each group is a block and its batch-norm layer if it has one: ``logits``, ``fc2``, ``fc1``,
    ``conv4``, ... ``conv1``.
    """
    names = {layer.name for layer in model.layers}
    blocks = list(reversed(conv_blocks(model) + dense_blocks(model)))
    return [["logits"]] + [[b] + ([f"{b}_bn"] if f"{b}_bn" in names else []) for b in blocks]


def randomized_copies(model: keras.Model, *, seed: int = 0):
    """Yield ``(block, copy)``: copies with weights re-initialized from the top down to ``block``.

    The first item is ``("none", an unchanged copy)``. Fresh weights come from a clone of the model
    (the same initializers it was built with), seeded by ``seed``.

    Yields:
        ``(name of the lowest re-initialized block, model)``.
    """
    keras.utils.set_random_seed(seed)
    fresh = keras.models.clone_model(model)
    current = copy_model(model)
    yield "none", current
    for group in randomization_cascade(model):
        for name in group:
            current.get_layer(name).set_weights(fresh.get_layer(name).get_weights())
        yield group[0], current


@stored_result
def sanity_check(model: keras.Model, images, *, methods=SANITY_METHODS, seed: int = 0,
                 keep_maps: int = 1, layer: str = "logits"):
    """Cascading model randomization (Adebayo et al., 2018) for several methods and images.

    For each image the class explained is the trained model's prediction (with ``layer``, its
    most active channel of that layer), kept fixed while the weights are destroyed, so only the
    weights change between maps. For a conv layer the cascade starts at that layer: the layers
    above it cannot change its maps.

    Args:
        model: The trained model (left unchanged).
        images: Images ``(n, 28, 28, 1)``.
        methods: Names from :data:`SANITY_METHODS` (for a conv ``layer``: gradient and
            guided_backprop).
        seed: Seed of the re-initialized weights.
        keep_maps: For how many of the images to return the maps (for a figure).
        layer: ``"logits"`` or a conv block (``"conv4"``: the channel maps of the seed's
            Figure 15).

    Returns:
        ``(scores, maps)``: a DataFrame with one row per image, method and cascade step
        (``randomized`` = lowest re-initialized block, in cascade order; ``step`` its position),
        ``spearman`` and ``ssim`` against the trained map; and ``{(image, method, randomized):
        map}`` for the first ``keep_maps`` images.

    Raises:
        ValueError: If a method is unknown or does not apply, the layer is unknown, or there
            are no images.
    """
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        raise ValueError("sanity_check needs at least one image.")
    for method in methods:
        if method not in SANITY_METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {', '.join(SANITY_METHODS)}.")
        if layer != "logits" and method == "grad_cam":
            raise ValueError(f"grad_cam explains classes, not the channels of {layer!r}; "
                             "choose gradient and guided_backprop.")
    if layer == "logits":
        targets = np.argmax(keras.ops.convert_to_numpy(model(images, training=False)), axis=1)
        skip = set()
    else:
        probe = keras.Model(model.input, model.get_layer(layer).output)
        output = keras.ops.convert_to_numpy(probe(images, training=False))
        targets = output.mean(axis=(1, 2)).argmax(axis=1)
        above = []
        for group in randomization_cascade(model):
            if group[0] == layer:
                break
            above.append(group[0])
        skip = set(above)
    rows, maps, trained = [], {}, {}
    step = 0
    for block, copy in randomized_copies(model, seed=seed):
        if block in skip:
            continue
        guided = copy_model(copy, guided=True) if "guided_backprop" in methods else None
        for i, image in enumerate(images):
            for method in methods:
                value = explain(copy, image, method, int(targets[i]), layer=layer,
                                _guided=guided)
                if block == "none":
                    trained[i, method] = value
                if i < keep_maps:
                    maps[i, method, block] = value
                rows.append({"image": i, "method": method, "step": step, "randomized": block,
                             **similarity(trained[i, method], value)})
        step += 1
    return pd.DataFrame(rows), maps


def sanity_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean and range over images of each score, per method and cascade step."""
    grouped = scores.groupby(["method", "step", "randomized"], sort=True)
    summary = grouped[["spearman", "ssim"]].agg(["mean", "min", "max"])
    summary.columns = [f"{score}_{stat}" for score, stat in summary.columns]
    return summary.reset_index()


def sanity_findings(scores: pd.DataFrame) -> list[str]:
    """Sentences saying what the sanity check showed."""
    images = scores["image"].nunique()
    first = scores[scores["step"] == 1].groupby("method")["spearman"].mean()
    last = scores[scores["step"] == scores["step"].max()].groupby("method")["spearman"].mean()
    top = scores.loc[scores["step"] == 1, "randomized"].iloc[0]
    sentences = []
    for method in [m for m in SANITY_METHODS if m in first.index]:
        sentences.append(
            f"{METHOD_TITLES[method]}: Spearman correlation with the trained model's map "
            f"{first[method]:.2f} once {top} is re-initialized, "
            f"{last[method]:.2f} once every layer is (mean over {images} images).")
    verdict = sanity_verdict(scores)
    summary = (f"Averaged over the cascade, guided backprop keeps a Spearman correlation of "
               f"{verdict['guided']:.2f}, the plain gradient {verdict['gradient']:.2f} "
               f"(difference {verdict['difference']:+.2f}, 95% interval "
               f"{verdict['low']:+.2f} to {verdict['high']:+.2f} over {images} images).")
    if verdict["guided_survives"]:
        sentences.append(
            summary + " Guided backpropagation's maps survive the destruction of the weights "
            "far better than the gradient's: they show the image (the garment's edges) more than "
            "what the trained network has learned, as Adebayo et al. found. They are weak "
            "evidence of what a neuron detects.")
    elif verdict["guided_changes"]:
        sentences.append(
            summary + " Guided backpropagation's maps change at least as much as the gradient's "
            "when the weights are destroyed: here they do depend on what the network learned.")
    else:
        sentences.append(summary + " The interval includes 0: the check is inconclusive on these "
                         "images.")
    return sentences


def sanity_verdict(scores: pd.DataFrame, *, alpha: float = 0.05) -> dict:
    """Compare how much of guided backprop's and the plain gradient's maps survive randomization.

    Each image's survival is its mean Spearman correlation over the randomized steps of the
    cascade; the two methods are compared image by image (``stats.compare``, paired by image:
    the difference is clear when its (1 - alpha) interval excludes 0).

    Returns:
        ``guided`` and ``gradient`` mean survival, ``difference`` with its ``low`` and ``high``
        interval ends, ``p_value``, ``images``, and the booleans ``guided_survives`` (guided
        keeps clearly more) and ``guided_changes`` (clearly less).

    Raises:
        ValueError: If the scores lack either method or any randomized step.
    """
    randomized = scores[scores["step"] > 0]
    survival = randomized.groupby(["method", "image"])["spearman"].mean()
    methods = set(survival.index.get_level_values("method"))
    if not {"guided_backprop", "gradient"} <= methods:
        raise ValueError("the scores need randomized guided_backprop and gradient rows.")
    guided, gradient = survival.loc["guided_backprop"], survival.loc["gradient"]
    c = compare(list(guided), list(gradient.loc[guided.index]), alpha=alpha)
    return {"guided": float(guided.mean()), "gradient": float(gradient.mean()),
            "difference": c.difference, "low": c.low, "high": c.high, "p_value": c.p_value,
            "images": len(guided), "guided_survives": c.clear and c.difference > 0,
            "guided_changes": c.clear and c.difference < 0}
