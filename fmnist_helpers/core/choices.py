"""The names a run config may use: models, initializers, optimizers, augmentations, ...

Kept free of Keras and TensorFlow so that :class:`fmnist_helpers.store.runs.RunConfig`, the profiles
and the claim judges import without loading TensorFlow. The modules that build things from these
names (``models``, ``augment``, ``train``) import them from here; a test checks that each name
has something built for it.
"""

from __future__ import annotations

#: The six architectures of the seed's appendix (``models.ARCHITECTURES`` defines them); the
#: studies and the claims use these.
SEED_MODEL_NAMES = ("feedforward", "cnn1", "cnn3", "cnn4", "vgg_like", "convnet")
#: Every architecture a run may train: the seed's six and ours for the fast full-scale recipe
#: (``speednet``, not in the seed's report).
MODEL_NAMES = SEED_MODEL_NAMES + ("speednet",)
MODEL_TITLES = {
    "feedforward": "Feed-forward (512-128)",
    "cnn1": "CNN, 1 conv layer",
    "cnn3": "CNN, 3 conv layers",
    "cnn4": "CNN, 4 conv layers",
    "vgg_like": "VGG-like",
    "convnet": "Our ConvNet",
    "speednet": "SpeedNet (not in the seed)",
}
INITIALIZERS = ("xavier", "he", "random")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu")
KERNEL_SIZES = (3, 5, 7)
OPTIMIZERS = ("adam", "rmsprop", "sgd", "momentum")
LR_SCHEDULES = ("constant", "cosine")
#: Numeric precisions of training: float32 (the default), or Keras's ``mixed_bfloat16`` policy
#: (bfloat16 compute, float32 variables, float32 logits and loss).
PRECISIONS = ("float32", "mixed_bfloat16")

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
