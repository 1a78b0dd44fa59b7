"""Figures of the conclusions section (10): verdict counts, verdicts across profiles, full-scale
curves and time to accuracy.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fmnist_helpers.ledger.verdicts import VERDICT_COLORS, VERDICTS
from fmnist_helpers.pages.viz.common import _blank, _done


def verdict_bars(ledger: pd.DataFrame, *, title: str):
    """How many claims got each verdict: one bar per verdict, the claim numbers beside it."""
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(VERDICTS) + 1.2))
    for row, verdict in enumerate(VERDICTS):
        numbers = [str(n) for n in ledger.index[ledger["verdict"] == verdict]]
        ax.barh(row, len(numbers), color=VERDICT_COLORS[verdict], height=0.7)
        ax.text(len(numbers) + 0.2, row, (f"{len(numbers)}: claims " + ", ".join(numbers))
                if numbers else "0", va="center", fontsize=9)
    ax.set_yticks(range(len(VERDICTS)), VERDICTS)
    ax.invert_yaxis()
    ax.set(xlim=(0, len(ledger) * 1.9), xlabel="claims", xticks=range(0, len(ledger) + 1, 5))
    ax.set_title(title)
    ax.grid(False, axis="y")
    fig.tight_layout()
    return _done(fig)


def verdict_matrix(ledgers: dict[str, pd.DataFrame], *, title: str):
    """Every claim's verdict on each profile's ledger: one row per claim, one column per ledger,
    each cell coloured and named by its verdict; rows whose verdicts differ are marked.

    Args:
        ledgers: ``{column heading: ledger}`` (``claims.judge_all`` rows), in column order; the
            first ledger's claims give the rows.
        title: The figure's title.

    Returns:
        The figure.
    """
    names = list(ledgers)
    first = ledgers[names[0]]
    fig, ax = plt.subplots(figsize=(max(9.0, 4.2 + 2.3 * len(names)), 0.36 * len(first) + 1.4))
    labels = []
    for row, (number, claim) in enumerate(first["claim"].items()):
        verdicts = [ledgers[n].loc[number, "verdict"] if number in ledgers[n].index else None
                    for n in names]
        differs = len({v for v in verdicts if v is not None}) > 1
        short = claim if len(claim) <= 58 else claim[:56].rstrip() + "…"
        labels.append(f"{'≠ ' if differs else ''}{number}. {short}")
        for col, verdict in enumerate(verdicts):
            color = VERDICT_COLORS.get(verdict, "white")
            ax.add_patch(plt.Rectangle((col, row), 0.96, 0.9, color=color,
                                       alpha=0.9 if verdict else 0.15))
            ax.text(col + 0.48, row + 0.45, verdict or "—", ha="center", va="center",
                    fontsize=8, color="white" if verdict else "0.3")
    ax.set(xlim=(0, len(names)), ylim=(len(first), 0))
    ax.set_xticks([c + 0.48 for c in range(len(names))], names, fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([r + 0.45 for r in range(len(first))], labels, fontsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    ax.grid(False)
    ax.set_title(f"{title}\n(≠: the verdicts differ)" if len(names) > 1 else title, fontsize=11)
    fig.tight_layout()
    return _done(fig)


def _nothing_stored():
    """A small figure that says no full-scale run is stored yet."""
    fig, ax = plt.subplots(figsize=(8, 1.2))
    _blank(ax)
    ax.text(0.5, 0.5, "No full-scale run is stored yet: make accuracy trains them.",
            ha="center", va="center", transform=ax.transAxes, fontsize=11)
    return fig


def full_scale_curves(curves: pd.DataFrame, table: pd.DataFrame):
    """Training and validation accuracy per epoch of the full-scale runs, with the targets.

    Args:
        curves: ``fullscale.full_scale_curves`` output (one line per row and seed).
        table: ``fullscale.full_scale_table`` output (gives every row its colour and target).

    Returns:
        The figure; while no full-scale run is stored, a small figure that says so.
    """

    if curves.empty:
        return _done(_nothing_stored())
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.8))
    titles = list(table.index)
    colors = dict(zip(titles, sns.color_palette("tab10", len(titles))))
    for ax, column, name in ((axes[0], "accuracy", "training (on augmented images where used)"),
                             (axes[1], "val_accuracy", "validation (6,000 held-out images)")):
        labelled = set()
        for (title, _), run in curves.groupby(["model", "seed"], sort=False):
            seeds = curves.loc[curves["model"] == title, "seed"].nunique()
            first = ax is axes[0] and title not in labelled  # one legend entry per row
            labelled.add(title)
            ax.plot(run["epoch"], run[column], color=colors[title], linewidth=1.6,
                    label=f"{title} ({seeds} seed{'s' if seeds > 1 else ''})" if first else None)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
    styles = iter(["--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))])
    for target, source in sorted({(row["target"], row["target_from"])
                                  for _, row in table.iterrows()}):
        axes[1].axhline(target, color="0.3", linestyle=next(styles), linewidth=1.1,
                        label=f"target {target:.1%} test ({source})")
    axes[0].set_ylim(max(0.75, float(curves["accuracy"].min()) - 0.01), 1.0)
    val_low = max(0.85, float(curves["val_accuracy"].min()) - 0.005)
    axes[1].set_ylim(val_low, max(float(curves["val_accuracy"].max()), table["target"].max())
                     + 0.005)
    axes[0].legend(loc="lower right", fontsize=8, title="one line per seed", title_fontsize=8)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle("Full-scale runs: accuracy per epoch (54,000 training images)")
    fig.tight_layout()
    return _done(fig)



def time_to_accuracy(curves: pd.DataFrame, table: pd.DataFrame):
    """Accuracy against training minutes of the full-scale rows: validation accuracy after each
    epoch (one thin line per seed, the mean over seeds bold) and each row's final test accuracy
    (mean over seeds, 95% interval) at its mean training time, with the targets.

    Args:
        curves: ``fullscale.full_scale_curves`` output (with ``minutes``).
        table: ``fullscale.full_scale_table`` output (seeds, test accuracy, interval, minutes,
            precision, target, where recorded).

    Returns:
        The figure; while no full-scale run is stored, a small figure that says so.
    """
    if curves.empty:
        return _done(_nothing_stored())
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.0), sharey=True)
    titles = list(table.index)
    colors = dict(zip(titles, sns.color_palette("tab10", len(titles))))
    for title, runs in curves.groupby("model", sort=False):
        row = table.loc[title]
        for _, run in runs.groupby("seed"):
            axes[0].plot(run["minutes"], run["val_accuracy"], color=colors[title], linewidth=0.7,
                         alpha=0.45)
        mean = runs.groupby("epoch")[["minutes", "val_accuracy"]].mean()
        axes[0].plot(mean["minutes"], mean["val_accuracy"], color=colors[title], linewidth=2.0,
                     label=f"{title}: {int(row['seeds'])} seed{'s' if row['seeds'] > 1 else ''}, "
                           f"{row['precision']}")
        error = ([[row["test_accuracy"] - row["ci_low"]], [row["ci_high"] - row["test_accuracy"]]]
                 if row["seeds"] > 1 else None)
        axes[1].errorbar(row["minutes"], row["test_accuracy"], yerr=error, fmt="o", capsize=4,
                         color=colors[title], markersize=7)
        axes[1].annotate(f"{row['test_accuracy']:.2%}", (row["minutes"], row["test_accuracy"]),
                         textcoords="offset points", xytext=(8, -12), fontsize=8)
    styles = iter(["--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))])
    for target, source in sorted({(row["target"], row["target_from"])
                                  for _, row in table.iterrows()}):
        style = next(styles)
        for ax in axes:
            ax.axhline(target, color="0.3", linestyle=style, linewidth=1.1,
                       label=f"target {target:.1%} test ({source})" if ax is axes[1] else None)
    low = max(0.85, float(curves["val_accuracy"].min()) - 0.005)
    high = max(float(curves["val_accuracy"].max()), table["target"].max(),
               float(table["ci_high"].max(skipna=True) if table["ci_high"].notna().any()
                     else 0)) + 0.004
    axes[0].set(ylim=(low, high), xlabel="training minutes (2 CPU cores)", ylabel="accuracy",
                title="validation accuracy after each epoch")
    axes[1].set(xlabel="training minutes per run (mean over seeds)",
                title="test accuracy: mean over seeds, 95% interval")
    longest = float(table["minutes"].max(skipna=True))
    axes[0].set_xlim(0, float(curves["minutes"].max()) * 1.03)
    axes[1].set_xlim(0, longest * 1.18 if np.isfinite(longest) else 1)  # room for the labels
    axes[0].legend(loc="lower right", fontsize=8)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle("Time to accuracy at full scale (54,000 training images; where and when each "
                 "row was trained: the table)", fontsize=11)
    fig.tight_layout()
    return _done(fig)
