"""The IDX files of (Fashion-)MNIST: what the official files must contain, and a strict reader.

:func:`read_idx` checks the magic number, the dimensions and the item count of any IDX file
(gzipped or not) and reports a problem as an error naming the file and what was expected.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np


@dataclasses.dataclass(frozen=True)
class IdxFile:
    """What an official Fashion-MNIST file must contain."""

    stem: str
    shape: tuple[int, ...]
    sha256: str  # of the official gzipped file
    content_sha256: str  # of its decompressed content: what a raw (gunzipped) copy must have


FASHION_MNIST_FILES = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte",
        (60000, 28, 28),
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte",
        (60000,),
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte",
        (10000, 28, 28),
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte",
        (10000,),
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _check_sha256(path: Path, raw: bytes, expected: str | None, what: str, of: str) -> None:
    """Raise a ValueError naming the file if ``raw`` does not have the expected digest."""
    if expected is None:
        return
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise ValueError(f"{path}: {what} is {actual}, expected {expected} ({of}). The file is "
                         "corrupted or not the official one; delete it and fetch it again.")


def read_idx(
    path: str | os.PathLike,
    *,
    expected_shape: tuple[int, ...] | None = None,
    expected_sha256: str | None = None,
    expected_content_sha256: str | None = None,
) -> np.ndarray:
    """Read an IDX file, gzipped or raw, and check it.

    Args:
        path: The file. Gzip is detected from the content, not the name.
        expected_shape: If given, the dimensions (item count first) the file must declare and
            hold.
        expected_sha256: If given, the SHA-256 the file (as stored, i.e. gzipped if it is)
            must have.
        expected_content_sha256: If given, the SHA-256 the decompressed content must have
            (checks a raw copy as strictly as a gzipped one).

    Returns:
        The array with the file's dimensions and dtype.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is corrupted, truncated, not an IDX file, has other dimensions
            than expected or the wrong checksum. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    _check_sha256(path, raw, expected_sha256, "SHA-256", "the official Fashion-MNIST file")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(
                f"{path}: not a valid gzip file ({error}); the file is corrupted or truncated."
            ) from None
    _check_sha256(path, raw, expected_content_sha256, "the content's SHA-256",
                  "the official Fashion-MNIST file, decompressed")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}, expected "
            "00 00 <type> <ndim>, e.g. 00000803 for images or 00000801 for labels)."
        )
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected {header}).")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if expected_shape is not None and shape != tuple(expected_shape):
        raise ValueError(
            f"{path}: IDX dimensions are {shape}, expected {tuple(expected_shape)}."
        )
    expected_bytes = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected_bytes:
        raise ValueError(
            f"{path}: holds {len(raw) - header} bytes of data for dimensions {shape}, expected "
            f"{expected_bytes - header}; the file is truncated or corrupted."
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)

