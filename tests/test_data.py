"""The IDX reader, the data look-up, the splits and the tf.data pipeline, on the real files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from fmnist_helpers import data, idx


@pytest.fixture(scope="module")
def fmnist():
    return data.load_fashion_mnist(download=False)


@pytest.fixture
def data_copy(tmp_path, fmnist):
    """A copy of the four official files that a test may damage."""
    target = tmp_path / "fmnist"
    target.mkdir()
    for path in fmnist.files.values():
        shutil.copy(path, target / path.name)
    return target


def test_official_files_load_with_their_shapes(fmnist):
    assert fmnist.x_train.shape == (60000, 28, 28) and fmnist.x_train.dtype == np.uint8
    assert fmnist.y_train.shape == (60000,) and fmnist.y_test.shape == (10000,)
    assert fmnist.x_test.shape == (10000, 28, 28)
    assert set(np.unique(fmnist.y_train)) == set(range(10))
    assert np.bincount(fmnist.y_test).tolist() == [1000] * 10
    assert len(data.CLASS_NAMES) == 10 and data.CLASS_NAMES[9] == "Ankle boot"


def test_explicit_directory_is_used(data_copy):
    assert data.find_data_dir(data_copy, download=False) == data_copy


def test_environment_variable_is_searched_before_debian(data_copy, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(data_copy))
    assert data.find_data_dir(download=False) == data_copy


def test_missing_directory_lists_every_place_and_both_fixes(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.find_data_dir(tmp_path / "nowhere", download=False)
    message = str(info.value)
    assert str(tmp_path / "nowhere") in message
    assert "train-images-idx3-ubyte" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "FMNIST_DATA_DIR" in message


def test_missing_files_without_explicit_dir_lists_all_places(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tmp_path / "debian")
    monkeypatch.setattr(data, "KERAS_CACHE_DIR", tmp_path / "keras")
    with pytest.raises(FileNotFoundError) as info:
        data.find_data_dir(download=False)
    message = str(info.value)
    for place in ("debian", "keras"):
        assert place in message


@pytest.mark.parametrize("contents", ["empty", "incomplete"])
def test_data_dir_variable_is_as_strict_as_the_argument(tmp_path, monkeypatch, contents):
    # Issue 14, defect 8: an empty or incomplete $FMNIST_DATA_DIR fell back to the Debian files.
    if contents == "incomplete":
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        data.find_data_dir(download=False)
    message = str(info.value)
    assert f"{tmp_path} ($FMNIST_DATA_DIR) is missing" in message
    assert "unset FMNIST_DATA_DIR" in message and "t10k-labels-idx1-ubyte" in message


def test_a_raw_file_with_one_label_changed_is_refused(data_copy):
    # Issue 14, defect 7: uncompressed files were checked by their shape only.
    gz = data_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    (data_copy / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    data._load_verified.cache_clear()
    assert data.load_fashion_mnist(data_copy, download=False).y_test[0] == raw[8]  # untouched
    raw[8] = (raw[8] + 1) % 10  # the first label, still a valid class
    (data_copy / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    data._load_verified.cache_clear()
    with pytest.raises(ValueError) as info:
        data.load_fashion_mnist(data_copy, download=False)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message and "content's SHA-256" in message
    assert idx.FASHION_MNIST_FILES["test_labels"].content_sha256 in message
    data._load_verified.cache_clear()


def test_wrong_checksum_names_file_and_expected_digest(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    data._load_verified.cache_clear()
    with pytest.raises(ValueError) as info:
        data.load_fashion_mnist(data_copy, download=False)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "SHA-256" in message
    assert idx.FASHION_MNIST_FILES["test_labels"].sha256 in message


def test_truncated_gzip_is_reported_not_raised_raw(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*(truncated|corrupted)"):
        idx.read_idx(path)


def test_truncated_raw_file_reports_expected_bytes(tmp_path, data_copy):
    raw = gzip.decompress((data_copy / "t10k-labels-idx1-ubyte.gz").read_bytes())
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(raw[:-10])
    with pytest.raises(ValueError, match=r"expected 10000.*truncated"):
        idx.read_idx(path, expected_shape=(10000,))


def test_mismatched_dimensions_are_reported(tmp_path, data_copy):
    raw = gzip.decompress((data_copy / "t10k-labels-idx1-ubyte.gz").read_bytes())
    path = tmp_path / "labels"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=r"dimensions are \(10000,\), expected \(60000,\)"):
        idx.read_idx(path, expected_shape=(60000,))


def test_not_an_idx_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, world")
    with pytest.raises(ValueError, match="notes.txt: not an IDX file"):
        idx.read_idx(path)


def test_raw_files_are_accepted(tmp_path, data_copy):
    for gz in data_copy.glob("*.gz"):
        (tmp_path / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    data._load_verified.cache_clear()
    loaded = data.load_fashion_mnist(tmp_path, download=False)
    assert loaded.x_train.shape == (60000, 28, 28)


def test_validation_split_is_fixed_disjoint_and_stratified(fmnist):
    train_idx, val_idx = data._validation_split(fmnist.y_train)
    assert len(val_idx) == data.DEFAULT_VALIDATION_SIZE
    assert not set(train_idx) & set(val_idx)
    assert len(train_idx) + len(val_idx) == 60000
    assert np.bincount(fmnist.y_train[val_idx]).tolist() == [600] * 10
    again = data._validation_split(fmnist.y_train)[1]
    assert np.array_equal(val_idx, again)


def test_subsets_are_stratified_and_disjoint():
    splits = data.load_splits(train_size=1000, val_size=500, test_size=300)
    assert splits.counts() == {"train": 1000, "val": 500, "test": 300}
    assert np.bincount(splits.y_train).tolist() == [100] * 10
    assert np.bincount(splits.y_val).tolist() == [50] * 10
    train_rows = {row.tobytes() for row in splits.x_train}
    assert not any(row.tobytes() in train_rows for row in splits.x_val)


def test_subset_larger_than_split_is_rejected():
    with pytest.raises(ValueError, match="val_size must be between 1 and 6000"):
        data.load_splits(val_size=7000)


def test_to_float_scales_to_unit_range(fmnist):
    images = data.to_float(fmnist.x_test[:50])
    assert images.shape == (50, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    with pytest.raises(ValueError, match="uint8"):
        data.to_float(images)


def test_mnist_offline_has_fashion_shapes():
    images, labels = data.load_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255


def test_pipeline_shuffles_differently_each_epoch_but_reproducibly():
    images = (np.arange(64, dtype=np.float32).reshape(64, 1, 1, 1)
              * np.ones((1, 28, 28, 1), np.float32))
    labels = np.arange(64)

    def orders(seed):
        dataset = data.make_dataset(images, labels, batch_size=64, training=True, seed=seed)
        return [next(iter(dataset))[1].numpy().tolist() for _ in range(2)]

    first, second = orders(3)
    assert first != second and sorted(first) == list(range(64))
    assert orders(3) == [first, second]
    evaluation = data.make_dataset(images, labels, batch_size=64)
    assert next(iter(evaluation))[1].numpy().tolist() == list(range(64))


def test_advancing_a_pipeline_skips_what_a_fit_of_that_many_epochs_drew():
    from fmnist_helpers.study.augment import build_augmentation
    from fmnist_helpers.study.train import set_determinism

    images = np.random.default_rng(0).random((96, 28, 28, 1), dtype=np.float32)
    labels = np.arange(96) % 10

    def pipeline(augmented):  # built as training builds it: after seeding (train.prepare)
        set_determinism(0)
        augmentation = build_augmentation(("flip", "translate"), seed=1) if augmented else None
        return data.make_dataset(images, labels, batch_size=32, training=True, seed=5,
                                 augmentation=augmentation)

    for augmented in (False, True):
        straight = pipeline(augmented)
        # A fit's epoch: one iterator drawn in full, one more made ahead and left unused.
        for _ in range(2):
            list(straight)
            iter(straight)
        third = [x.numpy() for x, _ in straight]
        resumed = pipeline(augmented)
        data.advance_pipeline(resumed, 2, augmented=augmented)
        assert all(np.array_equal(a, b) for a, b in zip([x.numpy() for x, _ in resumed], third))
        fresh = [x.numpy() for x, _ in pipeline(augmented)]
        assert not all(np.array_equal(a, b) for a, b in zip(fresh, third))  # not a replay
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        data.advance_pipeline(straight, -1, augmented=False)
