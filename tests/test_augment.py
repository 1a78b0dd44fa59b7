"""The augmentations (the seed's seven, random erasing).

Shape, dtype, range, reproducibility, variation, identity at inference.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fmnist_helpers import augment, data


@pytest.fixture(scope="module")
def images():
    return data.to_float(data.load_fashion_mnist().x_test[:32])


@pytest.mark.parametrize("name", augment.AUGMENTATIONS)
def test_shape_dtype_and_range_are_kept(images, name):
    pipeline = augment.build_augmentation([name], seed=3)
    out = keras.ops.convert_to_numpy(pipeline(images, training=True))
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    if name != "flip":  # a flip may leave an image as it was; the others change every image
        assert not np.allclose(out, images)


@pytest.mark.parametrize("name", augment.AUGMENTATIONS)
def test_identity_at_inference(images, name):
    pipeline = augment.build_augmentation([name], seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pipeline(images, training=False)),
                                  images)


def _two_epochs(images, names, seed):
    keras.utils.set_random_seed(seed)
    pipeline = augment.build_augmentation(names, seed=seed)
    dataset = data.make_dataset(images, np.arange(len(images)), batch_size=len(images),
                                training=True, seed=seed, augmentation=pipeline)
    epochs = []
    for _ in range(2):
        batch, order = next(iter(dataset))
        batch = batch.numpy()[np.argsort(order.numpy())]  # undo the shuffle
        epochs.append(batch)
    return epochs


def test_pipeline_is_reproducible_with_a_seed_and_differs_across_epochs(images):
    names = list(augment.AUGMENTATIONS)
    first, second = _two_epochs(images, names, seed=5)
    again_first, again_second = _two_epochs(images, names, seed=5)
    np.testing.assert_allclose(first, again_first)
    np.testing.assert_allclose(second, again_second)
    assert not np.allclose(first, second)
    other_first, _ = _two_epochs(images, names, seed=6)
    assert not np.allclose(first, other_first)


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.3])
def test_salt_and_pepper_corrupts_the_fraction_asked_for(fraction):
    grey = np.full((64, 28, 28, 1), 0.5, np.float32)
    layer = augment.SaltAndPepper(fraction, seed=1)
    out = keras.ops.convert_to_numpy(layer(grey, training=True))
    corrupted = out != 0.5
    assert corrupted.mean() == pytest.approx(fraction, rel=0.1)
    assert set(np.unique(out[corrupted])) <= {0.0, 1.0}
    assert (out == 0).mean() == pytest.approx((out == 1).mean(), rel=0.25)


def test_random_erasing_erases_half_the_images_over_the_area_asked_for():
    # A constant image of 5: the (clipped-later) noise fill is never exactly 5, so the raw
    # layer output shows each erased rectangle.
    constant = np.full((2000, 28, 28, 1), 5.0, np.float32)
    layer = augment.augmentation_layer("erase", seed=1)
    out = keras.ops.convert_to_numpy(layer(constant, training=True))
    area = (out != 5.0).reshape(len(out), -1).mean(axis=1)
    erased = area[area > 0]
    assert len(erased) / len(area) == pytest.approx(0.5, abs=0.05)
    assert erased.min() >= 0.015 and erased.max() <= 0.34
    assert np.median(erased) == pytest.approx(0.15, abs=0.04)
    wide = augment.augmentation_layer("erase", seed=1, probability=1.0, area=(0.3, 0.3))
    area = (keras.ops.convert_to_numpy(wide(constant[:200], training=True)) != 5.0).mean(
        axis=(1, 2, 3))
    assert area.min() > 0 and np.all(np.abs(area - 0.3) < 0.05)  # rounded to whole pixels


def test_bad_names_and_options_are_rejected():
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        augment.build_augmentation(["blur"])
    with pytest.raises(ValueError, match="does not accept degrees"):
        augment.augmentation_layer("flip", degrees=3)
    with pytest.raises(ValueError, match="fraction must be in"):
        augment.SaltAndPepper(1.5)
    with pytest.raises(ValueError, match="repeat"):
        augment.build_augmentation(["flip", "flip"])


def test_rotation_range_is_offered(images):
    examples = augment.examples(images[:3], ["rotate"], draws=1,
                                options={"rotate": {"degrees": 90}})
    (title, batches), = examples.items()
    assert "90" in title and batches[0].shape == (3, 28, 28, 1)
