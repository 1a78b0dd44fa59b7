"""Figures of the observations section (09): misclassified images, confusion, classes.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fmnist_helpers.pages.viz.common import _blank, _done


def misclassified_grid(images: np.ndarray, table: pd.DataFrame, *, shown: int = 8, seed: int = 0):
    """A few probe images each recorded epoch got wrong (the seed's Figure 24).

    Args:
        images: The probe images.
        table: ``evaluate.misclassified_over_training`` output.
        shown: Images per epoch.
        seed: Which of the misclassified images are drawn.
    """
    epochs = sorted(table["epoch"].unique())
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(epochs), shown, figsize=(1.55 * shown, 2.0 * len(epochs) + 0.4),
                             squeeze=False)
    for r, epoch in enumerate(epochs):
        rows = table[table["epoch"] == epoch]
        chosen = rows.iloc[np.sort(rng.choice(len(rows), min(shown, len(rows)), replace=False))]
        for c, ax in enumerate(axes[r]):
            _blank(ax)
            if c >= len(chosen):
                ax.axis("off")
                continue
            row = chosen.iloc[c]
            ax.imshow(images[row["probe"]].squeeze(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"{row['true']}\n→ {row['predicted']} {row['confidence']:.0%}",
                         fontsize=7.5)
        axes[r, 0].set_ylabel(f"epoch {epoch}", fontsize=10)
    fig.suptitle("Misclassified probe images (title: true class → predicted, confidence)")
    fig.tight_layout()
    return _done(fig)


def confusion_heatmaps(counts: pd.DataFrame, normalized: pd.DataFrame, *, title: str):
    """The confusion matrix as counts and row-normalized (the seed's Figure 25)."""

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=axes[0],
                annot_kws={"fontsize": 7.5})
    sns.heatmap(normalized * 100, annot=True, fmt=".0f", cmap="Blues", cbar=False, ax=axes[1],
                annot_kws={"fontsize": 7.5}, vmin=0, vmax=100)
    axes[0].set_title("counts")
    axes[1].set_title("% of each true class (rows sum to 100)")
    for ax in axes:
        ax.tick_params(labelsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def per_class_bars(table: pd.DataFrame, *, title: str):
    """Per-class accuracy, mean over seeds with the seed-to-seed range as an error bar."""
    seeds = [c for c in table.columns if c.startswith("seed ")]
    fig, ax = plt.subplots(figsize=(9, 3.8))
    low = table["mean"] - table[seeds].min(axis=1)
    high = table[seeds].max(axis=1) - table["mean"]
    ax.bar(table.index, table["mean"], yerr=[low, high], capsize=3, color="#4C72B0")
    for x, (value, top) in enumerate(zip(table["mean"], table[seeds].max(axis=1))):
        ax.text(x, top + 0.015, f"{value:.0%}", ha="center", fontsize=8)  # above the whisker
    ax.set(ylabel="test accuracy (recall)", ylim=(0, 1.08), title=title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return _done(fig)

