"""Costly analyses of recorded runs, cached next to the run store (``<store>/results/``).

:func:`stored_result` wraps an analysis function: a section and the claims ledger that ask for
the same analysis of the same run compute it once, and a warm rebuild recomputes nothing.

Results are stored as data, never as pickles (a pickle in a store that several machines share
would run the code of whoever can write to it): one ``.npz`` file per result, its arrays plus a
JSON manifest of the structure around them (dicts, lists, tuples, numbers, strings, DataFrames,
Series), read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import os

import numpy as np
import pandas as pd

from fmnist_helpers.core import progress
from fmnist_helpers.store import readlog
from fmnist_helpers.store.runs import Run, RunStore

#: Bump when a change to a :func:`stored_result` function changes what it returns.
RESULTS_VERSION = 2


def _fingerprint(value, digest) -> None:
    """Feed a function argument into a hash: runs by key, models by weights, arrays by bytes."""
    if isinstance(value, Run):
        digest.update(f"run:{value.key}".encode())
    elif hasattr(value, "get_weights") and hasattr(value, "get_config"):
        digest.update(f"model:{json.dumps(value.get_config(), sort_keys=True, default=str)}"
                      .encode())
        for weight in value.get_weights():
            digest.update(np.ascontiguousarray(weight).tobytes())
    elif isinstance(value, np.ndarray):
        digest.update(f"array:{value.dtype}:{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq:{len(value)}".encode())
        for item in value:
            _fingerprint(item, digest)
    else:
        digest.update(json.dumps(value, sort_keys=True).encode())


class _Encoder:
    """Turns a result into a JSON tree, collecting its arrays (``{"__array__": name}``)."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def _array(self, array: np.ndarray) -> dict:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return {"__array__": name}

    def _values(self, values) -> dict:
        array = np.asarray(values)
        if array.dtype == object:
            return {"__objects__": [self.encode(v) for v in array.tolist()]}
        return self._array(array)

    def _index(self, index: pd.Index) -> dict:
        if isinstance(index, pd.MultiIndex):
            return {"__multiindex__": {"tuples": self.encode([tuple(t) for t in index]),
                                       "names": self.encode(list(index.names))}}
        return {"__index__": {"values": self._values(index.to_numpy()),
                              "name": self.encode(index.name), "dtype": str(index.dtype)}}

    def encode(self, value):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            number = float(value)
            return number if math.isfinite(number) else {"__float__": repr(number)}
        if isinstance(value, np.ndarray):
            return self._values(value)
        if isinstance(value, pd.DataFrame):
            return {"__frame__": {
                "index": self._index(value.index), "columns": self._index(value.columns),
                "data": [self._values(value.iloc[:, i].to_numpy()) for i in range(value.shape[1])],
                "dtypes": [str(t) for t in value.dtypes]}}
        if isinstance(value, pd.Series):
            return {"__series__": {"index": self._index(value.index),
                                   "values": self._values(value.to_numpy()),
                                   "name": self.encode(value.name), "dtype": str(value.dtype)}}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        raise TypeError(f"stored_result cannot store a {type(value).__name__}; return arrays, "
                        "DataFrames, numbers, strings and containers of them.")


def _decode(tree, arrays: dict[str, np.ndarray]):
    """Rebuild a result from its JSON tree and arrays (the inverse of ``_Encoder.encode``)."""
    if isinstance(tree, list):
        return [_decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    (tag, content), = tree.items()
    if tag == "__array__":
        return arrays[content]
    if tag == "__objects__":
        values = np.empty(len(content), dtype=object)
        values[:] = [_decode(v, arrays) for v in content]
        return values
    if tag == "__float__":
        return float(content)
    if tag == "__tuple__":
        return tuple(_decode(v, arrays) for v in content)
    if tag == "__dict__":
        return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in content}
    if tag == "__index__":
        return pd.Index(_decode(content["values"], arrays), name=_decode(content["name"], arrays),
                        dtype=content["dtype"])
    if tag == "__multiindex__":
        return pd.MultiIndex.from_tuples(_decode(content["tuples"], arrays),
                                         names=_decode(content["names"], arrays))
    if tag == "__series__":
        return pd.Series(_decode(content["values"], arrays), name=_decode(content["name"], arrays),
                         index=_decode(content["index"], arrays)).astype(content["dtype"])
    if tag == "__frame__":
        columns = [_decode(column, arrays) for column in content["data"]]
        frame = pd.DataFrame(dict(enumerate(columns)), index=_decode(content["index"], arrays))
        frame = frame.astype(dict(enumerate(content["dtypes"])))
        frame.columns = _decode(content["columns"], arrays)
        return frame
    raise ValueError(f"unknown tag {tag!r} in a stored result")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def save_result(path, value) -> None:
    """Write a result as ``.npz`` (arrays + JSON manifest), atomically.

    Raises:
        TypeError: If the result holds something other than data.
    """
    encoder = _Encoder()
    manifest = json.dumps(encoder.encode(value))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, __manifest__=np.array(manifest), **encoder.arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_result(path):
    """Read a result written by :func:`save_result` (never unpickles anything).

    Raises:
        Exception: Whatever a damaged file raises (``BadZipFile``, ``ValueError``, ...).
    """
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return _decode(json.loads(str(arrays.pop("__manifest__"))), arrays)


def stored_result(func):
    """Cache a costly analysis of recorded runs in the run store (``<store>/results/``).

    The key hashes the function's name, :data:`RESULTS_VERSION`, and every argument: a
    :class:`Run` by its key, a Keras model by its config and weights, an array by its bytes, other
    values as JSON. So a section and the claims ledger that ask for the same analysis of the same
    run compute it once, and a retrained run gets a fresh result. Results are stored as data
    (:func:`save_result`) and written atomically; one that cannot be read, whatever the damage,
    is computed again.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        digest = hashlib.sha256(f"{func.__module__}.{func.__qualname__}:{RESULTS_VERSION}".encode())
        for name, value in bound.arguments.items():
            digest.update(name.encode())
            _fingerprint(value, digest)
        folder = RunStore().root / "results"
        path = folder / f"{func.__name__}-{digest.hexdigest()[:16]}.npz"
        if path.is_file():
            try:
                result = load_result(path)
                readlog.record("result", path.name, path)
                return result
            except Exception as error:  # noqa: BLE001 -- a damaged cache file: compute again
                progress.say(f"results cache: {path.name} cannot be read ({type(error).__name__}); "
                             "computing it again.")
        result = func(*args, **kwargs)
        folder.mkdir(parents=True, exist_ok=True)
        save_result(path, result)
        readlog.record("result", path.name, path)
        return result

    return wrapper
