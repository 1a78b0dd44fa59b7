"""Shared pieces of the figures: notebook set-up, colours, image grids, accuracy bars.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fmnist_helpers.viz import legibility

SPLIT_COLORS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}


def notebook_setup() -> None:
    """Sharp inline figures and a consistent seaborn style (call once per notebook)."""

    sns.set_theme(context="notebook", style="whitegrid")
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside Jupyter
        pass
    plt.rcParams["figure.dpi"] = 110


def _done(fig) -> plt.Figure:
    """Detach a figure from pyplot so a notebook shows it once, as the cell's value; during a
    build, record its legibility check (``legibility.record``) under the calling function."""
    legibility.record(fig, sys._getframe(1).f_code.co_name)
    plt.close(fig)
    return fig


def accuracy_bars(table: pd.DataFrame, *, title: str, value: str = "accuracy",
                  error: str | None = "std"):
    """Horizontal bars of accuracies with error bars, labelled with their values.

    Args:
        table: Rows to plot, indexed by name.
        title: The figure's title.
        value: Column with the accuracy (0-1).
        error: Column with the error bar half-width, or ``None``.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(table) + 1.3))
    errors = table[error] if error else None
    ax.barh(table.index, table[value], xerr=errors, color="#4C72B0", capsize=4)
    bars = errors if errors is not None else [0] * len(table)
    for y, (v, e) in enumerate(zip(table[value], bars)):
        ax.text(min(v + (e or 0) + 0.01, 0.98), y, f"{v:.1%}", va="center",
                ha="left" if v < 0.9 else "right", color="black")
    ax.set_xlim(0, 1)
    ax.set_xlabel(value)
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    return _done(fig)


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _image_grid(maps, *, columns: int, cmap: str, titles=None, symmetric: bool = False,
                size: float = 1.0, title: str = ""):
    """Small multiples of 2-D maps, each scaled on its own."""
    count = len(maps)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.1 + 0.6),
                             squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        _blank(ax)
        if i >= count:
            ax.axis("off")
            continue
        m = np.asarray(maps[i]).squeeze()
        if symmetric:
            limit = np.abs(m).max() or 1.0
            ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(m, cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

