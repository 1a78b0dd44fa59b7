"""Figures of the augmentation section (01): examples and pipeline throughput.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_helpers.data import CLASS_NAMES
from fmnist_helpers.viz.common import _done


def augmentation_examples(images: np.ndarray, labels: np.ndarray, examples: dict[str, list]):
    """Each augmentation applied to the same real images (the seed's Figures 2-8).

    Args:
        images: ``(n, 28, 28, 1)`` float originals in ``[0, 1]``.
        labels: Their classes.
        examples: ``{augmentation title: [augmented batch, ...]}``; each batch is shaped like
            ``images``.

    Returns:
        The figure: one row per augmentation (plus the originals), one column per image.
    """
    rows = [("original", [images])] + list(examples.items())
    draws = max(len(batches) for _, batches in rows)
    n = len(images)
    fig, axes = plt.subplots(len(rows), n * draws,
                             figsize=(0.95 * n * draws + 1.8, 1.05 * len(rows)), squeeze=False)
    for r, (title, batches) in enumerate(rows):
        for d in range(draws):
            for i in range(n):
                ax = axes[r, d * n + i]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if d < len(batches):
                    ax.imshow(batches[d][i, ..., 0], cmap="gray_r", vmin=0, vmax=1)
                else:
                    ax.axis("off")
                if r == 0 and d == 0:
                    ax.set_title(CLASS_NAMES[int(labels[i])], fontsize=8)
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Each augmentation on the same real images" +
                 (f" ({draws} random draws side by side)" if draws > 1 else ""))
    fig.subplots_adjust(wspace=0.04, hspace=0.08, left=0.17)
    return _done(fig)


def throughput_bars(table: pd.DataFrame):
    """Images per second of each augmentation stage beside training's.

    Args:
        table: Indexed by stage name with an ``images/s`` column.

    Returns:
        The figure (log-scaled x axis).
    """
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(table) + 1.4))
    colors = ["#C44E52" if "training" in name else "#4C72B0" for name in table.index]
    ax.barh(table.index, table["images/s"], color=colors)
    for y, value in enumerate(table["images/s"]):
        ax.text(value * 1.05, y, f"{value:,.0f}", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("images per second (log scale)")
    ax.set_title("Augmentation throughput vs training throughput (red)")
    ax.invert_yaxis()
    fig.tight_layout()
    return _done(fig)

