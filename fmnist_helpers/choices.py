"""The names a run config may use: models, initializers, optimizers, augmentations, ...

Kept free of Keras and TensorFlow so that :class:`fmnist_helpers.runs.RunConfig`, the profiles and
the claim judges import without loading TensorFlow. The modules that build things from these
names (``models``, ``augment``, ``train``) import them from here; a test checks that each name
has something built for it.
"""

from __future__ import annotations

#: The six architectures of the seed's appendix (``models.ARCHITECTURES`` defines them).
MODEL_NAMES = ("feedforward", "cnn1", "cnn3", "cnn4", "vgg_like", "convnet")
MODEL_TITLES = {
    "feedforward": "Feed-forward (512-128)",
    "cnn1": "CNN, 1 conv layer",
    "cnn3": "CNN, 3 conv layers",
    "cnn4": "CNN, 4 conv layers",
    "vgg_like": "VGG-like",
    "convnet": "Our ConvNet",
}
INITIALIZERS = ("xavier", "he", "random")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu")
KERNEL_SIZES = (3, 5, 7)
OPTIMIZERS = ("adam", "rmsprop", "sgd", "momentum")
LR_SCHEDULES = ("constant", "cosine")

#: The seed's seven augmentations (section 2), in its order.
SEED_AUGMENTATIONS = ("scale", "flip", "rotate", "lighting", "salt_pepper", "perspective",
                      "translate")
#: Names usable in ``RunConfig.augment``: the seed's, and random erasing (Zhong et al. 2017),
#: which the seed does not use.
AUGMENTATIONS = SEED_AUGMENTATIONS + ("erase",)
AUGMENTATION_TITLES = {
    "scale": "Scaling (zoom)",
    "flip": "Horizontal flip",
    "rotate": "Rotation",
    "lighting": "Lighting (brightness, contrast)",
    "salt_pepper": "Salt-and-pepper noise",
    "perspective": "Perspective transform",
    "translate": "Translation",
    "erase": "Random erasing",
}
#: The augmentations used when a study (and the seed's VGG-like row) turns augmentation on.
TRAINING_AUGMENTATION = ("flip", "translate", "scale")
