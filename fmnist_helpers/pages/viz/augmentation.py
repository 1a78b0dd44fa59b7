"""Figures of the augmentation section (01): examples and pipeline throughput.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_helpers.pages.viz.common import _done
from fmnist_helpers.study.data import CLASS_NAMES


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
                # The originals fill every block: each draw sits under the image it changed.
                batch = batches[min(d, len(batches) - 1)] if title == "original" else (
                    batches[d] if d < len(batches) else None)
                if batch is None:
                    ax.axis("off")
                else:
                    ax.imshow(batch[i, ..., 0], cmap="gray_r", vmin=0, vmax=1)
                if r == 0:
                    ax.set_title(CLASS_NAMES[int(labels[i])], fontsize=8)
        axes[r, 0].set_ylabel(textwrap.fill(title, 18), rotation=0, ha="right", va="center",
                              fontsize=9)
    fig.subplots_adjust(wspace=0.04, hspace=0.08, left=0.17, top=1 - 1.3 / (len(rows) + 1))
    if draws > 1:
        for d in range(draws):
            left = axes[0, d * n].get_position().x0
            right = axes[0, d * n + n - 1].get_position().x1
            fig.text((left + right) / 2, axes[0, 0].get_position().y1 + 0.45 / (len(rows) + 1),
                     f"random draw {d + 1}", ha="center", fontsize=9, fontweight="bold")
    fig.suptitle("Each augmentation on the same real images" +
                 (f" ({draws} random draws side by side)" if draws > 1 else ""), y=0.995)
    return _done(fig)


def throughput_bars(table: pd.DataFrame):
    """Images per second of each augmentation stage beside training's.

    Args:
        table: Indexed by stage name with an ``images/s`` column.

    Returns:
        The figure: a dot per stage on a log-scaled axis (the rates span orders of magnitude; a
        dot's position, unlike a bar's length, reads the same on a log axis).
    """
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(table) + 1.4))
    colors = ["#C44E52" if "training" in name else "#4C72B0" for name in table.index]
    y = np.arange(len(table))
    ax.scatter(table["images/s"], y, color=colors, s=40, zorder=3)
    for yi, value in zip(y, table["images/s"]):
        ax.annotate(f"{value:,.0f}", (value, yi), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(y, table.index)
    ax.set_xscale("log")
    low, high = table["images/s"].min(), table["images/s"].max()
    ax.set_xlim(low / 2, high * 4)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.set_xlabel("images per second (log scale)")
    ax.set_title("Augmentation throughput vs training throughput (red)")
    ax.invert_yaxis()
    fig.tight_layout()
    return _done(fig)

