"""The results cache: an analysis is computed once per distinct argument, and stored as data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmnist_helpers.store.cache import load_result, save_result, stored_result


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
    assert len(list((tmp_path / "results").glob("square-*.npz"))) == 3


def test_every_kind_of_result_round_trips_exactly(tmp_path):
    table = pd.DataFrame({"accuracy": [0.9, 0.8], "folds": [[0.9, 0.91], [0.8, 0.79]],
                          "ok": [True, False], "count": [3, 4]},
                         index=pd.Index(["MNIST", "Fashion-MNIST"], name="dataset"))
    curve = pd.DataFrame({"FGSM": [0.8, 0.4]}, index=pd.Index([0.0, 0.1], name="epsilon"))
    multi = pd.DataFrame({"v": [1.0, 2.0]},
                         index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["g", "n"]))
    value = ({0: np.arange(6, dtype=np.float32).reshape(2, 3), 4: np.zeros(2)},
             np.array(["conv1", "conv2"]), table, curve, multi,
             pd.Series([1.5, float("nan")], name="s"),
             {"success": [True, False], "steps": [np.int64(3), 5], "score": np.float64(0.25),
              "inf": float("inf"), "none": None, ("x", 1): "tuple key"})
    path = tmp_path / "result.npz"
    save_result(path, value)
    again = load_result(path)
    maps, names, table2, curve2, multi2, series2, info = again
    assert list(maps) == [0, 4] and maps[0].dtype == np.float32
    np.testing.assert_array_equal(maps[0], value[0][0])
    assert list(names) == ["conv1", "conv2"]
    pd.testing.assert_frame_equal(table2, table)
    pd.testing.assert_frame_equal(curve2, curve)
    pd.testing.assert_frame_equal(multi2, multi)
    pd.testing.assert_series_equal(series2, value[5])
    assert info["success"] == [True, False] and info["steps"] == [3, 5]
    assert info["inf"] == float("inf") and info["none"] is None and info[("x", 1)] == "tuple key"
    with np.load(path, allow_pickle=False) as stored:  # nothing that needs unpickling
        assert "__manifest__" in stored.files
