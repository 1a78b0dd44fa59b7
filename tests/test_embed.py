"""t-SNE over training, separability, and the observation helpers, on a tiny real run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmnist_helpers import embed, evaluate, explain
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.data import CLASS_NAMES
from fmnist_helpers.study.train import train


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A tiny ConvNet that recorded extras before training and after epochs 1 and 2."""
    from fmnist_helpers.store.runs import RunConfig

    config = RunConfig(model="convnet", train_size=1000, val_size=500, test_size=1000, epochs=2,
                       width=0.125, batch_size=50, learning_rate=1e-3, probe_size=200,
                       record_epochs=(0, 1, 2))
    return train(config, store=RunStore(tmp_path_factory.mktemp("runs")), verbose=False)


def test_tsne_is_reproducible_with_a_seed_and_changes_with_another():
    features = np.random.default_rng(0).normal(size=(120, 8))
    first = embed.tsne(features, seed=1)
    assert first.shape == (120, 2)
    np.testing.assert_array_equal(first, embed.tsne(features, seed=1))
    assert not np.allclose(first, embed.tsne(features, seed=2))


def test_tsne_starts_from_a_given_embedding():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(100, 5))
    with pytest.raises(ValueError, match="initialization must be shaped"):
        embed.tsne(features, initialization=np.zeros((99, 2)))
    with pytest.raises(ValueError, match="at least 10"):
        embed.tsne(features[:5])
    start = embed.tsne(features, seed=0)
    assert embed.tsne(features + 0.01, seed=0, initialization=start).shape == (100, 2)


def test_separability_tells_separated_from_mixed_classes():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    separated = embed.separability(rng.normal(size=(200, 2)) * 0.1 + labels[:, None] * 5, labels)
    mixed = embed.separability(rng.normal(size=(200, 2)), labels)
    assert separated["knn_accuracy"] == 1.0 and separated["silhouette"] > 0.8
    assert mixed["knn_accuracy"] < 0.4 and abs(mixed["silhouette"]) < 0.2
    with pytest.raises(ValueError, match="points but"):
        embed.separability(np.zeros((5, 2)), labels)


def test_tsne_over_training_embeds_every_recorded_epoch(recorded_run):
    embeddings, labels, table = embed.tsne_over_training(recorded_run, points=150)
    assert list(embeddings) == [0, 1, 2]
    assert all(e.shape == (150, 2) for e in embeddings.values())
    assert len(labels) == 150 and list(table["epoch"]) == [0, 1, 2]
    assert table["knn_accuracy"].between(0, 1).all()
    again, _, _ = embed.tsne_over_training(recorded_run, points=150)
    assert all(np.array_equal(embeddings[k], again[k]) for k in embeddings)


def test_confusion_matrix_sums_to_the_test_images(recorded_run):
    labels, predictions, probs = evaluate.test_predictions(recorded_run)
    assert len(labels) == 1000 and probs.shape == (1000, 10)
    counts = evaluate.confusion(labels, predictions)
    assert counts.to_numpy().sum() == 1000
    assert list(counts.index) == list(CLASS_NAMES)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(labels, minlength=10))
    assert np.trace(counts.to_numpy()) == (labels == predictions).sum()
    normalized = evaluate.confusion(labels, predictions, normalize=True)
    np.testing.assert_allclose(normalized.sum(axis=1), 1.0)


def test_misclassified_over_training_reads_the_recorded_predictions(recorded_run):
    table = evaluate.misclassified_over_training(recorded_run)
    assert set(table["epoch"]) <= {1, 2}
    extras = recorded_run.extras(2)
    wrong = (extras["probs"].argmax(axis=1) != extras["labels"]).sum()
    assert (table["epoch"] == 2).sum() == wrong
    assert (table["true"] != table["predicted"]).all()
    assert table["confidence"].between(0.1, 1).all()
    assert len(evaluate.misclassified_findings(table, 200)) >= 2
    with pytest.raises(ValueError, match="not recorded"):
        evaluate.misclassified_over_training(recorded_run, epochs=[5])


def test_activation_sparsity_comes_from_the_extras(recorded_run):
    table = explain.activation_sparsity(recorded_run)
    assert set(table["epoch"]) == {0, 1, 2}
    assert table["zero_fraction"].between(0, 1).all()
    assert table["foreground_zero_fraction"].between(0, 1).all()
    assert (table["dead_filters"] <= table["filters"]).all()
    # Before training, the blank background gives exact zeros (zero biases on a zero input):
    # counting only the foreground leaves them out.
    start = table[(table["epoch"] == 0) & (table["block"] == "conv1")].iloc[0]
    assert start["foreground_zero_fraction"] < start["zero_fraction"]
    findings = explain.sparsity_findings(table)
    assert len(findings) == 3 and findings[0].startswith("On foreground positions")


def _per_class(means, sd, seeds=3):
    rng = np.random.default_rng(0)
    columns = [f"seed {s}" for s in range(seeds)]
    table = pd.DataFrame({c: means + rng.normal(0, sd, len(means)) for c in columns},
                         index=CLASS_NAMES)
    table["mean"] = table[columns].mean(axis=1)
    table["spread"] = table[columns].max(axis=1) - table[columns].min(axis=1)
    return table


def test_class_ranking_pairs_the_classes_by_seed():
    means = np.linspace(0.5, 0.95, 10)  # T-shirt hardest ... Ankle boot easiest
    means[6], means[0] = 0.3, 0.6  # Shirt hardest by 0.2
    assert evaluate.class_ranking(_per_class(means, 0.01), "Shirt", hardest=True)["verdict"] \
        == "supported"
    assert evaluate.class_ranking(_per_class(means, 0.5), "Shirt", hardest=True)["verdict"] \
        == "inconclusive"
    result = evaluate.class_ranking(_per_class(means, 0.01), "Trouser", hardest=False)
    assert result["verdict"] == "not supported" and result["extreme"] == "Ankle boot"
    one_seed = _per_class(means, 0.01, seeds=1)
    assert evaluate.class_ranking(one_seed, "Shirt", hardest=True)["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="unknown class"):
        evaluate.class_ranking(_per_class(means, 0.01), "Hat", hardest=True)
