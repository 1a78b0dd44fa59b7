"""Figures of the fooling section (07): noise to class, adversarial examples, robustness.

Every function takes data and returns a ``matplotlib.figure.Figure``; none runs a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_helpers.pages.viz.common import _done, wrapped
from fmnist_helpers.study.data import CLASS_NAMES


def fooling_grid(start: np.ndarray, images: np.ndarray, info: dict):
    """The noise start and, for each target class, the image the model was fooled by.

    Args:
        start: The noise image ``(28, 28, 1)``.
        images: The fooling images ``(k, 28, 28, 1)``.
        info: ``attacks.fool_from_noise``'s info.

    Returns:
        The figure.
    """
    count = len(images)
    columns = int(np.ceil((count + 1) / 2))
    fig, axes = plt.subplots(2, columns, figsize=(1.9 * columns, 5.4))
    axes = axes.ravel()
    axes[0].imshow(start[..., 0], cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title(f"noise start\npredicted {CLASS_NAMES[info['start_prediction'][0]]}\n"
                      f"({info['start_confidence'][0]:.0%})", fontsize=9)
    for ax, image, target, confidence, steps, ok in zip(
            axes[1:], images, info["target"], info["confidence"], info["steps"], info["success"]):
        ax.imshow(image[..., 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"-> {CLASS_NAMES[target]}\n{confidence:.1%}, {steps} steps"
                     + ("" if ok else "\nNOT reached"), fontsize=9,
                     color="black" if ok else "#b00020")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes)[count + 1:]:
        ax.axis("off")
    fig.suptitle(wrapped("From one noise image to every class (title: target, its probability, "
                         "steps)", fig))
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.subplots_adjust(hspace=0.65)
    return _done(fig)


def adversarial_examples(images: np.ndarray, labels: np.ndarray,
                         adversarial: dict[str, np.ndarray],
                         probabilities: dict[str, np.ndarray], shown: int = 5):
    """Originals, adversarial versions and their differences, with predictions and confidences.

    Args:
        images: Original float images.
        labels: True classes.
        adversarial: ``{attack name: adversarial images}`` (same order as ``images``).
        probabilities: The model's class probabilities for ``"original"`` and for each attack
            (``attacks.FoolingAnalysis.probabilities``).
        shown: Images per row.

    Returns:
        The figure: a row of originals, then for each attack a row of adversarial images and a
        row of differences (red: brighter, blue: darker).
    """
    images, labels = images[:shown], np.asarray(labels)[:shown]
    rows = [("original", images, probabilities["original"][:shown])]
    for name, adv in adversarial.items():
        rows.append((name, adv[:shown], probabilities[name][:shown]))
        rows.append(("difference", adv[:shown] - images, None))
    fig, axes = plt.subplots(len(rows), shown, figsize=(1.7 * shown + 2.9, 1.9 * len(rows)),
                             squeeze=False, layout="constrained")
    for r, (title, batch, probs) in enumerate(rows):
        for i in range(shown):
            ax = axes[r, i]
            if title == "difference":
                limit = max(float(np.abs(batch).max()), 1e-6)
                shade = ax.imshow(batch[i, ..., 0], cmap="coolwarm", vmin=-limit, vmax=limit)
                if i == shown - 1:  # one colour scale per row: every map of a row shares it
                    bar = fig.colorbar(shade, ax=list(axes[r]), fraction=0.025, pad=0.02)
                    bar.set_label("pixel change", fontsize=7)
                    bar.ax.tick_params(labelsize=7)
                ax.set_title(f"L-inf {np.abs(batch[i]).max():.2f}", fontsize=7)
            else:
                ax.imshow(batch[i, ..., 0], cmap="gray_r", vmin=0, vmax=1)
                predicted = int(probs[i].argmax())
                wrong = predicted != labels[i]
                ax.set_title(f"{CLASS_NAMES[predicted]} {probs[i].max():.0%}", fontsize=7,
                             color="#b00020" if wrong else "black")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
    for i in range(shown):
        axes[0, i].set_xlabel(f"true: {CLASS_NAMES[int(labels[i])]}", fontsize=7)
    fig.suptitle("Adversarial examples (title: prediction and confidence; red: misclassified)")
    return _done(fig)


def robustness_plot(curve: pd.DataFrame, *, title: str):
    """Test accuracy against the perturbation budget epsilon, one line per attack.

    Args:
        curve: ``attacks.robustness_curve`` output.
        title: The figure's title.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for column, marker in zip(curve.columns, "os^"):
        ax.plot(curve.index, curve[column], marker=marker, label=column)
    ax.axhline(0.1, color="#888888", linestyle=":", label="chance (10%)")
    ax.set_xlabel("epsilon (L-infinity budget, pixel scale 0-1)")
    ax.set_ylabel("test accuracy under attack")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return _done(fig)

