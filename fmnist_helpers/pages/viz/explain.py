"""Figures of what the network computes (06): filters, activations, saliency, sanity check.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_helpers.pages.viz.common import _blank, _done, _image_grid, relative, scale_bar, wrapped
from fmnist_helpers.study.data import CLASS_NAMES


def image_with_label(image: np.ndarray, label: int, *, title: str = ""):
    """One image, large, titled with its class (the seed's Figure 14a)."""
    fig, ax = plt.subplots(figsize=(2.6, 2.9))
    ax.imshow(np.asarray(image).squeeze(), cmap="gray_r", vmin=0, vmax=1)
    _blank(ax)
    ax.set_title(title or f"The image looked at:\n{CLASS_NAMES[label]}", fontsize=10)
    fig.tight_layout()
    return _done(fig)


def filter_grid(filters: np.ndarray, *, title: str):
    """First-layer kernels, red positive / blue negative, each on its own scale (Figure 14b)."""
    columns = min(16, len(filters))
    fig = _image_grid(list(filters), columns=columns, cmap="RdBu_r", symmetric=True, size=0.7,
                      title=title, scale_label="weight ÷ the filter's largest |weight|")
    return _done(fig)


def activation_grid(values: np.ndarray, *, title: str, limit: int = 64):
    """Feature maps ``(h, w, channels)`` of one image, one panel per channel (Figure 14c).

    All-zero maps are marked "0" so dead or silent filters are visible.
    """
    channels = min(limit, values.shape[-1])
    maps = [values[..., c] for c in range(channels)]
    titles = ["0" if not np.any(m) else "" for m in maps]
    fig = _image_grid(maps, columns=min(16, channels), cmap="viridis", titles=titles, size=0.7,
                      title=title, scale_label="activation ÷ the map's largest")
    return _done(fig)


def guided_grid(image: np.ndarray, maps: np.ndarray, channels, *, layer: str):
    """Guided-backprop maps of several channels next to the image (the seed's Figure 15)."""
    maps = [np.abs(m) for m in maps]
    fig = _image_grid(maps, columns=min(6, len(maps) + 1), cmap="magma", size=1.7,
                      titles=["image"] + [f"{layer} ch {c}" for c in channels], picture=image,
                      title=f"Guided backpropagation of {len(channels)} random {layer} channels "
                            "(absolute value, each panel divided by its largest)",
                      scale_label="|gradient| ÷ the map's largest", below=False)
    return _done(fig)


def sparsity_plot(table: pd.DataFrame):
    """Fraction of zero activations (foreground positions, and all) and dead filters per conv
    layer over training."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for block, group in table.groupby("block", sort=False):
        line, = left.plot(group["epoch"], group["foreground_zero_fraction"], marker="o",
                          label=block)
        left.plot(group["epoch"], group["zero_fraction"], linestyle=":", color=line.get_color())
        right.plot(group["epoch"], group["dead_filters"] / group["filters"], marker="o",
                   label=block)
    dead = (table["dead_filters"] / table["filters"]).max()
    left.set(xlabel="epoch", ylabel="fraction of activations = 0", ylim=(0, 1),
             title="Zero activations\n(solid: foreground; dotted: all positions)")
    right.set(xlabel="epoch", ylabel="fraction of filters dead", ylim=(-0.01, max(0.1, dead * 1.2)),
              title="Dead filters (zero for every probe image)")
    epochs = sorted(table["epoch"].unique())
    for ax in (left, right):
        ax.set_xticks(epochs)
        ax.legend(title="layer", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return _done(fig)


def map_comparison(image: np.ndarray, maps: dict[str, np.ndarray], *, title: str):
    """The image and one map per method (absolute values, each on its own scale)."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.3 * (len(maps) + 1) + 0.8, 2.8),
                             layout="constrained")
    axes[0].imshow(np.asarray(image).squeeze(), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title("image", fontsize=10)
    for ax, (name, m) in zip(axes[1:], maps.items()):
        shown = ax.imshow(relative(np.abs(m)), cmap="magma", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
    for ax in axes:
        _blank(ax)
    fig.suptitle(wrapped(title, fig))
    if maps:
        scale_bar(fig, shown, axes[1:], "|map| ÷ its largest")
    return _done(fig)


def sanity_grid(image: np.ndarray, maps: dict, titles: dict):
    """Maps of one image as the model's weights are re-initialized from the top down.

    Args:
        image: The image explained.
        maps: ``sanity.sanity_check``'s maps (``{(0, method, step): map}``).
        titles: Method name -> title.
    """
    methods = list(dict.fromkeys(method for _, method, _ in maps))
    steps = list(dict.fromkeys(step for _, _, step in maps))
    fig, axes = plt.subplots(len(methods), len(steps) + 1,
                             figsize=(1.45 * (len(steps) + 1) + 1.6, 1.6 * len(methods) + 0.9),
                             squeeze=False, layout="constrained")
    for r, method in enumerate(methods):
        axes[r, 0].imshow(np.asarray(image).squeeze(), cmap="gray_r", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(titles[method], fontsize=9)
        for c, step in enumerate(steps, start=1):
            shown = axes[r, c].imshow(relative(np.abs(maps[0, method, step])), cmap="magma",
                                      vmin=0, vmax=1)
            if r == 0:
                axes[r, c].set_title("trained" if step == "none" else f"→ {step}", fontsize=9)
        for ax in axes[r]:
            _blank(ax)
    axes[0, 0].set_title("image", fontsize=9)
    fig.suptitle(wrapped("Cascading randomization: weights re-initialized from the top layer "
                         "down to the named one", fig))
    scale_bar(fig, shown, axes[:, 1:], "|map| ÷ its largest")
    return _done(fig)


def sanity_curves(summary: pd.DataFrame, titles: dict):
    """Similarity to the trained model's maps as layers are re-initialized (mean, range)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, score, label in ((axes[0], "spearman", "Spearman rank correlation"),
                             (axes[1], "ssim", "SSIM")):
        for method, group in summary.groupby("method", sort=False):
            x = group["step"].to_numpy()
            ax.plot(x, group[f"{score}_mean"], marker="o", label=titles[method])
            ax.fill_between(x, group[f"{score}_min"], group[f"{score}_max"], alpha=0.15)
        steps = summary.drop_duplicates("step").sort_values("step")
        ax.set_xticks(steps["step"], ["trained" if s == "none" else s
                                      for s in steps["randomized"]], rotation=30)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set(xlabel="re-initialized down to", ylabel=label, ylim=(-1.05, 1.05))
        ax.tick_params(labelleft=True)  # shared y: both panels keep their tick labels
    axes[0].legend()
    fig.suptitle("How much of each map survives when the weights are destroyed "
                 "(line: mean over images; band: range)")
    fig.tight_layout()
    return _done(fig)

