"""The results cache: an analysis is computed once per distinct argument."""

from __future__ import annotations

import numpy as np

from fmnist_helpers.cache import stored_result


def test_stored_result_computes_once_per_argument(monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path))
    calls = []

    @stored_result
    def square(values, power=2):
        calls.append(1)
        return np.asarray(values) ** power

    np.testing.assert_array_equal(square(np.arange(3)), [0, 1, 4])
    np.testing.assert_array_equal(square(np.arange(3), power=2), [0, 1, 4])
    assert len(calls) == 1
    square(np.arange(4))
    square(np.arange(3), power=3)
    assert len(calls) == 3
    assert len(list((tmp_path / "results").glob("square-*.pkl"))) == 3
