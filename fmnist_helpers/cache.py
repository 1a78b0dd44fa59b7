"""Costly analyses of recorded runs, cached next to the run store (``<store>/results/``).

:func:`stored_result` wraps an analysis function: a section and the claims ledger that ask for
the same analysis of the same run compute it once, and a warm rebuild recomputes nothing.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import pickle

import numpy as np

from fmnist_helpers.runs import Run, RunStore

#: Bump when a change to a :func:`stored_result` function changes what it returns.
RESULTS_VERSION = 1


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


def stored_result(func):
    """Cache a costly analysis of recorded runs in the run store (``<store>/results/``).

    The key hashes the function's name, :data:`RESULTS_VERSION`, and every argument: a
    :class:`Run` by its key, a Keras model by its config and weights, an array by its bytes, other
    values as JSON. So a section and the claims ledger that ask for the same analysis of the same
    run compute it once, and a retrained run gets a fresh result. Results are pickled and written
    atomically; an unreadable one is recomputed.
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
        path = folder / f"{func.__name__}-{digest.hexdigest()[:16]}.pkl"
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    return pickle.load(handle)
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                pass
        result = func(*args, **kwargs)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(result, handle)
        os.replace(tmp, path)
        return result

    return wrapper
