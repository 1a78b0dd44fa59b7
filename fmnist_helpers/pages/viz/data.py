"""Figures of the data section (00): class samples, class balance, mean images, pixels.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_helpers.pages.viz.common import SPLIT_COLORS, _done, scale_bar
from fmnist_helpers.study.data import CLASS_NAMES


def class_grid(images: np.ndarray, labels: np.ndarray, per_class: int = 10, seed: int = 0):
    """Real samples of every class, one row per class (the seed's Figure 1).

    Args:
        images: ``uint8`` images ``(n, 28, 28)``.
        labels: Their classes.
        per_class: Images per row.
        seed: Which images are drawn.

    Returns:
        The figure.

    Raises:
        ValueError: If a class has fewer than ``per_class`` images.
    """
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(CLASS_NAMES), per_class,
                             figsize=(per_class * 0.8 + 1.6, len(CLASS_NAMES) * 0.8))
    for k, name in enumerate(CLASS_NAMES):
        members = np.flatnonzero(labels == k)
        if len(members) < per_class:
            raise ValueError(f"class {name} has {len(members)} images, fewer than {per_class}.")
        for j, index in enumerate(rng.choice(members, per_class, replace=False)):
            ax = axes[k, j]
            ax.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[k, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Fashion-MNIST: random training images, one row per class")
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.14)
    return _done(fig)


def class_balance_chart(balance: pd.DataFrame, *, title: str = "Class balance per split"):
    """Images per class in each split, as grouped bars.

    Args:
        balance: ``evaluate.class_balance`` output.
        title: The figure's title (say which profile's splits).

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(10, 3.8))
    positions = np.arange(len(balance))
    width = 0.8 / len(balance.columns)
    for i, split in enumerate(balance.columns):
        ax.bar(positions + (i - (len(balance.columns) - 1) / 2) * width, balance[split],
               width, label=f"{split} ({balance[split].sum():,})",
               color=SPLIT_COLORS.get(split))
    ax.set_xticks(positions, balance.index, fontsize=9)
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend(title="split (total)", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _done(fig)


def mean_images(images: np.ndarray, labels: np.ndarray):
    """The mean image of every class.

    Args:
        images: ``uint8`` images.
        labels: Their classes.

    Returns:
        The figure.
    """
    fig, axes = plt.subplots(1, len(CLASS_NAMES), figsize=(13, 2.1), layout="constrained")
    for k, (ax, name) in enumerate(zip(axes, CLASS_NAMES)):
        shown = ax.imshow(images[labels == k].mean(axis=0), cmap="magma", vmin=0, vmax=255)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle("Mean image per class (training split)")
    scale_bar(fig, shown, axes, "mean pixel value (0-255)")
    return _done(fig)


def pixel_histogram(datasets: dict[str, np.ndarray]):
    """Histogram of pixel intensities, one line per dataset, log-scaled counts.

    Args:
        datasets: ``{name: uint8 images}``.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bins = np.arange(257)
    for name, images in datasets.items():
        counts, _ = np.histogram(images, bins=bins)
        ax.step(bins[:-1], counts / counts.sum(), where="post", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("pixel intensity (0 = black background, 255 = white)")
    ax.set_ylabel("fraction of pixels (log)")
    ax.set_title("Pixel-intensity distribution")
    ax.set_xlim(0, 255)
    ax.legend()
    fig.tight_layout()
    return _done(fig)

