"""Figures of training runs and studies (02-05, 08): architecture, curves, accuracies.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from fmnist_helpers.core.stats import mean_interval
from fmnist_helpers.pages.viz.common import _done, wrapped


def architecture_diagram(table: pd.DataFrame, *, title: str):
    """A drawn diagram of a model: one block per layer with its output shape.

    Args:
        table: ``models.parameter_table`` of the model.
        title: The figure's title.

    Returns:
        The figure.
    """
    shown = table[~table["type"].isin(["Dropout", "Activation", "BatchNormalization"])]
    colors = {"Conv2D": "#4C72B0", "MaxPooling2D": "#DD8452", "Flatten": "#8C8C8C",
              "Dense": "#55A868"}
    fig, ax = plt.subplots(figsize=(max(8, 1.05 * (len(shown) + 1)), 3.4))
    x = 0.0
    ax.add_patch(plt.Rectangle((x, -0.5), 0.9, 1.0, color="#CCCCCC"))
    ax.text(x + 0.45, 0, "input\n28x28x1", ha="center", va="center", fontsize=8)
    for _, row in shown.iterrows():
        x += 1.25
        shape = row["output_shape"]
        # block height grows with the spatial size, so downsampling is visible
        height = 0.5 + 0.5 * (shape[0] / 28 if len(shape) == 3 else 0.15)
        ax.add_patch(plt.Rectangle((x, -height), 0.9, 2 * height,
                                   color=colors.get(row["type"], "#999999"), alpha=0.85))
        ax.annotate("", xy=(x, 0), xytext=(x - 0.35, 0),
                    arrowprops={"arrowstyle": "->", "color": "#444444"})
        ax.text(x + 0.45, height + 0.12, row["layer"], ha="center", va="bottom", fontsize=11,
                fontweight="bold")
        ax.text(x + 0.45, 0, "x".join(str(s) for s in shape), ha="center", va="center",
                fontsize=10, color="white", rotation=90 if len(shape) == 3 else 0)
        ax.text(x + 0.45, -height - 0.12, f"{row['parameters']:,}", ha="center", va="top",
                fontsize=9, color="#333333")
    ax.set_xlim(-0.2, x + 1.1)
    ax.set_ylim(-1.5, 1.5)
    ax.axis("off")
    ax.set_title(title + " (in blocks: output shape; below: parameters)", fontsize=12)
    fig.tight_layout()
    return _done(fig)


def learning_curves(history: dict[str, list], *, title: str):
    """Training and validation loss and accuracy per epoch (the seed's Figure 10).

    Args:
        history: A run's history (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``).
        title: The figure's title.

    Returns:
        The figure.
    """
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        for prefix, label, style in (("", "train", "-o"), ("val_", "validation", "-s")):
            values = np.array([np.nan if v is None else v
                               for v in history.get(prefix + metric, [])], dtype=float)
            if len(values):
                ax.plot(epochs[:len(values)], values, style, label=label, markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        _epoch_ticks(ax, epochs)
        ax.legend()
    loss_ax.set_title("loss (cross-entropy)")
    acc_ax.set_title("accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def study_curves(result, *, metrics=("loss", "val_loss")):
    """Loss curves of a study: mean over seeds with a min-max band, one line per variant.

    With grouped variants (e.g. batch norm on each model) there is one panel per group showing
    the validation loss (solid) and training loss (dashed). Diverged runs end where their loss
    stopped being finite, marked with an ``x``.

    Args:
        result: A :class:`~fmnist_helpers.study.studies.StudyResult`.
        metrics: History metrics to plot when variants are not grouped (one panel each).

    Returns:
        The figure.
    """
    variants = result.study.variants
    groups = list(dict.fromkeys(v.group for v in variants))
    epochs = np.arange(1, result.profile.epochs + 1)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    titles = {"loss": "training loss", "val_loss": "validation loss"}
    if groups == [""]:
        panels = [(titles.get(m, m), [(v, m, "-") for v in variants]) for m in metrics]
    else:
        panels = [(g, [(v, m, "-" if m == "val_loss" else "--") for v in variants if v.group == g
                       for m in ("val_loss", "loss")]) for g in groups]
    columns = min(len(panels), 3)
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False)
    labels_in_group = {}
    for ax, (title, lines) in zip(axes.flat, panels):
        for variant, metric, style in lines:
            index = labels_in_group.setdefault(variant.label, len(labels_in_group))
            color = palette[index % len(palette)]
            curves = result.curves(variant.key, metric)
            with np.errstate(all="ignore"):
                mean = np.nanmean(curves, axis=0) if np.isfinite(curves).any() else curves[0]
            lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
            label = variant.label if (groups == [""] or metric == "val_loss") else None
            ax.plot(epochs, mean, style, color=color, label=label, marker="o", markersize=3)
            if curves.shape[0] > 1:
                ax.fill_between(epochs, lo, hi, color=color, alpha=0.18, linewidth=0)
            for run in result.runs[variant.key]:
                if run.diverged and run["diverged_epoch"]:
                    ax.plot([run["diverged_epoch"]], [np.nanmax(curves[np.isfinite(curves)])
                                                      if np.isfinite(curves).any() else 0],
                            "x", color=color, markersize=10, markeredgewidth=2)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        _epoch_ticks(ax, epochs)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if groups != [""]:  # say what the line styles mean where the lines are, not only in a title
        styles = [Line2D([], [], color="black", linestyle="-", label="validation loss"),
                  Line2D([], [], color="black", linestyle="--", label="training loss")]
        fig.legend(handles=styles, loc="lower center", ncol=2, frameon=False,
                   bbox_to_anchor=(0.5, -0.02))
    seeds = max(len(r) for r in result.runs.values())
    subtitle = ("solid: validation, dashed: training; " if groups != [""] else "")
    fig.suptitle(wrapped(f"{result.study.title} (seed {result.study.seed_figure}) — {subtitle}"
                         f"mean of {seeds} seeds, band: min–max, x: diverged; "
                         f"{result.profile.name} profile", fig))
    fig.tight_layout(rect=(0, 0.04 if groups != [""] else 0, 1, 1))
    return _done(fig)


def study_accuracy(result):
    """Final validation and test accuracy per variant: every seed as a dot, the mean with its
    95% confidence interval (t over seeds) as a point and whisker, the mean's value in a column
    at the right (never on a whisker).

    A dot plot needs no zero on its axis (nothing is read from a bar's length), so the axis spans
    the values shown, with a margin.

    Args:
        result: A :class:`~fmnist_helpers.study.studies.StudyResult`.

    Returns:
        The figure.
    """
    variants = result.study.variants
    names = [textwrap.fill(v.key, 30) for v in variants]
    lines = sum(name.count("\n") + 1 for name in names)
    fig, ax = plt.subplots(figsize=(9, 0.3 * lines + 0.3 * len(variants) + 1.9))
    y = np.arange(len(variants))
    shown = []
    for offset, metric, color in ((-0.17, "val_accuracy", "#DD8452"),
                                  (0.17, "test_accuracy", "#55A868")):
        label = metric.replace("_", " ")
        for yi, v in zip(y + offset, variants):
            values = [x for x in result.values(v.key, metric) if x is not None]
            if not values:
                continue
            mean, low, high = mean_interval(values)
            shown += values + [low, high]
            ax.scatter(values, [yi] * len(values), s=12, color=color, alpha=0.45, zorder=2)
            ax.errorbar(mean, yi, xerr=[[mean - low], [high - mean]], fmt="D", color=color,
                        markersize=6, capsize=3, zorder=3, label=label)
            label = None
            ax.annotate(f"{mean:.1%}", (1.0, yi), xycoords=("axes fraction", "data"),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=8,
                        color=color)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    if shown:
        low, high = min(shown), max(shown)
        pad = max(0.01, 0.08 * (high - low))
        ax.set_xlim(max(0.0, low - pad), min(1.0, high + pad))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_xlabel("accuracy (dots: seeds; diamond, whisker: mean, 95% interval)")
    fig.suptitle(wrapped(f"{result.study.title}: final accuracy ({result.profile.name} "
                         "profile)", fig))
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.45 / fig.get_figheight(), 1, 1))
    return _done(fig)


def _epoch_ticks(ax, epochs: np.ndarray) -> None:
    """Every epoch as a tick for short runs; whole-number ticks matplotlib spaces for long ones
    (20 ticks in a small panel overlap)."""
    if len(epochs) <= 10:
        ax.set_xticks(epochs)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
