"""The seed report's own numbers, in one place: its headline accuracies and its Table 1.

Every page, judge and benchmark that compares with the seed reads them from here.
"""

from __future__ import annotations

#: Section 4: "Best Validation Accuracy that we achieved was 92.86% [...] test data gave a Kaggle
#: Accuracy of 93.7%" (our ConvNet, full scale).
SEED_CONVNET_VAL = 0.9286
SEED_CONVNET_TEST = 0.937
#: Section 12: "VGG Like Model With Batchnorm [...] achieved a accuracy of 94% using data
#: augmentation".
SEED_VGG_TEST = 0.94

#: Table 1 ("Parameters of Our ConvNet"): layer -> (formula as printed, count).
SEED_TABLE1 = {
    "conv1": ("3 x 3 x 64", 576),
    "conv2": ("3 x 3 x 128 x 64", 73728),
    "conv3": ("3 x 3 x 128 x 256", 294912),
    "conv4": ("3 x 3 x 256 x 256", 589824),
    "fc1": ("4069 x 1024", 4194304),
    "fc2": ("1024 x 1024", 1048576),
    "logits": ("1024 x 10", 10240),
}


def seed_accuracies_text() -> str:
    """The seed's ConvNet accuracies in words, e.g. for the index page.

    Returns:
        ``"92.86% validation, 93.7% test"``.
    """
    return f"{SEED_CONVNET_VAL:.2%} validation, {SEED_CONVNET_TEST:.1%} test"


#: The seed's training setup (its sections 3-4 and 10.2): what every profile
#: is compared with when a page says where its recipe departs from the seed's.
SEED_RECIPE = {"train_images": 54_000, "batch_size": 1000, "learning_rate": 1e-4,
               "optimizer": "Adam", "initializer": "Xavier", "dropout": 0.2, "conv1_filters": 64,
               "steps": 1_600}
