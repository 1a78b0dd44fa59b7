"""t-SNE figures (06, 09): embeddings over training and MNIST vs Fashion-MNIST.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fmnist_helpers.pages.viz.common import _blank, _done
from fmnist_helpers.study.data import CLASS_NAMES


def _class_scatter(ax, embedding, labels, title: str, names=CLASS_NAMES) -> None:

    colors = sns.color_palette("tab10", len(names))
    for k, name in enumerate(names):
        points = embedding[labels == k]
        ax.scatter(points[:, 0], points[:, 1], s=3, color=colors[k], label=name, alpha=0.8,
                   linewidths=0)
    _blank(ax)
    ax.set_title(title, fontsize=10)


def tsne_panels(embeddings: dict, labels: np.ndarray, table: pd.DataFrame, *, title: str):
    """One t-SNE panel per recorded epoch, coloured by class, with its separability numbers."""
    count = len(embeddings)
    fig, axes = plt.subplots(1, count, figsize=(3.3 * count + 1.8, 3.9), squeeze=False)
    scores = table.set_index("epoch")
    for ax, (epoch, embedding) in zip(axes[0], embeddings.items()):
        row = scores.loc[epoch]
        name = "before training" if epoch == 0 else f"after epoch {epoch}"
        _class_scatter(ax, embedding, labels,
                       f"{name}\n5-NN {row['knn_accuracy']:.1%}, silhouette "
                       f"{row['silhouette']:.2f}")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), markerscale=4,
                       fontsize=8, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def dataset_tsne(embeddings: dict, table: pd.DataFrame):
    """MNIST and Fashion-MNIST t-SNE side by side (the seed's Figure 26)."""
    digit_names = [str(d) for d in range(10)]
    fig, axes = plt.subplots(1, len(embeddings), figsize=(12, 5.2))
    for ax, (name, (embedding, labels)) in zip(axes, embeddings.items()):
        row = table.loc[name]
        names = digit_names if name == "MNIST" else CLASS_NAMES
        _class_scatter(ax, embedding, labels,
                       f"{name}: {int(row['images']):,} images, raw pixels\n5-NN "
                       f"{row['knn_accuracy']:.1%}, silhouette {row['silhouette']:.2f}", names)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=5, markerscale=4,
                  fontsize=8, frameon=False)
    fig.tight_layout()
    return _done(fig)

