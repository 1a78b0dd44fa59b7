"""The seven augmentations of the seed's section 2, as composable Keras preprocessing layers.

Plus random erasing, which the seed does not use (for the standard-recipe benchmark rows).
Keras has a layer for six of the seed's seven (``RandomZoom``, ``RandomFlip``, ``RandomRotation``,
``RandomBrightness`` + ``RandomContrast``, ``RandomPerspective``, ``RandomTranslation``); salt
and pepper has none, so :class:`SaltAndPepper` is written here as a Keras layer. All of them are
the identity at inference (``training=False``) and draw new random values on every call, seeded
so that two runs with the same seed see the same sequence.
"""

from __future__ import annotations

import time

import keras
from keras import layers

from fmnist_helpers.core.choices import AUGMENTATION_TITLES, AUGMENTATIONS, SEED_AUGMENTATIONS
from fmnist_helpers.study.data import make_dataset


class SaltAndPepper(layers.Layer):
    """Set a random fraction of pixels to 0 (pepper) or 1 (salt), in training only.

    Args:
        fraction: Expected fraction of pixels corrupted, in ``[0, 1]``; half salt, half pepper.
        seed: Seed of the layer's random generator.
        **kwargs: Passed to ``keras.layers.Layer``.

    Raises:
        ValueError: If ``fraction`` is outside ``[0, 1]``.
    """

    def __init__(self, fraction: float = 0.05, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}.")
        self.fraction = float(fraction)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.fraction == 0.0:
            return inputs
        draw = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator)
        pepper = draw < self.fraction / 2
        salt = draw > 1.0 - self.fraction / 2
        out = keras.ops.where(pepper, keras.ops.zeros_like(inputs), inputs)
        return keras.ops.where(salt, keras.ops.ones_like(inputs), out)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "fraction": self.fraction, "seed": self.seed}


def augmentation_layer(name: str, *, seed: int = 0, strength: float = 1.0,
                       **options) -> layers.Layer:
    """Return the Keras layer for one named augmentation.

    Args:
        name: One of :data:`AUGMENTATIONS`.
        seed: The layer's seed.
        strength: Scales the default range of the augmentation (1.0 = the training default).
        **options: Override the layer's range, e.g. ``rotate`` accepts ``degrees`` (default
            15; the seed's figure uses 90), ``salt_pepper`` accepts ``fraction``, ``perspective``
            accepts ``scale`` (distortion, default 0.3), ``erase`` accepts ``probability``
            (of erasing an image, default 0.5) and ``area`` (range of the erased rectangle's
            area as a fraction of the image, default 0.02 to 0.33).

    Returns:
        A Keras layer mapping a batch ``(n, 28, 28, 1)`` in ``[0, 1]`` to the same shape.

    Raises:
        ValueError: If the name is unknown or an option is not accepted.
    """
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; choose from {', '.join(AUGMENTATIONS)}.")
    accepted = {"scale": {"factor"}, "flip": set(), "rotate": {"degrees"},
                "lighting": {"brightness", "contrast"}, "salt_pepper": {"fraction"},
                "perspective": {"scale"}, "translate": {"factor"},
                "erase": {"probability", "area"}}[name]
    unknown = set(options) - accepted
    if unknown:
        raise ValueError(f"augmentation {name!r} does not accept {', '.join(sorted(unknown))}; "
                         f"it accepts {', '.join(sorted(accepted)) or 'no options'}.")
    if name == "scale":
        factor = options.get("factor", 0.15 * strength)
        return layers.RandomZoom(factor, fill_mode="constant", seed=seed, name="scale")
    if name == "flip":
        return layers.RandomFlip("horizontal", seed=seed, name="flip")
    if name == "rotate":
        degrees = options.get("degrees", 15.0 * strength)
        return layers.RandomRotation(degrees / 360.0, fill_mode="constant", seed=seed,
                                     name="rotate")
    if name == "lighting":
        brightness = options.get("brightness", 0.2 * strength)
        contrast = options.get("contrast", 0.3 * strength)
        return keras.Sequential([
            layers.RandomBrightness(brightness, value_range=(0.0, 1.0), seed=seed),
            layers.RandomContrast(contrast, seed=seed + 1),
        ], name="lighting")
    if name == "salt_pepper":
        return SaltAndPepper(options.get("fraction", 0.05 * strength), seed=seed,
                             name="salt_pepper")
    if name == "perspective":
        # factor is the probability of transforming an image, scale its distortion.
        return layers.RandomPerspective(factor=1.0, scale=options.get("scale", 0.3 * strength),
                                        fill_value=0.0, seed=seed, name="perspective")
    if name == "erase":
        # Keras's ``scale`` is the range from which each side's fraction of the image is drawn
        # as sqrt(U(scale)) (its docstring calls it an aspect ratio); the two sides are drawn
        # independently, so the erased area is between scale[0] and scale[1] of the image. The
        # fill is Gaussian noise (clipped to [0, 1] by the pipeline). A float ``factor`` would
        # draw each image's probability from U(0, factor); a pair (p, p) fixes it at p.
        probability = options.get("probability", 0.5)
        area = tuple(options.get("area", (0.02, 0.33 * strength)))
        return layers.RandomErasing(factor=(probability, probability), scale=area,
                                    value_range=(0.0, 1.0), seed=seed, name="erase")
    factor = options.get("factor", 0.1 * strength)
    return layers.RandomTranslation(factor, factor, fill_mode="constant", seed=seed,
                                    name="translate")


class ClipToUnit(layers.Layer):
    """Clip pixel values to ``[0, 1]`` (some Keras layers leave the range slightly)."""

    def call(self, inputs):
        return keras.ops.clip(inputs, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_augmentation(names, *, seed: int = 0) -> keras.Sequential | None:
    """Compose named augmentations into one training-only pipeline.

    Args:
        names: Augmentation names from :data:`AUGMENTATIONS`, applied in the given order.
        seed: Base seed; each layer gets its own seed derived from it.

    Returns:
        A ``keras.Sequential`` to call on batches with ``training=True``, or ``None`` when
        ``names`` is empty.

    Raises:
        ValueError: If a name is unknown or repeated.
    """
    names = list(names)
    if not names:
        return None
    if len(set(names)) != len(names):
        raise ValueError(f"augmentation names repeat: {names}.")
    stages = [augmentation_layer(name, seed=seed * 100 + i * 7 + 1) for i, name in enumerate(names)]
    return keras.Sequential(stages + [ClipToUnit(name="clip")], name="augmentation")


def examples(images, names=SEED_AUGMENTATIONS, *, draws: int = 2, seed: int = 0,
             options: dict[str, dict] | None = None) -> dict[str, list]:
    """Apply each augmentation on its own to the same images, a few random draws each.

    Args:
        images: ``(n, 28, 28, 1)`` float images in ``[0, 1]``.
        names: Augmentations to show.
        draws: Random draws per augmentation.
        seed: Seed of the layers.
        options: Per-augmentation options, e.g. ``{"rotate": {"degrees": 90}}`` (the seed's
            Figure 4).

    Returns:
        ``{title: [augmented batch per draw]}`` with NumPy arrays shaped like ``images``.
    """
    options = options or {}
    out = {}
    for name in names:
        layer = augmentation_layer(name, seed=seed, **options.get(name, {}))
        clip = ClipToUnit()
        title = AUGMENTATION_TITLES[name]
        if name == "rotate" and "degrees" in options.get(name, {}):
            title += f" (up to {options[name]['degrees']:g} degrees)"
        out[title] = [keras.ops.convert_to_numpy(clip(layer(images, training=True)))
                      for _ in range(draws)]
    return out


def throughput(images, labels, names=SEED_AUGMENTATIONS, *, batch_size: int = 128,
               seed: int = 0) -> dict[str, float]:
    """Images per second of the training input pipeline with each augmentation, and all of them.

    Each stage runs inside the same ``tf.data`` pipeline that training uses
    (``data.make_dataset``), over one pass of ``images``.

    Args:
        images: ``(n, 28, 28, 1)`` float images.
        labels: Their labels.
        names: Augmentations to time one by one (then composed).
        batch_size: Batch size, as in training.
        seed: Seed of the layers.

    Returns:
        ``{stage: images per second}``, stages named by their titles, plus ``"no augmentation"``
        and ``"all composed"``.
    """
    stages = [("no augmentation", None)]
    stages += [(AUGMENTATION_TITLES[name], build_augmentation([name], seed=seed)) for name in names]
    stages.append(("all composed", build_augmentation(list(names), seed=seed)))
    rates = {}
    for title, augmentation in stages:
        dataset = make_dataset(images, labels, batch_size=batch_size, training=True, seed=seed,
                               augmentation=augmentation)
        for _ in dataset.take(2):  # warm up: trace the graph
            pass
        start = time.perf_counter()
        for _ in dataset:
            pass
        rates[title] = len(labels) / (time.perf_counter() - start)
    return rates
