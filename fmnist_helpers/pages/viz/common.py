"""Shared pieces of the figures: notebook set-up, colours, image grids, accuracy bars.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import sys
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.font_manager import FontProperties

from fmnist_helpers.pages.viz import legibility

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
    """Horizontal bars of accuracies (on the whole 0-1 axis) with error bars; each value is
    written inside its bar's base, away from the whisker.

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
    for y, v in enumerate(table[value]):  # inside the bar's base: never on a whisker
        ax.text(0.015, y, f"{v:.1%}", va="center", ha="left", color="white",
                fontweight="bold")
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


def relative(m) -> np.ndarray:
    """A map divided by its largest absolute value (so every map of a grid shares one colour
    scale that means "relative to this map's largest"); an all-zero map stays zero."""
    m = np.asarray(m, dtype=float).squeeze()
    top = np.abs(m).max()
    return m / top if top > 0 else m


def scale_bar(fig, image, axes, label: str, *, below: bool = False) -> None:
    """One colour bar for a group of image axes that share ``image``'s colour map and range
    (at the right, or ``below`` them for wide, short grids)."""
    if below:
        bar = fig.colorbar(image, ax=list(np.ravel(axes)), location="bottom", shrink=0.35,
                           aspect=40, pad=0.02)
    else:
        bar = fig.colorbar(image, ax=list(np.ravel(axes)), fraction=0.03, pad=0.01, aspect=30)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)


def wrapped(text: str, fig, *, kind: str = "figure") -> str:
    """A title wrapped to the figure's width, at the current style's title size (a character is
    about 0.6 of the font size wide).

    Args:
        text: The title.
        fig: Its figure.
        kind: ``"figure"`` (a suptitle) or ``"axes"`` (an axes title).
    """
    size = plt.rcParams["figure.titlesize" if kind == "figure" else "axes.titlesize"]
    points = FontProperties(size=size).get_size_in_points()
    per_inch = 72 / (0.6 * points)
    return textwrap.fill(text, width=max(30, int(fig.get_figwidth() * 0.92 * per_inch)))


def _image_grid(maps, *, columns: int, cmap: str, titles=None, symmetric: bool = False,
                size: float = 1.0, title: str = "", scale_label: str = "", picture=None,
                below: bool = True):
    """Small multiples of 2-D maps, each divided by its own largest absolute value, with one
    colour bar (``scale_label``) for all; ``picture`` (an image in [0, 1]) is shown first, in
    grey, and ``titles`` then start with its title."""
    panels = ([np.asarray(picture).squeeze()] if picture is not None else []) + list(maps)
    count = len(panels)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.1 + 1.1),
                             squeeze=False, layout="constrained")
    shown = None
    for i, ax in enumerate(axes.ravel()):
        _blank(ax)
        if i >= count:
            ax.axis("off")
            continue
        if i == 0 and picture is not None:
            ax.imshow(panels[0], cmap="gray_r", vmin=0, vmax=1)
        else:
            shown = ax.imshow(relative(panels[i]), cmap=cmap, vmin=-1 if symmetric else 0,
                              vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.suptitle(wrapped(title, fig))
    if shown is not None:
        scale_bar(fig, shown, axes, scale_label or "value ÷ the map's largest", below=below)
    return fig

